#include "cli/cli.h"
int cmd_corpus(int argc, char **argv) { (void)argc; (void)argv; return 1; }
int cmd_info(int argc, char **argv) { (void)argc; (void)argv; return 1; }
int cmd_demo(int argc, char **argv) { (void)argc; (void)argv; return 1; }
