/* json.c - strict JSON: the string/number scanners and the arena DOM; see json.h. */
#include "base/json.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* PT_JSON_NO_SIMD forces the plain-C scanner (to test it on x86). */
#if defined(__AVX2__) && !defined(PT_JSON_NO_SIMD)
#include <immintrin.h>
#define BLK 32
#elif defined(__SSE2__) && !defined(PT_JSON_NO_SIMD)
#include <emmintrin.h>
#define BLK 16
#endif

/* 16 bytes. A number's double is computed from its text when asked for (numbers in the
 * documents parrot reads are mostly ints read with pt_json_int64). */
struct pt_json {
    uint64_t type : 8; /* enum pt_json_kind */
    uint64_t flag : 8; /* booleans: the value; numbers: written as an integer */
    uint64_t len : 48; /* string bytes, number text bytes, array elements, object members */
    union {
        const char *s;       /* strings and number text (in the string arena) */
        const pt_json *kids; /* arrays: len nodes; objects: 2*len nodes (key, value, ...) */
    } u;
};

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    pt_json nodes[];
} chunk;

struct pt_json_doc {
    pt_json root;
    char *strs;    /* every string and number text, NUL-terminated */
    chunk *chunks; /* every child table */
};

/* ---- lexical helpers -------------------------------------------------------------- */

static inline int is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static inline const char *skip_ws(const char *p, const char *end) {
    while (p < end && is_ws((unsigned char)*p)) p++;
    return p;
}

static inline const char *fail_at(pt_json_scan *s, const char *at, const char *why) {
    s->why = why;
    s->at = at;
    return NULL;
}

/* Length of the valid UTF-8 multi-byte sequence at p (2..4), or 0: rejects stray
 * continuation bytes, overlong forms, encoded surrogates and code points > U+10FFFF. */
static inline int utf8_seq(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    if (c < 0xC2) return 0;
    if (c < 0xE0) return (end - p >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)) return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)) return 0;
        return 4;
    }
    return 0;
}

static const signed char hexval[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,
    ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
    ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
    ['F'] = 16, /* value + 1; 0 means "not a hex digit" */
};

/* The 4 hex digits at p as a code unit, or -1. */
static inline long hex4(const char *p, const char *end) {
    if (end - p < 4) return -1;
    int a = hexval[(unsigned char)p[0]], b = hexval[(unsigned char)p[1]];
    int c = hexval[(unsigned char)p[2]], d = hexval[(unsigned char)p[3]];
    if (!a || !b || !c || !d) return -1;
    return ((long)(a - 1) << 12) | ((b - 1) << 8) | ((c - 1) << 4) | (d - 1);
}

static const char simple_esc[256] = {
    ['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
    ['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
};

static inline char *put_utf8(char *o, unsigned long cp) {
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) { /* surrogates here too: the WTF-8 form */
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* ---- the string scanner ----------------------------------------------------------- */

#ifdef BLK
/* Copies one block to o (when write) and returns a bit per byte that needs a look: '"',
 * '\\', a control byte, and (unless lax) a byte >= 0x80. */
static inline uint32_t block_mask(const char *p, char *o, int write, int strict) {
#if BLK == 32
    __m256i v = _mm256_loadu_si256((const __m256i *)p);
    if (write) _mm256_storeu_si256((__m256i *)o, v);
    __m256i m = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')),
                                _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\')));
    __m256i ctl = _mm256_cmpeq_epi8(_mm256_max_epu8(v, _mm256_set1_epi8(0x1F)), _mm256_set1_epi8(0x1F));
    uint32_t r = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(m, ctl));
    if (strict) r |= (uint32_t)_mm256_movemask_epi8(v);
#else
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    if (write) _mm_storeu_si128((__m128i *)o, v);
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F));
    uint32_t r = (uint32_t)_mm_movemask_epi8(_mm_or_si128(m, ctl));
    if (strict) r |= (uint32_t)_mm_movemask_epi8(v);
#endif
    return r;
}
#endif

