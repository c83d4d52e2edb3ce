/* demo.c - `parrot demo`: the main job. Runs the pipeline, as far as it exists, on an
 * input every machine with Python has: the installed Python standard library. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "cli/cli.h"
#include "corpus/build.h"
#include "corpus/manifest.h"
#include "corpus/store.h"
#include "data/pack.h"
#include "eval/he_generate.h"
#include "infer/lm.h"
#include "train/trainer.h"
#include "tok/bpe.h"
#include "tok/decode.h"
#include "tok/tokfile.h"
#include "tok/tokwrite.h"
#include "tok/train.h"

static const char demo_usage[] =
    "usage: parrot demo [--out DIR] [--stdlib DIR] [--threads N] [--train-steps N]\n"
    "\n"
    "Runs the parrot pipeline as far as it exists on this machine's Python standard library (found under\n"
    "/usr/lib/python3.*, or --stdlib DIR): `parrot corpus build` with CodeParrot's settings (the report and a few\n"
    "kept documents), then `parrot tokenizer train` on the corpus (CodeParrot's vocabulary of 32768) and how it\n"
    "splits a piece of code beside GPT-2's tokenizer, then `parrot pack` of the corpus into token shards, then\n"
    "`parrot train` of a `tiny` GPT-2 from scratch for --train-steps steps (default 150: a few minutes on two\n"
    "cores; 0 skips it), its loss falling, a few completions of Python prompts by it (`parrot generate`), and\n"
    "HumanEval on 5 problems with 2 samples each (`parrot eval humaneval`, sandboxed).\n"
    "Writes into DIR (default parrot-demo), replacing an earlier demo.\n";


/* The newest /usr/lib/python3.N that has the standard library (os.py). */
static int find_stdlib(char *out, size_t n) {
    DIR *d = opendir("/usr/lib");
    if (!d) return -1;
    int best = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        int minor;
        char tail;
        if (sscanf(de->d_name, "python3.%d%c", &minor, &tail) != 1) continue;
        char os_py[300];
        snprintf(os_py, sizeof os_py, "/usr/lib/%s/os.py", de->d_name);
        if (pt_fs_size(os_py) > 0 && minor > best) best = minor;
    }
    closedir(d);
    if (best < 0) return -1;
    snprintf(out, n, "/usr/lib/python3.%d", best);
    return 0;
}

/* Prints how tokenizer t splits text: the pieces between bars, and the count. */
static void show_split(const char *name, const pt_bpe *t, const char *text) {
    pt_bpe_scratch *s = pt_bpe_scratch_new();
    uint32_t ids[256];
    size_t n = s ? pt_bpe_encode(t, text, strlen(text), ids, 256, s) : 0;
    pt_bpe_scratch_free(s);
    if (n == (size_t)-1 || n > 256) return;
    printf("  %-10s %3zu tokens: ", name, n);
    pt_buf piece = {0};
    pt_err e;
    for (size_t i = 0; i < n; i++) {
        pt_buf_clear(&piece);
        if (pt_bpe_decode(t, &ids[i], 1, &piece, &e)) break;
        for (size_t k = 0; k < piece.len; k++) { /* show whitespace as the eye needs it */
            char ch = piece.data[k];
            if (ch == '\n') fputs("\\n", stdout);
            else if (ch == ' ') fputs("\xc2\xb7", stdout);
            else putchar(ch);
        }
        putchar('|');
    }
    putchar('\n');
    pt_buf_free(&piece);
}

