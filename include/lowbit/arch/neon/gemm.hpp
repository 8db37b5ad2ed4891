#pragma once
/// \file arch/neon/gemm.hpp
/// NEON dotprod (and i8mm) micro-kernels of the packed layouts (packed.hpp), 4 rows per vector (a 16-row panel is
/// 4 parts), sdot as the int8 dot, and on neon_i8mm smmla for GEMM tiles of an even number of activation rows:
///   - the K layout: arch/kpacked.hpp's kernel on 128-bit vectors (q_ops; mmla_ops on i8mm);
///   - the 32-value layout (q8_0, q4_0, q4_1, q5_0, q5_1): packed32_rows below.
/// Both keep dot_blocks' float steps (block b in float lane b % 4 of its row, each term rounded as dot_blocks
/// rounds it, the lanes added as vaddvq_f32 adds them), so every output equals this backend's dot_blocks bit for
/// bit, plain or packed, GEMV or GEMM. The panel is a dot_panel of its own type, so that plain weights of these
/// formats are packed on the fly from arch::packing_batch rows (core/matmul.hpp).
#include "../kpacked.hpp"
#include "common.hpp"

#include <cstring>

LOWBIT_NAMESPACE_BEGIN namespace arch {

#if LOWBIT_HAVE_NEON_DOTPROD
namespace neon_impl {

using detail::unroll;

/// kpacked_impl::rows' vector operations: int32x4_t lanes, one row each.
struct q_ops {
    using vi = int32x4_t;
    using vf = float32x4_t;
    static constexpr int rows = 4;
    static constexpr int columns = 8;       // activation rows per GEMM tile: ~20 of the 32 vector registers
    static constexpr int block_lanes = 4;   // dot_kblocks'

    static LOWBIT_INLINE uint8x16_t bytes(vi v) noexcept { return vreinterpretq_u8_s32(v); }
    static LOWBIT_INLINE vi lanes(uint8x16_t v) noexcept { return vreinterpretq_s32_u8(v); }
    static LOWBIT_INLINE std::uint32_t load4(const void* p) noexcept {
        std::uint32_t v;
        std::memcpy(&v, p, 4);
        return v;
    }

    static LOWBIT_INLINE vi load(const unsigned char* p) noexcept { return lanes(vld1q_u8(p)); }
    template <int From, int To, int Width>
    static LOWBIT_INLINE vi move_bits(vi v) noexcept {
        uint8x16_t s = bytes(v);
        if constexpr (To > From) s = vshlq_n_u8(s, To - From);
        if constexpr (To < From) s = vshrq_n_u8(s, From - To);
        return lanes(vandq_u8(s, vdupq_n_u8(static_cast<std::uint8_t>(((1u << Width) - 1u) << To))));
    }
    static LOWBIT_INLINE vi bit_or(vi a, vi b) noexcept { return vorrq_s32(a, b); }
    static LOWBIT_INLINE vi bit_and(vi a, vi b) noexcept { return vandq_s32(a, b); }
    static LOWBIT_INLINE vi set1(std::int32_t v) noexcept { return vdupq_n_s32(v); }
    static LOWBIT_INLINE vi add(vi a, vi b) noexcept { return vaddq_s32(a, b); }
    static LOWBIT_INLINE vi sub(vi a, vi b) noexcept { return vsubq_s32(a, b); }
    static LOWBIT_INLINE vi mullo(vi a, vi b) noexcept { return vmulq_s32(a, b); }
    static LOWBIT_INLINE vi broadcast32(const void* p) noexcept { return vreinterpretq_s32_u32(vdupq_n_u32(load4(p))); }
    /// K codes are at most 63, so reading them as int8 for sdot changes nothing; byte panels' codes are int8.
    static LOWBIT_INLINE vi dot(vi acc, vi u, const void* s) noexcept {
        return vdotq_s32(acc, vreinterpretq_s8_s32(u), vreinterpretq_s8_s32(broadcast32(s)));
    }
    /// acc + the two int16 products of each lane: products of rows 0-1 and 2-3, then pairwise sums.
    static LOWBIT_INLINE vi dot16(vi acc, vi w, const void* s) noexcept {
        const int16x8_t x = vreinterpretq_s16_s32(w), y = vreinterpretq_s16_s32(broadcast32(s));
        return vaddq_s32(acc, vpaddq_s32(vmull_s16(vget_low_s16(x), vget_low_s16(y)), vmull_high_s16(x, y)));
    }
    /// Lane r: bytes lo[r] and hi[r] as int16 (sign- or zero-extended), lo in the low half.
    template <bool Signed>
    static LOWBIT_INLINE vi pair16(const unsigned char* lo, const unsigned char* hi) noexcept {
        const uint8x8_t pairs = vzip1_u8(vreinterpret_u8_u32(vdup_n_u32(load4(lo))), vreinterpret_u8_u32(vdup_n_u32(load4(hi))));
        return Signed ? vreinterpretq_s32_s16(vmovl_s8(vreinterpret_s8_u8(pairs))) : vreinterpretq_s32_u16(vmovl_u8(pairs));
    }
    template <int N>
    static LOWBIT_INLINE vi shift_right16(vi a) noexcept {
        return vreinterpretq_s32_u16(vshrq_n_u16(vreinterpretq_u16_s32(a), N));
    }
    static LOWBIT_INLINE vi widen_u8(const unsigned char* p) noexcept {
        return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(load4(p)))))));
    }
    static LOWBIT_INLINE vi widen_s8(const unsigned char* p) noexcept {
        return vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_u32(vdup_n_u32(load4(p))))));
    }

    static LOWBIT_INLINE vf zero_f() noexcept { return vdupq_n_f32(0.0f); }
    static LOWBIT_INLINE vf set1_f(float v) noexcept { return vdupq_n_f32(v); }
    /// 4 fp16 values (exact, as load_half; a NaN is quieted, which the first product does anyway).
    static LOWBIT_INLINE vf load_half(const unsigned char* p) noexcept {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        return vcvt_f32_f16(vreinterpret_f16_u64(vdup_n_u64(v)));
    }
    static LOWBIT_INLINE vf load_f(const unsigned char* p) noexcept { return vld1q_f32(reinterpret_cast<const float*>(p)); }
    static LOWBIT_INLINE vf to_float(vi v) noexcept { return vcvtq_f32_s32(v); }
    static LOWBIT_INLINE vf mul(vf a, vf b) noexcept { return vmulq_f32(a, b); }
    static LOWBIT_INLINE vf add_f(vf a, vf b) noexcept { return vaddq_f32(a, b); }
    static LOWBIT_INLINE void store_f(float* p, vf v) noexcept { vst1q_f32(p, v); }
    /// dot_kblocks' min term: both products rounded, then subtracted.
    static LOWBIT_INLINE vf min_term(vf t, vf dm, vf msum) noexcept { return vsubq_f32(t, detail::rounded(vmulq_f32(dm, msum))); }
    /// vaddvq_f32's order: (l0 + l1) + (l2 + l3).
    static LOWBIT_INLINE vf sum_lanes(const vf (&l)[4]) noexcept { return add_f(add_f(l[0], l[1]), add_f(l[2], l[3])); }
    /// The hardware prefetchers of AArch64 cores follow the one sequential stream of a panel.
    template <std::size_t Bytes>
    static LOWBIT_INLINE void prefetch(const unsigned char*) noexcept {}
};

