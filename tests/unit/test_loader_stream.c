/* test_loader_stream.c - the loader's streaming mode over the cpython test folder with GPT-2's
 * tokenizer: windows equal the reference encoding, seeded shuffle, ranks, infinite passes,
 * errors, and the resumable position. */
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "corpus/textsrc.h"
#include "data/loader.h"
#include "tok/encode_many.h"
#include "tok/tokfile.h"
#include "test.h"

typedef struct ref_stream {
    pt_bpe_many *m;
    uint32_t eot;
    uint32_t *ids;
    size_t n, cap;
} ref_stream;

static int ref_docs(void *ctx, size_t n, const char *const *texts, const size_t *lens, pt_err *e) {
    ref_stream *r = ctx;
    for (size_t i = 0; i < n; i++) {
        size_t need = r->n + lens[i] + 2;
        if (need > r->cap) {
            r->cap = need * 2;
            r->ids = realloc(r->ids, r->cap * sizeof *r->ids);
        }
        size_t k = pt_bpe_many_encode_one(r->m, texts[i], lens[i], r->ids + r->n, r->cap - r->n);
        if (k == (size_t)-1) return pt_fail(e, PT_ENOMEM, "encode");
        r->n += k;
        r->ids[r->n++] = r->eot;
    }
    return PT_OK;
}

