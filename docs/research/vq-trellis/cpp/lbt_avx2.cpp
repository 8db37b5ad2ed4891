// AVX2 decode+dot kernel for the LBT2 format (L=12, k-pattern 13x2+3x3 bits per 16 steps, 32 lanes, tile = 8192
// weights = 256 steps, fp16 scale per 256 weights), with q=6 (64-entry LUT: 4 pshufb + 3 blendv) or q=4 (1 pshufb).
// 1) verifies bit-exact int8 decode against the Python reference tile; 2) times a 4096x4096 int8-activation matvec
// (single thread) against an iq4_nl-style 4-bit nibble+pshufb kernel and a plain read of the same bytes.
// build: g++ -O3 -mavx2 -mfma -mf16c -o lbt_avx2 lbt_avx2.cpp
#include <immintrin.h>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <vector>
#include <chrono>
#include <ctime>
using namespace std;

struct Fmt { int L, q, a, nw; int P[16]; int8_t lut[64]; int w[256], sh[256]; };

static void make_steps(Fmt& f) {
    int pos = 0;
    for (int t = 0; t < 256; t++) { pos += f.P[t % 16]; int o = pos - f.L + 16; f.w[t] = o >> 4; f.sh[t] = o & 15; }
}

// decode one step (32 weights) -> 32 int8 weights in natural order
template <int Q>
static inline __m256i decode_step(const uint16_t* lo, const uint16_t* hi, int sh, __m256i mul,
                                  __m256i T0, __m256i T1, __m256i T2, __m256i T3) {
    __m128i c1 = _mm_cvtsi32_si128(sh), c2 = _mm_cvtsi32_si128(16 - sh);
    __m256i l0 = _mm256_loadu_si256((const __m256i*)lo), l1 = _mm256_loadu_si256((const __m256i*)(lo + 16));
    __m256i h0 = _mm256_loadu_si256((const __m256i*)hi), h1 = _mm256_loadu_si256((const __m256i*)(hi + 16));
    __m256i w0 = _mm256_or_si256(_mm256_srl_epi16(l0, c1), _mm256_sll_epi16(h0, c2));   // window (3 instr / 16 w)
    __m256i w1 = _mm256_or_si256(_mm256_srl_epi16(l1, c1), _mm256_sll_epi16(h1, c2));
    w0 = _mm256_mullo_epi16(w0, mul); w1 = _mm256_mullo_epi16(w1, mul);                 // hash
    w0 = _mm256_srli_epi16(w0, 16 - Q); w1 = _mm256_srli_epi16(w1, 16 - Q);              // top q bits
    #ifdef NOPERM
    __m256i idx = _mm256_packus_epi16(w0, w1);   // packus order; activations pre-permuted to match
#else
    __m256i idx = _mm256_permute4x64_epi64(_mm256_packus_epi16(w0, w1), 0xD8);          // 32 byte indices
#endif
    if (Q == 4) return _mm256_shuffle_epi8(T0, idx);
    __m256i a = _mm256_blendv_epi8(_mm256_shuffle_epi8(T0, idx), _mm256_shuffle_epi8(T1, idx), _mm256_slli_epi16(idx, 3));
    __m256i b = _mm256_blendv_epi8(_mm256_shuffle_epi8(T2, idx), _mm256_shuffle_epi8(T3, idx), _mm256_slli_epi16(idx, 3));
    return _mm256_blendv_epi8(a, b, _mm256_slli_epi16(idx, 2));
}

