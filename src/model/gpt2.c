/* gpt2.c - GPT-2 config, layout, init and the forward/backward orchestration (see gpt2.h). */
#include "model/gpt2.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/rng.h"

/* ---- configs ------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    int L, C, NH, P;
} NAMED[] = {
    {"tiny", 4, 256, 4, 256},        {"mini", 6, 384, 6, 512},           {"gpt2", 12, 768, 12, 1024},
    {"gpt2-medium", 24, 1024, 16, 1024}, {"gpt2-large", 36, 1280, 20, 1024}, {"gpt2-xl", 48, 1600, 25, 1024},
};

int pt_gpt2_config_named(pt_gpt2_config *c, const char *name, pt_err *e) {
    for (size_t i = 0; i < sizeof NAMED / sizeof NAMED[0]; i++) {
        if (strcmp(name, NAMED[i].name)) continue;
        memset(c, 0, sizeof *c);
        c->n_layer = NAMED[i].L, c->n_embd = NAMED[i].C, c->n_head = NAMED[i].NH, c->n_positions = NAMED[i].P;
        return PT_OK;
    }
    return pt_fail(e, PT_EUSAGE, "unknown model '%s' (known: tiny, mini, gpt2, gpt2-medium, gpt2-large, gpt2-xl)",
                   name);
}

int pt_gpt2_config_check(const pt_gpt2_config *c, pt_err *e) {
    if (c->n_layer < 1 || c->n_embd < 1 || c->n_head < 1 || c->n_positions < 1 || c->vocab_size < 2)
        return pt_fail(e, PT_EUSAGE, "model config: layers %d, width %d, heads %d, positions %d, vocabulary %d: all "
                                     "must be positive (vocabulary at least 2)",
                       c->n_layer, c->n_embd, c->n_head, c->n_positions, c->vocab_size);
    if (c->n_embd % c->n_head)
        return pt_fail(e, PT_EUSAGE, "model config: width %d is not divisible by the %d heads", c->n_embd, c->n_head);
    /* Offsets are size_t, but kernels take int row/column counts: keep every dimension product in range. */
    if ((int64_t)c->n_embd * 4 > 1 << 30 || c->vocab_size > 1 << 30 || c->n_positions > 1 << 20 || c->n_layer > 4096)
        return pt_fail(e, PT_EUSAGE, "model config: a dimension is out of range");
    return PT_OK;
}

size_t pt_gpt2_layout(const pt_gpt2_config *c, pt_gpt2_tensor t[PT_GPT2_NTENSORS]) {
    static const char *names[PT_GPT2_NTENSORS] = {"wte",  "wpe",      "ln1w", "ln1b", "qkvw",    "qkvb",
                                                  "attprojw", "attprojb", "ln2w", "ln2b", "fcw", "fcb",
                                                  "fcprojw", "fcprojb", "lnfw", "lnfb"};
    const int L = c->n_layer, C = c->n_embd, V = c->vocab_size, P = c->n_positions;
    /* {rows per layer (or whole), cols, stacked over layers, decayed} */
    const int dims[PT_GPT2_NTENSORS][4] = {
        {V, C, 0, 1},     {P, C, 0, 1},     {C, 0, 1, 0}, {C, 0, 1, 0}, {3 * C, C, 1, 1}, {3 * C, 0, 1, 0},
        {C, C, 1, 1},     {C, 0, 1, 0},     {C, 0, 1, 0}, {C, 0, 1, 0}, {4 * C, C, 1, 1}, {4 * C, 0, 1, 0},
        {C, 4 * C, 1, 1}, {C, 0, 1, 0},     {C, 0, 0, 0}, {C, 0, 0, 0},
    };
    size_t off = 0;
    for (int i = 0; i < PT_GPT2_NTENSORS; i++) {
        pt_gpt2_tensor *x = &t[i];
        x->name = names[i];
        x->offset = off;
        x->decay = dims[i][3];
        x->ndim = 0;
        if (dims[i][2]) x->shape[x->ndim++] = L;
        x->shape[x->ndim++] = dims[i][0];
        if (dims[i][1]) x->shape[x->ndim++] = dims[i][1];
        x->numel = 1;
        for (int d = 0; d < x->ndim; d++) x->numel *= (size_t)x->shape[d];
        off += x->numel;
    }
    return off;
}

double pt_gpt2_flops_per_token(const pt_gpt2_config *c, int T) {
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    double N = (double)pt_gpt2_layout(c, t);
    return 6.0 * N + 12.0 * c->n_layer * (double)T * c->n_embd;
}

/* ---- activations ---------------------------------------------------------------------------- */

