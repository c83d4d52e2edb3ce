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

/* Where a window starts: pass over the inputs, document ordinal in the pass, token offset in
 * the document (its ids then its end-of-text). */
typedef struct wpos {
    uint64_t pass, doc, off;
} wpos;

/* Documents whose tokens are in the carry: seg k covers `len` tokens of document (pass, doc)
 * starting at its token `off`. */
typedef struct seg {
    uint64_t pass, doc, off, len;
} seg;

#define STREAM_END_DOC UINT64_MAX /* pt_loader_stream_pos.doc of a finished finite stream */
_Static_assert(sizeof(pt_loader_stream_pos) == 64, "pt_loader_stream_pos is 64 bytes, no padding");

struct pt_loader_stream {
    pt_loader_stream_opts o;
    uint64_t rank, nranks;
    size_t W1;                 /* T + 1 */
    size_t S;                  /* block size: shuffle_windows, or 1 */
    uint64_t id;
    /* producer state (background thread only) */
    pt_bpe_many *enc;
    pt_bpe_ids ids;
    pt_buf text;               /* the character buffer: documents back to back */
    size_t *ends;              /* end offset of each buffered document */
    size_t ndocs, cap_docs, buf_chars; /* buf_chars: the buffer's target size */
    uint64_t pass, pdoc;       /* the pass, and the ordinal of the next document it delivers */
    uint64_t buf_doc;          /* ordinal of the buffer's first document */
    uint64_t skip_pass, skip_doc, drop; /* resuming: documents before (skip_pass, skip_doc) are
                                         * skipped, and `drop` tokens of that one */
    int skipping;
    uint32_t *carry;           /* tokens not yet cut into windows */
    size_t ncarry, cap_carry;
    seg *segs;                 /* the carry's documents */
    size_t nsegs, cap_segs;
    uint64_t next_window;      /* global window counter (for the rank split) */
    /* the queue of windows (shared) */
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    uint32_t *q;               /* qcap windows of W1 tokens */
    wpos *qpos;                /* where each starts */
    size_t qcap, qhead, qlen;
    int done, stop;            /* producer finished; consumer asks it to stop */
    int rc;
    pt_err err;
    volatile int cancel;
    pthread_t th;
    int started;
    /* the shuffle block (consumer only) */
    uint32_t *sb;              /* S windows */
    size_t *order;             /* S: the block's permutation */
    size_t blen, bpos;         /* windows in the block; emitted from it */
    int full;                  /* the block is complete and permuted */
    wpos bstart;               /* where the block's first window starts */
    uint64_t bj0;              /* this rank's window count at the block's first window */
    uint64_t yielded, skip;    /* windows returned; to skip in the next block (resuming) */
    int ended;                 /* no window is left */
};

