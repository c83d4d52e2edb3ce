/* rng.h - a small seeded random generator (xoshiro256**, seeded through splitmix64).
 *
 * Used where parrot needs reproducible randomness that does not depend on the thread count:
 * callers derive one generator per fixed-size chunk of work from (seed, chunk index), so any
 * number of threads draws the same numbers. The whole state is 32 bytes and can be saved in a
 * checkpoint.
 */
#ifndef PT_RNG_H
#define PT_RNG_H

#include <stdint.h>

typedef struct pt_rng {
    uint64_t s[4];
} pt_rng;

/* Seed from one 64-bit value (any value, 0 included). */
void pt_rng_seed(pt_rng *r, uint64_t seed);
uint64_t pt_rng_next(pt_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double pt_rng_uniform(pt_rng *r);
/* Standard normal (Box-Muller, one value per call). */
double pt_rng_normal(pt_rng *r);

#endif
