/* source.h - reading a build's inputs into batches of documents, on a thread of its own.
 *
 * Inputs are read in the order given: directories (walked in byte order of paths, see
 * walk.h), JSON Lines files (plain or gzip, see jsonl.h) and single source files. A
 * reader thread fills batches (one arena of bytes each, about `batch_bytes` of content)
 * while the build's worker threads process the previous one; at most three batches
 * exist, so memory stays bounded however large the input is.
 *
 * Problems that do not stop the build (an unreadable file, a malformed JSON line, a
 * truncated .gz) travel with the batch as events, in input order, so that the caller
 * reports and counts them deterministically.
 */
#ifndef PT_SOURCE_H
#define PT_SOURCE_H

#include <stdint.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/status.h"

enum { PT_META_REPO, PT_META_PATH, PT_META_LICENSE, PT_META_SIZE, PT_META_COPIES, PT_NMETA };
#define PT_META_ABSENT UINT32_MAX

typedef struct pt_srcdoc {
    uint64_t ordinal;              /* 0-based position among all documents read */
    uint64_t content_off;          /* in the batch arena; content is followed by a NUL */
    uint64_t content_len;
    uint64_t meta_off[PT_NMETA];   /* in the arena, NUL-terminated */
    uint32_t meta_len[PT_NMETA];   /* PT_META_ABSENT when the field is absent */
    uint64_t line;                 /* 1-based JSONL line; 0 for a file */
    uint32_t source;               /* index of the input */
    uint8_t surrogate;             /* content had a lone surrogate escape: not valid text */
} pt_srcdoc;

enum { PT_EV_UNREADABLE, PT_EV_BAD_LINE, PT_EV_FATAL_INPUT, PT_NEV };

typedef struct pt_batch {
    pt_buf arena;
    pt_srcdoc *docs;
    size_t n, cap;
    uint64_t raw_bytes;  /* input bytes consumed while filling this batch */
    pt_buf events;       /* each: one kind byte, then a NUL-terminated message */
    size_t nevents;
} pt_batch;

enum { PT_INPUT_DIR, PT_INPUT_JSONL, PT_INPUT_FILE };

typedef struct pt_input_info {
    char *name;
    int kind;
    uint64_t size;       /* bytes on disk (for a directory: its matching files, as read) */
    uint64_t bytes_read; /* raw bytes actually read */
    uint64_t docs;
    uint64_t events[PT_NEV];
    pt_hash128 hash;     /* JSONL/file: of the raw bytes; directory: of (relative path, content hash) per file */
} pt_input_info;

typedef struct pt_source pt_source;

/* Checks every input exists and is of a known kind (fails before any work otherwise),
 * and starts the reader thread. exts: file-name endings for directory walks. With
 * size_dirs, directories are walked once beforehand to sum their files' sizes (for a
 * time-left estimate; it costs a second walk, so only worth it when someone watches).
 * cancel: polled; when it becomes non-zero the reader stops early. */
int pt_source_start(pt_source **s, const char *const *inputs, int ninputs, const char *const *exts, int nexts,
                    uint64_t batch_bytes, int size_dirs, volatile int *cancel, pt_err *e);
/* Total bytes of all inputs on disk (for progress); 0 if unknown (directories not sized). */
uint64_t pt_source_total_bytes(const pt_source *s);
/* The next full batch in input order, or NULL at the end (or on a fatal reader error:
 * see pt_source_finish). Blocks. */
pt_batch *pt_source_next(pt_source *s);
/* Hands a processed batch back for refilling. */
void pt_source_release(pt_source *s, pt_batch *b);
/* Joins the reader; returns its fatal error (allocation failure), if any. */
int pt_source_finish(pt_source *s, pt_err *e);
const pt_input_info *pt_source_inputs(const pt_source *s, int *n);
void pt_source_free(pt_source *s);

static inline const char *pt_srcdoc_meta(const pt_batch *b, const pt_srcdoc *d, int k) {
    return d->meta_len[k] == PT_META_ABSENT ? NULL : b->arena.data + d->meta_off[k];
}

#endif
