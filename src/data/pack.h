/* pack.h - `parrot pack`: a corpus's splits encoded with a tokenizer into token shards.
 *
 * The pipeline per split (train, then valid): documents are read from the corpus store in
 * order (zero copy), gathered into batches of about 16 MiB, encoded across threads by
 * pt_bpe_many (results in input order, whatever the thread count), and each document's ids
 * followed by the end-of-text id are streamed into the split's token shards (data/tokens.h)
 * by a writer thread, double-buffered: batch k is written while batch k+1 is encoded, so the
 * encoder, not the writing, bounds the speed (the issue asks >= 90% of `parrot tokenizer
 * encode`'s throughput). The writer thread also writes the tokenizer copy while the first
 * batch is encoded, and commits a split's last shard (its fsync) while the next split is
 * encoded.
 * The text is plain: an "<|endoftext|>" written inside a document is encoded as ordinary
 * characters, as `parrot tokenizer encode` does by default, so the only end-of-text ids in
 * the stream are the document separators.
 *
 * Output is all-or-nothing: everything is built in "<out>.tmp-<pid>" (shards, a copy of the
 * tokenizer as tokenizer.json, manifest.json) and renamed to out at the end; an existing out
 * is refused unless force (then it is replaced only after the new one is complete).
 *
 * manifest.json (format "parrot-data", docs/formats.md) records the provenance: parrot's
 * version, the command, the corpus path and the hash of its manifest, the tokenizer's hash,
 * and per split documents, tokens, bytes, characters, chars_per_token, shards and seconds.
 */
#ifndef PT_DATA_PACK_H
#define PT_DATA_PACK_H

#include <stdint.h>

#include "base/status.h"

#define PT_PACK_FORMAT "parrot-data"
#define PT_PACK_VERSION 1
#define PT_PACK_EOT_TEXT "<|endoftext|>"

typedef struct pt_pack_opts {
    const char *corpus_dir;     /* a `parrot corpus build` output */
    const char *tokenizer_path; /* anything pt_bpe_load reads */
    const char *out_dir;
    int threads;                /* <= 0: one */
    int force;                  /* replace an existing out_dir */
    uint64_t shard_tokens;      /* 0: the default (2^28 tokens per shard) */
    const char *command;        /* recorded in the manifest (may be NULL) */
    const char *version;        /* parrot's version, recorded (may be NULL) */
    volatile int *cancel;       /* polled between batches: non-zero stops with PT_EINTR (may be NULL) */
    size_t batch_bytes;         /* documents per encoded batch, in bytes (0: 16 MiB; small for tests) */
} pt_pack_opts;

typedef struct pt_pack_split {
    uint64_t docs, tokens, bytes, chars; /* tokens include one end-of-text per document */
    uint32_t shards;
    double seconds;
} pt_pack_split;

typedef struct pt_pack_report {
    pt_pack_split split[2]; /* train, valid */
    uint32_t vocab_size, eot, width;
    double seconds;
} pt_pack_report;

/* Packs o->corpus_dir's train and valid splits into o->out_dir (see the file comment). A
 * tokenizer without "<|endoftext|>" is PT_EUSAGE; an existing out_dir without force PT_EEXIST.
 * On failure nothing is left behind (the temporary folder is removed). r may be NULL.
 * Progress goes to pt_log (stderr). */
int pt_pack_run(const pt_pack_opts *o, pt_pack_report *r, pt_err *e);

#endif
