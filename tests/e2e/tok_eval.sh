#!/usr/bin/env bash
# `parrot tokenizer eval` gives the numbers of tools/tok_metrics_ref.py (Hugging Face tokenizers
# and the regex module's GPT-2 pattern, computed now by $PYTHON) on tests/data/cpython/Lib with
# GPT-2's tokenizer and the tiny one side by side; the same numbers whatever the thread count
# and whether the documents come as a folder, as files, as gzip JSON Lines or as a corpus
# folder (JSON Lines with "content" or "text"); the committed builtins list is this Python's; clear errors.
. "$(dirname "$0")/lib.sh"
LIB=$DATA/cpython/Lib
TOKS=(-t "$DATA/tok/gpt2-tokenizer.json" -t "$DATA/tok/tiny-tokenizer.json")
[ -x "$PARROT" ] || { fail tok_eval "$PARROT not built"; exit 0; }
"$PYTHON" -c 'import tokenizers, regex' 2>/dev/null || { fail tok_eval "tokenizers/regex missing in $PYTHON: run make deps"; exit 0; }

"$PYTHON" tools/tok_metrics_ref.py "${TOKS[@]}" "$LIB" > "$T/ref.json" 2> "$T/ref.err" ||
    { fail tok_eval_ref "$(tail -3 "$T/ref.err")"; exit 0; }

same_metrics() { # name, parrot json, reference json
    "$PYTHON" - "$2" "$3" <<'PY' > "$T/cmp.out" 2>&1 && ok "$1" || fail "$1" "$(tail -5 "$T/cmp.out")"
import json, sys
got, want = (json.load(open(p)) for p in sys.argv[1:3])
bad = []
if got["rare_min"] != want["rare_min"] or len(got["tokenizers"]) != len(want["tokenizers"]):
    bad.append("shape")
for g, w in zip(got["tokenizers"], want["tokenizers"]):
    for k, v in w.items():
        x = g.get(k)
        if isinstance(v, float):
            if x is None or abs(x - v) > 1e-12 * max(1.0, abs(v)):
                bad.append("%s %s: %r, reference %r" % (w["tokenizer"], k, x, v))
        elif x != v:
            bad.append("%s %s: %r, reference %r" % (w["tokenizer"], k, x, v))
print("\n".join(bad[:8]) or "same")
sys.exit(1 if bad else 0)
PY
}

"$PARROT" tokenizer eval --json "${TOKS[@]}" "$LIB" > "$T/p.json" 2> "$T/p.err" &&
    same_metrics tok_eval_vs_tokenizers "$T/p.json" "$T/ref.json" || fail tok_eval_vs_tokenizers "$(tail -3 "$T/p.err")"

"$PYTHON" tools/tok_metrics_ref.py --rare 3 "${TOKS[@]}" "$LIB" > "$T/ref3.json" &&
    "$PARROT" tokenizer eval --json --rare 3 --threads 1 "${TOKS[@]}" "$LIB" > "$T/p3.json" &&
    same_metrics tok_eval_rare3_vs_tokenizers "$T/p3.json" "$T/ref3.json" || fail tok_eval_rare3_vs_tokenizers

# Thread counts and input forms: byte-identical JSON.
"$PARROT" tokenizer eval --json --threads 1 "${TOKS[@]}" "$LIB" > "$T/t1.json" &&
    "$PARROT" tokenizer eval --json --threads 3 "${TOKS[@]}" "$LIB" > "$T/t3.json" &&
    cmp -s "$T/t1.json" "$T/p.json" && cmp -s "$T/t3.json" "$T/p.json" && ok tok_eval_threads || fail tok_eval_threads
mapfile -t FILES < <(find "$LIB" -name '*.py' | sort)
"$PYTHON" - "$T/docs.jsonl.gz" "${FILES[@]}" <<'PY'
import gzip, json, sys
with gzip.open(sys.argv[1], "wt") as f:  # half give "text" instead of "content"
    for i, p in enumerate(sys.argv[2:]):
        f.write(json.dumps({"content" if i % 2 else "text": open(p, encoding="utf-8").read(), "path": p}) + "\n")
PY
"$PARROT" tokenizer eval --json "${TOKS[@]}" "${FILES[@]}" > "$T/files.json" &&
    "$PARROT" tokenizer eval --json "${TOKS[@]}" "$T/docs.jsonl.gz" > "$T/jsonl.json" &&
    cmp -s "$T/files.json" "$T/p.json" && cmp -s "$T/jsonl.json" "$T/p.json" && ok tok_eval_inputs || fail tok_eval_inputs
if "$PARROT" corpus build -q -o "$T/corpus" --no-near-dedup --valid-fraction 0 --min-size 0 --line-max off \
    --line-mean off --alpha-frac off --max-assignments off --no-autogen-filter "$LIB" > /dev/null 2>&1; then
    "$PARROT" tokenizer eval --json "${TOKS[@]}" "$T/corpus" > "$T/corpus.json" && cmp -s "$T/corpus.json" "$T/p.json" &&
        ok tok_eval_corpus_dir || fail tok_eval_corpus_dir
else
    fail tok_eval_corpus_dir "corpus build failed"
fi

# The table names both tokenizers and shows the figures of the JSON.
"$PARROT" tokenizer eval "${TOKS[@]}" "$LIB" > "$T/table.txt" &&
    grep -q 'gpt2-tokenizer.json *tiny-tokenizer.json' "$T/table.txt" &&
    grep -qE '^subword fertility \(tokens/word\) +[0-9.]+ +[0-9.]+$' "$T/table.txt" &&
    grep -qE '^keywords single token, " def" +[0-9]+/35 +[0-9]+/35$' "$T/table.txt" &&
    ok tok_eval_table || fail tok_eval_table "$(head -5 "$T/table.txt")"

# The builtins list committed in src/tok/metrics.c is this Python's.
"$PYTHON" - <<'PY' > "$T/bi.out" 2>&1 && ok tok_eval_builtins_list || fail tok_eval_builtins_list "$(tail -3 "$T/bi.out")"
import re, sys
sys.path.insert(0, "tools")
from tok_metrics_ref import builtin_names
src = open("src/tok/metrics.c").read()
body = re.search(r"pt_tokm_builtins\[PT_TOKM_NBUILTINS\] = \{(.*?)\};", src, re.S).group(1)
got = re.findall(r'"([^"]+)"', body)
print(got == builtin_names() or (got, builtin_names()))
sys.exit(0 if got == builtin_names() else 1)
PY

check_fails tok_eval_no_tokenizer 'give at least one --tokenizer' "$PARROT" tokenizer eval "$LIB"
check_fails tok_eval_bad_tokenizer 'nope.json: cannot open' "$PARROT" tokenizer eval -t "$T/nope.json" "$LIB"
check_fails tok_eval_missing_input 'missing.txt: cannot open' "$PARROT" tokenizer eval "${TOKS[@]}" "$T/missing.txt"
check tok_eval_help "$PARROT" tokenizer eval --help
