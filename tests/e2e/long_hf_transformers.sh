#!/usr/bin/env bash
# The real clients of `parrot export hf` / `parrot import hf`: PyPI's transformers and torch.
#  - a GPT-2 trained by `parrot train` and exported loads with AutoModelForCausalLM / AutoTokenizer
#    .from_pretrained unchanged; the tokenizer gives parrot's ids; the logits match parrot's (max |a-b| /
#    max |b| <= 1e-4) and so does the greedy continuation, by ids (test_hf --logits) and as text
#    (`parrot generate --temperature 0` against model.generate(do_sample=False));
#  - safetensors.safe_open (framework "pt") reads every tensor of the F32 and BF16 exports;
#  - folders transformers itself saves (GPT2LMHeadModel(GPT2Config(...)).save_pretrained, in F32 and BF16,
#    with scale_attn_by_inverse_layer_idx; a bare GPT2Model without "transformer." or lm_head) import into
#    parrot with transformers' logits.
# Needs a venv with torch and transformers (TORCH_VENV, default build/venv-torch):
#    python3 -m venv build/venv-torch && build/venv-torch/bin/pip install torch transformers
. "$(dirname "$0")/lib.sh"
W=${BUILD:-build}/tests/test_hf
VENV=${TORCH_VENV:-build/venv-torch}
[ -x "$PARROT" ] && [ -x "$W" ] || { fail hf_transformers "$PARROT or $W not built"; exit 0; }
"$VENV/bin/python" -c 'import torch, transformers, safetensors' 2> /dev/null ||
    { fail hf_transformers "$VENV lacks torch/transformers: $VENV/bin/pip install torch transformers"; exit 0; }
PY="$VENV/bin/python"

"$PARROT" corpus build -q -o "$T/c" --valid-fraction 0.2 "$DATA/cpython/Lib" > /dev/null 2> "$T/err" &&
"$PARROT" tokenizer train -q -o "$T/tok.json" --vocab-size 700 "$T/c" 2> "$T/err" &&
"$PARROT" pack -q --corpus "$T/c" --tokenizer "$T/tok.json" -o "$T/d" 2> "$T/err" &&
"$PARROT" train --data "$T/d" --model tiny --n-layer 2 --n-embd 64 --n-head 4 --n-positions 64 -b 8 \
    --warmup-steps 5 --lr 1e-2 --threads 2 -q --max-steps 60 --eval-every 60 --max-eval-batches 2 \
    --out "$T/run" 2> "$T/err" &&
"$PARROT" export hf -q --model "$T/run" -o "$T/hf" &&
"$PARROT" export hf -q --model "$T/run" -o "$T/hfb" --dtype bf16 ||
    { fail hf_transformers_setup "$(tail -3 "$T/err")"; exit 0; }

cat > "$T/client.py" << 'EOF'
import json, os, subprocess, sys
import torch
import transformers
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel, GPT2Model

parrot, test_hf, T = sys.argv[1:4]
torch.manual_seed(0)
failed = False

def report(name, ok, why=""):
    global failed
    print(("ok " if ok else "FAIL ") + name + ("" if ok else ": " + why))
    failed |= not ok

