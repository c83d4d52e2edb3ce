/* source.c - see source.h. */
#include "corpus/source.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "corpus/jsonl.h"
#include "corpus/walk.h"

#define NBATCH 3

struct pt_source {
    pt_input_info *inputs;
    int ninputs;
    const char *const *exts;
    int nexts;
    uint64_t batch_bytes, total_bytes, ordinal;
    volatile int *cancel;
    volatile int stop;       /* set by the consumer to end the reader early */

    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pt_batch batches[NBATCH];
    pt_batch *full[NBATCH];  /* FIFO of filled batches */
    int nfull, full_head;
    pt_batch *free_[NBATCH];
    int nfree;
    int done;                /* the reader has finished (all full batches queued) */
    int rc;                  /* the reader's fatal error */
    pt_err err;

    pt_batch *cur;           /* being filled by the reader */
    pt_hasher dir_hash;      /* for the directory being walked */
    int cur_input;
};

static int is_jsonl_name(const char *p) {
    static const char *const ends[] = {".jsonl", ".jsonl.gz", ".json.gz", ".json"};
    return pt_walk_match(p, ends, 4) || strcmp(p, "-") == 0;
}

/* ---- batch queue ----------------------------------------------------------------- */

static int cancelled(const pt_source *s) { return s->stop || (s->cancel && *s->cancel); }

static void batch_reset(pt_batch *b) {
    pt_buf_clear(&b->arena);
    pt_buf_clear(&b->events);
    b->n = 0;
    b->nevents = 0;
    b->raw_bytes = 0;
}

/* Queues the current batch and waits for a free one. Returns non-zero if cancelled. */
static int push_batch(pt_source *s) {
    pthread_mutex_lock(&s->mu);
    s->full[(s->full_head + s->nfull) % NBATCH] = s->cur;
    s->nfull++;
    s->cur = NULL;
    pthread_cond_broadcast(&s->cv);
    while (s->nfree == 0 && !cancelled(s)) pthread_cond_wait(&s->cv, &s->mu);
    if (s->nfree) {
        s->cur = s->free_[--s->nfree];
        batch_reset(s->cur);
    }
    pthread_mutex_unlock(&s->mu);
    return s->cur == NULL;
}

static int batch_full(const pt_source *s) {
    return s->cur->arena.len >= s->batch_bytes || s->cur->n >= 65536;
}

static int add_event(pt_source *s, int kind, const char *msg, pt_err *e) {
    pt_batch *b = s->cur;
    PT_TRY(pt_buf_putc(&b->events, (char)kind, e));
    PT_TRY(pt_buf_append(&b->events, msg, strlen(msg) + 1, e));
    b->nevents++;
    s->inputs[s->cur_input].events[kind]++;
    return PT_OK;
}

/* Appends a new document record; content is appended by the caller at arena end. */
static pt_srcdoc *new_doc(pt_source *s, pt_err *e) {
    pt_batch *b = s->cur;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        pt_srcdoc *d = pt_realloc(b->docs, cap * sizeof *d, e);
        if (!d) return NULL;
        b->docs = d;
        b->cap = cap;
    }
    pt_srcdoc *d = &b->docs[b->n];
    memset(d, 0, sizeof *d);
    for (int k = 0; k < PT_NMETA; k++) d->meta_len[k] = PT_META_ABSENT;
    d->source = (uint32_t)s->cur_input;
    d->ordinal = s->ordinal;
    return d;
}

static int put_meta(pt_batch *b, pt_srcdoc *d, int k, const char *p, size_t n, pt_err *e) {
    if (!p) return PT_OK;
    if (n >= PT_META_ABSENT) n = PT_META_ABSENT - 1;
    d->meta_off[k] = b->arena.len;
    d->meta_len[k] = (uint32_t)n;
    PT_TRY(pt_buf_append(&b->arena, p, n, e));
    return pt_buf_putc(&b->arena, 0, e);
}

static void commit_doc(pt_source *s) {
    s->cur->n++;
    s->ordinal++;
    s->inputs[s->cur_input].docs++;
}

/* ---- files and directories --------------------------------------------------------- */

