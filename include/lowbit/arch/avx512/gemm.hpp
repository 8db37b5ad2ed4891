#pragma once
/// \file arch/avx512/gemm.hpp
/// AVX-512 VNNI GEMM micro-kernel for the legacy weight formats (q8_0, q4_0, q4_1, q5_0, q5_1); the hooks are
/// described in core/matmul.hpp, the per-pair arithmetic in arch/x86/gemm.hpp (the same here, so
/// results are bit-identical to the AVX2 micro-kernels and to plain-layout GEMV, which this backend takes from AVX2).
///
/// Layout without horizontal reductions: a tile is 16 weight rows, one per int32 lane. Per block, the 16
/// blocks' unsigned codes are transposed so that vector k holds dword k (codes 4k .. 4k+3) of every row; then
/// for each activation row, 8 vpdpbusd with the activation's dword k broadcast leave each row's exact block
/// sum in its lane. The transpose is paid once per weight block and shared by the whole batch. Packed weights
/// (packed.hpp) are stored in that transposed order, so packed_tile only masks (and shifts) its loads; it also
/// serves GEMV, prefetching ahead of its single stream.
#include "../x86/gemm.hpp"
#include "intrin.hpp"
#include "kquant.hpp"

#include <cstring>

LOWBIT_AVX512_KERNELS_BEGIN

LOWBIT_NAMESPACE_BEGIN namespace arch {
namespace avx512_impl {

/// A block's 32 codes as unsigned bytes for vpdpbusd (u8 x s8, exact int32 sums), and the zero point Z they
/// carry (weight = d * (code - Z)): the nibble codes as they are, q8_0's signed codes plus 128.
template <class WBlock>
struct codes {
    static constexpr int offset = x86_impl::ops<WBlock>::offset;
    static_assert(offset == packed_layout<typename WBlock::format>::zero_point, "the panel's zero_point_sum is for this Z");
    static LOWBIT_INLINE __m256i load(const WBlock& b) noexcept { return x86_impl::unpack_codes(b); }
};
template <>
struct codes<q8_0::block> {
    static constexpr int offset = 128;
    static LOWBIT_INLINE __m256i load(const q8_0::block& b) noexcept {
        return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)), _mm256_set1_epi8(-128));
    }
};

/// 8 x 8 dword transpose: afterwards lane r of v[k] is what dword k of v[r] was.
LOWBIT_INLINE void transpose8(__m256i (&v)[8]) noexcept {
    __m256i t[8], u[8];
    for (int i = 0; i < 4; ++i) {  // t[2i], t[2i+1]: rows 2i, 2i+1 interleaved (dwords 0,1 | 4,5 and 2,3 | 6,7)
        t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    for (int h = 0; h < 2; ++h)  // u[4h + j]: dword j | j + 4 of rows 4h .. 4h+3
        for (int j = 0; j < 2; ++j) {
            u[4 * h + 2 * j] = _mm256_unpacklo_epi64(t[4 * h + j], t[4 * h + 2 + j]);
            u[4 * h + 2 * j + 1] = _mm256_unpackhi_epi64(t[4 * h + j], t[4 * h + 2 + j]);
        }
    for (int j = 0; j < 4; ++j) {
        v[j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x20);
        v[j + 4] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x31);
    }
}

using avx512_impl::join;

