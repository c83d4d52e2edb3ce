/* test_json.c - the strict JSON parser and its scanners (base/json.h). */
#include <math.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/jsonw.h"
#include "test.h"

/* Parses s (strlen) and returns the doc, or NULL (e filled). */
static pt_json_doc *parse(const char *s, pt_err *e) {
    pt_json_doc *d = NULL;
    pt_json_parse(s, strlen(s), &d, e);
    return d;
}

/* The skip-scanner and the DOM must agree on what is valid (with only whitespace after). */
static int skip_accepts(const char *s, size_t n) {
    pt_json_scan sc;
    const char *end = s + n, *p = pt_json_skip_value(s, end, 0, &sc);
    if (!p) return 0;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p == end;
}

static void accept_(const char *s, int line) {
    pt_err e = {0};
    pt_json_doc *d = parse(s, &e);
    if (!d) printf("  line %d: rejected %s: %s\n", line, s, e.msg);
    CHECK(d != NULL);
    CHECK(skip_accepts(s, strlen(s)));
    pt_json_free(d);
}
#define ACCEPT(s) accept_(s, __LINE__)

/* s must be rejected at byte `off` with a message containing `why`. */
static void reject_(const char *s, size_t n, size_t off, const char *why, int line) {
    pt_err e = {0};
    pt_json_doc *d = (pt_json_doc *)1;
    pt_json_loc loc = {0};
    int rc = pt_json_parse_loc(s, n, &d, &loc, &e);
    if (rc != PT_EFORMAT || d != NULL || loc.offset != off || !strstr(e.msg, why)) {
        printf("  line %d: %s: rc %d offset %zu (want %zu): %s\n", line, s, rc, loc.offset, off, e.msg);
        pt_t_failed_ = 1;
    }
    CHECK(!skip_accepts(s, n));
}
#define REJECT(s, off, why) reject_(s, strlen(s), off, why, __LINE__)

