#!/usr/bin/env bash
# Runs every benchmark; each prints its figures beside a named peer measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/prepare.sh
for b in bench/bench_*.sh; do
    echo "== $b"
    bash "$b"
done
