#!/usr/bin/env python3
"""The character classes of GPT-2's pre-tokenizer regex, and their verification.

tools/gen_unicode_tables.py imports class_of() from here and stores the class of every
code point in src/base/unicode_tables.h (bits 3-4 of the flags, read by pt_tok_class()).

GPT-2's pattern  's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
sorts every character into one of four classes, and src/tok/pretok.c needs only that class:

    PT_TOK_LETTER  \\p{L}: general category Lu, Ll, Lt, Lm, Lo
    PT_TOK_NUMBER  \\p{N}: general category Nd, Nl, No
    PT_TOK_SPACE   \\s: the White_Space property, as the Rust regex crate (tiktoken), Oniguruma
                   (Hugging Face tokenizers) and the `regex` module define it
    PT_TOK_OTHER   everything else (marks, punctuation, symbols, controls, unassigned, ...)

The categories come from this Python's unicodedata; the reference is Python 3.11, whose
database is Unicode 14.0.0 (the same as src/base/unicode_tables.h). Python has no
White_Space property: str.isspace() is White_Space plus U+001C..U+001F (information
separators, bidi class B/S), so those four are removed and the result is checked against
the fixed White_Space list of PropList.txt (unchanged since Unicode 6.3).

--verify compares the classes of every code point assigned in this Python's Unicode with
the libraries in build/venv (each skipped if not installed):
  - the `regex` module: \\p{L}, \\p{N}, \\s on each character;
  - tiktoken (the Rust regex crate): for each probe prefix p in "a", "1", "!", "\\t", an
    Encoding with GPT-2's pattern whose only merges turn p + (a prefix of the UTF-8 bytes of
    any code point) into one token, so p + c encodes to one token exactly when the regex
    keeps p and c in one piece: c is a letter, a number, other, or space respectively;
  - Hugging Face tokenizers: ByteLevel(use_regex=True).pre_tokenize_str(p + c) on the same probes.
The libraries carry newer Unicode versions, so code points unassigned in this Python's
Unicode are skipped; any disagreement on the others fails (none, with regex 2026.11.19,
tiktoken 0.14.0 and tokenizers 0.23.3: 282230 code points, about 90 s).

Usage: python3.11 tools/tok_classes.py --verify      (build/venv/bin/python has the libraries)
"""
import argparse
import sys
import unicodedata

EXPECTED_UNICODE = "14.0.0"
BLOCK = 256
NCP = 0x110000
OTHER, LETTER, NUMBER, SPACE = 0, 1, 2, 3
NAMES = {OTHER: "other", LETTER: "letter", NUMBER: "number", SPACE: "space"}
WHITE_SPACE = ({*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
                0x202F, 0x205F, 0x3000})
GPT2_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
PROBES = {"a": LETTER, "1": NUMBER, "!": OTHER, "\t": SPACE}


def class_of(cp):
    if cp in WHITE_SPACE:
        return SPACE
    cat = unicodedata.category(chr(cp))
    if cat[0] == "L":
        return LETTER
    if cat[0] == "N":
        return NUMBER
    return OTHER


def check_white_space():
    derived = {cp for cp in range(NCP) if chr(cp).isspace()} - set(range(0x1C, 0x20))
    if derived != WHITE_SPACE:
        sys.exit("str.isspace() minus U+001C..U+001F is no longer PropList's White_Space: %r" %
                 sorted(hex(c) for c in derived ^ WHITE_SPACE))
    for cp in WHITE_SPACE:
        if unicodedata.category(chr(cp))[0] in "LN":
            sys.exit(f"U+{cp:04X} is White_Space and a letter or number")


def assigned(cp):
    return unicodedata.category(chr(cp)) not in ("Cn", "Cs")


