/* info.c - `parrot info PATH`: says what a parrot file or folder is. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "cli/cli.h"
#include "corpus/manifest.h"
#include "corpus/store.h"

static const char info_usage[] =
    "usage: parrot info PATH [--json]\n"
    "\n"
    "Says what a parrot file or folder is: a corpus folder (its manifest: provenance, steps, splits) or a document\n"
    "shard (.pds: format version, documents, bytes, checksums).\n";

int cmd_info(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'h') {
            fputs(info_usage, stdout);
            return PT_EXIT_OK;
        } else return pt_cli_usage_error("info", "unknown option");
    }
    if (optind != argc - 1) return pt_cli_usage_error("info", "give exactly one PATH");
    const char *path = argv[optind];
    pt_err e = {0};
    pt_buf out = {0};
    int rc;
    if (pt_fs_is_dir(path)) {
        char *m = pt_path_join(path, "manifest.json");
        int corpus = m && pt_fs_exists(m);
        free(m);
        if (!corpus) {
            fprintf(stderr, "parrot: info: %s: not a parrot folder (no manifest.json)\n", path);
            return PT_EXIT_FAIL;
        }
        rc = json ? pt_manifest_read(path, &out, &e) : pt_manifest_table(path, &out, &e);
        if (!rc && !json) fputs("parrot corpus folder (format parrot-corpus; see `parrot corpus stats`)\n", stdout);
    } else {
        rc = pt_store_describe(path, json, &out, &e);
    }
    if (rc) return pt_cli_report("info", &e);
    fwrite(out.data, 1, out.len, stdout);
    pt_buf_free(&out);
    return PT_EXIT_OK;
}
