/* store.c - document shards: streaming writer, validating zero-copy reader, describe.
 * See store.h for the design and docs/formats.md for the byte layout. */
#include "corpus/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/shards.h"
#include "base/hash.h"
#include "base/jsonw.h"

/* Header field offsets (version 1). */
enum {
    H_MAGIC = 0, H_VERSION = 8, H_HEADER_SIZE = 12, H_FILE_SIZE = 16, H_DOCS = 24,
    H_CONTENT_OFF = 32, H_CONTENT_SIZE = 40, H_INDEX_OFF = 48, H_INDEX_SIZE = 56,
    H_META_OFF = 64, H_META_SIZE = 72, H_RECORD_SIZE = 80, H_FLAGS = 84,
    H_CONTENT_HASH = 88, H_INDEX_HASH = 104, H_META_HASH = 120, H_HEADER_HASH = 136,
};
/* Index record field offsets. */
enum { R_CONTENT_OFF = 0, R_CONTENT_LEN = 8, R_META_OFF = 16, R_META_LENS = 24, R_EXACT = 44, R_NEAR = 48, R_SOURCE = 52 };
#define NMETA 5
#define HS PT_STORE_HEADER_SIZE
#define RS PT_STORE_RECORD_SIZE
#define MAX_SHARDS 100000u /* five digits in the name */

static const char MAGIC[8] = PT_STORE_MAGIC;
static const char *const META_NAMES[NMETA] = {"repo_name", "path", "license", "size", "copies"};

_Static_assert(sizeof(PT_STORE_MAGIC) == 8, "the magic is 8 bytes with its NUL");
_Static_assert(R_SOURCE + 4 == RS && H_HEADER_HASH + 8 == HS, "layout constants agree");

/* ---- little-endian fields -------------------------------------------------------- */

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LE64(x) __builtin_bswap64(x)
#define LE32(x) __builtin_bswap32(x)
#else
#define LE64(x) (x)
#define LE32(x) (x)
#endif

static inline uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return LE64(v);
}
static inline uint32_t rd32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return LE32(v);
}
static inline void wr64(unsigned char *p, uint64_t v) {
    v = LE64(v);
    memcpy(p, &v, 8);
}
static inline void wr32(unsigned char *p, uint32_t v) {
    v = LE32(v);
    memcpy(p, &v, 4);
}
static inline void wr_hash(unsigned char *p, pt_hash128 h) {
    wr64(p, h.lo);
    wr64(p + 8, h.hi);
}
static inline int hash_eq(const unsigned char *p, pt_hash128 h) { return rd64(p) == h.lo && rd64(p + 8) == h.hi; }

static uint64_t align8(uint64_t x) { return (x + 7) & ~(uint64_t)7; }

/* ---- names and directory listing -------------------------------------------------- */

/* ---- writer ---------------------------------------------------------------------- */

struct pt_store_writer {
    char *dir, *split;
    uint64_t limit;
    unsigned flags;
    pt_afile f;         /* the shard being written; f.f == NULL when none is open */
    uint32_t shard;     /* number of the open (or next) shard = shards committed so far */
    uint64_t docs;      /* documents in the open shard */
    uint64_t csize;     /* its content section so far: documents + NULs */
    pt_hasher chash;    /* of its content section */
    pt_buf index, meta; /* its index and metadata sections, written at shard close */
    pt_store_stats st;
    int failed;
};

static int shard_begin(pt_store_writer *w, pt_err *e) {
    if (w->shard >= MAX_SHARDS)
        return pt_fail(e, PT_ELIMIT, "%s: split '%s' would need more than %u shards", w->dir, w->split, MAX_SHARDS);
    char *path = pt_shards_path(w->dir, w->split, PT_STORE_EXT, w->shard);
    if (!path) return pt_fail(e, PT_ENOMEM, "out of memory");
    int rc = pt_afile_open(&w->f, path, e);
    free(path);
    if (rc) return rc;
    w->f.nosync = (w->flags & PT_STORE_NOSYNC) != 0;
    static const unsigned char zero[HS]; /* placeholder: the header is patched at shard close */
    w->docs = w->csize = 0;
    pt_hasher_init(&w->chash, PT_STORE_HASH_SEED);
    pt_buf_clear(&w->index);
    pt_buf_clear(&w->meta);
    return pt_afile_write(&w->f, zero, HS, e);
}

