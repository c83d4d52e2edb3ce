/* pretok.c - GPT-2's pre-tokenizer regex as a scanner (see pretok.h for the rules). */
#include "tok/pretok.h"

#include <stdint.h>

#include "base/utf8.h"
#include "base/unicode_tables.h"

/* The class of the character at s[i] (i < n) and its length in *len. A byte that does not
 * start a well-formed UTF-8 sequence is one character of class "other". */
static inline unsigned char_at(const unsigned char *s, size_t n, size_t i, size_t *len) {
    if (s[i] < 0x80) {
        *len = 1;
        return pt_tok_class_ascii_[s[i]];
    }
    uint32_t cp;
    size_t l = pt_utf8_decode(s + i, n - i, &cp);
    if (!l) {
        *len = 1;
        return PT_TOK_OTHER;
    }
    *len = l;
    return pt_tok_class(cp);
}

/* The end of the run of class-k characters that starts at i. */
static size_t run_of(const unsigned char *s, size_t n, size_t i, unsigned k) {
    while (i < n) {
        unsigned char b = s[i];
        if (b < 0x80) {
            if (pt_tok_class_ascii_[b] != k) break;
            i++;
            continue;
        }
        size_t l;
        if (char_at(s, n, i, &l) != k) break;
        i += l;
    }
    return i;
}

/* 's 't 're 've 'm 'll 'd at s[i] == '\'': the piece's length, or 0. */
static inline size_t contraction(const unsigned char *s, size_t n, size_t i) {
    if (i + 1 >= n) return 0;
    unsigned char c = s[i + 1];
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
    if (i + 2 >= n) return 0;
    unsigned char c2 = s[i + 2];
    if ((c == 'r' && c2 == 'e') || (c == 'v' && c2 == 'e') || (c == 'l' && c2 == 'l')) return 3;
    return 0;
}

size_t pt_pretok_next(const void *text, size_t n, size_t pos) {
    const unsigned char *s = text;
    size_t i = pos, len;
    if (s[i] == '\'') {
        size_t c = contraction(s, n, i);
        if (c) return i + c;
    }
    unsigned k = char_at(s, n, i, &len);
    if (k != PT_TOK_SPACE) return run_of(s, n, i + len, k); /* \p{L}+, \p{N}+ or other+ */
    if (s[i] == ' ' && i + 1 < n) {
        size_t l1;
        unsigned k1 = char_at(s, n, i + 1, &l1);
        if (k1 != PT_TOK_SPACE) return run_of(s, n, i + 1 + l1, k1); /* " ?X+" with the space */
    }
    /* \s+(?!\S) | \s+ : the whole run at the end of the text; else all but its last
     * character, or the one character when the run has only one */
    size_t last = i, j = i + len;
    while (j < n) {
        size_t l;
        if (char_at(s, n, j, &l) != PT_TOK_SPACE) return last > i ? last : j;
        last = j;
        j += l;
    }
    return n;
}

size_t pt_pretok_count(const void *text, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i = pt_pretok_next(text, n, i)) c++;
    return c;
}
