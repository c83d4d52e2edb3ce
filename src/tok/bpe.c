/* bpe.c - the byte-level BPE tokenizer: building, tables, reading (encoding: bpe_encode.c). */
#include "tok/bpe_impl.h"

#include <string.h>

#include "base/buf.h"
#include "base/utf8.h"

/* ---- GPT-2's byte alphabet ------------------------------------------------------------
 * Bytes that are printable Latin-1 (0x21..0x7E, 0xA1..0xAC, 0xAE..0xFF) stand for
 * themselves; the other 68 get U+0100.. in byte order. */
static int printable(unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

uint32_t pt_bpe_byte_char(unsigned b) {
    b &= 0xFF;
    if (printable(b)) return b;
    if (b <= 0x20) return 0x100 + b;              /* 0x00..0x20 -> U+0100..U+0120 */
    if (b <= 0xA0) return 0x100 + 33 + (b - 0x7F); /* 0x7F..0xA0 -> U+0121..U+0142 */
    return 0x143;                                  /* 0xAD */
}

static int char_byte(uint32_t cp) {
    if (cp < 0x100) return printable(cp) ? (int)cp : -1;
    if (cp < 0x100 + 33) return (int)(cp - 0x100);
    if (cp < 0x100 + 67) return (int)(cp - 0x100 - 33 + 0x7F);
    return cp == 0x143 ? 0xAD : -1;
}

ptrdiff_t pt_bpe_unmap(const void *s, size_t n, unsigned char *out) {
    const unsigned char *p = s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = pt_utf8_decode(p + i, n - i, &cp);
        int b = l ? char_byte(cp) : -1;
        if (b < 0) return -1;
        out[o++] = (unsigned char)b;
        i += l;
    }
    return (ptrdiff_t)o;
}

size_t pt_bpe_map(const void *p, size_t n, char *out) {
    const unsigned char *b = p;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = pt_bpe_byte_char(b[i]);
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else {
            out[o++] = (char)(0xC0 | cp >> 6);
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[o] = 0;
    return o;
}

/* ---- building ------------------------------------------------------------------------- */

pt_bpe *pt_bpe_new(pt_err *e) {
    pt_bpe *t = pt_calloc(1, sizeof *t, e);
    if (t) memset(t->byte_id, 0xFF, sizeof t->byte_id);
    return t;
}

void pt_bpe_set_options(pt_bpe *t, const pt_bpe_options *o) {
    assert(!t->finished);
    t->opt = *o;
}

void pt_bpe_free(pt_bpe *t) {
    if (!t) return;
    free(t->tok_off);
    free(t->tok_len);
    free(t->tok_flags);
    free(t->pool);
    free(t->lk);
    free(t->merges);
    free(t->mt);
    free(t);
}

static uint64_t bytes_hash(const void *p, size_t n) { return pt_bpe_bytes_hash_(p, n); }

/* Slot of bytes[0..n) in the lookup table: its id's slot, or the empty slot to fill. */
static size_t lk_find(const pt_bpe *t, const void *bytes, size_t n, uint64_t h) {
    uint32_t tag = (uint32_t)(h >> 32);
    size_t mask = t->lk_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const pt_bpe_lk *s = &t->lk[i];
        if (s->id == PT_BPE_NONE) return i;
        if (s->tag == tag && t->tok_len[s->id] == n && !memcmp(t->pool + t->tok_off[s->id], bytes, n)) return i;
    }
}

static int lk_grow(pt_bpe *t, pt_err *e) {
    size_t cap = t->lk_cap ? (size_t)t->lk_cap * 2 : 1024;
    pt_bpe_lk *old = t->lk;
    size_t old_cap = t->lk_cap;
    t->lk = pt_malloc(cap * sizeof *t->lk, e);
    if (!t->lk) {
        t->lk = old;
        return PT_ENOMEM;
    }
    memset(t->lk, 0xFF, cap * sizeof *t->lk);
    t->lk_cap = (uint32_t)cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].id == PT_BPE_NONE) continue;
        uint32_t id = old[i].id;
        const unsigned char *b = t->pool + t->tok_off[id];
        t->lk[lk_find(t, b, t->tok_len[id], bytes_hash(b, t->tok_len[id]))] = old[i];
    }
    free(old);
    return PT_OK;
}

static int ids_reserve(pt_bpe *t, uint32_t id, pt_err *e) {
    if (id < t->cap_ids) return PT_OK;
    size_t cap = t->cap_ids ? t->cap_ids : 1024;
    while (cap <= id) cap *= 2;
    if (cap > PT_BPE_MAX_IDS) cap = PT_BPE_MAX_IDS;
    uint32_t *off = pt_realloc(t->tok_off, cap * sizeof *off, e);
    if (!off) return PT_ENOMEM;
    t->tok_off = off;
    uint32_t *len = pt_realloc(t->tok_len, cap * sizeof *len, e);
    if (!len) return PT_ENOMEM;
    t->tok_len = len;
    uint8_t *fl = pt_realloc(t->tok_flags, cap, e);
    if (!fl) return PT_ENOMEM;
    t->tok_flags = fl;
    memset(len + t->cap_ids, 0xFF, (cap - t->cap_ids) * sizeof *len);
    memset(fl + t->cap_ids, 0, cap - t->cap_ids);
    t->cap_ids = (uint32_t)cap;
    return PT_OK;
}

