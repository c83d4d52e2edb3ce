#!/usr/bin/env python3
"""Writes the tokenizer fixtures under tests/data/tok/ from tiktoken and Hugging Face tokenizers.

    build/venv/bin/python tools/make_tok_fixture.py [--data tests/data]

Writes:
  gpt2-tokenizer.json   GPT-2's tokenizer as `tokenizers` saves it (compact): BPE.from_file on
                        tests/data/gpt2/encoder.json + vocab.bpe, ByteLevel pre-tokenizer
                        (add_prefix_space false), <|endoftext|> as a special added token; merges
                        as [a, b] pairs (the format tokenizers >= 0.20 writes).
  tiny-tokenizer.json   a 600-token byte-level BPE that `tokenizers` trains on
                        tests/data/cpython/Lib (add_prefix_space true, specials <|endoftext|>
                        and <pad> at ids 0 and 1, so ids are not GPT-2's byte order); its merges
                        are rewritten as "a b" strings, the older format. Three tokens that no
                        merge makes are added: "xyzzy", "Ġplugh" (so that ignore_merges
                        matters) and "raw text" (a literal space: not GPT-2's byte alphabet).
  cases.txt             tricky strings, one a line: TOKENIZER, TEXT, PIECES, IDS (tab-separated;
                        TEXT and each piece as hex bytes, pieces joined by ',', '-' when not
                        checked; ids space-separated). TOKENIZER is
                          gpt2     ids of tiktoken's gpt2 encoding (built from the GPT-2 files
                                   with tiktoken.Encoding, no download), pieces of the GPT-2
                                   regex run by the `regex` module on the text decoded with
                                   errors="surrogateescape"; for text that is not UTF-8 the ids
                                   are tiktoken's BPE of each of those pieces
                          tiny     ids of tiny-tokenizer.json in `tokenizers`
                          tiny_im  the same with model.ignore_merges set to true
  cpython-gpt2-ids.bin  tiktoken's gpt2 ids of every .py file under tests/data/cpython/Lib:
                        "PTTOKID1", u32 file count, then per file u16 path length, the path
                        (relative to Lib), u32 id count, the ids as u16 (all little-endian).

And the seed inputs of tests/fuzz/fuzz_tokjson.c under tests/fuzz/corpus/fuzz_tokjson/ (the
first byte picks the format: even tokenizer.json, odd encoder.json NUL vocab.bpe).

It also asserts that the libraries agree where both apply: tiktoken's ids equal those of
gpt2-tokenizer.json in `tokenizers` (cases and files), the regex module's pieces equal
tokenizers' ByteLevel pre-tokenizer's, and tiktoken's ids equal its BPE of the regex pieces.
"""
import argparse
import glob
import json
import os
import random
import struct

import regex
import tiktoken
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers

