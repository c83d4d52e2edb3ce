/* test_matmul.c - the matrix products: the fast kernels against the naive references at odd
 * shapes (every micro-kernel geometry this machine can run), += semantics, determinism, and the
 * reference backward against finite differences of the reference forward. */
#include "model/kernels.h"
#include "test.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}
static float *randv(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
static float *copyv(const float *x, size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    memcpy(p, x, n * sizeof *p);
    return p;
}

/* max over i of |got - ref| / ((1 + |ref|)·sqrt(K)) must stay <= 1e-5 (fp32, other summation order). */
static int close_enough(const float *got, const float *ref, size_t n, int K, const char *what, int M, int KK, int N) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]) / ((1 + fabs(ref[i])) * sqrt(K > 1 ? K : 1));
        if (!(d <= worst)) worst = d, at = i; /* NaN counts as worst */
        if (isnan(d)) break;
    }
    if (!(worst <= 1e-5)) {
        printf("  %s M=%d K=%d N=%d [%s]: element %zu: %g vs %g (scaled error %g)\n", what, M, KK, N,
               pt_k_matmul_selected(), at, got[at], ref[at], worst);
        return 0;
    }
    return 1;
}

/* One shape: forward with and without bias; backward with dinp/dbias present or NULL, outputs
 * pre-filled (accumulation), and the cpu results twice (bit-identical). */
static void check_shape(int M, int K, int N) {
    float *inp = randv((size_t)M * K), *w = randv((size_t)N * K), *bias = randv(N), *dout = randv((size_t)M * N);
    float *o_ref = randv((size_t)M * N), *o_cpu = randv((size_t)M * N); /* garbage: fwd overwrites */
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        const float *b = with_bias ? bias : NULL;
        pt_k_matmul_fwd_ref(o_ref, inp, w, b, M, K, N);
        pt_k_matmul_fwd_cpu(o_cpu, inp, w, b, M, K, N);
        CHECK(close_enough(o_cpu, o_ref, (size_t)M * N, K, with_bias ? "fwd+bias" : "fwd", M, K, N));
        float *again = copyv(o_ref, (size_t)M * N);
        pt_k_matmul_fwd_cpu(again, inp, w, b, M, K, N);
        CHECK(!memcmp(again, o_cpu, (size_t)M * N * sizeof(float)));
        free(again);
    }
    float *di0 = randv((size_t)M * K), *dw0 = randv((size_t)N * K), *db0 = randv(N);
    for (int variant = 0; variant < 2; variant++) { /* 0: all outputs; 1: dinp and dbias NULL */
        float *di_r = copyv(di0, (size_t)M * K), *dw_r = copyv(dw0, (size_t)N * K), *db_r = copyv(db0, N);
        float *di_c = copyv(di0, (size_t)M * K), *dw_c = copyv(dw0, (size_t)N * K), *db_c = copyv(db0, N);
        float *di_c2 = copyv(di0, (size_t)M * K), *dw_c2 = copyv(dw0, (size_t)N * K), *db_c2 = copyv(db0, N);
        int all = variant == 0;
        pt_k_matmul_bwd_ref(all ? di_r : NULL, dw_r, all ? db_r : NULL, dout, inp, w, M, K, N);
        pt_k_matmul_bwd_cpu(all ? di_c : NULL, dw_c, all ? db_c : NULL, dout, inp, w, M, K, N);
        pt_k_matmul_bwd_cpu(all ? di_c2 : NULL, dw_c2, all ? db_c2 : NULL, dout, inp, w, M, K, N);
        CHECK(close_enough(di_c, di_r, (size_t)M * K, N, "dinp", M, K, N));
        CHECK(close_enough(dw_c, dw_r, (size_t)N * K, M, "dw", M, K, N));
        CHECK(close_enough(db_c, db_r, N, M, "dbias", M, K, N));
        if (!all) { /* untouched */
            CHECK(!memcmp(di_c, di0, (size_t)M * K * sizeof(float)));
            CHECK(!memcmp(db_c, db0, (size_t)N * sizeof(float)));
        }
        CHECK(!memcmp(di_c, di_c2, (size_t)M * K * sizeof(float)));
        CHECK(!memcmp(dw_c, dw_c2, (size_t)N * K * sizeof(float)));
        CHECK(!memcmp(db_c, db_c2, (size_t)N * sizeof(float)));
        free(di_r), free(dw_r), free(db_r), free(di_c), free(dw_c), free(db_c), free(di_c2), free(dw_c2), free(db_c2);
    }
    free(di0), free(dw0), free(db0);
    free(inp), free(w), free(bias), free(dout), free(o_ref), free(o_cpu);
}

static const int shapes[][3] = {
    {1, 1, 1},    {1, 7, 1},     {3, 1, 5},    {1, 17, 19},   {2, 3, 4},      {5, 6, 7},     {6, 16, 16},
    {12, 32, 32}, {13, 33, 31},  {17, 19, 38}, {38, 72, 517}, {72, 517, 38},  {517, 38, 72}, {7, 300, 65},
    {145, 20, 9}, {150, 260, 3}, {3, 260, 150}, {100, 1, 100}, {1, 100, 2100}, {300, 513, 97}, {64, 64, 64},
    {29, 2049, 5}, {9, 5, 2049},
    /* several chunks per thread along m, along n, and more than one NC block on threads */
    {4500, 7, 13}, {13, 7, 4500}, {1100, 40, 37},
};

