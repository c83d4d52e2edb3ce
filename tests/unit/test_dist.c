/* test_dist.c - the process group: segments, the single process, and (under mpirun) the ring
 * collectives against a naive reference.
 *
 * Run by hand or by tests/run.sh (no launcher) it is the single process: init says so, segments
 * cover [0, n) disjointly, every collective leaves the data as it was. Under mpirun (size > 1, the
 * same binary: tests/e2e/dist.sh) it runs the multi-rank tests: every rank can compute every
 * rank's input from a seed, so each checks its result against a sum computed locally. Each test's
 * outcome is agreed over the ranks (a max of the failure flags) and only rank 0 prints the
 * "ok"/"FAIL" lines, so tests/run.sh counts each test once; the other ranks write their failed
 * checks, tagged with their rank, to stderr (stdout is redirected there).
 *
 *     test_dist                         the single-process tests (or the multi-rank ones under mpirun)
 *     test_dist --abort-on-rank R       rank R calls pt_dist_abort(3), the others wait in a barrier
 *     test_dist --probe                 prints pt_dist_describe or the error of pt_dist_init
 */
#include <math.h>
#include <unistd.h>

#include "base/status.h"
#include "dist/dist.h"
#include "test.h"

static pt_dist *D;
static int R, N; /* this rank, the number of ranks */

static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
/* Rank q's input at index i. exact: multiples of 1/64 in [-15.6, 15.6], so that any sum of a few
 * is exact in float whatever the order; else uniform in [-1, 1) (sums round). */
static float input(uint64_t seed, int q, size_t i, int exact) {
    uint64_t h = mix(seed * 0x100000001b3ull ^ mix((uint64_t)q << 40 ^ i));
    if (exact) return (float)((int)(h % 2001) - 1000) / 64.0f;
    return (float)((double)(h >> 11) / 4503599627370496.0 - 1.0);
}
static void fill(float *x, size_t lo, size_t hi, uint64_t seed, int q, int exact) {
    for (size_t i = lo; i < hi; i++) x[i] = input(seed, q, i, exact);
}
/* sum over ranks, in rank order (naive) */
static void reference_sum(float *x, size_t n, uint64_t seed, int exact) {
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int q = 0; q < N; q++) s += input(seed, q, i, exact);
        x[i] = s;
    }
}
static size_t first_diff(const float *a, const float *b, size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++)
        if (a[i] != b[i]) return i;
    return hi;
}
#define CHECK_SAME(a, b, lo, hi, what)                                                                     \
    do {                                                                                                   \
        size_t i_ = first_diff(a, b, lo, hi);                                                              \
        if (i_ < (hi)) {                                                                                   \
            printf("  [rank %d] %s: n=%zu align=%zu: element %zu is %g, expected %g\n", R, what, n, align, \
                   i_, (double)(a)[i_], (double)(b)[i_]);                                                  \
            pt_t_failed_ = 1;                                                                              \
        }                                                                                                  \
    } while (0)

/* ---- single process ------------------------------------------------------------------------ */

TEST(single_init) {
    CHECK(N == 1 && R == 0);
    CHECK(pt_dist_local_size(D) == 1);
    CHECK_STR(pt_dist_describe(D), "single process");
    CHECK(pt_dist_size(NULL) == 1 && pt_dist_rank(NULL) == 0);
    CHECK_STR(pt_dist_describe(NULL), "single process");
    pt_dist_abort(D, 3); /* a single process: returns */
    pt_dist_abort(NULL, 3);
    pt_dist_finalize(NULL);
}

