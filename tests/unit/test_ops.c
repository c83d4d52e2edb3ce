/* test_ops.c - the non-matmul GPT-2 kernels (src/model/ops_ref.c, ops_cpu.c).
 *
 * Three kinds of check:
 * - every _cpu kernel against its _ref twin at odd shapes, with backward outputs pre-filled with
 *   non-zero values (the kernels must add, not overwrite), and bit-identical on a repeated call;
 * - every _ref backward against central finite differences of its _ref forward, on the scalar
 *   loss Σ dout·out (dout random), evaluated in double from the fp32 kernels at small sizes;
 * - cross-entropy against a direct log-sum-exp in the test, with a row of huge logits.
 */
#include <math.h>
#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "model/kernels.h"
#include "test.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / (1 << 23)) - 1.0);
}
static float *fvec(size_t n, float scale) {
    float *v = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) v[i] = frand() * scale;
    return v;
}
static float *fcopy(const float *a, size_t n) {
    float *v = malloc(sizeof(float) * (n ? n : 1));
    memcpy(v, a, sizeof(float) * n);
    return v;
}

/* |a - ref| <= atol + rtol·|ref| everywhere; prints the worst element otherwise. */
static int close_to(const char *what, const float *a, const float *ref, size_t n, double atol, double rtol) {
    size_t worst = 0;
    double wx = -1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]), lim = atol + rtol * fabs(ref[i]);
        if (!(d <= lim) && d / lim > wx) wx = d / lim, worst = i;
    }
    if (wx < 0) return 1;
    printf("  %s: [%zu] %.9g vs ref %.9g (%.3g x tolerance)\n", what, worst, a[worst], ref[worst], wx);
    return 0;
}
static int same_bits(const float *a, const float *b, size_t n) { return !memcmp(a, b, sizeof(float) * n); }

/* ---- fast vs reference ------------------------------------------------------------------- */

TEST(layernorm_cpu_matches_ref) {
    static const int shapes[][2] = {{1, 8}, {5, 72}, {19, 8}, {130, 72}, {64, 384}, {3, 130}, {300, 200}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], C = shapes[s][1];
        size_t n = (size_t)M * C;
        float *x = fvec(n, 2), *w = fvec(C, 1), *b = fvec(C, 1), *dy = fvec(n, 1);
        for (size_t i = 0; i < n; i++) x[i] += 0.5f; /* a non-zero mean */
        float *o1 = fvec(n, 1), *o2 = fvec(n, 1), *mu1 = fvec(M, 1), *mu2 = fvec(M, 1), *r1 = fvec(M, 1),
              *r2 = fvec(M, 1);
        pt_k_layernorm_fwd_ref(o1, mu1, r1, x, w, b, M, C);
        pt_k_layernorm_fwd_cpu(o2, mu2, r2, x, w, b, M, C);
        CHECK(close_to("ln out", o2, o1, n, 1e-5, 1e-5));
        CHECK(close_to("ln mean", mu2, mu1, M, 1e-6, 1e-5));
        CHECK(close_to("ln rstd", r2, r1, M, 1e-6, 1e-5));
        float *dx1 = fvec(n, 1), *dw1 = fvec(C, 1), *db1 = fvec(C, 1);
        float *dx2 = fcopy(dx1, n), *dw2 = fcopy(dw1, C), *db2 = fcopy(db1, C);
        float *dx3 = fcopy(dx1, n), *dw3 = fcopy(dw1, C), *db3 = fcopy(db1, C);
        pt_k_layernorm_bwd_ref(dx1, dw1, db1, dy, x, w, mu1, r1, M, C);
        pt_k_layernorm_bwd_cpu(dx2, dw2, db2, dy, x, w, mu2, r2, M, C);
        CHECK(close_to("ln dinp", dx2, dx1, n, 2e-5, 1e-4));
        CHECK(close_to("ln dw", dw2, dw1, C, 1e-4, 1e-4));
        CHECK(close_to("ln db", db2, db1, C, 1e-4, 1e-4));
        float *o3 = fvec(n, 1);
        pt_k_layernorm_fwd_cpu(o3, mu2, r2, x, w, b, M, C);
        pt_k_layernorm_bwd_cpu(dx3, dw3, db3, dy, x, w, mu2, r2, M, C);
        CHECK(same_bits(o3, o2, n) && same_bits(dx3, dx2, n) && same_bits(dw3, dw2, C) && same_bits(db3, db2, C));
        float *p[] = {x, w, b, dy, o1, o2, o3, mu1, mu2, r1, r2, dx1, dw1, db1, dx2, dw2, db2, dx3, dw3, db3};
        for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
    }
}

