#!/usr/bin/env bash
# GB/s of the gradient all-reduce of data-parallel training with 2 ranks on this machine: parrot's
# ring (pt_dist_allreduce) beside MPI's own MPI_Allreduce, on buffers of the size of `mini`'s and
# `gpt2`'s gradients (bench/bench_allreduce.c says what each column means).
#
#     bench/bench_allreduce.sh [mini|gpt2|all]      env: RUNS (5), NP (2)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}/bench/bench_allreduce
[ -x "$B" ] || make -s "$B" > /dev/null
if grep -qa "this build has no MPI" "$B"; then
    echo "# bench_allreduce: this build has no MPI (install libopenmpi-dev openmpi-bin, rebuild): skipped"
    exit 0
fi
command -v mpirun > /dev/null || { echo "bench_allreduce: the build has MPI but mpirun is not on PATH" >&2; exit 1; }
mpirun --allow-run-as-root --oversubscribe -np "${NP:-2}" "$B" -r "${RUNS:-5}" "${1:-all}"
