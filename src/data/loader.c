/* loader.c - windows of a token stream in a keyed permuted order (design in loader.h). */
#include "data/loader.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "corpus/textsrc.h"
#include "tok/encode_many.h"

/* ---- sources ------------------------------------------------------------------------- */

static void mem_read(void *ctx, uint64_t i, size_t n, uint32_t *out) {
    memcpy(out, (const uint32_t *)ctx + i, n * sizeof *out);
}

pt_loader_src pt_loader_src_mem(const uint32_t *tokens, uint64_t n) {
    pt_loader_src s = {.count = n, .id = 0, .ctx = (void *)tokens, .read = mem_read};
    return s;
}

static void tokens_read(void *ctx, uint64_t i, size_t n, uint32_t *out) {
    pt_tokens_read((const pt_tokens *)ctx, i, n, out);
}

pt_loader_src pt_loader_src_tokens(const pt_tokens *t) {
    pt_hash128 h = pt_tokens_content_hash(t);
    uint64_t id = pt_mix64(h.lo ^ pt_mix64(h.hi));
    if (id == 0) id = 1; /* 0 means "unknown" */
    pt_loader_src s = {.count = pt_tokens_count(t), .id = id, .ctx = (void *)t, .read = tokens_read};
    return s;
}

/* ---- the permutation ----------------------------------------------------------------- */

/* A balanced Feistel network on 2*half bits, keyed: a bijection of [0, 2^(2*half)). */
#define FEISTEL_ROUNDS 6

typedef struct perm {
    uint64_t n;     /* the domain [0, n) */
    unsigned half;  /* bits per half; 2^(2*half) >= n */
    uint64_t key;
} perm;

static perm perm_make(uint64_t n, uint64_t seed, uint64_t epoch) {
    perm p = {.n = n, .half = 1};
    while (p.half < 32 && (1ull << (2 * p.half)) < n) p.half++;
    p.key = pt_mix64(seed ^ pt_mix64(epoch + 0x9e3779b97f4a7c15ull));
    return p;
}

static uint64_t feistel(const perm *p, uint64_t x) {
    uint64_t mask = (1ull << p->half) - 1;
    uint64_t l = x >> p->half, r = x & mask;
    for (uint64_t round = 0; round < FEISTEL_ROUNDS; round++) {
        uint64_t f = pt_mix64(p->key ^ (round << 56) ^ r) & mask;
        uint64_t nl = r;
        r = l ^ f;
        l = nl;
    }
    return (l << p->half) | r;
}

/* Cycle-walking: the Feistel output restricted to [0, n) is still a bijection, because
 * following the cycle of x until it re-enters [0, n) pairs each x with a distinct value. */
static uint64_t perm_at(const perm *p, uint64_t k) {
    if (p->n <= 1) return 0;
    uint64_t x = k;
    do x = feistel(p, x);
    while (x >= p->n);
    return x;
}

/* ---- the training loader ------------------------------------------------------------- */

struct pt_loader {
    pt_loader_src src;
    size_t B, T;
    uint64_t rank, nranks, G; /* G = nranks * B */
    uint64_t W, steps;        /* windows; steps per epoch */
    uint64_t seed;
    int shuffle;
    uint64_t epoch, step;     /* of the next batch */
    perm p;                   /* of `epoch` */
    uint32_t *win;            /* (T + 1) scratch */
};

static int check_opts(const pt_loader_opts *o, uint64_t *nranks, pt_err *e) {
    *nranks = o->nranks <= 0 ? 1 : (uint64_t)o->nranks;
    if (o->B == 0 || o->T == 0) return pt_fail(e, PT_EUSAGE, "loader: batch size B=%zu and sequence length T=%zu must be positive", o->B, o->T);
    if (o->rank < 0 || (uint64_t)o->rank >= *nranks)
        return pt_fail(e, PT_EUSAGE, "loader: rank %d is outside [0, %" PRIu64 ")", o->rank, *nranks);
    if (o->T > (1u << 30)) return pt_fail(e, PT_EUSAGE, "loader: sequence length T=%zu is too large", o->T);
    return PT_OK;
}

static uint64_t count_windows(uint64_t tokens, size_t T) { return tokens == 0 ? 0 : (tokens - 1) / T; }

