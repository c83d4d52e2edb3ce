/* bpe.h - byte-level BPE: the vocabulary, the ranked merges, and encoding text to ids.
 *
 * The model is GPT-2's (and Hugging Face's BPE with a ByteLevel pre-tokenizer, and
 * tiktoken's "gpt2"): text is cut into pieces by the GPT-2 regex (tok/pretok.h); each
 * piece starts as one token per byte, and adjacent tokens are merged by the ranked merge
 * list - always the pair of lowest rank, the leftmost of equal pairs - until no adjacent
 * pair has a merge. The ids of the remaining tokens are the piece's encoding.
 *
 * Tokens are held as their raw bytes. The files write them in GPT-2's printable alphabet
 * (bytes_to_unicode: byte 0x20 is "Ġ" U+0120, 0x0A is "Ċ", printable ASCII is itself);
 * pt_bpe_unmap converts. A vocabulary string that is not in that alphabet (an added token
 * such as "<pad> " with a real space) is kept with PT_BPE_TOKEN_TEXT: its bytes are its
 * UTF-8 text and BPE never produces it.
 *
 * Merges are pairs of token ids, ranked by their order; a merge makes the token whose bytes
 * are the two concatenated, which must be in the vocabulary (as Hugging Face requires). A
 * pair listed twice takes its later rank (as Hugging Face's map does). Encoding follows the
 * pairs, not "any split of a vocabulary string" as tiktoken's rank-by-token does; the two
 * agree on GPT-2's files (tests/unit/test_bpe.c compares with tiktoken's ids).
 *
 * Lifecycle: pt_bpe_new, then pt_bpe_add_token / pt_bpe_add_special / pt_bpe_add_merge
 * (loaders in tok/tokfile.h, later the trainer), then pt_bpe_finish, which checks that
 * every byte has its single-byte token, builds the merge table and computes the identity
 * hash. After finish the pt_bpe is immutable and any number of threads may encode with
 * it, each with its own pt_bpe_scratch.
 *
 * Speed (why the scratch): code repeats its pieces - indentation, keywords, identifiers -
 * so each scratch keeps a cache of piece -> ids (bounded, flushed whole when full); a piece
 * not in it is merged with a linear scan over its pairs when short, and with a heap of
 * candidate pairs over a linked list when long (O(m log m), so a megabyte run of '=' costs
 * no more than its size). pt_bpe_encode_piece_ref is the plain quadratic reference the
 * tests compare both paths with. Measured on one core over Python's standard library: about
 * 100 MB/s, 15 times tiktoken's encode_ordinary in the same run (docs/tokenizer.md).
 */
#ifndef PT_TOK_BPE_H
#define PT_TOK_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "base/status.h"

#define PT_BPE_NONE UINT32_MAX        /* "no id" */
#define PT_BPE_MAX_IDS (1u << 22)     /* ids are < this (real vocabularies: <= 262144) */
#define PT_BPE_MAX_TOKEN_BYTES 65535u /* the longest token */
#define PT_BPE_MAX_MERGES 1048575u    /* ranks fit 20 bits (real tokenizers: <= 300k merges) */

typedef struct pt_bpe pt_bpe;                 /* immutable after pt_bpe_finish: shareable */
typedef struct pt_bpe_scratch pt_bpe_scratch; /* one per thread */

enum {
    PT_BPE_TOKEN_TEXT = 1u,    /* bytes are literal text, not byte-level: BPE never makes it */
    PT_BPE_TOKEN_ADDED = 2u,   /* an added token (Hugging Face added_tokens) */
    PT_BPE_TOKEN_SPECIAL = 4u, /* an added token marked special (<|endoftext|>) */
};

typedef struct pt_bpe_options {
    /* Hugging Face ByteLevel add_prefix_space: text that does not start with U+0020 is
     * encoded as if it did (GPT-2 and CodeParrot: 0). */
    int add_prefix_space;
    /* Hugging Face BPE ignore_merges: a piece that is itself a byte-level token becomes
     * that one token without merging (GPT-2: 0). */
    int ignore_merges;
} pt_bpe_options;

/* ---- GPT-2's byte alphabet ----------------------------------------------------------- */

/* The code point that stands for byte b in token strings (bytes_to_unicode). */
uint32_t pt_bpe_byte_char(unsigned b);
/* Converts a token string s[0..n) (UTF-8) into raw bytes at out (room for n bytes): returns
 * the byte count, or -1 if a character is not one of the 256 (or s is not UTF-8). */
ptrdiff_t pt_bpe_unmap(const void *s, size_t n, unsigned char *out);
/* Writes bytes p[0..n) as a token string at out (room for 2 * n bytes + 1, NUL-terminated);
 * returns its length. */
size_t pt_bpe_map(const void *p, size_t n, char *out);

