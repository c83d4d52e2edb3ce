/* neardup.c - see neardup.h. */
#include "corpus/neardup.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"

#define NPART 16           /* partitions per band: the top 4 bits of the band hash */
#define BLOCK_RECS 2048    /* records per spill block (24 KiB) */
#define INDEX_MIN 32       /* representatives from which a cluster uses the prefix-filter index */

typedef struct __attribute__((packed)) rec {
    uint64_t h;   /* band hash */
    uint32_t doc;
} rec;

typedef struct block {
    uint64_t off;   /* in the spill file */
    uint32_t count; /* records */
    uint16_t band, part;
} block;

struct pt_neardup {
    pt_minhash_params p;
    int fd;
    char *path;          /* the spill file's (unlinked) name, for messages */
    uint64_t off;        /* bytes written */
    rec *buf;            /* (bands, NPART, BLOCK_RECS) blocks being filled */
    uint32_t *fill;      /* (bands, NPART) records in each */
    uint64_t *count;     /* (bands, NPART) records written in all */
    block *blocks;       /* (nblocks) the spill file's index */
    size_t nblocks, capblocks;
    int64_t last_doc;    /* -1 before the first add */
    uint64_t signed_docs;
    uint32_t index_min;
    int ran;
};

int pt_neardup_open(pt_neardup **ndp, const pt_minhash_params *p, const char *tmpdir, pt_err *e) {
    *ndp = NULL;
    PT_TRY(pt_minhash_params_check(p, e));
    pt_neardup *nd = pt_calloc(1, sizeof *nd, e);
    if (!nd) return PT_ENOMEM;
    nd->p = *p, nd->fd = -1, nd->last_doc = -1, nd->index_min = INDEX_MIN;
    size_t nbp = (size_t)p->bands * NPART;
    nd->path = pt_path_join(tmpdir, "neardup-XXXXXX");
    nd->buf = pt_malloc(nbp * BLOCK_RECS * sizeof(rec), e);
    nd->fill = pt_calloc(nbp, sizeof *nd->fill, e);
    nd->count = pt_calloc(nbp, sizeof *nd->count, e);
    if (!nd->path || !nd->buf || !nd->fill || !nd->count) {
        pt_neardup_close(nd);
        return pt_fail(e, PT_ENOMEM, "out of memory");
    }
    nd->fd = mkstemp(nd->path);
    if (nd->fd < 0) {
        int rc = pt_fail_errno(e, PT_EIO, "%s: cannot create the near-dedup spill file", tmpdir);
        pt_neardup_close(nd);
        return rc;
    }
    unlink(nd->path); /* gone with the descriptor, even after a crash */
    *ndp = nd;
    return PT_OK;
}

void pt_neardup_set_index_min(pt_neardup *nd, uint32_t members) { nd->index_min = members; }

void pt_neardup_close(pt_neardup *nd) {
    if (!nd) return;
    if (nd->fd >= 0) close(nd->fd);
    free(nd->path), free(nd->buf), free(nd->fill), free(nd->count), free(nd->blocks);
    free(nd);
}