/// Products of rows rt .. rt+15 (clamped to last; the extra lanes are computed and dropped) with every
/// activation row; acc holds 16 floats per activation row.
template <class WBlock, class AFmt>
void tile16(const_qmatrix_view<typename WBlock::format> w, std::size_t rt, std::size_t last,
            const matmul_panel<AFmt>& p, float* acc, const matmul_output& out) {
    constexpr int offset = codes<WBlock>::offset;
    constexpr bool has_min = x86_impl::ops<WBlock>::has_min;
    const std::size_t nblocks = w.blocks_per_row(), batch = p.xq.rows();
    const WBlock* rows[16];
    for (int r = 0; r < 16; ++r) rows[r] = w.row(std::min(rt + r, last));
    std::fill(acc, acc + 16 * batch, 0.0f);

    for (std::size_t b = 0; b < nblocks; ++b) {
        __m256i lo[8], hi[8];
        for (int r = 0; r < 8; ++r) {
            lo[r] = codes<WBlock>::load(rows[r][b]);
            hi[r] = codes<WBlock>::load(rows[8 + r][b]);
        }
        transpose8(lo);
        transpose8(hi);
        __m512i wt[8];
        for (int k = 0; k < 8; ++k) wt[k] = join(lo[k], hi[k]);
        const __m512 dw = join(x86_impl::lane_halves<&WBlock::d, 1>(rows, b),
                               x86_impl::lane_halves<&WBlock::d, 1>(rows + 8, b));
        __m512 mw = _mm512_setzero_ps();
        if constexpr (has_min)
            mw = join(x86_impl::lane_halves<&WBlock::m, 1>(rows, b), x86_impl::lane_halves<&WBlock::m, 1>(rows + 8, b));
        const std::size_t at = b * p.stride;
        for (std::size_t c = 0; c < batch; ++c) {
            std::int32_t a[8];
            std::memcpy(a, p.xq.row(c)[b].qs, sizeof(a));
            // Two chains of four: vpdpbusd's latency would otherwise bound a small batch.
            __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
            for (int k = 0; k < 8; k += 2) {
                s0 = _mm512_dpbusd_epi32(s0, wt[k], _mm512_set1_epi32(a[k]));
                s1 = _mm512_dpbusd_epi32(s1, wt[k + 1], _mm512_set1_epi32(a[k + 1]));
            }
            __m512i isum = _mm512_add_epi32(s0, s1);
            if constexpr (offset != 0) isum = _mm512_add_epi32(isum, _mm512_set1_epi32(p.zero_point_sum[at + c]));
            const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(p.d[at + c]));
            __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), scale, _mm512_loadu_ps(acc + 16 * c));
            if constexpr (has_min) v = _mm512_fmadd_ps(mw, _mm512_set1_ps(p.s[at + c]), v);
            _mm512_storeu_ps(acc + 16 * c, v);
        }
    }
    for (std::size_t c = 0; c < batch; ++c)
        for (std::size_t r = rt; r <= std::min(rt + 15, last); ++r) out.put(c, r, acc[16 * c + (r - rt)]);
}

/// Group K (codes 4K .. 4K+3) of the 16 rows of a packed block (packed.hpp), row r in dword lane r: the layout
/// tile16 builds with transpose8, here one load (and a mask, and for 5 bits a shift and a ternary logic op).
template <class WFmt, int K>
LOWBIT_INLINE __m512i packed_group(const unsigned char* pb) noexcept {
    using L = packed_layout<WFmt>;
    if constexpr (L::bits == 8) {
        return _mm512_loadu_si512(pb + L::qs + 64 * K);
    } else {
        const __m512i chunk = _mm512_loadu_si512(pb + L::qs + 64 * (K % 4));
        __m512i codes = _mm512_and_si512(K < 4 ? chunk : _mm512_srli_epi16(chunk, 4), _mm512_set1_epi8(0x0F));
        if constexpr (L::bits == 5) {  // packed qh bit 8i + K -> bit 4 of byte i
            const __m512i qh = _mm512_loadu_si512(pb + L::qh);
            const __m512i high = K <= 4 ? _mm512_slli_epi32(qh, 4 - K) : _mm512_srli_epi32(qh, K - 4);
            codes = _mm512_ternarylogic_epi32(codes, high, _mm512_set1_epi8(0x10), 0xF8);  // codes | (high & 0x10)
        }
        return codes;
    }
}

/// An int32 read from any address. Reading activations through it (not through a local copy, which GCC
/// assembles in general registers, then moves to vectors) lets vpdpbusd broadcast them from memory.
using dword = std::int32_t __attribute__((may_alias, aligned(1)));

