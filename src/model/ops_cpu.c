/* ops_cpu.c - the fast CPU non-matmul kernels of GPT-2 (see kernels.h; references in ops_ref.c).
 *
 * Design:
 * - Threads: OpenMP. Every output element is computed by exactly one thread, in an order that does
 *   not depend on which thread or how many: the results are bit-identical at ANY thread count (the
 *   test checks 1, 2 and 3), which is stronger than kernels.h asks. Where many rows add into one
 *   parameter gradient (LayerNorm's dw/db, the embedding tables), work items own disjoint column
 *   slices and walk the rows in order: no float atomics, no per-thread partial sums, no scratch.
 *   Schedules are static, except the attention forward's (dynamic, see there: its items are
 *   independent, so that does not change a bit). Kernels below PAR_MIN elements stay on one thread.
 * - Vectorization: plain C loops the compiler vectorizes at -O3 -march=native (AVX2 or AVX-512),
 *   with `omp simd reduction` where a loop sums (fp32 sums are not reassociated otherwise), and GCC
 *   vector types for the attention tile products. exp is a branch-free polynomial (fexp, ~1-2 ulp)
 *   that vectorizes; libm's expf does not.
 * - GELU uses 0.5(1 + tanh u) = σ(2u), so gelu(x) = x / (1 + e^{-2u}): one exp, no tanh
 *   (max abs difference from the double reference 5e-7 over [-20, 20]).
 * - Cross-entropy: max, Σ exp (fp32 within 512-wide chunks, chunks in double), then dlogits, per row.
 * - Attention is flash-attention style: nothing of size T×T exists. Forward: per (batch, head, block
 *   of 64 queries), walk the key blocks of 64 up to the diagonal keeping a running max m and sum l
 *   per query (online softmax), rescaling the output accumulator when the max grows; save
 *   lse = m + log l. Scores come out transposed (key rows × the query block's Qᵀ tile), so Qᵀ is
 *   built once per query block. Backward: per (batch, head), D_i = dO_i·O_i for every row, then for
 *   each key block gather Kᵀ, Vᵀ and K once and stream the query blocks at or after it:
 *   P = exp(scale·q·k - lse), dP = dO·Vᵀ, dS = P∘(dP - D)·scale; dV += Pᵀ·dO and dK += dSᵀ·Q are
 *   summed in block tiles, dQ += dS·K into dqkv per query block. Each product is a run of "64 outputs
 *   held in registers += scalar × 64-wide row" steps (ax64). Tiles live on the stack (about 270 KiB
 *   in the backward at the largest head), so there is no allocation at all. Heads wider than
 *   AHS_MAX (GPT-2 always uses 64) fall back to the reference kernels.
 */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "model/kernels.h"

/* FP comparisons may raise exceptions under the default -ftrapping-math, which stops GCC from turning
 * the selects in fexp and the masks into vector blends; these kernels never read the FP flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#define A64 __attribute__((aligned(64)))
#define ABK 64      /* keys per attention block */
#define ABQ 64      /* queries per block (the 64-wide tile products need ABQ = ABK = 64) */
#define AHS_MAX 128 /* widest head the tiled attention handles */
#define PAR_MIN 32768 /* below this many elements a kernel stays on one thread */

static inline int imin(int a, int b) { return a < b ? a : b; }

/* e^x for x ≤ 88.3, 0 below -87.3 (and for -inf). Cody-Waite reduction x = n·ln2 + r, |r| ≤ ln2/2,
 * degree-7 minimax polynomial for e^r, 2^n built in the exponent bits. Written to vectorize. */
static inline float fexp(float x) {
    float xc = x > 88.3f ? 88.3f : x;
    xc = xc < -87.3f ? -87.3f : xc;
    xc = xc == xc ? xc : 0.0f; /* NaN: keep the exponent arithmetic defined; NaN is returned below */
    /* round to nearest by the 1.5·2^23 trick (floorf is a libm call unless -fno-trapping-math) */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    union { uint32_t i; float f; } s = {.i = (uint32_t)((int32_t)n + 127) << 23};
    return x != x ? x : x < -87.3f ? 0.0f : p * s.f;
}

/* max of x[0..n): eight running maxima in a vector (GCC vector extensions: the plain-C forms of this
 * loop are not vectorized reliably), then the rest. Exact in any order. */
typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

