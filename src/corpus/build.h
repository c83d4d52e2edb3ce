/* build.h - `parrot corpus build`: inputs -> a cleaned, deduplicated document store.
 *
 * Steps, in this order, each counted (documents and bytes dropped, and why):
 *   1 size          min_size <= bytes <= max_size
 *   2 text          valid UTF-8, no NUL
 *   3 exact dedup   128-bit hash of the content with all (Unicode) whitespace removed;
 *                   the first occurrence in input order is kept, copies counted on it
 *   4 filters       licence (opt-in), CodeParrot's deterministic filters, and its
 *                   probabilistic ones (opt-in, seeded), see filter.h
 *   5 near dedup    MinHash + LSH + exact-Jaccard reduction of clusters, see neardup.h
 *   6 split         train/valid by a hash of the document's identity
 *
 * How memory stays bounded (the real input is a 180 GB dump): documents stream through
 * in batches of ~batch_bytes (three batches alive at most: one being read, one being
 * processed, one spare); steps 1-4 keep only the exact-dup table (~40 B per distinct
 * document); survivors go to temporary "stage" shards on disk, with their band hashes
 * spilled to files for step 5, which then works one band at a time; the final pass
 * copies the staged documents that survive into the train/valid shards. Per staged
 * document: copies (4 B) plus near-dedup's per-document arrays (see neardup.h).
 *
 * Everything is written under DIR.tmp-<pid> and renamed to DIR at the very end, so an
 * interrupted build leaves no half-written corpus under the final name. Results do not
 * depend on the thread count: every decision that depends on order is made on one
 * thread, in input order.
 */
#ifndef PT_BUILD_H
#define PT_BUILD_H

#include <stdint.h>

#include "corpus/filter.h"
#include "corpus/minhash.h"
#include "corpus/source.h"

typedef struct pt_build_params {
    const char *out_dir;
    int force;                       /* replace an existing out_dir */
    const char *const *inputs;
    int ninputs;
    const char *const *exts;         /* file-name endings for directory walks (".py") */
    int nexts;
    uint64_t min_size, max_size;     /* step 1, bytes */
    pt_filter_params filter;         /* step 4 */
    const char *tokenizer;           /* step 4, opt-in: CodeParrot's characters-per-token filter */
    double min_token_ratio;          /* drop if code points / tokens < this (default 1.5) */
    const char *decontaminate;       /* opt-in: benchmark items (JSONL) whose text must not be trained on */
    int decontam_ngram;              /* run length in words (0: 20; see corpus/decontam.h) */
    const char *const *licenses;     /* step 4, opt-in: keep only these `license` values */
    int nlicenses;
    int near_dedup;                  /* step 5 on/off */
    pt_minhash_params minhash;
    double valid_fraction;           /* step 6 */
    uint64_t split_seed;
    uint64_t shard_bytes;            /* content bytes per output shard */
    uint64_t batch_bytes;            /* content bytes per processing batch */
    int threads;
    const char *cmdline;             /* recorded in the manifest */
    volatile int *cancel;            /* polled; non-zero stops the build with PT_EINTR */
} pt_build_params;

void pt_build_defaults(pt_build_params *p);

typedef struct pt_count {
    uint64_t docs, bytes;
} pt_count;

#define PT_BUILD_EXAMPLES 5

typedef struct pt_build_report {
    pt_count in;                    /* documents read */
    pt_count dropped[PT_NDROP];     /* by reason (index PT_KEEP unused) */
    pt_count out[2];                /* train, valid */
    uint64_t out_shards[2];
    uint64_t events[PT_NEV];        /* unreadable files, bad lines, fatal inputs */
    char *examples[PT_NDROP][PT_BUILD_EXAMPLES]; /* where the first dropped docs came from */
    char *event_examples[PT_NEV][PT_BUILD_EXAMPLES];
    uint64_t staged, exact_distinct;
    /* near dedup */
    int bands, rows;
    uint64_t nd_signed, nd_pairs, nd_clusters, nd_in_clusters;
    double t_read, t_near, t_write, seconds;
    uint64_t peak_rss, exact_table_bytes;
    pt_hash128 tokenizer_hash;      /* of the tokenizer's content, when one was used */
    pt_hash128 decontam_hash;       /* of the decontamination file, when one was used */
    size_t decontam_items;
    int decontam_ngram;
} pt_build_report;

/* Runs the build. On success DIR holds train-*.pds, valid-*.pds and manifest.json. On
 * failure nothing is left under DIR (an existing DIR is untouched unless the build got
 * as far as replacing it, which is its very last step). */
int pt_corpus_build(const pt_build_params *p, pt_build_report *r, pt_err *e);
void pt_build_report_free(pt_build_report *r);

/* The split a document identity falls in: 1 = valid, 0 = train. */
int pt_build_is_valid(const char *identity, size_t n, double valid_fraction, uint64_t seed);

#endif
