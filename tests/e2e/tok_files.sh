#!/usr/bin/env bash
# Tokenizer files written by parrot load in Hugging Face tokenizers and encode identically, and
# ones written by Hugging Face load in parrot and encode identically: GPT-2's tokenizer.json,
# the tiny one (add_prefix_space, an added <pad>) and one `tokenizers` trains now are saved by
# parrot (test_tokwrite --save) as tokenizer.json and as vocab.json + merges.txt; `tokenizers`
# loads each and encodes CPython files and random strings; `parrot tokenizer encode` must give
# the same ids from the same files.
. "$(dirname "$0")/lib.sh"
BIN=${BUILD:-build}/tests/test_tokwrite
[ -x "$BIN" ] || { fail tok_files "$BIN not built"; exit 0; }
"$PYTHON" -c 'import tokenizers' 2>/dev/null || { fail tok_files "tokenizers missing in $PYTHON: run make deps"; exit 0; }

"$PYTHON" - "$T" "$DATA" <<'PY' || { fail tok_files_inputs "could not write the inputs"; exit 0; }
import glob, json, os, random, sys
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
t, data = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(os.path.join(data, "cpython", "Lib", "**", "*.py"), recursive=True))
tk = Tokenizer(models.BPE())
tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tk.train(files, trainers.BpeTrainer(vocab_size=1200, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                    special_tokens=["<|endoftext|>"], show_progress=False))
tk.save(os.path.join(t, "hf-trained.json"))
rnd = random.Random(3)
atoms = ["a", "Z", "é", "ß", "1", "42", "½", " ", "  ", "\t", "\n", "\r\n", "'s", "'ll", "!", "==", "😀", "中文",
         "\u00a0", "\u0301", "\u3000", "٣", "def", " self", "return", "Ελ", "<|endoftext|>"]
texts = [open(f, encoding="utf-8").read() for f in files]
texts += ["".join(rnd.choice(atoms) for _ in range(rnd.randint(1, 40))) for _ in range(500)]
with open(os.path.join(t, "in.jsonl"), "w") as f:
    for s in texts:
        f.write(json.dumps({"content": s}) + "\n")
PY

for src in "$DATA/tok/gpt2-tokenizer.json" "$DATA/tok/tiny-tokenizer.json" "$T/hf-trained.json"; do
    n=$(basename "$src" .json)
    mkdir -p "$T/$n-files"
    check "tok_save_hf_$n" "$BIN" --save hf "$src" "$T/$n-parrot.json"
    check "tok_save_gpt2_files_$n" "$BIN" --save gpt2 "$src" "$T/$n-files"
done

# tokenizers' ids of every input with each tokenizer: the source (written by Hugging Face) and
# the copies parrot wrote
"$PYTHON" - "$T" <<'PY' > "$T/hf.log" 2>&1 || { fail tok_files_hf_load "$(tail -5 "$T/hf.log")"; exit 0; }
import json, os, sys
from tokenizers import Tokenizer, models, pre_tokenizers
t = sys.argv[1]
texts = [json.loads(l)["content"] for l in open(os.path.join(t, "in.jsonl"))]
src = {"gpt2-tokenizer": os.path.join(os.environ.get("PT_TESTDATA", "tests/data"), "tok/gpt2-tokenizer.json"),
       "tiny-tokenizer": os.path.join(os.environ.get("PT_TESTDATA", "tests/data"), "tok/tiny-tokenizer.json"),
       "hf-trained": os.path.join(t, "hf-trained.json")}
for n, path in src.items():
    for kind in ("src", "parrot", "files"):
        if kind == "src":
            tk = Tokenizer.from_file(path)
        elif kind == "parrot":
            tk = Tokenizer.from_file(os.path.join(t, n + "-parrot.json"))
        else:  # vocab.json + merges.txt hold no added tokens and no options: GPT-2's defaults on
            d = os.path.join(t, n + "-files")  # both sides, and inputs without <|endoftext|>
            tk = Tokenizer(models.BPE.from_file(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt")))
            tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        with open(os.path.join(t, "%s-%s.want" % (n, kind)), "w") as f:
            for s in texts:
                if kind == "files":
                    s = s.replace("<|endoftext|>", "")
                f.write(json.dumps({"ids": tk.encode(s, add_special_tokens=False).ids}, separators=(",", ":")) + "\n")
PY
ok tok_files_hf_load
sed 's/<|endoftext|>//g' "$T/in.jsonl" > "$T/in-plain.jsonl"

same() { # name, tokenizer, input, expected
    if ! $PARROT tokenizer encode -q --allow-special --jsonl -t "$2" "$3" -o "$T/$1.got" > "$T/$1.err" 2>&1; then
        fail "$1" "$(tail -3 "$T/$1.err")"
    elif cmp -s "$T/$1.got" "$4"; then ok "$1"
    else fail "$1" "$(diff "$T/$1.got" "$4" | head -4 | cut -c1-200)"; fi
}
for n in gpt2-tokenizer tiny-tokenizer hf-trained; do
    src="$T/hf-trained.json"
    [ "$n" = hf-trained ] || src="$DATA/tok/$n.json"
    # written by Hugging Face -> parrot encodes as tokenizers does
    same "tok_hf_written_in_parrot_$n" "$src" "$T/in.jsonl" "$T/$n-src.want"
    # written by parrot -> tokenizers encodes as parrot does
    same "tok_parrot_written_in_hf_$n" "$T/$n-parrot.json" "$T/in.jsonl" "$T/$n-parrot.want"
    cmp -s "$T/$n-src.want" "$T/$n-parrot.want" && ok "tok_hf_same_ids_both_files_$n" ||
        fail "tok_hf_same_ids_both_files_$n" "tokenizers encodes differently from parrot's copy"
    same "tok_parrot_written_gpt2_files_in_hf_$n" "$T/$n-files" "$T/in-plain.jsonl" "$T/$n-files.want"
done