/* The scanner body, specialised by the compiler for write/no-write. */
static inline __attribute__((always_inline)) const char *
scan_string(const char *p, const char *end, char *out, const int write, unsigned flags, pt_json_scan *s) {
    const int strict = !(flags & PT_JSON_LAX_UTF8);
    char *o = out;
    s->lone_surrogate = 0;
    for (;;) {
#ifdef BLK
        while (end - p >= BLK) {
            uint32_t m = block_mask(p, o, write, strict);
            if (m) {
                unsigned k = (unsigned)__builtin_ctz(m);
                p += k;
                if (write) o += k;
                goto special;
            }
            p += BLK;
            if (write) o += BLK;
        }
#endif
        for (;;) {
            if (p >= end) return fail_at(s, end, "unterminated string");
            unsigned char c = (unsigned char)*p;
            if (c == '"' || c == '\\' || c < 0x20 || (c >= 0x80 && strict)) goto special;
            if (write) *o++ = (char)c;
            p++;
        }
    special:;
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            s->len = write ? (size_t)(o - out) : 0;
            return p + 1;
        }
        if (c == '\\') {
            if (end - p < 2) return fail_at(s, end, "unterminated string");
            unsigned char x = (unsigned char)p[1];
            if (simple_esc[x]) {
                if (write) *o++ = simple_esc[x];
                p += 2;
                continue;
            }
            if (x != 'u') return fail_at(s, p, "invalid escape in string");
            long cu = hex4(p + 2, end);
            if (cu < 0) return fail_at(s, p, "invalid \\u escape (needs 4 hex digits)");
            const char *at = p;
            p += 6;
            unsigned long cp = (unsigned long)cu;
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                long lo = (cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2, end) : -1;
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
                    p += 6;
                } else if (flags & PT_JSON_WTF8) {
                    s->lone_surrogate = 1;
                } else {
                    return fail_at(s, at, "lone surrogate escape in string");
                }
            }
            if (write) o = put_utf8(o, cp);
            continue;
        }
        if (c < 0x20) return fail_at(s, p, "unescaped control character in string");
        /* c >= 0x80, strict: validate (and copy) this run of multi-byte characters */
        do {
            int k = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
            if (!k) return fail_at(s, p, "invalid UTF-8 in string");
            if (write) {
                if (end - p >= 4) memcpy(o, p, 4); /* bytes past k are scratch */
                else memcpy(o, p, (size_t)k);
                o += k;
            }
            p += k;
        } while (p < end && (unsigned char)*p >= 0x80);
    }
}

const char *pt_json_scan_string(const char *p, const char *end, char *out, unsigned flags,
                                pt_json_scan *s) {
    if (out) return scan_string(p, end, out, 1, flags, s);
    return scan_string(p, end, NULL, 0, flags, s);
}

const char *pt_json_scan_number(const char *p, const char *end, pt_json_scan *s) {
    s->is_int = 1;
    if (p < end && *p == '-') p++;
    if (p >= end || (unsigned)(*p - '0') > 9) return fail_at(s, p, "invalid number: expected a digit");
    if (*p == '0') {
        p++;
        if (p < end && (unsigned)(*p - '0') <= 9) return fail_at(s, p, "invalid number: leading zero");
    } else {
        while (p < end && (unsigned)(*p - '0') <= 9) p++;
    }
    if (p < end && *p == '.') {
        s->is_int = 0;
        p++;
        if (p >= end || (unsigned)(*p - '0') > 9) return fail_at(s, p, "invalid number: expected a digit after '.'");
        while (p < end && (unsigned)(*p - '0') <= 9) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        s->is_int = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || (unsigned)(*p - '0') > 9) return fail_at(s, p, "invalid number: expected an exponent digit");
        while (p < end && (unsigned)(*p - '0') <= 9) p++;
    }
    return p;
}

static inline const char *literal(const char *p, const char *end, const char *word, size_t n, pt_json_scan *s) {
    if ((size_t)(end - p) < n || memcmp(p, word, n)) return fail_at(s, p, "expected a value");
    return p + n;
}

const char *pt_json_skip_value(const char *p, const char *end, unsigned flags, pt_json_scan *s) {
    char closer[PT_JSON_MAX_DEPTH]; /* the bracket that closes each open container */
    int depth = 0;
value:
    p = skip_ws(p, end);
    if (p >= end) return fail_at(s, end, "expected a value");
    switch (*p) {
    case '{':
    case '[':
        if (depth == PT_JSON_MAX_DEPTH) return fail_at(s, p, "nesting deeper than 512 levels");
        closer[depth++] = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1, end);
        if (p < end && *p == closer[depth - 1]) {
            p++;
            depth--;
            goto after;
        }
        if (closer[depth - 1] == ']') goto value;
        goto key;
    case '"':
        if (!(p = pt_json_scan_string(p + 1, end, NULL, flags, s))) return NULL;
        goto after;
    case 't': if (!(p = literal(p, end, "true", 4, s))) return NULL; goto after;
    case 'f': if (!(p = literal(p, end, "false", 5, s))) return NULL; goto after;
    case 'n': if (!(p = literal(p, end, "null", 4, s))) return NULL; goto after;
    default:
        if (*p != '-' && (unsigned)(*p - '0') > 9) return fail_at(s, p, "expected a value");
        if (!(p = pt_json_scan_number(p, end, s))) return NULL;
        goto after;
    }
