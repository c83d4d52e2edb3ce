/* test_store.c - document shards: round trip, random access, every corruption, abort, speed. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "corpus/store.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------------ */

static char *make_tmpdir(void) {
    char t[] = "/tmp/pt-store-XXXXXX";
    return strdup(mkdtemp(t));
}

static void rm_dir(char *d) {
    pt_fs_rm_rf(d, NULL);
    free(d);
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static char *path2(const char *dir, const char *name) { return pt_path_join(dir, name); }

static uint64_t rng_next(uint64_t *s) { return pt_mix64((*s)++); }

/* A generated document that owns its bytes; f[k] == NULL for an absent field. */
typedef struct gdoc {
    char *content;
    uint64_t len;
    char *f[5];
    uint32_t fl[5];
    uint32_t exact, near, source;
} gdoc;

static const char *const UTF8_BITS[] = {"é", "日本", "😀", "ß", "\xce\xbb"};

/* Content: length 0 .. large, ASCII plus multi-byte UTF-8 plus raw non-zero bytes, no NUL. */
static void gen_content(gdoc *g, uint64_t *s, uint64_t len) {
    g->content = malloc(len + 1);
    g->len = 0;
    while (g->len < len) {
        uint64_t r = rng_next(s);
        const char *bit = UTF8_BITS[r % 5];
        size_t bl = strlen(bit);
        if (r % 11 == 0 && g->len + bl <= len) {
            memcpy(g->content + g->len, bit, bl);
            g->len += bl;
        } else if (r % 97 == 0) {
            g->content[g->len++] = (char)(1 + (r >> 8) % 255); /* any byte but NUL */
        } else {
            g->content[g->len++] = (r >> 16) % 13 == 0 ? '\n' : (char)(' ' + (r >> 8) % 95);
        }
    }
    g->content[g->len] = 0;
}

static void gen_doc(gdoc *g, uint64_t *s, int big) {
    memset(g, 0, sizeof *g);
    uint64_t r = rng_next(s), len;
    if (big) len = 600000;
    else if (r % 20 == 0) len = 0;
    else if (r % 100 == 1) len = 20000 + rng_next(s) % 60000;
    else if (r % 3 == 0) len = 1 + rng_next(s) % 50;
    else len = 50 + rng_next(s) % 3000;
    gen_content(g, s, len);
    for (int k = 0; k < 5; k++) {
        uint64_t q = rng_next(s);
        char tmp[128];
        switch (q % 4) {
        case 0: continue; /* absent */
        case 1: tmp[0] = 0; break;
        case 2: snprintf(tmp, sizeof tmp, "org%u/repo-%u.py", (unsigned)(q >> 8) % 1000, (unsigned)(q >> 20)); break;
        default: snprintf(tmp, sizeof tmp, "dépôt/日本語-%u", (unsigned)(q >> 8)); break;
        }
        g->f[k] = strdup(tmp);
        g->fl[k] = (uint32_t)strlen(tmp);
    }
    uint64_t q = rng_next(s);
    g->exact = q % 7 == 0 ? UINT32_MAX : (uint32_t)(q % 5);
    g->near = (uint32_t)(q >> 32);
    g->source = (uint32_t)(q >> 8) % 9;
}

static void gdoc_free(gdoc *g) {
    free(g->content);
    for (int k = 0; k < 5; k++) free(g->f[k]);
}

static pt_doc as_doc(const gdoc *g) {
    pt_doc d = {.content = g->content, .content_len = g->len, .repo_name = g->f[0], .path = g->f[1],
                .license = g->f[2], .size = g->f[3], .copies = g->f[4], .repo_name_len = g->fl[0],
                .path_len = g->fl[1], .license_len = g->fl[2], .size_len = g->fl[3], .copies_len = g->fl[4],
                .exact_copies = g->exact, .near_copies = g->near, .source = g->source};
    return d;
}

/* 1 when the stored document equals the generated one, NUL terminators included. */
static int same_doc(const pt_doc *d, const gdoc *g) {
    if (d->content_len != g->len || memcmp(d->content, g->content, g->len) || d->content[g->len]) return 0;
    const char *p[5] = {d->repo_name, d->path, d->license, d->size, d->copies};
    uint32_t l[5] = {d->repo_name_len, d->path_len, d->license_len, d->size_len, d->copies_len};
    for (int k = 0; k < 5; k++) {
        if (!g->f[k]) {
            if (p[k] || l[k]) return 0;
        } else if (!p[k] || l[k] != g->fl[k] || memcmp(p[k], g->f[k], l[k]) || p[k][l[k]]) {
            return 0;
        }
    }
    return d->exact_copies == g->exact && d->near_copies == g->near && d->source == g->source;
}

/* Writes n generated docs (doc `big_at` is larger than the shard limit) into dir/split. */
static gdoc *write_split(const char *dir, const char *split, int n, int big_at, uint64_t limit, unsigned flags,
                         pt_store_stats *st) {
    gdoc *g = calloc((size_t)n, sizeof *g);
    uint64_t s = 12345;
    pt_err e = {0};
    pt_store_writer *w = NULL;
    CHECK_OK(pt_store_writer_open(&w, dir, split, limit, flags, &e), &e);
    if (!w) return g;
    for (int i = 0; i < n; i++) {
        gen_doc(&g[i], &s, i == big_at);
        pt_doc d = as_doc(&g[i]);
        CHECK_OK(pt_store_writer_add(w, &d, &e), &e);
    }
    pt_store_stats mid;
    pt_store_writer_stats(w, &mid);
    CHECK_EQ_U64(mid.docs, n);
    CHECK_OK(pt_store_writer_close(w, st, &e), &e);
    return g;
}

static void free_docs(gdoc *g, int n) {
    for (int i = 0; i < n; i++) gdoc_free(&g[i]);
    free(g);
}

static uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* tests run on little-endian hosts */
}
static void wr64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static void wr32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