/// 16 fp16 values (a packed block's d or m) as floats.
LOWBIT_INLINE __m512 load_halves16(const unsigned char* p) noexcept {
    return join(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
                _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))));
}

/// Products of packed panel `pi` (rows 16 pi ..) with activation rows c0 .. c0+C-1 (all < batch); outputs outside
/// rows [r0, r1) are dropped. The weights are decoded once per block for the C columns; the accumulators stay
/// in registers over the whole row. Stream: prefetch (GEMV; GEMM re-reads the panel from cache).
template <class WFmt, int C, bool Stream, class AFmt>
void packed_tile(const const_packed_view<WFmt>& w, std::size_t pi, std::size_t c0, std::size_t r0, std::size_t r1,
                 const matmul_panel<AFmt>& p, const matmul_output& out) {
    using L = packed_layout<WFmt>;
    const std::size_t nblocks = w.blocks_per_row();
    __m512 acc[C];
    for (auto& v : acc) v = _mm512_setzero_ps();
    for (std::size_t b = 0; b < nblocks; ++b) {
        const unsigned char* pb = w.block(pi, b);
        if constexpr (Stream) x86_impl::prefetch_ahead<L::bytes>(pb);
        const std::size_t at = b * p.stride + c0;
        const dword* a[C];
        __m512i isum[C];  // one chain per column, the zero-point correction first (a broadcast load)
        for (int c = 0; c < C; ++c) {
            a[c] = reinterpret_cast<const dword*>(p.xq.row(c0 + c)[b].qs);
            isum[c] = L::zero_point ? _mm512_set1_epi32(p.zero_point_sum[at + c]) : _mm512_setzero_si512();
        }
        // Group by group, each decoded once for the C columns; the columns' chains interleave. set1 of a memory
        // dword becomes a broadcast load (measured no slower than 128-bit loads + vpshufd, or column-major order).
        x86_impl::unroll<8>([&](auto k) {
            constexpr int K = decltype(k)::value;
            const __m512i wk = packed_group<WFmt, K>(pb);
            x86_impl::unroll<C>([&](auto c) { isum[c] = _mm512_dpbusd_epi32(isum[c], wk, _mm512_set1_epi32(a[c][K])); });
        });
        const __m512 dw = load_halves16(pb + L::d);
        const __m512 mw = L::has_min ? load_halves16(pb + L::m) : _mm512_setzero_ps();
        for (int c = 0; c < C; ++c) {
            const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(p.d[at + c]));
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), scale, acc[c]);
            if constexpr (L::has_min) acc[c] = _mm512_fmadd_ps(mw, _mm512_set1_ps(p.s[at + c]), acc[c]);
        }
    }
    for (int c = 0; c < C; ++c) {
        alignas(64) float lanes[16];
        _mm512_store_ps(lanes, acc[c]);
        for (std::size_t k = 0; k < 16; ++k) {
            const std::size_t r = pi * L::rows + k;
            if (r >= r0 && r < r1) out.put(c0 + c, r, lanes[k]);
        }
    }
}

