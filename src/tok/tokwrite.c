/* tokwrite.c - tokenizer.json and vocab.json + merges.txt writers (see tokwrite.h). */
#include "tok/tokwrite.h"

#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/jsonw.h"

/* Appends token id's string as a JSON string: GPT-2's alphabet for byte-level tokens, the
 * literal text for PT_BPE_TOKEN_TEXT ones. */
static int put_token(pt_buf *b, const pt_bpe *t, uint32_t id, pt_buf *tmp, pt_err *e) {
    size_t n;
    unsigned flags;
    const unsigned char *p = pt_bpe_token(t, id, &n, &flags);
    if (!p) return pt_fail(e, PT_EINTERNAL, "token %u has no bytes", id);
    if (flags & PT_BPE_TOKEN_TEXT) return pt_jsonw_str(b, (const char *)p, n, e);
    pt_buf_clear(tmp);
    PT_TRY(pt_buf_reserve(tmp, 2 * n + 1, e));
    size_t m = pt_bpe_map(p, n, tmp->data);
    return pt_jsonw_str(b, tmp->data, m, e);
}

static int put_bytelevel(pt_buf *b, int add_prefix_space, pt_err *e) {
    return pt_buf_printf(b, e,
                         "{\"type\": \"ByteLevel\", \"add_prefix_space\": %s, \"trim_offsets\": true, "
                         "\"use_regex\": true}",
                         add_prefix_space ? "true" : "false");
}

static int hf_json(const pt_bpe *t, pt_buf *b, pt_buf *tmp, pt_err *e) {
    pt_bpe_options o = pt_bpe_get_options(t);
    uint32_t V = pt_bpe_vocab_size(t), R = pt_bpe_merge_count(t);
    PT_TRY(pt_buf_printf(b, e, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
                               "  \"added_tokens\": ["));
    int first = 1;
    for (uint32_t id = 0; id < V; id++) {
        size_t n;
        unsigned fl;
        if (!pt_bpe_token(t, id, &n, &fl) || !(fl & PT_BPE_TOKEN_ADDED)) continue;
        int special = (fl & PT_BPE_TOKEN_SPECIAL) != 0;
        PT_TRY(pt_buf_printf(b, e, "%s\n    {\"id\": %u, \"content\": ", first ? "" : ",", id));
        /* the content of an added token is its literal text, whatever alphabet it uses */
        const unsigned char *p = pt_bpe_token(t, id, &n, &fl);
        PT_TRY(pt_jsonw_str(b, (const char *)p, n, e));
        PT_TRY(pt_buf_printf(b, e,
                             ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                             "\"normalized\": %s, \"special\": %s}",
                             special ? "false" : "true", special ? "true" : "false"));
        first = 0;
    }
    PT_TRY(pt_buf_printf(b, e, "%s],\n  \"normalizer\": null,\n  \"pre_tokenizer\": ", first ? "" : "\n  "));
    PT_TRY(put_bytelevel(b, o.add_prefix_space, e));
    PT_TRY(pt_buf_printf(b, e, ",\n  \"post_processor\": "));
    PT_TRY(put_bytelevel(b, o.add_prefix_space, e));
    PT_TRY(pt_buf_printf(b, e, ",\n  \"decoder\": "));
    PT_TRY(put_bytelevel(b, o.add_prefix_space, e));
    PT_TRY(pt_buf_printf(b, e,
                         ",\n  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
                         "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n"
                         "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": %s,\n"
                         "    \"vocab\": {",
                         o.ignore_merges ? "true" : "false"));
    first = 1;
    for (uint32_t id = 0; id < V; id++) {
        size_t n;
        unsigned fl;
        if (!pt_bpe_token(t, id, &n, &fl)) continue;
        if ((fl & PT_BPE_TOKEN_TEXT) && (fl & PT_BPE_TOKEN_ADDED)) continue; /* added_tokens only */
        PT_TRY(pt_buf_printf(b, e, "%s\n      ", first ? "" : ","));
        PT_TRY(put_token(b, t, id, tmp, e));
        PT_TRY(pt_buf_printf(b, e, ": %u", id));
        first = 0;
    }
    PT_TRY(pt_buf_printf(b, e, "%s},\n    \"merges\": [", first ? "" : "\n    "));
    for (uint32_t r = 0; r < R; r++) {
        uint32_t l, rt, m;
        pt_bpe_merge(t, r, &l, &rt, &m);
        PT_TRY(pt_buf_printf(b, e, "%s\n      [", r ? "," : ""));
        PT_TRY(put_token(b, t, l, tmp, e));
        PT_TRY(pt_buf_append(b, ", ", 2, e));
        PT_TRY(put_token(b, t, rt, tmp, e));
        PT_TRY(pt_buf_putc(b, ']', e));
    }
    return pt_buf_printf(b, e, "%s]\n  }\n}\n", R ? "\n    " : "");
}

