/* main.c - the parrot program: dispatches to one subcommand per pipeline stage. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/cli.h"

const char *pt_cli_cmdline = "parrot";

static const char usage[] =
    "usage: parrot [--version] [--help] <command> [<args>]\n"
    "\n"
    "parrot trains code-completion language models from scratch: the CodeParrot pipeline in C.\n"
    "\n"
    "commands:\n"
    "  corpus build|stats|cat   build a cleaned, deduplicated Python corpus; report it; export it as JSON Lines\n"
    "  tokenizer train|encode|decode|eval   byte-level BPE tokenizers (Hugging Face tokenizer.json)\n"
    "  pack                     encode a corpus into token shards for training; inspect or dump them\n"
    "  info PATH                say what a parrot file or folder is\n"
    "  train                    train a GPT-2 from scratch (or fine-tune) on packed data\n"
    "  generate                 complete prompts with a trained model\n"
    "  export hf                write a checkpoint as a Hugging Face model folder (transformers loads it)\n"
    "  import hf                read a Hugging Face GPT-2 folder into a parrot checkpoint\n"
    "  eval humaneval           pass@k of code completions on HumanEval's unit tests, each run in a sandbox\n"
    "  demo                     run the pipeline as far as it exists on this machine's Python standard library\n"
    "\n"
    "Run 'parrot <command> --help' for a command's options.\n"
    "Exit codes: 0 success, 1 failure (I/O, bad input, refused output), 2 usage error, 130 interrupted.\n";

int pt_cli_report(const char *what, const pt_err *e) {
    fprintf(stderr, "parrot: %s: %s\n", what, e->msg[0] ? e->msg : pt_code_name(e->code));
    if (e->code == PT_EUSAGE) return PT_EXIT_USAGE;
    if (e->code == PT_EINTR) return PT_EXIT_INTR;
    return PT_EXIT_FAIL;
}

int pt_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "parrot: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'parrot %s --help'.\n", cmd);
    return PT_EXIT_USAGE;
}

int pt_cli_parse_size(const char *s, unsigned long long *out) {
    char *end;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s) return -1;
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1ull << 10, end++;
    else if (*end == 'M' || *end == 'm') mul = 1ull << 20, end++;
    else if (*end == 'G' || *end == 'g') mul = 1ull << 30, end++;
    if (*end == 'i' || *end == 'B') end++;
    if (*end == 'B') end++;
    if (*end) return -1;
    *out = v * mul;
    return 0;
}

int pt_cli_parse_threads(const char *s, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 4096) return -1;
    *out = (int)v;
    return 0;
}

volatile int pt_cli_interrupted;

static void on_interrupt(int sig) {
    (void)sig;
    if (pt_cli_interrupted) _exit(PT_EXIT_INTR);
    pt_cli_interrupted = 1;
}

void pt_cli_catch_interrupts(void) {
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
}

void pt_cli_unescape(char *s) {
    char *o = s;
    for (; *s; s++) {
        if (*s != '\\' || !s[1]) {
            *o++ = *s;
            continue;
        }
        s++;
        *o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 'r' ? '\r' : *s;
    }
    *o = 0;
}

const char *pt_cli_opt_name(const struct option *opts, int val) {
    for (; opts->name; opts++)
        if (opts->val == val) return opts->name;
    return "?";
}

int pt_cli_sampling_option(const char *cmd, const char *name, const char *arg, pt_gen_opts *o, char **stops,
                           int *nstops) {
    char *end = NULL;
    int bad = 0;
    errno = 0;
    if (!strcmp(name, "stop")) {
        if (*nstops == 64) return pt_cli_usage_error(cmd, "at most 64 --stop strings");
        if (!(stops[*nstops] = strdup(arg))) return PT_EXIT_FAIL;
        pt_cli_unescape(stops[(*nstops)++]);
        return PT_EXIT_OK;
    } else if (!strcmp(name, "temperature")) {
        o->temperature = strtod(arg, &end), bad = !(o->temperature >= 0 && isfinite(o->temperature));
    } else if (!strcmp(name, "top-p")) {
        o->top_p = strtod(arg, &end), bad = !(o->top_p > 0 && o->top_p <= 1);
    } else if (!strcmp(name, "top-k")) {
        long v = strtol(arg, &end, 10);
        bad = v < 0 || v > INT32_MAX, o->top_k = (int)v;
    } else if (!strcmp(name, "max-new-tokens")) {
        long v = strtol(arg, &end, 10);
        bad = v < 1 || v > INT32_MAX, o->max_new_tokens = (int)v;
    } else if (!strcmp(name, "seed")) {
        bad = *arg == '-', o->seed = strtoull(arg, &end, 10);
    } else {
        assert(!"not a sampling option");
    }
    if (bad || errno || end == arg || *end) return pt_cli_usage_error(cmd, "bad --%s '%s'", name, arg);
    return PT_EXIT_OK;
}

int pt_cli_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void set_cmdline(int argc, char **argv) {
    pt_buf b = {0};
    for (int i = 0; i < argc; i++) {
        if (i) pt_buf_putc(&b, ' ', NULL);
        pt_buf_append(&b, argv[i], strlen(argv[i]), NULL);
    }
    if (b.data) pt_cli_cmdline = b.data; /* lives for the whole process */
}

/* OpenMP threads that finish a parallel region early spin (libgomp's default) before they sleep.
 * Where the cores are shared - CI machines, a laptop, several jobs - a spinning thread holds the core
 * its partner needs, and a region that takes 0.2 ms takes 10-20 ms (measured here on 2 busy cores).
 * Sleeping costs a few microseconds of wake-up per region, under 1% of a training step. libgomp
 * reads the policy when it loads, before main, so parrot sets it and runs itself again, once;
 * an explicit OMP_WAIT_POLICY (e.g. active, on a dedicated machine) is left alone. */
static void passive_openmp(char **argv) {
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv); /* returns only on failure: then run with the default policy */
#else
    (void)argv;
#endif
}

int main(int argc, char **argv) {
    passive_openmp(argv);
    set_cmdline(argc, argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? PT_EXIT_USAGE : PT_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("parrot %s (%s)\n", PT_VERSION, PT_GITREV);
        return PT_EXIT_OK;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "corpus")) return cmd_corpus(argc - 1, argv + 1);
    if (!strcmp(cmd, "pack")) return cmd_pack(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "generate")) return cmd_generate(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenizer")) return cmd_tokenizer(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo")) return cmd_demo(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "import")) return cmd_import(argc - 1, argv + 1);
    fprintf(stderr, "parrot: '%s' is not a parrot command. See 'parrot --help'.\n", cmd);
    return PT_EXIT_USAGE;
}
