#!/usr/bin/env bash
# Installs PyTorch as a user gets it today (PyPI's current `torch`) into build/venv-torch, for the
# PyTorch peer of the training benchmark (bench/train_torch.py). Not needed by `make test`.
#
# PyPI's default Linux x86_64 wheel depends on the nvidia-*-cu12 packages (several GB) even for CPU
# use: its import loads them, so they cannot be left out with --no-deps. The CPU-only wheels live on
# another index, which this project does not use, so we take the default wheel and run it on the CPU.
#
# Usage: tools/install_torch_bench.sh [VENV]   (default build/venv-torch; rerunning is harmless)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-build/venv-torch}
python=${PYTHON:-/usr/bin/python3}
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --upgrade --no-cache-dir torch numpy
"$venv/bin/python" -c 'import torch, torch.nn.functional as F; print("torch", torch.__version__, "sdpa:", hasattr(F, "scaled_dot_product_attention"))'
