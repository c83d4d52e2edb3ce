/* tokenizer.c - `parrot tokenizer train|encode|decode|eval`: dispatch to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cmd_tokenizer(int argc, char **argv) {
    static const struct {
        const char *name, *what;
        int (*fn)(int, char **);
    } subs[] = {
        {"train", "train a byte-level BPE tokenizer (Hugging Face tokenizer.json)", cmd_tokenizer_train},
        {"encode", "text to token ids", cmd_tokenizer_encode},
        {"decode", "token ids to text", cmd_tokenizer_decode},
        {"eval", "the chapter's tokenizer metrics, side by side", cmd_tokenizer_eval},
    };
    const int n = (int)(sizeof subs / sizeof subs[0]);
    if (argc >= 2)
        for (int i = 0; i < n; i++)
            if (!strcmp(argv[1], subs[i].name)) return subs[i].fn(argc - 1, argv + 1);
    int help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    FILE *out = help ? stdout : stderr;
    fputs("usage: parrot tokenizer <sub> [options]\n", out);
    for (int i = 0; i < n; i++) fprintf(out, "  %-8s %s\n", subs[i].name, subs[i].what);
    fputs("Run 'parrot tokenizer <sub> --help' for details.\n", out);
    if (help) return PT_EXIT_OK;
    if (argc >= 2) fprintf(stderr, "parrot: tokenizer: unknown subcommand '%s'\n", argv[1]);
    return PT_EXIT_USAGE;
}
