/* test_tfevents.c - TensorBoard event files, re-read by a small TFRecord + protobuf reader
 * here that checks both framing CRCs of every record and decodes every field.
 *
 *   test_tfevents                  the unit tests
 *   test_tfevents --write DIR      (for tests/e2e/tfevents.sh) writes a run into DIR: a first
 *                                  file, then a "resumed" second file with a session START at
 *                                  step 30; prints the expected scalars as "tag step hexbits
 *                                  wall_time" lines for tools/read_tfevents.py to compare
 */
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/fs.h"
#include "train/tfevents.h"
#include "test.h"

/* ---- a minimal reader -------------------------------------------------------------- */

typedef struct ev {
    double wall_time;
    int64_t step;
    char version[64];
    char tag[300];
    int nvalues;  /* summary values seen */
    float value;
    int session_status; /* -1 when absent */
} ev;

static int rd_varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
    *v = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        unsigned char c = *(*p)++;
        *v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80)) return 0;
    }
    return -1;
}

/* Iterates the fields of a message: returns 1 with field/wire type/payload, 0 at the end, -1 bad. */
typedef struct field {
    unsigned num, wt;
    uint64_t v;                    /* varint, fixed64, fixed32 */
    const unsigned char *p;        /* length-delimited payload */
    size_t n;
} field;
static int next_field(const unsigned char **p, const unsigned char *end, field *f) {
    if (*p == end) return 0;
    uint64_t key;
    if (rd_varint(p, end, &key)) return -1;
    f->num = (unsigned)(key >> 3), f->wt = key & 7;
    switch (f->wt) {
    case 0: return rd_varint(p, end, &f->v) ? -1 : 1;
    case 1:
        if (end - *p < 8) return -1;
        memcpy(&f->v, *p, 8), *p += 8;
        return 1;
    case 5: {
        if (end - *p < 4) return -1;
        uint32_t x;
        memcpy(&x, *p, 4), *p += 4, f->v = x;
        return 1;
    }
    case 2:
        if (rd_varint(p, end, &f->v) || f->v > (uint64_t)(end - *p)) return -1;
        f->p = *p, f->n = f->v, *p += f->v;
        return 1;
    }
    return -1;
}

static int decode_event(const unsigned char *p, size_t n, ev *o) {
    memset(o, 0, sizeof *o);
    o->session_status = -1;
    const unsigned char *end = p + n;
    field f;
    int r;
    while ((r = next_field(&p, end, &f)) == 1) {
        if (f.num == 1 && f.wt == 1) memcpy(&o->wall_time, &f.v, 8);
        else if (f.num == 2 && f.wt == 0) o->step = (int64_t)f.v;
        else if (f.num == 3 && f.wt == 2 && f.n < sizeof o->version) memcpy(o->version, f.p, f.n);
        else if (f.num == 5 && f.wt == 2) {
            const unsigned char *s = f.p, *se = f.p + f.n;
            field g;
            while ((r = next_field(&s, se, &g)) == 1) {
                if (g.num != 1 || g.wt != 2) return -1;
                o->nvalues++;
                const unsigned char *v = g.p, *ve = g.p + g.n;
                field h;
                while ((r = next_field(&v, ve, &h)) == 1) {
                    if (h.num == 1 && h.wt == 2 && h.n < sizeof o->tag) memcpy(o->tag, h.p, h.n);
                    else if (h.num == 2 && h.wt == 5) {
                        uint32_t x = (uint32_t)h.v;
                        memcpy(&o->value, &x, 4);
                    } else return -1;
                }
                if (r < 0) return -1;
            }
            if (r < 0) return -1;
        } else if (f.num == 7 && f.wt == 2) {
            const unsigned char *s = f.p, *se = f.p + f.n;
            field g;
            while ((r = next_field(&s, se, &g)) == 1)
                if (g.num == 1 && g.wt == 0) o->session_status = (int)g.v;
            if (r < 0) return -1;
        } else return -1; /* the writer emits no other field */
    }
    return r;
}

/* Reads every record of path into evs (up to cap); returns the count, or -1 with why set
 * when the framing or a CRC is wrong. */