TEST(gelu_cpu_matches_ref) {
    static const size_t sizes[] = {1, 7, 1000, 100003};
    for (size_t s = 0; s < 4; s++) {
        size_t n = sizes[s];
        float *x = fvec(n, 6), *dy = fvec(n, 1), *o1 = fvec(n, 1), *o2 = fvec(n, 1), *o3 = fvec(n, 1);
        if (n > 10) x[0] = 0, x[1] = -30, x[2] = 30, x[3] = -1e6f, x[4] = 1e6f, x[5] = 1e-30f;
        pt_k_gelu_fwd_ref(o1, x, n);
        pt_k_gelu_fwd_cpu(o2, x, n);
        CHECK(close_to("gelu", o2, o1, n, 1e-6, 1e-6));
        float *d1 = fvec(n, 1), *d2 = fcopy(d1, n), *d3 = fcopy(d1, n);
        pt_k_gelu_bwd_ref(d1, x, dy, n);
        pt_k_gelu_bwd_cpu(d2, x, dy, n);
        CHECK(close_to("gelu bwd", d2, d1, n, 1e-6, 1e-5));
        pt_k_gelu_fwd_cpu(o3, x, n);
        pt_k_gelu_bwd_cpu(d3, x, dy, n);
        CHECK(same_bits(o3, o2, n) && same_bits(d3, d2, n));
        free(x), free(dy), free(o1), free(o2), free(o3), free(d1), free(d2), free(d3);
    }
}

static void attn_compare(int B, int T, int C, int NH, float scale, float mag) {
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, nl = (size_t)B * NH * T;
    float *qkv = fvec(nq, mag), *dy = fvec(no, 1);
    float *o1 = fvec(no, 1), *o2 = fvec(no, 1), *o3 = fvec(no, 1), *l1 = fvec(nl, 1), *l2 = fvec(nl, 1),
          *l3 = fvec(nl, 1);
    pt_k_attn_fwd_ref(o1, l1, qkv, B, T, C, NH, scale);
    pt_k_attn_fwd_cpu(o2, l2, qkv, B, T, C, NH, scale);
    /* fp32 scores carry |s|·2^-24 of error into every probability: the tolerance grows with the
     * inputs' size (mag²) */
    const double k = (mag / 1.5) * (mag / 1.5);
    int ok = close_to("attn out", o2, o1, no, 1e-5 * k, 1e-4) && close_to("attn lse", l2, l1, nl, 1e-5, 1e-5);
    float *d1 = fvec(nq, 1), *d2 = fcopy(d1, nq), *d3 = fcopy(d1, nq);
    pt_k_attn_bwd_ref(d1, dy, qkv, o1, l1, B, T, C, NH, scale);
    pt_k_attn_bwd_cpu(d2, dy, qkv, o2, l2, B, T, C, NH, scale);
    ok &= close_to("attn dqkv", d2, d1, nq, 2e-5 * k, 2e-4);
    pt_k_attn_fwd_cpu(o3, l3, qkv, B, T, C, NH, scale);
    pt_k_attn_bwd_cpu(d3, dy, qkv, o3, l3, B, T, C, NH, scale);
    ok &= same_bits(o3, o2, no) && same_bits(l3, l2, nl) && same_bits(d3, d2, nq);
    if (!ok) printf("  attention B=%d T=%d C=%d NH=%d scale=%g\n", B, T, C, NH, scale);
    CHECK(ok);
    free(qkv), free(dy), free(o1), free(o2), free(o3), free(l1), free(l2), free(l3), free(d1), free(d2), free(d3);
}

