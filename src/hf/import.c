/* import.c - a Hugging Face GPT-2 folder as a parrot checkpoint; see import.h. */
#include "hf/import.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "hf/export.h"
#include "hf/safetensors.h"
#include "tok/bpe.h"
#include "tok/tokfile.h"
#include "tok/tokwrite.h"
#include "train/ckpt.h"
#include "train/optim.h"

/* Appends a sentence to m->note. */
static void note(pt_hf_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(pt_hf_model *m, const char *fmt, ...) {
    size_t n = strlen(m->note);
    if (n && n + 2 < sizeof m->note) m->note[n++] = ' ', m->note[n] = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->note + n, sizeof m->note - n, fmt, ap);
    va_end(ap);
}

/* ---- config.json ------------------------------------------------------------------------------- */

/* An integer key with a default; -1 on a value that is not a positive integer. */
static int cfg_int(const pt_json *r, const char *key, int def, int *out) {
    const pt_json *v = pt_json_get(r, key);
    int64_t x;
    if (!v) return *out = def, 0;
    if (!pt_json_int64(v, &x) || x < 1 || x > (1 << 30)) return -1;
    *out = (int)x;
    return 0;
}

/* A boolean key with a default; -1 when it is not a boolean. */
static int cfg_bool(const pt_json *r, const char *key, int def, int *out) {
    const pt_json *v = pt_json_get(r, key);
    if (!v || pt_json_type(v) == PT_JSON_NULL) return *out = def, 0;
    int b = pt_json_bool(v);
    if (b < 0) return -1;
    *out = b;
    return 0;
}

