/* exact.c - see exact.h. */
#include "corpus/exact.h"

#include <stdlib.h>

#include "base/buf.h"

typedef struct slot {
    uint64_t lo, hi;
    uint32_t v, used;
} slot;

struct pt_exact {
    slot *slots;
    uint64_t cap, n; /* cap is a power of two */
};

int pt_exact_new(pt_exact **out, pt_err *e) {
    pt_exact *t = pt_calloc(1, sizeof *t, e);
    if (!t) return PT_ENOMEM;
    t->cap = 1 << 16;
    t->slots = pt_calloc(t->cap, sizeof *t->slots, e);
    if (!t->slots) {
        free(t);
        return PT_ENOMEM;
    }
    *out = t;
    return PT_OK;
}

static slot *find(slot *slots, uint64_t cap, pt_hash128 k) {
    uint64_t i = k.lo & (cap - 1);
    for (;;) {
        slot *s = &slots[i];
        if (!s->used || (s->lo == k.lo && s->hi == k.hi)) return s;
        i = (i + 1) & (cap - 1);
    }
}

static int grow(pt_exact *t, pt_err *e) {
    uint64_t cap = t->cap * 2;
    slot *ns = pt_calloc(cap, sizeof *ns, e);
    if (!ns) return PT_ENOMEM;
    for (uint64_t i = 0; i < t->cap; i++)
        if (t->slots[i].used) *find(ns, cap, (pt_hash128){t->slots[i].lo, t->slots[i].hi}) = t->slots[i];
    free(t->slots);
    t->slots = ns;
    t->cap = cap;
    return PT_OK;
}

int pt_exact_insert(pt_exact *t, pt_hash128 key, uint32_t v, uint32_t *stored, int *inserted, pt_err *e) {
    if ((t->n + 1) * 8 > t->cap * 5) PT_TRY(grow(t, e));
    slot *s = find(t->slots, t->cap, key);
    if (s->used) {
        *stored = s->v;
        *inserted = 0;
        return PT_OK;
    }
    s->lo = key.lo;
    s->hi = key.hi;
    s->v = v;
    s->used = 1;
    t->n++;
    *stored = v;
    *inserted = 1;
    return PT_OK;
}

uint64_t pt_exact_count(const pt_exact *t) { return t->n; }
uint64_t pt_exact_bytes(const pt_exact *t) { return t->cap * sizeof(slot); }

void pt_exact_free(pt_exact *t) {
    if (!t) return;
    free(t->slots);
    free(t);
}