/// An fp16 value in every lane (exact; a NaN is quieted, which its first product does anyway).
LOWBIT_INLINE float32x4_t dup_half(half_bytes h) noexcept { return vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h.bits()))); }

/// The activations, in a dot_panel type of NEON's own (see above).
template <class AFmt>
struct packing_panel : dot_panel<AFmt> {};

/// Group G (codes 4G .. 4G+3) of rows 4 Part .. 4 Part + 3 of a packed 32-value block, as int8 code - Z (q8_0's
/// stored code + 128 wraps back to its signed code).
template <class WFmt, int Part, int G>
LOWBIT_INLINE int8x16_t group_codes(const unsigned char* pb) noexcept {
    using L = packed_layout<WFmt>;
    constexpr std::size_t at = 16 * Part;
    uint8x16_t codes;
    if constexpr (L::bits == 8) {
        codes = vld1q_u8(pb + L::qs + 64 * G + at);
    } else {
        const uint8x16_t chunk = vld1q_u8(pb + L::qs + 64 * (G % 4) + at);
        codes = G < 4 ? vandq_u8(chunk, vdupq_n_u8(0x0F)) : vshrq_n_u8(chunk, 4);
        if constexpr (L::bits == 5) {  // packed qh bit 8i + G -> bit 4 of byte i
            const uint32x4_t qh = vreinterpretq_u32_u8(vld1q_u8(pb + L::qh + at));
            uint32x4_t high;
            if constexpr (G <= 4) high = vshlq_n_u32(qh, 4 - G);
            else high = vshrq_n_u32(qh, G - 4);
            codes = vorrq_u8(codes, vandq_u8(vreinterpretq_u8_u32(high), vdupq_n_u8(0x10)));
        }
    }
    if constexpr (L::zero_point != 0) codes = vsubq_u8(codes, vdupq_n_u8(static_cast<std::uint8_t>(L::zero_point)));
    return vreinterpretq_s8_u8(codes);
}