static int read_config(const char *dir, pt_hf_model *m, int *tied, pt_err *e) {
    char *path = pt_path_join(dir, "config.json");
    if (!path) return pt_fail(e, PT_ENOMEM, "out of memory");
    pt_buf text = {0};
    pt_json_doc *doc = NULL;
    int rc = PT_OK;
    if (!pt_fs_exists(path)) {
        rc = pt_fail(e, PT_EFORMAT, "%s: missing: not a Hugging Face model folder", path);
        goto done;
    }
    if ((rc = pt_fs_read_all(path, &text, e))) goto done;
    if ((rc = pt_json_parse(text.data, text.len, &doc, e))) {
        pt_err_prefix(e, "%s", path);
        goto done;
    }
    const pt_json *r = pt_json_root(doc);
    if (pt_json_type(r) != PT_JSON_OBJECT) {
        rc = pt_fail(e, PT_EFORMAT, "%s: not a JSON object", path);
        goto done;
    }
    const char *mt = pt_json_str(pt_json_get(r, "model_type"), NULL);
    const char *arch = pt_json_str(pt_json_at(pt_json_get(r, "architectures"), 0), NULL);
    if (mt ? strcmp(mt, "gpt2") != 0 : !(arch && !strncmp(arch, "GPT2", 4))) {
        rc = pt_fail(e, PT_EFORMAT, "%s: model_type \"%s\": parrot reads GPT-2 models only (model_type \"gpt2\")",
                     path, mt ? mt : "(absent)");
        goto done;
    }
    pt_gpt2_config *c = &m->cfg;
    const char *bad = NULL;
    /* GPT2Config's defaults for absent keys, as transformers applies them */
    if (cfg_int(r, "n_layer", 12, &c->n_layer)) bad = "n_layer";
    else if (cfg_int(r, "n_embd", 768, &c->n_embd)) bad = "n_embd";
    else if (cfg_int(r, "n_head", 12, &c->n_head)) bad = "n_head";
    else if (cfg_int(r, "n_positions", 1024, &c->n_positions)) bad = "n_positions";
    else if (cfg_int(r, "vocab_size", 50257, &c->vocab_size)) bad = "vocab_size";
    else if (cfg_bool(r, "scale_attn_by_inverse_layer_idx", 0, &c->scale_attn_by_inverse_layer_idx))
        bad = "scale_attn_by_inverse_layer_idx";
    else if (cfg_bool(r, "reorder_and_upcast_attn", 0, &c->reorder_and_upcast_attn)) bad = "reorder_and_upcast_attn";
    else if (cfg_bool(r, "tie_word_embeddings", 1, tied)) bad = "tie_word_embeddings";
    if (bad) {
        rc = pt_fail(e, PT_EFORMAT, "%s: \"%s\" is not a %s", path, bad,
                     strncmp(bad, "n_", 2) && strcmp(bad, "vocab_size") ? "boolean" : "positive integer");
        goto done;
    }
    pt_err e2 = {0};
    if (pt_gpt2_config_check(c, &e2)) {
        rc = pt_fail(e, PT_EFORMAT, "%s: %s", path, e2.msg);
        goto done;
    }
    const pt_json *inner = pt_json_get(r, "n_inner");
    int64_t ni;
    if (inner && pt_json_type(inner) != PT_JSON_NULL && !(pt_json_int64(inner, &ni) && ni == 4 * (int64_t)c->n_embd)) {
        const char *txt = pt_json_num_text(inner, NULL);
        rc = pt_fail(e, PT_EFORMAT, "%s: n_inner %s: parrot's GPT-2 has an MLP of 4 x n_embd = %d", path,
                     txt ? txt : "(not a number)", 4 * c->n_embd);
        goto done;
    }
    const pt_json *act = pt_json_get(r, "activation_function");
    const char *a = act ? pt_json_str(act, NULL) : "gelu_new";
    if (!a) a = "(not a string)";
    if (!strcmp(a, "gelu") || !strcmp(a, "gelu_python")) {
        note(m, "config.json: activation \"%s\" is the exact (erf) GELU; parrot computes the tanh approximation "
                "(gelu_new), which differs by at most 4.7e-4 per activation, so outputs will differ slightly "
                "(and `parrot export hf` writes gelu_new).", a);
    } else if (strcmp(a, "gelu_new") && strcmp(a, "gelu_pytorch_tanh") && strcmp(a, "gelu_fast")) {
        rc = pt_fail(e, PT_EFORMAT, "%s: activation_function \"%s\": parrot's GPT-2 computes gelu_new (the tanh GELU)",
                     path, a);
        goto done;
    }
    const pt_json *eps = pt_json_get(r, "layer_norm_epsilon");
    if (eps && !(pt_json_type(eps) == PT_JSON_NUMBER && fabs(pt_json_num(eps) - 1e-5) <= 1e-12)) {
        const char *txt = pt_json_num_text(eps, NULL);
        rc = pt_fail(e, PT_EFORMAT, "%s: layer_norm_epsilon %s: parrot's LayerNorm uses 1e-5", path,
                     txt ? txt : "(not a number)");
        goto done;
    }
    int flag;
    if (cfg_bool(r, "scale_attn_weights", 1, &flag) || !flag) {
        rc = pt_fail(e, PT_EFORMAT, "%s: scale_attn_weights is not true: parrot's attention always scales by "
                                    "1/sqrt(head size)", path);
        goto done;
    }
    if (cfg_bool(r, "add_cross_attention", 0, &flag) || flag) {
        rc = pt_fail(e, PT_EFORMAT, "%s: add_cross_attention: parrot's GPT-2 has no cross-attention", path);
        goto done;
    }
done:
    pt_json_free(doc);
    pt_buf_free(&text);
    free(path);
    return rc;
}

/* ---- the safetensors files --------------------------------------------------------------------- */

typedef struct files {
    pt_st **f;
    size_t n;
} files;

static void files_close(files *fs) {
    for (size_t i = 0; i < fs->n; i++) pt_st_close(fs->f[i]);
    free(fs->f);
    fs->f = NULL, fs->n = 0;
}

static int files_add(files *fs, const char *path, pt_err *e) {
    pt_st **g = pt_realloc(fs->f, (fs->n + 1) * sizeof *g, e);
    if (!g) return e->code;
    fs->f = g;
    PT_TRY(pt_st_open(&fs->f[fs->n], path, e));
    fs->n++;
    return PT_OK;
}

/* The tensor called name in any of the files; *file gets its file's path. */
static const pt_st_tensor *files_find(const files *fs, const char *name, const char **file) {
    for (size_t i = 0; i < fs->n; i++) {
        const pt_st_tensor *t = pt_st_find(fs->f[i], name);
        if (t) return *file = pt_st_path(fs->f[i]), t;
    }
    return NULL;
}

/* What a folder without safetensors weights has instead, for the message. */
static int no_safetensors(const char *dir, pt_err *e) {
    static const char *const other[] = {"pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5",
                                        "flax_model.msgpack"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        char *p = pt_path_join(dir, other[i]);
        int has = p && pt_fs_exists(p);
        free(p);
        if (has)
            return pt_fail(e, PT_EFORMAT,
                           "%s: has %s but no model.safetensors: parrot reads safetensors only (%s is %s); convert "
                           "it with transformers: python -c \"from transformers import AutoModelForCausalLM as M; "
                           "M.from_pretrained('%s').save_pretrained('OUT')\", then copy the "
                           "tokenizer files beside it",
                           dir, other[i], other[i],
                           i < 2 ? "a Python pickle, which can run code when read" : "another framework's format",
                           dir);
    }
    return pt_fail(e, PT_EFORMAT, "%s: no model.safetensors (nor model.safetensors.index.json)", dir);
}

