/* fuzz_json.c - libFuzzer target for base/json: the DOM parser and the scanners.
 *
 * Besides "no crash, no leak, no UB" under ASan/UBSan, it checks properties that tie the
 * parts together, each an abort() when broken:
 *   - the DOM parser and pt_json_skip_value accept exactly the same texts;
 *   - a parsed tree written back out (strings via jsonw, numbers as their text) parses
 *     again to an equal tree, and writing that gives the same bytes;
 *   - the lax flags accept a superset of the strict scanner, and a string the strict
 *     scanner decodes comes out the same in lax mode;
 *   - a failure's offset lies inside the text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/jsonw.h"

#include "fuzz.h"


static void write_value(pt_buf *b, const pt_json *v) {
    size_t n;
    const char *s;
    switch (pt_json_type(v)) {
    case PT_JSON_NULL: pt_buf_append(b, "null", 4, NULL); break;
    case PT_JSON_BOOL: pt_buf_printf(b, NULL, "%s", pt_json_bool(v) ? "true" : "false"); break;
    case PT_JSON_NUMBER:
        s = pt_json_num_text(v, &n);
        pt_buf_append(b, s, n, NULL);
        break;
    case PT_JSON_STRING:
        s = pt_json_str(v, &n);
        pt_jsonw_str(b, s, n, NULL);
        break;
    case PT_JSON_ARRAY:
        pt_buf_putc(b, '[', NULL);
        for (size_t i = 0; i < pt_json_len(v); i++) {
            if (i) pt_buf_putc(b, ',', NULL);
            write_value(b, pt_json_at(v, i));
        }
        pt_buf_putc(b, ']', NULL);
        break;
    case PT_JSON_OBJECT:
        pt_buf_putc(b, '{', NULL);
        for (size_t i = 0; i < pt_json_len(v); i++) {
            if (i) pt_buf_putc(b, ',', NULL);
            s = pt_json_key(v, i, &n);
            pt_jsonw_str(b, s, n, NULL);
            pt_buf_putc(b, ':', NULL);
            write_value(b, pt_json_val(v, i));
        }
        pt_buf_putc(b, '}', NULL);
        break;
    default: check(0);
    }
}

static int equal(const pt_json *a, const pt_json *b) {
    if (pt_json_type(a) != pt_json_type(b) || pt_json_len(a) != pt_json_len(b)) return 0;
    size_t na, nb;
    const char *sa, *sb;
    switch (pt_json_type(a)) {
    case PT_JSON_BOOL: return pt_json_bool(a) == pt_json_bool(b);
    case PT_JSON_NUMBER: {
        sa = pt_json_num_text(a, &na);
        sb = pt_json_num_text(b, &nb);
        int64_t ia, ib;
        int ka = pt_json_int64(a, &ia), kb = pt_json_int64(b, &ib);
        double da = pt_json_num(a), db = pt_json_num(b);
        return na == nb && !memcmp(sa, sb, na) && ka == kb && (!ka || ia == ib) && (da == db || (da != da && db != db));
    }
    case PT_JSON_STRING:
        sa = pt_json_str(a, &na);
        sb = pt_json_str(b, &nb);
        return na == nb && !memcmp(sa, sb, na) && sa[na] == 0;
    case PT_JSON_ARRAY:
        for (size_t i = 0; i < pt_json_len(a); i++)
            if (!equal(pt_json_at(a, i), pt_json_at(b, i))) return 0;
        return 1;
    case PT_JSON_OBJECT:
        for (size_t i = 0; i < pt_json_len(a); i++) {
            sa = pt_json_key(a, i, &na);
            sb = pt_json_key(b, i, &nb);
            if (na != nb || memcmp(sa, sb, na) || !equal(pt_json_val(a, i), pt_json_val(b, i))) return 0;
            /* lookup finds this key's last occurrence, which holds an equal value */
            if (!equal(pt_json_getn(a, sa, na), pt_json_getn(b, sb, nb))) return 0;
        }
        return 1;
    default: return 1;
    }
}

static int skip_accepts(const char *s, size_t n, unsigned flags) {
    pt_json_scan sc;
    const char *end = s + n, *p = pt_json_skip_value(s, end, flags, &sc);
    if (!p) {
        check(sc.at >= s && sc.at <= end && sc.why);
        return 0;
    }
    check(p > s && p <= end);
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p == end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    pt_json_doc *d = NULL;
    pt_err e = {0};
    pt_json_loc loc = {0};
    int rc = pt_json_parse_loc(text, size, &d, &loc, &e);
    check(rc == PT_OK || rc == PT_EFORMAT);
    check(skip_accepts(text, size, 0) == (rc == PT_OK));
    if (rc == PT_OK) check(skip_accepts(text, size, PT_JSON_LAX_UTF8 | PT_JSON_WTF8));
    else check(d == NULL && loc.offset <= size && loc.line >= 1 && loc.col >= 1);

    if (rc == PT_OK) {
        pt_buf b1 = {0}, b2 = {0};
        write_value(&b1, pt_json_root(d));
        pt_json_doc *d2 = NULL;
        check(pt_json_parse(b1.data, b1.len, &d2, &e) == PT_OK);
        check(equal(pt_json_root(d), pt_json_root(d2)));
        write_value(&b2, pt_json_root(d2));
        check(b1.len == b2.len && !memcmp(b1.data, b2.data, b1.len));
        pt_json_free(d2);
        pt_buf_free(&b1);
        pt_buf_free(&b2);
    }
    pt_json_free(d);

    /* the whole input as the body of a string, in every mode, into an exact-size buffer */
    char *out = malloc(size + PT_JSON_STR_PAD);
    char *lax = malloc(size + PT_JSON_STR_PAD);
    pt_json_scan s1, s2, s3;
    const char *end = text + size;
    const char *p1 = pt_json_scan_string(text, end, out, 0, &s1);
    const char *p2 = pt_json_scan_string(text, end, lax, PT_JSON_LAX_UTF8 | PT_JSON_WTF8, &s2);
    const char *p3 = pt_json_scan_string(text, end, NULL, PT_JSON_LAX_UTF8 | PT_JSON_WTF8, &s3);
    check(p2 == p3);
    if (p1) {
        check(p2 == p1 && s1.len == s2.len && !memcmp(out, lax, s1.len) && !s2.lone_surrogate);
        check(s1.len <= (size_t)(p1 - text));
    }
    if (p2) check(s2.len <= (size_t)(p2 - text) && p2 <= end);
    free(out);
    free(lax);
    return 0;
}
