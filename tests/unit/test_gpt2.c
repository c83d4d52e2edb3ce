/* test_gpt2.c - the GPT-2 model and the optimizer against PyTorch (tests/data/gpt2_fixtures, made by
 * tools/gen_gpt2_fixtures.py), with both kernel tables; parameter counts; init; checkpoints. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "hf/safetensors.h"
#include "model/gpt2.h"
#include "test.h"
#include "train/ckpt.h"
#include "train/trainer.h"

static pt_st *fixture(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/gpt2_fixtures/%s", pt_test_data(), name);
    pt_err e = {0};
    pt_st *f = NULL;
    if (pt_st_open(&f, path, &e)) printf("  %s\n", e.msg);
    return f;
}

/* A tensor as floats (malloc'ed), or NULL. */
static float *get_f32(pt_st *f, const char *name, size_t *n) {
    const pt_st_tensor *t = pt_st_find(f, name);
    if (!t) { printf("  fixture lacks %s\n", name); return NULL; }
    float *out = malloc(t->numel * sizeof(float) + 1);
    pt_err e = {0};
    if (pt_st_to_f32(t, out, 0, &e)) { printf("  %s\n", e.msg); free(out); return NULL; }
    if (n) *n = t->numel;
    return out;
}

static const int32_t *get_i32(pt_st *f, const char *name) {
    const pt_st_tensor *t = pt_st_find(f, name);
    return t && t->dtype == PT_ST_I32 ? (const int32_t *)t->data : NULL;
}

static int meta_int(pt_st *f, const char *k) { const char *v = pt_st_meta(f, k); return v ? atoi(v) : -1; }
static double meta_num(pt_st *f, const char *k) { const char *v = pt_st_meta(f, k); return v ? atof(v) : NAN; }

static pt_gpt2_config fixture_config(pt_st *f) {
    pt_gpt2_config c = {meta_int(f, "n_layer"), meta_int(f, "n_embd"), meta_int(f, "n_head"),
                        meta_int(f, "n_positions"), meta_int(f, "vocab_size"),
                        meta_int(f, "scale_attn_by_inverse_layer_idx"), meta_int(f, "reorder_and_upcast_attn")};
    return c;
}

/* Model with the fixture's initial weights (always plain.safetensors's param.*). */
static pt_gpt2 *fixture_model(pt_st *f, pt_st *plain, const pt_kernels *k) {
    pt_gpt2_config c = fixture_config(f);
    pt_gpt2 *m = NULL;
    pt_err e = {0};
    if (pt_gpt2_create(&m, &c, k, meta_int(f, "batch_size"), meta_int(f, "seq_len"), PT_GPT2_TRAIN, &e)) {
        printf("  %s\n", e.msg);
        return NULL;
    }
    for (int i = 0; i < PT_GPT2_NTENSORS; i++) {
        char name[64];
        snprintf(name, sizeof name, "param.%s", m->t[i].name);
        size_t n = 0;
        float *p = get_f32(plain, name, &n);
        if (!p || n != m->t[i].numel) { printf("  %s: %zu values, want %zu\n", name, n, m->t[i].numel); free(p); pt_gpt2_free(m); return NULL; }
        memcpy(m->params + m->t[i].offset, p, n * sizeof(float));
        free(p);
    }
    return m;
}

/* tokens [B, T+1] → inputs and targets [B, T]. */
static void split_tokens(const int32_t *tok, int B, int T, int32_t *in, int32_t *tgt) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) in[b * T + t] = tok[b * (T + 1) + t], tgt[b * T + t] = tok[b * (T + 1) + t + 1];
}

static double rel_norm(const float *a, const float *ref, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]), r += (double)ref[i] * ref[i];
    return sqrt(d) / (sqrt(r) + 1e-30);
}

