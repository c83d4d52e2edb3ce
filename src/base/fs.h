/* fs.h - files: whole reads, read-only memory maps, atomic writes, directories.
 *
 * Every output parrot writes goes through pt_afile: the bytes go to "<path>.tmp-<pid>"
 * and pt_afile_commit renames them into place, so a crash or an error never leaves a
 * half-written file under the real name. Messages always name the file.
 */
#ifndef PT_FS_H
#define PT_FS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/status.h"

/* Reads all of path into b (appending). "-" reads standard input. */
int pt_fs_read_all(const char *path, pt_buf *b, pt_err *e);

/* A read-only memory map of a whole file. An empty file maps to data == NULL, size 0. */
typedef struct pt_map {
    const unsigned char *data;
    size_t size;
} pt_map;
int pt_map_open(pt_map *m, const char *path, pt_err *e);
void pt_map_close(pt_map *m);

/* Atomic file writer (buffered stdio underneath). */
typedef struct pt_afile {
    FILE *f;
    char *path; /* final name */
    char *tmp;  /* temporary name */
    uint64_t written;
    int nosync; /* set after open to skip fsync at commit (temporary files only) */
} pt_afile;
int pt_afile_open(pt_afile *a, const char *path, pt_err *e);
int pt_afile_write(pt_afile *a, const void *p, size_t n, pt_err *e);
/* Writes n bytes at absolute offset off (used to patch a header at the end). */
int pt_afile_pwrite(pt_afile *a, const void *p, size_t n, uint64_t off, pt_err *e);
/* Flushes, fsyncs and renames into place; the pt_afile is closed whatever happens. */
int pt_afile_commit(pt_afile *a, pt_err *e);
/* Discards the temporary file; safe on a closed or zeroed pt_afile. */
void pt_afile_abort(pt_afile *a);

/* Writes a whole buffer atomically. */
int pt_fs_write_atomic(const char *path, const void *p, size_t n, pt_err *e);

int pt_fs_mkdir_p(const char *path, pt_err *e);
/* Removes a file or a whole tree (no symlink following). Missing is not an error. */
int pt_fs_rm_rf(const char *path, pt_err *e);
int pt_fs_exists(const char *path);
int pt_fs_is_dir(const char *path);
/* Size of a regular file, or -1. */
int64_t pt_fs_size(const char *path);

/* path join into a malloc'd string: "a" + "/" + "b". NULL on OOM. */
char *pt_path_join(const char *a, const char *b);

#endif
