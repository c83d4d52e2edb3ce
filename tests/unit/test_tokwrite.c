/* test_tokwrite.c - saving tokenizers (tok/tokwrite.h), decoding (tok/decode.h) and
 * encoding batches across threads (tok/encode_many.h).
 *
 * Round trips: GPT-2's tokenizer.json and the tiny one (add_prefix_space, an added <pad>)
 * saved by parrot load back with the same pt_bpe_hash, as tokenizer.json and as
 * vocab.json + merges.txt. decode(encode(x)) == x on random bytes (invalid UTF-8 included)
 * and on every committed text. pt_bpe_many gives pt_bpe_encode's ids in input order on 1
 * and 2 threads. Loading in Hugging Face tokenizers is checked by tests/e2e/tok_files.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "corpus/walk.h"
#include "test.h"
#include "tok/bpe.h"
#include "tok/decode.h"
#include "tok/encode_many.h"
#include "tok/tokfile.h"
#include "tok/tokwrite.h"

static char *data_path(const char *rel) {
    static char p[8][1100];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", pt_test_data(), rel);
    return p[k];
}

static pt_bpe *g_gpt2, *g_tiny;
static char g_tmp[256];

/* Every committed text: the CPython files, the tokenizer cases, the fixtures' READMEs. */
typedef struct texts {
    pt_buf *b;
    size_t n, cap;
} texts;
static texts g_texts;

static int add_text(void *ctx, const char *path, size_t root_len, pt_err *e) {
    texts *t = ctx;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->b = realloc(t->b, t->cap * sizeof *t->b);
    }
    t->b[t->n] = (pt_buf){0};
    PT_TRY(pt_fs_read_all(path, &t->b[t->n], e));
    t->n++;
    return 0;
}

static int hash_eq(pt_hash128 a, pt_hash128 b) { return !memcmp(&a, &b, sizeof a); }

static void roundtrip(pt_bpe *t, const char *name) {
    pt_err e = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/%s.json", g_tmp, name);
    CHECK_OK(pt_bpe_save_hf(t, path, &e), &e);
    pt_bpe *u = NULL;
    CHECK_OK(pt_bpe_load(&u, path, &e), &e);
    CHECK(u && hash_eq(pt_bpe_hash(t), pt_bpe_hash(u)));
    pt_bpe_free(u);
}

TEST(save_hf_roundtrip) {
    roundtrip(g_gpt2, "gpt2");
    roundtrip(g_tiny, "tiny");
    /* the file has what Hugging Face expects */
    pt_buf b = {0};
    pt_err e = {0};
    CHECK_OK(pt_bpe_to_hf_json(g_gpt2, &b, &e), &e);
    CHECK(strstr(b.data, "\"version\": \"1.0\""));
    CHECK(strstr(b.data, "{\"id\": 50256, \"content\": \"<|endoftext|>\", \"single_word\": false, \"lstrip\": false, "
                         "\"rstrip\": false, \"normalized\": false, \"special\": true}"));
    CHECK(strstr(b.data, "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                         "\"trim_offsets\": true, \"use_regex\": true}"));
    CHECK(strstr(b.data, "\"normalizer\": null"));
    CHECK(strstr(b.data, "\n      [\"Ġ\", \"t\"],\n")); /* GPT-2's first merge, as a pair */
    CHECK(strstr(b.data, "\"Ċ\": 198"));
    pt_buf_free(&b);
}

TEST(save_gpt2_files_roundtrip) {
    pt_err e = {0};
    char dir[512];
    snprintf(dir, sizeof dir, "%s/gpt2files", g_tmp);
    CHECK_OK(pt_fs_mkdir_p(dir, &e), &e);
    CHECK_OK(pt_bpe_save_gpt2_files(g_gpt2, dir, &e), &e);
    pt_bpe *u = NULL;
    CHECK_OK(pt_bpe_load(&u, dir, &e), &e);
    CHECK(u && hash_eq(pt_bpe_hash(g_gpt2), pt_bpe_hash(u)));
    pt_bpe_free(u);
    /* merges.txt: the version line first, a newline last, GPT-2's lines between */
    char *pm = pt_path_join(dir, "merges.txt");
    pt_buf m = {0}, orig = {0};
    CHECK_OK(pt_fs_read_all(pm, &m, &e), &e);
    CHECK_OK(pt_fs_read_all(data_path("gpt2/vocab.bpe"), &orig, &e), &e);
    CHECK(m.len > 20 && !memcmp(m.data, "#version: 0.2\n", 14) && m.data[m.len - 1] == '\n');
    const char *a = strchr(m.data, '\n'), *b = strchr(orig.data, '\n');
    size_t la = m.len - (size_t)(a - m.data), lb = orig.len - (size_t)(b - orig.data);
    while (lb && (b[lb - 1] == '\n')) lb--; /* vocab.bpe ends with a blank line */
    CHECK(la == lb + 1 && !memcmp(a, b, lb));
    free(pm);
    pt_buf_free(&m);
    pt_buf_free(&orig);
}

