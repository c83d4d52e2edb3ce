/* metrics.c - the chapter's tokenizer metrics (see metrics.h). */
#include "tok/metrics.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/unicode_tables.h"
#include "base/utf8.h"
#include "tok/pretok.h"

/* keyword.kwlist of Python 3.11. */
const char *const pt_tokm_keywords[PT_TOKM_NKEYWORDS] = {
    "False", "None",   "True",  "and",    "as",       "assert", "async",  "await",    "break",
    "class", "continue", "def", "del",    "elif",     "else",   "except", "finally",  "for",
    "from",  "global", "if",    "import", "in",       "is",     "lambda", "nonlocal", "not",
    "or",    "pass",   "raise", "return", "try",      "while",  "with",   "yield"};

/* From Python 3.11 (python3 -c ...):
 *     [n for n in dir(builtins) if not n.startswith("_")
 *      and isinstance(getattr(builtins, n), (type, types.BuiltinFunctionType))
 *      and not (isinstance(getattr(builtins, n), type) and issubclass(getattr(builtins, n), BaseException))]
 * i.e. the builtin functions and types, without the exception and warning classes (60-odd
 * names that are rare in code) and without the site module's objects (exit, help, ...).
 * tools/tok_metrics_ref.py recomputes it, and tests/e2e/tok_eval.sh compares. */
const char *const pt_tokm_builtins[PT_TOKM_NBUILTINS] = {
    "abs",       "aiter",      "all",        "anext",     "any",      "ascii",        "bin",
    "bool",      "breakpoint", "bytearray",  "bytes",     "callable", "chr",          "classmethod",
    "compile",   "complex",    "delattr",    "dict",      "dir",      "divmod",       "enumerate",
    "eval",      "exec",       "filter",     "float",     "format",   "frozenset",    "getattr",
    "globals",   "hasattr",    "hash",       "hex",       "id",       "input",        "int",
    "isinstance", "issubclass", "iter",      "len",       "list",     "locals",       "map",
    "max",       "memoryview", "min",        "next",      "object",   "oct",          "open",
    "ord",       "pow",        "print",      "property",  "range",    "repr",         "reversed",
    "round",     "set",        "setattr",    "slice",     "sorted",   "staticmethod", "str",
    "sum",       "super",      "tuple",      "type",      "vars",     "zip"};

typedef struct slot {
    uint64_t docs, bytes, chars, tokens, words, word_tokens, continued;
    uint64_t *hist;    /* (V) occurrences of each id */
    uint64_t *doc_tok; /* (ndoc) tokens of each document added here */
    size_t ndoc, doc_cap;
    uint32_t *ids; /* one piece's ids */
    size_t ids_cap;
    char *pfx; /* the text with a space in front, for add_prefix_space */
    size_t pfx_cap;
    char pad[64]; /* keep slots written by different threads off one cache line */
} slot;

struct pt_tokm {
    const pt_bpe *t;
    uint32_t vocab;
    int nslots;
    slot *slots;
};

int pt_tokm_new(pt_tokm **out, const pt_bpe *t, int nslots, pt_err *e) {
    *out = NULL;
    if (nslots < 1) nslots = 1;
    pt_tokm *m = pt_calloc(1, sizeof *m, e);
    if (!m) return PT_ENOMEM;
    m->t = t;
    m->vocab = pt_bpe_vocab_size(t);
    m->nslots = nslots;
    m->slots = pt_calloc((size_t)nslots, sizeof *m->slots, e);
    if (!m->slots) {
        free(m);
        return PT_ENOMEM;
    }
    for (int i = 0; i < nslots; i++) {
        m->slots[i].hist = pt_calloc(m->vocab ? m->vocab : 1, sizeof(uint64_t), e);
        if (!m->slots[i].hist) {
            pt_tokm_free(m);
            return PT_ENOMEM;
        }
    }
    *out = m;
    return PT_OK;
}

