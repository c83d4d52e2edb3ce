/* infer.c - the KV-cache forward pass (see infer.h). */
#include "infer/infer.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/buf.h"

struct pt_infer {
    pt_gpt2_config cfg;
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    const float *params;
    const pt_kernels *k;
    int S, P, R;              /* sequences, positions, max rows per pass = max(P, S) */
    int *len;                 /* [S] */
    float *kc, *vc;           /* [L][S][P][C] */
    int *row_seq, *row_pos;   /* [R] */
    int32_t *row_tok;         /* [R] */
    int *want;                /* [R] rows whose logits a pass returns */
    float *x, *ln, *mean, *rstd, *qkv, *att, *tmp, *fch, *fchg; /* [R,C] [R,C] [R] [R] [R,3C] [R,C] [R,C] [R,4C] [R,4C] */
    float *last;              /* [S,C] rows whose logits are wanted */
    int nthreads;
    float *scores;            /* [nthreads, P] */
    void *mem;
};

#define PRM(m, id) ((m)->params + (m)->t[id].offset)

int pt_infer_new(pt_infer **out, const pt_gpt2_config *c, const float *params, const pt_kernels *k, int nseq,
                 pt_err *e) {
    *out = NULL;
    PT_TRY(pt_gpt2_config_check(c, e));
    if (nseq < 1) return pt_fail(e, PT_EUSAGE, "inference needs at least one sequence");
    pt_infer *m = pt_calloc(1, sizeof *m, e);
    if (!m) return e->code;
    m->cfg = *c, m->params = params, m->k = k, m->S = nseq, m->P = c->n_positions;
    m->R = m->P > nseq ? m->P : nseq;
    pt_gpt2_layout(c, m->t);
#ifdef _OPENMP
    m->nthreads = omp_get_max_threads();
#else
    m->nthreads = 1;
#endif
    const size_t C = c->n_embd, L = c->n_layer, S = nseq, P = m->P, R = m->R;
    const size_t sizes[] = {L * S * P * C, L * S * P * C, R * C, R * C, R, R, R * 3 * C, R * C, R * C, R * 4 * C,
                            R * 4 * C, S * C, (size_t)m->nthreads * P};
    float **ptrs[] = {&m->kc, &m->vc, &m->x, &m->ln, &m->mean, &m->rstd, &m->qkv, &m->att, &m->tmp, &m->fch,
                      &m->fchg, &m->last, &m->scores};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) total += (sizes[i] + 15) & ~(size_t)15;
    if (!(m->mem = pt_malloc(total * sizeof(float) + 64, e)) || !(m->len = pt_calloc(S, sizeof(int), e)) ||
        !(m->row_seq = pt_malloc(R * sizeof(int), e)) || !(m->row_pos = pt_malloc(R * sizeof(int), e)) ||
        !(m->row_tok = pt_malloc(R * sizeof(int32_t), e)) || !(m->want = pt_malloc(R * sizeof(int), e))) {
        pt_err_prefix(e, "inference for %d sequences of %zu positions", nseq, P);
        pt_infer_free(m);
        return e->code;
    }
    float *p = (float *)(((uintptr_t)m->mem + 63) & ~(uintptr_t)63);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) *ptrs[i] = p, p += (sizes[i] + 15) & ~(size_t)15;
    *out = m;
    return PT_OK;
}

void pt_infer_free(pt_infer *m) {
    if (!m) return;
    free(m->mem), free(m->len), free(m->row_seq), free(m->row_pos), free(m->row_tok), free(m->want);
    free(m);
}

const pt_gpt2_config *pt_infer_config(const pt_infer *m) { return &m->cfg; }
int pt_infer_nseq(const pt_infer *m) { return m->S; }
void pt_infer_reset(pt_infer *m, int seq) { m->len[seq] = 0; }
int pt_infer_len(const pt_infer *m, int seq) { return m->len[seq]; }

typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* Σ a[d]·b[d] in 8 lanes (hs is 64 for every GPT-2; any n works). */
static inline float dot(const float *a, const float *b, int n) {
    v8 acc = {0};
    int d = 0;
    for (; d + 8 <= n; d += 8) acc += *(const v8 *)(a + d) * *(const v8 *)(b + d);
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; d < n; d++) s += a[d] * b[d];
    return s;
}

/* o[d] += p·v[d] */
static inline void axpy(float *o, float p, const float *v, int n) {
    int d = 0;
    for (; d + 8 <= n; d += 8) *(v8 *)(o + d) += p * *(const v8 *)(v + d);
    for (; d < n; d++) o[d] += p * v[d];
}

