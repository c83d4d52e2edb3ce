/* tokfile.c - tokenizer.json and encoder.json + vocab.bpe into a pt_bpe (see tokfile.h). */
#include "tok/tokfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"

/* A file's string for a message: quoted, escaped, at most ~40 bytes shown. */
typedef struct qstr {
    char s[200];
} qstr;

static qstr quote(const char *p, size_t n) {
    qstr q;
    size_t o = 0;
    q.s[o++] = '"';
    for (size_t i = 0; i < n && o < 160; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') o += (size_t)snprintf(q.s + o, sizeof q.s - o, "\\%c", c);
        else if (c < 0x20 || c == 0x7F) o += (size_t)snprintf(q.s + o, sizeof q.s - o, "\\x%02X", c);
        else q.s[o++] = (char)c;
        if (i + 1 < n && o >= 44) {
            o += (size_t)snprintf(q.s + o, sizeof q.s - o, "...");
            break;
        }
    }
    snprintf(q.s + o, sizeof q.s - o, "\"");
    return q;
}

/* Adds a vocabulary entry: a token string in GPT-2's byte alphabet becomes its bytes; any
 * other string is kept as literal text that BPE never produces. */
static int add_vocab_entry(pt_bpe *t, const char *key, size_t klen, const pt_json *val, const char *name,
                           const char *where, pt_err *e) {
    int64_t id;
    if (!pt_json_int64(val, &id) || id < 0 || id >= PT_BPE_MAX_IDS)
        return pt_fail(e, PT_EFORMAT, "%s: %s%s%s%s: the id must be an integer in 0..%u", name, where,
                       *where ? "[" : "", quote(key, klen).s, *where ? "]" : "", PT_BPE_MAX_IDS - 1);
    unsigned char stack[512], *buf = klen <= sizeof stack ? stack : malloc(klen);
    if (!buf) return pt_fail(e, PT_ENOMEM, "%s: out of memory", name);
    ptrdiff_t nb = pt_bpe_unmap(key, klen, buf);
    int rc = nb > 0 ? pt_bpe_add_token(t, (uint32_t)id, buf, (size_t)nb, 0, e)
                    : pt_bpe_add_token(t, (uint32_t)id, key, klen, PT_BPE_TOKEN_TEXT, e);
    if (buf != stack) free(buf);
    if (rc) pt_err_prefix(e, "%s: %s%s%s%s", name, where, *where ? "[" : "", quote(key, klen).s, *where ? "]" : "");
    return rc;
}

/* The id of the byte-level token written as s[0..n) in GPT-2's alphabet, or PT_BPE_NONE. */
static uint32_t lookup_mapped(const pt_bpe *t, const char *s, size_t n) {
    unsigned char stack[512], *buf = n <= sizeof stack ? stack : malloc(n);
    if (!buf) return PT_BPE_NONE;
    ptrdiff_t nb = pt_bpe_unmap(s, n, buf);
    uint32_t id = nb > 0 ? pt_bpe_lookup(t, buf, (size_t)nb) : PT_BPE_NONE;
    if (buf != stack) free(buf);
    return id;
}

/* Adds the merge of the token strings a and b; `where` says where it was read. */
static int add_merge_strings(pt_bpe *t, const char *a, size_t na, const char *b, size_t nb, const char *where,
                             const char *vocab_name, pt_err *e) {
    uint32_t l = lookup_mapped(t, a, na), r = lookup_mapped(t, b, nb);
    if (l == PT_BPE_NONE || r == PT_BPE_NONE) {
        const char *bad = l == PT_BPE_NONE ? a : b;
        size_t nbad = l == PT_BPE_NONE ? na : nb;
        return pt_fail(e, PT_EFORMAT, "%s: %s is not a byte-level token of %s", where, quote(bad, nbad).s,
                       vocab_name);
    }
    int rc = pt_bpe_add_merge(t, l, r, e);
    if (rc == PT_ENOMEM || rc == PT_ELIMIT) return pt_err_prefix(e, "%s", where);
    if (rc) {
        char ab[420];
        snprintf(ab, sizeof ab, "%s + %s", quote(a, na).s, quote(b, nb).s);
        return pt_fail(e, PT_EFORMAT, "%s: the merge %s makes no token of %s", where, ab, vocab_name);
    }
    return PT_OK;
}

/* Splits "a b" at its one space; -1 unless there is exactly one, with text on both sides. */
static int split_merge(const char *s, size_t n, size_t *sp) {
    const char *p = memchr(s, ' ', n);
    if (!p || p == s || p == s + n - 1 || memchr(p + 1, ' ', (size_t)(s + n - p - 1))) return -1;
    *sp = (size_t)(p - s);
    return 0;
}