TEST(attn_cpu_matches_ref) {
    static const int shapes[][4] = {{1, 1, 8, 1},  {2, 5, 8, 2},    {3, 19, 72, 3}, {1, 64, 72, 3},
                                    {2, 130, 72, 3}, {1, 130, 128, 2}, {1, 65, 8, 1},  {1, 200, 64, 1},
                                    {1, 2100, 8, 1},  /* past the 2048 rows whose D the backward keeps */
                                    {1, 5, 136, 1}};  /* a head wider than the tiles: the fallback */
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int B = shapes[s][0], T = shapes[s][1], C = shapes[s][2], NH = shapes[s][3];
        float scale = 1.0f / sqrtf((float)(C / NH));
        attn_compare(B, T, C, NH, scale, 1.5f);
        if (s == 2) attn_compare(B, T, C, NH, scale / 3, 1.5f); /* scale_attn_by_inverse_layer_idx */
        if (s == 5) attn_compare(B, T, C, NH, scale, 6.0f); /* scores in the hundreds: peaked softmax */
    }
}

/* One position: the output is v, lse is scale·q·k, and only v gets a gradient (= dout). */
TEST(attn_single_position) {
    int C = 72, NH = 3, hs = 24;
    float scale = 0.2f;
    float *qkv = fvec(3 * C, 1), *dy = fvec(C, 1);
    for (int pass = 0; pass < 2; pass++) {
        float o[72], l[3], d[216] = {0};
        (pass ? pt_k_attn_fwd_cpu : pt_k_attn_fwd_ref)(o, l, qkv, 1, 1, C, NH, scale);
        CHECK(close_to("T=1 out", o, qkv + 2 * C, C, 1e-7, 1e-6));
        for (int h = 0; h < NH; h++) {
            double s = 0;
            for (int e = 0; e < hs; e++) s += (double)qkv[h * hs + e] * qkv[C + h * hs + e];
            float want = (float)(s * scale);
            CHECK(close_to("T=1 lse", &l[h], &want, 1, 1e-6, 1e-5));
        }
        (pass ? pt_k_attn_bwd_cpu : pt_k_attn_bwd_ref)(d, dy, qkv, o, l, 1, 1, C, NH, scale);
        float zero[144] = {0};
        CHECK(close_to("T=1 dq dk", d, zero, 2 * C, 1e-6, 0));
        CHECK(close_to("T=1 dv", d + 2 * C, dy, C, 1e-6, 1e-6));
    }
    free(qkv), free(dy);
}

TEST(encoder_cpu_equals_ref) {
    static const int shapes[][3] = {{1, 1, 8}, {2, 5, 72}, {3, 19, 72}, {8, 64, 384}, {1, 130, 100}};
    int V = 517;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int B = shapes[s][0], T = shapes[s][1], C = shapes[s][2];
        size_t n = (size_t)B * T * C;
        int32_t *tok = malloc(sizeof(int32_t) * B * T);
        for (int i = 0; i < B * T; i++) tok[i] = (int32_t)((frand() + 1) * 0.5f * (i % 3 ? V : 7)) % V; /* repeats */
        float *wte = fvec((size_t)V * C, 1), *wpe = fvec((size_t)T * C, 1), *dy = fvec(n, 1);
        float *o1 = fvec(n, 1), *o2 = fvec(n, 1);
        pt_k_encoder_fwd_ref(o1, tok, wte, wpe, B, T, C);
        pt_k_encoder_fwd_cpu(o2, tok, wte, wpe, B, T, C);
        CHECK(same_bits(o2, o1, n));
        float *de1 = fvec((size_t)V * C, 1), *dp1 = fvec((size_t)T * C, 1);
        float *de2 = fcopy(de1, (size_t)V * C), *dp2 = fcopy(dp1, (size_t)T * C);
        pt_k_encoder_bwd_ref(de1, dp1, dy, tok, B, T, C);
        pt_k_encoder_bwd_cpu(de2, dp2, dy, tok, B, T, C);
        /* same additions in the same order: bit-identical, hence deterministic */
        CHECK(same_bits(de2, de1, (size_t)V * C) && same_bits(dp2, dp1, (size_t)T * C));
        free(tok), free(wte), free(wpe), free(dy), free(o1), free(o2), free(de1), free(dp1), free(de2), free(dp2);
    }
}

