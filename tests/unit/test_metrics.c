/* test_metrics.c - the chapter's tokenizer metrics (tok/metrics.h) on tiny texts, with a
 * tokenizer built here (the 256 bytes as ids 0..255 and four merges) whose every figure is
 * worked out by hand in the comments. tests/e2e/tok_eval.sh compares real tokenizers on real
 * code with Hugging Face tokenizers. */
#include <math.h>

#include "base/unicode_tables.h"
#include "base/utf8.h"
#include "test.h"
#include "tok/bpe.h"
#include "tok/metrics.h"
#include "tok/pretok.h"

/* Ids: byte b is id b; 256 "de", 257 "def", 258 " def", 259 "if". */
static pt_bpe *tiny(int add_prefix_space) {
    pt_err e = {0};
    pt_bpe *t = pt_bpe_new(&e);
    CHECK(t != NULL);
    for (unsigned b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        CHECK_OK(pt_bpe_add_token(t, b, &c, 1, 0, &e), &e);
    }
    CHECK_OK(pt_bpe_add_token(t, 256, "de", 2, 0, &e), &e);
    CHECK_OK(pt_bpe_add_token(t, 257, "def", 3, 0, &e), &e);
    CHECK_OK(pt_bpe_add_token(t, 258, " def", 4, 0, &e), &e);
    CHECK_OK(pt_bpe_add_token(t, 259, "if", 2, 0, &e), &e);
    CHECK_OK(pt_bpe_add_merge(t, 'd', 'e', &e), &e);
    CHECK_OK(pt_bpe_add_merge(t, 256, 'f', &e), &e);
    CHECK_OK(pt_bpe_add_merge(t, ' ', 257, &e), &e);
    CHECK_OK(pt_bpe_add_merge(t, 'i', 'f', &e), &e);
    pt_bpe_options o = {.add_prefix_space = add_prefix_space};
    pt_bpe_set_options(t, &o);
    CHECK_OK(pt_bpe_finish(t, &e), &e);
    return t;
}

static int near(double a, double b) { return fabs(a - b) < 1e-12; }

/* Pieces of DOC1: "def" " f" "(" "x" "):" "\n   " " if" " fed" "1" ":" "\n"
 * tokens:          1    2    1   1    2     4      2     4    1   1    1   = 20
 * words: def 1, f 1 (lone " " not counted), x 1, if 1, fed 3, 1 1: 6 words, 8 tokens, 1 continued.
 * ids: " " x6, f x2, ":" x2, "\n" x2, and once each: def ( x ) if e d 1 -> 12 distinct. */
static const char DOC1[] = "def f(x):\n    if fed1:\n";

TEST(metrics_by_hand) {
    pt_err e = {0};
    pt_bpe *t = tiny(0);
    pt_bpe_scratch *s = pt_bpe_scratch_new();
    pt_tokm *m = NULL;
    CHECK_OK(pt_tokm_new(&m, t, 2, &e), &e);
    CHECK_OK(pt_tokm_add(m, 0, DOC1, sizeof DOC1 - 1, s, &e), &e);
    CHECK_OK(pt_tokm_add(m, 1, "x", 1, s, &e), &e); /* 1 token, 1 word */
    CHECK_OK(pt_tokm_add(m, 0, "", 0, s, &e), &e);  /* 0 tokens */
    pt_tokm_result r;
    CHECK_OK(pt_tokm_result_get(m, 2, s, &r, &e), &e);
    CHECK_EQ_U64(r.docs, 3);
    CHECK_EQ_U64(r.bytes, 24);
    CHECK_EQ_U64(r.chars, 24);
    CHECK_EQ_U64(r.tokens, 21);
    CHECK_EQ_U64(r.words, 7);
    CHECK_EQ_U64(r.word_tokens, 9);
    CHECK_EQ_U64(r.continued_words, 1);
    CHECK_EQ_U64(r.unknown, 0);
    CHECK_EQ_U64(r.vocab_size, 260);
    CHECK_EQ_U64(r.vocab_used, 12);
    /* seen < 2 times: def ( ) if e d 1 (x is now seen twice): 7 ids, 7 tokens */
    CHECK_EQ_U64(r.rare_ids, 7);
    CHECK_EQ_U64(r.rare_tokens, 7);
    CHECK(near(r.fertility, 9.0 / 7));
    CHECK(near(r.continued_share, 1.0 / 7));
    CHECK(near(r.rare_token_share, 7.0 / 21));
    CHECK(near(r.rare_vocab_share, 7.0 / 12));
    CHECK(near(r.chars_per_token, 24.0 / 21));
    CHECK(near(r.tokens_per_doc_mean, 7));
    CHECK(near(r.tokens_per_doc_median, 1)); /* of 0, 1, 20 */
    /* " def" is one token (258), " if" two; bare "def" and "if" one each; no builtin. */
    CHECK_EQ_U64(r.keywords_single_sp, 1);
    CHECK_EQ_U64(r.keywords_single_bare, 2);
    CHECK_EQ_U64(r.builtins_single_sp, 0);
    CHECK_EQ_U64(r.builtins_single_bare, 0);
    for (int i = 0; i < PT_TOKM_NKEYWORDS; i++) {
        int def = !strcmp(pt_tokm_keywords[i], "def"), iff = !strcmp(pt_tokm_keywords[i], "if");
        CHECK(r.keyword_single_sp[i] == def);
        CHECK(r.keyword_single_bare[i] == (def || iff));
    }
    /* Another threshold from the same sums: every id seen < 10 times. */
    CHECK_OK(pt_tokm_result_get(m, 10, s, &r, &e), &e);
    CHECK_EQ_U64(r.rare_ids, 12);
    CHECK_EQ_U64(r.rare_tokens, 21);
    /* An even count of documents: the median is the mean of the middle two (1 and 20). */
    CHECK_OK(pt_tokm_add(m, 1, "ab", 2, s, &e), &e); /* 2 tokens */
    CHECK_OK(pt_tokm_result_get(m, 10, s, &r, &e), &e);
    CHECK(near(r.tokens_per_doc_median, 1.5));
    pt_tokm_free(m);
    pt_bpe_scratch_free(s);
    pt_bpe_free(t);
}