/* Reads a whole file into the arena as a new document. Unreadable files become events. */
static int read_file_doc(pt_source *s, const char *path, const char *rel, const char *repo, pt_hash128 *content_hash,
                         pt_err *e) {
    pt_batch *b = s->cur;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        char msg[4200];
        snprintf(msg, sizeof msg, "%s: cannot read: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return add_event(s, PT_EV_UNREADABLE, msg, e);
    }
    pt_srcdoc *d = new_doc(s, e);
    if (!d) {
        close(fd);
        return PT_ENOMEM;
    }
    uint64_t start = b->arena.len;
    int rc = pt_buf_reserve(&b->arena, (size_t)st.st_size + 1, e);
    int err = 0;
    while (!rc) {
        if (b->arena.cap - b->arena.len < 4096 + 1) rc = pt_buf_reserve(&b->arena, 65536, e);
        if (rc) break;
        ssize_t k = read(fd, b->arena.data + b->arena.len, b->arena.cap - b->arena.len - 1);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            err = errno;
            break;
        }
        if (k == 0) break;
        b->arena.len += (size_t)k;
    }
    close(fd);
    if (rc) return rc;
    uint64_t n = b->arena.len - start;
    s->inputs[s->cur_input].bytes_read += n;
    b->raw_bytes += n;
    if (err) {
        b->arena.len = start;
        char msg[4200];
        snprintf(msg, sizeof msg, "%s: read failed: %s", path, strerror(err));
        return add_event(s, PT_EV_UNREADABLE, msg, e);
    }
    b->arena.data[b->arena.len] = 0;
    *content_hash = pt_hash128_of(b->arena.data + start, n, 0);
    PT_TRY(pt_buf_putc(&b->arena, 0, e));
    d->content_off = start;
    d->content_len = n;
    PT_TRY(put_meta(b, d, PT_META_REPO, repo, strlen(repo), e));
    PT_TRY(put_meta(b, d, PT_META_PATH, rel, strlen(rel), e));
    commit_doc(s);
    return PT_OK;
}

typedef struct walk_ctx {
    pt_source *s;
    const char *repo;
} walk_ctx;

static int on_file(void *ctx, const char *path, size_t root_len, pt_err *e) {
    walk_ctx *w = ctx;
    pt_source *s = w->s;
    if (cancelled(s)) return PT_EINTR;
    if (batch_full(s) && push_batch(s)) return PT_EINTR;
    const char *rel = path + root_len;
    pt_hash128 h = {0, 0};
    uint64_t before = s->inputs[s->cur_input].docs;
    PT_TRY(read_file_doc(s, path, rel, w->repo, &h, e));
    if (s->inputs[s->cur_input].docs != before) { /* provenance: path and content of every file */
        pt_hasher_update(&s->dir_hash, rel, strlen(rel) + 1);
        pt_hasher_update(&s->dir_hash, &h, sizeof h);
    }
    return PT_OK;
}

static void on_unreadable(void *ctx, const char *path, int err) {
    walk_ctx *w = ctx;
    char msg[4200];
    snprintf(msg, sizeof msg, "%s: cannot read: %s", path, strerror(err));
    pt_err e;
    if (add_event(w->s, PT_EV_UNREADABLE, msg, &e)) { /* out of memory: the count stays */ }
}

static const char *base_name(const char *p, char *out, size_t n) {
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/') len--;
    size_t i = len;
    while (i > 0 && p[i - 1] != '/') i--;
    size_t k = len - i < n - 1 ? len - i : n - 1;
    memcpy(out, p + i, k);
    out[k] = 0;
    return out;
}

static int read_dir(pt_source *s, pt_input_info *in, pt_err *e) {
    char repo[1024];
    walk_ctx w = {s, base_name(in->name, repo, sizeof repo)};
    pt_walk_stats st;
    pt_hasher_init(&s->dir_hash, 0);
    int rc = pt_walk(in->name, s->exts, s->nexts, on_file, on_unreadable, &w, &st, e);
    in->hash = pt_hasher_final(&s->dir_hash);
    in->size = in->bytes_read;
    return rc;
}

/* ---- JSON Lines ---------------------------------------------------------------------- */

