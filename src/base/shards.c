/* shards.c - see shards.h. */
#include "base/shards.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/fs.h"

int pt_shards_check_split(const char *split, pt_err *e) {
    size_t n = split ? strlen(split) : 0;
    if (n == 0 || n > 200 || strchr(split, '/'))
        return pt_fail(e, PT_EUSAGE, "invalid split name '%s': need 1..200 characters, no '/'", split ? split : "");
    return PT_OK;
}

char *pt_shards_path(const char *dir, const char *split, const char *ext, uint32_t k) {
    char *name, *p;
    if (asprintf(&name, "%s-%05u%s", split, k, ext) < 0) return NULL;
    p = pt_path_join(dir, name);
    free(name);
    return p;
}

/* If name is "<prefix>-NNNNN<ext>", returns the prefix length and sets *num; else -1. */
static ssize_t parse_name(const char *name, const char *ext, uint32_t *num) {
    size_t n = strlen(name), x = strlen(ext);
    if (n < 1 + 1 + 5 + x || strcmp(name + n - x, ext)) return -1;
    const char *d = name + n - x - 5;
    uint32_t v = 0;
    for (int i = 0; i < 5; i++) {
        if (d[i] < '0' || d[i] > '9') return -1;
        v = v * 10 + (uint32_t)(d[i] - '0');
    }
    if (d[-1] != '-') return -1;
    *num = v;
    return d - 1 - name;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int pt_shards_list(const char *dir, const char *split, const char *ext, uint32_t **nums, char ***names, uint32_t *n,
                   pt_err *e) {
    *nums = NULL;
    *n = 0;
    if (names) *names = NULL;
    DIR *d = opendir(dir);
    if (!d) return pt_fail_errno(e, PT_EIO, "%s: cannot open directory", dir);
    size_t cap = 0, len = split ? strlen(split) : 0;
    int rc = PT_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint32_t num;
        ssize_t plen = parse_name(de->d_name, ext, &num);
        if (plen < 0 || (split && ((size_t)plen != len || memcmp(de->d_name, split, len)))) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            uint32_t *nn = pt_realloc(*nums, cap * sizeof *nn, e);
            char **ns = names ? pt_realloc(*names, cap * sizeof *ns, e) : NULL;
            if (nn) *nums = nn;
            if (ns) *names = ns;
            if (!nn || (names && !ns)) {
                rc = PT_ENOMEM;
                break;
            }
        }
        (*nums)[*n] = num;
        if (names && !((*names)[*n] = strndup(de->d_name, (size_t)plen))) {
            rc = pt_fail(e, PT_ENOMEM, "out of memory");
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (rc) {
        if (names)
            for (uint32_t i = 0; i < *n; i++) free((*names)[i]);
        free(*nums);
        if (names) free(*names);
        *nums = NULL;
        *n = 0;
        return rc;
    }
    if (split && *n > 1) qsort(*nums, *n, sizeof **nums, cmp_u32);
    return PT_OK;
}

int64_t pt_shards_gap(const uint32_t *nums, uint32_t n) {
    for (uint32_t k = 0; k < n; k++)
        if (nums[k] != k) return (int64_t)k;
    return -1;
}
