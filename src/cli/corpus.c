/* corpus.c - `parrot corpus build|stats|cat`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "cli/cli.h"
#include "corpus/build.h"
#include "corpus/manifest.h"
#include "corpus/store.h"

static const char build_usage[] =
    "usage: parrot corpus build -o DIR [options] INPUT...\n"
    "\n"
    "Builds a cleaned, deduplicated corpus from INPUTs: directories (walked recursively for --ext files, in byte\n"
    "order of their paths; symlinks are not followed) and JSON Lines files, plain or gzip (.jsonl, .jsonl.gz,\n"
    ".json.gz; '-' for stdin) with the GitHub-dump fields repo_name, path, content, size, license, copies.\n"
    "Steps: 1 size, 2 valid UTF-8 text, 3 exact dedup, 4 filters, 5 near dedup, 6 train/valid split.\n"
    "\n"
    "output:\n"
    "  -o, --out DIR            the corpus folder to write (refused if it exists, unless --force)\n"
    "      --force              replace an existing DIR (only once the new corpus is complete)\n"
    "      --shard-size SIZE    content bytes per shard (default 256M)\n"
    "inputs:\n"
    "      --ext EXT            file-name ending to take from directories (default .py; repeatable)\n"
    "step 1, size in bytes:\n"
    "      --min-size N         drop documents smaller than N bytes (default 1024)\n"
    "      --max-size N         drop documents larger than N bytes (default 1048575)\n"
    "step 4, CodeParrot's filters (give 'off' to turn a threshold off):\n"
    "      --no-autogen-filter  keep files that say they are auto-generated in their first 5 lines\n"
    "      --line-max N         drop if the longest line has more than N characters (default 1000)\n"
    "      --line-mean X        drop if the mean line length is above X (default 100)\n"
    "      --alpha-frac X       drop if the fraction of alphanumeric characters is below X (default 0.25)\n"
    "      --max-assignments N  drop if the file has N or fewer '=' characters (default 4)\n"
    "      --probabilistic      also CodeParrot's two random filters: config/test files and files without\n"
    "                           def/class/for/while are dropped with probability --proba (off by default)\n"
    "      --config-test-filter, --no-keywords-filter   turn on just one of the two\n"
    "      --proba P            drop probability of the random filters (default 0.7)\n"
    "      --seed N             seed of the random filters (default 0)\n"
    "      --licenses A,B,...   keep only documents whose license field is one of these (case-insensitive)\n"
    "      --tokenizer T        also CodeParrot's characters-per-token filter with this tokenizer (a Hugging Face\n"
    "                           tokenizer.json, or a folder with one or with GPT-2's encoder.json + vocab.bpe)\n"
    "      --min-token-ratio X  drop if characters per token is below X (default 1.5)\n"
    "      --decontaminate FILE drop documents sharing a run of 20 words (whitespace-normalized) with a benchmark\n"
    "                           item's prompt or canonical_solution (JSON Lines, e.g. HumanEval's problems), or\n"
    "                           holding a whole shorter item (8+ words); --decontaminate-ngram N changes the 20\n"
    "step 5, near dedup (MinHash LSH, as CodeParrot/datasketch):\n"
    "      --no-near-dedup      skip it\n"
    "      --near-threshold J   Jaccard similarity of near duplicates (default 0.85)\n"
    "      --num-perm N         MinHash permutations (default 256)\n"
    "      --min-tokens N       documents with fewer distinct tokens are left out of it (default 10)\n"
    "step 6, split:\n"
    "      --valid-fraction F   share of documents in the valid split, by a hash of their identity (default 0.01)\n"
    "      --split-seed N       seed of that hash (default 0)\n"
    "general:\n"
    "      --threads N          worker threads (default: all cores)\n"
    "      --batch-size SIZE    content bytes per processing batch (default 16M; three are in memory at once)\n"
    "      --json               print the report as JSON (the manifest) instead of a table\n"
    "  -q, --quiet              no progress or warnings on stderr\n"
    "  -v, --verbose            also say which documents were dropped as not text\n"
    "  -h, --help               this help\n"
    "\n"
    "Example: parrot corpus build -o corpus /usr/lib/python3.11 codeparrot-00000.jsonl.gz\n";


static int parse_off_double(const char *s, double *out) {
    if (!strcmp(s, "off")) {
        *out = -1;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < 0) return -1;
    *out = v;
    return 0;
}

/* Splits "a,b,c" in place into a NULL-free array (the strings point into s). */
static int split_list(char *s, const char ***out) {
    int n = 1;
    for (char *p = s; *p; p++) n += *p == ',';
    const char **v = calloc((size_t)n, sizeof *v);
    if (!v) return -1;
    int k = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) v[k++] = tok;
    *out = v;
    return k;
}