static int read_jsonl(pt_source *s, pt_input_info *in, pt_err *e) {
    pt_jsonl_reader *r;
    pt_err je = {0};
    if (pt_jsonl_open(&r, in->name, &je)) return add_event(s, PT_EV_FATAL_INPUT, je.msg, e);
    uint64_t raw_seen = 0;
    int rc = PT_OK;
    for (;;) {
        if (cancelled(s)) {
            rc = PT_EINTR;
            break;
        }
        if (batch_full(s) && push_batch(s)) {
            rc = PT_EINTR;
            break;
        }
        pt_jsonl_doc jd;
        int k = pt_jsonl_next(r, &jd, &je);
        uint64_t raw = pt_jsonl_raw_bytes(r);
        s->cur->raw_bytes += raw - raw_seen;
        raw_seen = raw;
        if (k == PT_JSONL_END) break;
        if (k == PT_JSONL_BAD) {
            if ((rc = add_event(s, PT_EV_BAD_LINE, je.msg, e))) break;
            continue;
        }
        if (k == PT_JSONL_FATAL) {
            rc = add_event(s, PT_EV_FATAL_INPUT, je.msg, e);
            break;
        }
        pt_batch *b = s->cur;
        pt_srcdoc *d = new_doc(s, e);
        if (!d) {
            rc = PT_ENOMEM;
            break;
        }
        d->line = jd.line;
        d->surrogate = jd.content_has_surrogate;
        d->content_off = b->arena.len;
        d->content_len = jd.content_len;
        if ((rc = pt_buf_append(&b->arena, jd.content, jd.content_len, e))) break;
        if ((rc = pt_buf_putc(&b->arena, 0, e))) break;
        const char *mp[PT_NMETA] = {jd.repo_name, jd.path, jd.license, jd.size, jd.copies};
        size_t ml[PT_NMETA] = {jd.repo_name_len, jd.path_len, jd.license_len, jd.size_len, jd.copies_len};
        for (int m = 0; m < PT_NMETA && !rc; m++) rc = put_meta(b, d, m, mp[m], ml[m], e);
        if (rc) break;
        commit_doc(s);
    }
    in->bytes_read = pt_jsonl_raw_bytes(r);
    in->hash = pt_jsonl_file_hash(r);
    pt_jsonl_close(r);
    return rc;
}

static int read_single(pt_source *s, pt_input_info *in, pt_err *e) {
    char name[1024];
    base_name(in->name, name, sizeof name);
    pt_hash128 h = {0, 0};
    if (batch_full(s) && push_batch(s)) return PT_EINTR;
    PT_TRY(read_file_doc(s, in->name, name, "", &h, e));
    in->hash = h;
    return PT_OK;
}

