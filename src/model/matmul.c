/* matmul.c - the matrix products of GPT-2 (see kernels.h for the contracts).
 *
 * Three products per linear layer, all mapped onto ONE packed GEMM, C[m,n] (+)= Σ_k A(i,k)·B(k,j):
 *   forward   out[M,N]  = inp[M,K] · w[N,K]ᵀ (+ bias)   A = inp (row-major), B = wᵀ (read transposed)
 *   backward  dinp[M,K] += dout[M,N] · w[N,K]           A = dout (row-major), B = w (row-major)
 *   backward  dw[N,K]   += dout[M,N]ᵀ · inp[M,K]        A = doutᵀ (read transposed), B = inp (row-major)
 * plus dbias[N] += column sums of dout, a separate streaming pass.
 *
 * The GEMM is blocked the GotoBLAS/BLIS way: for a block of NC columns and KC of the reduction,
 * a slab of B is packed into NR-wide micro-panels (kc×NR, contiguous, zero-padded), then for each
 * block of MC rows the matching A block is packed into MR-tall micro-panels; a register-blocked
 * micro-kernel multiplies one A micro-panel by one B micro-panel into an MR×NR tile of C held in
 * registers. Transposition lives only in the packing routines, so one micro-kernel serves all
 * three products. Edge tiles (M, N not multiples of MR, NR, e.g. the vocabulary 50257) are
 * computed in full on the zero-padded panels into a small stack tile and only the valid part is
 * written back, so the micro-kernel has a single shape.
 *
 * Micro-kernels are written once with GCC vector extensions and instantiated per geometry:
 * 6×16 (two 8-wide vectors: AVX2/FMA, 12 accumulators) and 12×32 (two 16-wide vectors: 24
 * accumulators), the latter compiled both for AVX-512 (used when the CPU has it, chosen at run
 * time) and without a target attribute (the same source lowered to the build machine's vectors)
 * so that its logic is tested on machines without AVX-512 (pt_k_matmul_select("wide")).
 *
 * Threads: the larger of the two output dimensions is cut into chunks of whole micro-tiles that
 * the threads take dynamically; each thread packs into its own static buffers. The reduction
 * dimension is never split, and every element of C is summed in the same order (KC blocks in
 * sequence, k in sequence inside a block) whatever the split, so the result does not depend on
 * the thread count at all: bit-identical across runs and thread counts. (Across machines it may
 * differ: the micro-kernel, chosen by the CPU, fixes KC and so the order.) No atomics, no malloc.
 *
 * Memory: the pack buffers are static, PT_MM_MAXTHR (64) slots of 2.1 MB of BSS; a slot's pages
 * are touched only by a thread that uses it (2 threads: ~4.3 MB resident). Because the slots are
 * indexed by OpenMP thread number, the _cpu products are not reentrant: call them from one thread
 * at a time, outside any parallel region.
 */
#include "model/kernels.h"

#include <assert.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- reference kernels: naive loops, double accumulation, single-threaded ---------------- */

void pt_k_matmul_fwd_ref(float *out, const float *inp, const float *w, const float *bias, int M, int K, int N) {
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            double s = bias ? bias[n] : 0.0;
            for (int k = 0; k < K; k++) s += (double)inp[(size_t)m * K + k] * w[(size_t)n * K + k];
            out[(size_t)m * N + n] = (float)s;
        }
    }
}

void pt_k_matmul_bwd_ref(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                         int M, int K, int N) {
    if (dinp) {
        for (int m = 0; m < M; m++) {
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int n = 0; n < N; n++) s += (double)dout[(size_t)m * N + n] * w[(size_t)n * K + k];
                dinp[(size_t)m * K + k] += (float)s;
            }
        }
    }
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int m = 0; m < M; m++) s += (double)dout[(size_t)m * N + n] * inp[(size_t)m * K + k];
            dw[(size_t)n * K + k] += (float)s;
        }
    }
    if (dbias) {
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int m = 0; m < M; m++) s += dout[(size_t)m * N + n];
            dbias[n] += (float)s;
        }
    }
}

/* ---- micro-kernels ------------------------------------------------------------------------ */

/* c[MR×NR] (row stride ldc) = a·b + bias (bias may be NULL) when acc == 0, c += a·b otherwise.
 * a: kc columns of MR values; b: kc rows of NR values, 64-byte aligned. */
typedef void (*ukernel_fn)(int kc, const float *a, const float *b, float *c, long ldc, const float *bias, int acc);

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

