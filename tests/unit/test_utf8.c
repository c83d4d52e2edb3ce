/* test_utf8.c - strict UTF-8 validation against a from-the-definition reference. */
#include "base/utf8.h"
#include "test.h"

/* The reference: decode by the bit patterns alone, then reject what the standard calls
 * ill-formed (overlong, surrogate, > U+10FFFF). Returns the sequence length or 0. */
static size_t ref_decode(const unsigned char *p, size_t n, uint32_t *cp) {
    unsigned b = p[0];
    size_t len;
    uint32_t v, min;
    if (b < 0x80) len = 1, v = b, min = 0;
    else if ((b & 0xE0) == 0xC0) len = 2, v = b & 0x1F, min = 0x80;
    else if ((b & 0xF0) == 0xE0) len = 3, v = b & 0x0F, min = 0x800;
    else if ((b & 0xF8) == 0xF0) len = 4, v = b & 0x07, min = 0x10000;
    else return 0;
    for (size_t j = 1; j < len; j++) {
        /* Python reports an error at the lead byte as soon as a byte cannot continue a
         * well-formed sequence, so check the prefix seen so far at every step */
        if (j >= n || (p[j] & 0xC0) != 0x80) return 0;
        v = v << 6 | (p[j] & 0x3F);
    }
    if (v < min || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) return 0;
    *cp = v;
    return len;
}

static size_t ref_validate(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = ref_decode(p + i, n - i, &cp);
        if (!k) return i;
        i += k;
    }
    return n;
}

static size_t enc(uint32_t cp, unsigned char *o) {
    if (cp < 0x80) return o[0] = (unsigned char)cp, 1;
    if (cp < 0x800) return o[0] = (unsigned char)(0xC0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 63)), 2;
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12), o[1] = (unsigned char)(0x80 | (cp >> 6 & 63));
        o[2] = (unsigned char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18), o[1] = (unsigned char)(0x80 | (cp >> 12 & 63));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 63)), o[3] = (unsigned char)(0x80 | (cp & 63));
    return 4;
}

TEST(utf8_boundaries_valid) {
    static const uint32_t cps[] = {0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFF, 0x1000, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF,
                                   0x10000, 0x3FFFF, 0x40000, 0xFFFFF, 0x100000, 0x10FFFF};
    for (size_t i = 0; i < sizeof cps / sizeof *cps; i++) {
        unsigned char b[4];
        size_t n = enc(cps[i], b);
        uint32_t cp = 0xFFFFFFFF;
        CHECK_EQ_U64(pt_utf8_decode(b, n, &cp), n);
        CHECK_EQ_U64(cp, cps[i]);
        CHECK_EQ_U64(pt_utf8_validate(b, n), n);
        CHECK_EQ_U64(pt_utf8_validate(b, n - 1), 0); /* a cut sequence fails at its start */
    }
    CHECK_EQ_U64(pt_utf8_validate(NULL, 0), 0);
    CHECK_EQ_U64(pt_utf8_validate("", 0), 0);
}

