/* tokens.h - token shards: the packed, tokenized training data, memory-mapped.
 *
 * `parrot pack` encodes a corpus's splits with a tokenizer into one long stream of ids per
 * split (each document followed by the end-of-text id) and writes it as shard files
 * "<split>-NNNNN.tok" in one data directory; the training loader reads the stream back by
 * global token position without holding it in memory.
 *
 * Why this shape (the byte layout is in docs/formats.md, "Token shards"):
 * - Narrow ids. A vocabulary of at most 65536 ids is stored as u16 (half the bytes and half
 *   the page-cache footprint of u32), larger ones as u32; little-endian, so a shard is
 *   portable and the reader on x86/ARM uses the bytes in place.
 * - A fixed 128-byte header at offset 0, written last (the writer streams the tokens first,
 *   buffers only the small document index, and patches the header at close), and the file
 *   only gets its final name at commit (pt_afile), so a shard with a valid header was
 *   finished.
 * - Checked on open. The header (magic, version, header checksum, token width against the
 *   vocabulary size, section sizes against the real file size - a truncated file says how
 *   many bytes are missing) and the document index (checksum, monotone, in bounds) are
 *   validated, and the token section's checksum too (one read of the data: a shard is a few
 *   hundred MB at most and is read once per epoch anyway). Every id is checked < vocab size,
 *   so pt_tokens_get never returns an id the embedding table does not have.
 * - The whole split is one stream: global positions run over the shards in numeric order;
 *   a lookup is a binary search over the per-shard cumulative counts.
 */
#ifndef PT_DATA_TOKENS_H
#define PT_DATA_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "base/status.h"

/* Format constants (docs/formats.md, "Token shards"). */
#define PT_TOKENS_MAGIC "PTTOKENS"  /* 8 bytes at offset 0 */
#define PT_TOKENS_VERSION 1u
#define PT_TOKENS_HEADER_SIZE 128u
#define PT_TOKENS_EXT ".tok"
#define PT_TOKENS_HASH_SEED 0x70746f6b656e73ull /* "ptokens": the seed of every checksum (base/hash.h) */

/* ---- reading ----------------------------------------------------------------------- */

typedef struct pt_tokens pt_tokens;   /* one split, all its shards, memory-mapped */

/* Opens every shard "<split>-NNNNN.tok" of data_dir in numeric order (a gap is an error naming
 * the missing file), maps and validates each (see the file comment; every fault is PT_EFORMAT
 * with a message naming the file), and checks that all shards agree on vocabulary size,
 * end-of-text id and tokenizer hash. A split with no shard is PT_EIO ("no shards"). *t is owned
 * by the caller until pt_tokens_close. The opened object is read-only: any number of threads may
 * call the accessors below at once. */
int pt_tokens_open(pt_tokens **t, const char *data_dir, const char *split, pt_err *e);
uint64_t pt_tokens_count(const pt_tokens *t);          /* tokens in the split (all shards, stream order) */
uint32_t pt_tokens_get(const pt_tokens *t, uint64_t i); /* token i of the stream */
/* copies tokens [i, i+n) of the stream into out (crossing shard boundaries); i + n <= count */
void pt_tokens_read(const pt_tokens *t, uint64_t i, size_t n, uint32_t *out);
uint32_t pt_tokens_vocab_size(const pt_tokens *t);
uint32_t pt_tokens_eot(const pt_tokens *t);
uint64_t pt_tokens_docs(const pt_tokens *t);
void pt_tokens_close(pt_tokens *t);

/* The tokenizer hash recorded in the shards (pt_bpe_hash of the tokenizer that made them). */
pt_hash128 pt_tokens_tokenizer_hash(const pt_tokens *t);
/* The split's content identity: a hash of every shard's token-section and document-index
 * checksums (read from the headers, verified by pt_tokens_open), in shard order, with each
 * shard's width, vocabulary, end-of-text id, counts and tokenizer hash. Equal for the same
 * tokens cut into the same documents and shards; different data of the same size differs.
 * O(shards): no pass over the tokens. */
