/* train.c - `parrot train`: GPT-2 from scratch on packed data (train/trainer.h). */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "cli/cli.h"
#include "train/trainer.h"

static const char usage[] =
    "usage: parrot train --data DATA --model NAME --out RUN [options]\n"
    "       parrot train --stream INPUT... --tokenizer T --model NAME --out RUN [options]\n"
    "       parrot train --out RUN --resume\n"
    "       mpirun -np N parrot train ...   (data parallel: N ranks, one or many machines)\n"
    "\n"
    "Trains a GPT-2 from a fresh initialization (or --init-from a checkpoint) for causal language modeling on\n"
    "the token shards of `parrot pack` (or, with --stream, on documents tokenized on the fly), with AdamW,\n"
    "linear warm-up and cosine decay (CodeParrot's recipe are the defaults). RUN gets checkpoints\n"
    "(ckpt-<step>.ckpt), log.txt, metrics.jsonl and TensorBoard events in RUN/tb.\n"
    "\n"
    "Model:\n"
    "  -m, --model NAME        tiny (4 layers/256 wide/4 heads/256 positions), mini (6/384/6/512), gpt2\n"
    "                          (12/768/12/1024), gpt2-medium, gpt2-large, gpt2-xl (default tiny)\n"
    "      --n-layer N, --n-embd N, --n-head N, --n-positions N   override the named config\n"
    "      --scale-attn-by-inverse-layer-idx, --reorder-and-upcast-attn   CodeParrot's attention options\n"
    "      --init-from CKPT    start from trained weights (a checkpoint file or RUN folder): fine-tuning\n"
    "      --dry-run           print the resolved config, parameter count and memory plan; do not train\n"
    "Data:\n"
    "  -d, --data DATA         a folder from `parrot pack` (its tokenizer sets the vocabulary)\n"
    "      --stream INPUT      train on corpus folders / JSON Lines / files, tokenized in background threads\n"
    "                          (repeatable); needs --tokenizer\n"
    "  -t, --tokenizer T       the tokenizer.json for --stream\n"
    "Optimization:\n"
    "      --lr X              peak learning rate (5e-4)          --min-lr X       cosine floor (0)\n"
    "      --beta1 X (0.9)  --beta2 X (0.999)  --eps X (1e-8)     --weight-decay X (0.1; not on biases/LayerNorm)\n"
    "      --grad-clip X       global norm clip (1.0; 0: off)     --warmup-steps N (2000)\n"
    "      --max-steps N       total optimizer steps (150000)\n"
    "  -b, --batch-size N      windows per micro-batch (12)       --seq-len N      (the model's positions)\n"
    "      --grad-accum N      micro-batches per step (1)         --seed N         (1)\n"
    "      --recompute         gradient checkpointing: recompute activations in the backward pass\n"
    "Runs:\n"
    "  -o, --out RUN           the run folder                     --resume         continue from RUN's newest\n"
    "      --eval-every N      evaluate every N steps (and at the end)   --max-eval-batches N (all)\n"
    "      --save-every N      checkpoint every N steps (and at the end, and on SIGINT/SIGTERM)\n"
    "      --keep-last N       keep the N newest checkpoints (all)\n"
    "      --threads N         (the cores, divided among the ranks on this machine)   --kernels cpu|ref (cpu)\n"
    "      --peak-flops X      one rank's peak FLOP/s for MFU (measured at start)\n"
    "Data parallel (under mpirun or srun; a build with MPI):\n"
    "      --zero 0|1          1: ZeRO-1, AdamW's moments and update sharded across the ranks (0)\n"
    "      Every rank trains on its own share of each global batch (ranks × batch-size × grad-accum windows);\n"
    "      gradients are summed across ranks once per step. Rank 0 writes RUN; each rank RUN/log/rank-K.txt.\n"
    "  -q, --quiet, -v, --verbose, -h, --help\n"
    "\n"
    "Same seed, data, options, --threads and rank count give bit-identical losses; --resume continues\n"
    "bit-identically (at another rank count, to the summation order). --max-eval-batches counts per rank.\n";

typedef struct ui {
    int tty, quiet;
} ui;

static void on_line(void *ctx, const char *line, int is_step, double frac) {
    ui *u = ctx;
    if (u->quiet && is_step) return;
    if (u->tty && is_step) {
        char bar[21];
        int fill = (int)(frac * 20 + 0.5);
        for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
        bar[20] = 0;
        fprintf(stderr, "\r\033[K[%s] %s", bar, line);
        fflush(stderr);
        return;
    }
    if (u->tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "%s\n", line);
}

static int parse_double(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0) return -1;
    *out = v;
    return 0;
}

