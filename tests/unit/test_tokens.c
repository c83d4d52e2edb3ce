/* test_tokens.c - token shards: round trips (u16 and u32, several shards, reads across shard
 * boundaries), and the reader's rejection of damaged files with messages naming them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "data/tokens.h"
#include "test.h"

static char *mktmp(void) {
    char *d = strdup("/tmp/pt-tokens-XXXXXX");
    if (!mkdtemp(d)) abort();
    return d;
}

static const pt_hash128 TH = {0x1234, 0x5678};

/* Writes ndocs documents of pseudo-random lengths 0..maxlen (+eot) with ids < vocab; returns the
 * whole stream (malloc'd) and its length. */
static uint32_t *write_split(const char *dir, const char *split, uint32_t vocab, uint32_t eot, size_t ndocs,
                             size_t maxlen, uint64_t shard_tokens, size_t *len, uint32_t *nshards) {
    pt_err e = {0};
    pt_tokens_writer *w;
    CHECK_OK(pt_tokens_writer_open(&w, dir, split, vocab, eot, TH, shard_tokens, &e), &e);
    uint32_t *all = malloc((ndocs * (maxlen + 1) + 1) * 4);
    size_t n = 0;
    uint64_t x = 88172645463325252ull;
    for (size_t d = 0; d < ndocs; d++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t m = x % (maxlen + 1);
        for (size_t i = 0; i < m; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            all[n + i] = (uint32_t)(x % vocab);
        }
        all[n + m] = eot;
        CHECK_OK(pt_tokens_writer_add(w, all + n, m + 1, &e), &e);
        n += m + 1;
    }
    uint64_t tok, docs;
    CHECK_OK(pt_tokens_writer_close(w, nshards, &tok, &docs, &e), &e);
    CHECK_EQ_U64(tok, n);
    CHECK_EQ_U64(docs, ndocs);
    *len = n;
    return all;
}

static void check_stream(const char *dir, const char *split, const uint32_t *all, size_t n, uint32_t vocab,
                         uint32_t eot, size_t ndocs) {
    pt_err e = {0};
    pt_tokens *t = NULL;
    CHECK_OK(pt_tokens_open(&t, dir, split, &e), &e);
    if (!t) return;
    CHECK_EQ_U64(pt_tokens_count(t), n);
    CHECK_EQ_U64(pt_tokens_vocab_size(t), vocab);
    CHECK_EQ_U64(pt_tokens_eot(t), eot);
    CHECK_EQ_U64(pt_tokens_docs(t), ndocs);
    CHECK(pt_tokens_tokenizer_hash(t).lo == TH.lo && pt_tokens_tokenizer_hash(t).hi == TH.hi);
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += pt_tokens_get(t, i) != all[i];
    CHECK_EQ_U64(bad, 0);
    uint32_t *buf = malloc((n + 1) * 4);
    pt_tokens_read(t, 0, n, buf);
    CHECK(n == 0 || memcmp(buf, all, n * 4) == 0);
    /* windows at every offset of a few sizes, crossing shard boundaries */
    for (size_t len = 1; len <= 37 && len <= n; len += 12) {
        for (size_t i = 0; i + len <= n; i += 7) {
            pt_tokens_read(t, i, len, buf);
            if (memcmp(buf, all + i, len * 4)) bad++;
        }
    }
    CHECK_EQ_U64(bad, 0);
    /* document starts: each document ends with eot, just before the next start */
    for (uint64_t d = 1; d < ndocs; d++) {
        uint64_t s = pt_tokens_doc_start(t, d);
        if (s == 0 || all[s - 1] != eot || s <= pt_tokens_doc_start(t, d - 1)) bad++;
    }
    CHECK_EQ_U64(bad, 0);
    CHECK_OK(pt_tokens_check_vocab(t, vocab, &e), &e);
    CHECK(pt_tokens_check_vocab(t, vocab + 1, &e) == PT_EFORMAT);
    free(buf);
    pt_tokens_close(t);
}

TEST(tokens_roundtrip_u16_one_shard) {
    char *d = mktmp();
    size_t n;
    uint32_t ns;
    uint32_t *all = write_split(d, "train", 50257, 50256, 200, 50, 0, &n, &ns);
    CHECK_EQ_U64(ns, 1);
    check_stream(d, "train", all, n, 50257, 50256, 200);
    char *p = pt_path_join(d, "train-00000.tok");
    /* u16: header + 2 bytes per token + padding + 8 per doc */
    CHECK_EQ_U64(pt_fs_size(p), ((128 + 2 * n + 7) & ~(size_t)7) + 8 * 200);
    free(p);
    free(all);
    pt_fs_rm_rf(d, NULL);
    free(d);
}

TEST(tokens_roundtrip_u32_many_shards) {
    char *d = mktmp();
    size_t n;
    uint32_t ns;
    uint32_t *all = write_split(d, "valid", 100000, 3, 300, 40, 500, &n, &ns);
    CHECK(ns > 5);
    check_stream(d, "valid", all, n, 100000, 3, 300);
    pt_err e = {0};
    pt_tokens *t;
    CHECK_OK(pt_tokens_open(&t, d, "valid", &e), &e);
    pt_tokens_shard_info si;
    pt_tokens_shard(t, 0, &si);
    CHECK_EQ_U64(si.width, 4);
    CHECK(si.tokens >= 500);
    pt_tokens_close(t);
    /* the 65536 boundary: still 2 bytes */
    free(all);
    all = write_split(d, "b", 65536, 65535, 50, 30, 100, &n, &ns);
    check_stream(d, "b", all, n, 65536, 65535, 50);
    CHECK_OK(pt_tokens_open(&t, d, "b", &e), &e);
    pt_tokens_shard(t, 0, &si);
    CHECK_EQ_U64(si.width, 2);
    pt_tokens_close(t);
    free(all);
    pt_fs_rm_rf(d, NULL);
    free(d);
}

