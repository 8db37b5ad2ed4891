#pragma once
/// \file packed.hpp
/// The repacked (interleaved) weight layouts made by lowbit::pack, for the fastest gemv / gemm (matmul.hpp).
/// Formats: q8_0, q4_0, q4_1, q5_0, q5_1 (the 32-value layout) and q2_K, q3_K, q4_K, q5_K, q6_K (the K layout).
/// The plain layout stays valid everywhere; a packed matrix gives bit-identical products to the plain one on
/// every backend (tests/test_matmul.cpp), only faster where a backend has a packed micro-kernel (AVX2, AVX-VNNI,
/// AVX-512 VNNI, NEON dotprod / i8mm). Elsewhere each row is unpacked and run by dot_blocks.
///
/// Why: a plain row-major matrix makes a multi-row kernel read one stream per row and gather each row's fp16
/// scale separately, and its codes must be shuffled (transposed) before vpdpbusd can leave one row per lane.
/// Packed, the 16 rows of a panel are one sequential stream, their scales are one 32-byte load, and each
/// 64-byte chunk already holds one 4-code group of all 16 rows.
///
/// The 32-value layout. Rows are taken 16 at a time (a panel; the last one is padded with zero blocks). Panel p
/// holds packed block 0, 1, ... of rows 16p .. 16p+15, each packed block being the same bytes as its 16 plain
/// blocks (so a packed matrix is as large as the plain one, plus the padding rows), rearranged:
///
///   offset  0                 32 (has min)        +64 (5-bit)              codes
///           +-----------------+------------------+------------------------+----------------------------+
///           | d[16]: fp16     | m[16]: fp16      | qh[16]: uint32         | G chunks of 16 x 4 bytes   |
///           +-----------------+------------------+------------------------+----------------------------+
///
///   Codes are unsigned and carry the format's zero point Z (weight = d * (code - Z) [+ m]); "group k" of a row
///   means its codes 4k .. 4k+3, k = 0..7.
///   - 4 and 5 bits: G = 4; chunk j, row r is dword j of the row's plain qs: its low nibbles are group j and its
///     high nibbles group j + 4.
///   - 5 bits: qh[r] bit 8i + k is the fifth bit of code 4k + i (the plain qh, reordered so that one shift
///     and one mask put the fifth bits of group k next to its nibbles).
///   - q8_0: G = 8; chunk k, row r is group k of the row as bytes code + 128 (Z = 128).
///
/// The K layout. Panels of 16 rows as above; a packed block is one super-block (256 weights) of the 16 rows:
///
///   offset  0            32 (has min)    sc                   m (own bytes)          planes
///           +------------+---------------+--------------------+----------------------+----------------------+
///           | d[16] fp16 | dmin[16] fp16 | sc[S][16]: 1 byte  | m[S][16]: 1 byte     | low plane, high plane|
///           +------------+---------------+--------------------+----------------------+----------------------+
///
///   S sub-blocks (8 of 32 weights, or 16 of 16); sc[s][r] is row r's scale of sub-block s as one byte (int8 where
///   the format's scales are signed), m[s][r] its min. Where scale and min both fit 4 bits (q2_K) they share the
///   sc byte (scale in the low nibble, min in the high one) and there is no m array. Codes are the format's
///   unsigned codes u (weight = d * sc * (u - Z) - dmin * m), split into a low plane of 4 bits (4, 5 and 6-bit
///   codes) or 2 bits (2 and 3-bit codes) and a high plane of the remaining 0, 1 or 2 bits. A plane of width w
///   is 8w chunks of 16 x 4 bytes; chunk j, row r, byte i holds, in bits w*t .. w*t + w - 1 (t = 0 .. 8/w - 1),
///   that plane's bits of code 4g + i of the row, g = (8/w) j + t: one shift and one mask give group g of 16 rows.
///   The bytes differ from the plain block's only in the scales: q3_K, q4_K and q5_K store their 6-bit scales
///   (and mins) as whole bytes, 4 bytes more per row and super-block (+3.6%, +2.8%, +2.3%), so that one load and
///   one widening give 16 rows' scales; q2_K and q6_K are the plain size.
#include "error.hpp"
#include "format/q2_K.hpp"
#include "format/q3_K.hpp"
#include "format/q4_0.hpp"
#include "format/q4_1.hpp"
#include "format/q5_0.hpp"
#include "format/q4_K.hpp"
#include "format/q5_1.hpp"
#include "format/q5_K.hpp"
#include "format/q6_K.hpp"
#include "format/q8_0.hpp"
#include "view.hpp"

#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

