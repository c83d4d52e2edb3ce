#!/usr/bin/env bash
# Bounded memory: while the input grows tenfold (3 MB -> 30 MB of small, distinct
# documents, so that per-document state dominates), the build's peak memory stays under
# a fixed bound plus a stated number of bytes per document, and the growth between the
# two is no more than that per-document figure explains. Both runs use 1 MB batches, so
# that the fixed part (the batches in flight) is reached by the smaller run too. The
# stated figures (docs/corpus.md):
FIXED_MB=64        # code, 3 batches in flight (arena + records), signature chunk, I/O buffers
PER_DOC=200        # exact-dedup slot (<= 77 B just after a doubling), copies (4 B), near-dedup
                   # (~15 B), the open shard's index record and metadata strings (~56 B + strings)
. "$(dirname "$0")/lib.sh"
# Sanitizer builds keep shadow memory and a quarantine of freed blocks: RSS means nothing there.
[ -n "${PT_SANITIZED:-}" ] && { echo "# memory bound not measured under sanitizers"; exit 0; }
"$PYTHON" tools/gen_synth_corpus.py "$T/s1.jsonl" 3 --seed 1 --doc-bytes 150 350 > /dev/null
"$PYTHON" tools/gen_synth_corpus.py "$T/s10.jsonl" 30 --seed 2 --doc-bytes 150 350 > /dev/null
for s in s1 s10; do
    "$PARROT" corpus build -q -o "$T/$s" --min-size 0 --threads 2 --batch-size 1M --shard-size 1M "$T/$s.jsonl" || fail "build_$s"
done
"$PYTHON" - "$T/s1/manifest.json" "$T/s10/manifest.json" "$FIXED_MB" "$PER_DOC" > "$T/mem.txt" 2>&1 <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
fixed, per = float(sys.argv[3]) * 1e6, float(sys.argv[4])
def facts(m):
    return m["steps"][0]["in"]["docs"], m["steps"][0]["in"]["bytes"], m["resources"]["peak_rss_bytes"]
(d1, b1, r1), (d2, b2, r2) = facts(a), facts(b)
print("1x: %d docs, %.1f MB in, peak %.1f MB; 10x: %d docs, %.1f MB in, peak %.1f MB; growth %.1f B/doc"
      % (d1, b1 / 1e6, r1 / 1e6, d2, b2 / 1e6, r2 / 1e6, (r2 - r1) / (d2 - d1)))
assert b2 > 9 * b1, "the input did not grow tenfold"
assert r1 <= fixed + per * d1, "1x over the bound"
assert r2 <= fixed + per * d2, "10x over the bound"
assert r2 - r1 <= per * (d2 - d1) + 8e6, "grew faster than the per-document figure"
PY
if [ $? -eq 0 ]; then ok "memory_bounded: $(cat "$T/mem.txt")"; else fail memory_bounded "$(cat "$T/mem.txt")"; fi