/* The loss of one row straight from the definition, in double. */
static double direct_xent(const float *x, int V, int tg) {
    double mx = -INFINITY, s = 0;
    for (int v = 0; v < V; v++) mx = x[v] > mx ? x[v] : mx;
    for (int v = 0; v < V; v++) s += exp((double)x[v] - mx);
    return mx + log(s) - x[tg];
}

TEST(xent_cpu_matches_ref_and_direct) {
    static const int shapes[][2] = {{1, 8}, {3, 517}, {7, 50257}, {64, 1000}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], V = shapes[s][1];
        size_t n = (size_t)M * V;
        float *x = fvec(n, 8);
        int32_t *tg = malloc(sizeof(int32_t) * M);
        for (int m = 0; m < M; m++) tg[m] = (int32_t)(((frand() + 1) * 0.5) * V) % V;
        if (M >= 3) {
            for (int v = 0; v < V; v++) x[(size_t)V + v] = 1e4f + (float)(v % 5); /* huge logits */
            tg[2] = V - 1;
        }
        float dscale = 1.0f / (M * 3);
        float *l1 = fvec(M, 1), *l2 = fvec(M, 1), *l3 = fvec(M, 1), *l4 = fvec(M, 1), *l5 = fvec(M, 1);
        float *d1 = fvec(n, 1), *d2 = fvec(n, 1), *d3 = fcopy(x, n), *d5 = fvec(n, 1);
        pt_k_xent_ref(l1, d1, x, tg, dscale, M, V);
        pt_k_xent_cpu(l2, d2, x, tg, dscale, M, V);
        pt_k_xent_cpu(l3, d3, d3, tg, dscale, M, V); /* in place */
        pt_k_xent_cpu(l4, NULL, x, tg, dscale, M, V);
        pt_k_xent_cpu(l5, d5, x, tg, dscale, M, V);
        float *want = malloc(sizeof(float) * M);
        for (int m = 0; m < M; m++) want[m] = (float)direct_xent(x + (size_t)m * V, V, tg[m]);
        CHECK(close_to("xent ref loss", l1, want, M, 1e-5, 1e-5));
        CHECK(close_to("xent cpu loss", l2, want, M, 2e-5, 2e-5));
        CHECK(close_to("xent dlogits", d2, d1, n, 1e-8, 1e-4));
        CHECK(same_bits(l3, l2, M) && same_bits(d3, d2, n) && same_bits(l4, l2, M));
        CHECK(same_bits(l5, l2, M) && same_bits(d5, d2, n));
        for (size_t i = 0; i < n; i++)
            if (!isfinite(d2[i])) {
                CHECK(isfinite(d2[i]));
                break;
            }
        free(x), free(tg), free(l1), free(l2), free(l3), free(l4), free(l5), free(d1), free(d2), free(d3), free(d5),
            free(want);
    }
}

TEST(add_cpu_equals_ref) {
    size_t n = 100003;
    float *a = fvec(n, 1), *b = fvec(n, 1), *o1 = fvec(n, 1), *o2 = fvec(n, 1), *a2 = fcopy(a, n);
    pt_k_add_ref(o1, a, b, n);
    pt_k_add_cpu(o2, a, b, n);
    CHECK(same_bits(o2, o1, n));
    pt_k_add_cpu(a2, a2, b, n); /* out aliasing a */
    CHECK(same_bits(a2, o1, n));
    pt_k_add_cpu(o2, a, b, 5);
    CHECK(same_bits(o2, o1, 5));
    free(a), free(b), free(o1), free(o2), free(a2);
}

/* Every fast kernel gives the same bits at any thread count (each output is computed by one thread,
 * the same way whichever thread it is): run them all at 1, 2 and 3 threads and compare. */
