/* decontam.c - word n-gram overlap with benchmark items (see decontam.h). */
#include "corpus/decontam.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/json.h"

enum { MIN_WORDS = 8, MAX_SHORT = 64 };

struct pt_decontam {
    int n;                    /* the run length */
    uint64_t *set;            /* open addressing, 0 = empty; capacity a power of two */
    size_t cap, count, items;
    int short_len[MAX_SHORT]; /* distinct lengths of short item texts (MIN_WORDS..n-1) */
    int nshort;
    pt_hash128 file_hash;
};

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Hashes of the words of text[0..n); *words malloc'ed. */
static size_t word_hashes(const char *text, size_t n, uint64_t **words) {
    size_t cap = 64, k = 0;
    uint64_t *w = malloc(cap * sizeof *w);
    if (!w) return (size_t)-1;
    for (size_t i = 0; i < n;) {
        while (i < n && is_space((unsigned char)text[i])) i++;
        size_t s = i;
        while (i < n && !is_space((unsigned char)text[i])) i++;
        if (i == s) break;
        if (k == cap) {
            uint64_t *nw = realloc(w, (cap *= 2) * sizeof *w);
            if (!nw) { free(w); return (size_t)-1; }
            w = nw;
        }
        w[k++] = pt_hash64(text + s, i - s, 0x5eed);
    }
    *words = w;
    return k;
}

/* The hash of words[0..len): order-sensitive, never 0. */
static uint64_t run_hash(const uint64_t *w, int len) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)len;
    for (int i = 0; i < len; i++) h = pt_mix64(h ^ w[i]) + 0x632be59bd9b4e019ull;
    return h ? h : 1;
}

static int set_has(const pt_decontam *d, uint64_t h) {
    for (size_t i = h & (d->cap - 1);; i = (i + 1) & (d->cap - 1)) {
        if (d->set[i] == h) return 1;
        if (!d->set[i]) return 0;
    }
}

static int set_add(pt_decontam *d, uint64_t h, pt_err *e) {
    if (2 * (d->count + 1) > d->cap) {
        size_t nc = d->cap ? 2 * d->cap : 1024;
        uint64_t *ns = pt_calloc(nc, sizeof *ns, e);
        if (!ns) return e->code;
        for (size_t i = 0; i < d->cap; i++)
            if (d->set[i]) {
                size_t j = d->set[i] & (nc - 1);
                while (ns[j]) j = (j + 1) & (nc - 1);
                ns[j] = d->set[i];
            }
        free(d->set);
        d->set = ns, d->cap = nc;
    }
    if (set_has(d, h)) return PT_OK;
    size_t j = h & (d->cap - 1);
    while (d->set[j]) j = (j + 1) & (d->cap - 1);
    d->set[j] = h, d->count++;
    return PT_OK;
}

static int add_text(pt_decontam *d, const char *t, size_t n, pt_err *e) {
    uint64_t *w;
    size_t k = word_hashes(t, n, &w);
    if (k == (size_t)-1) return pt_fail(e, PT_ENOMEM, "out of memory");
    int rc = PT_OK;
    if (k >= (size_t)d->n) {
        for (size_t i = 0; i + d->n <= k && !rc; i++) rc = set_add(d, run_hash(w + i, d->n), e);
        d->items++;
    } else if (k >= MIN_WORDS) {
        rc = set_add(d, run_hash(w, (int)k), e);
        int seen = 0;
        for (int s = 0; s < d->nshort; s++) seen |= d->short_len[s] == (int)k;
        if (!seen && d->nshort < MAX_SHORT) d->short_len[d->nshort++] = (int)k;
        d->items++;
    }
    free(w);
    return rc;
}

int pt_decontam_load(pt_decontam **out, const char *path, int ngram, pt_err *e) {
    *out = NULL;
    pt_decontam *d = pt_calloc(1, sizeof *d, e);
    if (!d) return e->code;
    d->n = ngram > 0 ? ngram : 20;
    if (d->n < MIN_WORDS) d->n = MIN_WORDS;
    pt_buf b = {0};
    int rc = PT_OK;
    gzFile f = gzopen(path, "rb"); /* plain files are read through as they are */
    if (!f) rc = pt_fail_errno(e, PT_EIO, "%s", path);
    char chunk[1 << 16];
    int got;
    while (!rc && (got = gzread(f, chunk, sizeof chunk)) > 0) rc = pt_buf_append(&b, chunk, (size_t)got, e);
    if (!rc && got < 0) rc = pt_fail(e, PT_EFORMAT, "%s: cannot read (corrupt gzip?)", path);
    if (f) gzclose(f);
    size_t line = 0;
    for (size_t i = 0; !rc && i < b.len;) {
        char *nl = memchr(b.data + i, '\n', b.len - i);
        size_t end = nl ? (size_t)(nl - b.data) : b.len;
        line++;
        size_t s = i;
        while (s < end && is_space((unsigned char)b.data[s])) s++;
        if (s < end) {
            pt_json_doc *doc = NULL;
            if ((rc = pt_json_parse(b.data + i, end - i, &doc, e))) {
                pt_err_prefix(e, "%s:%zu", path, line);
                break;
            }
            static const char *const keys[] = {"prompt", "canonical_solution", "content", "text"};
            for (size_t k = 0; k < sizeof keys / sizeof keys[0] && !rc; k++) {
                size_t len;
                const char *t = pt_json_str(pt_json_get(pt_json_root(doc), keys[k]), &len);
                if (t) rc = add_text(d, t, len, e);
            }
            pt_json_free(doc);
        }
        i = end + 1;
    }
    if (!rc && !d->items)
        rc = pt_fail(e, PT_EUSAGE, "%s: no benchmark text of %d words or more (fields prompt, canonical_solution, "
                                   "content, text)", path, MIN_WORDS);
    if (!rc) d->file_hash = pt_hash128_of(b.data, b.len, 0);
    pt_buf_free(&b);
    if (rc) {
        pt_decontam_free(d);
        return rc;
    }
    *out = d;
    return PT_OK;
}

void pt_decontam_free(pt_decontam *d) {
    if (!d) return;
    free(d->set);
    free(d);
}

size_t pt_decontam_items(const pt_decontam *d) { return d->items; }
pt_hash128 pt_decontam_hash(const pt_decontam *d) { return d->file_hash; }
int pt_decontam_ngram(const pt_decontam *d) { return d->n; }

int pt_decontam_match(const pt_decontam *d, const char *text, size_t n) {
    uint64_t *w;
    size_t k = word_hashes(text, n, &w);
    if (k == (size_t)-1) return 0;
    int hit = 0;
    for (size_t i = 0; i + d->n <= k && !hit; i++) hit = set_has(d, run_hash(w + i, d->n));
    for (int s = 0; s < d->nshort && !hit; s++)
        for (size_t i = 0; i + (size_t)d->short_len[s] <= k && !hit; i++) hit = set_has(d, run_hash(w + i, d->short_len[s]));
    free(w);
    return hit;
}
