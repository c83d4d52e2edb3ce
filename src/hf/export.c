/* export.c - a parrot checkpoint as a Hugging Face model folder; see export.h. */
#include "hf/export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/jsonw.h"
#include "hf/safetensors.h"
#include "tok/bpe.h"
#include "tok/tokfile.h"
#include "tok/tokwrite.h"

const pt_hf_name pt_hf_gpt2_names[PT_GPT2_NTENSORS] = {
    [PT_GPT2_WTE] = {"wte.weight", 0},
    [PT_GPT2_WPE] = {"wpe.weight", 0},
    [PT_GPT2_LN1W] = {"h.%d.ln_1.weight", 0},
    [PT_GPT2_LN1B] = {"h.%d.ln_1.bias", 0},
    [PT_GPT2_QKVW] = {"h.%d.attn.c_attn.weight", 1},
    [PT_GPT2_QKVB] = {"h.%d.attn.c_attn.bias", 0},
    [PT_GPT2_ATTPROJW] = {"h.%d.attn.c_proj.weight", 1},
    [PT_GPT2_ATTPROJB] = {"h.%d.attn.c_proj.bias", 0},
    [PT_GPT2_LN2W] = {"h.%d.ln_2.weight", 0},
    [PT_GPT2_LN2B] = {"h.%d.ln_2.bias", 0},
    [PT_GPT2_FCW] = {"h.%d.mlp.c_fc.weight", 1},
    [PT_GPT2_FCB] = {"h.%d.mlp.c_fc.bias", 0},
    [PT_GPT2_FCPROJW] = {"h.%d.mlp.c_proj.weight", 1},
    [PT_GPT2_FCPROJB] = {"h.%d.mlp.c_proj.bias", 0},
    [PT_GPT2_LNFW] = {"ln_f.weight", 0},
    [PT_GPT2_LNFB] = {"ln_f.bias", 0},
};

void pt_hf_tensor_name(char *buf, size_t cap, int i, int layer, int prefix) {
    char tmp[64];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(tmp, sizeof tmp, pt_hf_gpt2_names[i].fmt, layer);
#pragma GCC diagnostic pop
    snprintf(buf, cap, "%s%s", prefix ? "transformer." : "", tmp);
}

/* ---- the tokenizer's facts -------------------------------------------------------------- */

#define EOT "<|endoftext|>"

/* The id of the token whose bytes are s (byte-level or added), or -1. */
static int find_token(const pt_bpe *t, const char *s) {
    size_t n = strlen(s);
    uint32_t id = pt_bpe_lookup(t, s, n);
    if (id != PT_BPE_NONE) return (int)id;
    for (uint32_t i = 0, V = pt_bpe_vocab_size(t); i < V; i++) {
        size_t len;
        const unsigned char *b = pt_bpe_token(t, i, &len, NULL);
        if (b && len == n && !memcmp(b, s, n)) return (int)i;
    }
    return -1;
}

/* ---- the JSON files ----------------------------------------------------------------------- */

static int write_buf(const char *dir, const char *name, const pt_buf *b, pt_err *e) {
    char *p = pt_path_join(dir, name);
    if (!p) return pt_fail(e, PT_ENOMEM, "out of memory");
    int rc = pt_fs_write_atomic(p, b->data, b->len, e);
    free(p);
    return rc;
}

static int config_json(pt_buf *b, const pt_gpt2_config *c, int eos, int dtype, pt_err *e) {
    char id[16] = "null";
    if (eos >= 0) snprintf(id, sizeof id, "%d", eos);
    return pt_buf_printf(
        b, e,
        "{\n  \"activation_function\": \"gelu_new\",\n  \"architectures\": [\"GPT2LMHeadModel\"],\n"
        "  \"attn_pdrop\": 0.0,\n  \"bos_token_id\": %s,\n  \"embd_pdrop\": 0.0,\n  \"eos_token_id\": %s,\n"
        "  \"initializer_range\": 0.02,\n  \"layer_norm_epsilon\": 1e-05,\n  \"model_type\": \"gpt2\",\n"
        "  \"n_ctx\": %d,\n  \"n_embd\": %d,\n  \"n_head\": %d,\n  \"n_inner\": null,\n  \"n_layer\": %d,\n"
        "  \"n_positions\": %d,\n  \"reorder_and_upcast_attn\": %s,\n  \"resid_pdrop\": 0.0,\n"
        "  \"scale_attn_by_inverse_layer_idx\": %s,\n  \"scale_attn_weights\": true,\n"
        "  \"summary_activation\": null,\n  \"summary_first_dropout\": 0.0,\n  \"summary_proj_to_labels\": true,\n"
        "  \"summary_type\": \"cls_index\",\n  \"summary_use_proj\": true,\n  \"tie_word_embeddings\": true,\n"
        "  \"torch_dtype\": \"%s\",\n  \"use_cache\": true,\n  \"vocab_size\": %d\n}\n",
        id, id, c->n_positions, c->n_embd, c->n_head, c->n_layer, c->n_positions,
        c->reorder_and_upcast_attn ? "true" : "false", c->scale_attn_by_inverse_layer_idx ? "true" : "false",
        dtype == PT_ST_BF16 ? "bfloat16" : dtype == PT_ST_F16 ? "float16" : "float32", c->vocab_size);
}

