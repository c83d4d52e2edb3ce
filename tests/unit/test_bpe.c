/* test_bpe.c - byte-level BPE: loading both file formats, ids equal to tiktoken's gpt2 and to
 * Hugging Face tokenizers (fixtures of tools/make_tok_fixture.py), the fast merge paths and
 * the cache against the reference loop, and clear errors for bad files.
 *
 * Run with arguments it is also the encoder driver that tests/e2e/tok_tiktoken.sh and
 * tools/bench_tok.py compare with tiktoken (until `parrot tokenizer` exists):
 *     test_bpe --encode [-r REPEAT] TOKENIZER IDS_OUT (-l LISTFILE | FILE...)
 * encodes each file (all read first) on one thread with a fresh scratch per pass, writes
 * per file a u32 count and the u32 ids (little-endian) to IDS_OUT, and prints
 * "files F bytes B tokens T seconds S MB/s X cpu_seconds C cpu_MB/s Y" for the fastest of
 * REPEAT passes (wall-clock and this thread's CPU time). */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "test.h"
#include "tok/bpe.h"
#include "tok/pretok.h"
#include "tok/tokfile.h"

static char *data_path(const char *rel) {
    static char p[8][1100];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", pt_test_data(), rel);
    return p[k];
}

/* Loaded once: GPT-2 from encoder.json + vocab.bpe and from tokenizer.json, the tiny one. */
static pt_bpe *g_gpt2, *g_gpt2_hf, *g_tiny, *g_tiny_im;

static pt_bpe *load_patched(const char *rel, const char *from, const char *to) {
    pt_buf b = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(data_path(rel), &b, &e), &e);
    char *at = b.data ? strstr(b.data, from) : NULL;
    CHECK(at != NULL);
    pt_buf o = {0};
    if (at) {
        pt_buf_append(&o, b.data, (size_t)(at - b.data), NULL);
        pt_buf_append(&o, to, strlen(to), NULL);
        pt_buf_append(&o, at + strlen(from), b.len - (size_t)(at - b.data) - strlen(from), NULL);
    }
    pt_bpe *t = NULL;
    CHECK_OK(pt_bpe_load_hf_mem(&t, o.data, o.len, rel, &e), &e);
    pt_buf_free(&b);
    pt_buf_free(&o);
    return t;
}

TEST(byte_alphabet) {
    CHECK_EQ_U64(pt_bpe_byte_char(' '), 0x120);
    CHECK_EQ_U64(pt_bpe_byte_char('\n'), 0x10A);
    CHECK_EQ_U64(pt_bpe_byte_char('a'), 'a');
    CHECK_EQ_U64(pt_bpe_byte_char(0x7F), 0x121);
    CHECK_EQ_U64(pt_bpe_byte_char(0xA0), 0x142);
    CHECK_EQ_U64(pt_bpe_byte_char(0xAD), 0x143);
    CHECK_EQ_U64(pt_bpe_byte_char(0xE9), 0xE9);
    int seen[0x144] = {0};
    for (unsigned b = 0; b < 256; b++) {
        unsigned char in = (unsigned char)b, back[4];
        char s[4];
        size_t n = pt_bpe_map(&in, 1, s);
        CHECK(pt_bpe_byte_char(b) < 0x144 && !seen[pt_bpe_byte_char(b)]++);
        CHECK(pt_bpe_unmap(s, n, back) == 1 && back[0] == b);
    }
    unsigned char out[8];
    CHECK(pt_bpe_unmap(" ", 1, out) == -1);          /* a literal space is not in the alphabet */
    CHECK(pt_bpe_unmap("\xc5\x84", 2, out) == -1);   /* U+0144, one past the last */
    CHECK(pt_bpe_unmap("\xc4\xa0t", 3, out) == 2 && out[0] == ' ' && out[1] == 't');
    CHECK(pt_bpe_unmap("\xc4", 1, out) == -1);       /* not UTF-8 */
}