static int shard_finish(pt_store_writer *w, pt_err *e) {
    static const unsigned char zero[8];
    uint64_t cend = HS + w->csize, ioff = align8(cend), moff = ioff + w->index.len, fsize = moff + w->meta.len;
    unsigned char h[HS] = {0};
    int rc = pt_afile_write(&w->f, zero, ioff - cend, e);
    if (!rc) rc = pt_afile_write(&w->f, w->index.data, w->index.len, e);
    if (!rc) rc = pt_afile_write(&w->f, w->meta.data, w->meta.len, e);
    if (!rc) {
        memcpy(h + H_MAGIC, MAGIC, 8);
        wr32(h + H_VERSION, PT_STORE_VERSION);
        wr32(h + H_HEADER_SIZE, HS);
        wr64(h + H_FILE_SIZE, fsize);
        wr64(h + H_DOCS, w->docs);
        wr64(h + H_CONTENT_OFF, HS);
        wr64(h + H_CONTENT_SIZE, w->csize);
        wr64(h + H_INDEX_OFF, ioff);
        wr64(h + H_INDEX_SIZE, w->index.len);
        wr64(h + H_META_OFF, moff);
        wr64(h + H_META_SIZE, w->meta.len);
        wr32(h + H_RECORD_SIZE, RS);
        wr32(h + H_FLAGS, 0);
        wr_hash(h + H_CONTENT_HASH, pt_hasher_final(&w->chash));
        /* (a section never appended to has data == NULL: hash "" instead) */
        wr_hash(h + H_INDEX_HASH, pt_hash128_of(w->index.len ? w->index.data : "", w->index.len, PT_STORE_HASH_SEED));
        wr_hash(h + H_META_HASH, pt_hash128_of(w->meta.len ? w->meta.data : "", w->meta.len, PT_STORE_HASH_SEED));
        wr64(h + H_HEADER_HASH, pt_hash64(h, H_HEADER_HASH, PT_STORE_HASH_SEED));
        rc = pt_afile_pwrite(&w->f, h, HS, 0, e);
    }
    if (rc) {
        pt_afile_abort(&w->f);
        return rc;
    }
    PT_TRY(pt_afile_commit(&w->f, e)); /* closes w->f whatever happens */
    w->shard++;
    w->st.shards++;
    w->st.file_bytes += fsize;
    return PT_OK;
}

int pt_store_writer_open(pt_store_writer **out, const char *dir, const char *split, uint64_t shard_bytes,
                         unsigned flags, pt_err *e) {
    *out = NULL;
    PT_TRY(pt_shards_check_split(split, e));
    PT_TRY(pt_fs_mkdir_p(dir, e));
    uint32_t *nums, n;
    PT_TRY(pt_shards_list(dir, split, PT_STORE_EXT, &nums, NULL, &n, e));
    int rc = PT_OK;
    for (uint32_t i = 0; i < n && !rc; i++) {
        char *p = pt_shards_path(dir, split, PT_STORE_EXT, nums[i]);
        if (!p) rc = pt_fail(e, PT_ENOMEM, "out of memory");
        else if (!(flags & PT_STORE_OVERWRITE))
            rc = pt_fail(e, PT_EEXIST, "%s: split '%s' already has shards here (%u files)", p, split, n);
        else if (unlink(p) != 0)
            rc = pt_fail_errno(e, PT_EIO, "%s: cannot remove", p);
        free(p);
    }
    free(nums);
    if (rc) return rc;
    pt_store_writer *w = pt_calloc(1, sizeof *w, e);
    if (!w) return PT_ENOMEM;
    w->dir = strdup(dir);
    w->split = strdup(split);
    if (!w->dir || !w->split) {
        pt_store_writer_abort(w);
        return pt_fail(e, PT_ENOMEM, "out of memory");
    }
    w->limit = shard_bytes ? shard_bytes : PT_STORE_DEFAULT_SHARD_BYTES;
    w->flags = flags;
    *out = w;
    return PT_OK;
}

static int writer_add(pt_store_writer *w, const pt_doc *d, pt_err *e) {
    const char *fields[NMETA] = {d->repo_name, d->path, d->license, d->size, d->copies};
    const uint32_t lens[NMETA] = {d->repo_name_len, d->path_len, d->license_len, d->size_len, d->copies_len};
    for (int k = 0; k < NMETA; k++)
        if (fields[k] && lens[k] >= PT_STORE_ABSENT)
            return pt_fail(e, PT_ELIMIT, "%s: document %" PRIu64 ": %s is too long (%" PRIu32 " bytes)", w->dir,
                           w->st.docs, META_NAMES[k], lens[k]);
    if (d->content_len && !d->content) return pt_fail(e, PT_EUSAGE, "document without content pointer");
    if (w->f.f && w->docs > 0 && w->csize + d->content_len + 1 > w->limit) PT_TRY(shard_finish(w, e));
    if (!w->f.f) PT_TRY(shard_begin(w, e));

    unsigned char r[RS];
    wr64(r + R_CONTENT_OFF, w->csize);
    wr64(r + R_CONTENT_LEN, d->content_len);
    wr64(r + R_META_OFF, w->meta.len);
    for (int k = 0; k < NMETA; k++) {
        wr32(r + R_META_LENS + 4 * k, fields[k] ? lens[k] : PT_STORE_ABSENT);
        if (fields[k]) {
            PT_TRY(pt_buf_append(&w->meta, fields[k], lens[k], e));
            PT_TRY(pt_buf_putc(&w->meta, 0, e));
        }
    }
    wr32(r + R_EXACT, d->exact_copies);
    wr32(r + R_NEAR, d->near_copies);
    wr32(r + R_SOURCE, d->source);
    PT_TRY(pt_buf_append(&w->index, r, RS, e));

    PT_TRY(pt_afile_write(&w->f, d->content, d->content_len, e));
    PT_TRY(pt_afile_write(&w->f, "", 1, e));
    if (d->content_len) pt_hasher_update(&w->chash, d->content, d->content_len);
    pt_hasher_update(&w->chash, "", 1);
    w->docs++;
    w->csize += d->content_len + 1;
    w->st.docs++;
    w->st.content_bytes += d->content_len;
    return PT_OK;
}

