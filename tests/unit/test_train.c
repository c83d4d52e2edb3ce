/* test_train.c - the BPE trainer (tok/train.h) on small inputs whose results were taken from
 * Hugging Face tokenizers 0.23 (BpeTrainer with the ByteLevel pre-tokenizer and alphabet; the
 * e2e script tests/e2e/tok_train.sh compares with the library itself on real code). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "test.h"
#include "tok/bpe.h"
#include "tok/train.h"

/* Trains on docs (NULL-terminated) and returns the tokenizer (NULL on failure, printed). */
static pt_bpe *train(const char *const *docs, uint32_t vocab, const char *const *specials, size_t nspecials,
                     uint64_t minf, int threads) {
    pt_bpe_train_opts o = {.vocab_size = vocab, .min_frequency = minf, .specials = specials,
                           .n_specials = nspecials, .threads = threads};
    pt_bpe_trainer *tr;
    pt_err e = {0};
    pt_bpe *t = NULL;
    if (pt_bpe_trainer_new(&tr, &o, &e)) {
        printf("  new: %s\n", e.msg);
        return NULL;
    }
    size_t n = 0, lens[64];
    while (docs && docs[n]) lens[n] = strlen(docs[n]), n++;
    if (pt_bpe_trainer_add(tr, n, docs, lens, &e) || pt_bpe_trainer_run(tr, &t, &e)) printf("  train: %s\n", e.msg);
    pt_bpe_trainer_free(tr);
    return t;
}

/* The merges as "left right|left right|..." in GPT-2's alphabet. */
static void merges_str(const pt_bpe *t, char *out, size_t cap) {
    size_t k = 0;
    out[0] = 0;
    for (uint32_t r = 0; r < pt_bpe_merge_count(t); r++) {
        uint32_t ids[2], m;
        pt_bpe_merge(t, r, &ids[0], &ids[1], &m);
        for (int j = 0; j < 2; j++) {
            size_t n;
            const unsigned char *p = pt_bpe_token(t, ids[j], &n, NULL);
            char s[256];
            if (n > 100) n = 100;
            pt_bpe_map(p, n, s);
            k += (size_t)snprintf(out + k, cap - k, "%s%s", j ? " " : (r ? "|" : ""), s);
            if (k >= cap) return;
        }
    }
}

static const char *const EOT[] = {"<|endoftext|>"};

#define EXPECT(docs, vocab, specials, nspecials, minf, want_vocab, want_merges)        \
    do {                                                                              \
        pt_bpe *t_ = train(docs, vocab, specials, nspecials, minf, 2);                \
        CHECK(t_ != NULL);                                                            \
        if (t_) {                                                                     \
            char got_[4096];                                                          \
            merges_str(t_, got_, sizeof got_);                                        \
            CHECK_EQ_U64(pt_bpe_vocab_size(t_), want_vocab);                          \
            CHECK_STR(got_, want_merges);                                             \
            pt_bpe_free(t_);                                                          \
        }                                                                             \
    } while (0)

TEST(train_ties_to_smaller_pair) {
    const char *d[] = {"abcd", NULL};
    EXPECT(d, 300, EOT, 1, 0, 260, "a b|c d|ab cd");
}

TEST(train_min_frequency) {
    const char *d[] = {"ab ab ab cd cd", NULL};
    EXPECT(d, 300, EOT, 1, 3, 258, "a b");
    EXPECT(d, 300, EOT, 1, 2, 261, "a b|c d|\xC4\xA0 ab|\xC4\xA0 cd");
}

TEST(train_runs_and_whitespace) {
    const char *d[] = {"aaaaaaaa aaa a\n\n    x\n", NULL};
    EXPECT(d, 300, EOT, 1, 0, 268,
           "a a|aa aa|\xC4\xA0 \xC4\xA0|\xC4\x8A \xC4\x8A|\xC4\xA0 a|\xC4\xA0 x|\xC4\xA0 aa|aaaa aaaa|"
           "\xC4\xA0\xC4\xA0 \xC4\xA0|\xC4\x8A\xC4\x8A \xC4\xA0\xC4\xA0\xC4\xA0|\xC4\xA0" "aa a");
}

TEST(train_reuses_existing_string_id) {
    /* the special "ab" is also the string of merge (a, b): the merge gives its id, 1 (a
     * repeated special counts once; with two specials, U+0120 for the space is id 222) */
    const char *d[] = {"ab ab", NULL};
    const char *sp[] = {"<|endoftext|>", "ab", "<|endoftext|>"};
    pt_bpe *t = train(d, 300, sp, 3, 0, 1);
    CHECK(t != NULL);
    if (!t) return;
    char got[256];
    merges_str(t, got, sizeof got);
    CHECK_STR(got, "a b|\xC4\xA0 ab");
    CHECK_EQ_U64(pt_bpe_vocab_size(t), 259);
    uint32_t l, r, m;
    CHECK(pt_bpe_merge(t, 0, &l, &r, &m) == 0 && m == 1);
    CHECK(pt_bpe_merge(t, 1, &l, &r, &m) == 0 && l == 222 && r == 1 && m == 258);
    unsigned flags;
    size_t n;
    const unsigned char *p = pt_bpe_token(t, 1, &n, &flags);
    CHECK(p && n == 2 && !memcmp(p, "ab", 2) && (flags & PT_BPE_TOKEN_SPECIAL));
    pt_bpe_free(t);
}

