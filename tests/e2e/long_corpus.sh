#!/usr/bin/env bash
# The long tier (make test-long): the corpus checks at benchmark scale, on ~120 MB of real
# Python from Debian packages (bench/prepare.sh fetches it): parrot and the Python reference
# keep the same documents with the same copies; 1 and 2 threads give byte-identical corpora
# with near dedup on.
. "$(dirname "$0")/lib.sh"
bench/prepare.sh > /dev/null || { fail long_data "bench/prepare.sh failed"; exit 1; }
SRC=build/bench-data/src
"$PARROT" corpus build -q -o "$T/c" --no-near-dedup --valid-fraction 0 "$SRC" || fail long_build
"$PYTHON" tools/corpus_ref.py "$SRC" > "$T/ref.jsonl"
"$PARROT" corpus cat "$T/c" --split all | "$PYTHON" -c '
import json, sys
ours = {(d["repo_name"], d["path"]): d["exact_copies"] for d in map(json.loads, sys.stdin)}
ref = {(d["repo_name"], d["path"]): d["copies"] for d in map(json.loads, open(sys.argv[1]))}
print(len(ours), len(ref))
sys.exit(0 if ours == ref and len(ours) > 1000 else 1)' "$T/ref.jsonl" > "$T/cmp.txt" \
    && ok "same_as_python_at_scale: $(cat "$T/cmp.txt")" || fail same_as_python_at_scale "$(cat "$T/cmp.txt")"
"$PARROT" corpus build -q -o "$T/t1" --threads 1 "$SRC" && "$PARROT" corpus build -q -o "$T/t2" --threads 2 "$SRC"
if cmp -s <("$PARROT" corpus cat "$T/t1" --split all) <("$PARROT" corpus cat "$T/t2" --split all); then
    ok same_at_any_thread_count_at_scale
else
    fail same_at_any_thread_count_at_scale
fi
