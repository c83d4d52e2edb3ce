/* test_infer.c - KV-cache inference and sampling: cached greedy decoding equals greedy decoding by
 * full recomputation; batched decoding equals one sequence at a time; the sampler's distribution,
 * top-k and top-p; stop strings, end-of-text, streaming and the context cut. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer/generate.h"
#include "infer/infer.h"
#include "model/gpt2.h"
#include "test.h"
#include "tok/tokfile.h"

/* A random model with peaked predictions (weights scaled up), so greedy choices are not near-ties. */
static pt_gpt2 *peaked_model(int V, int P, const pt_kernels *k) {
    pt_gpt2_config c = {.n_layer = 2, .n_embd = 64, .n_head = 4, .n_positions = P, .vocab_size = V};
    pt_gpt2 *m = NULL;
    pt_err e = {0};
    if (pt_gpt2_create(&m, &c, k, 1, P, 0, &e)) { printf("  %s\n", e.msg); return NULL; }
    pt_gpt2_init(m, 11);
    for (size_t i = 0; i < m->nparams; i++) m->params[i] *= 6.0f;
    for (size_t i = 0; i < m->t[PT_GPT2_LNFW].numel; i++) m->params[m->t[PT_GPT2_LNFW].offset + i] = 1.0f;
    return m;
}

static uint32_t argmax(const float *v, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) b = v[i] > v[b] ? i : b;
    return (uint32_t)b;
}

/* ≥ 64 greedy tokens: the cache's logits within 1e-4 of a full forward over the whole sequence at
 * every step, and the same tokens. */
static void cached_equals_full(const pt_kernels *k) {
    const int V = 300, P = 96, NP = 7, NEW = 80;
    pt_gpt2 *m = peaked_model(V, P, k);
    CHECK(m != NULL);
    if (!m) return;
    pt_infer *inf = NULL;
    pt_err e = {0};
    CHECK_OK(pt_infer_new(&inf, &m->cfg, m->params, k, 2, &e), &e);
    uint32_t seq[96];
    int32_t seq32[96];
    for (int i = 0; i < NP; i++) seq[i] = (uint32_t)(i * 37 % V);
    float *lc = malloc(V * sizeof(float)), *lf = malloc((size_t)P * V * sizeof(float));
    pt_infer_prefill(inf, 1, seq, NP, lc);
    int len = NP, same = 1;
    float worst = 0;
    for (int s = 0; s < NEW; s++) {
        for (int i = 0; i < len; i++) seq32[i] = (int32_t)seq[i];
        pt_gpt2_logits(m, seq32, 1, len, lf);
        const float *full = lf + (size_t)(len - 1) * V;
        for (int v = 0; v < V; v++) {
            float d = fabsf(full[v] - lc[v]) / (1 + fabsf(full[v]));
            worst = d > worst ? d : worst;
        }
        uint32_t a = argmax(lc, V), b = argmax(full, V);
        same &= a == b;
        seq[len++] = b;
        int one = 1;
        pt_infer_step(inf, &one, &seq[len - 1], 1, lc);
    }
    if (worst > 1e-4f || !same) printf("  %s: worst logit difference %g, same tokens %d\n", k->name, worst, same);
    CHECK(worst <= 1e-4f);
    CHECK(same);
    CHECK(pt_infer_len(inf, 1) == NP + NEW && pt_infer_len(inf, 0) == 0);
    free(lc), free(lf);
    pt_infer_free(inf);
    pt_gpt2_free(m);
}

TEST(infer_cached_equals_full_cpu) { cached_equals_full(&pt_kernels_cpu); }
TEST(infer_cached_equals_full_ref) { cached_equals_full(&pt_kernels_ref); }