int pt_loader_new(pt_loader **out, const pt_loader_src *src, const pt_loader_opts *o, pt_err *e) {
    *out = NULL;
    uint64_t nranks;
    PT_TRY(check_opts(o, &nranks, e));
    uint64_t W = count_windows(src->count, o->T);
    if (o->B > UINT64_MAX / nranks) return pt_fail(e, PT_EUSAGE, "loader: global batch overflows");
    uint64_t G = nranks * o->B;
    if (W < G)
        return pt_fail(e, PT_EUSAGE,
                       "loader: %" PRIu64 " tokens make %" PRIu64 " windows of T=%zu, fewer than one global batch of %" PRIu64
                       " (%" PRIu64 " ranks x B=%zu)",
                       src->count, W, o->T, G, nranks, o->B);
    pt_loader *L = pt_calloc(1, sizeof *L, e);
    if (!L) return PT_ENOMEM;
    L->win = pt_malloc((o->T + 1) * sizeof *L->win, e);
    if (!L->win) {
        pt_loader_free(L);
        return PT_ENOMEM;
    }
    L->src = *src;
    L->B = o->B, L->T = o->T;
    L->rank = (uint64_t)o->rank, L->nranks = nranks, L->G = G;
    L->W = W, L->steps = W / G;
    L->seed = o->seed, L->shuffle = o->shuffle != 0;
    L->p = perm_make(W, L->seed, 0);
    *out = L;
    return PT_OK;
}

void pt_loader_free(pt_loader *L) {
    if (!L) return;
    free(L->win);
    free(L);
}

uint64_t pt_loader_windows(const pt_loader *L) { return L->W; }
uint64_t pt_loader_steps_per_epoch(const pt_loader *L) { return L->steps; }

static uint64_t window_at(const pt_loader *L, const perm *p, uint64_t k) { return L->shuffle ? perm_at(p, k) : k; }

uint64_t pt_loader_window_at(const pt_loader *L, uint64_t epoch, uint64_t k) {
    perm p = perm_make(L->W, L->seed, epoch);
    return window_at(L, &p, k);
}

/* Window w into row r of inputs/targets: one read of T + 1 tokens, split by one. */
static void read_window(const pt_loader_src *src, uint32_t *win, size_t T, uint64_t w, uint32_t *in, uint32_t *tg) {
    src->read(src->ctx, w * T, T + 1, win);
    memcpy(in, win, T * sizeof *win);
    memcpy(tg, win + 1, T * sizeof *win);
}

void pt_loader_next(pt_loader *L, uint32_t *inputs, uint32_t *targets, uint64_t *epoch_out) {
    if (epoch_out) *epoch_out = L->epoch;
    uint64_t base = L->step * L->G + L->rank * L->B;
    for (size_t b = 0; b < L->B; b++) {
        uint64_t w = window_at(L, &L->p, base + b);
        read_window(&L->src, L->win, L->T, w, inputs + b * L->T, targets + b * L->T);
    }
    if (++L->step == L->steps) {
        L->step = 0;
        L->epoch++;
        L->p = perm_make(L->W, L->seed, L->epoch);
    }
}

void pt_loader_pos_get(const pt_loader *L, pt_loader_pos *p) {
    memset(p, 0, sizeof *p);
    p->version = PT_LOADER_POS_VERSION;
    p->shuffle = (uint32_t)L->shuffle;
    p->epoch = L->epoch;
    p->step = L->step;
    p->seed = L->seed;
    p->T = L->T;
    p->global_batch = L->G;
    p->windows = L->W;
    p->src_id = L->src.id;
}

