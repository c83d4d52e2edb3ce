/* loader.h - the training data loader: fixed-length windows of a token stream, shuffled,
 * split across ranks, resumable.
 *
 * Windows. The split is one token stream (documents joined by end-of-text, as `parrot pack`
 * writes it). Window w holds tokens [w*T, w*T + T] - T + 1 tokens: the inputs are the first
 * T, the next-token targets the last T, and consecutive windows share one token, so no
 * token is lost between them. Windows run across document boundaries; there is no padding
 * and no mask. W = floor((count - 1) / T) windows; the tail that does not fill one is
 * dropped (the book's ConstantLengthDataset does the same).
 *
 * Shuffling: a permutation of the window indices per epoch, not a shuffle buffer. Why:
 * (1) every window is seen exactly once per epoch, (2) the shards are memory-mapped, so
 * reading any window costs the same - there is nothing to gain from reading in stream
 * order, (3) the permutation is a pure function of (seed, epoch, position), so the order
 * is regenerated from three integers on resume, with no state to save. It is a keyed
 * Feistel network on the next even power of two >= W with cycle-walking (values >= W are
 * encrypted again until they fall below W): a bijection of [0, W) for any W, computed in
 * O(1) time (on average < 4 rounds of walking) and O(1) memory - no index array (a
 * Fisher-Yates array would cost 4-8 bytes per window: 8 MB for 2M windows; this costs 0).
 * Each epoch uses a new key (seed, epoch), so the order changes every epoch. With
 * shuffling off, the permutation is the identity: windows in stream order.
 *
 * Ranks and steps: the global batch is G = nranks * B. Step s of an epoch is the permuted
 * windows [s*G, s*G + G); rank r takes the B of them at [s*G + r*B, s*G + r*B + B). An
 * epoch has floor(W / G) steps; the last W mod G permuted positions of each epoch (fewer
 * than one global batch) are skipped - with shuffling they are different windows each
 * epoch, with shuffling off they are always the last windows of the stream. The global
 * order depends on G, never on nranks, so a position saved with N ranks of B can be
 * restored with N' ranks of B' whenever N*B == N'*B': the global batches are the same.
 *
 * Position: pt_loader_pos is a plain struct of fixed-width integers (save it in a
 * checkpoint as is, or field by field). It names the next batch (epoch, step) and what the
 * order depends on (seed, shuffle, T, G, window count, token count); restoring checks
 * the latter and says which one differs.
 *
 * Sources: the loader reads tokens through pt_loader_src (a count and a read callback), so
 * it does not depend on the shard format: pt_loader_src_tokens serves `parrot pack`'s shards
 * (data/tokens.h), pt_loader_src_mem an array (tests).
 *
 * Thread-safety: one loader or eval iterator per caller; the source's read must be safe
 * to call from the thread that calls next (memory-mapped shards are).
 */
#ifndef PT_DATA_LOADER_H
#define PT_DATA_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "data/tokens.h"
#include "tok/bpe.h"

/* A token stream: tokens [0, count). read(ctx, i, n, out) writes tokens [i, i+n) to out;
 * the loader only asks for ranges inside [0, count). id identifies the data (e.g. a hash
 * of the shards' headers; 0: unknown): a position saved from another id is refused. */
typedef struct pt_loader_src {
    uint64_t count;
    uint64_t id;
    void *ctx;
    void (*read)(void *ctx, uint64_t i, size_t n, uint32_t *out);
} pt_loader_src;

/* A source over tokens[0..n) (not copied: must outlive the loader). id = 0. */
pt_loader_src pt_loader_src_mem(const uint32_t *tokens, uint64_t n);

/* A source over an opened split of `parrot pack` shards (t must outlive the loader). Its id
 * is the split's content identity (pt_tokens_content_hash: the shards' verified checksums,
 * folded to 64 bits, never 0), so a position saved over other data - another corpus,
 * tokenizer or pack, even of exactly the same size - is refused. */
pt_loader_src pt_loader_src_tokens(const pt_tokens *t);

typedef struct pt_loader_opts {
    size_t B;          /* windows per batch on this rank */
    size_t T;          /* tokens per window (sequence length) */
    int rank, nranks;  /* this rank in [0, nranks); nranks 0 means 1 */
    uint64_t seed;
    int shuffle;       /* 0: windows in stream order */
} pt_loader_opts;

