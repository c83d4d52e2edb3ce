/* dist_nompi.c - the transport of a build without MPI (NO_MPI=1, or no mpicc found).
 *
 * dist.c only asks for a transport when an MPI launcher's environment is present; in this build
 * that is a usage error rather than N independent single-process runs writing the same folder.
 * Every other primitive is unreachable (no transport is ever created) and says so.
 */
#include "dist/dist_impl.h"

struct pt_dist_tr {
    int unused;
};

static int no_mpi(pt_err *e) {
    return pt_fail(e, PT_EUSAGE, "this build has no MPI (rebuild with mpicc installed, without NO_MPI=1)");
}

int pt_dist_tr_init(pt_dist_tr **out, pt_dist_tr_info *info, pt_err *e) {
    *out = NULL;
    return no_mpi(e);
}
void pt_dist_tr_finalize(pt_dist_tr *t) {}
void pt_dist_tr_abort(pt_dist_tr *t, int code) {}
const char *pt_dist_tr_describe(const pt_dist_tr *t) { return "no MPI"; }
int pt_dist_tr_sendrecv(pt_dist_tr *t, const void *sbuf, size_t slen, int dst, void *rbuf, size_t rlen,
                        int src, const char *what, pt_err *e) {
    return no_mpi(e);
}
int pt_dist_tr_send(pt_dist_tr *t, const void *buf, size_t len, int dst, const char *what, pt_err *e) {
    return no_mpi(e);
}
int pt_dist_tr_recv(pt_dist_tr *t, void *buf, size_t len, int src, const char *what, pt_err *e) {
    return no_mpi(e);
}
int pt_dist_tr_allreduce_f64(pt_dist_tr *t, double *v, size_t n, pt_dist_op op, pt_err *e) { return no_mpi(e); }
int pt_dist_tr_allreduce_f32(pt_dist_tr *t, float *buf, size_t n, pt_err *e) { return no_mpi(e); }
int pt_dist_tr_bcast(pt_dist_tr *t, void *buf, size_t len, int root, pt_err *e) { return no_mpi(e); }
int pt_dist_tr_allgather(pt_dist_tr *t, void *all, size_t len, pt_err *e) { return no_mpi(e); }
int pt_dist_tr_barrier(pt_dist_tr *t, pt_err *e) { return no_mpi(e); }
