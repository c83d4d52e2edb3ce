/* tok_train.c - `parrot tokenizer train`: learn a byte-level BPE tokenizer (tok/train.h) and
 * write it as a Hugging Face tokenizer.json (tok/tokwrite.h).
 *
 * Inputs are fed to the trainer in batches of about 16 MiB (corpus/textsrc.h; larger ones
 * gain nothing). Word counting is spread over --threads; the merges run on one. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "cli/cli.h"
#include "corpus/textsrc.h"
#include "tok/tokwrite.h"
#include "tok/train.h"

static const char usage[] =
    "usage: parrot tokenizer train -o tokenizer.json [--vocab-size N] [options] INPUT...\n"
    "\n"
    "Learns a byte-level BPE tokenizer from the INPUT text: the merges and vocabulary Hugging Face tokenizers'\n"
    "BpeTrainer gives with the ByteLevel pre-tokenizer and the 256 byte symbols as initial alphabet (the\n"
    "CodeParrot tokenizer), written as a tokenizer.json.\n"
    "\n"
    "INPUT: a corpus folder from `parrot corpus build` (its --split), another folder (its --ext files, each\n"
    "one document), JSON Lines with a \"content\" (or \"text\") string per line (.jsonl, .jsonl.gz, .json.gz,\n"
    ".json; plain or gzip; '-' is standard input), or any other file, .txt included (one document).\n"
    "\n"
    "  -o, --output PATH     the tokenizer.json to write ('-' for standard output); an existing folder gets\n"
    "                        tokenizer.json and GPT-2's vocab.json + merges.txt (Hugging Face's names)\n"
    "      --vocab-size N    vocabulary size, special tokens and the 256 byte symbols included (default 32768)\n"
    "      --min-frequency N never merge a pair seen fewer than N times (default 0)\n"
    "      --special TOKEN   a special token, ids from 0 in order (repeatable; default <|endoftext|>;\n"
    "                        --special '' for none)\n"
    "      --max-docs N      read at most N documents\n"
    "      --split S         the split of a corpus folder (default train)\n"
    "      --ext EXT         file-name ending taken from other folders (default .py; repeatable)\n"
    "      --threads N       word-counting threads (default: all cores)\n"
    "  -q, --quiet           no warnings on stderr\n"
    "  -v, --verbose         say what is read and how long each stage took\n"
    "  -h, --help            this help\n";

#define MAX_SPECIALS 64

static int feed_trainer(void *ctx, size_t n, const char *const *texts, const size_t *lens, pt_err *e) {
    return pt_bpe_trainer_add(ctx, n, texts, lens, e);
}

int cmd_tokenizer_train(int argc, char **argv) {
    enum { O_VOCAB = 256, O_MINF, O_SPECIAL, O_MAXDOCS, O_SPLIT, O_EXT, O_THREADS };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},       {"vocab-size", required_argument, 0, O_VOCAB},
        {"min-frequency", required_argument, 0, O_MINF}, {"special", required_argument, 0, O_SPECIAL},
        {"max-docs", required_argument, 0, O_MAXDOCS}, {"split", required_argument, 0, O_SPLIT},
        {"ext", required_argument, 0, O_EXT},        {"threads", required_argument, 0, O_THREADS},
        {"quiet", no_argument, 0, 'q'},              {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},               {0, 0, 0, 0}};
    const char *cmd = "tokenizer train";
    const char *out_path = NULL, *split = "train";
    const char *specials[MAX_SPECIALS];
    const char *exts[16];
    int nspecials = 0, specials_given = 0, nexts = 0, threads = pt_cli_default_threads(), c;
    unsigned long long vocab = 32768, minf = 0, max_docs = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case O_VOCAB:
            if (pt_cli_parse_size(optarg, &vocab) || vocab == 0 || vocab > PT_BPE_MAX_IDS)
                return pt_cli_usage_error(cmd, "bad --vocab-size '%s' (1 to %u)", optarg, PT_BPE_MAX_IDS);
            break;
        case O_MINF:
            if (pt_cli_parse_size(optarg, &minf)) return pt_cli_usage_error(cmd, "bad --min-frequency '%s'", optarg);
            break;
        case O_SPECIAL:
            specials_given = 1;
            if (!optarg[0]) break;
            if (nspecials == MAX_SPECIALS) return pt_cli_usage_error(cmd, "at most %d --special", MAX_SPECIALS);
            specials[nspecials++] = optarg;
            break;
        case O_MAXDOCS:
            if (pt_cli_parse_size(optarg, &max_docs) || !max_docs)
                return pt_cli_usage_error(cmd, "bad --max-docs '%s'", optarg);
            break;
        case O_SPLIT: split = optarg; break;
        case O_EXT:
            if (nexts == 16) return pt_cli_usage_error(cmd, "at most 16 --ext");
            exts[nexts++] = optarg;
            break;
        case O_THREADS:
            if (pt_cli_parse_threads(optarg, &threads)) return pt_cli_usage_error(cmd, "bad --threads '%s'", optarg);
            break;
        case 'q': pt_log_level = PT_LOG_QUIET; break;
        case 'v': pt_log_level = PT_LOG_VERBOSE; break;
        case 'h': fputs(usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error(cmd, "unknown option");
        }
    }
    if (!out_path) return pt_cli_usage_error(cmd, "give the output with -o");
    if (optind >= argc) return pt_cli_usage_error(cmd, "give at least one INPUT");
    if (!specials_given) specials[nspecials++] = "<|endoftext|>";
    pt_cli_catch_interrupts();

    pt_bpe_train_opts to = {.vocab_size = (uint32_t)vocab, .min_frequency = minf, .specials = specials,
                            .n_specials = (size_t)nspecials, .threads = threads,
                            .cancel = &pt_cli_interrupted};
    pt_bpe_trainer *tr = NULL;
    pt_err e = {0};
    pt_bpe *t = NULL;
    pt_buf json = {0};
    int code = PT_EXIT_FAIL;
    if (pt_bpe_trainer_new(&tr, &to, &e)) goto report;
    const pt_textsrc_opts so = {.split = split, .exts = exts, .nexts = nexts, .max_docs = max_docs,
                                .cancel = &pt_cli_interrupted};
    pt_textsrc_stats ss;
    if (pt_textsrc_run((const char *const *)argv + optind, argc - optind, &so, feed_trainer, tr, &ss, &e))
        goto report;
    if (ss.bad_lines) pt_warn("%llu malformed JSON lines skipped", (unsigned long long)ss.bad_lines);
    if (pt_bpe_trainer_run(tr, &t, &e)) goto report;
    pt_bpe_train_stats st;
    pt_bpe_trainer_stats(tr, &st);
    pt_verbose("%llu documents, %llu bytes, %llu pieces, %llu distinct words: counted in %.2f s",
               (unsigned long long)st.docs, (unsigned long long)st.bytes, (unsigned long long)st.pieces,
               (unsigned long long)st.words, st.count_s);
    pt_verbose("%u merges, vocabulary %u: learned in %.2f s", st.merges, st.vocab, st.train_s);
    if (st.vocab < vocab) pt_warn("vocabulary stopped at %u of %llu: no pair left to merge", st.vocab, vocab);
    if (!strcmp(out_path, "-")) {
        if (pt_bpe_to_hf_json(t, &json, &e)) goto report;
        if (fwrite(json.data, 1, json.len, stdout) != json.len || fflush(stdout)) {
            pt_fail_errno(&e, PT_EIO, "standard output");
            goto report;
        }
    } else if (pt_fs_is_dir(out_path)) { /* a folder: tokenizer.json, vocab.json and merges.txt in it */
        char *tj = pt_path_join(out_path, "tokenizer.json");
        int rc = tj ? pt_bpe_save_hf(t, tj, &e) : pt_fail(&e, PT_ENOMEM, "out of memory");
        if (!rc) rc = pt_bpe_save_gpt2_files(t, out_path, &e);
        free(tj);
        if (rc) goto report;
    } else if (pt_bpe_save_hf(t, out_path, &e)) {
        goto report;
    }
    code = PT_EXIT_OK;
    goto done;
report:
    code = e.code == PT_EINTR ? PT_EXIT_INTR : pt_cli_report(cmd, &e);
done:
    pt_buf_free(&json);
    pt_bpe_free(t);
    pt_bpe_trainer_free(tr);
    return code;
}
