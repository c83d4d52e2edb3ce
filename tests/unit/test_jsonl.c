/* test_jsonl.c - the JSON Lines reader: plain and gzip, bad lines, damaged gzip, limits. */
#include <fcntl.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "corpus/jsonl.h"
#include "test.h"

static char g_dir[64];

static char *tmp_file(const char *name, const void *data, size_t n) {
    char *p = pt_path_join(g_dir, name);
    pt_err e = {0};
    if (pt_fs_write_atomic(p, data, n, &e)) printf("  cannot write %s: %s\n", p, e.msg);
    return p;
}

static char *data_path(const char *name) {
    char *d = pt_path_join(pt_test_data(), "jsonl");
    char *p = pt_path_join(d, name);
    free(d);
    return p;
}

/* One result of pt_jsonl_next, flattened for comparisons. */
typedef struct rec {
    int kind;
    uint64_t line;
    pt_buf content, meta; /* meta: the five optional fields, "|"-joined, "-" for NULL */
    int surrogate;
    char msg[1024];
} rec;

static void fields(pt_buf *m, const pt_jsonl_doc *d) {
    const char *v[5] = {d->repo_name, d->path, d->license, d->size, d->copies};
    size_t l[5] = {d->repo_name_len, d->path_len, d->license_len, d->size_len, d->copies_len};
    for (int i = 0; i < 5; i++) {
        if (i) pt_buf_putc(m, '|', NULL);
        if (v[i]) pt_buf_append(m, v[i], l[i], NULL);
        else pt_buf_putc(m, '-', NULL);
    }
}

/* Reads a whole file into recs (at most cap); returns the count. */
static int read_all(const char *path, const pt_jsonl_opts *o, rec *recs, int cap, pt_hash128 *h, uint64_t *raw,
                    uint64_t *text) {
    pt_jsonl_reader *r;
    pt_err e = {0};
    if (pt_jsonl_open_opts(&r, path, o, &e)) {
        printf("  open %s: %s\n", path, e.msg);
        return -1;
    }
    int n = 0;
    for (; n < cap; n++) {
        pt_jsonl_doc d;
        rec *x = &recs[n];
        memset(x, 0, sizeof *x);
        x->kind = pt_jsonl_next(r, &d, &e);
        if (x->kind == PT_JSONL_DOC) {
            x->line = d.line;
            pt_buf_append(&x->content, d.content, d.content_len, NULL);
            CHECK(d.content[d.content_len] == 0);
            fields(&x->meta, &d);
            x->surrogate = d.content_has_surrogate;
        } else if (x->kind != PT_JSONL_END) {
            snprintf(x->msg, sizeof x->msg, "%s", e.msg);
        }
        if (x->kind == PT_JSONL_END) break;
    }
    if (n < cap) {
        pt_jsonl_doc d;
        CHECK(pt_jsonl_next(r, &d, &e) == PT_JSONL_END); /* and it stays at the end */
    }
    if (h) *h = pt_jsonl_file_hash(r);
    if (raw) *raw = pt_jsonl_raw_bytes(r);
    if (text) *text = pt_jsonl_text_bytes(r);
    pt_jsonl_close(r);
    return n;
}

static void free_recs(rec *recs, int n) {
    for (int i = 0; i < n; i++) pt_buf_free(&recs[i].content), pt_buf_free(&recs[i].meta);
}

static int same_recs(const rec *a, int na, const rec *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++) {
        if (a[i].kind != b[i].kind || a[i].line != b[i].line || a[i].surrogate != b[i].surrogate) return 0;
        if (a[i].content.len != b[i].content.len || (a[i].content.len && memcmp(a[i].content.data, b[i].content.data, a[i].content.len)))
            return 0;
        if (a[i].meta.len != b[i].meta.len || (a[i].meta.len && strcmp(a[i].meta.data, b[i].meta.data))) return 0;
        if (strcmp(a[i].msg, b[i].msg) && a[i].kind != PT_JSONL_DOC) {
            /* messages differ only in the path */
            const char *ma = strchr(a[i].msg, ':'), *mb = strchr(b[i].msg, ':');
            if (!ma || !mb || strcmp(ma, mb)) return 0;
        }
    }
    return 1;
}