def parrot_logits(ckpt, ids, n):
    out = subprocess.run([test_hf, "--logits", ckpt, str(n)] + [str(i) for i in ids], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    greedy = [int(x) for x in out[1].split()[1:]]
    return torch.tensor([[float(v) for v in l.split()] for l in out[2:] if l.strip()], dtype=torch.float64), greedy

def rel(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())

prompt = "def fib(n):\n    if n < 2:\n        return"
with torch.no_grad():
    # 1. the parrot export, loaded by transformers unchanged
    tok = AutoTokenizer.from_pretrained(T + "/hf")
    model = AutoModelForCausalLM.from_pretrained(T + "/hf").eval()
    report("hf_transformers_loads", type(model).__name__ == "GPT2LMHeadModel" and model.dtype == torch.float32,
           f"{type(model).__name__} {model.dtype}")
    pids = [int(x) for x in subprocess.run([parrot, "tokenizer", "encode", "-q", "-t", T + "/tok.json"],
                                           input=prompt, capture_output=True, text=True, check=True).stdout.split()]
    ids = tok(prompt).input_ids
    report("hf_transformers_tokenizer_ids", ids == pids, f"{ids} vs parrot {pids}")
    report("hf_transformers_tokenizer_decode", tok.decode(ids) == prompt, repr(tok.decode(ids)))
    report("hf_transformers_eos", tok.eos_token == "<|endoftext|>" and model.config.eos_token_id == tok.eos_token_id,
           f"{tok.eos_token} {tok.eos_token_id} {model.config.eos_token_id}")
    ref = model(torch.tensor([ids])).logits[0]
    got, pgreedy = parrot_logits(T + "/run", ids, 16)
    e = rel(got, ref)
    print(f"# parrot export: {len(ids)} positions x {ref.shape[1]} logits, max |parrot - transformers| / max = {e:.3g}")
    report("hf_transformers_logits", e <= 1e-4, f"relative error {e:.3g}")
    gen = model.generate(torch.tensor([ids]), max_new_tokens=16, do_sample=False, pad_token_id=tok.eos_token_id)
    hgreedy = gen[0, len(ids):].tolist()
    print(f"# greedy: parrot {pgreedy}\n#         transformers {hgreedy}")
    report("hf_transformers_greedy_ids", hgreedy == pgreedy[:len(hgreedy)] and len(hgreedy) > 0, f"{hgreedy} vs {pgreedy}")
    ptext = subprocess.run([parrot, "generate", "-q", "--model", T + "/run", "--prompt", prompt, "--temperature", "0",
                            "--max-new-tokens", "16", "--threads", "2"], capture_output=True, text=True, check=True).stdout
    htext = tok.decode(hgreedy, skip_special_tokens=True)
    # parrot generate ends its streamed completion with a newline of its own
    report("hf_transformers_greedy_text", ptext in (htext, htext + "\n"), f"{ptext!r} vs {htext!r}")

    # 2. safetensors' own reader, both exports
    for d, dt in (("hf", torch.float32), ("hfb", torch.bfloat16)):
        with safe_open(f"{T}/{d}/model.safetensors", framework="pt") as f:
            ok = f.metadata() == {"format": "pt"} and all(f.get_tensor(k).dtype == dt for k in f.keys())
            report(f"hf_safe_open_{d}", ok and len(list(f.keys())) == 4 + 12 * model.config.n_layer, str(f.metadata()))
    mb = AutoModelForCausalLM.from_pretrained(T + "/hfb", dtype=torch.float32).eval()
    e = rel(mb(torch.tensor([ids])).logits[0], ref)
    report("hf_transformers_bf16_close", e < 5e-2, f"relative error {e:.3g}")

    # 3. folders transformers saves itself, imported into parrot
    V = tok.vocab_size if hasattr(tok, "vocab_size") else len(tok)
    cases = [("lm_f32", dict(), torch.float32, GPT2LMHeadModel),
             ("lm_bf16_scaled", dict(scale_attn_by_inverse_layer_idx=True), torch.bfloat16, GPT2LMHeadModel),
             ("base_model", dict(), torch.float32, GPT2Model)]
    for name, extra, dt, cls in cases:
        cfg = GPT2Config(n_layer=3, n_embd=32, n_head=4, n_positions=64, vocab_size=len(tok), **extra)
        m = cls(cfg)
        for p in m.parameters():  # larger than the default init, so the logits are not all near 0
            p.normal_(0, 0.2)
        m = m.to(dt)
        d = f"{T}/saved_{name}"
        m.save_pretrained(d)
        tok.save_pretrained(d)
        files = sorted(os.listdir(d))
        r = subprocess.run([parrot, "import", "hf", d, "-o", d + ".ckpt"], capture_output=True, text=True)
        report(f"hf_import_{name}", r.returncode == 0, r.stderr.strip() + " " + " ".join(files))
        if r.returncode:
            continue
        full = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
        want = full(torch.tensor([ids])).logits[0]
        got, pg = parrot_logits(d + ".ckpt", ids, 8)
        e = rel(got, want)
        hg = full.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False, pad_token_id=tok.eos_token_id,
                           eos_token_id=None)[0, len(ids):].tolist()
        print(f"# {name} ({' '.join(files)}): max |parrot - transformers| / max = {e:.3g}; greedy {pg}")
        report(f"hf_import_{name}_logits", e <= 1e-4, f"relative error {e:.3g}")
        report(f"hf_import_{name}_greedy", hg == pg, f"{hg} vs {pg}")
sys.exit(1 if failed else 0)
EOF
"$PY" "$T/client.py" "$PARROT" "$W" "$T" > "$T/client.out" 2>&1
rc=$?
grep -E "^(ok|FAIL|#)" "$T/client.out"
[ $rc -eq 0 ] || grep -q "^FAIL" "$T/client.out" || fail hf_transformers_client "exit $rc: $(tail -5 "$T/client.out")"
