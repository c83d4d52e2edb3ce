/* test_pack.c - pt_pack_run: the double-buffered encoder/writer pipeline over a real corpus
 * (tests/data/cpython/Lib built with pt_corpus_build), with batches small enough that every
 * split is many batches: the shards hold every document's ids and end-of-text in corpus
 * order, for 1 and 2 threads and small shards; cancelling leaves nothing behind. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "corpus/build.h"
#include "corpus/store.h"
#include "data/pack.h"
#include "data/tokens.h"
#include "tok/bpe.h"
#include "tok/encode_many.h"
#include "tok/tokfile.h"
#include "test.h"

static char tmp[64];
static char corpus[128];

static int build_corpus(void) {
    snprintf(tmp, sizeof tmp, "/tmp/pt-pack-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    snprintf(corpus, sizeof corpus, "%s/c", tmp);
    char in[512];
    snprintf(in, sizeof in, "%s/cpython/Lib", pt_test_data());
    const char *inputs[] = {in};
    pt_build_params p;
    pt_build_defaults(&p);
    p.out_dir = corpus;
    p.inputs = inputs;
    p.ninputs = 1;
    p.near_dedup = 0;
    p.valid_fraction = 0.25;
    p.threads = 1;
    pt_err e = {0};
    pt_build_report r;
    memset(&r, 0, sizeof r);
    int rc = pt_corpus_build(&p, &r, &e);
    pt_build_report_free(&r);
    if (rc) printf("  corpus build: %s\n", e.msg);
    return rc;
}

/* The expected stream of a split: each document of the store encoded, then eot. */
static uint32_t *expected(const pt_bpe *t, const char *split, uint32_t eot, size_t *n) {
    pt_err e = {0};
    pt_store *s = NULL;
    CHECK_OK(pt_store_open(&s, corpus, split, &e), &e);
    pt_bpe_many *m = pt_bpe_many_new(t, 1, 0, &e);
    size_t len = 0, cap = 0;
    uint32_t *ids = NULL;
    for (uint64_t i = 0; s && m && i < pt_store_count(s); i++) {
        pt_doc d;
        pt_store_get(s, i, &d);
        size_t need = pt_bpe_many_max_ids(m, d.content_len) + 1;
        if (len + need > cap) {
            cap = (len + need) * 2;
            ids = realloc(ids, cap * sizeof *ids);
        }
        len += pt_bpe_many_encode_one(m, d.content, d.content_len, ids + len, cap - len);
        ids[len++] = eot;
    }
    pt_bpe_many_free(m);
    pt_store_close(s);
    *n = len;
    return ids;
}

