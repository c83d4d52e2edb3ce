/* jsonw.c - see jsonw.h. */
#include "base/jsonw.h"

#include <math.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes there are not one. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t k;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) k = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, min = 0x10000;
    else return 0;
    if (n < k) return 0;
    unsigned cp = c & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return k;
}

int pt_jsonw_str(pt_buf *b, const char *s, size_t n, pt_err *e) {
    const unsigned char *p = (const unsigned char *)s;
    PT_TRY(pt_buf_reserve(b, n + 2, e));
    b->data[b->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') run++;
        if (run > i) {
            PT_TRY(pt_buf_append(b, p + i, run - i, e));
            i = run;
            continue;
        }
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, n - i);
            if (k) {
                PT_TRY(pt_buf_append(b, p + i, k, e));
                i += k;
            } else {
                PT_TRY(pt_buf_printf(b, e, "\\u%04x", c));
                i++;
            }
            continue;
        }
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        }
        if (esc) PT_TRY(pt_buf_append(b, esc, strlen(esc), e));
        else PT_TRY(pt_buf_printf(b, e, "\\u%04x", c));
        i++;
    }
    return pt_buf_putc(b, '"', e);
}

int pt_jsonw_key(pt_buf *b, const char *key, pt_err *e) {
    PT_TRY(pt_jsonw_cstr(b, key, e));
    return pt_buf_putc(b, ':', e);
}

int pt_jsonw_double(pt_buf *b, double v, pt_err *e) {
    if (!isfinite(v)) return pt_buf_append(b, "null", 4, e);
    if (v == floor(v) && fabs(v) < 1e15) return pt_buf_printf(b, e, "%.1f", v);
    return pt_buf_printf(b, e, "%.17g", v);
}
