#!/usr/bin/env bash
# `parrot export hf` / `parrot import hf` end to end: a tiny GPT-2 trained a few steps by `parrot train` on
# real packed data is exported; the folder has every file transformers needs; the hand-written PyTorch
# GPT-2 of tools/gpt2_ref_hf.py (Debian's python3-torch), reading model.safetensors by the format's rules,
# gives parrot's logits (max |a-b| / max |b| <= 1e-4) and parrot's greedy continuation on tokens parrot's
# tokenizer made; Hugging Face's safetensors package reads every tensor; import gives back the same
# logits bit for bit and `parrot train --init-from` trains from it; BF16 export; refusals on the CLI.
# The real transformers client is in long_hf_transformers.sh (PyPI torch + transformers).
. "$(dirname "$0")/lib.sh"
W=${BUILD:-build}/tests/test_hf
[ -x "$PARROT" ] && [ -x "$W" ] || { fail hf "$PARROT or $W not built"; exit 0; }
TORCH=${TORCH_PYTHON:-/usr/bin/python3}
"$TORCH" -c 'import torch' 2> /dev/null || { fail hf "$TORCH has no torch: apt-get install python3-torch"; exit 0; }
REF="$TORCH tools/gpt2_ref_hf.py"

"$PARROT" corpus build -q -o "$T/c" --valid-fraction 0.2 "$DATA/cpython/Lib" > /dev/null 2> "$T/err" &&
"$PARROT" tokenizer train -q -o "$T/tok.json" --vocab-size 700 "$T/c" 2> "$T/err" &&
"$PARROT" pack -q --corpus "$T/c" --tokenizer "$T/tok.json" -o "$T/d" 2> "$T/err" &&
"$PARROT" train --data "$T/d" --model tiny --n-layer 2 --n-embd 48 --n-head 2 --n-positions 32 -b 4 \
    --warmup-steps 2 --lr 3e-3 --threads 2 -q --max-steps 12 --eval-every 12 --max-eval-batches 2 \
    --scale-attn-by-inverse-layer-idx --out "$T/run" 2> "$T/err" ||
    { fail hf_setup "$(tail -3 "$T/err")"; exit 0; }

check hf_export "$PARROT" export hf --model "$T/run" -o "$T/hf"
check hf_export_files sh -c "cd '$T/hf' && ls config.json model.safetensors generation_config.json tokenizer.json \
    tokenizer_config.json special_tokens_map.json vocab.json merges.txt README.md"
check hf_no_leftovers sh -c "[ -z \"\$(ls -d '$T'/hf.* 2> /dev/null)\" ]"
check_fails hf_export_refuses_existing "hf exists \(--force replaces it\)" "$PARROT" export hf --model "$T/run" -o "$T/hf"
check hf_export_force "$PARROT" export hf -q --model "$T/run" -o "$T/hf" --force
check hf_config "$PYTHON" -c '
import json, sys
c = json.load(open(sys.argv[1] + "/config.json"))
assert c["model_type"] == "gpt2" and c["architectures"] == ["GPT2LMHeadModel"], c
assert (c["n_layer"], c["n_embd"], c["n_head"], c["n_positions"], c["vocab_size"]) == (2, 48, 2, 32, 700), c
assert c["activation_function"] == "gelu_new" and c["tie_word_embeddings"] and c["scale_attn_by_inverse_layer_idx"]
g = json.load(open(sys.argv[1] + "/generation_config.json"))
assert g["eos_token_id"] == c["eos_token_id"] == json.load(open(sys.argv[2]))["model"]["vocab"]["<|endoftext|>"]
card = open(sys.argv[1] + "/README.md").read()
assert "| optimizer steps | 12 |" in card and "validation split" in card, card
assert "| train | " in card and "Validation loss during the run" in card and "| 12 | " in card, card
' "$T/hf" "$T/tok.json"