/* ---- round trip ---------------------------------------------------------------------- */

TEST(round_trip_many_shards) {
    char *dir = make_tmpdir();
    const int n = 3000;
    const uint64_t limit = 256 << 10;
    pt_store_stats st = {0};
    gdoc *g = write_split(dir, "train", n, 1500, limit, PT_STORE_NOSYNC, &st);
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) sum += g[i].len;
    CHECK_EQ_U64(st.docs, n);
    CHECK_EQ_U64(st.content_bytes, sum);
    CHECK(st.shards >= 10);
    CHECK_EQ_U64(count_files(dir), st.shards);

    pt_err e = {0};
    pt_store *s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "train", &e), &e);
    if (!s) goto out;
    CHECK_EQ_U64(pt_store_count(s), n);
    CHECK_EQ_U64(pt_store_content_bytes(s), sum);
    CHECK_EQ_U64(pt_store_shard_count(s), st.shards);
    uint64_t fb = 0, docs = 0;
    for (uint32_t k = 0; k < pt_store_shard_count(s); k++) {
        char name[32];
        snprintf(name, sizeof name, "train-%05u.pds", k);
        CHECK(strstr(pt_store_shard_path(s, k), name) != NULL);
        fb += (uint64_t)pt_fs_size(pt_store_shard_path(s, k));
        docs += pt_store_shard_docs(s, k);
        /* the content section (header offset 40) stays within the limit unless one document is alone */
        pt_buf b = {0};
        CHECK_OK(pt_fs_read_all(pt_store_shard_path(s, k), &b, &e), &e);
        CHECK(rd64((unsigned char *)b.data + 40) <= limit || pt_store_shard_docs(s, k) == 1);
        pt_buf_free(&b);
    }
    CHECK_EQ_U64(fb, st.file_bytes);
    CHECK_EQ_U64(docs, n);

    int bad = 0;
    pt_doc d;
    for (int i = 0; i < n; i++) {
        pt_store_get(s, (uint64_t)i, &d);
        if (!same_doc(&d, &g[i])) bad++;
    }
    CHECK_EQ_U64(bad, 0);
    uint64_t r = 99;
    for (int t = 0; t < 20000; t++) {
        uint64_t i = rng_next(&r) % n;
        pt_store_get(s, i, &d);
        if (!same_doc(&d, &g[i])) bad++;
    }
    CHECK_EQ_U64(bad, 0);
    /* concurrent readers */