static int generation_json(pt_buf *b, int eos, pt_err *e) {
    if (eos < 0) return pt_buf_printf(b, e, "{\n  \"_from_model_config\": true\n}\n");
    return pt_buf_printf(b, e, "{\n  \"_from_model_config\": true,\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d\n}\n",
                         eos, eos);
}

static int special_map_json(pt_buf *b, int eos, pt_err *e) {
    if (eos < 0) return pt_buf_printf(b, e, "{}\n");
    return pt_buf_printf(b, e, "{\n  \"bos_token\": \"" EOT "\",\n  \"eos_token\": \"" EOT "\",\n  \"unk_token\": \"" EOT
                               "\"\n}\n");
}

static int tokenizer_config_json(pt_buf *b, const pt_bpe *t, int eos, int n_positions, pt_err *e) {
    PT_TRY(pt_buf_printf(b, e, "{\n  \"add_bos_token\": false,\n  \"add_prefix_space\": %s,\n  \"added_tokens_decoder\": {",
                         pt_bpe_get_options(t).add_prefix_space ? "true" : "false"));
    int first = 1;
    for (uint32_t i = 0, V = pt_bpe_vocab_size(t); i < V; i++) {
        size_t len;
        unsigned flags;
        const unsigned char *s = pt_bpe_token(t, i, &len, &flags);
        if (!s || !(flags & PT_BPE_TOKEN_ADDED)) continue;
        int special = (flags & PT_BPE_TOKEN_SPECIAL) != 0;
        PT_TRY(pt_buf_printf(b, e, "%s\n    \"%u\": {\n      \"content\": ", first ? "" : ",", i));
        PT_TRY(pt_jsonw_str(b, (const char *)s, len, e));
        PT_TRY(pt_buf_printf(b, e,
                             ",\n      \"lstrip\": false,\n      \"normalized\": %s,\n      \"rstrip\": false,\n"
                             "      \"single_word\": false,\n      \"special\": %s\n    }",
                             special ? "false" : "true", special ? "true" : "false"));
        first = 0;
    }
    PT_TRY(pt_buf_printf(b, e, "%s},\n", first ? "" : "\n  "));
    if (eos >= 0)
        PT_TRY(pt_buf_printf(b, e, "  \"bos_token\": \"" EOT "\",\n  \"eos_token\": \"" EOT "\",\n  \"unk_token\": \"" EOT
                                   "\",\n"));
    return pt_buf_printf(b, e,
                         "  \"clean_up_tokenization_spaces\": false,\n  \"errors\": \"replace\",\n"
                         "  \"model_max_length\": %d,\n  \"tokenizer_class\": \"GPT2Tokenizer\"\n}\n",
                         n_positions);
}

/* ---- the model card ------------------------------------------------------------------------- */

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Best effort, for the card: the packed data's manifest (tokens and documents per split). Nothing is
 * written when DATA/manifest.json is absent or not parrot's. */