TEST(load_gpt2_both_formats) {
    pt_err e = {0};
    CHECK_OK(pt_bpe_load(&g_gpt2, data_path("gpt2"), &e), &e);
    CHECK_OK(pt_bpe_load(&g_gpt2_hf, data_path("tok/gpt2-tokenizer.json"), &e), &e);
    CHECK_OK(pt_bpe_load(&g_tiny, data_path("tok/tiny-tokenizer.json"), &e), &e);
    g_tiny_im = load_patched("tok/tiny-tokenizer.json", "\"ignore_merges\":false", "\"ignore_merges\":true");
    if (!g_gpt2 || !g_gpt2_hf || !g_tiny || !g_tiny_im) return;
    CHECK_EQ_U64(pt_bpe_vocab_size(g_gpt2), 50257);
    CHECK_EQ_U64(pt_bpe_merge_count(g_gpt2), 50000);
    CHECK_EQ_U64(pt_bpe_vocab_size(g_gpt2_hf), 50257);
    CHECK_EQ_U64(pt_bpe_merge_count(g_gpt2_hf), 50000);
    pt_hash128 a = pt_bpe_hash(g_gpt2), b = pt_bpe_hash(g_gpt2_hf), c = pt_bpe_hash(g_tiny), d = pt_bpe_hash(g_tiny_im);
    CHECK(a.lo == b.lo && a.hi == b.hi); /* the same tokenizer whatever the file format */
    CHECK(a.lo != c.lo && c.lo != d.lo);
    size_t len;
    unsigned flags;
    const unsigned char *tok = pt_bpe_token(g_gpt2, 50256, &len, &flags);
    CHECK(tok && len == 13 && !memcmp(tok, "<|endoftext|>", 13));
    CHECK(flags == (PT_BPE_TOKEN_ADDED | PT_BPE_TOKEN_SPECIAL));
    CHECK(pt_bpe_token(g_gpt2, 50257, NULL, NULL) == NULL);
    CHECK_EQ_U64(pt_bpe_lookup(g_gpt2, " the", 4), 262);
    uint32_t l, r, m;
    CHECK(pt_bpe_merge(g_gpt2, 0, &l, &r, &m) == 0); /* "Ġ t" */
    CHECK(l == pt_bpe_lookup(g_gpt2, " ", 1) && r == pt_bpe_lookup(g_gpt2, "t", 1) && m == pt_bpe_lookup(g_gpt2, " t", 2));
    CHECK(pt_bpe_merge(g_gpt2, 50000, NULL, NULL, NULL) == -1);
    CHECK(!pt_bpe_get_options(g_gpt2).add_prefix_space && pt_bpe_get_options(g_tiny).add_prefix_space);
    CHECK(pt_bpe_get_options(g_tiny_im).ignore_merges && !pt_bpe_get_options(g_tiny).ignore_merges);
    /* the tiny tokenizer: specials at 0 and 1, a vocabulary string outside the byte alphabet */
    CHECK(pt_bpe_token(g_tiny, 1, &len, &flags) && len == 5 && (flags & PT_BPE_TOKEN_SPECIAL));
    CHECK(pt_bpe_token(g_tiny, pt_bpe_vocab_size(g_tiny) - 1, &len, &flags) && len == 8 && flags == PT_BPE_TOKEN_TEXT);
    CHECK_EQ_U64(pt_bpe_lookup(g_tiny, "raw text", 8), PT_BPE_NONE);
}

static int unhex(const char *h, size_t n, pt_buf *out) {
    if (n % 2) return -1;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (sscanf(h + i, "%2x", &v) != 1 || pt_buf_putc(out, (char)v, NULL)) return -1;
    }
    return 0;
}