/// kpacked_impl::rows' vector operations (arch/kpacked.hpp) on zmm: a whole panel (16 rows) per vector, vpdpbusd as the int8 dot.
struct zmm_ops {
    using vi = __m512i;
    using vf = __m512;
    static constexpr int rows = 16;
    static constexpr int columns = 8;  // activation rows per GEMM tile: 8 fit 32 zmm registers (1.1-1.25x over 4)
    static constexpr int block_lanes = 8;  // kdot_step's
    static LOWBIT_INLINE vi load(const unsigned char* p) noexcept { return _mm512_loadu_si512(p); }
    /// x86_impl::move_bits on 64 bytes.
    template <int From, int To, int Width>
    static LOWBIT_INLINE vi move_bits(vi v) noexcept {
        vi s = v;
        if constexpr (To > From) s = _mm512_slli_epi16(v, To - From);
        if constexpr (To < From) s = _mm512_srli_epi16(v, From - To);
        return _mm512_and_si512(s, _mm512_set1_epi8(static_cast<char>(((1 << Width) - 1) << To)));
    }
    static LOWBIT_INLINE vi bit_or(vi a, vi b) noexcept { return _mm512_or_si512(a, b); }
    static LOWBIT_INLINE vi bit_and(vi a, vi b) noexcept { return _mm512_and_si512(a, b); }
    static LOWBIT_INLINE vi set1(std::int32_t v) noexcept { return _mm512_set1_epi32(v); }
    static LOWBIT_INLINE vi add(vi a, vi b) noexcept { return _mm512_add_epi32(a, b); }
    static LOWBIT_INLINE vi sub(vi a, vi b) noexcept { return _mm512_sub_epi32(a, b); }
    static LOWBIT_INLINE vi mullo(vi a, vi b) noexcept { return _mm512_mullo_epi32(a, b); }
    /// vpdpbusd / vpdpwssd with the activations' dword as an embedded broadcast ({1to16}): GCC 12 does not fold
    /// a _mm512_set1_epi32 of a load into them (the separate vpbroadcastd cost ~8% in the q6_K GEMM).
    static LOWBIT_INLINE vi dot(vi acc, vi u, const void* s) noexcept {
#if defined(LOWBIT_AVX512_EMULATE)
        return _mm512_dpbusd_epi32(acc, u, broadcast32(s));
#else
        asm("vpdpbusd {%2%{1to16%}, %1, %0|%0, %1, %2%{1to16%}}" : "+v"(acc) : "v"(u), "m"(*static_cast<const dword*>(s)));
        return acc;
#endif
    }
    static LOWBIT_INLINE vi dot16(vi acc, vi w, const void* s) noexcept {
#if defined(LOWBIT_AVX512_EMULATE)
        return _mm512_dpwssd_epi32(acc, w, broadcast32(s));
#else
        asm("vpdpwssd {%2%{1to16%}, %1, %0|%0, %1, %2%{1to16%}}" : "+v"(acc) : "v"(w), "m"(*static_cast<const dword*>(s)));
        return acc;
#endif
    }
    struct dword {
        unsigned char b[4];
    };
    static LOWBIT_INLINE vi broadcast32(const void* p) noexcept {
        std::int32_t v;
        std::memcpy(&v, p, 4);
        return _mm512_set1_epi32(v);
    }
    template <bool Signed>
    static LOWBIT_INLINE vi pair16(const unsigned char* lo, const unsigned char* hi) noexcept {
        const __m128i l = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lo));
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi));
        const __m256i pairs = _mm256_set_m128i(_mm_unpackhi_epi8(l, h), _mm_unpacklo_epi8(l, h));
        return Signed ? _mm512_cvtepi8_epi16(pairs) : _mm512_cvtepu8_epi16(pairs);
    }
    template <int N>
    static LOWBIT_INLINE vi shift_right16(vi a) noexcept { return _mm512_srli_epi16(a, N); }
    static LOWBIT_INLINE vi widen_u8(const unsigned char* p) noexcept {
        return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static LOWBIT_INLINE vi widen_s8(const unsigned char* p) noexcept {
        return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static LOWBIT_INLINE vf zero_f() noexcept { return _mm512_setzero_ps(); }
    static LOWBIT_INLINE vf set1_f(float v) noexcept { return _mm512_set1_ps(v); }
    static LOWBIT_INLINE vf load_half(const unsigned char* p) noexcept {
        return load_halves16(p);
    }
    static LOWBIT_INLINE vf load_f(const unsigned char* p) noexcept { return _mm512_loadu_ps(p); }
    static LOWBIT_INLINE vf to_float(vi v) noexcept { return _mm512_cvtepi32_ps(v); }
    static LOWBIT_INLINE vf mul(vf a, vf b) noexcept { return _mm512_mul_ps(a, b); }
    static LOWBIT_INLINE vf add_f(vf a, vf b) noexcept { return _mm512_add_ps(a, b); }
    static LOWBIT_INLINE void store_f(float* p, vf v) noexcept { _mm512_store_ps(p, v); }
    static LOWBIT_INLINE vf min_term(vf t, vf dm, vf msum) noexcept { return _mm512_fnmadd_ps(dm, msum, t); }
    static LOWBIT_INLINE vf sum_lanes(const vf (&l)[8]) noexcept { return x86_impl::sum_hadd_order<zmm_ops>(l); }
    template <std::size_t Bytes>
    static LOWBIT_INLINE void prefetch(const unsigned char* p) noexcept { x86_impl::prefetch_ahead<Bytes>(p); }
};

}  // namespace avx512_impl

