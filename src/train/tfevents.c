/* tfevents.c - see tfevents.h. */
#include "train/tfevents.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/fs.h"

#define FLUSH_AT (64u << 10) /* pending bytes that trigger a flush */

struct pt_tfevents {
    int fd;
    char *path;
    uint64_t good;     /* file size after the last successful flush: a record boundary */
    pt_buf pending;    /* framed records not yet written */
    size_t npending;   /* records in pending */
    pt_buf msg;        /* scratch: one Event being encoded */
};

/* ---- protobuf wire format -------------------------------------------------------- */

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}
/* Every put_ writes into room reserved beforehand (put_event reserves the whole message). */
static void put_varint(pt_buf *b, uint64_t v) {
    while (v >= 0x80) {
        b->data[b->len++] = (char)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (char)v;
}
static void put_tag(pt_buf *b, unsigned field, unsigned wt) { put_varint(b, (uint64_t)field << 3 | wt); }
static void put_raw(pt_buf *b, const void *p, size_t n) {
    memcpy(b->data + b->len, p, n);
    b->len += n;
}
static void put_le64(pt_buf *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b->data[b->len++] = (char)(v >> (8 * i));
}
static void put_le32(pt_buf *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b->data[b->len++] = (char)(v >> (8 * i));
}
static void put_double(pt_buf *b, unsigned field, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    put_tag(b, field, WT_FIXED64);
    put_le64(b, v);
}
static void put_bytes(pt_buf *b, unsigned field, const void *p, size_t n) {
    put_tag(b, field, WT_LEN);
    put_varint(b, n);
    put_raw(b, p, n);
}

/* ---- records ----------------------------------------------------------------------- */

void pt_tfrecord_frame(const void *data, size_t n, unsigned char *out) {
    uint64_t len = n;
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(len >> (8 * i));
    uint32_t hc = pt_crc32c_mask(pt_crc32c(0, out, 8));
    for (int i = 0; i < 4; i++) out[8 + i] = (unsigned char)(hc >> (8 * i));
    memcpy(out + 12, data, n);
    uint32_t dc = pt_crc32c_mask(pt_crc32c(0, data, n));
    for (int i = 0; i < 4; i++) out[12 + n + i] = (unsigned char)(dc >> (8 * i));
}

/* Frames w->msg as one record at the end of w->pending; flushes when enough is pending. */
static int append_record(pt_tfevents *w, pt_err *e) {
    if (pt_buf_reserve(&w->pending, w->msg.len + 16, e)) return PT_ENOMEM;
    pt_tfrecord_frame(w->msg.data, w->msg.len, (unsigned char *)w->pending.data + w->pending.len);
    w->pending.len += w->msg.len + 16;
    w->npending++;
    return w->pending.len >= FLUSH_AT ? pt_tfevents_flush(w, e) : PT_OK;
}

int pt_tfevents_flush(pt_tfevents *w, pt_err *e) {
    size_t done = 0, n = w->pending.len;
    while (done < n) {
        ssize_t k = pwrite(w->fd, w->pending.data + done, n - done, (off_t)(w->good + done));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0) errno = EIO;
            int rc = pt_fail_errno(e, PT_EIO, "%s: write failed (%zu events dropped)", w->path, w->npending);
            /* cut back to the last complete record, so the file stays readable */
            if (ftruncate(w->fd, (off_t)w->good) != 0) { /* nothing better to do: the error above stands */ }
            pt_buf_clear(&w->pending);
            w->npending = 0;
            return rc;
        }
        done += (size_t)k;
    }
    w->good += n;
    pt_buf_clear(&w->pending);
    w->npending = 0;
    return PT_OK;
}

/* ---- events ------------------------------------------------------------------------ */

