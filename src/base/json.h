/* json.h - a strict JSON (RFC 8259) parser: a DOM in one arena, and the scanners under it.
 *
 * Two layers:
 *
 * 1. The DOM (pt_json_parse): for tokenizer.json, manifests and configs. The whole text is
 *    parsed into a tree owned by one pt_json_doc; every node, key and string lives in the
 *    doc's arena and stays valid until pt_json_free. The doc does not refer to the input
 *    text after the call, so the caller may free it at once. Strings are unescaped to
 *    UTF-8, NUL-terminated, and carry a length (a \u0000 escape gives an embedded NUL).
 *    Numbers keep their source text; pt_json_num gives the double (converted on each call,
 *    exactly as strtod does), pt_json_int64 the exact value of an integer.
 *    Objects keep their members in source order; pt_json_get scans them (O(members)), so
 *    walk big objects (a 50k-entry vocab) with pt_json_key/pt_json_val instead of many
 *    lookups. Duplicate keys are kept; pt_json_get returns the last one, as Python does.
 *
 *    Strict means: everything RFC 8259 forbids is an error with a byte offset and
 *    line:column - trailing commas, leading zeros ("01"), "+1", ".5", "1.", NaN/Infinity,
 *    unescaped control characters (tab included) in strings, invalid UTF-8 in strings
 *    (overlong forms, encoded surrogates, > U+10FFFF, truncated sequences), lone
 *    surrogate escapes ("\uD800" not followed by a low one, or a low one alone), single
 *    quotes, comments, more than PT_JSON_MAX_DEPTH nested arrays/objects, and anything
 *    after the value but whitespace. Numbers too big for a double become +-inf (as in
 *    Python); their text is kept exactly.
 *
 *    Why an arena and a flat child table: parsing is one pass with no recursion (so depth
 *    cannot overflow the C stack); children are gathered on a scratch stack and copied as
 *    one block into the arena when their container closes, so an array's elements and an
 *    object's (key, value) pairs are contiguous and indexable. Unescaped strings never
 *    take more bytes than their source, so all strings go into one allocation of
 *    (input size + 64) bytes, made up front.
 *
 * 2. The scanners (pt_json_scan_string, pt_json_scan_number, pt_json_skip_value): the
 *    same lexical rules without building anything, for readers that pick a few fields
 *    out of a stream and must be fast (corpus/jsonl.c). Flags relax two rules for corpus
 *    text, where a bad document must be counted, not made to fail the line:
 *    PT_JSON_LAX_UTF8 passes raw bytes that are not valid UTF-8 through unchanged, and
 *    PT_JSON_WTF8 encodes a lone surrogate escape as its 3-byte WTF-8 form (ED A0 80 for
 *    \uD800) and reports it, so a later UTF-8 check rejects the text.
 *    The string scanner finds the next '"', '\\' or control byte 32 bytes at a time
 *    (AVX2; SSE2 16 at a time; plain C elsewhere) and copies runs with vector stores.
 *
 * Thread-safety: a pt_json_doc is immutable after parsing; any number of threads may read
 * it. Parsing uses no global state (the C locale for strtod is created once).
 */
#ifndef PT_JSON_H
#define PT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define PT_JSON_MAX_DEPTH 512 /* nested arrays/objects; one more is an error */

enum pt_json_kind {
    PT_JSON_MISSING = 0, /* the "value" is NULL: a lookup that found nothing */
    PT_JSON_NULL,
    PT_JSON_BOOL,
    PT_JSON_NUMBER,
    PT_JSON_STRING,
    PT_JSON_ARRAY,
    PT_JSON_OBJECT,
};

typedef struct pt_json pt_json;         /* a node; owned by its doc */
typedef struct pt_json_doc pt_json_doc; /* the arena that owns a parsed tree */

/* Where a parse error is: byte offset into the text, 1-based line and column (in bytes). */
typedef struct pt_json_loc {
    size_t offset, line, col;
} pt_json_loc;

/* ---- the DOM ---------------------------------------------------------------------- */

/* Parses text[0..n) (need not be NUL-terminated) into *doc. On failure *doc is NULL and e
 * says "malformed JSON at line L, column C (byte O): why" (PT_EFORMAT), or PT_ENOMEM;
 * callers add the file name with pt_err_prefix. The caller frees *doc with pt_json_free. */