/* Attention of every row against its sequence's cache (already holding the row's own key/value). */
static void attend(pt_infer *m, int l, int n) {
    const int C = m->cfg.n_embd, NH = m->cfg.n_head, hs = C / NH, P = m->P, S = m->S;
    float scale = 1.0f / sqrtf((float)hs);
    if (m->cfg.scale_attn_by_inverse_layer_idx) scale /= (float)(l + 1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(m->nthreads)
    for (int rh = 0; rh < n * NH; rh++) {
        int r = rh / NH, h = rh % NH, tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        float *sc = m->scores + (size_t)tid * P;
        const float *q = m->qkv + (size_t)r * 3 * C + h * hs;
        const size_t base = ((size_t)l * S + m->row_seq[r]) * P * C + (size_t)h * hs;
        const int npos = m->row_pos[r] + 1;
        float mx = -INFINITY;
        for (int j = 0; j < npos; j++) {
            sc[j] = dot(q, m->kc + base + (size_t)j * C, hs) * scale;
            if (sc[j] > mx) mx = sc[j];
        }
        float sum = 0;
        for (int j = 0; j < npos; j++) sc[j] = expf(sc[j] - mx), sum += sc[j];
        float *o = m->att + (size_t)r * C + h * hs, inv = 1.0f / sum;
        for (int d = 0; d < hs; d++) o[d] = 0;
        for (int j = 0; j < npos; j++) axpy(o, sc[j] * inv, m->vc + base + (size_t)j * C, hs);
    }
}

/* The rows set up in row_seq/row_pos/row_tok through every layer and the final LayerNorm; the
 * rows listed in want[0..nwant) get logits into out[nwant, V]. */
static void forward_rows(pt_infer *m, int n, const int *want, int nwant, float *out) {
    const pt_kernels *k = m->k;
    const int C = m->cfg.n_embd, L = m->cfg.n_layer, P = m->P, S = m->S, V = m->cfg.vocab_size;
    const size_t CC = (size_t)C * C;
    const float *wte = PRM(m, PT_GPT2_WTE), *wpe = PRM(m, PT_GPT2_WPE);
    for (int r = 0; r < n; r++) {
        const float *te = wte + (size_t)m->row_tok[r] * C, *pe = wpe + (size_t)m->row_pos[r] * C;
        for (int c = 0; c < C; c++) m->x[(size_t)r * C + c] = te[c] + pe[c];
    }
    for (int l = 0; l < L; l++) {
        k->layernorm_fwd(m->ln, m->mean, m->rstd, m->x, PRM(m, PT_GPT2_LN1W) + l * C, PRM(m, PT_GPT2_LN1B) + l * C,
                         n, C);
        k->matmul_fwd(m->qkv, m->ln, PRM(m, PT_GPT2_QKVW) + l * 3 * CC, PRM(m, PT_GPT2_QKVB) + l * 3 * C, n, C, 3 * C);
        for (int r = 0; r < n; r++) { /* keys and values into the cache */
            size_t at = (((size_t)l * S + m->row_seq[r]) * P + m->row_pos[r]) * C;
            memcpy(m->kc + at, m->qkv + (size_t)r * 3 * C + C, C * sizeof(float));
            memcpy(m->vc + at, m->qkv + (size_t)r * 3 * C + 2 * C, C * sizeof(float));
        }
        attend(m, l, n);
        k->matmul_fwd(m->tmp, m->att, PRM(m, PT_GPT2_ATTPROJW) + l * CC, PRM(m, PT_GPT2_ATTPROJB) + l * C, n, C, C);
        k->add(m->x, m->x, m->tmp, (size_t)n * C);
        k->layernorm_fwd(m->ln, m->mean, m->rstd, m->x, PRM(m, PT_GPT2_LN2W) + l * C, PRM(m, PT_GPT2_LN2B) + l * C,
                         n, C);
        k->matmul_fwd(m->fch, m->ln, PRM(m, PT_GPT2_FCW) + l * 4 * CC, PRM(m, PT_GPT2_FCB) + l * 4 * C, n, C, 4 * C);
        k->gelu_fwd(m->fchg, m->fch, (size_t)n * 4 * C);
        k->matmul_fwd(m->tmp, m->fchg, PRM(m, PT_GPT2_FCPROJW) + l * 4 * CC, PRM(m, PT_GPT2_FCPROJB) + l * C, n,
                      4 * C, C);
        k->add(m->x, m->x, m->tmp, (size_t)n * C);
    }
    if (!nwant || !out) return;
    for (int i = 0; i < nwant; i++) memcpy(m->ln + (size_t)i * C, m->x + (size_t)want[i] * C, C * sizeof(float));
    k->layernorm_fwd(m->last, m->mean, m->rstd, m->ln, PRM(m, PT_GPT2_LNFW), PRM(m, PT_GPT2_LNFB), nwant, C);
    k->matmul_fwd(out, m->last, wte, NULL, nwant, C, V);
}

void pt_infer_prefill(pt_infer *m, int seq, const uint32_t *tok, int n, float *logits) {
    assert(seq >= 0 && seq < m->S && n >= 1 && m->len[seq] + n <= m->P);
    for (int r = 0; r < n; r++) m->row_seq[r] = seq, m->row_pos[r] = m->len[seq] + r, m->row_tok[r] = (int32_t)tok[r];
    int want = n - 1;
    forward_rows(m, n, &want, logits ? 1 : 0, logits);
    m->len[seq] += n;
}

void pt_infer_step(pt_infer *m, const int *seqs, const uint32_t *tok, int ns, float *logits) {
    assert(ns >= 1 && ns <= m->S && ns <= m->R);
    for (int r = 0; r < ns; r++) {
        assert(m->len[seqs[r]] < m->P);
        m->row_seq[r] = seqs[r], m->row_pos[r] = m->len[seqs[r]], m->row_tok[r] = (int32_t)tok[r], m->want[r] = r;
    }
    forward_rows(m, ns, m->want, ns, logits);
    for (int r = 0; r < ns; r++) m->len[seqs[r]]++;
}
