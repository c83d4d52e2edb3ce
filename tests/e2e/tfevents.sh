#!/usr/bin/env bash
# TensorBoard event files (train/tfevents) read by TensorBoard's own EventAccumulator: a run of
# six tags over 40 steps (NaN and infinities included) and a resumed second file whose session
# START at step 30 makes TensorBoard drop the first file's points from step 30 on; every scalar
# must come back with its step, wall time and exact float32 value, and nothing else.
. "$(dirname "$0")/lib.sh"
W=${BUILD:-build}/tests/test_tfevents
[ -x "$W" ] || { fail tfevents "$W not built"; exit 0; }
"$PYTHON" -c 'import tensorboard' 2>/dev/null || { fail tfevents "tensorboard missing from the venv: make deps"; exit 0; }

check tfevents_write sh -c "'$W' --write '$T/run' > '$T/want'"
check tfevents_two_files sh -c "test \$(ls '$T/run' | grep -c '^events\.out\.tfevents\.') -eq 2"
check tfevents_tensorboard_reads "$PYTHON" tools/read_tfevents.py "$T/run" "$T/want"
# the comparison can fail: one value changed in the expectation
sed '5s/ [0-9a-f]\{8\} / 12345678 /' "$T/want" > "$T/want_bad"
check_fails tfevents_detects_difference "differences" "$PYTHON" tools/read_tfevents.py "$T/run" "$T/want_bad"
# a damaged record: TensorBoard stops at it, so the comparison fails
f=$(ls "$T/run"/events.out.tfevents.* | head -1)
"$PYTHON" -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0x40; open(p,"wb").write(b)' "$f"
check_fails tfevents_damage_seen "differences" "$PYTHON" tools/read_tfevents.py "$T/run" "$T/want"
