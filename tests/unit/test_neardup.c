/* test_neardup.c - near-duplicate clustering and reduction against a brute-force reference,
 * planted near copies, chains, the threshold edge, determinism, giant clusters. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "corpus/minhash.h"
#include "corpus/neardup.h"
#include "test.h"

/* ---- a corpus of texts in memory ---------------------------------------------------------- */

typedef struct corpus {
    char **text;
    size_t *len;
    size_t n, cap;
} corpus;

static void corpus_add(corpus *c, const char *t, size_t n) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->text = realloc(c->text, c->cap * sizeof *c->text);
        c->len = realloc(c->len, c->cap * sizeof *c->len);
    }
    c->text[c->n] = malloc(n + 1);
    memcpy(c->text[c->n], t, n);
    c->text[c->n][n] = 0;
    c->len[c->n++] = n;
}

static void corpus_free(corpus *c) {
    for (size_t i = 0; i < c->n; i++) free(c->text[i]);
    free(c->text), free(c->len);
    memset(c, 0, sizeof *c);
}

static const char *get_text(void *ctx, uint32_t doc, size_t *len) {
    corpus *c = ctx;
    if (doc >= c->n) return NULL;
    *len = c->len[doc];
    return c->text[doc];
}

/* ---- synthetic code: deterministic Python-like files -------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void) { return rng_state = pt_mix64(rng_state); }

static void ident(char *out, uint64_t id) { /* a stable identifier for a number */
    static const char *part[] = {"get", "set", "user", "data", "item", "value", "load", "parse", "node", "tree",
                                 "list", "map", "count", "name", "path", "file", "read", "write", "cache", "key"};
    uint64_t h = pt_mix64(id);
    sprintf(out, "%s_%s%llu", part[h % 20], part[(h >> 8) % 20], (unsigned long long)(id % 100000));
}

/* nfunc functions over a vocabulary starting at vocab0. */
static void gen_code(pt_buf *b, uint64_t seed, int nfunc, uint64_t vocab0) {
    rng_state = seed;
    char a[64], c[64], d[64];
    pt_buf_clear(b);
    pt_buf_printf(b, NULL, "import os\nimport sys\n\n");
    for (int f = 0; f < nfunc; f++) {
        ident(a, vocab0 + rnd() % 400), ident(c, vocab0 + rnd() % 400), ident(d, vocab0 + rnd() % 400);
        pt_buf_printf(b, NULL, "def %s(%s, %s=None):\n", a, c, d);
        int lines = 2 + (int)(rnd() % 5);
        for (int l = 0; l < lines; l++) {
            ident(a, vocab0 + rnd() % 400), ident(c, vocab0 + rnd() % 400), ident(d, vocab0 + rnd() % 400);
            pt_buf_printf(b, NULL, "    %s = %s(%s) + %d\n", a, c, d, (int)(rnd() % 100));
        }
        pt_buf_printf(b, NULL, "    return %s\n\n", a);
    }
}

/* Replaces every whole-word occurrence of `from` by `to`. */
static void rename_ident(pt_buf *b, const char *from, const char *to) {
    pt_buf o = {0};
    size_t fl = strlen(from);
    for (size_t i = 0; i < b->len;) {
        if (i + fl <= b->len && !memcmp(b->data + i, from, fl) &&
            (i == 0 || !(isalnum((unsigned char)b->data[i - 1]) || b->data[i - 1] == '_')) &&
            (i + fl == b->len || !(isalnum((unsigned char)b->data[i + fl]) || b->data[i + fl] == '_'))) {
            pt_buf_append(&o, to, strlen(to), NULL);
            i += fl;
        } else {
            pt_buf_putc(&o, b->data[i++], NULL);
        }
    }
    pt_buf_free(b);
    *b = o;
}