#define MAXREC 64

TEST(jsonl_plain_and_gzip_agree) {
    char *plain = data_path("small.jsonl"), *gz = data_path("small.jsonl.gz"), *multi = data_path("multi.jsonl.gz");
    static rec a[MAXREC], b[MAXREC], c[MAXREC];
    pt_hash128 h;
    uint64_t raw, text;
    int na = read_all(plain, NULL, a, MAXREC, &h, &raw, &text);
    CHECK_EQ_U64(na, 24);
    for (int i = 0; i < na; i++) {
        char want[128];
        CHECK(a[i].kind == PT_JSONL_DOC && a[i].line == (uint64_t)i + 1);
        /* the fixture's "size" is the UTF-8 length of the content: a check of unescaping */
        snprintf(want, sizeof want, "user%d/repo-%d|src/mod_%d.py|%s|%zu|%d", i, i, i,
                 (const char *[]){"mit", "apache-2.0", "bsd-3-clause"}[i % 3], a[i].content.len, i % 3 + 1);
        CHECK_STR(a[i].meta.data, want);
        CHECK(!a[i].surrogate);
    }
    CHECK_STR(a[0].content.data, "def f0_0(x):\n    \"\"\"Doc \\ \"quoted\" 0.\"\"\"\n\treturn x * 0 + len(\""
                                 "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\")\n");
    pt_map m;
    pt_err e = {0};
    CHECK_OK(pt_map_open(&m, plain, &e), &e);
    pt_hash128 want = pt_hash128_of(m.data, m.size, 0);
    CHECK(h.lo == want.lo && h.hi == want.hi);
    CHECK_EQ_U64(raw, m.size);
    CHECK_EQ_U64(text, m.size);
    uint64_t plain_size = m.size;
    pt_map_close(&m);

    int nb = read_all(gz, NULL, b, MAXREC, &h, &raw, &text);
    CHECK(same_recs(a, na, b, nb));
    CHECK_OK(pt_map_open(&m, gz, &e), &e);
    want = pt_hash128_of(m.data, m.size, 0);
    CHECK(h.lo == want.lo && h.hi == want.hi); /* the hash is of the compressed bytes */
    CHECK_EQ_U64(raw, m.size);
    CHECK_EQ_U64(text, plain_size);
    pt_map_close(&m);

    int nc = read_all(multi, NULL, c, MAXREC, NULL, NULL, &text); /* two gzip members */
    CHECK(same_recs(a, na, c, nc));
    CHECK_EQ_U64(text, plain_size);
    free_recs(c, nc);

    /* tiny reads and windows give the same results */
    size_t chunks[] = {1, 2, 3, 7, 64, 1000};
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
        pt_jsonl_opts o = {.chunk = chunks[i]};
        nc = read_all(plain, &o, c, MAXREC, NULL, NULL, NULL);
        CHECK(same_recs(a, na, c, nc));
        free_recs(c, nc);
        nc = read_all(multi, &o, c, MAXREC, NULL, NULL, NULL);
        CHECK(same_recs(a, na, c, nc));
        free_recs(c, nc);
    }
    free_recs(a, na);
    free_recs(b, nb);
    free(plain), free(gz), free(multi);
}

static int last_kind(const rec *x, int n) { return n > 0 ? x[n - 1].kind : -1; }

