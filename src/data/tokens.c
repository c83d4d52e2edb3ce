/* tokens.c - token shards: writer and memory-mapped reader (see tokens.h and
 * docs/formats.md, "Token shards"). */
#include "data/tokens.h"

#include <assert.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/shards.h"

/* Header field offsets (all little-endian). */
enum {
    H_MAGIC = 0,
    H_VERSION = 8,       /* u32 */
    H_HEADER_SIZE = 12,  /* u32 */
    H_FILE_SIZE = 16,    /* u64 */
    H_VOCAB = 24,        /* u32 */
    H_WIDTH = 28,        /* u32: 2 or 4 */
    H_TOKENS = 32,       /* u64 */
    H_DOCS = 40,         /* u64 */
    H_TOK_HASH = 48,     /* 16: pt_bpe_hash of the tokenizer */
    H_EOT = 64,          /* u32 */
    H_RESERVED0 = 68,    /* u32, zero */
    H_TOKENS_HASH = 72,  /* 16: pt_hash128 of the token section */
    H_INDEX_HASH = 88,   /* 16: pt_hash128 of the index section */
    H_RESERVED1 = 104,   /* 16 bytes, zero */
    H_HEADER_HASH = 120, /* u64: pt_hash64 of bytes [0, 120) */
};
#define HS PT_TOKENS_HEADER_SIZE
#define SEED PT_TOKENS_HASH_SEED
#define DEFAULT_SHARD_TOKENS (1ull << 28)
#define WRITEBACK_BYTES ((uint64_t)8 << 20)

static const char MAGIC[8] = PT_TOKENS_MAGIC;

static inline uint64_t rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void wr64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void wr32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wr_hash(unsigned char *p, pt_hash128 h) { wr64(p, h.lo); wr64(p + 8, h.hi); }
static inline pt_hash128 rd_hash(const unsigned char *p) { return (pt_hash128){rd64(p), rd64(p + 8)}; }
static inline int hash_eq(const unsigned char *p, pt_hash128 h) { return rd64(p) == h.lo && rd64(p + 8) == h.hi; }
static uint64_t align8(uint64_t x) { return (x + 7) & ~(uint64_t)7; }
static uint32_t width_for(uint32_t vocab) { return vocab <= 65536u ? 2u : 4u; }

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "token shards are little-endian; this reader uses them in place"
#endif

/* ---- names ----------------------------------------------------------------------- */

/* Number of shard files "<split>-NNNNN.tok" in dir, and whether they are exactly 0..n-1
 * (else *gap is the first missing number, or -1). */
static int count_shards(const char *dir, const char *split, uint32_t *n, int64_t *gap, pt_err *e) {
    uint32_t *nums;
    PT_TRY(pt_shards_list(dir, split, PT_TOKENS_EXT, &nums, NULL, n, e));
    *gap = pt_shards_gap(nums, *n);
    free(nums);
    return PT_OK;
}

/* ---- validation of one shard --------------------------------------------------------- */

typedef struct shard {
    char *path;
    pt_map map;
    uint32_t width, vocab, eot, version;
    uint64_t ntok, ndocs, fsize;
    pt_hash128 th;
    pt_hash128 tok_hash, index_hash; /* the recorded (and verified) section checksums */
    const unsigned char *tok;   /* ntok * width bytes */
    const unsigned char *index; /* ndocs u64 */
} shard;