#ifdef _OPENMP
#pragma omp parallel for reduction(+ : bad)
#endif
    for (int i = 0; i < n; i++) {
        pt_doc dd;
        pt_store_get(s, (uint64_t)(n - 1 - i), &dd);
        if (!same_doc(&dd, &g[n - 1 - i])) bad++;
    }
    CHECK_EQ_U64(bad, 0);
    CHECK_OK(pt_store_verify(s, &e), &e);
    pt_store_close(s);

    /* reopen: the same documents */
    s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "train", &e), &e);
    if (s) {
        for (int i = 0; i < n; i += 7) {
            pt_store_get(s, (uint64_t)i, &d);
            if (!same_doc(&d, &g[i])) bad++;
        }
        CHECK_EQ_U64(bad, 0);
        pt_store_get(s, 1500, &d);
        CHECK_EQ_U64(d.content_len, 600000);
        pt_store_close(s);
    }
out:
    free_docs(g, n);
    rm_dir(dir);
}

TEST(fsync_path_and_default_limit) {
    char *dir = make_tmpdir();
    pt_store_stats st = {0};
    gdoc *g = write_split(dir, "valid", 50, -1, 0, 0, &st); /* default limit, with fsync */
    CHECK_EQ_U64(st.shards, 1);
    pt_err e = {0};
    pt_store *s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "valid", &e), &e);
    if (s) {
        pt_doc d;
        int bad = 0;
        for (int i = 0; i < 50; i++) pt_store_get(s, (uint64_t)i, &d), bad += !same_doc(&d, &g[i]);
        CHECK_EQ_U64(bad, 0);
        pt_store_close(s);
    }
    free_docs(g, 50);
    rm_dir(dir);
}

TEST(empty_split) {
    char *dir = make_tmpdir();
    pt_err e = {0};
    pt_store_writer *w = NULL;
    pt_store_stats st = {1, 1, 1, 1};
    CHECK_OK(pt_store_writer_open(&w, dir, "valid", 0, 0, &e), &e);
    CHECK_OK(pt_store_writer_close(w, &st, &e), &e);
    CHECK(st.docs == 0 && st.shards == 0 && st.file_bytes == 0);
    CHECK_EQ_U64(count_files(dir), 0);
    pt_store *s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "valid", &e), &e);
    CHECK(s && pt_store_count(s) == 0 && pt_store_content_bytes(s) == 0);
    CHECK_OK(pt_store_verify(s, &e), &e);
    pt_store_close(s);
    /* a document with no content pointer and every field absent */
    pt_doc d0 = {.exact_copies = 3, .near_copies = 2, .source = 1}, d1;
    CHECK_OK(pt_store_writer_open(&w, dir, "tiny", 0, PT_STORE_NOSYNC, &e), &e);
    CHECK_OK(pt_store_writer_add(w, &d0, &e), &e);
    CHECK_OK(pt_store_writer_close(w, NULL, &e), &e);
    s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "tiny", &e), &e);
    if (s) {
        CHECK_EQ_U64(pt_store_count(s), 1);
        pt_store_get(s, 0, &d1);
        CHECK(d1.content && d1.content_len == 0 && d1.content[0] == 0 && !d1.repo_name && !d1.path &&
              !d1.license && !d1.size && !d1.copies && d1.exact_copies == 3 && d1.near_copies == 2 && d1.source == 1);
        CHECK_OK(pt_store_verify(s, &e), &e);
        pt_store_close(s);
    }
    CHECK(pt_store_open(&s, "/nonexistent/pt-store", "train", &e) == PT_EIO);
    CHECK(strstr(e.msg, "/nonexistent/pt-store") != NULL);
    CHECK(pt_store_open(&s, dir, "a/b", &e) == PT_EUSAGE);
    CHECK(pt_store_writer_open(&w, dir, "", 0, 0, &e) == PT_EUSAGE);
    rm_dir(dir);
}

