#!/usr/bin/env bash
# `parrot corpus build --decontaminate FILE`: a document holding a benchmark item's prompt (re-indented,
# re-wrapped) or its solution is dropped and counted; one sharing only a short generic line is kept;
# the manifest records the file; a bad benchmark file is refused with its name.
. "$(dirname "$0")/lib.sh"
[ -x "$PARROT" ] || { fail corpus_decontam "$PARROT not built"; exit 0; }

"$PYTHON" - "$T" <<'PY'
import json, sys
t = sys.argv[1]
prompt = 'def below_threshold(values: list, limit: int):\n    """Return True if every number in the list values is\n    strictly below the threshold limit, and False as soon as one of them reaches it or goes above.\n    >>> below_threshold([1, 2, 4, 10], 100)\n    True\n    """\n'
solution = '    for item in values:\n        if item >= limit:\n            return False\n    return True\n'
with open(t + "/bench.jsonl", "w") as f:
    f.write(json.dumps({"task_id": "X/0", "prompt": prompt, "canonical_solution": solution}) + "\n")
    f.write(json.dumps({"task_id": "X/1", "prompt": "def f(a, b):\n", "canonical_solution": "    return a + b\n"}) + "\n")
filler = "".join("x%d = compute(%d, mode='fast')\n" % (i, i) for i in range(40))
docs = [
    # the prompt, re-indented with tabs and re-wrapped: still the same words
    filler + prompt.replace("    ", "\t").replace(" strictly", "\nstrictly") + solution,
    # only the solution (short but >= 8 words): contaminated too
    filler.replace("fast", "slow") + "def check(values, limit):\n" + solution,
    # a generic line shared with the second item (too short to count) and nothing else
    filler.replace("fast", "quick") + "def add(a, b):\n    return a + b\n",
]
with open(t + "/docs.jsonl", "w") as f:
    for i, d in enumerate(docs):
        f.write(json.dumps({"repo_name": "r%d" % i, "path": "m%d.py" % i, "content": d}) + "\n")
PY
check decontam_build "$PARROT" corpus build -q --no-near-dedup --valid-fraction 0 --decontaminate "$T/bench.jsonl" \
    -o "$T/c" "$T/docs.jsonl"
check decontam_counts "$PYTHON" -c '
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
d = m["params"]["filters"]["decontaminate"]
assert d["path"].endswith("bench.jsonl") and d["items"] == 2 and d["ngram_words"] == 20, d
step = [s for s in m["steps"] if s["step"] == "decontamination"][0]
assert step["dropped"]["contaminated"]["docs"] == 2 and step["out"]["docs"] == 1, step
' "$T/c"
check decontam_kept_one sh -c "[ \$($PARROT corpus cat $T/c --split all | wc -l) = 1 ] && $PARROT corpus cat $T/c --split all | grep -q quick"
check decontam_stats sh -c "$PARROT corpus stats $T/c | grep -q contaminated"
check decontam_without sh -c "$PARROT corpus build -q --no-near-dedup --valid-fraction 0 -o $T/c2 $T/docs.jsonl && [ \$($PARROT corpus cat $T/c2 --split all | wc -l) = 3 ]"
printf '{"prompt": 3}\n' > "$T/bad.jsonl"
check_fails decontam_bad_file "bad.jsonl: no benchmark text" "$PARROT" corpus build -q -o "$T/c3" --decontaminate "$T/bad.jsonl" "$T/docs.jsonl"
printf 'not json\n' > "$T/bad2.jsonl"
check_fails decontam_bad_json "bad2.jsonl:1" "$PARROT" corpus build -q -o "$T/c4" --decontaminate "$T/bad2.jsonl" "$T/docs.jsonl"
