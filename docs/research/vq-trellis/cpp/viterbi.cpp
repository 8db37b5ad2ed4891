// Straightforward C++ port of the tail-biting bitshift-trellis quantizer (tcq.py: quant_row2/quant_stream_tb)
// to measure single-core quantization time. Natural state order; loops written so GCC can vectorize the
// error/add pass; the min/argmin over the 2^k predecessors is a short inner loop (k=2..5).
// build: g++ -O3 -march=native -o viterbi viterbi.cpp ; run: ./viterbi L q k_base extra per rows alpha
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cmath>
#include <vector>
#include <random>
#include <chrono>
#include <ctime>
#include <algorithm>
using namespace std;

static float viterbi(const float* x, const float* scl, const float* vals, int L, const int* ks, int T,
                     int m0, bool constrain_end, int32_t* states, vector<uint8_t>& bp, vector<float>& cost,
                     vector<float>& best) {
    const int N = 1 << L;
    if ((int)bp.size() < T * (N >> 1)) bp.resize((size_t)T * (N >> 1));
    cost.resize(N); best.resize(N);
    float* c = cost.data(); float* bst = best.data();
    int k = ks[0], mk = (1 << (L - k)) - 1;
    for (int S = 0; S < N; S++) {
        float d = x[0] - scl[0] * vals[S];
        c[S] = (m0 >= 0 && (S & mk) != (m0 >> k)) ? 1e30f : d * d;
    }
    for (int t = 1; t < T; t++) {
        k = ks[t]; const int nm = 1 << (L - k), K = 1 << k;
        uint8_t* b = &bp[(size_t)t * (N >> 1)];
        for (int p = 0; p < nm; p++) {
            const float* g = c + (p << k);
            float m = g[0]; int mu = 0;
            for (int u = 1; u < K; u++) { bool lt = g[u] < m; m = lt ? g[u] : m; mu = lt ? u : mu; }
            bst[p] = m; b[p] = (uint8_t)mu;
        }
        const float xt = x[t], st = scl[t];
        for (int hi = 0; hi < K; hi++) {             // S = hi*nm + p  -> best index p (contiguous)
            float* cc = c + hi * nm; const float* vv = vals + hi * nm;
            for (int p = 0; p < nm; p++) { float d = xt - st * vv[p]; cc[p] = bst[p] + d * d; }
        }
    }
    int bestS = -1; float bc = 1e30f;
    for (int S = 0; S < N; S++) {
        if (m0 >= 0 && constrain_end && (S >> ks[0]) != (m0 >> ks[0])) continue;
        if (c[S] < bc) { bc = c[S]; bestS = S; }
    }
    int S = bestS; states[T - 1] = S;
    for (int t = T - 1; t > 0; t--) {
        int kk = ks[t], m = (1 << (L - kk)) - 1;
        S = ((S & m) << kk) | bp[(size_t)t * (N >> 1) + (S & m)];
        states[t - 1] = S;
    }
    return bc;
}

int main(int argc, char** argv) {
    int L = atoi(argv[1]), q = atoi(argv[2]), kb = atoi(argv[3]), extra = atoi(argv[4]), per = atoi(argv[5]);
    int rows = atoi(argv[6]); float alpha = atof(argv[7]);
    unsigned a = argc > 8 ? strtoul(argv[8], 0, 0) : 0x9E37;
    const int n = 4096, lanes = 32, T = n / lanes, block = per == 32 ? 512 : 256, Wp = 256;
    // code values: Gaussian-quantile LUT indexed by top q bits of (W*a mod 2^L)
    int Q = 1 << q; vector<float> tab(Q);
    for (int i = 0; i < Q; i++) { // inverse normal CDF via bisection on erfc
        double pr = (i + 0.5) / Q, lo = -10, hi = 10;
        for (int it = 0; it < 100; it++) { double mid = 0.5 * (lo + hi); (0.5 * erfc(-mid / sqrt(2.0)) < pr ? lo : hi) = mid; }
        tab[i] = (float)(0.5 * (lo + hi));
    }
    double ms = 0; for (float v : tab) ms += v * v; ms = sqrt(ms / Q); for (float& v : tab) v /= ms;
    vector<float> vals(1 << L);
    for (uint32_t W = 0; W < (1u << L); W++) vals[W] = tab[((W * a) & ((1u << L) - 1)) >> (L - q)];
    vector<int> kl(T); for (int t = 0; t < T; t++) kl[t] = kb;
    for (int t = 0; t < T; t++) for (int e = 0; e < extra; e++) if (t % per == (e * per) / extra + per / (2 * extra)) kl[t] = kb + 1;
    vector<int> ks(n); for (int j = 0; j < lanes; j++) for (int t = 0; t < T; t++) ks[j * T + t] = kl[t];
    mt19937_64 rng(42); normal_distribution<float> nd;
    vector<uint8_t> bp; vector<float> cost, best;
    double num = 0, den = 0, secs = 0;
    vector<float> x(n), xs(n), ss(n), s(n / block), xh(n), v(n);
    vector<int32_t> st(n), st1(2 * Wp);
    for (int r = 0; r < rows; r++) {
        for (auto& e : x) e = nd(rng);
        clock_t t0 = clock();
        for (int b = 0; b < n / block; b++) { double q2 = 0; for (int i = 0; i < block; i++) q2 += x[b*block+i]*x[b*block+i];
            s[b] = alpha * sqrt(q2 / block); }
        for (int j = 0; j < lanes; j++) for (int t = 0; t < T; t++) { xs[j*T+t] = x[t*lanes+j]; ss[j*T+t] = s[(t*lanes+j)/block]; }
        // tail-biting: pre-pass over last Wp + first Wp steps, then constrained full pass
        vector<float> xr(2*Wp), sr(2*Wp); vector<int> kr(2*Wp);
        for (int i = 0; i < Wp; i++) { xr[i] = xs[n-Wp+i]; sr[i] = ss[n-Wp+i]; kr[i] = ks[n-Wp+i];
                                         xr[Wp+i] = xs[i]; sr[Wp+i] = ss[i]; kr[Wp+i] = ks[i]; }
        viterbi(xr.data(), sr.data(), vals.data(), L, kr.data(), 2*Wp, -1, false, st1.data(), bp, cost, best);
        int m0 = st1[Wp - 1];
        viterbi(xs.data(), ss.data(), vals.data(), L, ks.data(), n, m0, true, st.data(), bp, cost, best);
        for (int j = 0; j < lanes; j++) for (int t = 0; t < T; t++) v[t*lanes+j] = vals[st[j*T+t]];
        for (int b = 0; b < n / block; b++) { double xy = 0, yy = 0;
            for (int i = 0; i < block; i++) { xy += x[b*block+i]*v[b*block+i]; yy += v[b*block+i]*v[b*block+i]; }
            float sc = (float)(xy / yy); for (int i = 0; i < block; i++) xh[b*block+i] = sc * v[b*block+i]; }
        secs += double(clock() - t0) / CLOCKS_PER_SEC;  // process CPU time
        for (int i = 0; i < n; i++) { num += x[i]*x[i]; den += (x[i]-xh[i])*(x[i]-xh[i]); }
    }
    printf("L=%d q=%d k=%d+%d/%d rows=%d: SNR %.3f dB, %.2f ms/row -> 4096x4096: %.1f s (1 core, CPU time)\n",
           L, q, kb, extra, per, rows, 10*log10(num/den), 1e3*secs/rows, secs/rows*4096);
}