pt_hash128 pt_tokens_content_hash(const pt_tokens *t);
/* Checks that a tokenizer of vocab_size ids can read this split: every shard's recorded
 * vocabulary must equal it (a different tokenizer's ids mean other strings) - PT_EFORMAT naming
 * the first shard that differs otherwise. */
int pt_tokens_check_vocab(const pt_tokens *t, uint32_t vocab_size, pt_err *e);

/* Shard facts (for `parrot pack --inspect`). k < pt_tokens_shard_count(t); valid until close. */
typedef struct pt_tokens_shard_info {
    const char *path;
    uint32_t version, width; /* width: 2 or 4 bytes per id */
    uint32_t vocab_size, eot;
    uint64_t tokens, docs, file_size;
    pt_hash128 tokenizer_hash;
    pt_hash128 tokens_hash; /* the token section's checksum (verified on open) */
} pt_tokens_shard_info;
uint32_t pt_tokens_shard_count(const pt_tokens *t);
void pt_tokens_shard(const pt_tokens *t, uint32_t k, pt_tokens_shard_info *info);
/* Start of document d (< pt_tokens_docs) in stream positions; document d runs to the next one's
 * start (or the count), its end-of-text id included. */
uint64_t pt_tokens_doc_start(const pt_tokens *t, uint64_t d);

/* Validates one shard held in memory (the header, index and tokens, as pt_tokens_open does for
 * each file); `name` is used in messages. For the fuzz target and tests. */
int pt_tokens_check_buffer(const unsigned char *p, size_t n, const char *name, pt_err *e);

/* ---- writing ----------------------------------------------------------------------- */

typedef struct pt_tokens_writer pt_tokens_writer;

/* Starts writing split `split` into directory dir (created if missing), for a tokenizer of
 * vocab_size ids (ids must be < vocab_size; width is 2 bytes when vocab_size <= 65536, else 4),
 * end-of-text id eot, tokenizer hash th. A new shard starts at a document boundary once the
 * current one holds at least shard_tokens tokens (0 = the default, 2^28); a document is never
 * split across shards. Existing shards of this split in dir: PT_EEXIST. Not thread-safe (one
 * thread at a time, which need not be the one that opened it). The writer asks the kernel to
 * start writing back every 8 MB as it goes (sync_file_range), so that the fsync of each shard's
 * commit does not stall on the whole shard at once. */
int pt_tokens_writer_open(pt_tokens_writer **w, const char *dir, const char *split, uint32_t vocab_size,
                          uint32_t eot, pt_hash128 th, uint64_t shard_tokens, pt_err *e);
/* Appends one document: ids[0..n) (the caller includes the end-of-text id if wanted). An id >=
 * vocab_size is PT_EUSAGE. After a failure the writer is unusable: call _abort. */
int pt_tokens_writer_add(pt_tokens_writer *w, const uint32_t *ids, size_t n, pt_err *e);
/* pt_tokens_writer_add of ids[0..n) followed by the writer's end-of-text id (one document),
 * without the caller copying the ids to append it. */
int pt_tokens_writer_add_eot(pt_tokens_writer *w, const uint32_t *ids, size_t n, pt_err *e);
/* Finishes and commits the last shard and frees w (whatever happens). A split with no
 * documents still gets one (empty) shard so that it can be opened. On failure the shards this
 * writer made are removed. shards/tokens/docs (each may be NULL) receive the totals. */
int pt_tokens_writer_close(pt_tokens_writer *w, uint32_t *shards, uint64_t *tokens, uint64_t *docs, pt_err *e);
/* Removes the temporary file and every shard this writer committed, and frees w. NULL is fine. */
void pt_tokens_writer_abort(pt_tokens_writer *w);

#endif