static int card_data(pt_buf *b, const char *data, pt_err *e) {
    char *p = data ? pt_path_join(data, "manifest.json") : NULL;
    pt_buf text = {0};
    pt_json_doc *doc = NULL;
    int rc = PT_OK;
    if (p && pt_fs_exists(p) && !pt_fs_read_all(p, &text, NULL) && !pt_json_parse(text.data, text.len, &doc, NULL)) {
        const pt_json *r = pt_json_root(doc), *sp = pt_json_get(r, "splits");
        const char *fmt = pt_json_str(pt_json_get(r, "format"), NULL);
        const char *corpus = pt_json_str(pt_json_get(pt_json_get(r, "corpus"), "path"), NULL);
        if (fmt && !strcmp(fmt, "parrot-data") && sp) {
            rc = pt_buf_printf(b, e, "Data `%s` (packed from the corpus `%s`):\n\n| split | documents | tokens |\n"
                                     "| --- | --- | --- |\n", data, corpus ? corpus : "?");
            for (size_t i = 0; i < pt_json_len(sp) && !rc; i++) {
                int64_t docs = -1, toks = -1;
                pt_json_int64(pt_json_get(pt_json_val(sp, i), "docs"), &docs);
                pt_json_int64(pt_json_get(pt_json_val(sp, i), "tokens"), &toks);
                rc = pt_buf_printf(b, e, "| %s | %lld | %lld |\n", pt_json_key(sp, i, NULL), (long long)docs,
                                   (long long)toks);
            }
            if (!rc) rc = pt_buf_printf(b, e, "\n");
        }
    }
    pt_json_free(doc);
    pt_buf_free(&text);
    free(p);
    return rc;
}

/* Best effort: the evaluations of the run, from metrics.jsonl beside the checkpoint (steps up to the
 * checkpoint's; the last 20). */
