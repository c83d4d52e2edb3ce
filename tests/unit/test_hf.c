/* test_hf.c - Hugging Face export and import (hf/export.h, hf/import.h).
 *
 * - The golden model: a 1-layer, 4-wide, 2-head GPT-2 over 6 ids, its weights written below in
 *   Hugging Face's Conv1D layout ([in, out]), and its logits for 4 tokens computed in float64 by
 *   the hand-written PyTorch GPT-2 of tools/gpt2_ref_hf.py (`gpt2_ref_hf.py golden` prints this
 *   block). Import + pt_gpt2_logits (reference kernels) must give those logits: a consistent
 *   transpose error, which a round trip cannot see, fails here (and golden_sees_transpose shows
 *   that a transposed square c_proj is caught). The same folder in F16, BF16, without the
 *   "transformer." prefix, and split into shards imports to the same bits.
 * - Round trip: export then import gives bit-identical weights and the same tokenizer (hash);
 *   BF16 export gives the BF16-rounded weights; GPT-2's vocab.json + merges.txt import as its
 *   tokenizer.json does.
 * - Hostile folders: each refused with a message naming the file and the tensor or key.
 *
 * Driver mode for tests/e2e/hf.sh (parrot's logits for given tokens, compared there with
 * PyTorch and transformers):
 *     test_hf --logits CKPT N ID...   prints "ids ID...", "greedy G..." (N greedy tokens), then
 *                                     one line of V logits per position
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "hf/export.h"
#include "hf/import.h"
#include "hf/safetensors.h"
#include "model/gpt2.h"
#include "model/kernels.h"
#include "test.h"
#include "tok/bpe.h"
#include "tok/tokfile.h"
#include "train/ckpt.h"
#include "train/optim.h"

/* ---- the golden model (tools/gpt2_ref_hf.py golden) ------------------------------------------ */

static const float g_wte_weight[24] = { /* [6, 4] */
    0.75f, 0.125f, -1.0f, 0.625f, 0.5f, 0.75f, -0.5f, -0.875f, 0.5f, -0.5f, -0.375f, 0.875f, -1.0f, -0.125f,
    -0.875f, -1.0f, -0.75f, 0.75f, 0.875f, 0.375f, 0.75f, 0.625f, 0.375f, -1.0f};
static const float g_wpe_weight[16] = { /* [4, 4] */
    -0.625f, 0.25f, -0.125f, -0.75f, -1.0f, -0.5f, -0.125f, -0.125f, 0.125f, 0.25f, 0.25f, -0.875f, -0.875f,
    1.0f, -0.875f, -0.75f};
static const float g_h_0_ln_1_weight[4] = { /* [4] */
    1.3125f, 1.0625f, 1.0625f, 1.4375f};
static const float g_h_0_ln_1_bias[4] = { /* [4] */
    0.375f, 0.875f, 0.0f, -0.25f};
static const float g_h_0_attn_c_attn_weight[48] = { /* [4, 12] */
    -1.0f, -0.125f, 1.0f, -0.375f, -0.875f, -0.75f, 0.625f, -0.625f, 0.875f, 0.125f, 0.75f, -0.75f, -0.875f,
    -0.5f, 0.25f, 0.25f, 0.125f, -0.25f, -0.625f, 0.25f, 1.0f, 0.25f, 0.75f, -0.125f, -0.5f, 0.0f, -0.875f,
    0.75f, 0.375f, 1.0f, 0.25f, 0.5f, -0.875f, -0.875f, 0.75f, 0.75f, -0.125f, 0.375f, 0.25f, 0.5f, -0.75f,
    1.0f, -0.5f, 0.125f, -0.25f, -0.75f, -0.25f, -0.375f};
static const float g_h_0_attn_c_attn_bias[12] = { /* [12] */
    0.875f, -0.75f, 0.125f, 1.0f, -0.625f, -0.75f, -0.125f, -0.875f, -0.25f, -0.125f, -1.0f, -0.875f};
static const float g_h_0_attn_c_proj_weight[16] = { /* [4, 4] */
    1.0f, -0.75f, -0.625f, -0.875f, 0.75f, -0.125f, -0.75f, 0.25f, -0.5f, -0.125f, 0.375f, 0.375f, 1.0f,
    -0.25f, 0.0f, -0.375f};
static const float g_h_0_attn_c_proj_bias[4] = { /* [4] */
    0.0f, -0.75f, -0.375f, -0.75f};
static const float g_h_0_ln_2_weight[4] = { /* [4] */
    0.6875f, 1.5f, 0.75f, 0.6875f};
static const float g_h_0_ln_2_bias[4] = { /* [4] */
    0.75f, 0.875f, 0.25f, 0.875f};
static const float g_h_0_mlp_c_fc_weight[64] = { /* [4, 16] */
    -1.0f, -0.625f, 1.0f, 1.0f, 0.125f, 0.0f, -0.5f, 0.5f, -0.25f, -0.875f, 0.375f, -0.125f, 0.875f, 0.375f,
    -0.375f, 0.25f, -0.25f, 0.875f, 0.0f, -0.625f, 0.0f, 0.75f, 0.625f, 0.875f, -0.125f, -0.25f, 0.375f,
    -0.25f, -0.625f, -0.75f, 1.0f, 1.0f, -0.5f, 0.0f, -0.5f, 0.0f, -0.5f, 0.25f, 0.25f, 1.0f, -0.625f,
    -1.0f, -0.5f, 0.125f, -0.75f, 0.75f, 0.75f, 0.125f, 0.625f, 0.75f, 0.625f, -0.5f, 0.875f, -0.375f,
    -0.875f, -0.375f, 0.375f, 0.75f, -0.875f, 0.25f, 0.75f, -0.25f, -0.375f, 0.25f};