TEST(jsonl_damaged_gzip) {
    static rec a[MAXREC], first[MAXREC];
    const char *names[] = {"truncated.jsonl.gz", "corrupt.jsonl.gz"};
    const char *why[] = {"truncated gzip stream", "corrupt gzip data"};
    for (int t = 0; t < 2; t++) {
        char *p = data_path(names[t]);
        int nfirst = 0;
        for (size_t chunk = 1; chunk <= (1u << 20); chunk *= 8) {
            pt_jsonl_opts o = {.chunk = chunk};
            int n = read_all(p, &o, a, MAXREC, NULL, NULL, NULL);
            CHECK(n >= 2 && a[n].kind == PT_JSONL_END && last_kind(a, n) == PT_JSONL_FATAL);
            CHECK(strstr(a[n - 1].msg, why[t]) != NULL);
            CHECK(strstr(a[n - 1].msg, names[t]) != NULL && strstr(a[n - 1].msg, "(after line ") != NULL);
            int docs = 0;
            for (int i = 0; i < n - 1; i++) docs += a[i].kind == PT_JSONL_DOC;
            if (t == 0) CHECK(docs >= 15 && docs < 24); /* the lines before the cut are read */
            char want[64];
            snprintf(want, sizeof want, "(after line %llu)", (unsigned long long)(n - 1));
            CHECK(strstr(a[n - 1].msg, want) != NULL);
            /* every read size gives the same lines before the damage */
            if (chunk == 1) {
                memcpy(first, a, sizeof a);
                nfirst = n;
            } else {
                CHECK(same_recs(first, nfirst, a, n));
                free_recs(a, n);
            }
        }
        free_recs(first, nfirst);
        free(p);
    }
    /* a gzip file without its 8-byte trailer: all the text is there, yet it is truncated */
    char *p = data_path("small.jsonl.gz");
    pt_buf b = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(p, &b, &e), &e);
    char *q = tmp_file("cut_trailer.gz", b.data, b.len - 8);
    for (size_t chunk = 1; chunk <= 4096; chunk *= 4096) {
        pt_jsonl_opts o = {.chunk = chunk};
        int n = read_all(q, &o, a, MAXREC, NULL, NULL, NULL);
        CHECK(n == 25 && a[24].kind == PT_JSONL_FATAL && strstr(a[24].msg, "truncated gzip"));
        free_recs(a, n);
    }
    free(q);
    /* a fuzzer find: the stream's last input bytes sit in inflate's bit buffer while output
     * is still owed; tiny reads must not lose it (line 7 and the text count) */
    q = data_path("trailerless.jsonl.gz");
    for (size_t chunk = 1; chunk <= 4096; chunk *= 4096) {
        pt_jsonl_opts o = {.chunk = chunk};
        uint64_t text;
        int n = read_all(q, &o, a, MAXREC, NULL, NULL, &text);
        CHECK(n == 7 && a[5].kind == PT_JSONL_BAD && strstr(a[5].msg, ":7: ") && a[6].kind == PT_JSONL_FATAL);
        CHECK(strstr(a[6].msg, "truncated gzip stream") && strstr(a[6].msg, "(after line 7)"));
        CHECK_EQ_U64(text, 113);
        free_recs(a, n);
    }
    free(q);
    pt_buf_free(&b);
    /* garbage after the last member is corruption, not the end */
    CHECK_OK(pt_fs_read_all(p, &b, &e), &e);
    pt_buf_append(&b, "\n\n", 2, NULL);
    q = tmp_file("trailing.gz", b.data, b.len);
    int n = read_all(q, NULL, a, MAXREC, NULL, NULL, NULL);
    CHECK(n == 25 && a[24].kind == PT_JSONL_FATAL && strstr(a[24].msg, "corrupt gzip"));
    CHECK(strstr(a[24].msg, "(after line 24)") != NULL);
    free_recs(a, n);
    pt_buf_free(&b);
    free(p), free(q);
}