/* Stage 2: `parrot tokenizer train` on the corpus's train split, CodeParrot's settings. */
static int train_tokenizer(const pt_store *s, const char *out, int threads) {
    char *path = pt_path_join(out, "tokenizer.json");
    if (!path) return PT_EXIT_FAIL;
    printf("\n== 3. parrot tokenizer train -o %s --vocab-size 32768 %s/corpus\n", path, out);
    fflush(stdout);
    static const char *const specials[] = {"<|endoftext|>"};
    pt_bpe_train_opts o = {.vocab_size = 32768, .specials = specials, .n_specials = 1, .threads = threads,
                           .cancel = &pt_cli_interrupted};
    pt_err e = {0};
    pt_bpe_trainer *tr = NULL;
    pt_bpe *tok = NULL, *gpt2 = NULL;
    int rc = pt_bpe_trainer_new(&tr, &o, &e);
    size_t n = (size_t)pt_store_count(s); /* the documents are memory-mapped: hand them over at once */
    const char **texts = calloc(n + 1, sizeof *texts);
    size_t *lens = calloc(n + 1, sizeof *lens);
    if (!rc && (!texts || !lens)) rc = pt_fail(&e, PT_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        pt_doc d;
        pt_store_get(s, i, &d);
        texts[i] = d.content;
        lens[i] = d.content_len;
    }
    if (!rc) rc = pt_bpe_trainer_add(tr, n, texts, lens, &e);
    free(texts);
    free(lens);
    if (!rc) rc = pt_bpe_trainer_run(tr, &tok, &e);
    if (!rc) rc = pt_bpe_save_hf(tok, path, &e);
    if (rc) {
        pt_bpe_trainer_free(tr);
        free(path);
        return pt_cli_report("demo", &e);
    }
    pt_bpe_train_stats st;
    pt_bpe_trainer_stats(tr, &st);
    printf("  %llu documents, %.1f MB, %llu distinct words: %u tokens in %.2f s (counting %.2f s, merging %.2f s)\n",
           (unsigned long long)st.docs, (double)st.bytes / 1e6, (unsigned long long)st.words, st.vocab,
           st.count_s + st.train_s, st.count_s, st.train_s);
    static const char code[] = "    def forward(self, input_ids, attention_mask=None):\n"
                               "        hidden_states = self.embed(input_ids)\n";
    printf("\n== 4. how a tokenizer trained on code splits code, beside GPT-2's (trained on web text):\n");
    show_split("parrot", tok, code);
    if (pt_bpe_load(&gpt2, "tests/data/gpt2", &e) == PT_OK) show_split("gpt2", gpt2, code);
    else printf("  (GPT-2's files are in the parrot repository's tests/data/gpt2; run the demo from there to compare)\n");
    pt_bpe_free(gpt2);
    pt_bpe_free(tok);
    pt_bpe_trainer_free(tr);
    free(path);
    return PT_EXIT_OK;
}

/* Stage 3: `parrot pack` of the corpus with the tokenizer just trained. */
static int pack(const char *corpus, const char *out, int threads) {
    char *tok = pt_path_join(out, "tokenizer.json"), *data = pt_path_join(out, "data");
    if (!tok || !data) return PT_EXIT_FAIL;
    printf("\n== 5. parrot pack --corpus %s --tokenizer %s -o %s --force\n", corpus, tok, data);
    fflush(stdout);
    pt_pack_opts o = {.corpus_dir = corpus, .tokenizer_path = tok, .out_dir = data, .threads = threads, .force = 1,
                      .command = pt_cli_cmdline, .version = PT_VERSION, .cancel = &pt_cli_interrupted};
    pt_pack_report r;
    pt_err e = {0};
    int rc = pt_pack_run(&o, &r, &e) ? pt_cli_report("demo", &e) : PT_EXIT_OK;
    static const char *const names[2] = {"train", "valid"};
    for (int s = 0; s < 2 && rc == PT_EXIT_OK; s++)
        printf("  %-5s %6llu documents -> %9llu tokens (u%u), %.2f characters per token\n", names[s],
               (unsigned long long)r.split[s].docs, (unsigned long long)r.split[s].tokens, 8 * r.width,
               r.split[s].tokens ? (double)r.split[s].chars / (double)r.split[s].tokens : 0.0);
    free(tok);
    free(data);
    return rc;
}

/* Stage 4: `parrot train` of a tiny GPT-2 on the packed data; a line every 10 steps and each evaluation. */
typedef struct demo_ui {
    int64_t steps;
} demo_ui;

static void demo_line(void *ctx, const char *line, int is_step, double frac) {
    const demo_ui *u = ctx;
    int64_t step = (int64_t)(frac * u->steps + 0.5);
    if (is_step && step % 10 && step != 1 && step != u->steps) return;
    printf("  %s\n", line);
    fflush(stdout);
}

static int train(const char *out, int threads, int64_t steps) {
    char *data = pt_path_join(out, "data"), *run = pt_path_join(out, "run");
    if (!data || !run) return PT_EXIT_FAIL;
    printf("\n== 6. parrot train --data %s --model tiny --out %s --max-steps %lld --warmup-steps %lld --lr 1e-3 "
           "--eval-every 50 --max-eval-batches 20\n", data, run, (long long)steps, (long long)(steps / 8 + 1));
    fflush(stdout);
    pt_err e = {0};
    int rc = pt_fs_rm_rf(run, &e) ? pt_cli_report("demo", &e) : PT_EXIT_OK; /* the demo starts over */
    demo_ui u = {steps};
    pt_train_opts o = pt_train_defaults();
    o.data = data, o.model = "tiny", o.out = run, o.threads = threads, o.eval_every = 50, o.max_eval_batches = 20;
    o.optim.max_steps = steps, o.optim.warmup_steps = steps / 8 + 1, o.optim.lr = 1e-3;
    o.stop = &pt_cli_interrupted, o.on_line = demo_line, o.ctx = &u;
    if (rc == PT_EXIT_OK && pt_train_run(&o, &e)) rc = pt_cli_report("demo", &e);
    if (rc == PT_EXIT_OK)
        printf("  the run is in %s: checkpoints, metrics.jsonl, log.txt, TensorBoard events (tensorboard --logdir %s/tb)\n",
               run, run);
    free(data), free(run);
    return rc;
}