/// Exact block sums sum_i (code_i - Z) * a_i of rows 4 Part .. 4 Part + 3 with C activation blocks: one sdot per
/// group and column, the column's 4 activations of the group picked by lane from one 16-byte load.
template <class WFmt, int Part, int C, class ABlock>
LOWBIT_INLINE void block_sums32(const unsigned char* pb, const ABlock* const (&a)[C], int32x4_t (&isum)[C]) noexcept {
    int8x16_t x[C][2];
    unroll<C>([&](auto c) {
        x[c][0] = vld1q_s8(a[c]->qs);
        x[c][1] = vld1q_s8(a[c]->qs + 16);
        isum[c] = vdupq_n_s32(0);
    });
    unroll<8>([&](auto g) {
        constexpr int G = decltype(g)::value;
        const int8x16_t codes = group_codes<WFmt, Part, G>(pb);
        unroll<C>([&](auto c) { isum[c] = vdotq_laneq_s32(isum[c], codes, x[c][G / 4], G % 4); });
    });
}

#if LOWBIT_HAVE_NEON_I8MM
/// smmla over groups G .. G + 3 (g[k]: group G + k, lane r: row r's 4 codes as int8), added into the 2x2 tiles
/// {r0c0, r0c1, r1c0, r1c1} of rows 0-1 (rows01) and 2-3 (rows23) and columns 2j, 2j + 1: groups G + 2i, G + 2i + 1
/// of two rows as a 2x8 matrix, times those 8 activations of the two columns (zipped from one 16-byte load each).
template <int C, class ABlock>
LOWBIT_INLINE void mmla_quad(const int32x4_t (&g)[4], const ABlock* const (&a)[C], int G, int32x4_t (&rows01)[C / 2],
                             int32x4_t (&rows23)[C / 2]) noexcept {
    unroll<C / 2>([&](auto j) LOWBIT_INLINE_LAMBDA {
        const int64x2_t x0 = vreinterpretq_s64_s8(vld1q_s8(a[2 * j]->qs + 4 * G));
        const int64x2_t x1 = vreinterpretq_s64_s8(vld1q_s8(a[2 * j + 1]->qs + 4 * G));
        unroll<2>([&](auto i) LOWBIT_INLINE_LAMBDA {
            const int8x16_t x = vreinterpretq_s8_s64(i == 0 ? vzip1q_s64(x0, x1) : vzip2q_s64(x0, x1));
            rows01[j] = vmmlaq_s32(rows01[j], vreinterpretq_s8_s32(vzip1q_s32(g[2 * i], g[2 * i + 1])), x);
            rows23[j] = vmmlaq_s32(rows23[j], vreinterpretq_s8_s32(vzip2q_s32(g[2 * i], g[2 * i + 1])), x);
        });
    });
}

