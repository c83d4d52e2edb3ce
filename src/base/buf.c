/* buf.c - growable buffers; see buf.h. */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *pt_malloc(size_t n, pt_err *e) {
    void *p = malloc(n ? n : 1);
    if (!p) pt_fail(e, PT_ENOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *pt_calloc(size_t n, size_t size, pt_err *e) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) pt_fail(e, PT_ENOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *pt_realloc(void *p, size_t n, pt_err *e) {
    void *q = realloc(p, n ? n : 1);
    if (!q) pt_fail(e, PT_ENOMEM, "out of memory allocating %zu bytes", n);
    return q;
}

int pt_buf_reserve(pt_buf *b, size_t extra, pt_err *e) {
    if (b->len + extra + 1 <= b->cap) return PT_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *d = pt_realloc(b->data, cap, e);
    if (!d) return PT_ENOMEM;
    b->data = d;
    b->cap = cap;
    return PT_OK;
}

int pt_buf_append(pt_buf *b, const void *p, size_t n, pt_err *e) {
    PT_TRY(pt_buf_reserve(b, n, e));
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return PT_OK;
}

int pt_buf_putc(pt_buf *b, char c, pt_err *e) {
    PT_TRY(pt_buf_reserve(b, 1, e));
    b->data[b->len++] = c;
    b->data[b->len] = 0;
    return PT_OK;
}

int pt_buf_printf(pt_buf *b, pt_err *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return pt_fail(e, PT_EINTERNAL, "bad format string");
    PT_TRY(pt_buf_reserve(b, (size_t)n, e));
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return PT_OK;
}

void pt_buf_free(pt_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
