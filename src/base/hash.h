/* hash.h - fast non-cryptographic hashing for dedup keys, split decisions and provenance.
 *
 * pt_hash is a 64x64->128 multiply-fold hash (the design popularised by wyhash): each
 * 32-byte block feeds two independent lanes, so it runs at several GB/s and gives a
 * 128-bit result whose halves are independent enough for content dedup (collision
 * odds ~n^2/2^129). It is fixed forever: corpus manifests record these values, so any
 * change needs a new format version. Not for adversarial inputs (no secret key).
 *
 * The streaming form (pt_hasher) gives the same result as the one-shot form for the
 * same bytes, whatever the chunking.
 */
#ifndef PT_HASH_H
#define PT_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct pt_hash128 {
    uint64_t lo, hi;
} pt_hash128;

typedef struct pt_hasher {
    uint64_t s0, s1, total;
    unsigned char tail[32];
    unsigned ntail;
} pt_hasher;

void pt_hasher_init(pt_hasher *h, uint64_t seed);
void pt_hasher_update(pt_hasher *h, const void *data, size_t n);
pt_hash128 pt_hasher_final(const pt_hasher *h);

pt_hash128 pt_hash128_of(const void *data, size_t n, uint64_t seed);
static inline uint64_t pt_hash64(const void *data, size_t n, uint64_t seed) {
    return pt_hash128_of(data, n, seed).lo;
}

/* A strong 64-bit integer mixer (splitmix64's finalizer): for seeded per-item random
 * numbers that do not depend on thread count or order. */
static inline uint64_t pt_mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* A uniform double in [0, 1) from 53 bits of x. */
static inline double pt_unit_double(uint64_t x) { return (double)(x >> 11) * 0x1.0p-53; }

/* Lower-case hex of a 128-bit hash, 32 chars + NUL. */
void pt_hash128_hex(pt_hash128 h, char out[33]);

#endif
