#!/usr/bin/env python3
"""Reference for `parrot tokenizer eval` (src/tok/metrics.h): the same metrics computed with
Hugging Face `tokenizers` and the `regex` module's GPT-2 pattern, printed as the same JSON.

    tok_metrics_ref.py [--rare N] --tokenizer T [--tokenizer T2 ...] INPUT...

T is a tokenizer.json. INPUT: a folder (its .py files, each one document), JSON Lines
(.jsonl / .jsonl.gz / .json.gz / .json: the "content" of each line, or else its "text"), or any other file (one
document). Documents must be valid UTF-8 (tokenizers takes str).

Definitions (docs/tokenizer.md, "Metrics"): a word is a GPT-2 pre-token holding a letter or a
number (\\p{L} or \\p{N}), its leading space removed; its tokens are the ids BPE gives that
pre-token (encoded alone: BPE never merges across pre-tokens), less a first token that is the
lone space. A rare id is seen 1..N-1 times in the text. Keywords and builtins are single
tokens when encode(" kw") / encode("kw") gives one id.
"""
import argparse
import builtins
import gzip
import json
import keyword
import os
import statistics
import sys
import types

import regex
from tokenizers import Tokenizer, pre_tokenizers

GPT2_PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
WORD = regex.compile(r"[\p{L}\p{N}]")


def builtin_names():
    """Builtin functions and types of this Python, without exceptions and warnings."""
    out = []
    for n in dir(builtins):
        v = getattr(builtins, n)
        if n.startswith("_") or not isinstance(v, (type, types.BuiltinFunctionType)):
            continue
        if isinstance(v, type) and issubclass(v, BaseException):
            continue
        out.append(n)
    return out


def documents(inputs):
    for path in inputs:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith(".py") and not os.path.islink(os.path.join(root, f)):
                        yield open(os.path.join(root, f), "rb").read().decode("utf-8")
        elif path.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".json")):
            raw = open(path, "rb").read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            for line in raw.decode("utf-8").splitlines():
                if line.strip():
                    d = json.loads(line)
                    yield d["content"] if isinstance(d.get("content"), str) else d["text"]
        else:
            yield open(path, "rb").read().decode("utf-8")


def metrics(path, docs, rare_min):
    tok = Tokenizer.from_file(path)
    cfg = json.loads(tok.to_str())
    prefix = bool((cfg.get("pre_tokenizer") or {}).get("add_prefix_space"))
    # The pieces are cut here; each is encoded alone, without another prefix space.
    bare = Tokenizer.from_str(tok.to_str())
    bare.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    space_id = bare.token_to_id("\u0120")
    cache = {}
    counts = {}
    per_doc = []
    chars = nbytes = words = word_tokens = continued = 0
    for text in docs:
        nbytes += len(text.encode("utf-8"))
        chars += len(text)
        if prefix and text and not text.startswith(" "):
            text = " " + text
        pieces = GPT2_PAT.findall(text)
        new = [p for p in set(pieces) if p not in cache]
        for p, enc in zip(new, bare.encode_batch(new, add_special_tokens=False)):
            cache[p] = enc.ids
        n = 0
        for p in pieces:
            ids = cache[p]
            n += len(ids)
            for i in ids:
                counts[i] = counts.get(i, 0) + 1
            if WORD.search(p):
                k = len(ids)
                if p.startswith(" ") and k > 1 and ids[0] == space_id:
                    k -= 1
                words += 1
                word_tokens += k
                continued += k >= 2
        whole = len(tok.encode(text, add_special_tokens=False).ids)
        if whole != n:
            sys.exit("%s: %d tokens by pieces, %d by encode" % (path, n, whole))
        per_doc.append(n)
    tokens = sum(per_doc)
    rare = [c for c in counts.values() if c < rare_min]

    def r(a, b):
        return a / b if b else 0.0

    def single(w):
        return len(tok.encode(w, add_special_tokens=False).ids) == 1

    kws, bis = keyword.kwlist, builtin_names()
    return {
        "tokenizer": path,
        "vocab_size": max(tok.get_vocab(with_added_tokens=True).values()) + 1,
        "documents": len(per_doc),
        "bytes": nbytes,
        "characters": chars,
        "tokens": tokens,
        "words": words,
        "word_tokens": word_tokens,
        "continued_words": continued,
        "unknown_tokens": 0,
        "vocab_used": len(counts),
        "rare_tokens": sum(rare),
        "rare_ids": len(rare),
        "fertility": r(word_tokens, words),
        "continued_share": r(continued, words),
        "unknown_share": 0.0,
        "rare_token_share": r(sum(rare), tokens),
        "rare_vocab_share": r(len(rare), len(counts)),
        "chars_per_token": r(chars, tokens),
        "tokens_per_doc_mean": r(tokens, len(per_doc)),
        "tokens_per_doc_median": float(statistics.median(per_doc)) if per_doc else 0.0,
        "keywords": len(kws),
        "keywords_single_space": sum(single(" " + w) for w in kws),
        "keywords_single_bare": sum(single(w) for w in kws),
        "builtins": len(bis),
        "builtins_single_space": sum(single(" " + w) for w in bis),
        "builtins_single_bare": sum(single(w) for w in bis),
        "keywords_split_space": [w for w in kws if not single(" " + w)],
        "keywords_split_bare": [w for w in kws if not single(w)],
        "builtins_split_space": [w for w in bis if not single(" " + w)],
        "builtins_split_bare": [w for w in bis if not single(w)],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", "-t", action="append", required=True)
    ap.add_argument("--rare", type=int, default=10)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    docs = list(documents(a.inputs))
    out = {"rare_min": a.rare, "tokenizers": [metrics(t, docs, a.rare) for t in a.tokenizer]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
