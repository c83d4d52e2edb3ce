/* tokfile.h - loading a byte-level BPE tokenizer from the files it is published in.
 *
 * Two formats:
 *
 * 1. Hugging Face tokenizer.json (what `tokenizers` saves; CodeParrot's tokenizer is one):
 *    model.type "BPE" with model.vocab {string: id} and model.merges, either "a b" strings
 *    or ["a", "b"] pairs (tokenizers >= 0.20 writes pairs); the pre_tokenizer must be
 *    ByteLevel with use_regex true (alone, or as the only member of a Sequence), whose
 *    add_prefix_space is honoured; added_tokens are loaded (special or not) but are never
 *    produced from plain text. The normalizer must be null (or an empty Sequence): a
 *    normalizer rewrites the text, which this encoder does not do. model.ignore_merges is
 *    honoured; dropout (other than null/0), continuing_subword_prefix, end_of_word_suffix
 *    and byte_fallback are refused. post_processor and decoder do not change the ids of
 *    plain text without special tokens, so they are not read.
 *
 * 2. GPT-2's pair encoder.json ({token string: id}) + vocab.bpe (a "#version" line, then one
 *    merge "a b" per line), which Hugging Face calls vocab.json + merges.txt. The tokens
 *    <|endoftext|> and <|startoftext|>, when present, are marked special, as tiktoken does.
 *    Options: add_prefix_space 0, ignore_merges 0 (GPT-2's).
 *
 * pt_bpe_load picks by the path: a directory is searched for tokenizer.json, then
 * encoder.json + vocab.bpe, then vocab.json + merges.txt; a file is read as tokenizer.json
 * (a flat {string: id} file is recognised and the message says to pass its directory).
 *
 * Every error names the file and what is wrong ("tok.json: model.merges[12]: \"Ġt\" is not
 * in model.vocab"); a malformed file never crashes (tests/fuzz/fuzz_tokjson.c). On failure
 * *t is NULL. The pt_bpe returned is finished (bpe.h): shareable between threads.
 */
#ifndef PT_TOK_TOKFILE_H
#define PT_TOK_TOKFILE_H

#include <stddef.h>

#include "base/status.h"
#include "tok/bpe.h"

/* Loads the tokenizer at path (a directory or a tokenizer.json, see above). */
int pt_bpe_load(pt_bpe **t, const char *path, pt_err *e);
/* Loads a Hugging Face tokenizer.json file. */
int pt_bpe_load_hf(pt_bpe **t, const char *path, pt_err *e);
/* Loads GPT-2's encoder.json (vocabulary) and vocab.bpe (merges). */
int pt_bpe_load_gpt2(pt_bpe **t, const char *encoder_path, const char *merges_path, pt_err *e);

/* The same from memory (name is used in messages only). The text need not be
 * NUL-terminated and may be freed after the call. */
int pt_bpe_load_hf_mem(pt_bpe **t, const char *json, size_t n, const char *name, pt_err *e);
int pt_bpe_load_gpt2_mem(pt_bpe **t, const char *encoder_json, size_t n_encoder, const char *encoder_name,
                         const char *merges, size_t n_merges, const char *merges_name, pt_err *e);

#endif
