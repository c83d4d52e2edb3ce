/* cli.h - shared helpers of the command-line program (the only code that prints for the
 * user and exits). Each subcommand is `int cmd_NAME(int argc, char **argv)` returning the
 * process exit code:
 *   0 success; 1 failure (I/O error, bad or corrupt input, refused output); 2 usage error;
 *   130 interrupted (SIGINT).
 */
#ifndef PT_CLI_H
#define PT_CLI_H

#include "base/status.h"
#include "infer/generate.h"

#define PT_EXIT_OK 0
#define PT_EXIT_FAIL 1
#define PT_EXIT_USAGE 2
#define PT_EXIT_INTR 130

/* The command line as one string, for provenance records. */
extern const char *pt_cli_cmdline;

/* Prints "parrot: <what>: <msg>" to stderr; returns the exit code for e->code. */
int pt_cli_report(const char *what, const pt_err *e);
/* Prints "parrot: <cmd>: <msg>" and "Try 'parrot <cmd> --help'." and returns 2. */
int pt_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a non-negative integer with optional K/M/G (binary) suffix; 0 on success. */
int pt_cli_parse_size(const char *s, unsigned long long *out);
/* Parses a thread count: a positive integer. */
int pt_cli_parse_threads(const char *s, int *out);
/* Set by SIGINT/SIGTERM once pt_cli_catch_interrupts() is called: long work polls it (the
 * library takes it as a cancel flag) and stops cleanly; a second signal exits at once. */
extern volatile int pt_cli_interrupted;
void pt_cli_catch_interrupts(void);
/* C escapes of a command-line string, in place: \n \t \r \\ (others keep the character after the \). */
void pt_cli_unescape(char *s);
/* The long name of the getopt_long option whose val is val ("?" if none), for messages. */
struct option;
const char *pt_cli_opt_name(const struct option *opts, int val);
/* The sampling options `generate` and `eval humaneval --model` share, parsed and checked in one
 * place: name is the long option without dashes (temperature, top-k, top-p, seed, max-new-tokens,
 * stop), arg its value; --stop strings are unescaped copies appended to stops[64] (*nstops). Returns
 * PT_EXIT_OK, or PT_EXIT_USAGE after printing what is wrong (PT_EXIT_FAIL when out of memory). */
int pt_cli_sampling_option(const char *cmd, const char *name, const char *arg, pt_gen_opts *o, char **stops,
                           int *nstops);
/* Default thread count: all cores. */
int pt_cli_default_threads(void);

int cmd_corpus(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_eval(int argc, char **argv); /* eval humaneval (src/cli/eval.c) */
int cmd_tokenizer(int argc, char **argv);
/* Hugging Face interop (src/cli/hf.c): `export hf`, `import hf`; argv[0] is "export"/"import". */
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
/* The tokenizer subcommands, one file each (src/cli/tok_*.c); argv[0] is the subcommand. */
int cmd_tokenizer_train(int argc, char **argv);
int cmd_tokenizer_encode(int argc, char **argv);
int cmd_tokenizer_decode(int argc, char **argv);
int cmd_tokenizer_eval(int argc, char **argv);

#endif
