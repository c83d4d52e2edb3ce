/* fs.c - see fs.h. */
#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int pt_fs_read_all(const char *path, pt_buf *b, pt_err *e) {
    int stdin_ = strcmp(path, "-") == 0;
    int fd = stdin_ ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pt_fail_errno(e, PT_EIO, "%s: cannot open", path);
    struct stat st;
    if (!stdin_ && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return pt_fail(e, PT_EIO, "%s: is a directory", path);
    }
    if (!stdin_ && S_ISREG(st.st_mode) && pt_buf_reserve(b, (size_t)st.st_size, e)) {
        close(fd);
        return PT_ENOMEM;
    }
    for (;;) {
        if (pt_buf_reserve(b, 65536, e)) {
            if (!stdin_) close(fd);
            return PT_ENOMEM;
        }
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int rc = pt_fail_errno(e, PT_EIO, "%s: read failed", path);
            if (!stdin_) close(fd);
            return rc;
        }
        if (n == 0) break;
        b->len += (size_t)n;
    }
    b->data[b->len] = 0;
    if (!stdin_) close(fd);
    return PT_OK;
}

int pt_map_open(pt_map *m, const char *path, pt_err *e) {
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pt_fail_errno(e, PT_EIO, "%s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = pt_fail_errno(e, PT_EIO, "%s: cannot stat", path);
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pt_fail(e, PT_EIO, "%s: not a regular file", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int rc = pt_fail_errno(e, PT_EIO, "%s: cannot map", path);
            close(fd);
            return rc;
        }
        m->data = p;
        m->size = (size_t)st.st_size;
    }
    close(fd);
    return PT_OK;
}

void pt_map_close(pt_map *m) {
    if (m->data) munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

int pt_afile_open(pt_afile *a, const char *path, pt_err *e) {
    memset(a, 0, sizeof *a);
    a->path = strdup(path);
    if (!a->path || asprintf(&a->tmp, "%s.tmp-%ld", path, (long)getpid()) < 0) {
        free(a->path);
        a->path = NULL;
        a->tmp = NULL;
        return pt_fail(e, PT_ENOMEM, "%s: out of memory", path);
    }
    a->f = fopen(a->tmp, "w+be");
    if (!a->f) {
        int rc = pt_fail_errno(e, PT_EIO, "%s: cannot create", a->tmp);
        free(a->path);
        free(a->tmp);
        a->path = a->tmp = NULL;
        return rc;
    }
    setvbuf(a->f, NULL, _IOFBF, 1 << 20);
    return PT_OK;
}

int pt_afile_write(pt_afile *a, const void *p, size_t n, pt_err *e) {
    if (n && fwrite(p, 1, n, a->f) != n) return pt_fail_errno(e, PT_EIO, "%s: write failed", a->tmp);
    a->written += n;
    return PT_OK;
}

int pt_afile_pwrite(pt_afile *a, const void *p, size_t n, uint64_t off, pt_err *e) {
    if (fflush(a->f) != 0) return pt_fail_errno(e, PT_EIO, "%s: write failed", a->tmp);
    if (pwrite(fileno(a->f), p, n, (off_t)off) != (ssize_t)n)
        return pt_fail_errno(e, PT_EIO, "%s: write failed", a->tmp);
    return PT_OK;
}

static void afile_release(pt_afile *a) {
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    a->f = NULL;
}

int pt_afile_commit(pt_afile *a, pt_err *e) {
    int rc = PT_OK;
    if (fflush(a->f) != 0 || (!a->nosync && fsync(fileno(a->f)) != 0))
        rc = pt_fail_errno(e, PT_EIO, "%s: write failed", a->tmp);
    if (fclose(a->f) != 0 && !rc) rc = pt_fail_errno(e, PT_EIO, "%s: close failed", a->tmp);
    a->f = NULL;
    if (!rc && rename(a->tmp, a->path) != 0)
        rc = pt_fail_errno(e, PT_EIO, "%s: cannot rename into place", a->path);
    if (rc) unlink(a->tmp);
    afile_release(a);
    return rc;
}

void pt_afile_abort(pt_afile *a) {
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    afile_release(a);
}

int pt_fs_write_atomic(const char *path, const void *p, size_t n, pt_err *e) {
    pt_afile a;
    PT_TRY(pt_afile_open(&a, path, e));
    int rc = pt_afile_write(&a, p, n, e);
    if (rc) {
        pt_afile_abort(&a);
        return rc;
    }
    return pt_afile_commit(&a, e);
}

int pt_fs_mkdir_p(const char *path, pt_err *e) {
    char *p = strdup(path);
    if (!p) return pt_fail(e, PT_ENOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                int rc = pt_fail_errno(e, PT_EIO, "%s: cannot create directory", p);
                free(p);
                return rc;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    if (!pt_fs_is_dir(path)) return pt_fail(e, PT_EIO, "%s: exists and is not a directory", path);
    return PT_OK;
}

int pt_fs_rm_rf(const char *path, pt_err *e) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? PT_OK : pt_fail_errno(e, PT_EIO, "%s: cannot stat", path);
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return pt_fail_errno(e, PT_EIO, "%s: cannot open directory", path);
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char *sub = pt_path_join(path, de->d_name);
            if (!sub) {
                closedir(d);
                return pt_fail(e, PT_ENOMEM, "out of memory");
            }
            int rc = pt_fs_rm_rf(sub, e);
            free(sub);
            if (rc) {
                closedir(d);
                return rc;
            }
        }
        closedir(d);
        if (rmdir(path) != 0) return pt_fail_errno(e, PT_EIO, "%s: cannot remove", path);
    } else if (unlink(path) != 0) {
        return pt_fail_errno(e, PT_EIO, "%s: cannot remove", path);
    }
    return PT_OK;
}

int pt_fs_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

int pt_fs_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int64_t pt_fs_size(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    return (int64_t)st.st_size;
}

char *pt_path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *r = malloc(la + slash + lb + 1);
    if (!r) return NULL;
    memcpy(r, a, la);
    if (slash) r[la] = '/';
    memcpy(r + la + slash, b, lb + 1);
    return r;
}