# Hugging Face's safetensors reads every tensor: GPT-2 names, Conv1D shapes, metadata, no lm_head
check hf_safetensors_package "$PYTHON" -c '
import sys
from safetensors import safe_open
with safe_open(sys.argv[1] + "/model.safetensors", framework="numpy") as f:
    assert f.metadata() == {"format": "pt"}, f.metadata()
    keys = set(f.keys())
    assert len(keys) == 4 + 12 * 2 and "lm_head.weight" not in keys, keys
    for k in keys:
        assert f.get_tensor(k).dtype.name == "float32"
    assert f.get_tensor("transformer.h.1.attn.c_attn.weight").shape == (48, 144)
    assert f.get_tensor("transformer.h.0.mlp.c_proj.weight").shape == (192, 48)
' "$T/hf"

# parrot's logits and greedy continuation against the hand-written PyTorch GPT-2, on tokens of real code
printf 'def fib(n):\n    if n < 2:\n        return' > "$T/prompt.py"
ids=$("$PARROT" tokenizer encode -q -t "$T/tok.json" "$T/prompt.py" | tr '\n' ' ')
check hf_prompt_ids sh -c "[ $(echo $ids | wc -w) -ge 6 ]"
"$W" --logits "$T/run" 12 $ids > "$T/parrot.txt" 2> "$T/err" || fail hf_parrot_logits "$(cat "$T/err")"
check hf_torch_reference $REF check "$T/hf" "$T/parrot.txt"
# the comparison can fail: a logit moved by 1e-3 of the largest
awk 'NR == 3 { $5 = $5 + 0.01 } { print }' "$T/parrot.txt" > "$T/moved.txt"
check_fails hf_torch_reference_sees_difference "MISMATCH" $REF check "$T/hf" "$T/moved.txt"

# import gives the same weights: the same logits, bit for bit; it trains with --init-from
check hf_import "$PARROT" import hf "$T/hf" -o "$T/back.ckpt"
"$W" --logits "$T/back.ckpt" 12 $ids > "$T/back.txt" 2> "$T/err"
check hf_import_same_logits cmp "$T/parrot.txt" "$T/back.txt"
check_fails hf_import_refuses_existing "back.ckpt exists" "$PARROT" import hf "$T/hf" -o "$T/back.ckpt"
check hf_init_from_import "$PARROT" train --data "$T/d" --init-from "$T/back.ckpt" -b 2 --seq-len 32 --max-steps 2 \
    --threads 2 -q --out "$T/ft"
check hf_export_of_import "$PARROT" export hf -q --model "$T/back.ckpt" -o "$T/hf2"
check hf_export_of_import_card grep -q "no training step (step 0)" "$T/hf2/README.md"

# BF16: the torch reference on the BF16 folder and parrot on its import agree as well
check hf_export_bf16 "$PARROT" export hf -q --model "$T/run" -o "$T/hfb" --dtype bf16
check hf_import_bf16 "$PARROT" import hf -q "$T/hfb" -o "$T/b16.ckpt"
"$W" --logits "$T/b16.ckpt" 12 $ids > "$T/b16.txt" 2> "$T/err"
check hf_torch_reference_bf16 $REF check "$T/hfb" "$T/b16.txt"

# the CLI's refusals
mkdir -p "$T/pt" && cp "$T/hf/config.json" "$T/pt/" && echo x > "$T/pt/pytorch_model.bin"
check_fails hf_refuses_pickle "pytorch_model.bin but no model.safetensors.*convert" "$PARROT" import hf "$T/pt" -o "$T/x.ckpt"
check_fails hf_refuses_missing_ckpt "export hf: .*nothing" "$PARROT" export hf --model "$T/nothing" -o "$T/y"
check_fails hf_usage_format "the only format is 'hf'" "$PARROT" export onnx --model "$T/run" -o "$T/y"
check_fails hf_usage_dtype "--dtype 'f8'" "$PARROT" export hf --model "$T/run" -o "$T/y" --dtype f8