static int card_evals(pt_buf *b, const char *ckpt_path, int64_t step, pt_err *e) {
    char *dir = strdup(ckpt_path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (!dir) return pt_fail(e, PT_ENOMEM, "out of memory");
    if (slash) *slash = 0;
    char *p = pt_path_join(slash ? dir : ".", "metrics.jsonl");
    pt_buf text = {0};
    int rc = PT_OK, nrows = 0;
    struct { int64_t step; double loss; } rows[20];
    if (p && pt_fs_exists(p) && !pt_fs_read_all(p, &text, NULL)) {
        for (char *line = text.data, *end; line && *line; line = end ? end + 1 : NULL) {
            end = strchr(line, '\n');
            pt_json_doc *doc = NULL;
            if (pt_json_parse(line, end ? (size_t)(end - line) : strlen(line), &doc, NULL)) continue;
            const pt_json *r = pt_json_root(doc), *el = pt_json_get(r, "eval_loss");
            int64_t s;
            if (pt_json_type(el) == PT_JSON_NUMBER && pt_json_int64(pt_json_get(r, "step"), &s) && s <= step) {
                if (nrows == 20) memmove(rows, rows + 1, sizeof rows[0] * 19), nrows--;
                rows[nrows].step = s, rows[nrows++].loss = pt_json_num(el);
            }
            pt_json_free(doc);
        }
    }
    if (nrows) {
        rc = pt_buf_printf(b, e, "Validation loss during the run (`metrics.jsonl`):\n\n| step | loss | perplexity |\n"
                                 "| --- | --- | --- |\n");
        for (int i = 0; i < nrows && !rc; i++)
            rc = pt_buf_printf(b, e, "| %lld | %.4f | %.2f |\n", (long long)rows[i].step, rows[i].loss,
                               exp(rows[i].loss));
        if (!rc) rc = pt_buf_printf(b, e, "\n");
    }
    pt_buf_free(&text);
    free(p), free(dir);
    return rc;
}

/* Best effort: `parrot eval humaneval --model`'s record beside the checkpoint (pt_ckpt_sidecar). */
static int card_humaneval(pt_buf *b, const char *ckpt_path, pt_err *e) {
    char *p = pt_ckpt_sidecar(ckpt_path, ".humaneval.json");
    if (!p) return pt_fail(e, PT_ENOMEM, "out of memory");
    pt_buf text = {0};
    pt_json_doc *doc = NULL;
    int rc = PT_OK;
    if (pt_fs_exists(p) && !pt_fs_read_all(p, &text, NULL) && !pt_json_parse(text.data, text.len, &doc, NULL)) {
        const pt_json *r = pt_json_root(doc), *g = pt_json_get(r, "generation"), *s = pt_json_get(r, "summary");
        const pt_json *pk = pt_json_get(s, "pass@k");
        int64_t problems = 0, attempted = 0, n = 0;
        pt_json_int64(pt_json_get(s, "problems"), &problems);
        pt_json_int64(pt_json_get(s, "attempted"), &attempted);
        pt_json_int64(pt_json_get(g, "n_samples"), &n);
        if (pt_json_type(pk) == PT_JSON_OBJECT && pt_json_len(pk)) {
            rc = pt_buf_printf(b, e, "HumanEval (`parrot eval humaneval --model`, the unit tests run in a sandbox%s): "
                               "%lld problems of %lld selected, %lld samples each, temperature %g, top-p %g, at most "
                               "%lld new tokens:\n\n"
                               "| metric | value |\n| --- | --- |\n",
                               pt_json_bool(pt_json_get(s, "isolated")) == 1 ? "" : " with partial isolation",
                               (long long)attempted, (long long)problems,
                               (long long)n, pt_json_num(pt_json_get(g, "temperature")),
                               pt_json_num(pt_json_get(g, "top_p")),
                               (long long)pt_json_num(pt_json_get(g, "max_new_tokens")));
            for (size_t i = 0; i < pt_json_len(pk) && !rc; i++)
                rc = pt_buf_printf(b, e, "| %s | %.4f |\n", pt_json_key(pk, i, NULL), pt_json_num(pt_json_val(pk, i)));
            if (!rc) rc = pt_buf_printf(b, e, "\n");
        }
    }
    pt_json_free(doc);
    pt_buf_free(&text);
    free(p);
    return rc;
}

static int model_card(pt_buf *b, const pt_ckpt *c, const char *dir, const pt_bpe *t, size_t nparams, int dtype,
                      pt_err *e) {
    const pt_ckpt_state *st = &c->st;
    const pt_gpt2_config *g = &st->cfg;
    const pt_optim_cfg *o = &st->optim;
    size_t len;
    const char *ver = pt_json_str(pt_json_get(pt_json_root(c->meta), "parrot_version"), &len);
    char hash[33];
    pt_hash128_hex(pt_bpe_hash(t), hash);
    PT_TRY(pt_buf_printf(b, e,
                         "---\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n- gpt2\n- parrot\n"
                         "- code\n---\n\n# %s\n\n"
                         "A GPT-2 language model (`GPT2LMHeadModel`) written by `parrot export hf` from the parrot "
                         "checkpoint `%s`. parrot is a C implementation of CodeParrot's pipeline (corpus, tokenizer, "
                         "training). This card says what the checkpoint records; nothing else is known about the "
                         "model.\n\n## Architecture\n\n"
                         "| layers | width | heads | context | vocabulary | parameters |\n"
                         "| --- | --- | --- | --- | --- | --- |\n| %d | %d | %d | %d | %d | %zu |\n\n"
                         "Activation `gelu_new` (tanh approximation), LayerNorm epsilon 1e-5, output layer tied to "
                         "the token embedding, no dropout in training; `scale_attn_by_inverse_layer_idx` %s, "
                         "`reorder_and_upcast_attn` %s. Weights stored as %s.\n\n",
                         base_name(dir), c->path, g->n_layer, g->n_embd, g->n_head, g->n_positions, g->vocab_size,
                         nparams, g->scale_attn_by_inverse_layer_idx ? "on" : "off",
                         g->reorder_and_upcast_attn ? "on" : "off", pt_st_dtype_name(dtype)));
    PT_TRY(pt_buf_printf(b, e, "## Training\n\n"));
    if (st->step == 0) {
        PT_TRY(pt_buf_printf(b, e, "The checkpoint records no training step (step 0): its weights were imported or "
                                   "initialized, not trained by parrot.\n\n"));
    } else {
        char clip[48] = "off";
        if (o->grad_clip > 0) snprintf(clip, sizeof clip, "global L2 norm %g", o->grad_clip);
        long long per_step = (long long)st->batch_size * st->seq_len * st->grad_accum * st->nranks;
        PT_TRY(pt_buf_printf(b, e,
                             "| | |\n| --- | --- |\n| optimizer steps | %lld |\n| tokens seen | %llu |\n"
                             "| batch | %d sequences x %d tokens x %d accumulation x %d ranks = %lld tokens per step |\n"
                             "| optimizer | AdamW, lr %g, betas (%g, %g), eps %g, weight decay %g (matrices and "
                             "embeddings) |\n| schedule | cosine, %lld warm-up steps, %lld steps, minimum lr %g |\n"
                             "| gradient clipping | %s |\n| seed | %llu |\n| data | `%s` |\n| parrot version | %s |\n\n",
                             (long long)st->step, (unsigned long long)st->tokens, st->batch_size, st->seq_len,
                             st->grad_accum, st->nranks, per_step, o->lr, o->beta1, o->beta2, o->eps,
                             o->weight_decay, (long long)o->warmup_steps, (long long)o->max_steps, o->min_lr,
                             clip,
                             (unsigned long long)st->seed,
                             st->data ? st->data : "(not recorded)", ver ? ver : "(not recorded)"));
        PT_TRY(card_data(b, st->data, e));
    }
    PT_TRY(pt_buf_printf(b, e, "## Evaluation\n\n"));
    if (isfinite(st->loss) || isfinite(st->eval_loss)) {
        PT_TRY(pt_buf_printf(b, e, "| | loss (nats/token) | perplexity |\n| --- | --- | --- |\n"));
        if (isfinite(st->loss))
            PT_TRY(pt_buf_printf(b, e, "| last training step | %.4f | %.2f |\n", st->loss, exp(st->loss)));
        if (isfinite(st->eval_loss))
            PT_TRY(pt_buf_printf(b, e, "| validation split | %.4f | %.2f |\n", st->eval_loss, exp(st->eval_loss)));
        PT_TRY(pt_buf_printf(b, e, "\n"));
    } else {
        PT_TRY(pt_buf_printf(b, e, "The checkpoint records no loss.\n\n"));
    }
    PT_TRY(card_evals(b, c->path, st->step, e));
    PT_TRY(card_humaneval(b, c->path, e));
    PT_TRY(pt_buf_printf(b, e,
                         "## Tokenizer\n\nByte-level BPE (GPT-2's scheme): %u ids, %u merges, add_prefix_space %s; "
                         "parrot tokenizer hash `%s`.\n\n",
                         pt_bpe_vocab_size(t), pt_bpe_merge_count(t),
                         pt_bpe_get_options(t).add_prefix_space ? "on" : "off", hash));
    return pt_buf_printf(b, e,
                         "## Use\n\n```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
                         "tok = AutoTokenizer.from_pretrained(\"%s\")\nmodel = AutoModelForCausalLM.from_pretrained(\"%s\")\n"
                         "ids = tok(\"def fib(n):\", return_tensors=\"pt\").input_ids\n"
                         "print(tok.decode(model.generate(ids, max_new_tokens=32, do_sample=False)[0]))\n```\n\n"
                         "`parrot import hf` reads this folder back into a parrot checkpoint.\n",
                         base_name(dir), base_name(dir));
}

/* ---- the weights ------------------------------------------------------------------------------ */

/* Adds every tensor of the layout to w, in Hugging Face's order (wte, wpe, layer by layer, ln_f). */
static int add_weights(pt_st_writer *w, const pt_gpt2_config *g, const float *params, int dtype, size_t *count,
                       pt_err *e) {
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    pt_gpt2_layout(g, t);
    char name[96];
    *count = 0;
    for (int pass = 0; pass < 3; pass++) { /* 0: embeddings, 1: layers, 2: final LayerNorm */
        for (int l = 0; l < (pass == 1 ? g->n_layer : 1); l++) {
            for (int i = 0; i < PT_GPT2_NTENSORS; i++) {
                int stacked = strchr(pt_hf_gpt2_names[i].fmt, '%') != NULL;
                int which = i <= PT_GPT2_WPE ? 0 : stacked ? 1 : 2;
                if (which != pass) continue;
                int first = stacked ? 1 : 0; /* shape[first..ndim) is one layer's */
                int64_t shape[2];
                int nd = t[i].ndim - first;
                size_t numel = 1;
                for (int d = 0; d < nd; d++) shape[d] = t[i].shape[first + d], numel *= (size_t)shape[d];
                unsigned flags = 0;
                if (pt_hf_gpt2_names[i].conv1d) {
                    int64_t s0 = shape[0];
                    shape[0] = shape[1], shape[1] = s0; /* [in, out]; the data is its transpose */
                    flags = PT_ST_TRANSPOSE;
                }
                pt_hf_tensor_name(name, sizeof name, i, l, 1);
                PT_TRY(pt_st_writer_add_f32(w, name, dtype, nd, shape, params + t[i].offset + (size_t)l * numel, flags,
                                            e));
                ++*count;
            }
        }
    }
    return PT_OK;
}

/* Reads path back with the validating reader and compares every tensor with the weights. */
static int verify_weights(const char *path, const pt_gpt2_config *g, const float *params, int dtype, size_t count,
                          pt_err *e) {
    pt_st *f;
    PT_TRY(pt_st_open(&f, path, e));
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    pt_gpt2_layout(g, t);
    size_t cap = 0;
    for (int i = 0; i < PT_GPT2_NTENSORS; i++) {
        size_t n = t[i].numel / (strchr(pt_hf_gpt2_names[i].fmt, '%') ? (size_t)g->n_layer : 1);
        if (n > cap) cap = n;
    }
    float *buf = pt_malloc(cap * sizeof(float), e);
    int rc = buf ? PT_OK : e->code;
    if (!rc && pt_st_count(f) != count)
        rc = pt_fail(e, PT_EINTERNAL, "%s: %zu tensors written, %zu read back", path, count, pt_st_count(f));
    const char *meta = pt_st_meta(f, "format");
    if (!rc && (!meta || strcmp(meta, "pt")))
        rc = pt_fail(e, PT_EINTERNAL, "%s: __metadata__ lacks format \"pt\"", path);
    char name[96];
    for (int i = 0; i < PT_GPT2_NTENSORS && !rc; i++) {
        int stacked = strchr(pt_hf_gpt2_names[i].fmt, '%') != NULL;
        for (int l = 0; l < (stacked ? g->n_layer : 1) && !rc; l++) {
            size_t n = t[i].numel / (stacked ? (size_t)g->n_layer : 1);
            const float *want = params + t[i].offset + (size_t)l * n;
            pt_hf_tensor_name(name, sizeof name, i, l, 1);
            const pt_st_tensor *x = pt_st_find(f, name);
            if (!x || x->dtype != dtype || x->numel != n) {
                rc = pt_fail(e, PT_EINTERNAL, "%s: tensor '%s' missing or of the wrong dtype or size", path, name);
                break;
            }
            if ((rc = pt_st_to_f32(x, buf, pt_hf_gpt2_names[i].conv1d ? PT_ST_TRANSPOSE : 0, e))) break;
            for (size_t k = 0; k < n; k++) {
                float v = want[k];
                if (dtype == PT_ST_BF16) v = pt_st_bf16_to_f32(pt_st_f32_to_bf16(v));
                else if (dtype == PT_ST_F16) v = pt_st_f16_to_f32(pt_st_f32_to_f16(v));
                if (memcmp(&v, &buf[k], sizeof v)) {
                    rc = pt_fail(e, PT_EINTERNAL, "%s: tensor '%s' element %zu reads back as %g, written %g", path,
                                 name, k, buf[k], v);
                    break;
                }
            }
        }
    }
    free(buf);
    pt_st_close(f);
    return rc;
}

/* ---- the folder ------------------------------------------------------------------------------- */

static int write_all(const pt_ckpt *c, const char *final_dir, const char *dir, const pt_hf_export_opts *o,
                     pt_hf_export_info *info, pt_err *e) {
    const pt_gpt2_config *g = &c->st.cfg;
    pt_bpe *t = NULL;
    pt_st_writer *w = NULL;
    pt_buf b = {0};
    char *stp = NULL;
    int rc = pt_bpe_load_hf_mem(&t, c->tok, c->tok_len, "the checkpoint's tokenizer.json", e);
    if (rc) {
        pt_err_prefix(e, "%s", c->path);
        return rc;
    }
    if (pt_bpe_vocab_size(t) > (uint32_t)g->vocab_size) {
        rc = pt_fail(e, PT_EFORMAT, "%s: the tokenizer has %u ids but the model only %d", c->path,
                     pt_bpe_vocab_size(t), g->vocab_size);
        goto done;
    }
    int eos = find_token(t, EOT);
    info->eos_id = eos;
    pt_gpt2_tensor lay[PT_GPT2_NTENSORS];
    size_t nparams = pt_gpt2_layout(g, lay);
    if (nparams != c->n) {
        rc = pt_fail(e, PT_EFORMAT, "%s: %zu weights, the config's layout has %zu", c->path, c->n, nparams);
        goto done;
    }
    if ((rc = config_json(&b, g, eos, o->dtype, e)) || (rc = write_buf(dir, "config.json", &b, e))) goto done;
    pt_buf_clear(&b);
    if ((rc = generation_json(&b, eos, e)) || (rc = write_buf(dir, "generation_config.json", &b, e))) goto done;
    pt_buf_clear(&b);
    if ((rc = special_map_json(&b, eos, e)) || (rc = write_buf(dir, "special_tokens_map.json", &b, e))) goto done;
    pt_buf_clear(&b);
    if ((rc = tokenizer_config_json(&b, t, eos, g->n_positions, e)) ||
        (rc = write_buf(dir, "tokenizer_config.json", &b, e)))
        goto done;
    pt_buf_clear(&b);
    pt_buf tokb = {.data = (char *)c->tok, .len = c->tok_len};
    if ((rc = write_buf(dir, "tokenizer.json", &tokb, e)) || (rc = pt_bpe_save_gpt2_files(t, dir, e))) goto done;
    if ((rc = model_card(&b, c, final_dir, t, nparams, o->dtype, e)) || (rc = write_buf(dir, "README.md", &b, e)))
        goto done;
    if (!(stp = pt_path_join(dir, "model.safetensors"))) {
        rc = pt_fail(e, PT_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = pt_st_writer_new(&w, e)) || (rc = pt_st_writer_meta(w, "format", "pt", e)) ||
        (rc = add_weights(w, g, c->params, o->dtype, &info->tensors, e)) || (rc = pt_st_writer_write(w, stp, e)) ||
        (rc = verify_weights(stp, g, c->params, o->dtype, info->tensors, e)))
        goto done;
    info->bytes = (unsigned long long)pt_fs_size(stp);
done:
    free(stp);
    pt_buf_free(&b);
    pt_st_writer_free(w);
    pt_bpe_free(t);
    return rc;
}

/* 1 when dir may be replaced by --force: a folder that is empty or holds a config.json (a model folder).
 * Anything else (a run folder, a home directory, a file) is never deleted by an export. */
static int replaceable(const char *dir) {
    if (!pt_fs_is_dir(dir)) return 0;
    char *cfg = pt_path_join(dir, "config.json");
    int ok = cfg && pt_fs_exists(cfg);
    free(cfg);
    if (ok) return 1;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}

int pt_hf_export(const pt_ckpt *c, const char *dir_arg, const pt_hf_export_opts *o, pt_hf_export_info *info,
                 pt_err *e) {
    pt_hf_export_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    if (o->dtype != PT_ST_F32 && o->dtype != PT_ST_BF16 && o->dtype != PT_ST_F16)
        return pt_fail(e, PT_EUSAGE, "export dtype must be F32, BF16 or F16");
    size_t n = strlen(dir_arg);
    while (n > 1 && dir_arg[n - 1] == '/') n--;
    char *dir = pt_malloc(n + 1, e), *tmp = pt_malloc(n + 32, e), *old = pt_malloc(n + 32, e);
    int rc = dir && tmp && old ? PT_OK : PT_ENOMEM;
    if (rc) goto done;
    memcpy(dir, dir_arg, n), dir[n] = 0;
    snprintf(tmp, n + 32, "%s.tmp-%ld", dir, (long)getpid());
    snprintf(old, n + 32, "%s.old-%ld", dir, (long)getpid());
    int exists = pt_fs_exists(dir);
    if (exists && !o->force) {
        rc = pt_fail(e, PT_EEXIST, "%s exists (--force replaces it)", dir);
        goto done;
    }
    if (exists && !replaceable(dir)) {
        rc = pt_fail(e, PT_EEXIST, "%s exists and is not a model folder (no config.json): not replacing it", dir);
        goto done;
    }
    if ((rc = pt_fs_rm_rf(tmp, e)) || (rc = pt_fs_mkdir_p(tmp, e))) goto done;
    if ((rc = write_all(c, dir, tmp, o, info, e))) {
        pt_fs_rm_rf(tmp, NULL);
        goto done;
    }
    /* Replace: move the old folder aside, the new one in, then delete the old one. */
    if (exists && rename(dir, old)) {
        rc = pt_fail_errno(e, PT_EIO, "%s: cannot move the existing folder aside", dir);
        pt_fs_rm_rf(tmp, NULL);
        goto done;
    }
    if (rename(tmp, dir)) {
        rc = pt_fail_errno(e, PT_EIO, "%s: cannot rename %s into place", dir, tmp);
        if (exists && rename(old, dir)) { /* put the old one back; if even that fails, say where it is */
            pt_err_prefix(e, "the previous folder is left at %s", old);
        }
        pt_fs_rm_rf(tmp, NULL);
        goto done;
    }
    if (exists) pt_fs_rm_rf(old, NULL);
done:
    free(dir), free(tmp), free(old);
    return rc;
}