int pt_tfevents_scalar(pt_tfevents *w, const char *tag, int64_t step, double wall_time, float value,
                       pt_err *e) {
    size_t tl = strlen(tag);
    size_t val_len = 1 + varint_len(tl) + tl + 1 + 4;  /* Value: tag, simple_value */
    size_t sum_len = 1 + varint_len(val_len) + val_len; /* Summary: one value */
    size_t ev_len = 9 + 1 + varint_len((uint64_t)step) + 1 + varint_len(sum_len) + sum_len;
    pt_buf_clear(&w->msg);
    if (pt_buf_reserve(&w->msg, ev_len, e)) return PT_ENOMEM;
    pt_buf *b = &w->msg;
    put_double(b, 1, wall_time);
    put_tag(b, 2, WT_VARINT);
    put_varint(b, (uint64_t)step); /* int64: negative steps are 10-byte two's complement */
    put_tag(b, 5, WT_LEN);
    put_varint(b, sum_len);
    put_tag(b, 1, WT_LEN);
    put_varint(b, val_len);
    put_bytes(b, 1, tag, tl);
    uint32_t fv;
    memcpy(&fv, &value, 4);
    put_tag(b, 2, WT_FIXED32);
    put_le32(b, fv);
    return append_record(w, e);
}

int pt_tfevents_session_start(pt_tfevents *w, int64_t step, double wall_time, pt_err *e) {
    pt_buf_clear(&w->msg);
    if (pt_buf_reserve(&w->msg, 32, e)) return PT_ENOMEM;
    pt_buf *b = &w->msg;
    put_double(b, 1, wall_time);
    put_tag(b, 2, WT_VARINT);
    put_varint(b, (uint64_t)step);
    put_tag(b, 7, WT_LEN); /* SessionLog { status (1): START = 1 } */
    put_varint(b, 2);
    put_tag(b, 1, WT_VARINT);
    put_varint(b, 1);
    return append_record(w, e);
}

double pt_tfevents_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) * 1e-6;
}

const char *pt_tfevents_path(const pt_tfevents *w) { return w->path; }

static void tfevents_free(pt_tfevents *w) {
    if (w->fd >= 0) close(w->fd);
    free(w->path);
    pt_buf_free(&w->pending);
    pt_buf_free(&w->msg);
    free(w);
}

/* Creates the file exclusively under a TensorFlow-style name (w->fd, w->path). */
static int create_file(pt_tfevents *w, const char *dir, pt_err *e) {
    static atomic_uint counter;
    char host[256];
    if (gethostname(host, sizeof host) != 0 || !host[0]) strcpy(host, "localhost");
    host[sizeof host - 1] = 0;
    for (char *c = host; *c; c++)
        if (*c == '/') *c = '_';
    for (int attempt = 0; attempt < 1000; attempt++) {
        char name[400];
        snprintf(name, sizeof name, "events.out.tfevents.%lld.%s.%ld.%u", (long long)time(NULL), host,
                 (long)getpid(), atomic_fetch_add(&counter, 1));
        char *path = pt_path_join(dir, name);
        if (!path) return pt_fail(e, PT_ENOMEM, "%s: out of memory", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            w->fd = fd;
            w->path = path;
            return PT_OK;
        }
        if (errno != EEXIST) {
            int rc = pt_fail_errno(e, PT_EIO, "%s: cannot create", path);
            free(path);
            return rc;
        }
        free(path);
    }
    return pt_fail(e, PT_EIO, "%s: cannot create an event file: every name taken", dir);
}

int pt_tfevents_open(pt_tfevents **out, const char *dir, pt_err *e) {
    *out = NULL;
    pt_tfevents *w = pt_calloc(1, sizeof *w, e);
    if (!w) return PT_ENOMEM;
    w->fd = -1;
    int rc = pt_fs_mkdir_p(dir, e);
    if (!rc) rc = create_file(w, dir, e);
    if (!rc) {
        static const char version[] = "brain.Event:2";
        rc = pt_buf_reserve(&w->msg, 64, e);
        if (!rc) {
            put_double(&w->msg, 1, pt_tfevents_now());
            put_bytes(&w->msg, 3, version, sizeof version - 1);
            rc = append_record(w, e);
        }
    }
    if (!rc) rc = pt_tfevents_flush(w, e);
    if (rc) {
        if (w->path) unlink(w->path);
        tfevents_free(w);
        return rc;
    }
    *out = w;
    return PT_OK;
}

int pt_tfevents_close(pt_tfevents *w, pt_err *e) {
    if (!w) return PT_OK;
    int rc = pt_tfevents_flush(w, e);
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0 && !rc) rc = pt_fail_errno(e, PT_EIO, "%s: close failed", w->path);
    tfevents_free(w);
    return rc;
}