/* Three prompts decoded together give what each gives alone (sampling on, per-sample seeds). */
TEST(infer_batch_equals_single) {
    const int V = 300, P = 64;
    pt_gpt2 *m = peaked_model(V, P, &pt_kernels_cpu);
    if (!m) { CHECK(0); return; }
    pt_bpe *tok = NULL;
    pt_err e = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/gpt2", pt_test_data());
    CHECK_OK(pt_bpe_load(&tok, path, &e), &e);
    uint32_t p0[] = {1, 2, 3}, p1[] = {50, 60, 70, 80, 90}, p2[] = {7};
    const uint32_t *prompts[] = {p0, p1, p2};
    size_t plen[] = {3, 5, 1};
    pt_gen_opts o = {.max_new_tokens = 20, .temperature = 0.8, .top_k = 40, .top_p = 0.9, .seed = 5,
                     .eot = PT_BPE_NONE};
    pt_gen_result together[3] = {{0}}, alone[3] = {{0}};
    pt_infer *inf3 = NULL, *inf1 = NULL;
    CHECK_OK(pt_infer_new(&inf3, &m->cfg, m->params, &pt_kernels_cpu, 3, &e), &e);
    CHECK_OK(pt_infer_new(&inf1, &m->cfg, m->params, &pt_kernels_cpu, 1, &e), &e);
    CHECK_OK(pt_generate(inf3, tok, prompts, plen, 3, NULL, &o, together, NULL, NULL, NULL, &e), &e);
    CHECK_OK(pt_generate(inf1, tok, prompts, plen, 3, NULL, &o, alone, NULL, NULL, NULL, &e), &e); /* groups of 1 */
    for (int i = 0; i < 3; i++) {
        CHECK(together[i].n == 20 && alone[i].n == 20 && together[i].finish == PT_GEN_LENGTH);
        CHECK(!memcmp(together[i].ids, alone[i].ids, 20 * sizeof(uint32_t)));
        pt_gen_result_free(&together[i]), pt_gen_result_free(&alone[i]);
    }
    /* another seed, other samples */
    o.seed = 6;
    CHECK_OK(pt_generate(inf3, tok, prompts, plen, 3, NULL, &o, together, NULL, NULL, NULL, &e), &e);
    o.seed = 5;
    CHECK_OK(pt_generate(inf3, tok, prompts, plen, 3, NULL, &o, alone, NULL, NULL, NULL, &e), &e);
    CHECK(memcmp(together[1].ids, alone[1].ids, 20 * sizeof(uint32_t)) != 0);
    for (int i = 0; i < 3; i++) pt_gen_result_free(&together[i]), pt_gen_result_free(&alone[i]);
    pt_infer_free(inf3), pt_infer_free(inf1);
    pt_bpe_free(tok);
    pt_gpt2_free(m);
}

/* The sampler: frequencies follow the softmax at the temperature; top-k and top-p keep the right set. */
TEST(infer_sampler) {
    const float base[5] = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f};
    float l[5];
    int idx[5], counts[5] = {0};
    pt_rng r;
    pt_rng_seed(&r, 3);
    pt_gen_opts o = {.temperature = 0.7, .top_p = 1};
    const int N = 40000;
    for (int s = 0; s < N; s++) memcpy(l, base, sizeof l), counts[pt_gen_sample(l, 5, &o, &r, idx)]++;
    double z = 0, p[5];
    for (int i = 0; i < 5; i++) z += p[i] = exp(base[i] / 0.7);
    for (int i = 0; i < 5; i++) CHECK(fabs(counts[i] / (double)N - p[i] / z) < 0.01);
    /* top-k 2: only the two largest */
    o.top_k = 2;
    memset(counts, 0, sizeof counts);
    for (int s = 0; s < 5000; s++) memcpy(l, base, sizeof l), counts[pt_gen_sample(l, 5, &o, &r, idx)]++;
    CHECK(counts[0] > 0 && counts[1] > 0 && counts[2] + counts[3] + counts[4] == 0);
    /* top-p: probabilities at T=1 are .61 .22 .14 .05 .02: 0.7 keeps {0, 1} (0 alone does not reach it) */
    o.top_k = 0, o.temperature = 1.0, o.top_p = 0.7;
    memset(counts, 0, sizeof counts);
    for (int s = 0; s < 5000; s++) memcpy(l, base, sizeof l), counts[pt_gen_sample(l, 5, &o, &r, idx)]++;
    CHECK(counts[0] > 0 && counts[1] > 0 && counts[2] + counts[3] + counts[4] == 0);
    o.top_p = 0.5; /* the first alone reaches it */
    memset(counts, 0, sizeof counts);
    for (int s = 0; s < 1000; s++) memcpy(l, base, sizeof l), counts[pt_gen_sample(l, 5, &o, &r, idx)]++;
    CHECK(counts[0] == 1000);
    o.temperature = 0; /* greedy: the first largest */
    float tie[4] = {1, 3, 3, 0};
    CHECK(pt_gen_sample(tie, 4, &o, &r, idx) == 1);
}

typedef struct stream_ctx {
    pt_buf got[2];
} stream_ctx;

static void on_text(void *ctx, int i, const char *b, size_t n) {
    pt_err e = {0};
    pt_buf_append(&((stream_ctx *)ctx)->got[i], b, n, &e);
}

/* Stop strings are found in the generated text only, the completion is cut before them, streaming
 * never shows them and matches the final text; end-of-text stops; long prompts are cut from the left. */
