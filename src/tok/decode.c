/* decode.c - ids to bytes (see decode.h). */
#include "tok/decode.h"

int pt_bpe_decode(const pt_bpe *t, const uint32_t *ids, size_t n, pt_buf *out, pt_err *e) {
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const unsigned char *p = pt_bpe_token(t, ids[i], &len, NULL);
        if (!p)
            return pt_fail(e, PT_EFORMAT, "token id %u at position %zu is not in the vocabulary (size %u)", ids[i],
                           i, pt_bpe_vocab_size(t));
        PT_TRY(pt_buf_append(out, p, len, e));
    }
    return PT_OK;
}
