#!/usr/bin/env bash
# Runs every test: the unit-test binaries in $BUILD/tests and the end-to-end scripts in
# tests/e2e (each prints "ok NAME" / "FAIL NAME" lines). A binary or script that exits
# non-zero without reporting a FAIL counts as one failure. Closing line: "N passed, N failed".
#   tests/run.sh [--long] [FILTER]
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export PARROT=${PARROT:-$PWD/$BUILD/parrot}
export PYTHON=${PYTHON:-$PWD/build/venv/bin/python}
export PT_TESTDATA=$PWD/tests/data
long=0; filter=""
for a in "$@"; do case $a in --long) long=1 ;; *) filter=$a ;; esac; done
export PT_LONG=$long
pass=0; fail=0; failed=()
run_one() { # name, command...
    local name=$1; shift
    local out rc
    out=$("$@" 2>&1); rc=$?
    local p f
    p=$(grep -c '^ok ' <<<"$out"); f=$(grep -c '^FAIL ' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; out+=$'\n'"FAIL $name (exit $rc)"; fi
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$f" -gt 0 ]; then failed+=("$name"); printf '%s\n' "$out" | sed "s|^|[$name] |"; 
    else printf '%-40s %d ok\n' "$name" "$p"; fi
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case $t in *.d) continue ;; esac
    name=$(basename "$t")
    [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
    run_one "$name" "$t"
done
for s in tests/e2e/*.sh; do
    [ -f "$s" ] || continue
    name=$(basename "$s" .sh)
    [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
    case $name in lib) continue ;; long_*) [ "$long" = 1 ] || continue ;; *) [ "$long" = 1 ] && continue ;; esac
    run_one "$name" bash "$s"
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
