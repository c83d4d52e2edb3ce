#!/usr/bin/env bash
# `parrot train` end to end on real data (tests/data/cpython packed with a small tokenizer trained on it):
# the run folder's files (checkpoints, log.txt, metrics.jsonl with its keys, TensorBoard events read by
# TensorBoard's own EventAccumulator); the same seed gives bit-identical losses, another seed others;
# SIGKILL at a random step and SIGKILL during a checkpoint write, then --resume, give the losses of an
# uninterrupted run bit for bit; SIGINT checkpoints and exits 130; a diverging run stops naming the step
# and leaves the last good checkpoint newest; --dry-run; a plan larger than memory refused; bad input.
. "$(dirname "$0")/lib.sh"
[ -x "$PARROT" ] || { fail train "$PARROT not built"; exit 0; }

"$PARROT" corpus build -q -o "$T/c" --valid-fraction 0.2 "$DATA/cpython/Lib" > /dev/null 2> "$T/err" &&
"$PARROT" tokenizer train -q -o "$T/tok.json" --vocab-size 700 "$T/c" 2> "$T/err" &&
"$PARROT" pack -q --corpus "$T/c" --tokenizer "$T/tok.json" -o "$T/d" 2> "$T/err" ||
    { fail train_setup "$(tail -3 "$T/err")"; exit 0; }

# a small model, so the whole script takes seconds
M=(--data "$T/d" --model tiny --n-layer 2 --n-embd 48 --n-head 2 --n-positions 32 -b 4 --warmup-steps 3
   --lr 3e-3 --threads 2 -q)
nsteps() { cat "$1/metrics.jsonl" 2> /dev/null | grep -c '"loss"'; }

check train_run "$PARROT" train "${M[@]}" --max-steps 16 --eval-every 8 --max-eval-batches 3 --save-every 8 --out "$T/a"
check train_files test -f "$T/a/ckpt-00000008.ckpt" -a -f "$T/a/ckpt-00000016.ckpt" -a -s "$T/a/log.txt"
check train_metrics "$PYTHON" -c '
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in rows if "loss" in r]
evals = [r for r in rows if "eval_loss" in r]
assert [r["step"] for r in steps] == list(range(1, 17)), [r["step"] for r in steps]
for r in steps:
    assert set(r) == {"step", "loss", "lr", "grad_norm", "tokens_per_sec", "mfu"}, r
    assert math.isfinite(r["loss"]) and r["tokens_per_sec"] > 0 and r["mfu"] >= 0  # < 1 unless the peak was misread
assert [r["step"] for r in evals] == [8, 16], evals
for r in evals:
    assert abs(math.exp(r["eval_loss"]) - r["perplexity"]) < 1e-6 * r["perplexity"]
assert steps[0]["lr"] == 0 and abs(steps[3]["lr"] - 3e-3) < 1e-12           # HF: step 0 at lr 0, peak after warm-up
assert sum(r["loss"] for r in steps[-4:]) < sum(r["loss"] for r in steps[:4])  # it learns
' "$T/a/metrics.jsonl"
check train_tensorboard "$PYTHON" -c '
import glob, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
files = glob.glob(sys.argv[1] + "/tb/*tfevents*")
assert len(files) == 1, files
ea = EventAccumulator(sys.argv[1] + "/tb"); ea.Reload()
tags = set(ea.Tags()["scalars"])
want = {"loss/train", "loss/eval", "perplexity", "lr", "grad_norm", "tokens_per_sec"}
assert want <= tags, tags
assert [e.step for e in ea.Scalars("loss/train")] == list(range(1, 17))
assert [e.step for e in ea.Scalars("loss/eval")] == [8, 16]
' "$T/a"