void pt_tokm_free(pt_tokm *m) {
    if (!m) return;
    for (int i = 0; m->slots && i < m->nslots; i++) {
        free(m->slots[i].hist);
        free(m->slots[i].doc_tok);
        free(m->slots[i].ids);
        free(m->slots[i].pfx);
    }
    free(m->slots);
    free(m);
}

/* Code points, each byte outside a well-formed sequence counting as one. */
static uint64_t count_chars(const char *text, size_t n) {
    if (pt_utf8_validate(text, n) == n) return pt_utf8_count(text, n);
    const unsigned char *p = (const unsigned char *)text;
    uint64_t c = 0;
    for (size_t i = 0; i < n; c++) {
        uint32_t cp;
        size_t k = pt_utf8_decode(p + i, n - i, &cp);
        i += k ? k : 1;
    }
    return c;
}

/* 1 if piece p[0..m) holds a letter or a number (then it is a word, metrics.h). A piece is
 * one run of one class after an optional leading space (pretok.h), so its first character
 * after that space decides - except a contraction ("'s"), whose apostrophe comes first:
 * there the second character decides (a run of punctuation that starts with an apostrophe
 * never holds a letter). */
static int is_word(const unsigned char *p, size_t m) {
    size_t i = m > 1 && p[0] == ' ';
    for (int k = 0; k < 2 && i < m; k++) {
        uint32_t cp;
        size_t len = pt_utf8_decode(p + i, m - i, &cp);
        if (!len) return 0;
        unsigned c = pt_tok_class(cp);
        if (c == PT_TOK_LETTER || c == PT_TOK_NUMBER) return 1;
        if (cp != '\'' || i > 0) return 0;
        i += len;
    }
    return 0;
}

void pt_tokm_words(const char *text, size_t n, void (*fn)(void *ctx, size_t start, size_t end), void *ctx) {
    for (size_t pos = 0; pos < n;) {
        size_t end = pt_pretok_next(text, n, pos);
        if (is_word((const unsigned char *)text + pos, end - pos))
            fn(ctx, pos + (text[pos] == ' '), end);
        pos = end;
    }
}

