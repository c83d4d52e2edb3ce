#!/usr/bin/env bash
# Data-parallel scaling (issue 8): tokens/s of `mpirun -np 2 parrot train --threads 1` (2 ranks × 1 thread,
# plain all-reduce and --zero 1) beside `parrot train --threads 2` (1 rank × 2 threads) on the same global
# batch, for mini (V=32768, global batch 8 × 256) and gpt2 (V=50257, 4 × 256). The configurations alternate
# within each round (this machine is shared and noisy); each figure is the median over rounds of a run's
# median step after the warm-up step. Also the share of the step spent in the collectives (rank 0's log).
#
# Usage: bench/bench_dist.sh [ROUNDS] [MODELS...]   (default 3 rounds; mini gpt2). Data as bench_train.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PARROT=${PARROT:-build/parrot}
rounds=${1:-3}; shift || true
models=${*:-mini gpt2}
steps=4 warm=1
D=build/bench-data/train
OUT=bench/out/dist
mkdir -p "$D" "$OUT"
ldd "$PARROT" | grep -q libmpi || { echo "bench_dist: $PARROT is built without MPI (make deps; make)"; exit 0; }
MPI=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
stdlib=$(ls -d /usr/lib/python3.*/ | sort -V | tail -1)
[ -d "$D/corpus" ] || "$PARROT" corpus build -q -o "$D/corpus" "$stdlib" > /dev/null
[ -f "$D/tok32k.json" ] || "$PARROT" tokenizer train -q -o "$D/tok32k.json" --vocab-size 32768 "$D/corpus"
[ -d "$D/data50k" ] || "$PARROT" pack -q --corpus "$D/corpus" --tokenizer tests/data/gpt2 -o "$D/data50k"
[ -d "$D/data32k" ] || "$PARROT" pack -q --corpus "$D/corpus" --tokenizer "$D/tok32k.json" -o "$D/data32k"

median_tps() { # RUN: the median tokens/s of the steps after the warm-up
    python3 - "$1/metrics.jsonl" "$warm" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l][int(sys.argv[2]):]
print("%.1f" % statistics.median(r["tokens_per_sec"] for r in rows))
EOF
}
comm_share() { # RUN: "X%" of the step time in the collectives, from rank 0's log
    sed -n 's/.*collectives.* took \([0-9.]*%\) of the step time.*/\1/p' "$1/log.txt" | tail -1
}

printf '%-5s %-26s %10s %10s %12s\n' model config tokens/s "vs 1x2" collectives
for m in $models; do
    case $m in
        mini) B=8; data="$D/data32k" ;;
        gpt2) B=4; data="$D/data50k" ;;
        *) echo "unknown model $m"; exit 2 ;;
    esac
    common=(--data "$data" --model "$m" --seq-len 256 --max-steps $steps --warmup-steps 1000 --max-eval-batches 1 -q)
    declare -A res=() comm=()
    for ((r = 0; r < rounds; r++)); do
        rm -rf "$OUT/a" "$OUT/b" "$OUT/c"
        "$PARROT" train "${common[@]}" -b $B --threads 2 --out "$OUT/a" 2> /dev/null
        "${MPI[@]}" -np 2 "$PARROT" train "${common[@]}" -b $((B / 2)) --threads 1 --out "$OUT/b" 2> /dev/null
        "${MPI[@]}" -np 2 "$PARROT" train "${common[@]}" -b $((B / 2)) --threads 1 --zero 1 --out "$OUT/c" 2> /dev/null
        res[a]+="$(median_tps "$OUT/a") " res[b]+="$(median_tps "$OUT/b") " res[c]+="$(median_tps "$OUT/c") "
        comm[b]+="$(comm_share "$OUT/b") " comm[c]+="$(comm_share "$OUT/c") "
    done
    med() { python3 -c "import statistics,sys; print('%.1f' % statistics.median(float(x.rstrip('%')) for x in sys.argv[1:]))" $1; }
    a=$(med "${res[a]}")
    for k in a b c; do
        case $k in a) name="1 rank x 2 threads" ;; b) name="2 ranks x 1 thread" ;; c) name="2 ranks x 1 thread, zero 1" ;; esac
        v=$(med "${res[$k]}")
        share=-; [ $k != a ] && share="$(med "${comm[$k]}")%"
        printf '%-5s %-26s %10s %10s %12s\n' "$m" "$name" "$v" "$(python3 -c "print('%.2f' % ($v / $a))")" "$share"
    done
    echo "      (rounds: 1x2 ${res[a]}| 2x1 ${res[b]}| 2x1 zero ${res[c]})"
    unset res comm
done
