#pragma once
/// \file arch/backends.hpp
/// Deprecated (0.1.0 layout): the backend tags moved to <lowbit/core/backends.hpp>.
#pragma message("<lowbit/arch/backends.hpp> is deprecated: include <lowbit/core/backends.hpp>")
#include "../core/backends.hpp"