GPT2_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tiktoken_gpt2(gpt2_dir):
    dec = {c: b for b, c in bytes_to_unicode().items()}
    with open(os.path.join(gpt2_dir, "encoder.json"), encoding="utf-8") as f:
        encoder = json.load(f)
    ranks = {}
    for tok, i in encoder.items():
        if tok in ("<|endoftext|>", "<|startoftext|>"):
            continue
        ranks[bytes(dec[c] for c in tok)] = i
    return tiktoken.Encoding("gpt2_local", pat_str=GPT2_PAT, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": encoder["<|endoftext|>"]})


def hf_gpt2(gpt2_dir):
    tk = Tokenizer(models.BPE.from_file(os.path.join(gpt2_dir, "encoder.json"), os.path.join(gpt2_dir, "vocab.bpe")))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    return tk


def hf_tiny(lib):
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tr = trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                             special_tokens=["<|endoftext|>", "<pad>"], show_progress=False)
    tk.train(sorted(glob.glob(os.path.join(lib, "**", "*.py"), recursive=True)), tr)
    d = json.loads(tk.to_str())
    # tokens no merge makes, so that ignore_merges changes ids; one not in the byte alphabet
    n = len(d["model"]["vocab"])
    d["model"]["vocab"].update({"xyzzy": n, "Ġplugh": n + 1, "raw text": n + 2})
    d["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in d["model"]["merges"]]
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def pieces_of(data):
    text = data.decode("utf-8", "surrogateescape")
    return [p.encode("utf-8", "surrogateescape") for p in regex.findall(GPT2_PAT, text)]


def hf_pieces(text):
    inv = {c: b for b, c in bytes_to_unicode().items()}
    pt = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return [bytes(inv[c] for c in p) for p, _ in pt.pre_tokenize_str(text)]


def cases():
    """Tricky inputs as bytes."""
    s = [
        "", "a", " ", "  ", "\t", "\n", "hello world", "Hello, World!", "a  b", "a   b", "a\t\tb", "a \n b",
        "  leading", "trailing  ", "trailing \n", "x \n\n  y", "\n\n\n", "   ", "\r\n", "a\r\nb", "\n    return x\n",
        "I'm, you're, he's, we've, they'll, she'd, don't", "'S 'T 'Re 'VE 'LL 'D 'M", "it''s", "x'sy", "''ll",
        "?'s", "'", "'l", "'re", "'ve'", " 's", "'s's", "don't!", "rock'n'roll", "'''docstring'''",
        "Ελληνικά 123", "²½ ¼", "٣٤٥ ١٠", "中文字符 漢字", "한국어 텍스트", "ǅemal", "ⅫⅣ ①②", "१२३ ๑๒",
        "naïve café", "e\u0301t\u0301e\u0301", "ﬁnance", "ℕ ∈ ℝ", "x²+y²", "3½", "Ⅻth", "abc123def",
        "a\u00a0b", "\u3000x", "a \u2028 b", "a\u0085b", "\x0b\x0c", "\x1c\x1d\x1e\x1f", "a\x1cb", "a\x00b",
        "\u200bzero\u200bwidth", "\ufeffbom", "\u2000\u2001\u200a word", " \u00a0 x",
        "😀👍🏽 👨\u200d👩\u200d👧 🇯🇵", " 😀", "a😀b", "🙂🙃", "\U0001F600\U0001F600",
        "!!! ??? ...", " +=-> ", "a!b", "foo()bar", "#include <stdio.h>", "x=1;y=2", "@decorator", "->", "::",
        "def foo(self):\n    return self.x\n", "    if x:\n        pass\n", "\tindent\n\t\tmore\n", "}\n\n\n}",
        "x = [1, 2, 3]  # comment\n", "print(f\"{x!r:>10}\")", "0x1F 1e-5 3.14159 1_000_000", "1234567890123",
        "    " * 6 + "deep", " " * 100, "=" * 300, "a" * 200 + "b", "!" * 1000 + "x", "\n" * 50, "ab" * 150,
        " " * 3 + "\t" + " " * 3 + "x", "x \t y", "x\t \ty", "a \u3000b", "a\u3000 b", "<|endoftext|>",
        "xyzzy", " xyzzy", "plugh", " plugh", "xyzzy plugh", "raw text", "<pad>",
    ]
    out = [x.encode() for x in s]
    out += [
        b"\xff", b"a\xffb", b"\xc3", b"\xc3(", b" \xff\xfe", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82",
        b"abc\xe2\x82", b"\xc0\xaf", b"\x80abc", b"  \xff", b"\t\xff", b"\xf0\x9f\x98", b"x \xf0\x9f\x98",
        b"'\xffs", b"\xff's", b"caf\xe9 na\xefve", b"1\xff2", b" \x80 \x80", b"a\xc3\xa9\xff\xc3\xa9",
    ]
    rnd = random.Random(20240617)
    alphabet = ["a", "Z", "é", "1", "²", " ", "  ", "\t", "\n", "'", "s", "re", "ll", "!", "(", "😀", "中", "\u00a0",
                "\u0301", "\u3000", "_", "٣", "\r\n", "ǅ", "\x1c"]
    for _ in range(250):
        out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 30))).encode())
    for _ in range(50):
        parts = [rnd.choice(alphabet).encode() if rnd.random() < 0.8 else bytes([rnd.randint(0x80, 0xFF)])
                 for _ in range(rnd.randint(1, 20))]
        out.append(b"".join(parts))
    return out


