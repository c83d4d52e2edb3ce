/* test_loader.c - the training data loader over an in-memory token stream and over token
 * shards (streaming mode: test_loader_stream.c). */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "data/loader.h"
#include "test.h"

/* A stream whose token i is i * 7 + 1 (distinct values: a window names its position). */
static uint32_t *make_stream(uint64_t n) {
    uint32_t *s = malloc(n * sizeof *s);
    for (uint64_t i = 0; i < n; i++) s[i] = (uint32_t)(i * 7 + 1);
    return s;
}

/* The window index of a row, read back from its first input token. */
static uint64_t row_window(const uint32_t *in, size_t T) { return (in[0] - 1) / 7 / T; }

static pt_loader *mk(const pt_loader_src *src, size_t B, size_t T, int rank, int nranks, uint64_t seed, int shuffle) {
    pt_err e = {0};
    pt_loader_opts o = {.B = B, .T = T, .rank = rank, .nranks = nranks, .seed = seed, .shuffle = shuffle};
    pt_loader *L = NULL;
    CHECK_OK(pt_loader_new(&L, src, &o, &e), &e);
    return L;
}

TEST(unshuffled_windows_reproduce_the_stream) {
    const uint64_t n = 1000;
    const size_t B = 4, T = 16;
    uint32_t *s = make_stream(n);
    pt_loader_src src = pt_loader_src_mem(s, n);
    pt_loader *L = mk(&src, B, T, 0, 1, 1, 0);
    if (!L) return;
    CHECK_EQ_U64(pt_loader_windows(L), (n - 1) / T); /* 62 */
    CHECK_EQ_U64(pt_loader_steps_per_epoch(L), 62 / 4);
    uint32_t in[4 * 16], tg[4 * 16];
    uint64_t pos = 0; /* the stream position the next input should hold */
    for (uint64_t step = 0; step < pt_loader_steps_per_epoch(L); step++) {
        uint64_t ep = 99;
        pt_loader_next(L, in, tg, &ep);
        CHECK_EQ_U64(ep, 0);
        for (size_t b = 0; b < B; b++)
            for (size_t t = 0; t < T; t++) {
                CHECK_EQ_U64(in[b * T + t], s[pos]);
                CHECK_EQ_U64(tg[b * T + t], s[pos + 1]); /* the next token */
                pos++;
            }
    }
    /* consecutive windows share one token: last target of window w == first input of w+1 */
    CHECK_EQ_U64(pos, 15 * 4 * 16);
    /* the next batch is epoch 1, again from the start (no shuffle) */
    uint64_t ep = 0;
    pt_loader_next(L, in, tg, &ep);
    CHECK_EQ_U64(ep, 1);
    CHECK_EQ_U64(in[0], s[0]);
    pt_loader_free(L);
    free(s);
}