/* Stage 5: `parrot generate`: a few completions of Python prompts by the model just trained. */
static void demo_text(void *ctx, int i, const char *b, size_t n) {
    (void)ctx, (void)i;
    for (size_t k = 0; k < n; k++) {
        putchar(b[k]);
        if (b[k] == '\n') fputs("    ", stdout);
    }
    fflush(stdout);
}

static int complete(const char *out) {
    static const char *const prompts[3] = {"def is_even(n):\n", "import os\n\n\ndef ", "class Stack:\n    def __init__(self):\n"};
    char *run = pt_path_join(out, "run");
    if (!run) return PT_EXIT_FAIL;
    printf("\n== 7. parrot generate --model %s --prompt '...' --temperature 0 --max-new-tokens 48\n", run);
    pt_err e = {0};
    pt_lm lm;
    if (pt_lm_open(&lm, run, 1, &pt_kernels_cpu, &e)) {
        free(run);
        return pt_cli_report("demo", &e);
    }
    const char *stops[1] = {"\n\n\n"};
    pt_gen_opts o = {.max_new_tokens = 48, .temperature = 0, .top_p = 1, .seed = 1, .stops = stops, .nstops = 1,
                     .eot = lm.eot};
    int rc = PT_EXIT_OK;
    for (int i = 0; i < 3 && rc == PT_EXIT_OK; i++) {
        uint32_t *ids;
        size_t n;
        pt_gen_result res = {0};
        printf("\n    ");
        demo_text(NULL, 0, prompts[i], strlen(prompts[i]));
        if (pt_lm_encode(&lm, prompts[i], strlen(prompts[i]), 1, &ids, &n, &e) ||
            pt_generate(lm.inf, lm.tok, (const uint32_t *const *)&ids, &n, 1, NULL, &o, &res, demo_text, NULL,
                        &pt_cli_interrupted, &e))
            rc = pt_cli_report("demo", &e);
        printf("\n");
        free(ids);
        pt_gen_result_free(&res);
    }
    pt_lm_close(&lm);
    free(run);
    return rc;
}

/* Stage 6: `parrot eval humaneval` on a few problems and samples: the harness end to end. */
static int humaneval(const char *out, int threads) {
    char *run = pt_path_join(out, "run"), *samples = pt_path_join(out, "humaneval_samples.jsonl");
    if (!run || !samples) return PT_EXIT_FAIL;
    printf("\n== 8. parrot eval humaneval --model %s --tasks 0-4 --n-samples 2 --max-new-tokens 64\n", run);
    fflush(stdout);
    pt_err e = {0};
    pt_problems ps = {0};
    pt_humaneval *ev = NULL;
    pt_humaneval_report rep = {0};
    pt_lm lm = {0};
    int have_lm = 0, rc = pt_problems_load(&ps, pt_problems_default_path(), &e);
    if (!rc) rc = pt_problems_select(&ps, "0-4", -1, &e);
    pt_humaneval_opts ho = {.threads = threads, .cancel = &pt_cli_interrupted};
    if (!rc && pt_humaneval_open(&ev, &ps, &ho, &e)) {
        printf("  skipped: %s\n", e.msg); /* no sandbox here: the demo goes on without this stage */
        pt_problems_free(&ps);
        free(run), free(samples);
        return PT_EXIT_OK;
    }
    if (!rc) rc = pt_lm_open(&lm, run, 2, &pt_kernels_cpu, &e), have_lm = !rc;
    pt_he_gen_opts o = {.n_samples = 2, .gen = {.max_new_tokens = 64, .temperature = 0.2, .top_p = 0.95, .seed = 1},
                        .batch = 2, .samples_path = samples, .cancel = &pt_cli_interrupted};
    if (!rc) rc = pt_he_generate(&lm, &ps, &o, ev, &e);
    if (ev) {
        pt_err fe = {0};
        int frc = pt_humaneval_finish(ev, &rep, &fe);
        if (!rc && frc) rc = frc, e = fe;
    }
    if (!rc) {
        size_t passed = 0;
        for (size_t i = 0; i < rep.n_samples; i++) passed += rep.samples[i].outcome == PT_SBX_PASSED;
        printf("  %zu samples of %zu problems: %zu passed; pass@1 %.3f (a model of a few minutes on a CPU; CodeParrot's\n"
               "  110M model reached 0.038)\n  isolation: %s\n  samples: %s\n",
               rep.n_samples, ps.n, passed, pt_humaneval_passk(&rep, 1), rep.isolation_desc, samples);
        for (size_t i = 0; i < rep.n_samples && i < 2; i++)
            printf("  %s: %s\n", ps.v[rep.samples[i].problem].task_id, rep.samples[i].result);
    }
    pt_humaneval_report_free(&rep);
    if (have_lm) pt_lm_close(&lm);
    pt_problems_free(&ps);
    free(run), free(samples);
    return rc ? pt_cli_report("demo", &e) : PT_EXIT_OK;
}