/* Logits within 1e-5 abs + 1e-4 rel, the loss too, every gradient within 1e-3 relative norm. */
static void check_forward_backward(const char *file, const pt_kernels *k, int recompute) {
    pt_st *f = fixture(file), *plain = fixture("plain.safetensors");
    CHECK(f && plain);
    if (!f || !plain) { pt_st_close(f); pt_st_close(plain); return; }
    pt_gpt2 *m = fixture_model(f, plain, k);
    CHECK(m != NULL);
    if (!m) { pt_st_close(f); pt_st_close(plain); return; }
    if (recompute) {
        pt_gpt2 *m2 = NULL;
        pt_err e = {0};
        CHECK_OK(pt_gpt2_create(&m2, &m->cfg, k, m->B, m->T, PT_GPT2_TRAIN | PT_GPT2_RECOMPUTE, &e), &e);
        memcpy(m2->params, m->params, m->nparams * sizeof(float));
        pt_gpt2_free(m);
        m = m2;
    }
    const int B = m->B, T = m->T, V = m->cfg.vocab_size;
    int32_t *in = malloc(B * T * 4), *tgt = malloc(B * T * 4);
    split_tokens(get_i32(f, "tokens"), B, T, in, tgt);
    size_t nl = 0;
    float *ref_logits = get_f32(f, "logits", &nl), *ref_loss = get_f32(f, "loss", NULL);
    float *logits = malloc((size_t)B * T * V * sizeof(float));
    CHECK(nl == (size_t)B * T * V);
    pt_gpt2_logits(m, in, B, T, logits);
    int bad = 0;
    for (size_t i = 0; i < nl; i++)
        if (fabsf(logits[i] - ref_logits[i]) > 1e-5f + 1e-4f * fabsf(ref_logits[i])) bad++;
    if (bad) printf("  %s/%s: %d logits off\n", file, k->name, bad);
    CHECK(bad == 0);
    float loss;
    pt_gpt2_zero_grad(m);
    pt_gpt2_forward(m, in, tgt, B, T, 1.0f / (B * T), &loss);
    pt_gpt2_backward(m);
    CHECK(fabsf(loss - ref_loss[0]) <= 1e-5f + 1e-4f * fabsf(ref_loss[0]));
    for (int i = 0; i < PT_GPT2_NTENSORS; i++) {
        char name[64];
        snprintf(name, sizeof name, "grad.%s", m->t[i].name);
        float *g = get_f32(f, name, NULL);
        double r = g ? rel_norm(m->grads + m->t[i].offset, g, m->t[i].numel) : 1;
        if (r > 1e-3) printf("  %s/%s%s: %s relative error %.3g\n", file, k->name, recompute ? "+recompute" : "", name, r);
        CHECK(r <= 1e-3);
        free(g);
    }
    free(in), free(tgt), free(ref_logits), free(ref_loss), free(logits);
    pt_gpt2_free(m);
    pt_st_close(f), pt_st_close(plain);
}

TEST(gpt2_plain_ref) { check_forward_backward("plain.safetensors", &pt_kernels_ref, 0); }
TEST(gpt2_plain_cpu) { check_forward_backward("plain.safetensors", &pt_kernels_cpu, 0); }
TEST(gpt2_scaled_ref) { check_forward_backward("scaled.safetensors", &pt_kernels_ref, 0); }
TEST(gpt2_scaled_cpu) { check_forward_backward("scaled.safetensors", &pt_kernels_cpu, 0); }
TEST(gpt2_recompute_cpu) { check_forward_backward("plain.safetensors", &pt_kernels_cpu, 1); }

/* 10 AdamW steps with clipping, weight decay and the schedule: losses within 1e-4, the lr exactly as
 * HF's schedule (1e-7), the pre-clip norms within 1e-4 relative. */
static void check_train(const char *file, const pt_kernels *k) {
    pt_st *f = fixture(file), *plain = fixture("plain.safetensors");
    CHECK(f && plain);
    if (!f || !plain) { pt_st_close(f); pt_st_close(plain); return; }
    pt_gpt2 *m = fixture_model(f, plain, k);
    CHECK(m != NULL);
    if (!m) { pt_st_close(f); pt_st_close(plain); return; }
    pt_optim_cfg c = {meta_num(f, "lr"), meta_num(f, "min_lr"), meta_num(f, "beta1"), meta_num(f, "beta2"),
                      meta_num(f, "eps"), meta_num(f, "weight_decay"), meta_num(f, "grad_clip"),
                      meta_int(f, "warmup_steps"), meta_int(f, "max_steps")};
    const int B = m->B, T = m->T, accum = meta_int(f, "grad_accum");
    float *mom = calloc(m->nparams, 4), *vel = calloc(m->nparams, 4);
    float *ref_loss = get_f32(f, "train.loss", NULL), *ref_lr = get_f32(f, "train.lr", NULL),
          *ref_norm = get_f32(f, "train.grad_norm", NULL);
    const int32_t *tok = get_i32(f, "train.tokens");
    CHECK(tok && ref_loss && ref_lr && ref_norm);
    int32_t *in = malloc(B * T * 4), *tgt = malloc(B * T * 4);
    for (int s = 0; tok && ref_loss && s < 10; s++) {
        pt_gpt2_zero_grad(m);
        double loss = 0;
        for (int a = 0; a < accum; a++) {
            split_tokens(tok + ((size_t)s * accum + a) * B * (T + 1), B, T, in, tgt);
            float l;
            pt_gpt2_forward(m, in, tgt, B, T, 1.0f / ((float)B * T * accum), &l);
            pt_gpt2_backward(m);
            loss += l;
        }
        loss /= accum;
        double norm, lr;
        CHECK(pt_train_update(m, mom, vel, &c, s, &norm, &lr) == 0);
        if (fabs(loss - ref_loss[s]) > 1e-4 || fabs(lr - ref_lr[s]) > 1e-7 ||
            fabs(norm - ref_norm[s]) > 1e-4 * ref_norm[s])
            printf("  %s/%s step %d: loss %.7f (torch %.7f), lr %.7g (%.7g), norm %.6f (%.6f)\n", file, k->name, s,
                   loss, ref_loss[s], lr, ref_lr[s], norm, ref_norm[s]);
        CHECK(fabs(loss - ref_loss[s]) <= 1e-4);
        CHECK(fabs(lr - ref_lr[s]) <= 1e-7);
        CHECK(fabs(norm - ref_norm[s]) <= 1e-4 * ref_norm[s]);
    }
    free(in), free(tgt), free(mom), free(vel), free(ref_loss), free(ref_lr), free(ref_norm);
    pt_gpt2_free(m);
    pt_st_close(f), pt_st_close(plain);
}

