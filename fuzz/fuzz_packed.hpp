#pragma once
// fuzz_packed (fuzz_packed.cpp, fuzz_packed_kquants.cpp): the fuzzer's bytes become a plain weight matrix (any bit
// pattern: Inf/NaN and subnormal fp16 scales, every code and sub-block scale) and activation rows, for every format
// lowbit::pack supports, in exact-size heap buffers at byte offsets 0..63 (outputs: float offsets 0..3).
//   - pack then unpack_row gives every plain block back byte for byte (the layouts lose no bit);
//   - gemm on the packed matrix gives the plain matrix's floats bit for bit (or NaN for NaN), at batch 1 (the
//     GEMV kernel), a few rows (the GEMM tiles) and arch::packing_batch<Fmt>() rows (plain weights packed on the fly);
//   - each output row of a GEMM is the GEMV of that activation row, bit for bit.
// ASan checks that no kernel reads or writes past its buffers (a packed matrix of 1..16 rows, padding rows
// included, and outputs of exactly batch x rows floats).
//
// Input: byte 0 = the buffers' byte offset (bits 0..5), byte 1 = rows - 1 (bits 0..3) and the batch (bits 4..5:
// 1, 2, 5 or packing_batch<Fmt>()); the rest is the weight blocks, then one or two activation rows (repeated to fill
// the batch).
//
// Two translation units of about equal compile time (kquant_unit_formats in the second), so that the fuzzer's
// 7-minute compile (every packed kernel instrumented) runs on two cores.
#include "fuzz_common.hpp"

#include <lowbit/matmul.hpp>

#include <type_traits>
#include <vector>

namespace lowbit_fuzz {

template <class Fmt>
void packed_products(input in, std::size_t offset, std::size_t rows, unsigned batch_choice) {
    using wblock = typename Fmt::block;
    using AFmt = typename Fmt::activation;
    using ablock = typename AFmt::block;
    constexpr std::size_t wbytes = Fmt::block_bytes, abytes = AFmt::block_bytes;
    const std::size_t batches[] = {1, 2, 5, lowbit::arch::packing_batch<Fmt>()};
    const std::size_t batch = batches[batch_choice];
    // Activation rows from the input: up to 2, repeated to fill the batch (so big batches fit -max_len).
    const std::size_t given = std::min<std::size_t>(batch, 2), per_block = rows * wbytes + given * abytes;
    const std::size_t nblocks = std::min<std::size_t>(in.remaining() / per_block, 4), cols = nblocks * Fmt::block_size;
    if (nblocks == 0) return;
    exact_bytes w(rows * nblocks * wbytes, offset), a(batch * nblocks * abytes, offset);
    std::memcpy(w.data(), in.rest(), w.size());
    for (std::size_t c = 0; c < batch; ++c)
        std::memcpy(a.data() + c * nblocks * abytes, in.rest() + w.size() + c % given * nblocks * abytes, nblocks * abytes);
    for (std::size_t b = 0; b < batch * nblocks; ++b) lowbit_fuzz::satisfy_preconditions(a.as<ablock>()[b]);
    const lowbit::const_qmatrix_view<Fmt> plain(w.data(), rows, cols);
    const lowbit::const_qmatrix_view<AFmt> x(a.data(), batch, cols);

    exact_bytes packed_bytes(lowbit::const_packed_view<Fmt>::bytes_for(rows, cols), offset);
    const lowbit::const_packed_view<Fmt> packed = lowbit::pack(plain, packed_bytes.data());
    exact_bytes row(nblocks * wbytes, offset);
    for (std::size_t r = 0; r < rows; ++r) {
        lowbit::unpack_row(packed, r, row.as<wblock>());
        LOWBIT_FUZZ_REQUIRE(std::memcmp(row.data(), plain.row(r), row.size()) == 0,
                            "%s: row %zu of %zu does not unpack to its plain blocks", Fmt::name(), r, rows);
    }

    const std::size_t float_offset = offset % 4 * sizeof(float);  // floats stay aligned
    exact_bytes y_plain(batch * rows * sizeof(float), float_offset);
    exact_bytes y_packed(batch * rows * sizeof(float), float_offset);
    lowbit::gemm(plain, x, lowbit::matrix_view<float>(y_plain.as<float>(), batch, rows));
    lowbit::gemm(packed, x, lowbit::matrix_view<float>(y_packed.as<float>(), batch, rows));
    exact_bytes y_row(rows * sizeof(float), float_offset);
    for (std::size_t c = 0; c < batch; ++c) {
        lowbit::gemv(packed, x.row(c), y_row.as<float>());
        for (std::size_t r = 0; r < rows; ++r) {
            const float want = y_plain.as<float>()[c * rows + r], got = y_packed.as<float>()[c * rows + r];
            LOWBIT_FUZZ_REQUIRE(lowbit_fuzz::same_float(got, want),
                                "%s: packed output (%zu, %zu) of %zu x %zu is %a, plain %a", Fmt::name(), c, r, batch,
                                rows, static_cast<double>(got), static_cast<double>(want));
            LOWBIT_FUZZ_REQUIRE(lowbit_fuzz::same_float(y_row.as<float>()[r], want),
                                "%s: GEMV of row %zu gives output %zu = %a, GEMM %a", Fmt::name(), c, r,
                                static_cast<double>(y_row.as<float>()[r]), static_cast<double>(want));
        }
    }
}

/// The formats of fuzz_packed_kquants.cpp: the largest kernels, about 60% of the fuzzer's compile time.
using kquant_unit_formats = lowbit::type_list<lowbit::q4_K, lowbit::q3_K, lowbit::q2_K>;

template <class Fmt, class... T>
constexpr bool one_of(lowbit::type_list<T...>) {
    return (std::is_same<Fmt, T>::value || ...);
}

/// packed_products for every packable format that is (InKquantUnit) or is not one of kquant_unit_formats.
template <bool InKquantUnit>
void packed_products_of(const input& in, std::size_t offset, std::size_t rows, unsigned batch_choice) {
    for_each_type(lowbit::weight_formats{}, [&](auto tag) {
        using Fmt = typename decltype(tag)::type;
        if constexpr (lowbit::packed_layout<Fmt>::supported && one_of<Fmt>(kquant_unit_formats{}) == InKquantUnit)
            packed_products<Fmt>(in, offset, rows, batch_choice);
    });
}

/// packed_products_of<true>, compiled in fuzz_packed_kquants.cpp.
void packed_kquant_products(const input& in, std::size_t offset, std::size_t rows, unsigned batch_choice);

}  // namespace lowbit_fuzz