static int flush_block(pt_neardup *nd, size_t bp, pt_err *e) {
    uint32_t n = nd->fill[bp];
    if (!n) return PT_OK;
    if (nd->nblocks == nd->capblocks) {
        size_t c = nd->capblocks ? 2 * nd->capblocks : 1024;
        block *b = pt_realloc(nd->blocks, c * sizeof *b, e);
        if (!b) return PT_ENOMEM;
        nd->blocks = b, nd->capblocks = c;
    }
    const char *p = (const char *)(nd->buf + bp * BLOCK_RECS);
    size_t left = (size_t)n * sizeof(rec);
    uint64_t off = nd->off;
    while (left) {
        ssize_t w = pwrite(nd->fd, p, left, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return pt_fail_errno(e, PT_EIO, "%s: writing the near-dedup spill file", nd->path);
        p += w, left -= (size_t)w, off += (uint64_t)w;
    }
    nd->blocks[nd->nblocks++] = (block){nd->off, n, (uint16_t)(bp / NPART), (uint16_t)(bp % NPART)};
    nd->off = off;
    nd->count[bp] += n;
    nd->fill[bp] = 0;
    return PT_OK;
}

int pt_neardup_add(pt_neardup *nd, uint32_t doc, const uint32_t *sig, pt_err *e) {
    if ((int64_t)doc <= nd->last_doc)
        return pt_fail(e, PT_EUSAGE, "near dedup: document %u added after document %lld (indexes must increase)",
                       doc, (long long)nd->last_doc);
    if (nd->ran) return pt_fail(e, PT_EUSAGE, "near dedup: document %u added after the run", doc);
    int r = nd->p.rows;
    for (int j = 0; j < nd->p.bands; j++) {
        uint64_t h = pt_hash64(sig + (size_t)j * r, sizeof(uint32_t) * (size_t)r, (uint64_t)j);
        size_t bp = (size_t)j * NPART + (size_t)(h >> 60);
        nd->buf[bp * BLOCK_RECS + nd->fill[bp]] = (rec){h, doc};
        if (++nd->fill[bp] == BLOCK_RECS) PT_TRY(flush_block(nd, bp, e));
    }
    nd->last_doc = doc;
    nd->signed_docs++;
    return PT_OK;
}

/* ---- banding: sort each band partition, union equal hashes ---------------------------- */

static int cmp_rec(const void *x, const void *y) {
    const rec *a = x, *b = y;
    if (a->h != b->h) return a->h < b->h ? -1 : 1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

/* Sorts one partition's n records (in src) by hash into dst: a counting scatter on the
 * `bits` hash bits below the partition's 4, then a sort inside each bucket (a handful of
 * records on average; a bucket holding a big cluster's equal hashes goes to qsort). */
#define SORT_MAX_BITS 20
static void sort_partition(const rec *src, rec *dst, size_t n, uint32_t *cnt /* 2^SORT_MAX_BITS + 1 */) {
    int bits = 8;
    while (bits < SORT_MAX_BITS && ((size_t)1 << (bits + 3)) < n) bits++;
    size_t nb = (size_t)1 << bits;
    int shift = 60 - bits;
    memset(cnt, 0, (nb + 1) * sizeof *cnt);
    for (size_t i = 0; i < n; i++) cnt[((src[i].h >> shift) & (nb - 1)) + 1]++;
    for (size_t d = 0; d < nb; d++) cnt[d + 1] += cnt[d];
    for (size_t i = 0; i < n; i++) dst[cnt[(src[i].h >> shift) & (nb - 1)]++] = src[i];
    /* cnt[d] is now the end of bucket d */
    for (size_t d = 0, start = 0; d < nb; start = cnt[d++]) {
        size_t m = cnt[d] - start;
        rec *r = dst + start;
        if (m > 32) {
            qsort(r, m, sizeof *r, cmp_rec);
        } else {
            for (size_t i = 1; i < m; i++) {
                rec x = r[i];
                size_t j = i;
                while (j > 0 && r[j - 1].h > x.h) r[j] = r[j - 1], j--;
                r[j] = x;
            }
        }
    }
}

/* Every link points to a smaller index, so a root is its component's first document. */
static inline uint32_t uf_find(uint32_t *par, uint32_t x) {
    while (par[x] != x) {
        par[x] = par[par[x]];
        x = par[x];
    }
    return x;
}

static inline void uf_union(uint32_t *par, uint32_t a, uint32_t b) {
    a = uf_find(par, a), b = uf_find(par, b);
    if (a < b) par[b] = a;
    else if (b < a) par[a] = b;
}

static int band_unions(pt_neardup *nd, uint32_t *par, uint64_t *pairs, pt_err *e) {
    uint64_t most = 0;
    for (size_t bp = 0; bp < (size_t)nd->p.bands * NPART; bp++)
        if (nd->count[bp] > most) most = nd->count[bp];
    if (!most) return PT_OK;
    rec *a = pt_malloc(most * sizeof(rec), e), *tmp = pt_malloc(most * sizeof(rec), e);
    uint32_t *cnt = pt_malloc(sizeof(uint32_t) * ((1u << SORT_MAX_BITS) + 1), e);
    int rc = PT_OK;
    if (!a || !tmp || !cnt) {
        rc = PT_ENOMEM;
        goto out;
    }
    for (int band = 0; band < nd->p.bands && !rc; band++)
        for (int part = 0; part < NPART && !rc; part++) {
            size_t n = 0;
            for (size_t k = 0; k < nd->nblocks; k++) {
                const block *b = &nd->blocks[k];
                if (b->band != band || b->part != part) continue;
                size_t want = (size_t)b->count * sizeof(rec), got = 0;
                while (got < want) {
                    ssize_t r = pread(nd->fd, (char *)(tmp + n) + got, want - got, (off_t)(b->off + got));
                    if (r < 0 && errno == EINTR) continue;
                    if (r <= 0) {
                        rc = r < 0 ? pt_fail_errno(e, PT_EIO, "%s: reading the near-dedup spill file", nd->path)
                                   : pt_fail(e, PT_EIO, "%s: near-dedup spill file truncated", nd->path);
                        break;
                    }
                    got += (size_t)r;
                }
                if (rc) break;
                n += b->count;
            }
            if (rc) break;
            sort_partition(tmp, a, n, cnt);
            for (size_t i = 0; i < n;) {
                size_t j = i + 1;
                while (j < n && a[j].h == a[i].h) uf_union(par, a[i].doc, a[j].doc), j++;
                *pairs += (uint64_t)(j - i) * (j - i - 1) / 2;
                i = j;
            }
        }
out:
    free(a), free(tmp), free(cnt);
    return rc;
}

/* ---- reduction: representatives by exact Jaccard ----------------------------------------- */

/* uint64 -> uint32 open-addressing map; keys are token hashes, never 0 (0 = empty). */
typedef struct map {
    uint64_t *key;
    uint32_t *val;
    size_t cap, n;
} map;

static void map_free(map *m) {
    free(m->key), free(m->val);
    memset(m, 0, sizeof *m);
}

static void map_clear(map *m) {
    if (m->cap > (1u << 16) && m->n * 8 < m->cap) map_free(m); /* shrink after a giant cluster */
    else if (m->n) memset(m->key, 0, m->cap * sizeof *m->key);
    m->n = 0;
}

static inline size_t map_pos(const map *m, uint64_t k) {
    size_t j = (size_t)(k >> 5) & (m->cap - 1);
    while (m->key[j] && m->key[j] != k) j = (j + 1) & (m->cap - 1);
    return j;
}

static uint32_t map_get(const map *m, uint64_t k) {
    if (!m->cap) return 0;
    size_t j = map_pos(m, k);
    return m->key[j] ? m->val[j] : 0;
}

/* The value slot of k, inserted as 0 if absent; NULL on out of memory. */
static uint32_t *map_slot(map *m, uint64_t k) {
    if (2 * (m->n + 1) > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        map g = {calloc(cap, sizeof(uint64_t)), malloc(cap * sizeof(uint32_t)), cap, m->n};
        if (!g.key || !g.val) {
            free(g.key), free(g.val);
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->key[i]) {
                size_t j = map_pos(&g, m->key[i]);
                g.key[j] = m->key[i], g.val[j] = m->val[i];
            }
        free(m->key), free(m->val);
        *m = g;
    }
    size_t j = map_pos(m, k);
    if (!m->key[j]) m->key[j] = k, m->val[j] = 0, m->n++;
    return &m->val[j];
}

typedef struct tokfreq {
    uint64_t h;
    uint32_t f; /* documents of the cluster holding the token */
} tokfreq;

static int cmp_tokfreq(const void *x, const void *y) {
    const tokfreq *a = x, *b = y;
    if (a->f != b->f) return a->f < b->f ? -1 : 1;
    return a->h < b->h ? -1 : a->h > b->h;
}

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

/* A thread's working memory, reused from cluster to cluster. */
typedef struct reducer {
    pt_minhash_scratch *mh;
    uint64_t *pool;              /* (npool) the representatives' token sets, concatenated */
    size_t npool, cappool;
    size_t *rstart;              /* (nreps) offset of each representative's set in pool */
    uint32_t *rlen, *rdoc, *stamp; /* (nreps) its size, document, last member that met it */
    size_t nreps, capreps;
    map freq;                    /* indexed mode: token -> cluster document frequency */
    map post;                    /* token -> head of its posting list (1-based, 0 = none) */
    uint32_t *pnext, *prep;      /* (npost + 1) posting list links and representatives */
    size_t npost, cappost;
    uint32_t *cand;              /* (capreps) candidate representatives of a member */
    tokfreq *ord;                /* (capord) a member's tokens, rarest first */
    size_t capord;
    uint64_t checks;
} reducer;

static void reducer_free(reducer *R) {
    pt_minhash_scratch_free(R->mh);
    free(R->pool), free(R->rstart), free(R->rlen), free(R->rdoc), free(R->stamp), free(R->cand);
    free(R->pnext), free(R->prep), free(R->ord);
    map_free(&R->freq), map_free(&R->post);
}

/* Grows *p (of element size sz, capacity *cap) to hold need elements; -1 on OOM. */
static int grow(void **p, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q) return -1;
    *p = q, *cap = c;
    return 0;
}

static int grow_reps(reducer *R, size_t need) {
    if (need <= R->capreps) return 0;
    size_t c = R->capreps ? 2 * R->capreps : 256;
    while (c < need) c *= 2;
    void **arr[] = {(void **)&R->rstart, (void **)&R->rlen, (void **)&R->rdoc, (void **)&R->stamp, (void **)&R->cand};
    size_t sz[] = {sizeof(size_t), 4, 4, 4, 4};
    for (int i = 0; i < 5; i++) {
        void *q = realloc(*arr[i], c * sz[i]);
        if (!q) return -1;
        *arr[i] = q;
    }
    R->capreps = c;
    return 0;
}

/* J(A,B) <= min/max, and that bound is computed the way the Jaccard is (one correctly
 * rounded division), so skipping when it is below t never skips a match. */
static inline int size_may_match(size_t a, size_t b, double t) {
    return a < b ? (double)a / (double)b >= t : (double)b / (double)a >= t;
}

/* Tokens that two sets with J >= t must share one of, ordered the same way: |S| - o + 1 with
 * o a lower bound on |A n B| (floor(t |S|), lowered by a hair against rounding). */
static inline size_t prefix_len(size_t n, double t) {
    size_t o = (size_t)floor(t * (double)n * (1 - 1e-12));
    if (o < 1) o = 1;
    return o > n ? 0 : n - o + 1;
}

typedef struct reduce_ctx {
    pt_neardup_getter get;
    void *ctx;
    double t;
    uint8_t *drop;
    uint32_t *near;
} reduce_ctx;

/* Fetches doc's token set; PT_EFORMAT (the getter failed) or PT_ENOMEM, *bad = doc. */
static int member_tokens(reducer *R, const reduce_ctx *X, uint32_t doc, const uint64_t **T, size_t *nt,
                         uint32_t *bad) {
    size_t len = 0;
    const char *text = X->get(X->ctx, doc, &len);
    if (!text) return *bad = doc, PT_EFORMAT;
    *nt = pt_minhash_tokens(text, len, R->mh, T);
    if (*nt == (size_t)-1) return *bad = doc, PT_ENOMEM;
    return PT_OK;
}

/* Orders T's tokens rarest first (by cluster frequency, then hash) into R->ord. */
static int order_tokens(reducer *R, const uint64_t *T, size_t nt) {
    if (grow((void **)&R->ord, &R->capord, nt, sizeof(tokfreq))) return PT_ENOMEM;
    for (size_t i = 0; i < nt; i++) R->ord[i] = (tokfreq){T[i], map_get(&R->freq, T[i])};
    if (nt > 1) qsort(R->ord, nt, sizeof(tokfreq), cmp_tokfreq);
    return PT_OK;
}

/* Adds representative r's prefix (the first pl tokens of R->ord) to the posting lists. */
static int index_rep(reducer *R, uint32_t r, size_t pl) {
    size_t cp = R->cappost;
    if (grow((void **)&R->pnext, &cp, R->npost + pl + 1, 4) || grow((void **)&R->prep, &R->cappost, R->npost + pl + 1, 4))
        return PT_ENOMEM;
    for (size_t i = 0; i < pl; i++) {
        uint32_t *head = map_slot(&R->post, R->ord[i].h);
        if (!head) return PT_ENOMEM;
        size_t p = ++R->npost;
        R->pnext[p] = *head, R->prep[p] = r, *head = (uint32_t)p;
    }
    return PT_OK;
}

/* Switches a cluster to the prefix-filter index: counts the token frequencies of all its
 * members (the rarest-first order), then indexes the representatives kept so far. */
static int start_index(reducer *R, const reduce_ctx *X, const uint32_t *mem, size_t m, uint32_t *bad) {
    const uint64_t *T;
    size_t nt;
    map_clear(&R->freq), map_clear(&R->post);
    R->npost = 0;
    for (size_t k = 0; k < m; k++) {
        PT_TRY(member_tokens(R, X, mem[k], &T, &nt, bad));
        for (size_t i = 0; i < nt; i++) {
            uint32_t *v = map_slot(&R->freq, T[i]);
            if (!v) return *bad = mem[k], PT_ENOMEM;
            (*v)++;
        }
    }
    for (size_t r = 0; r < R->nreps; r++)
        if (order_tokens(R, R->pool + R->rstart[r], R->rlen[r]) ||
            index_rep(R, (uint32_t)r, prefix_len(R->rlen[r], X->t)))
            return *bad = R->rdoc[r], PT_ENOMEM;
    return PT_OK;
}

/* Walks the cluster's m members (in document order), keeping representatives. Starts with a
 * scan of the representatives (filtered by size) and switches to the index once there are
 * index_min of them: near-identical clusters (one representative) never pay for it. */
static int reduce_cluster(reducer *R, const reduce_ctx *X, const uint32_t *mem, size_t m, uint32_t index_min,
                          uint32_t *bad) {
    const double t = X->t;
    const uint64_t *T;
    size_t nt;
    int indexed = 0;
    R->nreps = R->npool = 0;
    for (size_t k = 0; k < m; k++) {
        uint32_t doc = mem[k];
        if (!indexed && R->nreps >= index_min) {
            PT_TRY(start_index(R, X, mem, m, bad));
            indexed = 1;
        }
        PT_TRY(member_tokens(R, X, doc, &T, &nt, bad));
        long match = -1;
        size_t pl = 0;
        if (!indexed) {
            for (size_t r = 0; r < R->nreps && match < 0; r++) {
                if (!size_may_match(nt, R->rlen[r], t)) continue;
                R->checks++;
                if (pt_minhash_jaccard(T, nt, R->pool + R->rstart[r], R->rlen[r]) >= t) match = (long)r;
            }
        } else {
            if (order_tokens(R, T, nt)) return *bad = doc, PT_ENOMEM;
            pl = prefix_len(nt, t);
            size_t nc = 0;
            for (size_t i = 0; i < pl; i++)
                for (uint32_t p = map_get(&R->post, R->ord[i].h); p; p = R->pnext[p]) {
                    uint32_t r = R->prep[p];
                    if (R->stamp[r] != k + 1) R->stamp[r] = (uint32_t)(k + 1), R->cand[nc++] = r;
                }
            if (nc > 1) qsort(R->cand, nc, sizeof *R->cand, cmp_u32); /* first match in representative order */
            for (size_t c = 0; c < nc && match < 0; c++) {
                uint32_t r = R->cand[c];
                if (!size_may_match(nt, R->rlen[r], t)) continue;
                R->checks++;
                if (pt_minhash_jaccard(T, nt, R->pool + R->rstart[r], R->rlen[r]) >= t) match = r;
            }
        }
        if (match >= 0) {
            X->drop[doc] = 1;
            X->near[R->rdoc[match]]++;
            continue;
        }
        /* a new representative */
        size_t r = R->nreps;
        if (grow_reps(R, r + 1) || grow((void **)&R->pool, &R->cappool, R->npool + nt, sizeof(uint64_t)))
            return *bad = doc, PT_ENOMEM;
        if (nt) memcpy(R->pool + R->npool, T, nt * sizeof *T);
        R->rstart[r] = R->npool, R->rlen[r] = (uint32_t)nt, R->rdoc[r] = doc, R->stamp[r] = 0;
        R->npool += nt, R->nreps++;
        if (indexed && index_rep(R, (uint32_t)r, pl)) return *bad = doc, PT_ENOMEM;
    }
    return PT_OK;
}

/* ---- the run ------------------------------------------------------------------------------ */

typedef struct clusters {
    uint32_t *members; /* (docs_in_clusters) grouped by cluster, in document order inside */
    size_t *start;     /* (n + 1) each cluster's first member */
    uint32_t *order;   /* (n) clusters, largest first */
    size_t n;
} clusters;

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* From a compressed union-find (par[i] = root <= i), the components of more than one
 * document. drop and near (zeroed, ndocs each) serve as scratch and are zero again after. */
static int make_clusters(const uint32_t *par, uint64_t ndocs, uint8_t *drop, uint32_t *near, clusters *C,
                         pt_err *e) {
    size_t n = 0;
    for (uint64_t i = 0; i < ndocs; i++)
        if (par[i] != i) drop[par[i]] = 1; /* a root with members */
    for (uint64_t i = 0; i < ndocs; i++)
        if (drop[i]) near[i] = (uint32_t)n++;
    C->n = n;
    C->start = pt_calloc(n + 1, sizeof *C->start, e);
    size_t *fill = pt_calloc(n + 1, sizeof *fill, e);
    C->order = pt_malloc((n ? n : 1) * sizeof *C->order, e);
    if (!C->start || !fill || !C->order) return free(fill), PT_ENOMEM;
    for (uint64_t i = 0; i < ndocs; i++)
        if (drop[par[i]]) C->start[near[par[i]] + 1]++;
    for (size_t c = 0; c < n; c++) C->start[c + 1] += C->start[c];
    memcpy(fill, C->start, n * sizeof *fill);
    C->members = pt_malloc((C->start[n] ? C->start[n] : 1) * sizeof *C->members, e);
    if (!C->members) return free(fill), PT_ENOMEM;
    for (uint64_t i = 0; i < ndocs; i++)
        if (drop[par[i]]) C->members[fill[near[par[i]]]++] = (uint32_t)i;
    free(fill);
    for (uint64_t i = 0; i < ndocs; i++)
        if (drop[i]) drop[i] = 0, near[i] = 0;
    /* largest first (then by first document): key = (2^32 - 1 - size) << 32 | cluster */
    uint64_t *key = pt_malloc((n ? n : 1) * sizeof *key, e);
    if (!key) return PT_ENOMEM;
    for (size_t c = 0; c < n; c++) {
        uint64_t size = C->start[c + 1] - C->start[c];
        key[c] = (UINT32_MAX - (size < UINT32_MAX ? size : UINT32_MAX)) << 32 | c;
    }
    qsort(key, n, sizeof *key, cmp_u64);
    for (size_t c = 0; c < n; c++) C->order[c] = (uint32_t)key[c];
    free(key);
    return PT_OK;
}

static int reduce_all(pt_neardup *nd, const clusters *C, const reduce_ctx *X, int threads, uint64_t *checks,
                      pt_err *e) {
    int fail = 0;            /* the first failure's code, read by all threads */
    uint32_t bad = UINT32_MAX;
    uint64_t nchecks = 0;
#ifdef _OPENMP
    int nth = threads > 0 ? threads : omp_get_max_threads();
#else
    int nth = 1;
    (void)threads, (void)nth;
#endif
#pragma omp parallel num_threads(nth) reduction(+ : nchecks)
    {
        reducer R;
        memset(&R, 0, sizeof R);
        R.mh = pt_minhash_scratch_new();
        if (!R.mh) {
#pragma omp critical(pt_neardup_fail)
            if (!fail) fail = PT_ENOMEM;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < C->n; c++) {
            if (__atomic_load_n(&fail, __ATOMIC_RELAXED)) continue;
            uint32_t id = C->order[c], b = UINT32_MAX;
            size_t m = C->start[id + 1] - C->start[id];
            int rc = reduce_cluster(&R, X, C->members + C->start[id], m, nd->index_min, &b);
            if (rc) {
#pragma omp critical(pt_neardup_fail)
                if (!fail || b < bad) fail = rc, bad = b;
            }
        }
        nchecks += R.checks;
        reducer_free(&R);
    }
    *checks = nchecks;
    if (fail == PT_EFORMAT) return pt_fail(e, PT_EFORMAT, "near dedup: document %u could not be read back", bad);
    if (fail) return pt_fail(e, fail, "near dedup: out of memory reducing clusters");
    return PT_OK;
}

int pt_neardup_run(pt_neardup *nd, uint64_t ndocs, pt_neardup_getter get, void *ctx, int threads,
                   pt_neardup_result *out, pt_err *e) {
    double t0 = pt_now();
    memset(out, 0, sizeof *out);
    if (nd->ran) return pt_fail(e, PT_EUSAGE, "near dedup: run twice");
    nd->ran = 1;
    if (nd->last_doc >= 0 && (uint64_t)nd->last_doc >= ndocs)
        return pt_fail(e, PT_EUSAGE, "near dedup: document %lld was added but the run covers %llu documents",
                       (long long)nd->last_doc, (unsigned long long)ndocs);
    if (ndocs > (uint64_t)UINT32_MAX + 1)
        return pt_fail(e, PT_ELIMIT, "near dedup: %llu documents, at most 2^32", (unsigned long long)ndocs);
    for (size_t bp = 0; bp < (size_t)nd->p.bands * NPART; bp++) PT_TRY(flush_block(nd, bp, e));
    size_t nalloc = ndocs ? (size_t)ndocs : 1;
    out->ndocs = ndocs;
    out->signed_docs = nd->signed_docs;
    out->drop = pt_calloc(nalloc, 1, e);
    out->near_copies = pt_calloc(nalloc, sizeof *out->near_copies, e);
    uint32_t *par = pt_malloc(nalloc * sizeof *par, e);
    clusters C;
    memset(&C, 0, sizeof C);
    int rc = PT_OK;
    if (!out->drop || !out->near_copies || !par) {
        rc = PT_ENOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < ndocs; i++) par[i] = (uint32_t)i;
    if ((rc = band_unions(nd, par, &out->candidate_pairs, e))) goto out;
    for (uint64_t i = 0; i < ndocs; i++) par[i] = par[par[i]]; /* par[par[i]] is already a root */
    if ((rc = make_clusters(par, ndocs, out->drop, out->near_copies, &C, e))) goto out;
    free(par), par = NULL;
    out->clusters = C.n;
    out->docs_in_clusters = C.n ? C.start[C.n] : 0;
    out->largest_cluster = C.n ? C.start[C.order[0] + 1] - C.start[C.order[0]] : 0;
    reduce_ctx X = {get, ctx, nd->p.threshold, out->drop, out->near_copies};
    if ((rc = reduce_all(nd, &C, &X, threads, &out->jaccard_checks, e))) goto out;
    for (uint64_t i = 0; i < ndocs; i++) out->dropped += out->drop[i];
out:
    free(par), free(C.members), free(C.start), free(C.order);
    if (rc) pt_neardup_result_free(out);
    out->seconds = pt_now() - t0;
    return rc;
}

void pt_neardup_result_free(pt_neardup_result *r) {
    free(r->drop), free(r->near_copies);
    r->drop = NULL, r->near_copies = NULL;
}
