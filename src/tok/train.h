/* train.h - the byte-level BPE trainer: Hugging Face tokenizers' BpeTrainer, merge for merge.
 *
 * `parrot tokenizer train` must give the vocabulary and ordered merges that Hugging Face's
 * BpeTrainer gives for the same documents and settings (a BPE model with the ByteLevel
 * pre-tokenizer, add_prefix_space false, use_regex true; initial_alphabet the 256 byte
 * symbols; special tokens; min_frequency) - the CodeParrot tokenizer is made that way. So this
 * follows the Rust trainer's observable rules (read from tokenizers/src/models/bpe/trainer.rs
 * and word.rs; no code taken), quirks included:
 *   - words are the pre-tokenizer's pieces (tok/pretok.h), counted over all documents;
 *   - ids: the special tokens first (a repeated one once), then the 256 byte symbols sorted
 *     by the code point of their GPT-2 character (bytes_to_unicode), skipping one that a
 *     special token already spells, then one id per merge - except that a merge whose string
 *     is already in the vocabulary reuses that id (so the vocabulary may stop short of
 *     vocab_size when the pairs run out, and a vocab_size below specials + 256 gives exactly
 *     specials + 256);
 *   - each step takes the pair with the highest count, ties to the smaller (left id, right
 *     id); it stops when the vocabulary is full, when no pair is left, or when the best
 *     count is below min_frequency (or below 1);
 *   - the priority queue holds entries (count, pair, the words where it was seen), refreshed
 *     lazily: an entry whose count is stale is pushed back with the current count. A merge is
 *     applied only in the words of the entry popped, and the count of the merged pair itself
 *     is not lowered by its own merges; when a reused id makes a pair appear again it gets a
 *     second entry and is merged a second time (the saved file keeps its later rank, as
 *     Hugging Face's map of merges does). Replaying these rules exactly is what makes the
 *     merges identical on real code, where such reuse does happen.
 * Speed (why it is shaped this way): word counting runs on all threads, each with its own
 * open-addressing map (word bytes -> count) merged at the end; training then holds each
 * distinct word once as an array of symbol ids, a pair -> count map, the words of each
 * queue entry in one arena, and updates counts only in the words a merge touches - no
 * recount per merge. Measured (bench/bench_tok_train.sh, 2 cores, 121 MB of Debian's Python,
 * vocabulary 32768): about 1.9 s and 105 MB peak RSS for the whole command, against 40-60 s
 * and 390-600 MB for tokenizers' BpeTrainer in the same run, with identical output.
 *
 * Known limits of the match: counts here are 64-bit where the Rust trainer's pair counts are
 * i32 (they wrap there past 2^31 occurrences of a pair, i.e. on corpora of tens of GB); and
 * two queue entries for the same pair with the same count (possible only after a reused id)
 * are popped in an order the Rust heap leaves to its layout - neither was met on real code.
 *
 * Thread-safety: a trainer is used by one thread at a time (it runs its own threads inside).
 */
#ifndef PT_TOK_TRAIN_H
#define PT_TOK_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tok/bpe.h"

typedef struct pt_bpe_train_opts {
    uint32_t vocab_size;          /* target size, specials and alphabet included (> 0) */
    uint64_t min_frequency;       /* a pair seen fewer times is never merged (0 = no limit) */
    const char *const *specials;  /* special tokens in id order (UTF-8 text), may be NULL */
    size_t n_specials;
    int threads;                  /* word-counting threads (<= 0: 1) */
    const volatile int *cancel;   /* when non-NULL and set, work stops with PT_EINTR */
} pt_bpe_train_opts;

typedef struct pt_bpe_trainer pt_bpe_trainer;

typedef struct pt_bpe_train_stats {
    uint64_t docs, bytes;   /* documents and bytes fed */
    uint64_t pieces;        /* pre-tokenizer pieces (word occurrences) */
    uint64_t words;         /* distinct words */
    uint32_t merges;        /* merge steps taken (a pair merged twice counts twice) */
    uint32_t vocab;         /* final vocabulary size */
    double count_s, train_s; /* seconds spent counting words and merging */
} pt_bpe_train_stats;

/* A trainer with options *o (copied; the special strings too). NULL *tr and PT_EUSAGE for a
 * bad option (vocab_size 0, an empty special), PT_ENOMEM. */
int pt_bpe_trainer_new(pt_bpe_trainer **tr, const pt_bpe_train_opts *o, pt_err *e);

/* Counts the words of n documents texts[i][0..lens[i]) (any bytes; see pretok.h for invalid
 * UTF-8), spreading the documents over the trainer's threads. The texts are only read during
 * the call. May be called any number of times before pt_bpe_trainer_run. PT_ENOMEM, PT_EINTR. */
int pt_bpe_trainer_add(pt_bpe_trainer *tr, size_t n, const char *const *texts, const size_t *lens,
                       pt_err *e);

/* Learns the merges from the words counted so far and returns the tokenizer, finished (the
 * caller frees it): specials are added tokens marked special; merges are in rank order, a
 * pair merged twice appearing once at its later rank. Call once. PT_ENOMEM, PT_EINTR,
 * PT_EFORMAT if a special token collides with a learned byte-level token in a way the
 * tokenizer model cannot hold. */
int pt_bpe_trainer_run(pt_bpe_trainer *tr, pt_bpe **out, pt_err *e);

/* Figures so far (after run: all of them). */
void pt_bpe_trainer_stats(const pt_bpe_trainer *tr, pt_bpe_train_stats *st);

void pt_bpe_trainer_free(pt_bpe_trainer *tr); /* NULL is fine */

#endif