static int bad(const char *name, pt_err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(const char *name, pt_err *e, const char *fmt, ...) {
    char m[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return pt_fail(e, PT_EFORMAT, "%s: %s", name, m);
}

/* Validates p[0..n) as a whole shard and fills sh's fields (not path/map). */
static int check_shard(shard *sh, const unsigned char *p, uint64_t n, const char *name, pt_err *e) {
    if (n == 0) return bad(name, e, "truncated: the file is empty (at least %u bytes missing)", HS);
    if (memcmp(p, MAGIC, n < 8 ? n : 8)) return bad(name, e, "not a parrot token shard (bad magic)");
    if (n >= H_VERSION + 4) {
        uint32_t v = rd32(p + H_VERSION);
        if (v > PT_TOKENS_VERSION)
            return bad(name, e, "format version %" PRIu32 " is newer than this parrot reads (up to %u): upgrade parrot",
                       v, PT_TOKENS_VERSION);
        if (v == 0) return bad(name, e, "unknown format version 0");
    }
    if (n < HS) {
        uint64_t want = n >= H_FILE_SIZE + 8 ? rd64(p + H_FILE_SIZE) : 0;
        if (want > n)
            return bad(name, e, "truncated: %" PRIu64 " of %" PRIu64 " bytes present (%" PRIu64 " bytes missing)", n,
                       want, want - n);
        return bad(name, e, "truncated: %" PRIu64 " bytes, shorter than the %u-byte header (at least %" PRIu64
                   " bytes missing)", n, HS, HS - n);
    }
    uint32_t hsize = rd32(p + H_HEADER_SIZE);
    if (hsize != HS) return bad(name, e, "header size %" PRIu32 ", expected %u for format version 1", hsize, HS);
    if (rd64(p + H_HEADER_HASH) != pt_hash64(p, H_HEADER_HASH, SEED))
        return bad(name, e, "header checksum mismatch (the header is corrupt)");
    uint64_t fsize = rd64(p + H_FILE_SIZE);
    if (n < fsize)
        return bad(name, e, "truncated: %" PRIu64 " of %" PRIu64 " bytes present (%" PRIu64 " bytes missing)", n,
                   fsize, fsize - n);
    if (n > fsize)
        return bad(name, e, "%" PRIu64 " unexpected bytes after the end of the shard (%" PRIu64 " bytes)", n - fsize,
                   fsize);
    sh->version = rd32(p + H_VERSION);
    sh->vocab = rd32(p + H_VOCAB);
    sh->width = rd32(p + H_WIDTH);
    sh->ntok = rd64(p + H_TOKENS);
    sh->ndocs = rd64(p + H_DOCS);
    sh->eot = rd32(p + H_EOT);
    sh->th = rd_hash(p + H_TOK_HASH);
    sh->fsize = fsize;
    if (sh->vocab == 0) return bad(name, e, "vocabulary size 0");
    if (sh->width != 2 && sh->width != 4) return bad(name, e, "token width %" PRIu32 " (expected 2 or 4 bytes)", sh->width);
    if (sh->width != width_for(sh->vocab))
        return bad(name, e, "token width %" PRIu32 " does not match vocabulary size %" PRIu32 " (expected %u bytes)",
                   sh->width, sh->vocab, width_for(sh->vocab));
    if (sh->eot >= sh->vocab)
        return bad(name, e, "end-of-text id %" PRIu32 " is outside the vocabulary (%" PRIu32 " ids)", sh->eot, sh->vocab);
    if (rd32(p + H_RESERVED0) || rd64(p + H_RESERVED1) || rd64(p + H_RESERVED1 + 8))
        return bad(name, e, "reserved header bytes are not zero");
    /* Sections: tokens at HS, then the index at the next multiple of 8, to the end. */
    uint64_t room = fsize - HS;
    if (sh->ntok > room / sh->width)
        return bad(name, e, "header says %" PRIu64 " tokens of %" PRIu32 " bytes, but the file has %" PRIu64
                   " bytes after the header", sh->ntok, sh->width, room);
    uint64_t ioff = align8(HS + sh->ntok * sh->width);
    if (ioff > fsize || sh->ndocs > (fsize - ioff) / 8 || ioff + sh->ndocs * 8 != fsize)
        return bad(name, e, "section sizes (%" PRIu64 " tokens, %" PRIu64 " documents) do not add up to the file size %"
                   PRIu64, sh->ntok, sh->ndocs, fsize);
    for (uint64_t o = HS + sh->ntok * sh->width; o < ioff; o++)
        if (p[o]) return bad(name, e, "padding byte at offset %" PRIu64 " is not zero", o);
    sh->tok = p + HS;
    sh->index = p + ioff;
    if (!hash_eq(p + H_INDEX_HASH, pt_hash128_of(sh->index, sh->ndocs * 8, SEED)))
        return bad(name, e, "document index checksum mismatch (the index is corrupt)");
    if (!hash_eq(p + H_TOKENS_HASH, pt_hash128_of(sh->tok, sh->ntok * sh->width, SEED)))
        return bad(name, e, "token checksum mismatch (the tokens are corrupt)");
    sh->tok_hash = rd_hash(p + H_TOKENS_HASH);
    sh->index_hash = rd_hash(p + H_INDEX_HASH);
    /* The index: starts non-decreasing from 0, within the tokens. */
    if (sh->ndocs == 0 && sh->ntok)
        return bad(name, e, "%" PRIu64 " tokens but no documents", sh->ntok);
    uint64_t prev = 0;
    for (uint64_t d = 0; d < sh->ndocs; d++) {
        uint64_t s = rd64(sh->index + 8 * d);
        if (d == 0 && s != 0) return bad(name, e, "document 0 starts at token %" PRIu64 ", expected 0", s);
        if (s < prev || s > sh->ntok)
            return bad(name, e, "document %" PRIu64 " starts at token %" PRIu64 " (out of order or past the %" PRIu64
                       " tokens)", d, s, sh->ntok);
        prev = s;
    }
    /* Every id within the vocabulary (u16 shards of a 65536-id vocabulary always are). */
    if (sh->width == 2 && sh->vocab < 65536) {
        const unsigned char *t = sh->tok;
        uint16_t mx = 0;
        for (uint64_t i = 0; i < sh->ntok; i++) {
            uint16_t v;
            memcpy(&v, t + 2 * i, 2);
            mx = v > mx ? v : mx;
        }
        if (mx >= sh->vocab) goto out_of_vocab;
    } else if (sh->width == 4) {
        uint32_t mx = 0;
        for (uint64_t i = 0; i < sh->ntok; i++) {
            uint32_t v = rd32(sh->tok + 4 * i);
            mx = v > mx ? v : mx;
        }
        if (mx >= sh->vocab) goto out_of_vocab;
    }
    return PT_OK;
out_of_vocab:
    for (uint64_t i = 0; i < sh->ntok; i++) {
        uint32_t v = sh->width == 2 ? (uint32_t)(sh->tok[2 * i] | sh->tok[2 * i + 1] << 8) : rd32(sh->tok + 4 * i);
        if (v >= sh->vocab)
            return bad(name, e, "token %" PRIu64 " is id %" PRIu32 ", outside the vocabulary (%" PRIu32 " ids)", i, v,
                       sh->vocab);
    }
    return bad(name, e, "an id outside the vocabulary"); /* not reached */
}

int pt_tokens_check_buffer(const unsigned char *p, size_t n, const char *name, pt_err *e) {
    shard sh;
    memset(&sh, 0, sizeof sh);
    return check_shard(&sh, p, n, name, e);
}

/* ---- reader ------------------------------------------------------------------------ */

struct pt_tokens {
    shard *sh;
    uint32_t n;
    uint64_t *cum;  /* n + 1: tokens before shard k */
    uint64_t *dcum; /* n + 1: documents before shard k */
};

void pt_tokens_close(pt_tokens *t) {
    if (!t) return;
    for (uint32_t k = 0; k < t->n; k++) {
        pt_map_close(&t->sh[k].map);
        free(t->sh[k].path);
    }
    free(t->sh);
    free(t->cum);
    free(t->dcum);
    free(t);
}

int pt_tokens_open(pt_tokens **out, const char *dir, const char *split, pt_err *e) {
    *out = NULL;
    PT_TRY(pt_shards_check_split(split, e));
    uint32_t n;
    int64_t gap;
    PT_TRY(count_shards(dir, split, &n, &gap, e));
    if (n == 0) return pt_fail(e, PT_EIO, "%s: no token shards of split '%s' (%s-00000" PT_TOKENS_EXT ")", dir, split, split);
    if (gap >= 0) {
        char *p = pt_shards_path(dir, split, PT_TOKENS_EXT, (uint32_t)gap);
        int rc = pt_fail(e, PT_EFORMAT, "%s: missing: split '%s' has %u shard files but not this one", p ? p : dir,
                         split, n);
        free(p);
        return rc;
    }
    pt_tokens *t = pt_calloc(1, sizeof *t, e);
    if (!t) return PT_ENOMEM;
    t->sh = pt_calloc(n, sizeof *t->sh, e);
    t->cum = pt_calloc(n + 1, sizeof *t->cum, e);
    t->dcum = pt_calloc(n + 1, sizeof *t->dcum, e);
    if (!t->sh || !t->cum || !t->dcum) {
        pt_tokens_close(t);
        return PT_ENOMEM;
    }
    t->n = n;
    int rc = PT_OK;
    for (uint32_t k = 0; k < n && !rc; k++) {
        shard *sh = &t->sh[k];
        if (!(sh->path = pt_shards_path(dir, split, PT_TOKENS_EXT, k))) { rc = pt_fail(e, PT_ENOMEM, "out of memory"); break; }
        rc = pt_map_open(&sh->map, sh->path, e);
        if (!rc) rc = check_shard(sh, sh->map.data, sh->map.size, sh->path, e);
        if (!rc && k > 0) {
            const shard *s0 = &t->sh[0];
            if (sh->vocab != s0->vocab || sh->eot != s0->eot || sh->th.lo != s0->th.lo || sh->th.hi != s0->th.hi)
                rc = bad(sh->path, e, "made with another tokenizer than %s (vocabulary %" PRIu32 " vs %" PRIu32
                         ", end-of-text %" PRIu32 " vs %" PRIu32 ", or its hash)", s0->path, sh->vocab, s0->vocab,
                         sh->eot, s0->eot);
        }
        if (!rc) {
            t->cum[k + 1] = t->cum[k] + sh->ntok;
            t->dcum[k + 1] = t->dcum[k] + sh->ndocs;
        }
    }
    if (rc) {
        pt_tokens_close(t);
        return rc;
    }
    *out = t;
    return PT_OK;
}

uint64_t pt_tokens_count(const pt_tokens *t) { return t->cum[t->n]; }
uint64_t pt_tokens_docs(const pt_tokens *t) { return t->dcum[t->n]; }
uint32_t pt_tokens_vocab_size(const pt_tokens *t) { return t->sh[0].vocab; }
uint32_t pt_tokens_eot(const pt_tokens *t) { return t->sh[0].eot; }
pt_hash128 pt_tokens_tokenizer_hash(const pt_tokens *t) { return t->sh[0].th; }
uint32_t pt_tokens_shard_count(const pt_tokens *t) { return t->n; }

pt_hash128 pt_tokens_content_hash(const pt_tokens *t) {
    /* the shards' verified checksums in order, with the facts that give the ids a meaning */
    pt_hasher h;
    pt_hasher_init(&h, SEED);
    for (uint32_t k = 0; k < t->n; k++) {
        const shard *sh = &t->sh[k];
        uint64_t v[10] = {k, sh->width, sh->vocab, sh->eot, sh->ntok, sh->ndocs, sh->tok_hash.lo, sh->tok_hash.hi,
                          sh->index_hash.lo, sh->index_hash.hi};
        pt_hasher_update(&h, v, sizeof v);
        pt_hasher_update(&h, &sh->th, sizeof sh->th);
    }
    return pt_hasher_final(&h);
}

int pt_tokens_check_vocab(const pt_tokens *t, uint32_t vocab_size, pt_err *e) {
    for (uint32_t k = 0; k < t->n; k++)
        if (t->sh[k].vocab != vocab_size)
            return bad(t->sh[k].path, e, "made for a vocabulary of %" PRIu32 " ids, but the tokenizer has %" PRIu32
                       "%s", t->sh[k].vocab, vocab_size,
                       t->sh[k].width == 2 && vocab_size > 65536 ? " (a 2-byte shard cannot hold its ids)" : "");
    return PT_OK;
}

void pt_tokens_shard(const pt_tokens *t, uint32_t k, pt_tokens_shard_info *info) {
    const shard *sh = &t->sh[k];
    info->path = sh->path;
    info->version = sh->version;
    info->width = sh->width;
    info->vocab_size = sh->vocab;
    info->eot = sh->eot;
    info->tokens = sh->ntok;
    info->docs = sh->ndocs;
    info->file_size = sh->fsize;
    info->tokenizer_hash = sh->th;
    info->tokens_hash = sh->tok_hash;
}

/* The shard holding position i of a cumulative array (cum[k] <= i < cum[k+1]). */
static uint32_t find(const uint64_t *cum, uint32_t n, uint64_t i) {
    uint32_t lo = 0, hi = n; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cum[mid] <= i) lo = mid;
        else hi = mid;
    }
    /* skip empty shards */
    while (lo + 1 < n && cum[lo + 1] <= i) lo++;
    return lo;
}