static inline float vmax(const float *x, int n) {
    const float ninf = -INFINITY;
    v8 m = {ninf, ninf, ninf, ninf, ninf, ninf, ninf, ninf};
    int v = 0;
    for (; v + 8 <= n; v += 8) {
        v8 xv;
        memcpy(&xv, x + v, sizeof xv);
        v8i gt = xv > m;
        m = (v8)((gt & (v8i)xv) | (~gt & (v8i)m));
    }
    float r = m[0];
    for (int l = 1; l < 8; l++) r = m[l] > r ? m[l] : r;
    for (; v < n; v++) r = x[v] > r ? x[v] : r;
    return r;
}

/* ---- LayerNorm ----------------------------------------------------------------------------- */

void pt_k_layernorm_fwd_cpu(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                            int M, int C) {
#pragma omp parallel for schedule(static) if ((size_t)M * C >= PAR_MIN)
    for (int m = 0; m < M; m++) {
        const float *x = inp + (size_t)m * C;
        float *o = out + (size_t)m * C;
        float s = 0, v = 0;
#pragma omp simd reduction(+ : s)
        for (int c = 0; c < C; c++) s += x[c];
        float mu = s / C;
#pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++) v += (x[c] - mu) * (x[c] - mu);
        float rs = 1.0f / sqrtf(v / C + 1e-5f);
        for (int c = 0; c < C; c++) o[c] = (x[c] - mu) * rs * w[c] + b[c];
        mean[m] = mu;
        rstd[m] = rs;
    }
}

#define LN_COLS 64 /* dw/db columns owned by one work item */

void pt_k_layernorm_bwd_cpu(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int M, int C) {
#pragma omp parallel if ((size_t)M * C >= PAR_MIN)
    {
#pragma omp for schedule(static) nowait
        for (int m = 0; m < M; m++) {
            const float *x = inp + (size_t)m * C, *dy = dout + (size_t)m * C;
            float *dx = dinp + (size_t)m * C;
            float mu = mean[m], rs = rstd[m], sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
            for (int c = 0; c < C; c++) {
                float g = dy[c] * w[c];
                sg += g;
                sgx += g * ((x[c] - mu) * rs);
            }
            sg /= C;
            sgx /= C;
            for (int c = 0; c < C; c++) dx[c] += rs * (dy[c] * w[c] - sg - (x[c] - mu) * rs * sgx);
        }
        /* dw, db: each item owns LN_COLS columns and sums the rows in order (no races, any thread count
         * gives the same bits). */
#pragma omp for schedule(static)
        for (int c0 = 0; c0 < C; c0 += LN_COLS) {
            int nc = imin(LN_COLS, C - c0);
            float aw[LN_COLS] A64 = {0}, ab[LN_COLS] A64 = {0};
            for (int m = 0; m < M; m++) {
                const float *x = inp + (size_t)m * C + c0, *dy = dout + (size_t)m * C + c0;
                float mu = mean[m], rs = rstd[m];
                for (int c = 0; c < nc; c++) {
                    aw[c] += dy[c] * ((x[c] - mu) * rs);
                    ab[c] += dy[c];
                }
            }
            for (int c = 0; c < nc; c++) {
                dw[c0 + c] += aw[c];
                db[c0 + c] += ab[c];
            }
        }
    }
}

/* ---- GELU ---------------------------------------------------------------------------------- */

#define GELU_K 0.7978845608028654f /* √(2/π) */
#define GELU_A 0.044715f

void pt_k_gelu_fwd_cpu(float *out, const float *inp, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float u = GELU_K * (x + GELU_A * x * x * x);
        out[i] = x / (1.0f + fexp(-2.0f * u));
    }
}

/* gelu = x·σ(2u): gelu' = σ + x·σ(1-σ)·2u', u' = √(2/π)(1 + 3·0.044715 x²). */
void pt_k_gelu_bwd_cpu(float *dinp, const float *inp, const float *dout, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float u = GELU_K * (x + GELU_A * x * x * x);
        float e = fexp(-2.0f * u), s = 1.0f / (1.0f + e); /* 1 - s = e·s */
        float g = s + x * (e * s * s) * (2.0f * GELU_K) * (1.0f + 3.0f * GELU_A * x * x);
        dinp[i] += g * dout[i];
    }
}

/* ---- attention ----------------------------------------------------------------------------- */

