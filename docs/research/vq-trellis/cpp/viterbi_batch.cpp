// Row-batched C++ Viterbi: R=8 independent rows advance in lockstep, one per SIMD lane (AVX2 8 x fp32),
// so every per-state operation (min/argmin over the 2^k predecessors, error+add) is a vertical SIMD op.
// Same algorithm as viterbi.cpp / tcq.py (tail-biting pre-pass of 2*256 steps + constrained full pass).
// build: g++ -O3 -march=native -o viterbi_batch viterbi_batch.cpp ; run: ./viterbi_batch L q kb extra per batches alpha a
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cmath>
#include <vector>
#include <random>
#include <chrono>
#include <ctime>
using namespace std;
constexpr int R = 8;
struct Buf { vector<float> c, best; vector<uint8_t> bp; };

// x, scl: [T][R]; m0: per-row start window or -1 (all rows same mode)
static void viterbi(const float* x, const float* scl, const float* vals, int L, const int* ks, int T,
                    const int* m0, bool tb, int32_t* states /*[T][R]*/, Buf& B) {
    const int N = 1 << L;
    size_t bps = 0; vector<size_t> off(T); for (int t = 0; t < T; t++) { off[t] = bps; bps += (size_t)(1 << (L - ks[t])) * R; }
    if (B.bp.size() < bps) B.bp.resize(bps);
    B.c.resize((size_t)N * R); B.best.resize((size_t)N * R);
    float* __restrict c = B.c.data(); float* __restrict bst = B.best.data();
    int k = ks[0], mk = (1 << (L - k)) - 1;
    for (int S = 0; S < N; S++) for (int r = 0; r < R; r++) {
        float d = x[r] - scl[r] * vals[S];
        c[S * R + r] = (tb && (S & mk) != (m0[r] >> k)) ? 1e30f : d * d;
    }
    for (int t = 1; t < T; t++) {
        k = ks[t]; const int nm = 1 << (L - k), K = 1 << k;
        uint8_t* __restrict b = &B.bp[off[t]];
        for (int p = 0; p < nm; p++) {
            const float* g = c + (size_t)(p << k) * R;
            float m[R]; int32_t mu[R];
            for (int r = 0; r < R; r++) { m[r] = g[r]; mu[r] = 0; }
            for (int u = 1; u < K; u++)
                for (int r = 0; r < R; r++) { float v = g[u * R + r]; bool lt = v < m[r]; m[r] = lt ? v : m[r]; mu[r] = lt ? u : mu[r]; }
            for (int r = 0; r < R; r++) bst[p * R + r] = m[r];
            for (int r = 0; r < R; r++) b[p * R + r] = (uint8_t)mu[r];
        }
        const float* xt = x + t * R; const float* st = scl + t * R;
        for (int hi = 0; hi < K; hi++) {
            float* cc = c + (size_t)hi * nm * R; const float* vv = vals + hi * nm;
            for (int p = 0; p < nm; p++) for (int r = 0; r < R; r++) {
                float d = xt[r] - st[r] * vv[p]; cc[p * R + r] = bst[p * R + r] + d * d; }
        }
    }
    for (int r = 0; r < R; r++) {
        int bestS = -1; float bc = 1e30f;
        for (int S = 0; S < N; S++) {
            if (tb && (S >> ks[0]) != (m0[r] >> ks[0])) continue;
            if (c[S * R + r] < bc) { bc = c[S * R + r]; bestS = S; }
        }
        int S = bestS; states[(T - 1) * R + r] = S;
        for (int t = T - 1; t > 0; t--) {
            int kk = ks[t], m = (1 << (L - kk)) - 1;
            S = ((S & m) << kk) | B.bp[off[t] + (size_t)(S & m) * R + r];
            states[(t - 1) * R + r] = S;
        }
    }
}