static long read_events(const char *path, ev *evs, long cap, const char **why) {
    pt_buf b = {0};
    pt_err e = {0};
    *why = "";
    if (pt_fs_read_all(path, &b, &e)) {
        *why = "cannot read";
        return -1;
    }
    const unsigned char *p = (const unsigned char *)b.data, *end = p + b.len;
    long n = 0;
    while (p < end) {
        uint64_t len;
        uint32_t hc, dc;
        if (end - p < 12) { *why = "truncated header"; n = -1; break; }
        memcpy(&len, p, 8), memcpy(&hc, p + 8, 4);
        if (pt_crc32c_mask(pt_crc32c(0, p, 8)) != hc) { *why = "length CRC"; n = -1; break; }
        if ((uint64_t)(end - p - 12) < len + 4) { *why = "truncated data"; n = -1; break; }
        memcpy(&dc, p + 12 + len, 4);
        if (pt_crc32c_mask(pt_crc32c(0, p + 12, len)) != dc) { *why = "data CRC"; n = -1; break; }
        if (n < cap && decode_event(p + 12, len, &evs[n]) < 0) { *why = "bad protobuf"; n = -1; break; }
        n++;
        p += 12 + len + 4;
    }
    pt_buf_free(&b);
    return n;
}

static int same_float(float a, float b) { return memcmp(&a, &b, 4) == 0; }

static char *tmpdir(void) {
    char *d = strdup("/tmp/pt-tfevents-XXXXXX");
    return mkdtemp(d) ? d : NULL;
}

/* ---- tests ------------------------------------------------------------------------- */

TEST(tfevents_roundtrip) {
    char *root = tmpdir();
    char *dir = pt_path_join(root, "runs/a/b"); /* created with its parents */
    pt_err e = {0};
    pt_tfevents *w = NULL;
    CHECK_OK(pt_tfevents_open(&w, dir, &e), &e);
    if (!w) return;
    char *path = strdup(pt_tfevents_path(w));
    CHECK(strstr(path, "/events.out.tfevents.") != NULL);
    CHECK(strncmp(path, dir, strlen(dir)) == 0);
    char longtag[200];
    memset(longtag, 'x', sizeof longtag - 1), longtag[sizeof longtag - 1] = 0; /* 2-byte length varint */
    const char *tags[] = {"loss/train", "loss/eval", "perplexity", "lr", "grad_norm", "tokens_per_sec",
                          "caf\xc3\xa9/\xe2\x88\x86", longtag};
    enum { NT = 8, NS = 50 };
    float vals[NT][NS];
    int64_t steps[NS];
    for (int s = 0; s < NS; s++) {
        steps[s] = s == 0 ? 0 : s == 1 ? -3 : s == 2 ? ((int64_t)1 << 40) : s * 7;
        for (int t = 0; t < NT; t++) {
            float v = (float)(t + 1) * 0.37f / (float)(s + 1);
            if (s == 3) v = t & 1 ? -INFINITY : INFINITY;
            if (s == 4) v = NAN;
            if (s == 5) v = -0.0f;
            if (s == 6) v = 1e-45f; /* a subnormal */
            vals[t][s] = v;
            CHECK_OK(pt_tfevents_scalar(w, tags[t], steps[s], 1.7e9 + s * 0.25, v, &e), &e);
        }
    }
    CHECK_OK(pt_tfevents_close(w, &e), &e);
    ev *evs = calloc(1000, sizeof *evs);
    const char *why;
    long n = read_events(path, evs, 1000, &why);
    CHECK_EQ_U64(n, 1 + NT * NS);
    if (n == 1 + NT * NS) {
        CHECK_STR(evs[0].version, "brain.Event:2");
        CHECK(fabs(evs[0].wall_time - pt_tfevents_now()) < 60);
        CHECK(evs[0].nvalues == 0);
        int bad = 0;
        for (int s = 0; s < NS; s++)
            for (int t = 0; t < NT; t++) {
                ev *x = &evs[1 + s * NT + t];
                bad += x->step != steps[s] || strcmp(x->tag, tags[t]) || x->nvalues != 1 ||
                       !same_float(x->value, vals[t][s]) || x->wall_time != 1.7e9 + s * 0.25 ||
                       x->version[0] || x->session_status != -1;
            }
        CHECK(bad == 0);
        CHECK(isnan(evs[1 + 4 * NT].value) && isinf(evs[1 + 3 * NT].value));
    } else {
        printf("  read_events: %s\n", why);
    }
    free(evs);
    free(path);
    free(dir);
    CHECK_OK(pt_fs_rm_rf(root, &e), &e);
    free(root);
}