TEST(shard_covers) {
    static const size_t ns[] = {0, 1, 2, 7, 15, 16, 17, 100, 1000, 65535, 65536, 65537, 1000003, 124475904};
    static const size_t aligns[] = {1, 2, 16, 64, 1000, 65536};
    for (size_t a = 0; a < sizeof aligns / sizeof *aligns; a++)
        for (size_t k = 0; k < sizeof ns / sizeof *ns; k++)
            for (int nr = 1; nr <= 17; nr++) {
                size_t n = ns[k], align = aligns[a], prev = 0, lmin = (size_t)-1, lmax = 0, l0 = 0;
                int bad = 0;
                for (int r = 0; r < nr; r++) {
                    size_t lo, hi;
                    pt_dist_shard(n, align, r, nr, &lo, &hi);
                    bad |= lo != prev || hi < lo || hi > n; /* contiguous, disjoint, inside */
                    bad |= lo % align != 0 && lo != n;     /* aligned boundaries */
                    size_t len = hi - lo;
                    if (r == 0) l0 = len;
                    if (len < lmin) lmin = len;
                    if (len > lmax) lmax = len;
                    prev = hi;
                }
                bad |= prev != n;           /* covers everything */
                bad |= lmax - lmin >= 2 * align; /* balanced: one block apart, plus the short last block */
                bad |= l0 != lmax;          /* rank 0's is the longest (the ring's round count) */
                size_t elo, ehi;
                pt_dist_shard(n, align, nr, nr, &elo, &ehi);
                bad |= elo != n || ehi != n; /* past the last rank: empty */
                if (bad) {
                    printf("  shard n=%zu align=%zu nranks=%d\n", n, align, nr);
                    pt_t_failed_ = 1;
                }
            }
}

TEST(single_collectives_unchanged) {
    enum { n = 1000 };
    static float x[n], y[n];
    fill(x, 0, n, 1, 0, 0);
    memcpy(y, x, sizeof x);
    pt_err e = {0};
    pt_dist *ds[2] = {D, NULL};
    for (int k = 0; k < 2; k++) {
        pt_dist *d = ds[k];
        CHECK_OK(pt_dist_reduce_scatter(d, x, n, 16, &e), &e);
        CHECK_OK(pt_dist_allgather(d, x, n, 16, &e), &e);
        CHECK_OK(pt_dist_allreduce(d, x, n, &e), &e);
        CHECK_OK(pt_dist_allreduce_native(d, x, n, &e), &e);
        CHECK(!memcmp(x, y, sizeof x));
        double v[3] = {1.5, -2, 3};
        CHECK_OK(pt_dist_allreduce_f64(d, v, 3, PT_DIST_SUM, &e), &e);
        CHECK_OK(pt_dist_allreduce_f64(d, v, 3, PT_DIST_MAX, &e), &e);
        CHECK(v[0] == 1.5 && v[1] == -2 && v[2] == 3);
        char b[5] = "abcd", ab[5] = {0};
        CHECK_OK(pt_dist_bcast(d, b, 5, 0, &e), &e);
        CHECK_STR(b, "abcd");
        CHECK_OK(pt_dist_allgather_bytes(d, b, ab, 5, &e), &e);
        CHECK_STR(ab, "abcd");
        CHECK_OK(pt_dist_barrier(d, &e), &e);
        CHECK_OK(pt_dist_reduce_scatter(d, NULL, 0, 1, &e), &e);
    }
}

TEST(single_bad_arguments) {
    float x[4] = {0};
    pt_err e = {0};
    CHECK(pt_dist_reduce_scatter(D, x, 4, 0, &e) == PT_EUSAGE);
    CHECK(pt_dist_bcast(D, x, 4, -1, &e) == PT_EUSAGE);
    CHECK(pt_dist_allreduce(D, NULL, 4, &e) == PT_EUSAGE);
    CHECK(pt_dist_send(D, x, 4, 0, &e) == PT_EUSAGE); /* no other rank */
    CHECK(pt_dist_recv(NULL, x, 4, 1, &e) == PT_EUSAGE);
}

/* ---- several ranks ------------------------------------------------------------------------- */

TEST(multi_init) {
    const char *s = pt_dist_describe(D);
    char want[64];
    snprintf(want, sizeof want, ", %d ranks on ", N);
    CHECK(!strncmp(s, "MPI: ", 5) && strstr(s, want));
    CHECK(pt_dist_local_size(D) >= 1 && pt_dist_local_size(D) <= N);
    CHECK(R >= 0 && R < N);
    pt_err e = {0};
    CHECK_OK(pt_dist_barrier(D, &e), &e);
}

/* The n of the float collectives for an align: empty, tiny, around one block, around a block per
 * rank, and several chunks (rounds) per segment. */
static size_t test_ns(size_t align, size_t *ns) {
    size_t c = 0;
    ns[c++] = 0, ns[c++] = 1, ns[c++] = 7;
    if (align > 1) ns[c++] = align - 1, ns[c++] = align + 1;
    ns[c++] = align * (size_t)N - 1, ns[c++] = align * (size_t)N + 3;
    ns[c++] = 3 * PT_DIST_CHUNK + 5;
    ns[c++] = (size_t)N * PT_DIST_CHUNK + 1000;
    return c;
}
static const size_t ALIGNS[] = {1, 16, 65536};