int pt_bpe_add_token(pt_bpe *t, uint32_t id, const void *bytes, size_t n, unsigned flags, pt_err *e) {
    assert(!t->finished);
    if (id >= PT_BPE_MAX_IDS)
        return pt_fail(e, PT_EFORMAT, "token id %u is too large (ids must be below %u)", id, PT_BPE_MAX_IDS);
    if (n == 0 || n > PT_BPE_MAX_TOKEN_BYTES)
        return pt_fail(e, PT_EFORMAT, "token id %u has %zu bytes (1..%u allowed)", id, n, PT_BPE_MAX_TOKEN_BYTES);
    PT_TRY(ids_reserve(t, id, e));
    if (t->tok_len[id] != PT_BPE_NONE) return pt_fail(e, PT_EFORMAT, "token id %u appears twice", id);
    size_t slot = 0;
    uint64_t h = 0;
    if (!(flags & PT_BPE_TOKEN_TEXT)) {
        if ((size_t)t->lk_n * 2 >= t->lk_cap) PT_TRY(lk_grow(t, e));
        h = bytes_hash(bytes, n);
        slot = lk_find(t, bytes, n, h);
        if (t->lk[slot].id != PT_BPE_NONE)
            return pt_fail(e, PT_EFORMAT, "ids %u and %u are the same token", t->lk[slot].id, id);
    }
    if (t->pool_len + n > UINT32_MAX) return pt_fail(e, PT_ELIMIT, "the tokens exceed 4 GiB");
    if (t->pool_len + n > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap * 2 : 1 << 16;
        while (cap < t->pool_len + n) cap *= 2;
        unsigned char *p = pt_realloc(t->pool, cap, e);
        if (!p) return PT_ENOMEM;
        t->pool = p;
        t->pool_cap = cap;
    }
    memcpy(t->pool + t->pool_len, bytes, n);
    t->tok_off[id] = (uint32_t)t->pool_len;
    t->tok_len[id] = (uint32_t)n;
    t->tok_flags[id] = (uint8_t)(flags & PT_BPE_TOKEN_TEXT);
    t->pool_len += n;
    if (id >= t->n_ids) t->n_ids = id + 1;
    if (!(flags & PT_BPE_TOKEN_TEXT)) {
        t->lk[slot] = (pt_bpe_lk){id, (uint32_t)(h >> 32)};
        t->lk_n++;
        if (n == 1) t->byte_id[*(const unsigned char *)bytes] = id;
    }
    return PT_OK;
}

int pt_bpe_add_special(pt_bpe *t, uint32_t id, const void *content, size_t n, int special, pt_err *e) {
    assert(!t->finished);
    if (id < t->n_ids && t->tok_len[id] != PT_BPE_NONE) {
        if (t->tok_len[id] != n || memcmp(t->pool + t->tok_off[id], content, n))
            return pt_fail(e, PT_EFORMAT, "added token id %u differs from the vocabulary's token %u", id, id);
    } else {
        PT_TRY(pt_bpe_add_token(t, id, content, n, PT_BPE_TOKEN_TEXT, e));
    }
    t->tok_flags[id] |= PT_BPE_TOKEN_ADDED | (special ? PT_BPE_TOKEN_SPECIAL : 0);
    return PT_OK;
}

int pt_bpe_add_merge(pt_bpe *t, uint32_t left, uint32_t right, pt_err *e) {
    assert(!t->finished);
    const uint32_t lr[2] = {left, right};
    for (int k = 0; k < 2; k++)
        if (lr[k] >= t->n_ids || t->tok_len[lr[k]] == PT_BPE_NONE || (t->tok_flags[lr[k]] & PT_BPE_TOKEN_TEXT))
            return pt_fail(e, PT_EFORMAT, "merge %u: id %u is not a byte-level token", t->n_merges, lr[k]);
    size_t nl = t->tok_len[left], nr = t->tok_len[right];
    unsigned char stack[256], *cat = stack;
    if (nl + nr > sizeof stack && !(cat = pt_malloc(nl + nr, e))) return PT_ENOMEM;
    memcpy(cat, t->pool + t->tok_off[left], nl);
    memcpy(cat + nl, t->pool + t->tok_off[right], nr);
    uint32_t merged = pt_bpe_lookup(t, cat, nl + nr);
    if (cat != stack) free(cat);
    if (merged == PT_BPE_NONE)
        return pt_fail(e, PT_EFORMAT, "merge %u: tokens %u and %u make no token of the vocabulary", t->n_merges,
                       left, right);
    if (t->n_merges == PT_BPE_MAX_MERGES)
        return pt_fail(e, PT_ELIMIT, "more than %u merges are not supported", PT_BPE_MAX_MERGES);
    if (t->n_merges == t->cap_merges) {
        size_t cap = t->cap_merges ? (size_t)t->cap_merges * 2 : 1024;
        uint32_t(*m)[3] = pt_realloc(t->merges, cap * sizeof *m, e);
        if (!m) return PT_ENOMEM;
        t->merges = m;
        t->cap_merges = (uint32_t)cap;
    }
    t->merges[t->n_merges][0] = left;
    t->merges[t->n_merges][1] = right;
    t->merges[t->n_merges][2] = merged;
    t->n_merges++;
    return PT_OK;
}

