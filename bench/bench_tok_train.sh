#!/usr/bin/env bash
# `parrot tokenizer train` at vocabulary 32768 on >= 100 MB of real Python files (warm page
# cache) beside its peer in the same run: Hugging Face tokenizers' BpeTrainer with the same
# settings and documents (the CodeParrot call: ByteLevel add_prefix_space false, 256-symbol
# alphabet, <|endoftext|>, whole files through train_from_iterator, its own threads). Both
# outputs are checked equal (vocabulary and ordered merges); wall time and peak RSS of each.
#   BENCH_RUNS=3 (parrot runs; the median is reported)  BENCH_THREADS=2  BENCH_VOCAB=32768
set -euo pipefail
cd "$(dirname "$0")/.."
P=${PARROT:-build/parrot}
PY=${PYTHON:-build/venv/bin/python}
RUNS=${BENCH_RUNS:-3}
TH=${BENCH_THREADS:-2}
V=${BENCH_VOCAB:-32768}
SRC=build/bench-data/src
O=bench/out/tok_train
mkdir -p "$O"
bytes=$(find "$SRC" -name '*.py' -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "input: $SRC: $(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}') MB of .py; $(nproc) cores; threads $TH; vocab $V"
find "$SRC" -name '*.py' -print0 | xargs -0 cat > /dev/null # warm the page cache

cat >"$O/hf_train.py" <<'PY'
import os, sys
from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
out, vocab, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def docs():  # the files parrot reads: .py, symbolic links skipped
    for r, ds, fs in os.walk(root):
        for n in sorted(fs):
            p = os.path.join(r, n)
            if n.endswith(".py") and not os.path.islink(p):
                yield open(p, "rb").read().decode("utf-8")
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
tr = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<|endoftext|>"],
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
tok.train_from_iterator(docs(), trainer=tr)
tok.save(out)
PY

timed() { # OUTFILE-PREFIX CMD...: prints "SECONDS PEAK_KB"
    local pre=$1; shift
    /usr/bin/time -f "%e %M" -o "$pre.time" "$@" > "$pre.log" 2>&1
    cat "$pre.time"
}
ts=()
for i in $(seq 1 "$RUNS"); do
    read -r t kb < <(timed "$O/pt" "$P" tokenizer train -v -o "$O/parrot.json" --vocab-size "$V" --threads "$TH" "$SRC")
    ts+=("$t")
    pkb=$kb
done
pt=$(printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
grep -E "counted|learned" "$O/pt.log" | sed 's/^/  parrot: /'
read -r hf hkb < <(RAYON_NUM_THREADS=$TH timed "$O/hf" "$PY" "$O/hf_train.py" "$O/hf.json" "$V" "$SRC")
same=$("$PY" - "$O/hf.json" "$O/parrot.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["model"] for p in sys.argv[1:3])
m = lambda x: [tuple(p) if isinstance(p, list) else tuple(p.split(" ")) for p in x["merges"]]
print("identical" if a["vocab"] == b["vocab"] and m(a) == m(b) else "DIFFERENT", f"(vocab {len(b['vocab'])}, {len(m(b))} merges)")
PY
)
mb=$(awk -v b="$bytes" 'BEGIN{print b/1e6}')
printf 'parrot tokenizer train  median %6.2f s of %d (%s)  %6.1f MB/s  peak RSS %5.0f MB\n' "$pt" "$RUNS" "${ts[*]}" \
    "$(awk -v m="$mb" -v t="$pt" 'BEGIN{print m/t}')" "$(awk -v k="$pkb" 'BEGIN{print k/1024}')"
printf 'tokenizers BpeTrainer          %6.2f s            %6.1f MB/s  peak RSS %5.0f MB\n' "$hf" \
    "$(awk -v m="$mb" -v t="$hf" 'BEGIN{print m/t}')" "$(awk -v k="$hkb" 'BEGIN{print k/1024}')"
printf 'speed-up %.1fx, memory %.2fx of tokenizers; outputs %s\n' "$(awk -v a="$hf" -v b="$pt" 'BEGIN{print a/b}')" \
    "$(awk -v a="$pkb" -v b="$hkb" 'BEGIN{print a/b}')" "$same"
case $same in identical*) ;; *) exit 1 ;; esac
