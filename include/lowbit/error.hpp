#pragma once
/// \file error.hpp
/// How lowbit reports bad input.
///
/// With exceptions enabled every check throws lowbit::error (derived from std::invalid_argument) whose
/// message names the function, the value and the rule it broke. With exceptions disabled (-fno-exceptions)
/// the check calls the installed error handler with the same message; the handler must not return
/// (the default prints the message to stderr and calls std::abort(); if a user handler returns, lowbit aborts).
#include "config.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace lowbit {

/// The one exception type lowbit throws. It is the same type in every target namespace (it holds no code
/// compiled for a target), so a program catches it whichever backend threw.
class error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// Called with the message when a check fails and exceptions are off. Must not return.
using error_handler = void (*)(const char* message);

}  // namespace lowbit

LOWBIT_NAMESPACE_BEGIN

namespace detail {
inline void default_error_handler(const char* message) {
    std::fprintf(stderr, "lowbit: %s\n", message);
    std::abort();
}
inline error_handler& current_error_handler() noexcept {
    static error_handler handler = &default_error_handler;
    return handler;
}
}  // namespace detail

/// Installs `handler` (nullptr restores the default) and returns the previous one. Only used with -fno-exceptions.
inline error_handler set_error_handler(error_handler handler) noexcept {
    error_handler previous = detail::current_error_handler();
    detail::current_error_handler() = handler ? handler : &detail::default_error_handler;
    return previous;
}

/// Reports `message` as described above; never returns.
[[noreturn]] inline void raise(const std::string& message) {
#if defined(LOWBIT_HAS_EXCEPTIONS)
    throw error(message);
#else
    detail::current_error_handler()(message.c_str());
    std::abort();
#endif
}

LOWBIT_NAMESPACE_END
