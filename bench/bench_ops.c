/* bench_ops.c - times every non-matmul kernel, fast (_cpu) beside reference (_ref), at one model shape.
 *
 *   build/bench/bench_ops [B T C NH V [reps [KERNEL]]]   (default: the `mini` model, 8 256 384 6 32768, 5 reps)
 *
 * Prints the median and the minimum wall time of each fast kernel over reps calls and the median CPU
 * time of the process per call (on a shared machine the minimum and the CPU time per thread show what
 * the kernel costs when it has the cores; run with OMP_WAIT_POLICY=passive so idle threads do not spin),
 * the reference's wall time (one call: it is slow), the speed-up (reference / fast median) and, for
 * attention, GFLOP/s at the fast minimum. Threads: OMP_NUM_THREADS.
 * KERNEL (e.g. attn_bwd) times only that one, fast version only (for a profiler).
 * Cross-entropy runs over all B·T rows, in place (dlogits = logits), as the trainer calls it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "model/kernels.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double cpu_now(void) { /* CPU time of the whole process: all threads */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static uint64_t rs = 88172645463325252ull;
static float *fvec(size_t n, float scale) {
    float *v = malloc(sizeof(float) * n);
    if (!v) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
        v[i] = (float)((rs >> 40) * (1.0 / (1 << 23)) - 1.0) * scale;
    }
    return v;
}
static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Every kernel call of the benchmark is one case of this switch, so one timing loop serves all. */
enum { LN_F, LN_B, GELU_F, GELU_B, ATT_F, ATT_B, ENC_F, ENC_B, XENT, ADD, NK };
static const char *names[NK] = {"layernorm_fwd", "layernorm_bwd", "gelu_fwd", "gelu_bwd", "attn_fwd",
                                "attn_bwd",      "encoder_fwd",   "encoder_bwd", "xent",   "add"};
static int B, T, C, NH, V;
static float *x, *y, *w, *bb, *dy, *mean, *rstd, *dx, *dw, *db, *h, *h2, *dh, *qkv, *att, *lse, *dqkv, *wte, *wpe,
    *dwte, *dwpe, *logits, *losses;
static int32_t *tok;

static void call(int k, int fast) {
    int M = B * T;
    size_t nh = (size_t)M * 4 * C;
    float scale = 1.0f / sqrtf((float)(C / NH));
    switch (k) {
    case LN_F: (fast ? pt_k_layernorm_fwd_cpu : pt_k_layernorm_fwd_ref)(y, mean, rstd, x, w, bb, M, C); break;
    case LN_B: (fast ? pt_k_layernorm_bwd_cpu : pt_k_layernorm_bwd_ref)(dx, dw, db, dy, x, w, mean, rstd, M, C); break;
    case GELU_F: (fast ? pt_k_gelu_fwd_cpu : pt_k_gelu_fwd_ref)(h2, h, nh); break;
    case GELU_B: (fast ? pt_k_gelu_bwd_cpu : pt_k_gelu_bwd_ref)(dh, h, h2, nh); break;
    case ATT_F: (fast ? pt_k_attn_fwd_cpu : pt_k_attn_fwd_ref)(att, lse, qkv, B, T, C, NH, scale); break;
    case ATT_B: (fast ? pt_k_attn_bwd_cpu : pt_k_attn_bwd_ref)(dqkv, dy, qkv, att, lse, B, T, C, NH, scale); break;
    case ENC_F: (fast ? pt_k_encoder_fwd_cpu : pt_k_encoder_fwd_ref)(y, tok, wte, wpe, B, T, C); break;
    case ENC_B: (fast ? pt_k_encoder_bwd_cpu : pt_k_encoder_bwd_ref)(dwte, dwpe, dy, tok, B, T, C); break;
    case XENT: /* in place: refresh the logits first (not timed separately: a memcpy is ~5% of it) */
        (fast ? pt_k_xent_cpu : pt_k_xent_ref)(losses, logits, logits, tok, 1.0f / M, M, V);
        break;
    case ADD: (fast ? pt_k_add_cpu : pt_k_add_ref)(y, y, x, (size_t)M * C); break;
    }
}