/* One definition, several instantiations: VT the vector type (aligned), VU its unaligned twin,
 * VW its width, MR rows, NV vectors per row (NR = NV·VW). Loops over constants are unrolled so
 * the MR×NV accumulators live in registers. */
#define PT_UKERNEL(NAME, ATTR, VT, VU, VW, MR, NV)                                                       \
    ATTR static void NAME(int kc, const float *restrict a, const float *restrict b, float *restrict c,    \
                          long ldc, const float *restrict bias, int acc) {                                \
        VT r[MR][NV];                                                                                    \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                         \
            __builtin_prefetch(c + i * ldc, 1, 3);                                                       \
            __builtin_prefetch(c + i * ldc + NV * VW - 1, 1, 3);                                         \
        }                                                                                                \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                                           \
            _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) r[i][j] = (VT){0};                     \
        for (int k = 0; k < kc; k++) {                                                                   \
            VT bv[NV];                                                                                   \
            _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) bv[j] = ((const VT *)b)[j];            \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                     \
                VT av = a[i] - (VT){0};                                                                  \
                _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) r[i][j] += av * bv[j];             \
            }                                                                                            \
            a += MR;                                                                                     \
            b += NV * VW;                                                                                \
        }                                                                                                \
        if (acc) {                                                                                       \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                                       \
                _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) {                                  \
                VU *p = (VU *)(c + i * ldc + j * VW);                                                    \
                *p = *p + r[i][j];                                                                       \
            }                                                                                            \
        } else {                                                                                         \
            VT bb[NV];                                                                                   \
            _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) bb[j] =                                \
                bias ? *(const VU *)(bias + j * VW) : (VT){0};                                           \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                                       \
                _Pragma("GCC unroll 4") for (int j = 0; j < NV; j++)                                    \
                    *(VU *)(c + i * ldc + j * VW) = r[i][j] + bb[j];                                     \
        }                                                                                                \
    }

PT_UKERNEL(uk_6x16, , v8, v8u, 8, 6, 2)
PT_UKERNEL(uk_12x32_generic, , v16, v16u, 16, 12, 2)
#if defined(__x86_64__) && defined(__GNUC__)
#define PT_MM_HAVE_AVX512 1
PT_UKERNEL(uk_12x32_avx512, __attribute__((target("avx512f"))), v16, v16u, 16, 12, 2)
#endif

/* A geometry: micro-tile MR×NR and the cache blocks (MC multiple of MR, NC multiple of NR). */
typedef struct mm_geom {
    const char *name;
    ukernel_fn fn;
    int mr, nr, mc, kc, nc;
} mm_geom;

/* KC·NR·4 B (one B micro-panel, 16-32 KB) stays in L1; MC·KC·4 (the A block, ~150 KB) in L2;
 * KC·NC·4 (the B slab, 2 MB per thread) in L3. */
enum { PT_MM_KC = 256, PT_MM_MC = 144, PT_MM_NC = 2048, PT_MM_MAXTHR = 64, PT_MM_MAXMR = 12, PT_MM_MAXNR = 32 };

static const mm_geom geom_avx2 = {"avx2-6x16", uk_6x16, 6, 16, PT_MM_MC, PT_MM_KC, PT_MM_NC};
/* 12×32: KC 192 keeps its 32-wide B micro-panel at 24 KB, inside a 32-48 KB L1 beside the A stream. */
static const mm_geom geom_wide = {"generic-12x32", uk_12x32_generic, 12, 32, PT_MM_MC, 192, PT_MM_NC};
#ifdef PT_MM_HAVE_AVX512
static const mm_geom geom_avx512 = {"avx512-12x32", uk_12x32_avx512, 12, 32, PT_MM_MC, 192, PT_MM_NC};
#endif

static const mm_geom *mm_selected; /* set once (first call or pt_k_matmul_select), read with atomics */

static const mm_geom *mm_auto(void) {
#ifdef PT_MM_HAVE_AVX512
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return &geom_avx512;
#endif
    return &geom_avx2;
}

static const mm_geom *mm_geom_get(void) {
    const mm_geom *g = __atomic_load_n(&mm_selected, __ATOMIC_ACQUIRE);
    if (!g) {
        g = mm_auto();
        __atomic_store_n(&mm_selected, g, __ATOMIC_RELEASE);
    }
    return g;
}