static int parse_i64(const char *s, int64_t *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < 0) return -1;
    *out = v;
    return 0;
}

int cmd_train(int argc, char **argv) {
    enum {
        O_NL = 256, O_NE, O_NH, O_NP, O_SCALE, O_UPCAST, O_INIT, O_DRY, O_STREAM, O_LR, O_MINLR, O_B1, O_B2, O_EPS,
        O_WD, O_CLIP, O_WARM, O_MAX, O_SEQ, O_ACC, O_SEED, O_RECOMP, O_RESUME, O_EVAL, O_MAXEVAL, O_SAVE, O_KEEP,
        O_THREADS, O_KERNELS, O_PEAK, O_ZERO
    };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"n-layer", required_argument, 0, O_NL},
        {"n-embd", required_argument, 0, O_NE}, {"n-head", required_argument, 0, O_NH},
        {"n-positions", required_argument, 0, O_NP}, {"scale-attn-by-inverse-layer-idx", no_argument, 0, O_SCALE},
        {"reorder-and-upcast-attn", no_argument, 0, O_UPCAST}, {"init-from", required_argument, 0, O_INIT},
        {"dry-run", no_argument, 0, O_DRY}, {"data", required_argument, 0, 'd'},
        {"stream", required_argument, 0, O_STREAM}, {"tokenizer", required_argument, 0, 't'},
        {"lr", required_argument, 0, O_LR}, {"min-lr", required_argument, 0, O_MINLR},
        {"beta1", required_argument, 0, O_B1}, {"beta2", required_argument, 0, O_B2},
        {"eps", required_argument, 0, O_EPS}, {"weight-decay", required_argument, 0, O_WD},
        {"grad-clip", required_argument, 0, O_CLIP}, {"warmup-steps", required_argument, 0, O_WARM},
        {"max-steps", required_argument, 0, O_MAX}, {"batch-size", required_argument, 0, 'b'},
        {"seq-len", required_argument, 0, O_SEQ}, {"grad-accum", required_argument, 0, O_ACC},
        {"seed", required_argument, 0, O_SEED}, {"recompute", no_argument, 0, O_RECOMP},
        {"out", required_argument, 0, 'o'}, {"resume", no_argument, 0, O_RESUME},
        {"eval-every", required_argument, 0, O_EVAL}, {"max-eval-batches", required_argument, 0, O_MAXEVAL},
        {"save-every", required_argument, 0, O_SAVE}, {"keep-last", required_argument, 0, O_KEEP},
        {"threads", required_argument, 0, O_THREADS}, {"kernels", required_argument, 0, O_KERNELS},
        {"peak-flops", required_argument, 0, O_PEAK}, {"zero", required_argument, 0, O_ZERO},
        {"quiet", no_argument, 0, 'q'},
        {"verbose", no_argument, 0, 'v'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "train";
    pt_train_opts o = pt_train_defaults();
    o.threads = 0;
    const char *stream[64];
    int c, nstream = 0, max_steps_given = 0;
    ui u = {.tty = isatty(2)};
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:d:t:b:o:qvh", opts, NULL)) != -1) {
        int64_t iv = 0;
        double dv = 0;
        /* every numeric option: parse once, complain with its name */
        if (c >= O_NL && c != O_SCALE && c != O_UPCAST && c != O_INIT && c != O_DRY && c != O_STREAM &&
            c != O_RECOMP && c != O_RESUME && c != O_KERNELS) {
            const int real = c == O_LR || c == O_MINLR || c == O_B1 || c == O_B2 || c == O_EPS || c == O_WD ||
                             c == O_CLIP || c == O_PEAK;
            if (real ? parse_double(optarg, &dv) : parse_i64(optarg, &iv))
                return pt_cli_usage_error(cmd, "bad value '%s' for --%s", optarg, pt_cli_opt_name(opts, c));
        }
        if (c == 'b' && (parse_i64(optarg, &iv) || iv < 1 || iv > 1 << 20))
            return pt_cli_usage_error(cmd, "bad --batch-size '%s'", optarg);
        switch (c) {
        case 'm': o.model = optarg; break;
        case O_NL: o.over.n_layer = (int)iv; break;
        case O_NE: o.over.n_embd = (int)iv; break;
        case O_NH: o.over.n_head = (int)iv; break;
        case O_NP: o.over.n_positions = (int)iv; break;
        case O_SCALE: o.over.scale_attn_by_inverse_layer_idx = 1; break;
        case O_UPCAST: o.over.reorder_and_upcast_attn = 1; break;
        case O_INIT: o.init_from = optarg; break;
        case O_DRY: o.dry_run = 1; break;
        case 'd': o.data = optarg; break;
        case O_STREAM:
            if (nstream == 64) return pt_cli_usage_error(cmd, "at most 64 --stream inputs");
            stream[nstream++] = optarg;
            break;
        case 't': o.tokenizer = optarg; break;
        case O_LR: o.optim.lr = dv; break;
        case O_MINLR: o.optim.min_lr = dv; break;
        case O_B1: o.optim.beta1 = dv; break;
        case O_B2: o.optim.beta2 = dv; break;
        case O_EPS: o.optim.eps = dv; break;
        case O_WD: o.optim.weight_decay = dv; break;
        case O_CLIP: o.optim.grad_clip = dv; break;
        case O_WARM: o.optim.warmup_steps = iv; break;
        case O_MAX: o.optim.max_steps = iv, max_steps_given = 1; break;
        case 'b': o.batch_size = (int)iv; break;
        case O_SEQ: o.seq_len = (int)iv; break;
        case O_ACC: o.grad_accum = (int)iv; break;
        case O_SEED: o.seed = (uint64_t)iv; break;
        case O_RECOMP: o.recompute = 1; break;
        case 'o': o.out = optarg; break;
        case O_RESUME: o.resume = 1; break;
        case O_EVAL: o.eval_every = iv; break;
        case O_MAXEVAL: o.max_eval_batches = iv; break;
        case O_SAVE: o.save_every = iv; break;
        case O_KEEP: o.keep_last = (int)iv; break;
        case O_THREADS:
            if (pt_cli_parse_threads(optarg, &o.threads)) return pt_cli_usage_error(cmd, "bad --threads '%s'", optarg);
            break;
        case O_KERNELS: o.kernels = optarg; break;
        case O_PEAK: o.peak_flops = dv; break;
        case O_ZERO:
            if (iv > 1) return pt_cli_usage_error(cmd, "--zero %s: stages 2 and 3 (sharded gradients, weights) are "
                                                        "not implemented; --zero 0 or 1", optarg);
            o.zero = (int)iv;
            break;
        case 'q': pt_log_level = PT_LOG_QUIET, u.quiet = 1; break;
        case 'v': pt_log_level = PT_LOG_VERBOSE; break;
        case 'h': fputs(usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind < argc) return pt_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.out && !o.dry_run) return pt_cli_usage_error(cmd, "give the run folder with --out RUN");
    if (!o.out) o.out = "";
    if (o.data && nstream) return pt_cli_usage_error(cmd, "--data and --stream are exclusive");
    if (nstream && !o.tokenizer) return pt_cli_usage_error(cmd, "--stream needs --tokenizer T");
    if (!o.data && !nstream && !o.resume) return pt_cli_usage_error(cmd, "give the data with --data DATA (or --stream)");
    if (o.resume && o.init_from) return pt_cli_usage_error(cmd, "--resume and --init-from are exclusive");
    if (!o.optim.max_steps) return pt_cli_usage_error(cmd, "--max-steps must be positive");
    if (o.resume && !max_steps_given) o.optim.max_steps = 0; /* the checkpoint's */
    if (o.grad_accum < 1) return pt_cli_usage_error(cmd, "--grad-accum must be positive");
    o.stream = stream, o.nstream = nstream;
    o.on_line = on_line, o.ctx = &u;
    pt_cli_catch_interrupts();
    o.stop = &pt_cli_interrupted;
    pt_err e = {0};
    pt_dist *d = NULL;
    if (pt_dist_init(&d, &e)) return pt_cli_report(cmd, &e);
    o.dist = d;
    const int rank = pt_dist_rank(d), nranks = pt_dist_size(d);
    if (!o.threads) { /* the machine's cores shared by its ranks */
        o.threads = pt_cli_default_threads() / pt_dist_local_size(d);
        if (o.threads < 1) o.threads = 1;
    }
    int rc = pt_train_run(&o, &e);
    if (rc && nranks > 1) {
        /* Every rank reports its own error. One that is not PT_EINTR (which all ranks agree on) may be this
         * rank's alone, with the others waiting in a collective: end the whole job. */
        char what[64];
        snprintf(what, sizeof what, "%s: rank %d of %d", cmd, rank, nranks);
        if (e.code == PT_EINTR && rank != 0) { /* every rank stopped at the same step: rank 0 says so */
            pt_dist_finalize(d);
            return PT_EXIT_INTR;
        }
        int code = pt_cli_report(what, &e);
        if (e.code != PT_EINTR) pt_dist_abort(d, code);
        pt_dist_finalize(d);
        return code;
    }
    pt_dist_finalize(d);
    return rc ? pt_cli_report(cmd, &e) : PT_EXIT_OK;
}
