#pragma once
/// \file arch/neon/gemm.hpp
/// NEON dotprod (and i8mm) micro-kernel of the packed K layouts: arch/kpacked.hpp's kernel on 128-bit vectors,
/// 4 rows per vector (a 16-row panel is 4 parts), sdot as the int8 dot. Its float steps are dot_kblocks' (4 block
/// lanes, each term rounded as the reference, lanes added pairwise), so packed products equal this backend's
/// dot_blocks bit for bit. The 32-value formats' packed weights still go through core/matmul.hpp's row loop.
#include "../kpacked.hpp"
#include "common.hpp"

#include <cstring>

LOWBIT_NAMESPACE_BEGIN namespace arch {

#if LOWBIT_HAVE_NEON_DOTPROD
namespace neon_impl {

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
    /// Codes are at most 63, so reading them as int8 for sdot changes nothing.
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

}  // namespace neon_impl

/// Packed K weights on neon_dotprod and neon_i8mm.
template <class WFmt, class Tag,
          std::enable_if_t<packed_layout<WFmt>::kquant && std::is_base_of<neon_dotprod, Tag>::value, int> = 0>
void gemm_rows(const const_packed_view<WFmt>& w, std::size_t r0, std::size_t r1, const dot_panel<q8_K>& p,
               const matmul_output& out, const Tag&) {
    kpacked_impl::rows<neon_impl::q_ops>(w, r0, r1, p.xq, out);
}
#endif

}  LOWBIT_NAMESPACE_END  // namespace lowbit::arch
