#!/usr/bin/env bash
# `parrot corpus build` speed on >= 100 MB of real Python files, warm page cache, beside
# its peer measured in the same run: tools/corpus_ref.py, the same steps 1-4 written the
# way CodeParrot's preprocessing.py does them. Then near dedup: its cost from 10 to 100 MB
# of input, and its clusters against datasketch's MinHashLSH (bench/near_dedup_compare.py).
#   BENCH_RUNS=3 (parrot runs per figure; the median is reported)  BENCH_THREADS=2
set -euo pipefail
cd "$(dirname "$0")/.."
P=${PARROT:-build/parrot}
PY=${PYTHON:-build/venv/bin/python}
RUNS=${BENCH_RUNS:-3}
TH=${BENCH_THREADS:-2}
SRC=build/bench-data/src
O=bench/out
mkdir -p "$O"
bytes=$(find "$SRC" -name '*.py' -printf '%s\n' | awk '{s+=$1} END {print s}')
files=$(find "$SRC" -name '*.py' | wc -l)
echo "input: $SRC: $files files, $(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}') MB; $(nproc) cores; threads $TH"
find "$SRC" -name '*.py' -print0 | xargs -0 cat > /dev/null  # warm the page cache

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run_parrot() { # label, flags...
    local label=$1; shift
    local ts=()
    for i in $(seq 1 "$RUNS"); do
        rm -rf "$O/c"
        local t0 t1
        t0=$(date +%s.%N)
        "$P" corpus build -q --force -o "$O/c" --threads "$TH" "$@" "$SRC"
        t1=$(date +%s.%N)
        ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
    done
    local med
    med=$(printf '%s\n' "${ts[@]}" | median)
    local rss
    rss=$("$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["resources"]["peak_rss_bytes"])' "$O/c/manifest.json")
    printf '%-34s median %6.2f s of %d runs (%s)  %7.1f MB/s  peak RSS %.0f MB\n' "$label" "$med" "$RUNS" \
        "$(printf '%s ' "${ts[@]}" | awk '{for(i=1;i<=NF;i++) printf "%.2f ", $i}')" \
        "$(awk -v b="$bytes" -v t="$med" 'BEGIN{print b/1e6/t}')" "$(awk -v r="$rss" 'BEGIN{print r/1e6}')"
    echo "$med"  > "$O/last_median"
}
run_parrot "parrot, no near dedup" --no-near-dedup
t_nonear=$(cat "$O/last_median")
cp "$O/c/manifest.json" "$O/manifest_nonear.json"
"$P" corpus cat "$O/c" --split all > "$O/kept_nonear.jsonl"
run_parrot "parrot, with near dedup" 
t_near=$(cat "$O/last_median")
cp "$O/c/manifest.json" "$O/manifest_near.json"
"$P" corpus cat "$O/c" --split all > "$O/kept_near.jsonl"
py_peer() { # label, flags...: one run of tools/corpus_ref.py; prints and leaves its seconds in $O/last_py
    local label=$1; shift
    local t0 t1 t
    t0=$(date +%s.%N)
    "$PY" tools/corpus_ref.py --json "$@" "$SRC" > "$O/ref.json"
    t1=$(date +%s.%N)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
    printf '%-34s        %6.2f s (1 run)             %7.1f MB/s\n' "$label" "$t" "$(awk -v b="$bytes" -v t="$t" 'BEGIN{print b/1e6/t}')"
    echo "$t" > "$O/last_py"
}
py_peer "python, CodeParrot's code (--literal)" --literal
t_lit=$(cat "$O/last_py")
py_peer "python, whole-text str methods" 
t_py=$(cat "$O/last_py")
"$PY" - "$O/manifest_nonear.json" "$O/ref.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
out = m["steps"][-2]["out"]["docs"]
print("same documents kept as the python reference: parrot %d, python %d" % (out, r["docs_out"]))
PY
awk -v l="$t_lit" -v a="$t_py" -v b="$t_nonear" -v c="$t_near" 'BEGIN{printf "ratios (no near dedup): parrot is %.1fx CodeParrot'"'"'s python and %.1fx the faster python; near dedup costs %.2fx the time without\n", l/b, a/b, c/b}'
"$PY" - "$O/manifest_near.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
st = {s["step"]: s for s in m["steps"]}
n = st["size"]["in"]["docs"]; staged = st["near_dedup"]["in"]["docs"]
r = m["resources"]
print("memory: peak RSS %.1f MB for %d input docs (%d reached near dedup); exact-dedup table %.1f MB for %d distinct"
      % (r["peak_rss_bytes"] / 1e6, n, staged, m["exact_dedup"]["table_bytes"] / 1e6, m["exact_dedup"]["distinct"]))
nd = m["near_dedup"]
print("near dedup: %d signed, %d candidate pairs, %d clusters, %d docs in clusters, %d dropped, %.2f s"
      % (nd["signed_docs"], nd["candidate_pairs"], nd["clusters"], nd["docs_in_clusters"], nd["dropped"], nd["seconds"]))
PY

echo "-- near dedup cost from 10 to 100 MB of input (JSON Lines prefixes of the same files; $TH threads; medians of 3)"
"$PY" - "$SRC" "$O" <<'PY'
import json, os, sys
src, o = sys.argv[1], sys.argv[2]
paths = []
for root, dirs, files in os.walk(src):
    dirs.sort()
    for f in sorted(files):
        if f.endswith(".py"): paths.append(os.path.join(root, f))
targets = [10e6, 25e6, 50e6, 100e6]
outs = [open(os.path.join(o, "prefix_%d.jsonl" % int(t / 1e6)), "w") for t in targets]
total = 0
for p in paths:
    c = open(p, "rb").read().decode("utf-8", "surrogateescape")
    try: c.encode("utf-8")
    except UnicodeEncodeError: continue
    line = json.dumps({"repo_name": "bench", "path": os.path.relpath(p, src), "content": c}) + "\n"
    total += len(c.encode())
    for t, f in zip(targets, outs):
        if total <= t: f.write(line)
for f in outs: f.close()
PY
median3() { # command...: median wall seconds of 3 runs
    local ts=() t0 t1
    for i in 1 2 3; do
        t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N)
        ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
    done
    printf '%s\n' "${ts[@]}" | median
}
for mb in 10 25 50 100; do
    a=$(median3 "$P" corpus build -q --force -o "$O/p0" --threads "$TH" --no-near-dedup "$O/prefix_$mb.jsonl")
    b=$(median3 "$P" corpus build -q --force -o "$O/p" --threads "$TH" "$O/prefix_$mb.jsonl")
    "$PY" - "$O/p/manifest.json" "$mb" "$a" "$b" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); r = m["resources"]; st = {s["step"]: s for s in m["steps"]}
mb, a, b = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print("  %3.0f MB: %5d docs into near dedup; build %.2f s without, %.2f s with: near dedup costs %.2f s"
      " (%.1f ms/MB; LSH+clusters %.3f s), peak RSS %.0f MB"
      % (mb, st["near_dedup"]["in"]["docs"], a, b, b - a, 1000 * (b - a) / mb, r["near_dedup_seconds"],
         r["peak_rss_bytes"] / 1e6))
PY
done
echo "-- clusters against datasketch's MinHashLSH (CodeParrot's minhash_deduplication.py method) on the same documents"
"$PY" bench/near_dedup_compare.py "$O/kept_nonear.jsonl" --kept "$O/kept_near.jsonl" \
    --parrot-seconds "$(awk -v a="$t_near" -v b="$t_nonear" 'BEGIN{print a-b}')"  # its whole cost: signatures too
