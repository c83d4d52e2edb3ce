/* fuzz_jsonl.c - libFuzzer target for corpus/jsonl: the streaming JSON Lines reader.
 *
 * Input layout: byte 0 = mode, byte 1 = parameter, the rest = the file's text.
 *   mode bit 0: gzip the text before writing the file (else the bytes are the file as
 *               they are, so inputs that start with 1F 8B exercise the gzip error paths)
 *   mode bit 1: gzip as two members, split at a point chosen by the parameter
 *   mode bit 2: cut the last (parameter % 32 + 1) bytes off the gzip file (truncation)
 *   mode bit 3: max_line = parameter * 3 + 1 (else the default)
 *   mode bit 4: compression level 9 for the first member (else 1)
 *   mode bit 5: the small read chunk is 1 byte (else 2 + parameter % 61)
 * The file is a memfd opened through /proc/self/fd, as the reader wants a path.
 *
 * Checked, each an abort() when broken:
 *   - a tiny read chunk (mode bit 5: 1 byte, else 2..62) and a 4 KiB one give the same results
 *     (kinds, line numbers, contents, fields, messages), whatever the window does;
 *   - raw_bytes and the file hash cover the file; text_bytes covers the text at the end;
 *   - against the DOM parser, line by line, when the text is known: a line the strict
 *     parser reads as an object with a string "content" must come back as that document
 *     with the same fields; an object without a string content must be a BAD line;
 *     whitespace-only lines produce nothing; a line over max_line is BAD.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/json.h"
#include "corpus/jsonl.h"

#include "fuzz.h"


typedef struct rec {
    int kind;
    uint64_t line;
    pt_hash128 h; /* of content, fields and surrogate flag (DOC), or of the message */
} rec;

typedef struct run {
    rec *recs;
    size_t n, cap;
    uint64_t raw, text;
    pt_hash128 file_hash;
} run;

static void hash_field(pt_hasher *h, const char *s, size_t n) {
    uint64_t len = s ? n : UINT64_MAX;
    pt_hasher_update(h, &len, 8);
    if (s) {
        check(s[n] == 0);
        pt_hasher_update(h, s, n);
    }
}

static pt_hash128 hash_doc(const pt_jsonl_doc *d) {
    pt_hasher h;
    pt_hasher_init(&h, 1);
    hash_field(&h, d->content, d->content_len);
    hash_field(&h, d->repo_name, d->repo_name_len);
    hash_field(&h, d->path, d->path_len);
    hash_field(&h, d->license, d->license_len);
    hash_field(&h, d->size, d->size_len);
    hash_field(&h, d->copies, d->copies_len);
    pt_hasher_update(&h, &d->content_has_surrogate, 1);
    return pt_hasher_final(&h);
}

static void read_file(const char *path, size_t chunk, size_t max_line, run *out) {
    pt_jsonl_opts o = {.max_line = max_line, .chunk = chunk};
    pt_jsonl_reader *r;
    pt_err e = {0};
    check(pt_jsonl_open_opts(&r, path, &o, &e) == PT_OK);
    memset(out, 0, sizeof *out);
    uint64_t last_line = 0;
    for (;;) {
        pt_jsonl_doc d;
        int k = pt_jsonl_next(r, &d, &e);
        if (k == PT_JSONL_END) break;
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 16;
            out->recs = realloc(out->recs, out->cap * sizeof(rec));
        }
        rec *x = &out->recs[out->n++];
        x->kind = k;
        x->line = 0;
        if (k == PT_JSONL_DOC) {
            check(d.line > last_line);
            last_line = d.line;
            x->line = d.line;
            x->h = hash_doc(&d);
        } else {
            check(k == PT_JSONL_BAD || k == PT_JSONL_FATAL);
            x->h = pt_hash128_of(e.msg, strlen(e.msg), 2);
        }
        if (k == PT_JSONL_FATAL) {
            check(pt_jsonl_next(r, &d, &e) == PT_JSONL_END);
            break;
        }
    }
    out->raw = pt_jsonl_raw_bytes(r);
    out->text = pt_jsonl_text_bytes(r);
    out->file_hash = pt_jsonl_file_hash(r);
    pt_jsonl_close(r);
}

