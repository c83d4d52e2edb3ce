/* bench_allreduce.c - bandwidth of the gradient all-reduce of data-parallel training: parrot's ring
 * (pt_dist_allreduce: in place, one scratch buffer touched once in pt_dist_init) beside MPI's own
 * in-place MPI_Allreduce (pt_dist_allreduce_native), on a buffer of the size of a model's gradients
 * (pt_gpt2_layout: `mini` with V = 32768, `gpt2` with V = 50257). Run under mpirun with 2 or more
 * ranks (bench/bench_allreduce.sh).
 *
 *     mpirun -np 2 build/bench/bench_allreduce [-r RUNS] [mini|gpt2|all]
 *
 * For each method: the first call on a fresh buffer (malloc'ed and written by the caller, as
 * backward writes gradients: what is cold is the collective's own memory), the median of RUNS
 * (default 5) further calls on the same buffer (warm), and the median of RUNS calls each on a
 * freshly malloc'ed and written buffer (what a trainer that reallocates, or an implementation that
 * allocates inside the call, pays every step). Each time is the slowest rank's, between barriers.
 * Bandwidth two ways: "bus" GB/s = 2(N-1)/N · bytes / time (what each rank's link carries in a
 * ring, NCCL's "bus bandwidth"), and plain bytes / time. The first call's result is checked
 * against the exact sum (inputs are small integers); a wrong sum exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/status.h"
#include "dist/dist.h"
#include "model/gpt2.h"

static pt_dist *D;
static int R, N, RUNS = 5;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, const pt_err *e) {
    fprintf(stderr, "bench_allreduce [rank %d]: %s: %s\n", R, what, e->msg);
    pt_dist_abort(D, 2);
    exit(2);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *fresh(size_t n) {
    float *b = malloc(n * sizeof(float));
    if (!b) {
        fprintf(stderr, "bench_allreduce [rank %d]: out of memory for %zu floats\n", R, n);
        pt_dist_abort(D, 2);
        exit(2);
    }
    for (size_t i = 0; i < n; i++) b[i] = (float)(R + 1 + (int)(i % 7));
    return b;
}

typedef int (*allreduce_fn)(pt_dist *, float *, size_t, pt_err *);

/* One timed call: the slowest rank's seconds. */
static double timed(allreduce_fn f, float *buf, size_t n) {
    pt_err e = {0};
    if (pt_dist_barrier(D, &e)) die("barrier", &e);
    double t = now();
    if (f(D, buf, n, &e)) die("all-reduce", &e);
    t = now() - t;
    if (pt_dist_allreduce_f64(D, &t, 1, PT_DIST_MAX, &e)) die("all-reduce of the time", &e);
    return t;
}

static int check_sum(const float *b, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float want = (float)(N * (N + 1) / 2 + N * (int)(i % 7));
        bad += b[i] != want;
    }
    return bad == 0;
}

static void row(const char *model, size_t n, const char *method, double first, double warm, double fresh_med) {
    if (R) return;
    double bytes = (double)n * sizeof(float), bus = 2.0 * (N - 1) / N;
    printf("| %-5s | %5.1f | %-32s | %8.1f | %8.1f | %6.2f | %6.2f | %8.1f | %6.2f |\n", model, bytes / 1e6, method,
           first * 1e3, warm * 1e3, bus * bytes / warm / 1e9, bytes / warm / 1e9, fresh_med * 1e3,
           bus * bytes / fresh_med / 1e9);
    fflush(stdout);
}

/* first call on a fresh buffer, median of RUNS warm calls, median of RUNS calls on fresh buffers */
static int measure(const char *model, size_t n, const char *method, allreduce_fn f) {
    double ts[64], first, warm, fr;
    float *b = fresh(n);
    first = timed(f, b, n);
    int ok = check_sum(b, n);
    for (int i = 0; i < RUNS; i++) ts[i] = timed(f, b, n);
    qsort(ts, RUNS, sizeof *ts, cmp_double);
    warm = ts[RUNS / 2];
    free(b);
    for (int i = 0; i < RUNS; i++) {
        b = fresh(n);
        ts[i] = timed(f, b, n);
        free(b);
    }
    qsort(ts, RUNS, sizeof *ts, cmp_double);
    fr = ts[RUNS / 2];
    row(model, n, method, first, warm, fr);
    if (!ok) fprintf(stderr, "bench_allreduce [rank %d]: %s on %s: WRONG SUM\n", R, method, model);
    return ok;
}

int main(int argc, char **argv) {
    pt_err e = {0};
    const char *which = "all";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) RUNS = atoi(argv[++i]);
        else which = argv[i];
    }
    if (RUNS < 1 || RUNS > 64) RUNS = 5;
    if (pt_dist_init(&D, &e)) {
        fprintf(stderr, "bench_allreduce: %s\n", e.msg);
        return 2;
    }
    R = pt_dist_rank(D), N = pt_dist_size(D);
    if (N < 2) {
        fprintf(stderr, "bench_allreduce: %s: run it under mpirun with 2 or more ranks (bench/bench_allreduce.sh)\n",
                pt_dist_describe(D));
        pt_dist_finalize(D);
        return 2;
    }
    static const struct { const char *name; int vocab; } models[] = {{"mini", 32768}, {"gpt2", 50257}};
    if (!R) {
        printf("# all-reduce of a model's gradients (float32, sum), %s; time of the slowest rank\n", pt_dist_describe(D));
        printf("# first: first call on a fresh buffer; warm: median of %d calls on the same buffer; fresh: median of\n"
               "# %d calls each on a newly malloc'ed buffer. bus GB/s = 2(N-1)/N * bytes / time, plain = bytes / time\n",
               RUNS, RUNS);
        printf("| model | MB    | method                           | first ms |  warm ms | bus    | plain  | fresh ms | bus    |\n");
        printf("|-------|-------|----------------------------------|----------|----------|--------|--------|----------|--------|\n");
    }
    int ok = 1, ran = 0;
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        if (strcmp(which, "all") && strcmp(which, models[m].name)) continue;
        pt_gpt2_config c;
        if (pt_gpt2_config_named(&c, models[m].name, &e)) die("config", &e);
        c.vocab_size = models[m].vocab;
        pt_gpt2_tensor t[PT_GPT2_NTENSORS];
        size_t n = pt_gpt2_layout(&c, t);
        ok &= measure(models[m].name, n, "ring (pt_dist_allreduce)", pt_dist_allreduce);
        ok &= measure(models[m].name, n, "MPI_Allreduce (in place)", pt_dist_allreduce_native);
        ran++;
    }
    if (!ran && !R) fprintf(stderr, "bench_allreduce: unknown model %s (mini, gpt2 or all)\n", which);
    pt_dist_finalize(D);
    return ran && ok ? 0 : 1;
}