static int print_report(const char *dir, int json) {
    pt_buf out = {0};
    pt_err e = {0};
    int rc = json ? pt_manifest_read(dir, &out, &e) : pt_manifest_table(dir, &out, &e);
    if (rc) return pt_cli_report(dir, &e);
    fwrite(out.data, 1, out.len, stdout);
    pt_buf_free(&out);
    return PT_EXIT_OK;
}

static int cmd_build(int argc, char **argv) {
    enum { O_FORCE = 256, O_SHARD, O_EXT, O_MIN, O_MAX, O_NOAUTO, O_LMAX, O_LMEAN, O_ALPHA, O_ASSIGN, O_PROB, O_CT,
           O_NK, O_PROBA, O_SEED, O_LIC, O_NONEAR, O_THR, O_PERM, O_MINTOK, O_VALID, O_SSEED, O_THREADS, O_JSON, O_BATCH, O_TOK, O_RATIO, O_DECON, O_DECON_N };
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"force", no_argument, 0, O_FORCE},
        {"shard-size", required_argument, 0, O_SHARD}, {"ext", required_argument, 0, O_EXT},
        {"min-size", required_argument, 0, O_MIN}, {"max-size", required_argument, 0, O_MAX},
        {"no-autogen-filter", no_argument, 0, O_NOAUTO}, {"line-max", required_argument, 0, O_LMAX},
        {"line-mean", required_argument, 0, O_LMEAN}, {"alpha-frac", required_argument, 0, O_ALPHA},
        {"max-assignments", required_argument, 0, O_ASSIGN}, {"probabilistic", no_argument, 0, O_PROB},
        {"config-test-filter", no_argument, 0, O_CT}, {"no-keywords-filter", no_argument, 0, O_NK},
        {"proba", required_argument, 0, O_PROBA}, {"seed", required_argument, 0, O_SEED},
        {"licenses", required_argument, 0, O_LIC}, {"decontaminate", required_argument, 0, O_DECON},
        {"decontaminate-ngram", required_argument, 0, O_DECON_N}, {"no-near-dedup", no_argument, 0, O_NONEAR},
        {"near-threshold", required_argument, 0, O_THR}, {"num-perm", required_argument, 0, O_PERM},
        {"min-tokens", required_argument, 0, O_MINTOK}, {"valid-fraction", required_argument, 0, O_VALID},
        {"split-seed", required_argument, 0, O_SSEED}, {"threads", required_argument, 0, O_THREADS},
        {"batch-size", required_argument, 0, O_BATCH}, {"tokenizer", required_argument, 0, O_TOK},
        {"min-token-ratio", required_argument, 0, O_RATIO},
        {"json", no_argument, 0, O_JSON}, {"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    pt_build_params p;
    pt_build_defaults(&p);
    p.threads = pt_cli_default_threads();
    p.cmdline = pt_cli_cmdline;
    const char **exts = NULL;
    int nexts = 0, json = 0;
    const char *cmd = "corpus build";
    unsigned long long u;
    double d;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': p.out_dir = optarg; break;
        case O_FORCE: p.force = 1; break;
        case O_SHARD:
            if (pt_cli_parse_size(optarg, &u) || u == 0) return pt_cli_usage_error(cmd, "bad --shard-size '%s'", optarg);
            p.shard_bytes = u;
            break;
        case O_EXT: {
            const char **ne = realloc(exts, (size_t)(nexts + 1) * sizeof *ne);
            if (!ne) return PT_EXIT_FAIL;
            exts = ne;
            exts[nexts++] = optarg;
            break;
        }
        case O_MIN:
        case O_MAX:
            if (pt_cli_parse_size(optarg, &u))
                return pt_cli_usage_error(cmd, "bad %s '%s'", c == O_MIN ? "--min-size" : "--max-size", optarg);
            *(c == O_MIN ? &p.min_size : &p.max_size) = u;
            break;
        case O_NOAUTO: p.filter.autogen = 0; break;
        case O_LMAX:
            if (parse_off_double(optarg, &p.filter.line_max)) return pt_cli_usage_error(cmd, "bad --line-max '%s'", optarg);
            break;
        case O_LMEAN:
            if (parse_off_double(optarg, &p.filter.line_mean)) return pt_cli_usage_error(cmd, "bad --line-mean '%s'", optarg);
            break;
        case O_ALPHA:
            if (parse_off_double(optarg, &p.filter.alpha_frac) || p.filter.alpha_frac > 1)
                return pt_cli_usage_error(cmd, "bad --alpha-frac '%s' (a fraction, or off)", optarg);
            break;
        case O_ASSIGN:
            if (!strcmp(optarg, "off")) p.filter.max_assignments = -1;
            else if (pt_cli_parse_size(optarg, &u)) return pt_cli_usage_error(cmd, "bad --max-assignments '%s'", optarg);
            else p.filter.max_assignments = (long)u;
            break;
        case O_PROB: p.filter.config_test = p.filter.no_keywords = 1; break;
        case O_CT: p.filter.config_test = 1; break;
        case O_NK: p.filter.no_keywords = 1; break;
        case O_PROBA:
            if (parse_off_double(optarg, &d) || d > 1) return pt_cli_usage_error(cmd, "bad --proba '%s'", optarg);
            p.filter.proba = d;
            break;
        case O_SEED:
            if (pt_cli_parse_size(optarg, &u)) return pt_cli_usage_error(cmd, "bad --seed '%s'", optarg);
            p.filter.seed = u;
            break;
        case O_LIC:
            p.nlicenses = split_list(optarg, (const char ***)&p.licenses);
            if (p.nlicenses <= 0) return pt_cli_usage_error(cmd, "bad --licenses '%s'", optarg);
            break;
        case O_NONEAR: p.near_dedup = 0; break;
        case O_THR:
            if (parse_off_double(optarg, &d) || d <= 0 || d > 1)
                return pt_cli_usage_error(cmd, "bad --near-threshold '%s' (in (0, 1])", optarg);
            p.minhash.threshold = d;
            break;
        case O_PERM:
            if (pt_cli_parse_size(optarg, &u) || u < 2 || u > PT_MINHASH_MAX_PERM)
                return pt_cli_usage_error(cmd, "bad --num-perm '%s' (2..%d)", optarg, PT_MINHASH_MAX_PERM);
            p.minhash.num_perm = (int)u;
            break;
        case O_MINTOK:
            if (pt_cli_parse_size(optarg, &u) || u > 1000000) return pt_cli_usage_error(cmd, "bad --min-tokens '%s'", optarg);
            p.minhash.min_tokens = (int)u;
            break;
        case O_VALID:
            if (parse_off_double(optarg, &d) || d > 1) return pt_cli_usage_error(cmd, "bad --valid-fraction '%s'", optarg);
            p.valid_fraction = d;
            break;
        case O_SSEED:
            if (pt_cli_parse_size(optarg, &u)) return pt_cli_usage_error(cmd, "bad --split-seed '%s'", optarg);
            p.split_seed = u;
            break;
        case O_THREADS:
            if (pt_cli_parse_threads(optarg, &p.threads)) return pt_cli_usage_error(cmd, "bad --threads '%s'", optarg);
            break;
        case O_BATCH:
            if (pt_cli_parse_size(optarg, &u) || u < 4096) return pt_cli_usage_error(cmd, "bad --batch-size '%s'", optarg);
            p.batch_bytes = u;
            break;
        case O_TOK: p.tokenizer = optarg; break;
        case O_DECON: p.decontaminate = optarg; break;
        case O_DECON_N:
            if (pt_cli_parse_size(optarg, &u) || u < 8 || u > 1000)
                return pt_cli_usage_error(cmd, "bad --decontaminate-ngram '%s' (8..1000 words)", optarg);
            p.decontam_ngram = (int)u;
            break;
        case O_RATIO:
            if (parse_off_double(optarg, &d)) return pt_cli_usage_error(cmd, "bad --min-token-ratio '%s'", optarg);
            p.min_token_ratio = d < 0 ? 0 : d;
            break;
        case O_JSON: json = 1; break;
        case 'q': pt_log_level = PT_LOG_QUIET; break;
        case 'v': pt_log_level = PT_LOG_VERBOSE; break;
        case 'h': fputs(build_usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error(cmd, "unknown option");
        }
    }
    if (!p.out_dir) return pt_cli_usage_error(cmd, "missing -o DIR");
    if (optind >= argc) return pt_cli_usage_error(cmd, "no INPUT given");
    if (nexts) {
        p.exts = exts;
        p.nexts = nexts;
    }
    pt_err e = {0};
    pt_minhash_params dflt;
    pt_minhash_defaults(&dflt);
    int banding_changed = p.minhash.threshold != dflt.threshold || p.minhash.num_perm != dflt.num_perm;
    if (p.near_dedup && banding_changed && /* the optimiser takes ~50 ms: only when needed */
        pt_minhash_optimal_bands(p.minhash.threshold, p.minhash.num_perm, &p.minhash.bands, &p.minhash.rows))
        return pt_cli_usage_error(cmd, "no LSH banding for --near-threshold %g with --num-perm %d", p.minhash.threshold,
                                  p.minhash.num_perm);
    p.inputs = (const char *const *)(argv + optind);
    p.ninputs = argc - optind;
    p.cancel = &pt_cli_interrupted;
    pt_cli_catch_interrupts();
    pt_build_report r;
    int rc = pt_corpus_build(&p, &r, &e);
    pt_build_report_free(&r);
    free(exts);
    free((void *)p.licenses);
    if (rc) return pt_cli_report(cmd, &e);
    if (pt_log_level == PT_LOG_QUIET && !json) return PT_EXIT_OK;
    return print_report(p.out_dir, json);
}

