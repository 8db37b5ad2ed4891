#pragma once
/// \file tcq.hpp
/// lowbit's trellis-coded formats, below GGUF's rate-distortion at the same bits: tcq2 (2.25 bits per weight) and
/// tcq3 (3.25 bits per weight). 256 weights per block share one fp16 scale; each weight is an entry of a Gaussian
/// table chosen by an overlapping window of the block's bit stream, found by a Viterbi search when quantizing
/// (format/tcq_common.hpp); q8_K activations. Not GGUF formats (lowbit's own type ids).
#include "api.hpp"
#include "kernels.hpp"