template <class WFmt, std::enable_if_t<packed_layout<WFmt>::kquant, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx512_vnni&) {
    kpacked_impl::rows<avx512_impl::zmm_ops>(w, r0, r1, p.xq, out);
}

/// Packed weights: one panel (16 rows) x 8, 4 or 1 activation rows per tile (GEMV: 1, prefetching).
template <class WFmt, std::enable_if_t<packed_layout<WFmt>::supported && !packed_layout<WFmt>::kquant, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1,
               const matmul_panel<typename WFmt::activation>& p, const matmul_output& out, const avx512_vnni&) {
    constexpr std::size_t rows = packed_layout<WFmt>::rows;
    const std::size_t batch = p.xq.rows();
    if (batch == 1) {
        for (std::size_t pi = r0 / rows; pi * rows < r1; ++pi) avx512_impl::packed_tile<WFmt, 1, true>(w, pi, 0, r0, r1, p, out);
        return;
    }
    for (std::size_t pi = r0 / rows; pi * rows < r1; ++pi) {
        std::size_t c0 = 0;
        for (; c0 + 8 <= batch; c0 += 8) avx512_impl::packed_tile<WFmt, 8, false>(w, pi, c0, r0, r1, p, out);
        for (; c0 + 4 <= batch; c0 += 4) avx512_impl::packed_tile<WFmt, 4, false>(w, pi, c0, r0, r1, p, out);
        for (; c0 < batch; ++c0) avx512_impl::packed_tile<WFmt, 1, false>(w, pi, c0, r0, r1, p, out);
    }
}

/// GEMM (batch >= 2) with tile16; GEMV with the AVX2 kernel (its 8-row tiles stream the weights better, and the
/// per-pair sequence is the same). The legacy formats only (tile16 transposes codes, not table values): iq4_nl and
/// mxfp4 take AVX2's kernel.
template <class WFmt, std::enable_if_t<packed_layout<WFmt>::supported && !packed_layout<WFmt>::kquant, int> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1,
               const matmul_panel<typename WFmt::activation>& p, const matmul_output& out, const avx512_vnni&) {
    const std::size_t batch = p.xq.rows();
    if (batch == 1 || r0 >= r1) return gemm_rows(w, r0, r1, p, out, avx2{});
    detail::scratch<float> acc(16 * batch);
    for (std::size_t rt = r0; rt < r1; rt += 16)
        avx512_impl::tile16<typename WFmt::block>(w, rt, r1 - 1, p, acc.data(), out);
}

/// K formats: avx2's kernel with the VNNI decoder (arch/avx512/kquant.hpp), so values equal this backend's
/// dot_blocks, bit for bit.
template <class WFmt, ref::if_kquant<typename WFmt::block> = 0>
void gemm_rows(const_qmatrix_view<WFmt> w, std::size_t r0, std::size_t r1, const q8_K_panel& p,
               const matmul_output& out, const avx512_vnni&) {
    x86_impl::kquant_rows<avx512_impl::kdecoder>(w, r0, r1, p, out);
}

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch

LOWBIT_AVX512_KERNELS_END
