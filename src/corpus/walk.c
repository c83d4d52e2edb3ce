/* walk.c - see walk.h. */
#include "corpus/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"

typedef struct entry {
    char *name;
    size_t len;
    int is_dir;
} entry;

/* Byte order of name, with directories compared as "name/". */
static int entry_cmp(const void *pa, const void *pb) {
    const entry *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->name, b->name, n);
    if (c) return c;
    unsigned ca = a->len > n ? (unsigned char)a->name[n] : (a->is_dir ? '/' : 0);
    unsigned cb = b->len > n ? (unsigned char)b->name[n] : (b->is_dir ? '/' : 0);
    if (ca == cb) return 0; /* same name: cannot happen within one directory */
    return ca < cb ? -1 : 1;
}

int pt_walk_match(const char *name, const char *const *exts, int nexts) {
    if (nexts == 0) return 1;
    size_t n = strlen(name);
    for (int i = 0; i < nexts; i++) {
        size_t k = strlen(exts[i]);
        if (n >= k && memcmp(name + n - k, exts[i], k) == 0) return 1;
    }
    return 0;
}

typedef struct walker {
    const char *const *exts;
    int nexts;
    pt_walk_fn fn;
    pt_walk_unreadable_fn bad;
    void *ctx;
    pt_walk_stats *st;
    size_t root_len;
    pt_buf path; /* the current path, extended and truncated as we descend */
} walker;

static int walk_dir(walker *w, pt_err *e) {
    DIR *d = opendir(w->path.data);
    if (!d) {
        w->st->unreadable++;
        if (w->bad) w->bad(w->ctx, w->path.data, errno);
        return PT_OK;
    }
    entry *ents = NULL;
    size_t n = 0, cap = 0;
    int rc = PT_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        unsigned char t = de->d_type;
        if (t == DT_UNKNOWN) { /* some filesystems don't fill d_type */
            struct stat sb;
            if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) t = DT_UNKNOWN;
            else if (S_ISLNK(sb.st_mode)) t = DT_LNK;
            else if (S_ISDIR(sb.st_mode)) t = DT_DIR;
            else if (S_ISREG(sb.st_mode)) t = DT_REG;
            else t = DT_FIFO;
        }
        if (t == DT_LNK) {
            w->st->symlinks++;
            continue;
        }
        if (t != DT_DIR && t != DT_REG) {
            if (t == DT_UNKNOWN) {
                w->st->unreadable++;
                if (w->bad) w->bad(w->ctx, de->d_name, errno);
            }
            continue; /* sockets, devices, fifos: not source files */
        }
        if (t == DT_REG && !pt_walk_match(de->d_name, w->exts, w->nexts)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            entry *ne = pt_realloc(ents, cap * sizeof *ents, e);
            if (!ne) {
                rc = PT_ENOMEM;
                break;
            }
            ents = ne;
        }
        size_t len = strlen(de->d_name);
        ents[n].name = pt_malloc(len + 1, e);
        if (!ents[n].name) {
            rc = PT_ENOMEM;
            break;
        }
        memcpy(ents[n].name, de->d_name, len + 1);
        ents[n].len = len;
        ents[n].is_dir = t == DT_DIR;
        n++;
    }
    closedir(d);
    if (!rc && n > 1) qsort(ents, n, sizeof *ents, entry_cmp);
    size_t base = w->path.len;
    for (size_t i = 0; i < n && !rc; i++) {
        w->path.len = base;
        if (base && w->path.data[base - 1] != '/') rc = pt_buf_putc(&w->path, '/', e);
        if (!rc) rc = pt_buf_append(&w->path, ents[i].name, ents[i].len, e);
        if (rc) break;
        if (ents[i].is_dir) {
            rc = walk_dir(w, e);
        } else {
            w->st->files++;
            rc = w->fn(w->ctx, w->path.data, w->root_len, e);
        }
    }
    w->path.len = base;
    if (w->path.data) w->path.data[base] = 0;
    for (size_t i = 0; i < n; i++) free(ents[i].name);
    free(ents);
    return rc;
}

int pt_walk(const char *root, const char *const *exts, int nexts, pt_walk_fn fn, pt_walk_unreadable_fn bad, void *ctx,
            pt_walk_stats *st, pt_err *e) {
    walker w = {exts, nexts, fn, bad, ctx, st, 0, {0}};
    memset(st, 0, sizeof *st);
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/') len--; /* "dir/" and "dir" walk the same */
    PT_TRY(pt_buf_append(&w.path, root, len, e));
    w.root_len = len + (root[len - 1] == '/' ? 0 : 1);
    int rc = walk_dir(&w, e);
    pt_buf_free(&w.path);
    return rc;
}