int main(int argc, char **argv) {
    B = 8, T = 256, C = 384, NH = 6, V = 32768;
    int reps = 5;
    if (argc >= 6) B = atoi(argv[1]), T = atoi(argv[2]), C = atoi(argv[3]), NH = atoi(argv[4]), V = atoi(argv[5]);
    if (argc >= 7) reps = atoi(argv[6]);
    const char *only = argc >= 8 ? argv[7] : NULL;
    if (B < 1 || T < 1 || NH < 1 || C % NH || V < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_ops [B T C NH V [reps]]\n");
        return 2;
    }
    int M = B * T, nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    size_t n = (size_t)M * C, nh = (size_t)M * 4 * C;
    x = fvec(n, 2), y = fvec(n, 1), w = fvec(C, 1), bb = fvec(C, 1), dy = fvec(n, 1), mean = fvec(M, 1);
    rstd = fvec(M, 1), dx = fvec(n, 1), dw = fvec(C, 1), db = fvec(C, 1), h = fvec(nh, 3), h2 = fvec(nh, 1);
    dh = fvec(nh, 1), qkv = fvec(3 * n, 1), att = fvec(n, 1), lse = fvec((size_t)B * NH * T, 1);
    dqkv = fvec(3 * n, 1), wte = fvec((size_t)V * C, 1), wpe = fvec((size_t)T * C, 1);
    dwte = fvec((size_t)V * C, 1), dwpe = fvec((size_t)T * C, 1), logits = fvec((size_t)M * V, 4);
    losses = fvec(M, 1);
    tok = malloc(sizeof(int32_t) * M);
    for (int i = 0; i < M; i++) tok[i] = (int32_t)((uint32_t)(i * 2654435761u) % (uint32_t)V);
    pt_k_layernorm_fwd_ref(y, mean, rstd, x, w, bb, M, C);
    pt_k_attn_fwd_cpu(att, lse, qkv, B, T, C, NH, 1.0f / sqrtf((float)(C / NH)));

    printf("B=%d T=%d C=%d NH=%d V=%d, %d thread(s), median of %d\n", B, T, C, NH, V, nt, reps);
    printf("%-14s %10s %10s %12s %10s %9s\n", "kernel", "med ms", "min ms", "cpu ms/call", "ref ms", "speed-up");
    double *t = malloc(sizeof(double) * reps), *tc = malloc(sizeof(double) * reps), tot_cpu = 0, tot_ref = 0;
    for (int k = 0; k < NK; k++) {
        if (only && strcmp(only, names[k])) continue;
        for (int r = 0; r < reps; r++) {
            double t0 = now(), c0 = cpu_now();
            call(k, 1);
            t[r] = now() - t0, tc[r] = cpu_now() - c0;
        }
        qsort(t, reps, sizeof(double), cmpd);
        qsort(tc, reps, sizeof(double), cmpd);
        double fast = t[reps / 2], t0 = now();
        if (!only) call(k, 0);
        double ref = now() - t0;
        tot_cpu += fast, tot_ref += ref;
        printf("%-14s %10.3f %10.3f %12.3f %10.1f %8.1fx", names[k], fast * 1e3, t[0] * 1e3, tc[reps / 2] * 1e3,
               ref * 1e3, ref / fast);
        if (k == ATT_F || k == ATT_B) {
            double pairs = (double)B * NH * T * (T + 1) / 2, hs = C / NH;
            printf("   %.1f GFLOP/s", (k == ATT_F ? 4 : 10) * pairs * hs / t[0] * 1e-9);
        }
        printf("\n");
    }
    printf("%-14s %10.3f %10s %12s %10.1f\n", "total", tot_cpu * 1e3, "", "", tot_ref * 1e3);
    return 0;
}