/* All windows of a stream run, (T + 1) tokens each, into *out; returns their count. */
static size_t stream_all(const pt_loader_stream_opts *o, uint32_t **out) {
    pt_err e = {0};
    pt_loader_stream *s = NULL;
    CHECK_OK(pt_loader_stream_new(&s, o, &e), &e);
    if (!s) return 0;
    size_t T = o->T, B = o->B, n = 0, rows;
    uint32_t *in = malloc(B * T * 4), *tg = malloc(B * T * 4), *w = NULL;
    int partial = 0;
    for (;;) {
        CHECK_OK(pt_loader_stream_next(s, in, tg, &rows, &e), &e);
        if (rows == 0) break;
        CHECK(!partial); /* only the last batch is short */
        partial = rows < B;
        w = realloc(w, (n + rows) * (T + 1) * 4);
        for (size_t r = 0; r < rows; r++, n++) {
            memcpy(w + n * (T + 1), in + r * T, T * 4);
            w[n * (T + 1) + T] = tg[r * T + T - 1];
            CHECK(!memcmp(in + r * T + 1, tg + r * T, (T - 1) * 4));
        }
    }
    pt_loader_stream_free(s);
    free(in), free(tg);
    *out = w;
    return n;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

TEST(stream_mode) {
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/tok/gpt2-tokenizer.json", pt_test_data());
    snprintf(dir, sizeof dir, "%s/cpython", pt_test_data());
    pt_err e = {0};
    pt_bpe *tok = NULL;
    CHECK_OK(pt_bpe_load(&tok, path, &e), &e);
    if (!tok) return;
    uint32_t eot = pt_bpe_lookup(tok, "<|endoftext|>", 13);
    CHECK(eot == 50256);
    /* the reference stream: every document encoded, each followed by end-of-text */
    ref_stream ref = {.m = pt_bpe_many_new(tok, 1, 0, &e), .eot = eot};
    const char *inputs[] = {dir};
    pt_textsrc_opts to = {0};
    CHECK_OK(pt_textsrc_run(inputs, 1, &to, ref_docs, &ref, NULL, &e), &e);
    const size_t T = 64;
    size_t W = (ref.n - 1) / T;
    CHECK(W > 200);
    /* in order: windows of the reference stream; a small buffer (about 900 characters) makes
     * many encode batches, so windows are cut across them */
    pt_loader_stream_opts o = {.inputs = inputs, .ninputs = 1, .tok = tok, .eot = eot, .threads = 2, .B = 5, .T = T,
                               .num_sequences = 4};
    uint32_t *w = NULL;
    size_t n = stream_all(&o, &w);
    CHECK_EQ_U64(n, W);
    for (size_t i = 0; i < n && i < W; i++) CHECK(!memcmp(w + i * (T + 1), ref.ids + i * T, (T + 1) * 4));
    /* shuffled: the same windows in another order; same seed, same order; another seed, another */
    o.shuffle_windows = 40, o.seed = 1;
    uint32_t *a = NULL, *b = NULL, *c = NULL;
    size_t na = stream_all(&o, &a), nb = stream_all(&o, &b);
    o.seed = 2;
    size_t nc = stream_all(&o, &c);
    CHECK(na == W && nb == W && nc == W);
    if (na == W && nb == W && nc == W) {
        CHECK(!memcmp(a, b, W * (T + 1) * 4));
        CHECK(memcmp(a, c, W * (T + 1) * 4) != 0);
        CHECK(memcmp(a, w, W * (T + 1) * 4) != 0);
        uint64_t *h0 = malloc(W * 8), *h1 = malloc(W * 8);
        for (size_t i = 0; i < W; i++) {
            h0[i] = pt_hash64(w + i * (T + 1), (T + 1) * 4, 0);
            h1[i] = pt_hash64(a + i * (T + 1), (T + 1) * 4, 0);
        }
        qsort(h0, W, 8, cmp_u64), qsort(h1, W, 8, cmp_u64);
        CHECK(!memcmp(h0, h1, W * 8));
        free(h0), free(h1);
    }
    free(a), free(b), free(c);
    /* two ranks: the even and the odd windows */
    o.shuffle_windows = 0, o.nranks = 2;
    for (int r = 0; r < 2; r++) {
        o.rank = r;
        uint32_t *x = NULL;
        size_t nx = stream_all(&o, &x);
        CHECK_EQ_U64(nx, (W + 1 - (size_t)r) / 2);
        for (size_t i = 0; i < nx; i++) CHECK(!memcmp(x + i * (T + 1), ref.ids + (2 * i + (size_t)r) * T, (T + 1) * 4));
        free(x);
    }
    /* infinite: goes on past the end; stopping mid-stream does not hang */
    o = (pt_loader_stream_opts){.inputs = inputs, .ninputs = 1, .tok = tok, .eot = eot, .B = 8, .T = T, .infinite = 1,
                                .shuffle_windows = 16};
    pt_loader_stream *s = NULL;
    CHECK_OK(pt_loader_stream_new(&s, &o, &e), &e);
    uint32_t in[8 * 64], tg[8 * 64];
    size_t rows = 0;
    for (size_t i = 0; s && i < W / 8 + 10; i++) {
        CHECK_OK(pt_loader_stream_next(s, in, tg, &rows, &e), &e);
        CHECK_EQ_U64(rows, 8);
    }
    pt_loader_stream_free(s);
    /* an input that does not exist: an error from next, naming it */
    const char *missing[] = {"/nonexistent/corpus.jsonl"};
    o = (pt_loader_stream_opts){.inputs = missing, .ninputs = 1, .tok = tok, .eot = eot, .B = 2, .T = T};
    s = NULL;
    CHECK_OK(pt_loader_stream_new(&s, &o, &e), &e);
    if (s) {
        e.msg[0] = 0;
        CHECK(pt_loader_stream_next(s, in, tg, &rows, &e) != PT_OK);
        CHECK(rows == 0 && strstr(e.msg, "nonexistent") != NULL);
        pt_loader_stream_free(s);
    }
    free(w);
    free(ref.ids);
    pt_bpe_many_free(ref.m);
    pt_bpe_free(tok);
}

/* Windows of a stream (T + 1 tokens each) into *out (may be NULL): at most `limit` batches (0:
 * all); after `save_at` batches (if saved) the position is taken, and the run stops there if
 * stop. Returns the window count. */
static size_t stream_run(const pt_loader_stream_opts *o, size_t limit, size_t save_at, pt_loader_stream_pos *saved,
                         int stop, uint32_t **out) {
    pt_err e = {0};
    pt_loader_stream *s = NULL;
    CHECK_OK(pt_loader_stream_new(&s, o, &e), &e);
    if (!s) return 0;
    size_t T = o->T, B = o->B, n = 0, rows, nb = 0;
    uint32_t *in = malloc(B * T * 4), *tg = malloc(B * T * 4), *w = NULL;
    for (;;) {
        if (saved && nb == save_at) {
            CHECK_OK(pt_loader_stream_pos_get(s, saved, &e), &e);
            if (stop) break;
        }
        if (limit && nb == limit) break;
        CHECK_OK(pt_loader_stream_next(s, in, tg, &rows, &e), &e);
        if (rows == 0) {
            if (saved && save_at > nb) CHECK_OK(pt_loader_stream_pos_get(s, saved, &e), &e); /* past the end */
            break;
        }
        nb++;
        if (out) w = realloc(w, (n + rows) * (T + 1) * 4);
        for (size_t r = 0; r < rows; r++, n++)
            if (out) {
                memcpy(w + n * (T + 1), in + r * T, T * 4);
                w[n * (T + 1) + T] = tg[r * T + T - 1];
            }
    }
    pt_loader_stream_free(s);
    free(in), free(tg);
    if (out) *out = w;
    else free(w);
    return n;
}

/* Stream, save after k batches, restore into a fresh stream: the windows that follow are
 * those of the uninterrupted run, for several k (inside a shuffle block, at its end, 0, past
 * the end of the inputs), with ranks, and infinite passes. */
TEST(stream_resume) {
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/tok/gpt2-tokenizer.json", pt_test_data());
    snprintf(dir, sizeof dir, "%s/cpython", pt_test_data());
    pt_err e = {0};
    pt_bpe *tok = NULL;
    CHECK_OK(pt_bpe_load(&tok, path, &e), &e);
    if (!tok) return;
    CHECK(sizeof(pt_loader_stream_pos) == 64);
    uint32_t eot = pt_bpe_lookup(tok, "<|endoftext|>", 13);
    const char *inputs[] = {dir};
    const size_t T = 64, W1 = T + 1;
    struct {
        size_t B, shuffle;
        int rank, nranks, infinite;
        size_t limit; /* batches of the reference run (0: all) */
        size_t at[5];
    } cases[] = {
        {5, 40, 0, 1, 0, 0, {0, 3, 8, 11, 1000}},  /* blocks of 8 batches; 1000: past the end */
        {5, 0, 0, 1, 0, 0, {1, 7, 30, 0, 0}},      /* no shuffle */
        {4, 30, 1, 2, 0, 0, {2, 9, 15, 0, 0}},     /* rank 1 of 2; blocks not a whole number of batches */
        {8, 16, 0, 1, 1, 0, {40, 60, 0, 0, 0}},    /* infinite: set below to cross the end of a pass */
    };
    uint32_t *ref = NULL;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        pt_loader_stream_opts o = {.inputs = inputs, .ninputs = 1, .tok = tok, .eot = eot, .threads = 2,
                                   .B = cases[c].B, .T = T, .rank = cases[c].rank, .nranks = cases[c].nranks,
                                   .seed = 7, .shuffle_windows = cases[c].shuffle, .num_sequences = 4,
                                   .infinite = cases[c].infinite};
        size_t limit = cases[c].limit;
        if (o.infinite) {
            pt_loader_stream_opts f = o;
            f.infinite = 0;
            size_t per_pass = stream_run(&f, 0, 0, NULL, 0, NULL) / o.B;
            limit = per_pass + 40;
            cases[c].at[0] = per_pass - 3, cases[c].at[1] = per_pass + 2; /* before and after the end of a pass */
        }
        size_t n = stream_run(&o, limit, 0, NULL, 0, &ref);
        CHECK(n > 100);
        for (int a = 0; a < 5; a++) {
            size_t k = cases[c].at[a];
            if (a && !k) break;
            pt_loader_stream_pos p;
            memset(&p, 0xee, sizeof p);
            stream_run(&o, 0, k, &p, 1, NULL);
            size_t done = k * o.B < n ? k * o.B : n;
            CHECK_EQ_U64(p.yielded, done);
            CHECK(p.version == PT_LOADER_STREAM_POS_VERSION && p.T == T && p.seed == 7);
            pt_loader_stream_opts r = o;
            r.resume = &p;
            r.seed = 99; /* taken from the position */
            r.threads = 1;
            if (!limit && (a & 1)) r.B = o.B + 2; /* another batch size: the same windows, grouped otherwise */
            uint32_t *got = NULL;
            size_t m = stream_run(&r, limit ? limit - k : 0, 0, NULL, 0, &got);
            CHECK_EQ_U64(m, n - done);
            int same = m == n - done && (m == 0 || !memcmp(got, ref + done * W1, m * W1 * 4));
            CHECK(same);
            if (!same) printf("  case %zu: resumed after %zu batches differs\n", c, k);
            /* a position taken right after restoring is the same position */
            pt_loader_stream_pos q;
            stream_run(&r, 0, 0, &q, 1, NULL);
            CHECK(!memcmp(&p, &q, sizeof p));
            free(got);
        }
        free(ref);
        ref = NULL;
    }
    /* refused: another T, another rank count, other inputs, another shuffle size */
    pt_loader_stream_opts o = {.inputs = inputs, .ninputs = 1, .tok = tok, .eot = eot, .B = 4, .T = T,
                               .shuffle_windows = 8, .num_sequences = 4};
    pt_loader_stream_pos p;
    stream_run(&o, 0, 3, &p, 1, NULL);
    struct {
        pt_loader_stream_opts o;
        const char *msg;
    } bad[4];
    for (int i = 0; i < 4; i++) bad[i].o = o, bad[i].o.resume = &p;
    bad[0].o.T = 32, bad[0].msg = "T=64, now T=32";
    bad[1].o.nranks = 2, bad[1].msg = "resume with the saved rank count";
    const char *other[] = {"/tmp"};
    bad[2].o.inputs = other, bad[2].msg = "other inputs";
    bad[3].o.shuffle_windows = 9, bad[3].msg = "shuffle buffer of 8 windows, now 9";
    for (int i = 0; i < 4; i++) {
        pt_loader_stream *s = NULL;
        e.msg[0] = 0;
        CHECK(pt_loader_stream_new(&s, &bad[i].o, &e) == PT_EUSAGE && !s && strstr(e.msg, bad[i].msg));
        if (!strstr(e.msg, bad[i].msg)) printf("  got: %s\n", e.msg);
        pt_loader_stream_free(s);
    }
    /* a document ordinal past the inputs' end: an error from next, not a silent empty stream */
    p.doc = 1u << 30;
    o.resume = &p;
    pt_loader_stream *s = NULL;
    CHECK_OK(pt_loader_stream_new(&s, &o, &e), &e);
    if (s) {
        uint32_t in[4 * 64], tg[4 * 64];
        size_t rows = 1;
        e.msg[0] = 0;
        CHECK(pt_loader_stream_next(s, in, tg, &rows, &e) == PT_EUSAGE && rows == 0 && strstr(e.msg, "past the inputs"));
        pt_loader_stream_free(s);
    }
    pt_bpe_free(tok);
}

int main(void) {
    RUN(stream_mode);
    RUN(stream_resume);
    return TEST_DONE();
}