TEST(utf8_each_invalid_class) {
    static const struct {
        const char *s;
        size_t at;
    } bad[] = {
        {"\x80", 0},                 /* lone continuation */
        {"ab\xBF", 2},               /* lone continuation after ASCII */
        {"\xC0\x80", 0},             /* overlong NUL */
        {"\xC1\xBF", 0},             /* overlong 2-byte */
        {"\xE0\x80\x80", 0},         /* overlong 3-byte */
        {"\xE0\x9F\xBF", 0},         /* overlong U+07FF */
        {"\xF0\x80\x80\x80", 0},     /* overlong 4-byte */
        {"\xF0\x8F\xBF\xBF", 0},     /* overlong U+FFFF */
        {"\xED\xA0\x80", 0},         /* U+D800 */
        {"\xED\xBF\xBF", 0},         /* U+DFFF */
        {"\xED\xA0\x80\xED\xB0\x80", 0}, /* a surrogate pair in CESU-8 */
        {"\xF4\x90\x80\x80", 0},     /* U+110000 */
        {"\xF5\x80\x80\x80", 0},     /* lead F5 */
        {"\xF8\x88\x80\x80\x80", 0}, /* 5-byte form */
        {"\xFE", 0},
        {"\xFF", 0},
        {"x\xC3", 1},                /* truncated 2-byte */
        {"x\xE2\x82", 1},            /* truncated 3-byte */
        {"x\xF0\x9F\x98", 1},        /* truncated 4-byte */
        {"\xC3\x28", 0},             /* bad second byte */
        {"\xE2\x28\xA1", 0},
        {"\xE2\x82\x28", 0},         /* bad third byte */
        {"\xF0\x9F\x98\x28", 0},     /* bad fourth byte */
        {"\xC3\xA9\xE9", 2},         /* valid then Latin-1 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n = strlen(bad[i].s);
        size_t got = pt_utf8_validate(bad[i].s, n);
        if (got != bad[i].at) printf("  case %zu\n", i);
        CHECK_EQ_U64(got, bad[i].at);
        CHECK_EQ_U64(ref_validate((const unsigned char *)bad[i].s, n), bad[i].at);
    }
    /* U+0000 is valid UTF-8 */
    CHECK_EQ_U64(pt_utf8_validate("a\0b", 3), 3);
}

TEST(utf8_exhaustive_short) {
    /* every 1-, 2- and 3-byte string, and 4-byte strings over the interesting bytes */
    unsigned char b[4];
    int bad = 0;
    for (uint32_t v = 0; v < (1u << 24); v++) {
        b[0] = (unsigned char)(v >> 16), b[1] = (unsigned char)(v >> 8), b[2] = (unsigned char)v;
        size_t n = v < 256 ? 1 : v < 65536 ? 2 : 3;
        if (n == 1) b[0] = (unsigned char)v;
        else if (n == 2) b[0] = (unsigned char)(v >> 8), b[1] = (unsigned char)v;
        if (pt_utf8_validate(b, n) != ref_validate(b, n)) bad++;
        uint32_t c1 = 0, c2 = 0;
        size_t k1 = pt_utf8_decode(b, n, &c1), k2 = ref_decode(b, n, &c2);
        if (k1 != k2 || (k1 && c1 != c2)) bad++;
    }
    static const unsigned char probe[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF};
    for (unsigned b0 = 0xC0; b0 < 256; b0++)
        for (unsigned b1 = 0; b1 < 256; b1++)
            for (size_t x = 0; x < sizeof probe; x++)
                for (size_t y = 0; y < sizeof probe; y++) {
                    unsigned char q[4] = {(unsigned char)b0, (unsigned char)b1, probe[x], probe[y]};
                    if (pt_utf8_validate(q, 4) != ref_validate(q, 4)) bad++;
                }
    CHECK_EQ_U64(bad, 0);
}

TEST(utf8_fast_path_offsets) {
    /* an invalid byte at every offset around the 16-byte ASCII steps */
    unsigned char buf[80];
    for (size_t at = 0; at < 70; at++) {
        memset(buf, 'a', sizeof buf);
        buf[at] = 0xC3;
        buf[at + 1] = 'x';
        CHECK_EQ_U64(pt_utf8_validate(buf, sizeof buf), at);
        buf[at + 1] = 0xA9; /* now valid: é */
        CHECK_EQ_U64(pt_utf8_validate(buf, sizeof buf), sizeof buf);
        CHECK_EQ_U64(pt_utf8_validate(buf, at + 1), at); /* cut in the middle */
        CHECK_EQ_U64(pt_utf8_count(buf, sizeof buf), sizeof buf - 1);
    }
}

TEST(utf8_random_against_reference) {
    uint64_t x = 12345;
    unsigned char buf[64];
    int bad = 0;
    for (int it = 0; it < 200000; it++) {
        size_t n = 0;
        while (n < sizeof buf - 4) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            unsigned r = (unsigned)(x >> 33);
            if (r % 8 == 0) buf[n++] = (unsigned char)(r >> 8); /* a random byte */
            else if (r % 8 < 4) buf[n++] = 'a' + r % 26;
            else {
                uint32_t cp = (r >> 4) % 0x110000;
                if (cp >= 0xD800 && cp < 0xE000) cp = 0x41;
                n += enc(cp, buf + n);
            }
        }
        if (pt_utf8_validate(buf, n) != ref_validate(buf, n)) bad++;
    }
    CHECK_EQ_U64(bad, 0);
}

int main(void) {
    RUN(utf8_boundaries_valid);
    RUN(utf8_each_invalid_class);
    RUN(utf8_exhaustive_short);
    RUN(utf8_fast_path_offsets);
    RUN(utf8_random_against_reference);
    return TEST_DONE();
}