int main(int argc, char** argv) {
    int L = atoi(argv[1]), q = atoi(argv[2]), kb = atoi(argv[3]), extra = atoi(argv[4]), per = atoi(argv[5]);
    int batches = atoi(argv[6]); float alpha = atof(argv[7]);
    unsigned a = argc > 8 ? strtoul(argv[8], 0, 0) : 0x9E37;
    const int n = 4096, lanes = 32, T = n / lanes, block = per == 32 ? 512 : 256, Wp = 256;
    int Q = 1 << q; vector<float> tab(Q);
    for (int i = 0; i < Q; i++) { double pr = (i + 0.5) / Q, lo = -10, hi = 10;
        for (int it = 0; it < 100; it++) { double mid = 0.5 * (lo + hi); (0.5 * erfc(-mid / sqrt(2.0)) < pr ? lo : hi) = mid; }
        tab[i] = (float)(0.5 * (lo + hi)); }
    double ms = 0; for (float v : tab) ms += v * v; ms = sqrt(ms / Q); for (float& v : tab) v /= ms;
    vector<float> vals(1 << L);
    for (uint32_t W = 0; W < (1u << L); W++) vals[W] = tab[((W * a) & ((1u << L) - 1)) >> (L - q)];
    vector<int> kl(T); for (int t = 0; t < T; t++) kl[t] = kb;
    for (int t = 0; t < T; t++) for (int e = 0; e < extra; e++) if (t % per == (e * per) / extra + per / (2 * extra)) kl[t] = kb + 1;
    vector<int> ks(n); for (int j = 0; j < lanes; j++) for (int t = 0; t < T; t++) ks[j * T + t] = kl[t];
    mt19937_64 rng(42); normal_distribution<float> nd;
    Buf B; double num = 0, den = 0, secs = 0;
    vector<float> X(n * R), xs(n * R), ss(n * R), xr(2 * Wp * R), sr(2 * Wp * R), XH(n * R);
    vector<int> kr(2 * Wp); vector<int32_t> st(n * R), st1(2 * Wp * R); int m0[R], dummy[R] = {0};
    for (int i = 0; i < Wp; i++) { kr[i] = ks[n - Wp + i]; kr[Wp + i] = ks[i]; }
    for (int bt = 0; bt < batches; bt++) {
        for (auto& e : X) e = nd(rng);                     // X[r*n + i]
        clock_t t0 = clock();
        for (int r = 0; r < R; r++) {
            const float* x = &X[r * n];
            for (int j = 0; j < lanes; j++) for (int t = 0; t < T; t++) {
                int i = t * lanes + j, b = i / block; double q2 = 0;
                if (j == 0 && t == 0) {}
                xs[(j * T + t) * R + r] = x[i];
            }
            for (int b0 = 0; b0 < n / block; b0++) { double q2 = 0; for (int i = 0; i < block; i++) q2 += x[b0*block+i]*x[b0*block+i];
                float s = alpha * sqrt(q2 / block);
                for (int i = b0 * block; i < (b0 + 1) * block; i++) { int t = i / lanes, j = i % lanes; ss[(j * T + t) * R + r] = s; } }
        }
        for (int i = 0; i < Wp; i++) for (int r = 0; r < R; r++) {
            xr[i*R+r] = xs[(n-Wp+i)*R+r]; sr[i*R+r] = ss[(n-Wp+i)*R+r]; xr[(Wp+i)*R+r] = xs[i*R+r]; sr[(Wp+i)*R+r] = ss[i*R+r]; }
        viterbi(xr.data(), sr.data(), vals.data(), L, kr.data(), 2 * Wp, dummy, false, st1.data(), B);
        for (int r = 0; r < R; r++) m0[r] = st1[(Wp - 1) * R + r];
        viterbi(xs.data(), ss.data(), vals.data(), L, ks.data(), n, m0, true, st.data(), B);
        for (int r = 0; r < R; r++) {
            vector<float> v(n); const float* x = &X[r * n];
            for (int j = 0; j < lanes; j++) for (int t = 0; t < T; t++) v[t * lanes + j] = vals[st[(j * T + t) * R + r]];
            for (int b0 = 0; b0 < n / block; b0++) { double xy = 0, yy = 0;
                for (int i = b0*block; i < (b0+1)*block; i++) { xy += x[i]*v[i]; yy += v[i]*v[i]; }
                for (int i = b0*block; i < (b0+1)*block; i++) XH[r*n+i] = (float)(xy / yy) * v[i]; }
        }
        secs += double(clock() - t0) / CLOCKS_PER_SEC;  // process CPU time (machine is shared)
        for (int i = 0; i < n * R; i++) { num += X[i]*X[i]; den += (X[i]-XH[i])*(X[i]-XH[i]); }
    }
    double per_row = secs / (batches * R);
    printf("[batched R=%d] L=%d q=%d k=%d+%d/%d rows=%d: SNR %.3f dB, %.2f ms/row -> 4096x4096: %.1f s (1 core, CPU time)\n",
           R, L, q, kb, extra, per, batches * R, 10*log10(num/den), 1e3*per_row, per_row*4096);
}
