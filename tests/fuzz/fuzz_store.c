/* fuzz_store.c - libFuzzer target for corpus/store: the document-shard reader.
 *
 * The input is written as DIR/train-00000.pds in a fresh temporary folder and opened as a
 * split, in full and in quick mode; when the open succeeds every document is read
 * (each field's bytes touched, its trailing NUL checked) and the content checksums are
 * verified. A corrupt shard must give an error message, never a crash or a read outside
 * the file. Seeds are real shards written by the writer, so mutations start from valid
 * files. Every other input gets its checksums recomputed first (where the header's
 * offsets allow), so that mutated offsets, lengths and records get past the checksums
 * and reach the checks behind them.
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
#include "corpus/store.h"

#include "fuzz.h"


static unsigned touch(const char *p, size_t n) {
    unsigned x = 0;
    if (!p) return 0;
    for (size_t i = 0; i < n; i++) x += (unsigned char)p[i];
    check(p[n] == 0); /* every field is NUL-terminated in place */
    return x;
}

static uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void put_hash(uint8_t *h, const uint8_t *d, size_t size, uint64_t off, uint64_t len) {
    if (off > size || len > size - off) return; /* out of bounds: leave it for the reader to refuse */
    pt_hash128 x = pt_hash128_of(d + off, len, PT_STORE_HASH_SEED);
    memcpy(h, &x.lo, 8);
    memcpy(h + 8, &x.hi, 8);
}

/* Recomputes the section and header checksums (layout in docs/formats.md). */
static void fix_checksums(uint8_t *d, size_t size) {
    if (size < PT_STORE_HEADER_SIZE) return;
    put_hash(d + 88, d, size, rd64(d + 32), rd64(d + 40));  /* content */
    put_hash(d + 104, d, size, rd64(d + 48), rd64(d + 56)); /* index */
    put_hash(d + 120, d, size, rd64(d + 64), rd64(d + 72)); /* metadata */
    uint64_t hh = pt_hash64(d, 136, PT_STORE_HASH_SEED);
    memcpy(d + 136, &hh, 8);
}

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/pt-fuzz-store-%ld", (long)getpid());
        pt_err e;
        if (pt_fs_mkdir_p(dir, &e)) abort();
    }
    char path[128];
    snprintf(path, sizeof path, "%s/train-00000.pds", dir);
    pt_err e = {0};
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) abort();
    memcpy(copy, data, size);
    if (size & 1) fix_checksums(copy, size); /* half the inputs as they are, half re-checksummed */
    if (pt_fs_write_atomic(path, copy, size, &e)) abort();
    free(copy);
    for (int quick = 0; quick < 2; quick++) {
        pt_store *s = NULL;
        if (pt_store_open_flags(&s, dir, "train", quick ? PT_STORE_OPEN_QUICK : 0, &e)) {
            check(e.msg[0] != 0); /* a failure always says why */
            continue;
        }
        volatile unsigned sum = 0;
        for (uint64_t i = 0; i < pt_store_count(s); i++) {
            pt_doc d;
            pt_store_get(s, i, &d);
            if (!quick) sum += touch(d.content, d.content_len);
            sum += touch(d.repo_name, d.repo_name_len) + touch(d.path, d.path_len) + touch(d.license, d.license_len) +
                   touch(d.size, d.size_len) + touch(d.copies, d.copies_len);
        }
        (void)sum;
        pt_store_verify(s, &e);
        pt_store_close(s);
    }
    return 0;
}