/* Encodes text with t and compares with want[0..nw); prints the first difference. */
static int same_ids(const pt_bpe *t, const char *text, size_t n, const uint32_t *want, size_t nw, pt_bpe_scratch *s,
                    const char *what) {
    size_t cap = nw + 8;
    uint32_t *got = malloc(cap * sizeof *got);
    size_t k = pt_bpe_encode(t, text, n, got, cap, s);
    int ok = k == nw && !memcmp(got, want, nw * sizeof *want) && pt_bpe_count(t, text, n, s) == nw;
    if (!ok) {
        size_t i = 0;
        while (i < k && i < nw && got[i] == want[i]) i++;
        printf("  %s: %zu ids, expected %zu; first difference at %zu: %d vs %d\n", what, k, nw, i,
               i < k ? (int)got[i] : -1, i < nw ? (int)want[i] : -1);
    }
    free(got);
    return ok;
}

TEST(fixture_cases) {
    if (!g_gpt2 || !g_gpt2_hf || !g_tiny || !g_tiny_im) {
        CHECK(0);
        return;
    }
    pt_buf f = {0}, text = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(data_path("tok/cases.txt"), &f, &e), &e);
    pt_bpe_scratch *s = pt_bpe_scratch_new();
    size_t n[3] = {0}, bad = 0, cap = 4096;
    uint32_t *want = malloc(cap * sizeof *want);
    for (char *line = f.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (*line == '#') continue;
        char *f1 = strchr(line, '\t'), *f2 = f1 ? strchr(f1 + 1, '\t') : NULL, *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
        if (!f3) {
            CHECK(f3 != NULL);
            break;
        }
        *f1 = *f2 = *f3 = 0;
        pt_buf_clear(&text);
        CHECK(unhex(f1 + 1, strlen(f1 + 1), &text) == 0);
        size_t nw = 0;
        for (char *q = f3 + 1, *end; *q; q = end) {
            unsigned long v = strtoul(q, &end, 10);
            if (end == q) break;
            if (nw < cap) want[nw++] = (uint32_t)v;
        }
        const char *tx = text.data ? text.data : "";
        int ok;
        if (!strcmp(line, "gpt2")) {
            ok = same_ids(g_gpt2, tx, text.len, want, nw, s, "encoder.json") &&
                 same_ids(g_gpt2_hf, tx, text.len, want, nw, s, "tokenizer.json");
            /* truncation: the first cap ids, the full count */
            uint32_t few[2] = {PT_BPE_NONE, PT_BPE_NONE};
            size_t k = pt_bpe_encode(g_gpt2, tx, text.len, few, 1, s);
            ok = ok && k == nw && (nw == 0 || few[0] == want[0]) && few[1] == PT_BPE_NONE;
            n[0]++;
        } else if (!strcmp(line, "tiny")) {
            ok = same_ids(g_tiny, tx, text.len, want, nw, s, "tiny");
            n[1]++;
        } else {
            ok = same_ids(g_tiny_im, tx, text.len, want, nw, s, "tiny ignore_merges");
            n[2]++;
        }
        if (!ok && bad++ < 5) printf("  %s: text %s\n", line, f1 + 1);
    }
    CHECK(n[0] > 350 && n[1] > 300 && n[2] > 300);
    CHECK_EQ_U64(bad, 0);
    free(want);
    pt_bpe_scratch_free(s);
    pt_buf_free(&f);
    pt_buf_free(&text);
}

