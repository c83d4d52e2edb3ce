/* metrics.h - how well a tokenizer fits a text: the measures of "NLP with Transformers",
 * chapter 10 ("Training Transformers from Scratch", on the CodeParrot tokenizer).
 *
 * A tokenizer trained on prose splits code badly: indentation runs, identifiers and
 * operators become many short tokens, and a model pays for every token. The chapter judges
 * a tokenizer by:
 *   - subword fertility: tokens per word, and the proportion of continued words (words
 *     split into two or more tokens);
 *   - coverage: the share of unknown tokens, and of rare tokens (ids seen fewer than N
 *     times in the evaluated text);
 *   - characters per token (code points / tokens: the `chars_per_token` of CodeParrot's
 *     filter) and tokens per file;
 *   - whether Python's keywords and builtins are single tokens.
 *
 * A "word" in code (docs/tokenizer.md, "Metrics"): a GPT-2 pre-token (tok/pretok.h) that
 * holds a letter (\p{L}) or a number (\p{N}) - a run of letters (" self", "foo"), of numbers
 * (" 42"), or a contraction ("'s") - with its leading U+0020 removed. Punctuation runs and
 * white space are not words. The tokens of a word are the tokens BPE gives its pre-token
 * (BPE never merges across pre-tokens, so they are exactly the text's tokens there), less a
 * first token that is the removed space alone (a tokenizer that never merged "Ġ" with the
 * word does not split the word by that).
 *
 * Unknown tokens: byte-level BPE has a token for every byte (pt_bpe_finish checks it), so
 * every text encodes without one: the count is 0 by construction, reported as such.
 *
 * Characters are code points of the UTF-8 text; each byte that does not start a well-formed
 * sequence counts as one character (as Python's decode with errors="surrogateescape", and
 * as the pre-tokenizer treats it).
 *
 * Threads: an accumulator has `nslots` independent partial sums (token counts, an id
 * histogram of vocabulary size, the token count of each document); threads add documents
 * each to its own slot, concurrently, with its own pt_bpe_scratch, and pt_tokm_result sums
 * the slots. The result does not depend on how documents were spread over the slots.
 */
#ifndef PT_TOK_METRICS_H
#define PT_TOK_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/bpe.h"

/* Python 3.11's keyword.kwlist (35 words). */
#define PT_TOKM_NKEYWORDS 35
extern const char *const pt_tokm_keywords[PT_TOKM_NKEYWORDS];
/* Python 3.11's builtins that are functions or types, exceptions and warnings left out
 * (69 names; see metrics.c for how the list was made). */
#define PT_TOKM_NBUILTINS 69
extern const char *const pt_tokm_builtins[PT_TOKM_NBUILTINS];

typedef struct pt_tokm_result {
    uint64_t docs, bytes, chars, tokens;
    uint64_t words;           /* pre-tokens with a letter or number */
    uint64_t word_tokens;     /* their tokens (less a lone leading-space token) */
    uint64_t continued_words; /* words of 2+ tokens */
    uint64_t unknown;         /* 0: byte-level BPE has no unknown token */
    uint64_t vocab_size;      /* pt_bpe_vocab_size */
    uint64_t vocab_used;      /* distinct ids in the text */
    uint64_t rare_min;        /* N: an id is rare when seen 1..N-1 times */
    uint64_t rare_tokens;     /* occurrences of rare ids */
    uint64_t rare_ids;        /* distinct rare ids */
    double fertility;         /* word_tokens / words */
    double continued_share;   /* continued_words / words */
    double unknown_share;     /* unknown / tokens */
    double rare_token_share;  /* rare_tokens / tokens */
    double rare_vocab_share;  /* rare_ids / vocab_used */
    double chars_per_token;   /* chars / tokens */
    double tokens_per_doc_mean, tokens_per_doc_median; /* median: mean of the middle two when even */
    /* Single-token checks, 1 if the word encodes to exactly one token: with a space in front
     * (" def", as mid-line and after indentation) and bare ("def", as at a line start). */
    uint8_t keyword_single_sp[PT_TOKM_NKEYWORDS], keyword_single_bare[PT_TOKM_NKEYWORDS];
    uint8_t builtin_single_sp[PT_TOKM_NBUILTINS], builtin_single_bare[PT_TOKM_NBUILTINS];
    int keywords_single_sp, keywords_single_bare, builtins_single_sp, builtins_single_bare;
} pt_tokm_result;

typedef struct pt_tokm pt_tokm;

/* An accumulator for tokenizer t (finished; it must outlive the accumulator) with nslots
 * (>= 1) partial sums. NULL *m and PT_ENOMEM on failure. */
int pt_tokm_new(pt_tokm **m, const pt_bpe *t, int nslots, pt_err *e);
/* Adds one document text[0..n) (any bytes) to slot (< nslots), encoding with scratch s.
 * Calls on different slots may run concurrently; one slot is one thread's at a time.
 * PT_ENOMEM on failure (the slot's sums then are incomplete). */
int pt_tokm_add(pt_tokm *m, int slot, const char *text, size_t n, pt_bpe_scratch *s, pt_err *e);
/* Sums the slots into *r with rare threshold rare_min, and runs the keyword checks with
 * scratch s. Call when no pt_tokm_add is running; may be called again after more adds. */
int pt_tokm_result_get(pt_tokm *m, uint64_t rare_min, pt_bpe_scratch *s, pt_tokm_result *r, pt_err *e);
void pt_tokm_free(pt_tokm *m); /* NULL is fine */

/* The words of text[0..n), for tests and tools: calls fn for each word pre-token with its
 * byte range [start, end) (leading space removed). */
void pt_tokm_words(const char *text, size_t n, void (*fn)(void *ctx, size_t start, size_t end), void *ctx);

#endif