static const float g_h_0_mlp_c_fc_bias[16] = { /* [16] */
    -0.375f, -0.125f, 0.375f, 1.0f, -0.875f, 0.125f, 0.75f, 0.375f, 0.5f, 0.125f, -0.5f, 1.0f, 0.25f,
    0.125f, 0.75f, -0.375f};
static const float g_h_0_mlp_c_proj_weight[64] = { /* [16, 4] */
    -1.0f, 1.0f, 0.25f, -0.5f, 0.25f, 0.875f, -0.5f, 0.375f, -0.5f, 0.375f, -1.0f, -1.0f, 0.625f, 0.5f,
    1.0f, 0.125f, 0.625f, -0.375f, -0.875f, 0.875f, 0.25f, 0.75f, -0.875f, 0.625f, 0.875f, -1.0f, -0.5f,
    1.0f, -0.875f, -0.25f, -0.75f, 0.875f, 1.0f, 0.0f, -1.0f, -0.375f, -0.875f, -0.25f, -0.375f, 0.25f,
    -0.875f, -1.0f, -1.0f, -0.75f, 0.25f, -0.125f, -0.125f, -0.75f, 0.5f, 0.375f, 0.125f, 0.375f, -0.375f,
    -0.375f, -0.875f, 0.375f, -0.875f, 1.0f, -0.5f, 1.0f, 0.25f, -0.75f, 1.0f, -1.0f};
static const float g_h_0_mlp_c_proj_bias[4] = { /* [4] */
    -0.25f, -0.125f, -0.25f, -0.625f};
static const float g_ln_f_weight[4] = { /* [4] */
    1.1875f, 1.0f, 1.4375f, 0.5625f};
static const float g_ln_f_bias[4] = { /* [4] */
    -1.0f, -0.125f, 0.375f, 0.625f};
static const int32_t g_ids[4] = {3, 1, 4, 5};
static const double g_logits[4 * 6] = {
    1.17031368, 1.08334173, 0.196429669, 0.162926006, -0.577362996, 0.455382295,
    1.42932516, 0.833216857, 0.678060895, -0.220333012, -1.14433387, 0.339052805,
    1.09961825, 0.716600526, 0.540615094, -0.384261902, -0.979627748, 0.483965959,
    1.41855672, 0.983723367, 0.514530021, -0.0197646888, -0.963758469, 0.363967796};

/* ---- folders built by hand ----------------------------------------------------------------------- */

static char g_tmp[64];

typedef struct entry {
    char name[96];
    int dtype;            /* written as (F32, F16 or BF16 from the floats; anything else as raw bytes) */
    int ndim;
    int64_t shape[4];
    const float *data;    /* in the shape given (Conv1D: [in, out]) */
    const void *raw;      /* raw bytes instead of data, for other dtypes */
    int skip;
} entry;

typedef struct folder {
    entry e[24];
    int n;
    char config[1024];
} folder;

static entry *add(folder *f, const char *name, const float *data, int ndim, int64_t d0, int64_t d1) {
    entry *x = &f->e[f->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "transformer.%s", name);
    x->dtype = PT_ST_F32, x->ndim = ndim, x->shape[0] = d0, x->shape[1] = d1, x->data = data;
    return x;
}

static entry *find(folder *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strstr(f->e[i].name, name)) return &f->e[i];
    return NULL;
}

static const float g_mask[16] = {1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1};
static const float g_masked_bias = -1e4f;

#define GOLDEN_CONFIG                                                                                \
    "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2LMHeadModel\"], \"n_layer\": 1, \"n_embd\": 4, " \
    "\"n_head\": 2, \"n_positions\": 4, \"n_ctx\": 4, \"vocab_size\": 6, \"n_inner\": null, "         \
    "\"activation_function\": \"gelu_new\", \"layer_norm_epsilon\": 1e-05}"

/* The golden folder as transformers would save it: with the attention-mask buffers and lm_head. */
static void golden_folder(folder *f) {
    memset(f, 0, sizeof *f);
    snprintf(f->config, sizeof f->config, "%s", GOLDEN_CONFIG);
    add(f, "wte.weight", g_wte_weight, 2, 6, 4);
    add(f, "wpe.weight", g_wpe_weight, 2, 4, 4);
    add(f, "h.0.ln_1.weight", g_h_0_ln_1_weight, 1, 4, 0);
    add(f, "h.0.ln_1.bias", g_h_0_ln_1_bias, 1, 4, 0);
    entry *m = add(f, "h.0.attn.bias", g_mask, 4, 1, 1);
    m->shape[2] = m->shape[3] = 4;
    add(f, "h.0.attn.masked_bias", &g_masked_bias, 0, 0, 0);
    add(f, "h.0.attn.c_attn.weight", g_h_0_attn_c_attn_weight, 2, 4, 12);
    add(f, "h.0.attn.c_attn.bias", g_h_0_attn_c_attn_bias, 1, 12, 0);
    add(f, "h.0.attn.c_proj.weight", g_h_0_attn_c_proj_weight, 2, 4, 4);
    add(f, "h.0.attn.c_proj.bias", g_h_0_attn_c_proj_bias, 1, 4, 0);
    add(f, "h.0.ln_2.weight", g_h_0_ln_2_weight, 1, 4, 0);
    add(f, "h.0.ln_2.bias", g_h_0_ln_2_bias, 1, 4, 0);
    add(f, "h.0.mlp.c_fc.weight", g_h_0_mlp_c_fc_weight, 2, 4, 16);
    add(f, "h.0.mlp.c_fc.bias", g_h_0_mlp_c_fc_bias, 1, 16, 0);
    add(f, "h.0.mlp.c_proj.weight", g_h_0_mlp_c_proj_weight, 2, 16, 4);
    add(f, "h.0.mlp.c_proj.bias", g_h_0_mlp_c_proj_bias, 1, 4, 0);
    add(f, "ln_f.weight", g_ln_f_weight, 1, 4, 0);
    add(f, "ln_f.bias", g_ln_f_bias, 1, 4, 0);
    entry *h = add(f, "wte.weight", g_wte_weight, 2, 6, 4);
    strcpy(h->name, "lm_head.weight");
}

