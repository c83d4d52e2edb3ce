/* fuzz_safetensors.c - libFuzzer target for hf/safetensors: the validating reader, and the
 * writer on whatever the reader accepts.
 *
 * The input is written to a file and opened with pt_st_open. A refusal must be PT_EFORMAT
 * with a message naming the file. An accepted file must keep every promise the header makes:
 * each tensor's bytes lie inside the data buffer at 8 + header size + offset (compared with
 * the input itself), numel is the product of the shape and nbytes its size in the dtype, the
 * tensors tile the buffer in order, pt_st_find returns each one, every float tensor converts
 * (plain and, when 2-D, transposed). Then every tensor and metadata entry goes through
 * pt_st_writer and the written file must open with the same tensors, bytes and metadata.
 * Files live in /dev/shm when it exists (the writer fsyncs).
 *
 * Two input forms, so that mutations of the JSON reach the checks behind the header size: an
 * input that starts with '{' and holds a NUL is "HEADER\0DATA" and becomes the file
 * u64(len HEADER) | HEADER | DATA; any other input is the file itself. Seeds (both forms,
 * *.txt the second) are files from parrot's writer and from Python's safetensors, and a few
 * damaged ones.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hf/safetensors.h"

#include "fuzz.h"

static char in_path[96], out_path[96];

static void write_file(const char *p, const uint8_t *d, size_t n) {
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f)) abort();
}

static int one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
    const uint8_t *nul = n && in[0] == '{' ? memchr(in, 0, n) : NULL;
    if (!nul) return one(in, n);
    uint64_t hn = (uint64_t)(nul - in);
    uint8_t *file = malloc(n + 7);
    if (!file) abort();
    memcpy(file, &hn, 8);
    memcpy(file + 8, in, hn);
    memcpy(file + 8 + hn, nul + 1, n - hn - 1);
    one(file, n + 7);
    free(file);
    return 0;
}

static int one(const uint8_t *data, size_t size) {
    if (!in_path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(in_path, sizeof in_path, "%s/pt-fuzz-st-%ld.in", dir, (long)getpid());
        snprintf(out_path, sizeof out_path, "%s/pt-fuzz-st-%ld.out", dir, (long)getpid());
    }
    write_file(in_path, data, size);
    pt_err e = {0};
    pt_st *f = NULL;
    int rc = pt_st_open(&f, in_path, &e);
    if (rc) {
        check(rc == PT_EFORMAT && f == NULL && !strncmp(e.msg, in_path, strlen(in_path)));
        return 0;
    }
    uint64_t hn;
    memcpy(&hn, data, 8);
    check(size >= 8 && hn <= size - 8);
    const uint8_t *buf = data + 8 + hn;
    uint64_t buflen = size - 8 - hn, at = 0;
    size_t n = pt_st_count(f);
    pt_st_writer *w = NULL;
    check(pt_st_writer_new(&w, &e) == 0);
    for (size_t i = 0; i < n; i++) {
        const pt_st_tensor *t = pt_st_at(f, i);
        check(t && t->offset == at && t->nbytes <= buflen - at); /* the tiling, in bounds */
        at += t->nbytes;
        check(t->ndim >= 0 && t->ndim <= PT_ST_MAX_DIMS);
        uint64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            check(t->shape[d] >= 0);
            numel *= (uint64_t)t->shape[d];
        }
        check(numel == t->numel && t->numel * (uint64_t)pt_st_dtype_bits(t->dtype) == t->nbytes * 8);
        check(t->nbytes == 0 || !memcmp(t->data, buf + t->offset, t->nbytes));
        check(pt_st_find(f, t->name) == t);
        int fl = t->dtype == PT_ST_F32 || t->dtype == PT_ST_F16 || t->dtype == PT_ST_BF16 || t->dtype == PT_ST_F64;
        float *out = malloc(sizeof(float) * (t->numel + 1));
        check(out != NULL);
        check((pt_st_to_f32(t, out, 0, &e) == 0) == fl);
        if (fl && t->ndim == 2) check(pt_st_to_f32(t, out, PT_ST_TRANSPOSE, &e) == 0);
        free(out);
        check(pt_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, &e) == 0);
    }
    check(at == buflen);
    for (size_t i = 0; i < pt_st_meta_count(f); i++) {
        const char *v, *k = pt_st_meta_at(f, i, &v);
        check(k && v && pt_st_meta(f, k) == v);
        check(pt_st_writer_meta(w, k, v, &e) == 0);
    }
    /* what the reader accepted, the writer writes, and it reads back the same */
    if (pt_st_writer_write(w, out_path, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        abort();
    }
    pt_st_writer_free(w);
    pt_st *g = NULL;
    if (pt_st_open(&g, out_path, &e)) {
        fprintf(stderr, "rewritten file refused: %s\n", e.msg);
        abort();
    }
    check(pt_st_count(g) == n && pt_st_meta_count(g) == pt_st_meta_count(f));
    for (size_t i = 0; i < n; i++) {
        const pt_st_tensor *a = pt_st_at(f, i), *b = pt_st_at(g, i);
        check(!strcmp(a->name, b->name) && a->dtype == b->dtype && a->ndim == b->ndim && a->nbytes == b->nbytes);
        check(!memcmp(a->shape, b->shape, sizeof a->shape));
        check(a->nbytes == 0 || !memcmp(a->data, b->data, a->nbytes));
    }
    for (size_t i = 0; i < pt_st_meta_count(f); i++) {
        const char *v, *k = pt_st_meta_at(f, i, &v);
        const char *v2 = pt_st_meta(g, k);
        check(v2 && !strcmp(v, v2));
    }
    pt_st_close(g);
    pt_st_close(f);
    return 0;
}