int pt_json_parse(const char *text, size_t n, pt_json_doc **doc, pt_err *e);
/* As pt_json_parse, and on a format error also fills *loc (which may be NULL). */
int pt_json_parse_loc(const char *text, size_t n, pt_json_doc **doc, pt_json_loc *loc, pt_err *e);
void pt_json_free(pt_json_doc *doc); /* NULL is fine; every node of doc becomes invalid */

const pt_json *pt_json_root(const pt_json_doc *doc);

/* Every accessor accepts NULL (and a node of the wrong kind) and then returns the
 * "nothing" answer given, so lookups chain: pt_json_get(pt_json_get(root, "model"), "vocab"). */
enum pt_json_kind pt_json_type(const pt_json *v); /* PT_JSON_MISSING for NULL */
/* Elements of an array, members of an object, bytes of a string; 0 otherwise. */
size_t pt_json_len(const pt_json *v);
/* The unescaped UTF-8 bytes of a string, NUL-terminated; *len (if len) gets the length,
 * which counts embedded NULs. NULL if v is not a string. */
const char *pt_json_str(const pt_json *v, size_t *len);
/* A number's value as a double (+-inf when out of range); NaN if v is not a number. */
double pt_json_num(const pt_json *v);
/* A number's source text, e.g. "-1.50e+3", NUL-terminated; NULL if v is not a number. */
const char *pt_json_num_text(const pt_json *v, size_t *len);
/* 1 and *out when v is a number written as an integer (no fraction, no exponent) that
 * fits an int64_t; 0 otherwise (*out untouched). "-0" gives 0. */
int pt_json_int64(const pt_json *v, int64_t *out);
/* 1 for true, 0 for false, -1 if v is not a boolean. */
int pt_json_bool(const pt_json *v);
/* The i-th element of an array; NULL when out of range or v is not an array. */
const pt_json *pt_json_at(const pt_json *arr, size_t i);
/* The value of the last member named key (a NUL-terminated name, or key[0..klen) which
 * may contain NULs); NULL if absent or obj is not an object. Linear in the member count. */
const pt_json *pt_json_get(const pt_json *obj, const char *key);
const pt_json *pt_json_getn(const pt_json *obj, const char *key, size_t klen);
/* Object iteration in source order, i < pt_json_len(obj): the i-th key (NUL-terminated,
 * *len its length) and the i-th value. NULL when out of range or obj is not an object. */
const char *pt_json_key(const pt_json *obj, size_t i, size_t *len);
const pt_json *pt_json_val(const pt_json *obj, size_t i);

/* ---- the scanners ----------------------------------------------------------------- */

enum {
    PT_JSON_LAX_UTF8 = 1u, /* pass bytes that are not valid UTF-8 through, unchecked */
    PT_JSON_WTF8 = 2u,     /* encode lone surrogate escapes as WTF-8 instead of failing */
};

/* Bytes a string scanner may write past the decoded text (scratch; see below). */
#define PT_JSON_STR_PAD 64

/* What a scanner found. On failure `why` is a static message and `at` points at the
 * offending byte of the input (or at `end` for "unexpected end"). */
typedef struct pt_json_scan {
    size_t len;         /* strings: decoded bytes */
    int lone_surrogate; /* strings: PT_JSON_WTF8 encoded at least one lone surrogate */
    int is_int;         /* numbers: written as an integer */
    const char *why;
    const char *at;
} pt_json_scan;

/* Decodes the string whose opening quote is just before p. Returns the byte after the
 * closing quote, or NULL on failure (s->why, s->at). If out is not NULL the unescaped
 * bytes go to out[0..s->len) (not NUL-terminated); out must have room for
 * (closing quote - p) + PT_JSON_STR_PAD bytes, for the decoded text is never longer than
 * its source but the copy runs in whole vectors. out must not overlap the input. With out
 * NULL the string is only validated. Thread-safe. */
const char *pt_json_scan_string(const char *p, const char *end, char *out, unsigned flags,
                                pt_json_scan *s);
/* Checks the number at p (RFC 8259 grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?)
 * and returns the byte after it, or NULL on failure. Sets s->is_int. */
const char *pt_json_scan_number(const char *p, const char *end, pt_json_scan *s);
/* Validates the one JSON value at p (leading whitespace allowed, nesting up to
 * PT_JSON_MAX_DEPTH) and returns the byte after it (trailing whitespace not skipped), or
 * NULL on failure. flags apply to every string inside, keys included. */
const char *pt_json_skip_value(const char *p, const char *end, unsigned flags, pt_json_scan *s);

#endif
