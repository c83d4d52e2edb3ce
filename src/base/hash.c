/* hash.c - see hash.h. */
#include "base/hash.h"

#include <stdio.h>
#include <string.h>

#define K0 0x9E3779B97F4A7C15ull
#define K1 0xC2B2AE3D27D4EB4Full
#define K2 0x165667B19E3779F9ull
#define K3 0xD6E8FEB86659FD93ull

static inline uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian machines only; x86-64 and arm64 */
    return v;
}

static inline uint64_t fold(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline void block(pt_hasher *h, const unsigned char *p) {
    h->s0 = fold(rd64(p) ^ K1, rd64(p + 8) ^ h->s0);
    h->s1 = fold(rd64(p + 16) ^ K3, rd64(p + 24) ^ h->s1);
}

void pt_hasher_init(pt_hasher *h, uint64_t seed) {
    h->s0 = seed ^ K0;
    h->s1 = fold(seed ^ K2, K1);
    h->total = 0;
    h->ntail = 0;
}

void pt_hasher_update(pt_hasher *h, const void *data, size_t n) {
    const unsigned char *p = data;
    if (n == 0) return; /* data may be NULL then */
    h->total += n;
    if (h->ntail) {
        size_t take = 32 - h->ntail;
        if (take > n) take = n;
        memcpy(h->tail + h->ntail, p, take);
        h->ntail += (unsigned)take;
        p += take;
        n -= take;
        if (h->ntail < 32) return;
        block(h, h->tail);
        h->ntail = 0;
    }
    while (n >= 32) {
        block(h, p);
        p += 32;
        n -= 32;
    }
    memcpy(h->tail, p, n);
    h->ntail = (unsigned)n;
}

pt_hash128 pt_hasher_final(const pt_hasher *h) {
    pt_hasher c = *h;
    unsigned char last[32] = {0};
    memcpy(last, c.tail, c.ntail);
    last[31] ^= (unsigned char)c.ntail; /* tails of different length never collide */
    block(&c, last);
    uint64_t a = fold(c.s0 ^ c.total, K2 ^ c.s1);
    uint64_t b = fold(c.s1 ^ (c.total * K0), K3 ^ c.s0);
    pt_hash128 r = {fold(a ^ K1, b ^ K0), fold(b ^ K2, a ^ K3)};
    return r;
}

pt_hash128 pt_hash128_of(const void *data, size_t n, uint64_t seed) {
    pt_hasher h;
    pt_hasher_init(&h, seed);
    pt_hasher_update(&h, data, n);
    return pt_hasher_final(&h);
}

void pt_hash128_hex(pt_hash128 h, char out[33]) {
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.hi, (unsigned long long)h.lo);
}