static float *run_all_cpu(size_t *n_out) {
    enum { B = 2, T = 131, C = 128, NH = 2, V = 517 }; /* odd sizes: thread chunks end mid-vector */
    const size_t M = (size_t)B * T, n = M * C, nq = 3 * n, n4 = 4 * n;
    size_t total = n + 2 * M + n + 2 * C + 2 * n4 + n + (size_t)B * NH * T + nq + n + (size_t)V * C + (size_t)T * C +
                   M + M * V + n;
    float *res = malloc(sizeof(float) * total), *r = res;
    rng_state = 12345;
    float *x = fvec(n, 2), *w = fvec(C, 1), *b = fvec(C, 1), *dy = fvec(n, 1), *h = fvec(n4, 3), *dh = fvec(n4, 1);
    float *qkv = fvec(nq, 1.5f), *wte = fvec((size_t)V * C, 1), *wpe = fvec((size_t)T * C, 1), *lg = fvec(M * V, 5);
    int32_t *tok = malloc(sizeof(int32_t) * M);
    for (size_t i = 0; i < M; i++) tok[i] = (int32_t)((i * 7919) % V);
    float *o = r, *mean = r + n, *rstd = mean + M;
    pt_k_layernorm_fwd_cpu(o, mean, rstd, x, w, b, (int)M, C);
    float *dx = rstd + M, *dw = dx + n, *db = dw + C;
    memset(dx, 0, sizeof(float) * (n + 2 * C));
    pt_k_layernorm_bwd_cpu(dx, dw, db, dy, x, w, mean, rstd, (int)M, C);
    float *g = db + C, *dg = g + n4;
    pt_k_gelu_fwd_cpu(g, h, n4);
    memset(dg, 0, sizeof(float) * n4);
    pt_k_gelu_bwd_cpu(dg, h, dh, n4);
    float *att = dg + n4, *lse = att + n, *dqkv = lse + (size_t)B * NH * T;
    pt_k_attn_fwd_cpu(att, lse, qkv, B, T, C, NH, 0.125f);
    memset(dqkv, 0, sizeof(float) * nq);
    pt_k_attn_bwd_cpu(dqkv, dy, qkv, att, lse, B, T, C, NH, 0.125f);
    float *enc = dqkv + nq, *dwte = enc + n, *dwpe = dwte + (size_t)V * C;
    pt_k_encoder_fwd_cpu(enc, tok, wte, wpe, B, T, C);
    memset(dwte, 0, sizeof(float) * ((size_t)V * C + (size_t)T * C));
    pt_k_encoder_bwd_cpu(dwte, dwpe, dy, tok, B, T, C);
    float *loss = dwpe + (size_t)T * C, *dl = loss + M;
    pt_k_xent_cpu(loss, dl, lg, tok, 0.01f, (int)M, V);
    float *sum = dl + M * V;
    pt_k_add_cpu(sum, x, dy, n);
    *n_out = (size_t)(sum + n - res);
    free(x), free(w), free(b), free(dy), free(h), free(dh), free(qkv), free(wte), free(wpe), free(lg), free(tok);
    return res;
}

TEST(cpu_kernels_independent_of_thread_count) {
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    size_t n1, n2, n3;
    omp_set_num_threads(1);
    float *a = run_all_cpu(&n1);
    omp_set_num_threads(2);
    float *b = run_all_cpu(&n2);
    omp_set_num_threads(3);
    float *c = run_all_cpu(&n3);
    omp_set_num_threads(saved);
    CHECK(n1 == n2 && n2 == n3 && same_bits(a, b, n1) && same_bits(a, c, n1));
    free(a), free(b), free(c);
#endif
}

/* ---- reference backward vs finite differences ------------------------------------------------ */

/* A forward evaluated at the current contents of its inputs, returning Σ dout·out in double. */
typedef double (*loss_fn)(void *ctx);

/* Central differences of loss over each element of x (n of them) against the analytic grad. Returns
 * the worst |fd - grad| / (atol + rtol·|fd|) (≤ 1 passes). */