/* tiktoken's ids of every file under tests/data/cpython/Lib (cpython-gpt2-ids.bin). */
TEST(cpython_files) {
    if (!g_gpt2) {
        CHECK(0);
        return;
    }
    pt_buf f = {0}, src = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(data_path("tok/cpython-gpt2-ids.bin"), &f, &e), &e);
    const unsigned char *p = (const unsigned char *)f.data, *end = p + f.len;
    CHECK(f.len > 12 && !memcmp(p, "PTTOKID1", 8));
    if (f.len <= 12) return;
    uint32_t nfiles;
    memcpy(&nfiles, p + 8, 4);
    p += 12;
    pt_bpe_scratch *s = pt_bpe_scratch_new();
    size_t total = 0, bytes = 0;
    double secs = 0;
    for (uint32_t i = 0; i < nfiles && p + 2 <= end; i++) {
        uint16_t pl;
        memcpy(&pl, p, 2);
        char rel[600];
        snprintf(rel, sizeof rel, "cpython/Lib/%.*s", (int)pl, (const char *)p + 2);
        p += 2 + pl;
        uint32_t nids;
        memcpy(&nids, p, 4);
        p += 4;
        CHECK(p + 2 * (size_t)nids <= end);
        if (p + 2 * (size_t)nids > end) break;
        uint32_t *want = malloc(((size_t)nids + 1) * sizeof *want);
        for (uint32_t k = 0; k < nids; k++) want[k] = (uint32_t)p[2 * k] | (uint32_t)p[2 * k + 1] << 8;
        p += 2 * (size_t)nids;
        pt_buf_clear(&src);
        CHECK_OK(pt_fs_read_all(data_path(rel), &src, &e), &e);
        double t0 = pt_now();
        if (!same_ids(g_gpt2, src.data, src.len, want, nids, s, rel)) CHECK(0);
        secs += pt_now() - t0;
        CHECK(same_ids(g_gpt2_hf, src.data, src.len, want, nids, s, rel));
        total += nids;
        bytes += src.len;
        free(want);
    }
    CHECK_EQ_U64(nfiles, 23);
    printf("  %u files, %zu bytes, %zu ids (%.2f bytes a token); encode + count %.1f MB/s\n", nfiles, bytes, total,
           (double)bytes / (double)(total ? total : 1), 2 * (double)bytes / 1e6 / (secs > 0 ? secs : 1e-9));
    pt_bpe_scratch_free(s);
    pt_buf_free(&f);
    pt_buf_free(&src);
}

/* pt_bpe_encode_piece (scan, heap, cache) equals the reference loop on pieces of every
 * length, built from bytes that merge a lot, and on pieces of real code. */
static int piece_matches(const pt_bpe *t, const void *p, size_t m, pt_bpe_scratch *s) {
    uint32_t *a = malloc((m + 1) * sizeof *a), *b = malloc((m + 1) * sizeof *b);
    size_t na = pt_bpe_encode_piece(t, p, m, a, m + 1, s), nb = pt_bpe_encode_piece_ref(t, p, m, b, m + 1);
    int ok = na == nb && na <= m && !memcmp(a, b, na * sizeof *a);
    /* and the ids spell the piece */
    size_t off = 0;
    for (size_t i = 0; ok && i < na; i++) {
        size_t len;
        const unsigned char *tok = pt_bpe_token(t, a[i], &len, NULL);
        ok = tok && off + len <= m && !memcmp((const unsigned char *)p + off, tok, len);
        off += len;
    }
    ok = ok && off == m;
    free(a);
    free(b);
    return ok;
}

TEST(fast_paths_match_reference) {
    if (!g_gpt2 || !g_tiny_im) {
        CHECK(0);
        return;
    }
    static const char *const atoms[] = {"e", "t", "a", "n", " ", "=", "-", "\n", "in", "th", "er", "\xc3\xa9", "\xff",
                                        "0", "#", "  "};
    pt_bpe_scratch *s = pt_bpe_scratch_new();
    uint64_t r = 99;
    char buf[2048];
    int bad = 0;
    for (int iter = 0; iter < 4000; iter++) {
        size_t n = 0, want = (size_t)(pt_mix64(r++) % (iter < 3000 ? 80 : 1500)) + 1;
        int natoms = (int)(pt_mix64(r++) % 16) + 1; /* few atoms: long repeats, many merges */
        while (n < want) {
            const char *a = atoms[pt_mix64(r++) % (size_t)natoms];
            size_t l = strlen(a);
            if (n + l > sizeof buf) break;
            memcpy(buf + n, a, l);
            n += l;
        }
        if (!piece_matches(g_gpt2, buf, n, s) || !piece_matches(g_tiny_im, buf, n, s)) bad++;
    }
    static const char *const runs[] = {"=", " ", "\n", "ab", "\xe2\x94\x80", "0"};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        size_t l = strlen(runs[i]), n = 0;
        while (n + l <= sizeof buf) memcpy(buf + n, runs[i], l), n += l;
        if (!piece_matches(g_gpt2, buf, n, s)) bad++;
    }
    CHECK_EQ_U64(bad, 0);
    pt_bpe_scratch_free(s);
}

