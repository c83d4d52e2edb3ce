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

static const char demo_usage[] =
    "usage: parrot demo [--out DIR] [--stdlib DIR] [--threads N]\n"
    "\n"
    "Runs the parrot pipeline as far as it exists on this machine's Python standard library (found under\n"
    "/usr/lib/python3.*, or --stdlib DIR): today, `parrot corpus build` with CodeParrot's settings, then the\n"
    "report and the start of a few kept documents. Writes into DIR (default parrot-demo), replacing an earlier demo.\n";


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

int cmd_demo(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},     {"stdlib", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'}, {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *out = "parrot-demo";
    char stdlib[256] = "";
    int threads = pt_cli_default_threads(), c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's': snprintf(stdlib, sizeof stdlib, "%s", optarg); break;
        case 't':
            if (pt_cli_parse_threads(optarg, &threads)) return pt_cli_usage_error("demo", "bad --threads '%s'", optarg);
            break;
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
    pt_store_close(s);
    printf("\n== next stages (tokenizer, pack, train, generate, eval) arrive with their issues.\n");
    free(corpus);
    return PT_EXIT_OK;
}
