/* test_pretok.c - GPT-2's pre-tokenizer scanner and its character classes, against the
 * regex module's pieces in tests/data/tok/cases.txt (tools/make_tok_fixture.py). */
#include <stdint.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/utf8.h"
#include "test.h"
#include "tok/pretok.h"
#include "base/unicode_tables.h"

TEST(classes) {
    for (uint32_t c = 0; c < 128; c++) CHECK_EQ_U64(pt_tok_class_ascii_[c], pt_tok_class(c));
    static const struct {
        uint32_t cp;
        unsigned cls;
    } k[] = {
        {'a', PT_TOK_LETTER},    {'Z', PT_TOK_LETTER},    {'7', PT_TOK_NUMBER},     {' ', PT_TOK_SPACE},
        {'\t', PT_TOK_SPACE},    {0x0B, PT_TOK_SPACE},    {0x1C, PT_TOK_OTHER},     {'_', PT_TOK_OTHER},
        {'\'', PT_TOK_OTHER},    {0x85, PT_TOK_SPACE},    {0xA0, PT_TOK_SPACE},     {0xB2, PT_TOK_NUMBER},  /* ² */
        {0xBD, PT_TOK_NUMBER},   {0xE9, PT_TOK_LETTER},   {0x1C5, PT_TOK_LETTER},   {0x301, PT_TOK_OTHER},  /* ǅ, combining acute */
        {0x3B1, PT_TOK_LETTER},  {0x663, PT_TOK_NUMBER},  {0x200B, PT_TOK_OTHER},   {0x2028, PT_TOK_SPACE}, /* ZWSP, LS */
        {0x216B, PT_TOK_NUMBER}, {0x2460, PT_TOK_NUMBER}, {0x3000, PT_TOK_SPACE},   {0x4E2D, PT_TOK_LETTER},
        {0xD800, PT_TOK_OTHER},  {0xE000, PT_TOK_OTHER},  {0x1F600, PT_TOK_OTHER},  {0x20000, PT_TOK_LETTER},
        {0x10FFFF, PT_TOK_OTHER}, {0x110000, PT_TOK_OTHER}, {0xFEFF, PT_TOK_OTHER}, {0x180E, PT_TOK_OTHER},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (pt_tok_class(k[i].cp) != k[i].cls) printf("  U+%04X\n", (unsigned)k[i].cp);
        CHECK_EQ_U64(pt_tok_class(k[i].cp), k[i].cls);
    }
    CHECK_STR(PT_UNICODE_VERSION, "14.0.0");
}

/* The pieces of s joined by '|'. */
static const char *split(const char *s) {
    static char out[1024];
    size_t n = strlen(s), o = 0;
    for (size_t i = 0, j; i < n; i = j) {
        j = pt_pretok_next(s, n, i);
        if (i) out[o++] = '|';
        memcpy(out + o, s + i, j - i);
        o += j - i;
    }
    out[o] = 0;
    return out;
}

TEST(readable_cases) {
    CHECK_STR(split("hello world"), "hello| world");
    CHECK_STR(split("I'm you're he's we've they'll she'd"), "I|'m| you|'re| he|'s| we|'ve| they|'ll| she|'d");
    CHECK_STR(split("'S 'Re"), "'|S| '|Re"); /* contractions are lower case only */
    CHECK_STR(split("?'s x's"), "?'|s| x|'s");  /* inside punctuation the apostrophe is punctuation */
    CHECK_STR(split("'''"), "'''");
    CHECK_STR(split("a  b"), "a| | b");       /* the run gives its last space to the word */
    CHECK_STR(split("a   b"), "a|  | b");
    CHECK_STR(split("a\t\tb"), "a|\t|\t|b");   /* a tab is not the optional space: it stands alone */
    CHECK_STR(split("a \n b"), "a| \n| b");
    CHECK_STR(split("x  \n"), "x|  \n");      /* at the end the whole run is one piece */
    CHECK_STR(split("  "), "  ");
    CHECK_STR(split("    return x\n"), "   | return| x|\n");
    CHECK_STR(split("abc123def"), "abc|123|def");
    CHECK_STR(split("x=1;y=2"), "x|=|1|;|y|=|2");
    CHECK_STR(split(" +=-> foo()"), " +=->| foo|()");
    CHECK_STR(split("\xc3\xa9t\xc3\xa9 \xc2\xb2\xc2\xbd"), "\xc3\xa9t\xc3\xa9| \xc2\xb2\xc2\xbd"); /* été ²½ */
    CHECK_STR(split("e\xcc\x81t"), "e|\xcc\x81|t");                                                /* e + U+0301 */
    CHECK_STR(split("a\xc2\xa0" "b"), "a|\xc2\xa0|b"); /* NBSP is space but not the optional ' ' */
    CHECK_STR(split("a\x1c" "b"), "a|\x1c|b");         /* U+001C: space to str.isspace, not to \s */
    CHECK_STR(split("a\xff" "b\xff\xfe c"), "a|\xff|b|\xff\xfe| c"); /* invalid bytes: "other" characters */
    CHECK_STR(split(" \xff"), " \xff");
    CHECK_STR(split("\xf0\x9f\x98\x80\xf0\x9f\x98"), "\xf0\x9f\x98\x80\xf0\x9f\x98"); /* emoji, cut emoji */
    CHECK_EQ_U64(pt_pretok_count("", 0), 0);
    CHECK_EQ_U64(pt_pretok_count("a b  c", 6), 4);
}