int pt_loader_pos_set(pt_loader *L, const pt_loader_pos *p, pt_err *e) {
    if (p->version != PT_LOADER_POS_VERSION)
        return pt_fail(e, PT_EUSAGE, "loader position: version %u, this build reads version %u", p->version,
                       PT_LOADER_POS_VERSION);
    if (p->T != L->T)
        return pt_fail(e, PT_EUSAGE,
                       "loader position: saved with sequence length T=%" PRIu64 ", now T=%zu: the windows would be cut "
                       "differently",
                       p->T, L->T);
    if (p->global_batch != L->G)
        return pt_fail(e, PT_EUSAGE,
                       "loader position: saved with a global batch of %" PRIu64 " windows, now %" PRIu64 " (%" PRIu64
                       " ranks x B=%zu): steps would group other windows; keep ranks x B equal",
                       p->global_batch, L->G, L->nranks, L->B);
    if (p->windows != L->W || p->src_id != L->src.id)
        return pt_fail(e, PT_EUSAGE,
                       "loader position: saved over another dataset (%" PRIu64 " windows, content id %016" PRIx64
                       "; this data: %" PRIu64 " windows, content id %016" PRIx64 ")%s",
                       p->windows, p->src_id, L->W, L->src.id,
                       p->windows == L->W ? ": the same size but other tokens (another corpus, tokenizer or pack); "
                                            "the batches would not be those of the saved run"
                                          : "");
    if ((p->shuffle != 0) != L->shuffle)
        return pt_fail(e, PT_EUSAGE, "loader position: saved with shuffling %s, now %s", p->shuffle ? "on" : "off",
                       L->shuffle ? "on" : "off");
    if (p->step >= L->steps)
        return pt_fail(e, PT_EUSAGE, "loader position: step %" PRIu64 " is past the epoch's %" PRIu64 " steps", p->step,
                       L->steps);
    L->seed = p->seed;
    L->epoch = p->epoch;
    L->step = p->step;
    L->p = perm_make(L->W, L->seed, L->epoch);
    return PT_OK;
}

/* ---- evaluation ---------------------------------------------------------------------- */

struct pt_loader_eval {
    pt_loader_src src;
    size_t B, T;
    uint64_t rank, nranks, W;
    uint64_t next; /* the next window of this rank: rank + k * nranks */
    uint32_t *win;
};

int pt_loader_eval_new(pt_loader_eval **out, const pt_loader_src *src, const pt_loader_opts *o, pt_err *e) {
    *out = NULL;
    uint64_t nranks;
    PT_TRY(check_opts(o, &nranks, e));
    pt_loader_eval *v = pt_calloc(1, sizeof *v, e);
    if (!v) return PT_ENOMEM;
    v->win = pt_malloc((o->T + 1) * sizeof *v->win, e);
    if (!v->win) {
        free(v);
        return PT_ENOMEM;
    }
    v->src = *src;
    v->B = o->B, v->T = o->T;
    v->rank = (uint64_t)o->rank, v->nranks = nranks;
    v->W = count_windows(src->count, o->T);
    v->next = v->rank;
    *out = v;
    return PT_OK;
}

void pt_loader_eval_free(pt_loader_eval *v) {
    if (!v) return;
    free(v->win);
    free(v);
}

size_t pt_loader_eval_next(pt_loader_eval *v, uint32_t *inputs, uint32_t *targets) {
    size_t n = 0;
    while (n < v->B && v->next < v->W) {
        read_window(&v->src, v->win, v->T, v->next, inputs + n * v->T, targets + n * v->T);
        v->next += v->nranks;
        n++;
    }
    return n;
}

void pt_loader_eval_rewind(pt_loader_eval *v) { v->next = v->rank; }

/* ---- streaming mode ------------------------------------------------------------------ */

struct pt_loader_stream {
    pt_loader_stream_opts o;
    uint64_t rank, nranks;
    size_t W1;                 /* T + 1 */
    /* producer state (background thread only) */
    pt_bpe_many *enc;
    pt_bpe_ids ids;
    pt_buf text;               /* the character buffer: documents back to back */
    size_t *ends;              /* end offset of each buffered document */
    size_t ndocs, cap_docs, buf_chars; /* buf_chars: the buffer's target size */
    uint32_t *carry;           /* tokens not yet cut into windows */
    size_t ncarry, cap_carry;
    uint64_t next_window;      /* global window counter (for the rank split) */
    /* the queue of windows (shared) */
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    uint32_t *q;               /* qcap windows of W1 tokens */
    size_t qcap, qhead, qlen;
    int done, stop;            /* producer finished; consumer asks it to stop */
    int rc;
    pt_err err;
    volatile int cancel;
    pthread_t th;
    int started;
    /* the shuffle buffer (consumer only) */
    uint32_t *sb;              /* shuffle_windows windows */
    size_t sblen;
    uint64_t rng;
};