def write_fuzz_seeds(out, tiny_json):
    """Small loadable tokenizers in each format and variant, and a few refused ones."""
    os.makedirs(out, exist_ok=True)
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: i for i, b in enumerate(range(256))}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "Ġ"), ("ĠĠ", "ĠĠ"), ("=", "="), ("==", "==")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))

    def hf(merge_fmt, pre, extra_model=None, **top):
        model = {"type": "BPE", "dropout": None, "unk_token": None, "vocab": vocab,
                 "merges": [list(m) if merge_fmt == "pairs" else " ".join(m) for m in merges]}
        model.update(extra_model or {})
        d = {"version": "1.0", "added_tokens": [{"id": len(vocab), "content": "<|endoftext|>", "special": True}],
             "normalizer": None, "pre_tokenizer": pre, "model": model}
        d.update(top)
        return b"\0" + json.dumps(d, ensure_ascii=False).encode()

    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    seeds = {
        "hf_pairs": hf("pairs", bl),
        "hf_strings_prefix": hf("strings", dict(bl, add_prefix_space=True)),
        "hf_sequence_ignore_merges": hf("pairs", {"type": "Sequence", "pretokenizers": [bl]}, {"ignore_merges": True}),
        "hf_wordpiece": hf("pairs", bl, {"type": "WordPiece"}),
        "hf_normalizer": hf("pairs", bl, normalizer={"type": "NFC"}),
        "hf_tiny": b"\0" + tiny_json.encode(),
        "gpt2_min": b"\1" + json.dumps(dict(vocab, **{"<|endoftext|>": len(vocab)}), ensure_ascii=False).encode()
                    + b"\0#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges).encode(),
        "gpt2_bad_line": b"\1" + json.dumps(vocab, ensure_ascii=False).encode() + b"\0#version: 0.2\n" + "Ġ t x\n".encode(),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="tests/data")
    args = ap.parse_args()
    gpt2_dir, out_dir = os.path.join(args.data, "gpt2"), os.path.join(args.data, "tok")
    lib = os.path.join(args.data, "cpython", "Lib")
    os.makedirs(out_dir, exist_ok=True)
    enc = tiktoken_gpt2(gpt2_dir)
    hf = hf_gpt2(gpt2_dir)
    hf.save(os.path.join(out_dir, "gpt2-tokenizer.json"), pretty=False)
    hf.encode_special_tokens = True  # plain text: "<|endoftext|>" in text is not the special token
    tiny_json = hf_tiny(lib)
    with open(os.path.join(out_dir, "tiny-tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(tiny_json)
    tiny = Tokenizer.from_str(tiny_json)
    tiny_im = Tokenizer.from_str(tiny_json.replace('"ignore_merges":false', '"ignore_merges":true'))
    assert tiny_im.to_str() != tiny.to_str()
    for t in (tiny, tiny_im):
        t.encode_special_tokens = True

    lines = ["# generated by tools/make_tok_fixture.py: TOKENIZER TEXT PIECES IDS, tab-separated (see there)"]
    for data in cases():
        pieces = pieces_of(data)
        assert b"".join(pieces) == data
        ids = [i for p in pieces for i in enc._encode_single_piece(p)]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            assert enc.encode_ordinary(text) == ids, data
            assert hf.encode(text, add_special_tokens=False).ids == ids, data
            assert hf_pieces(text) == pieces, data
        hexp = ",".join(p.hex() for p in pieces) if pieces else "-"
        lines.append(f"gpt2\t{data.hex()}\t{hexp}\t{' '.join(map(str, ids))}")
        if text is not None:
            for name, t in (("tiny", tiny), ("tiny_im", tiny_im)):
                lines.append(f"{name}\t{data.hex()}\t-\t{' '.join(map(str, t.encode(text, add_special_tokens=False).ids))}")
    with open(os.path.join(out_dir, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    files = sorted(glob.glob(os.path.join(lib, "**", "*.py"), recursive=True))
    blob = [b"PTTOKID1", struct.pack("<I", len(files))]
    total = 0
    for path in files:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        ids = enc.encode_ordinary(text)
        assert hf.encode(text, add_special_tokens=False).ids == ids, path
        assert max(ids, default=0) < 65536
        rel = os.path.relpath(path, lib).encode()
        blob += [struct.pack("<H", len(rel)), rel, struct.pack("<I", len(ids)), struct.pack(f"<{len(ids)}H", *ids)]
        total += len(ids)
    with open(os.path.join(out_dir, "cpython-gpt2-ids.bin"), "wb") as f:
        f.write(b"".join(blob))
    write_fuzz_seeds(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "corpus",
                                  "fuzz_tokjson"), tiny_json)
    print(f"{out_dir}: {len(lines) - 1} cases, {len(files)} files, {total} ids; tiktoken {tiktoken.__version__}, "
          f"tokenizers {__import__('tokenizers').__version__}, regex {regex.__version__}")


if __name__ == "__main__":
    main()
