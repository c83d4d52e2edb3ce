/* ops_ref.c - the reference (naive, single-threaded) non-matmul kernels of GPT-2 (see kernels.h).
 *
 * These are the yardstick the fast kernels in ops_cpu.c are tested against, and they are themselves
 * checked against finite differences of their own forwards (tests/unit/test_ops.c). So they are
 * written to be read: one loop nest per formula, sums in double, no tiling, no threads, no scratch.
 * Where a sum runs over a loop that also writes, the write is accumulated in fp32 directly into the
 * caller's buffer (as llm.c's reference does), which keeps these kernels free of any allocation.
 *
 * Attention is the textbook form: for each query row, the full row of causal scores, a softmax
 * (saving its log-sum-exp), and the weighted sum of values. Its backward recomputes each probability
 * from the saved log-sum-exp, and gets D_i = Σ_j P_ij dP_ij directly from the probabilities (the fast
 * kernel uses the equivalent dO_i·O_i, so the two check each other).
 */
#include <math.h>
#include <string.h>

#include "model/kernels.h"

void pt_k_layernorm_fwd_ref(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                            int M, int C) {
    for (int m = 0; m < M; m++) {
        const float *x = inp + (size_t)m * C;
        double s = 0;
        for (int c = 0; c < C; c++) s += x[c];
        double mu = s / C, v = 0;
        for (int c = 0; c < C; c++) v += (x[c] - mu) * (x[c] - mu);
        double rs = 1.0 / sqrt(v / C + 1e-5);
        float *o = out + (size_t)m * C;
        for (int c = 0; c < C; c++) o[c] = (float)((x[c] - mu) * rs * w[c] + b[c]);
        mean[m] = (float)mu;
        rstd[m] = (float)rs;
    }
}

/* With xhat = (x - mean)·rstd and g = dout·w:
 *   dinp = rstd · (g - mean(g) - xhat · mean(g · xhat)),  dw = Σ_rows dout · xhat,  db = Σ_rows dout. */
void pt_k_layernorm_bwd_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int M, int C) {
    for (int m = 0; m < M; m++) {
        const float *x = inp + (size_t)m * C, *dy = dout + (size_t)m * C;
        double mu = mean[m], rs = rstd[m], sg = 0, sgx = 0;
        for (int c = 0; c < C; c++) {
            double xh = (x[c] - mu) * rs, g = (double)dy[c] * w[c];
            sg += g;
            sgx += g * xh;
        }
        sg /= C;
        sgx /= C;
        float *dx = dinp + (size_t)m * C;
        for (int c = 0; c < C; c++) {
            double xh = (x[c] - mu) * rs, g = (double)dy[c] * w[c];
            dx[c] += (float)(rs * (g - sg - xh * sgx));
            dw[c] += (float)(dy[c] * xh);
            db[c] += dy[c];
        }
    }
}

#define GELU_K 0.7978845608028654 /* √(2/π) */
#define GELU_A 0.044715

void pt_k_gelu_fwd_ref(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        out[i] = (float)(0.5 * x * (1.0 + tanh(GELU_K * (x + GELU_A * x * x * x))));
    }
}

/* d/dx 0.5x(1 + tanh u) = 0.5(1 + tanh u) + 0.5x(1 - tanh² u)·u',  u' = √(2/π)(1 + 3·0.044715 x²). */
void pt_k_gelu_bwd_ref(float *dinp, const float *inp, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double x = inp[i], t = tanh(GELU_K * (x + GELU_A * x * x * x));
        double g = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_A * x * x);
        dinp[i] += (float)(g * dout[i]);
    }
}

/* scale · q_i·k_j for head h of batch row b (qkv rows are [q | k | v], each C wide). */
static double attn_score(const float *qkv, int b, int T, int C, int hs, int h, int i, int j, float scale) {
    const float *q = qkv + ((size_t)b * T + i) * 3 * C + (size_t)h * hs;
    const float *k = qkv + ((size_t)b * T + j) * 3 * C + C + (size_t)h * hs;
    double s = 0;
    for (int d = 0; d < hs; d++) s += (double)q[d] * k[d];
    return s * scale;
}

