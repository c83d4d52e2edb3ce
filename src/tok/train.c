/* train.c - the BPE merge loop of the trainer (design and rules in train.h). */
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/hash.h"
#include "tok/train_impl.h"

#define PAIR_EMPTY UINT64_MAX

/* ---- growable arrays ------------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) nc *= 2;
    void *np = pt_realloc(*p, nc * elem, NULL);
    if (!np) return -1;
    *p = np;
    *cap = nc;
    return 0;
}

/* ---- the training state ------------------------------------------------------------------ */

typedef struct entry { /* a queue entry: a pair, its count when pushed, the words it names */
    int64_t count;
    uint64_t pos_off;
    uint32_t pos_len, pair;
} entry;

typedef struct state {
    /* vocabulary: token bytes and bytes -> id */
    char *tok;
    size_t tok_len, tok_cap;
    uint64_t *tok_off; /* [nvocab + 1] */
    size_t tok_off_cap;
    uint32_t nvocab;
    uint64_t unindexed; /* specials (ids < 64) kept out of vmap: their text is no byte string */
    uint32_t *special_id; /* [n_specials] */
    uint32_t *vmap; /* open addressing: id + 1, 0 empty */
    size_t vmap_cap;
    /* words */
    size_t nw;
    uint32_t *sym;
    struct wmeta { /* together: a visit to a word touches one cache line of these */
        uint64_t off;  /* first symbol in sym */
        int64_t count; /* occurrences */
        uint32_t len;  /* symbols now */
    } *wm;
    /* pairs: key (left << 32 | right) -> index */
    uint64_t *pmap_key;
    uint32_t *pmap_idx;
    size_t pmap_cap;
    uint64_t *pkey;
    int64_t *pcount;
    uint64_t *pstamp; /* last word visit that recorded this pair */
    uint32_t *pgrp;   /* 1 + index into the step's touched list, 0 when untouched */
    size_t npairs, pcap;
    /* queue */
    entry *heap;
    size_t nheap, heap_cap;
    /* words of queue entries */
    uint32_t *pos;
    size_t npos, pos_cap;
    /* one step's (pair, word) records */
    uint32_t *ev_pair, *ev_word;
    size_t nev, ev_cap, ev_cap2;
    struct { uint32_t pair, n; uint64_t off; } *touched;
    size_t ntouched, touched_cap;
    uint64_t visit;
    /* merges in order: pair index and the id made */
    uint32_t *mpair, *mid;
    size_t nmerges, mcap, mcap2;
} state;

static void state_free(state *s) {
    free(s->tok);
    free(s->special_id);
    free(s->tok_off);
    free(s->vmap);
    free(s->sym);
    free(s->wm);
    free(s->pmap_key);
    free(s->pmap_idx);
    free(s->pkey);
    free(s->pcount);
    free(s->pstamp);
    free(s->pgrp);
    free(s->heap);
    free(s->pos);
    free(s->ev_pair);
    free(s->ev_word);
    free(s->touched);
    free(s->mpair);
    free(s->mid);
}

/* ---- vocabulary ------------------------------------------------------------------------- */

static const char *tok_bytes(const state *s, uint32_t id, size_t *n) {
    *n = (size_t)(s->tok_off[id + 1] - s->tok_off[id]);
    return s->tok + s->tok_off[id];
}

static uint64_t vhash(const void *p, size_t n) { return pt_hash64(p, n, 0x766f636162ull); }

/* The id of p[0..n), or UINT32_MAX. */
static uint32_t vocab_find(const state *s, const void *p, size_t n) {
    if (!s->vmap_cap) return UINT32_MAX;
    size_t mask = s->vmap_cap - 1, j = vhash(p, n) & mask;
    for (; s->vmap[j]; j = (j + 1) & mask) {
        size_t m;
        const char *q = tok_bytes(s, s->vmap[j] - 1, &m);
        if (m == n && !memcmp(p, q, n)) return s->vmap[j] - 1;
    }
    return UINT32_MAX;
}

