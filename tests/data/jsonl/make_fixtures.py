#!/usr/bin/env python3
"""Writes the small JSON Lines fixtures of tests/unit/test_jsonl.c (run from the repo root:
python3 tests/data/jsonl/make_fixtures.py). The outputs are committed; this script only
documents how they were made. gzip mtime is fixed so the bytes are reproducible."""
import gzip
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def docs():
    out = []
    for i in range(24):
        body = "".join(
            f'def f{i}_{j}(x):\n    """Doc \\ "quoted" {j}."""\n\treturn x * {j} + len("é€😀")\n'
            for j in range(i % 5 + 1))
        d = {"repo_name": f"user{i}/repo-{i}", "path": f"src/mod_{i}.py", "copies": str(i % 3 + 1),
             "size": len(body.encode()), "content": body, "license": ["mit", "apache-2.0", "bsd-3-clause"][i % 3]}
        if i % 4 == 1:
            d["extra"] = {"nested": [1, 2.5, {"k": None}], "flag": True}
        if i % 6 == 2:
            d["size"] = str(d["size"])  # sometimes a string, as in the real dumps
        out.append(d)
    return out


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


lines = [json.dumps(d, ensure_ascii=(i % 2 == 0)).encode() + b"\n" for i, d in enumerate(docs())]
plain = b"".join(lines)
write("small.jsonl", plain)
write("small.jsonl.gz", gz(plain))
# two members, as `cat a.gz b.gz` or pigz make
write("multi.jsonl.gz", gz(b"".join(lines[:10])) + gz(b"".join(lines[10:])))
# the tail (CRC, size and the last deflate bytes) cut off
whole = gz(plain)
write("truncated.jsonl.gz", whole[: len(whole) - 200])
# one byte of the deflate data flipped near the middle
bad = bytearray(whole)
bad[len(bad) // 2] ^= 0x5A
write("corrupt.jsonl.gz", bytes(bad))
