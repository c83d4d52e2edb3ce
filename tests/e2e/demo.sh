#!/usr/bin/env bash
# The main job: `parrot demo` runs the pipeline on a Python standard library and shows the
# report and some kept documents; run again it replaces its earlier output.
. "$(dirname "$0")/lib.sh"
"$PARROT" demo --out "$T/d" --stdlib "$DATA/cpython/Lib" --train-steps 2 > "$T/out.txt" 2> "$T/err.txt"
[ $? -eq 0 ] && ok demo_runs || fail demo_runs "$(tail -5 "$T/err.txt")"
grep -q "6 split: train" "$T/out.txt" && grep -q "^--- Lib/" "$T/out.txt" && ok demo_shows_report_and_documents \
    || fail demo_shows_report_and_documents "$(head -30 "$T/out.txt")"
# the tokenizer stage: a tokenizer.json Hugging Face loads, and the code split beside GPT-2's
grep -q "== 3. parrot tokenizer train" "$T/out.txt" && grep -qE "^  parrot +[0-9]+ tokens" "$T/out.txt" \
    && grep -qE "^  gpt2 +[0-9]+ tokens" "$T/out.txt" && ok demo_trains_tokenizer \
    || fail demo_trains_tokenizer "$(tail -8 "$T/out.txt")"
"$PYTHON" -c 'import sys; from tokenizers import Tokenizer; t = Tokenizer.from_file(sys.argv[1]); assert t.get_vocab_size() > 256' \
    "$T/d/tokenizer.json" && ok demo_tokenizer_loads_in_hf || fail demo_tokenizer_loads_in_hf
# the pack stage: token shards that parrot pack --inspect reads
grep -qE "^  train +[0-9]+ documents -> +[0-9]+ tokens" "$T/out.txt" && "$PARROT" pack --inspect "$T/d/data" > /dev/null \
    && ok demo_packs || fail demo_packs "$(tail -5 "$T/out.txt")"
# the training stage: a tiny GPT-2 trained for the steps asked, its run folder with a checkpoint
grep -q "== 6. parrot train" "$T/out.txt" && grep -qE "step 2/2 \| loss [0-9.]+" "$T/out.txt" \
    && "$PARROT" train --out "$T/d/run" --resume --dry-run > /dev/null 2>&1 && ok demo_trains || fail demo_trains "$(tail -5 "$T/out.txt")"
# completions and the HumanEval stage, sandboxed
grep -q "== 7. parrot generate" "$T/out.txt" && grep -qE "^  10 samples of 5 problems: [0-9]+ passed" "$T/out.txt" \
    && [ "$(wc -l < "$T/d/humaneval_samples.jsonl")" = 10 ] && ok demo_generates_and_evaluates \
    || fail demo_generates_and_evaluates "$(tail -12 "$T/out.txt")"
check demo_reruns "$PARROT" demo --out "$T/d" --stdlib "$DATA/cpython/Lib" --train-steps 1
check corpus_is_usable "$PARROT" corpus stats "$T/d/corpus"
# on the machine's own standard library, as `make demo` does, when there is one
if ls -d /usr/lib/python3.*/os.py >/dev/null 2>&1; then
    check demo_machine_stdlib "$PARROT" demo --out "$T/m" -q --train-steps 0  # the training stages ran above
fi
check_fails demo_bad_stdlib "cannot read input" "$PARROT" demo --out "$T/x" --stdlib "$T/none"