/* The cache: more distinct pieces than it holds (flushes), and one scratch for two
 * tokenizers in turn. */
TEST(cache_flush_and_owner) {
    if (!g_gpt2 || !g_tiny) {
        CHECK(0);
        return;
    }
    pt_bpe_scratch *s = pt_bpe_scratch_new(), *fresh = pt_bpe_scratch_new();
    char w[32];
    int bad = 0;
    for (uint32_t i = 0; i < 80000; i++) {
        int n = snprintf(w, sizeof w, " id%xq%u", (unsigned)(pt_mix64(i) & 0xFFFFFF), i % 7);
        uint32_t a[32], b[32];
        size_t na = pt_bpe_encode(g_gpt2, w, (size_t)n, a, 32, s);
        size_t nb = pt_bpe_encode(g_gpt2, w, (size_t)n, b, 32, s); /* now from the cache */
        if (na != nb || memcmp(a, b, na * 4)) bad++;
        if (i % 1000 == 0) {
            size_t nc = pt_bpe_encode(g_tiny, w, (size_t)n, b, 32, s), nd = pt_bpe_encode(g_tiny, w, (size_t)n, a, 32, fresh);
            if (nc != nd || memcmp(a, b, nc * 4)) bad++;
        }
    }
    CHECK_EQ_U64(bad, 0);
    pt_bpe_scratch_free(s);
    pt_bpe_scratch_free(fresh);
}

