/* bpe_encode.c - encoding with a finished pt_bpe: pieces, the per-scratch cache, and the
 * two merge loops (linear scan for short pieces, heap for long ones). See bpe.h. */
#include <string.h>

#include "base/buf.h"
#include "tok/bpe_impl.h"
#include "tok/pretok.h"

enum {
    SCAN_MAX = 48,            /* pieces up to this many bytes merge by linear scan */
    CACHE_MAX_PIECE = 64,     /* longer pieces are not cached */
    CACHE_BITS = 17,          /* cache slots; at most half are used before a flush */
    CACHE_ARENA = 1u << 20,   /* uint32_t words of cached ids and piece bytes before a flush */
};

/* A cache slot. A piece of up to 8 bytes is its own key (pt_bpe_short_key_: injective given the
 * length), and when it is one token the slot holds the id, so the common hit reads one slot
 * and nothing else. A longer piece is keyed by its 64-bit hash and checked against its bytes
 * in the arena. An arena entry is the ids, then the piece bytes (padded to a word). */
typedef struct cache_slot {
    uint64_t key; /* short key, or the hash of a piece over 8 bytes */
    uint32_t val; /* the id (len <= 8 and nids == 1), else the entry's arena word */
    uint8_t len;  /* piece bytes; 0 = empty slot */
    uint8_t nids;
    uint16_t pad;
} cache_slot;

struct pt_bpe_scratch {
    const pt_bpe *owner; /* the tokenizer the cache belongs to, and its hash */
    pt_hash128 owner_hash;
    /* work arrays for one piece: (w_cap) each, the heap (3 * w_cap) */
    uint32_t *ids, *rk;
    int32_t *nx, *pv;
    uint64_t *heap;
    size_t w_cap;
    cache_slot *slots; /* (1 << CACHE_BITS) */
    uint32_t n_cached;
    uint32_t *arena; /* (CACHE_ARENA) */
    size_t arena_len;
    char *pfx; /* " " + text, for add_prefix_space */
    size_t pfx_cap;
};

pt_bpe_scratch *pt_bpe_scratch_new(void) {
    pt_bpe_scratch *s = pt_calloc(1, sizeof *s, NULL);
    if (!s) return NULL;
    s->slots = pt_calloc((size_t)1 << CACHE_BITS, sizeof *s->slots, NULL);
    s->arena = pt_malloc((size_t)CACHE_ARENA * sizeof *s->arena, NULL);
    if (!s->slots || !s->arena) {
        pt_bpe_scratch_free(s);
        return NULL;
    }
    return s;
}

void pt_bpe_scratch_free(pt_bpe_scratch *s) {
    if (!s) return;
    free(s->ids);
    free(s->rk);
    free(s->nx);
    free(s->pv);
    free(s->heap);
    free(s->slots);
    free(s->arena);
    free(s->pfx);
    free(s);
}

static void cache_flush(pt_bpe_scratch *s) {
    memset(s->slots, 0, ((size_t)1 << CACHE_BITS) * sizeof *s->slots);
    s->n_cached = 0;
    s->arena_len = 0;
}

static int work_reserve(pt_bpe_scratch *s, size_t m) {
    if (m <= s->w_cap) return 0;
    size_t cap = s->w_cap ? s->w_cap : 64;
    while (cap < m) cap *= 2;
    if (cap > INT32_MAX / 4) return -1;
    uint32_t *a;
    int32_t *b;
    uint64_t *h;
#define GROW(field, ptr, n)                                           \
    if (!(ptr = pt_realloc(s->field, (n) * sizeof *s->field, NULL))) return -1; \
    s->field = ptr;
    GROW(ids, a, cap) GROW(rk, a, cap) GROW(nx, b, cap) GROW(pv, b, cap) GROW(heap, h, 3 * cap)
#undef GROW
    s->w_cap = cap;
    return 0;
}

/* ---- the merge loops: p[0..m) -> ids[0..return) ------------------------------------------ */

/* Short pieces: keep the rank of every adjacent pair; merge the first lowest; update the
 * two pairs around it. O(m^2) worst case, but m <= SCAN_MAX and the arrays stay in L1. */
size_t pt_bpe_merge_scan_(const pt_bpe *t, const unsigned char *p, size_t m, uint32_t *ids, uint32_t *rk) {
    for (size_t i = 0; i < m; i++) ids[i] = t->byte_id[p[i]];
    for (size_t i = 0; i + 1 < m; i++) rk[i] = pt_bpe_rank(t, ids[i], ids[i + 1]);
    size_t n = m;
    while (n > 1) {
        uint32_t best = PT_BPE_NONE;
        size_t b = 0;
        for (size_t i = 0; i + 1 < n; i++)
            if (rk[i] < best) best = rk[i], b = i;
        if (best == PT_BPE_NONE) break;
        ids[b] = t->merges[best][2];
        memmove(ids + b + 1, ids + b + 2, (n - b - 2) * sizeof *ids);
        if (n >= b + 3) memmove(rk + b + 1, rk + b + 2, (n - b - 3) * sizeof *rk);
        n--;
        if (b + 1 < n) rk[b] = pt_bpe_rank(t, ids[b], ids[b + 1]);
        if (b > 0) rk[b - 1] = pt_bpe_rank(t, ids[b - 1], ids[b]);
    }
    return n;
}

