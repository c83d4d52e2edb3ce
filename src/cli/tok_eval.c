/* tok_eval.c - `parrot tokenizer eval`: the chapter's tokenizer metrics (tok/metrics.h),
 * one column per tokenizer.
 *
 * Inputs are read in batches of about 32 MiB (documents of a corpus folder are pointers into
 * its mapped shards, other documents are copied into the batch); each batch is encoded by
 * all threads, documents spread dynamically, every thread with its own scratch per
 * tokenizer (a scratch's piece cache is worth keeping across documents). */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "cli/cli.h"
#include "corpus/textsrc.h"
#include "tok/metrics.h"
#include "tok/tokfile.h"

#ifdef _OPENMP
#include <omp.h>
static int thread_id(void) { return omp_get_thread_num(); }
#else
static int thread_id(void) { return 0; }
#endif

static const char usage[] =
    "usage: parrot tokenizer eval --tokenizer T [--tokenizer T2 ...] [options] INPUT...\n"
    "\n"
    "Measures how each tokenizer splits the INPUT text (\"NLP with Transformers\", chapter 10) and prints the\n"
    "figures side by side: subword fertility (tokens per word) and the share of words split into 2+ tokens,\n"
    "unknown and rare tokens, characters per token, tokens per file, and which Python keywords and builtins\n"
    "are single tokens. A word is a GPT-2 pre-token holding a letter or number, less its leading space\n"
    "(docs/tokenizer.md, \"Metrics\").\n"
    "\n"
    "INPUT: a corpus folder from `parrot corpus build` (its --split), another folder (its --ext files, each\n"
    "one document), JSON Lines with a \"content\" (or else \"text\") string per line (.jsonl, .jsonl.gz,\n"
    ".json.gz, .json; plain or gzip; '-' is standard input), or any other file (one document).\n"
    "\n"
    "  -t, --tokenizer T   a Hugging Face tokenizer.json, or a folder with one or with GPT-2's encoder.json +\n"
    "                      vocab.bpe (or vocab.json + merges.txt); repeat for more columns\n"
    "      --rare N        a token is rare when its id is seen fewer than N times in the text (default 10)\n"
    "      --split S       the split of a corpus folder (default train)\n"
    "      --ext EXT       file-name ending taken from other folders (default .py; repeatable)\n"
    "      --json          print JSON instead of a table\n"
    "      --threads N     worker threads (default: all cores)\n"
    "  -q, --quiet         no warnings on stderr\n"
    "  -v, --verbose       say what is read\n"
    "  -h, --help          this help\n";

#define MAX_TOK 16

typedef struct eval {
    int ntok, nth;
    const pt_bpe *tok[MAX_TOK];
    pt_tokm *m[MAX_TOK];
    pt_bpe_scratch **scr; /* (ntok * nth) */
} eval;

/* One batch of documents (corpus/textsrc.h), spread over the threads, into every tokenizer's
 * metrics. */
static int eval_batch(void *ctx, size_t n, const char *const *texts, const size_t *lens, pt_err *e) {
    eval *ev = ctx;
    int failed = 0;
    pt_err fe = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(ev->nth)
    for (size_t i = 0; i < n; i++) {
        int tid = thread_id();
        for (int j = 0; j < ev->ntok; j++) {
            pt_err le = {0};
            if (pt_tokm_add(ev->m[j], tid, texts[i], lens[i], ev->scr[j * ev->nth + tid], &le)) {
#pragma omp critical
                if (!failed) failed = 1, fe = le;
            }
        }
    }
    if (failed) {
        *e = fe;
        return fe.code ? fe.code : PT_ENOMEM;
    }
    return PT_OK;
}

/* ---- output ------------------------------------------------------------------------ */

static const char *short_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *s = path;
    for (size_t i = 0; i + 1 < n; i++)
        if (path[i] == '/') s = path + i + 1;
    return s;
}

static int write_list(pt_buf *o, const char *const *words, const uint8_t *single, int n, pt_err *e) {
    PT_TRY(pt_buf_putc(o, '[', e));
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (single[i]) continue;
        if (!first) PT_TRY(pt_buf_putc(o, ',', e));
        first = 0;
        PT_TRY(pt_jsonw_cstr(o, words[i], e));
    }
    return pt_buf_putc(o, ']', e);
}

#define U(k, v)                                                                 \
    do {                                                                        \
        PT_TRY(pt_jsonw_key(o, k, e));                                          \
        PT_TRY(pt_buf_printf(o, e, "%llu,", (unsigned long long)(v)));          \
    } while (0)