TEST(multi_float_collectives) {
    pt_err e = {0};
    size_t maxn = (size_t)N * 65536 + 3 * PT_DIST_CHUNK + (size_t)N * PT_DIST_CHUNK + 1000;
    float *buf = malloc(maxn * sizeof(float)), *ref = malloc(maxn * sizeof(float));
    if (!buf || !ref) { CHECK(!"out of memory"); return; }
    for (size_t a = 0; a < sizeof ALIGNS / sizeof *ALIGNS; a++) {
        size_t align = ALIGNS[a], ns[16], nn = test_ns(align, ns);
        for (size_t k = 0; k < nn; k++) {
            size_t n = ns[k], lo, hi;
            uint64_t seed = 1000 + k * 10 + a;
            pt_dist_shard(n, align, R, N, &lo, &hi);
            reference_sum(ref, n, seed, 1);
            /* reduce-scatter: my segment is the sum */
            fill(buf, 0, n, seed, R, 1);
            CHECK_OK(pt_dist_reduce_scatter(D, buf, n, align, &e), &e);
            CHECK_SAME(buf, ref, lo, hi, "reduce-scatter");
            /* all-gather of the reduced segments: everything is the sum (garbage elsewhere first) */
            for (size_t i = 0; i < n; i++)
                if (i < lo || i >= hi) buf[i] = NAN;
            CHECK_OK(pt_dist_allgather(D, buf, n, align, &e), &e);
            CHECK_SAME(buf, ref, 0, n, "all-gather");
            /* all-reduce and MPI's */
            fill(buf, 0, n, seed, R, 1);
            CHECK_OK(pt_dist_allreduce(D, buf, n, &e), &e);
            CHECK_SAME(buf, ref, 0, n, "all-reduce");
            fill(buf, 0, n, seed, R, 1);
            CHECK_OK(pt_dist_allreduce_native(D, buf, n, &e), &e);
            CHECK_SAME(buf, ref, 0, n, "MPI_Allreduce");
        }
    }
    free(buf), free(ref);
}

/* Rounding sums: the same inputs give the same bits, on every rank and every run, close to the naive sum. */
TEST(multi_deterministic) {
    pt_err e = {0};
    size_t n = 2 * PT_DIST_CHUNK + 12345, align = 1;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float)), *ref = malloc(n * sizeof(float));
    if (!a || !b || !ref) { CHECK(!"out of memory"); return; }
    fill(a, 0, n, 77, R, 0);
    fill(b, 0, n, 77, R, 0);
    CHECK_OK(pt_dist_allreduce(D, a, n, &e), &e);
    CHECK_OK(pt_dist_allreduce(D, b, n, &e), &e);
    CHECK_SAME(a, b, 0, n, "two runs");
    /* every rank holds the same bits: compare hashes */
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &a[i], 4);
        h = mix(h ^ u);
    }
    uint64_t hs[64];
    CHECK(N <= 64);
    CHECK_OK(pt_dist_allgather_bytes(D, &h, hs, sizeof h, &e), &e);
    for (int q = 0; q < N && q < 64; q++) CHECK(hs[q] == h);
    reference_sum(ref, n, 77, 0);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - ref[i]));
    CHECK(worst < 1e-5 * N);
    free(a), free(b), free(ref);
}

/* ZeRO-1's path (reduce-scatter and all-gather with a large align) against the plain all-reduce
 * (align 1): the same bits with 2 ranks (each element is a + b either way); with more ranks an
 * element's additions run in an order that depends on its segment, so only close. */
TEST(multi_zero_path) {
    pt_err e = {0};
    size_t n = PT_DIST_CHUNK + 65536 * 3 + 17, align = 65536;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    if (!a || !b) { CHECK(!"out of memory"); return; }
    fill(a, 0, n, 99, R, 0);
    fill(b, 0, n, 99, R, 0);
    CHECK_OK(pt_dist_allreduce(D, a, n, &e), &e);
    CHECK_OK(pt_dist_reduce_scatter(D, b, n, align, &e), &e);
    CHECK_OK(pt_dist_allgather(D, b, n, align, &e), &e);
    if (N == 2) CHECK_SAME(b, a, 0, n, "ZeRO path against all-reduce");
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    CHECK(worst < 1e-6 * N);
    free(a), free(b);
}