key:
    p = skip_ws(p, end);
    if (p >= end || *p != '"') return fail_at(s, p, "expected a string key");
    if (!(p = pt_json_scan_string(p + 1, end, NULL, flags, s))) return NULL;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return fail_at(s, p, "expected ':'");
    p++;
    goto value;
after:
    if (depth == 0) return p;
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
        p++;
        if (closer[depth - 1] == '}') goto key;
        goto value;
    }
    if (p < end && *p == closer[depth - 1]) {
        p++;
        depth--;
        goto after;
    }
    return fail_at(s, p, closer[depth - 1] == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
}

/* ---- numbers to double ------------------------------------------------------------ */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;
static void make_c_locale(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

/* text is NUL-terminated and valid per pt_json_scan_number. */
static double number_value(const char *text, size_t n, int is_int) {
    const char *p = text;
    int neg = *p == '-';
    p += neg;
    if (is_int && n - (size_t)neg <= 15) { /* exact: < 10^15 < 2^53 */
        int64_t v = 0;
        for (; *p; p++) v = v * 10 + (*p - '0');
        return neg ? -(double)v : (double)v;
    }
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale ? strtod_l(text, NULL, c_locale) : strtod(text, NULL);
}

/* ---- the DOM ---------------------------------------------------------------------- */

typedef struct parser {
    const char *text, *end;
    char *w; /* next free byte of the string arena */
    pt_json *stk; /* scratch: the children of every open container, in order */
    size_t ntop, cap;
    struct {
        uint8_t type;
        size_t start; /* index in stk of its first child */
    } fr[PT_JSON_MAX_DEPTH];
    int depth;
    pt_json_doc *doc;
    pt_err *e;
} parser;

static pt_json *arena_nodes(parser *P, size_t n) {
    chunk *c = P->doc->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 2048 ? n : 2048;
        c = pt_malloc(sizeof(chunk) + cap * sizeof(pt_json), P->e);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = P->doc->chunks;
        P->doc->chunks = c;
    }
    pt_json *r = c->nodes + c->used;
    c->used += n;
    return r;
}

static pt_json *push(parser *P) {
    if (P->ntop == P->cap) {
        size_t cap = P->cap * 2;
        pt_json *s = pt_realloc(P->stk, cap * sizeof(pt_json), P->e);
        if (!s) return NULL;
        P->stk = s;
        P->cap = cap;
    }
    pt_json *v = &P->stk[P->ntop++];
    memset(v, 0, sizeof *v);
    return v;
}

/* Parses the string after the quote at p into a new scratch node; NULL on failure. */
static const char *string_node(parser *P, const char *p, pt_json_scan *s) {
    pt_json *v = push(P);
    if (!v) return fail_at(s, NULL, NULL);
    if (!(p = scan_string(p + 1, P->end, P->w, 1, 0, s))) return NULL;
    v->type = PT_JSON_STRING;
    v->u.s = P->w;
    v->len = s->len;
    P->w[s->len] = 0;
    P->w += s->len + 1;
    return p;
}

static int close_container(parser *P) {
    int d = --P->depth;
    size_t start = P->fr[d].start, n = P->ntop - start;
    pt_json *kids = NULL;
    if (n) {
        if (!(kids = arena_nodes(P, n))) return PT_ENOMEM;
        memcpy(kids, P->stk + start, n * sizeof(pt_json));
    }
    P->ntop = start;
    pt_json *v = push(P);
    if (!v) return PT_ENOMEM;
    v->type = P->fr[d].type;
    v->len = P->fr[d].type == PT_JSON_OBJECT ? n / 2 : n;
    v->u.kids = kids;
    return PT_OK;
}

static const char *describe(const char *p, const char *end, char buf[24]) {
    if (p >= end) return "end of input";
    unsigned char c = (unsigned char)*p;
    if (c >= 0x21 && c < 0x7F) snprintf(buf, 24, "'%c'", c);
    else snprintf(buf, 24, "byte 0x%02X", c);
    return buf;
}