#define D(k, v)                                                                 \
    do {                                                                        \
        PT_TRY(pt_jsonw_key(o, k, e));                                          \
        PT_TRY(pt_jsonw_double(o, v, e));                                       \
        PT_TRY(pt_buf_putc(o, ',', e));                                         \
    } while (0)

static int write_json(pt_buf *o, char **paths, const pt_tokm_result *r, int ntok, uint64_t rare, pt_err *e) {
    PT_TRY(pt_buf_printf(o, e, "{\"rare_min\":%llu,\"tokenizers\":[", (unsigned long long)rare));
    for (int j = 0; j < ntok; j++) {
        const pt_tokm_result *x = &r[j];
        PT_TRY(pt_buf_printf(o, e, "%s{", j ? "," : ""));
        PT_TRY(pt_jsonw_key(o, "tokenizer", e));
        PT_TRY(pt_jsonw_cstr(o, paths[j], e));
        PT_TRY(pt_buf_putc(o, ',', e));
        U("vocab_size", x->vocab_size);
        U("documents", x->docs);
        U("bytes", x->bytes);
        U("characters", x->chars);
        U("tokens", x->tokens);
        U("words", x->words);
        U("word_tokens", x->word_tokens);
        U("continued_words", x->continued_words);
        U("unknown_tokens", x->unknown);
        U("vocab_used", x->vocab_used);
        U("rare_tokens", x->rare_tokens);
        U("rare_ids", x->rare_ids);
        D("fertility", x->fertility);
        D("continued_share", x->continued_share);
        D("unknown_share", x->unknown_share);
        D("rare_token_share", x->rare_token_share);
        D("rare_vocab_share", x->rare_vocab_share);
        D("chars_per_token", x->chars_per_token);
        D("tokens_per_doc_mean", x->tokens_per_doc_mean);
        D("tokens_per_doc_median", x->tokens_per_doc_median);
        U("keywords", PT_TOKM_NKEYWORDS);
        U("keywords_single_space", x->keywords_single_sp);
        U("keywords_single_bare", x->keywords_single_bare);
        U("builtins", PT_TOKM_NBUILTINS);
        U("builtins_single_space", x->builtins_single_sp);
        U("builtins_single_bare", x->builtins_single_bare);
        PT_TRY(pt_jsonw_key(o, "keywords_split_space", e));
        PT_TRY(write_list(o, pt_tokm_keywords, x->keyword_single_sp, PT_TOKM_NKEYWORDS, e));
        PT_TRY(pt_buf_putc(o, ',', e));
        PT_TRY(pt_jsonw_key(o, "keywords_split_bare", e));
        PT_TRY(write_list(o, pt_tokm_keywords, x->keyword_single_bare, PT_TOKM_NKEYWORDS, e));
        PT_TRY(pt_buf_putc(o, ',', e));
        PT_TRY(pt_jsonw_key(o, "builtins_split_space", e));
        PT_TRY(write_list(o, pt_tokm_builtins, x->builtin_single_sp, PT_TOKM_NBUILTINS, e));
        PT_TRY(pt_buf_putc(o, ',', e));
        PT_TRY(pt_jsonw_key(o, "builtins_split_bare", e));
        PT_TRY(write_list(o, pt_tokm_builtins, x->builtin_single_bare, PT_TOKM_NBUILTINS, e));
        PT_TRY(pt_buf_putc(o, '}', e));
    }
    return pt_buf_printf(o, e, "]}\n");
}

typedef struct row {
    const char *label;
    int kind; /* 0 count, 1 ratio, 2 share (percent), 3 a/b */
    size_t off, off2;
} row;

#define F(f) offsetof(pt_tokm_result, f)
#define GU(x, off) (*(const uint64_t *)((const char *)(x) + (off)))
#define GD(x, off) (*(const double *)((const char *)(x) + (off)))
#define GI(x, off) (*(const int *)((const char *)(x) + (off)))

