#!/usr/bin/env bash
# `parrot tokenizer train` gives the vocabulary and ordered merges of Hugging Face tokenizers'
# BpeTrainer (ByteLevel pre-tokenizer, add_prefix_space false, the 256 byte symbols as initial
# alphabet, <|endoftext|> special, whole files as documents via train_from_iterator), computed
# now by $PYTHON, on CPython's Lib (tests/data/cpython/Lib): several vocabulary sizes, with
# --min-frequency, one that runs out of pairs; the same from JSON Lines (gzip, "text" field)
# and with 1 or 2 threads; the file loads in `tokenizers` and encodes as its own does.
. "$(dirname "$0")/lib.sh"
[ -x "$PARROT" ] || { fail tok_train "$PARROT not built"; exit 0; }
"$PYTHON" -c 'import tokenizers' 2>/dev/null || { fail tok_train "tokenizers missing in $PYTHON: run make deps"; exit 0; }
LIB=$DATA/cpython/Lib

cat >"$T/ref.py" <<'PY'
# ref.py OUT VOCAB MINF INPUT...: Hugging Face's trainer on the inputs as parrot reads them
# (folders: their .py files, symbolic links skipped; other files: one document each).
import os, sys
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
# same.py A B: the two tokenizer.json files have the same vocabulary and ordered merges.
import json, sys
a, b = (json.load(open(p))["model"] for p in sys.argv[1:3])
def merges(m): return [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]
ma, mb = merges(a), merges(b)
if a["vocab"] != b["vocab"] or ma != mb:
    i = next((i for i, (x, y) in enumerate(zip(ma, mb)) if x != y), min(len(ma), len(mb)))
    sys.exit(f"differ: vocab {len(a['vocab'])} vs {len(b['vocab'])}, merges {len(ma)} vs {len(mb)}, first merge "
             f"difference at rank {i}: {ma[i] if i < len(ma) else None} vs {mb[i] if i < len(mb) else None}")
print(len(a["vocab"]), len(ma))
PY

same_as_hf() { # NAME VOCAB MINF [parrot options]
    local n=$1 v=$2 m=$3; shift 3
    if ! "$PYTHON" "$T/ref.py" "$T/hf_$n.json" "$v" "$m" "$LIB" >"$T/.out" 2>&1; then fail "$n" "reference: $(tail -3 "$T/.out")"; return; fi
    if ! "$PARROT" tokenizer train -q -o "$T/pt_$n.json" --vocab-size "$v" --min-frequency "$m" "$@" "$LIB" >"$T/.out" 2>&1; then
        fail "$n" "parrot: $(tail -3 "$T/.out")"; return
    fi
    check "$n" "$PYTHON" "$T/same.py" "$T/hf_$n.json" "$T/pt_$n.json"
}
same_as_hf tok_train_vocab1000 1000 0
same_as_hf tok_train_vocab5000 5000 0 --threads 1
same_as_hf tok_train_min_frequency 3000 4
same_as_hf tok_train_runs_out 50000 2 # stops short of the vocabulary: no pair seen twice is left

# JSON Lines (gzip, "text" or "content"), and another thread count: the same file, byte for byte
"$PYTHON" - "$LIB" "$T/lib.jsonl.gz" <<'PY'
import gzip, json, os, sys
with gzip.open(sys.argv[2], "wt", encoding="utf-8") as f:
    for i, (r, ds, fs) in enumerate(os.walk(sys.argv[1])):
        for n in sorted(fs):
            if n.endswith(".py"):
                key = "text" if len(n) % 2 else "content"
                f.write(json.dumps({key: open(os.path.join(r, n), encoding="utf-8").read(), "path": n}) + "\n")
PY
check tok_train_jsonl_input "$PARROT" tokenizer train -q -o "$T/j.json" --vocab-size 5000 --threads 2 "$T/lib.jsonl.gz"
check tok_train_jsonl_same cmp "$T/j.json" "$T/pt_tok_train_vocab5000.json"

# the file loads in tokenizers and encodes a source file as the tokenizer it trained
check tok_train_loads_in_hf "$PYTHON" - "$T/pt_tok_train_vocab5000.json" "$T/hf_tok_train_vocab5000.json" \
    "$(find "$LIB" -name '*.py' | sort | head -1)" <<'PY'
import sys
from tokenizers import Tokenizer
a, b = Tokenizer.from_file(sys.argv[1]), Tokenizer.from_file(sys.argv[2])
text = open(sys.argv[3], encoding="utf-8").read()
assert a.encode(text).ids == b.encode(text).ids and a.decode(a.encode(text).ids) == text
assert a.token_to_id("<|endoftext|>") == 0
PY

# --max-docs, stdout, usage and input errors
check tok_train_max_docs "$PARROT" tokenizer train -q -o - --vocab-size 400 --max-docs 2 "$LIB"
check_fails tok_train_no_output "give the output" "$PARROT" tokenizer train "$LIB"
check_fails tok_train_missing_input "nope.txt" "$PARROT" tokenizer train -o "$T/x.json" "$T/nope.txt"
check_fails tok_train_bad_vocab "bad --vocab-size" "$PARROT" tokenizer train -o "$T/x.json" --vocab-size 0 "$LIB"
check tok_train_help "$PARROT" tokenizer train --help
[ -e "$T/x.json" ] && fail tok_train_no_partial_output "output written on failure" || ok tok_train_no_partial_output
# -o FOLDER: tokenizer.json plus vocab.json + merges.txt, which encode the same on their own
mkdir -p "$T/folder" "$T/pair"
if "$PARROT" tokenizer train -q -o "$T/folder" --vocab-size 1200 "$DATA/cpython/Lib" \
    && [ -s "$T/folder/tokenizer.json" ] && [ -s "$T/folder/vocab.json" ] && [ "$(head -1 "$T/folder/merges.txt")" = "#version: 0.2" ] \
    && [ "$(tail -c 1 "$T/folder/merges.txt" | od -An -c | tr -d ' ')" = '\n' ]; then
    cp "$T/folder/vocab.json" "$T/folder/merges.txt" "$T/pair/"
    if cmp -s <("$PARROT" tokenizer encode --tokenizer "$T/folder/tokenizer.json" "$DATA/cpython/Lib/heapq.py") \
              <("$PARROT" tokenizer encode --tokenizer "$T/pair" "$DATA/cpython/Lib/heapq.py"); then
        ok train_into_folder_writes_vocab_and_merges
    else
        fail train_into_folder_writes_vocab_and_merges "vocab.json + merges.txt encode differently"
    fi
else
    fail train_into_folder_writes_vocab_and_merges "$(ls "$T/folder")"
fi