TEST(jsonl_bad_lines_reported_and_skipped) {
    const char text[] =
        "{\"content\":\"a\"}\n"                                   /* 1 */
        "{\"content\":\"b\",}\n"                                  /* 2 trailing comma */
        "not json\n"                                              /* 3 */
        "{\"path\":\"x\"}\n"                                      /* 4 no content */
        "{\"content\":5}\n"                                       /* 5 */
        "{\"content\":null}\n"                                    /* 6 */
        "[1]\n"                                                   /* 7 not an object */
        "{\"content\":\"c\"} x\n"                                 /* 8 trailing garbage */
        "{\"content\":\"d\",\"size\":123,\"copies\":4,\"license\":\"mit\",\"repo_name\":\"r/x\","
        "\"path\":\"a/b.py\",\"extra\":{\"k\":[1,{\"z\":null}],\"s\":\"\\u00e9\"}}\n" /* 9 */
        "\n"                                                      /* 10 blank */
        "   \t \r\n"                                              /* 11 blank */
        "{\"content\":\"e\"}\r\n"                                 /* 12 CRLF */
        "{\"content\":\"f\\u0000g\"}\n"                           /* 13 */
        "{\"content\":\"h\\ud800i\"}\n"                           /* 14 lone surrogate */
        "{\"content\":\"\\ud83d\\ude00\"}\n"                      /* 15 pair */
        "{\"content\":\"raw \xFF\xFE bytes\"}\n"                  /* 16 invalid UTF-8 passes */
        "{\"content\":\"x\",\"content\":7}\n"                     /* 17 the last one counts */
        "{\"content\":7,\"cont\\u0065nt\":\"y\",\"size\":\"12\",\"size\":null}\n" /* 18 */
        "{\"content\":\"tab\tinside\"}\n"                         /* 19 raw control char */
        "{\"content\":\"z\"}";                                    /* 20 no final newline */
    char *p = tmp_file("mixed.jsonl", text, sizeof text - 1);
    static rec a[MAXREC];
    int n = read_all(p, NULL, a, MAXREC, NULL, NULL, NULL);
    struct {
        int kind;
        uint64_t line;
        const char *s; /* content, or a piece of the message */
    } want[] = {
        {PT_JSONL_DOC, 1, "a"},
        {PT_JSONL_BAD, 2, "mixed.jsonl:2: malformed JSON at column 16: expected a string key, found '}'"},
        {PT_JSONL_BAD, 3, "mixed.jsonl:3: malformed JSON at column 1: expected a JSON object, found 'n'"},
        {PT_JSONL_BAD, 4, "mixed.jsonl:4: no \"content\" field"},
        {PT_JSONL_BAD, 5, "mixed.jsonl:5: \"content\" is not a string"},
        {PT_JSONL_BAD, 6, "mixed.jsonl:6: \"content\" is not a string"},
        {PT_JSONL_BAD, 7, "mixed.jsonl:7: malformed JSON at column 1: expected a JSON object"},
        {PT_JSONL_BAD, 8, "mixed.jsonl:8: malformed JSON at column 17: trailing characters"},
        {PT_JSONL_DOC, 9, "d"},
        {PT_JSONL_DOC, 12, "e"},
        {PT_JSONL_DOC, 13, "f\0g"},
        {PT_JSONL_DOC, 14, "h\xED\xA0\x80i"},
        {PT_JSONL_DOC, 15, "\xF0\x9F\x98\x80"},
        {PT_JSONL_DOC, 16, "raw \xFF\xFE bytes"},
        {PT_JSONL_BAD, 17, "mixed.jsonl:17: \"content\" is not a string"},
        {PT_JSONL_DOC, 18, "y"},
        {PT_JSONL_BAD, 19, "mixed.jsonl:19: malformed JSON at column 16: unescaped control character"},
        {PT_JSONL_DOC, 20, "z"},
    };
    int nw = (int)(sizeof want / sizeof *want);
    CHECK_EQ_U64(n, nw);
    for (int i = 0; i < n && i < nw; i++) {
        CHECK_EQ_U64(a[i].kind, want[i].kind);
        CHECK_EQ_U64(a[i].line, a[i].kind == PT_JSONL_DOC ? want[i].line : 0);
        if (a[i].kind == PT_JSONL_DOC) {
            size_t wl = i == 10 ? 3 : strlen(want[i].s);
            CHECK(a[i].content.len == wl && !memcmp(a[i].content.data, want[i].s, wl));
        } else if (!strstr(a[i].msg, want[i].s)) {
            printf("  record %d: message \"%s\", expected \"%s\"\n", i, a[i].msg, want[i].s);
            pt_t_failed_ = 1;
        }
    }
    CHECK_STR(a[8].meta.data, "r/x|a/b.py|mit|123|4");
    CHECK_STR(a[0].meta.data, "-|-|-|-|-");
    CHECK_STR(a[15].meta.data, "-|-|-|-|-"); /* "size": null, the last one, wins */
    CHECK(a[11].surrogate && !a[12].surrogate && !a[13].surrogate);
    free_recs(a, n);
    free(p);
}