static int unhex(const char *h, size_t n, pt_buf *out) {
    if (n % 2) return -1;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (sscanf(h + i, "%2x", &v) != 1) return -1;
        if (pt_buf_putc(out, (char)v, NULL)) return -1;
    }
    return 0;
}

TEST(fixture_pieces) {
    char path[512];
    snprintf(path, sizeof path, "%s/tok/cases.txt", pt_test_data());
    pt_buf f = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(path, &f, &e), &e);
    size_t ncases = 0, bad = 0;
    for (char *line = f.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (strncmp(line, "gpt2\t", 5)) continue;
        char *text = line + 5, *pieces = strchr(text, '\t');
        CHECK(pieces != NULL);
        if (!pieces) break;
        *pieces++ = 0;
        char *tab = strchr(pieces, '\t');
        if (tab) *tab = 0;
        pt_buf t = {0}, p = {0};
        CHECK(unhex(text, strlen(text), &t) == 0);
        size_t pos = 0;
        int ok = 1;
        if (strcmp(pieces, "-")) {
            for (char *q = pieces; ok; q++) {
                char *c = strchr(q, ',');
                size_t len = c ? (size_t)(c - q) : strlen(q);
                pt_buf_clear(&p);
                CHECK(unhex(q, len, &p) == 0);
                size_t end = pos < t.len ? pt_pretok_next(t.data, t.len, pos) : pos;
                ok = end - pos == p.len && !memcmp(t.data + pos, p.data, p.len);
                pos = end;
                if (!c) break;
                q = c;
            }
        }
        ok = ok && pos == t.len;
        if (!ok && bad++ < 5) printf("  pieces differ for text %s\n", text);
        ncases++;
        pt_buf_free(&t);
        pt_buf_free(&p);
    }
    CHECK(ncases > 300);
    CHECK_EQ_U64(bad, 0);
    pt_buf_free(&f);
}

/* On random bytes (valid and invalid UTF-8): pieces tile the text, are not empty, never cut
 * a well-formed sequence, and a whitespace piece that is not at the end is followed by a
 * whitespace character only when it gave back its last one. */
TEST(random_tiling) {
    static const char *const atoms[] = {"a", "Z", "1", " ", "\t", "\n", "'", "s", "ll", "!", "\xc3\xa9", "\xc2\xb2",
                                        "\xe3\x80\x80", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xff", "\xc3", "\xe2\x82",
                                        "\x80", "\xcc\x81", "_", "\xc2\xa0"};
    uint64_t r = 12345;
    char buf[256];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        int k = (int)(pt_mix64(r++) % 40) + 1;
        for (int i = 0; i < k; i++) {
            const char *a = atoms[pt_mix64(r++) % (sizeof atoms / sizeof atoms[0])];
            size_t l = strlen(a);
            if (n + l > sizeof buf) break;
            memcpy(buf + n, a, l);
            n += l;
        }
        size_t pieces = 0;
        for (size_t i = 0, j; i < n; i = j) {
            j = pt_pretok_next(buf, n, i);
            if (j <= i || j > n) {
                CHECK(j > i && j <= n);
                break;
            }
            /* a piece ends on a character boundary: a well-formed sequence holding byte j - 1
             * ends at j at the latest */
            size_t lead = j - 1;
            while (lead > 0 && j - lead < 4 && ((unsigned char)buf[lead] & 0xC0) == 0x80) lead--;
            uint32_t cp;
            size_t l = pt_utf8_decode((const unsigned char *)buf + lead, n - lead, &cp);
            CHECK(l == 0 || lead + l <= j);
            pieces++;
        }
        CHECK_EQ_U64(pt_pretok_count(buf, n), pieces);
    }
}

int main(void) {
    RUN(classes);
    RUN(readable_cases);
    RUN(fixture_pieces);
    RUN(random_tiling);
    return TEST_DONE();
}