/* Every product of the attention kernels is "one row of 64 outputs += Σ_t scalar_t · row_t of a tile":
 * scores (q · Kᵀ tile), output (p · V tile), dV (Pᵀ column · dO tile), dK, dQ. AX64 keeps the 64
 * outputs in eight 8-wide registers through the whole sum, so each step is 8 FMAs with their loads. */
/* c[0:64] += Σ_{t<k} a[t·as] · B[t·bs + 0:64]. c and every B row are 32-byte aligned. */
static inline void ax64(float *restrict c, const float *restrict a, size_t as, const float *restrict B, size_t bs,
                        int k) {
    v8 *cv = (v8 *)c;
    v8 c0 = cv[0], c1 = cv[1], c2 = cv[2], c3 = cv[3], c4 = cv[4], c5 = cv[5], c6 = cv[6], c7 = cv[7];
    for (int t = 0; t < k; t++) {
        const v8 *b = (const v8 *)(B + (size_t)t * bs);
        const float at = a[(size_t)t * as];
        c0 += at * b[0], c1 += at * b[1], c2 += at * b[2], c3 += at * b[3];
        c4 += at * b[4], c5 += at * b[5], c6 += at * b[6], c7 += at * b[7];
    }
    cv[0] = c0, cv[1] = c1, cv[2] = c2, cv[3] = c3, cv[4] = c4, cv[5] = c5, cv[6] = c6, cv[7] = c7;
}

/* c[0:w] += Σ_t a[t·as] · B[t·bs + 0:w] for w a multiple of 64. */
static inline void axw(float *c, const float *a, size_t as, const float *B, size_t bs, int k, int w) {
    for (int c0 = 0; c0 < w; c0 += 64) ax64(c + c0, a, as, B + c0, bs, k);
}

/* Copies rows [r0, r0+n) of one head (hs columns at col, row stride ld) into a tile of n rows of
 * hsp floats (zero padded), and zero rows [n, nrows) of the tile. */
static void gather_rows(float *restrict tile, int nrows, int hsp, const float *restrict src, size_t ld, int n,
                        int hs) {
    for (int j = 0; j < nrows; j++) {
        float *t = tile + (size_t)j * hsp;
        int d = 0;
        if (j < n) memcpy(t, src + (size_t)j * ld, sizeof(float) * hs), d = hs;
        for (; d < hsp; d++) t[d] = 0;
    }
}

/* The transpose: tile[d·ABK + j] = row j's element d, zero for j ≥ n. */
static void gather_cols(float *restrict tile, const float *restrict src, size_t ld, int n, int hs) {
    for (int j = 0; j < ABK; j++) {
        const float *s = src + (size_t)(j < n ? j : 0) * ld;
        for (int d = 0; d < hs; d++) tile[(size_t)d * ABK + j] = j < n ? s[d] : 0.0f;
    }
}

/* One (batch b, head h, query block qb) of the forward. Scores are computed transposed, St[j][i] for
 * key j and query i, as 64-wide rows (key row · Qᵀ tile): the query block is transposed once and
 * reused for every key block, and the online softmax runs across queries in vector lanes. */