/* The saved position. Fixed-width fields only, no padding: it may be written to a file
 * as 64 bytes (little-endian hosts) or field by field. */
typedef struct pt_loader_pos {
    uint32_t version;     /* PT_LOADER_POS_VERSION */
    uint32_t shuffle;
    uint64_t epoch;       /* of the next batch */
    uint64_t step;        /* of the next batch, within its epoch */
    uint64_t seed;
    uint64_t T;
    uint64_t global_batch; /* nranks * B */
    uint64_t windows;
    uint64_t src_id;      /* the source's id */
} pt_loader_pos;
#define PT_LOADER_POS_VERSION 1u

typedef struct pt_loader pt_loader;

/* A loader over src (its ctx must outlive the loader) at epoch 0, step 0. PT_EUSAGE when B
 * or T is 0, rank is out of range, or the stream has fewer windows than one global batch
 * (the message gives the numbers). */
int pt_loader_new(pt_loader **out, const pt_loader_src *src, const pt_loader_opts *o, pt_err *e);
void pt_loader_free(pt_loader *L); /* NULL is fine */

uint64_t pt_loader_windows(const pt_loader *L);          /* W */
uint64_t pt_loader_steps_per_epoch(const pt_loader *L);  /* floor(W / G) */

/* The window index at permuted position k (< W) of an epoch (the identity without
 * shuffling). Pure: depends on (seed, epoch, W, shuffle) only. */
uint64_t pt_loader_window_at(const pt_loader *L, uint64_t epoch, uint64_t k);

/* This rank's next batch: inputs and targets, each (B, T), row-major, caller-owned (the
 * ids fit int32 for any vocabulary below 2^31, so the arrays may be read as int32). Then
 * advances one step, into the next epoch after the last step of one. If epoch_out is not
 * NULL it gets the epoch the batch belongs to. Never fails once created. */
void pt_loader_next(pt_loader *L, uint32_t *inputs, uint32_t *targets, uint64_t *epoch_out);

/* The position of the next batch. */
void pt_loader_pos_get(const pt_loader *L, pt_loader_pos *p);

/* Moves to p (from pt_loader_pos_get, possibly of a run with another rank count): the
 * following batches are those the saved run would have seen, the seed taken from p.
 * PT_EUSAGE (L unchanged) when p's version, T, global batch, window count, shuffle or
 * source id differ from L's, or its step is not inside an epoch; the message says which
 * and why the batches could not be the same. */
int pt_loader_pos_set(pt_loader *L, const pt_loader_pos *p, pt_err *e);

/* Evaluation: the windows of a split in stream order, once. With nranks > 1, rank r takes
 * windows r, r + N, r + 2N, ... (disjoint, together all W). */
typedef struct pt_loader_eval pt_loader_eval;

/* B, T, rank, nranks from o (seed and shuffle are ignored). PT_EUSAGE on bad B/T/rank.
 * A stream with no whole window gives an iterator that ends at once. */
int pt_loader_eval_new(pt_loader_eval **out, const pt_loader_src *src, const pt_loader_opts *o, pt_err *e);
void pt_loader_eval_free(pt_loader_eval *v); /* NULL is fine */

/* Fills up to B rows of inputs/targets (B, T) with the next windows and returns how many
 * (fewer than B only for the last batch); 0 once all are done. */
size_t pt_loader_eval_next(pt_loader_eval *v, uint32_t *inputs, uint32_t *targets);

/* Back to the first window (for the next evaluation). */
void pt_loader_eval_rewind(pt_loader_eval *v);

