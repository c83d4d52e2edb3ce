/* hf.c - `parrot export hf` and `parrot import hf` (being written; see issue 7). */
#include <stdio.h>

#include "cli/cli.h"

int cmd_export(int argc, char **argv) {
    (void)argc, (void)argv;
    fputs("parrot: export hf: not implemented yet\n", stderr);
    return PT_EXIT_FAIL;
}

int cmd_import(int argc, char **argv) {
    (void)argc, (void)argv;
    fputs("parrot: import hf: not implemented yet\n", stderr);
    return PT_EXIT_FAIL;
}
