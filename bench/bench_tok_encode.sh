#!/usr/bin/env bash
# Encoding speed of `parrot tokenizer encode` (GPT-2's tokenizer, ~100 MB of real Python as
# JSON Lines) on 1 and 2 threads, beside tiktoken's native encoder in the same run
# (encode_ordinary, one thread; encode_ordinary_batch on 2 threads), and a check that every
# id is the same. parrot figures are medians of 3, tiktoken's the best of 3.
set -euo pipefail
cd "$(dirname "$0")/.."
P=${PARROT:-build/parrot}
PY=${PYTHON:-build/venv/bin/python}
O=bench/out
mkdir -p "$O"
bench/prepare.sh > /dev/null
IN="$O/tok_input.jsonl"
[ -f "$IN" ] || "$PY" - build/bench-data/src "$IN" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
total = 0
with open(out, "w") as f:
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".py"): continue
            try: text = open(os.path.join(root, name), encoding="utf-8").read()
            except UnicodeDecodeError: continue
            f.write(json.dumps({"content": text}) + "\n")
            total += len(text.encode())
            if total > 100e6: sys.exit(0)
PY
for th in 1 2; do
    ts=()
    for i in 1 2 3; do
        t0=$(date +%s.%N)
        # to stdout, redirected: with -o FILE the figure would include fsyncing ~190 MB of ids
        "$P" tokenizer encode --tokenizer tests/data/gpt2 --jsonl --format bin --threads $th "$IN" > "$O/ids_$th.bin"
        t1=$(date +%s.%N)
        ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
    done
    printf '%s\n' "${ts[@]}" | sort -g | awk 'NR==2' > "$O/tok_t$th"
done
"$PY" - "$IN" "$O/ids_1.bin" "$O/ids_2.bin" "$(cat "$O/tok_t1")" "$(cat "$O/tok_t2")" <<'PY'
import json, struct, sys, time
sys.path.insert(0, "tools")
from make_tok_fixture import tiktoken_gpt2
inp, b1, b2, t1, t2 = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
docs = [json.loads(l)["content"] for l in open(inp)]
nbytes = sum(len(d.encode()) for d in docs)
enc = tiktoken_gpt2("tests/data/gpt2")
best1 = best2 = 1e30
for _ in range(3):
    t0 = time.perf_counter(); ref = [enc.encode_ordinary(d) for d in docs]; best1 = min(best1, time.perf_counter() - t0)
    t0 = time.perf_counter(); enc.encode_ordinary_batch(docs, num_threads=2); best2 = min(best2, time.perf_counter() - t0)
def read_bin(path):
    data = open(path, "rb").read()
    assert data[:8] == b"PARROTID", path
    hs = struct.unpack_from("<I", data, 12)[0]
    out, p = [], hs
    while p < len(data):
        n = struct.unpack_from("<I", data, p)[0]; p += 4
        out.append(list(struct.unpack_from("<%dI" % n, data, p))); p += 4 * n
    return out
same = read_bin(b1) == ref and read_bin(b2) == ref
mb = nbytes / 1e6
print("input: %d documents, %.1f MB of Python (JSON Lines), %d tokens" % (len(docs), mb, sum(map(len, ref))))
print("parrot tokenizer encode, 1 thread    %6.2f s  %6.1f MB/s   (median of 3, JSON reading and id writing included)" % (t1, mb / t1))
print("parrot tokenizer encode, 2 threads   %6.2f s  %6.1f MB/s" % (t2, mb / t2))
print("tiktoken encode_ordinary, 1 thread   %6.2f s  %6.1f MB/s   (best of 3, in memory)" % (best1, mb / best1))
print("tiktoken encode_ordinary_batch, 2    %6.2f s  %6.1f MB/s" % (best2, mb / best2))
print("ratios: 1 thread %.1fx tiktoken; 2 threads %.1fx tiktoken on 2 threads; ids identical: %s"
      % (best1 / t1, best2 / t2, "yes" if same else "NO"))
sys.exit(0 if same else 1)
PY
