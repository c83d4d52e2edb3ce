/* train_count.c - the trainer's word counting: pieces of documents -> distinct words with
 * counts, one open-addressing map per thread (see train.h for the design; train_impl.h for
 * the shared structures). */
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/buf.h"
#include "base/hash.h"
#include "tok/pretok.h"
#include "tok/train_impl.h"

#define WMAP_SEED 0x77647320636e7473ull

void pt_train_wmap_free(pt_train_wmap *m) {
    free(m->slots);
    free(m->arena);
    free(m->hot);
    memset(m, 0, sizeof *m);
}

static int wmap_grow(pt_train_wmap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    pt_train_wslot *ns = pt_calloc(ncap, sizeof *ns, NULL);
    if (!ns) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        pt_train_wslot *s = &m->slots[i];
        if (!s->count) continue;
        size_t j = s->h & (ncap - 1);
        while (ns[j].count) j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

/* The first n <= 8 bytes of p, zero-padded. */
static inline uint64_t pack8(const void *p, size_t n) {
    uint64_t v = 0;
    memcpy(&v, p, n);
    return v;
}

int pt_train_wmap_add(pt_train_wmap *m, const void *p, size_t n, uint64_t h, uint64_t add) {
    if ((m->n + 1) * 2 > m->cap && wmap_grow(m)) return -1;
    size_t mask = m->cap - 1, j = h & mask;
    uint64_t key = n <= 8 ? pack8(p, n) : 0;
    for (;;) {
        pt_train_wslot *s = &m->slots[j];
        if (!s->count) break;
        if (s->h == h && s->len == n &&
            (n <= 8 ? s->inl == key : !memcmp(m->arena + s->off, p, n))) {
            s->count += add;
            return 0;
        }
        j = (j + 1) & mask;
    }
    pt_train_wslot *s = &m->slots[j];
    if (n <= 8) {
        s->inl = key;
    } else {
        if (m->alen + n > m->acap) {
            size_t nc = m->acap ? m->acap : 1 << 16;
            while (nc < m->alen + n) nc *= 2;
            char *na = pt_realloc(m->arena, nc, NULL);
            if (!na) return -1;
            m->arena = na;
            m->acap = nc;
        }
        memcpy(m->arena + m->alen, p, n);
        s->off = m->alen;
        m->alen += n;
    }
    s->h = h;
    s->count = add;
    s->len = (uint32_t)n;
    m->total += n;
    m->n++;
    return 0;
}

/* Short words (nearly all pieces) hash from one or two loads; longer ones with pt_hash64. */
uint64_t pt_train_word_hash(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t x;
    if (n >= 4 && n <= 8) {
        uint32_t lo, hi;
        memcpy(&lo, b, 4);
        memcpy(&hi, b + n - 4, 4);
        x = (uint64_t)hi << 32 | lo;
    } else if (n > 8 && n <= 16) {
        uint64_t lo, hi;
        memcpy(&lo, b, 8);
        memcpy(&hi, b + n - 8, 8);
        x = lo ^ pt_mix64(hi);
    } else if (n > 0 && n < 4) {
        x = (uint64_t)b[0] | (uint64_t)b[n >> 1] << 8 | (uint64_t)b[n - 1] << 16;
    } else if (n == 0) {
        x = 0;
    } else {
        return pt_hash64(p, n, WMAP_SEED);
    }
    return pt_mix64(x ^ (uint64_t)n << 56 ^ WMAP_SEED);
}

#define HOT_BITS 12

/* Moves a hot-cache entry's count into the map; -1 on OOM. */
static int hot_flush(pt_train_wmap *m, struct pt_train_hot *h) {
    if (!h->count) return 0;
    size_t n = (size_t)(h->key >> 56);
    uint64_t bytes = h->key & 0x00FFFFFFFFFFFFFFull;
    int rc = pt_train_wmap_add(m, &bytes, n, pt_train_word_hash(&bytes, n), h->count);
    h->count = 0;
    return rc;
}

static int hot_flush_all(pt_train_wmap *m) {
    if (!m->hot) return 0;
    for (size_t i = 0; i < (size_t)1 << HOT_BITS; i++)
        if (hot_flush(m, &m->hot[i])) return -1;
    return 0;
}

/* Counts the pieces of one document into m; -1 on OOM. */
static int count_doc(pt_train_wmap *m, const char *t, size_t n, uint64_t *pieces) {
    size_t pos = 0;
    uint64_t k = 0;
    if (!m->hot && !(m->hot = pt_calloc((size_t)1 << HOT_BITS, sizeof *m->hot, NULL))) return -1;
    while (pos < n) {
        size_t end = pt_pretok_next(t, n, pos), len = end - pos;
        k++;
        if (len <= 7) {
            uint64_t key = pack8(t + pos, len) | (uint64_t)len << 56;
            struct pt_train_hot *h = &m->hot[(key * 0x9E3779B97F4A7C15ull) >> (64 - HOT_BITS)];
            if (h->key != key) {
                if (hot_flush(m, h)) return -1;
                h->key = key;
            }
            h->count++;
            pos = end;
            continue;
        }
        if (len > UINT32_MAX) return -2;
        if (pt_train_wmap_add(m, t + pos, len, pt_train_word_hash(t + pos, len), 1)) return -1;
        pos = end;
    }
    *pieces += k;
    return 0;
}

int pt_bpe_trainer_add(pt_bpe_trainer *tr, size_t n, const char *const *texts, const size_t *lens,
                       pt_err *e) {
    if (tr->trained) return pt_fail(e, PT_EUSAGE, "tokenizer trainer: documents added after training");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int nt = tr->nthreads;
    volatile int failed = 0;
    uint64_t pieces = 0, bytes = 0;
#pragma omp parallel num_threads(nt) reduction(+ : pieces, bytes)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        pt_train_wmap *m = &tr->maps[tid];
#pragma omp for schedule(dynamic, 16)
        for (size_t i = 0; i < n; i++) {
            if (failed || (tr->cancel && *tr->cancel)) continue;
            int rc = count_doc(m, texts[i], lens[i], &pieces);
            if (rc) failed = rc;
            bytes += lens[i];
        }
        if (hot_flush_all(m)) failed = -1; /* the map holds every count between calls */
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    tr->st.count_s += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (failed == -1) return pt_fail(e, PT_ENOMEM, "tokenizer trainer: out of memory counting words");
    if (failed == -2) return pt_fail(e, PT_ELIMIT, "tokenizer trainer: a piece longer than 4 GiB");
    if (tr->cancel && *tr->cancel) return pt_fail(e, PT_EINTR, "tokenizer trainer: interrupted");
    tr->st.docs += n;
    tr->st.bytes += bytes;
    tr->st.pieces += pieces;
    return PT_OK;
}

int pt_train_merge_maps(pt_bpe_trainer *tr, pt_err *e) {
    pt_train_wmap *m0 = &tr->maps[0];
    for (int k = 1; k < tr->nthreads; k++) {
        pt_train_wmap *m = &tr->maps[k];
        for (size_t i = 0; i < m->cap; i++) {
            pt_train_wslot *s = &m->slots[i];
            if (!s->count) continue;
            if (pt_train_wmap_add(m0, pt_train_word(m, s), s->len, s->h, s->count))
                return pt_fail(e, PT_ENOMEM, "tokenizer trainer: out of memory merging word counts");
        }
        pt_train_wmap_free(m);
    }
    return PT_OK;
}
