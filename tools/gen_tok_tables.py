#!/usr/bin/env python3
"""Generates src/tok/unicode_classes.h: the character classes of GPT-2's pre-tokenizer regex.

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

The table has two stages: stage1[cp >> 8] names one of the distinct 256-code-point blocks,
stage2[block * 256 + (cp & 255)] holds the class.

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

Usage: python3.11 tools/gen_tok_tables.py [--force] [-o src/tok/unicode_classes.h] [--verify]
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


def write_header(path, classes, uv):
    blocks, index = {}, []
    for b in range(NCP // BLOCK):
        t = bytes(classes[b * BLOCK:(b + 1) * BLOCK])
        index.append(blocks.setdefault(t, len(blocks)))
    if len(blocks) > 256:
        sys.exit(f"{len(blocks)} distinct blocks do not fit a uint8_t stage-1 index")
    pyver = sys.version.split()[0]
    out = []
    w = out.append
    w("/* unicode_classes.h - GENERATED by tools/gen_tok_tables.py; do not edit.")
    w(" *")
    w(f" * Python {pyver}, Unicode {uv} (unicodedata.unidata_version).")
    w(" * The class of each code point in GPT-2's pre-tokenizer regex:")
    w(" *   PT_TOK_LETTER  \\p{L}  (general category L*)")
    w(" *   PT_TOK_NUMBER  \\p{N}  (general category N*)")
    w(" *   PT_TOK_SPACE   \\s     (the White_Space property, as tiktoken's Rust regex defines it)")
    w(" *   PT_TOK_OTHER   anything else, surrogates and unassigned code points included")
    w(f" * Two stages: {len(index)} block indexes of {BLOCK} code points, {len(blocks)} distinct blocks.")
    w(" */")
    w("#ifndef PT_TOK_UNICODE_CLASSES_H")
    w("#define PT_TOK_UNICODE_CLASSES_H")
    w("")
    w("#include <stdint.h>")
    w("")
    w(f'#define PT_TOK_UNICODE_VERSION "{uv}"')
    w(f"enum {{ PT_TOK_OTHER = {OTHER}, PT_TOK_LETTER = {LETTER}, PT_TOK_NUMBER = {NUMBER}, PT_TOK_SPACE = {SPACE} }};")
    w("")
    w(f"static const uint8_t pt_tok_class_stage1_[{len(index)}] = {{")
    for i in range(0, len(index), 24):
        w("    " + ",".join(str(x) for x in index[i:i + 24]) + ",")
    w("};")
    w("")
    w(f"static const uint8_t pt_tok_class_stage2_[{len(blocks) * BLOCK}] = {{")
    for t in blocks:  # dicts keep insertion order: block k is the k-th inserted
        for i in range(0, BLOCK, 64):
            w("    " + ",".join(str(x) for x in t[i:i + 64]) + ",")
    w("};")
    w("")
    w("/* The classes of U+0000..U+007F, for scanners' ASCII fast paths. */")
    w("static const uint8_t pt_tok_class_ascii_[128] = {")
    for i in range(0, 128, 32):
        w("    " + ",".join(str(x) for x in classes[i:i + 32]) + ",")
    w("};")
    w("")
    w("/* The PT_TOK_* class of code point cp; PT_TOK_OTHER for cp > U+10FFFF. */")
    w("static inline unsigned pt_tok_class(uint32_t cp) {")
    w("    if (cp >= 0x110000) return PT_TOK_OTHER;")
    w(f"    return pt_tok_class_stage2_[(uint32_t)pt_tok_class_stage1_[cp >> 8] * {BLOCK}u + (cp & {BLOCK - 1}u)];")
    w("}")
    w("")
    w("#endif")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"{path}: Unicode {uv}, {len(blocks)} distinct blocks, "
          f"{len(index) + len(blocks) * BLOCK} bytes of tables", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true",
                    help=f"generate even if this Python's Unicode version is not {EXPECTED_UNICODE}")
    ap.add_argument("-o", "--output", default="src/tok/unicode_classes.h")
    ap.add_argument("--verify", action="store_true",
                    help="also compare with the regex module, tiktoken and tokenizers (slow: a minute or two)")
    ap.add_argument("--no-write", action="store_true", help="do not write the header (with --verify)")
    args = ap.parse_args()
    uv = unicodedata.unidata_version
    if uv != EXPECTED_UNICODE and not args.force:
        sys.exit(f"this Python ({sys.version.split()[0]}) has Unicode {uv}; the reference is {EXPECTED_UNICODE} "
                 "(Python 3.11). Run it with python3.11, or pass --force to generate anyway.")
    check_white_space()
    classes = [class_of(cp) for cp in range(NCP)]
    if not args.no_write:
        write_header(args.output, classes, uv)
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