TEST(tfevents_reader_sees_corruption) {
    /* the reader above must be able to fail: flip one byte of a data section, of a length */
    char *root = tmpdir();
    pt_err e = {0};
    pt_tfevents *w = NULL;
    CHECK_OK(pt_tfevents_open(&w, root, &e), &e);
    if (!w) return;
    CHECK_OK(pt_tfevents_scalar(w, "lr", 1, 1.0, 0.5f, &e), &e);
    char *path = strdup(pt_tfevents_path(w));
    CHECK_OK(pt_tfevents_close(w, &e), &e);
    pt_buf b = {0};
    CHECK_OK(pt_fs_read_all(path, &b, &e), &e);
    ev evs[4];
    const char *why;
    CHECK(read_events(path, evs, 4, &why) == 2);
    size_t first = 12 + 4 + (size_t)(unsigned char)b.data[0]; /* first record's size (length < 256) */
    const size_t spots[] = {first + 2, first + 14, b.len - 1};
    const char *whys[] = {"length CRC", "data CRC", "data CRC"};
    for (int i = 0; i < 3; i++) {
        b.data[spots[i]] ^= 0x10;
        CHECK_OK(pt_fs_write_atomic(path, b.data, b.len, &e), &e);
        CHECK(read_events(path, evs, 4, &why) == -1);
        CHECK_STR(why, whys[i]);
        b.data[spots[i]] ^= 0x10;
    }
    CHECK_OK(pt_fs_write_atomic(path, b.data, b.len - 3, &e), &e);
    CHECK(read_events(path, evs, 4, &why) == -1);
    CHECK_STR(why, "truncated data");
    pt_buf_free(&b);
    free(path);
    CHECK_OK(pt_fs_rm_rf(root, &e), &e);
    free(root);
}

TEST(tfevents_buffered_until_flush) {
    char *root = tmpdir();
    pt_err e = {0};
    pt_tfevents *w = NULL;
    CHECK_OK(pt_tfevents_open(&w, root, &e), &e);
    if (!w) return;
    int64_t s0 = pt_fs_size(pt_tfevents_path(w));
    CHECK(s0 > 16); /* the version record is on disk at once */
    CHECK_OK(pt_tfevents_scalar(w, "lr", 1, 1.0, 0.5f, &e), &e);
    CHECK_EQ_U64(pt_fs_size(pt_tfevents_path(w)), s0);
    CHECK_OK(pt_tfevents_flush(w, &e), &e);
    CHECK(pt_fs_size(pt_tfevents_path(w)) > s0);
    /* many records: automatic flushes, all present in order */
    for (int i = 0; i < 20000; i++) CHECK_OK(pt_tfevents_scalar(w, "loss/train", i, 2.0, (float)i, &e), &e);
    CHECK(pt_fs_size(pt_tfevents_path(w)) > 100000); /* some went out before close */
    char *path = strdup(pt_tfevents_path(w));
    CHECK_OK(pt_tfevents_close(w, &e), &e);
    ev *evs = calloc(20010, sizeof *evs);
    const char *why;
    CHECK(read_events(path, evs, 20010, &why) == 20002);
    int bad = 0;
    for (int i = 0; i < 20000; i++) bad += evs[2 + i].step != i || evs[2 + i].value != (float)i;
    CHECK(bad == 0);
    free(evs);
    free(path);
    CHECK_OK(pt_fs_rm_rf(root, &e), &e);
    free(root);
}

TEST(tfevents_new_file_per_open_and_session_start) {
    char *root = tmpdir();
    pt_err e = {0};
    pt_tfevents *a = NULL, *b = NULL;
    CHECK_OK(pt_tfevents_open(&a, root, &e), &e);
    CHECK_OK(pt_tfevents_open(&b, root, &e), &e);
    if (!a || !b) return;
    CHECK(strcmp(pt_tfevents_path(a), pt_tfevents_path(b)) != 0);
    CHECK_OK(pt_tfevents_session_start(b, 42, 3.5, &e), &e);
    char *pb = strdup(pt_tfevents_path(b));
    CHECK_OK(pt_tfevents_close(a, &e), &e);
    CHECK_OK(pt_tfevents_close(b, &e), &e);
    ev evs[4];
    const char *why;
    CHECK(read_events(pb, evs, 4, &why) == 2);
    CHECK(evs[1].session_status == 1 && evs[1].step == 42 && evs[1].wall_time == 3.5);
    free(pb);
    CHECK_OK(pt_tfevents_close(NULL, &e), &e);
    CHECK_OK(pt_fs_rm_rf(root, &e), &e);
    free(root);
}