static inline uint32_t shard_get(const shard *sh, uint64_t j) {
    if (sh->width == 2) {
        uint16_t v;
        memcpy(&v, sh->tok + 2 * j, 2);
        return v;
    }
    return rd32(sh->tok + 4 * j);
}

uint32_t pt_tokens_get(const pt_tokens *t, uint64_t i) {
    uint32_t k = t->n == 1 ? 0 : find(t->cum, t->n, i);
    return shard_get(&t->sh[k], i - t->cum[k]);
}

void pt_tokens_read(const pt_tokens *t, uint64_t i, size_t n, uint32_t *out) {
    assert(i <= pt_tokens_count(t) && n <= pt_tokens_count(t) - i);
    if (!n) return;
    uint32_t k = t->n == 1 ? 0 : find(t->cum, t->n, i);
    while (n) {
        const shard *sh = &t->sh[k];
        uint64_t j = i - t->cum[k];
        size_t m = sh->ntok - j < n ? (size_t)(sh->ntok - j) : n;
        if (sh->width == 2) {
            const unsigned char *p = sh->tok + 2 * j;
            for (size_t q = 0; q < m; q++) out[q] = (uint32_t)p[2 * q] | (uint32_t)p[2 * q + 1] << 8;
        } else {
            memcpy(out, sh->tok + 4 * j, m * 4);
        }
        out += m;
        n -= m;
        i += m;
        k++;
    }
}