TEST(tail_is_dropped) {
    /* T + 1 tokens make exactly one window; T tokens none; 2T + 1 two; 2T + T/2 still two */
    uint32_t *s = make_stream(100);
    const size_t T = 8;
    struct { uint64_t n, w; } cases[] = {{0, 0}, {1, 0}, {8, 0}, {9, 1}, {16, 1}, {17, 2}, {20, 2}, {25, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        pt_loader_src src = pt_loader_src_mem(s, cases[c].n);
        pt_loader_opts o = {.B = 1, .T = T, .nranks = 1};
        pt_err e = {0};
        pt_loader_eval *v = NULL;
        CHECK_OK(pt_loader_eval_new(&v, &src, &o, &e), &e);
        uint32_t in[8], tg[8];
        uint64_t got = 0;
        while (pt_loader_eval_next(v, in, tg)) {
            CHECK(tg[T - 1] == s[got * T + T]); /* the last target is inside the stream */
            got++;
        }
        CHECK_EQ_U64(got, cases[c].w);
        pt_loader_eval_free(v);
        pt_loader *L = NULL;
        int rc = pt_loader_new(&L, &src, &o, &e);
        if (cases[c].w == 0) {
            CHECK(rc == PT_EUSAGE);
            CHECK(strstr(e.msg, "fewer than one global batch") != NULL);
        } else {
            CHECK(rc == PT_OK);
            if (L) CHECK_EQ_U64(pt_loader_windows(L), cases[c].w);
        }
        pt_loader_free(L);
    }
    free(s);
}

/* All windows of epoch `ep` read by nranks ranks (B each) for a whole epoch: each window seen
 * at most once; returns how many were seen; the global order goes to order[] if not NULL. */
static uint64_t cover(const pt_loader_src *src, size_t B, size_t T, int nranks, uint64_t seed, int shuffle, int epochs,
                      uint64_t *order) {
    uint64_t W = (src->count - 1) / T;
    unsigned char *seen = calloc(W * (size_t)epochs, 1);
    pt_loader *L[3] = {0};
    for (int r = 0; r < nranks; r++) L[r] = mk(src, B, T, r, nranks, seed, shuffle);
    for (int r = 0; r < nranks; r++)
        if (!L[r]) return 0;
    uint64_t steps = pt_loader_steps_per_epoch(L[0]), total = 0;
    uint32_t *in = malloc(B * T * 4), *tg = malloc(B * T * 4);
    for (int ep = 0; ep < epochs; ep++)
        for (uint64_t s = 0; s < steps; s++)
            for (int r = 0; r < nranks; r++) {
                uint64_t got_ep;
                pt_loader_next(L[r], in, tg, &got_ep);
                CHECK_EQ_U64(got_ep, (uint64_t)ep);
                for (size_t b = 0; b < B; b++) {
                    uint64_t w = row_window(in + b * T, T);
                    CHECK(w < W);
                    CHECK(in[b * T] == (uint32_t)(w * T * 7 + 1)); /* starts on a window boundary */
                    CHECK(tg[b * T + T - 1] == (uint32_t)((w * T + T) * 7 + 1));
                    CHECK(!seen[ep * W + w]);
                    seen[ep * W + w] = 1;
                    if (order && ep == 0) order[total] = w;
                    total++;
                }
            }
    for (int r = 0; r < nranks; r++) pt_loader_free(L[r]);
    free(in), free(tg), free(seen);
    return total;
}

TEST(ranks_cover_each_epoch_once_disjointly) {
    const uint64_t n = 12001;
    const size_t T = 10;
    uint32_t *s = make_stream(n);
    pt_loader_src src = pt_loader_src_mem(s, n); /* W = 1200 */
    uint64_t *o1 = calloc(1200, 8), *o2 = calloc(1200, 8), *o3 = calloc(1200, 8);
    /* G = 12 for every N: 100 steps, no tail; the global order is the same */
    CHECK_EQ_U64(cover(&src, 12, T, 1, 5, 1, 2, o1), 2 * 1200);
    CHECK_EQ_U64(cover(&src, 6, T, 2, 5, 1, 2, o2), 2 * 1200);
    CHECK_EQ_U64(cover(&src, 4, T, 3, 5, 1, 2, o3), 2 * 1200);
    CHECK(!memcmp(o1, o2, 1200 * 8) && !memcmp(o1, o3, 1200 * 8));
    /* shuffled: not the identity */
    uint64_t fixed = 0;
    for (uint64_t i = 0; i < 1200; i++) fixed += o1[i] == i;
    CHECK(fixed < 20);
    /* a global batch that does not divide W: W mod G windows skipped per epoch */
    CHECK_EQ_U64(cover(&src, 7, T, 3, 5, 1, 3, NULL), 3 * (1200 / 21) * 21);
    CHECK_EQ_U64(cover(&src, 7, T, 2, 5, 0, 1, NULL), (1200 / 14) * 14);
    free(o1), free(o2), free(o3);
    free(s);
}

TEST(permutation_is_a_bijection_for_any_size) {
    /* sizes around powers of two and 4 (the Feistel domain rounding) */
    uint64_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4095, 4096, 4097, 65537};
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        uint64_t W = sizes[c];
        const size_t T = 1;
        uint32_t *s = make_stream(W + 1);
        pt_loader_src src = pt_loader_src_mem(s, W + 1);
        pt_loader *L = mk(&src, 1, T, 0, 1, 42, 1);
        if (!L) return;
        unsigned char *seen = calloc(W, 1);
        for (uint64_t ep = 0; ep < 2; ep++) {
            memset(seen, 0, W);
            for (uint64_t k = 0; k < W; k++) {
                uint64_t w = pt_loader_window_at(L, ep, k);
                CHECK(w < W);
                if (w < W) {
                    CHECK(!seen[w]);
                    seen[w] = 1;
                }
            }
        }
        free(seen);
        pt_loader_free(L);
        free(s);
    }
}