TEST(jsonl_long_lines_skipped) {
    pt_buf b = {0};
    pt_buf_printf(&b, NULL, "{\"content\":\"short\"}\n{\"content\":\"");
    for (int i = 0; i < 1000; i++) pt_buf_putc(&b, 'x', NULL);
    pt_buf_printf(&b, NULL, "\"}\n{\"content\":\"after\"}\n");
    /* a line of exactly max_line bytes is fine */
    const char *exact = "{\"content\":\"01234567890123456789012345678901234567890123456789012345678901234567890123456789012345\"}";
    CHECK_EQ_U64(strlen(exact), 100);
    pt_buf_append(&b, exact, 100, NULL);
    pt_buf_printf(&b, NULL, "\n{\"content\":\"");
    for (int i = 0; i < 500; i++) pt_buf_putc(&b, 'y', NULL); /* long, and the last line */
    char *p = tmp_file("long.jsonl", b.data, b.len);
    static rec a[MAXREC];
    size_t chunks[] = {1, 5, 16, 4096};
    for (size_t c = 0; c < 4; c++) {
        pt_jsonl_opts o = {.max_line = 100, .chunk = chunks[c]};
        uint64_t text;
        int n = read_all(p, &o, a, MAXREC, NULL, NULL, &text);
        CHECK_EQ_U64(n, 5);
        CHECK(a[0].kind == PT_JSONL_DOC && !strcmp(a[0].content.data, "short"));
        CHECK(a[1].kind == PT_JSONL_BAD && strstr(a[1].msg, "long.jsonl:2: line too long (more than 100 bytes)"));
        CHECK(a[2].kind == PT_JSONL_DOC && !strcmp(a[2].content.data, "after") && a[2].line == 3);
        CHECK(a[3].kind == PT_JSONL_DOC && a[3].line == 4 && a[3].content.len == 86);
        CHECK(a[4].kind == PT_JSONL_BAD && strstr(a[4].msg, "long.jsonl:5: line too long"));
        CHECK_EQ_U64(text, b.len);
        free_recs(a, n);
    }
    /* with the default limit the long line is just a document */
    int n = read_all(p, NULL, a, MAXREC, NULL, NULL, NULL);
    CHECK(n == 5 && a[1].kind == PT_JSONL_DOC && a[1].content.len == 1000 && a[4].kind == PT_JSONL_BAD);
    CHECK(strstr(a[4].msg, "unterminated string") != NULL);
    free_recs(a, n);
    pt_buf_free(&b);
    free(p);
}

TEST(jsonl_edges) {
    static rec a[MAXREC];
    pt_err e = {0};
    /* empty file, blank lines only, a byte-order mark, 0x1F that is not gzip */
    char *p = tmp_file("empty.jsonl", "", 0);
    CHECK(read_all(p, NULL, a, MAXREC, NULL, NULL, NULL) == 0 && a[0].kind == PT_JSONL_END);
    free(p);
    p = tmp_file("blank.jsonl", "\n\r\n  \n", 6);
    CHECK(read_all(p, NULL, a, MAXREC, NULL, NULL, NULL) == 0);
    free(p);
    const char bom[] = "\xEF\xBB\xBF{\"content\":\"q\"}\n\xEF\xBB\xBF{\"content\":\"q\"}\n";
    p = tmp_file("bom.jsonl", bom, sizeof bom - 1);
    int n = read_all(p, NULL, a, MAXREC, NULL, NULL, NULL);
    CHECK(n == 2 && a[0].kind == PT_JSONL_DOC && a[1].kind == PT_JSONL_BAD); /* only at the start */
    free_recs(a, n);
    free(p);
    p = tmp_file("x1f.jsonl", "\x1F", 1);
    n = read_all(p, NULL, a, MAXREC, NULL, NULL, NULL);
    CHECK(n == 1 && a[0].kind == PT_JSONL_BAD && strstr(a[0].msg, "x1f.jsonl:1: malformed JSON"));
    free(p);
    p = tmp_file("x1f2.jsonl", "\x1F\x8A{}", 4);
    n = read_all(p, NULL, a, MAXREC, NULL, NULL, NULL);
    CHECK(n == 1 && a[0].kind == PT_JSONL_BAD);
    free(p);
    /* a missing file */
    pt_jsonl_reader *r = (pt_jsonl_reader *)1;
    CHECK(pt_jsonl_open(&r, "/nonexistent/x.jsonl", &e) == PT_EIO && r == NULL);
    CHECK(strstr(e.msg, "/nonexistent/x.jsonl: cannot open") != NULL);
    /* a directory opens but cannot be read */
    CHECK_OK(pt_jsonl_open(&r, g_dir, &e), &e);
    pt_jsonl_doc d;
    CHECK(pt_jsonl_next(r, &d, &e) == PT_JSONL_FATAL && strstr(e.msg, "read error"));
    CHECK(pt_jsonl_next(r, &d, &e) == PT_JSONL_END);
    pt_jsonl_close(r);
    pt_jsonl_close(NULL);
}

