/* walk.h - recursive directory walk in sorted byte order of the full paths.
 *
 * "The first occurrence" of a duplicate must mean the same file on every machine, so
 * the walk order is defined: the byte order of the full paths. Sorting a whole tree's
 * paths would need memory for all of them; instead each directory's entries are sorted
 * with directories compared as "name/" - which yields exactly the global byte order of
 * full paths (a file "a.py" sorts before "a/x" because '.' < '/'), holding one directory
 * listing per level. Symbolic links are never followed (files or directories); entries
 * that cannot be read are reported through a callback and counted, not fatal.
 */
#ifndef PT_WALK_H
#define PT_WALK_H

#include <stdint.h>

#include "base/status.h"

typedef struct pt_walk_stats {
    uint64_t files;       /* matching regular files visited */
    uint64_t unreadable;  /* directories or entries that could not be listed or examined */
    uint64_t symlinks;    /* symbolic links skipped */
} pt_walk_stats;

/* Called for every regular file whose name ends in one of exts, in order. path is the
 * full path; path + root_len is the path relative to the walk's root (no leading '/').
 * A non-zero return stops the walk and is returned by pt_walk. */
typedef int (*pt_walk_fn)(void *ctx, const char *path, size_t root_len, pt_err *e);
/* Called for an entry that could not be read (errno-style code), then the walk goes on. */
typedef void (*pt_walk_unreadable_fn)(void *ctx, const char *path, int err);

int pt_walk(const char *root, const char *const *exts, int nexts, pt_walk_fn fn, pt_walk_unreadable_fn bad, void *ctx,
            pt_walk_stats *st, pt_err *e);

/* 1 if name ends with one of exts (nexts == 0 matches everything). */
int pt_walk_match(const char *name, const char *const *exts, int nexts);

#endif