static int vmap_put(uint32_t *map, size_t cap, uint64_t h, uint32_t id) {
    size_t j = h & (cap - 1);
    while (map[j]) j = (j + 1) & (cap - 1);
    map[j] = id + 1;
    return 0;
}

/* Appends p[0..n) as id nvocab (the caller checked it is new); findable by its bytes when
 * index is set. */
static int vocab_add(state *s, const void *p, size_t n, int index) {
    if (grow((void **)&s->tok, &s->tok_cap, s->tok_len + n, 1) ||
        grow((void **)&s->tok_off, &s->tok_off_cap, (size_t)s->nvocab + 2, sizeof(uint64_t)))
        return -1;
    if (((size_t)s->nvocab + 1) * 2 > s->vmap_cap) {
        size_t nc = s->vmap_cap ? s->vmap_cap * 2 : 1024;
        uint32_t *nm = pt_calloc(nc, sizeof *nm, NULL);
        if (!nm) return -1;
        for (uint32_t id = 0; id < s->nvocab; id++) {
            size_t m;
            const char *q = tok_bytes(s, id, &m);
            if (!(s->unindexed && id < 64 && (s->unindexed >> id & 1))) vmap_put(nm, nc, vhash(q, m), id);
        }
        free(s->vmap);
        s->vmap = nm;
        s->vmap_cap = nc;
    }
    memcpy(s->tok + s->tok_len, p, n);
    s->tok_off[s->nvocab] = s->tok_len;
    s->tok_len += n;
    s->tok_off[s->nvocab + 1] = s->tok_len;
    if (index)
        vmap_put(s->vmap, s->vmap_cap, vhash(p, n), s->nvocab);
    else
        s->unindexed |= 1ull << s->nvocab;
    s->nvocab++;
    return 0;
}

/* ---- pairs ------------------------------------------------------------------------------ */

static int pmap_rehash(state *s, size_t nc) {
    uint64_t *nk = pt_malloc(nc * sizeof *nk, NULL);
    uint32_t *ni = pt_malloc(nc * sizeof *ni, NULL);
    if (!nk || !ni) {
        free(nk);
        free(ni);
        return -1;
    }
    memset(nk, 0xFF, nc * sizeof *nk);
    for (size_t i = 0; i < s->npairs; i++) {
        size_t j = pt_mix64(s->pkey[i]) & (nc - 1);
        while (nk[j] != PAIR_EMPTY) j = (j + 1) & (nc - 1);
        nk[j] = s->pkey[i];
        ni[j] = (uint32_t)i;
    }
    free(s->pmap_key);
    free(s->pmap_idx);
    s->pmap_key = nk;
    s->pmap_idx = ni;
    s->pmap_cap = nc;
    return 0;
}

/* The index of pair (a, b), created with count 0 when new; UINT32_MAX on OOM. */
static uint32_t pair_get(state *s, uint32_t a, uint32_t b) {
    uint64_t key = (uint64_t)a << 32 | b;
    size_t mask = s->pmap_cap - 1, j = pt_mix64(key) & mask;
    for (; s->pmap_key[j] != PAIR_EMPTY; j = (j + 1) & mask)
        if (s->pmap_key[j] == key) return s->pmap_idx[j];
    if (s->npairs >= UINT32_MAX - 1) return UINT32_MAX;
    if (s->npairs + 1 > s->pcap) {
        size_t c = s->pcap, c2 = s->pcap, c3 = s->pcap, c4 = s->pcap;
        if (grow((void **)&s->pkey, &c, s->npairs + 1, sizeof(uint64_t)) ||
            grow((void **)&s->pcount, &c2, s->npairs + 1, sizeof(int64_t)) ||
            grow((void **)&s->pstamp, &c3, s->npairs + 1, sizeof(uint64_t)) ||
            grow((void **)&s->pgrp, &c4, s->npairs + 1, sizeof(uint32_t)))
            return UINT32_MAX;
        s->pcap = c;
    }
    uint32_t idx = (uint32_t)s->npairs++;
    s->pkey[idx] = key;
    s->pcount[idx] = 0;
    s->pstamp[idx] = 0;
    s->pgrp[idx] = 0;
    s->pmap_key[j] = key;
    s->pmap_idx[j] = idx;
    if (s->npairs * 2 > s->pmap_cap && pmap_rehash(s, s->pmap_cap * 2)) return UINT32_MAX;
    return idx;
}