/* The parse proper; returns PT_OK, PT_ENOMEM (e set) or PT_EFORMAT with s->why/s->at. */
static int parse(parser *P, pt_json_scan *s) {
    const char *p = P->text, *end = P->end;
value:
    p = skip_ws(p, end);
    if (p >= end) goto expected_value;
    switch (*p) {
    case '{':
    case '[':
        if (P->depth == PT_JSON_MAX_DEPTH) return fail_at(s, p, "nesting deeper than 512 levels"), PT_EFORMAT;
        P->fr[P->depth].type = *p == '{' ? PT_JSON_OBJECT : PT_JSON_ARRAY;
        P->fr[P->depth++].start = P->ntop;
        {
            char close = *p == '{' ? '}' : ']';
            p = skip_ws(p + 1, end);
            if (p < end && *p == close) {
                p++;
                if (close_container(P)) return PT_ENOMEM;
                goto after;
            }
            if (close == ']') goto value;
        }
        goto key;
    case '"':
        if (!(p = string_node(P, p, s))) return s->why ? PT_EFORMAT : PT_ENOMEM;
        goto after;
    case 't':
    case 'f':
    case 'n': {
        static const char *const words[3] = {"true", "false", "null"};
        int k = *p == 't' ? 0 : *p == 'f' ? 1 : 2;
        size_t len = strlen(words[k]);
        if ((size_t)(end - p) < len || memcmp(p, words[k], len)) goto expected_value;
        pt_json *v = push(P);
        if (!v) return PT_ENOMEM;
        v->type = k == 2 ? PT_JSON_NULL : PT_JSON_BOOL;
        v->flag = k == 0;
        p += len;
        goto after;
    }
    default: {
        if (*p != '-' && (unsigned)(*p - '0') > 9) goto expected_value;
        const char *q = pt_json_scan_number(p, end, s);
        if (!q) return PT_EFORMAT;
        pt_json *v = push(P);
        if (!v) return PT_ENOMEM;
        size_t n = (size_t)(q - p);
        memcpy(P->w, p, n);
        P->w[n] = 0;
        v->type = PT_JSON_NUMBER;
        v->flag = (uint8_t)s->is_int;
        v->u.s = P->w;
        v->len = n;
        P->w += n + 1;
        p = q;
        goto after;
    }
    }
key:
    p = skip_ws(p, end);
    if (p >= end || *p != '"') {
        fail_at(s, p, p < end && *p == '}' ? "expected a string key (trailing comma?)" : "expected a string key");
        return PT_EFORMAT;
    }
    if (!(p = string_node(P, p, s))) return s->why ? PT_EFORMAT : PT_ENOMEM;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return fail_at(s, p, "expected ':' after the key"), PT_EFORMAT;
    p++;
    goto value;
after:
    p = skip_ws(p, end);
    if (P->depth == 0) {
        if (p != end) return fail_at(s, p, "trailing characters after the JSON value"), PT_EFORMAT;
        return PT_OK;
    }
    {
        int obj = P->fr[P->depth - 1].type == PT_JSON_OBJECT;
        if (p < end && *p == ',') {
            p++;
            if (obj) goto key;
            goto value;
        }
        if (p < end && *p == (obj ? '}' : ']')) {
            p++;
            if (close_container(P)) return PT_ENOMEM;
            goto after;
        }
        return fail_at(s, p, obj ? "expected ',' or '}'" : "expected ',' or ']'"), PT_EFORMAT;
    }
expected_value:
    fail_at(s, p, p < end && *p == ']' ? "expected a value (trailing comma?)" : "expected a value");
    return PT_EFORMAT;
}

