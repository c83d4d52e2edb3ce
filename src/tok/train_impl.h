/* train_impl.h - private structures shared by train.c and train_count.c. */
#ifndef PT_TOK_TRAIN_IMPL_H
#define PT_TOK_TRAIN_IMPL_H

#include <stdint.h>
#include <stdlib.h>

#include "tok/train.h"

/* A distinct word: count == 0 marks an empty slot. Words of up to 8 bytes are held in the
 * slot itself (zero-padded), longer ones at off in the map's arena: most pieces of code are
 * short, and a hit then costs one cache line. */
typedef struct pt_train_wslot {
    uint64_t h, count;
    union {
        uint64_t off;
        uint64_t inl;
    };
    uint32_t len;
} pt_train_wslot;

/* word bytes -> count; the bytes live in arena (offsets, so it can grow). */
typedef struct pt_train_wmap {
    pt_train_wslot *slots;
    size_t cap, n;
    uint64_t total; /* bytes of all distinct words */
    /* A small direct-mapped cache in front of the map for words of up to 7 bytes (key: the
     * bytes, zero-padded, and the length in the top byte): the hottest pieces of code
     * (indentation, " =", "self", "(") are counted in L1 and reach the map only when evicted
     * or at the end of a pt_bpe_trainer_add. */
    struct pt_train_hot {
        uint64_t key, count;
    } *hot;
    char *arena;
    size_t alen, acap;
} pt_train_wmap;

struct pt_bpe_trainer {
    uint32_t vocab_size;
    uint64_t min_frequency;
    char **specials;
    size_t *special_lens;
    size_t n_specials;
    int nthreads;
    const volatile int *cancel;
    pt_train_wmap *maps; /* [nthreads] */
    int trained;
    pt_bpe_train_stats st;
};

uint64_t pt_train_word_hash(const void *p, size_t n);
/* The bytes of a word of map m. */
static inline const char *pt_train_word(const pt_train_wmap *m, const pt_train_wslot *s) {
    return s->len <= 8 ? (const char *)&s->inl : m->arena + s->off;
}
/* Adds add to the count of p[0..n) (hash h); -1 on OOM. */
int pt_train_wmap_add(pt_train_wmap *m, const void *p, size_t n, uint64_t h, uint64_t add);
void pt_train_wmap_free(pt_train_wmap *m);
/* Folds maps 1.. into maps[0]. */
int pt_train_merge_maps(pt_bpe_trainer *tr, pt_err *e);

#endif