static int open_weights(const char *dir, files *fs, pt_err *e) {
    char *single = pt_path_join(dir, "model.safetensors"), *index = pt_path_join(dir, "model.safetensors.index.json");
    pt_buf text = {0};
    pt_json_doc *doc = NULL;
    int rc = single && index ? PT_OK : pt_fail(e, PT_ENOMEM, "out of memory");
    if (rc) goto done;
    if (pt_fs_exists(single)) {
        rc = files_add(fs, single, e);
        goto done;
    }
    if (!pt_fs_exists(index)) {
        rc = no_safetensors(dir, e);
        goto done;
    }
    if ((rc = pt_fs_read_all(index, &text, e))) goto done;
    if ((rc = pt_json_parse(text.data, text.len, &doc, e))) {
        pt_err_prefix(e, "%s", index);
        goto done;
    }
    const pt_json *map = pt_json_get(pt_json_root(doc), "weight_map");
    if (pt_json_type(map) != PT_JSON_OBJECT || !pt_json_len(map)) {
        rc = pt_fail(e, PT_EFORMAT, "%s: no weight_map object", index);
        goto done;
    }
    for (size_t i = 0; i < pt_json_len(map) && !rc; i++) {
        const char *shard = pt_json_str(pt_json_val(map, i), NULL);
        if (!shard || !*shard || strchr(shard, '/')) {
            rc = pt_fail(e, PT_EFORMAT, "%s: weight_map[\"%s\"] is not a file name in the folder", index,
                         pt_json_key(map, i, NULL));
            break;
        }
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) seen = !strcmp(shard, pt_json_str(pt_json_val(map, j), NULL));
        if (seen) continue;
        char *p = pt_path_join(dir, shard);
        rc = p ? files_add(fs, p, e) : pt_fail(e, PT_ENOMEM, "out of memory");
        free(p);
    }
done:
    pt_json_free(doc);
    pt_buf_free(&text);
    free(single), free(index);
    return rc;
}

/* 1 when name (prefix stripped) is one of GPT2LMHeadModel's tensors or buffers for L layers. */
static int known_name(const char *name, int L) {
    if (!strcmp(name, "wte.weight") || !strcmp(name, "wpe.weight") || !strcmp(name, "ln_f.weight") ||
        !strcmp(name, "ln_f.bias"))
        return 1;
    if (strncmp(name, "h.", 2)) return 0;
    char *end;
    long l = strtol(name + 2, &end, 10);
    if (end == name + 2 || *end != '.' || l < 0 || l >= L || name[2] == '+' || name[2] == '-') return 0;
    const char *suffix = end + 1;
    if (!strcmp(suffix, "attn.bias") || !strcmp(suffix, "attn.masked_bias")) return 1;
    for (int i = 0; i < PT_GPT2_NTENSORS; i++) {
        const char *f = pt_hf_gpt2_names[i].fmt;
        if (!strncmp(f, "h.%d.", 5) && !strcmp(suffix, f + 5)) return 1;
    }
    return 0;
}