/// The 2x2 tiles of mmla_quad to one vector per column (lane r: row r).
template <int C>
LOWBIT_INLINE void tile_columns(const int32x4_t (&rows01)[C / 2], const int32x4_t (&rows23)[C / 2],
                                int32x4_t (&isum)[C]) noexcept {
    unroll<C / 2>([&](auto j) LOWBIT_INLINE_LAMBDA {
        isum[2 * j] = vuzp1q_s32(rows01[j], rows23[j]);
        isum[2 * j + 1] = vuzp2q_s32(rows01[j], rows23[j]);
    });
}

/// The same sums with smmla (C even): half the multiply instructions of block_sums32 (8 products per lane each,
/// not 4).
template <class WFmt, int Part, int C, class ABlock>
LOWBIT_INLINE void block_sums32_mmla(const unsigned char* pb, const ABlock* const (&a)[C], int32x4_t (&isum)[C]) noexcept {
    static_assert(C % 2 == 0, "columns in pairs");
    int32x4_t rows01[C / 2], rows23[C / 2];
    unroll<C / 2>([&](auto j) { rows01[j] = rows23[j] = vdupq_n_s32(0); });
    unroll<2>([&](auto quad) {
        constexpr int G = 4 * decltype(quad)::value;
        const int32x4_t g[4] = {vreinterpretq_s32_s8(group_codes<WFmt, Part, G>(pb)),
                                vreinterpretq_s32_s8(group_codes<WFmt, Part, G + 1>(pb)),
                                vreinterpretq_s32_s8(group_codes<WFmt, Part, G + 2>(pb)),
                                vreinterpretq_s32_s8(group_codes<WFmt, Part, G + 3>(pb))};
        mmla_quad<C>(g, a, G, rows01, rows23);
    });
    tile_columns<C>(rows01, rows23, isum);
}

/// q_ops with smmla for kpacked_impl's sub-block sums of an even number of activation rows (GEMM tiles; GEMV and
/// odd tails keep sdot). K codes are at most 63 and byte panels' are int8, so smmla (int8 x int8) reads them
/// exactly, and the step is
/// block_sums32_mmla's. The 2x2 tiles stay in that form through the super-block: each sub-block's sums are scaled
/// by its scales laid out to match ({sc0, sc0, sc1, sc1}, {sc2, sc2, sc3, sc3}), and unzipped once at the end.
struct mmla_ops : q_ops {
    template <class L, int Part, int C, std::enable_if_t<C % 2 == 0, int> = 0>
    static LOWBIT_INLINE void code_sums(const unsigned char* pb, const q8_K::block* const (&a)[C], vi (&isum)[C]) noexcept {
        constexpr int groups = static_cast<int>(L::sub_block) / 4;
        vi sums01[C / 2], sums23[C / 2];
        unroll<C / 2>([&](auto j) LOWBIT_INLINE_LAMBDA { sums01[j] = sums23[j] = vdupq_n_s32(0); });
        unroll<static_cast<int>(L::sub_blocks)>([&](auto sub) LOWBIT_INLINE_LAMBDA {
            constexpr int s = decltype(sub)::value;
            step_fence();  // without it GCC 12 spills: 2-5x the stack accesses in an 8-column tile
            vi rows01[C / 2], rows23[C / 2];
            unroll<C / 2>([&](auto j) LOWBIT_INLINE_LAMBDA { rows01[j] = rows23[j] = vdupq_n_s32(0); });
            unroll<groups / 4>([&](auto quad) LOWBIT_INLINE_LAMBDA {
                constexpr int G = s * groups + 4 * decltype(quad)::value;
                const vi g[4] = {kpacked_impl::group_codes<q_ops, L, Part, G>(pb),
                                 kpacked_impl::group_codes<q_ops, L, Part, G + 1>(pb),
                                 kpacked_impl::group_codes<q_ops, L, Part, G + 2>(pb),
                                 kpacked_impl::group_codes<q_ops, L, Part, G + 3>(pb)};
                mmla_quad<C>(g, a, G, rows01, rows23);
            });
            if constexpr (!kpacked_impl::options_of<L>::type::scaled) {
                unroll<C / 2>([&](auto j) LOWBIT_INLINE_LAMBDA {
                    sums01[j] = vaddq_s32(sums01[j], rows01[j]);
                    sums23[j] = vaddq_s32(sums23[j], rows23[j]);
                });
            } else {
                const vi sc = kpacked_impl::sub_scales<q_ops, L, Part, s>(pb);
                const vi sc01 = vzip1q_s32(sc, sc), sc23 = vzip2q_s32(sc, sc);
                unroll<C / 2>([&](auto j) LOWBIT_INLINE_LAMBDA {
                    sums01[j] = vmlaq_s32(sums01[j], rows01[j], sc01);
                    sums23[j] = vmlaq_s32(sums23[j], rows23[j], sc23);
                });
            }
        });
        tile_columns<C>(sums01, sums23, isum);
    }
};
#endif