int pt_store_writer_add(pt_store_writer *w, const pt_doc *d, pt_err *e) {
    if (w->failed) return pt_fail(e, PT_EUSAGE, "%s: split '%s': writer used after a failure", w->dir, w->split);
    int rc = writer_add(w, d, e);
    if (rc) w->failed = 1;
    return rc;
}

void pt_store_writer_stats(const pt_store_writer *w, pt_store_stats *st) {
    *st = w->st;
    if (w->f.f) st->shards++, st->file_bytes += HS + w->csize + w->index.len + w->meta.len;
}

int pt_store_writer_close(pt_store_writer *w, pt_store_stats *st, pt_err *e) {
    int rc = w->failed ? pt_fail(e, PT_EUSAGE, "%s: split '%s': writer closed after a failure", w->dir, w->split)
                       : PT_OK;
    if (!rc && w->f.f) rc = shard_finish(w, e);
    if (rc) {
        pt_store_writer_abort(w);
        return rc;
    }
    if (st) *st = w->st;
    free(w->dir);
    free(w->split);
    pt_buf_free(&w->index);
    pt_buf_free(&w->meta);
    free(w);
    return PT_OK;
}

void pt_store_writer_abort(pt_store_writer *w) {
    if (!w) return;
    if (w->f.f || w->f.tmp) pt_afile_abort(&w->f);
    for (uint32_t k = 0; k < w->shard; k++) {
        char *p = pt_shards_path(w->dir, w->split, PT_STORE_EXT, k);
        if (p) unlink(p);
        free(p);
    }
    free(w->dir);
    free(w->split);
    pt_buf_free(&w->index);
    pt_buf_free(&w->meta);
    free(w);
}

/* ---- reader: one shard ------------------------------------------------------------ */

typedef struct shard {
    char *path;
    pt_map map;
    const unsigned char *content, *index, *meta;
    uint64_t docs, csize, isize, msize;
    uint32_t version;
} shard;

