/* ckpt.h - training checkpoints: one file holding all that an exact resume needs.
 *
 * A checkpoint is RUN/ckpt-<step, 8 digits>.ckpt:
 *
 *   header (128 bytes, little-endian)
 *     0   magic "PRTCKPT\0"
 *     8   u32 version (1)         12  u32 header size (128)
 *     16  u64 meta bytes          24  u64 tokenizer bytes
 *     32  u64 parameter count     40  u32 sections (1: weights only, 3: + AdamW m and v)   44 u32 0
 *     48  u64 step                56  16-byte content hash (pt_hash128 of every byte after the header)
 *     72  56 bytes reserved (0)
 *   meta        JSON: format, parrot version, the resolved model config, the optimizer and
 *               training options, step, tokens seen, the data loader position, last losses
 *   tokenizer   the tokenizer.json the model was trained with (so generation needs nothing else)
 *   weights     f32[n] in the flat layout of model/gpt2.h
 *   m, v        f32[n] each: AdamW's moments (absent in weights-only files)
 * Every section starts 64-byte aligned (zero padding), so the arrays can be used in place from
 * a memory map.
 *
 * Writing checks free space first (the whole file plus a margin), writes to a temporary name and
 * renames, so a crash or a kill during a write leaves the previous checkpoint intact, and the
 * half file is named *.tmp-<pid> (pt_ckpt_clean_tmp removes those). A checkpoint is written only
 * from finite weights (the trainer checks before calling).
 *
 * CKPT anywhere on the command line is a checkpoint file or a RUN folder, which means the
 * newest checkpoint in it (pt_ckpt_resolve).
 */
#ifndef PT_CKPT_H
#define PT_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/status.h"
#include "data/loader.h"
#include "model/gpt2.h"
#include "train/optim.h"

#define PT_CKPT_VERSION 1u

typedef struct pt_ckpt_state {
    pt_gpt2_config cfg;
    pt_optim_cfg optim;
    int64_t step;             /* optimizer steps done */
    uint64_t tokens;          /* tokens trained on (all ranks) */
    int batch_size, seq_len, grad_accum, nranks;
    uint64_t seed;
    int has_pos;              /* pos below is meaningful */
    pt_loader_pos pos;        /* the loader's next batch */
    int has_stream_pos;       /* streaming mode: spos below is meaningful */
    const pt_loader_stream_pos *spos; /* streaming mode: each rank's position, in rank order [nspos] */
    int nspos;
    const char *const *stream; /* streaming mode: the inputs (nstream) and the tokenizer path */
    int nstream;
    const char *tokenizer_path;
    double loss, eval_loss;   /* last train loss / last eval loss (NAN if none) */
    const char *data;         /* the DATA folder (or the streamed inputs), informational; may be NULL */
} pt_ckpt_state;

/* Writes path atomically. m and v may both be NULL (a weights-only file: export, fine-tune start).
 * tok is the tokenizer.json text (tok_len bytes). */
int pt_ckpt_write(const char *path, const pt_ckpt_state *st, const float *params, const float *m, const float *v,
                  size_t n, const char *tok, size_t tok_len, pt_err *e);

/* The same, for a writer that does not hold the AdamW moments whole (rank 0 of a ZeRO-1 run, which
 * receives them from the ranks that own them): fill(ctx, which, off, k, out) puts elements
 * [off, off + k) of m (which 0) or v (which 1) into out[k]; it is called for m then v, in order of
 * off, in pieces of PT_CKPT_FILL_PIECE elements (the last shorter). A fill error aborts the write
 * (the temporary file is removed) and is returned. fill NULL: a weights-only file. */
#define PT_CKPT_FILL_PIECE ((size_t)1 << 20)
typedef int (*pt_ckpt_fill)(void *ctx, int which, size_t off, size_t k, float *out, pt_err *e);
int pt_ckpt_write_filled(const char *path, const pt_ckpt_state *st, const float *params, pt_ckpt_fill fill,
                         void *ctx, size_t n, const char *tok, size_t tok_len, pt_err *e);

/* An opened checkpoint: memory-mapped, validated (header, sizes, content hash, meta JSON). */
typedef struct pt_ckpt {
    pt_map map;
    char *path;
    pt_ckpt_state st;         /* st.data points into meta (valid while open) */
    size_t n;
    const float *params, *m, *v; /* m, v NULL in a weights-only file */
    const char *tok;
    size_t tok_len;
    pt_json_doc *meta;
    const char **stream_v;    /* st.stream's storage */
    pt_loader_stream_pos *spos_v; /* st.spos's storage */
} pt_ckpt;

/* Opens a checkpoint file or the newest in a RUN folder. PT_EFORMAT naming the file and what is
 * wrong for a truncated, corrupt or other-version file; PT_EIO when a folder holds none. */
int pt_ckpt_open(pt_ckpt *c, const char *path, pt_err *e);
void pt_ckpt_close(pt_ckpt *c);
/* The same checks except the content hash, so that only the parts used are read from disk: for
 * the other ranks of a data-parallel job once rank 0 has opened and verified the same file (every
 * rank hashing a 18 GB gpt2-xl checkpoint would read it N times from a shared filesystem). */
int pt_ckpt_open_unverified(pt_ckpt *c, const char *path, pt_err *e);

/* The file a CKPT argument means: itself, or the checkpoint with the highest step in a folder.
 * *out is malloc'ed. PT_EIO if there is none. */
int pt_ckpt_resolve(const char *path, char **out, pt_err *e);

/* A file that belongs to a checkpoint: its path with ".ckpt" replaced by suffix (e.g.
 * "RUN/ckpt-00001234.humaneval.json": `parrot eval humaneval --model`'s record, which the model
 * card of `parrot export hf` reports). malloc'ed (NULL on ENOMEM). */
char *pt_ckpt_sidecar(const char *ckpt_path, const char *suffix);

/* "RUN/ckpt-00001234.ckpt" for a step; malloc'ed (NULL on ENOMEM). */
char *pt_ckpt_name(const char *run, int64_t step);

/* Keeps the newest keep checkpoints in run (by step) and deletes the others; keep <= 0 keeps all. */
int pt_ckpt_prune(const char *run, int keep, pt_err *e);

/* Removes the temporary files of checkpoint writes that were interrupted (ckpt-*.ckpt.tmp-*). */
void pt_ckpt_clean_tmp(const char *run);

#endif