typedef struct layer_acts {
    float *ln1, *ln1_mean, *ln1_rstd; /* [M,C] [M] [M] */
    float *qkv;                        /* [M,3C] */
    float *atty, *lse;                 /* [M,C] [B,NH,T] */
    float *res2;                       /* [M,C] residual after attention */
    float *ln2, *ln2_mean, *ln2_rstd;  /* [M,C] [M] [M] */
    float *fch, *fch_gelu;             /* [M,4C] [M,4C] */
} layer_acts;

struct pt_gpt2_acts {
    void *mem;
    int32_t *tok;                      /* [M] the inputs of the last forward (encoder backward) */
    float *encoded;                    /* [M,C] input of layer 0 */
    float *res3;                       /* [L,M,C] output of each layer */
    layer_acts *layer;                 /* [L]; all the same slot when recomputing */
    float *lnf, *lnf_mean, *lnf_rstd;  /* [M,C] [M] [M] */
    float *logits;                     /* [R,V] one chunk of the classifier */
    float *losses;                     /* [M] */
    int R;                             /* rows per classifier chunk */
    /* backward scratch (TRAIN only) */
    float *dlnf, *dres, *dsmall;       /* [M,C] each */
    float *dA, *dB;                    /* [M,4C] each */
};

/* Classifier chunk: ~16M floats (64 MB) of logits at a time, at least one row. */
static int chunk_rows(int M, int V) {
    long r = (16l << 20) / V;
    if (r < 1) r = 1;
    return r < M ? (int)r : M;
}

/* Walks the activation layout once to size it (base NULL: only a->R is set) or to carve it into
 * base (every pointer of *a set); returns bytes.
 * Every buffer starts 64-byte aligned. */
static size_t carve(const pt_gpt2_config *c, int B, int T, int flags, char *base, struct pt_gpt2_acts *a,
                    size_t *act_bytes, size_t *grad_bytes, size_t *logit_bytes) {
    const size_t M = (size_t)B * T, C = c->n_embd, L = c->n_layer, NH = c->n_head;
    const int R = chunk_rows((int)M, c->vocab_size);
    size_t off = 0;
#define TAKE(ptr, count, type)                                             \
    do {                                                                   \
        if (base) (ptr) = (type *)(base + off);                            \
        off += ((size_t)(count) * sizeof(type) + 63) & ~(size_t)63;        \
    } while (0)
    TAKE(a->tok, M, int32_t);
    TAKE(a->encoded, M * C, float);
    TAKE(a->res3, L * M * C, float);
    size_t slots = (flags & PT_GPT2_RECOMPUTE) ? 1 : L;
    for (size_t l = 0; l < slots; l++) {
        layer_acts tmp, *la = base ? &a->layer[l] : &tmp;
        TAKE(la->ln1, M * C, float);
        TAKE(la->ln1_mean, M, float);
        TAKE(la->ln1_rstd, M, float);
        TAKE(la->qkv, M * 3 * C, float);
        TAKE(la->atty, M * C, float);
        TAKE(la->lse, M * NH, float);
        TAKE(la->res2, M * C, float);
        TAKE(la->ln2, M * C, float);
        TAKE(la->ln2_mean, M, float);
        TAKE(la->ln2_rstd, M, float);
        TAKE(la->fch, M * 4 * C, float);
        TAKE(la->fch_gelu, M * 4 * C, float);
    }
    if (base && slots == 1)
        for (size_t l = 1; l < L; l++) a->layer[l] = a->layer[0];
    TAKE(a->lnf, M * C, float);
    TAKE(a->lnf_mean, M, float);
    TAKE(a->lnf_rstd, M, float);
    TAKE(a->losses, M, float);
    *act_bytes = off;
    TAKE(a->logits, (size_t)R * c->vocab_size, float);
    *logit_bytes = off - *act_bytes;
    size_t before = off;
    if (flags & PT_GPT2_TRAIN) {
        TAKE(a->dlnf, M * C, float);
        TAKE(a->dres, M * C, float);
        TAKE(a->dsmall, M * C, float);
        TAKE(a->dA, M * 4 * C, float);
        TAKE(a->dB, M * 4 * C, float);
    }
    *grad_bytes = off - before;
#undef TAKE
    a->R = R;
    return off;
}

void pt_gpt2_plan_bytes(const pt_gpt2_config *c, int B, int T, int flags, pt_gpt2_plan *p) {
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    size_t n = pt_gpt2_layout(c, t);
    memset(p, 0, sizeof *p);
    p->params = n * sizeof(float);
    p->grads = (flags & PT_GPT2_TRAIN) ? p->params : 0;
    struct pt_gpt2_acts dummy;
    carve(c, B, T, flags, NULL, &dummy, &p->acts, &p->act_grads, &p->logits);
    p->total = p->params + p->grads + p->acts + p->act_grads + p->logits;
}

