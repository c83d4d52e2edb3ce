#!/usr/bin/env bash
# The long tier (make test-long): `parrot tokenizer train` against Hugging Face tokenizers'
# BpeTrainer (the CodeParrot call: ByteLevel, add_prefix_space false, 256-symbol alphabet,
# <|endoftext|>, whole files via train_from_iterator) on real Python from Debian packages
# (bench/prepare.sh): the whole ~120 MB at vocabulary 32768 (reached), the standard library's
# part (~11 MB) at 8000 with --min-frequency 3, and a corpus folder from `parrot corpus build`
# against the same documents as JSON Lines. Identical vocabulary and ordered merges each time.
. "$(dirname "$0")/lib.sh"
bench/prepare.sh > /dev/null || { fail long_tok_train_data "bench/prepare.sh failed"; exit 1; }
"$PYTHON" -c 'import tokenizers' 2>/dev/null || { fail long_tok_train "tokenizers missing in $PYTHON"; exit 0; }
SRC=build/bench-data/src

cat >"$T/ref.py" <<'PY'
# ref.py OUT VOCAB MINF INPUT...: Hugging Face's trainer on the inputs as parrot reads them
# (folders: their .py files, symbolic links skipped; .jsonl: "content" per line; else a document).
import json, os, sys
from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
out, vocab, minf, inputs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def docs():
    for f in inputs:
        if os.path.isdir(f):
            for r, ds, fs in os.walk(f):
                for n in sorted(fs):
                    p = os.path.join(r, n)
                    if n.endswith(".py") and not os.path.islink(p):
                        yield open(p, "rb").read().decode("utf-8")
        elif f.endswith(".jsonl"):
            for line in open(f, encoding="utf-8"):
                yield json.loads(line)["content"]
        else:
            yield open(f, "rb").read().decode("utf-8")
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
tr = trainers.BpeTrainer(vocab_size=vocab, min_frequency=minf, special_tokens=["<|endoftext|>"],
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
tok.train_from_iterator(docs(), trainer=tr)
tok.save(out)
PY
cat >"$T/same.py" <<'PY'
# same.py A B MIN_VOCAB: same vocabulary and ordered merges, and at least MIN_VOCAB tokens.
import json, sys
a, b = (json.load(open(p))["model"] for p in sys.argv[1:3])
def merges(m): return [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]
ma, mb = merges(a), merges(b)
if a["vocab"] != b["vocab"] or ma != mb:
    i = next((i for i, (x, y) in enumerate(zip(ma, mb)) if x != y), min(len(ma), len(mb)))
    sys.exit(f"differ: vocab {len(a['vocab'])} vs {len(b['vocab'])}, merges {len(ma)} vs {len(mb)}, first merge "
             f"difference at rank {i}: {ma[i] if i < len(ma) else None} vs {mb[i] if i < len(mb) else None}")
if len(a["vocab"]) < int(sys.argv[3]): sys.exit(f"vocabulary {len(a['vocab'])} < {sys.argv[3]}")
print(f"vocab {len(a['vocab'])}, {len(ma)} merges")
PY

long_same() { # NAME VOCAB MINF INPUT
    local n=$1 v=$2 m=$3 in=$4
    if ! "$PYTHON" "$T/ref.py" "$T/hf_$n.json" "$v" "$m" "$in" >"$T/.out" 2>&1; then fail "$n" "reference: $(tail -3 "$T/.out")"; return; fi
    if ! "$PARROT" tokenizer train -q -o "$T/pt_$n.json" --vocab-size "$v" --min-frequency "$m" "$in" >"$T/.out" 2>&1; then
        fail "$n" "parrot: $(tail -3 "$T/.out")"; return
    fi
    if "$PYTHON" "$T/same.py" "$T/hf_$n.json" "$T/pt_$n.json" "$v" >"$T/.out" 2>&1; then ok "$n: $(cat "$T/.out")"
    else fail "$n" "$(tail -3 "$T/.out")"; fi
}
long_same long_tok_train_32768 32768 0 "$SRC"
long_same long_tok_train_stdlib_min_frequency 8000 3 "$SRC/stdlib"

# a corpus folder (its train split) against the same documents as JSON Lines
if "$PARROT" corpus build -q -o "$T/c" --valid-fraction 0 "$SRC/stdlib" &&
    "$PARROT" corpus cat "$T/c" --split train > "$T/c.jsonl"; then
    "$PYTHON" "$T/ref.py" "$T/hf_c.json" 16000 0 "$T/c.jsonl" &&
        "$PARROT" tokenizer train -q -o "$T/pt_c.json" --vocab-size 16000 "$T/c" &&
        check long_tok_train_corpus_dir "$PYTHON" "$T/same.py" "$T/hf_c.json" "$T/pt_c.json" 16000 ||
        fail long_tok_train_corpus_dir "training failed"
else
    fail long_tok_train_corpus_dir "corpus build failed"
fi