void pt_k_attn_fwd_ref(float *out, float *lse, const float *qkv, int B, int T, int C, int NH, float scale) {
    int hs = C / NH;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j <= i; j++) mx = fmax(mx, attn_score(qkv, b, T, C, hs, h, i, j, scale));
                for (int j = 0; j <= i; j++) sum += exp(attn_score(qkv, b, T, C, hs, h, i, j, scale) - mx);
                float *o = out + ((size_t)b * T + i) * C + (size_t)h * hs;
                for (int d = 0; d < hs; d++) o[d] = 0;
                for (int j = 0; j <= i; j++) {
                    double p = exp(attn_score(qkv, b, T, C, hs, h, i, j, scale) - mx) / sum;
                    const float *v = qkv + ((size_t)b * T + j) * 3 * C + 2 * C + (size_t)h * hs;
                    for (int d = 0; d < hs; d++) o[d] += (float)(p * v[d]);
                }
                lse[((size_t)b * NH + h) * T + i] = (float)(mx + log(sum));
            }
}

/* P_ij = exp(s_ij - lse_i); dP_ij = dO_i·v_j; D_i = Σ_j P_ij dP_ij; dS_ij = P_ij (dP_ij - D_i);
 * dq_i += scale Σ_j dS_ij k_j;  dk_j += scale Σ_i dS_ij q_i;  dv_j += Σ_i P_ij dO_i. */
void pt_k_attn_bwd_ref(float *dqkv, const float *dout, const float *qkv, const float *out, const float *lse, int B,
                       int T, int C, int NH, float scale) {
    (void)out;
    int hs = C / NH;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                double l = lse[((size_t)b * NH + h) * T + i];
                const float *dO = dout + ((size_t)b * T + i) * C + (size_t)h * hs;
                const float *q = qkv + ((size_t)b * T + i) * 3 * C + (size_t)h * hs;
                float *dq = dqkv + ((size_t)b * T + i) * 3 * C + (size_t)h * hs;
                double D = 0;
                for (int j = 0; j <= i; j++) {
                    const float *v = qkv + ((size_t)b * T + j) * 3 * C + 2 * C + (size_t)h * hs;
                    double dp = 0;
                    for (int d = 0; d < hs; d++) dp += (double)dO[d] * v[d];
                    D += exp(attn_score(qkv, b, T, C, hs, h, i, j, scale) - l) * dp;
                }
                for (int j = 0; j <= i; j++) {
                    const float *k = qkv + ((size_t)b * T + j) * 3 * C + C + (size_t)h * hs;
                    const float *v = k + C;
                    float *dk = dqkv + ((size_t)b * T + j) * 3 * C + C + (size_t)h * hs;
                    float *dv = dk + C;
                    double p = exp(attn_score(qkv, b, T, C, hs, h, i, j, scale) - l), dp = 0;
                    for (int d = 0; d < hs; d++) dp += (double)dO[d] * v[d];
                    double ds = p * (dp - D) * scale;
                    for (int d = 0; d < hs; d++) {
                        dq[d] += (float)(ds * k[d]);
                        dk[d] += (float)(ds * q[d]);
                        dv[d] += (float)(p * dO[d]);
                    }
                }
            }
}

void pt_k_encoder_fwd_ref(float *out, const int32_t *tok, const float *wte, const float *wpe, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *e = wte + (size_t)tok[b * T + t] * C, *p = wpe + (size_t)t * C;
            float *o = out + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
        }
}

void pt_k_encoder_bwd_ref(float *dwte, float *dwpe, const float *dout, const int32_t *tok, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *d = dout + ((size_t)b * T + t) * C;
            float *de = dwte + (size_t)tok[b * T + t] * C, *dp = dwpe + (size_t)t * C;
            for (int c = 0; c < C; c++) {
                de[c] += d[c];
                dp[c] += d[c];
            }
        }
}

void pt_k_xent_ref(float *losses, float *dlogits, const float *logits, const int32_t *targets, float dscale, int M,
                   int V) {
    for (int m = 0; m < M; m++) {
        const float *x = logits + (size_t)m * V;
        double mx = -INFINITY, sum = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, x[v]);
        for (int v = 0; v < V; v++) sum += exp(x[v] - mx);
        double lse = mx + log(sum);
        int tg = targets[m];
        losses[m] = (float)(lse - x[tg]);
        if (dlogits) {
            float *d = dlogits + (size_t)m * V; /* may be x itself: each element is read before it is written */
            for (int v = 0; v < V; v++) d[v] = (float)((exp(x[v] - lse) - (v == tg)) * dscale);
        }
    }
}

void pt_k_add_ref(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