/* ---- building ------------------------------------------------------------------------ */

/* An empty tokenizer to build. NULL and PT_ENOMEM on failure. */
pt_bpe *pt_bpe_new(pt_err *e);
void pt_bpe_set_options(pt_bpe *t, const pt_bpe_options *o);
/* Gives id (< PT_BPE_MAX_IDS) the token bytes[0..n), n >= 1, flags 0 or PT_BPE_TOKEN_TEXT.
 * PT_EFORMAT when the id already has a token, or when a byte-level token with the same
 * bytes has another id; messages say which ids (loaders prefix the file). */
int pt_bpe_add_token(pt_bpe *t, uint32_t id, const void *bytes, size_t n, unsigned flags, pt_err *e);
/* Declares an added token: content[0..n) is its literal text. If id already has a token
 * its bytes must equal content (the usual case: <|endoftext|> is also in the vocabulary);
 * otherwise the token is created as PT_BPE_TOKEN_TEXT. Added tokens are never produced by
 * pt_bpe_encode, which encodes plain text (tiktoken's encode_ordinary). */
int pt_bpe_add_special(pt_bpe *t, uint32_t id, const void *content, size_t n, int special, pt_err *e);
/* Appends the merge of tokens left and right (rank = number of merges added before). Both
 * must be byte-level tokens and the concatenation of their bytes must be one. */
int pt_bpe_add_merge(pt_bpe *t, uint32_t left, uint32_t right, pt_err *e);
/* Ends building: PT_EFORMAT if a byte has no single-byte token. On failure t stays
 * unfinished; free it. */
int pt_bpe_finish(pt_bpe *t, pt_err *e);
void pt_bpe_free(pt_bpe *t); /* NULL is fine */

/* ---- reading (any time; thread-safe after finish) ---------------------------------------- */

/* The id of the byte-level token bytes[0..n), or PT_BPE_NONE. */
uint32_t pt_bpe_lookup(const pt_bpe *t, const void *bytes, size_t n);
/* Highest id + 1 (ids without a token may lie below it, as Hugging Face allows). */
uint32_t pt_bpe_vocab_size(const pt_bpe *t);
/* The bytes of token id and its length and PT_BPE_TOKEN_* flags (len, flags may be NULL);
 * NULL when no token has that id. Valid until pt_bpe_free. */
const unsigned char *pt_bpe_token(const pt_bpe *t, uint32_t id, size_t *len, unsigned *flags);
uint32_t pt_bpe_merge_count(const pt_bpe *t);
/* The merge of rank r: its left, right and result ids. 0, or -1 when r is out of range. */
int pt_bpe_merge(const pt_bpe *t, uint32_t r, uint32_t *left, uint32_t *right, uint32_t *merged);
pt_bpe_options pt_bpe_get_options(const pt_bpe *t);
/* The identity of the tokenizer, for provenance: a hash of the options, every token's id,
 * bytes and flags, and the merges in rank order - so the same tokenizer read from
 * tokenizer.json or from encoder.json + vocab.bpe has the same hash. Valid after finish. */
pt_hash128 pt_bpe_hash(const pt_bpe *t);

/* ---- encoding ------------------------------------------------------------------------ */

/* A scratch for one thread: work arrays and the piece cache (grows to a few MiB, then is
 * flushed). It may serve several tokenizers in turn (the cache is emptied when the
 * tokenizer changes). NULL on OOM. */
pt_bpe_scratch *pt_bpe_scratch_new(void);
void pt_bpe_scratch_free(pt_bpe_scratch *s); /* NULL is fine */

/* Encodes text[0..n) (UTF-8; invalid bytes are characters of their own, see pretok.h) as
 * plain text: no special tokens added or recognised, no truncation. Writes the first cap
 * ids to out (out may be NULL with cap 0 to only count) and returns the number of ids of
 * the whole text, like snprintf; (size_t)-1 if memory ran out. t must be finished. */
size_t pt_bpe_encode(const pt_bpe *t, const char *text, size_t n, uint32_t *out, size_t cap,
                     pt_bpe_scratch *s);
/* pt_bpe_encode(t, text, n, NULL, 0, s): the number of tokens of text. */
size_t pt_bpe_count(const pt_bpe *t, const char *text, size_t n, pt_bpe_scratch *s);
/* The BPE of one piece p[0..m) with no pre-tokenization (for the trainer and the tests);
 * same return convention (0 for m == 0). */
size_t pt_bpe_encode_piece(const pt_bpe *t, const void *p, size_t m, uint32_t *out, size_t cap,
                           pt_bpe_scratch *s);
/* The reference for pt_bpe_encode_piece: the plain quadratic loop with no cache; slow. */
size_t pt_bpe_encode_piece_ref(const pt_bpe *t, const void *p, size_t m, uint32_t *out, size_t cap);

#endif