TEST(seeds_and_epochs_change_the_order) {
    const uint64_t n = 5001;
    uint32_t *s = make_stream(n);
    pt_loader_src src = pt_loader_src_mem(s, n);
    pt_loader *a = mk(&src, 4, 5, 0, 1, 7, 1), *b = mk(&src, 4, 5, 0, 1, 7, 1), *c = mk(&src, 4, 5, 0, 1, 8, 1);
    if (!a || !b || !c) return;
    uint64_t W = pt_loader_windows(a), same_ab = 0, same_ac = 0, same_ep = 0;
    for (uint64_t k = 0; k < W; k++) {
        same_ab += pt_loader_window_at(a, 0, k) == pt_loader_window_at(b, 0, k);
        same_ac += pt_loader_window_at(a, 0, k) == pt_loader_window_at(c, 0, k);
        same_ep += pt_loader_window_at(a, 0, k) == pt_loader_window_at(a, 1, k);
    }
    CHECK_EQ_U64(same_ab, W);
    CHECK(same_ac < W / 50); /* another seed: another order (chance agreement ~1/W each) */
    CHECK(same_ep < W / 50); /* reshuffled every epoch */
    /* batches themselves: same seed, same batches */
    uint32_t ia[20], ta[20], ib[20], tb[20];
    for (int i = 0; i < 300; i++) {
        pt_loader_next(a, ia, ta, NULL);
        pt_loader_next(b, ib, tb, NULL);
        CHECK(!memcmp(ia, ib, sizeof ia) && !memcmp(ta, tb, sizeof ta));
    }
    pt_loader_free(a), pt_loader_free(b), pt_loader_free(c);
    free(s);
}

TEST(save_restore_mid_epoch) {
    const uint64_t n = 4001;
    const size_t B = 3, T = 8;
    uint32_t *s = make_stream(n);
    pt_loader_src src = pt_loader_src_mem(s, n); /* W = 500, G = 3: 166 steps */
    pt_loader *a = mk(&src, B, T, 0, 1, 11, 1);
    if (!a) return;
    uint32_t in[24], tg[24], in2[24], tg2[24];
    for (int i = 0; i < 250; i++) pt_loader_next(a, in, tg, NULL); /* into epoch 1 */
    pt_loader_pos p;
    pt_loader_pos_get(a, &p);
    CHECK_EQ_U64(p.epoch, 1);
    CHECK_EQ_U64(p.step, 250 - 166);
    CHECK_EQ_U64(sizeof p, 64);
    /* a new loader with another seed takes the saved one */
    pt_loader *b = mk(&src, B, T, 0, 1, 999, 1);
    if (!b) return;
    pt_err e = {0};
    CHECK_OK(pt_loader_pos_set(b, &p, &e), &e);
    for (int i = 0; i < 400; i++) { /* across the next epoch boundaries */
        uint64_t ea, eb;
        pt_loader_next(a, in, tg, &ea);
        pt_loader_next(b, in2, tg2, &eb);
        CHECK(ea == eb && !memcmp(in, in2, sizeof in) && !memcmp(tg, tg2, sizeof tg));
    }
    pt_loader_free(a), pt_loader_free(b);
    free(s);
}

TEST(restore_with_another_rank_count) {
    const uint64_t n = 6001;
    const size_t T = 6;
    uint32_t *s = make_stream(n);
    pt_loader_src src = pt_loader_src_mem(s, n); /* W = 1000, G = 4: 250 steps */
    pt_loader *one = mk(&src, 4, T, 0, 1, 3, 1);
    if (!one) return;
    uint32_t g[4 * 6], gt[4 * 6], in[2 * 6], tg[2 * 6];
    for (int i = 0; i < 100; i++) pt_loader_next(one, g, gt, NULL);
    pt_loader_pos p;
    pt_loader_pos_get(one, &p);
    pt_loader *r0 = mk(&src, 2, T, 0, 2, 3, 1), *r1 = mk(&src, 2, T, 1, 2, 3, 1);
    if (!r0 || !r1) return;
    pt_err e = {0};
    CHECK_OK(pt_loader_pos_set(r0, &p, &e), &e);
    CHECK_OK(pt_loader_pos_set(r1, &p, &e), &e);
    for (int i = 0; i < 300; i++) {
        pt_loader_next(one, g, gt, NULL);
        pt_loader_next(r0, in, tg, NULL);
        CHECK(!memcmp(in, g, sizeof in) && !memcmp(tg, gt, sizeof tg));
        pt_loader_next(r1, in, tg, NULL);
        CHECK(!memcmp(in, g + 2 * T, sizeof in) && !memcmp(tg, gt + 2 * T, sizeof tg));
    }
    /* and back: the saved position of rank 1 of 2 restores the single rank */
    pt_loader_pos q, q0;
    pt_loader_pos_get(r1, &q);
    pt_loader_pos_get(r0, &q0);
    CHECK(!memcmp(&q, &q0, sizeof q));
    pt_loader_free(r0), pt_loader_free(r1), pt_loader_free(one);
    free(s);
}