int pt_tokm_add(pt_tokm *m, int si, const char *text, size_t n, pt_bpe_scratch *s, pt_err *e) {
    slot *sl = &m->slots[si];
    if (sl->ndoc == sl->doc_cap) {
        size_t cap = sl->doc_cap ? 2 * sl->doc_cap : 256;
        uint64_t *d = pt_realloc(sl->doc_tok, cap * sizeof *d, e);
        if (!d) return PT_ENOMEM;
        sl->doc_tok = d;
        sl->doc_cap = cap;
    }
    sl->bytes += n;
    sl->chars += count_chars(text, n);
    /* The text as the encoder sees it (pt_bpe_encode's add_prefix_space). */
    if (pt_bpe_get_options(m->t).add_prefix_space && n > 0 && text[0] != ' ') {
        if (n + 1 > sl->pfx_cap) {
            char *q = pt_realloc(sl->pfx, n + 1, e);
            if (!q) return PT_ENOMEM;
            sl->pfx = q;
            sl->pfx_cap = n + 1;
        }
        sl->pfx[0] = ' ';
        memcpy(sl->pfx + 1, text, n);
        text = sl->pfx;
        n++;
    }
    uint64_t doc_tokens = 0;
    for (size_t pos = 0; pos < n;) {
        size_t end = pt_pretok_next(text, n, pos), len = end - pos;
        const unsigned char *p = (const unsigned char *)text + pos;
        size_t k = pt_bpe_encode_piece(m->t, p, len, sl->ids, sl->ids_cap, s);
        if (k == (size_t)-1) return pt_fail(e, PT_ENOMEM, "out of memory encoding");
        if (k > sl->ids_cap) {
            free(sl->ids);
            sl->ids_cap = k < 256 ? 256 : k;
            sl->ids = pt_malloc(sl->ids_cap * sizeof *sl->ids, e);
            if (!sl->ids) {
                sl->ids_cap = 0;
                return PT_ENOMEM;
            }
            pt_bpe_encode_piece(m->t, p, len, sl->ids, sl->ids_cap, s);
        }
        for (size_t j = 0; j < k; j++) sl->hist[sl->ids[j]]++;
        doc_tokens += k;
        if (is_word(p, len)) {
            size_t wt = k;
            size_t first_len = 0;
            if (p[0] == ' ' && k > 1 && pt_bpe_token(m->t, sl->ids[0], &first_len, NULL) && first_len == 1) wt--;
            sl->words++;
            sl->word_tokens += wt;
            sl->continued += wt >= 2;
        }
        pos = end;
    }
    sl->tokens += doc_tokens;
    sl->docs++;
    sl->doc_tok[sl->ndoc++] = doc_tokens;
    return PT_OK;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

static int single(const pt_bpe *t, const char *w, int space, pt_bpe_scratch *s) {
    char buf[64];
    size_t n = strlen(w);
    assert(n + 2 <= sizeof buf);
    buf[0] = ' ';
    memcpy(buf + 1, w, n);
    return space ? pt_bpe_count(t, buf, n + 1, s) == 1 : pt_bpe_count(t, w, n, s) == 1;
}

int pt_tokm_result_get(pt_tokm *m, uint64_t rare_min, pt_bpe_scratch *s, pt_tokm_result *r, pt_err *e) {
    memset(r, 0, sizeof *r);
    size_t ndoc = 0;
    for (int i = 0; i < m->nslots; i++) ndoc += m->slots[i].ndoc;
    uint64_t *all = pt_malloc((ndoc ? ndoc : 1) * sizeof *all, e);
    if (!all) return PT_ENOMEM;
    size_t k = 0;
    for (int i = 0; i < m->nslots; i++) {
        const slot *sl = &m->slots[i];
        r->docs += sl->docs;
        r->bytes += sl->bytes;
        r->chars += sl->chars;
        r->tokens += sl->tokens;
        r->words += sl->words;
        r->word_tokens += sl->word_tokens;
        r->continued_words += sl->continued;
        if (sl->ndoc) memcpy(all + k, sl->doc_tok, sl->ndoc * sizeof *all);
        k += sl->ndoc;
    }
    qsort(all, ndoc, sizeof *all, cmp_u64);
    if (ndoc) r->tokens_per_doc_median = ndoc % 2 ? (double)all[ndoc / 2] : ((double)all[ndoc / 2 - 1] + (double)all[ndoc / 2]) / 2;
    free(all);
    r->vocab_size = m->vocab;
    r->rare_min = rare_min;
    for (uint32_t id = 0; id < m->vocab; id++) {
        uint64_t c = 0;
        for (int i = 0; i < m->nslots; i++) c += m->slots[i].hist[id];
        if (!c) continue;
        r->vocab_used++;
        if (c < rare_min) {
            r->rare_ids++;
            r->rare_tokens += c;
        }
    }
    r->fertility = ratio(r->word_tokens, r->words);
    r->continued_share = ratio(r->continued_words, r->words);
    r->unknown_share = ratio(r->unknown, r->tokens);
    r->rare_token_share = ratio(r->rare_tokens, r->tokens);
    r->rare_vocab_share = ratio(r->rare_ids, r->vocab_used);
    r->chars_per_token = ratio(r->chars, r->tokens);
    r->tokens_per_doc_mean = ratio(r->tokens, r->docs);
    for (int i = 0; i < PT_TOKM_NKEYWORDS; i++) {
        r->keywords_single_sp += r->keyword_single_sp[i] = (uint8_t)single(m->t, pt_tokm_keywords[i], 1, s);
        r->keywords_single_bare += r->keyword_single_bare[i] = (uint8_t)single(m->t, pt_tokm_keywords[i], 0, s);
    }
    for (int i = 0; i < PT_TOKM_NBUILTINS; i++) {
        r->builtins_single_sp += r->builtin_single_sp[i] = (uint8_t)single(m->t, pt_tokm_builtins[i], 1, s);
        r->builtins_single_bare += r->builtin_single_bare[i] = (uint8_t)single(m->t, pt_tokm_builtins[i], 0, s);
    }
    return PT_OK;
}
