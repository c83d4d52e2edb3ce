#!/usr/bin/env python3
"""Writes the small JSON Lines fixtures of tests/unit/test_jsonl.c (run from the repo root:
python3 tests/data/jsonl/make_fixtures.py). The outputs are committed; this script only
documents how they were made. gzip mtime is fixed so the bytes are reproducible."""
import gzip
import json
import zlib
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
# a fuzzer find: without its 8-byte trailer this stream ends with all its input bytes taken
# into inflate's bit buffer while 23 bytes of output are still owed; a reader that stops at
# the end of input (rather than when inflate makes no progress) loses them with tiny reads
found = bytes.fromhex(
    "01007b22636f6e74656e74223a22677a205c7530efbb41d49acc227d0a2d3022636f2263e2223a2262"
    "226e74656e74223a2226626f6d7d7d220a0a7b22753a226f656e74223a226f6b227d0a6e74656e7422"
    "3a357d0a6261640a2d916a0300306000003022636f6e74656e74223a357d0a62")
z = zlib.compressobj(1, zlib.DEFLATED, 31)
write("trailerless.jsonl.gz", (z.compress(found) + z.flush())[:-8])