/* Not in kernels.h yet (tests and bench declare it): choose the micro-kernel of the _cpu products.
 * "auto" (the default: AVX-512 when the CPU has it, else 6×16), "avx2" (6×16), "avx512" (fails
 * with -1 on a CPU without it), "wide" (the 12×32 kernel compiled without AVX-512, to test its
 * logic anywhere). Not thread-safe against concurrent products: call before them. */
int pt_k_matmul_select(const char *name);
const char *pt_k_matmul_selected(void);

int pt_k_matmul_select(const char *name) {
    const mm_geom *g = NULL;
    if (!strcmp(name, "auto")) g = mm_auto();
    else if (!strcmp(name, "avx2")) g = &geom_avx2;
    else if (!strcmp(name, "wide")) g = &geom_wide;
#ifdef PT_MM_HAVE_AVX512
    else if (!strcmp(name, "avx512")) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) g = &geom_avx512;
    }
#endif
    if (!g) return -1;
    __atomic_store_n(&mm_selected, g, __ATOMIC_RELEASE);
    return 0;
}

const char *pt_k_matmul_selected(void) { return mm_geom_get()->name; }

/* ---- packing -------------------------------------------------------------------------------- */

/* An operand of the GEMM as a strided view: X(r, k) = p[r·rs + k·ks], one of rs, ks being 1. */
typedef struct mm_view {
    const float *p;
    long rs, ks;
} mm_view;

/* Packs rows [r0, r0+nr) × k [k0, k0+kc) of X into micro-panels of R rows: panel q holds, for
 * each k, R consecutive values X(r0+q·R+i, k0+k), zero beyond the last row. R is a constant in
 * each instantiation (the copies unroll into vector moves or R-stream gathers). */
static inline __attribute__((always_inline)) void pack_r(float *restrict dst, mm_view x, long r0, int nr, long k0,
                                                         int kc, const int R) {
    int full = nr / R * R; /* rows in whole panels */
    if (x.rs == 1) {
        /* Rows contiguous (a transposed operand: X(r,k) = p[k·ks + r]): walk k outer so that each
         * k reads one contiguous run of nr values (prefetcher-friendly even when ks is large),
         * dealt out R at a time to the panels, which all sit in this thread's L2-sized buffer. */
        for (int k = 0; k < kc; k++) {
            const float *sk = x.p + (k0 + k) * x.ks + r0;
            float *restrict d = dst + (size_t)k * R;
            if (k + 8 < kc) /* rows may be pages apart: fetch ahead of the hardware prefetcher */
                for (int off = 0; off < nr; off += 16) __builtin_prefetch(sk + 8 * x.ks + off, 0, 3);
            for (int q = 0; q < full; q += R) {
                _Pragma("GCC unroll 32") for (int i = 0; i < R; i++) d[(size_t)q * kc + i] = sk[q + i];
            }
        }
    } else {
        /* k contiguous (X(r,k) = p[r·rs + k]): each panel gathers R streams (a transpose). */
        for (int q = 0; q < full; q += R) {
            const float *s = x.p + (r0 + q) * x.rs + k0;
            float *restrict d = dst + (size_t)q * kc;
            const float *si[32];
            for (int i = 0; i < R; i++) si[i] = s + i * x.rs;
            for (int k = 0; k < kc; k++) {
                _Pragma("GCC unroll 32") for (int i = 0; i < R; i++) d[(size_t)k * R + i] = si[i][k];
            }
        }
    }
    if (full < nr) { /* the last, partial panel: zero-padded */
        int rows = nr - full;
        const float *s = x.p + (r0 + full) * x.rs + k0 * x.ks;
        float *restrict d = dst + (size_t)full * kc;
        for (int k = 0; k < kc; k++) {
            int i = 0;
            for (; i < rows; i++) d[(size_t)k * R + i] = s[i * x.rs + k * x.ks];
            for (; i < R; i++) d[(size_t)k * R + i] = 0.0f;
        }
    }
}

static void pack(float *dst, mm_view x, long r0, int nr, long k0, int kc, int R) {
    switch (R) {
    case 6: pack_r(dst, x, r0, nr, k0, kc, 6); break;
    case 12: pack_r(dst, x, r0, nr, k0, kc, 12); break;
    case 16: pack_r(dst, x, r0, nr, k0, kc, 16); break;
    case 32: pack_r(dst, x, r0, nr, k0, kc, 32); break;
    default: assert(0);
    }
}