TEST(train_small_vocab_and_empty_input) {
    const char *d[] = {"ab ab", NULL};
    EXPECT(d, 10, EOT, 1, 0, 257, ""); /* below specials + alphabet: just those */
    EXPECT(NULL, 300, EOT, 1, 0, 257, "");
    const char *empty[] = {"", "", NULL};
    EXPECT(empty, 300, EOT, 1, 0, 257, "");
    const char *xy[] = {"x y", NULL};
    EXPECT(xy, 260, NULL, 0, 0, 257, "\xC4\xA0 y"); /* stops when no pair is left */
}

TEST(train_alphabet_order) {
    pt_bpe *t = train(NULL, 300, EOT, 1, 0, 1);
    CHECK(t != NULL);
    if (!t) return;
    size_t n;
    unsigned flags;
    const unsigned char *p = pt_bpe_token(t, 0, &n, &flags);
    CHECK(p && n == 13 && !memcmp(p, "<|endoftext|>", 13) && (flags & PT_BPE_TOKEN_SPECIAL));
    /* '!'..'~', then 0xA1..0xAC, 0xAE..0xFF, then the rest in byte order (their code points
     * are 256 + n) */
    CHECK((p = pt_bpe_token(t, 1, &n, NULL)) && n == 1 && p[0] == '!');
    CHECK((p = pt_bpe_token(t, 94, &n, NULL)) && n == 1 && p[0] == '~');
    CHECK((p = pt_bpe_token(t, 95, &n, NULL)) && n == 1 && p[0] == 0xA1);
    CHECK((p = pt_bpe_token(t, 189, &n, NULL)) && n == 1 && p[0] == 0x00);
    CHECK((p = pt_bpe_token(t, 221, &n, NULL)) && n == 1 && p[0] == ' ');
    CHECK((p = pt_bpe_token(t, 256, &n, NULL)) && n == 1 && p[0] == 0xAD);
    pt_bpe_free(t);
}

TEST(train_threads_agree) {
    /* pseudo-random code-like text over a few documents: 1 and 3 threads, same tokenizer */
    static char buf[8][4000];
    const char *d[9];
    static const char *const words[] = {"def ", "self", ".", "x", " = ", "(", ")", ":\n", "    ", "return ",
                                        "if ", "  ", "# ", "é", "0", "\t", "None", ", "};
    uint64_t s = 7;
    for (int i = 0; i < 8; i++) {
        size_t k = 0;
        while (k < sizeof buf[i] - 16) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const char *w = words[(s >> 33) % (sizeof words / sizeof *words)];
            size_t n = strlen(w);
            memcpy(buf[i] + k, w, n);
            k += n;
        }
        buf[i][k] = 0;
        d[i] = buf[i];
    }
    d[8] = NULL;
    pt_bpe *a = train(d, 600, EOT, 1, 0, 1), *b = train(d, 600, EOT, 1, 0, 3);
    CHECK(a && b);
    if (a && b) {
        CHECK(pt_bpe_hash(a).lo == pt_bpe_hash(b).lo && pt_bpe_hash(a).hi == pt_bpe_hash(b).hi);
        CHECK(pt_bpe_merge_count(a) > 100);
    }
    pt_bpe_free(a);
    pt_bpe_free(b);
}

TEST(train_bad_options) {
    pt_bpe_trainer *tr = (pt_bpe_trainer *)1;
    pt_err e = {0};
    pt_bpe_train_opts o = {.vocab_size = 0};
    CHECK(pt_bpe_trainer_new(&tr, &o, &e) == PT_EUSAGE && tr == NULL);
    const char *sp[] = {""};
    o.vocab_size = 300, o.specials = sp, o.n_specials = 1;
    CHECK(pt_bpe_trainer_new(&tr, &o, &e) == PT_EUSAGE && strstr(e.msg, "empty special"));
}

int main(void) {
    RUN(train_ties_to_smaller_pair);
    RUN(train_min_frequency);
    RUN(train_runs_and_whitespace);
    RUN(train_reuses_existing_string_id);
    RUN(train_small_vocab_and_empty_input);
    RUN(train_alphabet_order);
    RUN(train_threads_agree);
    RUN(train_bad_options);
    return TEST_DONE();
}
