// fuzz_packed: every packed format's kernels against the plain ones (fuzz_packed.hpp says what is checked and how
// the input is read); most formats here, the largest K kernels in fuzz_packed_kquants.cpp.
#include "fuzz_packed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    lowbit_fuzz::input in(data, size);
    const std::uint8_t b0 = in.byte(), b1 = in.byte();
    const std::size_t offset = b0 & 63u, rows = 1 + (b1 & 15u);
    const unsigned batch_choice = b1 >> 4 & 3u;
    lowbit_fuzz::packed_products_of<false>(in, offset, rows, batch_choice);
    lowbit_fuzz::packed_kquant_products(in, offset, rows, batch_choice);
    return 0;
}
