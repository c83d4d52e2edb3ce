/* minhash.h - MinHash signatures of code files, bit-exact with datasketch 2.0.
 *
 * The near-duplicate method is CodeParrot's (minhash_deduplication.py): a document is the
 * SET of its tokens, the non-empty pieces of re.split("[^A-Za-z_0-9]", content). Only
 * ASCII letters, digits and '_' are token bytes; every other byte, including every byte of
 * a UTF-8 multibyte character, separates tokens (Python's str regex treats a non-ASCII
 * character the same way, so the token sets are equal). Documents with fewer than
 * min_tokens (10) distinct tokens are left out of near dedup.
 *
 * Signature: for each distinct token, hv = the first 4 bytes of SHA-1(token) read as a
 * little-endian uint32 (datasketch's sha1_hash32); then for each of num_perm permutations
 * (a, b) drawn by numpy's RandomState(1) exactly as datasketch draws them (the tables in
 * minhash_perm.h, made by tools/gen_minhash_perm.py), a permuted value; the signature is
 * the elementwise minimum over tokens. Two schemes, both from datasketch 2.0:
 *   PT_MINHASH_LEGACY   ((hv * a + b) mod 2^64, as numpy uint64 wraps) % (2^61 - 1), then
 *                       & 0xFFFFFFFF; initial 0xFFFFFFFF. datasketch's only scheme before
 *                       2.0 and so the one CodeParrot's published dedup used. The default.
 *   PT_MINHASH_AFFINE32 hv' = murmur3 fmix32(hv); a * hv' + b mod 2^32 (a odd).
 *                       datasketch 2.0's default MinHash(); num_perm 64, 128 or 256 only.
 * Both give signatures equal to datasketch's hashvalues (tests/unit/test_minhash.c checks a
 * committed fixture made by tools/make_minhash_fixture.py).
 *
 * Speed (the signature is computed once per document of a 180 GB dump): tokens are hashed
 * with a fast 64-bit hash into a per-thread open-addressing set, so SHA-1 and the
 * permutations run once per DISTINCT token. SHA-1 is our own (FIPS 180-4) with a
 * single-block path for tokens under 56 bytes, using the x86 SHA extensions when the
 * compiler targets them (two tokens' blocks interleaved: one block's rounds are a latency-
 * bound chain). Token bytes are classified 32 at a time into a bitmask (AVX2) and tokens
 * found with bit scans. The permutation loop (num_perm values per token) runs over blocks
 * of permutations with the running minima in vector registers: AVX-512 (64-bit multiply
 * low) or AVX2 (two 32x32->64 multiplies) intrinsics, beside a portable scalar reference
 * that the tests compare against on random tokens.
 *
 * Token sets for the exact Jaccard similarity are kept as sorted arrays of the tokens'
 * 64-bit hashes (pt_minhash_tokens): two distinct tokens of one document colliding in 64
 * bits is the only inexactness (odds ~n^2/2^65 for n distinct tokens).
 *
 * LSH banding (bands b, rows r) is chosen as datasketch's MinHashLSH does (_optimal_param:
 * minimise 0.5 * false-positive area + 0.5 * false-negative area over b * r <= num_perm),
 * integrated here with composite Gauss-Legendre quadrature; (13, 19) for 0.85 / 256.
 */
#ifndef PT_CORPUS_MINHASH_H
#define PT_CORPUS_MINHASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define PT_MINHASH_MAX_PERM 256

enum { PT_MINHASH_LEGACY = 0, PT_MINHASH_AFFINE32 = 1 };

typedef struct pt_minhash_params {
    double threshold; /* Jaccard similarity at or above which two documents are near copies */
    int num_perm;     /* signature length, 1..256 (affine32: 64, 128 or 256) */
    int min_tokens;   /* fewer distinct tokens: no signature, not deduplicated */
    int bands, rows;  /* LSH banding, bands * rows <= num_perm */
    int scheme;       /* PT_MINHASH_LEGACY (default) or PT_MINHASH_AFFINE32 */
} pt_minhash_params;

/* 0.85, 256, 10, legacy, and bands/rows from the optimiser: (13, 19). */
void pt_minhash_defaults(pt_minhash_params *p);

/* Checks ranges and that bands/rows fit num_perm; PT_EUSAGE with a message otherwise. */
int pt_minhash_params_check(const pt_minhash_params *p, pt_err *e);

/* datasketch's _optimal_param(threshold, num_perm, 0.5, 0.5): the (bands, rows) with
 * bands * rows <= num_perm minimising the mean of the false positive and false negative
 * probability areas. threshold in (0, 1], num_perm in 2..PT_MINHASH_MAX_PERM (1.0 gives one band
 * of num_perm rows, which datasketch computes too but then refuses as "b < 2").
 * Returns PT_OK, PT_EUSAGE for out-of-range arguments, PT_ENOMEM. Costs ~50 ms for 256. */
int pt_minhash_optimal_bands(double threshold, int num_perm, int *bands, int *rows);

/* Per-thread working memory (token set, hash values). Not shareable between threads;
 * grows with the largest document seen. */
typedef struct pt_minhash_scratch pt_minhash_scratch;
pt_minhash_scratch *pt_minhash_scratch_new(void); /* NULL on out of memory */
void pt_minhash_scratch_free(pt_minhash_scratch *s);

/* Fills sig[num_perm] with the default parameters' signature (legacy, 256); returns the
 * number of distinct tokens (the signature is valid only if >= min_tokens). Returns
 * (size_t)-1 if the scratch could not grow (out of memory); sig is then undefined. */
size_t pt_minhash_signature(const char *text, size_t n, uint32_t *sig, pt_minhash_scratch *s);

/* As pt_minhash_signature for any params (p->num_perm values, p->scheme). */
size_t pt_minhash_signature_p(const pt_minhash_params *p, const char *text, size_t n, uint32_t *sig,
                              pt_minhash_scratch *s);

/* The document's token set as sorted distinct 64-bit token hashes; *out points into the
 * scratch and stays valid until its next use. Returns the count, or (size_t)-1 on out of
 * memory. */
size_t pt_minhash_tokens(const char *text, size_t n, pt_minhash_scratch *s, const uint64_t **out);

/* Exact Jaccard similarity of two sorted distinct arrays (|A n B| / |A u B|, computed as
 * Python does: one double division). 1.0 for two empty sets. */
double pt_minhash_jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb);

/* ---- lower-level pieces, exposed for the tests and benchmarks -------------------------- */

/* SHA-1 (FIPS 180-4) of n bytes. */
void pt_minhash_sha1(const void *data, size_t n, uint8_t out[20]);
/* datasketch's sha1_hash32: the first 4 digest bytes as a little-endian uint32. */
uint32_t pt_minhash_sha1_32(const void *data, size_t n);
/* The same computed by the portable scalar code even when SHA extensions are compiled in. */
uint32_t pt_minhash_sha1_32_scalar(const void *data, size_t n);

/* Folds nhv token hashes into sig[num_perm] (sig must hold the initial values or earlier
 * minima). simd = 0 forces the scalar reference; 1 uses the fastest compiled-in path. */
void pt_minhash_permute(const pt_minhash_params *p, const uint32_t *hv, size_t nhv, uint32_t *sig, int simd);
/* The name of the vector path compiled in ("avx512", "avx2" or "scalar") and of the SHA-1
 * path ("sha-ni" or "scalar"), for logs and benchmark reports. */
const char *pt_minhash_simd_name(void);
const char *pt_minhash_sha1_name(void);

#endif
