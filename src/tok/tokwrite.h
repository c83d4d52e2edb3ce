/* tokwrite.h - saving a byte-level BPE tokenizer in the files it is published in.
 *
 * The writing side of tok/tokfile.h, so that a tokenizer parrot trains (or loads) can be
 * handed to Hugging Face `tokenizers`, `transformers` or GPT-2's own code:
 *
 * 1. pt_bpe_save_hf writes a Hugging Face tokenizer.json as `tokenizers` >= 0.20 writes it
 *    for GPT-2-style BPE: version "1.0"; added_tokens for the added tokens with their flags
 *    (normalized false for special tokens, true otherwise, as Hugging Face defaults);
 *    normalizer null; pre_tokenizer ByteLevel(add_prefix_space from the options,
 *    trim_offsets true, use_regex true); post_processor and decoder ByteLevel; model BPE
 *    with vocab {token string: id} in id order (byte-level tokens written in GPT-2's
 *    printable alphabet, see bpe.h) and merges as ["a", "b"] pairs in rank order.
 *    An added token held as literal text (PT_BPE_TOKEN_TEXT) appears in added_tokens only:
 *    its text written into model.vocab could read back as a byte-level token.
 *
 * 2. pt_bpe_save_gpt2_files writes vocab.json ({token string: id}) and merges.txt
 *    ("#version: 0.2", then one "a b" merge per line, ending with a newline), which GPT-2
 *    calls encoder.json and vocab.bpe. That format cannot say which tokens are added or
 *    special; loading it back marks <|endoftext|> special (tokfile.h), nothing else.
 *
 * Both write atomically (base/fs.h pt_afile): a failure never leaves a half-written file
 * under the real name. Loading what was saved gives the same pt_bpe_hash (for
 * tokenizer.json always; for the GPT-2 pair when the tokenizer has no other added tokens).
 * The tokenizer is only read: thread-safe with concurrent encoders.
 */
#ifndef PT_TOK_TOKWRITE_H
#define PT_TOK_TOKWRITE_H

#include "base/buf.h"
#include "base/status.h"
#include "tok/bpe.h"

/* Appends t's tokenizer.json text to out. t must be finished. */
int pt_bpe_to_hf_json(const pt_bpe *t, pt_buf *out, pt_err *e);
/* Writes t as a Hugging Face tokenizer.json at path (replacing it atomically). */
int pt_bpe_save_hf(const pt_bpe *t, const char *path, pt_err *e);
/* Writes dir/vocab.json and dir/merges.txt (dir must exist). */
int pt_bpe_save_gpt2_files(const pt_bpe *t, const char *dir, pt_err *e);

#endif