int pt_json_parse_loc(const char *text, size_t n, pt_json_doc **out, pt_json_loc *loc, pt_err *e) {
    *out = NULL;
    pt_json_doc *doc = pt_calloc(1, sizeof *doc, e);
    if (!doc) return PT_ENOMEM;
    parser *P = pt_calloc(1, sizeof *P, e); /* ~8 KB of frames: keep it off the stack */
    if (!P) return pt_json_free(doc), PT_ENOMEM;
    if (!(doc->strs = pt_malloc(n + PT_JSON_STR_PAD + 1, e))) {
        free(P);
        pt_json_free(doc);
        return PT_ENOMEM;
    }
    /* The scratch stack starts at the most nodes the text can hold (a value takes a byte
     * and a separator): untouched pages cost nothing, and it never has to be copied. */
    P->cap = n / 2 + 16 < ((size_t)1 << 22) ? n / 2 + 16 : (size_t)1 << 22;
    if (!(P->stk = pt_malloc(P->cap * sizeof(pt_json), e))) {
        free(P);
        pt_json_free(doc);
        return PT_ENOMEM;
    }
    P->text = text ? text : "";
    P->end = P->text + n;
    P->w = doc->strs;
    P->doc = doc;
    P->e = e;
    const char *src = P->text;
    pt_json_scan s = {0};
    int rc = parse(P, &s);
    if (rc == PT_OK) doc->root = P->stk[0];
    free(P->stk);
    free(P);
    if (rc == PT_EFORMAT) {
        char buf[24];
        size_t off = (size_t)(s.at - src), line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (src[i] == '\n') line++, col = 1;
            else col++;
        }
        if (loc) *loc = (pt_json_loc){off, line, col};
        pt_fail(e, PT_EFORMAT, "malformed JSON at line %zu, column %zu (byte %zu): %s, found %s", line, col,
                off, s.why, describe(s.at, src + n, buf));
    }
    if (rc) {
        pt_json_free(doc);
        return rc;
    }
    *out = doc;
    return PT_OK;
}

int pt_json_parse(const char *text, size_t n, pt_json_doc **doc, pt_err *e) {
    return pt_json_parse_loc(text, n, doc, NULL, e);
}

void pt_json_free(pt_json_doc *doc) {
    if (!doc) return;
    for (chunk *c = doc->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(doc->strs);
    free(doc);
}

/* ---- accessors -------------------------------------------------------------------- */

const pt_json *pt_json_root(const pt_json_doc *doc) { return doc ? &doc->root : NULL; }

enum pt_json_kind pt_json_type(const pt_json *v) { return v ? (enum pt_json_kind)v->type : PT_JSON_MISSING; }

size_t pt_json_len(const pt_json *v) {
    return v && (v->type == PT_JSON_STRING || v->type == PT_JSON_ARRAY || v->type == PT_JSON_OBJECT) ? v->len : 0;
}

const char *pt_json_str(const pt_json *v, size_t *len) {
    if (!v || v->type != PT_JSON_STRING) return NULL;
    if (len) *len = v->len;
    return v->u.s;
}

double pt_json_num(const pt_json *v) { return v && v->type == PT_JSON_NUMBER ? number_value(v->u.s, v->len, v->flag) : NAN; }

const char *pt_json_num_text(const pt_json *v, size_t *len) {
    if (!v || v->type != PT_JSON_NUMBER) return NULL;
    if (len) *len = v->len;
    return v->u.s;
}

int pt_json_int64(const pt_json *v, int64_t *out) {
    if (!v || v->type != PT_JSON_NUMBER || !v->flag) return 0;
    const char *p = v->u.s;
    int neg = *p == '-';
    p += neg;
    uint64_t m = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (m > (lim - d) / 10) return 0;
        m = m * 10 + d;
    }
    *out = neg ? (int64_t)(0 - m) : (int64_t)m;
    return 1;
}

int pt_json_bool(const pt_json *v) { return v && v->type == PT_JSON_BOOL ? v->flag : -1; }

const pt_json *pt_json_at(const pt_json *arr, size_t i) {
    return arr && arr->type == PT_JSON_ARRAY && i < arr->len ? &arr->u.kids[i] : NULL;
}

const pt_json *pt_json_getn(const pt_json *obj, const char *key, size_t klen) {
    if (!obj || obj->type != PT_JSON_OBJECT) return NULL;
    for (size_t i = obj->len; i-- > 0;) {
        const pt_json *k = &obj->u.kids[2 * i];
        if (k->len == klen && !memcmp(k->u.s, key, klen)) return k + 1;
    }
    return NULL;
}

const pt_json *pt_json_get(const pt_json *obj, const char *key) { return pt_json_getn(obj, key, strlen(key)); }

const char *pt_json_key(const pt_json *obj, size_t i, size_t *len) {
    if (!obj || obj->type != PT_JSON_OBJECT || i >= obj->len) return NULL;
    if (len) *len = obj->u.kids[2 * i].len;
    return obj->u.kids[2 * i].u.s;
}

const pt_json *pt_json_val(const pt_json *obj, size_t i) {
    return obj && obj->type == PT_JSON_OBJECT && i < obj->len ? &obj->u.kids[2 * i + 1] : NULL;
}