/// Panel pi times activation rows c0 .. c0+C-1, parts P0 .. P0+P-1; outputs outside rows [r0, r1) are dropped.
/// dot_rows' order: the blocks four at a time, block b + l in lane l, each term rounded, then vaddvq's sum.
/// Mmla: the integer sums by smmla (neon_i8mm), else by sdot.
template <class WFmt, int P0, int P, int C, bool Mmla, class AFmt>
void packed32_tile(const const_packed_view<WFmt>& w, std::size_t pi, std::size_t c0, std::size_t r0, std::size_t r1,
                   const const_qmatrix_view<AFmt>& xq, const matmul_output& out) {
    using L = packed_layout<WFmt>;
    float32x4_t acc[P][C][4];
    for (auto& part : acc)
        for (auto& column : part)
            for (auto& v : column) v = vdupq_n_f32(0.0f);
    const std::size_t nblocks = w.blocks_per_row();
    for (std::size_t b0 = 0; b0 < nblocks; b0 += 4) {
        unroll<4>([&](auto lane) {
            constexpr int l = decltype(lane)::value;
            const std::size_t b = b0 + l;
            if (b >= nblocks) return;  // the tail lanes: dot_rows adds +0, which changes no sum that starts at +0
            const unsigned char* pb = w.block(pi, b);
            const typename AFmt::block* a[C];
            unroll<C>([&](auto c) { a[c] = xq.row(c0 + c) + b; });
            unroll<P>([&](auto part) {
                constexpr int q = decltype(part)::value;
                constexpr std::size_t at = 8 * (P0 + q);
                int32x4_t isum[C];
#if LOWBIT_HAVE_NEON_I8MM
                if constexpr (Mmla) block_sums32_mmla<WFmt, P0 + q, C>(pb, a, isum);
                else
#endif
                    block_sums32<WFmt, P0 + q, C>(pb, a, isum);
                const float32x4_t dw = q_ops::load_half(pb + L::d + at);
                unroll<C>([&](auto c) {
                    const float32x4_t dd = vmulq_f32(dw, dup_half(a[c]->d));
                    float32x4_t term = detail::rounded(vmulq_f32(vcvtq_f32_s32(isum[c]), dd));
                    if constexpr (L::has_min)
                        term = vaddq_f32(term, detail::rounded(vmulq_f32(q_ops::load_half(pb + L::m + at),
                                                                         dup_half(a[c]->s))));
                    acc[q][c][l] = vaddq_f32(acc[q][c][l], term);
                });
            });
        });
    }
    for (int q = 0; q < P; ++q)
        for (int c = 0; c < C; ++c) {
            float sums[4];
            vst1q_f32(sums, q_ops::sum_lanes(acc[q][c]));
            for (int k = 0; k < 4; ++k) {
                const std::size_t r = pi * L::rows + 4 * static_cast<std::size_t>(P0 + q) + static_cast<std::size_t>(k);
                if (r >= r0 && r < r1) out.put(c0 + c, r, sums[k]);
            }
        }
}

