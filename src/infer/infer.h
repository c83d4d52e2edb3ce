/* infer.h - GPT-2 inference with a KV cache: prefill a prompt, then decode a token at a time for a
 * batch of sequences together.
 *
 * The same weights and kernels as training (model/gpt2.h, model/kernels.h); what differs is that
 * each layer's keys and values are kept per sequence and position, so a new token costs one row
 * through the matrix products plus attention over the cache, instead of the whole sequence again.
 *
 * Rows: a forward pass takes any set of rows, each (sequence, position, token). A prefill is the
 * rows of one sequence's prompt; a decode step is one row for each of several sequences, so the
 * matrix products of a batch run as one [rows, C] product (the cheap way to decode many samples).
 * A row's keys and values are written to its sequence's cache at its position before attention,
 * and its query attends to positions 0..pos of that sequence: causal by construction.
 *
 * Memory, allocated once: the cache, L × S × P × 2C floats (gpt2 with 16 sequences of 1024: 1.2
 * GB), and scratch for max(P, S) rows. Forward passes never allocate. Not thread-safe (one caller);
 * the kernels use OpenMP inside.
 */
#ifndef PT_INFER_H
#define PT_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "model/gpt2.h"
#include "model/kernels.h"

typedef struct pt_infer pt_infer;

/* An inference engine for up to nseq sequences of the model's positions each. params (the flat
 * layout of gpt2.h) are borrowed: they must outlive the engine and not change while it runs. */
int pt_infer_new(pt_infer **out, const pt_gpt2_config *c, const float *params, const pt_kernels *k, int nseq,
                 pt_err *e);
void pt_infer_free(pt_infer *m); /* NULL is fine */

const pt_gpt2_config *pt_infer_config(const pt_infer *m);
int pt_infer_nseq(const pt_infer *m);

/* Empties sequence seq's cache (its next token goes to position 0). */
void pt_infer_reset(pt_infer *m, int seq);
/* Tokens already in sequence seq's cache. */
int pt_infer_len(const pt_infer *m, int seq);

/* Appends tok[0..n) to sequence seq (its positions len..len+n-1; len + n ≤ positions) and writes the
 * logits [V] of its last token to logits (may be NULL). n ≤ positions. */
void pt_infer_prefill(pt_infer *m, int seq, const uint32_t *tok, int n, float *logits);

/* Appends one token to each of the ns sequences seqs[i] (distinct, each below positions long) and
 * writes their logits to logits[ns, V]. */
void pt_infer_step(pt_infer *m, const int *seqs, const uint32_t *tok, int ns, float *logits);

#endif
