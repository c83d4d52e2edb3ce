/* trainer.h - the training loop of `parrot train`: GPT-2 from scratch (or from a checkpoint) on
 * packed token shards or a streamed corpus, with AdamW, the cosine schedule, evaluation,
 * checkpoints, exact resume and metric sinks.
 *
 * One step: grad_accum micro-batches of B windows of T tokens (forward, fused loss, backward,
 * gradients accumulated), the global gradient norm, clipping, the learning rate of the step,
 * AdamW. Then the sinks: a line for the caller (on_line), RUN/log.txt, RUN/metrics.jsonl and
 * TensorBoard events under RUN/tb. Evaluation every eval_every steps and at the end; a checkpoint
 * every save_every steps, at the end, and when *stop becomes non-zero (SIGINT/SIGTERM).
 *
 * Reproducibility: the same options, data, seed and thread count give bit-identical losses, and
 * a resumed run continues bit-identically (the checkpoint holds the weights, AdamW moments, the
 * step - from which the schedule follows - and the loader position; the loader's order is a pure
 * function of the seed). What changes the numbers: the thread count (the kernels' reduction
 * split), the kernel table, the batch shape, and a different build of the kernels.
 *
 * A non-finite loss or gradient norm stops the run with PT_EFORMAT naming the step, before the
 * update: no checkpoint is written from it, so the last good one stays the newest.
 *
 * Data parallelism (opts.dist with N ranks, `mpirun -np N parrot train`): every rank holds the
 * model and runs the same loop on its own share of the data (the loader's rank sharding), so the
 * global batch is N × B × grad_accum windows. After the last micro-batch of a step the gradients
 * are summed across ranks (each rank scales its loss by 1/(N·B·T·accum), so the sum is the mean
 * over the global batch); micro-batches before the last communicate nothing. The step's loss and
 * the stop request are summed in the same small all-reduce, so every rank takes the same
 * decision. Every rank then takes the same AdamW step on the same gradients: weights stay equal
 * without being sent. With zero = 1 (ZeRO-1), a reduce-scatter leaves each rank the summed
 * gradients of its own segment of the flat buffer, the rank keeps AdamW moments for that segment
 * only (1/N of them), updates it, and an all-gather sends the updated weights to every rank; the
 * gradient norm is assembled from per-chunk sums, so ZeRO-1 gives bit-identical weights to the
 * plain all-reduce. Rank 0 alone writes checkpoints (with the full moments, gathered: a
 * checkpoint resumes at any rank count whose per-rank batch divides the global batch),
 * metrics.jsonl, TensorBoard and RUN/log.txt; every rank with N > 1 writes RUN/log/rank-K.txt.
 * The single-process group makes every collective a no-op: one code path.
 */
#ifndef PT_TRAINER_H
#define PT_TRAINER_H

#include <signal.h>
#include <stdint.h>

#include "base/status.h"
#include "dist/dist.h"
#include "model/gpt2.h"
#include "train/optim.h"

typedef struct pt_train_opts {
    const char *data;                /* DATA folder from `parrot pack`; NULL in streaming mode */
    const char *const *stream;       /* streaming mode: corpus folders / JSON Lines / files */
    int nstream;
    const char *tokenizer;           /* streaming mode: the tokenizer */
    const char *model;               /* architecture name (ignored when resuming or --init-from) */
    pt_gpt2_config over;             /* fields > 0 override the named config */
    const char *out;                 /* RUN folder */
    pt_optim_cfg optim;              /* when resuming, only optim.max_steps > 0 counts (extends a run) */
    int batch_size, seq_len, grad_accum; /* seq_len 0: the model's positions */
    uint64_t seed;
    int threads;
    int64_t eval_every, max_eval_batches, save_every; /* 0: only at the end / all / only at the end */
    int keep_last;                   /* checkpoints kept (0: all) */
    const char *init_from;           /* CKPT: start from these weights (step 0, fresh optimizer) */
    int resume;                      /* continue from RUN's newest checkpoint */
    int recompute;                   /* gradient checkpointing */
    int dry_run;                     /* print the config and the memory plan, then return */
    const char *kernels;             /* "cpu" (default) or "ref" */
    double peak_flops;               /* for MFU; 0: estimated from the CPU (pt_train_peak_flops) */
    pt_dist *dist;                   /* the process group (dist/dist.h); NULL: a single process */
    int zero;                        /* 1: ZeRO-1, the AdamW moments and update sharded across the ranks */
    volatile int *stop;              /* set asynchronously to stop (checkpoint first); may be NULL */
    void (*on_line)(void *ctx, const char *line, int is_step, double fraction_done); /* what to show */
    void *ctx;
} pt_train_opts;

/* The defaults of `parrot train` (CodeParrot-small's recipe). */
pt_train_opts pt_train_defaults(void);

/* Runs the training described by o. PT_EINTR when stopped through *stop (after checkpointing). */
int pt_train_run(const pt_train_opts *o, pt_err *e);

/* The optimizer half of a step, on the gradients accumulated in m->grads: the global norm (*norm,
 * before clipping), clipping to c->grad_clip, the learning rate of step s (0-based; *lr), and AdamW
 * with moments mom/vel [m->nparams] at step count s + 1 (weight decay on the decayed tensors only).
 * A non-finite norm returns -1 and changes nothing. */
int pt_train_update(pt_gpt2 *m, float *mom, float *vel, const pt_optim_cfg *c, int64_t s, double *norm, double *lr);
/* AdamW on the segment [lo, hi) of the flat buffers only (ZeRO-1; pt_train_update is 0, nparams):
 * mom/vel hold that segment's moments [hi - lo]; norm is the whole gradient's, lr the step's. */
void pt_train_adamw(pt_gpt2 *m, float *mom, float *vel, size_t lo, size_t hi, const pt_optim_cfg *c, int64_t s,
                    double norm, double lr);

/* The fp32 FMA peak of `threads` cores of this CPU, for model FLOP utilization: one core's measured
 * (a few milliseconds of vector FMAs at the widest width this build uses) times threads. */
double pt_train_peak_flops(int threads);

#endif
