#!/usr/bin/env bash
# Fetches >= 100 MB of real Python source for the benchmarks: the .py files of a few of
# Debian's python3-* packages (apt-get download + dpkg-deb -x; nothing is installed),
# plus the machine's own standard library. Idempotent; output in build/bench-data.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench-data
[ -f "$out/.ready" ] && exit 0
mkdir -p "$out/debs" "$out/x"
pkgs="python3-sympy python3-django python3-twisted python3-scipy python3-pandas python3-sklearn python3-matplotlib
      python3-numpy python3-babel python3-setuptools"
( cd "$out/debs" && apt-get download $pkgs >/dev/null 2>&1 ) || { echo "bench/prepare.sh: apt-get download failed (run apt-get update?)" >&2; exit 1; }
for d in "$out"/debs/*.deb; do dpkg-deb -x "$d" "$out/x"; done
mkdir -p "$out/src"
rm -rf "$out/src/dist-packages" "$out/src/stdlib"
mv "$out/x/usr/lib/python3/dist-packages" "$out/src/dist-packages"
cp -r "$(ls -d /usr/lib/python3.[0-9]* | sort -V | tail -1)" "$out/src/stdlib"
rm -rf "$out/x"
find "$out/src" -name '__pycache__' -prune -exec rm -rf {} +
find "$out/src" -type f ! -name '*.py' -delete
touch "$out/.ready"
find "$out/src" -name '*.py' -printf '%s\n' | awk '{s+=$1} END {printf "bench data: %.1f MB of Python in build/bench-data/src\n", s/1e6}'
