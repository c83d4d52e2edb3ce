/* optim.h - AdamW, the learning-rate schedule and gradient clipping, as CodeParrot trains.
 *
 * Semantics are torch's and Hugging Face's exactly, so runs compare with the PyTorch recipe:
 * - Schedule: HF get_scheduler("cosine"): lr(s) = min_lr + (lr - min_lr)·f(s) for the optimizer
 *   step s (0-based), f(s) = s / warmup during warm-up (so step 0 runs at min_lr), then
 *   0.5·(1 + cos(π·(s - warmup)/(max_steps - warmup))), never below 0.
 * - Clipping: torch.nn.utils.clip_grad_norm_: coef = max_norm / (‖g‖ + 1e-6), applied when < 1.
 * - AdamW: torch.optim.AdamW: decoupled decay p -= lr·wd·p on the decayed tensors, then Adam with
 *   bias correction, eps added to the corrected √v.
 *
 * Deterministic at a fixed thread count: the norm sums fixed-size chunks in double and adds the
 * chunk sums in order, so it is even the same at ANY thread count.
 */
#ifndef PT_OPTIM_H
#define PT_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct pt_optim_cfg {
    double lr, min_lr, beta1, beta2, eps, weight_decay, grad_clip; /* grad_clip <= 0: off */
    int64_t warmup_steps, max_steps;
} pt_optim_cfg;

/* CodeParrot-small's recipe: lr 5e-4, min_lr 0, betas 0.9/0.999, eps 1e-8, weight decay 0.1,
 * clip 1.0, warm-up 2000, 150000 steps. */
pt_optim_cfg pt_optim_defaults(void);

/* The learning rate of optimizer step s (0-based). */
double pt_optim_lr(const pt_optim_cfg *c, int64_t s);

/* L2 norm of g[n]: squared sums of chunks of PT_OPTIM_NORM_CHUNK elements in double, added in
 * chunk order. */
#define PT_OPTIM_NORM_CHUNK ((size_t)1 << 16)
double pt_optim_norm(const float *g, size_t n);
/* The same norm from pieces (data parallelism with sharded gradients): sums[c - lo/CHUNK] gets the
 * squared sum of g's chunk c for the chunks in [lo, hi) (lo a multiple of PT_OPTIM_NORM_CHUNK; hi
 * a multiple or the buffer's end). pt_optim_norm_of_chunks(all chunk sums, count) equals
 * pt_optim_norm bit for bit. */
void pt_optim_sq_chunks(const float *g, size_t lo, size_t hi, double *sums);
double pt_optim_norm_of_chunks(const double *sums, size_t nchunks);

/* One AdamW update of p[n] with gradient g[n] (multiplied by gscale first: the clipping
 * coefficient, or 1), moments m[n], v[n], at 1-based step t, learning rate lr, and weight decay
 * wd (0 for tensors that are not decayed). */
void pt_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float gscale, double lr, double wd,
                     const pt_optim_cfg *c, int64_t t);

#endif