// decode a whole tile; calls sink(step, w8) ; words: nw rows x 32 lanes
template <int Q, class Sink>
static inline void tile_decode(const Fmt& f, const uint16_t* words, Sink&& sink) {
    alignas(32) uint16_t prev[32];   // word -1 of lane j = last word of lane j-1 (circular tail-biting)
    const uint16_t* last = words + (f.nw - 1) * 32;
    prev[0] = last[31]; memcpy(prev + 1, last, 31 * 2);
    __m256i mul = _mm256_set1_epi16((short)((f.a << (16 - f.L)) & 0xFFFF));
    __m128i t0 = _mm_loadu_si128((const __m128i*)f.lut), t1 = _mm_loadu_si128((const __m128i*)(f.lut + 16));
    __m128i t2 = _mm_loadu_si128((const __m128i*)(f.lut + 32)), t3 = _mm_loadu_si128((const __m128i*)(f.lut + 48));
    __m256i T0 = _mm256_broadcastsi128_si256(t0), T1 = _mm256_broadcastsi128_si256(t1);
    __m256i T2 = _mm256_broadcastsi128_si256(t2), T3 = _mm256_broadcastsi128_si256(t3);
    // first steps may read the wrapped word; the rest use constant offsets (word w-1 / w)
    int t = 0;
    for (; t < 256 && f.w[t] == 0; t++) sink(t, decode_step<Q>(prev, words, f.sh[t], mul, T0, T1, T2, T3));
    for (; t < 256; t++) {
        const uint16_t* hi = words + f.w[t] * 32;
        sink(t, decode_step<Q>(hi - 32, hi, f.sh[t], mul, T0, T1, T2, T3));
    }
}

