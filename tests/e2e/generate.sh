#!/usr/bin/env bash
# `parrot generate` on a model trained here for a few steps: a streamed completion, greedy
# determinism, seeds, N samples, --prompts JSON Lines (ids carried, finish reasons, logprobs), the
# prompt from stdin, stop strings, the left cut of a long prompt, and bad input.
. "$(dirname "$0")/lib.sh"
[ -x "$PARROT" ] || { fail generate "$PARROT not built"; exit 0; }

"$PARROT" corpus build -q -o "$T/c" --valid-fraction 0.2 "$DATA/cpython/Lib" > /dev/null 2> "$T/err" &&
"$PARROT" tokenizer train -q -o "$T/tok.json" --vocab-size 700 "$T/c" 2> "$T/err" &&
"$PARROT" pack -q --corpus "$T/c" --tokenizer "$T/tok.json" -o "$T/d" 2> "$T/err" &&
"$PARROT" train -q --data "$T/d" --model tiny --n-layer 2 --n-embd 48 --n-head 2 --n-positions 64 -b 4 \
    --max-steps 30 --warmup-steps 3 --lr 3e-3 --threads 2 --out "$T/run" 2> "$T/err" ||
    { fail generate_setup "$(tail -3 "$T/err")"; exit 0; }
G=("$PARROT" generate --model "$T/run" --threads 2)

check generate_stream sh -c "${G[*]} --prompt 'def ' --max-new-tokens 20 > $T/a.txt && test -s $T/a.txt"
check generate_greedy_same sh -c "${G[*]} -p 'import ' -t 0 --max-new-tokens 30 > $T/g1 && ${G[*]} -p 'import ' -t 0 --max-new-tokens 30 > $T/g2 && cmp $T/g1 $T/g2"
check generate_seed_same sh -c "${G[*]} -p 'x = ' -t 1 --seed 4 --max-new-tokens 30 > $T/s1 && ${G[*]} -p 'x = ' -t 1 --seed 4 --max-new-tokens 30 > $T/s2 && cmp $T/s1 $T/s2"
"${G[@]}" -p 'x = ' -t 1 --seed 5 --max-new-tokens 30 > "$T/s3" 2> /dev/null
cmp -s "$T/s1" "$T/s3" && fail generate_seed_differs "seeds 4 and 5 gave the same text" || ok generate_seed_differs
check generate_samples sh -c "[ \$(${G[*]} -p 'class ' -n 3 --max-new-tokens 8 | grep -c '^--- sample') = 3 ]"
check generate_stdin sh -c "printf 'def f(x):\n    return' | ${G[*]} - --max-new-tokens 5 -t 0 > $T/in.txt"

# --prompts: two prompts x 2 samples, ids carried, logprobs, stop strings honoured
printf '%s\n' '{"task_id": "A/0", "prompt": "def add(a, b):\n"}' '{"id": "b", "prompt": "import os\n"}' > "$T/p.jsonl"
check generate_prompts "${G[@]}" --prompts "$T/p.jsonl" -n 2 --max-new-tokens 16 --stop '\n\n' --stop 'return' \
    --logprobs -o "$T/out.jsonl"
check generate_prompts_out "$PYTHON" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 4, rows
assert [r.get("task_id") for r in rows[:2]] == ["A/0", "A/0"] and rows[2]["id"] == "b"
assert [(r["prompt_index"], r["sample"]) for r in rows] == [(0, 0), (0, 1), (1, 0), (1, 1)]
for r in rows:
    assert r["finish"] in ("stop", "eot", "length") and 1 <= r["tokens"] <= 16
    assert "\n\n" not in r["completion"] and "return" not in r["completion"]
    assert len(r["logprobs"]) == r["tokens"] and all(lp <= 0 for lp in r["logprobs"])
' "$T/out.jsonl"

# a prompt longer than the room left: cut from the left, with a warning
python3 -c 'print("x = 1\n" * 200, end="")' > "$T/long.txt"
check generate_long_prompt sh -c "${G[*]} -f $T/long.txt --max-new-tokens 10 2> $T/long.err > /dev/null && grep -q 'cut from the left' $T/long.err"

check_fails generate_too_many_new "max-new-tokens 64: must be 1..63" "${G[@]}" -p 'a' --max-new-tokens 64
check_fails generate_empty_temperature "bad --temperature ''" "${G[@]}" -p 'a' --temperature ''
check_fails generate_nan_temperature "bad --temperature 'nan'" "${G[@]}" -p 'a' --temperature nan
check_fails eval_bad_top_p "bad --top-p '2'" "$PARROT" eval humaneval --model "$T/run" --top-p 2
check_fails generate_no_model "no such checkpoint" "$PARROT" generate --model "$T/none" -p 'a'
check_fails generate_two_prompts "exactly one of" "${G[@]}" -p 'a' --prompts "$T/p.jsonl"
printf '{"text": "no prompt"}\n' > "$T/bad.jsonl"
check_fails generate_bad_prompts "bad.jsonl:1: no \"prompt\"" "${G[@]}" --prompts "$T/bad.jsonl"

# parrot eval humaneval --model: CodeParrot's protocol on a few problems; samples written as generated,
# cut at the stop strings; a resumed run writes what an uninterrupted one does
E=("$PARROT" eval humaneval --model "$T/run" -n 2 --max-new-tokens 24 --k 1,2 -q)
check he_model "${E[@]}" --tasks 0-2 -o "$T/he.jsonl" --json
check he_model_files "$PYTHON" -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1] + "/he_samples.jsonl")]
r = [json.loads(l) for l in open(sys.argv[1] + "/he.jsonl")]
assert [x["task_id"] for x in s] == ["HumanEval/%d" % i for i in (0, 0, 1, 1, 2, 2)], s
assert len(r) == 6 and all(set(x) >= {"task_id", "completion", "result", "passed"} for x in r)
for x in s:
    for stop in ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif"):
        assert stop not in x["completion"], x
' "$T"
# the record beside the evaluated checkpoint, and the model card of the export that reports it
check he_model_record "$PYTHON" -c '
import glob, json, sys
[rec] = glob.glob(sys.argv[1] + "/run/ckpt-*.humaneval.json")
r = json.load(open(rec))
assert r["checkpoint"].endswith(".ckpt") and r["generation"]["n_samples"] == 2, r
assert r["generation"]["max_new_tokens"] == 24 and r["summary"]["problems"] == 3 and r["summary"]["samples"] == 6
assert set(r["summary"]["pass@k"]) == {"pass@1", "pass@2"}
' "$T"
check he_model_card sh -c "'$PARROT' export hf --model '$T/run' -o '$T/hf' -q && grep -q '3 problems of 3 selected, 2 samples each' '$T/hf/README.md' && grep -q '| pass@2 |' '$T/hf/README.md'"
check he_model_resume sh -c "${E[*]} --tasks 0-1 --samples-out $T/part.jsonl > /dev/null && ${E[*]} --tasks 0-2 --samples-out $T/part.jsonl --resume > /dev/null && cmp $T/part.jsonl $T/he_samples.jsonl"