static void heap_push(uint64_t *h, size_t *n, uint64_t v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (h[up] <= v) break;
        h[i] = h[up];
        i = up;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0, len = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len) break;
        if (c + 1 < len && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    if (len) h[i] = v;
    return top;
}

/* Long pieces: the symbols form a linked list over their first byte's position; a min-heap
 * holds (rank << 32 | position) of candidate pairs, so the lowest rank and, among equal
 * ranks, the leftmost comes first. A popped entry is stale when its left symbol was merged
 * away or its pair now has another rank; then it is skipped. O(m log m). */
static size_t merge_heap(const pt_bpe *t, const unsigned char *p, size_t m, pt_bpe_scratch *s) {
    uint32_t *ids = s->ids;
    int32_t *nx = s->nx, *pv = s->pv;
    uint64_t *heap = s->heap;
    size_t nh = 0;
    for (size_t i = 0; i < m; i++) {
        ids[i] = t->byte_id[p[i]];
        nx[i] = i + 1 < m ? (int32_t)(i + 1) : -1;
        pv[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < m; i++) {
        uint32_t r = pt_bpe_rank(t, ids[i], ids[i + 1]);
        if (r != PT_BPE_NONE) heap_push(heap, &nh, (uint64_t)r << 32 | i);
    }
    while (nh) {
        uint64_t top = heap_pop(heap, &nh);
        uint32_t rank = (uint32_t)(top >> 32);
        int32_t i = (int32_t)(uint32_t)top, j;
        if (ids[i] == PT_BPE_NONE || (j = nx[i]) < 0 || pt_bpe_rank(t, ids[i], ids[j]) != rank) continue;
        ids[i] = t->merges[rank][2];
        ids[j] = PT_BPE_NONE;
        nx[i] = nx[j];
        if (nx[j] >= 0) pv[nx[j]] = i;
        uint32_t r;
        if (pv[i] >= 0 && (r = pt_bpe_rank(t, ids[pv[i]], ids[i])) != PT_BPE_NONE)
            heap_push(heap, &nh, (uint64_t)r << 32 | (uint32_t)pv[i]);
        if (nx[i] >= 0 && (r = pt_bpe_rank(t, ids[i], ids[nx[i]])) != PT_BPE_NONE)
            heap_push(heap, &nh, (uint64_t)r << 32 | (uint32_t)i);
    }
    size_t n = 0;
    for (int32_t i = 0; i >= 0; i = nx[i]) ids[n++] = ids[i];
    return n;
}

/* ---- pieces and the cache ------------------------------------------------------------------ */

static inline void emit(uint32_t *out, size_t cap, size_t at, const uint32_t *ids, size_t n) {
    for (size_t k = 0; k < n && at + k < cap; k++) out[at + k] = ids[k];
}

/* The ids of piece p[0..m) into s->ids (or, from the cache, a pointer into the slot or the
 * arena): returns the count and sets *res; (size_t)-1 on OOM. */
static size_t piece_ids(const pt_bpe *t, const unsigned char *p, size_t m, pt_bpe_scratch *s, const uint32_t **res) {
    uint64_t key = 0;
    size_t slot = 0, mask = ((size_t)1 << CACHE_BITS) - 1;
    if (m <= CACHE_MAX_PIECE) {
        key = m <= 8 ? pt_bpe_short_key_(p, m) : pt_bpe_long_hash_(p, m);
        size_t start = (size_t)(pt_bpe_mix_(key ^ m) >> 20) & mask;
        for (slot = start; s->slots[slot].len; slot = (slot + 1) & mask) {
            const cache_slot *c = &s->slots[slot];
            if (c->key != key || c->len != m) continue;
            if (m <= 8 && c->nids == 1) {
                *res = &c->val;
                return 1;
            }
            const uint32_t *a = s->arena + c->val;
            if (m > 8 && !pt_bpe_long_eq_((const unsigned char *)(a + c->nids), p, m)) continue;
            *res = a;
            return c->nids;
        }
    }
    if (work_reserve(s, m)) return (size_t)-1;
    size_t n;
    if (t->opt.ignore_merges && (s->ids[0] = pt_bpe_lookup(t, p, m)) != PT_BPE_NONE) n = 1;
    else if (m <= SCAN_MAX) n = pt_bpe_merge_scan_(t, p, m, s->ids, s->rk);
    else n = merge_heap(t, p, m, s);
    *res = s->ids;
    if (m <= CACHE_MAX_PIECE) {
        int inline_id = m <= 8 && n == 1;
        size_t words = inline_id ? 0 : n + (m > 8 ? (m + 3) / 4 : 0);
        if (s->n_cached >= (1u << (CACHE_BITS - 1)) || s->arena_len + words > CACHE_ARENA) {
            cache_flush(s);
            for (slot = (size_t)(pt_bpe_mix_(key ^ m) >> 20) & mask; s->slots[slot].len; slot = (slot + 1) & mask) {}
        }
        cache_slot *c = &s->slots[slot];
        c->key = key;
        c->len = (uint8_t)m;
        c->nids = (uint8_t)n;
        if (inline_id) {
            c->val = s->ids[0];
        } else {
            uint32_t *a = s->arena + s->arena_len;
            c->val = (uint32_t)s->arena_len;
            memcpy(a, s->ids, n * sizeof *s->ids);
            if (m > 8) memcpy(a + n, p, m);
            s->arena_len += words;
        }
        s->n_cached++;
    }
    return n;
}

static void own(const pt_bpe *t, pt_bpe_scratch *s) {
    assert(t->finished);
    if (s->owner != t || s->owner_hash.lo != t->hash.lo || s->owner_hash.hi != t->hash.hi) {
        cache_flush(s);
        s->owner = t;
        s->owner_hash = t->hash;
    }
}

size_t pt_bpe_encode_piece(const pt_bpe *t, const void *p, size_t m, uint32_t *out, size_t cap, pt_bpe_scratch *s) {
    own(t, s);
    if (m == 0) return 0;
    const uint32_t *ids;
    size_t n = piece_ids(t, p, m, s, &ids);
    if (n != (size_t)-1) emit(out, cap, 0, ids, n);
    return n;
}

size_t pt_bpe_encode(const pt_bpe *t, const char *text, size_t n, uint32_t *out, size_t cap, pt_bpe_scratch *s) {
    own(t, s);
    if (!out) cap = 0;
    const unsigned char *p = (const unsigned char *)text;
    if (t->opt.add_prefix_space && n > 0 && text[0] != ' ') {
        if (n + 1 > s->pfx_cap) {
            char *q = pt_realloc(s->pfx, n + 1, NULL);
            if (!q) return (size_t)-1;
            s->pfx = q;
            s->pfx_cap = n + 1;
        }
        s->pfx[0] = ' ';
        if (n) memcpy(s->pfx + 1, text, n);
        p = (const unsigned char *)s->pfx;
        n++;
    }
    size_t count = 0;
    for (size_t i = 0, j; i < n; i = j) {
        j = pt_pretok_next(p, n, i);
        if (j == i + 1) { /* one byte: its own token, no merge possible */
            if (count < cap) out[count] = t->byte_id[p[i]];
            count++;
            continue;
        }
        const uint32_t *ids;
        size_t k = piece_ids(t, p + i, j - i, s, &ids);
        if (k == (size_t)-1) return k;
        emit(out, cap, count, ids, k);
        count += k;
    }
    return count;
}

size_t pt_bpe_count(const pt_bpe *t, const char *text, size_t n, pt_bpe_scratch *s) {
    return pt_bpe_encode(t, text, n, NULL, 0, s);
}

size_t pt_bpe_encode_piece_ref(const pt_bpe *t, const void *piece, size_t m, uint32_t *out, size_t cap) {
    assert(t->finished);
    const unsigned char *p = piece;
    if (m == 0) return 0;
    if (t->opt.ignore_merges) {
        uint32_t id = pt_bpe_lookup(t, p, m);
        if (id != PT_BPE_NONE) {
            if (cap) out[0] = id;
            return 1;
        }
    }
    uint32_t *ids = malloc(m * sizeof *ids);
    if (!ids) return (size_t)-1;
    size_t n = m;
    for (size_t i = 0; i < m; i++) ids[i] = t->byte_id[p[i]];
    for (;;) { /* the first pair of the lowest rank, merged; again until none has a merge */
        uint32_t best = PT_BPE_NONE;
        size_t b = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            uint32_t r = pt_bpe_rank(t, ids[i], ids[i + 1]);
            if (r < best) best = r, b = i;
        }
        if (best == PT_BPE_NONE) break;
        ids[b] = t->merges[best][2];
        for (size_t i = b + 1; i + 1 < n; i++) ids[i] = ids[i + 1];
        n--;
    }
    emit(out, cap, 0, ids, n);
    free(ids);
    return n;
}
