/* encode_many.h - encoding many documents across threads, for the stages after the tokenizer.
 *
 * A pt_bpe_many holds one pt_bpe_scratch per thread (each with its piece cache, bpe.h), so
 * calling it batch after batch over a stream of documents keeps the caches warm: code
 * repeats its pieces across files. Each call takes a batch of documents, encodes them with
 * OpenMP threads (dynamic schedule: one long file does not hold up the rest) and returns
 * their ids in input order, whatever the thread count (the result never depends on it).
 *
 * Memory (why one flat array): the number of ids of a text never exceeds its byte count
 * (every token, added tokens included, is at least one byte; add_prefix_space adds at most
 * one space per segment), so document i is encoded straight into a slot of that bound in one array and the slots are then packed in
 * order - no per-document allocation, no second pass to count. A batch therefore needs
 * 4 bytes per input byte at its peak (before the packing frees nothing: size batches
 * accordingly; the CLI uses 16 MiB).
 *
 * Special tokens: with PT_BPE_MANY_SPECIAL, the literal text of every added token
 * (<|endoftext|>, PT_BPE_TOKEN_ADDED in bpe.h) is recognised in the documents and becomes
 * its id - leftmost first, the longest at equal starts, as Hugging Face's added-token
 * matching and tiktoken's allowed_special="all" do; the text between is encoded as plain
 * text. Without it the documents are plain text (tiktoken's encode_ordinary).
 *
 * Thread-safety: one pt_bpe_many is used by one caller at a time; it may share its pt_bpe
 * with any number of other encoders.
 */
#ifndef PT_TOK_ENCODE_MANY_H
#define PT_TOK_ENCODE_MANY_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/bpe.h"

enum { PT_BPE_MANY_SPECIAL = 1u };

typedef struct pt_bpe_many pt_bpe_many;

/* One document: text[0..len) (UTF-8, need not be valid). */
typedef struct pt_bpe_text {
    const char *text;
    size_t len;
} pt_bpe_text;

/* The ids of a batch: document i has ids[off[i] .. off[i+1]). Owned by the caller, reused
 * across calls (it grows), freed with pt_bpe_ids_free. */
typedef struct pt_bpe_ids {
    uint32_t *ids;
    size_t *off; /* n + 1 entries */
    size_t n;    /* documents */
    size_t cap_ids, cap_off;
} pt_bpe_ids;
void pt_bpe_ids_free(pt_bpe_ids *r);

/* An encoder of batches for t (finished; must outlive it) on `threads` threads (<= 0: one).
 * NULL and e filled on failure. */
pt_bpe_many *pt_bpe_many_new(const pt_bpe *t, int threads, unsigned flags, pt_err *e);
void pt_bpe_many_free(pt_bpe_many *m); /* NULL is fine */

/* Encodes docs[0..n) into *out (replacing what it held). PT_ENOMEM on failure (out then
 * holds no documents). */
int pt_bpe_many_encode(pt_bpe_many *m, const pt_bpe_text *docs, size_t n, pt_bpe_ids *out, pt_err *e);

/* The most ids a document of len bytes can have: len (every token is at least one byte),
 * plus what add_prefix_space adds (one space per segment of plain text). */
size_t pt_bpe_many_max_ids(const pt_bpe_many *m, size_t len);

/* One document on the calling thread with m's first scratch (the same rules, flags
 * included). Returns the id count (capped writes as pt_bpe_encode; cap >=
 * pt_bpe_many_max_ids(m, len) always suffices), or (size_t)-1 when memory ran out. */
size_t pt_bpe_many_encode_one(pt_bpe_many *m, const char *text, size_t len, uint32_t *out, size_t cap);

/* Byte offsets at which text[0..len) may be cut into parts that encode independently to
 * the same ids as the whole: after a '\n' that has an ASCII non-space byte on each side
 * (that '\n' is a piece of its own, the next piece starts after it, in the whole as in the
 * part). Writes up to max cuts, each about `target` bytes after the
 * previous, to cuts[] and returns their count. For parallel encoding of one big text. */
size_t pt_bpe_safe_cuts(const char *text, size_t len, size_t target, size_t *cuts, size_t max);

#endif