static double fd_check(const char *what, loss_fn f, void *ctx, float *x, const float *grad, size_t n, float h) {
    const double atol = 1e-4, rtol = 1e-3;
    double worst = 0;
    size_t wi = 0;
    double wfd = 0;
    for (size_t i = 0; i < n; i++) {
        float x0 = x[i];
        x[i] = x0 + h;
        double lp = f(ctx);
        x[i] = x0 - h;
        double lm = f(ctx);
        x[i] = x0;
        double fd = (lp - lm) / (2.0 * h), r = fabs(fd - grad[i]) / (atol + rtol * fabs(fd));
        if (r > worst) worst = r, wi = i, wfd = fd;
    }
    if (getenv("PT_TEST_VERBOSE")) printf("  %s: worst %.3g x tolerance\n", what ? what : "(perturbed)", worst);
    else if (worst > 1 && what) printf("  %s: [%zu] analytic %.7g, finite difference %.7g\n", what, wi, grad[wi], wfd);
    return worst;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

typedef struct {
    int M, C;
    float *x, *w, *b, *dy, *out, *mean, *rstd;
} ln_ctx;
static double ln_loss(void *p) {
    ln_ctx *c = p;
    pt_k_layernorm_fwd_ref(c->out, c->mean, c->rstd, c->x, c->w, c->b, c->M, c->C);
    return dot(c->out, c->dy, (size_t)c->M * c->C);
}

TEST(layernorm_ref_finite_differences) {
    ln_ctx c = {3, 7, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t n = (size_t)c.M * c.C;
    c.x = fvec(n, 2), c.w = fvec(c.C, 1), c.b = fvec(c.C, 1), c.dy = fvec(n, 1);
    c.out = fvec(n, 1), c.mean = fvec(c.M, 1), c.rstd = fvec(c.M, 1);
    float *dx = calloc(n, sizeof(float)), *dw = calloc(c.C, sizeof(float)), *db = calloc(c.C, sizeof(float));
    ln_loss(&c);
    pt_k_layernorm_bwd_ref(dx, dw, db, c.dy, c.x, c.w, c.mean, c.rstd, c.M, c.C);
    CHECK(fd_check("ln dinp", ln_loss, &c, c.x, dx, n, 1e-2f) <= 1);
    CHECK(fd_check("ln dw", ln_loss, &c, c.w, dw, c.C, 1e-2f) <= 1);
    CHECK(fd_check("ln db", ln_loss, &c, c.b, db, c.C, 1e-2f) <= 1);
    /* the check must notice a wrong gradient */
    dx[4] += 0.002f;
    CHECK(fd_check(NULL, ln_loss, &c, c.x, dx, n, 1e-2f) > 1);
    free(c.x), free(c.w), free(c.b), free(c.dy), free(c.out), free(c.mean), free(c.rstd), free(dx), free(dw), free(db);
}

typedef struct {
    size_t n;
    float *x, *dy, *out;
} gelu_ctx;
static double gelu_loss(void *p) {
    gelu_ctx *c = p;
    pt_k_gelu_fwd_ref(c->out, c->x, c->n);
    return dot(c->out, c->dy, c->n);
}

TEST(gelu_ref_finite_differences) {
    gelu_ctx c = {40, NULL, NULL, NULL};
    c.x = fvec(c.n, 4), c.dy = fvec(c.n, 1), c.out = fvec(c.n, 1);
    float *dx = calloc(c.n, sizeof(float));
    pt_k_gelu_bwd_ref(dx, c.x, c.dy, c.n);
    CHECK(fd_check("gelu", gelu_loss, &c, c.x, dx, c.n, 1e-2f) <= 1);
    dx[7] += 0.002f;
    CHECK(fd_check(NULL, gelu_loss, &c, c.x, dx, c.n, 1e-2f) > 1);
    free(c.x), free(c.dy), free(c.out), free(dx);
}

typedef struct {
    int B, T, C, NH;
    float scale, *qkv, *dy, *out, *lse;
} attn_ctx;
static double attn_loss(void *p) {
    attn_ctx *c = p;
    pt_k_attn_fwd_ref(c->out, c->lse, c->qkv, c->B, c->T, c->C, c->NH, c->scale);
    return dot(c->out, c->dy, (size_t)c->B * c->T * c->C);
}

TEST(attn_ref_finite_differences) {
    static const int shapes[][4] = {{1, 1, 8, 2}, {2, 5, 8, 2}, {1, 6, 12, 1}};
    for (size_t s = 0; s < 3; s++) {
        attn_ctx c = {shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], 0.4f, NULL, NULL, NULL, NULL};
        size_t nq = (size_t)c.B * c.T * 3 * c.C, no = (size_t)c.B * c.T * c.C;
        c.qkv = fvec(nq, 1.5f), c.dy = fvec(no, 1), c.out = fvec(no, 1), c.lse = fvec((size_t)c.B * c.NH * c.T, 1);
        float *d = calloc(nq, sizeof(float));
        attn_loss(&c);
        pt_k_attn_bwd_ref(d, c.dy, c.qkv, c.out, c.lse, c.B, c.T, c.C, c.NH, c.scale);
        CHECK(fd_check("attn dqkv", attn_loss, &c, c.qkv, d, nq, 1e-2f) <= 1);
        if (s == 1) {
            d[3 * c.C + c.C + 1] += 0.002f; /* a key of position 1 */
            CHECK(fd_check(NULL, attn_loss, &c, c.qkv, d, nq, 1e-2f) > 1);
        }
        free(c.qkv), free(c.dy), free(c.out), free(c.lse), free(d);
    }
}

typedef struct {
    int B, T, C;
    int32_t *tok;
    float *wte, *wpe, *dy, *out;
} enc_ctx;
static double enc_loss(void *p) {
    enc_ctx *c = p;
    pt_k_encoder_fwd_ref(c->out, c->tok, c->wte, c->wpe, c->B, c->T, c->C);
    return dot(c->out, c->dy, (size_t)c->B * c->T * c->C);
}

TEST(encoder_ref_finite_differences) {
    int32_t tok[] = {3, 1, 3, 0, 2, 3}; /* token 3 three times, token 4 never */
    enc_ctx c = {2, 3, 4, tok, NULL, NULL, NULL, NULL};
    int V = 5;
    size_t n = (size_t)c.B * c.T * c.C;
    c.wte = fvec((size_t)V * c.C, 1), c.wpe = fvec((size_t)c.T * c.C, 1), c.dy = fvec(n, 1), c.out = fvec(n, 1);
    float *de = calloc((size_t)V * c.C, sizeof(float)), *dp = calloc((size_t)c.T * c.C, sizeof(float));
    pt_k_encoder_bwd_ref(de, dp, c.dy, tok, c.B, c.T, c.C);
    CHECK(fd_check("dwte", enc_loss, &c, c.wte, de, (size_t)V * c.C, 1e-2f) <= 1);
    CHECK(fd_check("dwpe", enc_loss, &c, c.wpe, dp, (size_t)c.T * c.C, 1e-2f) <= 1);
    free(c.wte), free(c.wpe), free(c.dy), free(c.out), free(de), free(dp);
}

typedef struct {
    int M, V;
    int32_t *tg;
    float dscale, *x, *loss;
} xent_ctx;
static double xent_loss(void *p) { /* dscale · Σ losses: dlogits is its gradient */
    xent_ctx *c = p;
    pt_k_xent_ref(c->loss, NULL, c->x, c->tg, c->dscale, c->M, c->V);
    double s = 0;
    for (int m = 0; m < c->M; m++) s += c->loss[m];
    return s * c->dscale;
}

TEST(xent_ref_finite_differences) {
    int32_t tg[] = {4, 0, 10};
    xent_ctx c = {3, 11, tg, 0.7f, NULL, NULL};
    size_t n = (size_t)c.M * c.V;
    c.x = fvec(n, 3), c.loss = fvec(c.M, 1);
    float *d = fvec(n, 1);
    pt_k_xent_ref(c.loss, d, c.x, tg, c.dscale, c.M, c.V);
    CHECK(fd_check("dlogits", xent_loss, &c, c.x, d, n, 1e-2f) <= 1);
    free(c.x), free(c.loss), free(d);
}

int main(void) {
    RUN(layernorm_cpu_matches_ref);
    RUN(gelu_cpu_matches_ref);
    RUN(attn_cpu_matches_ref);
    RUN(attn_single_position);
    RUN(encoder_cpu_equals_ref);
    RUN(xent_cpu_matches_ref_and_direct);
    RUN(add_cpu_equals_ref);
    RUN(cpu_kernels_independent_of_thread_count);
    RUN(layernorm_ref_finite_differences);
    RUN(gelu_ref_finite_differences);
    RUN(attn_ref_finite_differences);
    RUN(encoder_ref_finite_differences);
    RUN(xent_ref_finite_differences);
    return TEST_DONE();
}