/* Blocks until the window fits in the queue; 0, or 1 when asked to stop. */
static int stream_put(pt_loader_stream *s, const uint32_t *win, wpos at) {
    pthread_mutex_lock(&s->mu);
    while (s->qlen == s->qcap && !s->stop) pthread_cond_wait(&s->can_put, &s->mu);
    int stop = s->stop;
    if (!stop) {
        size_t k = (s->qhead + s->qlen) % s->qcap;
        memcpy(s->q + k * s->W1, win, s->W1 * sizeof *win);
        s->qpos[k] = at;
        s->qlen++;
        pthread_cond_signal(&s->can_get);
    }
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static int grow(void **p, size_t *cap, size_t need, size_t size, pt_err *e) {
    if (need <= *cap) return PT_OK;
    size_t nc = need * 2 > 1024 ? need * 2 : 1024;
    void *q = pt_realloc(*p, nc * size, e);
    if (!q) return PT_ENOMEM;
    *p = q, *cap = nc;
    return PT_OK;
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
    PT_TRY(grow((void **)&s->carry, &s->cap_carry, s->ncarry + add, sizeof *s->carry, e));
    PT_TRY(grow((void **)&s->segs, &s->cap_segs, s->nsegs + s->ids.n, sizeof *s->segs, e));
    for (size_t d = 0; d < s->ids.n; d++) {
        size_t n = s->ids.off[d + 1] - s->ids.off[d];
        uint64_t drop = d == 0 ? s->drop : 0; /* resuming inside the first document */
        if (drop > n + 1) drop = n + 1;
        if (drop <= n) memcpy(s->carry + s->ncarry, s->ids.ids + s->ids.off[d] + drop, (n - drop) * sizeof *s->carry);
        s->ncarry += n - (drop <= n ? drop : n);
        if (drop <= n) s->carry[s->ncarry++] = s->o.eot;
        s->segs[s->nsegs++] = (seg){s->pass, s->buf_doc + d, drop, n + 1 - drop};
    }
    s->drop = 0;
    s->ndocs = 0;
    pt_buf_clear(&s->text);
    size_t at = 0, T = s->o.T, si = 0;
    uint64_t sbase = 0; /* carry index where segs[si] starts */
    while (s->ncarry - at >= T + 1) {
        while (at >= sbase + s->segs[si].len) sbase += s->segs[si++].len;
        wpos w = {s->segs[si].pass, s->segs[si].doc, s->segs[si].off + (at - sbase)};
        if (s->next_window++ % s->nranks == s->rank && stream_put(s, s->carry + at, w))
            return pt_fail(e, PT_EINTR, "stream: stopped");
        at += T; /* the window's last token starts the next one */
    }
    while (si < s->nsegs && at >= sbase + s->segs[si].len) sbase += s->segs[si++].len;
    if (si < s->nsegs) {
        s->segs[si].off += at - sbase;
        s->segs[si].len -= at - sbase;
    }
    memmove(s->segs, s->segs + si, (s->nsegs - si) * sizeof *s->segs);
    s->nsegs -= si;
    memmove(s->carry, s->carry + at, (s->ncarry - at) * sizeof *s->carry);
    s->ncarry -= at;
    return PT_OK;
}

static int stream_docs(void *ctx, size_t n, const char *const *texts, const size_t *lens, pt_err *e) {
    pt_loader_stream *s = ctx;
    for (size_t i = 0; i < n; i++) {
        uint64_t ord = s->pdoc++;
        if (s->skipping) { /* resuming: read past the documents before the position, unencoded */
            if (s->pass < s->skip_pass || ord < s->skip_doc) continue;
            s->skipping = 0;
        }
        if (s->ndocs == 0) s->buf_doc = ord;
        PT_TRY(grow((void **)&s->ends, &s->cap_docs, s->ndocs + 1, sizeof *s->ends, e));
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
    int rc = PT_OK;
    if (!(s->skipping && s->skip_doc == STREAM_END_DOC)) do {
            s->pdoc = 0;
            rc = pt_textsrc_run(s->o.inputs, s->o.ninputs, &to, stream_docs, s, NULL, &e);
            if (!rc) rc = stream_flush(s, &e);
            if (!rc && s->skipping)
                rc = pt_fail(&e, PT_EUSAGE,
                             "stream position: document %" PRIu64 " of pass %" PRIu64 " is past the inputs' %" PRIu64
                             " documents (other inputs than the saved run's?)", s->skip_doc, s->skip_pass, s->pdoc);
            s->pass++;
        } while (!rc && s->o.infinite && !s->cancel);
    pthread_mutex_lock(&s->mu);
    if (rc && !s->stop) s->rc = rc, s->err = e;
    s->done = 1;
    pthread_cond_broadcast(&s->can_get);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* The inputs' identity for a position: tokenizer, end-of-text, inputs' names, split. */
static uint64_t stream_id(const pt_loader_stream_opts *o) {
    pt_hash128 th = pt_bpe_hash(o->tok);
    uint64_t h = pt_mix64(th.lo ^ pt_mix64(th.hi ^ o->eot));
    const char *split = o->split ? o->split : "train";
    h = pt_mix64(h ^ pt_hash64(split, strlen(split), 1));
    for (int i = 0; i < o->ninputs; i++) h = pt_mix64(h ^ pt_hash64(o->inputs[i], strlen(o->inputs[i]), (uint64_t)i + 2));
    return h ? h : 1;
}

static int stream_check_pos(const pt_loader_stream *s, const pt_loader_stream_pos *p, pt_err *e) {
    if (p->version != PT_LOADER_STREAM_POS_VERSION)
        return pt_fail(e, PT_EUSAGE, "stream position: version %u, this build reads version %u", p->version,
                       PT_LOADER_STREAM_POS_VERSION);
    if (p->T != s->o.T)
        return pt_fail(e, PT_EUSAGE, "stream position: saved with sequence length T=%u, now T=%zu: the windows would "
                       "be cut differently", p->T, s->o.T);
    if (p->nranks != s->nranks || p->rank != s->rank)
        return pt_fail(e, PT_EUSAGE, "stream position: saved by rank %u of %u, now rank %" PRIu64 " of %" PRIu64
                       ": streaming mode deals windows round-robin, so another rank count gives every rank other "
                       "windows; resume with the saved rank count", p->rank, p->nranks, s->rank, s->nranks);
    if (p->shuffle_windows != s->o.shuffle_windows)
        return pt_fail(e, PT_EUSAGE, "stream position: saved with a shuffle buffer of %u windows, now %zu: the "
                       "blocks would be others", p->shuffle_windows, s->o.shuffle_windows);
    if (p->id != s->id)
        return pt_fail(e, PT_EUSAGE, "stream position: saved over other inputs (another tokenizer, end-of-text id, "
                       "split or input paths)");
    return PT_OK;
}

int pt_loader_stream_new(pt_loader_stream **out, const pt_loader_stream_opts *o, pt_err *e) {
    *out = NULL;
    pt_loader_opts lo = {.B = o->B, .T = o->T, .rank = o->rank, .nranks = o->nranks};
    uint64_t nranks;
    PT_TRY(check_opts(&lo, &nranks, e));
    if (!o->tok || o->ninputs <= 0) return pt_fail(e, PT_EUSAGE, "stream: a tokenizer and at least one input are needed");
    if (nranks > UINT16_MAX || o->shuffle_windows > UINT32_MAX)
        return pt_fail(e, PT_EUSAGE, "stream: at most 65535 ranks and 2^32-1 shuffle windows");
    pt_loader_stream *s = pt_calloc(1, sizeof *s, e);
    if (!s) return PT_ENOMEM;
    s->o = *o;
    s->o.resume = NULL;
    s->rank = (uint64_t)o->rank, s->nranks = nranks;
    s->W1 = o->T + 1;
    s->S = o->shuffle_windows ? o->shuffle_windows : 1;
    s->id = stream_id(o);
    double cpt = o->chars_per_token > 0 ? o->chars_per_token : 3.6;
    size_t nseq = o->num_sequences ? o->num_sequences : 1024;
    s->buf_chars = (size_t)((double)o->T * cpt * (double)nseq);
    if (s->buf_chars == 0) s->buf_chars = 1;
    s->qcap = o->B * 2 > 64 ? o->B * 2 : 64;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->can_put, NULL);
    pthread_cond_init(&s->can_get, NULL);
    if (o->resume) {
        const pt_loader_stream_pos *p = o->resume;
        if (stream_check_pos(s, p, e)) goto fail;
        /* the block's first window: this rank's window j0 is global window rank + nranks * j0 */
        uint64_t k = p->yielded % s->S, j0 = p->yielded - k;
        s->o.seed = p->seed;
        s->skipping = 1;
        s->skip_pass = s->pass = p->pass;
        s->skip_doc = p->doc;
        s->drop = p->offset;
        s->next_window = s->rank + s->nranks * j0;
        s->yielded = j0;
        s->skip = k;
    }
    s->q = pt_malloc(s->qcap * s->W1 * sizeof *s->q, e);
    s->qpos = pt_malloc(s->qcap * sizeof *s->qpos, e);
    s->sb = pt_malloc(s->S * s->W1 * sizeof *s->sb, e);
    s->order = pt_malloc(s->S * sizeof *s->order, e);
    if (!s->q || !s->qpos || !s->sb || !s->order) goto fail;
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
    free(s->ends), free(s->carry), free(s->segs), free(s->q), free(s->qpos), free(s->sb), free(s->order);
    free(s);
}

/* The next window of the queue into win (and where it starts into *at); 0, or 1 at the end
 * (then s->rc tells why). */
static int stream_get(pt_loader_stream *s, uint32_t *win, wpos *at) {
    pthread_mutex_lock(&s->mu);
    while (s->qlen == 0 && !s->done) pthread_cond_wait(&s->can_get, &s->mu);
    int end = s->qlen == 0;
    if (!end) {
        memcpy(win, s->q + s->qhead * s->W1, s->W1 * sizeof *win);
        *at = s->qpos[s->qhead];
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        pthread_cond_signal(&s->can_put);
    }
    pthread_mutex_unlock(&s->mu);
    return end;
}

/* Starts the next block with its first window (the block's position); 1 at the end. */
static int block_begin(pt_loader_stream *s) {
    if (s->ended) return 1;
    if (stream_get(s, s->sb, &s->bstart)) return s->ended = 1;
    s->blen = 1, s->bpos = 0, s->full = 0;
    s->bj0 = s->yielded;
    return 0;
}

/* The next window through the shuffle block; 1 at the end. */
static int stream_window(pt_loader_stream *s, uint32_t *win) {
    if (s->blen == 0 && block_begin(s)) return 1;
    if (!s->full) {
        wpos at;
        while (s->blen < s->S && !stream_get(s, s->sb + s->blen * s->W1, &at)) s->blen++;
        for (size_t i = 0; i < s->blen; i++) s->order[i] = i;
        if (s->o.shuffle_windows) { /* Fisher-Yates, keyed by (seed, block number) */
            uint64_t rng = pt_mix64(s->o.seed ^ pt_mix64(s->bj0 / s->S + 0x5deece66dull));
            for (size_t i = s->blen - 1; i > 0; i--) {
                rng += 0x9e3779b97f4a7c15ull;
                size_t j = (size_t)(pt_mix64(rng) % (i + 1)), t = s->order[i];
                s->order[i] = s->order[j], s->order[j] = t;
            }
        }
        s->full = 1;
        s->bpos = s->skip < s->blen ? s->skip : s->blen; /* resuming: the windows already returned */
        s->yielded += s->bpos;
        s->skip = 0;
        if (s->bpos == s->blen) {
            s->blen = 0;
            return stream_window(s, win);
        }
    }
    memcpy(win, s->sb + s->order[s->bpos++] * s->W1, s->W1 * sizeof *win);
    s->yielded++;
    if (s->bpos == s->blen) s->blen = 0;
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

int pt_loader_stream_pos_get(pt_loader_stream *s, pt_loader_stream_pos *p, pt_err *e) {
    memset(p, 0, sizeof *p);
    p->version = PT_LOADER_STREAM_POS_VERSION;
    p->T = (uint32_t)s->o.T;
    p->seed = s->o.seed;
    p->shuffle_windows = (uint32_t)s->o.shuffle_windows;
    p->rank = (uint16_t)s->rank, p->nranks = (uint16_t)s->nranks;
    p->id = s->id;
    if (s->blen == 0 && block_begin(s)) { /* the next block's first window names the position */
        pthread_mutex_lock(&s->mu);
        int rc = s->rc;
        if (rc && e) *e = s->err;
        pthread_mutex_unlock(&s->mu);
        if (rc) return rc;
        p->doc = STREAM_END_DOC; /* a finite stream that has ended */
        p->yielded = s->yielded + s->skip;
        return PT_OK;
    }
    p->pass = s->bstart.pass;
    p->doc = s->bstart.doc;
    p->offset = s->bstart.off;
    p->yielded = s->full ? s->yielded : s->bj0 + s->skip;
    return PT_OK;
}