LOWBIT_NAMESPACE_BEGIN

/// Byte offsets inside one packed block of Fmt, for the formats that can be packed (supported is false for
/// the others, and pack() rejects them at compile time).
template <class Fmt>
struct packed_layout {
    static constexpr bool supported = false, kquant = false;
};

namespace detail {
/// The layout of a format with Fmt's codec. The codes are stored unsigned: q8_0's signed codes plus 128, so its
/// packed zero point is 128.
template <class Fmt>
struct packed_offsets {
    static constexpr bool supported = true, kquant = false;
    static constexpr int bits = Fmt::code_bits, zero_point = bits == 8 ? 128 : Fmt::zero_point;
    static constexpr bool has_min = Fmt::has_min;
    static constexpr std::size_t rows = 16;  // rows per panel
    static constexpr std::size_t d = 0, m = 32, qh = has_min ? 64 : 32;
    static constexpr std::size_t qs = qh + (bits == 5 ? 64 : 0);
    static constexpr std::size_t groups_per_chunk = bits == 8 ? 1 : 2;
    static constexpr std::size_t chunks = 8 / groups_per_chunk;
    static constexpr std::size_t bytes = qs + 64 * chunks;
};
/// The K layout of a K format (see above).
template <class Fmt>
struct packed_kquant_offsets {
    static constexpr bool supported = true, kquant = true;
    static constexpr std::size_t rows = 16;
    static constexpr int bits = Fmt::code_bits, zero_point = Fmt::zero_point;
    static constexpr bool has_min = Fmt::has_min;
    static constexpr std::size_t sub_block = Fmt::sub_block, sub_blocks = qk_k / sub_block;
    static constexpr bool signed_scales = Fmt::scale_lo < 0;
    static constexpr bool min_in_scale_byte = has_min && Fmt::scale_lo >= 0 && Fmt::scale_hi <= 15 && Fmt::min_hi <= 15;
    static constexpr int low_plane_bits = bits >= 4 ? 4 : 2, high_plane_bits = bits - low_plane_bits;
    static constexpr std::size_t d = 0, dmin = 32, sc = has_min ? 64 : 32;
    static constexpr std::size_t m = sc + 16 * sub_blocks;
    static constexpr std::size_t low_plane = m + (has_min && !min_in_scale_byte ? 16 * sub_blocks : 0);
    static constexpr std::size_t high_plane = low_plane + 512 * low_plane_bits;
    static constexpr std::size_t bytes = high_plane + 512 * high_plane_bits;
    static_assert(high_plane_bits >= 0 && high_plane_bits <= 2, "codes of 2 to 6 bits");
};
}  // namespace detail

template <> struct packed_layout<q4_0> : detail::packed_offsets<q4_0> {};
template <> struct packed_layout<q4_1> : detail::packed_offsets<q4_1> {};
template <> struct packed_layout<q5_0> : detail::packed_offsets<q5_0> {};
template <> struct packed_layout<q5_1> : detail::packed_offsets<q5_1> {};
template <> struct packed_layout<q8_0> : detail::packed_offsets<q8_0> {};

template <> struct packed_layout<q2_K> : detail::packed_kquant_offsets<q2_K> {};
template <> struct packed_layout<q3_K> : detail::packed_kquant_offsets<q3_K> {};
template <> struct packed_layout<q4_K> : detail::packed_kquant_offsets<q4_K> {};
template <> struct packed_layout<q5_K> : detail::packed_kquant_offsets<q5_K> {};
template <> struct packed_layout<q6_K> : detail::packed_kquant_offsets<q6_K> {};

static_assert(packed_layout<q2_K>::bytes == 16 * q2_K::block_bytes && packed_layout<q6_K>::bytes == 16 * q6_K::block_bytes &&
                  packed_layout<q3_K>::bytes == 16 * (q3_K::block_bytes + 4) &&
                  packed_layout<q4_K>::bytes == 16 * (q4_K::block_bytes + 4) &&
                  packed_layout<q5_K>::bytes == 16 * (q5_K::block_bytes + 4),
              "a packed K block is its 16 plain blocks, with whole-byte scales where the plain ones are 6-bit");
static_assert(packed_layout<q4_0>::bytes == 16 * q4_0::block_bytes && packed_layout<q4_1>::bytes == 16 * q4_1::block_bytes &&
                  packed_layout<q5_0>::bytes == 16 * q5_0::block_bytes && packed_layout<q5_1>::bytes == 16 * q5_1::block_bytes &&
                  packed_layout<q8_0>::bytes == 16 * q8_0::block_bytes,
              "a packed block is exactly its 16 plain blocks, rearranged");