TEST(tokens_empty_split_and_refusals) {
    char *d = mktmp();
    pt_err e = {0};
    pt_tokens_writer *w;
    CHECK_OK(pt_tokens_writer_open(&w, d, "valid", 10, 9, TH, 0, &e), &e);
    uint32_t bad_id = 10;
    CHECK(pt_tokens_writer_add(w, &bad_id, 1, &e) == PT_EUSAGE);
    pt_tokens_writer_abort(w);
    CHECK_OK(pt_tokens_writer_open(&w, d, "valid", 10, 9, TH, 0, &e), &e);
    uint32_t sh;
    uint64_t tok, docs;
    CHECK_OK(pt_tokens_writer_close(w, &sh, &tok, &docs, &e), &e);
    CHECK_EQ_U64(sh, 1);
    CHECK_EQ_U64(tok, 0);
    pt_tokens *t;
    CHECK_OK(pt_tokens_open(&t, d, "valid", &e), &e);
    CHECK_EQ_U64(pt_tokens_count(t), 0);
    CHECK_EQ_U64(pt_tokens_docs(t), 0);
    pt_tokens_close(t);
    CHECK(pt_tokens_writer_open(&w, d, "valid", 10, 9, TH, 0, &e) == PT_EEXIST);
    CHECK(pt_tokens_writer_open(&w, d, "x", 10, 10, TH, 0, &e) == PT_EUSAGE);
    CHECK(pt_tokens_open(&t, d, "train", &e) == PT_EIO);
    CHECK(strstr(e.msg, "no token shards") != NULL);
    pt_fs_rm_rf(d, NULL);
    free(d);
}

/* Reads the one shard of split into memory. */
static unsigned char *load(const char *path, size_t *n) {
    pt_buf b = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(path, &b, &e), &e);
    *n = b.len;
    return (unsigned char *)b.data;
}

static int check_bytes(const unsigned char *p, size_t n, const char *want) {
    pt_err e = {0};
    int rc = pt_tokens_check_buffer(p, n, "x.tok", &e);
    if (rc != PT_EFORMAT || !strstr(e.msg, want) || strncmp(e.msg, "x.tok: ", 7)) {
        printf("  rc %d, message '%s', expected '%s'\n", rc, e.msg, want);
        return 0;
    }
    return 1;
}

TEST(tokens_damage_rejected) {
    char *d = mktmp();
    size_t n;
    uint32_t ns;
    uint32_t *all = write_split(d, "train", 1000, 999, 20, 30, 0, &n, &ns);
    free(all);
    char *p = pt_path_join(d, "train-00000.tok");
    size_t fn;
    unsigned char *f = load(p, &fn);
    pt_err e = {0};
    CHECK_OK(pt_tokens_check_buffer(f, fn, "x.tok", &e), &e);
    unsigned char *c = malloc(fn);
    /* truncated: how many bytes are missing */
    CHECK(check_bytes(f, fn - 10, "10 bytes missing"));
    CHECK(check_bytes(f, 100, "bytes missing"));
    CHECK(check_bytes(f, 0, "empty"));
    /* bad magic */
    memcpy(c, f, fn), c[0] = 'X';
    CHECK(check_bytes(c, fn, "bad magic"));
    /* newer version (before the checksum, so it says so) */
    memcpy(c, f, fn), c[8] = 2;
    CHECK(check_bytes(c, fn, "newer"));
    /* any header byte: checksum */
    memcpy(c, f, fn), c[30] ^= 1;
    CHECK(check_bytes(c, fn, "header checksum"));
    /* a token byte */
    memcpy(c, f, fn), c[128 + 3] ^= 1;
    CHECK(check_bytes(c, fn, "token checksum"));
    /* an index byte */
    memcpy(c, f, fn), c[fn - 3] ^= 1;
    CHECK(check_bytes(c, fn, "index checksum"));
    /* extra bytes */
    unsigned char *big = calloc(1, fn + 5);
    memcpy(big, f, fn);
    CHECK(check_bytes(big, fn + 5, "unexpected bytes"));
    free(big);
    /* a file on disk: the message names it */
    memcpy(c, f, fn);
    c[128] ^= 0xff;
    CHECK_OK(pt_fs_write_atomic(p, c, fn, &e), &e);
    pt_tokens *t;
    CHECK(pt_tokens_open(&t, d, "train", &e) == PT_EFORMAT);
    CHECK(strstr(e.msg, "train-00000.tok: token checksum") != NULL);
    /* a gap in the numbering */
    CHECK_OK(pt_fs_write_atomic(p, f, fn, &e), &e);
    char *p2 = pt_path_join(d, "train-00002.tok");
    CHECK_OK(pt_fs_write_atomic(p2, f, fn, &e), &e);
    CHECK(pt_tokens_open(&t, d, "train", &e) == PT_EFORMAT);
    CHECK(strstr(e.msg, "train-00001.tok: missing") != NULL);
    free(p2);
    free(c);
    free(f);
    free(p);
    pt_fs_rm_rf(d, NULL);
    free(d);
}

int main(void) {
    RUN(tokens_roundtrip_u16_one_shard);
    RUN(tokens_roundtrip_u32_many_shards);
    RUN(tokens_empty_split_and_refusals);
    RUN(tokens_damage_rejected);
    return TEST_DONE();
}
