/* optim.c - AdamW, the cosine schedule with warm-up, gradient norm (see optim.h). */
#include "train/optim.h"

#include <math.h>

pt_optim_cfg pt_optim_defaults(void) {
    return (pt_optim_cfg){.lr = 5e-4, .min_lr = 0, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                          .weight_decay = 0.1, .grad_clip = 1.0, .warmup_steps = 2000, .max_steps = 150000};
}

double pt_optim_lr(const pt_optim_cfg *c, int64_t s) {
    double f;
    if (s < c->warmup_steps) {
        f = (double)s / (double)(c->warmup_steps > 1 ? c->warmup_steps : 1);
    } else {
        int64_t span = c->max_steps - c->warmup_steps;
        double progress = (double)(s - c->warmup_steps) / (double)(span > 1 ? span : 1);
        f = 0.5 * (1.0 + cos(M_PI * progress));
        if (f < 0) f = 0;
    }
    return c->min_lr + (c->lr - c->min_lr) * f;
}

static double chunk_sq(const float *g, size_t i0, size_t i1) {
    double s = 0;
    for (size_t i = i0; i < i1; i++) s += (double)g[i] * g[i];
    return s;
}

double pt_optim_norm(const float *g, size_t n) {
    const size_t nchunks = (n + PT_OPTIM_NORM_CHUNK - 1) / PT_OPTIM_NORM_CHUNK;
    double total = 0;
    /* Chunk sums in double, added in chunk order: the same result at any thread count. */
#pragma omp parallel for schedule(static) ordered
    for (size_t c = 0; c < nchunks; c++) {
        size_t end = (c + 1) * PT_OPTIM_NORM_CHUNK < n ? (c + 1) * PT_OPTIM_NORM_CHUNK : n;
        double s = chunk_sq(g, c * PT_OPTIM_NORM_CHUNK, end);
#pragma omp ordered
        total += s;
    }
    return sqrt(total);
}

void pt_optim_sq_chunks(const float *g, size_t lo, size_t hi, double *sums) {
    const size_t c0 = lo / PT_OPTIM_NORM_CHUNK, c1 = (hi + PT_OPTIM_NORM_CHUNK - 1) / PT_OPTIM_NORM_CHUNK;
#pragma omp parallel for schedule(static)
    for (size_t c = c0; c < c1; c++) {
        size_t end = (c + 1) * PT_OPTIM_NORM_CHUNK < hi ? (c + 1) * PT_OPTIM_NORM_CHUNK : hi;
        sums[c - c0] = chunk_sq(g, c * PT_OPTIM_NORM_CHUNK, end);
    }
}

double pt_optim_norm_of_chunks(const double *sums, size_t nchunks) {
    double total = 0;
    for (size_t c = 0; c < nchunks; c++) total += sums[c];
    return sqrt(total);
}

void pt_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float gscale, double lr, double wd,
                     const pt_optim_cfg *c, int64_t t) {
    const float b1 = (float)c->beta1, b2 = (float)c->beta2;
    const float bc1 = (float)(1.0 - pow(c->beta1, (double)t)), bc2 = (float)(1.0 - pow(c->beta2, (double)t));
    const float step = (float)(lr / bc1), decay = (float)(1.0 - lr * wd), eps = (float)c->eps;
    const float rbc2 = 1.0f / sqrtf(bc2);
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gscale;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi, v[i] = vi;
        p[i] = p[i] * decay - step * mi / (sqrtf(vi) * rbc2 + eps);
    }
}