/* gzip of src into a malloc'd buffer, as one member. */
static unsigned char *gzip(const uint8_t *src, size_t n, int level, size_t *out_n) {
    z_stream z = {0};
    check(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t cap = deflateBound(&z, n) + 64;
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    check(deflate(&z, Z_FINISH) == Z_STREAM_END);
    *out_n = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* What the DOM says one line must give. */
static void line_oracle(const char *line, size_t len, size_t max_line, const run *rr, uint64_t lineno) {
    const rec *x = NULL;
    for (size_t i = 0; i < rr->n; i++)
        if (rr->recs[i].kind == PT_JSONL_DOC && rr->recs[i].line == lineno) x = &rr->recs[i];
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
    if (len > max_line) {
        check(x == NULL);
        return;
    }
    if (i == len) { /* blank: no document (and no BAD: counted below) */
        check(x == NULL);
        return;
    }
    pt_json_doc *d = NULL;
    pt_err e = {0};
    if (pt_json_parse(line, len, &d, &e) != PT_OK) return; /* the lax reader may differ */
    const pt_json *root = pt_json_root(d);
    const pt_json *c = pt_json_get(root, "content");
    if (pt_json_type(root) != PT_JSON_OBJECT || pt_json_type(c) != PT_JSON_STRING) {
        check(x == NULL);
    } else {
        check(x != NULL);
        pt_jsonl_doc want = {0};
        const char *names[6] = {"content", "repo_name", "path", "license", "size", "copies"};
        const char *v[6];
        size_t n[6];
        for (int f = 0; f < 6; f++) {
            const pt_json *j = pt_json_get(root, names[f]);
            v[f] = pt_json_type(j) == PT_JSON_STRING ? pt_json_str(j, &n[f]) : pt_json_num_text(j, &n[f]);
            if (!v[f]) n[f] = 0;
        }
        want.content = v[0], want.content_len = n[0];
        want.repo_name = v[1], want.repo_name_len = n[1];
        want.path = v[2], want.path_len = n[2];
        want.license = v[3], want.license_len = n[3];
        want.size = v[4], want.size_len = n[4];
        want.copies = v[5], want.copies_len = n[5];
        pt_hash128 h = hash_doc(&want);
        check(h.lo == x->h.lo && h.hi == x->h.hi);
    }
    pt_json_free(d);
}

static int memfd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    unsigned mode = data[0], param = data[1];
    const uint8_t *text = data + 2;
    size_t ntext = size - 2;
    size_t max_line = (mode & 8) ? param * 3 + 1 : PT_JSONL_MAX_LINE_DEFAULT;

    unsigned char *file = NULL;
    size_t nfile;
    int text_known = 1, truncated = 0; /* truncated: cut inside a gzip member */
    if (mode & 1) {
        size_t cut = (mode & 2) ? (ntext * param) / 256 : ntext, n1, n2 = 0;
        unsigned char *g1 = gzip(text, cut, (mode & 16) ? 9 : 1, &n1), *g2 = NULL;
        if (mode & 2) g2 = gzip(text + cut, ntext - cut, 6, &n2);
        file = malloc(n1 + n2 + 1);
        memcpy(file, g1, n1);
        if (g2) memcpy(file + n1, g2, n2);
        nfile = n1 + n2;
        free(g1);
        free(g2);
        if (mode & 4) {
            size_t k = param % 32 + 1;
            nfile = nfile > k ? nfile - k : 0;
            truncated = nfile != n1; /* a cut just after the first member leaves a whole gzip file */
            text_known = 0;
        }
    } else {
        file = malloc(ntext + 1);
        memcpy(file, text, ntext);
        nfile = ntext;
        text_known = !(ntext >= 2 && text[0] == 0x1F && text[1] == 0x8B);
    }

    if (memfd < 0) memfd = memfd_create("fuzz_jsonl", 0);
    check(memfd >= 0 && ftruncate(memfd, 0) == 0);
    check(nfile == 0 || pwrite(memfd, file, nfile, 0) == (ssize_t)nfile);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);

    run a, b;
    read_file(path, 4096, max_line, &a);
    read_file(path, (mode & 32) ? 1 : 2 + param % 61, max_line, &b);
    check(a.n == b.n);
    for (size_t i = 0; i < a.n; i++)
        check(a.recs[i].kind == b.recs[i].kind && a.recs[i].line == b.recs[i].line && a.recs[i].h.lo == b.recs[i].h.lo &&
              a.recs[i].h.hi == b.recs[i].h.hi);
    int fatal = a.n && a.recs[a.n - 1].kind == PT_JSONL_FATAL;
    check(a.text == b.text && a.raw <= nfile);
    if (!fatal) {
        pt_hash128 h = pt_hash128_of(file, nfile, 0);
        check(a.raw == nfile && b.raw == nfile && a.file_hash.lo == h.lo && a.file_hash.hi == h.hi);
    }
    if (truncated && nfile >= 2) check(fatal); /* a gzip file that lost its tail never ends cleanly */
    if (text_known && !fatal) check(a.text == ntext);

    if (text_known && !fatal) {
        /* every line, as the DOM sees it */
        uint64_t lineno = 0;
        size_t bad_or_doc = 0;
        for (size_t s = 0; s < ntext;) {
            const uint8_t *nl = memchr(text + s, '\n', ntext - s);
            size_t e = nl ? (size_t)(nl - text) : ntext;
            lineno++;
            line_oracle((const char *)text + s, e - s, max_line, &a, lineno);
            size_t i = s;
            while (i < e && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) i++;
            int bom = lineno == 1 && e - s >= 3 && !memcmp(text + s, "\xEF\xBB\xBF", 3);
            if (bom) {
                for (i = s + 3; i < e && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r');) i++;
            }
            bad_or_doc += (i < e || e - s > max_line);
            s = e + 1;
        }
        check(a.n == bad_or_doc); /* one result per non-blank line */
    }
    free(a.recs);
    free(b.recs);
    free(file);
    return 0;
}