uint64_t pt_tokens_doc_start(const pt_tokens *t, uint64_t d) {
    uint32_t k = t->n == 1 ? 0 : find(t->dcum, t->n, d);
    return t->cum[k] + rd64(t->sh[k].index + 8 * (d - t->dcum[k]));
}

/* ---- writer ------------------------------------------------------------------------ */

struct pt_tokens_writer {
    char *dir, *split;
    uint32_t vocab, eot, width;
    pt_hash128 th;
    uint64_t limit;
    pt_afile f;      /* current shard; f.f == NULL when none is open */
    pt_hasher thash; /* of its token section */
    pt_buf index;    /* its document starts */
    uint64_t ntok, ndocs;
    uint32_t nshards; /* committed */
    uint64_t total_tok, total_docs;
    uint64_t kicked;  /* bytes of the current shard whose writeback has been started */
    unsigned char conv[8192];
};

static int shard_begin(pt_tokens_writer *w, pt_err *e) {
    char *path = pt_shards_path(w->dir, w->split, PT_TOKENS_EXT, w->nshards);
    if (!path) return pt_fail(e, PT_ENOMEM, "out of memory");
    int rc = pt_afile_open(&w->f, path, e);
    free(path);
    if (rc) return rc;
    static const unsigned char zero[HS];
    pt_hasher_init(&w->thash, SEED);
    pt_buf_clear(&w->index);
    w->ntok = w->ndocs = 0;
    w->kicked = 0;
    return pt_afile_write(&w->f, zero, HS, e);
}

