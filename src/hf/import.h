/* import.h - a Hugging Face GPT-2 folder as a parrot checkpoint (`parrot import hf`).
 *
 * Reads any GPT-2-architecture folder (gpt2 ... gpt2-xl, codeparrot, one written by
 * `parrot export hf` or by transformers' save_pretrained):
 *
 * - config.json: model_type "gpt2" (or, without model_type, a GPT2* architecture); the sizes,
 *   with GPT2Config's defaults for absent keys, as transformers does. Refused, naming the key:
 *   another model_type; n_inner other than null or 4·n_embd; layer_norm_epsilon other than 1e-5
 *   (parrot's LayerNorm); scale_attn_weights false; add_cross_attention true; an activation
 *   other than the tanh GELU (gelu_new, gelu_pytorch_tanh, gelu_fast: the same function).
 *   "gelu" / "gelu_python" (the exact erf GELU) are ACCEPTED WITH A NOTE: parrot computes the
 *   tanh approximation, which differs from erf GELU by less than 5e-4 per activation, so the
 *   imported model's outputs move slightly (and `export hf` writes gelu_new back).
 * - Weights: model.safetensors, or the shards a model.safetensors.index.json lists. F32, F16,
 *   BF16 (and F64) tensors, converted to f32; names with or without the "transformer." prefix;
 *   the attention-mask buffers *.attn.bias / *.attn.masked_bias ignored; lm_head.weight optional
 *   - when present it must equal wte (after conversion): an untied output layer is refused, for
 *   parrot's GPT-2 ties it and dropping it would change the model. Conv1D weights [in, out] are
 *   transposed to parrot's [out, in]. Refused, naming the file and the tensor: a missing tensor,
 *   a shape other than the config's, another dtype, a non-finite value, a tensor that is not part
 *   of GPT2LMHeadModel (a classification head, say). Files the safetensors reader refuses (a
 *   header past the end, overlapping offsets, holes, a shape that does not match its bytes, an
 *   unknown dtype) keep its message, which names the tensor.
 *   A folder with only pytorch_model.bin (a pickle: reading it can run code, so parrot does
 *   not) or TensorFlow/Flax weights is refused with the command that converts it.
 * - The tokenizer: tokenizer.json (kept as it is, after checking that parrot loads it), else
 *   vocab.json + merges.txt (converted to tokenizer.json). It may have fewer ids than the
 *   embedding (a padded vocabulary; noted), not more.
 *
 * pt_hf_import writes a weights-only checkpoint (train/ckpt.h: m = v = NULL, step 0, the
 * default optimizer recipe, batch 1 x n_positions) that `parrot train --init-from` starts from
 * and that generation and evaluation read like a trained one.
 */
#ifndef PT_HF_IMPORT_H
#define PT_HF_IMPORT_H

#include <stddef.h>

#include "base/status.h"
#include "model/gpt2.h"

typedef struct pt_hf_model {
    pt_gpt2_config cfg;
    float *params;          /* [n] in model/gpt2.h's flat layout; owned */
    size_t n;
    char *tok;              /* tokenizer.json text, owned; NULL when the folder has no tokenizer */
    size_t tok_len;
    const char *tok_source; /* "tokenizer.json", "vocab.json + merges.txt", or NULL */
    size_t tensors;         /* tensors read (lm_head and buffers not counted) */
    int files;              /* safetensors files read */
    char note[1024];        /* what the user should know (activation, padded vocabulary); "" if nothing */
} pt_hf_model;

/* Reads the folder dir into *m (zeroed first). A folder without a tokenizer loads (tok NULL).
 * On failure m holds nothing (freed) and e names the file and what is wrong: PT_EIO (cannot
 * read), PT_EFORMAT (everything the file comment lists), PT_ENOMEM. */
int pt_hf_load(const char *dir, pt_hf_model *m, pt_err *e);
void pt_hf_model_free(pt_hf_model *m); /* a zeroed or freed m is fine */

/* pt_hf_load, then writes the weights-only checkpoint out (atomically). The folder must have a
 * tokenizer (PT_EFORMAT otherwise). An existing out is refused (PT_EEXIST) unless force. On
 * success *m describes what was imported (the caller frees it); on failure it is freed. */
int pt_hf_import(const char *dir, const char *out, int force, pt_hf_model *m, pt_err *e);

#endif
