#!/usr/bin/env bash
# The process group under a real launcher: build/tests/test_dist under `mpirun -np 2` and `-np 3`
# (rank 0 prints its tests' lines, renamed np2_* / np3_*), the description of the group, and a rank
# that calls pt_dist_abort ending the whole job quickly with a non-zero status.
# A build without MPI (NO_MPI=1, or no mpicc) cannot run several ranks: then only its refusal of a
# launcher's environment is checked, and a line says the multi-rank tests did not run. A build with
# MPI needs a working mpirun: its absence is a failure, not a skip.
. "$(dirname "$0")/lib.sh"
B=${BUILD:-build}/tests/test_dist
[ -x "$B" ] || { fail dist "$B not built"; exit 0; }

if grep -qa "this build has no MPI" "$B"; then
    check_fails dist_nompi_refuses_launcher "this build has no MPI" env PMI_SIZE=2 PMI_RANK=0 "$B" --probe
    echo "# dist: this build has no MPI: the multi-rank tests did not run (install libopenmpi-dev openmpi-bin, rebuild)"
    exit 0
fi
command -v mpirun > /dev/null || { fail dist_mpirun "the build has MPI but mpirun is not on PATH"; exit 0; }
# Open MPI's own allocations are still held at exit: not ours, but LeakSanitizer would fail a
# sanitized build on them (the single-process run of test_dist, in tests/run.sh, keeps leak checks).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN=(timeout 300 mpirun --allow-run-as-root --oversubscribe)

for np in 2 3; do
    "${MPIRUN[@]}" -np $np "$B" > "$T/np$np.out" 2>&1; rc=$?
    sed -n "s/^ok /ok np${np}_/p; s/^FAIL /FAIL np${np}_/p" "$T/np$np.out"
    if [ $rc -ne 0 ]; then fail "dist_np${np}_exit" "exit $rc: $(grep -v '^ok ' "$T/np$np.out" | tail -8)"
    elif ! grep -q '^# [1-9][0-9]* passed, 0 failed' "$T/np$np.out"; then fail "dist_np${np}_exit" "no summary line"
    else ok "dist_np${np}_exit"; fi
done

check dist_describe sh -c "${MPIRUN[*]} -np 2 $B --probe 2>&1 | grep -q '^MPI: .*, 2 ranks on 1 machine\$'"

# pt_dist_abort on rank 1 while rank 0 waits in a barrier: the job ends, non-zero, in well under 20 s
t0=$(date +%s%N)
"${MPIRUN[@]}" -np 2 "$B" --abort-on-rank 1 > "$T/abort.out" 2>&1; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $rc -eq 0 ]; then fail dist_abort "the job exited 0"
elif [ $rc -eq 124 ]; then fail dist_abort "the job did not end (killed after 300 s)"
elif [ $ms -ge 20000 ]; then fail dist_abort "the job took $ms ms to end"
elif ! grep -q 'aborting the job' "$T/abort.out"; then fail dist_abort "rank 1 did not abort: $(tail -5 "$T/abort.out")"
else ok dist_abort; echo "# dist_abort: the job ended with status $rc after $ms ms"; fi