static void *alloc_aligned(size_t n, pt_err *e) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64)) {
        pt_fail(e, PT_ENOMEM, "out of memory allocating %.1f MB for the model", n / 1e6);
        return NULL;
    }
    return p;
}

int pt_gpt2_create(pt_gpt2 **out, const pt_gpt2_config *c, const pt_kernels *k, int B, int T, int flags,
                   pt_err *e) {
    *out = NULL;
    PT_TRY(pt_gpt2_config_check(c, e));
    if (B < 1 || T < 1 || T > c->n_positions)
        return pt_fail(e, PT_EUSAGE, "batch %d × %d: the sequence length must be 1..%d (the model's positions)", B, T,
                       c->n_positions);
    pt_gpt2 *m = pt_calloc(1, sizeof *m, e);
    if (!m) return e->code;
    m->cfg = *c, m->k = k, m->B = B, m->T = T, m->flags = flags;
    m->nparams = pt_gpt2_layout(c, m->t);
    if (!(m->a = pt_calloc(1, sizeof *m->a, e)) || !(m->a->layer = pt_calloc(c->n_layer, sizeof(layer_acts), e)))
        goto fail;
    size_t ab, gb, lb, bytes = carve(c, B, T, flags, NULL, m->a, &ab, &gb, &lb);
    if (!(m->a->mem = alloc_aligned(bytes, e))) goto fail;
    carve(c, B, T, flags, m->a->mem, m->a, &ab, &gb, &lb);
    if (!(m->params = alloc_aligned(m->nparams * sizeof(float), e))) goto fail;
    memset(m->params, 0, m->nparams * sizeof(float));
    if (flags & PT_GPT2_TRAIN) {
        if (!(m->grads = alloc_aligned(m->nparams * sizeof(float), e))) goto fail;
        memset(m->grads, 0, m->nparams * sizeof(float));
    }
    *out = m;
    return PT_OK;
fail:
    pt_gpt2_free(m);
    return e->code;
}

void pt_gpt2_free(pt_gpt2 *m) {
    if (!m) return;
    if (m->a) {
        free(m->a->mem);
        free(m->a->layer);
        free(m->a);
    }
    free(m->params);
    free(m->grads);
    free(m);
}

void pt_gpt2_zero_grad(pt_gpt2 *m) {
    if (m->grads) memset(m->grads, 0, m->nparams * sizeof(float));
}

/* ---- init ------------------------------------------------------------------------------------ */

void pt_gpt2_init(pt_gpt2 *m, uint64_t seed) {
    const double std = 0.02, proj_std = 0.02 / sqrt(2.0 * m->cfg.n_layer);
    enum { CHUNK = 1 << 14 }; /* one generator per chunk: the same numbers at any thread count */
    for (int i = 0; i < PT_GPT2_NTENSORS; i++) {
        const pt_gpt2_tensor *t = &m->t[i];
        float *p = m->params + t->offset;
        if (!t->decay) { /* biases 0, LayerNorm weights 1 */
            float v = (i == PT_GPT2_LN1W || i == PT_GPT2_LN2W || i == PT_GPT2_LNFW) ? 1.0f : 0.0f;
            for (size_t j = 0; j < t->numel; j++) p[j] = v;
            continue;
        }
        double s = (i == PT_GPT2_ATTPROJW || i == PT_GPT2_FCPROJW) ? proj_std : std;
        size_t nchunks = (t->numel + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static)
        for (size_t ch = 0; ch < nchunks; ch++) {
            pt_rng r;
            pt_rng_seed(&r, pt_mix64(seed * 0x100000001b3ull + (uint64_t)i) ^ pt_mix64(ch + 1));
            size_t end = (ch + 1) * CHUNK < t->numel ? (ch + 1) * CHUNK : t->numel;
            for (size_t j = ch * CHUNK; j < end; j++) p[j] = (float)(s * pt_rng_normal(&r));
        }
    }
}

/* ---- forward ----------------------------------------------------------------------------------- */

#define P(m, id) ((m)->params + (m)->t[id].offset)
#define G(m, id) ((m)->grads + (m)->t[id].offset)

static float attn_scale(const pt_gpt2 *m, int l) {
    float s = 1.0f / sqrtf((float)(m->cfg.n_embd / m->cfg.n_head));
    if (m->cfg.scale_attn_by_inverse_layer_idx) s /= (float)(l + 1);
    return s;
}

