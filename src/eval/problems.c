/* problems.c - reading and selecting HumanEval problem sets; see problems.h. */
#include "eval/problems.h"

#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/json.h"

/* Reads a whole file, inflating gzip (zlib's gzread passes plain files through). */
int pt_problems_read_file(const char *path, pt_buf *b, pt_err *e) {
    gzFile f = gzopen(path, "rb");
    if (!f) return pt_fail_errno(e, PT_EIO, "%s: cannot open", path);
    for (;;) {
        if (pt_buf_reserve(b, 1 << 16, e)) {
            gzclose(f);
            return PT_ENOMEM;
        }
        int n = gzread(f, b->data + b->len, 1 << 16);
        if (n < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            int rc = pt_fail(e, PT_EIO, "%s: cannot read: %s", path, zerr == Z_ERRNO ? strerror(errno) : msg);
            gzclose(f);
            return rc;
        }
        if (n == 0) break;
        b->len += (size_t)n;
        b->data[b->len] = 0;
    }
    int zerr = 0;
    gzerror(f, &zerr);
    gzclose(f);
    if (zerr != Z_OK && zerr != Z_BUF_ERROR)
        return pt_fail(e, PT_EIO, "%s: truncated or corrupt gzip stream", path);
    return PT_OK;
}

static char *dup_str(const pt_json *v) {
    size_t len;
    const char *s = pt_json_str(v, &len);
    char *d = malloc(len + 1);
    if (d) memcpy(d, s, len + 1);
    return d;
}

static long task_number(const char *id, long fallback) {
    const char *slash = strrchr(id, '/');
    const char *p = slash ? slash + 1 : id;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || *end || errno || v < 0) return fallback;
    return v;
}

static void free_problem(pt_problem *p) {
    free((char *)p->task_id);
    free((char *)p->prompt);
    free((char *)p->canonical_solution);
    free((char *)p->test);
    free((char *)p->entry_point);
}

void pt_problems_free(pt_problems *ps) {
    if (!ps) return;
    for (size_t i = 0; i < ps->n; i++) free_problem(&ps->v[i]);
    free(ps->v);
    free(ps->path);
    memset(ps, 0, sizeof *ps);
}

long pt_problems_find(const pt_problems *ps, const char *task_id) {
    for (size_t i = 0; i < ps->n; i++)
        if (!strcmp(ps->v[i].task_id, task_id)) return (long)i;
    return -1;
}

int pt_problems_load(pt_problems *ps, const char *path, pt_err *e) {
    memset(ps, 0, sizeof *ps);
    pt_buf text = {0};
    int rc = pt_problems_read_file(path, &text, e);
    if (rc) {
        pt_buf_free(&text);
        return rc;
    }
    size_t cap = 0;
    ps->path = strdup(path);
    if (!ps->path) {
        rc = pt_fail(e, PT_ENOMEM, "out of memory");
        goto out;
    }
    char *p = text.data, *end = text.data + text.len;
    for (long line = 1; p && p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q == le) {
            p = nl ? nl + 1 : end;
            continue;
        }
        pt_json_doc *doc = NULL;
        if ((rc = pt_json_parse(p, (size_t)(le - p), &doc, e))) {
            pt_err_prefix(e, "%s:%ld", path, line);
            goto out;
        }
        const pt_json *root = pt_json_root(doc);
        static const char *const names[] = {"task_id", "prompt", "canonical_solution", "test", "entry_point"};
        const pt_json *f[5];
        for (int i = 0; i < 5; i++) {
            f[i] = pt_json_get(root, names[i]);
            if (pt_json_type(f[i]) != PT_JSON_STRING && !(i == 2 && !f[i])) {
                if (pt_json_type(root) != PT_JSON_OBJECT)
                    rc = pt_fail(e, PT_EFORMAT, "%s:%ld: not a JSON object", path, line);
                else
                    rc = pt_fail(e, PT_EFORMAT, "%s:%ld: \"%s\" %s", path, line, names[i],
                                 f[i] ? "is not a string" : "is missing");
                pt_json_free(doc);
                goto out;
            }
        }
        if (ps->n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            pt_problem *nv = pt_realloc(ps->v, nc * sizeof *nv, e);
            if (!nv) {
                pt_json_free(doc);
                rc = PT_ENOMEM;
                goto out;
            }
            ps->v = nv, cap = nc;
        }
        pt_problem *pr = &ps->v[ps->n];
        memset(pr, 0, sizeof *pr);
        pr->task_id = dup_str(f[0]);
        pr->prompt = dup_str(f[1]);
        pr->canonical_solution = f[2] ? dup_str(f[2]) : strdup("");
        pr->test = dup_str(f[3]);
        pr->entry_point = dup_str(f[4]);
        pt_json_free(doc);
        if (!pr->task_id || !pr->prompt || !pr->canonical_solution || !pr->test || !pr->entry_point) {
            free_problem(pr);
            rc = pt_fail(e, PT_ENOMEM, "out of memory");
            goto out;
        }
        if (pt_problems_find(ps, pr->task_id) >= 0) {
            rc = pt_fail(e, PT_EFORMAT, "%s:%ld: task_id \"%s\" appears twice", path, line, pr->task_id);
            free_problem(pr);
            goto out;
        }
        pr->number = task_number(pr->task_id, (long)ps->n);
        ps->n++;
        p = nl ? nl + 1 : end;
    }
    if (!ps->n) rc = pt_fail(e, PT_EFORMAT, "%s: no problems in the file", path);
