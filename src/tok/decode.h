/* decode.h - token ids back to bytes.
 *
 * Byte-level BPE loses nothing: every token is a byte string, so the text of a list of ids
 * is the concatenation of its tokens' bytes, and decode(encode(x)) == x for every byte
 * string x, valid UTF-8 or not (tests/unit/test_tokwrite.c checks it on random bytes and
 * on every committed text). Added tokens (<|endoftext|>) decode to their literal content,
 * as Hugging Face's decode(skip_special_tokens=False) and tiktoken's decode_bytes do.
 * No UTF-8 repair is done here: a caller that wants text replaces invalid sequences itself.
 * Thread-safe (reads t only).
 */
#ifndef PT_TOK_DECODE_H
#define PT_TOK_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"
#include "tok/bpe.h"

/* Appends the bytes of ids[0..n) to out. An id with no token (>= pt_bpe_vocab_size, or a
 * hole in the vocabulary) fails with PT_EFORMAT "token id N at position I is not in the
 * vocabulary (size V)"; out then holds the bytes of the ids before it. */
int pt_bpe_decode(const pt_bpe *t, const uint32_t *ids, size_t n, pt_buf *out, pt_err *e);

#endif
