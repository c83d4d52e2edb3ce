/* hf.c - `parrot export hf` and `parrot import hf`: Hugging Face model folders (hf/export.h,
 * hf/import.h). The summary of what was written goes to stdout; notes and errors to stderr. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "hf/export.h"
#include "hf/import.h"
#include "hf/safetensors.h"
#include "train/ckpt.h"

static const char export_usage[] =
    "usage: parrot export hf --model CKPT -o DIR [--dtype f32|bf16|f16] [--force] [-q]\n"
    "\n"
    "Writes a parrot checkpoint as a Hugging Face model folder that transformers loads unchanged\n"
    "(AutoModelForCausalLM / AutoTokenizer.from_pretrained(DIR)): config.json, model.safetensors (GPT-2's\n"
    "tensor names, Conv1D layout, lm_head tied), generation_config.json, tokenizer.json, vocab.json,\n"
    "merges.txt, tokenizer_config.json, special_tokens_map.json and a README.md model card.\n"
    "\n"
    "  -m, --model CKPT     a checkpoint file, or a run folder (its newest checkpoint)\n"
    "  -o, --out DIR        the folder to write (whole or not at all: DIR.tmp-<pid>, then renamed)\n"
    "      --dtype T        f32 (default: exact), bf16 or f16 (rounded to nearest even)\n"
    "      --force          replace an existing DIR\n"
    "  -q, --quiet          print nothing on success\n";

static const char import_usage[] =
    "usage: parrot import hf DIR -o CKPT [--force] [-q]\n"
    "\n"
    "Reads a Hugging Face GPT-2 folder (gpt2 ... gpt2-xl, codeparrot, a `parrot export hf` folder, anything\n"
    "GPT2LMHeadModel.save_pretrained writes) into a weights-only parrot checkpoint, which `parrot train\n"
    "--init-from CKPT` fine-tunes. Weights: model.safetensors or its shards (F32, F16, BF16); tokenizer:\n"
    "tokenizer.json or vocab.json + merges.txt. pytorch_model.bin (a pickle) is not read: convert it first.\n"
    "\n"
    "  -o, --out CKPT       the checkpoint file to write\n"
    "      --force          replace an existing CKPT\n"
    "  -q, --quiet          print nothing on success (notes still go to stderr)\n";

enum { O_DTYPE = 256, O_FORCE };

/* "hf" must follow export/import; returns 1 if argv[1] is it. */
static int want_hf(int argc, char **argv, const char *cmd, const char *usage) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "hf")) {
        pt_cli_usage_error(cmd, "the only format is 'hf' (parrot %s hf ...)", cmd);
        return -1;
    }
    return 1;
}

int cmd_export(int argc, char **argv) {
    int w = want_hf(argc, argv, "export", export_usage);
    if (w <= 0) return w ? PT_EXIT_USAGE : PT_EXIT_OK;
    argc--, argv++;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"out", required_argument, 0, 'o'},
                                         {"dtype", required_argument, 0, O_DTYPE}, {"force", no_argument, 0, O_FORCE},
                                         {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *out = NULL;
    pt_hf_export_opts o = {.dtype = PT_ST_F32};
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case O_FORCE: o.force = 1; break;
        case O_DTYPE:
            if (!strcmp(optarg, "f32") || !strcmp(optarg, "float32")) o.dtype = PT_ST_F32;
            else if (!strcmp(optarg, "bf16") || !strcmp(optarg, "bfloat16")) o.dtype = PT_ST_BF16;
            else if (!strcmp(optarg, "f16") || !strcmp(optarg, "float16")) o.dtype = PT_ST_F16;
            else return pt_cli_usage_error("export hf", "--dtype '%s': f32, bf16 or f16", optarg);
            break;
        case 'h': fputs(export_usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error("export hf", "unknown option");
        }
    }
    if (optind != argc) return pt_cli_usage_error("export hf", "unexpected argument '%s'", argv[optind]);
    if (!model || !out) return pt_cli_usage_error("export hf", "--model CKPT and -o DIR are required");
    pt_err e = {0};
    pt_ckpt ck = {0};
    if (pt_ckpt_open(&ck, model, &e)) return pt_cli_report("export hf", &e);
    pt_hf_export_info info;
    int rc = pt_hf_export(&ck, out, &o, &info, &e);
    if (!rc && !quiet)
        printf("wrote %s from %s (step %lld): %zu tensors, %s, %.1f MB; eos id %d\n", out, ck.path,
               (long long)ck.st.step, info.tensors, pt_st_dtype_name(o.dtype), info.bytes / 1e6, info.eos_id);
    pt_ckpt_close(&ck);
    return rc ? pt_cli_report("export hf", &e) : PT_EXIT_OK;
}

int cmd_import(int argc, char **argv) {
    int w = want_hf(argc, argv, "import", import_usage);
    if (w <= 0) return w ? PT_EXIT_USAGE : PT_EXIT_OK;
    argc--, argv++;
    static const struct option opts[] = {{"out", required_argument, 0, 'o'}, {"force", no_argument, 0, O_FORCE},
                                         {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    int quiet = 0, force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case O_FORCE: force = 1; break;
        case 'h': fputs(import_usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error("import hf", "unknown option");
        }
    }
    if (optind != argc - 1) return pt_cli_usage_error("import hf", "give exactly one DIR");
    if (!out) return pt_cli_usage_error("import hf", "-o CKPT is required");
    pt_err e = {0};
    pt_hf_model m;
    if (pt_hf_import(argv[optind], out, force, &m, &e)) return pt_cli_report("import hf", &e);
    if (m.note[0]) fprintf(stderr, "parrot: import hf: note: %s\n", m.note);
    if (!quiet)
        printf("wrote %s from %s: %d layers, %d wide, %d heads, %d positions, %d ids; %zu parameters from %zu "
               "tensors in %d file%s; tokenizer from %s\n",
               out, argv[optind], m.cfg.n_layer, m.cfg.n_embd, m.cfg.n_head, m.cfg.n_positions, m.cfg.vocab_size,
               m.n, m.tensors, m.files, m.files == 1 ? "" : "s", m.tok_source);
    pt_hf_model_free(&m);
    return PT_EXIT_OK;
}