static const char *type_of(const pt_json *v) { return pt_json_str(pt_json_get(v, "type"), NULL); }

static int is_null(const pt_json *v) { return pt_json_type(v) == PT_JSON_MISSING || pt_json_type(v) == PT_JSON_NULL; }

static int empty_string_or_null(const pt_json *v) {
    return is_null(v) || (pt_json_type(v) == PT_JSON_STRING && pt_json_len(v) == 0);
}

/* Checks the parts around model that change how text becomes ids; sets the options. */
static int hf_check(const pt_json *root, const pt_json *model, const char *name, pt_bpe_options *o, pt_err *e) {
    const char *ty = type_of(model);
    if (pt_json_get(model, "type") && (!ty || strcmp(ty, "BPE")))
        return pt_fail(e, PT_EFORMAT, "%s: model.type is %s; only BPE is supported", name,
                       ty ? quote(ty, strlen(ty)).s : "not a string");
    const pt_json *dropout = pt_json_get(model, "dropout");
    if (!is_null(dropout) && pt_json_num(dropout) != 0)
        return pt_fail(e, PT_EFORMAT, "%s: model.dropout is set; BPE dropout is not supported", name);
    if (!empty_string_or_null(pt_json_get(model, "continuing_subword_prefix")) ||
        !empty_string_or_null(pt_json_get(model, "end_of_word_suffix")))
        return pt_fail(e, PT_EFORMAT, "%s: model.continuing_subword_prefix / end_of_word_suffix are not supported "
                       "(a byte-level BPE has neither)", name);
    if (pt_json_bool(pt_json_get(model, "byte_fallback")) == 1)
        return pt_fail(e, PT_EFORMAT, "%s: model.byte_fallback is not supported", name);
    o->ignore_merges = pt_json_bool(pt_json_get(model, "ignore_merges")) == 1;

    const pt_json *norm = pt_json_get(root, "normalizer");
    const char *nty = type_of(norm);
    if (!is_null(norm) && !(nty && !strcmp(nty, "Sequence") && pt_json_len(pt_json_get(norm, "normalizers")) == 0))
        return pt_fail(e, PT_EFORMAT, "%s: the normalizer %s is not supported (only null)", name,
                       nty ? quote(nty, strlen(nty)).s : "(without a type)");

    const pt_json *pre = pt_json_get(root, "pre_tokenizer");
    const char *pty = type_of(pre);
    if (pty && !strcmp(pty, "Sequence") && pt_json_len(pt_json_get(pre, "pretokenizers")) == 1) {
        pre = pt_json_at(pt_json_get(pre, "pretokenizers"), 0);
        pty = type_of(pre);
    }
    if (!pty || strcmp(pty, "ByteLevel"))
        return pt_fail(e, PT_EFORMAT, "%s: the pre_tokenizer is %s; only ByteLevel (GPT-2's) is supported", name,
                       pty ? quote(pty, strlen(pty)).s : is_null(pre) ? "null" : "of no known type");
    if (pt_json_bool(pt_json_get(pre, "use_regex")) == 0)
        return pt_fail(e, PT_EFORMAT, "%s: the ByteLevel pre_tokenizer has use_regex false; only GPT-2's regex "
                       "split is supported", name);
    /* Hugging Face's default for a missing add_prefix_space is true */
    o->add_prefix_space = pt_json_bool(pt_json_get(pre, "add_prefix_space")) != 0;
    return PT_OK;
}

