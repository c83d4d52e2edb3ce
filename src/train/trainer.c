/* trainer.c - the training loop (see trainer.h). */
#include "train/trainer.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "data/loader.h"
#include "data/tokens.h"
#include "tok/bpe.h"
#include "tok/tokfile.h"
#include "train/ckpt.h"
#include "train/tfevents.h"

pt_train_opts pt_train_defaults(void) {
    return (pt_train_opts){.model = "tiny", .optim = pt_optim_defaults(), .batch_size = 12, .grad_accum = 1,
                           .seed = 1, .keep_last = 0, .kernels = "cpu"};
}

/* A core's fp32 FMA peak, measured: 16 independent chains of vector FMAs (enough to cover the latency
 * of two FMA units), best of several short runs, so a busy moment of a shared machine does not count. */
double pt_train_peak_flops(int threads) {
    enum { NACC = 12, ITERS = 1 << 16 };
    double best = 0;
    for (int trial = 0; trial < 5; trial++) {
        double t0 = pt_now(), flops;
        float sink = 0;
#if defined(__AVX512F__)
        __m512 acc[NACC], a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
        for (int k = 0; k < NACC; k++) acc[k] = _mm512_set1_ps((float)k);
        for (int it = 0; it < ITERS; it++)
            for (int k = 0; k < NACC; k++) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
        for (int k = 0; k < NACC; k++) sink += _mm512_reduce_add_ps(acc[k]);
        flops = 2.0 * 16 * NACC * (double)ITERS;
#elif defined(__FMA__)
        __m256 acc[NACC], a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
        for (int k = 0; k < NACC; k++) acc[k] = _mm256_set1_ps((float)k);
        for (int it = 0; it < ITERS; it++)
            for (int k = 0; k < NACC; k++) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
        for (int k = 0; k < NACC; k++) sink += acc[k][0];
        flops = 2.0 * 8 * NACC * (double)ITERS;
#else
        float acc[NACC];
        for (int k = 0; k < NACC; k++) acc[k] = (float)k;
        for (int it = 0; it < ITERS; it++)
            for (int k = 0; k < NACC; k++) acc[k] = acc[k] * 0.999999f + 1e-7f;
        for (int k = 0; k < NACC; k++) sink += acc[k];
        flops = 2.0 * NACC * (double)ITERS;
#endif
        double dt = pt_now() - t0;
        __asm__ volatile("" ::"x"(sink));
        if (flops / dt > best) best = flops / dt;
    }
    return best * (threads > 0 ? threads : 1);
}

/* ---- the run's state ---------------------------------------------------------------------------- */

typedef struct run {
    const pt_train_opts *o;
    pt_gpt2_config cfg;
    pt_optim_cfg optim;
    int B, T, accum;
    uint64_t seed;
    pt_gpt2 *m;
    float *mom, *vel;                 /* AdamW moments [nparams] */
    pt_buf tok;                       /* tokenizer.json text */
    pt_bpe *bpe;                      /* streaming mode */
    pt_tokens *train, *valid;
    pt_loader *loader;
    pt_loader_eval *eval;
    pt_loader_stream *stream;
    uint32_t *in, *tgt;               /* [B,T] */
    int64_t step;                     /* optimizer steps done */
    uint64_t tokens;
    double last_loss, last_eval;
    FILE *log, *metrics;
    pt_tfevents *tb;
    double peak;
    const char *const *stream_in;     /* streaming mode: inputs and tokenizer (from the options or the checkpoint) */
    int nstream_in;
    const char *tok_path;
    char **own;                       /* copies of the checkpoint's streaming inputs + tokenizer path */
    int nown;
    double data_time, step_time;      /* seconds in the loader / in whole steps, this process */
    double comm_time;                 /* seconds in the step's collectives, this process */
    int64_t steps_run;
    uint64_t plan_bytes;
    pt_dist *d;                       /* the process group (a single process when the options give none) */
    int rank, nranks, zero;           /* zero: ZeRO-1 with more than one rank */
    size_t lo, hi;                    /* this rank's segment of the flat buffers; mom/vel hold [lo, hi) */
    double *sq;                       /* ZeRO-1: squared sums of every norm chunk [nchunks] */
    size_t nchunks;
    FILE *rlog;                       /* RUN/log/rank-K.txt when nranks > 1 */
    char *data;                       /* the DATA folder (from the options or the checkpoint), or NULL */
} run;

/* Segments of the flat buffers among ranks start at norm-chunk boundaries, so the norm can be
 * assembled from per-rank chunk sums bit-identically (optim.h). */
#define SHARD_ALIGN PT_OPTIM_NORM_CHUNK

