/* minhash.c - see minhash.h. */
#include "corpus/minhash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX2__) || defined(__SHA__)
#include <immintrin.h>
#endif

#include "base/buf.h"
#include "corpus/minhash_perm.h"

#define MERSENNE ((1ull << 61) - 1)

/* ---- SHA-1 (FIPS 180-4) ------------------------------------------------------------------ */

static const uint32_t SHA1_IV[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};

static inline uint32_t rol32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
static inline uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One 64-byte block; the message schedule kept as a 16-word ring. */
static void sha1_block_scalar(uint32_t h[5], const uint8_t *blk) {
    uint32_t w[16];
    for (int i = 0; i < 16; i++) w[i] = be32(blk + 4 * i);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
#define SHA1_STEP(i, f, k)                                                                   \
    do {                                                                                     \
        uint32_t wi;                                                                         \
        if ((i) < 16) wi = w[(i)];                                                           \
        else {                                                                               \
            wi = rol32(w[((i) + 13) & 15] ^ w[((i) + 8) & 15] ^ w[((i) + 2) & 15] ^ w[(i) & 15], 1); \
            w[(i) & 15] = wi;                                                                \
        }                                                                                    \
        uint32_t t = rol32(a, 5) + (f) + e + (k) + wi;                                       \
        e = d, d = c, c = rol32(b, 30), b = a, a = t;                                        \
    } while (0)
    for (int i = 0; i < 20; i++) SHA1_STEP(i, (b & c) | (~b & d), 0x5A827999u);
    for (int i = 20; i < 40; i++) SHA1_STEP(i, b ^ c ^ d, 0x6ED9EBA1u);
    for (int i = 40; i < 60; i++) SHA1_STEP(i, (b & c) | (b & d) | (c & d), 0x8F1BBCDCu);
    for (int i = 60; i < 80; i++) SHA1_STEP(i, b ^ c ^ d, 0xCA62C1D6u);
#undef SHA1_STEP
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

#ifdef __SHA__
/* The same block with the x86 SHA extensions: 20 groups of 4 rounds (sha1rnds4), the
 * schedule extended 4 words at a time (sha1msg1/sha1msg2), E carried by sha1nexte. */
static void sha1_block_ni(uint32_t h[5], const uint8_t *blk) {
    const __m128i bswap = _mm_set_epi64x(0x0001020304050607ll, 0x08090a0b0c0d0e0fll);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0x1B);
    __m128i e0 = _mm_set_epi32((int)h[4], 0, 0, 0);
    const __m128i abcd_in = abcd, e_in = e0;
    __m128i w[4];
    for (int i = 0; i < 4; i++) w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blk + 16 * i)), bswap);
    __m128i e = _mm_add_epi32(e0, w[0]), esave = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e, 0);
    /* group g (rounds 4g..4g+3): words W[g] are w[g % 4]; from g = 4 on they are made from
     * the four previous groups' words. F is the round function index g / 5. */
#define SHA1_GROUP(g, F)                                                                        \
    do {                                                                                        \
        if ((g) >= 4)                                                                           \
            w[(g) & 3] = _mm_sha1msg2_epu32(                                                    \
                _mm_xor_si128(_mm_sha1msg1_epu32(w[(g) & 3], w[((g) + 1) & 3]), w[((g) + 2) & 3]), \
                w[((g) + 3) & 3]);                                                              \
        e = _mm_sha1nexte_epu32(esave, w[(g) & 3]);                                             \
        esave = abcd;                                                                           \
        abcd = _mm_sha1rnds4_epu32(abcd, e, F);                                                 \
    } while (0)
    SHA1_GROUP(1, 0); SHA1_GROUP(2, 0); SHA1_GROUP(3, 0); SHA1_GROUP(4, 0);
    SHA1_GROUP(5, 1); SHA1_GROUP(6, 1); SHA1_GROUP(7, 1); SHA1_GROUP(8, 1); SHA1_GROUP(9, 1);
    SHA1_GROUP(10, 2); SHA1_GROUP(11, 2); SHA1_GROUP(12, 2); SHA1_GROUP(13, 2); SHA1_GROUP(14, 2);
    SHA1_GROUP(15, 3); SHA1_GROUP(16, 3); SHA1_GROUP(17, 3); SHA1_GROUP(18, 3); SHA1_GROUP(19, 3);
#undef SHA1_GROUP
    e0 = _mm_sha1nexte_epu32(esave, e_in);
    abcd = _mm_add_epi32(abcd, abcd_in);
    _mm_storeu_si128((__m128i *)h, _mm_shuffle_epi32(abcd, 0x1B));
    h[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}
#define sha1_block_fast sha1_block_ni

/* Two single-block messages (tokens under 56 bytes) hashed side by side: the SHA rounds of
 * one block form a long dependency chain, so interleaving two independent chains nearly
 * doubles the throughput. Returns datasketch's sha1_hash32 of each. */
