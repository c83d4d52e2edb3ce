/* fuzz_tokens.c - libFuzzer target for data/tokens: the token-shard reader (header, index, ids).
 *
 * The input is checked in memory by pt_tokens_check_buffer, and written as DIR/train-00000.tok
 * and opened as a split with pt_tokens_open; both must agree. When the open succeeds every token
 * is read (by pt_tokens_get and by pt_tokens_read) and must lie inside the recorded vocabulary,
 * and every document start must be in order and within the stream. A corrupt shard must give an
 * error message, never a crash or a read outside the file. Seeds are real shards from the writer;
 * every odd-sized input gets its checksums recomputed first, so that mutated counts, widths and
 * index entries get past the checksums and reach the checks behind them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/hash.h"
#include "data/tokens.h"

#include "fuzz.h"


static uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static void put_hash(uint8_t *h, const uint8_t *d, size_t size, uint64_t off, uint64_t len) {
    if (off > size || len > size - off) return;
    pt_hash128 x = pt_hash128_of(d + off, len, PT_TOKENS_HASH_SEED);
    memcpy(h, &x.lo, 8);
    memcpy(h + 8, &x.hi, 8);
}

/* Recomputes the section and header checksums (layout in docs/formats.md, "Token shards"). */
static void fix_checksums(uint8_t *d, size_t size) {
    if (size < PT_TOKENS_HEADER_SIZE) return;
    uint64_t ntok = rd64(d + 32), ndocs = rd64(d + 40);
    uint32_t w = rd32(d + 28);
    if ((w == 2 || w == 4) && ntok < size) {
        uint64_t tend = PT_TOKENS_HEADER_SIZE + ntok * w, ioff = (tend + 7) & ~(uint64_t)7;
        put_hash(d + 72, d, size, PT_TOKENS_HEADER_SIZE, ntok * w);
        if (ndocs < size) put_hash(d + 88, d, size, ioff, ndocs * 8);
    }
    uint64_t hh = pt_hash64(d, 120, PT_TOKENS_HASH_SEED);
    memcpy(d + 120, &hh, 8);
}

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/pt-fuzz-tokens-%ld", (long)getpid());
        pt_err e;
        if (pt_fs_mkdir_p(dir, &e)) abort();
    }
    char path[128];
    snprintf(path, sizeof path, "%s/train-00000.tok", dir);
    pt_err e = {0}, e2 = {0};
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) abort();
    memcpy(copy, data, size);
    if (size & 1) fix_checksums(copy, size);
    int rc_mem = pt_tokens_check_buffer(copy, size, "x.tok", &e);
    if (rc_mem) check(e.msg[0] != 0 && !strncmp(e.msg, "x.tok: ", 7));
    if (pt_fs_write_atomic(path, copy, size, &e)) abort();
    free(copy);
    pt_tokens *t = NULL;
    int rc = pt_tokens_open(&t, dir, "train", &e2);
    check((rc == 0) == (rc_mem == 0)); /* the file reader and the buffer check agree */
    if (rc) {
        check(e2.msg[0] != 0 && strstr(e2.msg, "train-00000.tok") != NULL); /* says why, names the file */
        return 0;
    }
    uint64_t n = pt_tokens_count(t), docs = pt_tokens_docs(t);
    uint32_t vocab = pt_tokens_vocab_size(t);
    check(pt_tokens_eot(t) < vocab);
    uint32_t buf[256];
    for (uint64_t i = 0; i < n; i += 256) {
        size_t m = n - i < 256 ? (size_t)(n - i) : 256;
        pt_tokens_read(t, i, m, buf);
        for (size_t k = 0; k < m; k++) check(buf[k] < vocab && buf[k] == pt_tokens_get(t, i + k));
    }
    uint64_t prev = 0;
    for (uint64_t d = 0; d < docs; d++) {
        uint64_t s = pt_tokens_doc_start(t, d);
        check(s >= prev && s <= n);
        prev = s;
    }
    pt_tokens_close(t);
    return 0;
}
