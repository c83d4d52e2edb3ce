/* shards.h - numbered shard files: "<split>-NNNNN<ext>" in a folder.
 *
 * The document store (.pds) and the token shards (.tok) both keep a split as a numbered
 * sequence of files; this module is their one naming and listing code. Split names are
 * 1..200 characters without '/'; numbers have five digits, counting from 0.
 */
#ifndef PT_SHARDS_H
#define PT_SHARDS_H

#include <stdint.h>

#include "base/status.h"

/* PT_OK, or PT_EUSAGE naming the bad split name (e may be NULL). */
int pt_shards_check_split(const char *split, pt_err *e);

/* "dir/<split>-NNNNN<ext>", malloc'd; NULL on OOM. */
char *pt_shards_path(const char *dir, const char *split, const char *ext, uint32_t k);

/* The shard numbers of split in dir, sorted (split == NULL: the shards of every split,
 * unsorted, and *names - when names is not NULL - gets each one's split name, malloc'd).
 * The caller frees *nums (and *names and its strings). */
int pt_shards_list(const char *dir, const char *split, const char *ext, uint32_t **nums, char ***names, uint32_t *n,
                   pt_err *e);

/* The first number k < n missing from sorted nums[0..n) when they should be 0..n-1, or -1. */
int64_t pt_shards_gap(const uint32_t *nums, uint32_t n);

#endif