TEST(json_valid_documents) {
    ACCEPT("{}");
    ACCEPT("[]");
    ACCEPT(" \t\r\n[ ] \n");
    ACCEPT("0");
    ACCEPT("-0");
    ACCEPT("-1.5e+10");
    ACCEPT("1E-2");
    ACCEPT("\"\"");
    ACCEPT("true");
    ACCEPT("null");
    ACCEPT("[1, 2 , {\"a\": [true,false,null], \"b\": {}}, [[]], \"x\"]");
    ACCEPT("{\"\":0}");
    ACCEPT("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"");
    ACCEPT("\"raw UTF-8: \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\"");
}

TEST(json_rejections) {
    REJECT("", 0, "expected a value");
    REJECT("   ", 3, "expected a value");
    REJECT("[1,]", 3, "trailing comma");
    REJECT("{\"a\":1,}", 7, "trailing comma");
    REJECT("[1 2]", 3, "expected ',' or ']'");
    REJECT("{\"a\" 1}", 5, "expected ':'");
    REJECT("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'");
    REJECT("{1:2}", 1, "expected a string key");
    REJECT("{'a':1}", 1, "expected a string key");
    REJECT("01", 1, "leading zero");
    REJECT("-01", 2, "leading zero");
    REJECT("1.", 2, "after '.'");
    REJECT(".5", 0, "expected a value");
    REJECT("+1", 0, "expected a value");
    REJECT("1e", 2, "exponent");
    REJECT("1e+", 3, "exponent");
    REJECT("-", 1, "expected a digit");
    REJECT("NaN", 0, "expected a value");
    REJECT("Infinity", 0, "expected a value");
    REJECT("tru", 0, "expected a value");
    REJECT("nul", 0, "expected a value");
    REJECT("[true false]", 6, "expected ',' or ']'");
    REJECT("\"abc", 4, "unterminated string");
    REJECT("\"abc\\", 5, "unterminated string");
    REJECT("\"a\tb\"", 2, "control character");
    REJECT("\"a\nb\"", 2, "control character");
    REJECT("\"\\x\"", 1, "invalid escape");
    REJECT("\"\\u12\"", 1, "4 hex digits");
    REJECT("\"\\u12G4\"", 1, "4 hex digits");
    REJECT("\"ab\\ud800\"", 3, "lone surrogate");
    REJECT("\"\\udc00\"", 1, "lone surrogate");
    REJECT("\"\\ud800\\u0041\"", 1, "lone surrogate");
    REJECT("\"\\ud800\\ud800\\udc00\"", 1, "lone surrogate");
    REJECT("\"\xFF\"", 1, "invalid UTF-8");
    REJECT("\"\x80\"", 1, "invalid UTF-8");
    REJECT("\"\xC0\x80\"", 1, "invalid UTF-8");         /* overlong NUL */
    REJECT("\"\xE0\x80\xAF\"", 1, "invalid UTF-8");     /* overlong '/' */
    REJECT("\"\xED\xA0\x80\"", 1, "invalid UTF-8");     /* an encoded surrogate */
    REJECT("\"\xF4\x90\x80\x80\"", 1, "invalid UTF-8"); /* > U+10FFFF */
    REJECT("\"ok \xE2\x82\"", 4, "invalid UTF-8");      /* truncated */
    REJECT("\"\xC3\xA9\xC3\"", 3, "invalid UTF-8");
    REJECT("{} x", 3, "trailing characters");
    REJECT("1 2", 2, "trailing characters");
    REJECT("[", 1, "expected a value");
    REJECT("[1", 2, "expected ',' or ']'");
    REJECT("{\"a\":", 5, "expected a value");
    REJECT("// c\n1", 0, "expected a value");
    REJECT("]", 0, "expected a value");
    reject_("[\"a\"]\0", 6, 5, "trailing characters", __LINE__); /* a NUL after the value */
    reject_("\"a\0b\"", 5, 2, "control character", __LINE__);
}

TEST(json_error_line_and_column) {
    pt_err e = {0};
    pt_json_doc *d;
    pt_json_loc loc;
    const char *s = "{\n  \"a\": 1,\n  \"b\": [1,,2]\n}";
    CHECK(pt_json_parse_loc(s, strlen(s), &d, &loc, &e) == PT_EFORMAT);
    CHECK_EQ_U64(loc.line, 3);
    CHECK_EQ_U64(loc.col, 11);
    CHECK_EQ_U64(loc.offset, 22);
    CHECK(strstr(e.msg, "line 3, column 11 (byte 22)") != NULL);
    CHECK(strstr(e.msg, "found ','") != NULL);
}

TEST(json_nesting_limit) {
    char buf[2 * (PT_JSON_MAX_DEPTH + 1) + 1];
    for (int depth = PT_JSON_MAX_DEPTH; depth <= PT_JSON_MAX_DEPTH + 1; depth++) {
        for (int i = 0; i < depth; i++) buf[i] = '[', buf[2 * depth - 1 - i] = ']';
        buf[2 * depth] = 0;
        pt_err e = {0};
        pt_json_doc *d = parse(buf, &e);
        if (depth == PT_JSON_MAX_DEPTH) {
            CHECK(d != NULL);
            const pt_json *v = pt_json_root(d);
            for (int i = 0; i < depth - 1; i++) v = pt_json_at(v, 0);
            CHECK(pt_json_type(v) == PT_JSON_ARRAY && pt_json_len(v) == 0);
            CHECK(skip_accepts(buf, strlen(buf)));
        } else {
            CHECK(d == NULL && strstr(e.msg, "nesting deeper than 512"));
            CHECK(!skip_accepts(buf, strlen(buf)));
        }
        pt_json_free(d);
    }
    /* objects count too */
    pt_buf b = {0};
    for (int i = 0; i < PT_JSON_MAX_DEPTH + 1; i++) pt_buf_append(&b, "{\"k\":", 5, NULL);
    pt_buf_append(&b, "1", 1, NULL);
    for (int i = 0; i < PT_JSON_MAX_DEPTH + 1; i++) pt_buf_putc(&b, '}', NULL);
    pt_err e = {0};
    CHECK(parse(b.data, &e) == NULL && strstr(e.msg, "nesting deeper"));
    pt_buf_free(&b);
}

TEST(json_numbers) {
    pt_err e = {0};
    pt_json_doc *d = parse("[0, -0, 42, -17, 9223372036854775807, -9223372036854775808, 9223372036854775808,"
                           " 1.0, 1e3, 0.1, 1e400, -1e400, 123456789012345678, 2.5E-3, 1E+2]", &e);
    CHECK(d != NULL);
    const pt_json *a = pt_json_root(d);
    CHECK_EQ_U64(pt_json_len(a), 15);
    int64_t v = 99;
    CHECK(pt_json_int64(pt_json_at(a, 0), &v) && v == 0);
    CHECK(pt_json_int64(pt_json_at(a, 1), &v) && v == 0);
    CHECK(signbit(pt_json_num(pt_json_at(a, 1))));
    CHECK(pt_json_int64(pt_json_at(a, 2), &v) && v == 42);
    CHECK(pt_json_int64(pt_json_at(a, 3), &v) && v == -17);
    CHECK(pt_json_int64(pt_json_at(a, 4), &v) && v == INT64_MAX);
    CHECK(pt_json_int64(pt_json_at(a, 5), &v) && v == INT64_MIN);
    v = 7;
    CHECK(!pt_json_int64(pt_json_at(a, 6), &v) && v == 7); /* out of range */
    CHECK(pt_json_num(pt_json_at(a, 6)) == 9223372036854775808.0);
    CHECK(!pt_json_int64(pt_json_at(a, 7), &v)); /* "1.0" is not written as an integer */
    CHECK(!pt_json_int64(pt_json_at(a, 8), &v));
    CHECK(pt_json_num(pt_json_at(a, 8)) == 1000.0);
    CHECK(pt_json_num(pt_json_at(a, 9)) == 0.1);
    CHECK(isinf(pt_json_num(pt_json_at(a, 10))) && pt_json_num(pt_json_at(a, 10)) > 0);
    CHECK(isinf(pt_json_num(pt_json_at(a, 11))) && pt_json_num(pt_json_at(a, 11)) < 0);
    CHECK(pt_json_num(pt_json_at(a, 12)) == 123456789012345678.0);
    CHECK(pt_json_int64(pt_json_at(a, 12), &v) && v == 123456789012345678);
    CHECK(pt_json_num(pt_json_at(a, 13)) == 2.5e-3);
    CHECK(pt_json_num(pt_json_at(a, 14)) == 100.0);
    size_t n;
    CHECK_STR(pt_json_num_text(pt_json_at(a, 13), &n), "2.5E-3");
    CHECK_EQ_U64(n, 6);
    CHECK(isnan(pt_json_num(a)) && pt_json_num_text(a, NULL) == NULL);
    CHECK(!pt_json_int64(NULL, &v));
    pt_json_free(d);
}

TEST(json_strings_and_escapes) {
    pt_err e = {0};
    pt_json_doc *d = parse("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\\uD83D\\uDE00\", \"a\\u0000b\", "
                           "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\", \"\\uDBFF\\uDFFF\", \"\\u0041\\u007f\\u0080\"]", &e);
    CHECK(d != NULL);
    const pt_json *a = pt_json_root(d);
    size_t n;
    CHECK_STR(pt_json_str(pt_json_at(a, 0), &n), "\"\\/\b\f\n\r\t");
    CHECK_STR(pt_json_str(pt_json_at(a, 1), &n), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK_EQ_U64(n, 9);
    const char *s = pt_json_str(pt_json_at(a, 2), &n);
    CHECK(n == 3 && !memcmp(s, "a\0b", 4)); /* the embedded NUL, and the terminator */
    CHECK_STR(pt_json_str(pt_json_at(a, 3), NULL), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK_STR(pt_json_str(pt_json_at(a, 4), NULL), "\xF4\x8F\xBF\xBF");
    CHECK_STR(pt_json_str(pt_json_at(a, 5), NULL), "A\x7F\xC2\x80");
    CHECK(pt_json_str(a, NULL) == NULL);
    CHECK_EQ_U64(pt_json_len(pt_json_at(a, 0)), 8);
    pt_json_free(d);
}

TEST(json_objects) {
    pt_err e = {0};
    pt_json_doc *d = parse("{\"b\": 1, \"a\": {\"x\": [true, false, null]}, \"b\": \"last\", \"k\\u0000z\": 3}", &e);
    CHECK(d != NULL);
    const pt_json *o = pt_json_root(d);
    CHECK(pt_json_type(o) == PT_JSON_OBJECT);
    CHECK_EQ_U64(pt_json_len(o), 4);
    CHECK_STR(pt_json_str(pt_json_get(o, "b"), NULL), "last"); /* duplicates: the last wins */
    const pt_json *x = pt_json_get(pt_json_get(o, "a"), "x");
    CHECK(pt_json_bool(pt_json_at(x, 0)) == 1 && pt_json_bool(pt_json_at(x, 1)) == 0);
    CHECK(pt_json_bool(pt_json_at(x, 2)) == -1 && pt_json_type(pt_json_at(x, 2)) == PT_JSON_NULL);
    CHECK(pt_json_at(x, 3) == NULL && pt_json_type(pt_json_at(x, 3)) == PT_JSON_MISSING);
    CHECK(pt_json_get(o, "zz") == NULL && pt_json_get(NULL, "b") == NULL && pt_json_get(x, "b") == NULL);
    CHECK(pt_json_get(pt_json_get(o, "nope"), "deeper") == NULL);
    int64_t v;
    CHECK(pt_json_int64(pt_json_getn(o, "k\0z", 3), &v) && v == 3);
    const char *keys[] = {"b", "a", "b", "k"};
    for (size_t i = 0; i < 4; i++) CHECK_STR(pt_json_key(o, i, NULL), keys[i]);
    size_t kl;
    pt_json_key(o, 3, &kl);
    CHECK_EQ_U64(kl, 3);
    CHECK(pt_json_int64(pt_json_val(o, 0), &v) && v == 1);
    CHECK(pt_json_key(o, 4, NULL) == NULL && pt_json_val(o, 4) == NULL && pt_json_key(x, 0, NULL) == NULL);
    pt_json_free(d);
    pt_json_free(NULL);
}

/* Random strings round-trip through the writer and the parser, at every alignment and
 * with escapes near the vector-block edges. */
TEST(json_string_roundtrip) {
    static const char *const atoms[] = {"a", "bc", "\"", "\\", "\n", "\t", "\x01", "\xC3\xA9",
                                        "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "/", "\x7F", "0123456789abcdef"};
    uint64_t rng = 1;
    pt_buf src = {0}, js = {0};
    for (int iter = 0; iter < 3000; iter++) {
        pt_buf_clear(&src);
        pt_buf_clear(&js);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int n = (int)(rng >> 58); /* 0..63 atoms */
        for (int i = 0; i < n; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            const char *a = atoms[(rng >> 33) % (sizeof atoms / sizeof *atoms)];
            pt_buf_append(&src, a, strlen(a), NULL);
        }
        for (int i = 0; i < iter % 7; i++) pt_buf_putc(&js, ' ', NULL);
        pt_jsonw_str(&js, src.data ? src.data : "", src.len, NULL);
        pt_err e = {0};
        pt_json_doc *d = NULL;
        CHECK_OK(pt_json_parse(js.data, js.len, &d, &e), &e);
        size_t len = 0;
        const char *s = pt_json_str(pt_json_root(d), &len);
        CHECK(s && len == src.len && (len == 0 || !memcmp(s, src.data, len)));
        pt_json_free(d);
        if (pt_t_failed_) break;
    }
    pt_buf_free(&src);
    pt_buf_free(&js);
}

TEST(json_scanner_flags) {
    pt_json_scan s;
    char out[64 + PT_JSON_STR_PAD];
    /* lax: raw invalid UTF-8 passes through; strict rejects it */
    const char *in = "a\xFF\xED\xA0\x80z\"";
    const char *end = in + strlen(in);
    CHECK(pt_json_scan_string(in, end, out, 0, &s) == NULL && strstr(s.why, "UTF-8") && s.at == in + 1);
    const char *p = pt_json_scan_string(in, end, out, PT_JSON_LAX_UTF8, &s);
    CHECK(p == end && s.len == 6 && !memcmp(out, in, 6) && !s.lone_surrogate);
    /* WTF-8: lone surrogates become 3 bytes and are flagged; pairs stay 4-byte UTF-8 */
    in = "x\\ud800y\\udc00\\uD83D\\uDE00\\udbff\"";
    end = in + strlen(in);
    CHECK(pt_json_scan_string(in, end, out, PT_JSON_LAX_UTF8, &s) == NULL && strstr(s.why, "surrogate"));
    p = pt_json_scan_string(in, end, out, PT_JSON_WTF8, &s);
    CHECK(p == end && s.lone_surrogate);
    CHECK(s.len == 15 && !memcmp(out, "x\xED\xA0\x80y\xED\xB0\x80\xF0\x9F\x98\x80\xED\xAF\xBF", 15));
    CHECK(pt_json_scan_string("ab\"", "ab\"" + 3, out, 0, &s) && !s.lone_surrogate);
    /* validate-only */
    in = "plain \\n text\" tail";
    CHECK(pt_json_scan_string(in, in + strlen(in), NULL, 0, &s) == in + 14);
    /* numbers */
    CHECK(pt_json_scan_number("-12,", "-12," + 4, &s) && s.is_int);
    CHECK(pt_json_scan_number("1.5]", "1.5]" + 4, &s) && !s.is_int);
    CHECK(pt_json_scan_number("00", "00" + 2, &s) == NULL);
    /* skip_value in lax mode takes what the DOM refuses inside strings */
    in = "{\"a\": [\"\xFF\", {\"b\": \"\\udc00\"}]} rest";
    p = pt_json_skip_value(in, in + strlen(in), PT_JSON_LAX_UTF8 | PT_JSON_WTF8, &s);
    CHECK(p && !strcmp(p, " rest"));
    CHECK(pt_json_skip_value(in, in + strlen(in), 0, &s) == NULL);
}

/* A tokenizer.json-shaped document: vocab object of 50k entries and a merges array. */
TEST(json_big_document) {
    pt_buf b = {0};
    pt_buf_append(&b, "{\"model\": {\"type\": \"BPE\", \"vocab\": {", 36, NULL);
    for (int i = 0; i < 50000; i++) pt_buf_printf(&b, NULL, "%s\"\xC4\xA0tok%d\": %d", i ? ", " : "", i, i);
    pt_buf_append(&b, "}, \"merges\": [", 14, NULL);
    for (int i = 0; i < 50000; i++) pt_buf_printf(&b, NULL, "%s\"\xC4\xA0t ok%d\"", i ? ", " : "", i);
    pt_buf_append(&b, "]}}", 3, NULL);
    pt_err e = {0};
    pt_json_doc *d = NULL;
    CHECK_OK(pt_json_parse(b.data, b.len, &d, &e), &e);
    const pt_json *m = pt_json_get(pt_json_root(d), "model");
    const pt_json *vocab = pt_json_get(m, "vocab"), *merges = pt_json_get(m, "merges");
    CHECK_EQ_U64(pt_json_len(vocab), 50000);
    CHECK_EQ_U64(pt_json_len(merges), 50000);
    int ok = 1;
    for (size_t i = 0; i < 50000; i++) {
        char want[32];
        snprintf(want, sizeof want, "\xC4\xA0tok%zu", i);
        int64_t v;
        const char *k = pt_json_key(vocab, i, NULL);
        if (!k || strcmp(k, want) || !pt_json_int64(pt_json_val(vocab, i), &v) || v != (int64_t)i) ok = 0;
    }
    CHECK(ok);
    CHECK_STR(pt_json_str(pt_json_at(merges, 49999), NULL), "\xC4\xA0t ok49999");
    CHECK_STR(pt_json_str(pt_json_get(m, "type"), NULL), "BPE");
    pt_json_free(d);
    pt_buf_free(&b);
}

int main(void) {
    RUN(json_valid_documents);
    RUN(json_rejections);
    RUN(json_error_line_and_column);
    RUN(json_nesting_limit);
    RUN(json_numbers);
    RUN(json_strings_and_escapes);
    RUN(json_objects);
    RUN(json_string_roundtrip);
    RUN(json_scanner_flags);
    RUN(json_big_document);
    return TEST_DONE();
}