/// A read-only packed matrix: rows x cols weights of Fmt in the layout above, panel after panel.
template <class Fmt>
class const_packed_view {
public:
    using format = Fmt;
    using layout = packed_layout<Fmt>;
    using index_type = std::size_t;

    /// Bytes of a packed rows x cols matrix (cols a multiple of the block size).
    static constexpr index_type bytes_for(index_type rows, index_type cols) noexcept {
        return (rows + layout::rows - 1) / layout::rows * (cols / Fmt::block_size) * layout::bytes;
    }

    /// Throws if cols is not a multiple of the block size or data is null for a non-empty matrix.
    const_packed_view(const void* data, index_type rows, index_type cols)
        : m_data(static_cast<const unsigned char*>(data)), m_rows(rows), m_cols(cols) {
        static_assert(layout::supported, "lowbit::pack supports q8_0, q4_0, q4_1, q5_0, q5_1 and q2_K ... q6_K");
        const_qmatrix_view<Fmt>(data, rows, cols);  // the same checks as a plain matrix
    }

    const_packed_view(unchecked_t, const void* data, index_type rows, index_type cols) noexcept
        : m_data(static_cast<const unsigned char*>(data)), m_rows(rows), m_cols(cols) {}

    /// Packed block b of panel p (rows 16p .. 16p+15).
    const unsigned char* block(index_type p, index_type b) const noexcept {
        return m_data + (p * blocks_per_row() + b) * layout::bytes;
    }
    const unsigned char* bytes() const noexcept { return m_data; }
    index_type rows() const noexcept { return m_rows; }
    index_type cols() const noexcept { return m_cols; }
    index_type blocks_per_row() const noexcept { return m_cols / Fmt::block_size; }
    index_type panels() const noexcept { return (m_rows + layout::rows - 1) / layout::rows; }
    index_type size_bytes() const noexcept { return bytes_for(m_rows, m_cols); }

private:
    const unsigned char* m_data;
    index_type m_rows, m_cols;
};