static int hf_build(pt_bpe *t, const pt_json *root, const char *name, pt_err *e) {
    if (pt_json_type(root) != PT_JSON_OBJECT) return pt_fail(e, PT_EFORMAT, "%s: not a JSON object", name);
    const pt_json *model = pt_json_get(root, "model");
    if (pt_json_type(model) != PT_JSON_OBJECT) {
        if (pt_json_len(root) > 0 && pt_json_type(pt_json_val(root, 0)) == PT_JSON_NUMBER)
            return pt_fail(e, PT_EFORMAT, "%s: a flat {token: id} file (GPT-2's encoder.json?), not a tokenizer.json; "
                           "pass the directory that holds it and vocab.bpe", name);
        return pt_fail(e, PT_EFORMAT, "%s: no \"model\" object: not a Hugging Face tokenizer.json", name);
    }
    pt_bpe_options o = {0};
    PT_TRY(hf_check(root, model, name, &o, e));
    pt_bpe_set_options(t, &o);

    const pt_json *vocab = pt_json_get(model, "vocab");
    if (pt_json_type(vocab) != PT_JSON_OBJECT)
        return pt_fail(e, PT_EFORMAT, "%s: model.vocab is missing or not an object", name);
    for (size_t i = 0; i < pt_json_len(vocab); i++) {
        size_t kl;
        const char *k = pt_json_key(vocab, i, &kl);
        PT_TRY(add_vocab_entry(t, k, kl, pt_json_val(vocab, i), name, "model.vocab", e));
    }

    const pt_json *added = pt_json_get(root, "added_tokens");
    if (!is_null(added) && pt_json_type(added) != PT_JSON_ARRAY)
        return pt_fail(e, PT_EFORMAT, "%s: added_tokens is not an array", name);
    for (size_t i = 0; i < pt_json_len(added); i++) {
        const pt_json *a = pt_json_at(added, i);
        int64_t id;
        size_t cl;
        const char *content = pt_json_str(pt_json_get(a, "content"), &cl);
        if (!pt_json_int64(pt_json_get(a, "id"), &id) || id < 0 || id >= PT_BPE_MAX_IDS || !content)
            return pt_fail(e, PT_EFORMAT, "%s: added_tokens[%zu]: needs an integer \"id\" in 0..%u and a string "
                           "\"content\"", name, i, PT_BPE_MAX_IDS - 1);
        if (pt_bpe_add_special(t, (uint32_t)id, content, cl, pt_json_bool(pt_json_get(a, "special")) == 1, e))
            return pt_err_prefix(e, "%s: added_tokens[%zu] %s", name, i, quote(content, cl).s);
    }

    const pt_json *merges = pt_json_get(model, "merges");
    if (pt_json_type(merges) != PT_JSON_ARRAY)
        return pt_fail(e, PT_EFORMAT, "%s: model.merges is missing or not an array", name);
    char where[600];
    for (size_t i = 0; i < pt_json_len(merges); i++) {
        const pt_json *m = pt_json_at(merges, i);
        snprintf(where, sizeof where, "%s: model.merges[%zu]", name, i);
        const char *a, *b;
        size_t na, nb, sp;
        if (pt_json_type(m) == PT_JSON_STRING) {
            a = pt_json_str(m, &na);
            if (split_merge(a, na, &sp))
                return pt_fail(e, PT_EFORMAT, "%s: %s is not two tokens separated by one space", where,
                               quote(a, na).s);
            b = a + sp + 1;
            nb = na - sp - 1;
            na = sp;
        } else if (pt_json_type(m) == PT_JSON_ARRAY && pt_json_len(m) == 2 &&
                   (a = pt_json_str(pt_json_at(m, 0), &na)) && (b = pt_json_str(pt_json_at(m, 1), &nb))) {
        } else {
            return pt_fail(e, PT_EFORMAT, "%s: a merge is a string \"a b\" or a pair [\"a\", \"b\"]", where);
        }
        PT_TRY(add_merge_strings(t, a, na, b, nb, where, "model.vocab", e));
    }
    if (pt_bpe_finish(t, e)) return pt_err_prefix(e, "%s", name);
    return PT_OK;
}

int pt_bpe_load_hf_mem(pt_bpe **out, const char *json, size_t n, const char *name, pt_err *e) {
    *out = NULL;
    pt_json_doc *doc = NULL;
    if (pt_json_parse(json, n, &doc, e)) return pt_err_prefix(e, "%s", name);
    pt_bpe *t = pt_bpe_new(e);
    int rc = t ? hf_build(t, pt_json_root(doc), name, e) : PT_ENOMEM;
    pt_json_free(doc);
    if (rc) {
        pt_bpe_free(t);
        return rc;
    }
    *out = t;
    return PT_OK;
}

/* ---- GPT-2's encoder.json + vocab.bpe ---------------------------------------------------- */