static int shard_finish(pt_tokens_writer *w, pt_err *e) {
    static const unsigned char zero[8];
    uint64_t tend = HS + w->ntok * w->width, ioff = align8(tend);
    int rc = pt_afile_write(&w->f, zero, ioff - tend, e);
    if (!rc) rc = pt_afile_write(&w->f, w->index.len ? w->index.data : "", w->index.len, e);
    if (!rc) {
        unsigned char h[HS];
        memset(h, 0, sizeof h);
        memcpy(h + H_MAGIC, MAGIC, 8);
        wr32(h + H_VERSION, PT_TOKENS_VERSION);
        wr32(h + H_HEADER_SIZE, HS);
        wr64(h + H_FILE_SIZE, ioff + w->index.len);
        wr32(h + H_VOCAB, w->vocab);
        wr32(h + H_WIDTH, w->width);
        wr64(h + H_TOKENS, w->ntok);
        wr64(h + H_DOCS, w->ndocs);
        wr_hash(h + H_TOK_HASH, w->th);
        wr32(h + H_EOT, w->eot);
        wr_hash(h + H_TOKENS_HASH, pt_hasher_final(&w->thash));
        wr_hash(h + H_INDEX_HASH, pt_hash128_of(w->index.len ? w->index.data : "", w->index.len, SEED));
        wr64(h + H_HEADER_HASH, pt_hash64(h, H_HEADER_HASH, SEED));
        rc = pt_afile_pwrite(&w->f, h, HS, 0, e);
    }
    if (rc) {
        pt_afile_abort(&w->f);
        return rc;
    }
    PT_TRY(pt_afile_commit(&w->f, e));
    w->nshards++;
    w->total_tok += w->ntok;
    w->total_docs += w->ndocs;
    return PT_OK;
}

