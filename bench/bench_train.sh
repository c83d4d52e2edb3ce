#!/usr/bin/env bash
# Training throughput (issue 5): `parrot train` beside the same GPT-2 step in PyTorch (bench/train_torch.py),
# both on 2 threads, same B/T/V and weight tying, warm-up steps excluded, median of the timed steps:
#   mini (V=32768, B=8, T=256) and gpt2 (V=50257, B=4, T=256)
# PyTorch as Debian ships it (/usr/bin/python3, torch 1.13) and as PyPI ships it today (build/venv-torch,
# made by `make deps-torch`; skipped when absent). Also the data loader's share of the step time
# for `tiny` in shard and streaming modes (issue: < 1%).
#
# Usage: bench/bench_train.sh [STEPS] [MODELS...]    (default 7 steps: 2 warm-up + 5 timed; mini gpt2)
# Data: the corpus of this machine's Python standard library, packed with GPT-2's tokenizer (V=50257) and
# with a 32768-id tokenizer trained on it; cached in build/bench-data/train.
set -euo pipefail
cd "$(dirname "$0")/.."
PARROT=${PARROT:-build/parrot}
steps=${1:-7}; shift || true
models=${*:-mini gpt2}
warm=2
D=build/bench-data/train
OUT=bench/out
mkdir -p "$D" "$OUT"
stdlib=$(ls -d /usr/lib/python3.*/ | sort -V | tail -1)

if [ ! -d "$D/corpus" ]; then "$PARROT" corpus build -q -o "$D/corpus" "$stdlib" > /dev/null; fi
if [ ! -f "$D/tok32k.json" ]; then "$PARROT" tokenizer train -q -o "$D/tok32k.json" --vocab-size 32768 "$D/corpus"; fi
[ -d "$D/data50k" ] || "$PARROT" pack -q --corpus "$D/corpus" --tokenizer tests/data/gpt2 -o "$D/data50k"
[ -d "$D/data32k" ] || "$PARROT" pack -q --corpus "$D/corpus" --tokenizer "$D/tok32k.json" -o "$D/data32k"

# MFU of both against one peak: this machine's fp32 FMA peak on 2 cores, measured (bench/peak_flops.c)
PEAK=${PEAK:-$(build/bench/peak_flops 2)}
flops_per_token() { # model V T: 6N + 12LTC, N with the tied embedding once
    python3 -c "
L, C, P = {'tiny': (4, 256, 256), 'mini': (6, 384, 512), 'gpt2': (12, 768, 1024)}['$1']
V, T = $2, $3
N = V*C + P*C + L*(12*C*C + 13*C) + 2*C
print(6*N + 12*L*T*C)"
}
echo "peak: $(python3 -c "print('%.1f' % ($PEAK/1e9))") GFLOP/s (2 cores, fp32 FMA, measured); MFU = tokens/s x (6N + 12LTC) / peak"

# median tokens/s of parrot's steps after the warm-up ones
parrot_run() { # model data B T
    local run="$OUT/train_$1"
    rm -rf "$run"
    "$PARROT" train -q --data "$2" --model "$1" -b "$3" --seq-len "$4" --max-steps "$steps" --warmup-steps 1000 \
        --threads 2 --peak-flops "$PEAK" --out "$run" 2> "$OUT/train_$1.log"
    python3 - "$run/metrics.jsonl" "$warm" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l][int(sys.argv[2]):]
print("%.1f" % statistics.median(r["tokens_per_sec"] for r in rows))
EOF
}
torch_run() { # python model V B T
    "$1" bench/train_torch.py --model "$2" --vocab "$3" -B "$4" -T "$5" --steps $((steps - warm)) --warmup-steps $warm \
        --threads 2 2> /dev/null | tail -1 |
        python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print("%.1f %s" % (r["tokens_per_sec"], r["impl"].replace(" ", "-")))'
}

printf '%-6s %-22s %12s %8s %8s\n' model impl tokens/s MFU "parrot/x"
for m in $models; do
    case $m in
        mini) V=32768; B=8; T=256; data="$D/data32k" ;;
        gpt2) V=50257; B=4; T=256; data="$D/data50k" ;;
        tiny) V=32768; B=8; T=256; data="$D/data32k" ;;
        *) echo "unknown model $m"; exit 2 ;;
    esac
    fpt=$(flops_per_token "$m" $V $T)
    mfu() { python3 -c "print('%.1f' % (100 * $1 * $fpt / $PEAK))"; }
    read -r ptps < <(parrot_run "$m" "$data" $B $T)
    printf '%-6s %-22s %12.1f %7s%% %8s\n' "$m" "parrot" "$ptps" "$(mfu "$ptps")" "1.00"
    for py in /usr/bin/python3 build/venv-torch/bin/python; do
        [ -x "$py" ] && "$py" -c 'import torch' 2> /dev/null || continue
        read -r ttps impl < <(torch_run "$py" "$m" $V $B $T) || continue
        printf '%-6s %-22s %12.1f %7s%% %8.2f\n' "$m" "$impl" "$ttps" "$(mfu "$ttps")" "$(python3 -c "print($ptps/$ttps)")"
    done
done

# the loader's share of the step time, tiny, shards and streaming
for mode in shards stream; do
    run="$OUT/train_loader_$mode"; rm -rf "$run"
    if [ $mode = shards ]; then src=(--data "$D/data32k"); else src=(--stream "$D/corpus" --tokenizer "$D/tok32k.json"); fi
    "$PARROT" train "${src[@]}" --model tiny -b 8 --seq-len 256 --max-steps "$steps" --threads 2 --out "$run" 2>&1 |
        grep -o 'the data loader took [0-9.]*% of the step time' | sed "s/^/tiny $mode: /"
done