TEST(jsonl_text_field) {
    /* accept_text: "text" stands in for an absent "content"; "content" wins; off by default */
    const char text[] = "{\"text\":\"t1\"}\n{\"content\":\"c2\",\"text\":\"t2\"}\n{\"text\":3}\n"
                        "{\"text\":\"t4\",\"content\":\"c4\"}\n{\"other\":1}\n";
    char *p = tmp_file("text.jsonl", text, sizeof text - 1);
    static rec a[8];
    pt_jsonl_opts o = {0};
    o.accept_text = 1;
    int n = read_all(p, &o, a, 8, NULL, NULL, NULL);
    CHECK(n == 5);
    if (n == 5) {
        CHECK(a[0].kind == PT_JSONL_DOC && !strcmp(a[0].content.data, "t1"));
        CHECK(a[1].kind == PT_JSONL_DOC && !strcmp(a[1].content.data, "c2"));
        CHECK(a[2].kind == PT_JSONL_BAD && strstr(a[2].msg, "text.jsonl:3: \"text\" is not a string"));
        CHECK(a[3].kind == PT_JSONL_DOC && !strcmp(a[3].content.data, "c4"));
        CHECK(a[4].kind == PT_JSONL_BAD && strstr(a[4].msg, "no \"content\" or \"text\" field"));
    }
    free_recs(a, n);
    n = read_all(p, NULL, a, 8, NULL, NULL, NULL);
    CHECK(n == 5 && a[0].kind == PT_JSONL_BAD && a[1].kind == PT_JSONL_DOC && a[2].kind == PT_JSONL_BAD);
    free_recs(a, n);
    free(p);
}

TEST(jsonl_stdin) {
    const char text[] = "{\"content\":\"from stdin\",\"path\":\"p\"}\n";
    char *p = tmp_file("stdin.jsonl", text, sizeof text - 1);
    int saved = dup(0), fd = open(p, O_RDONLY);
    CHECK(saved >= 0 && fd >= 0 && dup2(fd, 0) == 0);
    close(fd);
    static rec a[4];
    int n = read_all("-", NULL, a, 4, NULL, NULL, NULL);
    CHECK(n == 1 && !strcmp(a[0].content.data, "from stdin") && !strcmp(a[0].meta.data, "-|p|-|-|-"));
    free_recs(a, n);
    /* messages name it */
    CHECK(lseek(0, 0, SEEK_SET) == 0);
    pt_jsonl_reader *r;
    pt_err e = {0};
    CHECK_OK(pt_jsonl_open(&r, "-", &e), &e);
    pt_jsonl_close(r); /* does not close fd 0 */
    CHECK(lseek(0, 0, SEEK_CUR) >= 0);
    dup2(saved, 0);
    close(saved);
    free(p);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/pt-jsonl-XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    RUN(jsonl_plain_and_gzip_agree);
    RUN(jsonl_damaged_gzip);
    RUN(jsonl_bad_lines_reported_and_skipped);
    RUN(jsonl_long_lines_skipped);
    RUN(jsonl_edges);
    RUN(jsonl_text_field);
    RUN(jsonl_stdin);
    pt_fs_rm_rf(g_dir, NULL);
    return TEST_DONE();
}
