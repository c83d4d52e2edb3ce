/* bpe_impl.h - the private layout of pt_bpe, shared by bpe.c (building, reading) and
 * bpe_encode.c (encoding). Not for use outside src/tok. */
#ifndef PT_TOK_BPE_IMPL_H
#define PT_TOK_BPE_IMPL_H

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tok/bpe.h"

/* byte-level bytes -> id: open addressing, id PT_BPE_NONE = empty; tag = the hash's high
 * half, checked before the bytes are compared */
typedef struct pt_bpe_lk {
    uint32_t id, tag;
} pt_bpe_lk;

/* The merge table: one word a slot, (left << 22 | right) << 20 | rank, open addressing at
 * load <= 1/2; all ones is an empty slot (no real slot is: ranks are below 0xFFFFF). Eight
 * bytes a slot keep GPT-2's 50000 merges in 1 MiB. The merged id is merges[rank][2]. */
#define PT_BPE_MT_EMPTY UINT64_MAX

struct pt_bpe {
    pt_bpe_options opt;
    int finished;
    uint32_t n_ids, cap_ids;     /* highest id + 1; allocated entries */
    uint32_t *tok_off, *tok_len; /* (cap_ids) each id's bytes in pool; tok_len NONE: no token */
    uint8_t *tok_flags;          /* (cap_ids) PT_BPE_TOKEN_* */
    unsigned char *pool;         /* every token's bytes, back to back */
    size_t pool_len, pool_cap;
    pt_bpe_lk *lk; /* (lk_cap) byte-level tokens by bytes; lk_cap a power of two */
    uint32_t lk_cap, lk_n;
    uint32_t (*merges)[3]; /* (n_merges, 3) left, right, merged by rank */
    uint32_t n_merges, cap_merges;
    uint64_t *mt; /* (1 << (64 - mt_shift)) the merge table, built by finish */
    unsigned mt_shift;
    uint32_t byte_id[256]; /* the single-byte token of each byte */
    pt_hash128 hash;
};

static inline size_t pt_bpe_mt_slot(const pt_bpe *t, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> t->mt_shift);
}

/* The rank of the merge of (l, r), or PT_BPE_NONE if they do not merge. */
static inline uint32_t pt_bpe_rank(const pt_bpe *t, uint32_t l, uint32_t r) {
    uint64_t key = (uint64_t)l << 22 | r;
    size_t mask = ((size_t)1 << (64 - t->mt_shift)) - 1;
    for (size_t i = pt_bpe_mt_slot(t, key);; i = (i + 1) & mask) {
        uint64_t v = t->mt[i];
        if (v == PT_BPE_MT_EMPTY) return PT_BPE_NONE;
        if ((v >> 20) == key) return (uint32_t)(v & 0xFFFFF);
    }
}

/* Short-string helpers. They read only inside [p, p + m): whole words, then the last word
 * overlapping, so no padding is needed. */
static inline uint64_t pt_bpe_rd64_(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint64_t pt_bpe_rd32_(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t pt_bpe_mix_(uint64_t h) {
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}
/* p[0..m), 1 <= m <= 8, as one word; injective for a given m (the halves overlap). */
static inline uint64_t pt_bpe_short_key_(const unsigned char *p, size_t m) {
    if (m >= 4) return pt_bpe_rd32_(p) | pt_bpe_rd32_(p + m - 4) << 32;
    return (uint64_t)p[0] | (uint64_t)p[m >> 1] << 8 | (uint64_t)p[m - 1] << 16;
}
/* A hash of p[0..m), m > 8. */
static inline uint64_t pt_bpe_long_hash_(const unsigned char *p, size_t m) {
    uint64_t h = (uint64_t)m * 0xD6E8FEB86659FD93ull;
    for (size_t i = 0; i + 8 < m; i += 8) h = pt_bpe_mix_(h ^ pt_bpe_rd64_(p + i));
    return pt_bpe_mix_(pt_bpe_mix_(h ^ pt_bpe_rd64_(p + m - 8)));
}
/* A hash of p[0..m), m >= 1. */
static inline uint64_t pt_bpe_bytes_hash_(const unsigned char *p, size_t m) {
    uint64_t k = m <= 8 ? pt_bpe_short_key_(p, m) : pt_bpe_long_hash_(p, m);
    return pt_bpe_mix_(pt_bpe_mix_(k ^ m));
}
/* a[0..m) == b[0..m), m > 8 */
static inline int pt_bpe_long_eq_(const unsigned char *a, const unsigned char *b, size_t m) {
    for (size_t i = 0; i + 8 < m; i += 8)
        if (pt_bpe_rd64_(a + i) != pt_bpe_rd64_(b + i)) return 0;
    return pt_bpe_rd64_(a + m - 8) == pt_bpe_rd64_(b + m - 8);
}

/* BPE of p[0..m), m >= 1, by the linear scan (bpe_encode.c): ids and rk need room for m. */
size_t pt_bpe_merge_scan_(const pt_bpe *t, const unsigned char *p, size_t m, uint32_t *ids, uint32_t *rk);

#endif