TEST(existing_shards_and_overwrite) {
    char *dir = make_tmpdir();
    pt_store_stats st;
    free_docs(write_split(dir, "a", 300, -1, 64 << 10, PT_STORE_NOSYNC, &st), 300);
    CHECK(st.shards >= 3);
    gdoc *g = write_split(dir, "ab", 20, -1, 0, PT_STORE_NOSYNC, &st); /* a longer name, same prefix */
    pt_err e = {0};
    pt_store_writer *w = NULL;
    CHECK(pt_store_writer_open(&w, dir, "a", 0, 0, &e) == PT_EEXIST);
    CHECK(strstr(e.msg, "a-00000.pds") != NULL);
    /* a stale temporary file is ignored by the reader */
    char *tmp = path2(dir, "a-00000.pds.tmp-99");
    CHECK_OK(pt_fs_write_atomic(tmp, "junk", 4, &e), &e);
    pt_store *s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "a", &e), &e);
    CHECK(s && pt_store_count(s) == 300);
    pt_store_close(s);
    /* overwrite: the old shards go, "ab" stays */
    CHECK_OK(pt_store_writer_open(&w, dir, "a", 0, PT_STORE_OVERWRITE | PT_STORE_NOSYNC, &e), &e);
    pt_doc d = as_doc(&g[0]);
    CHECK_OK(pt_store_writer_add(w, &d, &e), &e);
    CHECK_OK(pt_store_writer_close(w, &st, &e), &e);
    s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "a", &e), &e);
    CHECK(s && pt_store_count(s) == 1 && pt_store_shard_count(s) == 1);
    pt_store_close(s);
    s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "ab", &e), &e);
    CHECK(s && pt_store_count(s) == 20);
    pt_store_close(s);
    free(tmp);
    free_docs(g, 20);
    rm_dir(dir);
}

TEST(abort_leaves_no_files) {
    char *dir = make_tmpdir();
    pt_err e = {0};
    uint64_t sd = 7;
    gdoc g;
    pt_store_writer *w = NULL;
    CHECK_OK(pt_store_writer_open(&w, dir, "stage", 16 << 10, PT_STORE_NOSYNC, &e), &e);
    if (!w) goto out;
    for (int i = 0; i < 200; i++) {
        gen_doc(&g, &sd, 0);
        pt_doc d = as_doc(&g);
        CHECK_OK(pt_store_writer_add(w, &d, &e), &e);
        gdoc_free(&g);
    }
    pt_store_stats st;
    pt_store_writer_stats(w, &st);
    CHECK(st.shards >= 3);
    CHECK(count_files(dir) >= 3); /* committed shards + the open temporary */
    pt_store_writer_abort(w);
    CHECK_EQ_U64(count_files(dir), 0);
    /* a failed add (a field too long) leaves the writer to abort */
    CHECK_OK(pt_store_writer_open(&w, dir, "stage", 0, 0, &e), &e);
    if (!w) goto out;
    pt_doc d = {.content = "x", .content_len = 1, .path = "p", .path_len = UINT32_MAX};
    CHECK(pt_store_writer_add(w, &d, &e) == PT_ELIMIT);
    CHECK(strstr(e.msg, "path") != NULL);
    d.path_len = 1;
    CHECK(pt_store_writer_add(w, &d, &e) != 0);
    pt_store_writer_abort(w);
    CHECK_EQ_U64(count_files(dir), 0);
out:
    pt_store_writer_abort(NULL);
    rm_dir(dir);
}