/* ---- the GEMM driver ------------------------------------------------------------------------ */

static float mm_abuf[PT_MM_MAXTHR][PT_MM_MC * PT_MM_KC] __attribute__((aligned(64)));
static float mm_bbuf[PT_MM_MAXTHR][PT_MM_KC * PT_MM_NC] __attribute__((aligned(64)));

/* C[i0..i1, j0..j1] (+)= A·B over the whole reduction length K, single thread `t`.
 * A(i,k) = a view, B(j,k) = b view (B's "rows" are the columns of C). acc == 0: the first KC
 * block stores (adding bias[j] when bias is not NULL); later blocks and acc != 0 accumulate. */
static void gemm_part(const mm_geom *g, int t, float *C, long ldc, mm_view a, mm_view b, const float *bias, long i0,
                      long i1, long j0, long j1, long K, int acc) {
    const int MR = g->mr, NR = g->nr;
    float *abuf = mm_abuf[t], *bbuf = mm_bbuf[t];
    int nkb = (int)((K + g->kc - 1) / g->kc);
    if (nkb == 0) nkb = 1;
    int kcb = (int)((K + nkb - 1) / nkb); /* equal KC blocks: 384 -> 2×192, not 256+128 */
    float tile[PT_MM_MAXMR * PT_MM_MAXNR] __attribute__((aligned(64)));
    for (long jc = j0; jc < j1; jc += g->nc) {
        int nc = (int)(j1 - jc < g->nc ? j1 - jc : g->nc);
        for (long pc = 0; pc < K || pc == 0; pc += kcb) {
            int kc = (int)(K - pc < kcb ? K - pc : kcb);
            int blk_acc = acc || pc > 0;
            if (kc == 0) { /* K == 0: C = bias (or 0) when storing, nothing when accumulating */
                if (!blk_acc)
                    for (long i = i0; i < i1; i++)
                        for (long j = jc; j < jc + nc; j++) C[i * ldc + j] = bias ? bias[j] : 0.0f;
                break;
            }
            pack(bbuf, b, jc, nc, pc, kc, NR);
            for (long ic = i0; ic < i1; ic += g->mc) {
                int mc = (int)(i1 - ic < g->mc ? i1 - ic : g->mc);
                pack(abuf, a, ic, mc, pc, kc, MR);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = nc - jr < NR ? nc - jr : NR;
                    const float *bp = bbuf + (size_t)jr * kc;
                    const float *bj = bias ? bias + jc + jr : NULL;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        const float *ap = abuf + (size_t)ir * kc;
                        float *c = C + (ic + ir) * ldc + jc + jr;
                        if (mr == MR && nr == NR) {
                            g->fn(kc, ap, bp, c, ldc, bj, blk_acc);
                        } else {
                            g->fn(kc, ap, bp, tile, NR, NULL, 0);
                            for (int i = 0; i < mr; i++)
                                for (int j = 0; j < nr; j++) {
                                    float v = tile[i * NR + j];
                                    if (blk_acc) c[i * ldc + j] += v;
                                    else c[i * ldc + j] = v + (bj ? bj[j] : 0.0f);
                                }
                        }
                    }
                }
            }
        }
    }
}

/* C[m,n] (+)= A·B on all threads. The larger of m, n is cut into chunks of whole micro-tiles,
 * 1 to 4 per thread, none under 1024 rows/columns if it can be helped (each chunk repacks the
 * other operand: 1 packed element per 2·1024 FLOP, a few %), and
 * the threads take chunks as they come free: on a machine shared with other work a descheduled
 * thread then delays the product by one chunk, not by its whole static share. Which thread
 * computes a chunk does not change any bit of it (see the file header). */