TEST(mismatched_position_is_refused) {
    const uint64_t n = 6001;
    uint32_t *s = make_stream(n);
    pt_loader_src src = pt_loader_src_mem(s, n);
    pt_loader *a = mk(&src, 4, 6, 0, 1, 3, 1);
    if (!a) return;
    uint32_t in[24], tg[24];
    pt_loader_next(a, in, tg, NULL);
    pt_loader_pos p;
    pt_loader_pos_get(a, &p);
    pt_err e = {0};
    struct {
        pt_loader *L;
        const char *word;
    } bad[] = {
        {mk(&src, 2, 6, 0, 1, 3, 1), "global batch"}, /* G 2 != 4 */
        {mk(&src, 2, 6, 0, 3, 3, 1), "global batch"}, /* G 6 != 4 */
        {mk(&src, 4, 5, 0, 1, 3, 1), "T=6"},
        {mk(&src, 4, 6, 0, 1, 3, 0), "shuffling"},
    };
    pt_loader_src other = pt_loader_src_mem(s, n - 600);
    pt_loader *d = mk(&other, 4, 6, 0, 1, 3, 1);
    pt_loader_src same_len = src;
    same_len.id = 12345;
    pt_loader *d2 = mk(&same_len, 4, 6, 0, 1, 3, 1);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!bad[i].L) continue;
        e.msg[0] = 0;
        CHECK(pt_loader_pos_set(bad[i].L, &p, &e) == PT_EUSAGE);
        CHECK(strstr(e.msg, bad[i].word) != NULL);
        pt_loader_free(bad[i].L);
    }
    CHECK(pt_loader_pos_set(d, &p, &e) == PT_EUSAGE && strstr(e.msg, "another dataset"));
    CHECK(pt_loader_pos_set(d2, &p, &e) == PT_EUSAGE && strstr(e.msg, "another dataset"));
    pt_loader_pos q = p;
    q.version = 2;
    CHECK(pt_loader_pos_set(a, &q, &e) == PT_EUSAGE && strstr(e.msg, "version"));
    q = p;
    q.step = 1000000;
    CHECK(pt_loader_pos_set(a, &q, &e) == PT_EUSAGE && strstr(e.msg, "past the epoch"));
    /* a refused position leaves the loader where it was */
    pt_loader_pos after;
    pt_loader_pos_get(a, &after);
    CHECK(!memcmp(&after, &p, sizeof p));
    /* bad options */
    pt_loader *x = NULL;
    pt_loader_opts o = {.B = 0, .T = 4};
    CHECK(pt_loader_new(&x, &src, &o, &e) == PT_EUSAGE && !x);
    o = (pt_loader_opts){.B = 1, .T = 4, .rank = 2, .nranks = 2};
    CHECK(pt_loader_new(&x, &src, &o, &e) == PT_EUSAGE && strstr(e.msg, "rank 2"));
    pt_loader_free(d), pt_loader_free(d2), pt_loader_free(a);
    free(s);
}

