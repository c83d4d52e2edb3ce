# Helpers for end-to-end tests: sourced by tests/e2e/*.sh. Each check prints "ok NAME" or
# "FAIL NAME" with the reason. T is a fresh scratch directory removed at exit.
set -u
PARROT=${PARROT:-build/parrot}
PYTHON=${PYTHON:-build/venv/bin/python}
DATA=${PT_TESTDATA:-tests/data}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ok() { echo "ok $1"; }
fail() { echo "FAIL $1${2:+: $2}"; }
# check NAME CMD...: passes when CMD exits 0
check() { local n=$1; shift; if "$@" >"$T/.out" 2>&1; then ok "$n"; else fail "$n" "$(tail -5 "$T/.out")"; fi; }
# check_fails NAME PATTERN CMD...: passes when CMD exits non-zero and its stderr matches PATTERN
check_fails() {
    local n=$1 pat=$2; shift 2
    if "$@" >"$T/.out" 2>&1; then fail "$n" "succeeded but should have failed"; 
    elif grep -qE -- "$pat" "$T/.out"; then ok "$n"; else fail "$n" "message does not match /$pat/: $(tail -3 "$T/.out")"; fi
}