/// gemm_rows on packed 32-value weights: GEMV takes the 4 parts of a panel per pass (the weights read once, in
/// order), GEMM one part x 4 (then 1) activation rows per tile (16 accumulators: 4 lanes x 4 columns), the 4-column
/// tiles by smmla where Mmla.
template <bool Mmla, class WFmt, class AFmt>
void packed32_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1, const const_qmatrix_view<AFmt>& xq,
                   const matmul_output& out) {
    constexpr std::size_t rows = packed_layout<WFmt>::rows;
    const std::size_t batch = xq.rows();
    for (std::size_t pi = r0 / rows; pi * rows < r1; ++pi) {
        if (batch == 1) {
            packed32_tile<WFmt, 0, 4, 1, false>(w, pi, 0, r0, r1, xq, out);
            continue;
        }
        unroll<4>([&](auto part) {
            constexpr int q = decltype(part)::value;
            std::size_t c0 = 0;
            for (; c0 + 4 <= batch; c0 += 4) packed32_tile<WFmt, q, 1, 4, Mmla>(w, pi, c0, r0, r1, xq, out);
            for (; c0 < batch; ++c0) packed32_tile<WFmt, q, 1, 1, false>(w, pi, c0, r0, r1, xq, out);
        });
    }
}

}  // namespace neon_impl

/// Every packable format on neon_dotprod and neon_i8mm: NEON's panel (plain weights at a large batch are packed on
/// the fly; below that, the generic dot_panel loop).
template <class WBlock, class Tag,
          std::enable_if_t<packed_layout<typename WBlock::format>::supported && std::is_base_of<neon_dotprod, Tag>::value, int> = 0>
neon_impl::packing_panel<typename WBlock::format::activation> make_panel(
    const WBlock*, const_qmatrix_view<typename WBlock::format::activation> xq, const Tag&) {
    return {{xq}};
}

/// Packed 32-value weights on neon_dotprod (sdot) and neon_i8mm (smmla for GEMM tiles).
template <class WFmt, class Tag,
          std::enable_if_t<packed_layout<WFmt>::supported && !packed_layout<WFmt>::kquant &&
                               std::is_base_of<neon_dotprod, Tag>::value, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1,
               const neon_impl::packing_panel<typename WFmt::activation>& p, const matmul_output& out, const Tag&) {
    neon_impl::packed32_rows<LOWBIT_HAVE_NEON_I8MM && std::is_base_of<neon_i8mm, Tag>::value>(w, r0, r1, p.xq, out);
}

/// Packed K weights on neon_dotprod (sdot) and neon_i8mm (smmla for GEMM tiles of an even number of columns).
template <class WFmt, class Tag,
          std::enable_if_t<packed_layout<WFmt>::kquant && std::is_base_of<neon_dotprod, Tag>::value, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1, const neon_impl::packing_panel<q8_K>& p,
               const matmul_output& out, const Tag&) {
#if LOWBIT_HAVE_NEON_I8MM
    if constexpr (std::is_base_of<neon_i8mm, Tag>::value) kpacked_impl::rows<neon_impl::mmla_ops>(w, r0, r1, p.xq, out);
    else
#endif
        kpacked_impl::rows<neon_impl::q_ops>(w, r0, r1, p.xq, out);
}
#endif

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