/* Replaces the `every`-th line (from line `first`) by a fresh random one. */
static void change_lines(pt_buf *b, int first, int every, uint64_t seed) {
    pt_buf o = {0};
    int line = 0;
    char a[64];
    for (size_t i = 0; i < b->len;) {
        size_t e = i;
        while (e < b->len && b->data[e] != '\n') e++;
        if (line >= first && (line - first) % every == 0) {
            ident(a, 900000 + pt_mix64(seed + (uint64_t)line) % 100000);
            pt_buf_printf(&o, NULL, "    %s = %d", a, line);
        } else {
            pt_buf_append(&o, b->data + i, e - i, NULL);
        }
        if (e < b->len) pt_buf_putc(&o, '\n', NULL);
        i = e + 1, line++;
    }
    pt_buf_free(b);
    *b = o;
}

/* ---- running the engine and the reference ------------------------------------------------- */

typedef struct outcome {
    uint8_t *drop;
    uint32_t *near;
    pt_neardup_result r;
    int rc;
} outcome;

static uint32_t *signatures(const corpus *c, const pt_minhash_params *p, size_t *ntok) {
    uint32_t *sig = malloc(c->n * (size_t)p->num_perm * sizeof *sig + 1);
    pt_minhash_scratch *s = pt_minhash_scratch_new();
    for (size_t i = 0; i < c->n; i++) ntok[i] = pt_minhash_signature_p(p, c->text[i], c->len[i], sig + i * (size_t)p->num_perm, s);
    pt_minhash_scratch_free(s);
    return sig;
}

static outcome run_engine(corpus *c, const pt_minhash_params *p, int threads, uint32_t index_min) {
    outcome o;
    memset(&o, 0, sizeof o);
    size_t *ntok = malloc(c->n * sizeof *ntok + 1);
    uint32_t *sig = signatures(c, p, ntok);
    pt_err e = {0};
    pt_neardup *nd;
    char dir[] = "/tmp/pt-neardup-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK_OK(o.rc = pt_neardup_open(&nd, p, dir, &e), &e);
    if (o.rc) return o;
    pt_neardup_set_index_min(nd, index_min);
    for (size_t i = 0; i < c->n; i++)
        if (ntok[i] >= (size_t)p->min_tokens) CHECK_OK(pt_neardup_add(nd, (uint32_t)i, sig + i * (size_t)p->num_perm, &e), &e);
    CHECK_OK(o.rc = pt_neardup_run(nd, c->n, get_text, c, threads, &o.r, &e), &e);
    pt_neardup_close(nd);
    DIR *dd = opendir(dir); /* the spill file is gone */
    int files = 0;
    for (struct dirent *de; dd && (de = readdir(dd));) files += de->d_name[0] != '.';
    if (dd) closedir(dd);
    CHECK(files == 0);
    rmdir(dir);
    o.drop = o.r.drop, o.near = o.r.near_copies;
    free(ntok), free(sig);
    return o;
}

static uint32_t ref_find(uint32_t *par, uint32_t x) {
    while (par[x] != x) x = par[x];
    return x;
}

/* The method as the brief states it, the slow way: every pair of signed documents that
 * agrees on a whole band is linked; each component, walked in document order, keeps a
 * member unless its exact Jaccard with an earlier representative reaches the threshold. */
