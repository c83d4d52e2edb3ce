/* dist_impl.h - the transport under dist.c (internal: not part of the public API).
 *
 * dist.c holds everything generic: segments, the single-process behaviour, the ring algorithms,
 * chunking of large messages. It talks to the other ranks only through this small set of
 * primitives, implemented twice:
 * - dist_mpi.c over MPI (built when the Makefile finds mpicc),
 * - dist_nompi.c for a build without MPI: pt_dist_tr_init fails with PT_EUSAGE, the rest is
 *   unreachable (dist.c only calls the transport after a successful init with size > 1).
 *
 * Message sizes: every byte count or element count passed here is at most PT_DIST_TR_MAX
 * (MPI's counts are int); dist.c splits larger buffers into pieces. Messages between one pair of
 * ranks arrive in the order they were sent (MPI's non-overtaking rule), so one tag suffices.
 *
 * Errors come back as PT_EIO naming `what` (the collective, e.g. "all-reduce") and the
 * transport's own message. Only the thread that called pt_dist_tr_init may call the others.
 */
#ifndef PT_DIST_IMPL_H
#define PT_DIST_IMPL_H

#include <limits.h>
#include <stddef.h>

#include "base/status.h"
#include "dist/dist.h"

#define PT_DIST_TR_MAX ((size_t)INT_MAX)

typedef struct pt_dist_tr pt_dist_tr;

/* Where this process stands in the job, filled by pt_dist_tr_init. */
typedef struct pt_dist_tr_info {
    int rank, size;
    int local_size; /* ranks on this machine */
    int machines;   /* distinct machines in the job */
} pt_dist_tr_info;

/* Joins the job (MPI_Init_thread); *out owned by the caller, freed by pt_dist_tr_finalize. */
int pt_dist_tr_init(pt_dist_tr **out, pt_dist_tr_info *info, pt_err *e);
/* Leaves the job (MPI_Finalize when this module initialized MPI) and frees. NULL is fine. */
void pt_dist_tr_finalize(pt_dist_tr *t);
/* Ends every rank of the job with exit status code; does not return when it works. */
void pt_dist_tr_abort(pt_dist_tr *t, int code);
/* The library, one line ("Open MPI v4.1.4"); owned by t. */
const char *pt_dist_tr_describe(const pt_dist_tr *t);

/* Sends slen bytes of sbuf to rank dst while receiving exactly rlen bytes from rank src into rbuf
 * (either length may be 0: an empty message is still sent and received). sbuf and rbuf must not
 * overlap. */
int pt_dist_tr_sendrecv(pt_dist_tr *t, const void *sbuf, size_t slen, int dst, void *rbuf, size_t rlen,
                        int src, const char *what, pt_err *e);
/* Blocking point-to-point: len bytes to dst / exactly len bytes from src. */
int pt_dist_tr_send(pt_dist_tr *t, const void *buf, size_t len, int dst, const char *what, pt_err *e);
int pt_dist_tr_recv(pt_dist_tr *t, void *buf, size_t len, int src, const char *what, pt_err *e);

/* In place over every rank: v[n] doubles (sum or max), buf[n] floats summed by the library's own
 * algorithm (MPI_Allreduce with MPI_IN_PLACE). */
int pt_dist_tr_allreduce_f64(pt_dist_tr *t, double *v, size_t n, pt_dist_op op, pt_err *e);
int pt_dist_tr_allreduce_f32(pt_dist_tr *t, float *buf, size_t n, pt_err *e);
/* root's len bytes to every rank. */
int pt_dist_tr_bcast(pt_dist_tr *t, void *buf, size_t len, int root, pt_err *e);
/* In place: every rank's block all[rank * len, (rank + 1) * len) to every rank. */
int pt_dist_tr_allgather(pt_dist_tr *t, void *all, size_t len, pt_err *e);
int pt_dist_tr_barrier(pt_dist_tr *t, pt_err *e);

#endif