static int decodes_back(const pt_bpe *t, const char *s, size_t n, pt_bpe_scratch *sc) {
    uint32_t *ids = malloc((n + 2) * sizeof *ids);
    size_t k = pt_bpe_encode(t, s, n, ids, n + 2, sc);
    pt_buf b = {0};
    pt_err e = {0};
    /* add_prefix_space (the tiny tokenizer) encodes text as if a space led it */
    size_t sp = pt_bpe_get_options(t).add_prefix_space && n && s[0] != ' ';
    int ok = k <= n + sp && !pt_bpe_decode(t, ids, k, &b, &e) && b.len == n + sp && (!sp || b.data[0] == ' ') &&
             (!n || !memcmp(b.data + sp, s, n));
    pt_buf_free(&b);
    free(ids);
    return ok;
}

TEST(decode_inverts_encode) {
    pt_bpe_scratch *sc = pt_bpe_scratch_new();
    uint64_t x = 88172645463325252ull;
    char s[300];
    int bad = 0;
    for (int i = 0; i < 5000; i++) {
        size_t n = (size_t)(x % 300);
        for (size_t j = 0; j < n; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* half the strings draw from bytes that make code-like text, half from all 256 */
            s[j] = (i & 1) ? (char)(x >> 24) : " \n\t'aZ09é€😀#=("[(x >> 24) % 16];
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int b1 = !decodes_back(g_gpt2, s, n, sc), b2 = !decodes_back(g_tiny, s, n, sc);
        if ((b1 || b2) && bad < 3) {
            printf("  %d %d:", b1, b2);
            for (size_t j = 0; j < n; j++) printf(" %02x", (unsigned char)s[j]);
            printf("\n");
        }
        bad += b1 + b2;
    }
    CHECK_EQ_U64(bad, 0);
    CHECK(g_texts.n >= 20);
    for (size_t i = 0; i < g_texts.n; i++) {
        CHECK(decodes_back(g_gpt2, g_texts.b[i].data, g_texts.b[i].len, sc));
        CHECK(decodes_back(g_tiny, g_texts.b[i].data, g_texts.b[i].len, sc));
    }
    pt_bpe_scratch_free(sc);
}

TEST(decode_errors) {
    pt_buf b = {0};
    pt_err e = {0};
    uint32_t ids[] = {31373, 50256, 50257};
    CHECK(pt_bpe_decode(g_gpt2, ids, 2, &b, &e) == PT_OK && !strcmp(b.data, "hello<|endoftext|>"));
    pt_buf_clear(&b);
    CHECK(pt_bpe_decode(g_gpt2, ids, 3, &b, &e) == PT_EFORMAT && strstr(e.msg, "token id 50257 at position 2") &&
          strstr(e.msg, "50257)"));
    pt_buf_free(&b);
}

/* The batch API gives each document's pt_bpe_encode ids, in order, on any thread count. */
TEST(encode_many_in_order) {
    pt_err e = {0};
    pt_bpe_scratch *sc = pt_bpe_scratch_new();
    pt_bpe_text *docs = calloc(g_texts.n, sizeof *docs);
    for (size_t i = 0; i < g_texts.n; i++) docs[i] = (pt_bpe_text){g_texts.b[i].data, g_texts.b[i].len};
    for (int run = 0; run < 4; run++) { /* GPT-2, then the tiny one (add_prefix_space), each on 1 and 2 threads */
        int threads = 1 + (run & 1);
        const pt_bpe *t = run < 2 ? g_gpt2 : g_tiny;
        pt_bpe_many *m = pt_bpe_many_new(t, threads, 0, &e);
        CHECK(m != NULL);
        pt_bpe_ids r = {0};
        for (int round = 0; round < 2 && m; round++) { /* twice: the result is reused, the caches warm */
            CHECK_OK(pt_bpe_many_encode(m, docs, g_texts.n, &r, &e), &e);
            CHECK_EQ_U64(r.n, g_texts.n);
            int bad = 0;
            for (size_t i = 0; i < g_texts.n && r.n == g_texts.n; i++) {
                size_t n = docs[i].len;
                uint32_t *want = malloc((n + 2) * sizeof *want);
                size_t k = pt_bpe_encode(t, docs[i].text, n, want, n + 2, sc);
                bad += k != r.off[i + 1] - r.off[i] || memcmp(want, r.ids + r.off[i], k * sizeof *want);
                free(want);
            }
            CHECK_EQ_U64(bad, 0);
        }
        CHECK_OK(pt_bpe_many_encode(m, docs, 0, &r, &e), &e);
        CHECK(r.n == 0 && r.off[0] == 0);
        pt_bpe_ids_free(&r);
        pt_bpe_many_free(m);
    }
    free(docs);
    pt_bpe_scratch_free(sc);
}

TEST(encode_many_special) {
    pt_err e = {0};
    const char *s = "a<|endoftext|><|endoftext|> b<|endoftext";
    pt_bpe_many *plain = pt_bpe_many_new(g_gpt2, 1, 0, &e), *sp = pt_bpe_many_new(g_gpt2, 2, PT_BPE_MANY_SPECIAL, &e);
    uint32_t ids[64];
    size_t k = pt_bpe_many_encode_one(sp, s, strlen(s), ids, 64);
    /* a, <|endoftext|> twice, " b", then the unfinished one as plain text */
    CHECK(k >= 5 && ids[0] == 64 && ids[1] == 50256 && ids[2] == 50256 && ids[3] == 275 && ids[4] != 50256);
    size_t k2 = pt_bpe_many_encode_one(plain, s, strlen(s), ids, 64);
    int has = 0;
    for (size_t i = 0; i < k2; i++) has |= ids[i] == 50256;
    CHECK(!has);
    /* the tiny tokenizer's <pad> (id 1) too */
    pt_bpe_many *tp = pt_bpe_many_new(g_tiny, 1, PT_BPE_MANY_SPECIAL, &e);
    k = pt_bpe_many_encode_one(tp, "<pad><|endoftext|>", 18, ids, 64);
    CHECK(k == 2 && ids[0] == 1 && ids[1] == 0);
    pt_bpe_many_free(tp);
    pt_bpe_many_free(plain);
    pt_bpe_many_free(sp);
}

/* Cutting a text at pt_bpe_safe_cuts and encoding the parts gives the ids of the whole. */
TEST(safe_cuts) {
    pt_bpe_scratch *sc = pt_bpe_scratch_new();
    pt_buf all = {0};
    pt_err e = {0};
    for (size_t i = 0; i < g_texts.n; i++) CHECK_OK(pt_buf_append(&all, g_texts.b[i].data, g_texts.b[i].len, &e), &e);
    size_t cuts[4096];
    size_t nc = pt_bpe_safe_cuts(all.data, all.len, 997, cuts, 4096);
    CHECK(nc > 100);
    uint32_t *whole = malloc(all.len * sizeof *whole), *parts = malloc(all.len * sizeof *parts);
    size_t kw = pt_bpe_encode(g_gpt2, all.data, all.len, whole, all.len, sc), kp = 0, from = 0;
    for (size_t i = 0; i <= nc; i++) {
        size_t to = i < nc ? cuts[i] : all.len;
        CHECK(to > from);
        kp += pt_bpe_encode(g_gpt2, all.data + from, to - from, parts + kp, all.len - kp, sc);
        from = to;
    }
    CHECK(kw == kp && !memcmp(whole, parts, kw * sizeof *whole));
    for (size_t i = 0; i < kw && i < kp; i++)
        if (whole[i] != parts[i]) {
            printf("  first difference at id %zu: %u vs %u\n", i, whole[i], parts[i]);
            break;
        }
    free(whole);
    free(parts);
    pt_buf_free(&all);
    pt_bpe_scratch_free(sc);
}

/* `test_tokwrite --save hf|gpt2 SRC OUT`: loads SRC and saves it as OUT (a tokenizer.json, or a
 * folder for vocab.json + merges.txt), for tests/e2e/tok_files.sh. */
static int save_main(int argc, char **argv) {
    pt_err e = {0};
    pt_bpe *t = NULL;
    if (argc != 5) return fprintf(stderr, "usage: test_tokwrite --save hf|gpt2 SRC OUT\n"), 2;
    int rc = pt_bpe_load(&t, argv[3], &e);
    if (!rc) rc = !strcmp(argv[2], "hf") ? pt_bpe_save_hf(t, argv[4], &e) : pt_bpe_save_gpt2_files(t, argv[4], &e);
    if (rc) fprintf(stderr, "test_tokwrite: %s\n", e.msg);
    pt_bpe_free(t);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--save")) return save_main(argc, argv);
    pt_err e = {0};
    if (pt_bpe_load(&g_gpt2, data_path("tok/gpt2-tokenizer.json"), &e) ||
        pt_bpe_load(&g_tiny, data_path("tok/tiny-tokenizer.json"), &e)) {
        printf("FAIL load: %s\n", e.msg);
        return 1;
    }
    snprintf(g_tmp, sizeof g_tmp, "/tmp/pt_tokwrite_%d", (int)getpid());
    const char *exts[] = {".py", ".txt", ".md"};
    pt_walk_stats ws;
    if (pt_fs_mkdir_p(g_tmp, &e) || pt_walk(pt_test_data(), exts, 3, add_text, NULL, &g_texts, &ws, &e)) {
        printf("FAIL setup: %s\n", e.msg);
        return 1;
    }
    RUN(save_hf_roundtrip);
    RUN(save_gpt2_files_roundtrip);
    RUN(decode_inverts_encode);
    RUN(decode_errors);
    RUN(encode_many_in_order);
    RUN(encode_many_special);
    RUN(safe_cuts);
    pt_fs_rm_rf(g_tmp, &e);
    for (size_t i = 0; i < g_texts.n; i++) pt_buf_free(&g_texts.b[i]);
    free(g_texts.b);
    pt_bpe_free(g_gpt2);
    pt_bpe_free(g_tiny);
    return TEST_DONE();
}
