#!/usr/bin/env bash
# `parrot tokenizer encode|decode`: ids equal tiktoken's gpt2 (encode_ordinary, and encode with
# allowed_special="all" under --allow-special) on the CPython files as one text and as JSON
# Lines; 1 and 2 threads give the same bytes; text, binary and JSON Lines ids decode back to
# the exact input, invalid UTF-8 included; bad ids and bad usage fail with clear messages.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -c 'import tiktoken' 2>/dev/null || { fail tok_encode "tiktoken missing in $PYTHON: run make deps"; exit 0; }
[ -x "$PARROT" ] || { fail tok_encode "$PARROT not built"; exit 0; }
G="$DATA/gpt2"

"$PYTHON" - "$T" "$DATA" <<'PY' || { fail tok_encode_inputs "could not write the inputs"; exit 0; }
import glob, json, os, random, sys
sys.path.insert(0, "tools")
from make_tok_fixture import tiktoken_gpt2
t, data = sys.argv[1], sys.argv[2]
enc = tiktoken_gpt2(os.path.join(data, "gpt2"))
files = sorted(glob.glob(os.path.join(data, "cpython", "Lib", "**", "*.py"), recursive=True))
texts = [open(f, encoding="utf-8").read() for f in files]
texts.append("x = 'héllo' <|endoftext|> 😀\u00a0\r\n  y's\n<|endoftext|>")
whole = "".join(texts)
open(os.path.join(t, "all.txt"), "w", encoding="utf-8", newline="").write(whole)
open(os.path.join(t, "all.ids"), "w").write("".join("%d\n" % i for i in enc.encode_ordinary(whole)))
open(os.path.join(t, "all-special.ids"), "w").write(
    "".join("%d\n" % i for i in enc.encode(whole, allowed_special="all")))
with open(os.path.join(t, "in.jsonl"), "w") as f, open(os.path.join(t, "want.jsonl"), "w") as w:
    for i, s in enumerate(texts):
        f.write(json.dumps({"content" if i % 2 else "text": s}) + "\n")
        w.write(json.dumps({"ids": enc.encode_ordinary(s)}, separators=(",", ":")) + "\n")
rnd = random.Random(5)
open(os.path.join(t, "random.bin"), "wb").write(bytes(rnd.randrange(256) for _ in range(200000)))
PY

check tok_encode_text_vs_tiktoken sh -c "$PARROT tokenizer encode -q -t $G $T/all.txt --threads 1 > $T/got1.ids && cmp $T/got1.ids $T/all.ids"
check tok_encode_stdin_2_threads sh -c "$PARROT tokenizer encode -q -t $G --threads 2 - < $T/all.txt > $T/got2.ids && cmp $T/got2.ids $T/all.ids"
check tok_encode_allow_special_vs_tiktoken sh -c "$PARROT tokenizer encode -q -t $G --allow-special $T/all.txt > $T/gots.ids && cmp $T/gots.ids $T/all-special.ids"
check tok_encode_jsonl_vs_tiktoken sh -c "$PARROT tokenizer encode -q -t $G --jsonl --threads 2 $T/in.jsonl -o $T/got.jsonl && cmp $T/got.jsonl $T/want.jsonl"
check tok_decode_text sh -c "$PARROT tokenizer decode -q -t $G $T/all.ids -o $T/back.txt && cmp $T/back.txt $T/all.txt"
check tok_decode_special sh -c "$PARROT tokenizer decode -q -t $G $T/all-special.ids | cmp - $T/all.txt"
check tok_bin_roundtrip sh -c "$PARROT tokenizer encode -q -t $G --format bin $T/random.bin -o $T/r.ids && $PARROT tokenizer decode -q -t $G $T/r.ids | cmp - $T/random.bin"
check tok_bin_header sh -c "head -c 8 $T/r.ids | grep -q PARROTID"
check tok_jsonl_bin_roundtrip sh -c "$PARROT tokenizer encode -q -t $G --jsonl --format bin $T/in.jsonl -o $T/j.ids && $PARROT tokenizer decode -q -t $G --jsonl $T/j.ids -o $T/j.txt && \
  $PYTHON -c 'import json,sys; a=[json.loads(l) for l in open(sys.argv[1])]; b=[json.loads(l)[\"text\"] for l in open(sys.argv[2])]; sys.exit([d.get(\"content\", d.get(\"text\")) for d in a] != b)' $T/in.jsonl $T/j.txt"
check tok_jsonl_ids_decode sh -c "$PARROT tokenizer decode -q -t $G --jsonl $T/want.jsonl -o $T/w.txt && cmp $T/w.txt $T/j.txt"
check tok_text_roundtrip_invalid_utf8 sh -c "$PARROT tokenizer encode -q -t $G $T/random.bin | $PARROT tokenizer decode -q -t $G | cmp - $T/random.bin"
echo "31373 50257" > "$T/bad.ids"
check_fails tok_decode_bad_id "token id 50257 at position 1 is not in the vocabulary" $PARROT tokenizer decode -t $G "$T/bad.ids"
echo "31373 x12" > "$T/bad2.ids"
check_fails tok_decode_not_an_id "bad2.ids:1: 'x12' is not a token id" $PARROT tokenizer decode -t $G "$T/bad2.ids"
echo '{"ids":[1,-2]}' > "$T/bad.jsonl"
check_fails tok_decode_jsonl_bad "bad.jsonl:1: ids\[1\] is not a token id" $PARROT tokenizer decode -t $G --jsonl "$T/bad.jsonl"
printf '{"content":"a"}\n{"other":1}\n' > "$T/bad-in.jsonl"
check_fails tok_encode_jsonl_missing_field 'bad-in.jsonl:2: no "content" or "text"' $PARROT tokenizer encode -t $G --jsonl "$T/bad-in.jsonl"
check_fails tok_encode_needs_tokenizer "--tokenizer T is required" $PARROT tokenizer encode "$T/all.txt"
check_fails tok_encode_bad_format "bad --format" $PARROT tokenizer encode -t $G --format hex "$T/all.txt"
check_fails tok_encode_missing_tokenizer "nope" $PARROT tokenizer encode -t "$T/nope" "$T/all.txt"
check tok_encode_help sh -c "$PARROT tokenizer encode --help | grep -q allow-special"
check tok_decode_help sh -c "$PARROT tokenizer decode --help | grep -q jsonl"
# nothing left behind by a failed run with -o
$PARROT tokenizer decode -q -t $G "$T/bad.ids" -o "$T/out.txt" 2>/dev/null
[ ! -e "$T/out.txt" ] && ! ls "$T"/out.txt.tmp-* >/dev/null 2>&1 && ok tok_decode_failed_leaves_nothing || fail tok_decode_failed_leaves_nothing
# gzip JSON Lines stream through the corpus reader
gzip -c "$T/in.jsonl" > "$T/in.jsonl.gz"
check tok_encode_jsonl_gzip sh -c "$PARROT tokenizer encode -q -t $G --jsonl $T/in.jsonl.gz | cmp - $T/want.jsonl"
