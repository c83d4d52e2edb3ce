/* kernels.h - the numerical kernels of GPT-2 behind one interface.
 *
 * The model (gpt2.c) never calls a kernel by name: it calls through a pt_kernels table, so the same
 * forward/backward orchestration runs on the naive reference kernels (tests), the fast CPU kernels
 * (training), and later the CUDA kernels. Every fast kernel has a reference twin with the same
 * signature, and a unit test compares the two at odd shapes.
 *
 * Conventions shared by every kernel:
 * - Row-major fp32 tensors; shapes are in the comments as [rows, cols]. M is a row count (B*T
 *   positions), C the model width, NH heads of hs = C/NH, V the vocabulary.
 * - Weights of linear layers are stored [out, in] (N rows of K): out = inp · wᵀ + bias.
 * - Backward kernels ACCUMULATE (+=) into every gradient they write (parameters and activations),
 *   so gradient accumulation and residual branches need no extra adds; the caller zeroes.
 * - Deterministic: for a fixed thread count, the same inputs give bit-identical outputs (static
 *   partitioning, fixed reduction order, no atomics on floats).
 * - No allocation after the first call: scratch space is static or per-thread and fixed in size.
 * - Threads: OpenMP, as many as omp_get_max_threads(); the reference kernels are single-threaded.
 */
#ifndef PT_KERNELS_H
#define PT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pt_kernels {
    const char *name; /* "ref", "cpu" */

    /* out[M,N] = inp[M,K] · w[N,K]ᵀ + bias[N]; bias may be NULL. out must not alias inp or w. */
    void (*matmul_fwd)(float *out, const float *inp, const float *w, const float *bias, int M, int K, int N);
    /* dinp[M,K] += dout[M,N] · w[N,K]          (skipped when dinp is NULL)
     * dw[N,K]   += dout[M,N]ᵀ · inp[M,K]
     * dbias[N]  += Σ_m dout[m,:]               (skipped when dbias is NULL) */
    void (*matmul_bwd)(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                       int M, int K, int N);

    /* LayerNorm over the last dim, eps 1e-5 (biased variance, as torch):
     * out[M,C] = (inp - mean) * rstd * w[C] + b[C]; saves mean[M] and rstd[M] for the backward. */
    void (*layernorm_fwd)(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          int M, int C);
    /* dinp[M,C] += ..., dw[C] += ..., db[C] += ... */
    void (*layernorm_bwd)(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                          const float *mean, const float *rstd, int M, int C);

    /* GELU, tanh approximation (HF gelu_new): out[n] = 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))). */
    void (*gelu_fwd)(float *out, const float *inp, size_t n);
    void (*gelu_bwd)(float *dinp, const float *inp, const float *dout, size_t n); /* dinp += gelu'(inp)·dout */

    /* Causal multi-head self-attention.
     * qkv[B,T,3C]: q = columns [0,C), k = [C,2C), v = [2C,3C); head h owns columns [h·hs, (h+1)·hs) of each.
     * out[B,T,C] (heads concatenated), lse[B,NH,T] the log-sum-exp of each row of scaled scores (saved
     * for the backward, which recomputes the probabilities instead of storing B·NH·T·T of them).
     * scores = scale · q·kᵀ, masked to key positions ≤ query position. */
    void (*attn_fwd)(float *out, float *lse, const float *qkv, int B, int T, int C, int NH, float scale);
    /* dqkv[B,T,3C] += ...; needs the forward's out and lse. */
    void (*attn_bwd)(float *dqkv, const float *dout, const float *qkv, const float *out, const float *lse, int B,
                     int T, int C, int NH, float scale);

    /* out[B,T,C] = wte[tok[b,t], :] + wpe[t, :]. tok values are < V (checked by the caller). */
    void (*encoder_fwd)(float *out, const int32_t *tok, const float *wte, const float *wpe, int B, int T, int C);
    /* dwte[tok[b,t], :] += dout[b,t,:]; dwpe[t, :] += dout[b,t,:]. */
    void (*encoder_bwd)(float *dwte, float *dwpe, const float *dout, const int32_t *tok, int B, int T, int C);

    /* Softmax cross-entropy, fused. losses[M] = logsumexp(logits[m,:]) - logits[m, targets[m]].
     * When dlogits is not NULL it receives (softmax(logits[m,:]) - onehot(targets[m])) · dscale
     * (OVERWRITTEN, not accumulated; dlogits may equal logits, computed in place). */
    void (*xent)(float *losses, float *dlogits, const float *logits, const int32_t *targets, float dscale, int M,
                 int V);

    /* out[n] = a[n] + b[n]; out may alias a or b. */
    void (*add)(float *out, const float *a, const float *b, size_t n);
} pt_kernels;

