/* fuzz_ckpt.c - libFuzzer target for train/ckpt: the checkpoint reader.
 *
 * The input is written to a temporary file and opened as a checkpoint. Inputs of at least a
 * header get their content hash recomputed first, so that mutated sizes, metadata and configs
 * get past the hash to the checks behind it. A corrupt file must give an error naming it, never
 * a crash or a read outside the file; an accepted one must hold what its header and config say.
 * Seeds are real checkpoints written by pt_ckpt_write.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "train/ckpt.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/fuzz_ckpt_XXXXXX";
    int fd = mkstemp(path);
    check(fd >= 0);
    uint8_t *copy = malloc(size + 1);
    check(copy != NULL);
    memcpy(copy, data, size);
    if (size >= 128) {
        pt_hash128 h = pt_hash128_of(copy + 128, size - 128, 0);
        memcpy(copy + 56, &h, 16);
    }
    check(write(fd, copy, size) == (ssize_t)size);
    close(fd);
    pt_ckpt c;
    pt_err e = {0};
    if (pt_ckpt_open(&c, path, &e) == PT_OK) {
        pt_gpt2_tensor t[PT_GPT2_NTENSORS];
        check(pt_gpt2_layout(&c.st.cfg, t) == c.n);
        check(pt_gpt2_config_check(&c.st.cfg, &e) == PT_OK);
        double s = 0;
        for (size_t i = 0; i < c.n; i++) s += c.params[i];
        if (c.m)
            for (size_t i = 0; i < c.n; i++) s += c.m[i] + c.v[i];
        for (size_t i = 0; i < c.tok_len; i++) s += c.tok[i];
        if (c.st.data) s += strlen(c.st.data);
        __asm__ volatile("" ::"r"(&s));
        pt_ckpt_close(&c);
    } else {
        check(e.code != PT_OK && strstr(e.msg, path) != NULL);
    }
    unlink(path);
    free(copy);
    return 0;
}
