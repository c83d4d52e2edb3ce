/* bpe_impl.h - the private layout of pt_bpe, shared by bpe.c (building, reading) and
 * bpe_encode.c (encoding). Not for use outside src/tok. */
#ifndef PT_TOK_BPE_IMPL_H
#define PT_TOK_BPE_IMPL_H

#include <assert.h>
#include <stdlib.h>

#include "tok/bpe.h"

/* byte-level bytes -> id: open addressing, id PT_BPE_NONE = empty; tag = the hash's high
 * half, checked before the bytes are compared */
typedef struct pt_bpe_lk {
    uint32_t id, tag;
} pt_bpe_lk;

/* (left << 32 | right) -> (rank << 32 | merged); key PT_BPE_MT_EMPTY = empty (ids are below
 * PT_BPE_MAX_IDS, so no real key is all ones). A miss reads as val UINT64_MAX, whose rank
 * half is PT_BPE_NONE: "no merge" then compares above every real rank. */
typedef struct pt_bpe_mt {
    uint64_t key, val;
} pt_bpe_mt;
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
    pt_bpe_mt *mt; /* (1 << (64 - mt_shift)) the merge table, built by finish */
    unsigned mt_shift;
    uint32_t byte_id[256]; /* the single-byte token of each byte */
    pt_hash128 hash;
};

static inline size_t pt_bpe_mt_slot(const pt_bpe *t, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> t->mt_shift);
}

/* (rank << 32 | merged) of the pair (l, r), or UINT64_MAX (rank PT_BPE_NONE) if none. */
static inline uint64_t pt_bpe_pair(const pt_bpe *t, uint32_t l, uint32_t r) {
    uint64_t key = (uint64_t)l << 32 | r;
    size_t mask = ((size_t)1 << (64 - t->mt_shift)) - 1;
    for (size_t i = pt_bpe_mt_slot(t, key);; i = (i + 1) & mask) {
        if (t->mt[i].key == key) return t->mt[i].val;
        if (t->mt[i].key == PT_BPE_MT_EMPTY) return UINT64_MAX;
    }
}

#endif