static void write_text(const char *dir, const char *name, const char *text) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    pt_err e = {0};
    CHECK_OK(pt_fs_write_atomic(p, text, strlen(text), &e), &e);
}

/* Writes the folder dir (removed first): config.json and the entries into model.safetensors, or
 * with shards > 1 into model-0000K-of-0000N.safetensors + model.safetensors.index.json. */
static void write_folder(const folder *f, const char *dir, int shards) {
    pt_err e = {0};
    pt_fs_rm_rf(dir, &e);
    CHECK_OK(pt_fs_mkdir_p(dir, &e), &e);
    write_text(dir, "config.json", f->config);
    pt_buf index = {0};
    pt_buf_printf(&index, &e, "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {");
    for (int s = 0; s < (shards > 1 ? shards : 1); s++) {
        pt_st_writer *w;
        CHECK_OK(pt_st_writer_new(&w, &e), &e);
        pt_st_writer_meta(w, "format", "pt", &e);
        char name[64], path[256];
        if (shards > 1) snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, shards);
        else snprintf(name, sizeof name, "model.safetensors");
        for (int i = 0; i < f->n; i++) {
            const entry *x = &f->e[i];
            if (x->skip || (shards > 1 && i % shards != s)) continue;
            if (x->raw) CHECK_OK(pt_st_writer_add(w, x->name, x->dtype, x->ndim, x->shape, x->raw, &e), &e);
            else CHECK_OK(pt_st_writer_add_f32(w, x->name, x->dtype, x->ndim, x->shape, x->data, 0, &e), &e);
            pt_buf_printf(&index, &e, "%s\"%s\": \"%s\"", index.data[index.len - 1] == '{' ? "" : ", ", x->name, name);
        }
        snprintf(path, sizeof path, "%s/%s", dir, name);
        CHECK_OK(pt_st_writer_write(w, path, &e), &e);
        pt_st_writer_free(w);
    }
    pt_buf_printf(&index, &e, "}}");
    if (shards > 1) write_text(dir, "model.safetensors.index.json", index.data);
    pt_buf_free(&index);
}

/* Replaces the text from with to in the folder's config.json. */
static void config_set(folder *f, const char *from, const char *to) {
    char *at = strstr(f->config, from), rest[1024];
    if (!at) {
        printf("  config has no %s\n", from);
        CHECK(0);
        return;
    }
    snprintf(rest, sizeof rest, "%s", at + strlen(from));
    snprintf(at, sizeof f->config - (size_t)(at - f->config), "%s%s", to, rest);
}