/* Every bad file is refused with a message naming the file and the problem. */
TEST(bad_files) {
    static const struct {
        const char *json, *want;
    } k[] = {
        {"{", "malformed JSON"},
        {"[]", "not a JSON object"},
        {"{\"a\": 1, \"b\": 2}", "GPT-2's encoder.json"},
        {"{\"version\": \"1.0\"}", "no \"model\""},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "only BPE"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [], \"dropout\": 0.1}, \"pre_tokenizer\": "
         "{\"type\": \"ByteLevel\"}}", "dropout"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Whitespace\"}}",
         "\"Whitespace\"; only ByteLevel"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "pre_tokenizer is null"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"normalizer\": {\"type\": \"NFC\"}, "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", "normalizer \"NFC\""},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"ByteLevel\", "
         "\"use_regex\": false}}", "use_regex false"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
         "model.vocab is missing"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}, \"pre_tokenizer\": {\"type\": "
         "\"ByteLevel\"}}", "model.vocab[\"a\"]: the id must be an integer"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1, \"b\": 1}, \"merges\": []}, \"pre_tokenizer\": "
         "{\"type\": \"ByteLevel\"}}", "model.vocab[\"b\"]: token id 1 appears twice"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]}, \"pre_tokenizer\": "
         "{\"type\": \"ByteLevel\"}}", "model.merges[0]: \"c\" is not a byte-level token"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [[\"a\", \"b\"]]}, "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", "the merge \"a\" + \"b\" makes no token"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a  b\"]}, \"pre_tokenizer\": "
         "{\"type\": \"ByteLevel\"}}", "not two tokens separated by one space"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [7]}, \"pre_tokenizer\": "
         "{\"type\": \"ByteLevel\"}}", "a merge is a string"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": []}, \"pre_tokenizer\": "
         "{\"type\": \"ByteLevel\"}}", "no token for byte 0x00"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"id\": 0, "
         "\"content\": \"x\"}], \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", "added_tokens[0] \"x\": added token id 0 differs"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"id\": \"0\"}], "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", "added_tokens[0]: needs an integer"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 4194304}, \"merges\": []}, \"pre_tokenizer\": "
         "{\"type\": \"ByteLevel\"}}", "the id must be an integer in 0..4194303"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        pt_bpe *t = (pt_bpe *)1;
        pt_err e = {0};
        int rc = pt_bpe_load_hf_mem(&t, k[i].json, strlen(k[i].json), "bad.json", &e);
        CHECK(rc == PT_EFORMAT && t == NULL);
        if (strncmp(e.msg, "bad.json: ", 10) || !strstr(e.msg, k[i].want)) {
            printf("  case %zu: message \"%s\" lacks \"%s\"\n", i, e.msg, k[i].want);
            CHECK(0);
        }
    }
    /* GPT-2's pair: bad merges lines name the file and line */
    pt_buf enc = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(data_path("gpt2/encoder.json"), &enc, &e), &e);
    static const struct {
        const char *merges, *want;
    } m[] = {
        {"#version: 0.2\n\xc4\xa0 t\nbad\n", "vocab.bpe:3: \"bad\" is not two tokens"},
        {"#version: 0.2\n\xc4\xa0 zzzz\n", "vocab.bpe:2: \"zzzz\" is not a byte-level token of encoder.json"},
        {"#version: 0.2\nq x\n", "vocab.bpe:2: the merge \"q\" + \"x\" makes no token of encoder.json"},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        pt_bpe *t = NULL;
        int rc = pt_bpe_load_gpt2_mem(&t, enc.data, enc.len, "encoder.json", m[i].merges, strlen(m[i].merges),
                                      "vocab.bpe", &e);
        CHECK(rc == PT_EFORMAT && t == NULL);
        if (!strstr(e.msg, m[i].want)) {
            printf("  merges case %zu: message \"%s\" lacks \"%s\"\n", i, e.msg, m[i].want);
            CHECK(0);
        }
    }
    pt_bpe *t = NULL;
    CHECK(pt_bpe_load_gpt2_mem(&t, "[1]", 3, "encoder.json", "", 0, "vocab.bpe", &e) == PT_EFORMAT);
    CHECK(strstr(e.msg, "encoder.json: not a JSON object") != NULL);
    /* a CRLF merges file with no #version line loads the same merges */
    pt_buf_free(&enc);
    /* paths: a missing file, a directory with no tokenizer, encoder.json passed as a file */
    CHECK(pt_bpe_load(&t, "/nonexistent/tok.json", &e) == PT_EIO && strstr(e.msg, "/nonexistent/tok.json"));
    CHECK(pt_bpe_load(&t, data_path("cpython"), &e) == PT_EIO && strstr(e.msg, "expected tokenizer.json"));
    CHECK(pt_bpe_load(&t, data_path("gpt2/encoder.json"), &e) == PT_EFORMAT && strstr(e.msg, "pass the directory"));
}