static void sha1_32_short_x2(const uint8_t *p0, size_t n0, const uint8_t *p1, size_t n1, uint32_t *out0,
                             uint32_t *out1) {
    uint8_t blk[2][64] __attribute__((aligned(16)));
    const uint8_t *p[2] = {p0, p1};
    size_t n[2] = {n0, n1};
    for (int l = 0; l < 2; l++) {
        memset(blk[l], 0, 64);
        memcpy(blk[l], p[l], n[l]);
        blk[l][n[l]] = 0x80;
        uint64_t bits = (uint64_t)n[l] * 8;
        for (int i = 0; i < 8; i++) blk[l][63 - i] = (uint8_t)(bits >> (8 * i));
    }
    const __m128i bswap = _mm_set_epi64x(0x0001020304050607ll, 0x08090a0b0c0d0e0fll);
    const __m128i abcd_in = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)SHA1_IV), 0x1B);
    const __m128i e_in = _mm_set_epi32((int)SHA1_IV[4], 0, 0, 0);
    __m128i w[2][4], abcd[2], e[2], esave[2];
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < 4; i++) w[l][i] = _mm_shuffle_epi8(_mm_load_si128((const __m128i *)(blk[l] + 16 * i)), bswap);
        e[l] = _mm_add_epi32(e_in, w[l][0]), esave[l] = abcd_in;
        abcd[l] = _mm_sha1rnds4_epu32(abcd_in, e[l], 0);
    }
#define SHA1_GROUP2(g, F)                                                                           \
    for (int l = 0; l < 2; l++) {                                                                   \
        if ((g) >= 4)                                                                               \
            w[l][(g) & 3] = _mm_sha1msg2_epu32(                                                     \
                _mm_xor_si128(_mm_sha1msg1_epu32(w[l][(g) & 3], w[l][((g) + 1) & 3]), w[l][((g) + 2) & 3]), \
                w[l][((g) + 3) & 3]);                                                               \
        e[l] = _mm_sha1nexte_epu32(esave[l], w[l][(g) & 3]);                                        \
        esave[l] = abcd[l];                                                                         \
        abcd[l] = _mm_sha1rnds4_epu32(abcd[l], e[l], F);                                            \
    }
    SHA1_GROUP2(1, 0) SHA1_GROUP2(2, 0) SHA1_GROUP2(3, 0) SHA1_GROUP2(4, 0)
    SHA1_GROUP2(5, 1) SHA1_GROUP2(6, 1) SHA1_GROUP2(7, 1) SHA1_GROUP2(8, 1) SHA1_GROUP2(9, 1)
    SHA1_GROUP2(10, 2) SHA1_GROUP2(11, 2) SHA1_GROUP2(12, 2) SHA1_GROUP2(13, 2) SHA1_GROUP2(14, 2)
    SHA1_GROUP2(15, 3) SHA1_GROUP2(16, 3) SHA1_GROUP2(17, 3) SHA1_GROUP2(18, 3) SHA1_GROUP2(19, 3)
#undef SHA1_GROUP2
    /* H0 = A + IV0 sits in the top lane of abcd */
    *out0 = __builtin_bswap32((uint32_t)_mm_extract_epi32(_mm_add_epi32(abcd[0], abcd_in), 3));
    *out1 = __builtin_bswap32((uint32_t)_mm_extract_epi32(_mm_add_epi32(abcd[1], abcd_in), 3));
}
#define HAVE_SHA1_X2 1
#else
#define sha1_block_fast sha1_block_scalar
#endif

typedef void (*sha1_block_fn)(uint32_t h[5], const uint8_t *blk);

static void sha1_run(const uint8_t *p, size_t n, uint32_t h[5], sha1_block_fn block) {
    memcpy(h, SHA1_IV, sizeof SHA1_IV);
    uint64_t bits = (uint64_t)n * 8;
    for (; n >= 64; p += 64, n -= 64) block(h, p);
    uint8_t last[128] = {0};
    memcpy(last, p, n);
    last[n] = 0x80;
    size_t len = n < 56 ? 64 : 128; /* short tokens: exactly one block */
    for (int i = 0; i < 8; i++) last[len - 1 - i] = (uint8_t)(bits >> (8 * i));
    block(h, last);
    if (len == 128) block(h, last + 64);
}

void pt_minhash_sha1(const void *data, size_t n, uint8_t out[20]) {
    uint32_t h[5];
    sha1_run(data, n, h, sha1_block_fast);
    for (int i = 0; i < 5; i++)
        out[4 * i] = (uint8_t)(h[i] >> 24), out[4 * i + 1] = (uint8_t)(h[i] >> 16),
        out[4 * i + 2] = (uint8_t)(h[i] >> 8), out[4 * i + 3] = (uint8_t)h[i];
}

