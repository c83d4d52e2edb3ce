/* generate.c - `parrot generate`: completions from a trained model (infer/lm.h, infer/generate.h). */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "cli/cli.h"
#include "infer/lm.h"

static const char usage[] =
    "usage: parrot generate --model CKPT (--prompt TEXT | --prompt-file F | -) [options]\n"
    "       parrot generate --model CKPT --prompts FILE.jsonl [-o OUT.jsonl] [options]\n"
    "\n"
    "Completes text with a trained model: CKPT is a checkpoint file or a RUN folder (its newest checkpoint).\n"
    "One prompt: the completion is streamed to standard output as it is generated (with --n-samples N > 1,\n"
    "each sample follows a '--- sample K' line). --prompts: JSON Lines with a \"prompt\" field per line (an\n"
    "\"id\" or \"task_id\" is carried over), all served from one model load; each completion is written as\n"
    "{\"prompt_index\", \"sample\", \"completion\", \"finish\": \"stop\"|\"eot\"|\"length\", \"tokens\", [\"logprobs\"]}.\n"
    "\n"
    "  -m, --model CKPT         the model\n"
    "  -p, --prompt TEXT        the prompt, as given (no newline added)\n"
    "  -f, --prompt-file F      the prompt from a file ('-' for standard input; a lone '-' argument too)\n"
    "      --prompts FILE       many prompts (JSON Lines)\n"
    "  -o, --out FILE           where --prompts results go (default: standard output)\n"
    "  -n, --n-samples N        completions per prompt (1)\n"
    "      --max-new-tokens N   at most N new tokens (128); a long prompt is cut from the left to fit\n"
    "  -t, --temperature X      0: greedy (0.2)\n"
    "      --top-k N            keep the N most likely tokens (0: off)\n"
    "      --top-p X            nucleus sampling (0.95; 1: off)\n"
    "      --seed N             (1) each sample draws from its own generator keyed by the seed and its index\n"
    "      --stop S             stop when the generated text contains S (repeatable; C escapes \\n \\t \\\\)\n"
    "      --bos                start the prompt with <|endoftext|> (as HumanEval's protocol does)\n"
    "      --logprobs           with --prompts: each token's log-probability under the model\n"
    "      --batch N            sequences decoded together (16)\n"
    "      --threads N          (all cores)      --kernels cpu|ref (cpu)\n"
    "  -q, --quiet, -h, --help\n";

static void stream_out(void *ctx, int i, const char *b, size_t n) {
    (void)ctx, (void)i;
    fwrite(b, 1, n, stdout);
    fflush(stdout);
}

typedef struct prompt_set {
    char **text;
    size_t *len;
    char **id;   /* JSON text of the carried id field, or NULL */
    int n;
} prompt_set;

