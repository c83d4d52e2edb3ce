/* gpt2.h - GPT-2 (Hugging Face's GPT2LMHeadModel): config, parameter layout, init, forward, backward.
 *
 * One model description for every backend: the orchestration here calls kernels only through a
 * pt_kernels table (kernels.h), so the reference kernels, the fast CPU kernels and later the CUDA
 * kernels run the same code path, and a checkpoint moves between them.
 *
 * Memory: everything is allocated once, in pt_gpt2_create, for a maximum batch shape B×T; forward
 * and backward never allocate. Parameters live in ONE flat fp32 buffer (the order below), and the
 * gradients use the same layout, so the optimizer, gradient clipping and (later) the all-reduce see
 * one vector. Tensors, with weights stored [out, in] and layers stacked:
 *
 *   wte [V,C]  wpe [P,C]  ln1w [L,C]  ln1b [L,C]  qkvw [L,3C,C]  qkvb [L,3C]  attprojw [L,C,C]
 *   attprojb [L,C]  ln2w [L,C]  ln2b [L,C]  fcw [L,4C,C]  fcb [L,4C]  fcprojw [L,C,4C]  fcprojb [L,C]
 *   lnfw [C]  lnfb [C]
 *
 * The output layer is tied to wte (counted once), as GPT-2's. No dropout: the config fields of the
 * HF model that matter for pretraining from scratch are the ones in pt_gpt2_config.
 *
 * The loss is computed in the forward pass with the classifier fused: logits are produced a chunk
 * of rows at a time, turned into losses and (when training) into their gradient at once, and pushed
 * back through the tied embedding, so the [B·T, V] logits never exist in full (2.5 GB for gpt2 at
 * B=12, T=1024). pt_gpt2_logits gives the full logits when a caller wants them (tests, generation).
 *
 * With recompute on (gradient checkpointing), only each layer's input (the residual stream) is
 * kept; the backward recomputes one layer's activations at a time into a single layer's buffers.
 */
#ifndef PT_GPT2_H
#define PT_GPT2_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "model/kernels.h"

typedef struct pt_gpt2_config {
    int n_layer, n_embd, n_head, n_positions, vocab_size;
    int scale_attn_by_inverse_layer_idx; /* scores further divided by (layer index + 1) */
    int reorder_and_upcast_attn;         /* HF's fp16 precision option; attention is fp32 here anyway */
} pt_gpt2_config;

/* Fill *c with a named architecture: tiny (4/256/4, 256 positions), mini (6/384/6, 512), gpt2
 * (12/768/12, 1024), gpt2-medium (24/1024/16), gpt2-large (36/1280/20), gpt2-xl (48/1600/25).
 * vocab_size is left 0 (it comes from the data). PT_EUSAGE naming the known ones otherwise. */
int pt_gpt2_config_named(pt_gpt2_config *c, const char *name, pt_err *e);
/* Check a resolved config (positive sizes, n_embd divisible by n_head, vocabulary set). */
int pt_gpt2_config_check(const pt_gpt2_config *c, pt_err *e);

enum {
    PT_GPT2_WTE, PT_GPT2_WPE, PT_GPT2_LN1W, PT_GPT2_LN1B, PT_GPT2_QKVW, PT_GPT2_QKVB, PT_GPT2_ATTPROJW,
    PT_GPT2_ATTPROJB, PT_GPT2_LN2W, PT_GPT2_LN2B, PT_GPT2_FCW, PT_GPT2_FCB, PT_GPT2_FCPROJW, PT_GPT2_FCPROJB,
    PT_GPT2_LNFW, PT_GPT2_LNFB, PT_GPT2_NTENSORS
};

typedef struct pt_gpt2_tensor {
    const char *name;  /* "wte", "qkvw", ... */
    size_t offset;     /* in floats, into the flat buffer */
    size_t numel;      /* all layers together */
    int ndim, shape[3];
    int decay;         /* 1: weight decay applies (matrices and embeddings), 0: biases and LayerNorm */
} pt_gpt2_tensor;

/* The layout of the flat parameter buffer for a config; returns the parameter count. */
size_t pt_gpt2_layout(const pt_gpt2_config *c, pt_gpt2_tensor t[PT_GPT2_NTENSORS]);

/* Floating-point operations of one training step per token, the usual 6·N + 12·L·T·C (N counting
 * the tied embedding once; recomputation not counted), for model FLOP utilization. */
double pt_gpt2_flops_per_token(const pt_gpt2_config *c, int T);

enum { PT_GPT2_TRAIN = 1, PT_GPT2_RECOMPUTE = 2 };

/* Bytes the model allocates for a batch shape (the trainer adds the optimizer's state). */
typedef struct pt_gpt2_plan {
    size_t params, grads, acts, act_grads, logits, total;
} pt_gpt2_plan;
void pt_gpt2_plan_bytes(const pt_gpt2_config *c, int B, int T, int flags, pt_gpt2_plan *p);

typedef struct pt_gpt2 {
    pt_gpt2_config cfg;
    const pt_kernels *k;
    int B, T, flags;          /* the allocated maximum batch shape; PT_GPT2_TRAIN|RECOMPUTE */
    size_t nparams;
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    float *params;            /* [nparams] */
    float *grads;             /* [nparams], NULL unless TRAIN */
    float mean_loss;          /* of the last forward with targets */
    int cur_B, cur_T;         /* shape of the last forward */
    struct pt_gpt2_acts *a;   /* activations and scratch (gpt2.c) */
} pt_gpt2;

/* Allocate a model for batches up to B×T (T ≤ n_positions). Parameters are zero until pt_gpt2_init
 * or a load. Returns PT_ENOMEM with the byte count if memory is short. */
int pt_gpt2_create(pt_gpt2 **m, const pt_gpt2_config *c, const pt_kernels *k, int B, int T, int flags,
                   pt_err *e);
void pt_gpt2_free(pt_gpt2 *m);

/* GPT-2's initialization, seeded and independent of the thread count: weights normal(0, 0.02),
 * residual output projections (attprojw, fcprojw) normal(0, 0.02/√(2L)), biases 0, LayerNorm weights 1. */
void pt_gpt2_init(pt_gpt2 *m, uint64_t seed);

/* Forward over tokens in[B,T] (ids < V). With targets tgt[B,T], returns the mean cross-entropy in
 * *loss (and m->mean_loss); per-position losses are not kept. When training (m has grads and
 * loss_scale > 0), the classifier's gradient with respect to the logits, scaled by loss_scale
 * (1/(B·T) for a mean, divided by the accumulation count), is pushed into the wte gradient and the
 * final LayerNorm's output gradient right away; pt_gpt2_backward completes the pass. loss_scale 0:
 * evaluation only. B ≤ m->B, T ≤ m->T. */
void pt_gpt2_forward(pt_gpt2 *m, const int32_t *in, const int32_t *tgt, int B, int T, float loss_scale,
                     float *loss);
/* Backward of the last training forward; ACCUMULATES into m->grads (zero them between optimizer
 * steps with pt_gpt2_zero_grad). */
void pt_gpt2_backward(pt_gpt2 *m);
void pt_gpt2_zero_grad(pt_gpt2 *m);

/* Full logits[B,T,V] for in[B,T] (tests, generation). */
void pt_gpt2_logits(pt_gpt2 *m, const int32_t *in, int B, int T, float *logits);

#endif