/* The digest starts with H0 big-endian; its first 4 bytes read little-endian = bswap(H0). */
uint32_t pt_minhash_sha1_32(const void *data, size_t n) {
    uint32_t h[5];
    sha1_run(data, n, h, sha1_block_fast);
    return __builtin_bswap32(h[0]);
}

uint32_t pt_minhash_sha1_32_scalar(const void *data, size_t n) {
    uint32_t h[5];
    sha1_run(data, n, h, sha1_block_scalar);
    return __builtin_bswap32(h[0]);
}

const char *pt_minhash_sha1_name(void) {
#ifdef __SHA__
    return "sha-ni";
#else
    return "scalar";
#endif
}

/* ---- permutations ------------------------------------------------------------------------- */

static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    return h ^ (h >> 16);
}

static int affine_table(int num_perm, const uint32_t **a, const uint32_t **b) {
    switch (num_perm) {
    case 64: *a = pt_minhash_affine32_a_64, *b = pt_minhash_affine32_b_64; return 1;
    case 128: *a = pt_minhash_affine32_a_128, *b = pt_minhash_affine32_b_128; return 1;
    case 256: *a = pt_minhash_affine32_a_256, *b = pt_minhash_affine32_b_256; return 1;
    default: return 0;
    }
}

/* The scalar references: the arithmetic exactly as datasketch writes it. Kept out of the
 * auto-vectoriser (GCC) so that the tests compare two genuinely different code paths. */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_VECTORIZE __attribute__((optimize("no-tree-vectorize")))
#else
#define NO_VECTORIZE
#endif
NO_VECTORIZE static void legacy_scalar(int np, const uint32_t *hv, size_t nhv, uint32_t *sig) {
    for (size_t t = 0; t < nhv; t++)
        for (int j = 0; j < np; j++) {
            uint64_t x = (uint64_t)hv[t] * pt_minhash_legacy_a[j] + pt_minhash_legacy_b[j]; /* wraps mod 2^64 */
            uint32_t v = (uint32_t)((x % MERSENNE) & 0xFFFFFFFFu);
            if (v < sig[j]) sig[j] = v;
        }
}

NO_VECTORIZE static void affine_scalar(const uint32_t *a, const uint32_t *b, int np, const uint32_t *hv,
                                       size_t nhv, uint32_t *sig) {
    for (size_t t = 0; t < nhv; t++) {
        uint32_t h = fmix32(hv[t]);
        for (int j = 0; j < np; j++) {
            uint32_t v = a[j] * h + b[j];
            if (v < sig[j]) sig[j] = v;
        }
    }
}

/* 32-bit lanes: the compiler vectorises the inner loop (8 or 16 lanes). */
static void affine_simd(const uint32_t *a, const uint32_t *b, int np, const uint32_t *hv, size_t nhv,
                        uint32_t *sig) {
    for (size_t t = 0; t < nhv; t++) {
        uint32_t h = fmix32(hv[t]);
        for (int j = 0; j < np; j++) {
            uint32_t v = a[j] * h + b[j];
            sig[j] = v < sig[j] ? v : sig[j];
        }
    }
}

/* x mod (2^61 - 1), low 32 bits, without a division: x = hi * 2^61 + lo and 2^61 == 1, so
 * y = lo + hi <= p + 7; if y >= p the residue is y - p, whose low 32 bits are those of
 * y + 1 (p == -1 mod 2^32). */