static void put_u32(pt_hasher *h, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    pt_hasher_update(h, b, 4);
}

int pt_bpe_finish(pt_bpe *t, pt_err *e) {
    assert(!t->finished);
    for (unsigned b = 0; b < 256; b++)
        if (t->byte_id[b] == PT_BPE_NONE) {
            char s[3];
            pt_bpe_map(&(unsigned char){(unsigned char)b}, 1, s);
            return pt_fail(e, PT_EFORMAT, "the vocabulary has no token for byte 0x%02X (\"%s\"); a byte-level BPE "
                           "needs all 256", b, s);
        }
    /* the merge table (bpe_impl.h); a pair listed again overwrites its earlier rank */
    unsigned bits = 4;
    while (((size_t)1 << bits) < (size_t)t->n_merges * 2) bits++;
    size_t cap = (size_t)1 << bits;
    t->mt = pt_malloc(cap * sizeof *t->mt, e);
    if (!t->mt) return PT_ENOMEM;
    memset(t->mt, 0xFF, cap * sizeof *t->mt);
    t->mt_shift = 64 - bits;
    for (uint32_t r = 0; r < t->n_merges; r++) {
        uint64_t key = (uint64_t)t->merges[r][0] << 22 | t->merges[r][1];
        size_t i = pt_bpe_mt_slot(t, key);
        for (; t->mt[i] != PT_BPE_MT_EMPTY && (t->mt[i] >> 20) != key; i = (i + 1) & (cap - 1)) {}
        t->mt[i] = key << 20 | r;
    }
    pt_hasher h;
    pt_hasher_init(&h, 0x7061727230742d62ull);
    pt_hasher_update(&h, "pt_bpe/1", 8);
    put_u32(&h, (uint32_t)(t->opt.add_prefix_space ? 1 : 0) | (uint32_t)(t->opt.ignore_merges ? 2 : 0));
    put_u32(&h, t->n_ids);
    for (uint32_t id = 0; id < t->n_ids; id++) {
        put_u32(&h, t->tok_len[id]);
        if (t->tok_len[id] == PT_BPE_NONE) continue;
        put_u32(&h, t->tok_flags[id]);
        pt_hasher_update(&h, t->pool + t->tok_off[id], t->tok_len[id]);
    }
    put_u32(&h, t->n_merges);
    for (uint32_t r = 0; r < t->n_merges; r++) {
        put_u32(&h, t->merges[r][0]);
        put_u32(&h, t->merges[r][1]);
    }
    t->hash = pt_hasher_final(&h);
    t->finished = 1;
    return PT_OK;
}

/* ---- reading --------------------------------------------------------------------------- */

uint32_t pt_bpe_lookup(const pt_bpe *t, const void *bytes, size_t n) {
    if (!t->lk_cap || !n) return PT_BPE_NONE;
    return t->lk[lk_find(t, bytes, n, bytes_hash(bytes, n))].id;
}

uint32_t pt_bpe_vocab_size(const pt_bpe *t) { return t->n_ids; }

const unsigned char *pt_bpe_token(const pt_bpe *t, uint32_t id, size_t *len, unsigned *flags) {
    if (id >= t->n_ids || t->tok_len[id] == PT_BPE_NONE) return NULL;
    if (len) *len = t->tok_len[id];
    if (flags) *flags = t->tok_flags[id];
    return t->pool + t->tok_off[id];
}

uint32_t pt_bpe_merge_count(const pt_bpe *t) { return t->n_merges; }

int pt_bpe_merge(const pt_bpe *t, uint32_t r, uint32_t *left, uint32_t *right, uint32_t *merged) {
    if (r >= t->n_merges) return -1;
    if (left) *left = t->merges[r][0];
    if (right) *right = t->merges[r][1];
    if (merged) *merged = t->merges[r][2];
    return 0;
}

pt_bpe_options pt_bpe_get_options(const pt_bpe *t) { return t->opt; }

pt_hash128 pt_bpe_hash(const pt_bpe *t) {
    assert(t->finished);
    return t->hash;
}