static const char stats_usage[] =
    "usage: parrot corpus stats DIR [--json]\n"
    "\n"
    "Prints what `parrot corpus build` kept and dropped at each step, and why; with --json the whole manifest.\n";

static int cmd_stats(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'h') {
            fputs(stats_usage, stdout);
            return PT_EXIT_OK;
        } else return pt_cli_usage_error("corpus stats", "unknown option");
    }
    if (optind != argc - 1) return pt_cli_usage_error("corpus stats", "give exactly one DIR");
    return print_report(argv[optind], json);
}

static const char cat_usage[] =
    "usage: parrot corpus cat DIR [--split train|valid|all] [--limit N] [-o FILE]\n"
    "\n"
    "Writes the corpus's documents as JSON Lines (to stdout, or FILE) with the GitHub-dump field names:\n"
    "repo_name, path, content, size, license, copies (strings, as in the CodeParrot datasets; size and copies come\n"
    "from the input when it had them, else the content's bytes and the exact copies found), plus exact_copies and\n"
    "near_copies (numbers). Default split: train.\n";

static int write_field(pt_buf *b, const char *key, const char *v, size_t n, pt_err *e) {
    PT_TRY(pt_buf_putc(b, ',', e));
    PT_TRY(pt_jsonw_key(b, key, e));
    if (!v) return pt_buf_append(b, "null", 4, e);
    return pt_jsonw_str(b, v, n, e);
}