TEST(train_plain_cpu) { check_train("plain.safetensors", &pt_kernels_cpu); }
TEST(train_plain_ref) { check_train("plain.safetensors", &pt_kernels_ref); }
TEST(train_scaled_cpu) { check_train("scaled.safetensors", &pt_kernels_cpu); }
TEST(train_accum2_cpu) { check_train("accum2.safetensors", &pt_kernels_cpu); }

/* Hugging Face's parameter counts (the book's 111.0M at V=32768). */
TEST(gpt2_param_counts) {
    pt_gpt2_config c;
    pt_err e = {0};
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    CHECK_OK(pt_gpt2_config_named(&c, "gpt2", &e), &e);
    c.vocab_size = 50257;
    CHECK_EQ_U64(pt_gpt2_layout(&c, t), 124439808);
    c.vocab_size = 32768;
    CHECK_EQ_U64(pt_gpt2_layout(&c, t), 111008256);
    CHECK(pt_gpt2_config_named(&c, "gpt3", &e) == PT_EUSAGE);
    CHECK(strstr(e.msg, "gpt2-xl") != NULL);
    CHECK_OK(pt_gpt2_config_named(&c, "gpt2-xl", &e), &e);
    c.vocab_size = 50257;
    CHECK_EQ_U64(pt_gpt2_layout(&c, t), 1557611200); /* HF's gpt2-xl */
    c.n_head = 7;
    CHECK(pt_gpt2_config_check(&c, &e) == PT_EUSAGE);
}

/* GPT-2's init: the standard deviations, zero biases, unit LayerNorm weights, and the same weights
 * at any thread count. */
TEST(gpt2_init) {
    pt_gpt2_config c = {.n_layer = 3, .n_embd = 64, .n_head = 4, .n_positions = 32, .vocab_size = 3001};
    pt_gpt2 *a = NULL, *b = NULL;
    pt_err e = {0};
    CHECK_OK(pt_gpt2_create(&a, &c, &pt_kernels_cpu, 1, 8, 0, &e), &e);
    CHECK_OK(pt_gpt2_create(&b, &c, &pt_kernels_cpu, 1, 8, 0, &e), &e);
    if (!a || !b) return;
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    pt_gpt2_init(a, 7);
    omp_set_num_threads(3);
    pt_gpt2_init(b, 7);
    omp_set_num_threads(nt);
#else
    pt_gpt2_init(a, 7), pt_gpt2_init(b, 7);
#endif
    CHECK(!memcmp(a->params, b->params, a->nparams * sizeof(float)));
    const struct { int id; double std; } want[] = {{PT_GPT2_WTE, 0.02}, {PT_GPT2_QKVW, 0.02},
                                                   {PT_GPT2_FCPROJW, 0.02 / sqrt(6.0)}};
    for (size_t w = 0; w < 3; w++) {
        const pt_gpt2_tensor *t = &a->t[want[w].id];
        double s = 0, s2 = 0;
        for (size_t i = 0; i < t->numel; i++) s += a->params[t->offset + i], s2 += (double)a->params[t->offset + i] * a->params[t->offset + i];
        double mean = s / t->numel, sd = sqrt(s2 / t->numel - mean * mean);
        CHECK(fabs(mean) < 4 * want[w].std / sqrt((double)t->numel) + 1e-6);
        CHECK(fabs(sd / want[w].std - 1) < 0.05);
    }
    CHECK(a->params[a->t[PT_GPT2_LN1W].offset] == 1.0f && a->params[a->t[PT_GPT2_LNFW].offset + 63] == 1.0f);
    CHECK(a->params[a->t[PT_GPT2_QKVB].offset + 5] == 0.0f && a->params[a->t[PT_GPT2_LNFB].offset] == 0.0f);
    pt_gpt2_init(b, 8);
    CHECK(memcmp(a->params, b->params, a->nparams * sizeof(float)) != 0);
    pt_gpt2_free(a), pt_gpt2_free(b);
}