/* A line for the caller and the log file. */
static void say(run *r, int is_step, double frac, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void say(run *r, int is_step, double frac, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (r->o->on_line && r->rank == 0) r->o->on_line(r->o->ctx, line, is_step, frac);
    if (r->log) fprintf(r->log, "%s\n", line), fflush(r->log);
    if (r->rlog) fprintf(r->rlog, "%s\n", line), fflush(r->rlog);
}

static int read_tokenizer_json(run *r, const char *path, pt_err *e) {
    char *p = pt_fs_is_dir(path) ? pt_path_join(path, "tokenizer.json") : strdup(path);
    if (!p) return pt_fail(e, PT_ENOMEM, "out of memory");
    int rc = pt_fs_read_all(p, &r->tok, e);
    if (!rc) rc = pt_bpe_load_hf_mem(&r->bpe, r->tok.data, r->tok.len, p, e);
    free(p);
    return rc;
}

/* ---- data --------------------------------------------------------------------------------------- */

static int open_data(run *r, const char *data, pt_err *e) {
    if (!data) {
        if (!r->nstream_in) return pt_fail(e, PT_EUSAGE, "no training data: give --data DATA or --stream INPUT");
        if (!r->tok_path) return pt_fail(e, PT_EUSAGE, "streaming needs --tokenizer T");
        return read_tokenizer_json(r, r->tok_path, e);
    }
    PT_TRY(pt_tokens_open(&r->train, data, "train", e));
    PT_TRY(pt_tokens_open(&r->valid, data, "valid", e));
    char *tp = pt_path_join(data, "tokenizer.json");
    if (!tp) return pt_fail(e, PT_ENOMEM, "out of memory");
    int rc = pt_fs_read_all(tp, &r->tok, e);
    free(tp);
    return rc;
}

static uint32_t data_vocab(run *r) {
    return r->train ? pt_tokens_vocab_size(r->train) : pt_bpe_vocab_size(r->bpe);
}

static int start_loaders(run *r, const pt_ckpt_state *resumed, pt_err *e) {
    const pt_train_opts *o = r->o;
    pt_loader_opts lo = {.B = (size_t)r->B, .T = (size_t)r->T, .rank = r->rank, .nranks = r->nranks, .seed = r->seed,
                         .shuffle = 1};
    if (r->train) {
        PT_TRY(pt_tokens_check_vocab(r->train, (uint32_t)r->cfg.vocab_size, e));
        pt_loader_src src = pt_loader_src_tokens(r->train), vsrc = pt_loader_src_tokens(r->valid);
        PT_TRY(pt_loader_new(&r->loader, &src, &lo, e));
        if (resumed && resumed->has_pos) PT_TRY(pt_loader_pos_set(r->loader, &resumed->pos, e));
        return pt_loader_eval_new(&r->eval, &vsrc, &lo, e);
    }
    uint32_t eot = pt_bpe_lookup(r->bpe, "<|endoftext|>", 13);
    if (eot == PT_BPE_NONE) return pt_fail(e, PT_EUSAGE, "%s: the tokenizer has no <|endoftext|> token", r->tok_path);
    pt_loader_stream_opts so = {.inputs = r->stream_in, .ninputs = r->nstream_in, .split = "train", .tok = r->bpe,
                                .eot = eot, .threads = o->threads > 1 ? o->threads - 1 : 1, .B = (size_t)r->B,
                                .T = (size_t)r->T, .rank = r->rank, .nranks = r->nranks, .seed = r->seed,
                                .shuffle_windows = 1024, .infinite = 1};
    if (resumed && resumed->has_stream_pos) {
        if (resumed->nspos != r->nranks)
            return pt_fail(e, PT_EUSAGE, "the checkpoint was written by %d ranks streaming their own windows; "
                           "streaming mode resumes with the same rank count (now %d)", resumed->nspos, r->nranks);
        so.resume = &resumed->spos[r->rank];
    }
    return pt_loader_stream_new(&r->stream, &so, e);
}

/* The next micro-batch into r->in / r->tgt. */
static int next_batch(run *r, pt_err *e) {
    if (r->loader) {
        pt_loader_next(r->loader, r->in, r->tgt, NULL);
        return PT_OK;
    }
    size_t rows = 0;
    PT_TRY(pt_loader_stream_next(r->stream, r->in, r->tgt, &rows, e));
    if (rows != (size_t)r->B) return pt_fail(e, PT_EIO, "the streamed data ended (no whole batch)");
    return PT_OK;
}

/* Mean loss over the valid split (or max_eval_batches batches per rank; the ranks take every N-th
 * window); NAN when there is nothing to evaluate. */
static int evaluate(run *r, double *mean, pt_err *e) {
    double sum = 0, count = 0;
    int64_t batches = 0;
    if (r->eval) {
        pt_loader_eval_rewind(r->eval);
        size_t rows;
        while ((!r->o->max_eval_batches || batches < r->o->max_eval_batches) &&
               (rows = pt_loader_eval_next(r->eval, r->in, r->tgt))) {
            float loss;
            pt_gpt2_forward(r->m, (const int32_t *)r->in, (const int32_t *)r->tgt, (int)rows, r->T, 0, &loss);
            sum += (double)loss * rows, count += (double)rows, batches++;
        }
    }
    double v[2] = {sum, count};
    PT_TRY(pt_dist_allreduce_f64(r->d, v, 2, PT_DIST_SUM, e));
    *mean = v[1] > 0 ? v[0] / v[1] : NAN;
    return PT_OK;
}

/* ---- sinks -------------------------------------------------------------------------------------- */

/* metrics.jsonl keeps the lines of steps up to `upto` (a resumed run rewrites what came after). */
static int open_metrics(run *r, const char *path, int64_t upto, pt_err *e) {
    if (upto > 0 && pt_fs_exists(path)) {
        pt_buf b = {0}, keep = {0};
        int rc = pt_fs_read_all(path, &b, e);
        for (size_t i = 0; !rc && i < b.len;) {
            char *nl = memchr(b.data + i, '\n', b.len - i);
            size_t end = nl ? (size_t)(nl - b.data) + 1 : b.len;
            long long s;
            if (sscanf(b.data + i, "{\"step\": %lld", &s) == 1 && s <= upto) rc = pt_buf_append(&keep, b.data + i, end - i, e);
            i = end;
        }
        if (!rc) rc = pt_fs_write_atomic(path, keep.data ? keep.data : "", keep.len, e);
        pt_buf_free(&b), pt_buf_free(&keep);
        PT_TRY(rc);
    } else if (upto == 0) {
        unlink(path);
    }
    if (!(r->metrics = fopen(path, "a"))) return pt_fail_errno(e, PT_EIO, "%s", path);
    return PT_OK;
}

static void metric_line(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void metric_line(run *r, const char *fmt, ...) {
    if (!r->metrics) return; /* ranks other than 0 */
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->metrics, fmt, ap);
    va_end(ap);
    fflush(r->metrics);
}

static void tb_scalar(run *r, const char *tag, float v) {
    pt_err e = {0};
    if (r->tb && pt_tfevents_scalar(r->tb, tag, r->step, pt_tfevents_now(), v, &e))
        say(r, 0, 0, "warning: %s", e.msg);
}

/* JSON has no NaN or infinity: a non-finite metric is written as null. */
static const char *num(char *buf, double v) {
    if (isfinite(v)) snprintf(buf, 32, "%.9g", v);
    else strcpy(buf, "null");
    return buf;
}

/* ---- checkpoints -------------------------------------------------------------------------------- */

/* ZeRO-1's moments into a checkpoint: rank 0 writes m then v in pieces (ckpt.h), taking each piece's
 * part in its own segment from memory and the other parts from their owners, which send them in the
 * same order (send_moments). Rank 0 never holds the moments whole. */
static int fill_moments(void *ctx, int which, size_t off, size_t k, float *out, pt_err *e) {
    run *r = ctx;
    for (int q = 0; q < r->nranks; q++) {
        size_t lo, hi;
        pt_dist_shard(r->m->nparams, SHARD_ALIGN, q, r->nranks, &lo, &hi);
        size_t a = lo > off ? lo : off, b = hi < off + k ? hi : off + k;
        if (a >= b) continue;
        if (q == 0) memcpy(out + (a - off), (which ? r->vel : r->mom) + (a - lo), (b - a) * sizeof(float));
        else PT_TRY(pt_dist_recv(r->d, out + (a - off), (b - a) * sizeof(float), q, e));
    }
    return PT_OK;
}

static int send_moments(run *r, pt_err *e) {
    for (int which = 0; which < 2; which++)
        for (size_t off = 0; off < r->m->nparams; off += PT_CKPT_FILL_PIECE) {
            size_t end = off + PT_CKPT_FILL_PIECE < r->m->nparams ? off + PT_CKPT_FILL_PIECE : r->m->nparams;
            size_t a = r->lo > off ? r->lo : off, b = r->hi < end ? r->hi : end;
            if (a < b)
                PT_TRY(pt_dist_send(r->d, (which ? r->vel : r->mom) + (a - r->lo), (b - a) * sizeof(float), 0, e));
        }
    return PT_OK;
}

/* Every rank must hold the same weights: they take the same steps on the same sums. Checked at each
 * checkpoint (a hash of the weights per rank) so that ranks built differently, e.g. each machine
 * compiling its own parrot, are caught before a checkpoint stands for a model no rank has. */
static int check_same_weights(run *r, pt_err *e) {
    uint64_t mine = pt_hash64(r->m->params, r->m->nparams * sizeof(float), 0), *all;
    if (!(all = pt_calloc((size_t)r->nranks, sizeof *all, e))) return e->code;
    int rc = pt_dist_allgather_bytes(r->d, &mine, all, sizeof mine, e);
    for (int q = 1; !rc && q < r->nranks; q++)
        if (all[q] != all[0])
            rc = pt_fail(e, PT_EFORMAT, "step %" PRId64 ": the weights of rank %d differ from rank 0's; no checkpoint "
                         "written (run the same parrot build on every machine)", r->step, q);
    free(all);
    return rc;
}

/* Every rank calls this (the streaming positions and ZeRO-1's moments travel to rank 0); rank 0 writes.
 * An error on rank 0 leaves the others waiting for it: the caller ends the job (pt_dist_abort). */
static int save(run *r, pt_err *e) {
    const pt_train_opts *o = r->o;
    const size_t n = r->m->nparams;
    pt_ckpt_state st = {.cfg = r->cfg, .optim = r->optim, .step = r->step, .tokens = r->tokens,
                        .batch_size = r->B, .seq_len = r->T, .grad_accum = r->accum, .nranks = r->nranks,
                        .seed = r->seed, .loss = r->last_loss, .eval_loss = r->last_eval, .data = r->data};
    pt_loader_stream_pos mine, *spos = NULL;
    int rc = PT_OK;
    if (r->loader) st.has_pos = 1, pt_loader_pos_get(r->loader, &st.pos);
    if (r->stream) {
        if (!(spos = pt_calloc((size_t)r->nranks, sizeof *spos, e))) return e->code;
        if ((rc = pt_loader_stream_pos_get(r->stream, &mine, e)) ||
            (rc = pt_dist_allgather_bytes(r->d, &mine, spos, sizeof mine, e)))
            goto done;
        st.has_stream_pos = 1, st.spos = spos, st.nspos = r->nranks;
        st.stream = r->stream_in, st.nstream = r->nstream_in, st.tokenizer_path = r->tok_path;
    }
    if (r->nranks > 1 && (rc = check_same_weights(r, e))) goto done;
    if (r->rank != 0) {
        if (r->zero) rc = send_moments(r, e);
        goto done;
    }
    for (size_t i = 0; i < n; i++) /* never a checkpoint of broken weights */
        if (!isfinite(r->m->params[i])) {
            rc = pt_fail(e, PT_EFORMAT, "step %" PRId64 ": weight %zu is not finite; no checkpoint written", r->step, i);
            goto done;
        }
    char *path = pt_ckpt_name(o->out, r->step);
    if (!path) {
        rc = pt_fail(e, PT_ENOMEM, "out of memory");
        goto done;
    }
    double t0 = pt_now();
    if (r->zero) rc = pt_ckpt_write_filled(path, &st, r->m->params, fill_moments, r, n, r->tok.data, r->tok.len, e);
    else rc = pt_ckpt_write(path, &st, r->m->params, r->mom, r->vel, n, r->tok.data, r->tok.len, e);
    if (!rc) {
        say(r, 0, 0, "saved %s (%.1f s)", path, pt_now() - t0);
        rc = pt_ckpt_prune(o->out, o->keep_last, e);
    }
    free(path);
done:
    free(spos);
    return rc;
}

/* ---- setup -------------------------------------------------------------------------------------- */

static uint64_t mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

static void describe(run *r, const pt_gpt2_plan *p, uint64_t optim_bytes, uint64_t total, int flags) {
    const pt_gpt2_config *c = &r->cfg;
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    const size_t nparams = pt_gpt2_layout(c, t); /* the count follows from the config: no model needed */
    say(r, 0, 0, "model: %d layers, width %d, %d heads, %d positions, vocabulary %d%s%s: %zu parameters (%.1fM)",
        c->n_layer, c->n_embd, c->n_head, c->n_positions, c->vocab_size,
        c->scale_attn_by_inverse_layer_idx ? ", attention scaled by 1/layer" : "",
        c->reorder_and_upcast_attn ? ", reorder_and_upcast_attn" : "", nparams, nparams / 1e6);
    if (r->o->zero && r->nranks == 1)
        say(r, 0, 0, "--zero 1 changes nothing in a single process (it shards AdamW across the ranks of mpirun)");
    if (r->nranks > 1)
        say(r, 0, 0, "data parallel: %s; gradients %s", pt_dist_describe(r->d),
            r->zero ? "reduce-scattered, AdamW sharded (ZeRO-1), weights all-gathered" : "all-reduced");
    say(r, 0, 0, "batch: %d rank%s × %d × %d tokens × %d accumulation = %" PRId64 " tokens per step; lr %g (min %g), "
                 "warm-up %" PRId64 ", %" PRId64 " steps, weight decay %g, clip %g, seed %" PRIu64,
        r->nranks, r->nranks > 1 ? "s" : "", r->B, r->T, r->accum, (int64_t)r->nranks * r->B * r->T * r->accum,
        r->optim.lr, r->optim.min_lr, r->optim.warmup_steps, r->optim.max_steps, r->optim.weight_decay,
        r->optim.grad_clip, r->seed);
    char zero[128] = "";
    if (r->zero)
        snprintf(zero, sizeof zero, " (ZeRO-1: this rank's 1/%d)", r->nranks);
    say(r, 0, 0, "memory plan%s: weights %.1f MB, gradients %.1f MB, AdamW moments %.1f MB%s, activations %.1f MB%s, "
                 "backward scratch %.1f MB, logits %.1f MB: %.1f MB in all",
        r->nranks > 1 ? " per rank" : "", p->params / 1e6, p->grads / 1e6, optim_bytes / 1e6, zero, p->acts / 1e6,
        (flags & PT_GPT2_RECOMPUTE) ? " (recomputed in the backward)" : "", p->act_grads / 1e6,
        p->logits / 1e6, total / 1e6);
    pt_gpt2_plan other;
    pt_gpt2_plan_bytes(&r->cfg, r->B, r->T, flags ^ PT_GPT2_RECOMPUTE, &other);
    if (flags & PT_GPT2_RECOMPUTE)
        say(r, 0, 0, "--recompute saves %.1f MB of activations (one more forward pass per step)",
            (other.acts - p->acts) / 1e6);
    else
        say(r, 0, 0, "with --recompute the activations would take %.1f MB (%.1f MB less, one more forward per step)",
            other.acts / 1e6, (p->acts - other.acts) / 1e6);
}

/* Streaming inputs and tokenizer from a checkpoint, copied: the checkpoint closes before the run ends. */
static int adopt_stream(run *r, const pt_ckpt_state *st, pt_err *e) {
    if (!st->nstream || !st->tokenizer_path)
        return pt_fail(e, PT_EUSAGE, "the checkpoint names no data: give --data DATA or --stream INPUT --tokenizer T");
    if (!(r->own = pt_calloc((size_t)st->nstream + 1, sizeof *r->own, e))) return e->code;
    r->nown = st->nstream + 1;
    for (int i = 0; i < st->nstream; i++)
        if (!(r->own[i] = strdup(st->stream[i]))) return pt_fail(e, PT_ENOMEM, "out of memory");
    if (!(r->own[st->nstream] = strdup(st->tokenizer_path))) return pt_fail(e, PT_ENOMEM, "out of memory");
    r->stream_in = (const char *const *)r->own, r->nstream_in = st->nstream, r->tok_path = r->own[st->nstream];
    return PT_OK;
}

static void run_free(run *r) {
    pt_loader_stream_free(r->stream); /* first: its thread uses the tokenizer and the input paths */
    pt_gpt2_free(r->m);
    free(r->mom), free(r->vel), free(r->in), free(r->tgt), free(r->sq), free(r->data);
    pt_buf_free(&r->tok);
    pt_bpe_free(r->bpe);
    pt_loader_free(r->loader);
    pt_loader_eval_free(r->eval);
    if (r->train) pt_tokens_close(r->train);
    if (r->valid) pt_tokens_close(r->valid);
    if (r->log) fclose(r->log);
    if (r->metrics) fclose(r->metrics);
    if (r->rlog) fclose(r->rlog);
    pt_err e = {0};
    pt_tfevents_close(r->tb, &e);
    for (int i = 0; i < r->nown; i++) free(r->own[i]); /* after the stream, which reads the paths */
    free(r->own);
}

/* Resolves the config and the options: from the checkpoint when resuming, else from the named
 * model with the overrides and the data's vocabulary. */
static int resolve(run *r, const pt_ckpt *ck, const pt_ckpt *init, pt_err *e) {
    const pt_train_opts *o = r->o;
    r->optim = o->optim, r->B = o->batch_size, r->accum = o->grad_accum, r->seed = o->seed;
    if (ck) {
        r->cfg = ck->st.cfg, r->optim = ck->st.optim, r->B = ck->st.batch_size, r->T = ck->st.seq_len;
        r->accum = ck->st.grad_accum, r->seed = ck->st.seed;
        if (o->optim.max_steps > 0) r->optim.max_steps = o->optim.max_steps; /* may extend a finished run */
        if (ck->st.nranks != r->nranks) { /* another rank count: the same global batch, another per-rank one */
            int64_t global = (int64_t)ck->st.nranks * ck->st.batch_size;
            if (global % r->nranks)
                return pt_fail(e, PT_EUSAGE, "%s was written by %d ranks of batch %d (%" PRId64 " windows per "
                               "micro-batch); %d ranks cannot share that evenly", ck->path, ck->st.nranks,
                               ck->st.batch_size, global, r->nranks);
            r->B = (int)(global / r->nranks);
        }
    } else {
        if (init) r->cfg = init->st.cfg;
        else PT_TRY(pt_gpt2_config_named(&r->cfg, o->model, e));
        const pt_gpt2_config *v = &o->over;
        if (!init) {
            if (v->n_layer > 0) r->cfg.n_layer = v->n_layer;
            if (v->n_embd > 0) r->cfg.n_embd = v->n_embd;
            if (v->n_head > 0) r->cfg.n_head = v->n_head;
            if (v->n_positions > 0) r->cfg.n_positions = v->n_positions;
            r->cfg.scale_attn_by_inverse_layer_idx = v->scale_attn_by_inverse_layer_idx;
            r->cfg.reorder_and_upcast_attn = v->reorder_and_upcast_attn;
            r->cfg.vocab_size = (int)data_vocab(r);
        }
        r->T = o->seq_len > 0 ? o->seq_len : r->cfg.n_positions;
    }
    if ((uint32_t)r->cfg.vocab_size != data_vocab(r))
        return pt_fail(e, PT_EUSAGE, "the model's vocabulary has %d ids, the data's tokenizer %u", r->cfg.vocab_size,
                       data_vocab(r));
    PT_TRY(pt_gpt2_config_check(&r->cfg, e));
    if (r->T > r->cfg.n_positions)
        return pt_fail(e, PT_EUSAGE, "--seq-len %d exceeds the model's %d positions", r->T, r->cfg.n_positions);
    if (r->B < 1 || r->accum < 1) return pt_fail(e, PT_EUSAGE, "--batch-size and --grad-accum must be positive");
    return PT_OK;
}

/* Rank 0: RUN/log.txt, metrics.jsonl, tb/; with several ranks, each its RUN/log/rank-K.txt. */
static int open_sinks(run *r, int resumed, pt_err *e) {
    const pt_train_opts *o = r->o;
    int rc = pt_fs_mkdir_p(o->out, e);
    if (!rc && r->nranks > 1) {
        char name[64], *dir = pt_path_join(o->out, "log"), *path = NULL;
        snprintf(name, sizeof name, "rank-%d.txt", r->rank);
        if (!dir || !(path = pt_path_join(dir, name))) rc = pt_fail(e, PT_ENOMEM, "out of memory");
        if (!rc) rc = pt_fs_mkdir_p(dir, e);
        if (!rc && !(r->rlog = fopen(path, resumed ? "a" : "w"))) rc = pt_fail_errno(e, PT_EIO, "%s", path);
        free(dir), free(path);
    }
    if (rc || r->rank != 0) return rc;
    char *lp = pt_path_join(o->out, "log.txt"), *mp = pt_path_join(o->out, "metrics.jsonl"),
         *tp = pt_path_join(o->out, "tb");
    if (!lp || !mp || !tp) rc = pt_fail(e, PT_ENOMEM, "out of memory");
    if (!rc && !(r->log = fopen(lp, resumed ? "a" : "w"))) rc = pt_fail_errno(e, PT_EIO, "%s", lp);
    if (!rc) rc = open_metrics(r, mp, r->step, e);
    if (!rc) rc = pt_tfevents_open(&r->tb, tp, e);
    if (!rc && resumed) rc = pt_tfevents_session_start(r->tb, r->step + 1, pt_tfevents_now(), e);
    free(lp), free(mp), free(tp);
    if (!rc) pt_ckpt_clean_tmp(o->out);
    return rc;
}

/* Opens the checkpoint arg means on every rank: rank 0 resolves and verifies it (the whole content
 * hash), the others open the same file without hashing it, reading only what they use (their
 * moments; the weights come by broadcast). A failure on rank 0 fails every rank. */
static int open_shared(run *r, pt_ckpt *ck, const char *arg, pt_err *e) {
    if (r->nranks == 1) return pt_ckpt_open(ck, arg, e);
    char path[4096] = "";
    int rc = PT_OK;
    if (r->rank == 0 && !(rc = pt_ckpt_open(ck, arg, e))) {
        if (strlen(ck->path) < sizeof path) strcpy(path, ck->path);
        else rc = pt_fail(e, PT_EUSAGE, "%s: path too long", ck->path), pt_ckpt_close(ck);
    }
    pt_err e2 = {0}; /* rank 0's own error stays in e */
    int brc = pt_dist_bcast(r->d, path, sizeof path, 0, &e2);
    if (rc || brc) {
        if (!rc) *e = e2;
        return rc ? rc : brc;
    }
    if (r->rank == 0) return PT_OK;
    if (!path[0]) return pt_fail(e, PT_EIO, "rank 0 could not open the checkpoint %s (its message says why)", arg);
    return pt_ckpt_open_unverified(ck, path, e);
}

static int setup(run *r, pt_err *e) {
    const pt_train_opts *o = r->o;
    pt_ckpt ck = {0}, init = {0};
    int have_ck = 0, have_init = 0, rc;
    const char *data = o->data;
    r->stream_in = o->stream, r->nstream_in = o->nstream, r->tok_path = o->tokenizer;
    if (o->resume) {
        if ((rc = open_shared(r, &ck, o->out, e))) return rc;
        have_ck = 1;
        if (!data && !o->nstream) {
            data = ck.st.data;
            if (!data && (rc = adopt_stream(r, &ck.st, e))) goto done;
        }
    } else if (o->init_from) {
        if ((rc = open_shared(r, &init, o->init_from, e))) return rc;
        have_init = 1;
    }
    if (data && !(r->data = strdup(data))) rc = pt_fail(e, PT_ENOMEM, "out of memory"); /* for the checkpoints */
    if (rc || (rc = open_data(r, data, e)) || (rc = resolve(r, have_ck ? &ck : NULL, have_init ? &init : NULL, e)))
        goto done;
    int flags = PT_GPT2_TRAIN | (o->recompute ? PT_GPT2_RECOMPUTE : 0);
    pt_gpt2_plan plan;
    pt_gpt2_plan_bytes(&r->cfg, r->B, r->T, flags, &plan);
    pt_gpt2_tensor lay[PT_GPT2_NTENSORS];
    const size_t n = pt_gpt2_layout(&r->cfg, lay);
    r->lo = 0, r->hi = n;
    if (r->zero) pt_dist_shard(n, SHARD_ALIGN, r->rank, r->nranks, &r->lo, &r->hi);
    uint64_t optim_bytes = 2 * sizeof(float) * (uint64_t)(r->hi - r->lo), total = plan.total + optim_bytes;
    uint64_t avail = mem_available() / (uint64_t)pt_dist_local_size(r->d); /* this machine's ranks share it */
    const pt_kernels *k = pt_kernels_get(o->kernels ? o->kernels : "cpu");
    if (!k) {
        rc = pt_fail(e, PT_EUSAGE, "unknown kernels '%s' (cpu, ref)", o->kernels);
        goto done;
    }
    if (o->dry_run) {
        describe(r, &plan, optim_bytes, total, flags);
        say(r, 0, 0, "memory available%s: %.1f MB; %.1f MFLOP per token (6N + 12LTC)",
            pt_dist_local_size(r->d) > 1 ? " to each of this machine's ranks" : "", avail / 1e6,
            pt_gpt2_flops_per_token(&r->cfg, r->T) / 1e6);
        goto done;
    }
    if (avail && total > avail) {
        rc = pt_fail(e, PT_ENOMEM, "the run needs %.1f GB (weights %.1f, gradients %.1f, AdamW %.1f, activations "
                                   "%.1f, scratch %.1f GB) but %.1f GB are available%s: use a smaller model or "
                                   "batch, or --recompute", total / 1e9, plan.params / 1e9, plan.grads / 1e9,
                     optim_bytes / 1e9, (plan.acts + plan.logits) / 1e9, plan.act_grads / 1e9, avail / 1e9,
                     pt_dist_local_size(r->d) > 1 ? " to each of this machine's ranks" : "");
        goto done;
    }
    if ((rc = pt_gpt2_create(&r->m, &r->cfg, k, r->B, r->T, flags, e))) goto done;
    const size_t seg = r->hi - r->lo ? r->hi - r->lo : 1; /* a rank's segment may be empty */
    r->nchunks = (n + PT_OPTIM_NORM_CHUNK - 1) / PT_OPTIM_NORM_CHUNK;
    if (!(r->mom = pt_calloc(seg, sizeof(float), e)) || !(r->vel = pt_calloc(seg, sizeof(float), e)) ||
        (r->zero && !(r->sq = pt_calloc(r->nchunks, sizeof(double), e))) ||
        !(r->in = pt_malloc((size_t)r->B * r->T * sizeof(uint32_t), e)) ||
        !(r->tgt = pt_malloc((size_t)r->B * r->T * sizeof(uint32_t), e))) {
        rc = e->code;
        goto done;
    }
    if (have_ck) {
        if (r->rank == 0) memcpy(r->m->params, ck.params, n * sizeof(float)); /* the others: broadcast below */
        if (ck.m) /* this rank's segment: a checkpoint holds them whole, so any rank count can resume it */
            memcpy(r->mom, ck.m + r->lo, (r->hi - r->lo) * sizeof(float)),
            memcpy(r->vel, ck.v + r->lo, (r->hi - r->lo) * sizeof(float));
        r->step = ck.st.step, r->tokens = ck.st.tokens, r->last_loss = ck.st.loss, r->last_eval = ck.st.eval_loss;
    } else if (have_init) {
        if (r->rank == 0) memcpy(r->m->params, init.params, n * sizeof(float));
    } else {
        pt_gpt2_init(r->m, r->seed);
    }
    /* every rank starts from rank 0's weights, whatever differs between machines */
    if ((rc = pt_dist_bcast(r->d, r->m->params, n * sizeof(float), 0, e)) || (rc = open_sinks(r, have_ck, e)))
        goto done;
    if (have_ck) say(r, 0, 0, "resuming %s at step %" PRId64, ck.path, r->step);
    if (have_init) say(r, 0, 0, "starting from the weights of %s", init.path);
    describe(r, &plan, optim_bytes, total, flags);
    r->plan_bytes = total;
    rc = start_loaders(r, have_ck ? &ck.st : NULL, e);
done:
    if (have_ck) pt_ckpt_close(&ck);
    if (have_init) pt_ckpt_close(&init);
    return rc;
}

/* ---- the loop ----------------------------------------------------------------------------------- */

static void fmt_time(char *out, double s) {
    if (!isfinite(s) || s < 0) strcpy(out, "?");
    else if (s < 90) sprintf(out, "%.0fs", s);
    else if (s < 5400) sprintf(out, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else sprintf(out, "%.0fh%02.0fm", floor(s / 3600), fmod(floor(s / 60), 60));
}

static int do_eval(run *r, pt_err *e) {
    double t0 = pt_now(), loss;
    PT_TRY(evaluate(r, &loss, e));
    if (isnan(loss)) return PT_OK;
    double ppl = exp(loss); /* inf on overflow */
    r->last_eval = loss;
    char a[32], b[32];
    say(r, 0, 0, "eval step %" PRId64 " | loss %.4f | perplexity %.2f | %.1f s", r->step, loss, ppl, pt_now() - t0);
    metric_line(r, "{\"step\": %" PRId64 ", \"eval_loss\": %s, \"perplexity\": %s}\n", r->step, num(a, loss),
                num(b, ppl));
    tb_scalar(r, "loss/eval", (float)loss);
    tb_scalar(r, "perplexity", (float)ppl);
    return PT_OK;
}

void pt_train_adamw(pt_gpt2 *m, float *mom, float *vel, size_t lo, size_t hi, const pt_optim_cfg *c, int64_t s,
                    double norm, double lr) {
    const pt_gpt2_tensor *t = m->t;
    float coef = 1.0f;
    if (c->grad_clip > 0 && norm > 0 && c->grad_clip / (norm + 1e-6) < 1.0) coef = (float)(c->grad_clip / (norm + 1e-6));
    for (int i = 0; i < PT_GPT2_NTENSORS; i++) { /* the part of each tensor inside [lo, hi) */
        size_t a = t[i].offset > lo ? t[i].offset : lo, b = t[i].offset + t[i].numel < hi ? t[i].offset + t[i].numel : hi;
        if (a < b)
            pt_adamw_update(m->params + a, m->grads + a, mom + (a - lo), vel + (a - lo), b - a, coef, lr,
                            t[i].decay ? c->weight_decay : 0, c, s + 1);
    }
}

int pt_train_update(pt_gpt2 *m, float *mom, float *vel, const pt_optim_cfg *c, int64_t s, double *norm, double *lr) {
    *norm = pt_optim_norm(m->grads, m->nparams);
    *lr = pt_optim_lr(c, s);
    if (!isfinite(*norm)) return -1;
    pt_train_adamw(m, mom, vel, 0, m->nparams, c, s, *norm, *lr);
    return 0;
}

/* The step's communication, after the last micro-batch: gradients summed across ranks (all of them,
 * or with ZeRO-1 this rank's segment), the mean loss and the stop request agreed on, and the norm
 * of the summed gradient (the same on every rank). */
static int sync_step(run *r, double *loss, int *stop, double *norm, pt_err *e) {
    const size_t n = r->m->nparams;
    double t0 = pt_now();
    /* The plain all-reduce is the same reduce-scatter followed by an all-gather: the sums are grouped
     * the same way at any rank count, so ZeRO-1 stays bit-identical to it. */
    PT_TRY(pt_dist_reduce_scatter(r->d, r->m->grads, n, SHARD_ALIGN, e));
    if (!r->zero) PT_TRY(pt_dist_allgather(r->d, r->m->grads, n, SHARD_ALIGN, e));
    double v[2] = {*loss, *stop ? 1 : 0};
    PT_TRY(pt_dist_allreduce_f64(r->d, v, 2, PT_DIST_SUM, e));
    *loss = v[0] / r->nranks, *stop = v[1] > 0;
    if (r->zero) { /* chunk sums of the own segment, zeros elsewhere: the sum over ranks is exact */
        memset(r->sq, 0, r->nchunks * sizeof *r->sq);
        if (r->hi > r->lo) pt_optim_sq_chunks(r->m->grads, r->lo, r->hi, r->sq + r->lo / PT_OPTIM_NORM_CHUNK);
        PT_TRY(pt_dist_allreduce_f64(r->d, r->sq, r->nchunks, PT_DIST_SUM, e));
        *norm = pt_optim_norm_of_chunks(r->sq, r->nchunks);
    } else {
        *norm = pt_optim_norm(r->m->grads, n);
    }
    r->comm_time += pt_now() - t0;
    return PT_OK;
}

static int train_loop(run *r, pt_err *e) {
    const pt_train_opts *o = r->o;
    const double flops_tok = pt_gpt2_flops_per_token(&r->cfg, r->T);
    const int64_t tok_step = (int64_t)r->nranks * r->B * r->T * r->accum; /* the global batch */
    const float scale = 1.0f / ((float)tok_step);  /* so that the sum over ranks is the global mean */
    double ema = 0; /* smoothed step time, for the time left */
    int64_t last_saved = r->step;
    int stop = 0;
    while (r->step < r->optim.max_steps && !stop) {
        double t0 = pt_now();
        pt_gpt2_zero_grad(r->m);
        double loss = 0;
        for (int a = 0; a < r->accum; a++) {
            double d0 = pt_now();
            PT_TRY(next_batch(r, e));
            r->data_time += pt_now() - d0;
            float l;
            pt_gpt2_forward(r->m, (const int32_t *)r->in, (const int32_t *)r->tgt, r->B, r->T, scale, &l);
            pt_gpt2_backward(r->m);
            loss += l;
        }
        loss /= r->accum;
        double norm, lr = pt_optim_lr(&r->optim, r->step);
        stop = o->stop && *o->stop;
        PT_TRY(sync_step(r, &loss, &stop, &norm, e));
        if (!isfinite(loss) || !isfinite(norm))
            return pt_fail(e, PT_EFORMAT, "step %" PRId64 ": the %s is not finite; stopping without a checkpoint "
                                          "(the newest in %s is from step %" PRId64 ")",
                           r->step + 1, isfinite(loss) ? "gradient norm" : "loss", o->out, last_saved);
        pt_train_adamw(r->m, r->mom, r->vel, r->lo, r->hi, &r->optim, r->step, norm, lr);
        if (r->zero) {
            double c0 = pt_now();
            PT_TRY(pt_dist_allgather(r->d, r->m->params, r->m->nparams, SHARD_ALIGN, e));
            r->comm_time += pt_now() - c0;
        }
        r->step++, r->tokens += (uint64_t)tok_step, r->last_loss = loss;
        double dt = pt_now() - t0;
        r->step_time += dt, r->steps_run++;
        double tps = tok_step / dt, mfu = r->peak > 0 ? tps * flops_tok / r->peak : 0;
        ema = ema ? 0.9 * ema + 0.1 * dt : dt;
        char left[32], a[32], b[32], c[32], d[32], f[32];
        fmt_time(left, ema * (double)(r->optim.max_steps - r->step));
        say(r, 1, (double)r->step / r->optim.max_steps,
            "step %" PRId64 "/%" PRId64 " | loss %.4f | lr %.3e | norm %.4f | %.0f tok/s | mfu %.1f%% | %s left",
            r->step, r->optim.max_steps, loss, lr, norm, tps, 100 * mfu, left);
        metric_line(r, "{\"step\": %" PRId64 ", \"loss\": %s, \"lr\": %s, \"grad_norm\": %s, \"tokens_per_sec\": %s, "
                       "\"mfu\": %s}\n", r->step, num(a, loss), num(b, lr), num(c, norm), num(d, tps), num(f, mfu));
        tb_scalar(r, "loss/train", (float)loss);
        tb_scalar(r, "lr", (float)lr);
        tb_scalar(r, "grad_norm", (float)norm);
        tb_scalar(r, "tokens_per_sec", (float)tps);
        int last = r->step == r->optim.max_steps;
        if (last || (o->eval_every > 0 && r->step % o->eval_every == 0)) PT_TRY(do_eval(r, e));
        if (last || stop || (o->save_every > 0 && r->step % o->save_every == 0)) {
            PT_TRY(save(r, e));
            last_saved = r->step;
        }
    }
    if (stop) return pt_fail(e, PT_EINTR, "interrupted at step %" PRId64 " (resume with --resume)", r->step);
    return PT_OK;
}

int pt_train_run(const pt_train_opts *o, pt_err *e) {
    run r = {.o = o, .last_loss = NAN, .last_eval = NAN, .d = o->dist};
    r.rank = pt_dist_rank(r.d), r.nranks = pt_dist_size(r.d), r.zero = o->zero && r.nranks > 1;
#ifdef _OPENMP
    if (o->threads > 0) omp_set_num_threads(o->threads);
    double peak = o->peak_flops > 0 ? o->peak_flops : pt_train_peak_flops(omp_get_max_threads());
#else
    double peak = o->peak_flops > 0 ? o->peak_flops : pt_train_peak_flops(1);
#endif
    int rc = pt_dist_allreduce_f64(r.d, &peak, 1, PT_DIST_SUM, e); /* the job's peak: every rank's cores */
    r.peak = peak;
    if (!rc) rc = setup(&r, e);
    if (!rc && !o->dry_run) {
        if (r.step >= r.optim.max_steps) say(&r, 0, 1, "nothing to do: step %" PRId64 " of %" PRId64, r.step,
                                             r.optim.max_steps);
        rc = train_loop(&r, e);
    }
    if (!rc && r.tb) rc = pt_tfevents_flush(r.tb, e);
    if (r.steps_run)
        say(&r, 0, 1, "%" PRId64 " steps in %.1f s (%.0f tokens/s); the data loader took %.2f%% of the step time; "
                      "peak RSS %.1f MB%s (plan %.1f MB)", r.steps_run, r.step_time,
            (double)r.steps_run * r.nranks * r.B * r.T * r.accum / r.step_time, 100 * r.data_time / r.step_time,
            pt_peak_rss() / 1e6, r.nranks > 1 ? " on this rank" : "", r.plan_bytes / 1e6);
    if (r.steps_run && r.nranks > 1)
        say(&r, 0, 1, "the collectives (gradient %s, loss, norm) took %.2f%% of the step time (%.3f s per step)",
            r.zero ? "reduce-scatter and weight all-gather" : "all-reduce", 100 * r.comm_time / r.step_time,
            r.comm_time / r.steps_run);
    run_free(&r);
    return rc;
}
