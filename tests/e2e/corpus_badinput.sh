#!/usr/bin/env bash
# Bad input is counted and reported with its file and line, and the rest is processed:
# malformed JSON lines, lines without a string content, invalid UTF-8 and NUL documents,
# a truncated .gz, an unreadable file; an interrupted build leaves nothing behind.
. "$(dirname "$0")/lib.sh"
"$PYTHON" - "$T" "$DATA/cpython/Lib" <<'PY'
import gzip, json, os, sys
t, lib = sys.argv[1], sys.argv[2]
files = sorted(os.path.join(lib, f) for f in os.listdir(lib) if f.endswith(".py"))
texts = [open(f, encoding="utf-8").read() for f in files]
texts = [x for x in texts if 2000 < len(x) < 100000][:8]
rec = lambda i, c: json.dumps({"repo_name": "r%d" % i, "path": "p%d.py" % i, "content": c, "license": "mit", "size": len(c)})
with open(os.path.join(t, "mixed.jsonl"), "wb") as f:
    f.write((rec(0, texts[0]) + "\n").encode())                          # line 1 good
    f.write(b'{"repo_name": "r", "content": "abc\n')                       # line 2 malformed (unterminated)
    f.write(b'{"repo_name": "r", "path": "no_content.py"}\n')              # line 3 no content
    f.write(b'{"content": 12345}\n')                                       # line 4 content not a string
    f.write((rec(1, texts[1]) + "\n").encode())                          # line 5 good
    bad = rec(2, texts[2]).encode().replace(b"import", b"imp\xff\xfeort", 1)
    f.write(bad + b"\n")                                                   # line 6 invalid UTF-8
    f.write((rec(3, texts[3] + "\ud800") + "\n").encode())               # line 7 lone surrogate
    f.write((rec(4, texts[4] + "\x00") + "\n").encode())                 # line 8 NUL
    f.write(b"\n")                                                         # line 9 blank: ignored
    f.write((rec(5, texts[5]) + "\r\n").encode())                        # line 10 good, CRLF
data = gzip.compress("".join(rec(10 + i, texts[i]) + "\n" for i in range(6)).encode())
open(os.path.join(t, "truncated.jsonl.gz"), "wb").write(data[: len(data) * 2 // 3])
PY
"$PARROT" corpus build -o "$T/c" --no-near-dedup --valid-fraction 0 "$T/mixed.jsonl" "$T/truncated.jsonl.gz" 2> "$T/err.txt" > /dev/null
[ $? -eq 0 ] && ok build_survives_bad_input || fail build_survives_bad_input "$(cat "$T/err.txt")"
for pat in "mixed.jsonl:2" "mixed.jsonl:3" "mixed.jsonl:4" "truncated.jsonl.gz"; do
    grep -q "$pat" "$T/err.txt" && ok "reported_$pat" || fail "reported_$pat" "$(cat "$T/err.txt")"
done
"$PYTHON" - "$T/c/manifest.json" <<'PY' > "$T/m.txt" 2>&1 && ok counted_in_manifest || fail counted_in_manifest "$(cat "$T/m.txt")"
import json, sys
m = json.load(open(sys.argv[1]))
p = m["problems"]
steps = {s["step"]: s for s in m["steps"]}
assert p["bad_lines"]["count"] == 3, p
assert p["fatal_inputs"]["count"] == 1 and "truncated.jsonl.gz" in p["fatal_inputs"]["examples"][0], p
assert steps["text"]["dropped"]["invalid_utf8"]["docs"] == 2, steps["text"]
assert steps["text"]["dropped"]["nul"]["docs"] == 1, steps["text"]
ex = m["dropped_examples"]["invalid_utf8"]
assert any(x.endswith("/mixed.jsonl:6") for x in ex) and any(x.endswith("/mixed.jsonl:7") for x in ex), ex
assert m["inputs"][0]["docs"] == 6 and m["inputs"][1]["docs"] >= 1, m["inputs"]
PY
# the Python reference counts the same bad lines and the same invalid documents
"$PYTHON" tools/corpus_ref.py --json "$T/mixed.jsonl" | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
assert r["bad_lines"] == 3 and r["dropped"]["invalid_utf8"] == 2 and r["dropped"]["nul"] == 1, r' \
    && ok python_reference_agrees_on_bad_input || fail python_reference_agrees_on_bad_input
# the good documents of both files are there (the truncated file's first records too)
n=$("$PARROT" corpus cat "$T/c" --split all | wc -l)
[ "$n" -ge 4 ] && ok good_docs_kept || fail good_docs_kept "only $n documents"
# An unreadable file in a directory: counted and named, the rest read (as an unprivileged user,
# since root reads anything).
mkdir -p "$T/d/sub" && cp "$DATA"/cpython/Lib/*.py "$T/d/sub/" && chmod 000 "$T/d/sub/heapq.py" && chmod -R a+rwX "$T" && chmod 000 "$T/d/sub/heapq.py"
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups "$PARROT" corpus build -o "$T/u" --valid-fraction 0 "$T/d" > /dev/null 2> "$T/err2.txt"
    rc=$?
else
    "$PARROT" corpus build -o "$T/u" --valid-fraction 0 "$T/d" > /dev/null 2> "$T/err2.txt"; rc=$?
fi
[ $rc -eq 0 ] && grep -q "heapq.py: cannot read" "$T/err2.txt" && grep -q '"unreadable": {"count":1' "$T/u/manifest.json" \
    && ok unreadable_file_counted || fail unreadable_file_counted "rc=$rc $(cat "$T/err2.txt")"
# Interrupted: SIGINT mid-build (here while the input is still arriving on a pipe) ends
# the build with exit 130, leaving neither DIR nor its temporary folder.
( cat "$T/mixed.jsonl"; sleep 1; cat "$T/mixed.jsonl" ) | "$PARROT" corpus build -o "$T/int" - > /dev/null 2>&1 &
pid=$!; sleep 0.5; kill -INT $pid; wait $pid; rc=$?
ls -d "$T"/int* >/dev/null 2>&1 && fail interrupted_leaves_nothing "$(ls -d "$T"/int*)" || ok interrupted_leaves_nothing
[ $rc -eq 130 ] && ok interrupted_exit_code || fail interrupted_exit_code "rc=$rc"
