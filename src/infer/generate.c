/* generate.c - sampling and the batched decoding loop (see generate.h). */
#include "infer/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

void pt_gen_result_free(pt_gen_result *r) {
    free(r->ids), free(r->logprobs);
    pt_buf_free(&r->text);
    memset(r, 0, sizeof *r);
}

/* ---- sampling --------------------------------------------------------------------------------- */

/* The k-th largest of v[0..n) (k >= 1), by quickselect on a scratch copy. */
static float kth_largest(const float *v, int n, int k, float *tmp) {
    memcpy(tmp, v, n * sizeof(float));
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float pivot = tmp[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (tmp[i] > pivot) i++;
            while (tmp[j] < pivot) j--;
            if (i <= j) { float t = tmp[i]; tmp[i] = tmp[j]; tmp[j] = t; i++, j--; }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else break;
    }
    return tmp[want];
}

static const float *sort_p;
static int by_prob_desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    if (sort_p[x] != sort_p[y]) return sort_p[x] > sort_p[y] ? -1 : 1;
    return x - y;
}

uint32_t pt_gen_sample(float *logits, int V, const pt_gen_opts *o, pt_rng *r, int *idx) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    if (o->temperature <= 0) return (uint32_t)best;
    const float inv_t = (float)(1.0 / o->temperature), mx = logits[best];
    for (int i = 0; i < V; i++) logits[i] = (logits[i] - mx) * inv_t; /* max now 0 */
    if (o->top_k > 0 && o->top_k < V) {
        float *tmp = (float *)idx; /* same size as V ints */
        float kth = kth_largest(logits, V, o->top_k, tmp);
        for (int i = 0; i < V; i++)
            if (logits[i] < kth) logits[i] = -INFINITY;
    }
    double z = 0;
    for (int i = 0; i < V; i++) z += (logits[i] = expf(logits[i]));
    if (o->top_p > 0 && o->top_p < 1) {
        /* The nucleus lies among the tokens above any threshold whose tokens' mass reaches top_p:
         * find one (dividing by 64 until it does), then sort only those. */
        const double need = o->top_p * z;
        float t = logits[best] / 64;
        int nc;
        double mass;
        for (;;) {
            nc = 0, mass = 0;
            for (int i = 0; i < V; i++)
                if (logits[i] >= t) idx[nc++] = i, mass += logits[i];
            if (mass >= need || t == 0) break;
            t = t / 64 < 1e-30f ? 0 : t / 64;
        }
        sort_p = logits;
        qsort(idx, nc, sizeof *idx, by_prob_desc);
        double cum = 0;
        int keep = 0;
        while (keep < nc && (keep == 0 || cum < need)) cum += logits[idx[keep++]];
        double u = pt_rng_uniform(r) * cum;
        for (int j = 0; j < keep; j++) {
            u -= logits[idx[j]];
            if (u < 0) return (uint32_t)idx[j];
        }
        return (uint32_t)idx[keep - 1];
    }
    double u = pt_rng_uniform(r) * z;
    int last = best;
    for (int i = 0; i < V; i++) {
        if (logits[i] <= 0) continue;
        last = i;
        u -= logits[i];
        if (u < 0) return (uint32_t)i;
    }
    return (uint32_t)last;
}

static float log_softmax_at(const float *l, int V, uint32_t id) {
    float mx = l[0];
    for (int i = 1; i < V; i++) mx = l[i] > mx ? l[i] : mx;
    double s = 0;
    for (int i = 0; i < V; i++) s += exp((double)l[i] - mx);
    return (float)((double)l[id] - mx - log(s));
}

/* ---- the decoding loop -------------------------------------------------------------------------- */

typedef struct seqstate {
    int sample;        /* index into prompts / res */
    pt_rng rng;
    size_t emitted;    /* bytes of text passed to on_text */
    int done;
    size_t cap;
} seqstate;

/* Earliest stop string starting in the bytes from `from` on; -1 if none. */
static long find_stop(const pt_buf *t, size_t from, const pt_gen_opts *o) {
    long best = -1;
    for (int s = 0; s < o->nstops; s++) {
        size_t sl = strlen(o->stops[s]);
        if (!sl || t->len < sl) continue;
        size_t start = from >= sl - 1 ? from - (sl - 1) : 0;
        const char *hit = memmem(t->data + start, t->len - start, o->stops[s], sl);
        if (hit && (best < 0 || hit - t->data < best)) best = hit - t->data;
    }
    return best;
}

static size_t max_stop_len(const pt_gen_opts *o) {
    size_t m = 0;
    for (int s = 0; s < o->nstops; s++) m = strlen(o->stops[s]) > m ? strlen(o->stops[s]) : m;
    return m;
}

