/* bench_matmul.c - GFLOP/s of the fast matrix products at the shapes the GPT-2 trainer uses,
 * beside OpenBLAS's cblas_sgemm on the same operands in the same run (when libopenblas.so.0 can
 * be dlopen'ed: the library itself never depends on it), and the machine's measured FMA peak.
 *
 *     build/bench/bench_matmul [-r RUNS] [-c] [mini|gpt2|all|tiny]   (OMP_NUM_THREADS sets the threads)
 *
 * -c times with the process's CPU time divided by the threads instead of the wall clock: on a
 * machine shared with other work it estimates the speed the products would have alone (spinning
 * idle threads count, so imbalance still shows).
 *
 * Products: fwd out = inp·wᵀ + bias; dinp += dout·w; dw += doutᵀ·inp (2·M·K·N FLOP each). Ours
 * computes dinp and dw in one call: "dw" is timed with dinp NULL, "dinp" is the difference of the
 * medians of the full call and of the dw-only call. Each figure: the median of RUNS (default 5)
 * after one warm-up. Also prints the largest difference between ours and OpenBLAS, scaled as in
 * the unit test, as a check that both computed the same thing: above 1e-5 the row says MISMATCH
 * and the exit status is 1 ("tiny" runs one small shape: a quick check that the BLAS works here).
 */
#include "model/kernels.h"

#include <dlfcn.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif


typedef void (*sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc);
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
static sgemm_fn blas_sgemm;

static int cpu_clock, nthreads = 1; /* -c: process CPU time / threads instead of wall time */
static double now(void) {
    struct timespec ts;
    clock_gettime(cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec + ts.tv_nsec * 1e-9) / (cpu_clock ? nthreads : 1);
}
static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int runs = 5, mismatch;
typedef struct { float *out, *inp, *w, *bias, *dout, *dinp, *dw; int M, K, N, which, blas; } job;

static void run_job(const job *j) {
    int M = j->M, K = j->K, N = j->N;
    if (!j->blas) {
        if (j->which == 0) pt_k_matmul_fwd_cpu(j->out, j->inp, j->w, j->bias, M, K, N);
        else if (j->which == 1) pt_k_matmul_bwd_cpu(j->dinp, j->dw, NULL, j->dout, j->inp, j->w, M, K, N);
        else pt_k_matmul_bwd_cpu(NULL, j->dw, NULL, j->dout, j->inp, j->w, M, K, N);
    } else {
        if (j->which == 0) blas_sgemm(RowMajor, NoTrans, Trans, M, N, K, 1.0f, j->inp, K, j->w, K, 0.0f, j->out, N);
        else if (j->which == 1) blas_sgemm(RowMajor, NoTrans, NoTrans, M, K, N, 1.0f, j->dout, N, j->w, K, 1.0f, j->dinp, K);
        else blas_sgemm(RowMajor, Trans, NoTrans, N, K, M, 1.0f, j->dout, N, j->inp, K, 1.0f, j->dw, K);
    }
}

static double median_time(const job *j) {
    double t[64];
    run_job(j); /* warm-up */
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        run_job(j);
        t[r] = now() - t0;
    }
    qsort(t, runs, sizeof *t, cmpd);
    return t[runs / 2];
}

static float *randv(size_t n) {
    float *p = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
    uint64_t s = 0x2545F4914F6CDD1Dull ^ n;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        p[i] = (float)((s >> 40) * (2.0 / 16777216.0) - 1.0);
    }
    return p;
}

static double maxdiff(const float *a, const float *b, size_t n, int K) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / ((1 + fabs(b[i])) * sqrt(K));
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

