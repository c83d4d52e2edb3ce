#!/usr/bin/env bash
# Data-parallel `parrot train` under mpirun, real processes: 2 ranks × batch B give the losses of 1 rank ×
# 2B (to the reduction order), ZeRO-1 gives bit-identical weights to the plain all-reduce (2 and 3 ranks); a checkpoint of
# 2 ranks resumes on 2 (bit for bit) and on 1 (the per-rank batch doubled); streaming mode with 2 ranks
# resumes bit for bit and refuses another rank count; SIGKILL of one rank ends the job within seconds
# naming the rank, with the last checkpoint intact and resumable; SIGTERM to one rank stops every rank at
# the same step with a checkpoint; rank 0 alone writes RUN/log.txt and the metrics, each rank its log.
. "$(dirname "$0")/lib.sh"
[ -x "$PARROT" ] || { fail train_dist "$PARROT not built"; exit 0; }
if ! ldd "$PARROT" | grep -q libmpi; then
    # a build without MPI: a launcher's environment is refused rather than run as N separate trainings
    check_fails train_dist_no_mpi "this build has no MPI" env OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 \
        "$PARROT" train --dry-run --data /nonexistent
    exit 0
fi
command -v mpirun > /dev/null || { fail train_dist "parrot is built with MPI but mpirun is missing (make deps)"; exit 0; }
# under the sanitizers: Open MPI's own allocations outlive MPI_Finalize (the single-process runs' leak checks are
# train.sh's)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPI=(mpirun --allow-run-as-root --oversubscribe)
[ "$(id -u)" = 0 ] || MPI=(mpirun --oversubscribe)

"$PARROT" corpus build -q -o "$T/c" --valid-fraction 0.2 "$DATA/cpython/Lib" > /dev/null 2> "$T/err" &&
"$PARROT" tokenizer train -q -o "$T/tok.json" --vocab-size 700 "$T/c" 2> "$T/err" &&
"$PARROT" pack -q --corpus "$T/c" --tokenizer "$T/tok.json" -o "$T/d" 2> "$T/err" ||
    { fail train_dist_setup "$(tail -3 "$T/err")"; exit 0; }

# 91,776 parameters: two ZeRO-1 segments of 65,536 and 26,240 (segments start at norm-chunk boundaries)
M=(--data "$T/d" --model tiny --n-layer 2 --n-embd 48 --n-head 2 --n-positions 32 --warmup-steps 3 --lr 3e-3
   --max-eval-batches 2 --threads 1 -q)
losses() { grep '"loss"' "$1/metrics.jsonl" | sed 's/.*"loss": \([^,]*\),.*/\1/'; }
# the losses and norms of a run, without the timing fields
trace() { grep '"loss"' "$1/metrics.jsonl" | sed 's/, "tokens_per_sec.*//'; }

check dist_one_rank "$PARROT" train "${M[@]}" -b 8 --max-steps 20 --out "$T/r1"
check dist_two_ranks "${MPI[@]}" -np 2 "$PARROT" train "${M[@]}" -b 4 --max-steps 20 --save-every 10 --out "$T/r2"
check dist_two_ranks_zero "${MPI[@]}" -np 2 "$PARROT" train "${M[@]}" -b 4 --max-steps 20 --zero 1 --out "$T/z2"
close() { # the losses of runs $1 and $2 (steps 1-20, or 11-20 of a resumed run) agree to 1e-4 relative, and
          # are equal over the first $3 steps
    "$PYTHON" -c '
import sys
a = [float(x) for x in open(sys.argv[1]).read().split()]
b = [float(x) for x in open(sys.argv[2]).read().split()]
same = int(sys.argv[3])
assert len(a) == 20 and len(b) in (10, 20), (len(a), len(b))
a = a[-len(b):]
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
assert worst < 1e-4, worst
assert a[:same] == b[:same], (a[:same], b[:same])
' <(losses "$1") <(losses "$2") "$3"
}
# step 1: the same weights and windows, only the sum over the batch split in two
check dist_same_losses_as_one_rank close "$T/r1" "$T/r2" 1
check dist_zero_same_losses_as_one_rank close "$T/r1" "$T/z2" 1
check dist_zero_bit_identical sh -c "[ \"\$(trace $T/r2)\" = \"\$(trace $T/z2)\" ]"
# 3 ranks (uneven segments, three-way sums): ZeRO-1 still bit-identical to the plain path
check dist_three_ranks "${MPI[@]}" -np 3 "$PARROT" train "${M[@]}" -b 2 --max-steps 6 --out "$T/r3"
check dist_three_ranks_zero "${MPI[@]}" -np 3 "$PARROT" train "${M[@]}" -b 2 --max-steps 6 --zero 1 --out "$T/z3"
check dist_three_ranks_zero_identical cmp "$T/r3/ckpt-00000006.ckpt" "$T/z3/ckpt-00000006.ckpt"
check dist_rank_logs test -s "$T/r2/log/rank-0.txt" -a -s "$T/r2/log/rank-1.txt" -a -s "$T/r2/log.txt"
check dist_rank0_writes_once sh -c "[ \$(grep -c '^saved' $T/r2/log.txt) = 2 ] && [ \$(grep -c '\"loss\"' $T/r2/metrics.jsonl) = 20 ]"
check dist_plan_shows_zero sh -c "grep -q 'ZeRO-1' $T/z2/log.txt && grep -q 'memory plan per rank' $T/z2/log/rank-1.txt"

