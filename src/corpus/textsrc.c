/* textsrc.c - see textsrc.h. */
#include "corpus/textsrc.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "corpus/jsonl.h"
#include "corpus/store.h"
#include "corpus/walk.h"

typedef struct feed {
    const pt_textsrc_opts *o;
    pt_textsrc_fn fn;
    void *ctx;
    const char **texts;
    size_t *lens, *offs; /* offs[i] == SIZE_MAX: texts[i] points into a mapping */
    size_t n, held, batch_bytes, batch_docs;
    pt_buf arena;
    pt_textsrc_stats st;
} feed;

static int flush(feed *f, pt_err *e) {
    if (!f->n) return PT_OK;
    for (size_t i = 0; i < f->n; i++)
        if (f->offs[i] != SIZE_MAX) f->texts[i] = f->arena.data + f->offs[i];
    int rc = f->fn(f->ctx, f->n, f->texts, f->lens, e);
    f->n = 0;
    f->held = 0;
    pt_buf_clear(&f->arena);
    if (!rc && f->o->cancel && *f->o->cancel) rc = pt_fail(e, PT_EINTR, "interrupted");
    return rc;
}

static int full(const feed *f) { return f->o->max_docs && f->st.docs >= f->o->max_docs; }

/* Registers a document: ptr (must outlive the batch), or with ptr NULL the n bytes at off
 * in the arena. */
static int push_doc(feed *f, const char *ptr, size_t off, size_t n, pt_err *e) {
    f->texts[f->n] = ptr;
    f->offs[f->n] = off;
    f->lens[f->n++] = n;
    f->held += n;
    f->st.docs++;
    f->st.bytes += n;
    if (f->n == f->batch_docs || f->held >= f->batch_bytes) return flush(f, e);
    return PT_OK;
}

/* Adds a document: ptr (kept) or, with ptr NULL, a copy of text. */
static int add_doc(feed *f, const char *ptr, const char *text, size_t n, pt_err *e) {
    if (full(f)) return PT_OK;
    size_t off = SIZE_MAX;
    if (!ptr) {
        off = f->arena.len;
        PT_TRY(pt_buf_append(&f->arena, text, n, e));
    }
    return push_doc(f, ptr, off, n, e);
}

static int add_file(feed *f, const char *path, pt_err *e) { /* read straight into the batch */
    if (full(f)) return PT_OK;
    size_t off = f->arena.len;
    int rc = pt_fs_read_all(path, &f->arena, e);
    if (rc) {
        f->arena.len = off;
        return rc;
    }
    pt_verbose("%s: %zu bytes", path, f->arena.len - off);
    return push_doc(f, NULL, off, f->arena.len - off, e);
}

static int on_walk_file(void *ctx, const char *path, size_t root_len, pt_err *e) {
    (void)root_len;
    return add_file(ctx, path, e);
}

static void on_unreadable(void *ctx, const char *path, int err) {
    ((feed *)ctx)->st.unreadable++;
    pt_warn("%s: cannot read: %s", path, strerror(err));
}

static int add_jsonl(feed *f, const char *path, pt_err *e) {
    pt_jsonl_reader *r;
    const pt_jsonl_opts jo = {.accept_text = 1}; /* "content", or else "text" */
    PT_TRY(pt_jsonl_open_opts(&r, path, &jo, e));
    pt_jsonl_doc d;
    pt_err le = {0};
    int rc = PT_OK, k;
    while (!full(f) && (k = pt_jsonl_next(r, &d, &le)) != PT_JSONL_END) {
        if (k == PT_JSONL_BAD) {
            f->st.bad_lines++;
            pt_warn("%s (line skipped)", le.msg);
            continue;
        }
        if (k == PT_JSONL_FATAL) {
            *e = le;
            rc = le.code ? le.code : PT_EIO;
            break;
        }
        if ((rc = add_doc(f, NULL, d.content, d.content_len, e))) break;
    }
    pt_jsonl_close(r);
    return rc;
}

static int add_store(feed *f, const char *dir, pt_err *e) {
    const char *split = f->o->split ? f->o->split : "train";
    pt_store *s = NULL;
    PT_TRY(pt_store_open_flags(&s, dir, split, PT_STORE_OPEN_QUICK, e));
    uint64_t n = pt_store_count(s);
    pt_verbose("%s: %s split, %llu documents", dir, split, (unsigned long long)n);
    int rc = PT_OK;
    for (uint64_t i = 0; i < n && !rc && !full(f); i++) {
        pt_doc d;
        pt_store_get(s, i, &d);
        rc = add_doc(f, d.content, NULL, d.content_len, e);
    }
    if (!rc) rc = flush(f, e); /* the batch points into this store: hand it over before closing it */
    pt_store_close(s);
    return rc;
}

static int add_input(feed *f, const char *in, pt_err *e) {
    static const char *const py[] = {".py"};
    if (pt_fs_is_dir(in)) {
        char *man = pt_path_join(in, "manifest.json");
        int corpus = man && pt_fs_exists(man);
        free(man);
        if (corpus) return add_store(f, in, e);
        pt_walk_stats ws;
        int own = f->o->exts && f->o->nexts > 0;
        return pt_walk(in, own ? f->o->exts : py, own ? f->o->nexts : 1, on_walk_file, on_unreadable, f, &ws, e);
    }
    static const char *const ends[] = {".jsonl", ".jsonl.gz", ".json.gz", ".json"};
    if (pt_walk_match(in, ends, 4) || !strcmp(in, "-")) return add_jsonl(f, in, e);
    return add_file(f, in, e);
}

int pt_textsrc_run(const char *const *inputs, int n, const pt_textsrc_opts *o, pt_textsrc_fn fn, void *ctx,
                   pt_textsrc_stats *st, pt_err *e) {
    feed f = {.o = o, .fn = fn, .ctx = ctx};
    f.batch_bytes = o->batch_bytes ? o->batch_bytes : (size_t)16 << 20;
    f.batch_docs = o->batch_docs ? o->batch_docs : 16384;
    f.texts = pt_calloc(f.batch_docs, sizeof *f.texts, e);
    f.lens = f.texts ? pt_calloc(f.batch_docs, sizeof *f.lens, e) : NULL;
    f.offs = f.lens ? pt_calloc(f.batch_docs, sizeof *f.offs, e) : NULL;
    int rc = f.offs ? PT_OK : PT_ENOMEM;
    for (int i = 0; i < n && !rc && !full(&f); i++) rc = add_input(&f, inputs[i], e);
    if (!rc) rc = flush(&f, e);
    if (st) *st = f.st;
    free(f.texts);
    free(f.lens);
    free(f.offs);
    pt_buf_free(&f.arena);
    return rc;
}