static int read_prompts(const char *path, prompt_set *ps, pt_err *e) {
    pt_buf b = {0};
    PT_TRY(pt_fs_read_all(path, &b, e));
    int rc = PT_OK, cap = 0;
    size_t line = 0;
    for (size_t i = 0; i < b.len && !rc;) {
        char *nl = memchr(b.data + i, '\n', b.len - i);
        size_t end = nl ? (size_t)(nl - b.data) : b.len;
        line++;
        if (end > i) {
            pt_json_doc *d = NULL;
            if ((rc = pt_json_parse(b.data + i, end - i, &d, e))) {
                pt_err_prefix(e, "%s:%zu", path, line);
                break;
            }
            size_t pl;
            const char *p = pt_json_str(pt_json_get(pt_json_root(d), "prompt"), &pl);
            if (!p) {
                pt_json_free(d);
                rc = pt_fail(e, PT_EFORMAT, "%s:%zu: no \"prompt\" string", path, line);
                break;
            }
            if (ps->n == cap) {
                cap = cap ? 2 * cap : 64;
                char **nt = realloc(ps->text, cap * sizeof *nt), **ni = realloc(ps->id, cap * sizeof *ni);
                size_t *nlen = realloc(ps->len, cap * sizeof *nlen);
                if (nt) ps->text = nt;
                if (ni) ps->id = ni;
                if (nlen) ps->len = nlen;
                if (!nt || !ni || !nlen) { pt_json_free(d); rc = pt_fail(e, PT_ENOMEM, "out of memory"); break; }
            }
            ps->text[ps->n] = malloc(pl + 1);
            if (ps->text[ps->n]) memcpy(ps->text[ps->n], p, pl), ps->text[ps->n][pl] = 0;
            ps->len[ps->n] = pl;
            ps->id[ps->n] = NULL;
            const char *keys[2] = {"task_id", "id"};
            for (int k = 0; k < 2 && !ps->id[ps->n]; k++) {
                size_t il;
                const char *idv = pt_json_str(pt_json_get(pt_json_root(d), keys[k]), &il);
                if (idv) {
                    pt_buf j = {0};
                    pt_buf_printf(&j, e, "\"%s\": ", keys[k]);
                    pt_jsonw_str(&j, idv, il, e);
                    ps->id[ps->n] = j.data;
                }
            }
            ps->n++;
            pt_json_free(d);
        }
        i = end + 1;
    }
    pt_buf_free(&b);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    enum { O_PROMPTS = 256, O_MAXNEW, O_TOPK, O_TOPP, O_SEED, O_STOP, O_BOS, O_LOGP, O_BATCH, O_THREADS, O_KERNELS };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},       {"prompt", required_argument, 0, 'p'},
        {"prompt-file", required_argument, 0, 'f'}, {"prompts", required_argument, 0, O_PROMPTS},
        {"out", required_argument, 0, 'o'},         {"n-samples", required_argument, 0, 'n'},
        {"max-new-tokens", required_argument, 0, O_MAXNEW}, {"temperature", required_argument, 0, 't'},
        {"top-k", required_argument, 0, O_TOPK},    {"top-p", required_argument, 0, O_TOPP},
        {"seed", required_argument, 0, O_SEED},     {"stop", required_argument, 0, O_STOP},
        {"bos", no_argument, 0, O_BOS},             {"logprobs", no_argument, 0, O_LOGP},
        {"batch", required_argument, 0, O_BATCH},   {"threads", required_argument, 0, O_THREADS},
        {"kernels", required_argument, 0, O_KERNELS}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    const char *cmd = "generate", *model = NULL, *prompt = NULL, *prompt_file = NULL, *prompts_path = NULL,
               *out_path = NULL, *kernels = "cpu";
    char *stops[64];
    int nstops = 0, nsamples = 1, bos = 0, batch = 16, threads = pt_cli_default_threads(), c;
    pt_gen_opts o = {.max_new_tokens = 128, .temperature = 0.2, .top_p = 0.95, .seed = 1};
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:p:f:o:n:t:qh", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'm': model = optarg; break;
        case 'p': prompt = optarg; break;
        case 'f': prompt_file = optarg; break;
        case O_PROMPTS: prompts_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'n':
            nsamples = (int)strtol(optarg, &end, 10);
            if (*end || nsamples < 1) return pt_cli_usage_error(cmd, "bad --n-samples '%s'", optarg);
            break;
        case O_MAXNEW: case 't': case O_TOPK: case O_TOPP: case O_SEED: case O_STOP: {
            int rc = pt_cli_sampling_option(cmd, pt_cli_opt_name(opts, c), optarg, &o, stops, &nstops);
            if (rc) return rc;
            break;
        }
        case O_BOS: bos = 1; break;
        case O_LOGP: o.logprobs = 1; break;
        case O_BATCH:
            batch = (int)strtol(optarg, &end, 10);
            if (*end || batch < 1) return pt_cli_usage_error(cmd, "bad --batch '%s'", optarg);
            break;
        case O_THREADS:
            if (pt_cli_parse_threads(optarg, &threads)) return pt_cli_usage_error(cmd, "bad --threads '%s'", optarg);
            break;
        case O_KERNELS: kernels = optarg; break;
        case 'q': pt_log_level = PT_LOG_QUIET; break;
        case 'h': fputs(usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind < argc && !strcmp(argv[optind], "-") && !prompt && !prompt_file) prompt_file = "-", optind++;
    if (optind < argc) return pt_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model) return pt_cli_usage_error(cmd, "give the model with --model CKPT");
    if (!!prompt + !!prompt_file + !!prompts_path != 1)
        return pt_cli_usage_error(cmd, "give exactly one of --prompt, --prompt-file (or -), --prompts");
    const pt_kernels *k = pt_kernels_get(kernels);
    if (!k) return pt_cli_usage_error(cmd, "unknown --kernels '%s' (cpu, ref)", kernels);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    pt_cli_catch_interrupts();
    pt_err e = {0};
    pt_lm lm;
    prompt_set ps = {0};
    pt_buf text = {0};
    if (prompts_path) {
        if (read_prompts(prompts_path, &ps, &e)) return pt_cli_report(cmd, &e);
    } else if (prompt_file) {
        if (pt_fs_read_all(prompt_file, &text, &e)) return pt_cli_report(cmd, &e);
    }
    int single = !prompts_path, nprompts = single ? 1 : ps.n;
    int total = nprompts * nsamples;
    if (pt_lm_open(&lm, model, batch < total ? batch : (total ? total : 1), k, &e)) return pt_cli_report(cmd, &e);
    o.eot = lm.eot, o.stops = (const char *const *)stops, o.nstops = nstops;
    /* every (prompt, sample) pair is one sequence; the sample index keys its generator */
    uint32_t **ids = calloc(nprompts, sizeof *ids);
    size_t *nids = calloc(nprompts, sizeof *nids);
    const uint32_t **pp = calloc(total ? total : 1, sizeof *pp);
    size_t *pl = calloc(total ? total : 1, sizeof *pl);
    uint64_t *sid = calloc(total ? total : 1, sizeof *sid);
    pt_gen_result *res = calloc(total ? total : 1, sizeof *res);
    int rc = (!ids || !nids || !pp || !pl || !sid || !res) ? pt_fail(&e, PT_ENOMEM, "out of memory") : PT_OK;
    for (int i = 0; i < nprompts && !rc; i++) {
        const char *t = single ? (prompt ? prompt : text.data ? text.data : "") : ps.text[i];
        size_t tl = single ? (prompt ? strlen(prompt) : text.len) : ps.len[i];
        rc = pt_lm_encode(&lm, t, tl, bos, &ids[i], &nids[i], &e);
        for (int s = 0; s < nsamples && !rc; s++)
            pp[i * nsamples + s] = ids[i], pl[i * nsamples + s] = nids[i], sid[i * nsamples + s] = (uint64_t)s;
    }
    FILE *out = stdout;
    if (!rc && out_path && !(out = fopen(out_path, "w"))) rc = pt_fail_errno(&e, PT_EIO, "%s", out_path);
    if (!rc && single && nsamples == 1) {
        rc = pt_generate(lm.inf, lm.tok, pp, pl, 1, sid, &o, res, stream_out, NULL, &pt_cli_interrupted, &e);
        if (!rc) fputc('\n', stdout);
    } else if (!rc) {
        rc = pt_generate(lm.inf, lm.tok, pp, pl, total, sid, &o, res, NULL, NULL, &pt_cli_interrupted, &e);
        static const char *const finish[3] = {"length", "stop", "eot"};
        for (int q = 0; q < total && !rc; q++) {
            if (single) {
                fprintf(out, "--- sample %d\n%.*s\n", q, (int)res[q].text.len, res[q].text.data ? res[q].text.data : "");
                continue;
            }
            pt_buf line = {0};
            int i = q / nsamples;
            pt_buf_printf(&line, &e, "{%s%s\"prompt_index\": %d, \"sample\": %d, \"completion\": ", ps.id[i] ? ps.id[i] : "",
                          ps.id[i] ? ", " : "", i, q % nsamples);
            pt_jsonw_str(&line, res[q].text.data ? res[q].text.data : "", res[q].text.len, &e);
            pt_buf_printf(&line, &e, ", \"finish\": \"%s\", \"tokens\": %zu", finish[res[q].finish], res[q].n);
            if (o.logprobs) {
                pt_buf_printf(&line, &e, ", \"logprobs\": [");
                for (size_t j = 0; j < res[q].n; j++) pt_buf_printf(&line, &e, "%s%.6g", j ? ", " : "", res[q].logprobs[j]);
                pt_buf_printf(&line, &e, "]");
            }
            pt_buf_printf(&line, &e, "}\n");
            fwrite(line.data, 1, line.len, out);
            pt_buf_free(&line);
        }
    }
    for (int q = 0; q < total && res; q++) {
        if (res[q].prompt_cut && q % nsamples == 0)
            pt_warn("prompt %d: %zu tokens cut from the left to leave room for %d new ones", q / nsamples,
                    res[q].prompt_cut, o.max_new_tokens);
        pt_gen_result_free(&res[q]);
    }
    if (out && out != stdout && fclose(out) && !rc) rc = pt_fail_errno(&e, PT_EIO, "%s", out_path);
    for (int i = 0; i < nprompts && ids; i++) free(ids[i]);
    for (int i = 0; i < ps.n; i++) free(ps.text[i]), free(ps.id[i]);
    free(ps.text), free(ps.len), free(ps.id);
    free(ids), free(nids), free(pp), free(pl), free(sid), free(res);
    for (int s = 0; s < nstops; s++) free(stops[s]);
    pt_buf_free(&text);
    pt_lm_close(&lm);
    if (rc) return pt_cli_report(cmd, &e);
    return fflush(stdout) ? PT_EXIT_FAIL : PT_EXIT_OK;
}