def verify_regex(classes):
    try:
        import regex
    except ImportError:
        print("verify: the regex module is not installed; skipped", file=sys.stderr)
        return []
    let, num, spc = regex.compile(r"\p{L}"), regex.compile(r"\p{N}"), regex.compile(r"\s")
    bad = []
    for cp in range(NCP):
        if not assigned(cp):
            continue
        c = chr(cp)
        k = SPACE if spc.match(c) else LETTER if let.match(c) else NUMBER if num.match(c) else OTHER
        if k != classes[cp]:
            bad.append((cp, k))
    return bad


def probe_tokens(prefix, cps):
    """Every prefix + (a prefix of a code point's UTF-8), shortest first."""
    p = prefix.encode()
    toks = set()
    for cp in cps:
        b = chr(cp).encode()
        for k in range(1, len(b) + 1):
            toks.add(p + b[:k])
    return sorted(toks, key=lambda t: (len(t), t))


def verify_tiktoken(classes, cps):
    try:
        import tiktoken
    except ImportError:
        print("verify: tiktoken is not installed; skipped", file=sys.stderr)
        return []
    joined = {}
    for prefix, k in PROBES.items():
        ranks = {bytes([b]): b for b in range(256)}
        for t in probe_tokens(prefix, cps):
            ranks.setdefault(t, len(ranks))
        enc = tiktoken.Encoding(f"probe{ord(prefix)}", pat_str=GPT2_PAT, mergeable_ranks=ranks, special_tokens={})
        out = enc.encode_ordinary_batch([prefix + chr(cp) for cp in cps], num_threads=2)
        for cp, ids in zip(cps, out):
            if len(ids) == 1:
                joined.setdefault(cp, []).append(k)
    return compare_probes(classes, cps, joined)


def verify_hf(classes, cps):
    try:
        from tokenizers import pre_tokenizers
    except ImportError:
        print("verify: tokenizers is not installed; skipped", file=sys.stderr)
        return []
    pt = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    joined = {}
    for prefix, k in PROBES.items():
        for cp in cps:
            if len(pt.pre_tokenize_str(prefix + chr(cp))) == 1:
                joined.setdefault(cp, []).append(k)
    return compare_probes(classes, cps, joined)


def compare_probes(classes, cps, joined):
    bad = []
    for cp in cps:
        got = joined.get(cp, [])
        k = got[0] if len(got) == 1 else -1  # -1: no probe or several joined: not one class
        if k != classes[cp]:
            bad.append((cp, k))
    return bad


def report(name, bad, classes):
    if not bad:
        print(f"verify: {name}: every assigned code point agrees", file=sys.stderr)
        return 0
    print(f"verify: {name}: {len(bad)} code points differ:", file=sys.stderr)
    for cp, k in bad[:40]:
        print(f"  U+{cp:04X} {unicodedata.category(chr(cp))} {unicodedata.name(chr(cp), '?')}: "
              f"ours {NAMES[classes[cp]]}, theirs {NAMES.get(k, 'no single class')}", file=sys.stderr)
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true",
                    help=f"generate even if this Python's Unicode version is not {EXPECTED_UNICODE}")
    ap.add_argument("--verify", action="store_true",
                    help="compare with the regex module, tiktoken and tokenizers (slow: a minute or two)")
    args = ap.parse_args()
    uv = unicodedata.unidata_version
    if uv != EXPECTED_UNICODE and not args.force:
        sys.exit(f"this Python ({sys.version.split()[0]}) has Unicode {uv}; the reference is {EXPECTED_UNICODE} "
                 "(Python 3.11). Run it with python3.11, or pass --force to generate anyway.")
    check_white_space()
    classes = [class_of(cp) for cp in range(NCP)]
    if args.verify:
        cps = [cp for cp in range(NCP) if assigned(cp)]
        print(f"verify: {len(cps)} code points assigned in Unicode {uv}", file=sys.stderr)
        fails = report("regex module", verify_regex(classes), classes)
        fails += report("tiktoken", verify_tiktoken(classes, cps), classes)
        fails += report("tokenizers", verify_hf(classes, cps), classes)
        if fails:
            sys.exit(1)


if __name__ == "__main__":
    main()