static void bench_shape(const char *model, int M, int K, int N) {
    job j = {0};
    j.M = M, j.K = K, j.N = N;
    j.inp = randv((size_t)M * K), j.w = randv((size_t)N * K), j.bias = randv(N), j.dout = randv((size_t)M * N);
    j.out = randv((size_t)M * N), j.dinp = randv((size_t)M * K), j.dw = randv((size_t)N * K);
    for (size_t i = 0; i < (size_t)N * K; i++) j.w[i] *= 0.05f; /* keep accumulated gradients moderate */
    /* ours: fwd, dw alone (dinp NULL), dinp+dw in one call; OpenBLAS: fwd, dinp, dw. Each of ours
     * right before its OpenBLAS twin, so that both see the same load on a shared machine. */
    double gf = 2.0 * M * K * N / 1e9, t[2][3] = {{0}};
    for (int which = 0; which < 3; which++) {
        j.which = which;
        for (int blas = 0; blas < 1 + (blas_sgemm != NULL); blas++) {
            j.blas = blas;
            t[blas][which] = median_time(&j);
        }
    }
    /* rows: fwd, dinp, dw, dinp+dw; ours' dinp is the difference of two medians (an estimate) */
    double ours[4] = {gf / t[0][0], gf / (t[0][1] - t[0][2]), gf / t[0][2], 2 * gf / t[0][1]};
    double theirs[4] = {gf / t[1][0], gf / t[1][1], gf / t[1][2], 2 * gf / (t[1][1] + t[1][2])};
    static const char *names[4] = {"fwd  out=inp.wT", "bwd  dinp+=dout.w *", "bwd  dw+=doutT.inp", "bwd  dinp+dw"};
    /* the check: fresh outputs from both, compared */
    double diff[4] = {-1, -1, -1, -1};
    if (blas_sgemm) {
        size_t no = (size_t)M * N, ni = (size_t)M * K, nw = (size_t)N * K;
        float *o2 = malloc(no * 4), *i1 = calloc(ni, 4), *i2 = calloc(ni, 4), *w1 = calloc(nw, 4), *w2 = calloc(nw, 4);
        pt_k_matmul_fwd_cpu(j.out, j.inp, j.w, NULL, M, K, N);
        blas_sgemm(RowMajor, NoTrans, Trans, M, N, K, 1.0f, j.inp, K, j.w, K, 0.0f, o2, N);
        pt_k_matmul_bwd_cpu(i1, w1, NULL, j.dout, j.inp, j.w, M, K, N);
        blas_sgemm(RowMajor, NoTrans, NoTrans, M, K, N, 1.0f, j.dout, N, j.w, K, 0.0f, i2, K);
        blas_sgemm(RowMajor, Trans, NoTrans, N, K, M, 1.0f, j.dout, N, j.inp, K, 0.0f, w2, K);
        diff[0] = maxdiff(j.out, o2, no, K), diff[1] = maxdiff(i1, i2, ni, N), diff[2] = maxdiff(w1, w2, nw, M);
        diff[3] = diff[1] > diff[2] ? diff[1] : diff[2];
        free(o2), free(i1), free(i2), free(w1), free(w2);
    }
    for (int p = 0; p < 4; p++) {
        printf("%-5s %5d %5d %6d  %-20s %8.1f", model, M, K, N, names[p], ours[p]);
        if (blas_sgemm) printf(" %8.1f  %5.2fx  %.1e", theirs[p], ours[p] / theirs[p], diff[p]);
        if (diff[p] > 1e-5) printf("  MISMATCH"), mismatch = 1;
        printf("\n");
        fflush(stdout);
    }
    free(j.inp), free(j.w), free(j.bias), free(j.dout), free(j.out), free(j.dinp), free(j.dw);
}

/* The FMA peak of this machine on all threads: 10 independent FMA chains per thread. */
#define PEAK_BODY(VT, W)                                                                                  \
    double flops = 0;                                                                                    \
    _Pragma("omp parallel reduction(+ : flops)") {                                                       \
        VT a0 = (VT){0} + 0.5f, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,  \
           a9 = a0, b = (VT){0} + 0.9999f, c = (VT){0} + 1e-4f;                                          \
        long n = 20000000;                                                                               \
        for (long i = 0; i < n; i++) {                                                                   \
            a0 = a0 * b + c, a1 = a1 * b + c, a2 = a2 * b + c, a3 = a3 * b + c, a4 = a4 * b + c;         \
            a5 = a5 * b + c, a6 = a6 * b + c, a7 = a7 * b + c, a8 = a8 * b + c, a9 = a9 * b + c;         \
            __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), \
                             "+v"(a7), "+v"(a8), "+v"(a9));                                              \
        }                                                                                                \
        flops += 20.0 * W * n + (a0[0] + a9[0] < -1e30 ? 1 : 0);                                        \
    }                                                                                                    \
    return flops;

typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));
static double peak8(void) { PEAK_BODY(v8, 8) }
__attribute__((target("avx512f"))) static double peak16(void) { PEAK_BODY(v16, 16) }

static double peak_gflops(int wide) {
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = now(), f = wide ? peak16() : peak8(), g = f / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

int main(int argc, char **argv) {
    const char *which = "all";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-c")) cpu_clock = 1;
        else which = argv[i];
    }
    if (runs < 1) runs = 1;
    if (runs > 63) runs = 63;
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    nthreads = nt;
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (h) {
        blas_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
        void (*set_threads)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
        char *(*cfg)(void) = (char *(*)(void))dlsym(h, "openblas_get_config");
        char *(*core)(void) = (char *(*)(void))dlsym(h, "openblas_get_corename");
        if (set_threads) set_threads(nt);
        printf("# OpenBLAS: %s, core %s (OPENBLAS_CORETYPE=%s)\n", cfg ? cfg() : "?", core ? core() : "?",
               getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "");
    } else {
        printf("# OpenBLAS: not found (%s): ours only\n", dlerror());
    }
    __builtin_cpu_init();
    int wide = __builtin_cpu_supports("avx512f");
    const char *sel = pt_k_matmul_selected();
    printf("# threads %d, micro-kernel %s, measured FMA peak %.0f GFLOP/s (%d-wide), median of %d runs, %s\n", nt, sel,
           peak_gflops(wide), wide ? 16 : 8, runs, cpu_clock ? "CPU time / threads (-c)" : "wall time");
    printf("# model     M     K      N  product               ours GF/s%s\n",
           blas_sgemm ? "  BLAS GF/s  ratio  max scaled diff" : "");
    static const int mini[][2] = {{384, 1152}, {384, 384}, {384, 1536}, {1536, 384}, {384, 32768}};
    static const int gpt2[][2] = {{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}, {768, 50257}};
    if (!strcmp(which, "all") || !strcmp(which, "mini"))
        for (int s = 0; s < 5; s++) bench_shape("mini", 2048, mini[s][0], mini[s][1]);
    if (!strcmp(which, "all") || !strcmp(which, "gpt2"))
        for (int s = 0; s < 5; s++) bench_shape("gpt2", 1024, gpt2[s][0], gpt2[s][1]);
    if (!strcmp(which, "tiny")) bench_shape("tiny", 67, 129, 257); /* a quick check that both agree */
    return mismatch;
}
