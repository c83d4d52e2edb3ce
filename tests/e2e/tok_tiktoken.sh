#!/usr/bin/env bash
# The byte-level BPE encoder (src/tok) gives the ids of tiktoken's gpt2 encoding and of
# Hugging Face tokenizers, computed now by $PYTHON, on inputs the committed fixtures do not
# have: 3000 random strings (valid and invalid UTF-8), a sample of the running Python's
# standard library, a tokenizer.json that `tokenizers` writes now from tests/data/gpt2, and
# a tokenizer `tokenizers` trains now (add_prefix_space false, merges as pairs). The encoder
# runs as `test_bpe --encode` (tests/unit/test_bpe.c) until `parrot tokenizer` exists.
. "$(dirname "$0")/lib.sh"
BIN=${BUILD:-build}/tests/test_bpe
[ -x "$BIN" ] || { fail tok_tiktoken "$BIN not built"; exit 0; }
"$PYTHON" -c 'import tiktoken, tokenizers, regex' 2>/dev/null ||
    { fail tok_tiktoken "tiktoken/tokenizers missing in $PYTHON: run make deps"; exit 0; }

"$PYTHON" - "$T" "$DATA" <<'PY' || { fail tok_inputs "could not write the inputs"; exit 0; }
import os, random, sys, sysconfig, glob, json
sys.path.insert(0, "tools")
from make_tok_fixture import tiktoken_gpt2, hf_gpt2, pieces_of
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
t, data = sys.argv[1], sys.argv[2]
enc = tiktoken_gpt2(os.path.join(data, "gpt2"))
rnd = random.Random(7)
atoms = ["a", "Z", "q", "é", "ß", "1", "42", "²", "½", " ", "  ", "    ", "\t", "\n", "\r\n", "'", "s", "t", "re", "ve",
         "ll", "d", "m", "!", "(", ")", ":", "=", "==", "->", "#", "_", "😀", "中", "文", "\u00a0", "\u0301", "\u3000",
         "٣", "ǅ", "\x1c", "\x00", "def", " self", "return", "Ελ"]
inputs = []
for i in range(3000):
    s = "".join(rnd.choice(atoms) for _ in range(rnd.randint(1, 60))).encode()
    if i % 5 == 0:  # sprinkle bytes that are not UTF-8
        s = bytearray(s)
        for _ in range(rnd.randint(1, 3)):
            s.insert(rnd.randint(0, len(s)), rnd.choice([0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xF8, 0xFF]))
        s = bytes(s)
    inputs.append(s)
lib = sysconfig.get_paths()["stdlib"]
files = sorted(glob.glob(os.path.join(lib, "*.py")))[:120]
for f in files:
    b = open(f, "rb").read()
    try:
        b.decode("utf-8")
        inputs.append(b)
    except UnicodeDecodeError:
        pass
os.makedirs(os.path.join(t, "in"))
names, expect = [], []
for i, b in enumerate(inputs):
    p = os.path.join(t, "in", "%05d" % i)
    open(p, "wb").write(b)
    names.append(p)
    try:
        ids = enc.encode_ordinary(b.decode("utf-8"))
    except UnicodeDecodeError:  # tiktoken takes str: BPE of the regex's pieces (surrogateescape)
        ids = [x for piece in pieces_of(b) for x in enc._encode_single_piece(piece)]
    expect.append(ids)
open(os.path.join(t, "list.txt"), "w").write("\n".join(names) + "\n")
json.dump(expect, open(os.path.join(t, "gpt2.json"), "w"))
# tokenizer.json written now by tokenizers from the GPT-2 files
hf = hf_gpt2(os.path.join(data, "gpt2"))
hf.save(os.path.join(t, "gpt2-now.json"))
# a tokenizer trained now: ids of valid UTF-8 inputs from tokenizers itself
tk = Tokenizer(models.BPE())
tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tk.train(files[:40], trainers.BpeTrainer(vocab_size=2000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                          special_tokens=["<|endoftext|>"], show_progress=False))
tk.save(os.path.join(t, "trained.json"))
tk.encode_special_tokens = True
valid = [i for i, b in enumerate(inputs) if b.decode("utf-8", "replace").encode() == b]
open(os.path.join(t, "valid.txt"), "w").write("\n".join(names[i] for i in valid) + "\n")
json.dump([tk.encode(inputs[i].decode(), add_special_tokens=False).ids for i in valid],
          open(os.path.join(t, "trained-ids.json"), "w"))
PY

compare() { # name, tokenizer, list, expected json
    if ! "$BIN" --encode "$2" "$T/$1.bin" -l "$3" > "$T/$1.out" 2>&1; then fail "$1" "$(tail -3 "$T/$1.out")"; return; fi
    "$PYTHON" - "$T/$1.bin" "$4" "$3" <<'PY' > "$T/$1.cmp" 2>&1 && ok "$1" || fail "$1" "$(tail -5 "$T/$1.cmp")"
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
want = json.load(open(sys.argv[2]))
names = open(sys.argv[3]).read().split()
pos, bad = 0, 0
for name, w in zip(names, want):
    (n,) = struct.unpack_from("<I", raw, pos)
    got = list(struct.unpack_from("<%dI" % n, raw, pos + 4))
    pos += 4 + 4 * n
    if got != w:
        bad += 1
        if bad <= 3:
            print("%s: %r\n  got  %s\n  want %s" % (name, open(name, "rb").read()[:80], got[:20], w[:20]))
print("%d of %d inputs differ" % (bad, len(want)))
sys.exit(1 if bad or pos != len(raw) else 0)
PY
}
compare tok_gpt2_files_vs_tiktoken "$DATA/gpt2" "$T/list.txt" "$T/gpt2.json"
compare tok_gpt2_json_now_vs_tiktoken "$T/gpt2-now.json" "$T/list.txt" "$T/gpt2.json"
compare tok_trained_now_vs_tokenizers "$T/trained.json" "$T/valid.txt" "$T/trained-ids.json"
