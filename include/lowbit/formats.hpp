#pragma once
/// \file formats.hpp
/// Lists of formats, for code that iterates over all of them (tests, benchmarks, the CLI).
#include "format/q4_0.hpp"
#include "format/q4_1.hpp"
#include "format/q5_0.hpp"
#include "format/q5_1.hpp"
#include "format/q8_0.hpp"
#include "format/q8_1.hpp"

namespace lowbit {

template <class... Formats>
struct type_list {};

/// Formats that weights are stored in, most bits first.
using weight_formats = type_list<q8_0, q5_1, q5_0, q4_1, q4_0>;
/// Every format that quantize/dequantize accept: the weight formats and the activation-only q8_1.
using all_formats = type_list<q8_0, q8_1, q5_1, q5_0, q4_1, q4_0>;

}  // namespace lowbit