static void attn_fwd_block(float *out, float *lse, const float *qkv, int b, int h, int qb, int T, int C, int NH,
                           float scale) {
    const int hs = C / NH, hsp = (hs + 63) & ~63;
    const size_t C3 = 3 * (size_t)C;
    const float *base = qkv + (size_t)b * T * C3 + (size_t)h * hs;
    float Qt[AHS_MAX * ABQ] A64, Vb[ABK * AHS_MAX] A64, O[ABQ * AHS_MAX] A64, St[ABK * ABQ] A64;
    float m[ABQ] A64, l[ABQ] A64, mx[ABQ] A64, corr[ABQ] A64;
    const int q0 = qb * ABQ, nq = imin(ABQ, T - q0);
    gather_cols(Qt, base + (size_t)q0 * C3, C3, nq, hs);
    for (int t = 0; t < hs * ABQ; t++) Qt[t] *= scale; /* so St comes out scaled */
    memset(O, 0, sizeof(float) * (size_t)ABQ * hsp);
    for (int i = 0; i < ABQ; i++) m[i] = -INFINITY, l[i] = 0;
    for (int k0 = 0; k0 < q0 + nq; k0 += ABK) {
        const int nk = imin(ABK, q0 + nq - k0);
        gather_rows(Vb, nk, hsp, base + (size_t)k0 * C3 + 2 * C, C3, nk, hs);
        for (int i = 0; i < ABQ; i++) mx[i] = -INFINITY;
        for (int j = 0; j < nk; j++) {
            float *s = St + (size_t)j * ABQ;
            memset(s, 0, sizeof(float) * ABQ);
            ax64(s, base + (size_t)(k0 + j) * C3 + C, 1, Qt, ABQ, hs);
            const int i0 = k0 + j - q0; /* queries before i0 do not see key j: fexp(-inf) = 0 */
            for (int i = 0; i < ABQ; i++) {
                float v = i < i0 ? -INFINITY : s[i];
                s[i] = v;
                mx[i] = v > mx[i] ? v : mx[i];
            }
        }
        for (int i = 0; i < ABQ; i++) {
            float mn = mx[i] > m[i] ? mx[i] : m[i];
            corr[i] = fexp(m[i] - mn); /* 0 on the first block (m = -inf) */
            m[i] = mn;
            l[i] *= corr[i];
        }
        for (int j = 0; j < nk; j++) {
            float *s = St + (size_t)j * ABQ;
            for (int i = 0; i < ABQ; i++) {
                s[i] = fexp(s[i] - m[i]);
                l[i] += s[i];
            }
        }
        for (int i = 0; i < nq; i++) {
            float *o = O + (size_t)i * hsp;
            if (corr[i] != 1.0f)
                for (int d = 0; d < hsp; d++) o[d] *= corr[i];
            axw(o, St + i, ABQ, Vb, hsp, imin(nk, q0 + i - k0 + 1), hsp);
        }
    }
    for (int i = 0; i < nq; i++) {
        float *dst = out + ((size_t)b * T + q0 + i) * C + (size_t)h * hs, inv = 1.0f / l[i];
        const float *o = O + (size_t)i * hsp;
        for (int d = 0; d < hs; d++) dst[d] = o[d] * inv;
        lse[((size_t)b * NH + h) * T + q0 + i] = m[i] + logf(l[i]);
    }
}

void pt_k_attn_fwd_cpu(float *out, float *lse, const float *qkv, int B, int T, int C, int NH, float scale) {
    if (C / NH > AHS_MAX) {
        pt_k_attn_fwd_ref(out, lse, qkv, B, T, C, NH, scale);
        return;
    }
    const int nqb = (T + ABQ - 1) / ABQ, n = B * NH * nqb;
    /* Items (b, h, query block), the costliest (last query blocks: causal) handed out first. Each item
     * writes its own rows and computes them the same way whichever thread takes it, so a dynamic
     * schedule balances the threads without costing determinism. */
#pragma omp parallel for schedule(dynamic, 1) if ((size_t)B * T * T * C >= 8 * PAR_MIN)
    for (int it = 0; it < n; it++) {
        int qb = nqb - 1 - it / (B * NH), bh = it % (B * NH);
        attn_fwd_block(out, lse, qkv, bh / NH, bh % NH, qb, T, C, NH, scale);
    }
}

#define ATT_DMAX 2048 /* positions whose D_i the backward keeps on the stack */

static inline float attn_rowdot(const float *a, const float *b, int n) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int d = 0; d < n; d++) s += a[d] * b[d];
    return s;
}