static int write_table(pt_buf *o, char **paths, const pt_tokm_result *r, int ntok, uint64_t rare, pt_err *e) {
    char rare_label[64];
    snprintf(rare_label, sizeof rare_label, "rare tokens (id seen < %llu times)", (unsigned long long)rare);
    const row rows[] = {
        {"vocabulary size", 0, F(vocab_size), 0},
        {"documents", 0, F(docs), 0},
        {"characters", 0, F(chars), 0},
        {"tokens", 0, F(tokens), 0},
        {"characters per token", 1, F(chars_per_token), 0},
        {"tokens per file, mean", 1, F(tokens_per_doc_mean), 0},
        {"tokens per file, median", 1, F(tokens_per_doc_median), 0},
        {"words", 0, F(words), 0},
        {"subword fertility (tokens/word)", 1, F(fertility), 0},
        {"continued words (2+ tokens)", 2, F(continued_share), 0},
        {"unknown tokens", 2, F(unknown_share), 0},
        {rare_label, 2, F(rare_token_share), 0},
        {"  share of the vocabulary used", 2, F(rare_vocab_share), 0},
        {"vocabulary used", 0, F(vocab_used), 0},
        {"keywords single token, \" def\"", 3, F(keywords_single_sp), PT_TOKM_NKEYWORDS},
        {"keywords single token, \"def\"", 3, F(keywords_single_bare), PT_TOKM_NKEYWORDS},
        {"builtins single token, \" len\"", 3, F(builtins_single_sp), PT_TOKM_NBUILTINS},
        {"builtins single token, \"len\"", 3, F(builtins_single_bare), PT_TOKM_NBUILTINS},
    };
    int width[MAX_TOK];
    for (int j = 0; j < ntok; j++) {
        width[j] = (int)strlen(short_name(paths[j]));
        if (width[j] < 14) width[j] = 14;
    }
    PT_TRY(pt_buf_printf(o, e, "%-36s", ""));
    for (int j = 0; j < ntok; j++) PT_TRY(pt_buf_printf(o, e, "  %*s", width[j], short_name(paths[j])));
    PT_TRY(pt_buf_putc(o, '\n', e));
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        PT_TRY(pt_buf_printf(o, e, "%-36s", rows[k].label));
        for (int j = 0; j < ntok; j++) {
            char cell[64];
            const pt_tokm_result *x = &r[j];
            switch (rows[k].kind) {
            case 0: snprintf(cell, sizeof cell, "%llu", (unsigned long long)GU(x, rows[k].off)); break;
            case 1: snprintf(cell, sizeof cell, "%.3f", GD(x, rows[k].off)); break;
            case 2: snprintf(cell, sizeof cell, "%.2f%%", 100 * GD(x, rows[k].off)); break;
            default: snprintf(cell, sizeof cell, "%d/%zu", GI(x, rows[k].off), rows[k].off2); break;
            }
            PT_TRY(pt_buf_printf(o, e, "  %*s", width[j], cell));
        }
        PT_TRY(pt_buf_putc(o, '\n', e));
    }
    for (int j = 0; j < ntok; j++) {
        const pt_tokm_result *x = &r[j];
        struct {
            const char *what;
            const char *const *words;
            const uint8_t *single;
            int n;
        } lists[] = {
            {"keywords, \" kw\"", pt_tokm_keywords, x->keyword_single_sp, PT_TOKM_NKEYWORDS},
            {"keywords, \"kw\"", pt_tokm_keywords, x->keyword_single_bare, PT_TOKM_NKEYWORDS},
            {"builtins, \" name\"", pt_tokm_builtins, x->builtin_single_sp, PT_TOKM_NBUILTINS},
            {"builtins, \"name\"", pt_tokm_builtins, x->builtin_single_bare, PT_TOKM_NBUILTINS},
        };
        PT_TRY(pt_buf_printf(o, e, "\n%s: not single tokens\n", short_name(paths[j])));
        for (int l = 0; l < 4; l++) {
            PT_TRY(pt_buf_printf(o, e, "  %-18s", lists[l].what));
            int any = 0;
            for (int i = 0; i < lists[l].n; i++)
                if (!lists[l].single[i]) {
                    PT_TRY(pt_buf_printf(o, e, " %s", lists[l].words[i]));
                    any = 1;
                }
            PT_TRY(pt_buf_printf(o, e, "%s\n", any ? "" : " (none)"));
        }
    }
    return PT_OK;
}