static char *sub(const char *name) {
    static char p[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", g_tmp, name);
    return p[k];
}

/* Logits [4, 6] of the golden tokens through a loaded model, reference kernels. */
static void golden_logits(const pt_hf_model *m, float *out) {
    pt_err e = {0};
    pt_gpt2 *g = NULL;
    CHECK_OK(pt_gpt2_create(&g, &m->cfg, &pt_kernels_ref, 1, 4, 0, &e), &e);
    if (!g) return;
    CHECK_EQ_U64(g->nparams, m->n);
    memcpy(g->params, m->params, m->n * sizeof(float));
    pt_gpt2_logits(g, g_ids, 1, 4, out);
    pt_gpt2_free(g);
}

static double golden_err(const float *got) {
    double worst = 0;
    for (int i = 0; i < 24; i++) worst = fmax(worst, fabs(got[i] - g_logits[i]) / (1e-3 + fabs(g_logits[i])));
    return worst;
}

/* ---- golden ----------------------------------------------------------------------------------------- */

TEST(golden_logits_match) {
    folder f;
    golden_folder(&f);
    write_folder(&f, sub("golden"), 1);
    pt_hf_model m;
    pt_err e = {0};
    CHECK_OK(pt_hf_load(sub("golden"), &m, &e), &e);
    if (!m.params) return;
    CHECK(m.cfg.n_layer == 1 && m.cfg.n_embd == 4 && m.cfg.n_head == 2 && m.cfg.n_positions == 4 &&
          m.cfg.vocab_size == 6 && !m.cfg.scale_attn_by_inverse_layer_idx);
    CHECK(m.tok == NULL && m.note[0] == 0);
    CHECK_EQ_U64(m.tensors, 16);
    /* the layout by hand: parrot's qkvw[o][i] is Hugging Face's c_attn.weight[i][o] */
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    pt_gpt2_layout(&m.cfg, t);
    CHECK(m.params[t[PT_GPT2_QKVW].offset + 5 * 4 + 2] == g_h_0_attn_c_attn_weight[2 * 12 + 5]);
    CHECK(m.params[t[PT_GPT2_FCPROJW].offset + 3 * 16 + 11] == g_h_0_mlp_c_proj_weight[11 * 4 + 3]);
    float got[24];
    golden_logits(&m, got);
    double err = golden_err(got);
    if (err > 1e-5) printf("  golden logits: relative error %.3g\n", err);
    CHECK(err <= 1e-5);
    pt_hf_model_free(&m);
}

/* A c_proj stored the Linear way (transposed, same shape) is not caught by shapes: the logits see it. */
TEST(golden_sees_transpose) {
    folder f;
    golden_folder(&f);
    float tr[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) tr[j * 4 + i] = g_h_0_attn_c_proj_weight[i * 4 + j];
    find(&f, "attn.c_proj.weight")->data = tr;
    write_folder(&f, sub("transposed"), 1);
    pt_hf_model m;
    pt_err e = {0};
    CHECK_OK(pt_hf_load(sub("transposed"), &m, &e), &e);
    if (!m.params) return;
    float got[24];
    golden_logits(&m, got);
    CHECK(golden_err(got) > 1e-2);
    pt_hf_model_free(&m);
}

/* The same weights as F16, BF16, without the prefix, and in 3 shards import to the same bits. */
TEST(golden_variants) {
    folder f;
    golden_folder(&f);
    pt_hf_model ref, m;
    pt_err e = {0};
    write_folder(&f, sub("v0"), 1);
    CHECK_OK(pt_hf_load(sub("v0"), &ref, &e), &e);
    if (!ref.params) return;
    for (int v = 0; v < 4; v++) {
        golden_folder(&f);
        for (int i = 0; i < f.n; i++) {
            if (v == 0) f.e[i].dtype = PT_ST_F16;
            if (v == 1) f.e[i].dtype = PT_ST_BF16;
            if (v == 2 && !strncmp(f.e[i].name, "transformer.", 12))
                memmove(f.e[i].name, f.e[i].name + 12, strlen(f.e[i].name) - 11);
        }
        write_folder(&f, sub("v"), v == 3 ? 3 : 1);
        if (pt_hf_load(sub("v"), &m, &e)) {
            printf("  variant %d: %s\n", v, e.msg);
            CHECK(0);
            continue;
        }
        CHECK(m.n == ref.n && !memcmp(m.params, ref.params, m.n * sizeof(float)));
        CHECK(m.files == (v == 3 ? 3 : 1));
        pt_hf_model_free(&m);
    }
    pt_hf_model_free(&ref);
}

/* ---- round trip ------------------------------------------------------------------------------------ */

static void fill(float *p, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)((double)(seed >> 11) * 0x1.0p-53 * 2 - 1) * 0.3f;
    }
}

/* A checkpoint at path: 2 layers, 8 wide, the tiny test tokenizer, random weights and moments. */
static int make_ckpt(const char *path, const char *tokfile, pt_gpt2_config *cfg, float **params) {
    pt_err e = {0};
    pt_buf tok = {0};
    char tp[512];
    snprintf(tp, sizeof tp, "%s/tok/%s", pt_test_data(), tokfile);
    CHECK_OK(pt_fs_read_all(tp, &tok, &e), &e);
    pt_bpe *t = NULL;
    CHECK_OK(pt_bpe_load_hf_mem(&t, tok.data, tok.len, tp, &e), &e);
    if (!t) return -1;
    *cfg = (pt_gpt2_config){2, 8, 2, 16, (int)pt_bpe_vocab_size(t), 1, 0};
    pt_bpe_free(t);
    pt_gpt2_tensor lay[PT_GPT2_NTENSORS];
    size_t n = pt_gpt2_layout(cfg, lay);
    float *p = malloc(3 * n * sizeof(float));
    fill(p, 3 * n, 7);
    pt_ckpt_state st = {.cfg = *cfg, .optim = pt_optim_defaults(), .step = 7, .tokens = 7 * 64, .batch_size = 4,
                        .seq_len = 16, .grad_accum = 1, .nranks = 1, .seed = 3, .loss = 5.5, .eval_loss = 5.25,
                        .data = "somewhere/data"};
    CHECK_OK(pt_ckpt_write(path, &st, p, p + n, p + 2 * n, n, tok.data, tok.len, &e), &e);
    pt_buf_free(&tok);
    *params = p;
    return e.code ? -1 : 0;
}

static int has_text(const char *path, const char *needle) {
    pt_buf b = {0};
    pt_err e = {0};
    int ok = !pt_fs_read_all(path, &b, &e) && b.data && strstr(b.data, needle);
    pt_buf_free(&b);
    return ok;
}

static pt_hash128 tok_hash(const char *text, size_t n) {
    pt_bpe *t = NULL;
    pt_err e = {0};
    pt_hash128 h = {0};
    CHECK_OK(pt_bpe_load_hf_mem(&t, text, n, "tok", &e), &e);
    if (t) h = pt_bpe_hash(t);
    pt_bpe_free(t);
    return h;
}

