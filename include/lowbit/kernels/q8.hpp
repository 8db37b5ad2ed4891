#pragma once
/// \file kernels/q8.hpp
/// Deprecated (0.1.0 layout): every backend's kernels now come from one aggregator, <lowbit/kernels.hpp>.
#pragma message("<lowbit/kernels/q8.hpp> is deprecated: include <lowbit/kernels.hpp> (or a per-bit header such as <lowbit/q4.hpp>)")
#include "../kernels.hpp"