int cmd_tokenizer_eval(int argc, char **argv) {
    enum { O_RARE = 256, O_SPLIT, O_EXT, O_JSON, O_THREADS };
    static const struct option opts[] = {
        {"tokenizer", required_argument, 0, 't'}, {"rare", required_argument, 0, O_RARE},
        {"split", required_argument, 0, O_SPLIT}, {"ext", required_argument, 0, O_EXT},
        {"json", no_argument, 0, O_JSON},         {"threads", required_argument, 0, O_THREADS},
        {"quiet", no_argument, 0, 'q'},           {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    const char *cmd = "tokenizer eval";
    char *paths[MAX_TOK];
    const char *exts[16];
    int ntok = 0, nexts = 0, json = 0, threads = pt_cli_default_threads(), c;
    unsigned long long rare = 10;
    const char *split = "train";
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (ntok == MAX_TOK) return pt_cli_usage_error(cmd, "at most %d --tokenizer", MAX_TOK);
            paths[ntok++] = optarg;
            break;
        case O_RARE:
            if (pt_cli_parse_size(optarg, &rare)) return pt_cli_usage_error(cmd, "bad --rare '%s'", optarg);
            break;
        case O_SPLIT: split = optarg; break;
        case O_EXT:
            if (nexts == 16) return pt_cli_usage_error(cmd, "at most 16 --ext");
            exts[nexts++] = optarg;
            break;
        case O_JSON: json = 1; break;
        case O_THREADS:
            if (pt_cli_parse_threads(optarg, &threads)) return pt_cli_usage_error(cmd, "bad --threads '%s'", optarg);
            break;
        case 'q': pt_log_level = PT_LOG_QUIET; break;
        case 'v': pt_log_level = PT_LOG_VERBOSE; break;
        case 'h': fputs(usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error(cmd, "unknown option");
        }
    }
    if (!ntok) return pt_cli_usage_error(cmd, "give at least one --tokenizer");
    if (optind >= argc) return pt_cli_usage_error(cmd, "give at least one INPUT");
    pt_cli_catch_interrupts();

    eval ev = {.ntok = ntok, .nth = threads};
    pt_err e = {0};
    int code = PT_EXIT_FAIL;
    pt_tokm_result *res = NULL;
    pt_buf out = {0};
    ev.scr = calloc((size_t)ntok * (size_t)threads, sizeof *ev.scr);
    if (!ev.scr) goto oom;
    for (int j = 0; j < ntok; j++) {
        pt_bpe *t;
        if (pt_bpe_load(&t, paths[j], &e)) {
            code = pt_cli_report(cmd, &e);
            goto done;
        }
        ev.tok[j] = t;
        if (pt_tokm_new(&ev.m[j], t, threads, &e)) goto oom;
        for (int i = 0; i < threads; i++)
            if (!(ev.scr[j * threads + i] = pt_bpe_scratch_new())) goto oom;
    }
    double t0 = pt_now();
    const pt_textsrc_opts so = {.split = split, .exts = exts, .nexts = nexts, .batch_bytes = (size_t)32 << 20,
                                .batch_docs = 8192, .cancel = &pt_cli_interrupted};
    pt_textsrc_stats ss;
    if (pt_textsrc_run((const char *const *)argv + optind, argc - optind, &so, eval_batch, &ev, &ss, &e)) {
        code = e.code == PT_EINTR ? PT_EXIT_INTR : pt_cli_report(cmd, &e);
        goto done;
    }
    res = calloc((size_t)ntok, sizeof *res);
    if (!res) goto oom;
    for (int j = 0; j < ntok; j++)
        if (pt_tokm_result_get(ev.m[j], rare, ev.scr[j * threads], &res[j], &e)) goto report;
    pt_verbose("%llu documents, %llu bytes, %d tokenizers in %.2f s", (unsigned long long)ss.docs,
               (unsigned long long)res[0].bytes, ntok, pt_now() - t0);
    if (ss.bad_lines) pt_warn("%llu malformed JSON lines skipped", (unsigned long long)ss.bad_lines);
    if ((json ? write_json : write_table)(&out, paths, res, ntok, rare, &e)) goto report;
    if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout)) {
        pt_fail_errno(&e, PT_EIO, "standard output");
        goto report;
    }
    code = PT_EXIT_OK;
    goto done;
oom:
    if (!e.code) pt_fail(&e, PT_ENOMEM, "out of memory");
report:
    code = pt_cli_report(cmd, &e);
done:
    pt_buf_free(&out);
    free(res);
    for (int j = 0; j < ntok; j++) {
        for (int i = 0; ev.scr && i < threads; i++) pt_bpe_scratch_free(ev.scr[j * threads + i]);
        pt_tokm_free(ev.m[j]);
        pt_bpe_free((pt_bpe *)ev.tok[j]);
    }
    free(ev.scr);
    return code;
}