int pt_tokens_writer_open(pt_tokens_writer **out, const char *dir, const char *split, uint32_t vocab_size,
                          uint32_t eot, pt_hash128 th, uint64_t shard_tokens, pt_err *e) {
    *out = NULL;
    PT_TRY(pt_shards_check_split(split, e));
    if (vocab_size == 0 || eot >= vocab_size)
        return pt_fail(e, PT_EUSAGE, "token writer: end-of-text id %u outside a vocabulary of %u ids", eot, vocab_size);
    PT_TRY(pt_fs_mkdir_p(dir, e));
    uint32_t n;
    int64_t gap;
    PT_TRY(count_shards(dir, split, &n, &gap, e));
    if (n) return pt_fail(e, PT_EEXIST, "%s: token shards of split '%s' already exist", dir, split);
    pt_tokens_writer *w = pt_calloc(1, sizeof *w, e);
    if (!w) return PT_ENOMEM;
    w->dir = strdup(dir);
    w->split = strdup(split);
    if (!w->dir || !w->split) {
        pt_tokens_writer_abort(w);
        return pt_fail(e, PT_ENOMEM, "out of memory");
    }
    w->vocab = vocab_size;
    w->eot = eot;
    w->width = width_for(vocab_size);
    w->th = th;
    w->limit = shard_tokens ? shard_tokens : DEFAULT_SHARD_TOKENS;
    *out = w;
    return PT_OK;
}