# gradient accumulation: micro-steps before the last communicate nothing; the same windows per step as 1 rank
check dist_accum "${MPI[@]}" -np 2 "$PARROT" train "${M[@]}" -b 2 --grad-accum 2 --max-steps 20 --out "$T/a2"
check dist_accum_one_rank "$PARROT" train "${M[@]}" -b 4 --grad-accum 2 --max-steps 20 --out "$T/a1"
check dist_accum_same_losses close "$T/a1" "$T/a2" 0

# an error on one rank alone (its log file cannot be opened) ends the job, naming the rank and the file
mkdir -p "$T/e/log/rank-1.txt"
start=$SECONDS
check_fails dist_one_rank_error "rank 1 of 2: .*rank-1.txt" timeout 60 "${MPI[@]}" -np 2 "$PARROT" train "${M[@]}" \
    -b 4 --max-steps 1000 --out "$T/e"
[ $((SECONDS - start)) -lt 30 ] && ok dist_one_rank_error_quick || fail dist_one_rank_error_quick "$((SECONDS - start)) s"

# the ranks of one machine share its memory: a plan that one process could hold, two are refused
avail_mb=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
bigB=$((avail_mb * 3 / 4 * 1000 / 121))  # ~0.121 MB of activations per window of this model at T=32
check_fails dist_memory_shared "available to each of this machine's ranks" timeout 60 "${MPI[@]}" -np 2 "$PARROT" \
    train --data "$T/d" --model tiny --n-layer 1 --n-embd 32 --n-head 2 --n-positions 32 -b $bigB --threads 1 \
    --max-steps 1 --out "$T/mem" -q

# resume: the step-10 checkpoint of 2 ranks (ZeRO-1 moments gathered into it) on 2 ranks, 1 rank, 3 ranks
for x in k2 k1 k3; do mkdir -p "$T/$x" && cp "$T/r2/ckpt-00000010.ckpt" "$T/$x/"; done
check dist_resume_on_two "${MPI[@]}" -np 2 "$PARROT" train --out "$T/k2" --resume --zero 1 --threads 1 \
    --max-eval-batches 2 -q
check dist_resume_on_two_identical cmp "$T/k2/ckpt-00000020.ckpt" "$T/r2/ckpt-00000020.ckpt"
check dist_resume_on_one "$PARROT" train --out "$T/k1" --resume --threads 1 --max-eval-batches 2 -q
check dist_resume_on_one_batch grep -q '1 rank × 8 × 32' "$T/k1/log.txt"
check dist_resume_on_one_close close "$T/r2" "$T/k1" 1
check_fails dist_resume_on_three_refused "2 ranks of batch 4 .* 3 ranks cannot share" \
    "${MPI[@]}" -np 3 "$PARROT" train --out "$T/k3" --resume --threads 1 -q

# ranks that drift apart (here: launched with different learning rates, Open MPI's MPMD syntax) are caught at the
# first checkpoint, before one is written
check_fails dist_diverged_ranks "weights of rank 1 differ from rank 0" timeout 60 "${MPI[@]}" \
    -np 1 "$PARROT" train "${M[@]}" -b 4 --max-steps 4 --out "$T/div" : \
    -np 1 "$PARROT" train "${M[@]}" -b 4 --max-steps 4 --out "$T/div" --lr 1e-3
check dist_diverged_no_checkpoint sh -c "! ls $T/div/ckpt-*.ckpt 2> /dev/null"

# a damaged checkpoint: rank 0 verifies it (the others do not read it whole) and every rank refuses it
mkdir -p "$T/bad" && cp "$T/r2/ckpt-00000010.ckpt" "$T/bad/"
printf '\x7f' | dd of="$T/bad/ckpt-00000010.ckpt" bs=1 seek=4000 conv=notrunc 2> /dev/null
check_fails dist_resume_corrupt "rank 0 of 2: .*content hash mismatch" timeout 60 "${MPI[@]}" -np 2 "$PARROT" train \
    --out "$T/bad" --resume --threads 1 -q

# streaming mode: each rank deals itself every other window; positions of both ranks in the checkpoint
S=(--stream "$T/c" --tokenizer "$T/tok.json" --model tiny --n-layer 1 --n-embd 32 --n-head 2 --n-positions 32 -b 2
   --warmup-steps 2 --threads 1 -q)
