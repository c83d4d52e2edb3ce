/* status.h - the one error model of the parrot library.
 *
 * Every fallible library function returns an int status (PT_OK == 0 on success) and,
 * on failure, fills a caller-owned pt_err with a code and a human message that names
 * the file and what is wrong. The library never exits, aborts on input, or prints to
 * stdout; only src/cli decides to stop. assert() is for programmer errors only.
 *
 * Usage:
 *     pt_err e = {0};
 *     if (pt_fs_read_all(path, &buf, &e)) { report(e.msg); }
 *
 * Inside the library, PT_TRY(expr) forwards a failure unchanged.
 */
#ifndef PT_STATUS_H
#define PT_STATUS_H

#include <stddef.h>

enum {
    PT_OK = 0,
    PT_EIO,       /* a file or device could not be read or written */
    PT_EFORMAT,   /* input data is malformed, truncated or of another version */
    PT_ENOMEM,    /* an allocation failed */
    PT_EUSAGE,    /* the caller passed an invalid argument or option value */
    PT_EEXIST,    /* an output exists and overwriting it was not allowed */
    PT_EINTR,     /* the work was interrupted (signal) */
    PT_ELIMIT,    /* a configured limit (memory, size) would be exceeded */
    PT_EINTERNAL, /* a bug: an invariant did not hold */
    PT_NCODES
};

typedef struct pt_err {
    int code;
    char msg[1024];
} pt_err;

/* Sets e (which may be NULL) to code and the formatted message; returns code, so that
 * `return pt_fail(e, PT_EIO, "%s: ...", path);` reads naturally. */
int pt_fail(pt_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* As pt_fail, and appends ": <strerror(errno)>" using errno as it was on entry. */
int pt_fail_errno(pt_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an error's message (for adding context while forwarding). */
int pt_err_prefix(pt_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The stable name of a code ("io", "format", ...). */
const char *pt_code_name(int code);

#define PT_TRY(expr)                      \
    do {                                  \
        int pt_try_rc_ = (expr);          \
        if (pt_try_rc_) return pt_try_rc_; \
    } while (0)

#endif