static inline void legacy_tail(int j, int np, const uint32_t *hv, size_t nhv, uint32_t *sig) {
    for (size_t t = 0; t < nhv && j < np; t++)
        for (int k = j; k < np; k++) {
            uint64_t x = (uint64_t)hv[t] * pt_minhash_legacy_a[k] + pt_minhash_legacy_b[k];
            uint32_t v = (uint32_t)(x % MERSENNE);
            if (v < sig[k]) sig[k] = v;
        }
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#define LEGACY_LANES 8
static void legacy_simd(int np, const uint32_t *hv, size_t nhv, uint32_t *sig) {
    const __m512i P = _mm512_set1_epi64((long long)MERSENNE), one = _mm512_set1_epi64(1);
    int j = 0;
    for (; j + 16 <= np; j += 16) {
        __m512i a0 = _mm512_loadu_si512(pt_minhash_legacy_a + j), a1 = _mm512_loadu_si512(pt_minhash_legacy_a + j + 8);
        __m512i b0 = _mm512_loadu_si512(pt_minhash_legacy_b + j), b1 = _mm512_loadu_si512(pt_minhash_legacy_b + j + 8);
        __m512i m0 = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(sig + j)));
        __m512i m1 = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(sig + j + 8)));
        for (size_t t = 0; t < nhv; t++) {
            __m512i h = _mm512_set1_epi64(hv[t]);
            __m512i x0 = _mm512_add_epi64(_mm512_mullo_epi64(h, a0), b0);
            __m512i x1 = _mm512_add_epi64(_mm512_mullo_epi64(h, a1), b1);
            __m512i y0 = _mm512_add_epi64(_mm512_and_si512(x0, P), _mm512_srli_epi64(x0, 61));
            __m512i y1 = _mm512_add_epi64(_mm512_and_si512(x1, P), _mm512_srli_epi64(x1, 61));
            y0 = _mm512_mask_add_epi64(y0, _mm512_cmpge_epu64_mask(y0, P), y0, one);
            y1 = _mm512_mask_add_epi64(y1, _mm512_cmpge_epu64_mask(y1, P), y1, one);
            m0 = _mm512_min_epu32(m0, y0); /* 32-bit lanes: the low halves are what counts */
            m1 = _mm512_min_epu32(m1, y1);
        }
        _mm256_storeu_si256((__m256i *)(sig + j), _mm512_cvtepi64_epi32(_mm512_and_si512(m0, _mm512_set1_epi64(0xFFFFFFFF))));
        _mm256_storeu_si256((__m256i *)(sig + j + 8), _mm512_cvtepi64_epi32(_mm512_and_si512(m1, _mm512_set1_epi64(0xFFFFFFFF))));
    }
    legacy_tail(j, np, hv, nhv, sig);
}
#elif defined(__AVX2__)
#define LEGACY_LANES 4
/* hv * a mod 2^64 with hv < 2^32: hv * lo32(a) + (hv * hi32(a) << 32), two vpmuludq. */
static inline __m256i legacy_step_avx2(__m256i h, __m256i a, __m256i ahi, __m256i b, __m256i P) {
    __m256i x = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(h, a), _mm256_slli_epi64(_mm256_mul_epu32(h, ahi), 32)), b);
    __m256i y = _mm256_add_epi64(_mm256_and_si256(x, P), _mm256_srli_epi64(x, 61));
    /* y <= p + 7 < 2^62 so a signed compare is safe; the mask is -1 where y >= p */
    return _mm256_sub_epi64(y, _mm256_cmpgt_epi64(y, _mm256_sub_epi64(P, _mm256_set1_epi64x(1))));
}

/* V vectors (4V permutations) per pass over the tokens, their minima in registers. */
#define LEGACY_AVX2_BLOCK(V)                                                                        \
    static void legacy_avx2_##V(int j, const uint32_t *hv, size_t nhv, uint32_t *sig) {              \
        const __m256i P = _mm256_set1_epi64x((long long)MERSENNE);                                 \
        __m256i a[V], ah[V], b[V], m[V];                                                            \
        for (int v = 0; v < V; v++) {                                                               \
            a[v] = _mm256_loadu_si256((const __m256i *)(pt_minhash_legacy_a + j + 4 * v));        \
            ah[v] = _mm256_srli_epi64(a[v], 32);                                                    \
            b[v] = _mm256_loadu_si256((const __m256i *)(pt_minhash_legacy_b + j + 4 * v));        \
            m[v] = _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(sig + j + 4 * v)));   \
        }                                                                                           \
        for (size_t t = 0; t < nhv; t++) {                                                          \
            __m256i h = _mm256_set1_epi64x(hv[t]);                                                  \
            for (int v = 0; v < V; v++) /* the low 32-bit lanes are what counts */                  \
                m[v] = _mm256_min_epu32(m[v], legacy_step_avx2(h, a[v], ah[v], b[v], P));           \
        }                                                                                           \
        const __m256i idx = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);                              \
        for (int v = 0; v < V; v++)                                                                 \
            _mm_storeu_si128((__m128i *)(sig + j + 4 * v),                                          \
                             _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(m[v], idx)));      \
    }
LEGACY_AVX2_BLOCK(4)
LEGACY_AVX2_BLOCK(1)

static void legacy_simd(int np, const uint32_t *hv, size_t nhv, uint32_t *sig) {
    int j = 0;
    for (; j + 16 <= np; j += 16) legacy_avx2_4(j, hv, nhv, sig);
    for (; j + 4 <= np; j += 4) legacy_avx2_1(j, hv, nhv, sig);
    legacy_tail(j, np, hv, nhv, sig);
}
#else
#define LEGACY_LANES 1
static void legacy_simd(int np, const uint32_t *hv, size_t nhv, uint32_t *sig) {
    for (size_t t = 0; t < nhv; t++)
        for (int j = 0; j < np; j++) {
            uint64_t x = (uint64_t)hv[t] * pt_minhash_legacy_a[j] + pt_minhash_legacy_b[j];
            uint64_t y = (x & MERSENNE) + (x >> 61);
            uint32_t v = (uint32_t)(y >= MERSENNE ? y - MERSENNE : y);
            sig[j] = v < sig[j] ? v : sig[j];
        }
}
#endif