check dist_stream "${MPI[@]}" -np 2 "$PARROT" train "${S[@]}" --max-steps 8 --save-every 4 --out "$T/s2"
mkdir -p "$T/s2r" "$T/s1r" && cp "$T/s2/ckpt-00000004.ckpt" "$T/s2r/" && cp "$T/s2/ckpt-00000004.ckpt" "$T/s1r/"
check dist_stream_resume "${MPI[@]}" -np 2 "$PARROT" train --out "$T/s2r" --resume --threads 1 -q
check dist_stream_resume_same sh -c "[ \"\$(trace $T/s2)\" = \"\$(trace $T/s2r)\" ]"
check_fails dist_stream_other_rank_count "written by 2 ranks streaming" "$PARROT" train --out "$T/s1r" --resume -q

# SIGKILL of rank 1 mid-run: the job ends within seconds, naming the rank; the newest checkpoint resumes
K=("${M[@]}" -b 4 --max-steps 60 --save-every 10)
"${MPI[@]}" -np 2 "$PARROT" train "${K[@]}" --out "$T/kill" > "$T/kill.out" 2>&1 &
job=$!
rank_pid() { # the pid of rank $1 of the job
    local p
    for p in $(pgrep -f "parrot train .*--out $T/$2"); do
        tr '\0' '\n' < /proc/$p/environ 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && { echo $p; return; }
    done
}
for _ in $(seq 600); do [ -f "$T/kill/ckpt-00000020.ckpt" ] && break; sleep 0.05; done
victim=$(rank_pid 1 kill)
if [ -z "$victim" ]; then
    fail dist_kill "rank 1 not found (the run ended before a checkpoint at step 20?)"; wait $job
else
    t0=$(date +%s.%N); kill -9 "$victim"
    for _ in $(seq 300); do kill -0 $job 2> /dev/null || break; sleep 0.1; done
    if kill -0 $job 2> /dev/null; then fail dist_kill_ends_job "still running 30 s after rank 1 was killed"; kill -9 $job
    else ok dist_kill_ends_job; fi
    wait $job; rc=$?
    echo "$(date +%s.%N) - $t0" | bc > "$T/kill.secs"
    [ $rc -ne 0 ] && ok dist_kill_exit_status || fail dist_kill_exit_status "exit 0"
    check dist_kill_names_rank grep -q 'rank 1 .*exited on signal 9' "$T/kill.out"
    last=$(ls "$T/kill"/ckpt-*.ckpt | tail -1)
    check dist_kill_resume "${MPI[@]}" -np 2 "$PARROT" train --out "$T/kill" --resume --threads 1 -q
    check dist_kill_resume_finished test -f "$T/kill/ckpt-00000060.ckpt"
    check dist_kill_last_ckpt_was_intact sh -c "grep -q 'resuming $last' $T/kill/log.txt"
fi

# SIGTERM to one rank: every rank stops at the same step, rank 0 checkpoints it, exit 130 (interrupted)
"${MPI[@]}" -np 2 "$PARROT" train "${M[@]}" -b 4 --max-steps 100000 --save-every 1000 --out "$T/term" \
    > "$T/term.out" 2>&1 &
job=$!
for _ in $(seq 600); do [ "$(cat "$T/term/metrics.jsonl" 2> /dev/null | grep -c '"loss"')" -ge 5 ] && break; sleep 0.05; done
victim=$(rank_pid 1 term)
[ -n "$victim" ] && kill -TERM "$victim"
for _ in $(seq 300); do kill -0 $job 2> /dev/null || break; sleep 0.1; done
kill -0 $job 2> /dev/null && { fail dist_term_stops "still running"; kill -9 $job; }
wait $job
check dist_term_checkpoint sh -c "n=\$(grep -c '\"loss\"' $T/term/metrics.jsonl); test -f $T/term/ckpt-\$(printf %08d \$n).ckpt"
check dist_term_message grep -q 'interrupted at step' "$T/term.out"

# Ctrl-C on mpirun (it passes the signal on to the ranks): every rank stops at one step, rank 0 checkpoints it and
# alone says so
"${MPI[@]}" -np 2 "$PARROT" train "${M[@]}" -b 4 --max-steps 100000 --save-every 1000 --out "$T/int" \
    > "$T/int.out" 2>&1 &
job=$!
for _ in $(seq 600); do [ "$(cat "$T/int/metrics.jsonl" 2> /dev/null | grep -c '"loss"')" -ge 5 ] && break; sleep 0.05; done
kill -INT $job
for _ in $(seq 300); do kill -0 $job 2> /dev/null || break; sleep 0.1; done
kill -0 $job 2> /dev/null && { fail dist_ctrl_c_stops "still running"; kill -9 $job; }
wait $job
check dist_ctrl_c_checkpoint sh -c "n=\$(grep -c '\"loss\"' $T/int/metrics.jsonl); test -f $T/int/ckpt-\$(printf %08d \$n).ckpt"
check dist_ctrl_c_one_message sh -c "[ \$(grep -c 'interrupted at step' $T/int.out) = 1 ]"
