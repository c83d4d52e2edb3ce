/* lm.h - a trained model ready to complete text: a checkpoint's weights (memory-mapped, used in
 * place), its tokenizer and an inference engine, opened from one CKPT argument (a checkpoint file or
 * a RUN folder, meaning its newest checkpoint). What `parrot generate` and `parrot eval humaneval`
 * load. */
#ifndef PT_LM_H
#define PT_LM_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "infer/generate.h"
#include "infer/infer.h"
#include "tok/bpe.h"
#include "train/ckpt.h"

typedef struct pt_lm {
    pt_ckpt ck;
    pt_bpe *tok;
    uint32_t eot;          /* "<|endoftext|>", or PT_BPE_NONE */
    pt_infer *inf;
    pt_bpe_scratch *scratch;
} pt_lm;

/* Opens CKPT for batches of up to nseq sequences with kernels k. */
int pt_lm_open(pt_lm *lm, const char *ckpt, int nseq, const pt_kernels *k, pt_err *e);
void pt_lm_close(pt_lm *lm);

/* The ids of text[0..n), end-of-text first when bos; *ids malloc'ed. */
int pt_lm_encode(pt_lm *lm, const char *text, size_t n, int bos, uint32_t **ids, size_t *nids, pt_err *e);

#endif