static void gemm(float *C, long ldc, mm_view a, mm_view b, const float *bias, long m, long n, long K, int acc) {
    const mm_geom *g = mm_geom_get();
    if (m <= 0 || n <= 0) return;
    int nt = 1;
#ifdef _OPENMP
    assert(!omp_in_parallel()); /* the pack buffers belong to the threads of one product at a time */
    nt = omp_get_max_threads();
    if (nt > PT_MM_MAXTHR) nt = PT_MM_MAXTHR;
    if ((double)m * n * (K + 1) < 262144.0) nt = 1; /* too small to be worth a fork */
#endif
    int split_m = m >= n;
    long unit = split_m ? g->mr : g->nr, len = split_m ? m : n;
    long tiles = (len + unit - 1) / unit;
    if (nt > tiles) nt = (int)tiles;
    /* chunks per thread: up to 4, a whole number of them so that an unloaded machine is balanced */
    long min_tiles = (1024 + unit - 1) / unit, per = tiles / ((long)nt * min_tiles);
    long nchunks = (long)nt * (per < 1 ? 1 : per > 4 ? 4 : per);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (long ch = 0; ch < nchunks; ch++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        long lo = tiles * ch / nchunks * unit, hi = tiles * (ch + 1) / nchunks * unit;
        if (hi > len) hi = len;
        if (lo < hi) {
            if (split_m) gemm_part(g, t, C, ldc, a, b, bias, lo, hi, 0, n, K, acc);
            else gemm_part(g, t, C, ldc, a, b, bias, 0, m, lo, hi, K, acc);
        }
    }
}

/* ---- the fast kernels ------------------------------------------------------------------------ */

/* Few rows (decoding: one token per sequence): the product is a pass over w, bound by memory, and
 * packing w for the GEMM would cost more than the multiply. Each output is a dot product of two
 * contiguous rows, summed in 8 lanes then across them in a fixed order: the same for any M here and
 * any thread count. */
enum { GEMV_MAX_M = 8 };
typedef float gv8 __attribute__((vector_size(32), aligned(4)));

static void gemv_rows(float *out, const float *inp, const float *w, const float *bias, int M, int K, int N) {
#pragma omp parallel for schedule(static) if ((long)N * K > 32768)
    for (int n = 0; n < N; n++) {
        const float *wr = w + (size_t)n * K;
        gv8 acc[GEMV_MAX_M];
        for (int m = 0; m < M; m++) acc[m] = (gv8){0};
        int k = 0;
        for (; k + 8 <= K; k += 8) {
            gv8 wv = *(const gv8 *)(wr + k);
            for (int m = 0; m < M; m++) acc[m] += wv * *(const gv8 *)(inp + (size_t)m * K + k);
        }
        for (int m = 0; m < M; m++) {
            float sum = ((acc[m][0] + acc[m][4]) + (acc[m][1] + acc[m][5])) + ((acc[m][2] + acc[m][6]) + (acc[m][3] + acc[m][7]));
            for (int kk = k; kk < K; kk++) sum += wr[kk] * inp[(size_t)m * K + kk];
            out[(size_t)m * N + n] = sum + (bias ? bias[n] : 0.0f);
        }
    }
}

void pt_k_matmul_fwd_cpu(float *out, const float *inp, const float *w, const float *bias, int M, int K, int N) {
    if (M <= GEMV_MAX_M) {
        gemv_rows(out, inp, w, bias, M, K, N);
        return;
    }
    mm_view a = {inp, K, 1}; /* A(i,k) = inp[i,k] */
    mm_view b = {w, K, 1};   /* B(j,k) = w[j,k]   */
    gemm(out, N, a, b, bias, M, N, K, 0);
}

/* dbias[n] += Σ_m dout[m,n]: threads own column ranges, rows summed in order in 64-column strips. */
static void colsum(float *dbias, const float *dout, int M, int N) {
    enum { W = 64 };
    long strips = (N + W - 1) / W;
#pragma omp parallel for schedule(static) if ((long)M * N > 65536)
    for (long s = 0; s < strips; s++) {
        int j0 = (int)(s * W), w = N - j0 < W ? N - j0 : W;
        float acc[W] = {0};
        for (int m = 0; m < M; m++) {
            const float *row = dout + (size_t)m * N + j0;
            for (int j = 0; j < w; j++) acc[j] += row[j];
        }
        for (int j = 0; j < w; j++) dbias[j0 + j] += acc[j];
    }
}

void pt_k_matmul_bwd_cpu(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                         int M, int K, int N) {
    if (dinp) {
        mm_view a = {dout, N, 1}; /* A(i,n) = dout[i,n]                  */
        mm_view b = {w, 1, K};    /* B(j,n) = w[n,j]: columns of w[N,K]  */
        gemm(dinp, K, a, b, NULL, M, K, N, 1);
    }
    {
        mm_view a = {dout, 1, N}; /* A(i,m) = dout[m,i] */
        mm_view b = {inp, 1, K};  /* B(j,m) = inp[m,j]  */
        gemm(dw, K, a, b, NULL, N, K, M, 1);
    }
    if (dbias) colsum(dbias, dout, M, N);
}
