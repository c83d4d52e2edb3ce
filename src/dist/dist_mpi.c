/* dist_mpi.c - the transport of dist.c over MPI.
 *
 * MPI is initialized here (MPI_Init_thread, MPI_THREAD_FUNNELED: OpenMP threads compute, only the
 * thread that joined calls MPI) unless the program already did, and finalized only if we
 * initialized it. All traffic goes over a duplicate of MPI_COMM_WORLD, so our messages cannot be
 * confused with anyone else's. Errors return (MPI_ERRORS_RETURN on both communicators) and become
 * PT_EIO with MPI_Error_string's text instead of MPI's default of ending the job from inside a call.
 */
#include <assert.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "dist/dist_impl.h"

enum { TAG = 17 };

struct pt_dist_tr {
    MPI_Comm comm;
    int we_initialized;
    char lib[128];
};

static int mpi_fail(pt_err *e, int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) len = snprintf(msg, sizeof msg, "MPI error %d", rc);
    msg[len < 0 ? 0 : len > MPI_MAX_ERROR_STRING ? MPI_MAX_ERROR_STRING : len] = 0;
    return pt_fail(e, PT_EIO, "%s: MPI: %s", what, msg);
}
#define MPI_TRY(call, what)                        \
    do {                                           \
        int rc_ = (call);                          \
        if (rc_ != MPI_SUCCESS) return mpi_fail(e, rc_, what); \
    } while (0)

/* The first line of MPI_Get_library_version, up to its first comma ("Open MPI v4.1.4"), blanks
 * collapsed ("MPICH Version: 4.1"). */
static void library_line(char *out, size_t cap) {
    char v[MPI_MAX_LIBRARY_VERSION_STRING + 1];
    int len = 0;
    if (MPI_Get_library_version(v, &len) != MPI_SUCCESS || len <= 0) {
        snprintf(out, cap, "MPI");
        return;
    }
    v[len > MPI_MAX_LIBRARY_VERSION_STRING ? MPI_MAX_LIBRARY_VERSION_STRING : len] = 0;
    size_t o = 0;
    int blank = 0;
    for (const char *p = v; *p && *p != '\n' && *p != ',' && o + 1 < cap; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\r') { blank = o > 0; continue; }
        if (blank) out[o++] = ' ', blank = 0;
        if (o + 1 < cap) out[o++] = *p;
    }
    out[o] = 0;
    if (!o) snprintf(out, cap, "MPI");
}