static int bad(const shard *sh, pt_err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(const shard *sh, pt_err *e, const char *fmt, ...) {
    char m[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return pt_fail(e, PT_EFORMAT, "%s: %s", sh->path, m);
}

/* The header and section layout against the file's real size. */
static int check_header(shard *sh, pt_err *e) {
    const unsigned char *p = sh->map.data;
    uint64_t n = sh->map.size;
    if (n == 0) return bad(sh, e, "truncated: the file is empty (at least %u bytes missing)", HS);
    if (memcmp(p, MAGIC, n < 8 ? n : 8)) return bad(sh, e, "not a parrot document shard (bad magic)");
    if (n >= H_HEADER_SIZE) {
        uint32_t v = rd32(p + H_VERSION);
        if (v > PT_STORE_VERSION)
            return bad(sh, e, "format version %" PRIu32 " is newer than this parrot reads (up to %u): upgrade parrot",
                       v, PT_STORE_VERSION);
        if (v == 0) return bad(sh, e, "unknown format version 0");
        sh->version = v;
    }
    if (n < HS) {
        uint64_t want = n >= H_FILE_SIZE + 8 ? rd64(p + H_FILE_SIZE) : 0;
        if (want > n)
            return bad(sh, e, "truncated: %" PRIu64 " of %" PRIu64 " bytes present (%" PRIu64 " bytes missing)", n,
                       want, want - n);
        return bad(sh, e, "truncated: %" PRIu64 " bytes, shorter than the %u-byte header (at least %" PRIu64
                   " bytes missing)", n, HS, HS - n);
    }
    uint32_t hsize = rd32(p + H_HEADER_SIZE);
    if (hsize != HS) return bad(sh, e, "header size %" PRIu32 ", expected %u for format version 1", hsize, HS);
    if (rd64(p + H_HEADER_HASH) != pt_hash64(p, H_HEADER_HASH, PT_STORE_HASH_SEED))
        return bad(sh, e, "header checksum mismatch (the header is corrupt)");
    uint64_t fsize = rd64(p + H_FILE_SIZE);
    if (n < fsize)
        return bad(sh, e, "truncated: %" PRIu64 " of %" PRIu64 " bytes present (%" PRIu64 " bytes missing)", n, fsize,
                   fsize - n);
    if (n > fsize) return bad(sh, e, "%" PRIu64 " unexpected bytes after the end of the shard (%" PRIu64 " bytes)",
                              n - fsize, fsize);
    if (rd32(p + H_RECORD_SIZE) != RS)
        return bad(sh, e, "index record size %" PRIu32 ", expected %u", rd32(p + H_RECORD_SIZE), RS);
    if (rd32(p + H_FLAGS) != 0) return bad(sh, e, "unknown flags 0x%" PRIx32, rd32(p + H_FLAGS));
    uint64_t coff = rd64(p + H_CONTENT_OFF), ioff = rd64(p + H_INDEX_OFF), moff = rd64(p + H_META_OFF);
    sh->docs = rd64(p + H_DOCS);
    sh->csize = rd64(p + H_CONTENT_SIZE);
    sh->isize = rd64(p + H_INDEX_SIZE);
    sh->msize = rd64(p + H_META_SIZE);
    if (coff != HS) return bad(sh, e, "content section at offset %" PRIu64 ", expected %u", coff, HS);
    if (sh->csize > fsize - HS)
        return bad(sh, e, "content section (%" PRIu64 " bytes) runs past the end of the file", sh->csize);
    uint64_t cend = HS + sh->csize;
    if (ioff != align8(cend)) return bad(sh, e, "index section at offset %" PRIu64 ", expected %" PRIu64, ioff, align8(cend));
    if (ioff > fsize || sh->docs > (fsize - ioff) / RS || sh->isize != sh->docs * RS)
        return bad(sh, e, "index section (%" PRIu64 " bytes for %" PRIu64 " documents) does not fit the file",
                   sh->isize, sh->docs);
    if (moff != ioff + sh->isize)
        return bad(sh, e, "metadata section at offset %" PRIu64 ", expected %" PRIu64, moff, ioff + sh->isize);
    if (sh->msize != fsize - moff)
        return bad(sh, e, "metadata section (%" PRIu64 " bytes at %" PRIu64 ") does not end at the end of the file",
                   sh->msize, moff);
    for (uint64_t x = cend; x < ioff; x++)
        if (p[x]) return bad(sh, e, "non-zero padding byte at offset %" PRIu64, x);
    sh->content = p + HS;
    sh->index = p + ioff;
    sh->meta = p + moff;
    if (!hash_eq(p + H_INDEX_HASH, pt_hash128_of(sh->index, sh->isize, PT_STORE_HASH_SEED)))
        return bad(sh, e, "index checksum mismatch (the index section is corrupt)");
    if (!hash_eq(p + H_META_HASH, pt_hash128_of(sh->meta, sh->msize, PT_STORE_HASH_SEED)))
        return bad(sh, e, "metadata checksum mismatch (the metadata section is corrupt)");
    return PT_OK;
}

/* How much of the content's NULs an open reads. */
enum { NUL_NONE, NUL_LAST, NUL_ALL };

/* Every record: contiguous offsets in bounds, a NUL after each string (for the content: as
 * nul says; the last one alone keeps any C-string read inside the section). */
static int check_records(const shard *sh, int nul, pt_err *e) {
    uint64_t cpos = 0, mpos = 0;
    for (uint64_t i = 0; i < sh->docs; i++) {
        const unsigned char *r = sh->index + i * RS;
        uint64_t off = rd64(r + R_CONTENT_OFF), len = rd64(r + R_CONTENT_LEN), moff = rd64(r + R_META_OFF);
        if (off != cpos)
            return bad(sh, e, "record %" PRIu64 ": content offset %" PRIu64 ", expected %" PRIu64, i, off, cpos);
        if (cpos >= sh->csize || len > sh->csize - cpos - 1)
            return bad(sh, e, "record %" PRIu64 ": content (%" PRIu64 " bytes at %" PRIu64
                       ") is out of bounds of the content section (%" PRIu64 " bytes)", i, len, off, sh->csize);
        if ((nul == NUL_ALL || (nul == NUL_LAST && i + 1 == sh->docs)) && sh->content[cpos + len])
            return bad(sh, e, "record %" PRIu64 ": content is not NUL-terminated", i);
        cpos += len + 1;
        if (moff != mpos)
            return bad(sh, e, "record %" PRIu64 ": metadata offset %" PRIu64 ", expected %" PRIu64, i, moff, mpos);
        for (int k = 0; k < NMETA; k++) {
            uint32_t l = rd32(r + R_META_LENS + 4 * k);
            if (l == PT_STORE_ABSENT) continue;
            if (mpos >= sh->msize || l > sh->msize - mpos - 1)
                return bad(sh, e, "record %" PRIu64 ": %s (%" PRIu32 " bytes at %" PRIu64
                           ") is out of bounds of the metadata section (%" PRIu64 " bytes)", i, META_NAMES[k], l,
                           mpos, sh->msize);
            if (sh->meta[mpos + l]) return bad(sh, e, "record %" PRIu64 ": %s is not NUL-terminated", i, META_NAMES[k]);
            mpos += (uint64_t)l + 1;
        }
    }
    if (cpos != sh->csize)
        return bad(sh, e, "the records cover %" PRIu64 " of the %" PRIu64 " content bytes", cpos, sh->csize);
    if (mpos != sh->msize)
        return bad(sh, e, "the records cover %" PRIu64 " of the %" PRIu64 " metadata bytes", mpos, sh->msize);
    return PT_OK;
}

static int shard_load(shard *sh, const char *path, int nul, pt_err *e) {
    memset(sh, 0, sizeof *sh);
    if (!(sh->path = strdup(path))) return pt_fail(e, PT_ENOMEM, "out of memory");
    PT_TRY(pt_map_open(&sh->map, path, e));
    PT_TRY(check_header(sh, e));
    return check_records(sh, nul, e);
}

static void shard_unload(shard *sh) {
    pt_map_close(&sh->map);
    free(sh->path);
    sh->path = NULL;
}

/* ---- reader: a split -------------------------------------------------------------- */

struct pt_store {
    uint32_t nshards;
    shard *sh;
    uint64_t *cum; /* (nshards + 1): documents before shard k */
    uint64_t content_bytes;
};

void pt_store_close(pt_store *s) {
    if (!s) return;
    for (uint32_t k = 0; k < s->nshards; k++) shard_unload(&s->sh[k]);
    free(s->sh);
    free(s->cum);
    free(s);
}

static int store_open(pt_store **out, const char *dir, const char *split, int nul, pt_err *e) {
    *out = NULL;
    PT_TRY(pt_shards_check_split(split, e));
    uint32_t *nums, n;
    PT_TRY(pt_shards_list(dir, split, PT_STORE_EXT, &nums, NULL, &n, e));
    for (uint32_t k = 0; k < n; k++) {
        if (nums[k] == k) continue;
        char *p = pt_shards_path(dir, split, PT_STORE_EXT, k);
        int rc = pt_fail(e, PT_EFORMAT, "%s: missing: split '%s' has %u shard files but not this one", p ? p : dir,
                         split, n);
        free(p);
        free(nums);
        return rc;
    }
    free(nums);
    pt_store *s = pt_calloc(1, sizeof *s, e);
    if (!s) return PT_ENOMEM;
    s->sh = pt_calloc(n ? n : 1, sizeof *s->sh, e);
    s->cum = pt_calloc(n + 1, sizeof *s->cum, e);
    if (!s->sh || !s->cum) {
        pt_store_close(s);
        return PT_ENOMEM;
    }
    s->nshards = n;
    int rc = PT_OK;
    pt_err *errs = n ? pt_calloc(n, sizeof *errs, e) : NULL;
    if (n && !errs) rc = PT_ENOMEM;
    /* Shards validate independently; in parallel a cold cache is read with more I/O in flight. */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (n > 1 && !rc)
#endif
    for (uint32_t k = 0; k < n; k++) {
        char *p = pt_shards_path(dir, split, PT_STORE_EXT, k);
        if (!p) errs[k].code = pt_fail(&errs[k], PT_ENOMEM, "out of memory");
        else shard_load(&s->sh[k], p, nul, &errs[k]);
        free(p);
    }
    for (uint32_t k = 0; k < n && !rc; k++)
        if (errs[k].code) rc = pt_fail(e, errs[k].code, "%s", errs[k].msg);
    free(errs);
    if (rc) {
        pt_store_close(s);
        return rc;
    }
    for (uint32_t k = 0; k < n; k++) {
        s->cum[k + 1] = s->cum[k] + s->sh[k].docs;
        s->content_bytes += s->sh[k].csize - s->sh[k].docs;
    }
    *out = s;
    return PT_OK;
}

int pt_store_open_flags(pt_store **s, const char *dir, const char *split, unsigned flags, pt_err *e) {
    return store_open(s, dir, split, (flags & PT_STORE_OPEN_QUICK) ? NUL_LAST : NUL_ALL, e);
}

int pt_store_open(pt_store **s, const char *dir, const char *split, pt_err *e) {
    return store_open(s, dir, split, NUL_ALL, e);
}

uint64_t pt_store_count(const pt_store *s) { return s->cum[s->nshards]; }
uint64_t pt_store_content_bytes(const pt_store *s) { return s->content_bytes; }
uint32_t pt_store_shard_count(const pt_store *s) { return s->nshards; }
const char *pt_store_shard_path(const pt_store *s, uint32_t k) { return s->sh[k].path; }
uint64_t pt_store_shard_docs(const pt_store *s, uint32_t k) { return s->sh[k].docs; }

void pt_store_shard_release(const pt_store *s, uint32_t k, uint64_t before) {
    const shard *sh = &s->sh[k];
    const pt_map *m = &sh->map;
    if (!m->data) return;
    size_t end = m->size;
    if (before < sh->docs) { /* up to the page holding document `before`'s first byte */
        const unsigned char *p = sh->content + rd64(sh->index + before * RS + R_CONTENT_OFF);
        end = (size_t)(p - m->data) & ~(size_t)4095;
    }
    if (end) madvise((void *)m->data, end, MADV_DONTNEED);
}

void pt_store_get(const pt_store *s, uint64_t i, pt_doc *d) {
    uint32_t lo = 0, hi = s->nshards; /* the last shard k with cum[k] <= i holds i */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->cum[mid] <= i) lo = mid;
        else hi = mid;
    }
    const shard *sh = &s->sh[lo];
    const unsigned char *r = sh->index + (i - s->cum[lo]) * RS;
    d->content = (const char *)sh->content + rd64(r + R_CONTENT_OFF);
    d->content_len = rd64(r + R_CONTENT_LEN);
    const char *m = (const char *)sh->meta + rd64(r + R_META_OFF);
    const char **ptr[NMETA] = {&d->repo_name, &d->path, &d->license, &d->size, &d->copies};
    uint32_t *len[NMETA] = {&d->repo_name_len, &d->path_len, &d->license_len, &d->size_len, &d->copies_len};
    for (int k = 0; k < NMETA; k++) {
        uint32_t l = rd32(r + R_META_LENS + 4 * k);
        if (l == PT_STORE_ABSENT) {
            *ptr[k] = NULL;
            *len[k] = 0;
        } else {
            *ptr[k] = m;
            *len[k] = l;
            m += (uint64_t)l + 1;
        }
    }
    d->exact_copies = rd32(r + R_EXACT);
    d->near_copies = rd32(r + R_NEAR);
    d->source = rd32(r + R_SOURCE);
}