static void shape_text(char *buf, size_t cap, int nd, const int64_t *s) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < nd && k < cap; d++) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? ", " : "", (long long)s[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* Converts tensor t (found in file) of expected shape want[nd] into out. */
static int take(const pt_st_tensor *t, const char *file, const char *name, int nd, const int64_t *want, int conv1d,
                float *out, pt_err *e) {
    if (t->dtype != PT_ST_F32 && t->dtype != PT_ST_F16 && t->dtype != PT_ST_BF16 && t->dtype != PT_ST_F64)
        return pt_fail(e, PT_EFORMAT, "%s: tensor '%s' has dtype %s; parrot reads F32, F16, BF16 and F64", file, name,
                       pt_st_dtype_name(t->dtype));
    int same = t->ndim == nd;
    for (int d = 0; d < nd && same; d++) same = t->shape[d] == want[d];
    if (!same) {
        char got[128], need[128];
        shape_text(got, sizeof got, t->ndim, t->shape);
        shape_text(need, sizeof need, nd, want);
        return pt_fail(e, PT_EFORMAT, "%s: tensor '%s' has shape %s; config.json's sizes need %s%s", file, name, got,
                       need, conv1d ? " (Conv1D: [in, out])" : "");
    }
    pt_err e2 = {0};
    if (pt_st_to_f32(t, out, conv1d ? PT_ST_TRANSPOSE : 0, &e2))
        return pt_fail(e, PT_EFORMAT, "%s: tensor '%s': %s", file, name, e2.msg);
    for (uint64_t k = 0; k < t->numel; k++)
        if (!isfinite(out[k]))
            return pt_fail(e, PT_EFORMAT, "%s: tensor '%s' has a non-finite value (%g at element %llu)", file, name,
                           out[k], (unsigned long long)k);
    return PT_OK;
}

static int read_weights(const char *dir, pt_hf_model *m, int tied, pt_err *e) {
    const pt_gpt2_config *c = &m->cfg;
    files fs = {0};
    float *head = NULL;
    int rc = open_weights(dir, &fs, e);
    if (rc) {
        files_close(&fs);
        return rc;
    }
    m->files = (int)fs.n;
    const char *file;
    int prefix = files_find(&fs, "transformer.wte.weight", &file) != NULL;
    if (!prefix && !files_find(&fs, "wte.weight", &file)) {
        rc = pt_fail(e, PT_EFORMAT, "%s: tensor 'transformer.wte.weight' is missing (nor is there 'wte.weight')",
                     pt_st_path(fs.f[0]));
        goto done;
    }
    /* every tensor must be one GPT2LMHeadModel has */
    for (size_t i = 0; i < fs.n && !rc; i++) {
        for (size_t j = 0; j < pt_st_count(fs.f[i]); j++) {
            const char *name = pt_st_at(fs.f[i], j)->name;
            if (!strcmp(name, "lm_head.weight")) continue;
            const char *bare = prefix ? (strncmp(name, "transformer.", 12) ? NULL : name + 12) : name;
            if (!bare || !known_name(bare, c->n_layer)) {
                rc = pt_fail(e, PT_EFORMAT,
                             "%s: tensor '%s' is not part of a %d-layer GPT2LMHeadModel (another architecture or "
                             "head?)", pt_st_path(fs.f[i]), name, c->n_layer);
                break;
            }
        }
    }
    if (rc) goto done;
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    m->n = pt_gpt2_layout(c, t);
    if (!(m->params = pt_malloc(m->n * sizeof(float), e))) {
        rc = e->code;
        goto done;
    }
    char name[96];
    for (int i = 0; i < PT_GPT2_NTENSORS && !rc; i++) {
        int stacked = strchr(pt_hf_gpt2_names[i].fmt, '%') != NULL, conv = pt_hf_gpt2_names[i].conv1d;
        int first = stacked, nd = t[i].ndim - first;
        int64_t want[2];
        size_t numel = 1;
        for (int d = 0; d < nd; d++) want[d] = t[i].shape[first + d], numel *= (size_t)want[d];
        if (conv) {
            int64_t w0 = want[0];
            want[0] = want[1], want[1] = w0;
        }
        for (int l = 0; l < (stacked ? c->n_layer : 1) && !rc; l++) {
            pt_hf_tensor_name(name, sizeof name, i, l, prefix);
            const pt_st_tensor *x = files_find(&fs, name, &file);
            if (!x) {
                rc = pt_fail(e, PT_EFORMAT, "%s: tensor '%s' is missing", fs.n == 1 ? pt_st_path(fs.f[0]) : dir, name);
                break;
            }
            rc = take(x, file, name, nd, want, conv, m->params + t[i].offset + (size_t)l * numel, e);
            m->tensors++;
        }
    }
    if (rc) goto done;
    const pt_st_tensor *lm = files_find(&fs, "lm_head.weight", &file);
    if (lm) {
        size_t n = t[PT_GPT2_WTE].numel;
        int64_t want[2] = {c->vocab_size, c->n_embd};
        if (!(head = pt_malloc(n * sizeof(float), e))) {
            rc = e->code;
            goto done;
        }
        if ((rc = take(lm, file, "lm_head.weight", 2, want, 0, head, e))) goto done;
        if (memcmp(head, m->params + t[PT_GPT2_WTE].offset, n * sizeof(float))) {
            rc = pt_fail(e, PT_EFORMAT,
                         "%s: tensor 'lm_head.weight' differs from the token embedding: the output layer is untied, "
                         "which parrot's GPT-2 (output tied to wte) cannot represent", file);
            goto done;
        }
    } else if (!tied) {
        rc = pt_fail(e, PT_EFORMAT,
                     "%s: config.json says tie_word_embeddings false but there is no lm_head.weight", dir);
        goto done;
    }
done:
    free(head);
    files_close(&fs);
    return rc;
}

/* ---- the tokenizer ------------------------------------------------------------------------------- */

static int read_tokenizer(const char *dir, pt_hf_model *m, pt_err *e) {
    char *tj = pt_path_join(dir, "tokenizer.json"), *vj = pt_path_join(dir, "vocab.json"),
         *mt = pt_path_join(dir, "merges.txt");
    pt_buf text = {0};
    pt_bpe *t = NULL;
    int rc = tj && vj && mt ? PT_OK : pt_fail(e, PT_ENOMEM, "out of memory");
    if (rc) goto done;
    if (pt_fs_exists(tj)) {
        if ((rc = pt_fs_read_all(tj, &text, e)) || (rc = pt_bpe_load_hf_mem(&t, text.data, text.len, tj, e))) goto done;
        m->tok = text.data, m->tok_len = text.len, text.data = NULL;
        m->tok_source = "tokenizer.json";
    } else if (pt_fs_exists(vj) && pt_fs_exists(mt)) {
        if ((rc = pt_bpe_load_gpt2(&t, vj, mt, e)) || (rc = pt_bpe_to_hf_json(t, &text, e))) goto done;
        m->tok = text.data, m->tok_len = text.len, text.data = NULL;
        m->tok_source = "vocab.json + merges.txt";
    } else {
        goto done; /* no tokenizer: pt_hf_import says so */
    }
    uint32_t V = pt_bpe_vocab_size(t);
    if (V > (uint32_t)m->cfg.vocab_size) {
        rc = pt_fail(e, PT_EFORMAT, "%s: the tokenizer has %u ids but config.json's vocab_size is %d",
                     m->tok_source[0] == 't' ? tj : vj, V, m->cfg.vocab_size);
        goto done;
    }
    if (V < (uint32_t)m->cfg.vocab_size)
        note(m, "The tokenizer has %u ids, the embedding %d rows (a padded vocabulary): `parrot train --init-from` "
                "wants data packed with a tokenizer of the model's size.", V, m->cfg.vocab_size);
done:
    pt_bpe_free(t);
    pt_buf_free(&text);
    free(tj), free(vj), free(mt);
    return rc;
}

/* ---- entry points ---------------------------------------------------------------------------------- */

void pt_hf_model_free(pt_hf_model *m) {
    if (!m) return;
    free(m->params);
    free(m->tok);
    memset(m, 0, sizeof *m);
}

int pt_hf_load(const char *dir, pt_hf_model *m, pt_err *e) {
    memset(m, 0, sizeof *m);
    int tied = 1;
    int rc = read_config(dir, m, &tied, e);
    if (!rc) rc = read_weights(dir, m, tied, e);
    if (!rc) rc = read_tokenizer(dir, m, e);
    if (rc) pt_hf_model_free(m);
    return rc;
}

int pt_hf_import(const char *dir, const char *out, int force, pt_hf_model *m, pt_err *e) {
    memset(m, 0, sizeof *m);
    if (!force && pt_fs_exists(out)) return pt_fail(e, PT_EEXIST, "%s exists (--force replaces it)", out);
    if (pt_fs_is_dir(out)) return pt_fail(e, PT_EUSAGE, "%s is a folder: name the checkpoint file to write", out);
    PT_TRY(pt_hf_load(dir, m, e));
    int rc = PT_OK;
    if (!m->tok) {
        rc = pt_fail(e, PT_EFORMAT, "%s: no tokenizer (tokenizer.json, or vocab.json + merges.txt): a parrot "
                                    "checkpoint carries its tokenizer", dir);
    } else {
        pt_ckpt_state st = {.cfg = m->cfg,
                            .optim = pt_optim_defaults(),
                            .batch_size = 1,
                            .seq_len = m->cfg.n_positions,
                            .grad_accum = 1,
                            .nranks = 1,
                            .loss = NAN,
                            .eval_loss = NAN};
        rc = pt_ckpt_write(out, &st, m->params, NULL, NULL, m->n, m->tok, m->tok_len, e);
    }
    if (rc) pt_hf_model_free(m);
    return rc;
}
