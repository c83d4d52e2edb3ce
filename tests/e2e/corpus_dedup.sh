#!/usr/bin/env bash
# Planted exact and near duplicates among real CPython files are removed; the unique
# files are all kept; the kept first occurrences record their copies.
. "$(dirname "$0")/lib.sh"
"$PYTHON" tests/e2e/plant.py "$DATA/cpython/Lib" "$T/in" > "$T/planted.txt" || { fail plant "plant.py failed"; exit 1; }
# The reference: the originals alone, no near dedup.
"$PARROT" corpus build -q -o "$T/ref" --no-near-dedup --valid-fraction 0 "$T/in/orig" || fail build_ref
"$PARROT" corpus cat "$T/ref" --split all | "$PYTHON" -c '
import json,sys
for l in sys.stdin: print(json.loads(l)["path"])' | sort > "$T/ref_paths.txt"
check build_planted "$PARROT" corpus build -q -o "$T/out" --valid-fraction 0 "$T/in"
"$PARROT" corpus cat "$T/out" --split all > "$T/out.jsonl"
"$PYTHON" - "$T/out.jsonl" "$T/planted.txt" "$T/ref_paths.txt" > "$T/check.txt" <<'PY'
import json, sys
kept = {}
for l in open(sys.argv[1]):
    d = json.loads(l)
    kept[d["path"]] = d
planted = [l.split() for l in open(sys.argv[2])]
ref = set("orig/" + l.strip() for l in open(sys.argv[3]))
bad = []
nexact = sum(1 for k, _, _ in planted if k == "exact")
nnear = sum(1 for k, _, _ in planted if k == "near")
for kind, p, orig in planted:
    if p in kept: bad.append("%s duplicate kept: %s" % (kind, p))
    if orig in ref and orig not in kept: bad.append("original dropped: %s (for %s)" % (orig, p))
    if kind == "exact" and orig in kept and kept[orig]["exact_copies"] < 2:
        bad.append("exact copies not counted on %s" % orig)
    if kind == "near" and orig in kept and kept[orig]["near_copies"] < 1:
        bad.append("near copies not counted on %s" % orig)
missing = sorted(ref - set(kept))
if missing: bad.append("unique files dropped: %s" % missing)
extra = sorted(set(kept) - ref)
if extra: bad.append("kept beyond the originals: %s" % extra)
print("planted %d exact, %d near; kept %d; problems %d" % (nexact, nnear, len(kept), len(bad)))
for b in bad: print(b)
sys.exit(1 if bad or nexact < 5 or nnear < 5 else 0)
PY
if [ $? -eq 0 ]; then ok planted_duplicates_removed; else fail planted_duplicates_removed "$(head -20 "$T/check.txt")"; fi
# The manifest counts them under their steps.
"$PARROT" corpus stats --json "$T/out" > "$T/m.json"
nex=$(grep -c '^exact' "$T/planted.txt"); nnear=$(grep -c '^near' "$T/planted.txt")
"$PYTHON" - "$T/m.json" "$nex" "$nnear" <<'PY' && ok manifest_counts || fail manifest_counts "$("$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); print([s["dropped"] for s in m["steps"]])' "$T/m.json")"
import json, sys
m = json.load(open(sys.argv[1]))
steps = {s["step"]: s for s in m["steps"]}
assert steps["exact_dedup"]["dropped"]["exact_dup"]["docs"] >= int(sys.argv[2])
assert steps["near_dedup"]["dropped"]["near_dup"]["docs"] >= int(sys.argv[3])
PY
# Same result at 1 and 2 threads, byte for byte.
"$PARROT" corpus build -q -o "$T/t1" --threads 1 "$T/in" && "$PARROT" corpus build -q -o "$T/t2" --threads 2 "$T/in"
if cmp -s <("$PARROT" corpus cat "$T/t1" --split all) <("$PARROT" corpus cat "$T/t2" --split all); then ok same_at_any_thread_count
else fail same_at_any_thread_count; fi
