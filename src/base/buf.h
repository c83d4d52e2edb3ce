/* buf.h - a growable byte buffer and checked allocation.
 *
 * Allocation goes through pt_malloc/pt_realloc so that a failing allocation becomes a
 * PT_ENOMEM status instead of a crash. A pt_buf owns its bytes; pt_buf_free releases
 * them. The data is always NUL-terminated past len (cap > len), so text can be used as
 * a C string without a copy.
 */
#ifndef PT_BUF_H
#define PT_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

void *pt_malloc(size_t n, pt_err *e);            /* NULL and PT_ENOMEM on failure */
void *pt_calloc(size_t n, size_t size, pt_err *e);
void *pt_realloc(void *p, size_t n, pt_err *e);  /* p stays valid on failure */

typedef struct pt_buf {
    char *data;
    size_t len, cap;
} pt_buf;

/* Ensures room for `extra` more bytes plus the terminating NUL. */
int pt_buf_reserve(pt_buf *b, size_t extra, pt_err *e);
int pt_buf_append(pt_buf *b, const void *p, size_t n, pt_err *e);
int pt_buf_putc(pt_buf *b, char c, pt_err *e);
int pt_buf_printf(pt_buf *b, pt_err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void pt_buf_clear(pt_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = 0;
}
void pt_buf_free(pt_buf *b);

#endif
