/* textsrc.h - documents' text from the inputs the tokenizer commands take, in batches.
 *
 * An input is a corpus folder from `parrot corpus build` (one of its splits), any other
 * folder (its files ending in one of exts, each one document, in walk.h's order), JSON
 * Lines with a "content" (or else "text") string per line (.jsonl, .jsonl.gz, .json.gz,
 * .json; plain or gzip; "-" is standard input), or any other file (one document).
 *
 * Documents are handed to a callback in batches of about batch_bytes / batch_docs, in
 * input order: documents of a corpus folder as pointers into its memory-mapped shards, the
 * others read or copied into the batch's arena. The texts are valid only during the
 * callback. A batch never spans two corpus folders (the store is closed after its last
 * batch). Malformed JSON lines are counted, reported with file and line, and skipped;
 * unreadable files in folders are reported and skipped.
 */
#ifndef PT_TEXTSRC_H
#define PT_TEXTSRC_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef int (*pt_textsrc_fn)(void *ctx, size_t n, const char *const *texts, const size_t *lens, pt_err *e);

typedef struct pt_textsrc_opts {
    const char *split;             /* of corpus folders (NULL: "train") */
    const char *const *exts;       /* of other folders (NULL or 0: ".py") */
    int nexts;
    uint64_t max_docs;             /* stop after this many documents (0: all) */
    size_t batch_bytes, batch_docs; /* 0: 16 MiB, 16384 */
    const volatile int *cancel;    /* when set, PT_EINTR between batches */
} pt_textsrc_opts;

typedef struct pt_textsrc_stats {
    uint64_t docs, bytes, bad_lines, unreadable;
} pt_textsrc_stats;

/* Feeds the documents of inputs[0..n) to fn(ctx, ...) batch by batch; fn's failure stops
 * the run and is returned. st (may be NULL) gets the counts. */
int pt_textsrc_run(const char *const *inputs, int n, const pt_textsrc_opts *o, pt_textsrc_fn fn, void *ctx,
                   pt_textsrc_stats *st, pt_err *e);

#endif