static inline __m256i dot_i8(__m256i w, __m256i a) {   // 32 x (int8*int8) -> 8 x int32
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

int main(int argc, char** argv) {
    const char* fn = argc > 1 ? argv[1] : "tile_q6.bin";
    FILE* fp = fopen(fn, "rb"); Fmt f; int hdr[4]; fread(hdr, 4, 4, fp); f.L = hdr[0]; f.q = hdr[1]; f.a = hdr[2]; f.nw = hdr[3];
    fread(f.P, 4, 16, fp);
    vector<uint16_t> words(f.nw * 32 + 32, 0); fread(words.data(), 2, f.nw * 32, fp);
    memset(f.lut, 0, 64); fread(f.lut, 1, 1 << f.q, fp);
    vector<int8_t> ref(8192); fread(ref.data(), 1, 8192, fp); fclose(fp);
    make_steps(f);
    // ---- 1) bit-exact check
    vector<int8_t> dec(8192);
    if (f.q == 6) tile_decode<6>(f, words.data(), [&](int t, __m256i v) { _mm256_storeu_si256((__m256i*)&dec[t * 32], v); });
    else tile_decode<4>(f, words.data(), [&](int t, __m256i v) { _mm256_storeu_si256((__m256i*)&dec[t * 32], v); });
    int bad = 0; for (int i = 0; i < 8192; i++) bad += dec[i] != ref[i];
    printf("%s: L=%d q=%d nw=%d  mismatches vs python reference: %d / 8192\n", fn, f.L, f.q, f.nw, bad);
    // ---- 2) matvec timing, 4096x4096, tiles = 2 rows each, tile bytes = nw*64 codes + 64 scales
    const int rows = 4096, n = 4096, ntiles = rows * n / 8192, tb = f.nw * 64 + 64;
    vector<uint8_t> M((size_t)ntiles * tb + 64);
    for (int i = 0; i < ntiles; i++) { memcpy(&M[(size_t)i * tb], words.data(), f.nw * 64);
        for (int b = 0; b < 32; b++) { uint16_t h = _cvtss_sh(0.01f * (1 + (b % 7)), 0); memcpy(&M[(size_t)i * tb + f.nw * 64 + 2 * b], &h, 2); } }
    vector<int8_t> act(n); for (int i = 0; i < n; i++) act[i] = (int8_t)((i * 37) % 255 - 127);
#ifdef NOPERM
    { vector<int8_t> a2(n); for (int c = 0; c < n; c += 32) for (int i = 0; i < 32; i++) {
        // packus(w0 lanes 0-15, w1 lanes 16-31): bytes [0-7]=l0-7, [8-15]=l16-23, [16-23]=l8-15, [24-31]=l24-31
        int src = i < 8 ? i : i < 16 ? i + 8 : i < 24 ? i - 8 : i; a2[c + i] = act[c + src]; } act = a2; }
#endif
    vector<float> y(rows);
    auto run_lbt = [&]() {
        for (int ti = 0; ti < ntiles; ti++) {
            const uint8_t* base = &M[(size_t)ti * tb];
            const uint16_t* sc = (const uint16_t*)(base + f.nw * 64);
            __m256i acci = _mm256_setzero_si256(); __m256 accf = _mm256_setzero_ps();
            auto sink = [&](int t, __m256i w8) {
                int col = (t & 127) * 32;
                acci = _mm256_add_epi32(acci, dot_i8(w8, _mm256_loadu_si256((const __m256i*)&act[col])));
                if ((t & 7) == 7) {   // end of 256-weight block: apply fp16 scale
                    accf = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acci), _mm256_set1_ps(_cvtsh_ss(sc[t >> 3])), accf);
                    acci = _mm256_setzero_si256();
                    if ((t & 127) == 127) {   // end of a row
                        __m128 s = _mm_add_ps(_mm256_castps256_ps128(accf), _mm256_extractf128_ps(accf, 1));
                        s = _mm_hadd_ps(s, s); s = _mm_hadd_ps(s, s); y[ti * 2 + (t >> 7)] = _mm_cvtss_f32(s);
                        accf = _mm256_setzero_ps();
                    }
                }
            };
            if (f.q == 6) tile_decode<6>(f, (const uint16_t*)base, sink); else tile_decode<4>(f, (const uint16_t*)base, sink);
        }
    };
    // iq4_nl-style baseline: 4.25 bpw (16 B nibbles per 32 weights + fp16 scale per 32), pshufb 16-entry LUT
    const int nblk = rows * n / 32; vector<uint8_t> Q4((size_t)nblk * 18);
    for (size_t i = 0; i < Q4.size(); i++) Q4[i] = (uint8_t)(i * 2654435761u >> 13);
    for (int b = 0; b < nblk; b++) { uint16_t h = _cvtss_sh(0.01f, 0); memcpy(&Q4[(size_t)b * 18], &h, 2); }
    auto run_q4 = [&]() {
        const __m256i T = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)f.lut)), m4 = _mm256_set1_epi8(15);
        for (int r = 0; r < rows; r++) {
            __m256 accf = _mm256_setzero_ps();
            for (int c = 0; c < n / 32; c++) {
                const uint8_t* p = &Q4[((size_t)r * (n / 32) + c) * 18];
                __m128i x = _mm_loadu_si128((const __m128i*)(p + 2));
                __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), m4);
                __m256i w8 = _mm256_shuffle_epi8(T, v);
                __m256i d = dot_i8(w8, _mm256_loadu_si256((const __m256i*)&act[c * 32]));
                accf = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(_cvtsh_ss(*(const uint16_t*)p)), accf);
            }
            __m128 s = _mm_add_ps(_mm256_castps256_ps128(accf), _mm256_extractf128_ps(accf, 1));
            s = _mm_hadd_ps(s, s); s = _mm_hadd_ps(s, s); y[r] = _mm_cvtss_f32(s);
        }
    };
    auto run_read = [&](const vector<uint8_t>& B) {
        __m256i acc = _mm256_setzero_si256(); size_t nb = B.size() / 32;
        for (size_t i = 0; i < nb; i++) acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i*)&B[i * 32]), _mm256_setzero_si256()));
        return _mm256_extract_epi64(acc, 0);
    };
    auto timeit = [&](const char* name, double bytes, auto&& fn) {
        fn(); int reps = 20; clock_t t0 = clock(); for (int i = 0; i < reps; i++) fn(); double s = double(clock() - t0) / CLOCKS_PER_SEC / reps;
        printf("  %-44s %7.2f ms/matvec  %6.2f Gweights/s  %6.2f GB/s of weight data\n", name, s * 1e3, rows * (double)n / s * 1e-9, bytes / s * 1e-9);
    };
    printf("4096x4096 matvec, int8 activations, 1 thread (CPU time; shared machine):\n");
    char nm[64]; snprintf(nm, 64, "LBT2 q=%d decode+dot (2.25 bpw, %.1f MB)", f.q, M.size() / 1e6);
    timeit(nm, (double)M.size(), run_lbt);
    timeit("iq4_nl-style nibble+pshufb+dot (4.5 bpw)", (double)Q4.size(), run_q4);
    volatile long long sink_ = 0;
    timeit("plain read of the LBT2 bytes (sad)", (double)M.size(), [&]() { sink_ += run_read(M); });
    timeit("plain read of the iq4_nl bytes (sad)", (double)Q4.size(), [&]() { sink_ += run_read(Q4); });
    printf("  (checksum y[0]=%g)\n", y[0]);
}