/* All shapes on the micro-kernel named `kern`, if this machine runs it. */
static void all_shapes(const char *kern) {
    if (pt_k_matmul_select(kern)) {
        printf("  (micro-kernel %s not available here: skipped)\n", kern);
        return;
    }
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) check_shape(shapes[s][0], shapes[s][1], shapes[s][2]);
    pt_k_matmul_select("auto");
}

TEST(matmul_avx2_vs_ref) { all_shapes("avx2"); }
TEST(matmul_wide_vs_ref) { all_shapes("wide"); }
TEST(matmul_avx512_vs_ref) { all_shapes("avx512"); }

/* The cpu result must not depend on the thread count (each element summed in one fixed order). */
TEST(matmul_threads_bit_identical) {
#ifdef _OPENMP
    int M = 301, K = 517, N = 389, saved = omp_get_max_threads();
    float *inp = randv((size_t)M * K), *w = randv((size_t)N * K), *bias = randv(N), *dout = randv((size_t)M * N);
    float *o1 = malloc((size_t)M * N * 4), *o2 = malloc((size_t)M * N * 4);
    float *di1 = calloc((size_t)M * K, 4), *di2 = calloc((size_t)M * K, 4);
    float *dw1 = calloc((size_t)N * K, 4), *dw2 = calloc((size_t)N * K, 4);
    omp_set_num_threads(1);
    pt_k_matmul_fwd_cpu(o1, inp, w, bias, M, K, N);
    pt_k_matmul_bwd_cpu(di1, dw1, NULL, dout, inp, w, M, K, N);
    omp_set_num_threads(3);
    pt_k_matmul_fwd_cpu(o2, inp, w, bias, M, K, N);
    pt_k_matmul_bwd_cpu(di2, dw2, NULL, dout, inp, w, M, K, N);
    omp_set_num_threads(saved);
    CHECK(!memcmp(o1, o2, (size_t)M * N * 4));
    CHECK(!memcmp(di1, di2, (size_t)M * K * 4));
    CHECK(!memcmp(dw1, dw2, (size_t)N * K * 4));
    free(inp), free(w), free(bias), free(dout), free(o1), free(o2), free(di1), free(di2), free(dw1), free(dw2);
#endif
}

/* The loss L = Σ out·g (g fixed) has dL/dout = g; the reference backward's gradients must match
 * central differences of the reference forward. L is linear in each single input, so the
 * difference is exact but for rounding: a large step (h = 0.5) keeps the float rounding of out
 * (~1e-7 relative, summed in double) far below the 1e-3 tolerance, while a wrong index or a
 * missing term gives errors of order 1. */
static double loss_of(const float *inp, const float *w, const float *bias, const float *g, int M, int K, int N,
                      float *out) {
    pt_k_matmul_fwd_ref(out, inp, w, bias, M, K, N);
    double L = 0;
    for (int i = 0; i < M * N; i++) L += (double)out[i] * g[i];
    return L;
}

static void fd_check(float *x, const float *grad, int n, const float *inp, const float *w, const float *bias,
                     const float *g, int M, int K, int N, float *out, const char *what) {
    const float h = 0.5f;
    double worst = 0;
    for (int i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double lp = loss_of(inp, w, bias, g, M, K, N, out);
        x[i] = keep - h;
        double lm = loss_of(inp, w, bias, g, M, K, N, out);
        x[i] = keep;
        double fd = (lp - lm) / (2.0 * h), err = fabs(fd - grad[i]) / (1e-3 + fabs(fd));
        if (err > worst) worst = err;
    }
    if (!(worst < 1e-3)) printf("  finite differences, %s: worst relative error %g\n", what, worst);
    CHECK(worst < 1e-3);
}

TEST(matmul_ref_backward_finite_differences) {
    int M = 5, K = 7, N = 6;
    rng_state = 0x853C49E6748FEA9Bull; /* independent of the tests before */
    float *inp = randv((size_t)M * K), *w = randv((size_t)N * K), *bias = randv(N), *g = randv((size_t)M * N);
    float *out = malloc((size_t)M * N * 4);
    float *dinp = calloc((size_t)M * K, 4), *dw = calloc((size_t)N * K, 4), *db = calloc(N, 4);
    pt_k_matmul_bwd_ref(dinp, dw, db, g, inp, w, M, K, N);
    fd_check(inp, dinp, M * K, inp, w, bias, g, M, K, N, out, "dinp");
    fd_check(w, dw, N * K, inp, w, bias, g, M, K, N, out, "dw");
    fd_check(bias, db, N, inp, w, bias, g, M, K, N, out, "dbias");
    free(inp), free(w), free(bias), free(g), free(out), free(dinp), free(dw), free(db);
}

/* The forward overwrites out (no accumulation), also for K = 0 (out = bias). */
TEST(matmul_fwd_overwrites) {
    int M = 9, N = 40;
    float *out = randv((size_t)M * N), *bias = randv(N);
    float dummy = 0;
    pt_k_matmul_fwd_cpu(out, &dummy, &dummy, bias, M, 0, N);
    int ok = 1;
    for (int i = 0; i < M * N; i++) ok &= out[i] == bias[i % N];
    CHECK(ok);
    free(out), free(bias);
}

int main(void) {
    RUN(matmul_avx2_vs_ref);
    RUN(matmul_wide_vs_ref);
    RUN(matmul_avx512_vs_ref);
    RUN(matmul_threads_bit_identical);
    RUN(matmul_ref_backward_finite_differences);
    RUN(matmul_fwd_overwrites);
    return TEST_DONE();
}
