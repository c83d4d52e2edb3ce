/* utf8.h - strict UTF-8, accepting exactly what Python's bytes.decode("utf-8") accepts.
 *
 * CodeParrot drops a file whose bytes do not decode as UTF-8, so "valid" here must mean
 * what CPython's strict decoder means: the well-formed sequences of the Unicode standard
 * (Table 3-7). Rejected: stray continuation bytes, C0/C1 and E0/F0 overlongs, encoded
 * surrogates (ED A0..BF = U+D800..DFFF), anything above U+10FFFF (F4 90.. and F5..FF), and
 * sequences cut short by a wrong byte or by the end of the input. U+0000 is valid UTF-8
 * (the NUL rule is a separate filter).
 *
 * pt_utf8_validate skips ASCII 16 bytes at a time and decodes the rest with
 * pt_utf8_decode, the one-code-point decoder the text statistics also use.
 */
#ifndef PT_UTF8_H
#define PT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point starting at p[0] (n >= 1 bytes available). Returns its length
 * (1..4) and sets *cp, or returns 0 if the bytes at p do not start a well-formed sequence
 * (including one truncated by n). Pure; thread-safe. */
static inline size_t pt_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp) {
    unsigned b0 = p[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 < 0xC2) return 0; /* continuation byte, or C0/C1 overlong lead */
    if (b0 < 0xE0) {
        if (n < 2 || (p[1] & 0xC0) != 0x80) return 0;
        *cp = (b0 & 0x1Fu) << 6 | (p[1] & 0x3Fu);
        return 2;
    }
    if (b0 < 0xF0) {
        /* E0 needs A0..BF (no overlong), ED needs 80..9F (no surrogate) */
        unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
        if (n < 2 || p[1] < lo || p[1] > hi) return 0;
        if (n < 3 || (p[2] & 0xC0) != 0x80) return 0;
        *cp = (b0 & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
        return 3;
    }
    if (b0 < 0xF5) {
        /* F0 needs 90..BF (no overlong), F4 needs 80..8F (<= U+10FFFF) */
        unsigned lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
        if (n < 2 || p[1] < lo || p[1] > hi) return 0;
        if (n < 3 || (p[2] & 0xC0) != 0x80) return 0;
        if (n < 4 || (p[3] & 0xC0) != 0x80) return 0;
        *cp = (b0 & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
        return 4;
    }
    return 0; /* F5..FF never occur */
}

/* Returns n if p[0..n) is well-formed UTF-8, else the offset of the first byte of the
 * first ill-formed sequence (the `start` of Python's UnicodeDecodeError). p may be NULL
 * when n == 0. Thread-safe. */
size_t pt_utf8_validate(const void *p, size_t n);

/* The number of code points in well-formed UTF-8 p[0..n) (bytes that are not
 * continuation bytes). Undefined for ill-formed input: validate first. */
size_t pt_utf8_count(const void *p, size_t n);

#endif
