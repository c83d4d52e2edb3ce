/* bench_generate.c - inference speed (issue 6): prefill and decode tokens/s for `mini` (V=32768) and
 * `gpt2` (V=50257), batch 1 and 16, with random weights (speed does not depend on them), and the
 * decode time per token early and late in a 512-token generation: with the KV cache it grows only by
 * the attention term, not with the whole sequence.
 *
 * usage: build/bench/bench_generate [MODEL...]   (default: mini gpt2; threads from OMP_NUM_THREADS) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "infer/infer.h"
#include "model/gpt2.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int bench(const char *name) {
    pt_gpt2_config c;
    pt_err e = {0};
    if (pt_gpt2_config_named(&c, name, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    c.vocab_size = strcmp(name, "gpt2") ? 32768 : 50257;
    pt_gpt2 *m = NULL;
    if (pt_gpt2_create(&m, &c, &pt_kernels_cpu, 1, 1, 0, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    pt_gpt2_init(m, 1);
    enum { NB = 16, PROMPT = 256, LONG = 512, BSTEPS = 64 };
    pt_infer *inf = NULL;
    if (pt_infer_new(&inf, &c, m->params, &pt_kernels_cpu, NB, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    const int V = c.vocab_size;
    float *logits = malloc((size_t)NB * V * sizeof(float));
    uint32_t tok[PROMPT], next[NB];
    int seqs[NB];
    for (int i = 0; i < PROMPT; i++) tok[i] = (uint32_t)(i * 7919 % V);
    for (int i = 0; i < NB; i++) seqs[i] = i, next[i] = (uint32_t)(i * 31 % V);
    /* prefill: a 256-token prompt, median of 3 */
    double pf[3];
    for (int r = 0; r < 3; r++) {
        pt_infer_reset(inf, 0);
        double t0 = pt_now();
        pt_infer_prefill(inf, 0, tok, PROMPT, logits);
        pf[r] = PROMPT / (pt_now() - t0);
    }
    /* decode, batch 1: 512 tokens; per-token times of the first and the last 64 */
    static double dt[LONG];
    pt_infer_reset(inf, 0);
    pt_infer_prefill(inf, 0, tok, 1, logits);
    for (int s = 0; s < LONG - 1; s++) {
        double t0 = pt_now();
        pt_infer_step(inf, seqs, &next[0], 1, logits);
        dt[s] = pt_now() - t0;
    }
    double early = median(dt + 1, 64), late = median(dt + LONG - 65, 64);
    double all = 0;
    for (int s = 0; s < LONG - 1; s++) all += dt[s];
    /* decode, batch 16: 64 steps from a 256-token prompt each */
    for (int i = 0; i < NB; i++) pt_infer_reset(inf, i), pt_infer_prefill(inf, i, tok, 64, NULL);
    double t0 = pt_now();
    for (int s = 0; s < BSTEPS; s++) pt_infer_step(inf, seqs, next, NB, logits);
    double b16 = NB * BSTEPS / (pt_now() - t0);
    printf("%-5s prefill %7.0f tok/s | decode b=1 %6.1f tok/s (%.2f ms/token at 1-64, %.2f ms at 448-512: x%.2f) | "
           "decode b=16 %7.1f tok/s\n", name, median(pf, 3), (LONG - 1) / all, 1e3 * early, 1e3 * late, late / early,
           b16);
    fflush(stdout);
    free(logits);
    pt_infer_free(inf);
    pt_gpt2_free(m);
    return 0;
}

int main(int argc, char **argv) {
    int rc = 0;
    if (argc < 2) rc |= bench("mini") | bench("gpt2");
    for (int i = 1; i < argc; i++) rc |= bench(argv[i]);
    return rc;
}
