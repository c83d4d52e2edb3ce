/* jsonw.h - writing JSON into a pt_buf: strings escaped per RFC 8259.
 *
 * The writer tracks nothing; callers emit commas and braces. pt_jsonw_str escapes
 * ", \ and control characters; bytes that are not valid UTF-8 are written as \u00XX
 * of the byte (so any byte string round-trips through a lossless JSON value) - parrot's
 * corpus content is always valid UTF-8, so this only concerns odd file names.
 */
#ifndef PT_JSONW_H
#define PT_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

int pt_jsonw_str(pt_buf *b, const char *s, size_t n, pt_err *e);
static inline int pt_jsonw_cstr(pt_buf *b, const char *s, pt_err *e) {
    return pt_jsonw_str(b, s, s ? __builtin_strlen(s) : 0, e);
}
/* "key": (with the key escaped), for building objects by hand. */
int pt_jsonw_key(pt_buf *b, const char *key, pt_err *e);
/* A double printed with enough digits to round-trip; NaN/Inf become null. */
int pt_jsonw_double(pt_buf *b, double v, pt_err *e);

#endif