/* The two CPU tables. pt_kernels_ref: naive, single-threaded, obviously right. pt_kernels_cpu: fast. */
extern const pt_kernels pt_kernels_ref;
extern const pt_kernels pt_kernels_cpu;

/* Look a table up by name ("ref", "cpu"); NULL if unknown. */
const pt_kernels *pt_kernels_get(const char *name);

/* The individual kernels, for the tables and for tests that call one directly. Matrix products live in
 * matmul.c; the rest in ops_ref.c (references) and ops_cpu.c (fast). */
void pt_k_matmul_fwd_ref(float *out, const float *inp, const float *w, const float *bias, int M, int K, int N);
void pt_k_matmul_bwd_ref(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                         int M, int K, int N);
void pt_k_matmul_fwd_cpu(float *out, const float *inp, const float *w, const float *bias, int M, int K, int N);
void pt_k_matmul_bwd_cpu(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                         int M, int K, int N);

/* Chooses the micro-kernel of the _cpu products: "auto" (default), "avx2" (6x16), "avx512" (12x32;
 * -1 if the CPU lacks it), "wide" (the 12x32 source built without AVX-512, to test its logic). */
int pt_k_matmul_select(const char *name);
const char *pt_k_matmul_selected(void);

void pt_k_layernorm_fwd_ref(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                            int M, int C);
void pt_k_layernorm_bwd_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int M, int C);
void pt_k_gelu_fwd_ref(float *out, const float *inp, size_t n);
void pt_k_gelu_bwd_ref(float *dinp, const float *inp, const float *dout, size_t n);
void pt_k_attn_fwd_ref(float *out, float *lse, const float *qkv, int B, int T, int C, int NH, float scale);
void pt_k_attn_bwd_ref(float *dqkv, const float *dout, const float *qkv, const float *out, const float *lse, int B,
                       int T, int C, int NH, float scale);
void pt_k_encoder_fwd_ref(float *out, const int32_t *tok, const float *wte, const float *wpe, int B, int T, int C);
void pt_k_encoder_bwd_ref(float *dwte, float *dwpe, const float *dout, const int32_t *tok, int B, int T, int C);
void pt_k_xent_ref(float *losses, float *dlogits, const float *logits, const int32_t *targets, float dscale, int M,
                   int V);
void pt_k_add_ref(float *out, const float *a, const float *b, size_t n);

void pt_k_layernorm_fwd_cpu(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                            int M, int C);
void pt_k_layernorm_bwd_cpu(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int M, int C);
void pt_k_gelu_fwd_cpu(float *out, const float *inp, size_t n);
void pt_k_gelu_bwd_cpu(float *dinp, const float *inp, const float *dout, size_t n);
void pt_k_attn_fwd_cpu(float *out, float *lse, const float *qkv, int B, int T, int C, int NH, float scale);
void pt_k_attn_bwd_cpu(float *dqkv, const float *dout, const float *qkv, const float *out, const float *lse, int B,
                       int T, int C, int NH, float scale);
void pt_k_encoder_fwd_cpu(float *out, const int32_t *tok, const float *wte, const float *wpe, int B, int T, int C);
void pt_k_encoder_bwd_cpu(float *dwte, float *dwpe, const float *dout, const int32_t *tok, int B, int T, int C);
void pt_k_xent_cpu(float *losses, float *dlogits, const float *logits, const int32_t *targets, float dscale, int M,
                   int V);
void pt_k_add_cpu(float *out, const float *a, const float *b, size_t n);

#endif