const char *pt_minhash_simd_name(void) {
    return LEGACY_LANES == 8 ? "avx512" : LEGACY_LANES == 4 ? "avx2" : "scalar";
}

void pt_minhash_permute(const pt_minhash_params *p, const uint32_t *hv, size_t nhv, uint32_t *sig, int simd) {
    if (p->scheme == PT_MINHASH_AFFINE32) {
        const uint32_t *a, *b;
        if (!affine_table(p->num_perm, &a, &b)) return; /* rejected by pt_minhash_params_check */
        if (simd) affine_simd(a, b, p->num_perm, hv, nhv, sig);
        else affine_scalar(a, b, p->num_perm, hv, nhv, sig);
    } else {
        if (simd) legacy_simd(p->num_perm, hv, nhv, sig);
        else legacy_scalar(p->num_perm, hv, nhv, sig);
    }
}

/* ---- tokens ------------------------------------------------------------------------------- */

/* 1 for the bytes of [A-Za-z_0-9]. */
static const uint8_t TOKEN_BYTE[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['_'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static inline uint64_t mum(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A 64-bit hash for short byte strings (tokens): wyhash-style multiply-folds over 8-byte
 * words, the length in the seed so that the zero padding of the last word cannot collide.
 * `avail` is how many bytes may be read from p (>= n): when 8 are there the last word is
 * one load and a mask, avoiding a byte-by-byte copy. */
static inline uint64_t token_hash(const uint8_t *p, size_t n, size_t avail) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)n * 0xC2B2AE3D27D4EB4Full);
    for (; n >= 8; p += 8, n -= 8, avail -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mum(h ^ w, 0xD6E8FEB86659FD93ull);
    }
    uint64_t w = 0;
    if (avail >= 8) {
        memcpy(&w, p, 8);
        w &= n ? ~0ull >> (64 - 8 * n) : 0;
    } else {
        memcpy(&w, p, n);
    }
    h = mum(h ^ w ^ 0x165667B19E3779F9ull, 0xD6E8FEB86659FD93ull);
    h = mum(h, 0x9E3779B97F4A7C15ull);
    return h ? h : 1; /* 0 marks an empty slot */
}

struct pt_minhash_scratch {
    uint64_t *slot;    /* (cap) open-addressing set of token hashes, 0 = empty */
    uint64_t *bits;    /* (nbits) 1 bit per text byte: is it a token byte */
    uint32_t *used;    /* (n) slot index of each distinct token, to clear the set */
    uint64_t *key;     /* (n) distinct token hashes, in first-seen order */
    uint32_t *pos;     /* (n) offset of each distinct token's first occurrence */
    uint32_t *len;     /* (n) its length */
    uint32_t *hv;      /* (n) sha1_hash32 of each distinct token */
    uint64_t *sorted;  /* (n) key sorted, for pt_minhash_tokens */
    uint64_t *tmp;     /* (n) radix sort buffer */
    uint32_t *radix;   /* (65536) radix sort counts, allocated for the first large document */
    size_t cap, ncap, nbits; /* allocated slots; capacity of the per-token arrays; of bits */
    size_t mask;       /* slots in use for the current document - 1 */
};

pt_minhash_scratch *pt_minhash_scratch_new(void) { return calloc(1, sizeof(pt_minhash_scratch)); }

void pt_minhash_scratch_free(pt_minhash_scratch *s) {
    if (!s) return;
    free(s->slot), free(s->bits), free(s->used), free(s->key), free(s->pos), free(s->len), free(s->hv);
    free(s->sorted), free(s->tmp), free(s->radix);
    free(s);
}

static int grow_arrays(pt_minhash_scratch *s, size_t need) {
    if (need <= s->ncap) return 0;
    size_t c = s->ncap ? s->ncap : 1024;
    while (c < need) c *= 2;
    void **arr[] = {(void **)&s->used, (void **)&s->key, (void **)&s->pos, (void **)&s->len,
                    (void **)&s->hv, (void **)&s->sorted, (void **)&s->tmp};
    size_t sz[] = {4, 8, 4, 4, 4, 8, 8};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
        void *p = realloc(*arr[i], c * sz[i]);
        if (!p) return -1;
        *arr[i] = p;
    }
    s->ncap = c;
    return 0;
}

/* Uses (and if needed allocates) `want` slots, a power of two, rehashing the nd keys
 * already in the set. The set is kept under half full. */