/* Layer l on input x[M,C] into la and out[M,C]; out NULL stops after the MLP's GELU (the backward's
 * recomputation needs no more). */
static void layer_fwd(pt_gpt2 *m, int l, const float *x, layer_acts *la, float *out, int B, int T) {
    const pt_kernels *k = m->k;
    const int C = m->cfg.n_embd, NH = m->cfg.n_head, M = B * T;
    const size_t CC = (size_t)C * C;
    k->layernorm_fwd(la->ln1, la->ln1_mean, la->ln1_rstd, x, P(m, PT_GPT2_LN1W) + l * C, P(m, PT_GPT2_LN1B) + l * C,
                     M, C);
    k->matmul_fwd(la->qkv, la->ln1, P(m, PT_GPT2_QKVW) + l * 3 * CC, P(m, PT_GPT2_QKVB) + l * 3 * C, M, C, 3 * C);
    k->attn_fwd(la->atty, la->lse, la->qkv, B, T, C, NH, attn_scale(m, l));
    k->matmul_fwd(la->res2, la->atty, P(m, PT_GPT2_ATTPROJW) + l * CC, P(m, PT_GPT2_ATTPROJB) + l * C, M, C, C);
    k->add(la->res2, la->res2, x, (size_t)M * C);
    k->layernorm_fwd(la->ln2, la->ln2_mean, la->ln2_rstd, la->res2, P(m, PT_GPT2_LN2W) + l * C,
                     P(m, PT_GPT2_LN2B) + l * C, M, C);
    k->matmul_fwd(la->fch, la->ln2, P(m, PT_GPT2_FCW) + l * 4 * CC, P(m, PT_GPT2_FCB) + l * 4 * C, M, C, 4 * C);
    k->gelu_fwd(la->fch_gelu, la->fch, (size_t)M * 4 * C);
    if (!out) return;
    k->matmul_fwd(out, la->fch_gelu, P(m, PT_GPT2_FCPROJW) + l * 4 * CC, P(m, PT_GPT2_FCPROJB) + l * C, M, 4 * C, C);
    k->add(out, out, la->res2, (size_t)M * C);
}

/* Embeddings, every layer, final LayerNorm: leaves a->lnf[M,C]. */
static void forward_body(pt_gpt2 *m, const int32_t *in, int B, int T) {
    struct pt_gpt2_acts *a = m->a;
    const int C = m->cfg.n_embd, L = m->cfg.n_layer;
    const size_t M = (size_t)B * T;
    assert(B <= m->B && T <= m->T); /* the contract */
    m->cur_B = B, m->cur_T = T;
    memcpy(a->tok, in, M * sizeof(int32_t));
    m->k->encoder_fwd(a->encoded, in, P(m, PT_GPT2_WTE), P(m, PT_GPT2_WPE), B, T, C);
    for (int l = 0; l < L; l++) {
        const float *x = l ? a->res3 + (size_t)(l - 1) * M * C : a->encoded;
        layer_fwd(m, l, x, &a->layer[l], a->res3 + (size_t)l * M * C, B, T);
    }
    m->k->layernorm_fwd(a->lnf, a->lnf_mean, a->lnf_rstd, a->res3 + (size_t)(L - 1) * M * C, P(m, PT_GPT2_LNFW),
                        P(m, PT_GPT2_LNFB), (int)M, C);
}

void pt_gpt2_forward(pt_gpt2 *m, const int32_t *in, const int32_t *tgt, int B, int T, float loss_scale,
                     float *loss) {
    struct pt_gpt2_acts *a = m->a;
    const pt_kernels *k = m->k;
    const int C = m->cfg.n_embd, V = m->cfg.vocab_size, M = B * T;
    forward_body(m, in, B, T);
    if (!tgt) return;
    const int train = m->grads && loss_scale > 0;
    if (train) memset(a->dlnf, 0, (size_t)M * C * sizeof(float));
    /* The classifier, a chunk of rows at a time: logits, losses, and their gradient pushed straight
     * back into dlnf and the tied embedding's gradient. */
    for (int r0 = 0; r0 < M; r0 += a->R) {
        int R = M - r0 < a->R ? M - r0 : a->R;
        const float *x = a->lnf + (size_t)r0 * C;
        k->matmul_fwd(a->logits, x, P(m, PT_GPT2_WTE), NULL, R, C, V);
        k->xent(a->losses + r0, train ? a->logits : NULL, a->logits, tgt + r0, loss_scale, R, V);
        if (train) k->matmul_bwd(a->dlnf + (size_t)r0 * C, G(m, PT_GPT2_WTE), NULL, a->logits, x, P(m, PT_GPT2_WTE),
                                 R, C, V);
    }
    double sum = 0;
    for (int i = 0; i < M; i++) sum += a->losses[i];
    m->mean_loss = (float)(sum / M);
    if (loss) *loss = m->mean_loss;
}