TEST(metrics_slots_do_not_matter) {
    pt_err e = {0};
    pt_bpe *t = tiny(0);
    pt_bpe_scratch *s = pt_bpe_scratch_new();
    pt_tokm *a = NULL, *b = NULL;
    CHECK_OK(pt_tokm_new(&a, t, 1, &e), &e);
    CHECK_OK(pt_tokm_new(&b, t, 3, &e), &e);
    const char *docs[] = {DOC1, "x", "", "a b c", "if if if", "\xff\xfe"};
    for (int i = 0; i < 6; i++) {
        CHECK_OK(pt_tokm_add(a, 0, docs[i], strlen(docs[i]), s, &e), &e);
        CHECK_OK(pt_tokm_add(b, (i * 7) % 3, docs[i], strlen(docs[i]), s, &e), &e);
    }
    pt_tokm_result ra, rb;
    CHECK_OK(pt_tokm_result_get(a, 3, s, &ra, &e), &e);
    CHECK_OK(pt_tokm_result_get(b, 3, s, &rb, &e), &e);
    CHECK(!memcmp(&ra, &rb, sizeof ra));
    pt_tokm_free(a);
    pt_tokm_free(b);
    pt_bpe_scratch_free(s);
    pt_bpe_free(t);
}

/* Invalid bytes are characters of their own: "a" FF E2 82 "b" is 5 characters, pieces
 * "a", FF E2 82 (one run of "other"), "b": 5 tokens, 2 words. */
TEST(metrics_invalid_utf8) {
    pt_err e = {0};
    pt_bpe *t = tiny(0);
    pt_bpe_scratch *s = pt_bpe_scratch_new();
    pt_tokm *m = NULL;
    CHECK_OK(pt_tokm_new(&m, t, 1, &e), &e);
    CHECK_OK(pt_tokm_add(m, 0, "a\xff\xe2\x82" "b", 5, s, &e), &e);
    CHECK_OK(pt_tokm_add(m, 0, "\xc3\xa9t\xc3\xa9", 5, s, &e), &e); /* "été": 3 characters, 5 tokens, 1 word */
    pt_tokm_result r;
    CHECK_OK(pt_tokm_result_get(m, 10, s, &r, &e), &e);
    CHECK_EQ_U64(r.chars, 8);
    CHECK_EQ_U64(r.bytes, 10);
    CHECK_EQ_U64(r.tokens, 10);
    CHECK_EQ_U64(r.words, 3);
    CHECK_EQ_U64(r.word_tokens, 7);
    CHECK_EQ_U64(r.continued_words, 1);
    pt_tokm_free(m);
    pt_bpe_scratch_free(s);
    pt_bpe_free(t);
}