static int use_slots(pt_minhash_scratch *s, size_t want, size_t nd) {
    if (want > s->cap) {
        uint64_t *slot = calloc(want, sizeof *slot);
        if (!slot) return -1;
        free(s->slot);
        s->slot = slot, s->cap = want;
    } else {
        for (size_t i = 0; i < nd; i++) s->slot[s->used[i]] = 0;
    }
    s->mask = want - 1;
    for (size_t i = 0; i < nd; i++) {
        size_t j = (size_t)(s->key[i] >> 7) & s->mask;
        while (s->slot[j]) j = (j + 1) & s->mask;
        s->slot[j] = s->key[i];
        s->used[i] = (uint32_t)j;
    }
    return 0;
}

/* bits[k] bit b = 1 when text[64k + b] is in [A-Za-z_0-9]; bits past n are 0. */
static void token_bits(const uint8_t *p, size_t n, uint64_t *bits) {
    size_t nw = (n + 63) / 64, i = 0;
#ifdef __AVX2__
    const __m256i lo_a = _mm256_set1_epi8(0x60), hi_z = _mm256_set1_epi8(0x7b), lo_0 = _mm256_set1_epi8(0x2f),
                  hi_9 = _mm256_set1_epi8(0x3a), us = _mm256_set1_epi8(0x5f), x20 = _mm256_set1_epi8(0x20);
    for (; i + 32 <= n; i += 32) {
        /* bytes >= 0x80 are negative as signed, so they fail every range test */
        __m256i c = _mm256_loadu_si256((const __m256i *)(p + i)), l = _mm256_or_si256(c, x20);
        __m256i alpha = _mm256_and_si256(_mm256_cmpgt_epi8(l, lo_a), _mm256_cmpgt_epi8(hi_z, l));
        __m256i digit = _mm256_and_si256(_mm256_cmpgt_epi8(c, lo_0), _mm256_cmpgt_epi8(hi_9, c));
        __m256i tok = _mm256_or_si256(_mm256_or_si256(alpha, digit), _mm256_cmpeq_epi8(c, us));
        uint64_t m = (uint32_t)_mm256_movemask_epi8(tok);
        if (i & 32) bits[i / 64] |= m << 32;
        else bits[i / 64] = m;
    }
#endif
    for (; i < n; i++) {
        if (!(i & 63)) bits[i / 64] = 0; /* each word starts clean: the scratch is reused */
        bits[i / 64] |= (uint64_t)TOKEN_BYTE[p[i]] << (i & 63);
    }
    (void)nw;
}

/* Collects the distinct tokens of text into s->key/pos/len; returns their count, or
 * (size_t)-1 on out of memory. */
static size_t collect_tokens(const char *text, size_t n, pt_minhash_scratch *s) {
    const uint8_t *p = (const uint8_t *)text;
    size_t nd = 0, nw = (n + 63) / 64;
    if (nw > s->nbits) {
        uint64_t *b = realloc(s->bits, nw * sizeof *b);
        if (!b) return (size_t)-1;
        s->bits = b, s->nbits = nw;
    }
    if (grow_arrays(s, 1024)) return (size_t)-1;
    /* a set sized for the document (~1 distinct token per 40 bytes of code), so that
     * small documents probe a table that fits in L1 */
    size_t want = 1024;
    while (want < n / 16 && want < (1u << 20)) want *= 2;
    if (use_slots(s, want, 0)) return (size_t)-1;
    token_bits(p, n, s->bits);
    const uint64_t *bits = s->bits;
    size_t mask = s->mask, w = 0;
    uint64_t m = nw ? bits[0] : 0;
    for (;;) {
        /* the next token start: the lowest set bit at or after the scan position */
        while (!m) {
            if (++w >= nw) goto done;
            m = bits[w];
        }
        size_t st = w * 64 + (size_t)__builtin_ctzll(m);
        /* its end: the lowest clear bit after it (bits past n are clear) */
        uint64_t c = ~bits[w] & (~0ull << (st & 63));
        while (!c) {
            if (++w >= nw) break;
            c = ~bits[w];
        }
        size_t en = w < nw ? w * 64 + (size_t)__builtin_ctzll(c) : n;
        if (w < nw) m = bits[w] & (~0ull << (en & 63)); /* bit en is clear */
        else m = 0;
        uint64_t h = token_hash(p + st, en - st, n - st);
        size_t j = (size_t)(h >> 7) & mask;
        while (s->slot[j] && s->slot[j] != h) j = (j + 1) & mask;
        if (s->slot[j]) continue; /* seen */
        if (nd + 1 > s->ncap && grow_arrays(s, nd + 1)) goto oom;
        s->slot[j] = h;
        s->used[nd] = (uint32_t)j, s->key[nd] = h, s->pos[nd] = (uint32_t)st, s->len[nd] = (uint32_t)(en - st);
        nd++;
        if (2 * nd > mask + 1) {
            if (use_slots(s, 2 * (mask + 1), nd)) goto oom;
            mask = s->mask;
        }
    }
done:
    for (size_t k = 0; k < nd; k++) s->slot[s->used[k]] = 0;
    return nd;
oom:
    for (size_t k = 0; k < nd; k++) s->slot[s->used[k]] = 0;
    return (size_t)-1;
}