/* ---- the queue: highest count first, ties to the smaller pair ------------------------------- */

static inline int before(const state *s, const entry *x, const entry *y) {
    if (x->count != y->count) return x->count > y->count;
    return s->pkey[x->pair] < s->pkey[y->pair];
}

static void sift_down(state *s, size_t i) {
    entry *h = s->heap, x = h[i];
    size_t n = s->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(s, &h[c + 1], &h[c])) c++;
        if (!before(s, &h[c], &x)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static int heap_push(state *s, entry x) {
    if (grow((void **)&s->heap, &s->heap_cap, s->nheap + 1, sizeof(entry))) return -1;
    entry *h = s->heap;
    size_t i = s->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(s, &x, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
    return 0;
}

static entry heap_pop(state *s) {
    entry top = s->heap[0];
    s->heap[0] = s->heap[--s->nheap];
    if (s->nheap) sift_down(s, 0);
    return top;
}

/* ---- setup -------------------------------------------------------------------------------- */

/* Specials, then the byte alphabet in code point order. */
static int setup_vocab(pt_bpe_trainer *tr, state *s, uint32_t byte_id[256], pt_err *e) {
    if (tr->n_specials > 64)
        return pt_fail(e, PT_EUSAGE, "tokenizer trainer: more than 64 special tokens");
    s->special_id = pt_calloc(tr->n_specials + 1, sizeof *s->special_id, e);
    if (!s->special_id) return PT_ENOMEM;
    for (size_t i = 0; i < tr->n_specials; i++) {
        /* Hugging Face compares vocabulary strings; a special that unmaps to bytes is the
         * same string as the byte-level token of those bytes. One that does not (a
         * character outside GPT-2's alphabet) equals no learned token: kept unindexed. */
        size_t j = 0;
        while (j < i && (tr->special_lens[j] != tr->special_lens[i] ||
                         memcmp(tr->specials[j], tr->specials[i], tr->special_lens[i])))
            j++;
        if (j < i) { /* a repeated special: once */
            s->special_id[i] = s->special_id[j];
            continue;
        }
        unsigned char *raw = pt_malloc(tr->special_lens[i] + 1, e);
        if (!raw) return PT_ENOMEM;
        ptrdiff_t m = pt_bpe_unmap(tr->specials[i], tr->special_lens[i], raw);
        s->special_id[i] = s->nvocab;
        int rc = m >= 0 ? vocab_add(s, raw, (size_t)m, 1)
                        : vocab_add(s, tr->specials[i], tr->special_lens[i], 0);
        free(raw);
        if (rc) return pt_fail(e, PT_ENOMEM, "tokenizer trainer: out of memory");
    }
    unsigned order[256];
    for (unsigned b = 0; b < 256; b++) order[b] = b;
    for (unsigned i = 1; i < 256; i++) /* insertion sort by code point */
        for (unsigned j = i; j > 0 && pt_bpe_byte_char(order[j - 1]) > pt_bpe_byte_char(order[j]); j--) {
            unsigned t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (unsigned i = 0; i < 256; i++) {
        unsigned char c = (unsigned char)order[i];
        uint32_t id = vocab_find(s, &c, 1);
        if (id == UINT32_MAX) {
            id = s->nvocab;
            if (vocab_add(s, &c, 1, 1)) return pt_fail(e, PT_ENOMEM, "tokenizer trainer: out of memory");
        }
        byte_id[c] = id;
    }
    return PT_OK;
}

static int oom(pt_err *e) { return pt_fail(e, PT_ENOMEM, "tokenizer trainer: out of memory"); }

/* Words as symbol arrays; pair counts; one queue entry per pair with every word holding it. */
static int setup_words(pt_bpe_trainer *tr, state *s, const uint32_t byte_id[256], pt_err *e) {
    pt_train_wmap *m = &tr->maps[0];
    uint64_t total = m->total;
    s->nw = m->n;
    s->sym = pt_malloc((total ? total : 1) * sizeof *s->sym, NULL);
    s->wm = pt_malloc((s->nw + 1) * sizeof *s->wm, NULL);
    if (!s->sym || !s->wm) return oom(e);
    size_t w = 0;
    uint64_t off = 0;
    for (size_t i = 0; i < m->cap; i++) {
        pt_train_wslot *sl = &m->slots[i];
        if (!sl->count) continue;
        const unsigned char *p = (const unsigned char *)pt_train_word(m, sl);
        s->wm[w].off = off;
        s->wm[w].len = sl->len;
        s->wm[w].count = (int64_t)sl->count;
        for (uint32_t k = 0; k < sl->len; k++) s->sym[off + k] = byte_id[p[k]];
        off += sl->len;
        w++;
    }
    pt_train_wmap_free(m);
    if (pmap_rehash(s, 1 << 16)) return oom(e);
    /* pass 1: counts, and the number of words holding each pair */
    uint32_t *pidx = pt_malloc((total ? total : 1) * sizeof *pidx, NULL);
    if (!pidx) return oom(e);
    uint32_t *nwords = NULL;
    size_t nwords_cap = 0;
    int rc = PT_OK;
    for (w = 0; w < s->nw && !rc; w++) {
        const uint32_t *q = s->sym + s->wm[w].off;
        for (uint32_t k = 0; k + 1 < s->wm[w].len; k++) {
            size_t before_n = s->npairs;
            uint32_t ix = pair_get(s, q[k], q[k + 1]);
            if (ix == UINT32_MAX ||
                grow((void **)&nwords, &nwords_cap, s->npairs, sizeof *nwords)) {
                rc = oom(e);
                break;
            }
            if (s->npairs != before_n) nwords[ix] = 0; /* new */
            pidx[s->wm[w].off + k] = ix;
            s->pcount[ix] += s->wm[w].count;
            if (s->pstamp[ix] != w + 1) s->pstamp[ix] = w + 1, nwords[ix]++;
        }
    }
    /* pass 2: the word lists, one after another in pos */
    if (!rc && !(s->pos = pt_malloc((s->npairs + 1) * sizeof(uint32_t) + total * sizeof(uint32_t), NULL)))
        rc = oom(e);
    uint64_t *start = NULL;
    if (!rc && !(start = pt_malloc((s->npairs + 1) * sizeof *start, NULL))) rc = oom(e);
    if (!rc) {
        s->pos_cap = s->npairs + 1 + total;
        uint64_t acc = 0;
        for (size_t i = 0; i < s->npairs; i++) start[i] = acc, acc += nwords[i], s->pstamp[i] = 0;
        s->npos = acc;
        for (w = 0; w < s->nw; w++)
            for (uint32_t k = 0; k + 1 < s->wm[w].len; k++) {
                uint32_t ix = pidx[s->wm[w].off + k];
                if (s->pstamp[ix] != w + 1) s->pstamp[ix] = w + 1, s->pos[start[ix]++] = (uint32_t)w;
            }
        s->visit = s->nw + 1;
        if (grow((void **)&s->heap, &s->heap_cap, s->npairs, sizeof(entry))) rc = oom(e);
        for (size_t i = 0; !rc && i < s->npairs; i++) {
            entry x = {s->pcount[i], start[i] - nwords[i], nwords[i], (uint32_t)i};
            s->heap[s->nheap++] = x;
        }
        for (size_t i = s->nheap / 2; !rc && i-- > 0;) sift_down(s, i);
    }
    free(start);
    free(nwords);
    free(pidx);
    return rc;
}

/* ---- one merge --------------------------------------------------------------------------- */

/* Adds d * count of word w to pair (a, b); records (pair, w) when d > 0. */
static int change(state *s, uint32_t a, uint32_t b, int d, uint32_t w) {
    uint32_t ix = pair_get(s, a, b);
    if (ix == UINT32_MAX) return -1;
    s->pcount[ix] += d * s->wm[w].count;
    if (d > 0 && s->pstamp[ix] != s->visit) {
        s->pstamp[ix] = s->visit;
        if (s->nev + 1 > s->ev_cap) {
            size_t c2 = s->ev_cap;
            if (grow((void **)&s->ev_pair, &s->ev_cap, s->nev + 1, sizeof(uint32_t)) ||
                grow((void **)&s->ev_word, &c2, s->nev + 1, sizeof(uint32_t)))
                return -1;
        }
        s->ev_pair[s->nev] = ix;
        s->ev_word[s->nev++] = w;
    }
    return 0;
}

/* Replaces every (a, b) in word w, left to right, by c, as Hugging Face's Word::merge does. */
static int merge_word(state *s, uint32_t w, uint32_t a, uint32_t b, uint32_t c) {
    uint32_t *q = s->sym + s->wm[w].off, n = s->wm[w].len, r = 0, o = 0;
    s->visit++;
    while (r < n) {
        if (q[r] == a && r + 1 < n && q[r + 1] == b) {
            if (o > 0 && (change(s, q[o - 1], a, -1, w) || change(s, q[o - 1], c, 1, w))) return -1;
            q[o++] = c;
            r += 2;
            if (r < n && (change(s, b, q[r], -1, w) || change(s, c, q[r], 1, w))) return -1;
        } else {
            q[o++] = q[r++];
        }
    }
    s->wm[w].len = o;
    return 0;
}

/* Turns the step's records into one queue entry per new pair. */
static int push_new(state *s) {
    s->ntouched = 0;
    for (size_t i = 0; i < s->nev; i++) {
        uint32_t ix = s->ev_pair[i];
        if (!s->pgrp[ix]) {
            if (grow((void **)&s->touched, &s->touched_cap, s->ntouched + 1, sizeof *s->touched))
                return -1;
            s->touched[s->ntouched].pair = ix;
            s->touched[s->ntouched].n = 0;
            s->pgrp[ix] = (uint32_t)++s->ntouched;
        }
        s->touched[s->pgrp[ix] - 1].n++;
    }
    if (grow((void **)&s->pos, &s->pos_cap, s->npos + s->nev, sizeof(uint32_t))) return -1;
    uint64_t acc = s->npos;
    for (size_t t = 0; t < s->ntouched; t++) s->touched[t].off = acc, acc += s->touched[t].n;
    for (size_t i = 0; i < s->nev; i++) s->pos[s->touched[s->pgrp[s->ev_pair[i]] - 1].off++] = s->ev_word[i];
    for (size_t t = 0; t < s->ntouched; t++) {
        uint32_t ix = s->touched[t].pair, n = s->touched[t].n;
        s->pgrp[ix] = 0;
        if (s->pcount[ix] > 0) {
            entry x = {s->pcount[ix], s->touched[t].off - n, n, ix};
            if (heap_push(s, x)) return -1;
        }
    }
    s->npos = acc;
    s->nev = 0;
    return 0;
}

static int record_merge(state *s, uint32_t pair, uint32_t id) {
    size_t c2 = s->mcap;
    if (grow((void **)&s->mpair, &s->mcap, s->nmerges + 1, sizeof(uint32_t)) ||
        grow((void **)&s->mid, &c2, s->nmerges + 1, sizeof(uint32_t)))
        return -1;
    s->mpair[s->nmerges] = pair;
    s->mid[s->nmerges++] = id;
    return 0;
}

static int learn(pt_bpe_trainer *tr, state *s, pt_err *e) {
    char *buf = NULL;
    size_t buf_cap = 0;
    int rc = PT_OK;
    uint64_t steps = 0;
    while (s->nvocab < tr->vocab_size && s->nheap) {
        if ((++steps & 1023) == 0 && tr->cancel && *tr->cancel) {
            rc = pt_fail(e, PT_EINTR, "tokenizer trainer: interrupted");
            break;
        }
        entry top = heap_pop(s);
        int64_t cur = s->pcount[top.pair];
        if (top.count != cur) {
            top.count = cur;
            if (heap_push(s, top)) { rc = oom(e); break; }
            continue;
        }
        if (top.count < 1 || tr->min_frequency > (uint64_t)top.count) break;
        uint32_t a = (uint32_t)(s->pkey[top.pair] >> 32), b = (uint32_t)s->pkey[top.pair];
        size_t na, nb;
        const char *pa = tok_bytes(s, a, &na), *pb = tok_bytes(s, b, &nb);
        if (grow((void **)&buf, &buf_cap, na + nb, 1)) { rc = oom(e); break; }
        memcpy(buf, pa, na);
        memcpy(buf + na, pb, nb);
        uint32_t id = vocab_find(s, buf, na + nb);
        if (id == UINT32_MAX) {
            id = s->nvocab;
            if (vocab_add(s, buf, na + nb, 1)) { rc = oom(e); break; }
        }
        if (record_merge(s, top.pair, id)) { rc = oom(e); break; }
        const uint32_t *ws = s->pos + top.pos_off;
        for (uint32_t k = 0; k < top.pos_len && !rc; k++) {
            /* the words lie anywhere: fetch their records ahead, then their symbols */
            if (k + 16 < top.pos_len) __builtin_prefetch(&s->wm[ws[k + 16]]);
            if (k + 4 < top.pos_len) __builtin_prefetch(s->sym + s->wm[ws[k + 4]].off);
            if (merge_word(s, ws[k], a, b, id)) rc = oom(e);
        }
        if (!rc && push_new(s)) rc = oom(e);
        if (rc) break;
    }
    free(buf);
    return rc;
}

/* ---- the result ------------------------------------------------------------------------- */

static int build_bpe(pt_bpe_trainer *tr, state *s, pt_bpe **out, pt_err *e) {
    pt_bpe *t = pt_bpe_new(e);
    if (!t) return PT_ENOMEM;
    int rc = PT_OK;
    uint32_t nspecial_ids = 0;
    for (size_t i = 0; i < tr->n_specials && !rc; i++) {
        uint32_t id = s->special_id[i];
        if (id < nspecial_ids) continue; /* a repeated special */
        nspecial_ids = id + 1;
        if (!(s->unindexed >> id & 1)) { /* its bytes are a byte-level token too */
            size_t n;
            const char *p = tok_bytes(s, id, &n);
            rc = pt_bpe_add_token(t, id, p, n, 0, e);
        }
        if (!rc) rc = pt_bpe_add_special(t, id, tr->specials[i], tr->special_lens[i], 1, e);
    }
    for (uint32_t id = nspecial_ids; id < s->nvocab && !rc; id++) {
        size_t n;
        const char *p = tok_bytes(s, id, &n);
        rc = pt_bpe_add_token(t, id, p, n, 0, e);
    }
    /* a pair merged twice keeps its later rank only */
    unsigned char *keep = rc ? NULL : pt_calloc(s->nmerges + 1, 1, e);
    if (!rc && !keep) rc = PT_ENOMEM;
    if (!rc) {
        for (size_t i = 0; i < s->npairs; i++) s->pstamp[i] = 0;
        for (size_t r = s->nmerges; r-- > 0;)
            if (!s->pstamp[s->mpair[r]]) s->pstamp[s->mpair[r]] = 1, keep[r] = 1;
        for (size_t r = 0; r < s->nmerges && !rc; r++) {
            if (!keep[r]) continue;
            uint64_t key = s->pkey[s->mpair[r]];
            rc = pt_bpe_add_merge(t, (uint32_t)(key >> 32), (uint32_t)key, e);
        }
    }
    free(keep);
    if (!rc) rc = pt_bpe_finish(t, e);
    if (rc) {
        pt_err_prefix(e, "tokenizer trainer");
        pt_bpe_free(t);
        return rc;
    }
    *out = t;
    return PT_OK;
}

/* ---- public ----------------------------------------------------------------------------- */

int pt_bpe_trainer_new(pt_bpe_trainer **out, const pt_bpe_train_opts *o, pt_err *e) {
    *out = NULL;
    if (!o->vocab_size) return pt_fail(e, PT_EUSAGE, "tokenizer trainer: vocabulary size 0");
    if (o->vocab_size > PT_BPE_MAX_IDS)
        return pt_fail(e, PT_EUSAGE, "tokenizer trainer: vocabulary size %u above %u", o->vocab_size,
                       PT_BPE_MAX_IDS);
    for (size_t i = 0; i < o->n_specials; i++)
        if (!o->specials[i] || !o->specials[i][0])
            return pt_fail(e, PT_EUSAGE, "tokenizer trainer: empty special token");
    pt_bpe_trainer *tr = pt_calloc(1, sizeof *tr, e);
    if (!tr) return PT_ENOMEM;
    tr->vocab_size = o->vocab_size;
    tr->min_frequency = o->min_frequency;
    tr->nthreads = o->threads > 0 ? o->threads : 1;
    tr->cancel = o->cancel;
    tr->maps = pt_calloc((size_t)tr->nthreads, sizeof *tr->maps, e);
    tr->specials = pt_calloc(o->n_specials + 1, sizeof *tr->specials, e);
    tr->special_lens = pt_calloc(o->n_specials + 1, sizeof *tr->special_lens, e);
    if (!tr->maps || !tr->specials || !tr->special_lens) {
        pt_bpe_trainer_free(tr);
        return PT_ENOMEM;
    }
    tr->n_specials = o->n_specials;
    for (size_t i = 0; i < o->n_specials; i++) {
        tr->special_lens[i] = strlen(o->specials[i]);
        if (!(tr->specials[i] = strdup(o->specials[i]))) {
            pt_bpe_trainer_free(tr);
            return pt_fail(e, PT_ENOMEM, "tokenizer trainer: out of memory");
        }
    }
    *out = tr;
    return PT_OK;
}

int pt_bpe_trainer_run(pt_bpe_trainer *tr, pt_bpe **out, pt_err *e) {
    *out = NULL;
    if (tr->trained) return pt_fail(e, PT_EUSAGE, "tokenizer trainer: run twice");
    tr->trained = 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    PT_TRY(pt_train_merge_maps(tr, e));
    tr->st.words = tr->maps[0].n;
    state s = {0};
    uint32_t byte_id[256];
    int rc = setup_vocab(tr, &s, byte_id, e);
    if (!rc) rc = setup_words(tr, &s, byte_id, e);
    if (!rc) rc = learn(tr, &s, e);
    if (!rc) rc = build_bpe(tr, &s, out, e);
    tr->st.merges = (uint32_t)s.nmerges;
    tr->st.vocab = s.nvocab;
    state_free(&s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    tr->st.train_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return rc;
}

void pt_bpe_trainer_stats(const pt_bpe_trainer *tr, pt_bpe_train_stats *st) { *st = tr->st; }

void pt_bpe_trainer_free(pt_bpe_trainer *tr) {
    if (!tr) return;
    if (tr->maps)
        for (int k = 0; k < tr->nthreads; k++) pt_train_wmap_free(&tr->maps[k]);
    free(tr->maps);
    if (tr->specials)
        for (size_t i = 0; i < tr->n_specials; i++) free(tr->specials[i]);
    free(tr->specials);
    free(tr->special_lens);
    free(tr);
}