out:
    pt_buf_free(&text);
    if (rc) pt_problems_free(ps);
    return rc;
}

/* Marks the problems matched by one item of the spec; returns how many matched. */
static size_t mark_item(const pt_problems *ps, const char *item, unsigned char *keep) {
    size_t hits = 0;
    long a, b;
    char *end;
    errno = 0;
    a = strtol(item, &end, 10);
    int numeric = end != item && item[0] != '-' && !errno;
    if (numeric && *end == '-') {
        const char *q = end + 1;
        b = strtol(q, &end, 10);
        numeric = end != q && *q != '-' && !*end && !errno && b >= a;
    } else {
        b = a;
        numeric = numeric && !*end;
    }
    for (size_t i = 0; i < ps->n; i++) {
        int m = numeric ? ps->v[i].number >= a && ps->v[i].number <= b : !strcmp(ps->v[i].task_id, item);
        if (m) keep[i] = 1, hits++;
    }
    return hits;
}

int pt_problems_select(pt_problems *ps, const char *spec, long limit, pt_err *e) {
    unsigned char *keep = pt_calloc(ps->n ? ps->n : 1, 1, e);
    if (!keep) return PT_ENOMEM;
    if (!spec || !*spec) {
        memset(keep, 1, ps->n);
    } else {
        char *copy = strdup(spec);
        if (!copy) {
            free(keep);
            return pt_fail(e, PT_ENOMEM, "out of memory");
        }
        char *save = NULL;
        for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
            while (*item == ' ') item++;
            size_t l = strlen(item);
            while (l && item[l - 1] == ' ') item[--l] = 0;
            if (!*item) continue;
            if (!mark_item(ps, item, keep)) {
                int rc = pt_fail(e, PT_EUSAGE, "--tasks: \"%s\" matches no problem of %s", item, ps->path);
                free(copy);
                free(keep);
                return rc;
            }
        }
        free(copy);
    }
    size_t w = 0;
    for (size_t i = 0; i < ps->n; i++) {
        if (keep[i] && (limit < 0 || (long)w < limit)) ps->v[w++] = ps->v[i];
        else free_problem(&ps->v[i]);
    }
    ps->n = w;
    free(keep);
    return PT_OK;
}

const char *pt_problems_default_path(void) {
    static char exe_rel[PATH_MAX + 64];
    const char *env = getenv("PT_HUMANEVAL");
    if (env && *env) return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            char rel[PATH_MAX + 64];
            snprintf(rel, sizeof rel, "%s/../data/humaneval/HumanEval.jsonl.gz", exe);
            if (access(rel, R_OK) == 0) {
                if (!realpath(rel, exe_rel)) snprintf(exe_rel, sizeof exe_rel, "%s", rel);
                return exe_rel;
            }
        }
    }
    return "data/humaneval/HumanEval.jsonl.gz";
}