TEST(infer_stops_and_context) {
    pt_bpe *tok = NULL;
    pt_err e = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/gpt2", pt_test_data());
    CHECK_OK(pt_bpe_load(&tok, path, &e), &e);
    if (!tok) return;
    pt_gpt2_config c = {.n_layer = 1, .n_embd = 32, .n_head = 2, .n_positions = 48, .vocab_size = 50257};
    pt_gpt2 *m = NULL;
    CHECK_OK(pt_gpt2_create(&m, &c, &pt_kernels_cpu, 1, 1, 0, &e), &e);
    if (!m) return;
    pt_gpt2_init(m, 1);
    pt_infer *inf = NULL;
    CHECK_OK(pt_infer_new(&inf, &c, m->params, &pt_kernels_cpu, 2, &e), &e);
    /* a prompt containing the stop string "e": it must not count */
    uint32_t prompt[60];
    pt_bpe_scratch *scr = pt_bpe_scratch_new();
    size_t np = pt_bpe_encode(tok, "the eel sees me here", 20, prompt, 60, scr);
    pt_bpe_scratch_free(scr);
    const uint32_t *prompts[2] = {prompt, prompt};
    size_t plen[2] = {np, np};
    const char *stops[] = {"e", "zz"};
    pt_gen_opts o = {.max_new_tokens = 40, .temperature = 1.0, .top_p = 1, .seed = 2, .stops = stops, .nstops = 2,
                     .eot = PT_BPE_NONE, .logprobs = 1};
    pt_gen_result res[2] = {{0}};
    stream_ctx sc = {{{0}}};
    CHECK_OK(pt_generate(inf, tok, prompts, plen, 2, NULL, &o, res, on_text, &sc, NULL, &e), &e);
    for (int i = 0; i < 2; i++) {
        CHECK(res[i].n >= 1);
        CHECK(!memchr(res[i].text.data ? res[i].text.data : "", 'e', res[i].text.len));
        CHECK(res[i].finish == PT_GEN_STOP || res[i].finish == PT_GEN_LENGTH);
        CHECK(sc.got[i].len == res[i].text.len && !memcmp(sc.got[i].data, res[i].text.data, res[i].text.len));
        for (size_t j = 0; j < res[i].n; j++) CHECK(res[i].logprobs[j] <= 0 && res[i].logprobs[j] > -30);
        pt_buf_free(&sc.got[i]);
    }
    int stopped = (res[0].finish == PT_GEN_STOP) + (res[1].finish == PT_GEN_STOP);
    CHECK(stopped >= 1); /* with 50257 near-uniform ids, 40 tokens without an 'e' would be remarkable */
    pt_gen_result_free(&res[0]), pt_gen_result_free(&res[1]);
    /* end-of-text: make it the model's certain choice (final LayerNorm bias 1 everywhere, its embedding 50) */
    o.nstops = 0, o.temperature = 0, o.eot = 50256;
    for (int j = 0; j < 32; j++)
        m->params[m->t[PT_GPT2_WTE].offset + 50256 * 32 + j] = 50.0f, m->params[m->t[PT_GPT2_LNFB].offset + j] = 1.0f;
    CHECK_OK(pt_generate(inf, tok, prompts, plen, 1, NULL, &o, res, NULL, NULL, NULL, &e), &e);
    CHECK(res[0].finish == PT_GEN_EOT && res[0].n == 1 && res[0].ids[0] == 50256 && res[0].text.len == 0);
    pt_gen_result_free(&res[0]);
    /* context: 40 prompt tokens + 20 new > 48 positions: 12 cut from the left */
    uint32_t longp[40];
    for (int i = 0; i < 40; i++) longp[i] = (uint32_t)(100 + i);
    const uint32_t *lp[1] = {longp};
    size_t ll[1] = {40};
    o.max_new_tokens = 20, o.eot = PT_BPE_NONE;
    CHECK_OK(pt_generate(inf, tok, lp, ll, 1, NULL, &o, res, NULL, NULL, NULL, &e), &e);
    CHECK(res[0].prompt_cut == 12 && res[0].n == 20);
    pt_gen_result_free(&res[0]);
    o.max_new_tokens = 48;
    CHECK(pt_generate(inf, tok, lp, ll, 1, NULL, &o, res, NULL, NULL, NULL, &e) == PT_EUSAGE);
    o.max_new_tokens = 5;
    uint32_t bad[1] = {60000};
    const uint32_t *bp[1] = {bad};
    size_t bl[1] = {1};
    CHECK(pt_generate(inf, tok, bp, bl, 1, NULL, &o, res, NULL, NULL, NULL, &e) == PT_EUSAGE);
    pt_infer_free(inf);
    pt_gpt2_free(m);
    pt_bpe_free(tok);
}

int main(void) {
    RUN(infer_cached_equals_full_cpu);
    RUN(infer_cached_equals_full_ref);
    RUN(infer_batch_equals_single);
    RUN(infer_sampler);
    RUN(infer_stops_and_context);
    return TEST_DONE();
}