TEST(pack_matches_the_encoder) {
    char tok_path[512], out[160];
    snprintf(tok_path, sizeof tok_path, "%s/gpt2", pt_test_data());
    pt_err e = {0};
    pt_bpe *t = NULL;
    CHECK_OK(pt_bpe_load(&t, tok_path, &e), &e);
    if (!t) return;
    uint32_t eot = pt_bpe_lookup(t, "<|endoftext|>", 13);
    size_t nwant[2];
    uint32_t *want[2] = {expected(t, "train", eot, &nwant[0]), expected(t, "valid", eot, &nwant[1])};
    CHECK(nwant[0] > 10000 && nwant[1] > 1000);
    struct {
        int threads;
        size_t batch;
        uint64_t shard_tokens;
    } runs[] = {{1, 4096, 0}, {2, 8192, 0}, {2, 1, 5000}, {2, 0, 0}};
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        snprintf(out, sizeof out, "%s/d%zu", tmp, k);
        pt_pack_opts o = {.corpus_dir = corpus, .tokenizer_path = tok_path, .out_dir = out,
                          .threads = runs[k].threads, .batch_bytes = runs[k].batch,
                          .shard_tokens = runs[k].shard_tokens};
        pt_pack_report r;
        CHECK_OK(pt_pack_run(&o, &r, &e), &e);
        const char *splits[2] = {"train", "valid"};
        for (int s = 0; s < 2; s++) {
            CHECK_EQ_U64(r.split[s].tokens, nwant[s]);
            CHECK(r.split[s].chars > 0 && r.split[s].chars <= r.split[s].bytes);
            pt_tokens *tk = NULL;
            CHECK_OK(pt_tokens_open(&tk, out, splits[s], &e), &e);
            if (!tk) continue;
            CHECK_EQ_U64(pt_tokens_count(tk), nwant[s]);
            if (runs[k].shard_tokens) CHECK(pt_tokens_shard_count(tk) > 1);
            uint32_t *got = malloc((nwant[s] + 1) * sizeof *got);
            if (pt_tokens_count(tk) == nwant[s]) {
                pt_tokens_read(tk, 0, nwant[s], got);
                CHECK(!memcmp(got, want[s], nwant[s] * sizeof *got));
            }
            free(got);
            pt_tokens_close(tk);
        }
        char tj[200];
        snprintf(tj, sizeof tj, "%s/tokenizer.json", out);
        CHECK(pt_fs_exists(tj));
    }
    /* cancelled: PT_EINTR, neither the output nor its temporary folder is left */
    volatile int cancel = 1;
    snprintf(out, sizeof out, "%s/cancelled", tmp);
    pt_pack_opts o = {.corpus_dir = corpus, .tokenizer_path = tok_path, .out_dir = out, .threads = 2,
                      .batch_bytes = 4096, .cancel = &cancel};
    CHECK(pt_pack_run(&o, NULL, &e) == PT_EINTR);
    CHECK(!pt_fs_exists(out));
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls %s | grep cancelled)\"", tmp);
    CHECK(system(cmd) == 0);
    free(want[0]), free(want[1]);
    pt_bpe_free(t);
}

/* A write that fails in the writer thread (a file-size limit of 64 KiB): with the tiny
 * tokenizer (9 KB) the train shard's writing fails, with GPT-2's (1.4 MB) already its copy,
 * which the writer thread writes first. The error comes back from pt_pack_run naming the
 * file, and nothing is left behind. */
TEST(writer_failure) {
    char tok_path[2][512], out[160];
    snprintf(tok_path[0], sizeof tok_path[0], "%s/tok/tiny-tokenizer.json", pt_test_data());
    snprintf(tok_path[1], sizeof tok_path[1], "%s/gpt2", pt_test_data());
    const char *fails_in[2] = {"train-00000.tok", "tokenizer.json"};
    snprintf(out, sizeof out, "%s/full", tmp);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    for (int k = 0; k < 2; k++) {
        lim = old;
        lim.rlim_cur = (rlim_t)64 << 10;
        if (setrlimit(RLIMIT_FSIZE, &lim)) {
            CHECK(0);
            continue;
        }
        pt_err e = {0};
        pt_pack_opts o = {.corpus_dir = corpus, .tokenizer_path = tok_path[k], .out_dir = out, .threads = 2,
                          .batch_bytes = 4096};
        int rc = pt_pack_run(&o, NULL, &e);
        setrlimit(RLIMIT_FSIZE, &old);
        CHECK(rc == PT_EIO);
        int named = strstr(e.msg, fails_in[k]) && strstr(e.msg, "write failed");
        CHECK(named);
        if (!named) printf("  got: %s\n", e.msg);
        CHECK(!pt_fs_exists(out));
        char cmd[256];
        snprintf(cmd, sizeof cmd, "test -z \"$(ls %s | grep full)\"", tmp);
        CHECK(system(cmd) == 0);
    }
    signal(SIGXFSZ, prev);
}

int main(void) {
    pt_log_level = PT_LOG_QUIET;
    if (build_corpus()) {
        CHECK(0);
        return TEST_DONE();
    }
    RUN(pack_matches_the_encoder);
    RUN(writer_failure);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd)) return 1;
    return TEST_DONE();
}