TEST(roundtrip_f32_bits) {
    pt_gpt2_config cfg;
    float *p = NULL;
    if (make_ckpt(sub("a.ckpt"), "tiny-tokenizer.json", &cfg, &p)) return;
    pt_err e = {0};
    pt_ckpt c = {0}, c2 = {0};
    CHECK_OK(pt_ckpt_open(&c, sub("a.ckpt"), &e), &e);
    pt_hf_export_opts o = {.dtype = PT_ST_F32};
    pt_hf_export_info info;
    CHECK_OK(pt_hf_export(&c, sub("hf"), &o, &info, &e), &e);
    CHECK_EQ_U64(info.tensors, 4 + 12 * 2);
    CHECK(info.eos_id == 0);
    static const char *const files[] = {"config.json", "model.safetensors", "generation_config.json",
                                        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                        "vocab.json", "merges.txt", "README.md"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p2[256];
        snprintf(p2, sizeof p2, "%s/%s", sub("hf"), files[i]);
        if (!pt_fs_exists(p2)) printf("  missing %s\n", files[i]);
        CHECK(pt_fs_exists(p2));
    }
    CHECK(has_text(sub("hf/config.json"), "\"scale_attn_by_inverse_layer_idx\": true"));
    CHECK(has_text(sub("hf/config.json"), "\"eos_token_id\": 0,"));
    CHECK(has_text(sub("hf/tokenizer_config.json"), "\"add_prefix_space\": true"));
    CHECK(has_text(sub("hf/README.md"), "| optimizer steps | 7 |"));
    CHECK(has_text(sub("hf/README.md"), "| validation split | 5.2500 |"));
    /* the file itself: metadata, names, Conv1D layout, no lm_head */
    pt_st *f = NULL;
    CHECK_OK(pt_st_open(&f, sub("hf/model.safetensors"), &e), &e);
    if (f) {
        CHECK_STR(pt_st_meta(f, "format"), "pt");
        CHECK(pt_st_find(f, "lm_head.weight") == NULL);
        const pt_st_tensor *x = pt_st_find(f, "transformer.h.1.mlp.c_proj.weight");
        CHECK(x && x->ndim == 2 && x->shape[0] == 32 && x->shape[1] == 8);
        pt_gpt2_tensor t[PT_GPT2_NTENSORS];
        pt_gpt2_layout(&cfg, t);
        float v;
        if (x) memcpy(&v, (const float *)x->data + 5 * 8 + 3, 4); /* [in 5][out 3] */
        CHECK(x && v == p[t[PT_GPT2_FCPROJW].offset + 8 * 32 + 3 * 32 + 5]); /* layer 1, [out 3][in 5] */
        for (size_t i = 0; i < pt_st_count(f); i++) CHECK(pt_st_at(f, i)->offset % 8 == 0);
        pt_st_close(f);
    }
    /* back */
    pt_hf_model m;
    CHECK_OK(pt_hf_import(sub("hf"), sub("b.ckpt"), 0, &m, &e), &e);
    CHECK_STR(m.tok_source, "tokenizer.json");
    pt_hf_model_free(&m);
    CHECK_OK(pt_ckpt_open(&c2, sub("b.ckpt"), &e), &e);
    if (c2.params) {
        CHECK(!memcmp(&c2.st.cfg, &cfg, sizeof cfg));
        CHECK(c2.n == c.n && !memcmp(c2.params, c.params, c.n * sizeof(float)));
        CHECK(c2.m == NULL && c2.v == NULL && c2.st.step == 0);
        pt_hash128 h1 = tok_hash(c.tok, c.tok_len), h2 = tok_hash(c2.tok, c2.tok_len);
        CHECK(!memcmp(&h1, &h2, sizeof h1));
    }
    /* an existing output is refused; --force replaces it, leaving no temporary folder */
    CHECK(pt_hf_export(&c, sub("hf"), &o, NULL, &e) == PT_EEXIST && strstr(e.msg, "--force"));
    CHECK(pt_hf_import(sub("hf"), sub("b.ckpt"), 0, &m, &e) == PT_EEXIST);
    write_text(sub("hf"), "stale", "x");
    o.force = 1;
    CHECK_OK(pt_hf_export(&c, sub("hf"), &o, NULL, &e), &e);
    CHECK(!pt_fs_exists(sub("hf/stale")) && pt_fs_exists(sub("hf/model.safetensors")));
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", sub("hf"), (long)getpid());
    CHECK(!pt_fs_exists(tmp));
    /* --force never deletes a folder that is not a model folder (a run folder, say) */
    pt_fs_mkdir_p(sub("notmodel"), &e);
    write_text(sub("notmodel"), "precious", "x");
    CHECK(pt_hf_export(&c, sub("notmodel"), &o, NULL, &e) == PT_EEXIST && strstr(e.msg, "not a model folder"));
    CHECK(pt_fs_exists(sub("notmodel/precious")));
    pt_ckpt_close(&c2);
    pt_ckpt_close(&c);
    free(p);
}

TEST(roundtrip_bf16_rounded) {
    pt_gpt2_config cfg;
    float *p = NULL;
    if (make_ckpt(sub("c.ckpt"), "tiny-tokenizer.json", &cfg, &p)) return;
    pt_err e = {0};
    pt_ckpt c = {0};
    CHECK_OK(pt_ckpt_open(&c, sub("c.ckpt"), &e), &e);
    for (int k = 0; k < 2; k++) {
        int dt = k ? PT_ST_F16 : PT_ST_BF16;
        pt_hf_export_opts o = {.dtype = dt, .force = 1};
        CHECK_OK(pt_hf_export(&c, sub("hf16"), &o, NULL, &e), &e);
        CHECK(has_text(sub("hf16/config.json"), k ? "\"float16\"" : "\"bfloat16\""));
        pt_hf_model m;
        CHECK_OK(pt_hf_load(sub("hf16"), &m, &e), &e);
        if (!m.params) continue;
        size_t bad = 0;
        for (size_t i = 0; i < m.n; i++) {
            float x = c.params[i];
            float want = k ? pt_st_f16_to_f32(pt_st_f32_to_f16(x)) : pt_st_bf16_to_f32(pt_st_f32_to_bf16(x));
            bad += memcmp(&want, &m.params[i], 4) != 0;
        }
        CHECK_EQ_U64(bad, 0);
        pt_hf_model_free(&m);
    }
    pt_ckpt_close(&c);
    free(p);
}