/* Blocks until the window fits in the queue; 0, or 1 when asked to stop. */
static int stream_put(pt_loader_stream *s, const uint32_t *win) {
    pthread_mutex_lock(&s->mu);
    while (s->qlen == s->qcap && !s->stop) pthread_cond_wait(&s->can_put, &s->mu);
    int stop = s->stop;
    if (!stop) {
        memcpy(s->q + ((s->qhead + s->qlen) % s->qcap) * s->W1, win, s->W1 * sizeof *win);
        s->qlen++;
        pthread_cond_signal(&s->can_get);
    }
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Encodes the buffered documents, appends their ids and end-of-text to the carry and cuts
 * every whole window out of it. */
static int stream_flush(pt_loader_stream *s, pt_err *e) {
    if (s->ndocs == 0) return PT_OK;
    pt_bpe_text *docs = pt_malloc(s->ndocs * sizeof *docs, e);
    if (!docs) return PT_ENOMEM;
    for (size_t i = 0, at = 0; i < s->ndocs; at = s->ends[i], i++) docs[i] = (pt_bpe_text){s->text.data + at, s->ends[i] - at};
    int rc = pt_bpe_many_encode(s->enc, docs, s->ndocs, &s->ids, e);
    free(docs);
    if (rc) return rc;
    size_t add = s->ids.off[s->ids.n] + s->ids.n;
    if (s->ncarry + add > s->cap_carry) {
        size_t cap = (s->ncarry + add) * 2;
        uint32_t *c = pt_realloc(s->carry, cap * sizeof *c, e);
        if (!c) return PT_ENOMEM;
        s->carry = c, s->cap_carry = cap;
    }
    for (size_t d = 0; d < s->ids.n; d++) {
        size_t n = s->ids.off[d + 1] - s->ids.off[d];
        memcpy(s->carry + s->ncarry, s->ids.ids + s->ids.off[d], n * sizeof *s->carry);
        s->ncarry += n;
        s->carry[s->ncarry++] = s->o.eot;
    }
    s->ndocs = 0;
    pt_buf_clear(&s->text);
    size_t at = 0, T = s->o.T;
    while (s->ncarry - at >= T + 1) {
        if (s->next_window++ % s->nranks == s->rank && stream_put(s, s->carry + at))
            return pt_fail(e, PT_EINTR, "stream: stopped");
        at += T; /* the window's last token starts the next one */
    }
    memmove(s->carry, s->carry + at, (s->ncarry - at) * sizeof *s->carry);
    s->ncarry -= at;
    return PT_OK;
}

static int stream_docs(void *ctx, size_t n, const char *const *texts, const size_t *lens, pt_err *e) {
    pt_loader_stream *s = ctx;
    for (size_t i = 0; i < n; i++) {
        if (s->ndocs == s->cap_docs) {
            size_t cap = s->cap_docs ? s->cap_docs * 2 : 1024;
            size_t *p = pt_realloc(s->ends, cap * sizeof *p, e);
            if (!p) return PT_ENOMEM;
            s->ends = p, s->cap_docs = cap;
        }
        PT_TRY(pt_buf_append(&s->text, texts[i], lens[i], e));
        s->ends[s->ndocs++] = s->text.len;
        if (s->text.len >= s->buf_chars) PT_TRY(stream_flush(s, e));
    }
    return PT_OK;
}

static void *stream_main(void *arg) {
    pt_loader_stream *s = arg;
    pt_err e = {0};
    pt_textsrc_opts to = {.split = s->o.split, .cancel = &s->cancel};
    int rc;
    do {
        rc = pt_textsrc_run(s->o.inputs, s->o.ninputs, &to, stream_docs, s, NULL, &e);
        if (!rc) rc = stream_flush(s, &e);
    } while (!rc && s->o.infinite && !s->cancel);
    pthread_mutex_lock(&s->mu);
    if (rc && !s->stop) s->rc = rc, s->err = e;
    s->done = 1;
    pthread_cond_broadcast(&s->can_get);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int pt_loader_stream_new(pt_loader_stream **out, const pt_loader_stream_opts *o, pt_err *e) {
    *out = NULL;
    pt_loader_opts lo = {.B = o->B, .T = o->T, .rank = o->rank, .nranks = o->nranks};
    uint64_t nranks;
    PT_TRY(check_opts(&lo, &nranks, e));
    if (!o->tok || o->ninputs <= 0) return pt_fail(e, PT_EUSAGE, "stream: a tokenizer and at least one input are needed");
    pt_loader_stream *s = pt_calloc(1, sizeof *s, e);
    if (!s) return PT_ENOMEM;
    s->o = *o;
    s->rank = (uint64_t)o->rank, s->nranks = nranks;
    s->W1 = o->T + 1;
    double cpt = o->chars_per_token > 0 ? o->chars_per_token : 3.6;
    size_t nseq = o->num_sequences ? o->num_sequences : 1024;
    s->buf_chars = (size_t)((double)o->T * cpt * (double)nseq);
    if (s->buf_chars == 0) s->buf_chars = 1;
    s->qcap = o->B * 2 > 64 ? o->B * 2 : 64;
    s->rng = pt_mix64(o->seed ^ 0x5deece66dull);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->can_put, NULL);
    pthread_cond_init(&s->can_get, NULL);
    s->q = pt_malloc(s->qcap * s->W1 * sizeof *s->q, e);
    if (!s->q) goto fail;
    if (o->shuffle_windows) {
        s->sb = pt_malloc(o->shuffle_windows * s->W1 * sizeof *s->sb, e);
        if (!s->sb) goto fail;
    }
    s->enc = pt_bpe_many_new(o->tok, o->threads, 0, e);
    if (!s->enc) goto fail;
    if (pthread_create(&s->th, NULL, stream_main, s)) {
        pt_fail(e, PT_ENOMEM, "stream: could not start the reader thread");
        goto fail;
    }
    s->started = 1;
    *out = s;
    return PT_OK;
fail:
    pt_loader_stream_free(s);
    return e && e->code ? e->code : PT_ENOMEM;
}

void pt_loader_stream_free(pt_loader_stream *s) {
    if (!s) return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        s->cancel = 1;
        pthread_cond_broadcast(&s->can_put);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->can_put);
    pthread_cond_destroy(&s->can_get);
    pt_bpe_many_free(s->enc);
    pt_bpe_ids_free(&s->ids);
    pt_buf_free(&s->text);
    free(s->ends), free(s->carry), free(s->q), free(s->sb);
    free(s);
}

