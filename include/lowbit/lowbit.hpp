#pragma once
/// \file lowbit.hpp
/// Everything: every format, every compiled backend's kernels, the views and the checked API.
#include "attention.hpp"
#include "formats.hpp"
#include "iq1.hpp"
#include "iq2.hpp"
#include "iq3.hpp"
#include "iq4.hpp"
#include "matmul.hpp"
#include "mxfp4.hpp"
#include "q2.hpp"
#include "q3.hpp"
#include "q4.hpp"
#include "q5.hpp"
#include "q6.hpp"
#include "q8.hpp"
#include "ternary.hpp"
#include "version.hpp"
