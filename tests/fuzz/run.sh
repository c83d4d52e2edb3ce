#!/usr/bin/env bash
# tests/fuzz/run.sh - the fuzz tier: one libFuzzer target per parser, and a replay driver
# so that the seed corpora are regression tests without libFuzzer.
#
#   tests/fuzz/run.sh [SECONDS]   replay the seeds (gcc + ASan/UBSan), then build each target
#                                 with clang -fsanitize=fuzzer,address,undefined and fuzz it for
#                                 SECONDS (default 60) from tests/fuzz/corpus/TARGET
#   tests/fuzz/run.sh --replay    only the replay: every seed once under gcc + ASan/UBSan
#
# Everything is built into build/fuzz/ from the library sources directly (no libparrot.a, so
# a half-built tree elsewhere does not matter). New inputs go to build/fuzz/corpus/TARGET,
# crashes to build/fuzz/artifacts/TARGET-*, logs to build/fuzz/TARGET.log. Exits non-zero
# if a build fails, a seed fails, or a fuzzer finds a crash, a leak or undefined behaviour.
# To reproduce a crash: build/fuzz/replay_TARGET build/fuzz/artifacts/TARGET-crash-...
set -u
cd "$(dirname "$0")/../.."
OUT=build/fuzz
TARGETS=(fuzz_json fuzz_jsonl fuzz_tokjson fuzz_store fuzz_pretok fuzz_tokens fuzz_safetensors fuzz_ckpt)
LIB=(src/base/json.c src/corpus/jsonl.c src/base/status.c src/base/buf.c src/base/hash.c src/base/jsonw.c
     src/base/fs.c src/base/utf8.c src/tok/pretok.c src/tok/bpe.c src/tok/bpe_encode.c src/tok/tokfile.c
     src/corpus/store.c src/base/shards.c src/data/tokens.c src/hf/safetensors.c src/train/ckpt.c src/model/gpt2.c
     src/base/rng.c)
FLAGS=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -march=native -D_GNU_SOURCE -Isrc
       -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas -fno-sanitize-recover=undefined)
LIBS=(-lz -lm -lpthread -lpcre2-8)
mkdir -p "$OUT/artifacts"
fail=0

replay() {
    for t in "${TARGETS[@]}"; do
        if ! gcc "${FLAGS[@]}" -fsanitize=address,undefined tests/fuzz/replay.c "tests/fuzz/$t.c" "${LIB[@]}" \
            -o "$OUT/replay_$t" "${LIBS[@]}"; then
            echo "FAIL build replay_$t"; fail=1; continue
        fi
        "$OUT/replay_$t" "tests/fuzz/corpus/$t" || fail=1
    done
}

dict_of() { if [ -f "tests/fuzz/$1.dict" ]; then echo "tests/fuzz/$1.dict"; else echo tests/fuzz/json.dict; fi; }

fuzz() { # seconds
    command -v clang >/dev/null || { echo "FAIL clang not found (make deps installs it)"; fail=1; return; }
    for t in "${TARGETS[@]}"; do
        if ! clang "${FLAGS[@]}" -fsanitize=fuzzer,address,undefined "tests/fuzz/$t.c" "${LIB[@]}" \
            -o "$OUT/$t" "${LIBS[@]}"; then
            echo "FAIL build $t"; fail=1; continue
        fi
        mkdir -p "$OUT/corpus/$t"
        echo "fuzzing $t for $1 s (log: $OUT/$t.log)"
        if "$OUT/$t" -max_total_time="$1" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -dict="$(dict_of "$t")" -artifact_prefix="$OUT/artifacts/$t-" \
            "$OUT/corpus/$t" "tests/fuzz/corpus/$t" >"$OUT/$t.log" 2>&1; then
            runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$OUT/$t.log")
            rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$OUT/$t.log")
            cov=$(grep -o 'cov: [0-9]*' "$OUT/$t.log" | tail -n 1)
            echo "ok $t: $runs runs, $rate/s, $cov, $(ls "$OUT/corpus/$t" | wc -l) inputs in $OUT/corpus/$t"
        else
            tail -n 60 "$OUT/$t.log"
            echo "FAIL $t: a crash, leak or undefined behaviour; input in $OUT/artifacts/"
            fail=1
        fi
    done
}

case "${1:-60}" in
--replay) replay ;;
*[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS | --replay]"; exit 2 ;;
*) replay; fuzz "${1:-60}" ;;
esac
exit $fail
