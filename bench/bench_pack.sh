#!/usr/bin/env bash
# Throughput of `parrot pack` (GPT-2's tokenizer, the ~140 MB of real Python of bench/prepare.sh
# built into a corpus) on 1 and 2 threads, beside `parrot tokenizer encode --jsonl --threads N`
# of the same documents (from `parrot corpus cat --split all`) in the same run: pack should cost
# the encoding plus little (reading the store, writing u16 shards with fsync, tokenizer load
# and save). Also checks that pack's token count equals encode's ids + one end-of-text per
# document. Each figure is the best of 2.
set -euo pipefail
cd "$(dirname "$0")/.."
P=${PARROT:-build/parrot}
PY=${PYTHON:-build/venv/bin/python}
O=bench/out
mkdir -p "$O"
bench/prepare.sh > /dev/null
C="$O/pack_corpus"
[ -f "$C/manifest.json" ] || "$P" corpus build -q -o "$C" build/bench-data/src > /dev/null
[ -f "$O/pack_docs.jsonl" ] || "$P" corpus cat "$C" --split all -o "$O/pack_docs.jsonl"
best() { sort -g | head -1; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'; }
for th in 1 2; do
    tp=$( for i in 1 2; do secs "$P" pack -q --corpus "$C" --tokenizer tests/data/gpt2 -o "$O/pack_data" --force --threads $th; done | best )
    te=$( for i in 1 2; do secs sh -c "'$P' tokenizer encode -q --tokenizer tests/data/gpt2 --jsonl --format bin --threads $th '$O/pack_docs.jsonl' > '$O/pack_ids.bin'"; done | best )
    "$PY" - "$O/pack_data/manifest.json" "$O/pack_ids.bin" "$th" "$tp" "$te" <<'PY'
import json, struct, sys
m = json.load(open(sys.argv[1])); th, tp, te = sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
s = m["splits"]; docs = s["train"]["docs"] + s["valid"]["docs"]; tok = s["train"]["tokens"] + s["valid"]["tokens"]
nbytes = s["train"]["bytes"] + s["valid"]["bytes"]
b = open(sys.argv[2], "rb").read(); o = 16; n = 0; nd = 0
while o < len(b):
    c = struct.unpack_from("<I", b, o)[0]; n += c; nd += 1; o += 4 + 4 * c
assert nd == docs and n + docs == tok, (nd, docs, n, tok)
enc_s = s["train"]["seconds"] + s["valid"]["seconds"]
print("threads %s: pack %.2f s (%.1f MB/s, %.2f M tokens/s; splits %.2f s), tokenizer encode %.2f s (%.1f MB/s): "
      "pack at %.0f%% of encode; "
      "%d docs, %.1f MB, %d tokens, %.3f chars/token (train)" % (th, tp, nbytes / 1e6 / tp, tok / 1e6 / tp, enc_s, te,
      nbytes / 1e6 / te, 100 * te / tp, docs, nbytes / 1e6, tok, s["train"]["chars_per_token"]))
PY
done
rm -rf "$O/pack_data" "$O/pack_ids.bin"
