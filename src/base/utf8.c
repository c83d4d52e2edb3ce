/* utf8.c - see utf8.h. */
#include "base/utf8.h"

#include <string.h>

#define HI8 0x8080808080808080ull

static inline uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

size_t pt_utf8_validate(const void *data, size_t n) {
    const unsigned char *p = data;
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path: 16 bytes per test */
        while (i + 16 <= n && ((rd64(p + i) | rd64(p + i + 8)) & HI8) == 0) i += 16;
        if (i >= n) break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = pt_utf8_decode(p + i, n - i, &cp);
        if (!k) return i;
        i += k;
    }
    return n;
}

size_t pt_utf8_count(const void *data, size_t n) {
    const unsigned char *p = data;
    size_t i = 0, c = 0;
    for (; i + 8 <= n; i += 8) {
        /* a continuation byte is 10xxxxxx: bit 7 set and bit 6 clear */
        uint64_t v = rd64(p + i);
        c += 8 - (size_t)__builtin_popcountll(v & ~(v << 1) & HI8);
    }
    for (; i < n; i++) c += (p[i] & 0xC0) != 0x80;
    return c;
}
