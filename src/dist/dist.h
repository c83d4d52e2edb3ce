/* dist.h - the process group of data-parallel training: ranks, and the collectives the trainer
 * needs (gradient all-reduce, ZeRO-1's reduce-scatter and all-gather, small sums, broadcast).
 *
 * Two implementations behind one interface, so the trainer has no #ifdef and one code path:
 * - MPI (dist_mpi.c, built when the Makefile finds mpicc; NO_MPI=1 turns it off): used when the
 *   process was started by an MPI launcher (mpirun/mpiexec, or srun with PMI/PMIx: the launcher's
 *   environment variables say so). MPI is initialized only then, so `parrot train` run by hand
 *   never touches MPI, and a build with MPI behaves exactly like one without.
 * - single process (dist.c itself; a build without MPI links dist_nompi.c in place of
 *   dist_mpi.c): rank 0 of 1, every collective returns at once (the buffer already holds the sum
 *   of one rank).
 *
 * Segments. The float collectives split a buffer of n elements into nranks contiguous segments,
 * one per rank (pt_dist_shard: boundaries are multiples of `align` elements; the ceil(n / align)
 * blocks are dealt out in order, every rank getting as many as the others or one more (the first
 * ranks take the extra ones), so rank 0's segment is the longest and the last non-empty one ends
 * with the short block; a segment may be empty when n is small). Rank r OWNS segment r: after a
 * reduce-scatter it holds the sum over ranks of segment r, and an all-gather sends segment r to
 * every other rank. ZeRO-1 keeps the optimizer state of its own segment only; pt_dist_allreduce
 * is a reduce-scatter followed by an all-gather (with align 1). The order of an element's additions
 * depends on the segment it falls in (with 2 ranks it does not: a + b either way), so a caller
 * that wants its ZeRO-1 and plain paths bit-identical at any rank count uses the same align for
 * both (the trainer does: reduce-scatter, then all-gather of the gradients or of the weights).
 *
 * Why the float collectives are our own ring (point-to-point messages) rather than MPI_Allreduce:
 * MPI implementations allocate temporary buffers inside the call (Open MPI 4.1's ring: count/N
 * elements per call), and a fresh page costs a fault (~20 us on these VMs); measured here, the
 * ring ran at 2.2-2.8 GB/s warm against MPI_Allreduce's 0.8-1.3 GB/s on the same in-place buffer
 * (bench/bench_allreduce.sh, docs/benchmarks.md). The ring works in place on the caller's buffer and receives into one
 * scratch buffer of PT_DIST_CHUNK floats allocated and touched once, in pt_dist_init; messages are
 * at most PT_DIST_CHUNK floats, so large buffers stream through it. The ring's summation order is
 * fixed for a rank count: results are deterministic (and with 2 ranks, a + b == b + a, the same on
 * both).
 *
 * Failures: an MPI error comes back as PT_EIO naming the collective and MPI's message. A rank that
 * dies is detected by the launcher, which ends the job (mpirun prints which rank); pt_dist_abort
 * lets a rank that failed on its own end the whole job rather than leave the others waiting in a
 * collective.
 *
 * Threads: only the thread that called pt_dist_init may call the other functions.
 *
 * NULL: every function below accepts d == NULL as the single process (rank 0 of 1), so a library
 * caller that never joins a group passes NULL.
 */
#ifndef PT_DIST_H
#define PT_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define PT_DIST_CHUNK ((size_t)1 << 20) /* floats per ring message: 4 MB of scratch */

typedef struct pt_dist pt_dist;

typedef enum { PT_DIST_SUM, PT_DIST_MAX } pt_dist_op;

/* Joins the process group: MPI when launched by an MPI launcher and built with MPI (a launcher's
 * environment in a build without MPI is PT_EUSAGE: "this build has no MPI", rather than N
 * independent single-process runs writing the same folder), else a single process. */
int pt_dist_init(pt_dist **out, pt_err *e);
/* Leaves the group (MPI_Finalize) and frees. NULL is fine. */
void pt_dist_finalize(pt_dist *d);
/* Ends every rank of the job now with exit status code (MPI_Abort); a single process: returns. */
void pt_dist_abort(pt_dist *d, int code);

int pt_dist_rank(const pt_dist *d);       /* in [0, size) */
int pt_dist_size(const pt_dist *d);       /* ranks in the job */
int pt_dist_local_size(const pt_dist *d); /* ranks on this machine (to divide its cores) */
/* "single process" or e.g. "MPI: Open MPI v4.1.4, 2 ranks on 1 machine". */
const char *pt_dist_describe(const pt_dist *d);

/* Rank r's segment [*lo, *hi) of n elements among nranks (align >= 1; see above). */
void pt_dist_shard(size_t n, size_t align, int r, int nranks, size_t *lo, size_t *hi);

/* In place on buf[n] (the same n and align on every rank). After reduce_scatter, this rank's
 * segment of buf holds the sum over ranks; the rest of buf is clobbered. After allgather, every
 * segment of buf holds its owner's values. allreduce: every element the sum over ranks (a
 * reduce-scatter then an all-gather with align 1). */
int pt_dist_reduce_scatter(pt_dist *d, float *buf, size_t n, size_t align, pt_err *e);
int pt_dist_allgather(pt_dist *d, float *buf, size_t n, size_t align, pt_err *e);
int pt_dist_allreduce(pt_dist *d, float *buf, size_t n, pt_err *e);
/* MPI's own in-place MPI_Allreduce (sum) of buf[n]: the peer the ring is measured against
 * (bench/bench_allreduce); the trainer does not use it. */
int pt_dist_allreduce_native(pt_dist *d, float *buf, size_t n, pt_err *e);

/* Small reductions in place (a few values per step: losses, flags, norm partial sums). */
int pt_dist_allreduce_f64(pt_dist *d, double *v, size_t n, pt_dist_op op, pt_err *e);
/* root's len bytes to every rank (any size: sent in pieces). */
int pt_dist_bcast(pt_dist *d, void *buf, size_t len, int root, pt_err *e);
/* Every rank's len bytes of mine into all[size * len], in rank order. */
int pt_dist_allgather_bytes(pt_dist *d, const void *mine, void *all, size_t len, pt_err *e);
int pt_dist_barrier(pt_dist *d, pt_err *e);
/* Point-to-point: len bytes (any size: sent in pieces) to rank dst / exactly len bytes from rank
 * src, blocking; the peer must be another rank (PT_EUSAGE otherwise, and always in a single
 * process). Between one pair of ranks messages arrive in the order they were sent. */
int pt_dist_send(pt_dist *d, const void *buf, size_t len, int dst, pt_err *e);
int pt_dist_recv(pt_dist *d, void *buf, size_t len, int src, pt_err *e);

#endif
