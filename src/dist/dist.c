/* dist.c - the process group: launcher detection, segments, the single-process behaviour and the
 * ring collectives, written on the transport of dist_impl.h (dist_mpi.c or dist_nompi.c).
 *
 * The ring (N ranks, rank r sends to r+1 and receives from r-1, indices mod N):
 * - reduce-scatter, steps s = 0..N-2: send segment r-1-s, receive segment r-2-s into scratch and
 *   add it into buf. A segment i travels i+1, i+2, ..., i+N-1 = i-1 and reaches its owner i at
 *   the last step, each hop adding one rank's values: after N-1 steps rank r holds the full sum of
 *   segment r. The order of the additions depends only on i and N, so results are deterministic.
 * - all-gather, steps s = 0..N-2: send segment r-s, receive segment r-s-1 straight into buf (the
 *   segment the left neighbour got at the step before, its own at s = 0).
 * Each step moves one segment, in rounds of at most PT_DIST_CHUNK floats (the scratch's size).
 * Every rank loops the same number of rounds, ceil(longest segment / PT_DIST_CHUNK), so the k-th
 * message of a step always pairs with the neighbour's k-th; a segment shorter than the others
 * sends empty messages in its last rounds.
 */
#include "dist/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "dist/dist_impl.h"

/* bytes per message of bcast and allgather_bytes (the ring's float chunks have the same size) */
#define PIECE (PT_DIST_CHUNK * sizeof(float))

struct pt_dist {
    int rank, size, local_size, machines;
    pt_dist_tr *tr; /* NULL: a single process without a launcher */
    float *scratch; /* [PT_DIST_CHUNK] when size > 1: where the reduce-scatter receives */
    char desc[192];
};

/* ---- segments ------------------------------------------------------------------------------ */

void pt_dist_shard(size_t n, size_t align, int r, int nranks, size_t *lo, size_t *hi) {
    /* n is cut into u = ceil(n / align) blocks of align elements (the last block may be short);
     * rank r gets base or base+1 consecutive blocks, the first u % nranks ranks one more. A rank
     * outside [0, nranks) gets an empty segment at the start or the end. */
    if (align < 1) align = 1;
    if (nranks < 1) nranks = 1;
    if (r < 0 || r >= nranks) {
        *lo = *hi = r < 0 ? 0 : n;
        return;
    }
    size_t u = n / align + (n % align != 0);
    size_t base = u / (size_t)nranks, extra = u % (size_t)nranks, rr = (size_t)r;
    size_t b0 = rr * base + (rr < extra ? rr : extra);
    size_t b1 = b0 + base + (rr < extra);
    *lo = b0 >= u ? n : b0 * align;
    *hi = b1 >= u ? n : b1 * align;
}

static size_t seg_max(size_t n, size_t align, int nranks) {
    size_t lo, hi;
    pt_dist_shard(n, align, 0, nranks, &lo, &hi); /* rank 0's segment is never shorter */
    return hi - lo;
}

static int mod(int a, int n) { return ((a % n) + n) % n; }

/* ---- joining ------------------------------------------------------------------------------- */

static int launched(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return 1;
    }
    return 0;
}

int pt_dist_init(pt_dist **out, pt_err *e) {
    *out = NULL;
    pt_dist *d = pt_calloc(1, sizeof *d, e);
    if (!d) return PT_ENOMEM;
    d->rank = 0, d->size = 1, d->local_size = 1, d->machines = 1;
    snprintf(d->desc, sizeof d->desc, "single process");
    if (launched()) {
        pt_dist_tr_info info = {0};
        int rc = pt_dist_tr_init(&d->tr, &info, e);
        if (rc) {
            free(d);
            return rc;
        }
        d->rank = info.rank, d->size = info.size, d->local_size = info.local_size, d->machines = info.machines;
        snprintf(d->desc, sizeof d->desc, "MPI: %s, %d rank%s on %d machine%s", pt_dist_tr_describe(d->tr),
                 d->size, d->size == 1 ? "" : "s", d->machines, d->machines == 1 ? "" : "s");
        if (d->size > 1) {
            /* touched now, so that no collective pays for fresh pages */
            d->scratch = pt_malloc(PT_DIST_CHUNK * sizeof(float), e);
            if (!d->scratch) {
                pt_dist_finalize(d);
                return PT_ENOMEM;
            }
            memset(d->scratch, 0, PT_DIST_CHUNK * sizeof(float));
        }
    }
    *out = d;
    return PT_OK;
}

void pt_dist_finalize(pt_dist *d) {
    if (!d) return;
    pt_dist_tr_finalize(d->tr);
    free(d->scratch);
    free(d);
}