static int cat_split(const char *dir, const char *split, FILE *out, uint64_t *left, pt_err *e) {
    pt_store *s;
    PT_TRY(pt_store_open_flags(&s, dir, split, PT_STORE_OPEN_QUICK, e));
    pt_buf b = {0};
    int rc = PT_OK;
    uint64_t n = pt_store_count(s);
    for (uint64_t i = 0; i < n && *left && !rc; i++, (*left)--) {
        pt_doc d;
        pt_store_get(s, i, &d);
        pt_buf_clear(&b);
        char num[32], cp[32];
        snprintf(num, sizeof num, "%llu", (unsigned long long)d.content_len);
        snprintf(cp, sizeof cp, "%u", d.exact_copies);
        rc = pt_buf_putc(&b, '{', e);
        if (!rc) rc = pt_jsonw_key(&b, "repo_name", e);
        if (!rc) rc = d.repo_name ? pt_jsonw_str(&b, d.repo_name, d.repo_name_len, e) : pt_buf_append(&b, "null", 4, e);
        if (!rc) rc = write_field(&b, "path", d.path, d.path_len, e);
        if (!rc) rc = write_field(&b, "content", d.content, d.content_len, e);
        if (!rc) rc = write_field(&b, "size", d.size ? d.size : num, d.size ? d.size_len : strlen(num), e);
        if (!rc) rc = write_field(&b, "license", d.license, d.license_len, e);
        if (!rc) rc = write_field(&b, "copies", d.copies ? d.copies : cp, d.copies ? d.copies_len : strlen(cp), e);
        if (!rc) rc = pt_buf_printf(&b, e, ",\"exact_copies\":%u,\"near_copies\":%u}\n", d.exact_copies, d.near_copies);
        if (!rc && fwrite(b.data, 1, b.len, out) != b.len) rc = pt_fail_errno(e, PT_EIO, "writing the output failed");
    }
    pt_buf_free(&b);
    pt_store_close(s);
    return rc;
}