TEST(validation_in_order_and_ends) {
    const uint64_t n = 1003;
    const size_t B = 8, T = 10;
    uint32_t *s = make_stream(n);
    pt_loader_src src = pt_loader_src_mem(s, n); /* W = 100: 12 full batches and one of 4 */
    pt_loader_opts o = {.B = B, .T = T, .seed = 5, .shuffle = 1}; /* shuffle is ignored */
    pt_err e = {0};
    pt_loader_eval *v = NULL;
    CHECK_OK(pt_loader_eval_new(&v, &src, &o, &e), &e);
    if (!v) return;
    uint32_t in[80], tg[80];
    for (int pass = 0; pass < 2; pass++) {
        uint64_t w = 0, batches = 0;
        size_t got;
        while ((got = pt_loader_eval_next(v, in, tg))) {
            CHECK(got == B || (batches == 12 && got == 4));
            for (size_t b = 0; b < got; b++, w++)
                for (size_t t = 0; t < T; t++) {
                    CHECK_EQ_U64(in[b * T + t], s[w * T + t]);
                    CHECK_EQ_U64(tg[b * T + t], s[w * T + t + 1]);
                }
            batches++;
        }
        CHECK_EQ_U64(w, 100);
        CHECK_EQ_U64(batches, 13);
        CHECK_EQ_U64(pt_loader_eval_next(v, in, tg), 0); /* stays ended */
        pt_loader_eval_rewind(v);
    }
    pt_loader_eval_free(v);
    /* ranks split the windows disjointly and cover them */
    unsigned char seen[100] = {0};
    for (int r = 0; r < 3; r++) {
        o = (pt_loader_opts){.B = 7, .T = T, .rank = r, .nranks = 3};
        CHECK_OK(pt_loader_eval_new(&v, &src, &o, &e), &e);
        size_t got;
        while ((got = pt_loader_eval_next(v, in, tg)))
            for (size_t b = 0; b < got; b++) {
                uint64_t w = row_window(in + b * T, T);
                CHECK(w < 100 && !seen[w] && w % 3 == (uint64_t)r);
                if (w < 100) seen[w] = 1;
            }
        pt_loader_eval_free(v);
    }
    for (int w = 0; w < 100; w++) CHECK(seen[w]);
    free(s);
}

/* The documents of over_token_shards (into all[], which must hold 20000 ids) written as shards
 * of 300 tokens into dir; token `change` (>= 0) gets another id. Opened, or NULL. */
static pt_tokens *write_shards(const char *dir, uint32_t *all, long change) {
    pt_err e = {0};
    pt_hash128 th = {1, 2};
    pt_tokens_writer *w = NULL;
    CHECK_OK(pt_tokens_writer_open(&w, dir, "train", 1000, 999, th, 300, &e), &e);
    if (!w) return NULL;
    size_t n = 0;
    for (int d = 0; d < 100; d++) {
        size_t len = (size_t)(d * 37 % 90);
        for (size_t i = 0; i < len; i++) all[n + i] = (uint32_t)((d * 131 + i * 17) % 999);
        all[n + len] = 999; /* end of text */
        if (change >= 0 && (size_t)change >= n && (size_t)change < n + len) all[change] = (all[change] + 1) % 999;
        CHECK_OK(pt_tokens_writer_add(w, all + n, len + 1, &e), &e);
        n += len + 1;
    }
    CHECK_OK(pt_tokens_writer_close(w, NULL, NULL, NULL, &e), &e);
    pt_tokens *t = NULL;
    CHECK_OK(pt_tokens_open(&t, dir, "train", &e), &e);
    return t;
}

/* Through pt_tokens: shards written by the tokens writer (several, so windows cross shard
 * boundaries) read back by the loader reproduce the documents' stream. */
