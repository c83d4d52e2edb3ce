#!/usr/bin/env python3
"""Writes the MinHash fixtures that tests/unit/test_minhash.c compares against.

tests/data/minhash_fixture.bin: texts with datasketch 2.0's MinHash(num_perm=256) hash values
for both permutation schemes, the tokens taken as CodeParrot's minhash_deduplication.py takes
them (the non-empty pieces of re.split("[^A-Za-z_0-9]", content), as a set). Little-endian:
    "PTMHFX01"  u32 count
    per text:   u32 byte_len, bytes (UTF-8), u32 distinct_tokens,
                u32 legacy[256], u32 affine32[256]
tests/data/minhash_fixture.params.txt: "threshold num_perm bands rows" lines from
datasketch's MinHashLSH parameter optimisation.

    build/venv/bin/python tools/make_minhash_fixture.py tests/data
"""
import random
import re
import struct
import sys

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _optimal_param

NON_ALPHA = re.compile("[^A-Za-z_0-9]")
NUM_PERM = 256


def tokens(text):
    return {t for t in NON_ALPHA.split(text) if len(t.strip()) > 0}


def texts():
    out = [
        "",
        "a",
        "def f(x): return x",  # < 10 tokens
        "import os\nimport sys\n\ndef main(argv):\n    return os.path.join(argv[0], sys.prefix)\n",
        "x = 1\n" * 50,  # repeated tokens
        "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u65e5\u672c\u8a9e emoji\U0001F600tail \u00fcber_alles a\u00df b c d e f g h",
        "\u00e9t\u00e9_\u00e0 l'h\u00f4tel: \u03b1\u03b2\u03b3 = 3 # \u043f\u0440\u0438\u0432\u0435\u0442 one two three four five six seven",
        "tab\tseparated\tvalues\r\nwith\rcarriage\x0creturns\x0bvertical and_under_scores __dunder__ 0x1F 1e10 9",
        # tokens around the SHA-1 block boundaries: 55, 56, 63, 64, 65, 119, 120 bytes, and long
        " ".join("t" + "x" * (n - 1) for n in (1, 2, 54, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200, 1000)),
        "_ __ ___ 0 00 000 A a Z z _0 0_ a0 0a",
    ]
    rng = random.Random(20240611)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"
    seps = [" ", "\n", "(", ")", ".", ",", ":", "=", "+", "\u00e9", "\u2014", "\t"]
    for i in range(20):  # random code-like texts of growing size
        ntok = 5 + i * i
        vocab = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(ntok)]
        words = [rng.choice(vocab) for _ in range(ntok * 2)]
        out.append("".join(w + rng.choice(seps) for w in words))
    out.append(
        "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
        "    def push(self, item):\n        self.items.append(item)\n\n"
        "    def pop(self):\n        return self.items.pop()\n"
    )
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data"
    ts = texts()
    buf = bytearray(b"PTMHFX01" + struct.pack("<I", len(ts)))
    for t in ts:
        raw = t.encode("utf-8")
        toks = tokens(t)
        sigs = []
        for scheme in ("legacy", "affine32"):
            m = MinHash(num_perm=NUM_PERM, scheme=scheme)
            for tok in toks:
                m.update(tok.encode())
            hv = np.asarray(m.hashvalues)
            assert int(hv.max()) <= 0xFFFFFFFF
            sigs.append(hv.astype(np.uint32))
        buf += struct.pack("<I", len(raw)) + raw + struct.pack("<I", len(toks))
        buf += sigs[0].astype("<u4").tobytes() + sigs[1].astype("<u4").tobytes()
    with open(outdir + "/minhash_fixture.bin", "wb") as f:
        f.write(buf)
    with open(outdir + "/minhash_fixture.params.txt", "w") as f:
        f.write("# threshold num_perm bands rows: datasketch MinHashLSH._optimal_param(t, n, 0.5, 0.5)\n")
        for n in (64, 128, 256):
            for t in (0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0):
                b, r = _optimal_param(t, n, 0.5, 0.5)
                f.write("%g %d %d %d\n" % (t, n, b, r))


if __name__ == "__main__":
    main()
