/* status.c - error codes and messages; see status.h. */
#include "base/status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int pt_fail(pt_err *e, int code, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

int pt_fail_errno(pt_err *e, int code, const char *fmt, ...) {
    int saved = errno;
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        if (n < 0) n = 0;
        if ((size_t)n < sizeof e->msg)
            snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(saved));
        e->code = code;
    }
    return code;
}

int pt_err_prefix(pt_err *e, const char *fmt, ...) {
    if (!e) return 0;
    char head[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%.500s: %.*s", head, (int)(sizeof e->msg - 503), old);
    return e->code;
}

const char *pt_code_name(int code) {
    static const char *names[PT_NCODES] = {"ok", "io", "format", "nomem", "usage",
                                           "exists", "interrupted", "limit", "internal"};
    return (code >= 0 && code < PT_NCODES) ? names[code] : "unknown";
}
