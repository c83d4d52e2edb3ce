/* test_minhash.c - SHA-1, signatures against datasketch, SIMD against scalar, LSH banding. */
#include <math.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "corpus/minhash.h"
#include "test.h"

static void hex(const uint8_t *d, int n, char *out) {
    for (int i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

TEST(sha1_known_answers) {
    /* FIPS 180 examples plus block-boundary lengths (values from Python's hashlib) */
    struct { const char *msg; size_t repeat; const char *hex; } kat[] = {
        {"", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"a", 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
        {"a", 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
        {"a", 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
        {"a", 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
    };
    static char buf[1000001];
    for (size_t k = 0; k < sizeof kat / sizeof kat[0]; k++) {
        size_t n = strlen(kat[k].msg) * kat[k].repeat;
        for (size_t i = 0; i < kat[k].repeat; i++) memcpy(buf + i * strlen(kat[k].msg), kat[k].msg, strlen(kat[k].msg));
        uint8_t d[20];
        char h[41];
        pt_minhash_sha1(buf, n, d);
        hex(d, 20, h);
        CHECK_STR(h, kat[k].hex);
        uint32_t le = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
        CHECK_EQ_U64(pt_minhash_sha1_32(buf, n), le);
    }
}

TEST(sha1_fast_equals_scalar) {
    uint8_t b[300];
    uint64_t x = 7;
    for (int n = 0; n < 300; n++) {
        for (int i = 0; i < n; i++) b[i] = (uint8_t)((x = pt_mix64(x)) >> 56);
        CHECK_EQ_U64(pt_minhash_sha1_32(b, (size_t)n), pt_minhash_sha1_32_scalar(b, (size_t)n));
    }
}

static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

TEST(signatures_equal_datasketch) {
    char path[512];
    snprintf(path, sizeof path, "%s/minhash_fixture.bin", pt_test_data());
    pt_buf f = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(path, &f, &e), &e);
    if (f.len < 12 || memcmp(f.data, "PTMHFX01", 8)) {
        CHECK(!"fixture missing or of another version");
        return;
    }
    const unsigned char *p = (const unsigned char *)f.data + 8, *end = (const unsigned char *)f.data + f.len;
    uint32_t count = rd32(p);
    p += 4;
    pt_minhash_scratch *s = pt_minhash_scratch_new();
    pt_minhash_params leg, aff;
    pt_minhash_defaults(&leg);
    aff = leg;
    aff.scheme = PT_MINHASH_AFFINE32;
    uint32_t sig[256], sig_default[256];
    int short_docs = 0, nonascii = 0;
    for (uint32_t k = 0; k < count; k++) {
        CHECK(p + 4 <= end);
        uint32_t len = rd32(p);
        const char *text = (const char *)p + 4;
        p += 4 + len;
        uint32_t ntok = rd32(p);
        const unsigned char *want_leg = p + 4, *want_aff = p + 4 + 1024;
        p += 4 + 2048;
        CHECK(p <= end);
        size_t got = pt_minhash_signature_p(&leg, text, len, sig, s);
        CHECK_EQ_U64(got, ntok);
        int bad = 0;
        for (int j = 0; j < 256; j++) bad += sig[j] != rd32(want_leg + 4 * j);
        CHECK_EQ_U64(pt_minhash_signature(text, len, sig_default, s), ntok);
        bad += memcmp(sig, sig_default, sizeof sig) != 0;
        CHECK_EQ_U64(pt_minhash_signature_p(&aff, text, len, sig, s), ntok);
        for (int j = 0; j < 256; j++) bad += sig[j] != rd32(want_aff + 4 * j);
        if (bad) printf("  text %u (%u bytes, %u tokens): %d values differ\n", k, len, ntok, bad);
        CHECK(bad == 0);
        short_docs += ntok < 10;
        for (uint32_t i = 0; i < len; i++) nonascii += (unsigned char)text[i] >= 0x80;
    }
    CHECK(count >= 20 && short_docs >= 2 && nonascii > 0); /* the fixture covers what it should */
    pt_minhash_scratch_free(s);
    pt_buf_free(&f);
}

/* The naive reference: split byte by byte, keep distinct tokens by comparing their bytes,
 * SHA-1 with the scalar code, permutations with the scalar code. */
static size_t naive_signature(const pt_minhash_params *p, const char *t, size_t n, uint32_t *sig) {
    static const char *tok[20000];
    static size_t len[20000];
    static uint32_t hv[20000];
    size_t nt = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)t[i];
        int is = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!is) { i++; continue; }
        size_t st = i;
        for (; i < n; i++) {
            c = (unsigned char)t[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) break;
        }
        int seen = 0;
        for (size_t k = 0; k < nt && !seen; k++) seen = len[k] == i - st && !memcmp(tok[k], t + st, i - st);
        if (!seen && nt < 20000) tok[nt] = t + st, len[nt] = i - st, hv[nt] = pt_minhash_sha1_32_scalar(t + st, i - st), nt++;
    }
    memset(sig, 0xFF, sizeof(uint32_t) * (size_t)p->num_perm);
    pt_minhash_permute(p, hv, nt, sig, 0);
    return nt;
}

TEST(signature_equals_naive_reference) {
    /* random texts: tokens of 1..80 bytes, every kind of separator, at every alignment and
     * crossing the 32/64-byte boundaries of the bitmask scanner */
    static char text[70000];
    pt_minhash_scratch *s = pt_minhash_scratch_new();
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    uint64_t x = 12345;
    const char seps[] = " \n\t()[].,:=+-*/#\"'\\@`{}~^|<>?!$%&;\x80\xc3\xa9\xff\x7f\x01";
    const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    int bad = 0;
    for (int round = 0; round < 60; round++) {
        size_t n = 0, target = (size_t)(pt_mix64(round) % (round < 40 ? 300 : 60000));
        int vocab = 1 + round * 7;
        while (n < target) {
            x = pt_mix64(x);
            if (x & 1) { /* a token drawn from a small vocabulary, so that tokens repeat */
                uint64_t id = (x >> 8) % (uint64_t)vocab, y = pt_mix64(id);
                size_t L = 1 + (y % 80 < 70 ? y % 12 : y % 80);
                for (size_t k = 0; k < L && n < target; k++) text[n++] = word[(y >> (k % 50)) % 63];
            } else {
                size_t L = 1 + (x >> 9) % 3;
                for (size_t k = 0; k < L && n < target; k++) text[n++] = seps[(x >> (12 + 5 * k)) % (sizeof seps - 1)];
            }
        }
        uint32_t a[256], b[256];
        size_t off = n > 7 ? (size_t)(round % 7) : 0; /* alignment */
        size_t na = pt_minhash_signature_p(&p, text + off, n - off, a, s);
        size_t nb = naive_signature(&p, text + off, n - off, b);
        if (na != nb || memcmp(a, b, sizeof a)) bad++, printf("  round %d: %zu vs %zu tokens\n", round, na, nb);
    }
    CHECK(bad == 0);
    pt_minhash_scratch_free(s);
}

TEST(simd_equals_scalar) {
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    uint32_t hv[1000];
    uint64_t x = 99;
    for (int i = 0; i < 1000; i++) hv[i] = (uint32_t)((x = pt_mix64(x)) >> 17);
    hv[0] = 0, hv[1] = 0xFFFFFFFFu, hv[2] = 1; /* extremes */
    int nps[] = {256, 255, 200, 128, 17, 8, 3, 2};
    for (int scheme = 0; scheme < 2; scheme++)
        for (size_t k = 0; k < sizeof nps / sizeof nps[0]; k++) {
            p.scheme = scheme, p.num_perm = nps[k];
            if (scheme == PT_MINHASH_AFFINE32 && p.num_perm != 256 && p.num_perm != 128) continue;
            for (size_t n = 0; n <= 1000; n = n * 3 + 1) {
                uint32_t a[256], b[256];
                memset(a, 0xFF, sizeof a), memset(b, 0xFF, sizeof b);
                pt_minhash_permute(&p, hv, n, a, 0);
                pt_minhash_permute(&p, hv, n, b, 1);
                CHECK(memcmp(a, b, sizeof a) == 0);
            }
        }
}

TEST(tokens_and_jaccard) {
    pt_minhash_scratch *s = pt_minhash_scratch_new();
    const uint64_t *t;
    /* "a", "b_1", "c" twice, split on non-ASCII bytes and punctuation */
    const char *txt = "a+b_1 c\xc3\xa9" "c a";
    CHECK_EQ_U64(pt_minhash_tokens(txt, strlen(txt), s, &t), 3);
    for (int i = 1; i < 3; i++) CHECK(t[i - 1] < t[i]);
    uint64_t A[] = {1, 2, 3, 4}, B[] = {2, 3, 4, 5, 6};
    CHECK(fabs(pt_minhash_jaccard(A, 4, B, 5) - 3.0 / 6.0) < 1e-15);
    CHECK(pt_minhash_jaccard(A, 4, A, 4) == 1.0);
    CHECK(pt_minhash_jaccard(A, 0, B, 0) == 1.0);
    CHECK(pt_minhash_jaccard(A, 1, B, 1) == 0.0);
    /* many distinct tokens: the set grows and the radix sort path runs */
    pt_buf b = {0};
    for (int i = 0; i < 50000; i++) pt_buf_printf(&b, NULL, "v%d = w%d\n", i, i % 1000);
    size_t n = pt_minhash_tokens(b.data, b.len, s, &t);
    CHECK_EQ_U64(n, 51000);
    int sorted = 1;
    for (size_t i = 1; i < n; i++) sorted &= t[i - 1] < t[i];
    CHECK(sorted);
    uint32_t sig[256];
    CHECK_EQ_U64(pt_minhash_signature(b.data, b.len, sig, s), 51000);
    pt_buf_free(&b);
    pt_minhash_scratch_free(s);
}

TEST(optimal_bands_equal_datasketch) {
    char path[512];
    snprintf(path, sizeof path, "%s/minhash_fixture.params.txt", pt_test_data());
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    char line[256];
    int rows_checked = 0;
    while (fgets(line, sizeof line, f)) {
        double t;
        int n, b, r, gb = 0, gr = 0;
        if (line[0] == '#' || sscanf(line, "%lf %d %d %d", &t, &n, &b, &r) != 4) continue;
        CHECK(pt_minhash_optimal_bands(t, n, &gb, &gr) == PT_OK);
        if (gb != b || gr != r) printf("  threshold %g num_perm %d: (%d, %d), datasketch (%d, %d)\n", t, n, gb, gr, b, r);
        CHECK(gb == b && gr == r);
        rows_checked++;
    }
    fclose(f);
    CHECK(rows_checked >= 8);
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    int b, r;
    CHECK(pt_minhash_optimal_bands(p.threshold, p.num_perm, &b, &r) == PT_OK);
    CHECK(b == p.bands && r == p.rows);
    CHECK(pt_minhash_optimal_bands(1.5, 256, &b, &r) == PT_EUSAGE);
    pt_err e = {0};
    CHECK(pt_minhash_params_check(&p, &e) == PT_OK);
    p.num_perm = 100, p.scheme = PT_MINHASH_AFFINE32;
    CHECK(pt_minhash_params_check(&p, &e) == PT_EUSAGE);
}

int main(void) {
    RUN(sha1_known_answers);
    RUN(sha1_fast_equals_scalar);
    RUN(signatures_equal_datasketch);
    RUN(signature_equals_naive_reference);
    RUN(simd_equals_scalar);
    RUN(tokens_and_jaccard);
    RUN(optimal_bands_equal_datasketch);
    printf("# minhash paths: %s, sha1 %s\n", pt_minhash_simd_name(), pt_minhash_sha1_name());
    return TEST_DONE();
}