namespace detail {

inline std::uint32_t load_u32(const unsigned char* p) noexcept {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
inline void store_u32(unsigned char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

/// Plain qh bit 4k + i <-> packed qh bit 8i + k (an 8 x 4 bit transpose, its own inverse up to the roles).
inline std::uint32_t pack_high_bits(std::uint32_t qh) noexcept {
    std::uint32_t out = 0;
    for (int k = 0; k < 8; ++k)
        for (int i = 0; i < 4; ++i) out |= ((qh >> (4 * k + i)) & 1u) << (8 * i + k);
    return out;
}
inline std::uint32_t unpack_high_bits(std::uint32_t packed) noexcept {
    std::uint32_t out = 0;
    for (int k = 0; k < 8; ++k)
        for (int i = 0; i < 4; ++i) out |= ((packed >> (8 * i + k)) & 1u) << (4 * k + i);
    return out;
}

/// The K layout: row r (< 16) of packed block `to` from plain block `from` (pack), and the inverse (unpack).
template <class Fmt, class L = packed_layout<Fmt>>
struct kquant_block_rows {
    /// Plane of width W (code bits Bit ..) of row r from its 256 codes u, and back (the plane's fields ORed into u).
    template <int W, int Bit>
    static void put_plane(const unsigned char* u, std::size_t r, unsigned char* plane) noexcept {
        constexpr int per_chunk = 8 / W;
        // A byte's plane bits, 4 bytes (codes 4g .. 4g+3) at a time: Bit + W <= 8, so no bit crosses a byte.
        constexpr std::uint32_t mask = ((1u << W) - 1u) * 0x01010101u;
        for (int j = 0; j < 8 * W; ++j) {
            std::uint32_t v = 0;
            for (int t = 0; t < per_chunk; ++t) v |= (load_u32(u + 4 * (per_chunk * j + t)) >> Bit & mask) << (W * t);
            store_u32(plane + 64 * j + 4 * r, v);
        }
    }
    template <int W, int Bit>
    static void get_plane(const unsigned char* plane, std::size_t r, unsigned char* u) noexcept {
        constexpr int per_chunk = 8 / W;
        constexpr std::uint32_t mask = ((1u << W) - 1u) * 0x01010101u;
        for (int j = 0; j < 8 * W; ++j) {
            const std::uint32_t v = load_u32(plane + 64 * j + 4 * r);
            for (int t = 0; t < per_chunk; ++t) {
                unsigned char* at = u + 4 * (per_chunk * j + t);
                store_u32(at, load_u32(at) | (v >> (W * t) & mask) << Bit);
            }
        }
    }
    /// A whole panel's plane of width W (code bits Bit ..) from its codes laid out 4 per row per 64 bytes (codes
    /// 4g .. 4g + 3 of row r at 64 g + 4 r): put_plane for every row at once, by byte-wise operations on whole lines.
    template <int W, int Bit>
    static void panel_plane(const unsigned char* codes, unsigned char* plane) noexcept {
        constexpr int per_chunk = 8 / W;
        constexpr unsigned mask = (1u << W) - 1u;
        for (int j = 0; j < 8 * W; ++j)
            for (int i = 0; i < 64; ++i) {
                unsigned v = 0;
                for (int t = 0; t < per_chunk; ++t) v |= (codes[64 * (per_chunk * j + t) + i] >> Bit & mask) << (W * t);
                plane[64 * j + i] = static_cast<unsigned char>(v);
            }
    }
    static void panel_planes(const unsigned char* codes, unsigned char* to) noexcept {
        panel_plane<L::low_plane_bits, 0>(codes, to + L::low_plane);
        if constexpr (L::high_plane_bits > 0) panel_plane<L::high_plane_bits, L::low_plane_bits>(codes, to + L::high_plane);
    }
    /// Row r's d, dmin and sub-block scales (and mins) in packed block `to`.
    static void pack_scales(const typename Fmt::block& from, std::size_t r, unsigned char* to) noexcept {
        std::memcpy(to + L::d + 2 * r, &from.d, 2);
        if constexpr (L::has_min) std::memcpy(to + L::dmin + 2 * r, &from.dmin, 2);
        int sc[L::sub_blocks], m[L::sub_blocks] = {};
        Fmt::get_scales(from, sc, m);
        for (std::size_t s = 0; s < L::sub_blocks; ++s) {
            if constexpr (L::min_in_scale_byte) {
                to[L::sc + 16 * s + r] = static_cast<unsigned char>(sc[s] | m[s] << 4);
            } else {
                to[L::sc + 16 * s + r] = static_cast<unsigned char>(sc[s]);
                if constexpr (L::has_min) to[L::m + 16 * s + r] = static_cast<unsigned char>(m[s]);
            }
        }
    }
    static void pack(const typename Fmt::block& from, std::size_t r, unsigned char* to) noexcept {
        pack_scales(from, r, to);
        std::uint8_t u[qk_k] = {};
        Fmt::codes(from, u);
        put_plane<L::low_plane_bits, 0>(u, r, to + L::low_plane);
        if constexpr (L::high_plane_bits > 0) put_plane<L::high_plane_bits, L::low_plane_bits>(u, r, to + L::high_plane);
    }
    static void unpack(const unsigned char* from, std::size_t r, typename Fmt::block& to) noexcept {
        to = typename Fmt::block{};  // the format's put_ functions OR their fields in
        std::memcpy(&to.d, from + L::d + 2 * r, 2);
        if constexpr (L::has_min) std::memcpy(&to.dmin, from + L::dmin + 2 * r, 2);
        int sc[L::sub_blocks], m[L::sub_blocks] = {};
        for (std::size_t s = 0; s < L::sub_blocks; ++s) {
            const unsigned char scale = from[L::sc + 16 * s + r];
            if constexpr (L::min_in_scale_byte) {
                sc[s] = scale & 15;
                m[s] = scale >> 4;
            } else {
                sc[s] = L::signed_scales ? static_cast<signed char>(scale) : scale;
                if constexpr (L::has_min) m[s] = from[L::m + 16 * s + r];
            }
        }
        Fmt::put_scales(sc, m, to);
        unsigned char u[qk_k] = {};
        get_plane<L::low_plane_bits, 0>(from + L::low_plane, r, u);
        if constexpr (L::high_plane_bits > 0) get_plane<L::high_plane_bits, L::low_plane_bits>(from + L::high_plane, r, u);
        for (int i = 0; i < static_cast<int>(qk_k); ++i) Fmt::put_code(to, i, u[i]);
    }
};

/// Writes row r (< 16) of packed block `to` from plain block `from`; the scalar definition of the layouts.
template <class Fmt>
void pack_block_row(const typename Fmt::block& from, std::size_t r, unsigned char* to) noexcept {
    using L = packed_layout<Fmt>;
    if constexpr (L::kquant) {
        kquant_block_rows<Fmt>::pack(from, r, to);
    } else {
        std::memcpy(to + L::d + 2 * r, &from.d, 2);
        if constexpr (L::has_min) std::memcpy(to + L::m + 2 * r, &from.m, 2);
        if constexpr (L::bits == 5) store_u32(to + L::qh + 4 * r, pack_high_bits(load_u32(from.qh)));
        for (std::size_t j = 0; j < L::chunks; ++j)
            for (std::size_t i = 0; i < 4; ++i) {
                const auto q = static_cast<std::uint8_t>(from.qs[4 * j + i]);
                to[L::qs + 64 * j + 4 * r + i] = L::bits == 8 ? static_cast<unsigned char>(q ^ 0x80u) : q;
            }
    }
}

/// The inverse: plain block of row r (< 16) of packed block `from`.
template <class Fmt>
void unpack_block_row(const unsigned char* from, std::size_t r, typename Fmt::block& to) noexcept {
    using L = packed_layout<Fmt>;
    if constexpr (L::kquant) {
        kquant_block_rows<Fmt>::unpack(from, r, to);
    } else {
        std::memcpy(&to.d, from + L::d + 2 * r, 2);
        if constexpr (L::has_min) std::memcpy(&to.m, from + L::m + 2 * r, 2);
        if constexpr (L::bits == 5) store_u32(to.qh, unpack_high_bits(load_u32(from + L::qh + 4 * r)));
        for (std::size_t j = 0; j < L::chunks; ++j)
            for (std::size_t i = 0; i < 4; ++i) {
                const auto q = static_cast<std::uint8_t>(from[L::qs + 64 * j + 4 * r + i] ^ (L::bits == 8 ? 0x80u : 0u));
                std::memcpy(&to.qs[4 * j + i], &q, 1);
            }
    }
}

}  // namespace detail

/// Row r of w as plain blocks (blocks_per_row of them at `row`): the inverse of pack for one row.
template <class Fmt>
void unpack_row(const const_packed_view<Fmt>& w, std::size_t r, typename Fmt::block* row) noexcept {
    for (std::size_t b = 0; b < w.blocks_per_row(); ++b)
        detail::unpack_block_row<Fmt>(w.block(r / 16, b), r % 16, row[b]);
}

/// Packs plain w into `out` (const_packed_view<Fmt>::bytes_for(rows, cols) bytes, any alignment; padding rows
/// are written as zero blocks) and returns the view of it.
template <class Fmt, class Block>
const_packed_view<Fmt> pack(qmatrix_view<Fmt, Block> w, void* out) {
    using L = packed_layout<Fmt>;
    static_assert(L::supported, "lowbit::pack supports q8_0, q4_0, q4_1, q5_0, q5_1 and q2_K ... q6_K");
    const std::size_t rows = w.rows(), nblocks = w.blocks_per_row();
    const auto bytes = static_cast<unsigned char*>(out);
    if (!out && rows != 0 && nblocks != 0) raise(std::string("pack(") + Fmt::name() + "): null output");
    const typename Fmt::block zero{};
    for (std::size_t r = 0; r < (rows + 15) / 16 * 16; ++r)
        for (std::size_t b = 0; b < nblocks; ++b)
            detail::pack_block_row<Fmt>(r < rows ? w.row(r)[b] : zero, r % 16, bytes + ((r / 16) * nblocks + b) * L::bytes);
    return const_packed_view<Fmt>(out, rows, w.cols());
}

/// An owning packed matrix (64-byte aligned storage; movable, not copyable): `lowbit::packed_matrix<q4_0> p(w);`
/// then gemv(p, ...).
template <class Fmt>
class packed_matrix {
public:
    template <class Block>
    explicit packed_matrix(qmatrix_view<Fmt, Block> w)
        : m_bytes(allocate(const_packed_view<Fmt>::bytes_for(w.rows(), w.cols()))), m_view(pack(w, m_bytes.get())) {}

    const const_packed_view<Fmt>& view() const noexcept { return m_view; }
    operator const const_packed_view<Fmt>&() const noexcept { return m_view; }
    std::size_t rows() const noexcept { return m_view.rows(); }
    std::size_t cols() const noexcept { return m_view.cols(); }
    std::size_t size_bytes() const noexcept { return m_view.size_bytes(); }

private:
    struct deleter {
        void operator()(unsigned char* p) const noexcept { ::operator delete(p, std::align_val_t(64)); }
    };
    static std::unique_ptr<unsigned char, deleter> allocate(std::size_t n) {
        return std::unique_ptr<unsigned char, deleter>(static_cast<unsigned char*>(::operator new(n ? n : 1, std::align_val_t(64))));
    }
    std::unique_ptr<unsigned char, deleter> m_bytes;
    const_packed_view<Fmt> m_view;
};

LOWBIT_NAMESPACE_END