int cmd_demo(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},     {"stdlib", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'}, {"quiet", no_argument, 0, 'q'},
                                         {"train-steps", required_argument, 0, 'S'},
                                         {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *out = "parrot-demo";
    char stdlib[256] = "";
    int threads = pt_cli_default_threads(), c;
    long long train_steps = 150;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's': snprintf(stdlib, sizeof stdlib, "%s", optarg); break;
        case 't':
            if (pt_cli_parse_threads(optarg, &threads)) return pt_cli_usage_error("demo", "bad --threads '%s'", optarg);
            break;
        case 'S': {
            char *end;
            train_steps = strtoll(optarg, &end, 10);
            if (end == optarg || *end || train_steps < 0)
                return pt_cli_usage_error("demo", "bad --train-steps '%s'", optarg);
            break;
        }
        case 'q': pt_log_level = PT_LOG_QUIET; break;
        case 'h': fputs(demo_usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error("demo", "unknown option");
        }
    }
    if (!stdlib[0] && find_stdlib(stdlib, sizeof stdlib)) {
        fprintf(stderr, "parrot: demo: no Python standard library found under /usr/lib/python3.* "
                        "(install python3, or give --stdlib DIR)\n");
        return PT_EXIT_FAIL;
    }
    pt_err e = {0};
    if (pt_fs_mkdir_p(out, &e)) return pt_cli_report("demo", &e);
    char *corpus = pt_path_join(out, "corpus");
    if (!corpus) return PT_EXIT_FAIL;
    printf("== parrot demo: the CodeParrot pipeline on %s\n\n", stdlib);
    printf("== 1. parrot corpus build -o %s --force %s\n", corpus, stdlib);
    fflush(stdout);
    pt_build_params p;
    pt_build_defaults(&p);
    const char *inputs[1] = {stdlib};
    p.out_dir = corpus;
    p.force = 1;
    p.inputs = inputs;
    p.ninputs = 1;
    p.threads = threads;
    p.cmdline = pt_cli_cmdline;
    p.cancel = &pt_cli_interrupted;
    pt_cli_catch_interrupts();
    pt_build_report r;
    int rc = pt_corpus_build(&p, &r, &e);
    pt_build_report_free(&r);
    if (rc) {
        free(corpus);
        return pt_cli_report("demo", &e);
    }
    pt_buf table = {0};
    if (pt_manifest_table(corpus, &table, &e)) return pt_cli_report("demo", &e);
    fwrite(table.data, 1, table.len, stdout);
    pt_buf_free(&table);
    pt_store *s;
    if (pt_store_open(&s, corpus, "train", &e)) return pt_cli_report("demo", &e);
    uint64_t n = pt_store_count(s);
    printf("\n== 2. a few kept documents (parrot corpus cat %s | head):\n", corpus);
    for (uint64_t i = 0; i < n && i < 3; i++) {
        pt_doc d;
        pt_store_get(s, (i * n) / 3, &d);
        printf("\n--- %s/%s (%llu bytes, %u exact copies, %u near copies)\n", d.repo_name ? d.repo_name : "",
               d.path ? d.path : "", (unsigned long long)d.content_len, d.exact_copies, d.near_copies);
        const char *p0 = d.content;
        int lines = 0;
        while (*p0 && lines < 6) {
            const char *nl = strchr(p0, '\n');
            size_t k = nl ? (size_t)(nl - p0) : strlen(p0);
            printf("    %.*s\n", (int)(k > 100 ? 100 : k), p0);
            lines++;
            p0 += k + (nl != NULL);
        }
    }
    rc = train_tokenizer(s, out, threads);
    pt_store_close(s);
    if (rc == PT_EXIT_OK) rc = pack(corpus, out, threads);
    if (rc == PT_EXIT_OK && train_steps) rc = train(out, threads, train_steps);
    if (rc == PT_EXIT_OK && train_steps) rc = complete(out);
    if (rc == PT_EXIT_OK && train_steps) rc = humaneval(out, threads);
    if (rc == PT_EXIT_OK) printf("\n== done: everything is under %s\n", out);
    free(corpus);
    return rc;
}
