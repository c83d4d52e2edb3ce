/* lm.c - a checkpoint opened for generation (see lm.h). */
#include "infer/lm.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "tok/tokfile.h"

int pt_lm_open(pt_lm *lm, const char *ckpt, int nseq, const pt_kernels *k, pt_err *e) {
    memset(lm, 0, sizeof *lm);
    PT_TRY(pt_ckpt_open(&lm->ck, ckpt, e));
    int rc = pt_bpe_load_hf_mem(&lm->tok, lm->ck.tok, lm->ck.tok_len, lm->ck.path, e);
    if (!rc && pt_bpe_vocab_size(lm->tok) != (uint32_t)lm->ck.st.cfg.vocab_size)
        rc = pt_fail(e, PT_EFORMAT, "%s: the tokenizer has %u ids, the model %d", lm->ck.path,
                     pt_bpe_vocab_size(lm->tok), lm->ck.st.cfg.vocab_size);
    if (!rc) rc = pt_infer_new(&lm->inf, &lm->ck.st.cfg, lm->ck.params, k, nseq, e);
    if (!rc && !(lm->scratch = pt_bpe_scratch_new())) rc = pt_fail(e, PT_ENOMEM, "out of memory");
    if (rc) {
        pt_lm_close(lm);
        return rc;
    }
    lm->eot = pt_bpe_lookup(lm->tok, "<|endoftext|>", 13);
    return PT_OK;
}

void pt_lm_close(pt_lm *lm) {
    pt_infer_free(lm->inf);
    pt_bpe_free(lm->tok);
    pt_bpe_scratch_free(lm->scratch);
    pt_ckpt_close(&lm->ck);
    memset(lm, 0, sizeof *lm);
}

int pt_lm_encode(pt_lm *lm, const char *text, size_t n, int bos, uint32_t **ids, size_t *nids, pt_err *e) {
    *ids = NULL, *nids = 0;
    if (bos && lm->eot == PT_BPE_NONE) return pt_fail(e, PT_EUSAGE, "the tokenizer has no <|endoftext|> for --bos");
    size_t count = pt_bpe_encode(lm->tok, text, n, NULL, 0, lm->scratch);
    if (count == (size_t)-1) return pt_fail(e, PT_ENOMEM, "out of memory encoding the prompt");
    uint32_t *out = pt_malloc((count + 1) * sizeof *out, e);
    if (!out) return e->code;
    size_t at = 0;
    if (bos) out[at++] = lm->eot;
    pt_bpe_encode(lm->tok, text, n, out + at, count, lm->scratch);
    *ids = out, *nids = at + count;
    return PT_OK;
}