/* Appends token id to sequence st's result; returns 1 when the sequence is finished. */
static int take(const pt_bpe *tok, seqstate *st, pt_gen_result *res, uint32_t id, float lp, const pt_gen_opts *o,
                size_t holdback, pt_gen_text_fn on_text, void *ctx, pt_err *e) {
    if (res->n == st->cap) {
        size_t nc = st->cap ? 2 * st->cap : 64;
        uint32_t *ni = pt_realloc(res->ids, nc * sizeof *ni, e);
        if (!ni) return -1;
        res->ids = ni;
        if (o->logprobs) {
            float *nl = pt_realloc(res->logprobs, nc * sizeof *nl, e);
            if (!nl) return -1;
            res->logprobs = nl;
        }
        st->cap = nc;
    }
    res->ids[res->n] = id;
    if (o->logprobs) res->logprobs[res->n] = lp;
    res->n++;
    int done = 0;
    if (id == o->eot) {
        res->finish = PT_GEN_EOT, done = 1;
    } else {
        size_t len;
        const unsigned char *b = pt_bpe_token(tok, id, &len, NULL);
        size_t old = res->text.len;
        if (b && pt_buf_append(&res->text, b, len, e)) return -1;
        long cut = find_stop(&res->text, old, o);
        if (cut >= 0) res->text.len = (size_t)cut, res->finish = PT_GEN_STOP, done = 1;
        else if (res->n >= (size_t)o->max_new_tokens) res->finish = PT_GEN_LENGTH, done = 1;
    }
    size_t safe = done ? res->text.len : (res->text.len > holdback ? res->text.len - holdback : 0);
    if (on_text && safe > st->emitted) on_text(ctx, st->sample, res->text.data + st->emitted, safe - st->emitted);
    if (safe > st->emitted) st->emitted = safe;
    return done;
}

int pt_generate(pt_infer *m, const pt_bpe *tok, const uint32_t *const *prompts, const size_t *plen, int n,
                const uint64_t *sample_ids, const pt_gen_opts *o, pt_gen_result *res, pt_gen_text_fn on_text,
                void *ctx, volatile int *cancel, pt_err *e) {
    const pt_gpt2_config *c = pt_infer_config(m);
    const int V = c->vocab_size, P = c->n_positions, S = pt_infer_nseq(m);
    if (o->max_new_tokens < 1 || o->max_new_tokens >= P)
        return pt_fail(e, PT_EUSAGE, "--max-new-tokens %d: must be 1..%d (below the model's %d positions)",
                       o->max_new_tokens, P - 1, P);
    for (int i = 0; i < n; i++) {
        if (!plen[i]) return pt_fail(e, PT_EUSAGE, "prompt %d is empty (start it with end-of-text: --bos)", i);
        for (size_t j = 0; j < plen[i]; j++)
            if (prompts[i][j] >= (uint32_t)V)
                return pt_fail(e, PT_EUSAGE, "prompt %d: token %u is outside the model's vocabulary of %d", i,
                               prompts[i][j], V);
    }
    const size_t holdback = o->nstops ? max_stop_len(o) - 1 : 0;
    float *logits = pt_malloc((size_t)S * V * sizeof(float), e), *raw = pt_malloc((size_t)V * sizeof(float), e);
    int *idx = pt_malloc((size_t)V * sizeof(int), e), *seqs = pt_malloc((size_t)S * sizeof(int), e);
    uint32_t *next = pt_malloc((size_t)S * sizeof(uint32_t), e);
    seqstate *st = pt_calloc(S, sizeof *st, e);
    int rc = (!logits || !raw || !idx || !seqs || !next || !st) ? e->code : PT_OK;
    for (int g = 0; g < n && !rc; g += S) {
        const int gn = n - g < S ? n - g : S;
        int na = 0; /* active sequences, compacted: slot seqs[r] has its logits in row r */
        for (int j = 0; j < gn; j++) {
            const int i = g + j;
            memset(&st[j], 0, sizeof st[j]);
            st[j].sample = i;
            pt_rng_seed(&st[j].rng, pt_mix64(o->seed) ^ pt_mix64((sample_ids ? sample_ids[i] : (uint64_t)i) + 1));
            const size_t room = (size_t)(P - o->max_new_tokens);
            const size_t cut = plen[i] > room ? plen[i] - room : 0;
            res[i].prompt_cut = cut;
            pt_infer_reset(m, j);
            pt_infer_prefill(m, j, prompts[i] + cut, (int)(plen[i] - cut), logits + (size_t)na * V);
            seqs[na++] = j;
        }
        while (na > 0 && !rc) {
            if (cancel && *cancel) { rc = pt_fail(e, PT_EINTR, "generation interrupted"); break; }
            int nn = 0;
            for (int r = 0; r < na; r++) {
                const int j = seqs[r];
                float *row = logits + (size_t)r * V;
                float lp = 0;
                if (o->logprobs) memcpy(raw, row, (size_t)V * sizeof(float));
                uint32_t id = pt_gen_sample(row, V, o, &st[j].rng, idx);
                /* the model's own log-probability, before temperature and filters */
                if (o->logprobs) lp = log_softmax_at(raw, V, id);
                int d = take(tok, &st[j], &res[st[j].sample], id, lp, o, holdback, on_text, ctx, e);
                if (d < 0) { rc = e->code; break; }
                if (!d) seqs[nn] = j, next[nn] = id, nn++;
            }
            na = nn;
            if (na && !rc) pt_infer_step(m, seqs, next, na, logits);
        }
    }
    free(logits), free(raw), free(idx), free(seqs), free(next), free(st);
    return rc;
}