/* The whole backward of one (batch b, head h): for each key block, every query block at or after it. */
static void attn_bwd_head(float *dqkv, const float *dout, const float *qkv, const float *out, const float *lse, int b,
                          int h, int T, int C, int NH, float scale) {
    const int hs = C / NH, hsp = (hs + 63) & ~63;
    const size_t C3 = 3 * (size_t)C;
    const float *base = qkv + (size_t)b * T * C3 + (size_t)h * hs;
    const float *dbase_o = dout + (size_t)b * T * C + (size_t)h * hs, *obase = out + (size_t)b * T * C + (size_t)h * hs;
    float *dbase = dqkv + (size_t)b * T * C3 + (size_t)h * hs;
    const float *lrow = lse + ((size_t)b * NH + h) * T;
    /* key block: Kᵀ, Vᵀ (for the scores and dP), K rows (for dQ), dK and dV sums */
    float Kt[AHS_MAX * ABK] A64, Vt[AHS_MAX * ABK] A64, Kb[ABK * AHS_MAX] A64, dK[ABK * AHS_MAX] A64,
        dV[ABK * AHS_MAX] A64;
    /* query block: Q and dO rows, P and dS */
    float Qb[ABQ * AHS_MAX] A64, dOb[ABQ * AHS_MAX] A64, P[ABQ * ABK] A64, dS[ABQ * ABK] A64, dp[ABK] A64,
        dq[AHS_MAX] A64;
    /* D_i = dO_i·O_i once per row (the rows of the first ATT_DMAX positions; later ones as needed) */
    float Dall[ATT_DMAX];
    for (int i = 0; i < imin(T, ATT_DMAX); i++) Dall[i] = attn_rowdot(dbase_o + (size_t)i * C, obase + (size_t)i * C, hs);
    for (int k0 = 0; k0 < T; k0 += ABK) {
        const int nk = imin(ABK, T - k0);
        gather_cols(Kt, base + (size_t)k0 * C3 + C, C3, nk, hs);
        gather_cols(Vt, base + (size_t)k0 * C3 + 2 * C, C3, nk, hs);
        gather_rows(Kb, nk, hsp, base + (size_t)k0 * C3 + C, C3, nk, hs);
        memset(dK, 0, sizeof(float) * (size_t)nk * hsp);
        memset(dV, 0, sizeof(float) * (size_t)nk * hsp);
        for (int q0 = k0 / ABQ * ABQ; q0 < T; q0 += ABQ) {
            const int nq = imin(ABQ, T - q0);
            gather_rows(Qb, nq, hsp, base + (size_t)q0 * C3, C3, nq, hs);
            gather_rows(dOb, nq, hsp, dbase_o + (size_t)q0 * C, C, nq, hs);
            for (int i = 0; i < nq; i++) {
                const int gi = q0 + i, lim = imin(nk, gi - k0 + 1);
                float *p = P + (size_t)i * ABK, *ds = dS + (size_t)i * ABK;
                if (lim <= 0) { /* a query before the block (only in its first query block) */
                    memset(p, 0, sizeof(float) * ABK);
                    memset(ds, 0, sizeof(float) * ABK);
                    continue;
                }
                const float *dor = dOb + (size_t)i * hsp;
                const float D = gi < ATT_DMAX ? Dall[gi] : attn_rowdot(dbase_o + (size_t)gi * C, obase + (size_t)gi * C, hs);
                memset(p, 0, sizeof(float) * ABK);
                memset(dp, 0, sizeof dp);
                ax64(p, Qb + (size_t)i * hsp, 1, Kt, ABK, hs);
                ax64(dp, dor, 1, Vt, ABK, hs);
                const float li = lrow[gi];
                for (int j = 0; j < ABK; j++) {
                    float pj = j < lim ? fexp(p[j] * scale - li) : 0.0f;
                    p[j] = pj;
                    ds[j] = pj * (dp[j] - D) * scale;
                }
            }
            /* dV[j] += Σ_i P[i,j] dO[i];  dK[j] += Σ_i dS[i,j] Q[i]  (rows i before key j have P = 0: skipped) */
            for (int j = 0; j < nk; j++) {
                const int i0 = k0 + j > q0 ? k0 + j - q0 : 0;
                if (i0 >= nq) continue;
                axw(dV + (size_t)j * hsp, P + (size_t)i0 * ABK + j, ABK, dOb + (size_t)i0 * hsp, hsp, nq - i0, hsp);
                axw(dK + (size_t)j * hsp, dS + (size_t)i0 * ABK + j, ABK, Qb + (size_t)i0 * hsp, hsp, nq - i0, hsp);
            }
            /* dQ[i] += Σ_j dS[i,j] K[j] */
            for (int i = 0; i < nq; i++) {
                const int lim = imin(nk, q0 + i - k0 + 1);
                if (lim <= 0) continue;
                memset(dq, 0, sizeof(float) * hsp);
                axw(dq, dS + (size_t)i * ABK, 1, Kb, hsp, lim, hsp);
                float *dqr = dbase + (size_t)(q0 + i) * C3;
                for (int d = 0; d < hs; d++) dqr[d] += dq[d];
            }
        }
        for (int j = 0; j < nk; j++) {
            float *dkr = dbase + (size_t)(k0 + j) * C3 + C, *dvr = dkr + C;
            const float *dk = dK + (size_t)j * hsp, *dv = dV + (size_t)j * hsp;
            for (int d = 0; d < hs; d++) dkr[d] += dk[d], dvr[d] += dv[d];
        }
    }
}