/* Checkpoints: round trip, the newest of a folder, pruning, and corruption caught with the file named. */
TEST(ckpt_files) {
    char dir[] = "/tmp/pt_ckpt_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    pt_ckpt_state st = {.cfg = {2, 16, 2, 8, 50, 1, 0}, .optim = pt_optim_defaults(), .step = 7, .tokens = 99,
                        .batch_size = 3, .seq_len = 8, .grad_accum = 2, .nranks = 1, .seed = 1234567890123ull,
                        .has_pos = 1, .loss = 2.5, .eval_loss = NAN, .data = "some/dir"};
    memset(&st.pos, 0xab, sizeof st.pos);
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    size_t n = pt_gpt2_layout(&st.cfg, t);
    float *p = malloc(n * 4), *m = malloc(n * 4), *v = malloc(n * 4);
    for (size_t i = 0; i < n; i++) p[i] = (float)i * 0.5f, m[i] = -(float)i, v[i] = (float)i * i;
    pt_err e = {0};
    char *path7 = pt_ckpt_name(dir, 7), *path9 = pt_ckpt_name(dir, 9);
    CHECK_OK(pt_ckpt_write(path7, &st, p, m, v, n, "{\"tok\": 1}", 10, &e), &e);
    st.step = 9;
    CHECK_OK(pt_ckpt_write(path9, &st, p, NULL, NULL, n, "{}", 2, &e), &e);
    pt_ckpt c;
    CHECK_OK(pt_ckpt_open(&c, dir, &e), &e); /* the folder means its newest */
    CHECK(c.st.step == 9 && c.m == NULL && c.tok_len == 2);
    pt_ckpt_close(&c);
    CHECK_OK(pt_ckpt_open(&c, path7, &e), &e);
    CHECK(c.st.step == 7 && c.n == n && c.st.seed == 1234567890123ull && c.st.cfg.scale_attn_by_inverse_layer_idx);
    CHECK(c.st.batch_size == 3 && c.st.grad_accum == 2 && c.st.tokens == 99 && c.st.loss == 2.5 && isnan(c.st.eval_loss));
    CHECK(!memcmp(&c.st.pos, &st.pos, sizeof st.pos) && c.st.data && !strcmp(c.st.data, "some/dir"));
    CHECK(c.params && !memcmp(c.params, p, n * 4) && c.m && !memcmp(c.m, m, n * 4) && !memcmp(c.v, v, n * 4));
    CHECK(c.tok_len == 10 && !memcmp(c.tok, "{\"tok\": 1}", 10));
    pt_ckpt_close(&c);
    /* a flipped byte, a truncation, another version */
    pt_buf b = {0};
    CHECK_OK(pt_fs_read_all(path7, &b, &e), &e);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
    b.data[b.len - 5] ^= 1;
    CHECK_OK(pt_fs_write_atomic(bad, b.data, b.len, &e), &e);
    CHECK(pt_ckpt_open(&c, bad, &e) == PT_EFORMAT && strstr(e.msg, "bad.ckpt") && strstr(e.msg, "hash"));
    b.data[b.len - 5] ^= 1;
    CHECK_OK(pt_fs_write_atomic(bad, b.data, b.len - 64, &e), &e);
    CHECK(pt_ckpt_open(&c, bad, &e) == PT_EFORMAT && strstr(e.msg, "truncated"));
    b.data[8] = 2;
    CHECK_OK(pt_fs_write_atomic(bad, b.data, b.len, &e), &e);
    CHECK(pt_ckpt_open(&c, bad, &e) == PT_EFORMAT && strstr(e.msg, "version 2"));
    CHECK_OK(pt_fs_write_atomic(bad, "hello", 5, &e), &e);
    CHECK(pt_ckpt_open(&c, bad, &e) == PT_EFORMAT);
    pt_buf_free(&b);
    unlink(bad);
    /* keep the newest one */
    CHECK_OK(pt_ckpt_prune(dir, 1, &e), &e);
    CHECK(!pt_fs_exists(path7) && pt_fs_exists(path9));
    CHECK(pt_ckpt_open(&c, "/nonexistent/x", &e) == PT_EIO);
    free(p), free(m), free(v), free(path7), free(path9);
    pt_fs_rm_rf(dir, &e);
}

int main(void) {
    RUN(gpt2_param_counts);
    RUN(gpt2_init);
    RUN(gpt2_plain_ref);
    RUN(gpt2_plain_cpu);
    RUN(gpt2_scaled_ref);
    RUN(gpt2_scaled_cpu);
    RUN(gpt2_recompute_cpu);
    RUN(train_plain_cpu);
    RUN(train_plain_ref);
    RUN(train_scaled_cpu);
    RUN(train_accum2_cpu);
    RUN(ckpt_files);
    return TEST_DONE();
}