int pt_store_verify(const pt_store *s, pt_err *e) {
    int first_bad = -1;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (s->nshards > 1)
#endif
    for (uint32_t k = 0; k < s->nshards; k++) {
        const shard *sh = &s->sh[k];
        if (sh->map.data) madvise((void *)sh->map.data, sh->map.size, MADV_SEQUENTIAL);
        pt_hash128 h = pt_hash128_of(sh->content, sh->csize, PT_STORE_HASH_SEED);
        if (!hash_eq(sh->map.data + H_CONTENT_HASH, h)) {
#ifdef _OPENMP
#pragma omp critical(pt_store_verify)
#endif
            if (first_bad < 0 || (uint32_t)first_bad > k) first_bad = (int)k;
        }
        if (sh->map.data) madvise((void *)sh->map.data, sh->map.size, MADV_NORMAL);
    }
    if (first_bad >= 0)
        return bad(&s->sh[first_bad], e, "content checksum mismatch (the content section is corrupt)");
    return PT_OK;
}

/* ---- describe --------------------------------------------------------------------- */

int pt_store_is_shard_file(const char *path) {
    char m[8];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, m, 8);
    close(fd);
    return n == 8 && !memcmp(m, MAGIC, 8);
}

static const char *human(uint64_t b, char out[32]) {
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int k = 0;
    while (v >= 1024 && k < 4) v /= 1024, k++;
    snprintf(out, 32, k ? "%.1f %s" : "%.0f %s", v, u[k]);
    return out;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int describe_shard(const char *path, int json, pt_buf *out, pt_err *e) {
    shard sh;
    int rc = shard_load(&sh, path, NUL_NONE, e);
    if (!rc) {
        char a[32], b[32];
        uint64_t cb = sh.csize - sh.docs;
        if (json) {
            rc = pt_buf_printf(out, e, "{\"kind\":\"document_shard\",\"path\":");
            if (!rc) rc = pt_jsonw_cstr(out, path, e);
            if (!rc)
                rc = pt_buf_printf(out, e, ",\"format_version\":%" PRIu32 ",\"documents\":%" PRIu64
                                   ",\"content_bytes\":%" PRIu64 ",\"index_bytes\":%" PRIu64
                                   ",\"metadata_bytes\":%" PRIu64 ",\"file_bytes\":%zu}",
                                   sh.version, sh.docs, cb, sh.isize, sh.msize, sh.map.size);
        } else {
            rc = pt_buf_printf(out, e,
                               "%s: parrot document shard, format version %" PRIu32 "\n"
                               "  documents  %" PRIu64 "\n  content    %s (%" PRIu64 " bytes)\n"
                               "  index      %" PRIu64 " bytes (%u per document)\n  metadata   %" PRIu64
                               " bytes\n  file       %s (%zu bytes)\n",
                               path, sh.version, sh.docs, human(cb, a), cb, sh.isize, RS, sh.msize,
                               human(sh.map.size, b), sh.map.size);
        }
    }
    shard_unload(&sh);
    return rc;
}

static int describe_split(const char *dir, const char *split, int json, int first, pt_buf *out, pt_err *e) {
    pt_store *s;
    PT_TRY(store_open(&s, dir, split, NUL_NONE, e));
    uint64_t fb = 0;
    for (uint32_t k = 0; k < s->nshards; k++) fb += s->sh[k].map.size;
    uint32_t ver = s->nshards ? s->sh[0].version : PT_STORE_VERSION;
    char a[32], b[32], c[32];
    int rc;
    if (json) {
        rc = pt_buf_printf(out, e, "%s{\"split\":", first ? "" : ",");
        if (!rc) rc = pt_jsonw_cstr(out, split, e);
        if (!rc)
            rc = pt_buf_printf(out, e, ",\"format_version\":%" PRIu32 ",\"documents\":%" PRIu64
                               ",\"content_bytes\":%" PRIu64 ",\"file_bytes\":%" PRIu64 ",\"shards\":[",
                               ver, pt_store_count(s), s->content_bytes, fb);
        for (uint32_t k = 0; k < s->nshards && !rc; k++) {
            const shard *sh = &s->sh[k];
            rc = pt_buf_printf(out, e, "%s{\"file\":", k ? "," : "");
            if (!rc) rc = pt_jsonw_cstr(out, base_name(sh->path), e);
            if (!rc)
                rc = pt_buf_printf(out, e, ",\"documents\":%" PRIu64 ",\"content_bytes\":%" PRIu64
                                   ",\"file_bytes\":%zu}", sh->docs, sh->csize - sh->docs, sh->map.size);
        }
        if (!rc) rc = pt_buf_printf(out, e, "]}");
    } else {
        rc = pt_buf_printf(out, e,
                           "%s: split '%s': %u shards, %" PRIu64 " documents, %s of content, %s on disk"
                           " (format version %" PRIu32 ")\n",
                           dir, split, s->nshards, pt_store_count(s), human(s->content_bytes, a), human(fb, b), ver);
        for (uint32_t k = 0; k < s->nshards && !rc; k++) {
            const shard *sh = &s->sh[k];
            rc = pt_buf_printf(out, e, "  %-24s %10" PRIu64 " documents  %10s content  %10s file\n",
                               base_name(sh->path), sh->docs, human(sh->csize - sh->docs, a), human(sh->map.size, c));
        }
    }
    pt_store_close(s);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int pt_store_describe(const char *path, int json, pt_buf *out, pt_err *e) {
    if (!pt_fs_is_dir(path)) {
        if (pt_fs_size(path) >= 0) return describe_shard(path, json, out, e);
        /* "DIR/SPLIT" */
        char *dir = strdup(path);
        if (!dir) return pt_fail(e, PT_ENOMEM, "out of memory");
        char *slash = strrchr(dir, '/');
        const char *split = slash ? slash + 1 : dir;
        if (slash) *slash = 0;
        const char *d = slash ? (dir[0] ? dir : "/") : ".";
        uint32_t *nums = NULL, n = 0;
        int rc = pt_fs_is_dir(d) && *split && !pt_shards_check_split(split, NULL) ? pt_shards_list(d, split, PT_STORE_EXT, &nums, NULL, &n, e)
                                                                          : PT_OK;
        free(nums);
        if (!rc && n == 0) rc = pt_fail(e, PT_EUSAGE, "%s: no such file, directory or split of document shards", path);
        if (!rc && json) rc = pt_buf_printf(out, e, "{\"kind\":\"document_store\",\"path\":");
        if (!rc && json) rc = pt_jsonw_cstr(out, d, e);
        if (!rc && json) rc = pt_buf_printf(out, e, ",\"splits\":[");
        if (!rc) rc = describe_split(d, split, json, 1, out, e);
        if (!rc && json) rc = pt_buf_printf(out, e, "]}");
        free(dir);
        return rc;
    }
    uint32_t *nums, n;
    char **names;
    PT_TRY(pt_shards_list(path, NULL, PT_STORE_EXT, &nums, &names, &n, e));
    if (n > 1) qsort(names, n, sizeof *names, cmp_str);
    int rc = n ? PT_OK : pt_fail(e, PT_EUSAGE, "%s: no document shards in this directory", path);
    if (!rc && json) rc = pt_buf_printf(out, e, "{\"kind\":\"document_store\",\"path\":");
    if (!rc && json) rc = pt_jsonw_cstr(out, path, e);
    if (!rc && json) rc = pt_buf_printf(out, e, ",\"splits\":[");
    for (uint32_t i = 0, nsplits = 0; i < n && !rc; i++) {
        if (i > 0 && !strcmp(names[i], names[i - 1])) continue; /* one entry per split */
        rc = describe_split(path, names[i], json, nsplits++ == 0, out, e);
    }
    if (!rc && json) rc = pt_buf_printf(out, e, "]}");
    for (uint32_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(nums);
    return rc;
}

/* ---- patching the per-document counts of a finished split ----------------------------- */

static int patch_shard(const char *path, pt_store_counts_fn fn, void *ctx, uint64_t *next, pt_err *e) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return pt_fail_errno(e, PT_EIO, "%s: cannot open", path);
    unsigned char h[HS];
    unsigned char *idx = NULL;
    int rc = PT_OK;
    if (pread(fd, h, HS, 0) != (ssize_t)HS || memcmp(h, MAGIC, 8) || rd32(h + H_VERSION) != PT_STORE_VERSION ||
        rd64(h + H_HEADER_HASH) != pt_hash64(h, H_HEADER_HASH, PT_STORE_HASH_SEED)) {
        rc = pt_fail(e, PT_EFORMAT, "%s: not a complete version %u document shard", path, PT_STORE_VERSION);
        goto out;
    }
    uint64_t docs = rd64(h + H_DOCS), ioff = rd64(h + H_INDEX_OFF), isize = rd64(h + H_INDEX_SIZE);
    if (isize != docs * RS) {
        rc = pt_fail(e, PT_EFORMAT, "%s: index size does not match the document count", path);
        goto out;
    }
    idx = pt_malloc(isize ? isize : 1, e);
    if (!idx) {
        rc = PT_ENOMEM;
        goto out;
    }
    if (pread(fd, idx, isize, (off_t)ioff) != (ssize_t)isize) {
        rc = pt_fail_errno(e, PT_EIO, "%s: cannot read the index", path);
        goto out;
    }
    for (uint64_t i = 0; i < docs; i++) {
        uint32_t exact, near;
        fn(ctx, (*next)++, &exact, &near);
        wr32(idx + i * RS + R_EXACT, exact);
        wr32(idx + i * RS + R_NEAR, near);
    }
    wr_hash(h + H_INDEX_HASH, pt_hash128_of(isize ? (const void *)idx : "", isize, PT_STORE_HASH_SEED));
    wr64(h + H_HEADER_HASH, pt_hash64(h, H_HEADER_HASH, PT_STORE_HASH_SEED));
    /* The index first, the header (which checksums it) last: a crash in between leaves a
     * shard whose checksum says so, never a wrong count that looks right. */
    if (pwrite(fd, idx, isize, (off_t)ioff) != (ssize_t)isize || pwrite(fd, h, HS, 0) != (ssize_t)HS)
        rc = pt_fail_errno(e, PT_EIO, "%s: cannot write", path);
    else if (fsync(fd) != 0)
        rc = pt_fail_errno(e, PT_EIO, "%s: fsync failed", path);
out:
    free(idx);
    close(fd);
    return rc;
}

int pt_store_patch_counts(const char *dir, const char *split, pt_store_counts_fn fn, void *ctx, pt_err *e) {
    PT_TRY(pt_shards_check_split(split, e));
    uint32_t *nums = NULL, n = 0;
    PT_TRY(pt_shards_list(dir, split, PT_STORE_EXT, &nums, NULL, &n, e)); /* sorted */
    int rc = PT_OK;
    uint64_t next = 0;
    for (uint32_t k = 0; k < n && !rc; k++) {
        if (nums[k] != k) {
            rc = pt_fail(e, PT_EFORMAT, "%s: shard %05u of split '%s' is missing", dir, k, split);
            break;
        }
        char *path = pt_shards_path(dir, split, PT_STORE_EXT, k);
        rc = path ? patch_shard(path, fn, ctx, &next, e) : pt_fail(e, PT_ENOMEM, "out of memory");
        free(path);
    }
    free(nums);
    return rc;
}