void pt_k_attn_bwd_cpu(float *dqkv, const float *dout, const float *qkv, const float *out, const float *lse, int B,
                       int T, int C, int NH, float scale) {
    if (C / NH > AHS_MAX) {
        pt_k_attn_bwd_ref(dqkv, dout, qkv, out, lse, B, T, C, NH, scale);
        return;
    }
#pragma omp parallel for schedule(static) if ((size_t)B * T * T * C >= 8 * PAR_MIN)
    for (int bh = 0; bh < B * NH; bh++) attn_bwd_head(dqkv, dout, qkv, out, lse, bh / NH, bh % NH, T, C, NH, scale);
}

/* ---- embeddings ---------------------------------------------------------------------------- */

void pt_k_encoder_fwd_cpu(float *out, const int32_t *tok, const float *wte, const float *wpe, int B, int T, int C) {
#pragma omp parallel for schedule(static) if ((size_t)B * T * C >= PAR_MIN)
    for (int bt = 0; bt < B * T; bt++) {
        const float *e = wte + (size_t)tok[bt] * C, *p = wpe + (size_t)(bt % T) * C;
        float *o = out + (size_t)bt * C;
        for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
    }
}

/* Each thread owns a slice of the C columns (whole cache lines) and adds every position into it in
 * (b, t) order: the same additions in the same order as the reference, so the same bits. */
void pt_k_encoder_bwd_cpu(float *dwte, float *dwpe, const float *dout, const int32_t *tok, int B, int T, int C) {
#pragma omp parallel if ((size_t)B * T * C >= PAR_MIN)
    {
        int nt = 1, tid = 0;
#ifdef _OPENMP
        nt = omp_get_num_threads();
        tid = omp_get_thread_num();
#endif
        const int nl = (C + 15) / 16;
        const int c0 = imin(C, tid * nl / nt * 16), c1 = imin(C, (tid + 1) * nl / nt * 16);
        for (int bt = 0; c0 < c1 && bt < B * T; bt++) {
            const float *d = dout + (size_t)bt * C;
            float *de = dwte + (size_t)tok[bt] * C, *dp = dwpe + (size_t)(bt % T) * C;
            for (int c = c0; c < c1; c++) {
                de[c] += d[c];
                dp[c] += d[c];
            }
        }
    }
}

/* ---- cross-entropy ------------------------------------------------------------------------- */

#define XENT_CHUNK 512

void pt_k_xent_cpu(float *losses, float *dlogits, const float *logits, const int32_t *targets, float dscale, int M,
                   int V) {
#pragma omp parallel for schedule(static) if ((size_t)M * V >= PAR_MIN)
    for (int m = 0; m < M; m++) {
        const float *x = logits + (size_t)m * V;
        const int tg = targets[m];
        const float xt = x[tg];
        const float mx = vmax(x, V);
        float tmp[XENT_CHUNK] A64;
        /* Σ exp in chunks of XENT_CHUNK (vector lanes in fp32), chunks added in double: a plain fp32
         * running sum over 50k terms drifts by ~1e-4 relative when the terms are alike. */
        double sum = 0;
        float *d = dlogits ? dlogits + (size_t)m * V : NULL; /* may be x: each element read, then written */
        for (int v0 = 0; v0 < V; v0 += XENT_CHUNK) {
            const int v1 = imin(V, v0 + XENT_CHUNK);
            float cs = 0, *e = d ? d + v0 : tmp; /* one loop either way: the same sum, bit for bit */
            const float *xv = x + v0;
#pragma omp simd reduction(+ : cs)
            for (int v = 0; v < v1 - v0; v++) {
                e[v] = fexp(xv[v] - mx);
                cs += e[v];
            }
            sum += cs;
        }
        if (d) {
            const float k = (float)(dscale / sum);
#pragma omp simd
            for (int v = 0; v < V; v++) d[v] *= k;
            d[tg] -= dscale;
        }
        losses[m] = (mx - xt) + (float)log(sum); /* mx - xt first: exact even when the logits are huge */
    }
}

void pt_k_add_cpu(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