/* GPT-2's own vocab.json + merges.txt import as the same tokenizer as its tokenizer.json. */
TEST(tokenizer_from_vocab_and_merges) {
    folder f;
    golden_folder(&f);
    float *wte = calloc(50257 * 4, sizeof(float));
    find(&f, "wte.weight")->data = wte, find(&f, "wte.weight")->shape[0] = 50257;
    find(&f, "lm_head")->skip = 1;
    config_set(&f, "\"vocab_size\": 6", "\"vocab_size\": 50257");
    write_folder(&f, sub("g2"), 1);
    pt_err e = {0};
    pt_buf b = {0};
    char p[512];
    static const char *const copies[][2] = {{"gpt2/encoder.json", "vocab.json"}, {"gpt2/vocab.bpe", "merges.txt"}};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", pt_test_data(), copies[i][0]);
        pt_buf_clear(&b);
        CHECK_OK(pt_fs_read_all(p, &b, &e), &e);
        snprintf(p, sizeof p, "%s/%s", sub("g2"), copies[i][1]);
        CHECK_OK(pt_fs_write_atomic(p, b.data, b.len, &e), &e);
    }
    pt_hf_model m;
    CHECK_OK(pt_hf_import(sub("g2"), sub("g2.ckpt"), 0, &m, &e), &e);
    CHECK_STR(m.tok_source, "vocab.json + merges.txt");
    snprintf(p, sizeof p, "%s/tok/gpt2-tokenizer.json", pt_test_data());
    pt_buf_clear(&b);
    CHECK_OK(pt_fs_read_all(p, &b, &e), &e);
    if (m.tok) {
        pt_hash128 h1 = tok_hash(m.tok, m.tok_len), h2 = tok_hash(b.data, b.len);
        CHECK(!memcmp(&h1, &h2, sizeof h1));
    }
    pt_hf_model_free(&m);
    pt_buf_free(&b);
    free(wte);
}

/* ---- hostile folders ----------------------------------------------------------------------------------- */

/* pt_hf_load(dir) must fail with a message containing a and b (b may be NULL). */
static void refused_(const char *dir, const char *a, const char *b, int line) {
    pt_hf_model m;
    pt_err e = {0};
    int rc = pt_hf_load(dir, &m, &e);
    if (!rc) {
        printf("  line %d: %s loaded, expected a refusal with \"%s\"\n", line, dir, a);
        pt_hf_model_free(&m);
        CHECK(0);
    } else if (!strstr(e.msg, a) || (b && !strstr(e.msg, b))) {
        printf("  line %d: message \"%s\" lacks \"%s\" / \"%s\"\n", line, e.msg, a, b ? b : "");
        CHECK(0);
    }
}
#define refused(dir, a, b) refused_(dir, a, b, __LINE__)

/* A folder whose model.safetensors is header (JSON) + nbytes zero bytes, with size the stated
 * header length (0: the real one). */
static void raw_folder(const char *dir, const char *header, size_t nbytes, uint64_t size) {
    pt_err e = {0};
    pt_fs_rm_rf(dir, &e);
    pt_fs_mkdir_p(dir, &e);
    write_text(dir, "config.json", GOLDEN_CONFIG);
    pt_buf b = {0};
    uint64_t n = size ? size : strlen(header);
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(n >> (8 * i));
    pt_buf_append(&b, le, 8, &e);
    pt_buf_append(&b, header, strlen(header), &e);
    for (size_t i = 0; i < nbytes; i++) pt_buf_putc(&b, 0, &e);
    char p[256];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    CHECK_OK(pt_fs_write_atomic(p, b.data, b.len, &e), &e);
    pt_buf_free(&b);
}