size_t pt_minhash_signature_p(const pt_minhash_params *p, const char *text, size_t n, uint32_t *sig,
                              pt_minhash_scratch *s) {
    for (int j = 0; j < p->num_perm; j++) sig[j] = 0xFFFFFFFFu;
    if (n > UINT32_MAX) n = UINT32_MAX; /* token offsets are 32-bit; documents are far smaller */
    size_t nd = collect_tokens(text, n, s);
    if (nd == (size_t)-1) return nd;
    const uint8_t *t = (const uint8_t *)text;
    size_t k = 0;
#ifdef HAVE_SHA1_X2
    for (; k + 1 < nd; k += 2) {
        if (s->len[k] < 56 && s->len[k + 1] < 56)
            sha1_32_short_x2(t + s->pos[k], s->len[k], t + s->pos[k + 1], s->len[k + 1], &s->hv[k], &s->hv[k + 1]);
        else
            s->hv[k] = pt_minhash_sha1_32(t + s->pos[k], s->len[k]),
            s->hv[k + 1] = pt_minhash_sha1_32(t + s->pos[k + 1], s->len[k + 1]);
    }
#endif
    for (; k < nd; k++) s->hv[k] = pt_minhash_sha1_32(t + s->pos[k], s->len[k]);
    pt_minhash_permute(p, s->hv, nd, sig, 1);
    return nd;
}

size_t pt_minhash_signature(const char *text, size_t n, uint32_t *sig, pt_minhash_scratch *s) {
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    return pt_minhash_signature_p(&p, text, n, sig, s);
}

/* LSD radix sort of 64-bit keys, 16 bits a pass (4 passes, each skipped when trivial). */
static void radix_sort_u64(uint64_t *a, uint64_t *tmp, size_t n, uint32_t *cnt /* 65536 */) {
    uint64_t *src = a, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 16) {
        memset(cnt, 0, sizeof(uint32_t) << 16);
        for (size_t i = 0; i < n; i++) cnt[(src[i] >> shift) & 0xFFFF]++;
        if (n && cnt[(src[0] >> shift) & 0xFFFF] == n) continue;
        uint32_t sum = 0;
        for (size_t d = 0; d < (1u << 16); d++) {
            uint32_t c = cnt[d];
            cnt[d] = sum, sum += c;
        }
        for (size_t i = 0; i < n; i++) dst[cnt[(src[i] >> shift) & 0xFFFF]++] = src[i];
        uint64_t *x = src;
        src = dst, dst = x;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

size_t pt_minhash_tokens(const char *text, size_t n, pt_minhash_scratch *s, const uint64_t **out) {
    if (n > UINT32_MAX) n = UINT32_MAX;
    size_t nd = collect_tokens(text, n, s);
    if (nd == (size_t)-1) return nd;
    memcpy(s->sorted, s->key, nd * sizeof *s->key);
    if (nd > 4096 && (s->radix || (s->radix = malloc(sizeof(uint32_t) << 16))))
        radix_sort_u64(s->sorted, s->tmp, nd, s->radix);
    else
        qsort(s->sorted, nd, sizeof *s->sorted, cmp_u64);
    *out = s->sorted;
    return nd;
}

double pt_minhash_jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb) {
    if (!na && !nb) return 1.0;
    size_t i = 0, j = 0, inter = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) i++;
        else if (a[i] > b[j]) j++;
        else inter++, i++, j++;
    }
    return (double)inter / (double)(na + nb - inter);
}

/* ---- parameters and LSH banding ----------------------------------------------------------- */

void pt_minhash_defaults(pt_minhash_params *p) {
    p->threshold = 0.85;
    p->num_perm = 256;
    p->min_tokens = 10;
    p->scheme = PT_MINHASH_LEGACY;
    p->bands = 13, p->rows = 19; /* pt_minhash_optimal_bands(0.85, 256); test_minhash checks it */
}