static void run_reference(corpus *c, const pt_minhash_params *p, uint8_t *drop, uint32_t *near) {
    size_t n = c->n, *ntok = malloc(n * sizeof *ntok + 1);
    uint32_t *sig = signatures(c, p, ntok), *par = malloc(n * sizeof *par + 1);
    for (size_t i = 0; i < n; i++) par[i] = (uint32_t)i;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (ntok[i] < (size_t)p->min_tokens || ntok[j] < (size_t)p->min_tokens) continue;
            for (int b = 0; b < p->bands; b++)
                if (!memcmp(sig + i * p->num_perm + b * p->rows, sig + j * p->num_perm + b * p->rows, 4 * (size_t)p->rows)) {
                    uint32_t x = ref_find(par, (uint32_t)i), y = ref_find(par, (uint32_t)j);
                    if (x != y) par[x > y ? x : y] = x < y ? x : y;
                    break;
                }
        }
    memset(drop, 0, n), memset(near, 0, n * sizeof *near);
    pt_minhash_scratch *s = pt_minhash_scratch_new();
    uint64_t **set = calloc(n, sizeof *set);
    size_t *ns = calloc(n, sizeof *ns);
    for (size_t i = 0; i < n; i++) {
        const uint64_t *t;
        ns[i] = pt_minhash_tokens(c->text[i], c->len[i], s, &t);
        set[i] = malloc(ns[i] * sizeof **set + 1);
        memcpy(set[i], t, ns[i] * sizeof **set);
    }
    uint32_t *reps = malloc(n * sizeof *reps + 1);
    for (size_t root = 0; root < n; root++) {
        size_t nr = 0;
        for (size_t i = root; i < n; i++) {
            if (ref_find(par, (uint32_t)i) != root) continue;
            size_t k = 0;
            while (k < nr && pt_minhash_jaccard(set[i], ns[i], set[reps[k]], ns[reps[k]]) < p->threshold) k++;
            if (k < nr) drop[i] = 1, near[reps[k]]++;
            else reps[nr++] = (uint32_t)i;
        }
    }
    for (size_t i = 0; i < n; i++) free(set[i]);
    free(set), free(ns), free(reps), free(ntok), free(sig), free(par);
    pt_minhash_scratch_free(s);
}