static int join(pt_dist_tr *t, pt_dist_tr_info *info, pt_err *e) {
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (finalized) return pt_fail(e, PT_EUSAGE, "MPI was already finalized in this process (pt_dist_init after pt_dist_finalize)");
    if (!inited) {
        int provided = 0;
        int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) return mpi_fail(e, rc, "MPI_Init_thread");
        t->we_initialized = 1;
    }
    MPI_TRY(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    MPI_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &t->comm), "MPI_Comm_dup");
    MPI_TRY(MPI_Comm_set_errhandler(t->comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    MPI_TRY(MPI_Comm_rank(t->comm, &info->rank), "MPI_Comm_rank");
    MPI_TRY(MPI_Comm_size(t->comm, &info->size), "MPI_Comm_size");
    MPI_Comm local;
    MPI_TRY(MPI_Comm_split_type(t->comm, MPI_COMM_TYPE_SHARED, info->rank, MPI_INFO_NULL, &local),
            "MPI_Comm_split_type");
    int lrank = 0;
    MPI_Comm_size(local, &info->local_size);
    MPI_Comm_rank(local, &lrank);
    MPI_Comm_free(&local);
    int first = lrank == 0; /* one per machine */
    MPI_TRY(MPI_Allreduce(&first, &info->machines, 1, MPI_INT, MPI_SUM, t->comm), "counting machines");
    library_line(t->lib, sizeof t->lib);
    return PT_OK;
}

int pt_dist_tr_init(pt_dist_tr **out, pt_dist_tr_info *info, pt_err *e) {
    *out = NULL;
    pt_dist_tr *t = pt_calloc(1, sizeof *t, e);
    if (!t) return PT_ENOMEM;
    t->comm = MPI_COMM_NULL;
    int rc = join(t, info, e);
    if (rc) {
        pt_dist_tr_finalize(t);
        return rc;
    }
    *out = t;
    return PT_OK;
}

void pt_dist_tr_finalize(pt_dist_tr *t) {
    if (!t) return;
    if (t->comm != MPI_COMM_NULL) MPI_Comm_free(&t->comm);
    if (t->we_initialized) MPI_Finalize();
    free(t);
}

void pt_dist_tr_abort(pt_dist_tr *t, int code) { MPI_Abort(t && t->comm != MPI_COMM_NULL ? t->comm : MPI_COMM_WORLD, code); }

const char *pt_dist_tr_describe(const pt_dist_tr *t) { return t->lib; }

int pt_dist_tr_sendrecv(pt_dist_tr *t, const void *sbuf, size_t slen, int dst, void *rbuf, size_t rlen,
                        int src, const char *what, pt_err *e) {
    assert(slen <= PT_DIST_TR_MAX && rlen <= PT_DIST_TR_MAX);
    MPI_Status st;
    MPI_TRY(MPI_Sendrecv(sbuf, (int)slen, MPI_BYTE, dst, TAG, rbuf, (int)rlen, MPI_BYTE, src, TAG, t->comm, &st),
            what);
    int got = 0;
    MPI_Get_count(&st, MPI_BYTE, &got);
    if ((size_t)got != rlen)
        return pt_fail(e, PT_EINTERNAL, "%s: received %d bytes from rank %d, expected %zu", what, got, src, rlen);
    return PT_OK;
}

int pt_dist_tr_send(pt_dist_tr *t, const void *buf, size_t len, int dst, const char *what, pt_err *e) {
    assert(len <= PT_DIST_TR_MAX);
    MPI_TRY(MPI_Send(buf, (int)len, MPI_BYTE, dst, TAG, t->comm), what);
    return PT_OK;
}

int pt_dist_tr_recv(pt_dist_tr *t, void *buf, size_t len, int src, const char *what, pt_err *e) {
    assert(len <= PT_DIST_TR_MAX);
    MPI_Status st;
    MPI_TRY(MPI_Recv(buf, (int)len, MPI_BYTE, src, TAG, t->comm, &st), what);
    int got = 0;
    MPI_Get_count(&st, MPI_BYTE, &got);
    if ((size_t)got != len)
        return pt_fail(e, PT_EINTERNAL, "%s: received %d bytes from rank %d, expected %zu", what, got, src, len);
    return PT_OK;
}

int pt_dist_tr_allreduce_f64(pt_dist_tr *t, double *v, size_t n, pt_dist_op op, pt_err *e) {
    assert(n <= PT_DIST_TR_MAX);
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, op == PT_DIST_MAX ? MPI_MAX : MPI_SUM, t->comm),
            op == PT_DIST_MAX ? "all-reduce (max)" : "all-reduce (sum)");
    return PT_OK;
}

int pt_dist_tr_allreduce_f32(pt_dist_tr *t, float *buf, size_t n, pt_err *e) {
    assert(n <= PT_DIST_TR_MAX);
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, t->comm), "MPI_Allreduce");
    return PT_OK;
}

int pt_dist_tr_bcast(pt_dist_tr *t, void *buf, size_t len, int root, pt_err *e) {
    assert(len <= PT_DIST_TR_MAX);
    MPI_TRY(MPI_Bcast(buf, (int)len, MPI_BYTE, root, t->comm), "broadcast");
    return PT_OK;
}

int pt_dist_tr_allgather(pt_dist_tr *t, void *all, size_t len, pt_err *e) {
    assert(len <= PT_DIST_TR_MAX);
    MPI_TRY(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, (int)len, MPI_BYTE, t->comm), "all-gather of bytes");
    return PT_OK;
}

int pt_dist_tr_barrier(pt_dist_tr *t, pt_err *e) {
    MPI_TRY(MPI_Barrier(t->comm), "barrier");
    return PT_OK;
}