void pt_dist_abort(pt_dist *d, int code) {
    if (d && d->tr) pt_dist_tr_abort(d->tr, code);
}

int pt_dist_rank(const pt_dist *d) { return d ? d->rank : 0; }
int pt_dist_size(const pt_dist *d) { return d ? d->size : 1; }
int pt_dist_local_size(const pt_dist *d) { return d ? d->local_size : 1; }
const char *pt_dist_describe(const pt_dist *d) { return d ? d->desc : "single process"; }

/* ---- the ring -------------------------------------------------------------------------------- */

static int check_args(const void *buf, size_t n, size_t align, const char *what, pt_err *e) {
    if (align < 1) return pt_fail(e, PT_EUSAGE, "%s: align must be at least 1", what);
    if (n && !buf) return pt_fail(e, PT_EUSAGE, "%s: no buffer for %zu elements", what, n);
    return PT_OK;
}

/* a kept separate, so the compiler vectorizes it without worrying about aliasing */
static void add_into(float *restrict dst, const float *restrict src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

/* The part of segment [lo, hi) that round k moves: its offset and length. */
static size_t round_len(size_t lo, size_t hi, size_t k) {
    size_t len = hi - lo, off = k * PT_DIST_CHUNK;
    if (off >= len) return 0;
    return len - off < PT_DIST_CHUNK ? len - off : PT_DIST_CHUNK;
}

static int ring_reduce_scatter(pt_dist *d, float *buf, size_t n, size_t align, pt_err *e) {
    int N = d->size, r = d->rank, right = mod(r + 1, N), left = mod(r - 1, N);
    size_t rounds = (seg_max(n, align, N) + PT_DIST_CHUNK - 1) / PT_DIST_CHUNK;
    for (int s = 0; s < N - 1; s++) {
        size_t slo, shi, rlo, rhi;
        pt_dist_shard(n, align, mod(r - 1 - s, N), N, &slo, &shi);
        pt_dist_shard(n, align, mod(r - 2 - s, N), N, &rlo, &rhi);
        for (size_t k = 0; k < rounds; k++) {
            size_t off = k * PT_DIST_CHUNK, sl = round_len(slo, shi, k), rl = round_len(rlo, rhi, k);
            PT_TRY(pt_dist_tr_sendrecv(d->tr, sl ? buf + slo + off : NULL, sl * sizeof(float), right, d->scratch,
                                       rl * sizeof(float), left, "reduce-scatter", e));
            add_into(buf + rlo + off, d->scratch, rl);
        }
    }
    return PT_OK;
}

static int ring_allgather(pt_dist *d, float *buf, size_t n, size_t align, pt_err *e) {
    int N = d->size, r = d->rank, right = mod(r + 1, N), left = mod(r - 1, N);
    size_t rounds = (seg_max(n, align, N) + PT_DIST_CHUNK - 1) / PT_DIST_CHUNK;
    for (int s = 0; s < N - 1; s++) {
        size_t slo, shi, rlo, rhi;
        pt_dist_shard(n, align, mod(r - s, N), N, &slo, &shi);
        pt_dist_shard(n, align, mod(r - s - 1, N), N, &rlo, &rhi);
        for (size_t k = 0; k < rounds; k++) {
            size_t off = k * PT_DIST_CHUNK, sl = round_len(slo, shi, k), rl = round_len(rlo, rhi, k);
            PT_TRY(pt_dist_tr_sendrecv(d->tr, sl ? buf + slo + off : NULL, sl * sizeof(float), right,
                                       rl ? buf + rlo + off : NULL, rl * sizeof(float), left, "all-gather", e));
        }
    }
    return PT_OK;
}

int pt_dist_reduce_scatter(pt_dist *d, float *buf, size_t n, size_t align, pt_err *e) {
    PT_TRY(check_args(buf, n, align, "reduce-scatter", e));
    if (!d || d->size == 1 || n == 0) return PT_OK;
    return ring_reduce_scatter(d, buf, n, align, e);
}

int pt_dist_allgather(pt_dist *d, float *buf, size_t n, size_t align, pt_err *e) {
    PT_TRY(check_args(buf, n, align, "all-gather", e));
    if (!d || d->size == 1 || n == 0) return PT_OK;
    return ring_allgather(d, buf, n, align, e);
}

int pt_dist_allreduce(pt_dist *d, float *buf, size_t n, pt_err *e) {
    PT_TRY(check_args(buf, n, 1, "all-reduce", e));
    if (!d || d->size == 1 || n == 0) return PT_OK;
    PT_TRY(ring_reduce_scatter(d, buf, n, 1, e));
    return ring_allgather(d, buf, n, 1, e);
}

int pt_dist_allreduce_native(pt_dist *d, float *buf, size_t n, pt_err *e) {
    PT_TRY(check_args(buf, n, 1, "MPI_Allreduce", e));
    if (!d || d->size == 1) return PT_OK;
    for (size_t off = 0; off < n; off += PT_DIST_TR_MAX)
        PT_TRY(pt_dist_tr_allreduce_f32(d->tr, buf + off, n - off < PT_DIST_TR_MAX ? n - off : PT_DIST_TR_MAX, e));
    return PT_OK;
}

/* ---- small collectives ------------------------------------------------------------------------ */

int pt_dist_allreduce_f64(pt_dist *d, double *v, size_t n, pt_dist_op op, pt_err *e) {
    PT_TRY(check_args(v, n, 1, "all-reduce of doubles", e));
    if (!d || d->size == 1) return PT_OK;
    for (size_t off = 0; off < n; off += PT_DIST_TR_MAX)
        PT_TRY(pt_dist_tr_allreduce_f64(d->tr, v + off, n - off < PT_DIST_TR_MAX ? n - off : PT_DIST_TR_MAX, op, e));
    return PT_OK;
}

int pt_dist_bcast(pt_dist *d, void *buf, size_t len, int root, pt_err *e) {
    PT_TRY(check_args(buf, len, 1, "broadcast", e));
    if (root < 0 || root >= pt_dist_size(d))
        return pt_fail(e, PT_EUSAGE, "broadcast: root %d is not a rank of %d", root, pt_dist_size(d));
    if (!d || d->size == 1) return PT_OK;
    for (size_t off = 0; off < len; off += PIECE)
        PT_TRY(pt_dist_tr_bcast(d->tr, (char *)buf + off, len - off < PIECE ? len - off : PIECE, root, e));
    return PT_OK;
}

int pt_dist_allgather_bytes(pt_dist *d, const void *mine, void *all, size_t len, pt_err *e) {
    PT_TRY(check_args(mine, len, 1, "all-gather of bytes", e));
    PT_TRY(check_args(all, len, 1, "all-gather of bytes", e));
    char *a = all;
    int N = pt_dist_size(d), r = pt_dist_rank(d);
    if ((const char *)mine != a + (size_t)r * len) memmove(a + (size_t)r * len, mine, len);
    if (N == 1 || len == 0) return PT_OK;
    if (len <= PIECE) return pt_dist_tr_allgather(d->tr, a, len, e);
    /* larger: a ring over the blocks, in pieces (block r-s goes right, block r-s-1 comes from the left) */
    int right = mod(r + 1, N), left = mod(r - 1, N);
    for (int s = 0; s < N - 1; s++) {
        char *sb = a + (size_t)mod(r - s, N) * len, *rb = a + (size_t)mod(r - s - 1, N) * len;
        for (size_t off = 0; off < len; off += PIECE) {
            size_t p = len - off < PIECE ? len - off : PIECE;
            PT_TRY(pt_dist_tr_sendrecv(d->tr, sb + off, p, right, rb + off, p, left, "all-gather of bytes", e));
        }
    }
    return PT_OK;
}

/* Point-to-point bytes in pieces of PIECE (both sides cut len the same way, so pieces pair up). */
int pt_dist_send(pt_dist *d, const void *buf, size_t len, int dst, pt_err *e) {
    int N = pt_dist_size(d);
    if (dst < 0 || dst >= N || dst == pt_dist_rank(d))
        return pt_fail(e, PT_EUSAGE, "send: rank %d is not another rank of %d", dst, N);
    PT_TRY(check_args(buf, len, 1, "send", e));
    for (size_t off = 0; off < len; off += PIECE)
        PT_TRY(pt_dist_tr_send(d->tr, (const char *)buf + off, len - off < PIECE ? len - off : PIECE, dst, "send", e));
    return PT_OK;
}

int pt_dist_recv(pt_dist *d, void *buf, size_t len, int src, pt_err *e) {
    int N = pt_dist_size(d);
    if (src < 0 || src >= N || src == pt_dist_rank(d))
        return pt_fail(e, PT_EUSAGE, "receive: rank %d is not another rank of %d", src, N);
    PT_TRY(check_args(buf, len, 1, "receive", e));
    for (size_t off = 0; off < len; off += PIECE)
        PT_TRY(pt_dist_tr_recv(d->tr, (char *)buf + off, len - off < PIECE ? len - off : PIECE, src, "receive", e));
    return PT_OK;
}

int pt_dist_barrier(pt_dist *d, pt_err *e) {
    if (!d || d->size == 1) return PT_OK;
    return pt_dist_tr_barrier(d->tr, e);
}
