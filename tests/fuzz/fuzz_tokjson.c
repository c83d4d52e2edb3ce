/* fuzz_tokjson.c - libFuzzer target for tok/: the tokenizer loaders and, when a file loads,
 * the encoder on it.
 *
 * Input: the first byte picks the format. Even: the rest is a tokenizer.json
 * (pt_bpe_load_hf_mem). Odd: the rest is encoder.json, a NUL byte, then vocab.bpe
 * (pt_bpe_load_gpt2_mem). A loader must return PT_OK or PT_EFORMAT with a message that
 * names the file, and never crash or leak. When the tokenizer loads, the rest of the input
 * is encoded as text and each check is an abort() when broken:
 *   - the ids are below the vocabulary size and their bytes spell the text (with the
 *     prefix space when add_prefix_space applies): byte-level BPE loses nothing;
 *   - pt_bpe_count equals the number pt_bpe_encode returns, also with a short buffer;
 *   - every piece encodes the same by pt_bpe_encode_piece (scan, heap, cache) and by the
 *     reference loop, with a fresh scratch and with a warm one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/bpe.h"
#include "tok/pretok.h"
#include "tok/tokfile.h"

#include "fuzz.h"


static void check_encoding(const pt_bpe *t, const char *text, size_t n, pt_bpe_scratch *s) {
    size_t cap = n + 2;
    uint32_t *ids = malloc(cap * sizeof *ids);
    size_t k = pt_bpe_encode(t, text, n, ids, cap, s);
    check(k != (size_t)-1 && k <= n + 1);
    check(pt_bpe_count(t, text, n, s) == k);
    uint32_t one = PT_BPE_NONE;
    check(pt_bpe_encode(t, text, n, &one, 1, s) == k && (k == 0 || one == ids[0]));
    pt_bpe_options o = pt_bpe_get_options(t);
    int pfx = o.add_prefix_space && n > 0 && text[0] != ' ';
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        size_t len;
        unsigned flags;
        check(ids[i] < pt_bpe_vocab_size(t));
        const unsigned char *tok = pt_bpe_token(t, ids[i], &len, &flags);
        check(tok && !(flags & PT_BPE_TOKEN_TEXT));
        for (size_t j = 0; j < len; j++, off++) {
            unsigned char want = pfx ? (off == 0 ? ' ' : (unsigned char)text[off - 1]) : (unsigned char)text[off];
            check(off < n + (size_t)pfx && tok[j] == want);
        }
    }
    check(off == n + (size_t)pfx);
    /* piece by piece against the reference */
    uint32_t *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b);
    for (size_t i = 0, j; i < n; i = j) {
        j = pt_pretok_next(text, n, i);
        check(j > i && j <= n);
        size_t na = pt_bpe_encode_piece(t, text + i, j - i, a, cap, s);
        size_t nb = pt_bpe_encode_piece_ref(t, text + i, j - i, b, cap);
        check(na == nb && na != (size_t)-1 && !memcmp(a, b, na * sizeof *a));
    }
    free(a);
    free(b);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    pt_bpe *t = NULL;
    pt_err e = {0};
    int rc;
    const char *name;
    if (!(data[0] & 1)) {
        name = "fuzz.json";
        rc = pt_bpe_load_hf_mem(&t, body, n, name, &e);
    } else {
        const char *nul = memchr(body, 0, n);
        size_t ne = nul ? (size_t)(nul - body) : n;
        const char *merges = nul ? nul + 1 : body + n;
        name = "encoder.json";
        rc = pt_bpe_load_gpt2_mem(&t, body, ne, name, merges, n - ne - (nul ? 1 : 0), "vocab.bpe", &e);
    }
    check(rc == PT_OK || rc == PT_EFORMAT);
    if (rc) {
        check(t == NULL && e.msg[0] && (!strncmp(e.msg, name, strlen(name)) || !strncmp(e.msg, "vocab.bpe", 9)));
        return 0;
    }
    check(t && pt_bpe_vocab_size(t) >= 256);
    pt_bpe_scratch *s = pt_bpe_scratch_new();
    check(s != NULL);
    check_encoding(t, body, n, s);
    static const char sample[] = "def f(x):\n    return x  # it's \xc3\xa9t\xc3\xa9 \xff\xfe  \n\n";
    check_encoding(t, sample, sizeof sample - 1, s);
    pt_bpe_scratch_free(s);
    pt_bpe_free(t);
    return 0;
}