/* The next window of the queue into win; 0, or 1 at the end (then s->rc tells why). */
static int stream_get(pt_loader_stream *s, uint32_t *win) {
    pthread_mutex_lock(&s->mu);
    while (s->qlen == 0 && !s->done) pthread_cond_wait(&s->can_get, &s->mu);
    int end = s->qlen == 0;
    if (!end) {
        memcpy(win, s->q + s->qhead * s->W1, s->W1 * sizeof *win);
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        pthread_cond_signal(&s->can_put);
    }
    pthread_mutex_unlock(&s->mu);
    return end;
}

/* The next window after the shuffle buffer; 1 at the end. */
static int stream_window(pt_loader_stream *s, uint32_t *win) {
    size_t S = s->o.shuffle_windows;
    if (!S) return stream_get(s, win);
    while (s->sblen < S && !stream_get(s, s->sb + s->sblen * s->W1)) s->sblen++;
    if (s->sblen == 0) return 1;
    s->rng += 0x9e3779b97f4a7c15ull;
    size_t j = (size_t)(pt_mix64(s->rng) % s->sblen);
    memcpy(win, s->sb + j * s->W1, s->W1 * sizeof *win);
    s->sblen--;
    if (j != s->sblen) memcpy(s->sb + j * s->W1, s->sb + s->sblen * s->W1, s->W1 * sizeof *win);
    return 0;
}

int pt_loader_stream_next(pt_loader_stream *s, uint32_t *inputs, uint32_t *targets, size_t *rows, pt_err *e) {
    size_t T = s->o.T, n = 0;
    uint32_t *win = pt_malloc(s->W1 * sizeof *win, e);
    if (!win) return PT_ENOMEM;
    while (n < s->o.B && !stream_window(s, win)) {
        memcpy(inputs + n * T, win, T * sizeof *win);
        memcpy(targets + n * T, win + 1, T * sizeof *win);
        n++;
    }
    free(win);
    *rows = n;
    if (n == 0 && s->rc) {
        if (e) *e = s->err;
        return s->rc;
    }
    return PT_OK;
}