void pt_gpt2_logits(pt_gpt2 *m, const int32_t *in, int B, int T, float *logits) {
    forward_body(m, in, B, T);
    m->k->matmul_fwd(logits, m->a->lnf, P(m, PT_GPT2_WTE), NULL, B * T, m->cfg.n_embd, m->cfg.vocab_size);
}

/* ---- backward ---------------------------------------------------------------------------------- */

void pt_gpt2_backward(pt_gpt2 *m) {
    struct pt_gpt2_acts *a = m->a;
    const pt_kernels *k = m->k;
    const int B = m->cur_B, T = m->cur_T, C = m->cfg.n_embd, NH = m->cfg.n_head, L = m->cfg.n_layer;
    const int M = B * T;
    const size_t MC = (size_t)M * C, CC = (size_t)C * C, fsz = sizeof(float);
    float *dres = a->dres;
    memset(dres, 0, MC * fsz);
    k->layernorm_bwd(dres, G(m, PT_GPT2_LNFW), G(m, PT_GPT2_LNFB), a->dlnf, a->res3 + (size_t)(L - 1) * MC,
                     P(m, PT_GPT2_LNFW), a->lnf_mean, a->lnf_rstd, M, C);
    for (int l = L - 1; l >= 0; l--) {
        const float *x = l ? a->res3 + (size_t)(l - 1) * MC : a->encoded;
        layer_acts *la = &a->layer[l];
        if (m->flags & PT_GPT2_RECOMPUTE) layer_fwd(m, l, x, la, NULL, B, T);
        /* MLP: dres is d(res3); fcproj → gelu → fc → ln2, which adds its part to dres = d(res2). */
        memset(a->dA, 0, 4 * MC * fsz);
        k->matmul_bwd(a->dA, G(m, PT_GPT2_FCPROJW) + l * 4 * CC, G(m, PT_GPT2_FCPROJB) + l * C, dres, la->fch_gelu,
                      P(m, PT_GPT2_FCPROJW) + l * 4 * CC, M, 4 * C, C);
        memset(a->dB, 0, 4 * MC * fsz);
        k->gelu_bwd(a->dB, la->fch, a->dA, 4 * MC);
        memset(a->dsmall, 0, MC * fsz);
        k->matmul_bwd(a->dsmall, G(m, PT_GPT2_FCW) + l * 4 * CC, G(m, PT_GPT2_FCB) + l * 4 * C, a->dB, la->ln2,
                      P(m, PT_GPT2_FCW) + l * 4 * CC, M, C, 4 * C);
        k->layernorm_bwd(dres, G(m, PT_GPT2_LN2W) + l * C, G(m, PT_GPT2_LN2B) + l * C, a->dsmall, la->res2,
                         P(m, PT_GPT2_LN2W) + l * C, la->ln2_mean, la->ln2_rstd, M, C);
        /* Attention: attproj → attention → qkv → ln1, which adds its part to dres = d(x). */
        memset(a->dsmall, 0, MC * fsz);
        k->matmul_bwd(a->dsmall, G(m, PT_GPT2_ATTPROJW) + l * CC, G(m, PT_GPT2_ATTPROJB) + l * C, dres, la->atty,
                      P(m, PT_GPT2_ATTPROJW) + l * CC, M, C, C);
        float *dqkv = a->dB, *dln1 = a->dA;
        memset(dqkv, 0, 3 * MC * fsz);
        k->attn_bwd(dqkv, a->dsmall, la->qkv, la->atty, la->lse, B, T, C, NH, attn_scale(m, l));
        memset(dln1, 0, MC * fsz);
        k->matmul_bwd(dln1, G(m, PT_GPT2_QKVW) + l * 3 * CC, G(m, PT_GPT2_QKVB) + l * 3 * C, dqkv, la->ln1,
                      P(m, PT_GPT2_QKVW) + l * 3 * CC, M, C, 3 * C);
        k->layernorm_bwd(dres, G(m, PT_GPT2_LN1W) + l * C, G(m, PT_GPT2_LN1B) + l * C, dln1, x,
                         P(m, PT_GPT2_LN1W) + l * C, la->ln1_mean, la->ln1_rstd, M, C);
    }
    k->encoder_bwd(G(m, PT_GPT2_WTE), G(m, PT_GPT2_WPE), dres, a->tok, B, T, C);
}