TEST(tfevents_errors) {
    char *root = tmpdir();
    pt_err e = {0};
    char *file = pt_path_join(root, "plain");
    CHECK_OK(pt_fs_write_atomic(file, "x", 1, &e), &e);
    pt_tfevents *w = (pt_tfevents *)1;
    CHECK(pt_tfevents_open(&w, file, &e) == PT_EIO);
    CHECK(w == NULL);
    CHECK(strstr(e.msg, "plain") != NULL);
    char *sub = pt_path_join(file, "sub");
    CHECK(pt_tfevents_open(&w, sub, &e) == PT_EIO);
    CHECK(strstr(e.msg, "plain") != NULL);
    free(sub);

    /* a write failure (file size limit standing in for a full disk): PT_EIO naming the file,
     * the file cut back to its last whole record, the writer usable once there is room */
    CHECK_OK(pt_tfevents_open(&w, root, &e), &e);
    if (!w) return;
    char *path = strdup(pt_tfevents_path(w));
    for (int i = 0; i < 10; i++) CHECK_OK(pt_tfevents_scalar(w, "lr", i, 1.0, 1.0f, &e), &e);
    CHECK_OK(pt_tfevents_flush(w, &e), &e);
    int64_t good = pt_fs_size(path);
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit lim = old;
    lim.rlim_cur = (rlim_t)good + 100;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    for (int i = 0; i < 20; i++) CHECK_OK(pt_tfevents_scalar(w, "lr", 100 + i, 1.0, 2.0f, &e), &e);
    int rc = pt_tfevents_flush(w, &e);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK(rc == PT_EIO);
    CHECK(strstr(e.msg, path) != NULL && strstr(e.msg, "20 events dropped") != NULL);
    CHECK_EQ_U64(pt_fs_size(path), good);
    CHECK_OK(pt_tfevents_scalar(w, "lr", 200, 1.0, 3.0f, &e), &e);
    CHECK_OK(pt_tfevents_close(w, &e), &e);
    ev evs[16];
    const char *why;
    CHECK(read_events(path, evs, 16, &why) == 12);
    CHECK(evs[11].step == 200 && evs[11].value == 3.0f);
    free(path);
    free(file);
    CHECK_OK(pt_fs_rm_rf(root, &e), &e);
    free(root);
}

/* ---- the e2e driver ---------------------------------------------------------------- */

static int write_run(const char *dir) {
    static const char *tags[] = {"loss/train", "loss/eval", "perplexity", "lr", "grad_norm", "tokens_per_sec"};
    pt_err e = {0};
    /* first process: steps 0..39; the second resumes at step 30 and logs 30..49 with other
     * values, so TensorBoard must keep 0..29 of the first and 30..49 of the second */
    for (int part = 0; part < 2; part++) {
        pt_tfevents *w;
        if (pt_tfevents_open(&w, dir, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        int from = part ? 30 : 0, to = part ? 50 : 40;
        if (part && pt_tfevents_session_start(w, from, 1.7e9 + from, &e)) goto fail;
        for (int s = from; s < to; s++)
            for (int t = 0; t < 6; t++) {
                float v = (float)(t + 1) / (float)(s + 1) + (float)part * 100.0f;
                if (t == 4 && s == 7) v = NAN;
                if (t == 4 && s == 8) v = INFINITY;
                if (t == 4 && s == 9) v = -INFINITY;
                double wt = 1.7e9 + s + 0.125 * t;
                if (pt_tfevents_scalar(w, tags[t], s, wt, v, &e)) goto fail;
                uint32_t bits;
                memcpy(&bits, &v, 4);
                if (part || s < 30) printf("%s %d %08x %.17g\n", tags[t], s, bits, wt);
            }
        if (pt_tfevents_close(w, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        continue;
    fail:
        fprintf(stderr, "%s\n", e.msg);
        pt_tfevents_close(w, &e);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write")) return write_run(argv[2]);
    RUN(tfevents_roundtrip);
    RUN(tfevents_reader_sees_corruption);
    RUN(tfevents_buffered_until_flush);
    RUN(tfevents_new_file_per_open_and_session_start);
    RUN(tfevents_errors);
    return TEST_DONE();
}