static int cmd_cat(int argc, char **argv) {
    static const struct option opts[] = {{"split", required_argument, 0, 's'}, {"limit", required_argument, 0, 'l'},
                                         {"out", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *split = "train", *outp = "-";
    unsigned long long limit = ~0ull;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 's') split = optarg;
        else if (c == 'l') {
            if (pt_cli_parse_size(optarg, &limit)) return pt_cli_usage_error("corpus cat", "bad --limit '%s'", optarg);
        } else if (c == 'o') outp = optarg;
        else if (c == 'h') {
            fputs(cat_usage, stdout);
            return PT_EXIT_OK;
        } else return pt_cli_usage_error("corpus cat", "unknown option");
    }
    if (strcmp(split, "train") && strcmp(split, "valid") && strcmp(split, "all"))
        return pt_cli_usage_error("corpus cat", "--split must be train, valid or all");
    if (optind != argc - 1) return pt_cli_usage_error("corpus cat", "give exactly one DIR");
    const char *dir = argv[optind];
    pt_err e = {0};
    pt_buf m = {0};
    if (pt_manifest_read(dir, &m, &e)) return pt_cli_report("corpus cat", &e);
    pt_buf_free(&m);
    FILE *out = stdout;
    pt_afile af;
    int to_file = strcmp(outp, "-") != 0;
    if (to_file) {
        if (pt_afile_open(&af, outp, &e)) return pt_cli_report("corpus cat", &e);
        out = af.f;
    }
    uint64_t left = limit;
    int rc = PT_OK;
    if (!strcmp(split, "all") || !strcmp(split, "train")) rc = cat_split(dir, "train", out, &left, &e);
    if (!rc && (!strcmp(split, "all") || !strcmp(split, "valid"))) rc = cat_split(dir, "valid", out, &left, &e);
    if (to_file) {
        if (rc) pt_afile_abort(&af);
        else rc = pt_afile_commit(&af, &e);
    } else if (fflush(stdout) != 0) {
        rc = pt_fail_errno(&e, PT_EIO, "writing to stdout failed");
    }
    return rc ? pt_cli_report("corpus cat", &e) : PT_EXIT_OK;
}

int cmd_corpus(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs("usage: parrot corpus build|stats|cat [options]\n"
              "  build -o DIR INPUT...   build a cleaned, deduplicated corpus\n"
              "  stats DIR               what was kept and dropped, and why\n"
              "  cat DIR                 the documents as JSON Lines\n"
              "Run 'parrot corpus <sub> --help' for details.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? PT_EXIT_USAGE : PT_EXIT_OK;
    }
    if (!strcmp(argv[1], "build")) return cmd_build(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stats")) return cmd_stats(argc - 1, argv + 1);
    if (!strcmp(argv[1], "cat")) return cmd_cat(argc - 1, argv + 1);
    return pt_cli_usage_error("corpus", "unknown subcommand '%s'", argv[1]);
}
