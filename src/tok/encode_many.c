/* encode_many.c - batches of documents across threads (see encode_many.h). */
#include "tok/encode_many.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/buf.h"

typedef struct special {
    const char *text; /* the token's bytes (owned by the pt_bpe) */
    size_t len;
    uint32_t id;
} special;

struct pt_bpe_many {
    const pt_bpe *t;
    int threads;
    unsigned flags;
    pt_bpe_scratch **scratch; /* [threads] */
    special *sp;              /* added tokens, when PT_BPE_MANY_SPECIAL */
    size_t nsp;
};

void pt_bpe_ids_free(pt_bpe_ids *r) {
    free(r->ids);
    free(r->off);
    memset(r, 0, sizeof *r);
}

void pt_bpe_many_free(pt_bpe_many *m) {
    if (!m) return;
    for (int i = 0; i < m->threads; i++) pt_bpe_scratch_free(m->scratch[i]);
    free(m->scratch);
    free(m->sp);
    free(m);
}

pt_bpe_many *pt_bpe_many_new(const pt_bpe *t, int threads, unsigned flags, pt_err *e) {
    if (threads < 1) threads = 1;
    pt_bpe_many *m = pt_calloc(1, sizeof *m, e);
    if (!m) return NULL;
    m->t = t;
    m->flags = flags;
    m->scratch = pt_calloc((size_t)threads, sizeof *m->scratch, e);
    if (!m->scratch) return free(m), NULL;
    m->threads = threads;
    for (int i = 0; i < threads; i++)
        if (!(m->scratch[i] = pt_bpe_scratch_new())) {
            pt_fail(e, PT_ENOMEM, "out of memory (tokenizer scratch)");
            return pt_bpe_many_free(m), NULL;
        }
    if (flags & PT_BPE_MANY_SPECIAL) {
        uint32_t V = pt_bpe_vocab_size(t);
        for (int pass = 0; pass < 2; pass++) {
            size_t k = 0;
            for (uint32_t id = 0; id < V; id++) {
                size_t n;
                unsigned fl;
                const unsigned char *p = pt_bpe_token(t, id, &n, &fl);
                if (!p || !(fl & PT_BPE_TOKEN_ADDED)) continue;
                if (pass) m->sp[k] = (special){(const char *)p, n, id};
                k++;
            }
            if (!pass && k && !(m->sp = pt_calloc(k, sizeof *m->sp, e))) return pt_bpe_many_free(m), NULL;
            m->nsp = k;
        }
    }
    return m;
}

/* The leftmost (then longest) added token in s[0..n): its index, its start in *at; -1 if none. */
static long find_special(const pt_bpe_many *m, const char *s, size_t n, size_t *at) {
    long best = -1;
    size_t best_at = n;
    for (size_t i = 0; i < m->nsp; i++) {
        const special *sp = &m->sp[i];
        if (sp->len > n) continue;
        size_t lim = best_at < n && best_at + sp->len < n ? best_at + sp->len : n;
        const char *hit = memmem(s, lim, sp->text, sp->len);
        if (!hit) continue;
        size_t a = (size_t)(hit - s);
        if (a < best_at || (a == best_at && sp->len > m->sp[best].len)) best = (long)i, best_at = a;
    }
    *at = best_at;
    return best;
}

static size_t encode_doc(const pt_bpe_many *m, const char *s, size_t n, uint32_t *out, size_t cap,
                         pt_bpe_scratch *sc) {
    if (!m->nsp) return pt_bpe_encode(m->t, s, n, out, cap, sc);
    size_t total = 0;
    while (n) {
        size_t at;
        long k = find_special(m, s, n, &at);
        size_t c = pt_bpe_encode(m->t, s, at, out ? out + (total < cap ? total : cap) : NULL,
                                 total < cap ? cap - total : 0, sc);
        if (c == (size_t)-1) return c;
        total += c;
        if (k < 0) break;
        if (total < cap) out[total] = m->sp[k].id;
        total++;
        s += at + m->sp[k].len;
        n -= at + m->sp[k].len;
    }
    return total;
}

size_t pt_bpe_many_max_ids(const pt_bpe_many *m, size_t len) {
    /* every token is at least one byte; add_prefix_space may add one space per segment of
     * plain text, and added tokens cut the text into at most len segments */
    if (!pt_bpe_get_options(m->t).add_prefix_space) return len;
    return m->nsp ? 2 * len + 1 : len + 1;
}

size_t pt_bpe_many_encode_one(pt_bpe_many *m, const char *text, size_t len, uint32_t *out, size_t cap) {
    return encode_doc(m, text, len, out, cap, m->scratch[0]);
}

int pt_bpe_many_encode(pt_bpe_many *m, const pt_bpe_text *docs, size_t n, pt_bpe_ids *out, pt_err *e) {
    out->n = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += pt_bpe_many_max_ids(m, docs[i].len);
    if (out->cap_off < n + 1) {
        size_t *o = pt_realloc(out->off, (n + 1) * sizeof *o, e);
        if (!o) return PT_ENOMEM;
        out->off = o, out->cap_off = n + 1;
    }
    if (out->cap_ids < total || !out->ids) {
        uint32_t *p = pt_realloc(out->ids, (total ? total : 1) * sizeof *p, e);
        if (!p) return PT_ENOMEM;
        out->ids = p, out->cap_ids = total ? total : 1;
    }
    /* slot i holds the most ids document i can have; count[i] is how many it has */
    size_t *start = out->off;
    start[0] = 0;
    for (size_t i = 0; i < n; i++) start[i + 1] = start[i] + pt_bpe_many_max_ids(m, docs[i].len);
    int failed = 0;
    size_t *count = pt_malloc((n ? n : 1) * sizeof *count, e);
    if (!count) return PT_ENOMEM;
#pragma omp parallel for schedule(dynamic, 1) num_threads(m->threads) if (m->threads > 1 && n > 1)
    for (size_t i = 0; i < n; i++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        size_t c = encode_doc(m, docs[i].text, docs[i].len, out->ids + start[i], start[i + 1] - start[i],
                              m->scratch[tid]);
        if (c == (size_t)-1) failed = 1; /* benign race: any writer sets 1 */
        count[i] = c;
    }
    if (failed) {
        free(count);
        return pt_fail(e, PT_ENOMEM, "out of memory while encoding");
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        memmove(out->ids + w, out->ids + start[i], count[i] * sizeof *out->ids);
        start[i] = w;
        w += count[i];
    }
    start[n] = w;
    free(count);
    out->n = n;
    return PT_OK;
}

size_t pt_bpe_safe_cuts(const char *text, size_t len, size_t target, size_t *cuts, size_t max) {
    size_t k = 0, from = target;
    if (!target) return 0;
    while (k < max && from < len) {
        const char *nl = memchr(text + from, '\n', len - from);
        if (!nl) break;
        size_t at = (size_t)(nl - text) + 1;
        if (at >= len) break;
        unsigned char c = (unsigned char)text[at], b = at >= 2 ? (unsigned char)text[at - 2] : 0;
        if (c > ' ' && c < 0x7f && b > ' ' && b < 0x7f) {
            cuts[k++] = at;
            from = at + target;
        } else {
            from = at;
        }
    }
    return k;
}
