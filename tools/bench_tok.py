#!/usr/bin/env python3
"""Encode throughput of parrot's byte-level BPE beside tiktoken's, in the same run, one thread each.

    build/venv/bin/python tools/bench_tok.py [--repeat 3] [--check] [DIR_OR_FILE ...]

Default input: every .py file under the standard library of the Python running this script
(/usr/lib/python3.11 here) that decodes as UTF-8. parrot's side is `build/tests/test_bpe
--encode` (all files read into memory first; one scratch per pass, so its piece cache starts
cold each pass, as in a build); tiktoken's is Encoding.encode_ordinary on each file's str, with
the encoding built from tests/data/gpt2 (no download). Both report the fastest of --repeat
passes over all files; MB/s counts the UTF-8 bytes of the files.

--check also compares every id of every file (exit 1 on a difference).
"""
import argparse
import glob
import os
import subprocess
import sys
import sysconfig
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tok_fixture import tiktoken_gpt2  # noqa: E402


def py_files(paths):
    out = []
    for p in paths:
        out += sorted(glob.glob(os.path.join(p, "**", "*.py"), recursive=True)) if os.path.isdir(p) else [p]
    keep = []
    for f in out:
        try:
            with open(f, "rb") as fh:
                fh.read().decode("utf-8")
            keep.append(f)
        except (UnicodeDecodeError, OSError):
            pass
    return keep


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "/usr/lib/python3.11" if os.path.isdir("/usr/lib/python3.11") else sysconfig.get_paths()["stdlib"]
    ap.add_argument("paths", nargs="*", default=[default])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--tokenizer", default="tests/data/gpt2")
    args = ap.parse_args()
    files = py_files(args.paths)
    texts = []
    for f in files:
        with open(f, "rb") as fh:
            texts.append(fh.read().decode("utf-8"))
    nbytes = sum(len(t.encode()) for t in texts)
    with tempfile.TemporaryDirectory() as tmp:
        lst, ids_path = os.path.join(tmp, "files.txt"), os.path.join(tmp, "ids.bin")
        with open(lst, "w") as fh:
            fh.write("\n".join(files) + "\n")
        out = subprocess.run([os.path.join(args.build, "tests", "test_bpe"), "--encode", "-r", str(args.repeat),
                              args.tokenizer, ids_path, "-l", lst], check=True, capture_output=True, text=True).stdout
        kv = out.split()
        ours = dict(zip(kv[0::2], kv[1::2]))
        raw = np.fromfile(ids_path, dtype="<u4")
    enc = tiktoken_gpt2("tests/data/gpt2")
    best, theirs = 1e30, None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = [enc.encode_ordinary(t) for t in texts]
        best = min(best, time.perf_counter() - t0)
        theirs = res
    ntok = sum(len(r) for r in theirs)
    print(f"{len(files)} files, {nbytes / 1e6:.2f} MB ({args.paths[0]}{' ...' if len(args.paths) > 1 else ''}), "
          f"best of {args.repeat}, 1 thread")
    print(f"  parrot   {float(ours['MB/s']):8.2f} MB/s  {int(ours['tokens'])} tokens  {float(ours['seconds']):.3f} s")
    print(f"  tiktoken {nbytes / 1e6 / best:8.2f} MB/s  {ntok} tokens  {best:.3f} s  (tiktoken {__import__('tiktoken').__version__})")
    if args.check:
        pos, bad = 0, 0
        for f, ref in zip(files, theirs):
            n = int(raw[pos])
            got = raw[pos + 1:pos + 1 + n]
            pos += 1 + n
            if n != len(ref) or not np.array_equal(got, np.asarray(ref, dtype=np.uint32)):
                bad += 1
                if bad <= 5:
                    print(f"  ids differ: {f}")
        print(f"  ids: {len(files) - bad} of {len(files)} files identical")
        if bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
