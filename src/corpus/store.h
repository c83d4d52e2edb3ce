/* store.h - the document store: versioned, memory-mapped shards with zero-copy random access.
 *
 * `parrot corpus build` writes its kept documents as shard files "<split>-<NNNNN>.pds" in one
 * directory; tokenizer training, packing and `parrot corpus cat` read them back by global
 * document index without holding the corpus (tens of GB) in memory.
 *
 * Why this shape (the byte layout is in docs/formats.md, "Document shards"):
 * - Content first, streamed. The writer sends each document's bytes straight to the file, so
 *   a shard's content (256 MiB by default) is never held in memory; only the fixed-size index
 *   records (PT_STORE_RECORD_SIZE bytes per document) and the metadata strings (their lengths
 *   plus one NUL each) are buffered per shard and written after the content at shard close.
 *   The header at offset 0 is patched last, so a shard without a valid header was never
 *   finished; the file only gets its final name at commit (pt_afile: temp name + rename).
 * - Zero copy. The reader maps every shard read-only; pt_store_get returns pointers into the
 *   mapping. Each document and each metadata string is followed by a NUL byte in the file, so
 *   it can be used as a C string in place (lengths stay authoritative: content may itself hold
 *   a NUL, which a C-string reader would see as an earlier end).
 * - Checked on open, cheaply. Opening validates each header (magic, version, a header
 *   checksum, section layout against the real file size - a truncated file says how many bytes
 *   are missing), the index and metadata checksums, and every record (offsets in bounds and
 *   contiguous, the NUL after each string), so pt_store_get can never read out of bounds. The
 *   content checksum costs a full read of the data and is only checked by pt_store_verify.
 *   Opening does touch the byte after every document (its NUL), which pages in most of the
 *   content on a cold cache; PT_STORE_OPEN_QUICK skips that for reads of a few documents.
 * - Global indices run over the shards in numeric order; a lookup is a binary search over
 *   the per-shard cumulative counts, then one fixed-size record.
 */
#ifndef PT_CORPUS_STORE_H
#define PT_CORPUS_STORE_H

#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"

/* Format constants (docs/formats.md). */
#define PT_STORE_MAGIC "PRTDOCS" /* 8 bytes on disk, with its NUL */
#define PT_STORE_VERSION 1u
#define PT_STORE_HEADER_SIZE 144u
#define PT_STORE_RECORD_SIZE 56u
#define PT_STORE_HASH_SEED 0x7061727274646f63ull /* seed of every checksum in a shard */
#define PT_STORE_ABSENT 0xFFFFFFFFu              /* a metadata length meaning "absent" */
#define PT_STORE_DEFAULT_SHARD_BYTES (256ull << 20)
#define PT_STORE_EXT ".pds"

/* One document. Pointers are NULL when a field is absent (an empty field is "" with length
 * 0); lengths are authoritative. From pt_store_get: every pointer points into the store's
 * mapping, NUL-terminated there, valid until pt_store_close. */
typedef struct pt_doc {
    const char *content;
    uint64_t content_len; /* NUL-terminated in place */
    const char *repo_name, *path, *license, *size, *copies; /* NULL when absent; NUL-terminated */
    uint32_t repo_name_len, path_len, license_len, size_len, copies_len;
    uint32_t exact_copies; /* exact duplicates seen, this document included */
    uint32_t near_copies;  /* near-duplicates this document represents */
    uint32_t source;       /* index of the input it came from, as in the manifest */
} pt_doc;

typedef struct pt_store_stats {
    uint64_t docs;          /* documents written */
    uint64_t content_bytes; /* sum of content_len (without the NUL terminators) */
    uint64_t shards;        /* shard files */
    uint64_t file_bytes;    /* sum of the shard files' sizes */
} pt_store_stats;

/* ---- writing ----------------------------------------------------------------------- */

enum {
    PT_STORE_NOSYNC = 1u << 0,    /* skip fsync at each shard's commit (temporary staging splits) */
    PT_STORE_OVERWRITE = 1u << 1, /* remove the split's existing shards at open instead of failing */
};

typedef struct pt_store_writer pt_store_writer;

/* Starts writing split `split` (a non-empty name without '/') into directory `dir`, which is
 * created if missing. A new shard starts when the current one holds at least one document
 * and its content section (documents plus one NUL each) would exceed shard_bytes (0 = the
 * default, 256 MiB); a larger single document still goes into one shard, alone.
 * If shards of this split already exist in dir: PT_EEXIST, unless flags has
 * PT_STORE_OVERWRITE (then they are removed now). flags: PT_STORE_* bits.
 * On success *w is owned by the caller until pt_store_writer_close or _abort.
 * Not thread-safe: one writer is used by one thread at a time. */
int pt_store_writer_open(pt_store_writer **w, const char *dir, const char *split, uint64_t shard_bytes,
                         unsigned flags, pt_err *e);

