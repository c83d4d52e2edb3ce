"""Plants duplicates among real Python files, for the dedup end-to-end tests.

usage: plant.py SRC OUT

Copies every .py file of SRC into OUT/orig/ (same relative paths), then for each file
of at least 40 lines writes, under directories that sort after orig/:
  OUT/x_exact/<rel>  the same content with whitespace changed (indentation of blank
                     lines, trailing spaces, CRLF line ends, tabs between tokens),
                     which the exact dedup's whitespace-free hash must see as identical;
  OUT/y_near/<rel>   a near duplicate: two identifiers renamed and three lines changed,
                     which keeps the token-set Jaccard similarity well above 0.85.
Prints one line per planted file: "<kind> <planted rel path> <original rel path>".
The changes are deterministic (seeded by the path).
"""
import os
import random
import re
import shutil
import sys

src, out = sys.argv[1], sys.argv[2]
ident = re.compile(r"\b[A-Za-z_][A-Za-z_0-9]{5,}\b")
for root, dirs, files in os.walk(src):
    dirs.sort()
    for name in sorted(files):
        if not name.endswith(".py"):
            continue
        path = os.path.join(root, name)
        rel = os.path.relpath(path, src)
        text = open(path, encoding="utf-8").read()
        dst = os.path.join(out, "orig", rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(path, dst)
        lines = text.split("\n")
        if len(lines) < 40 or len(text) < 2048:
            continue
        rng = random.Random(rel)
        # exact duplicate, whitespace changed
        ws = []
        for ln in lines:
            if not ln.strip():
                ln = " " * rng.randint(0, 8)
            elif rng.random() < 0.3:
                ln = ln + " " * rng.randint(1, 3)
            ws.append(ln.replace(" = ", "\t=  ", 1))
        exact = "\r\n".join(ws) + "\n\n\n"
        d = os.path.join(out, "x_exact", rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        with open(d, "w", encoding="utf-8", newline="") as f:
            f.write(exact)
        print("exact", os.path.join("x_exact", rel), os.path.join("orig", rel))
        # near duplicate: rename two identifiers, change three lines
        names = sorted(set(ident.findall(text)))
        near = text
        for old in rng.sample(names, min(2, len(names))):
            near = re.sub(r"\b%s\b" % re.escape(old), old + "_renamed", near)
        nl = near.split("\n")
        for i in rng.sample(range(len(nl)), 3):
            nl[i] = "# changed line %d" % i
        d = os.path.join(out, "y_near", rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        with open(d, "w", encoding="utf-8") as f:
            f.write("\n".join(nl))
        print("near", os.path.join("y_near", rel), os.path.join("orig", rel))
