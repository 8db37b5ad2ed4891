#pragma once
/// \file core/scratch.hpp
/// Scratch buffers for kernels. detail::scratch<T> is a std::vector whose allocator is a type of this target's
/// namespace, so each target instantiates its own copy of the vector's out-of-line code: two translation units
/// built for different CPUs never share (and the linker never picks) one compiled with the other's flags.
#include "../config.hpp"

#include <memory>
#include <vector>

LOWBIT_NAMESPACE_BEGIN
namespace detail {

template <class T>
struct target_allocator : std::allocator<T> {
    using value_type = T;
    template <class U>
    struct rebind {
        using other = target_allocator<U>;
    };
    target_allocator() = default;
    template <class U>
    target_allocator(const target_allocator<U>&) noexcept {}
};

template <class T>
using scratch = std::vector<T, target_allocator<T>>;

}  // namespace detail
LOWBIT_NAMESPACE_END
