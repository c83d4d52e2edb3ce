/* neardup.h - near-duplicate removal (step 5 of `parrot corpus build`), in bounded memory.
 *
 * The method is CodeParrot's (minhash_deduplication.py) made deterministic, as BigCode's is:
 * MinHash signatures (minhash.h) are banded for LSH (bands x rows, datasketch's optimum for
 * the threshold: 13 x 19 for 0.85 / 256); two documents are candidates when all rows of at
 * least one band agree; the candidate graph's connected components (union-find) are the
 * clusters. Each cluster is reduced to representatives: its members are walked in document
 * order and a member is kept when its EXACT Jaccard similarity (on token sets) with every
 * representative kept so far is below the threshold; otherwise it is dropped and counted as
 * a near copy of the first representative (in document order) that it matched.
 *
 * Memory. The input is a 180 GB dump, so nothing proportional to signatures stays in RAM.
 * pt_neardup_add hashes each band of a signature to 64 bits and appends (hash, doc) records
 * (12 bytes) to ONE spill file in the caller's temp directory, written in blocks of 2048
 * records, each block holding one (band, partition) where the partition is the top 4 bits
 * of the band hash; an in-memory index lists the blocks (16 bytes per block). The spill file
 * is unlinked as soon as it is created, so nothing is left behind even after a crash.
 * pt_neardup_run then takes each band, one partition at a time: reads its blocks, sorts
 * the records by hash (a counting scatter on up to 20 hash bits, then tiny per-bucket
 * sorts; record array + scatter buffer: 24 bytes per record of ONE partition, i.e. ~1.5
 * bytes per signed document), and unions the runs of equal hashes.
 * Fixed cost: write buffers of bands x 16 x 24 KiB (5 MiB for 13 bands), 4 MiB of counts.
 *   Bytes per document, peak during pt_neardup_run:
 *     4   union-find parent (uint32)
 *     1.5 one band partition being sorted (24 B x signed / 16)
 *     5   the result: drop (1 byte) + near_copies (4 bytes)
 *     4   per document in a cluster: the member lists (plus ~28 per cluster while they
 *         are listed, 8 after)
 *   = about 11 bytes per document + 4 per clustered document, plus the fixed buffers and
 *   per reducing thread the token sets of the representatives of the cluster it works on.
 *   Spill file: 12 bytes x bands per signed document (156 B for 13 bands).
 *   Measured: 5M signed documents, run 2.0 s (16-core Xeon), peak RSS +9.3 B/document.
 *
 * Reduction. Clusters are reduced in parallel (OpenMP, schedule(dynamic), largest first),
 * each thread with its own token-set scratch; documents are fetched through the caller's
 * thread-safe getter (a memory-mapped store). Every decision depends only on the cluster's
 * members in document order, so the result is the same at any thread count. To keep one
 * giant cluster from going quadratic (each member checked against every representative),
 * two exact filters cut the checks: the size filter (J(A,B) <= min/max) always, and once a
 * cluster has 32 representatives an inverted index of their prefix tokens (prefix
 * filtering, as in all-pairs similarity joins): with tokens ordered rarest-first within the
 * cluster (one extra counting pass over its members), two sets with J >= t share a token
 * among their first |S| - floor(t |S|) + 1 tokens, so only representatives met through the
 * member's prefix are verified. The result is identical to checking every representative.
 * Measured (tests/unit/test_neardup.c): 10,000 near-identical license files, one cluster,
 * 9,999 checks; a 2,000-document chain with 400 representatives, ~10 checks per member
 * instead of ~200.
 *
 * Determinism and exactness: union-find components do not depend on order; the reduction
 * is per cluster. Band hashes are 64-bit (a collision would join two clusters, odds about
 * bands x n^2 / 2^65; the exact Jaccard still decides every drop), token sets are 64-bit
 * token hashes (see minhash.h).
 */
#ifndef PT_CORPUS_NEARDUP_H
#define PT_CORPUS_NEARDUP_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "corpus/minhash.h"

typedef struct pt_neardup pt_neardup;

/* Opens a near-dedup pass with parameters p (checked with pt_minhash_params_check; copied)
 * and its spill file in tmpdir (an existing directory). Close with pt_neardup_close. */
int pt_neardup_open(pt_neardup **nd, const pt_minhash_params *p, const char *tmpdir, pt_err *e);

/* Adds document doc's signature (p->num_perm values). doc indexes strictly increasing
 * (PT_EUSAGE otherwise); documents without a valid signature (< min_tokens distinct tokens)
 * are simply not added. Not thread-safe. PT_EIO when the spill file cannot be written. */
int pt_neardup_add(pt_neardup *nd, uint32_t doc, const uint32_t *sig, pt_err *e);

/* Returns document doc's text and its length in *len, NULL if it cannot (an error). The
 * pointer must stay valid until pt_neardup_run returns. Called from several threads at
 * once: must be thread-safe. */
typedef const char *(*pt_neardup_getter)(void *ctx, uint32_t doc, size_t *len);

typedef struct pt_neardup_result {
    uint64_t ndocs;          /* documents covered by the arrays below: 0..ndocs-1 */
    uint8_t *drop;           /* ndocs bytes (not a bitmap): 1 = near duplicate, drop; else 0 */
    uint32_t *near_copies;   /* per doc: how many dropped docs it represents (0 unless a
                                representative of a cluster) */
    uint64_t signed_docs;    /* documents added */
    uint64_t candidate_pairs;/* sum over bands of the document pairs sharing a bucket (a pair
                                agreeing on k bands counts k times) */
    uint64_t clusters;       /* connected components of more than one document */
    uint64_t docs_in_clusters, dropped;
    uint64_t largest_cluster;/* members of the largest cluster */
    uint64_t jaccard_checks; /* exact Jaccard similarities computed in the reduction */
    double seconds;          /* wall time of pt_neardup_run */
} pt_neardup_result;

/* Runs the banding, clustering and reduction over documents 0..ndocs-1 (every added doc
 * must be < ndocs), fetching cluster members' texts through get(ctx, ...) from up to
 * `threads` threads (<= 0: OpenMP's default). Fills *out (owned by the caller: free with
 * pt_neardup_result_free). Call once per pt_neardup. Errors: PT_EIO (spill file), PT_ENOMEM,
 * PT_EUSAGE (a doc >= ndocs), PT_EFORMAT (the getter returned NULL). */
int pt_neardup_run(pt_neardup *nd, uint64_t ndocs, pt_neardup_getter get, void *ctx, int threads,
                   pt_neardup_result *out, pt_err *e);
void pt_neardup_result_free(pt_neardup_result *r);

/* Frees everything; the spill file (already unlinked) disappears with its descriptor. */
void pt_neardup_close(pt_neardup *nd);

/* For tests: a cluster switches to the prefix-filter index once it has this many
 * representatives (default 32; 0 = from the start, UINT32_MAX = never). Every setting gives
 * the same result. */
void pt_neardup_set_index_min(pt_neardup *nd, uint32_t members);

#endif
