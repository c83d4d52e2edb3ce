#!/usr/bin/env bash
# The main job: `parrot demo` runs the pipeline on a Python standard library and shows the
# report and some kept documents; run again it replaces its earlier output.
. "$(dirname "$0")/lib.sh"
"$PARROT" demo --out "$T/d" --stdlib "$DATA/cpython/Lib" > "$T/out.txt" 2> "$T/err.txt"
[ $? -eq 0 ] && ok demo_runs || fail demo_runs "$(tail -5 "$T/err.txt")"
grep -q "6 split: train" "$T/out.txt" && grep -q "^--- Lib/" "$T/out.txt" && ok demo_shows_report_and_documents \
    || fail demo_shows_report_and_documents "$(head -30 "$T/out.txt")"
check demo_reruns "$PARROT" demo --out "$T/d" --stdlib "$DATA/cpython/Lib"
check corpus_is_usable "$PARROT" corpus stats "$T/d/corpus"
# on the machine's own standard library, as `make demo` does, when there is one
if ls -d /usr/lib/python3.*/os.py >/dev/null 2>&1; then
    check demo_machine_stdlib "$PARROT" demo --out "$T/m" -q
fi
check_fails demo_bad_stdlib "cannot read input" "$PARROT" demo --out "$T/x" --stdlib "$T/none"