# reproducibility: same seed same losses; another seed other losses
check train_same_seed sh -c "$PARROT train ${M[*]} --max-steps 16 --eval-every 8 --max-eval-batches 3 --out $T/b &&
    [ \"\$(grep '\"loss\"' $T/a/metrics.jsonl | sed 's/, \"tokens_per_sec.*//')\" = \"\$(grep '\"loss\"' $T/b/metrics.jsonl | sed 's/, \"tokens_per_sec.*//')\" ]"
"$PARROT" train "${M[@]}" --max-steps 4 --seed 2 --out "$T/s2" 2> /dev/null
[ "$(head -1 "$T/a/metrics.jsonl" | cut -d, -f2)" != "$(head -1 "$T/s2/metrics.jsonl" | cut -d, -f2)" ] &&
    ok train_other_seed_differs || fail train_other_seed_differs "seed 2 gave seed 1's first loss"

# SIGKILL at a random step, then --resume: the losses of the uninterrupted run, bit for bit
R=(--max-steps 16 --eval-every 8 --max-eval-batches 3 --save-every 2)
"$PARROT" train "${M[@]}" "${R[@]}" --out "$T/ref" 2> /dev/null
"$PARROT" train "${M[@]}" "${R[@]}" --out "$T/k" 2> /dev/null &
pid=$!
stop=$(( (RANDOM % 10) + 3 ))
while kill -0 $pid 2> /dev/null && [ "$(nsteps "$T/k")" -lt $stop ]; do sleep 0.01; done
kill -9 $pid 2> /dev/null; wait $pid 2> /dev/null
check train_killed_has_ckpt sh -c "ls $T/k/ckpt-*.ckpt"
check train_resume_after_kill "$PARROT" train --out "$T/k" --resume --threads 2 -q
check train_resume_after_kill_same sh -c "[ \"\$(grep '\"loss\"' $T/ref/metrics.jsonl | sed 's/, \"tokens_per_sec.*//')\" = \"\$(grep '\"loss\"' $T/k/metrics.jsonl | sed 's/, \"tokens_per_sec.*//')\" ]"

# SIGKILL while a checkpoint is being written (a wider model, so a write takes a while): the half
# file never counts; the resumed run matches
W=(--data "$T/d" --n-layer 2 --n-embd 384 --n-head 2 --n-positions 32 -b 2 --warmup-steps 3 --lr 1e-3
   --threads 2 -q --max-steps 6 --save-every 1)
"$PARROT" train "${W[@]}" --out "$T/wref" 2> /dev/null
"$PARROT" train "${W[@]}" --out "$T/w" 2> /dev/null &
pid=$!
caught=0
while kill -0 $pid 2> /dev/null; do  # until the run ends (slow builds included)
    if compgen -G "$T/w/ckpt-0000000[2-5].ckpt.tmp-*" > /dev/null; then kill -9 $pid; caught=1; break; fi
done
wait $pid 2> /dev/null
[ $caught = 1 ] && ok train_kill_during_write || fail train_kill_during_write "never saw a checkpoint being written"
check train_resume_after_write_kill "$PARROT" train --out "$T/w" --resume --threads 2 -q
check train_no_tmp_left sh -c "! ls $T/w/*.tmp-* 2> /dev/null"
check train_resume_after_write_kill_same sh -c "[ \"\$(grep '\"loss\"' $T/wref/metrics.jsonl | sed 's/, \"tokens_per_sec.*//')\" = \"\$(grep '\"loss\"' $T/w/metrics.jsonl | sed 's/, \"tokens_per_sec.*//')\" ]"

# SIGINT: a checkpoint of the step reached, exit 130, and --resume finishes the run
"$PARROT" train "${M[@]}" --max-steps 400 --out "$T/i" 2> /dev/null &
pid=$!
while kill -0 $pid 2> /dev/null && [ "$(nsteps "$T/i")" -lt 3 ]; do sleep 0.01; done
kill -INT $pid; wait $pid; rc=$?
[ $rc = 130 ] && ok train_sigint_exit || fail train_sigint_exit "exit $rc, want 130"
check train_sigint_ckpt sh -c "ls $T/i/ckpt-*.ckpt"

# divergence: stops naming the step, the good checkpoint stays the newest
check_fails train_nonfinite "step [0-9]+: the (loss|gradient norm) is not finite" \
    "$PARROT" train "${M[@]}" --max-steps 10 --warmup-steps 0 --lr 1e30 --grad-clip 0 --save-every 1 --out "$T/nan"
check train_nonfinite_ckpt_ok "$PARROT" train --out "$T/nan" --resume --dry-run -q

# --dry-run, memory refusal, bad input
check train_dry_run sh -c "$PARROT train --data $T/d --model mini --dry-run 2>&1 | grep -q 'parameters' "
check_fails train_too_big "needs [0-9.]+ GB .* available" "$PARROT" train --data "$T/d" --model gpt2-xl --n-layer 2000 --out "$T/big"
check_fails train_no_data "$T/none" "$PARROT" train --data "$T/none" --out "$T/x"
check_fails train_resume_nothing "holds no checkpoint" "$PARROT" train --out "$T/d" --resume
check_fails train_bad_model "unknown model" "$PARROT" train --data "$T/d" --model gpt5 --out "$T/x"
check_fails train_bad_seq "exceeds the model's 32 positions" "$PARROT" train "${M[@]}" --seq-len 64 --out "$T/x"
check_fails train_bad_flag "bad value" "$PARROT" train --data "$T/d" --lr abc --out "$T/x"

# streaming mode: tokenized on the fly from the corpus folder
check train_stream "$PARROT" train --stream "$T/c" --tokenizer "$T/tok.json" --model tiny --n-layer 1 --n-embd 32 \
    --n-head 2 --n-positions 32 -b 2 --max-steps 4 --threads 2 -q --out "$T/st"
check train_stream_metrics sh -c "[ \$(grep -c '\"loss\"' $T/st/metrics.jsonl) = 4 ]"
# streaming resume: killed after its step-2 checkpoint, --resume alone (the inputs come from the checkpoint)
# gives the losses of the uninterrupted run
S=(--stream "$T/c" --tokenizer "$T/tok.json" --model tiny --n-layer 1 --n-embd 32 --n-head 2 --n-positions 32 -b 2
   --max-steps 6 --threads 2 -q)
"$PARROT" train "${S[@]}" --out "$T/sref" 2> /dev/null
"$PARROT" train "${S[@]}" --save-every 2 --out "$T/sk" 2> /dev/null
rm -f "$T/sk/ckpt-00000004.ckpt" "$T/sk/ckpt-00000006.ckpt"
check train_stream_resume "$PARROT" train --out "$T/sk" --resume --threads 2 -q
check train_stream_resume_same sh -c "[ \"\$(grep '\"loss\"' $T/sref/metrics.jsonl | sed 's/, \"tokens_per_sec.*//')\" = \"\$(grep '\"loss\"' $T/sk/metrics.jsonl | sed 's/, \"tokens_per_sec.*//')\" ]"
