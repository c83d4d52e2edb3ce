#!/usr/bin/env bash
# GFLOP/s of parrot's matrix products (forward, dinp, dw) at the shapes of `mini` (M = B·T = 2048)
# and `gpt2` (M = 1024), beside OpenBLAS's cblas_sgemm on the same operands in the same run
# (apt-get install libopenblas-dev; without it, ours only). Two threads, median of RUNS (default 5)
# runs. OpenBLAS is run with OPENBLAS_CORETYPE=Haswell (its AVX2 kernels, what this environment
# sets), then with SkylakeX (its AVX-512 kernels) when a small check shows they run on this CPU.
#
#     bench/bench_matmul.sh [mini|gpt2|all]      env: THREADS (2), RUNS (5), CPUTIME=1 for -c,
#                                                 OMP_WAIT_POLICY (default here: passive)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}/bench/bench_matmul
[ -x "$B" ] || make -s "$B" > /dev/null
which=${1:-all}
args=(-r "${RUNS:-5}")
[ "${CPUTIME:-0}" = 1 ] && args+=(-c)
export OMP_NUM_THREADS=${THREADS:-2}
# libgomp's default spin-waiting collapses when the cores are oversubscribed (a shared machine: a
# 67x129x257 product took 12-20 ms instead of 0.05): waiting threads sleep unless the caller says.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
OPENBLAS_CORETYPE=Haswell "$B" "${args[@]}" "$which"
if OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=1 "$B" -r 1 tiny 2> /dev/null | grep -q 'core SkylakeX'; then
    echo
    OPENBLAS_CORETYPE=SkylakeX "$B" "${args[@]}" "$which"
else
    echo "# OPENBLAS_CORETYPE=SkylakeX: OpenBLAS's AVX-512 kernels do not run on this CPU (or no OpenBLAS): skipped"
fi