TEST(hostile_safetensors) {
    const char *d = sub("raw");
    raw_folder(d, "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, 1000);
    refused(d, "raw/model.safetensors: header size 1000 exceeds the file", NULL);
    raw_folder(d, "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
                  "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12, 0);
    refused(d, "model.safetensors", "'b' at data_offsets [4, 12] overlaps");
    raw_folder(d, "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
                  "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [12, 20]}}", 20, 0);
    refused(d, "model.safetensors", "'b' at data_offsets [12, 20] leaves a gap");
    raw_folder(d, "{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8, 0);
    refused(d, "model.safetensors", "'a': shape of 3 F32 elements needs 12");
    raw_folder(d, "{\"a\": {\"dtype\": \"F33\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, 0);
    refused(d, "model.safetensors", "'a': unknown dtype \"F33\"");
    raw_folder(d, "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}", 8, 0);
    refused(d, "model.safetensors", "malformed JSON");
}

TEST(hostile_tensors) {
    folder f;
    const char *d = sub("bad");
    golden_folder(&f);
    find(&f, "mlp.c_fc.bias")->skip = 1;
    write_folder(&f, d, 1);
    refused(d, "bad/model.safetensors: tensor 'transformer.h.0.mlp.c_fc.bias' is missing", NULL);

    golden_folder(&f); /* the Linear layout instead of Conv1D's */
    find(&f, "mlp.c_fc.weight")->shape[0] = 16, find(&f, "mlp.c_fc.weight")->shape[1] = 4;
    write_folder(&f, d, 1);
    refused(d, "tensor 'transformer.h.0.mlp.c_fc.weight' has shape [16, 4]; config.json's sizes need [4, 16]",
            "Conv1D");

    golden_folder(&f); /* a config that does not fit the weights */
    config_set(&f, "\"n_positions\": 4", "\"n_positions\": 8");
    write_folder(&f, d, 1);
    refused(d, "tensor 'transformer.wpe.weight' has shape [4, 4]; config.json's sizes need [8, 4]", NULL);

    golden_folder(&f);
    static const int32_t ints[4] = {1, 2, 3, 4};
    entry *x = find(&f, "ln_f.bias");
    x->raw = ints, x->dtype = PT_ST_I32;
    write_folder(&f, d, 1);
    refused(d, "tensor 'transformer.ln_f.bias' has dtype I32", NULL);

    golden_folder(&f);
    float nan4[4] = {0, NAN, 0, 0};
    find(&f, "ln_f.bias")->data = nan4;
    write_folder(&f, d, 1);
    refused(d, "tensor 'transformer.ln_f.bias' has a non-finite value", NULL);

    golden_folder(&f);
    entry *s = add(&f, "score.weight", g_wte_weight, 2, 6, 4);
    strcpy(s->name, "score.weight");
    write_folder(&f, d, 1);
    refused(d, "tensor 'score.weight' is not part of a 1-layer GPT2LMHeadModel", NULL);

    golden_folder(&f);
    add(&f, "h.1.ln_1.weight", g_ln_f_weight, 1, 4, 0);
    write_folder(&f, d, 1);
    refused(d, "tensor 'transformer.h.1.ln_1.weight' is not part of a 1-layer", NULL);

    golden_folder(&f); /* an untied output layer */
    find(&f, "lm_head")->data = g_h_0_attn_c_attn_weight;
    write_folder(&f, d, 1);
    refused(d, "tensor 'lm_head.weight' differs from the token embedding", "untied");

    golden_folder(&f);
    find(&f, "lm_head")->skip = 1;
    config_set(&f, "\"n_inner\"", "\"tie_word_embeddings\": false, \"n_inner\"");
    write_folder(&f, d, 1);
    refused(d, "tie_word_embeddings false but there is no lm_head.weight", NULL);

    golden_folder(&f); /* lm_head left out and no prefix: fine */
    find(&f, "lm_head")->skip = 1;
    write_folder(&f, d, 1);
    pt_hf_model m;
    pt_err e = {0};
    CHECK_OK(pt_hf_load(d, &m, &e), &e);
    pt_hf_model_free(&m);

    golden_folder(&f); /* a shard the index names is missing */
    write_folder(&f, d, 2);
    char p[256];
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", d);
    unlink(p);
    refused(d, "model-00002-of-00002.safetensors", NULL);
}

TEST(hostile_config) {
    static const struct { const char *from, *to, *msg; } cases[] = {
        {"\"model_type\": \"gpt2\"", "\"model_type\": \"llama\"", "config.json: model_type \"llama\": parrot reads GPT-2"},
        {"\"n_inner\": null", "\"n_inner\": 8", "config.json: n_inner 8: parrot's GPT-2 has an MLP of 4 x n_embd = 16"},
        {"\"gelu_new\"", "\"relu\"", "config.json: activation_function \"relu\""},
        {"\"gelu_new\"", "\"quick_gelu\"", "activation_function \"quick_gelu\""},
        {"1e-05", "1e-06", "config.json: layer_norm_epsilon 1e-06"},
        {"\"n_head\": 2", "\"n_head\": 3", "width 4 is not divisible by the 3 heads"},
        {"\"n_head\": 2", "\"n_head\": \"2\"", "config.json: \"n_head\" is not a positive integer"},
        {"\"n_inner\": null", "\"scale_attn_weights\": false", "scale_attn_weights is not true"},
        {"\"n_inner\": null", "\"add_cross_attention\": true", "add_cross_attention"},
        {"{", "[", "config.json: malformed JSON"},
    };
    folder f;
    const char *d = sub("cfg");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        golden_folder(&f);
        config_set(&f, cases[i].from, cases[i].to);
        write_folder(&f, d, 1);
        refused(d, cases[i].msg, NULL);
    }
    /* the exact GELU: imported, with a note */
    golden_folder(&f);
    config_set(&f, "\"gelu_new\"", "\"gelu\"");
    write_folder(&f, d, 1);
    pt_hf_model m;
    pt_err e = {0};
    CHECK_OK(pt_hf_load(d, &m, &e), &e);
    CHECK(strstr(m.note, "exact (erf) GELU") != NULL);
    pt_hf_model_free(&m);
    /* the tanh GELU under its other names: no note */
    golden_folder(&f);
    config_set(&f, "\"gelu_new\"", "\"gelu_pytorch_tanh\"");
    write_folder(&f, d, 1);
    CHECK_OK(pt_hf_load(d, &m, &e), &e);
    CHECK(m.params && !m.note[0]);
    pt_hf_model_free(&m);
    /* no config.json; only pytorch_model.bin */
    char p[256];
    snprintf(p, sizeof p, "%s/config.json", d);
    unlink(p);
    refused(d, "cfg/config.json: missing", NULL);
    golden_folder(&f);
    write_folder(&f, d, 1);
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    unlink(p);
    write_text(d, "pytorch_model.bin", "PK");
    refused(d, "has pytorch_model.bin but no model.safetensors", "convert it");
}

TEST(hostile_tokenizer) {
    folder f;
    const char *d = sub("tk");
    golden_folder(&f);
    write_folder(&f, d, 1);
    pt_hf_model m;
    pt_err e = {0};
    CHECK(pt_hf_import(d, sub("tk.ckpt"), 0, &m, &e) == PT_EFORMAT && strstr(e.msg, "no tokenizer"));
    CHECK(!pt_fs_exists(sub("tk.ckpt")));
    pt_buf b = {0};
    char p[512];
    snprintf(p, sizeof p, "%s/tok/tiny-tokenizer.json", pt_test_data());
    CHECK_OK(pt_fs_read_all(p, &b, &e), &e);
    write_text(d, "tokenizer.json", b.data ? b.data : "");
    refused(d, "tk/tokenizer.json: the tokenizer has 603 ids but config.json's vocab_size is 6", NULL);
    write_text(d, "tokenizer.json", "{\"model\": 1}");
    refused(d, "tokenizer.json", NULL);
    pt_buf_free(&b);
}

/* Random damage to the header of a valid file: every outcome is a load or a clean refusal. */
TEST(hostile_header_mutations) {
    folder f;
    golden_folder(&f);
    const char *d = sub("mut");
    write_folder(&f, d, 1);
    char p[256];
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    pt_buf orig = {0};
    pt_err e = {0};
    CHECK_OK(pt_fs_read_all(p, &orig, &e), &e);
    if (!orig.data) return;
    uint64_t hn = 0;
    for (int i = 0; i < 8; i++) hn |= (uint64_t)(unsigned char)orig.data[i] << (8 * i);
    uint64_t s = 99;
    int loaded = 0, refusedn = 0;
    char *copy = malloc(orig.len);
    for (int it = 0; it < 400; it++) {
        memcpy(copy, orig.data, orig.len);
        for (int k = 0; k < 1 + it % 4; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)((s >> 33) % (hn + 8));
            static const char alphabet[] = "0123456789[]{},:\" eEF-.";
            copy[at] = (s >> 20) & 1 ? alphabet[(s >> 40) % (sizeof alphabet - 1)] : (char)(s >> 48);
        }
        CHECK_OK(pt_fs_write_atomic(p, copy, orig.len, &e), &e);
        pt_hf_model m;
        pt_err e2 = {0};
        if (pt_hf_load(d, &m, &e2)) {
            refusedn++;
            CHECK(e2.msg[0] && e2.code == PT_EFORMAT);
        } else {
            loaded++;
            pt_hf_model_free(&m);
        }
    }
    CHECK(refusedn > 300);
    free(copy);
    pt_buf_free(&orig);
}

/* ---- driver mode: parrot's logits for the e2e comparisons ------------------------------------- */

static int logits_main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: test_hf --logits CKPT N ID...\n");
        return 2;
    }
    pt_err e = {0};
    pt_ckpt c = {0};
    if (pt_ckpt_open(&c, argv[2], &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    int n = atoi(argv[3]), T0 = argc - 4, P = c.st.cfg.n_positions, V = c.st.cfg.vocab_size;
    if (T0 > P) return fprintf(stderr, "more ids than the model's %d positions\n", P), 1;
    int32_t *ids = calloc((size_t)P, sizeof *ids);
    float *logits = malloc((size_t)P * V * sizeof(float));
    pt_gpt2 *g = NULL;
    if (!ids || !logits || pt_gpt2_create(&g, &c.st.cfg, &pt_kernels_cpu, 1, P, 0, &e))
        return fprintf(stderr, "%s\n", e.msg), 1;
    memcpy(g->params, c.params, c.n * sizeof(float));
    printf("ids");
    for (int t = 0; t < T0; t++) {
        ids[t] = atoi(argv[4 + t]);
        if (ids[t] < 0 || ids[t] >= V) return fprintf(stderr, "id %d out of range\n", ids[t]), 1;
        printf(" %d", ids[t]);
    }
    printf("\ngreedy");
    int T = T0;
    for (int k = 0; k < n && T < P; k++) { /* recomputed from scratch each step: the plain definition */
        pt_gpt2_logits(g, ids, 1, T, logits);
        const float *last = logits + (size_t)(T - 1) * V;
        int best = 0;
        for (int v = 1; v < V; v++)
            if (last[v] > last[best]) best = v;
        ids[T++] = best;
        printf(" %d", best);
    }
    printf("\n");
    pt_gpt2_logits(g, ids, 1, T0, logits);
    for (int t = 0; t < T0; t++)
        for (int v = 0; v < V; v++) printf("%.9g%c", logits[(size_t)t * V + v], v == V - 1 ? '\n' : ' ');
    pt_gpt2_free(g);
    free(ids), free(logits);
    pt_ckpt_close(&c);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--logits")) return logits_main(argc, argv);
    snprintf(g_tmp, sizeof g_tmp, "/tmp/pt-hf-XXXXXX");
    if (!mkdtemp(g_tmp)) return perror("mkdtemp"), 1;
    RUN(golden_logits_match);
    RUN(golden_sees_transpose);
    RUN(golden_variants);
    RUN(roundtrip_f32_bits);
    RUN(roundtrip_bf16_rounded);
    RUN(tokenizer_from_vocab_and_merges);
    RUN(hostile_safetensors);
    RUN(hostile_tensors);
    RUN(hostile_config);
    RUN(hostile_tokenizer);
    RUN(hostile_header_mutations);
    pt_err e = {0};
    pt_fs_rm_rf(g_tmp, &e);
    return TEST_DONE();
}