/* Appends ids[0..n) to the current shard's token section (checked, converted, hashed). */
static int append_ids(pt_tokens_writer *w, const uint32_t *ids, size_t n, pt_err *e) {
    uint32_t mx = 0;
    for (size_t i = 0; i < n; i++) mx = ids[i] > mx ? ids[i] : mx;
    if (n && mx >= w->vocab)
        for (size_t i = 0; i < n; i++)
            if (ids[i] >= w->vocab)
                return pt_fail(e, PT_EUSAGE, "token writer: id %u outside the vocabulary (%u ids)", ids[i], w->vocab);
    if (w->width == 4) {
        PT_TRY(pt_afile_write(&w->f, ids, n * 4, e));
        pt_hasher_update(&w->thash, ids, n * 4);
    } else {
        size_t per = sizeof w->conv / 2;
        for (size_t i = 0; i < n; i += per) {
            size_t m = n - i < per ? n - i : per;
            for (size_t q = 0; q < m; q++) {
                uint16_t v = (uint16_t)ids[i + q];
                memcpy(w->conv + 2 * q, &v, 2);
            }
            PT_TRY(pt_afile_write(&w->f, w->conv, m * 2, e));
            pt_hasher_update(&w->thash, w->conv, m * 2);
        }
    }
    w->ntok += n;
    /* Start the kernel's writeback of what is written so far, without waiting for it, every
     * WRITEBACK_BYTES: the fsync at commit then finds little left to write (it would
     * otherwise flush the whole shard at once, ~0.3 s per 100 MB here, serialized after the
     * encoding). Advisory: a failure here is caught by the fsync at commit. */
    uint64_t at = HS + w->ntok * w->width;
    if (at - w->kicked >= WRITEBACK_BYTES && fflush(w->f.f) == 0) {
        sync_file_range(fileno(w->f.f), (off_t)w->kicked, (off_t)(at - w->kicked), SYNC_FILE_RANGE_WRITE);
        w->kicked = at;
    }
    return PT_OK;
}

/* One document: ids[0..n), then the end-of-text id if eot. */
static int add_doc(pt_tokens_writer *w, const uint32_t *ids, size_t n, int eot, pt_err *e) {
    if (w->f.f && w->ntok >= w->limit) PT_TRY(shard_finish(w, e));
    if (!w->f.f) PT_TRY(shard_begin(w, e));
    unsigned char rec[8];
    wr64(rec, w->ntok);
    PT_TRY(pt_buf_append(&w->index, rec, 8, e));
    PT_TRY(append_ids(w, ids, n, e));
    if (eot) PT_TRY(append_ids(w, &w->eot, 1, e));
    w->ndocs++;
    return PT_OK;
}

int pt_tokens_writer_add(pt_tokens_writer *w, const uint32_t *ids, size_t n, pt_err *e) {
    return add_doc(w, ids, n, 0, e);
}

int pt_tokens_writer_add_eot(pt_tokens_writer *w, const uint32_t *ids, size_t n, pt_err *e) {
    return add_doc(w, ids, n, 1, e);
}

static void remove_committed(pt_tokens_writer *w) {
    for (uint32_t k = 0; k < w->nshards; k++) {
        char *p = pt_shards_path(w->dir, w->split, PT_TOKENS_EXT, k);
        if (p) remove(p);
        free(p);
    }
}

static void writer_free(pt_tokens_writer *w) {
    pt_buf_free(&w->index);
    free(w->dir);
    free(w->split);
    free(w);
}

int pt_tokens_writer_close(pt_tokens_writer *w, uint32_t *shards, uint64_t *tokens, uint64_t *docs, pt_err *e) {
    int rc = PT_OK;
    if (!w->f.f && w->nshards == 0) rc = shard_begin(w, e); /* an empty split still gets a shard */
    if (!rc && w->f.f) rc = shard_finish(w, e);
    if (rc) {
        pt_tokens_writer_abort(w);
        return rc;
    }
    if (shards) *shards = w->nshards;
    if (tokens) *tokens = w->total_tok;
    if (docs) *docs = w->total_docs;
    writer_free(w);
    return PT_OK;
}

void pt_tokens_writer_abort(pt_tokens_writer *w) {
    if (!w) return;
    if (w->f.f || w->f.tmp) pt_afile_abort(&w->f);
    remove_committed(w);
    writer_free(w);
}