/* add_prefix_space: "def" is encoded as " def" (one token), its characters stay 3. */
TEST(metrics_prefix_space) {
    pt_err e = {0};
    pt_bpe *t = tiny(1);
    pt_bpe_scratch *s = pt_bpe_scratch_new();
    pt_tokm *m = NULL;
    CHECK_OK(pt_tokm_new(&m, t, 1, &e), &e);
    CHECK_OK(pt_tokm_add(m, 0, "def", 3, s, &e), &e);
    pt_tokm_result r;
    CHECK_OK(pt_tokm_result_get(m, 10, s, &r, &e), &e);
    CHECK_EQ_U64(r.chars, 3);
    CHECK_EQ_U64(r.bytes, 3);
    CHECK_EQ_U64(r.tokens, 1);
    CHECK_EQ_U64(r.words, 1);
    CHECK_EQ_U64(r.word_tokens, 1);
    CHECK_EQ_U64(r.keywords_single_bare, 1); /* "def" becomes " def"; "if" becomes " if": 2 tokens */
    pt_tokm_free(m);
    pt_bpe_scratch_free(s);
    pt_bpe_free(t);
}

typedef struct words_got {
    char s[256];
} words_got;

static void on_word(void *ctx, size_t start, size_t end) {
    words_got *w = ctx;
    size_t n = strlen(w->s);
    snprintf(w->s + n, sizeof w->s - n, "%s%zu-%zu", n ? "," : "", start, end);
}

/* Pieces "  foo(bar, 12)'s ==": " " " foo" "(" "bar" "," " 12" ")'" "s" " ==": the words are
 * foo, bar, 12 and s (the apostrophe after ')' is punctuation, not a contraction). */
TEST(metrics_words) {
    words_got w = {{0}};
    const char *text = "  foo(bar, 12)'s ==";
    pt_tokm_words(text, strlen(text), on_word, &w);
    CHECK_STR(w.s, "2-5,6-9,11-13,15-16");
    words_got c = {{0}};
    pt_tokm_words("it's 3\xc2\xb2", 8, on_word, &c); /* "it" "'s" " 3²": \p{N} holds ² */
    CHECK_STR(c.s, "0-2,2-4,5-8");
}

/* The words found by pt_tokm_words (a piece's class read from its first characters) equal the
 * pieces that hold any letter or number (every character looked at), on random strings of
 * letters, numbers, spaces, apostrophes, punctuation, non-ASCII and invalid bytes. */
static void on_word_count(void *ctx, size_t start, size_t end) {
    (void)start, (void)end;
    ++*(size_t *)ctx;
}

TEST(metrics_words_random) {
    static const char *const atoms[] = {"a", "Zz", "1", "\xc2\xb2", " ", "  ", "\t", "\n", "'", "'s", "'re", "'x",
                                        "(", "==", "_", "\xc3\xa9", "\xe4\xb8\xad", "\xff", "\xe2\x82", "\xc2\xa0"};
    uint64_t x = 88172645463325252ull;
    char text[256];
    for (int round = 0; round < 20000; round++) {
        size_t n = 0;
        int k = 1 + (int)(round % 24);
        for (int i = 0; i < k; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const char *a = atoms[x % (sizeof atoms / sizeof atoms[0])];
            memcpy(text + n, a, strlen(a));
            n += strlen(a);
        }
        size_t want = 0, got = 0;
        for (size_t pos = 0; pos < n;) {
            size_t end = pt_pretok_next(text, n, pos);
            int word = 0;
            for (size_t i = pos; i < end;) {
                uint32_t cp;
                size_t len = pt_utf8_decode((const unsigned char *)text + i, end - i, &cp);
                if (len && (pt_tok_class(cp) == PT_TOK_LETTER || pt_tok_class(cp) == PT_TOK_NUMBER)) word = 1;
                i += len ? len : 1;
            }
            want += (size_t)word;
            pos = end;
        }
        pt_tokm_words(text, n, on_word_count, &got);
        if (got != want) {
            CHECK_EQ_U64(got, want);
            return;
        }
    }
}

TEST(metrics_lists) {
    CHECK_STR(pt_tokm_keywords[0], "False");
    CHECK_STR(pt_tokm_keywords[PT_TOKM_NKEYWORDS - 1], "yield");
    CHECK_STR(pt_tokm_builtins[0], "abs");
    CHECK_STR(pt_tokm_builtins[PT_TOKM_NBUILTINS - 1], "zip");
    for (int i = 1; i < PT_TOKM_NBUILTINS; i++) CHECK(strcmp(pt_tokm_builtins[i - 1], pt_tokm_builtins[i]) < 0);
}

int main(void) {
    RUN(metrics_by_hand);
    RUN(metrics_slots_do_not_matter);
    RUN(metrics_invalid_utf8);
    RUN(metrics_prefix_space);
    RUN(metrics_words);
    RUN(metrics_words_random);
    RUN(metrics_lists);
    return TEST_DONE();
}