TEST(merges_text_variants) {
    /* CRLF line ends, no "#version" line, and no final newline give the same tokenizer */
    pt_buf enc = {0}, mer = {0}, crlf = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(data_path("gpt2/encoder.json"), &enc, &e), &e);
    CHECK_OK(pt_fs_read_all(data_path("gpt2/vocab.bpe"), &mer, &e), &e);
    if (!g_gpt2 || !mer.len) {
        CHECK(0);
        return;
    }
    const char *body = strchr(mer.data, '\n') + 1;
    for (const char *p = body; p < mer.data + mer.len; p++) {
        if (*p == '\n') pt_buf_putc(&crlf, '\r', NULL);
        if (*p != '\n' || p + 1 < mer.data + mer.len) pt_buf_putc(&crlf, *p, NULL);
    }
    pt_bpe *t = NULL;
    CHECK_OK(pt_bpe_load_gpt2_mem(&t, enc.data, enc.len, "encoder.json", crlf.data, crlf.len, "vocab.bpe", &e), &e);
    if (t) {
        pt_hash128 a = pt_bpe_hash(t), b = pt_bpe_hash(g_gpt2);
        CHECK(a.lo == b.lo && a.hi == b.hi);
    }
    pt_bpe_free(t);
    pt_buf_free(&enc);
    pt_buf_free(&mer);
    pt_buf_free(&crlf);
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int encode_main(int argc, char **argv) {
    int repeat = 1, a = 2;
    if (a + 1 < argc && !strcmp(argv[a], "-r")) repeat = atoi(argv[a + 1]), a += 2;
    if (argc - a < 3 || repeat < 1) {
        fprintf(stderr, "usage: test_bpe --encode [-r REPEAT] TOKENIZER IDS_OUT (-l LISTFILE | FILE...)\n");
        return 2;
    }
    pt_err e = {0};
    pt_bpe *t = NULL;
    if (pt_bpe_load(&t, argv[a], &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    const char *out_path = argv[a + 1];
    pt_buf list = {0};
    char **names = argv + a + 2;
    size_t nf = (size_t)(argc - a - 2);
    if (!strcmp(names[0], "-l") && nf == 2) { /* one path a line */
        if (pt_fs_read_all(names[1], &list, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
        nf = 0;
        names = malloc((list.len + 1) * sizeof *names);
        for (char *p = list.data, *nl; p && *p; p = nl + 1) {
            if (!(nl = strchr(p, '\n'))) nl = p + strlen(p) - 1;
            else *nl = 0;
            if (*p) names[nf++] = p;
        }
    }
    pt_buf *text = calloc(nf, sizeof *text);
    size_t bytes = 0, tokens = 0;
    for (size_t i = 0; i < nf; i++) {
        if (pt_fs_read_all(names[i], &text[i], &e)) return fprintf(stderr, "%s\n", e.msg), 1;
        bytes += text[i].len;
    }
    uint32_t *ids = NULL;
    size_t cap = 0;
    double best = 1e30, best_cpu = 1e30;
    pt_afile f;
    for (int r = 0; r < repeat; r++) {
        int last = r == repeat - 1;
        if (last && pt_afile_open(&f, out_path, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
        pt_bpe_scratch *s = pt_bpe_scratch_new();
        double secs = 0, cpu = 0;
        tokens = 0;
        for (size_t i = 0; i < nf; i++) {
            if (cap < text[i].len + 1) ids = realloc(ids, (cap = text[i].len + 1) * sizeof *ids);
            double t0 = pt_now(), c0 = cpu_now();
            size_t n = pt_bpe_encode(t, text[i].data ? text[i].data : "", text[i].len, ids, cap, s);
            secs += pt_now() - t0;
            cpu += cpu_now() - c0;
            if (n == (size_t)-1) return fprintf(stderr, "out of memory\n"), 1;
            tokens += n;
            uint32_t n32 = (uint32_t)n;
            if (last && (pt_afile_write(&f, &n32, 4, &e) || pt_afile_write(&f, ids, n * 4, &e)))
                return fprintf(stderr, "%s\n", e.msg), 1;
        }
        pt_bpe_scratch_free(s);
        if (secs < best) best = secs;
        if (cpu < best_cpu) best_cpu = cpu;
    }
    f.nosync = 1;
    if (pt_afile_commit(&f, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    printf("files %zu bytes %zu tokens %zu seconds %.4f MB/s %.2f cpu_seconds %.4f cpu_MB/s %.2f\n", nf, bytes, tokens,
           best, (double)bytes / 1e6 / (best > 0 ? best : 1e-9), best_cpu, (double)bytes / 1e6 / (best_cpu > 0 ? best_cpu : 1e-9));
    for (size_t i = 0; i < nf; i++) pt_buf_free(&text[i]);
    free(text);
    free(ids);
    if (list.data) { /* names came from the list file */
        free(names);
        pt_buf_free(&list);
    }
    pt_bpe_free(t);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--encode")) return encode_main(argc, argv);
    RUN(byte_alphabet);
    RUN(load_gpt2_both_formats);
    RUN(fixture_cases);
    RUN(cpython_files);
    RUN(fast_paths_match_reference);
    RUN(cache_flush_and_owner);
    RUN(bad_files);
    RUN(merges_text_variants);
    pt_bpe_free(g_gpt2);
    pt_bpe_free(g_gpt2_hf);
    pt_bpe_free(g_tiny);
    pt_bpe_free(g_tiny_im);
    return TEST_DONE();
}