int pt_minhash_params_check(const pt_minhash_params *p, pt_err *e) {
    if (!(p->threshold > 0.0 && p->threshold <= 1.0))
        return pt_fail(e, PT_EUSAGE, "near-dedup threshold %g is outside (0, 1]", p->threshold);
    if (p->num_perm < 2 || p->num_perm > PT_MINHASH_MAX_PERM)
        return pt_fail(e, PT_EUSAGE, "num_perm %d is outside 2..%d", p->num_perm, PT_MINHASH_MAX_PERM);
    const uint32_t *a, *b;
    if (p->scheme == PT_MINHASH_AFFINE32 && !affine_table(p->num_perm, &a, &b))
        return pt_fail(e, PT_EUSAGE, "the affine32 MinHash scheme supports num_perm 64, 128 or 256, not %d",
                       p->num_perm);
    if (p->scheme != PT_MINHASH_LEGACY && p->scheme != PT_MINHASH_AFFINE32)
        return pt_fail(e, PT_EUSAGE, "unknown MinHash scheme %d", p->scheme);
    if (p->bands < 1 || p->rows < 1 || (long)p->bands * p->rows > p->num_perm)
        return pt_fail(e, PT_EUSAGE, "LSH bands %d x rows %d do not fit num_perm %d", p->bands, p->rows,
                       p->num_perm);
    if (p->min_tokens < 1) return pt_fail(e, PT_EUSAGE, "min_tokens %d must be at least 1", p->min_tokens);
    return PT_OK;
}

/* Composite Gauss-Legendre: GL_SUB subintervals of GL_N nodes each on [lo, hi]. The
 * integrands are polynomials of degree up to num_perm; with 16 nodes on intervals of
 * width <= 1/64 the error is far below the smallest gap between datasketch's candidate
 * errors (~2e-7), while scipy's quad is accurate to ~1e-10. */
#define GL_N 16
#define GL_SUB 64

static void gauss_legendre(double *x, double *w) {
    for (int i = 0; i < GL_N; i++) {
        double z = cos(M_PI * (i + 0.75) / (GL_N + 0.5)), pp = 0;
        for (int it = 0; it < 100; it++) {
            double p1 = 1, p2 = 0;
            for (int k = 1; k <= GL_N; k++) {
                double p3 = p2;
                p2 = p1;
                p1 = ((2.0 * k - 1) * z * p2 - (k - 1.0) * p3) / k;
            }
            pp = GL_N * (z * p1 - p2) / (z * z - 1);
            double z1 = z;
            z = z1 - p1 / pp;
            if (fabs(z - z1) < 1e-15) break;
        }
        x[i] = z, w[i] = 2 / ((1 - z * z) * pp * pp);
    }
}

int pt_minhash_optimal_bands(double threshold, int num_perm, int *bands, int *rows) {
    if (!(threshold > 0 && threshold <= 1) || num_perm < 2 || num_perm > PT_MINHASH_MAX_PERM) return PT_EUSAGE;
    enum { NODES = GL_N * GL_SUB };
    double gx[GL_N], gw[GL_N];
    gauss_legendre(gx, gw);
    /* nodes and weights on [0, t] (false positives) and [t, 1] (false negatives) */
    double *s = malloc(sizeof(double) * NODES * 6);
    double *err = malloc(sizeof(double) * (size_t)(num_perm + 1) * (num_perm + 1));
    if (!s || !err) {
        free(s), free(err);
        return PT_ENOMEM;
    }
    double *sfp = s, *wfp = s + NODES, *sfn = s + 2 * NODES, *wfn = s + 3 * NODES, *lfp = s + 4 * NODES,
           *lfn = s + 5 * NODES;
    for (int k = 0; k < GL_SUB; k++)
        for (int i = 0; i < GL_N; i++) {
            double h = threshold / GL_SUB, c = (k + 0.5) * h;
            sfp[k * GL_N + i] = c + 0.5 * h * gx[i], wfp[k * GL_N + i] = 0.5 * h * gw[i];
            h = (1 - threshold) / GL_SUB, c = threshold + (k + 0.5) * h;
            sfn[k * GL_N + i] = c + 0.5 * h * gx[i], wfn[k * GL_N + i] = 0.5 * h * gw[i];
        }
    for (int r = 1; r <= num_perm; r++) {
        /* log(1 - s^r) at every node, then (1 - s^r)^b = exp(b * that) for each b */
        for (int i = 0; i < NODES; i++)
            lfp[i] = log1p(-pow(sfp[i], r)), lfn[i] = log1p(-pow(sfn[i], r));
        for (int b = 1; b * r <= num_perm; b++) {
            double fp = 0, fn = 0;
            for (int i = 0; i < NODES; i++) fp += wfp[i] * -expm1(b * lfp[i]); /* 1 - (1 - s^r)^b */
            for (int i = 0; i < NODES; i++) fn += wfn[i] * exp(b * lfn[i]);    /* (1 - s^r)^b */
            err[(size_t)b * (num_perm + 1) + r] = 0.5 * fp + 0.5 * fn;
        }
    }
    /* datasketch's scan order (b outer, r inner, strict improvement) */
    double best = INFINITY;
    *bands = *rows = 0;
    for (int b = 1; b <= num_perm; b++)
        for (int r = 1; r <= num_perm / b; r++)
            if (err[(size_t)b * (num_perm + 1) + r] < best) best = err[(size_t)b * (num_perm + 1) + r], *bands = b, *rows = r;
    free(s), free(err);
    return PT_OK;
}