/* ---- streaming mode (no shards: `parrot train --stream`) -------------------------------
 *
 * The book's IterableDataset + ConstantLengthDataset: documents are read from corpus folders,
 * JSON Lines or files (corpus/textsrc.h) by a background thread, which gathers them into a
 * character buffer of about T x chars_per_token x num_sequences characters, encodes the
 * buffer's documents on `threads` threads (tok/encode_many.h), appends each document's ids and
 * end-of-text to one stream and cuts it into windows of T + 1 tokens exactly as above
 * (sharing one token; the tail of a pass over the inputs carries into the next pass, or is
 * dropped at the end). Windows go through a bounded queue to the caller, and through a
 * seeded shuffle of shuffle_windows windows: blocks of that many consecutive windows (of this
 * rank), each returned in a permutation keyed by (seed, block number). A permutation of the
 * whole stream is not possible without knowing W in advance; why blocks rather than the book's
 * draw-at-random shuffle buffer: a block's content is fixed by where it starts, so the
 * position is a few integers (below) - a shuffle buffer's content depends on the whole
 * history and would have to be saved window by window. With N ranks, rank r takes windows
 * r, r+N, ... of the stream (each rank reads and encodes all of it: simple, not economical).
 *
 * The order is deterministic for a seed (the producer's order does not depend on timing).
 *
 * Position: pt_loader_stream_pos (64 bytes, like pt_loader_pos) names where the current
 * block's first window starts - pass over the inputs, document ordinal in the pass, token
 * offset in the document - and how many windows this rank has returned. Resuming
 * (opts.resume) reads the inputs from their start but encodes nothing before that document
 * (a corpus folder is skipped at memory speed, JSON Lines at parsing/decompression speed),
 * re-encodes from there the current block (at most nranks x shuffle_windows windows of
 * T + 1 tokens) and skips its windows already returned: the windows that follow are exactly
 * those of the uninterrupted run. The inputs are identified by the tokenizer's hash, the
 * end-of-text id, the split and the inputs' paths (not their content: changed files behind
 * the same paths are not detected, beyond a document ordinal past their end). */
typedef struct pt_loader_stream_opts {
    const char *const *inputs; /* textsrc inputs */
    int ninputs;
    const char *split;         /* of corpus folders (NULL: "train") */
    const pt_bpe *tok;         /* finished; must outlive the stream */
    uint32_t eot;              /* the end-of-text id appended after each document */
    int threads;               /* encoder threads (<= 0: 1) */
    size_t B, T;
    int rank, nranks;
    uint64_t seed;
    size_t shuffle_windows;    /* 0: no shuffle buffer (stream order) */
    double chars_per_token;    /* 0: 3.6 (the book's measured value) */
    size_t num_sequences;      /* 0: 1024 */
    int infinite;              /* at the end of the inputs start them again */
    const struct pt_loader_stream_pos *resume; /* NULL: from the start; else a saved position */
} pt_loader_stream_opts;

/* A streaming position. Fixed-width fields, no padding: 64 bytes (little-endian hosts may
 * save it as is). */
typedef struct pt_loader_stream_pos {
    uint32_t version;         /* PT_LOADER_STREAM_POS_VERSION */
    uint32_t T;
    uint64_t seed;
    uint32_t shuffle_windows;
    uint16_t rank, nranks;
    uint64_t pass;            /* the current block's first window starts in this pass, */
    uint64_t doc;             /* document (ordinal in the pass; UINT64_MAX: a finite stream that ended) */
    uint64_t offset;          /* and token (ids then end-of-text) of that document */
    uint64_t yielded;         /* windows this rank has returned */
    uint64_t id;              /* the inputs' identity (tokenizer, end-of-text, split, paths) */
} pt_loader_stream_pos;
#define PT_LOADER_STREAM_POS_VERSION 1u

typedef struct pt_loader_stream pt_loader_stream;

/* Starts the background thread. PT_EUSAGE on bad options, or a resume position whose T, rank,
 * rank count, shuffle_windows or inputs' identity differ (the message says which and why);
 * the seed is taken from the position. Read errors come from _next. */
int pt_loader_stream_new(pt_loader_stream **out, const pt_loader_stream_opts *o, pt_err *e);
/* Stops the thread (between batches of documents) and frees. NULL is fine. */
void pt_loader_stream_free(pt_loader_stream *s);
/* Fills up to B rows of inputs/targets (B, T); *rows gets how many (fewer than B only at the
 * end of a finite stream, then 0). An input that could not be read, or an encoder failure, is
 * returned here (once the windows before it are delivered). Not thread-safe. */
int pt_loader_stream_next(pt_loader_stream *s, uint32_t *inputs, uint32_t *targets, size_t *rows, pt_err *e);
/* The position of the next window (between calls to _next; for a checkpoint). When the current
 * block is used up this waits for the next block's first window (which names the position). The
 * stream's error, if it failed there. Not thread-safe (the caller of _next). */
int pt_loader_stream_pos_get(pt_loader_stream *s, pt_loader_stream_pos *p, pt_err *e);

#endif