TEST(over_token_shards) {
    char dir[] = "/tmp/pt-loader-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    pt_err e = {0};
    pt_hash128 th = {1, 2};
    pt_tokens_writer *w = NULL;
    CHECK_OK(pt_tokens_writer_open(&w, dir, "train", 1000, 999, th, 300, &e), &e);
    if (!w) return;
    uint32_t *all = malloc(20000 * sizeof *all);
    size_t n = 0;
    for (int d = 0; d < 100; d++) {
        size_t len = (size_t)(d * 37 % 90);
        for (size_t i = 0; i < len; i++) all[n + i] = (uint32_t)((d * 131 + i * 17) % 999);
        all[n + len] = 999; /* end of text */
        CHECK_OK(pt_tokens_writer_add(w, all + n, len + 1, &e), &e);
        n += len + 1;
    }
    uint32_t shards = 0;
    CHECK_OK(pt_tokens_writer_close(w, &shards, NULL, NULL, &e), &e);
    CHECK(shards > 3);
    pt_tokens *t = NULL;
    CHECK_OK(pt_tokens_open(&t, dir, "train", &e), &e);
    if (!t) return;
    pt_loader_src src = pt_loader_src_tokens(t);
    CHECK_EQ_U64(src.count, n);
    CHECK(src.id != 0);
    const size_t T = 32;
    pt_loader *L = mk(&src, 2, T, 0, 1, 0, 0);
    if (L) {
        uint32_t in[64], tg[64];
        uint64_t pos = 0;
        for (uint64_t s = 0; s < pt_loader_steps_per_epoch(L); s++) {
            pt_loader_next(L, in, tg, NULL);
            for (size_t k = 0; k < 2 * T; k++, pos++) CHECK(in[k] == all[pos] && tg[k] == all[pos + 1]);
        }
        /* a position over the array source (id 0, same windows) is another dataset */
        pt_loader_pos p;
        pt_loader_pos_get(L, &p);
        pt_loader_src mem = pt_loader_src_mem(all, n);
        pt_loader *M = mk(&mem, 2, T, 0, 1, 0, 0);
        if (M) CHECK(pt_loader_pos_set(M, &p, &e) == PT_EUSAGE && strstr(e.msg, "another dataset"));
        pt_loader_free(M);
        /* the same data written again: the same content id, the position is accepted */
        char dir2[] = "/tmp/pt-loader-XXXXXX";
        CHECK(mkdtemp(dir2) != NULL);
        pt_tokens *t2 = write_shards(dir2, all, -1);
        if (t2) {
            pt_loader_src src2 = pt_loader_src_tokens(t2);
            CHECK_EQ_U64(src2.id, src.id);
            pt_loader *L2 = mk(&src2, 2, T, 0, 1, 0, 0);
            if (L2) CHECK_OK(pt_loader_pos_set(L2, &p, &e), &e);
            pt_loader_free(L2);
            pt_tokens_close(t2);
        }
        /* other data of exactly the same size (one token differs; same tokenizer, counts,
         * documents and shards): another content id, refused, and the message says so */
        char dir3[] = "/tmp/pt-loader-XXXXXX";
        CHECK(mkdtemp(dir3) != NULL);
        pt_tokens *t3 = write_shards(dir3, all, 1234);
        if (t3) {
            pt_loader_src src3 = pt_loader_src_tokens(t3);
            CHECK_EQ_U64(src3.count, src.count);
            CHECK_EQ_U64(pt_tokens_docs(t3), pt_tokens_docs(t));
            CHECK(src3.id != src.id && src3.id != 0);
            pt_loader *L3 = mk(&src3, 2, T, 0, 1, 0, 0);
            if (L3) {
                e.msg[0] = 0;
                CHECK(pt_loader_pos_set(L3, &p, &e) == PT_EUSAGE && strstr(e.msg, "another dataset") &&
                      strstr(e.msg, "the same size but other tokens"));
            }
            pt_loader_free(L3);
            pt_tokens_close(t3);
        }
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir2, dir3);
        CHECK(system(cmd) == 0);
    }
    pt_loader_free(L);
    pt_tokens_close(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    free(all);
}

TEST(speed) {
    /* not a benchmark: prints the rate of batches (B=8, T=1024) from memory, shuffled */
    const uint64_t n = 8u << 20;
    uint32_t *s = make_stream(n);
    pt_loader_src src = pt_loader_src_mem(s, n);
    pt_loader *L = mk(&src, 8, 1024, 0, 1, 1, 1);
    if (!L) return;
    uint32_t *in = malloc(8 * 1024 * 4), *tg = malloc(8 * 1024 * 4);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int nb = 2000;
    for (int i = 0; i < nb; i++) pt_loader_next(L, in, tg, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("  %d batches of 8 x 1024 in %.3f s: %.0f batches/s, %.1f M tokens/s\n", nb, sec, nb / sec,
           nb * 8192.0 / sec / 1e6);
    free(in), free(tg);
    pt_loader_free(L);
    free(s);
}

int main(void) {
    RUN(unshuffled_windows_reproduce_the_stream);
    RUN(tail_is_dropped);
    RUN(ranks_cover_each_epoch_once_disjointly);
    RUN(permutation_is_a_bijection_for_any_size);
    RUN(seeds_and_epochs_change_the_order);
    RUN(save_restore_mid_epoch);
    RUN(restore_with_another_rank_count);
    RUN(mismatched_position_is_refused);
    RUN(validation_in_order_and_ends);
    RUN(over_token_shards);
    RUN(speed);
    return TEST_DONE();
}