static int same_outcome(const outcome *a, const uint8_t *drop, const uint32_t *near, size_t n) {
    if (!a->drop) return 0;
    int diff = 0;
    for (size_t i = 0; i < n; i++)
        if (a->drop[i] != drop[i] || a->near[i] != near[i]) {
            if (diff++ < 5) printf("  doc %zu: drop %d near %u, expected drop %d near %u\n", i, a->drop[i], a->near[i], drop[i], near[i]);
        }
    return diff == 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* 60 base files, each followed by planted variants: an exact copy, a renamed identifier,
 * a few changed lines, a heavily changed version (not a near copy), and a short file. */
static void planted_corpus(corpus *c, int nbase) {
    pt_buf b = {0};
    char from[64], to[64];
    for (int k = 0; k < nbase; k++) {
        gen_code(&b, 1000 + (uint64_t)k, 12 + k % 7, (uint64_t)k * 1000);
        corpus_add(c, b.data, b.len);
        if (k % 3 == 0) corpus_add(c, b.data, b.len);
        pt_buf v = {0};
        pt_buf_append(&v, b.data, b.len, NULL);
        rng_state = 1000 + (uint64_t)k;
        ident(from, (uint64_t)k * 1000 + rnd() % 400);
        sprintf(to, "renamed_%d", k);
        rename_ident(&v, from, to);
        corpus_add(c, v.data, v.len);
        if (k % 2) {
            pt_buf_clear(&v);
            pt_buf_append(&v, b.data, b.len, NULL);
            change_lines(&v, 5, 40, (uint64_t)k);
            corpus_add(c, v.data, v.len);
        }
        pt_buf_clear(&v);
        pt_buf_append(&v, b.data, b.len, NULL);
        change_lines(&v, 1, 2, (uint64_t)k + 77);
        corpus_add(c, v.data, v.len);
        corpus_add(c, "x = 1\n", 6);
        pt_buf_free(&v);
    }
    pt_buf_free(&b);
}

TEST(planted_near_copies_match_reference) {
    corpus c = {0};
    planted_corpus(&c, 60);
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    uint8_t *drop = malloc(c.n);
    uint32_t *near = malloc(c.n * sizeof *near);
    run_reference(&c, &p, drop, near);
    size_t ref_dropped = 0;
    for (size_t i = 0; i < c.n; i++) ref_dropped += drop[i];
    /* the planted structure: every exact copy and renamed version is a near copy */
    CHECK(ref_dropped >= 60 + 20);
    outcome o = run_engine(&c, &p, 2, 64);
    CHECK(same_outcome(&o, drop, near, c.n));
    CHECK_EQ_U64(o.r.dropped, ref_dropped);
    CHECK(o.r.clusters >= 60 && o.r.docs_in_clusters >= o.r.clusters * 2);
    CHECK(o.r.signed_docs < c.n); /* the short files were not added */
    /* document 0 (a base file, copied, renamed) represents its copies */
    CHECK(o.near && o.near[0] >= 2 && !o.drop[0]);
    pt_neardup_result_free(&o.r);
    free(drop), free(near);
    corpus_free(&c);
}

TEST(real_files_with_planted_copies) {
    /* the committed sample of CPython's library, if present: its files are mostly distinct;
     * each gets a renamed copy placed after it */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/cpython/Lib", pt_test_data());
    DIR *d = opendir(dir);
    if (!d) return; /* sample absent: nothing to check */
    corpus c = {0};
    char names[64][256];
    int nn = 0;
    for (struct dirent *de; (de = readdir(d)) && nn < 64;)
        if (strstr(de->d_name, ".py")) snprintf(names[nn++], 256, "%s", de->d_name);
    closedir(d);
    qsort(names, (size_t)nn, 256, (int (*)(const void *, const void *))strcmp);
    for (int k = 0; k < nn; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%.500s/%.255s", dir, names[k]);
        pt_buf b = {0};
        pt_err e = {0};
        if (pt_fs_read_all(path, &b, &e)) continue;
        corpus_add(&c, b.data, b.len);
        rename_ident(&b, "self", "this_one");
        rename_ident(&b, "return", "give_back");
        corpus_add(&c, b.data, b.len);
        pt_buf_free(&b);
    }
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    uint8_t *drop = malloc(c.n + 1);
    uint32_t *near = malloc(c.n * sizeof *near + 4);
    run_reference(&c, &p, drop, near);
    outcome o = run_engine(&c, &p, 1, 64);
    CHECK(same_outcome(&o, drop, near, c.n));
    CHECK(o.r.dropped > 0);
    pt_neardup_result_free(&o.r);
    free(drop), free(near);
    corpus_free(&c);
}

/* Token sets of n tokens "w<base+i>", i = 0..n-1. */
static void words(pt_buf *b, int from, int to) {
    pt_buf_clear(b);
    for (int i = from; i < to; i++) pt_buf_printf(b, NULL, "w%d ", i);
}

TEST(chain_and_threshold_edge) {
    /* Banding that makes every pair above ~0.5 a candidate, so the reduction is what is
     * tested: A = w0..w99, B = w4..w103 (J(A,B) = 96/104 = 0.923), C = w8..w107
     * (J(A,C) = 92/108 = 0.85185 >= 0.85, J(B,C) high): B and C are copies of A.
     * D = w1000..w1099, E = w1000..w1084: |D n E| = 85, |D u E| = 100 -> J = 0.85 exactly: E dropped.
     * F, G: 84/100 = 0.84: both kept. H, I, J: H ~ I (0.92), I ~ J (0.92), H !~ J (0.85-):
     * J(H,J) = 90/110 = 0.818 -> I dropped as a copy of H, J kept (walk in doc order). */
    corpus c = {0};
    pt_buf b = {0};
    words(&b, 0, 100), corpus_add(&c, b.data, b.len);       /* 0 A */
    words(&b, 4, 104), corpus_add(&c, b.data, b.len);       /* 1 B */
    words(&b, 8, 108), corpus_add(&c, b.data, b.len);       /* 2 C */
    words(&b, 1000, 1100), corpus_add(&c, b.data, b.len);   /* 3 D */
    words(&b, 1000, 1085), corpus_add(&c, b.data, b.len);   /* 4 E: 85 of D's 100 tokens */
    words(&b, 2000, 2092), corpus_add(&c, b.data, b.len);   /* 5 F */
    words(&b, 2008, 2100), corpus_add(&c, b.data, b.len);   /* 6 G: |F n G| = 84, |F u G| = 100 */
    words(&b, 3000, 3100), corpus_add(&c, b.data, b.len);   /* 7 H */
    words(&b, 3004, 3104), corpus_add(&c, b.data, b.len);   /* 8 I */
    words(&b, 3010, 3110), corpus_add(&c, b.data, b.len);   /* 9 J: |H n J| = 90, |H u J| = 110 */
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    p.bands = 64, p.rows = 2; /* candidates: 1 - (1 - J^2)^64, ~1 for J >= 0.5 */
    for (uint32_t index_min = 0; index_min <= 100; index_min += 100) {
        outcome o = run_engine(&c, &p, 2, index_min);
        if (!o.drop) break;
        uint8_t want_drop[10] = {0, 1, 1, 0, 1, 0, 0, 0, 1, 0};
        uint32_t want_near[10] = {2, 0, 0, 1, 0, 0, 0, 1, 0, 0};
        CHECK(!memcmp(o.drop, want_drop, 10));
        CHECK(!memcmp(o.near, want_near, sizeof want_near));
        CHECK_EQ_U64(o.r.dropped, 4);
        pt_neardup_result_free(&o.r);
    }
    pt_buf_free(&b);
    corpus_free(&c);
}

TEST(deterministic_across_threads_and_modes) {
    corpus c = {0};
    planted_corpus(&c, 40);
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    outcome a = run_engine(&c, &p, 1, UINT32_MAX); /* linear scan of representatives */
    outcome b = run_engine(&c, &p, 2, 0);          /* prefix-filter index everywhere */
    outcome d = run_engine(&c, &p, 2, 64);
    CHECK(a.drop && same_outcome(&b, a.drop, a.near, c.n) && same_outcome(&d, a.drop, a.near, c.n));
    CHECK(a.r.clusters == b.r.clusters && a.r.candidate_pairs == b.r.candidate_pairs);
    pt_neardup_result_free(&a.r), pt_neardup_result_free(&b.r), pt_neardup_result_free(&d.r);
    corpus_free(&c);
}

TEST(errors_and_edges) {
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    pt_err e = {0};
    pt_neardup *nd;
    CHECK(pt_neardup_open(&nd, &p, "/nonexistent/dir", &e) == PT_EIO);
    CHECK(strstr(e.msg, "/nonexistent/dir") != NULL);
    p.bands = 20; /* 20 x 19 > 256 */
    CHECK(pt_neardup_open(&nd, &p, "/tmp", &e) == PT_EUSAGE);
    pt_minhash_defaults(&p);
    CHECK_OK(pt_neardup_open(&nd, &p, "/tmp", &e), &e);
    uint32_t sig[256] = {0};
    CHECK_OK(pt_neardup_add(nd, 5, sig, &e), &e);
    CHECK(pt_neardup_add(nd, 5, sig, &e) == PT_EUSAGE); /* not increasing */
    CHECK_OK(pt_neardup_add(nd, 7, sig, &e), &e);
    pt_neardup_result r;
    CHECK(pt_neardup_run(nd, 7, get_text, NULL, 1, &r, &e) == PT_EUSAGE); /* doc 7 >= 7 */
    pt_neardup_close(nd);
    /* a getter that fails */
    CHECK_OK(pt_neardup_open(&nd, &p, "/tmp", &e), &e);
    corpus c = {0};
    CHECK_OK(pt_neardup_add(nd, 1, sig, &e), &e);
    CHECK_OK(pt_neardup_add(nd, 2, sig, &e), &e);
    CHECK(pt_neardup_run(nd, 3, get_text, &c, 2, &r, &e) == PT_EFORMAT);
    CHECK(strstr(e.msg, "document 1") != NULL);
    CHECK(r.drop == NULL);
    pt_neardup_close(nd);
    /* nothing added */
    CHECK_OK(pt_neardup_open(&nd, &p, "/tmp", &e), &e);
    CHECK_OK(pt_neardup_run(nd, 0, get_text, &c, 2, &r, &e), &e);
    CHECK(r.ndocs == 0 && r.clusters == 0 && r.dropped == 0);
    pt_neardup_result_free(&r);
    pt_neardup_close(nd);
}

/* Giant clusters: 10,000 near-identical license files (one representative: each member is
 * checked once), and a 2,000-document chain of sliding windows where every 4th document or
 * so becomes a representative (the prefix-filter index keeps the checks per member small). */
TEST(giant_clusters_stay_linear) {
    static const char *lic =
        "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and "
        "associated documentation files (the \"Software\"), to deal in the Software without restriction, including "
        "without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell "
        "copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the "
        "following conditions: The above copyright notice and this permission notice shall be included in all "
        "copies or substantial portions of the Software. THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF "
        "ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR "
        "A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE "
        "FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING "
        "FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n";
    corpus c = {0};
    pt_buf b = {0};
    for (int i = 0; i < 10000; i++) {
        pt_buf_clear(&b);
        pt_buf_printf(&b, NULL, "MIT License\n\nCopyright (c) %d Author%d\n\n%s", 1990 + i % 35, i, lic);
        corpus_add(&c, b.data, b.len);
    }
    pt_minhash_params p;
    pt_minhash_defaults(&p);
    double t0 = pt_now();
    outcome o = run_engine(&c, &p, 2, 64);
    double t1 = pt_now() - t0;
    if (o.drop) {
        CHECK_EQ_U64(o.r.largest_cluster, 10000);
        CHECK_EQ_U64(o.r.dropped, 9999);
        CHECK(o.r.jaccard_checks <= 10000);
        printf("  # 10000 license files: one cluster, %llu dropped, %llu Jaccard checks, run %.3f s (total %.2f s)\n",
               (unsigned long long)o.r.dropped, (unsigned long long)o.r.jaccard_checks, o.r.seconds, t1);
        pt_neardup_result_free(&o.r);
    }
    corpus_free(&c);
    /* the chain, with a banding that links every pair above J ~ 0.5 (the default banding
     * misses a link now and then and cuts the chain) */
    p.bands = 64, p.rows = 2;
    for (int i = 0; i < 2000; i++) {
        words(&b, 4 * i, 4 * i + 200);
        corpus_add(&c, b.data, b.len);
    }
    outcome lin = run_engine(&c, &p, 2, UINT32_MAX), idx = run_engine(&c, &p, 2, 32);
    if (lin.drop && idx.drop) {
        CHECK(same_outcome(&idx, lin.drop, lin.near, c.n));
        CHECK_EQ_U64(idx.r.largest_cluster, 2000);
        uint64_t reps = idx.r.docs_in_clusters - idx.r.dropped;
        CHECK(reps > 300);
        CHECK(idx.r.jaccard_checks < 20 * c.n); /* at most 32 before the index, a handful after */
        CHECK(lin.r.jaccard_checks > 10 * idx.r.jaccard_checks); /* what the index saves */
        printf("  # chain of %zu: cluster %llu, %llu representatives; Jaccard checks %llu indexed (run %.3f s), "
               "%llu linear (run %.3f s)\n",
               c.n, (unsigned long long)idx.r.largest_cluster, (unsigned long long)reps,
               (unsigned long long)idx.r.jaccard_checks, idx.r.seconds, (unsigned long long)lin.r.jaccard_checks,
               lin.r.seconds);
    }
    pt_neardup_result_free(&lin.r), pt_neardup_result_free(&idx.r);
    pt_buf_free(&b);
    corpus_free(&c);
}

int main(void) {
    RUN(planted_near_copies_match_reference);
    RUN(real_files_with_planted_copies);
    RUN(chain_and_threshold_edge);
    RUN(deterministic_across_threads_and_modes);
    RUN(errors_and_edges);
    RUN(giant_clusters_stay_linear);
    return TEST_DONE();
}
