/* export.h - a parrot checkpoint as a Hugging Face model folder (`parrot export hf`).
 *
 * The folder is what transformers' GPT2LMHeadModel.save_pretrained and GPT2TokenizerFast's
 * save_pretrained write, so that AutoModelForCausalLM.from_pretrained(DIR) and
 * AutoTokenizer.from_pretrained(DIR) load it unchanged, and the Hub shows it:
 *
 *   config.json              GPT2Config: sizes, activation gelu_new (the tanh approximation parrot
 *                            computes), layer_norm_epsilon 1e-5, the attention options the model
 *                            used, tie_word_embeddings true, bos/eos = <|endoftext|>'s id, dropouts 0
 *                            (parrot trains without dropout; a fine-tuner may set them)
 *   model.safetensors        GPT-2's tensor names with the "transformer." prefix, Conv1D weights
 *                            stored [in, out] (the transpose of parrot's [out, in]); lm_head left
 *                            out (tied to wte, as GPT-2's own files); __metadata__ {"format": "pt"},
 *                            which transformers requires; F32, or BF16 with --dtype bf16
 *   generation_config.json   bos/eos ids
 *   tokenizer.json           the checkpoint's tokenizer text as it is (it was validated on the way)
 *   vocab.json, merges.txt   the same tokenizer in GPT-2's two-file form
 *   tokenizer_config.json    GPT2Tokenizer, model_max_length = n_positions, the added tokens
 *   special_tokens_map.json  bos/eos/unk = <|endoftext|> (when the tokenizer has it)
 *   README.md                a model card: architecture, the training run's recipe, data, step,
 *                            tokens, last train and eval loss - what the checkpoint knows
 *
 * The folder appears whole or not at all: everything is written into DIR.tmp-<pid> and renamed
 * to DIR at the end (an existing DIR is refused unless force, then replaced the same way - and only
 * when it is a model folder, with a config.json, or empty: an export never deletes a run folder). Before
 * the rename, model.safetensors is read back with hf/safetensors.h's validating reader and every
 * tensor compared with the checkpoint's weights (bit for bit in F32, as rounded in BF16): a
 * writer bug cannot leave a folder that looks complete.
 *
 * The table pt_hf_gpt2_names maps parrot's flat layout (model/gpt2.h) to GPT-2's tensor names;
 * hf/import.c uses the same table, so the two directions cannot disagree.
 */
#ifndef PT_HF_EXPORT_H
#define PT_HF_EXPORT_H

#include <stddef.h>

#include "base/status.h"
#include "model/gpt2.h"
#include "train/ckpt.h"

/* One parrot tensor as GPT-2 names it, without the "transformer." prefix: fmt is "wte.weight"
 * or, for a tensor stacked over layers, a printf format with one %d ("h.%d.attn.c_attn.weight").
 * conv1d: a Conv1D weight, stored [in, out] by Hugging Face where parrot keeps [out, in]. */
typedef struct pt_hf_name {
    const char *fmt;
    int conv1d;
} pt_hf_name;

/* Indexed by the PT_GPT2_* tensor enum of model/gpt2.h. */
extern const pt_hf_name pt_hf_gpt2_names[PT_GPT2_NTENSORS];

/* Writes "transformer." + the name of tensor i at layer l (ignored for unstacked tensors) into
 * buf (cap bytes; 64 is plenty); with prefix 0 leaves "transformer." out. */
void pt_hf_tensor_name(char *buf, size_t cap, int i, int layer, int prefix);

typedef struct pt_hf_export_opts {
    int dtype;  /* of the weights: PT_ST_F32, PT_ST_BF16 or PT_ST_F16 (hf/safetensors.h) */
    int force;  /* replace an existing DIR */
} pt_hf_export_opts;

/* What an export wrote, for the caller's summary. */
typedef struct pt_hf_export_info {
    size_t tensors;           /* in model.safetensors */
    unsigned long long bytes; /* of model.safetensors */
    int eos_id;               /* <|endoftext|>'s id, or -1 when the tokenizer lacks it */
} pt_hf_export_info;

/* Writes the folder dir (see the file comment) from an open checkpoint c (weights-only or full:
 * AdamW's moments are not exported). info may be NULL. Errors: PT_EEXIST when dir exists and
 * !o->force; PT_EFORMAT when the checkpoint's tokenizer does not load; PT_EIO naming the file;
 * PT_EUSAGE for a dtype other than F32/BF16/F16. On failure nothing is left under dir's name
 * (the temporary folder is removed). Not thread-safe with another export to the same dir. */
int pt_hf_export(const pt_ckpt *c, const char *dir, const pt_hf_export_opts *o, pt_hf_export_info *info,
                 pt_err *e);

#endif
