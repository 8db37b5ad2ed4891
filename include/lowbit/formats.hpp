#pragma once
/// \file formats.hpp
/// Lists of formats, for code that iterates over all of them (tests, benchmarks, the CLI).
#include "format/iq1_m.hpp"
#include "format/iq1_s.hpp"
#include "format/iq2_s.hpp"
#include "format/iq2_xs.hpp"
#include "format/iq2_xxs.hpp"
#include "format/iq3_s.hpp"
#include "format/iq3_xxs.hpp"
#include "format/iq4_nl.hpp"
#include "format/iq4_xs.hpp"
#include "format/mxfp4.hpp"
#include "format/q2_K.hpp"
#include "format/q3_K.hpp"
#include "format/q4_0.hpp"
#include "format/q4_1.hpp"
#include "format/q4_K.hpp"
#include "format/q5_0.hpp"
#include "format/q5_1.hpp"
#include "format/q5_K.hpp"
#include "format/q6_K.hpp"
#include "format/q8_0.hpp"
#include "format/q8_1.hpp"
#include "format/q8_K.hpp"
#include "format/tcq2.hpp"
#include "format/tcq3.hpp"
#include "format/tq1_0.hpp"
#include "format/tq2_0.hpp"

LOWBIT_NAMESPACE_BEGIN

template <class... Formats>
struct type_list {};

/// Formats that weights are stored in, most bits first.
using weight_formats =
    type_list<q8_0, q6_K, q5_1, q5_0, q5_K, q4_1, q4_0, iq4_nl, q4_K, iq4_xs, mxfp4, iq3_s, q3_K, tcq3, iq3_xxs, q2_K,
              iq2_s, iq2_xs, tcq2, iq2_xxs, tq2_0, iq1_m, tq1_0, iq1_s>;
/// The K-quant weight formats (256-value super-blocks, q8_K activations), most bits first.
using k_formats = type_list<q6_K, q5_K, q4_K, q3_K, q2_K>;
/// Every format that quantize/dequantize accept: the weight formats and the activation-only q8_1 and q8_K.
using all_formats = type_list<q8_0, q8_1, q8_K, q6_K, q5_1, q5_0, q5_K, q4_1, q4_0, iq4_nl, q4_K, iq4_xs, mxfp4, iq3_s,
                              q3_K, tcq3, iq3_xxs, q2_K, iq2_s, iq2_xs, tcq2, iq2_xxs, tq2_0, iq1_m, tq1_0,
                              iq1_s>;

LOWBIT_NAMESPACE_END