TEST(missing_shard) {
    char *dir = make_tmpdir();
    pt_store_stats st;
    free_docs(write_split(dir, "train", 300, -1, 32 << 10, PT_STORE_NOSYNC, &st), 300);
    CHECK(st.shards >= 4);
    char *p1 = path2(dir, "train-00001.pds"), *p0 = path2(dir, "train-00000.pds");
    pt_err e = {0};
    pt_store *s = NULL;
    unlink(p1);
    CHECK(pt_store_open(&s, dir, "train", &e) == PT_EFORMAT && s == NULL);
    CHECK(strstr(e.msg, "train-00001.pds") && strstr(e.msg, "missing"));
    unlink(p0);
    CHECK(pt_store_open(&s, dir, "train", &e) == PT_EFORMAT);
    CHECK(strstr(e.msg, "train-00000.pds") && strstr(e.msg, "missing"));
    free(p0);
    free(p1);
    rm_dir(dir);
}

/* ---- corruption ------------------------------------------------------------------- */

static char *g_cdir; /* where corrupted copies are opened */

/* Writes bytes as the only shard of split "x" and opens it; checks that the open fails with
 * PT_EFORMAT, names the file and contains `want` (and `want2`). Returns 1 if so. */
static int rejects(const unsigned char *p, size_t n, const char *want, const char *want2) {
    char *path = path2(g_cdir, "x-00000.pds");
    FILE *f = fopen(path, "wb");
    if (n) fwrite(p, 1, n, f);
    fclose(f);
    pt_err e = {0};
    pt_store *s = NULL;
    int rc = pt_store_open(&s, g_cdir, "x", &e);
    int ok = rc == PT_EFORMAT && s == NULL && strstr(e.msg, "x-00000.pds") && (!want || strstr(e.msg, want)) &&
             (!want2 || strstr(e.msg, want2));
    if (!ok) printf("  rejects(%zu bytes, \"%s\"): rc %d: %s\n", n, want ? want : "", rc, e.msg);
    if (!rc) pt_store_close(s);
    free(path);
    return ok;
}

/* Walks every byte near the ends of [lo, hi) and every 7th elsewhere (keeps the test quick). */
static uint64_t step(uint64_t i, uint64_t lo, uint64_t hi) { return i < lo + 128 || i + 128 >= hi ? 1 : 7; }

/* Recomputes the index, metadata and header checksums after an edit (hash offsets 104, 120, 136). */
static void reseal(unsigned char *p) {
    uint64_t ioff = rd64(p + 48), isize = rd64(p + 56), moff = rd64(p + 64), msize = rd64(p + 72);
    pt_hash128 h = pt_hash128_of(p + ioff, isize, PT_STORE_HASH_SEED);
    wr64(p + 104, h.lo), wr64(p + 112, h.hi);
    h = pt_hash128_of(p + moff, msize, PT_STORE_HASH_SEED);
    wr64(p + 120, h.lo), wr64(p + 128, h.hi);
    wr64(p + 136, pt_hash64(p, 136, PT_STORE_HASH_SEED));
}

