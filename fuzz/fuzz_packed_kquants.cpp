// fuzz_packed's kquant_unit_formats (fuzz_packed.hpp): a translation unit of their own, compiled beside
// fuzz_packed.cpp.
#include "fuzz_packed.hpp"

void lowbit_fuzz::packed_kquant_products(const input& in, std::size_t offset, std::size_t rows,
                                         unsigned batch_choice) {
    packed_products_of<true>(in, offset, rows, batch_choice);
}
