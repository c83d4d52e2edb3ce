"""Writes a synthetic GitHub-dump JSON Lines file of distinct Python-like documents.

usage: gen_synth_corpus.py OUT.jsonl[.gz] MEGABYTES [--seed N] [--doc-bytes LO HI]

Each document is LO-HI bytes (default 1200-3000) of assignment and call lines over identifiers drawn from a
large random vocabulary, so documents pass CodeParrot's filters, are not exact or near
duplicates of one another, and their number grows linearly with the size asked for.
For memory and scaling tests, where real files would run out or repeat.
"""
import gzip
import json
import random
import sys

import argparse

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("megabytes", type=float)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--doc-bytes", type=int, nargs=2, default=[1200, 3000])
a = ap.parse_args()
out, mb, seed = a.out, a.megabytes, a.seed
lo, hi = a.doc_bytes
rng = random.Random(seed)
letters = "abcdefghijklmnopqrstuvwxyz"
vocab = ["".join(rng.choices(letters, k=rng.randint(4, 10))) for _ in range(200000)]
target = int(mb * 1e6)
opener = gzip.open if out.endswith(".gz") else open
written = 0
i = 0
with opener(out, "wt", encoding="utf-8") as f:
    while written < target:
        words = rng.choices(vocab, k=max(12, hi // 6))
        lines = ["def %s(%s, %s):" % (words[0], words[1], words[2])]
        k = 3
        size = rng.randint(lo, hi)
        n = len(lines[0])
        while n < size and k + 4 < len(words):
            ln = "    %s = %s(%s, %d)" % (words[k], words[k + 1], words[k + 2], rng.randint(0, 999))
            lines.append(ln)
            n += len(ln) + 1
            k += 3
        content = "\n".join(lines) + "\n"
        rec = {"repo_name": "synth/r%d" % (i // 100), "path": "m%d.py" % i, "content": content, "license": "mit"}
        f.write(json.dumps(rec) + "\n")
        written += len(content)
        i += 1
print(i)