TEST(corruption_rejected) {
    char *dir = make_tmpdir();
    g_cdir = make_tmpdir();
    pt_store_stats st;
    free_docs(write_split(dir, "c", 40, -1, 0, PT_STORE_NOSYNC, &st), 40);
    pt_buf b = {0};
    pt_err e = {0};
    char *src = path2(dir, "c-00000.pds");
    CHECK_OK(pt_fs_read_all(src, &b, &e), &e);
    size_t n = b.len;
    unsigned char *orig = (unsigned char *)b.data, *p = malloc(n + 16);
    uint64_t ioff = rd64(orig + 48), isize = rd64(orig + 56), moff = rd64(orig + 64), msize = rd64(orig + 72);
    CHECK(n > 1000 && isize == 40 * PT_STORE_RECORD_SIZE && moff + msize == n);
    int fails = 0;
#define RESET() memcpy(p, orig, n)

    /* the untouched copy opens */
    RESET();
    FILE *f = fopen(src, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
    pt_store *s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "c", &e), &e);
    pt_store_close(s);

    /* truncated at many cut points (every one in the header, the index and the metadata, a
     * stride through the content): says so, and how many bytes are missing */
    for (size_t cut = 0; cut < n; cut += cut < 400 ? 1 : cut < ioff - 8 ? 97 : step(cut, ioff - 8, n)) {
        char want[64];
        if (cut >= 24) snprintf(want, sizeof want, "(%zu bytes missing)", n - cut);
        else snprintf(want, sizeof want, "at least %zu bytes missing", (size_t)PT_STORE_HEADER_SIZE - cut);
        fails += !rejects(orig, cut, "truncated", want);
    }
    CHECK_EQ_U64(fails, 0);
    /* trailing bytes */
    RESET();
    memset(p + n, 0, 5);
    CHECK(rejects(p, n + 5, "5 unexpected bytes", NULL));
    /* wrong magic; a text file */
    RESET();
    p[0] ^= 0x20;
    CHECK(rejects(p, n, "bad magic", NULL));
    CHECK(rejects((const unsigned char *)"{\"content\": \"hello\"}\n", 21, "not a parrot document shard", NULL));
    /* newer version (checked before the header checksum: a newer header may differ) */
    RESET();
    wr32(p + 8, 2);
    CHECK(rejects(p, n, "format version 2 is newer", "upgrade"));
    wr32(p + 8, 0);
    CHECK(rejects(p, n, "version 0", NULL));
    /* every header byte flipped, two ways */
    for (size_t i = 0; i < PT_STORE_HEADER_SIZE; i++)
        for (int m = 0; m < 2; m++) {
            RESET();
            p[i] ^= m ? 0x80 : 0x01;
            fails += !rejects(p, n, NULL, NULL);
        }
    CHECK_EQ_U64(fails, 0);
    /* index and metadata bytes flipped */
    for (uint64_t i = ioff; i < ioff + isize; i += step(i, ioff, ioff + isize)) {
        RESET();
        p[i] ^= 0x10;
        fails += !rejects(p, n, "index checksum mismatch", NULL);
    }
    for (uint64_t i = moff; i < n; i += step(i, moff, n)) {
        RESET();
        p[i] ^= 0x04;
        fails += !rejects(p, n, "metadata checksum mismatch", NULL);
    }
    CHECK_EQ_U64(fails, 0);
    /* a flipped content byte opens; verify finds it */
    RESET();
    p[PT_STORE_HEADER_SIZE + rd64(orig + ioff + 3 * 56 + 0)] ^= 0x02; /* first byte of record 3 */
    CHECK(rd64(orig + ioff + 3 * 56 + 8) > 0);
    f = fopen(src, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
    s = NULL;
    CHECK_OK(pt_store_open(&s, dir, "c", &e), &e);
    CHECK(s && pt_store_verify(s, &e) == PT_EFORMAT && strstr(e.msg, "content checksum mismatch") &&
          strstr(e.msg, "c-00000.pds"));
    pt_store_close(s);
    /* a document's NUL overwritten */
    RESET();
    uint64_t r3 = ioff + 3 * 56;
    p[PT_STORE_HEADER_SIZE + rd64(p + r3) + rd64(p + r3 + 8)] = 'x';
    CHECK(rejects(p, n, "record 3: content is not NUL-terminated", NULL));
    /* ... which a quick open does not read (only the last document's NUL); verify finds it */
    f = fopen(src, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
    s = NULL;
    CHECK_OK(pt_store_open_flags(&s, dir, "c", PT_STORE_OPEN_QUICK, &e), &e);
    CHECK(s && pt_store_verify(s, &e) == PT_EFORMAT && strstr(e.msg, "content checksum mismatch"));
    pt_store_close(s);
    RESET();
    p[PT_STORE_HEADER_SIZE + rd64(p + 40) - 1] = 'x'; /* the last document's NUL */
    f = fopen(src, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
    CHECK(pt_store_open_flags(&s, dir, "c", PT_STORE_OPEN_QUICK, &e) == PT_EFORMAT &&
          strstr(e.msg, "record 39: content is not NUL-terminated"));
    /* records pointing out of bounds, with valid checksums */
    RESET();
    wr64(p + r3 + 8, 1ull << 40);
    reseal(p);
    CHECK(rejects(p, n, "record 3: content", "out of bounds"));
    RESET();
    wr64(p + r3 + 8, UINT64_MAX);
    reseal(p);
    CHECK(rejects(p, n, "record 3: content", "out of bounds"));
    RESET();
    wr64(p + r3, rd64(p + r3) + 1);
    reseal(p);
    CHECK(rejects(p, n, "record 3: content offset", NULL));
    RESET();
    uint64_t rl = ioff + 39 * 56;
    wr32(p + rl + 24, 0x7FFFFFFF);
    reseal(p);
    CHECK(rejects(p, n, "record 39: repo_name", "out of bounds"));
    RESET();
    wr64(p + rl + 16, msize + 100);
    reseal(p);
    CHECK(rejects(p, n, "record 39: metadata offset", NULL));
    /* header fields that disagree with the layout, with a valid header checksum */
    uint64_t offs[] = {24, 32, 40, 48, 56, 64, 72};
    uint64_t vals[] = {41, 0, rd64(orig + 40) + 8, rd64(orig + 48) + 8, 0, 0, 1};
    for (int k = 0; k < 7; k++) {
        RESET();
        wr64(p + offs[k], vals[k]);
        reseal(p);
        fails += !rejects(p, n, NULL, NULL);
    }
    CHECK_EQ_U64(fails, 0);
#undef RESET
    free(p);
    free(src);
    pt_buf_free(&b);
    rm_dir(g_cdir);
    rm_dir(dir);
}

/* ---- describe --------------------------------------------------------------------- */

TEST(describe) {
    char *dir = make_tmpdir();
    pt_store_stats st;
    free_docs(write_split(dir, "train", 200, -1, 64 << 10, PT_STORE_NOSYNC, &st), 200);
    free_docs(write_split(dir, "valid", 10, -1, 0, PT_STORE_NOSYNC, &st), 10);
    pt_buf b = {0};
    pt_err e = {0};
    CHECK_OK(pt_store_describe(dir, 0, &b, &e), &e);
    CHECK(b.data && strstr(b.data, "split 'train'") && strstr(b.data, "split 'valid'") &&
          strstr(b.data, "200 documents") && strstr(b.data, "train-00001.pds"));
    pt_buf_clear(&b);
    CHECK_OK(pt_store_describe(dir, 1, &b, &e), &e);
    CHECK(b.data && b.data[0] == '{' && b.data[b.len - 1] == '}' && strstr(b.data, "\"split\":\"valid\"") &&
          strstr(b.data, "\"documents\":10,") && strstr(b.data, "\"file\":\"train-00000.pds\""));
    pt_buf_clear(&b);
    char *sp = path2(dir, "valid");
    CHECK_OK(pt_store_describe(sp, 0, &b, &e), &e);
    CHECK(b.data && strstr(b.data, "split 'valid'") && !strstr(b.data, "train"));
    pt_buf_clear(&b);
    char *f0 = path2(dir, "valid-00000.pds");
    CHECK(pt_store_is_shard_file(f0));
    CHECK_OK(pt_store_describe(f0, 0, &b, &e), &e);
    CHECK(b.data && strstr(b.data, "format version 1") && strstr(b.data, "documents  10"));
    pt_buf_clear(&b);
    CHECK_OK(pt_store_describe(f0, 1, &b, &e), &e);
    CHECK(b.data && strstr(b.data, "\"kind\":\"document_shard\"") && strstr(b.data, "\"documents\":10,"));
    char *junk = path2(dir, "notes.txt");
    CHECK_OK(pt_fs_write_atomic(junk, "hello", 5, &e), &e);
    CHECK(!pt_store_is_shard_file(junk));
    CHECK(pt_store_describe(junk, 0, &b, &e) == PT_EFORMAT && strstr(e.msg, "notes.txt"));
    char *none = path2(dir, "nope");
    CHECK(pt_store_describe(none, 0, &b, &e) == PT_EUSAGE && strstr(e.msg, "nope"));
    char *empty = make_tmpdir();
    CHECK(pt_store_describe(empty, 0, &b, &e) == PT_EUSAGE);
    rm_dir(empty);
    free(sp), free(f0), free(junk), free(none);
    pt_buf_free(&b);
    rm_dir(dir);
}

/* ---- speed (reported, not asserted) -------------------------------------------------- */

TEST(speed) {
    char *dir = make_tmpdir();
    const uint64_t total = 64ull << 20;
    uint64_t s = 5;
    gdoc g;
    gen_content(&g, &s, 1 << 20); /* documents are slices of one random 1 MiB text */
    for (int k = 0; k < 5; k++) g.f[k] = NULL;
    pt_err e = {0};
    for (int sync = 0; sync < 2; sync++) {
        pt_store_writer *w = NULL;
        const char *split = sync ? "synced" : "staged";
        CHECK_OK(pt_store_writer_open(&w, dir, split, 16 << 20, sync ? 0 : PT_STORE_NOSYNC, &e), &e);
        if (!w) break;
        double t0 = pt_now();
        uint64_t done = 0, i = 0, r = 77;
        while (done < total) {
            uint64_t len = 1 + rng_next(&r) % 8192, off = rng_next(&r) % ((1 << 20) - len);
            pt_doc d = {.content = g.content + off, .content_len = len, .repo_name = "org/repo", .repo_name_len = 8,
                        .path = "src/some/module.py", .path_len = 18, .license = "mit", .license_len = 3,
                        .size = "4096", .size_len = 4, .exact_copies = 1, .source = (uint32_t)i++};
            CHECK_OK(pt_store_writer_add(w, &d, &e), &e);
            done += len;
        }
        pt_store_stats st;
        CHECK_OK(pt_store_writer_close(w, &st, &e), &e);
        double dt = pt_now() - t0;
        printf("# store write (%s): %.0f MB/s (%" PRIu64 " docs, %.1f MB in %" PRIu64 " shards, %.2f s)\n",
               sync ? "fsync" : "nosync", (double)done / 1e6 / dt, st.docs, (double)done / 1e6, st.shards, dt);
    }
    double t0 = pt_now();
    pt_store *st = NULL;
    CHECK_OK(pt_store_open(&st, dir, "staged", &e), &e);
    if (st) {
        uint64_t n = pt_store_count(st);
        printf("# store open+validate (warm cache): %.1f ms for %" PRIu64 " docs\n", (pt_now() - t0) * 1e3, n);
        pt_store *q = NULL;
        t0 = pt_now();
        CHECK_OK(pt_store_open_flags(&q, dir, "staged", PT_STORE_OPEN_QUICK, &e), &e);
        printf("# store quick open (warm cache): %.1f ms\n", (pt_now() - t0) * 1e3);
        pt_store_close(q);
        const int reads = 2000000;
        uint64_t r = 3, acc = 0;
        t0 = pt_now();
        for (int k = 0; k < reads; k++) {
            pt_doc d;
            pt_store_get(st, rng_next(&r) % n, &d);
            acc += (unsigned char)d.content[d.content_len / 2] + d.path_len;
        }
        double dt = pt_now() - t0;
        printf("# store random get: %.1f M docs/s (%.0f ns each, touching one content byte; acc %" PRIu64 ")\n",
               reads / dt / 1e6, dt / reads * 1e9, acc % 10);
        t0 = pt_now();
        CHECK_OK(pt_store_verify(st, &e), &e);
        dt = pt_now() - t0;
        printf("# store verify: %.0f MB/s\n", (double)pt_store_content_bytes(st) / 1e6 / dt);
        pt_store_close(st);
    }
    gdoc_free(&g);
    rm_dir(dir);
}

int main(void) {
    RUN(round_trip_many_shards);
    RUN(fsync_path_and_default_limit);
    RUN(empty_split);
    RUN(existing_shards_and_overwrite);
    RUN(abort_leaves_no_files);
    RUN(missing_shard);
    RUN(corruption_rejected);
    RUN(describe);
    RUN(speed);
    return TEST_DONE();
}