int pt_bpe_to_hf_json(const pt_bpe *t, pt_buf *out, pt_err *e) {
    pt_buf tmp = {0};
    int rc = hf_json(t, out, &tmp, e);
    pt_buf_free(&tmp);
    return rc;
}

int pt_bpe_save_hf(const pt_bpe *t, const char *path, pt_err *e) {
    pt_buf b = {0};
    int rc = pt_bpe_to_hf_json(t, &b, e);
    if (!rc) rc = pt_fs_write_atomic(path, b.data, b.len, e);
    pt_buf_free(&b);
    return rc;
}

/* A merge line "a b": token strings in GPT-2's alphabet never hold a space (U+0020 is Ġ). */
static int gpt2_files(const pt_bpe *t, pt_buf *vocab, pt_buf *merges, pt_buf *tmp, pt_err *e) {
    uint32_t V = pt_bpe_vocab_size(t), R = pt_bpe_merge_count(t);
    PT_TRY(pt_buf_putc(vocab, '{', e));
    int first = 1;
    for (uint32_t id = 0; id < V; id++) {
        if (!pt_bpe_token(t, id, NULL, NULL)) continue;
        PT_TRY(pt_buf_printf(vocab, e, "%s", first ? "" : ", "));
        PT_TRY(put_token(vocab, t, id, tmp, e));
        PT_TRY(pt_buf_printf(vocab, e, ": %u", id));
        first = 0;
    }
    PT_TRY(pt_buf_printf(vocab, e, "}\n"));
    PT_TRY(pt_buf_printf(merges, e, "#version: 0.2\n"));
    for (uint32_t r = 0; r < R; r++) {
        uint32_t ids[2], m;
        pt_bpe_merge(t, r, &ids[0], &ids[1], &m);
        for (int k = 0; k < 2; k++) {
            size_t n;
            const unsigned char *p = pt_bpe_token(t, ids[k], &n, NULL);
            pt_buf_clear(tmp);
            PT_TRY(pt_buf_reserve(tmp, 2 * n + 1, e));
            size_t len = pt_bpe_map(p, n, tmp->data);
            PT_TRY(pt_buf_append(merges, tmp->data, len, e));
            PT_TRY(pt_buf_putc(merges, k ? '\n' : ' ', e));
        }
    }
    return PT_OK;
}

int pt_bpe_save_gpt2_files(const pt_bpe *t, const char *dir, pt_err *e) {
    pt_buf v = {0}, m = {0}, tmp = {0};
    char *pv = pt_path_join(dir, "vocab.json"), *pm = pt_path_join(dir, "merges.txt");
    int rc = !pv || !pm ? pt_fail(e, PT_ENOMEM, "out of memory") : gpt2_files(t, &v, &m, &tmp, e);
    if (!rc) rc = pt_fs_write_atomic(pv, v.data, v.len, e);
    if (!rc) rc = pt_fs_write_atomic(pm, m.data, m.len, e);
    free(pv);
    free(pm);
    pt_buf_free(&v);
    pt_buf_free(&m);
    pt_buf_free(&tmp);
    return rc;
}