TEST(multi_f64) {
    pt_err e = {0};
    double v[5], w[5];
    for (int i = 0; i < 5; i++) v[i] = w[i] = (R + 1) * (i - 2) + 0.25 * R;
    CHECK_OK(pt_dist_allreduce_f64(D, v, 5, PT_DIST_SUM, &e), &e);
    CHECK_OK(pt_dist_allreduce_f64(D, w, 5, PT_DIST_MAX, &e), &e);
    for (int i = 0; i < 5; i++) {
        double s = 0, m = -INFINITY;
        for (int q = 0; q < N; q++) s += (q + 1) * (i - 2) + 0.25 * q, m = fmax(m, (q + 1) * (i - 2) + 0.25 * q);
        CHECK(v[i] == s);
        CHECK(w[i] == m);
    }
    CHECK_OK(pt_dist_allreduce_f64(D, v, 0, PT_DIST_SUM, &e), &e);
}

TEST(multi_bcast) {
    pt_err e = {0};
    size_t len = 2 * PT_DIST_CHUNK * sizeof(float) + 13; /* three pieces */
    unsigned char *b = malloc(len);
    if (!b) { CHECK(!"out of memory"); return; }
    for (int root = 0; root < N; root += N - 1) {
        for (size_t i = 0; i < len; i++) b[i] = R == root ? (unsigned char)(mix(i + (size_t)root) >> 7) : 0;
        CHECK_OK(pt_dist_bcast(D, b, len, root, &e), &e);
        size_t bad = 0;
        for (size_t i = 0; i < len; i++) bad += b[i] != (unsigned char)(mix(i + (size_t)root) >> 7);
        CHECK_EQ_U64(bad, 0);
        char small[16];
        snprintf(small, sizeof small, "r%d", R);
        CHECK_OK(pt_dist_bcast(D, small, sizeof small, root, &e), &e);
        char want[16];
        snprintf(want, sizeof want, "r%d", root);
        CHECK_STR(small, want);
    }
    free(b);
}

TEST(multi_allgather_bytes) {
    pt_err e = {0};
    size_t lens[] = {0, 1, 5, PT_DIST_CHUNK * sizeof(float), PT_DIST_CHUNK * sizeof(float) + 7};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        size_t len = lens[k];
        unsigned char *mine = malloc(len + 1), *all = malloc((size_t)N * len + 1);
        if (!mine || !all) { CHECK(!"out of memory"); return; }
        for (size_t i = 0; i < len; i++) mine[i] = (unsigned char)mix(i * 31 + (size_t)R);
        memset(all, 0xee, (size_t)N * len);
        CHECK_OK(pt_dist_allgather_bytes(D, mine, all, len, &e), &e);
        size_t bad = 0;
        for (int q = 0; q < N; q++)
            for (size_t i = 0; i < len; i++) bad += all[(size_t)q * len + i] != (unsigned char)mix(i * 31 + (size_t)q);
        CHECK_EQ_U64(bad, 0);
        /* in place: mine is this rank's block of all */
        memset(all, 0, (size_t)N * len);
        if (len) memcpy(all + (size_t)R * len, mine, len);
        CHECK_OK(pt_dist_allgather_bytes(D, all + (size_t)R * len, all, len, &e), &e);
        bad = 0;
        for (int q = 0; q < N; q++)
            for (size_t i = 0; i < len; i++) bad += all[(size_t)q * len + i] != (unsigned char)mix(i * 31 + (size_t)q);
        CHECK_EQ_U64(bad, 0);
        free(mine), free(all);
    }
}