static int gpt2_build(pt_bpe *t, const char *enc, size_t n_enc, const char *enc_name, const char *merges,
                      size_t n_merges, const char *merges_name, pt_err *e) {
    pt_json_doc *doc = NULL;
    if (pt_json_parse(enc, n_enc, &doc, e)) return pt_err_prefix(e, "%s", enc_name);
    const pt_json *root = pt_json_root(doc);
    int rc = PT_OK;
    if (pt_json_type(root) != PT_JSON_OBJECT)
        rc = pt_fail(e, PT_EFORMAT, "%s: not a JSON object {token: id}", enc_name);
    for (size_t i = 0; !rc && i < pt_json_len(root); i++) {
        size_t kl;
        const char *k = pt_json_key(root, i, &kl);
        rc = add_vocab_entry(t, k, kl, pt_json_val(root, i), enc_name, "", e);
    }
    pt_json_free(doc);
    if (rc) return rc;
    static const char *const specials[] = {"<|endoftext|>", "<|startoftext|>"};
    for (size_t i = 0; i < 2; i++) {
        uint32_t id = pt_bpe_lookup(t, specials[i], strlen(specials[i]));
        if (id != PT_BPE_NONE) PT_TRY(pt_bpe_add_special(t, id, specials[i], strlen(specials[i]), 1, e));
    }
    char where[600];
    size_t line = 0;
    for (const char *p = merges, *end = merges + n_merges; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *q = nl ? nl : end;
        size_t len = (size_t)(q - p), sp;
        line++;
        if (len && p[len - 1] == '\r') len--;
        if (len && !(line == 1 && len >= 8 && !memcmp(p, "#version", 8))) {
            snprintf(where, sizeof where, "%s:%zu", merges_name, line);
            if (split_merge(p, len, &sp))
                return pt_fail(e, PT_EFORMAT, "%s: %s is not two tokens separated by one space", where,
                               quote(p, len).s);
            PT_TRY(add_merge_strings(t, p, sp, p + sp + 1, len - sp - 1, where, enc_name, e));
        }
        p = q + 1;
    }
    if (pt_bpe_finish(t, e)) return pt_err_prefix(e, "%s", enc_name);
    return PT_OK;
}

int pt_bpe_load_gpt2_mem(pt_bpe **out, const char *encoder_json, size_t n_encoder, const char *encoder_name,
                         const char *merges, size_t n_merges, const char *merges_name, pt_err *e) {
    *out = NULL;
    pt_bpe *t = pt_bpe_new(e);
    if (!t) return PT_ENOMEM;
    int rc = gpt2_build(t, encoder_json, n_encoder, encoder_name, merges, n_merges, merges_name, e);
    if (rc) {
        pt_bpe_free(t);
        return rc;
    }
    *out = t;
    return PT_OK;
}

/* ---- from files ----------------------------------------------------------------------------- */

int pt_bpe_load_hf(pt_bpe **t, const char *path, pt_err *e) {
    *t = NULL;
    pt_buf b = {0};
    int rc = pt_fs_read_all(path, &b, e);
    if (!rc) rc = pt_bpe_load_hf_mem(t, b.data ? b.data : "", b.len, path, e);
    pt_buf_free(&b);
    return rc;
}

int pt_bpe_load_gpt2(pt_bpe **t, const char *encoder_path, const char *merges_path, pt_err *e) {
    *t = NULL;
    pt_buf a = {0}, b = {0};
    int rc = pt_fs_read_all(encoder_path, &a, e);
    if (!rc) rc = pt_fs_read_all(merges_path, &b, e);
    if (!rc)
        rc = pt_bpe_load_gpt2_mem(t, a.data ? a.data : "", a.len, encoder_path, b.data ? b.data : "", b.len,
                                  merges_path, e);
    pt_buf_free(&a);
    pt_buf_free(&b);
    return rc;
}

int pt_bpe_load(pt_bpe **t, const char *path, pt_err *e) {
    *t = NULL;
    if (!pt_fs_is_dir(path)) return pt_bpe_load_hf(t, path, e);
    static const char *const pairs[][2] = {{"encoder.json", "vocab.bpe"}, {"vocab.json", "merges.txt"}};
    char *hf = pt_path_join(path, "tokenizer.json");
    if (!hf) return pt_fail(e, PT_ENOMEM, "%s: out of memory", path);
    int rc = -1;
    if (pt_fs_exists(hf)) rc = pt_bpe_load_hf(t, hf, e);
    free(hf);
    for (size_t i = 0; rc == -1 && i < 2; i++) {
        char *v = pt_path_join(path, pairs[i][0]), *m = pt_path_join(path, pairs[i][1]);
        if (!v || !m) rc = pt_fail(e, PT_ENOMEM, "%s: out of memory", path);
        else if (pt_fs_exists(v) && pt_fs_exists(m)) rc = pt_bpe_load_gpt2(t, v, m, e);
        free(v);
        free(m);
    }
    if (rc == -1)
        rc = pt_fail(e, PT_EIO, "%s: a directory without a tokenizer: expected tokenizer.json, encoder.json + "
                     "vocab.bpe, or vocab.json + merges.txt", path);
    return rc;
}