static void *reader_main(void *arg) {
    pt_source *s = arg;
    pt_err e = {0};
    int rc = PT_OK;
    for (int i = 0; i < s->ninputs && !rc; i++) {
        s->cur_input = i;
        pt_input_info *in = &s->inputs[i];
        if (in->kind == PT_INPUT_DIR) rc = read_dir(s, in, &e);
        else if (in->kind == PT_INPUT_JSONL) rc = read_jsonl(s, in, &e);
        else rc = read_single(s, in, &e);
    }
    pthread_mutex_lock(&s->mu);
    if (s->cur && (s->cur->n || s->cur->nevents || s->cur->raw_bytes)) {
        s->full[(s->full_head + s->nfull) % NBATCH] = s->cur;
        s->nfull++;
    } else if (s->cur) {
        s->free_[s->nfree++] = s->cur;
    }
    s->cur = NULL;
    s->done = 1;
    if (rc && rc != PT_EINTR) {
        s->rc = rc;
        s->err = e;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- public ---------------------------------------------------------------------------- */

static int sum_size(void *ctx, const char *path, size_t root_len, pt_err *e) {
    int64_t n = pt_fs_size(path);
    if (n > 0) *(uint64_t *)ctx += (uint64_t)n;
    return PT_OK;
}

int pt_source_start(pt_source **out, const char *const *inputs, int ninputs, const char *const *exts, int nexts,
                    uint64_t batch_bytes, int size_dirs, volatile int *cancel, pt_err *e) {
    *out = NULL;
    pt_source *s = pt_calloc(1, sizeof *s, e);
    if (!s) return PT_ENOMEM;
    s->inputs = pt_calloc((size_t)ninputs, sizeof *s->inputs, e);
    if (!s->inputs) {
        free(s);
        return PT_ENOMEM;
    }
    s->ninputs = ninputs;
    s->exts = exts;
    s->nexts = nexts;
    s->batch_bytes = batch_bytes;
    s->cancel = cancel;
    int rc = PT_OK, unknown = 0;
    for (int i = 0; i < ninputs && !rc; i++) {
        pt_input_info *in = &s->inputs[i];
        in->name = strdup(inputs[i]);
        if (!in->name) {
            rc = pt_fail(e, PT_ENOMEM, "out of memory");
            break;
        }
        struct stat st;
        if (strcmp(inputs[i], "-") == 0) {
            in->kind = PT_INPUT_JSONL;
        } else if (stat(inputs[i], &st) != 0) {
            rc = pt_fail_errno(e, PT_EIO, "%s: cannot read input", inputs[i]);
        } else if (S_ISDIR(st.st_mode)) {
            in->kind = PT_INPUT_DIR;
            pt_walk_stats ws;
            if (size_dirs) rc = pt_walk(inputs[i], exts, nexts, sum_size, NULL, &in->size, &ws, e);
            else unknown = 1;
        } else if (!S_ISREG(st.st_mode)) {
            rc = pt_fail(e, PT_EUSAGE, "%s: not a directory or a regular file", inputs[i]);
        } else if (is_jsonl_name(inputs[i])) {
            in->kind = PT_INPUT_JSONL;
            in->size = (uint64_t)st.st_size;
        } else if (pt_walk_match(inputs[i], exts, nexts)) {
            in->kind = PT_INPUT_FILE;
            in->size = (uint64_t)st.st_size;
        } else {
            rc = pt_fail(e, PT_EUSAGE,
                         "%s: unknown kind of input: expected a directory, a .jsonl/.jsonl.gz/.json.gz file, or a "
                         "source file matching --ext",
                         inputs[i]);
        }
        s->total_bytes += in->size;
    }
    if (unknown) s->total_bytes = 0;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (int i = 1; i < NBATCH; i++) s->free_[s->nfree++] = &s->batches[i];
    s->cur = &s->batches[0];
    if (!rc && pthread_create(&s->thread, NULL, reader_main, s) != 0)
        rc = pt_fail(e, PT_EINTERNAL, "cannot start the reader thread");
    if (rc) {
        pt_source_free(s);
        return rc;
    }
    s->started = 1;
    *out = s;
    return PT_OK;
}

uint64_t pt_source_total_bytes(const pt_source *s) { return s->total_bytes; }

pt_batch *pt_source_next(pt_source *s) {
    pthread_mutex_lock(&s->mu);
    while (s->nfull == 0 && !s->done) pthread_cond_wait(&s->cv, &s->mu);
    pt_batch *b = NULL;
    if (s->nfull) {
        b = s->full[s->full_head];
        s->full_head = (s->full_head + 1) % NBATCH;
        s->nfull--;
    }
    pthread_mutex_unlock(&s->mu);
    return b;
}

void pt_source_release(pt_source *s, pt_batch *b) {
    pthread_mutex_lock(&s->mu);
    s->free_[s->nfree++] = b;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int pt_source_finish(pt_source *s, pt_err *e) {
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_broadcast(&s->cv); /* wake a reader waiting for a free batch after cancel */
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        s->started = 0;
    }
    if (s->rc && e) *e = s->err;
    return s->rc;
}

const pt_input_info *pt_source_inputs(const pt_source *s, int *n) {
    *n = s->ninputs;
    return s->inputs;
}

void pt_source_free(pt_source *s) {
    if (!s) return;
    if (s->started) {
        s->stop = 1;
        pt_source_finish(s, NULL);
    }
    for (int i = 0; i < NBATCH; i++) {
        pt_buf_free(&s->batches[i].arena);
        pt_buf_free(&s->batches[i].events);
        free(s->batches[i].docs);
    }
    for (int i = 0; i < s->ninputs; i++) free(s->inputs[i].name);
    free(s->inputs);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