/* rank 0 to the last rank in several pieces, and a small reply; the others stay out */
TEST(multi_send_recv) {
    pt_err e = {0};
    size_t len = 2 * PT_DIST_CHUNK * sizeof(float) + 5;
    unsigned char *b = malloc(len);
    if (!b) { CHECK(!"out of memory"); return; }
    int last = N - 1;
    if (R == 0) {
        for (size_t i = 0; i < len; i++) b[i] = (unsigned char)mix(i ^ 0x5a);
        CHECK_OK(pt_dist_send(D, b, len, last, &e), &e);
        CHECK_OK(pt_dist_send(D, b, 0, last, &e), &e);
        int reply = 0;
        CHECK_OK(pt_dist_recv(D, &reply, sizeof reply, last, &e), &e);
        CHECK(reply == 4242);
    } else if (R == last) {
        memset(b, 0, len);
        CHECK_OK(pt_dist_recv(D, b, len, 0, &e), &e);
        CHECK_OK(pt_dist_recv(D, b, 0, 0, &e), &e);
        size_t bad = 0;
        for (size_t i = 0; i < len; i++) bad += b[i] != (unsigned char)mix(i ^ 0x5a);
        CHECK_EQ_U64(bad, 0);
        int reply = 4242;
        CHECK_OK(pt_dist_send(D, &reply, sizeof reply, 0, &e), &e);
    }
    /* lengths that disagree: a longer message is MPI's error (PT_EIO with its text), a shorter one ours */
    if (R == 0) {
        CHECK_OK(pt_dist_send(D, b, 100, last, &e), &e);
        CHECK_OK(pt_dist_send(D, b, 50, last, &e), &e);
    } else if (R == last) {
        CHECK(pt_dist_recv(D, b, 50, 0, &e) == PT_EIO);
        CHECK(strstr(e.msg, "receive: MPI: ") == e.msg);
        CHECK(pt_dist_recv(D, b, 100, 0, &e) == PT_EINTERNAL);
        CHECK(strstr(e.msg, "received 50 bytes from rank 0, expected 100") != NULL);
    }
    CHECK(pt_dist_send(D, b, 1, R, &e) == PT_EUSAGE); /* not to itself */
    CHECK(pt_dist_recv(D, b, 1, N, &e) == PT_EUSAGE);
    free(b);
}

/* ---- the driver ------------------------------------------------------------------------------ */

/* Runs a test on every rank; its outcome is the worst over the ranks, printed by rank 0 only. */
#define MRUN(name)                                                                  \
    do {                                                                            \
        pt_t_failed_ = 0;                                                           \
        name();                                                                     \
        double f_ = pt_t_failed_;                                                   \
        pt_err e_ = {0};                                                            \
        if (pt_dist_allreduce_f64(D, &f_, 1, PT_DIST_MAX, &e_)) {                   \
            fprintf(stderr, "[rank %d] agreeing on %s: %s\n", R, #name, e_.msg);    \
            f_ = 1;                                                                 \
        }                                                                           \
        if (pt_t_failed_ && R) fprintf(stderr, "[rank %d] failed %s\n", R, #name);  \
        if (f_) pt_t_nfail_++;                                                      \
        else pt_t_npass_++;                                                         \
        if (R == 0) printf("%s %s\n", f_ ? "FAIL" : "ok", #name);                   \
        fflush(stdout);                                                             \
    } while (0)

int main(int argc, char **argv) {
    pt_err e = {0};
    int probe = argc > 1 && !strcmp(argv[1], "--probe");
    if (pt_dist_init(&D, &e)) {
        fprintf(probe ? stdout : stderr, "pt_dist_init: %s\n", e.msg);
        if (!probe) printf("FAIL dist_init\n");
        return 1;
    }
    R = pt_dist_rank(D), N = pt_dist_size(D);
    if (probe) {
        printf("%s\n", pt_dist_describe(D));
        pt_dist_finalize(D);
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "--abort-on-rank")) {
        int victim = atoi(argv[2]);
        if (R == victim) {
            fprintf(stderr, "[rank %d] aborting the job\n", R);
            pt_dist_abort(D, 3);
            fprintf(stderr, "[rank %d] pt_dist_abort returned\n", R); /* the single process */
        } else if (pt_dist_barrier(D, &e)) { /* waits for the victim: the job ends here */
            fprintf(stderr, "[rank %d] barrier: %s\n", R, e.msg);
        }
        pt_dist_finalize(D);
        return N == 1 ? 0 : 2;
    }
    if (R != 0) dup2(2, 1); /* only rank 0 writes the lines tests/run.sh counts */
    if (N == 1) {
        MRUN(single_init);
        MRUN(shard_covers);
        MRUN(single_collectives_unchanged);
        MRUN(single_bad_arguments);
    } else {
        MRUN(multi_init);
        MRUN(multi_float_collectives);
        MRUN(multi_deterministic);
        MRUN(multi_zero_path);
        MRUN(multi_f64);
        MRUN(multi_bcast);
        MRUN(multi_allgather_bytes);
        MRUN(multi_send_recv);
    }
    int rc = pt_t_nfail_ ? 1 : 0;
    if (R == 0) printf("# %d passed, %d failed\n", pt_t_npass_, pt_t_nfail_);
    pt_dist_finalize(D);
    return rc;
}