/* Appends a copy of d (content and metadata are copied/written; d may be reused at once).
 * The input's pointers follow pt_doc's convention: NULL = absent, else exactly *_len bytes
 * (content may be NULL when content_len is 0). A metadata string of 2^32-1 bytes or more is
 * PT_ELIMIT. After any failure the writer is unusable: call pt_store_writer_abort. */
int pt_store_writer_add(pt_store_writer *w, const pt_doc *d, pt_err *e);

/* Counts so far (for progress reports). */
void pt_store_writer_stats(const pt_store_writer *w, pt_store_stats *st);

/* Finishes and commits the last shard and frees w (whatever happens). A split with no
 * documents has no shard files. On failure every shard this writer made is removed, as by
 * pt_store_writer_abort. st (may be NULL) receives the totals. */
int pt_store_writer_close(pt_store_writer *w, pt_store_stats *st, pt_err *e);

/* Removes the temporary file and every shard this writer committed, and frees w. NULL is
 * a no-op. */
void pt_store_writer_abort(pt_store_writer *w);

/* ---- reading ----------------------------------------------------------------------- */

typedef struct pt_store pt_store;

/* Opens every shard "<split>-NNNNN.pds" in dir, in numeric order (a gap in the numbering
 * is an error naming the missing file), maps and validates each (see the file comment);
 * any bad shard fails the open with PT_EFORMAT and a message naming the file and the fault.
 * Zero shards is an empty split, not an error (dir must exist). *s is owned by the caller
 * until pt_store_close. */
int pt_store_open(pt_store **s, const char *dir, const char *split, pt_err *e);

enum {
    /* Reads only the last document's NUL in each shard instead of every one, so opening does
     * not page in the content (which pt_store_open does on a cold cache: the byte after each
     * document). Reads stay inside the mapping; a corrupt NUL in the middle then makes a
     * document's C-string view run into the next ones (content_len stays right), and
     * pt_store_verify reports it. For `parrot corpus cat` and other reads of a few documents. */
    PT_STORE_OPEN_QUICK = 1u << 0,
};
/* pt_store_open with PT_STORE_OPEN_* flags. */
int pt_store_open_flags(pt_store **s, const char *dir, const char *split, unsigned flags, pt_err *e);

uint64_t pt_store_count(const pt_store *s);
uint64_t pt_store_content_bytes(const pt_store *s); /* sum of content_len */
uint32_t pt_store_shard_count(const pt_store *s);
/* Path of shard k (< shard_count) and its number of documents. Valid until close. */
const char *pt_store_shard_path(const pt_store *s, uint32_t k);
uint64_t pt_store_shard_docs(const pt_store *s, uint32_t k);

/* Document i (i < count) into *d: pointers into the mapping (see pt_doc), no allocation,
 * no failure. Thread-safe: any number of threads may call it concurrently. */
/* Rewrites exact_copies and near_copies of every document of a finished split in place
 * (and the index checksums), then fsyncs each shard: for a writer that learns the counts
 * only after the documents were written. fn is called with i = 0, 1, ... in split order.
 * The shards must not be open in a reader at the same time. */
typedef void (*pt_store_counts_fn)(void *ctx, uint64_t i, uint32_t *exact_copies, uint32_t *near_copies);
int pt_store_patch_counts(const char *dir, const char *split, pt_store_counts_fn fn, void *ctx, pt_err *e);

/* Drops shard k's pages, up to those of its document `before` (shard-local index;
 * UINT64_MAX or >= its count for the whole shard), from this process's resident memory.
 * They stay in the page cache and the mapping stays valid: a later access reads them
 * back. A sequential pass over a large store calls it behind itself so that resident
 * memory stays small however large the store is. */
void pt_store_shard_release(const pt_store *s, uint32_t k, uint64_t before);
void pt_store_get(const pt_store *s, uint64_t i, pt_doc *d);

/* Reads every shard's whole content section and checks its checksum (OpenMP over shards).
 * PT_EFORMAT naming the first bad file. Thread-safe with pt_store_get. */
int pt_store_verify(const pt_store *s, pt_err *e);

void pt_store_close(pt_store *s); /* NULL is a no-op */

/* ---- describing (for `parrot info PATH`) -------------------------------------------- */

/* 1 if the file at path starts with the shard magic (any version), else 0. */
int pt_store_is_shard_file(const char *path);

/* Appends a summary of path to out: a shard file (its header and sections), a directory
 * (every split with shards in it), or "DIR/SPLIT" naming a split. json != 0 writes one JSON
 * object (no trailing newline) instead of text. Headers, indexes and metadata are validated
 * as by pt_store_open (content NULs and checksum are not read); a bad shard is an error.
 * PT_EUSAGE when path holds no document shards. */
int pt_store_describe(const char *path, int json, pt_buf *out, pt_err *e);

#endif
