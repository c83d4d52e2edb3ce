#!/usr/bin/env python3
"""PyTorch peer of parrot's training-throughput benchmark (issue 5, "How well").

Trains the same GPT-2 as parrot (tools/gen_gpt2_fixtures.py's GPT2 class: HF's GPT2LMHeadModel math,
lm head tied to wte) on random token batches, fp32, with the CodeParrot step: AdamW with decay on
matrices and embeddings only, gradient clipping at 1.0, the warmup+cosine schedule. Attention is
F.scaled_dot_product_attention(is_causal=True) where torch has it (>= 2.0), else HF's explicit
masked softmax; GELU is F.gelu(approximate="tanh") (gelu_new, one kernel). Default optimizer
settings, as a user gets them.

Prints the machine's state (load, a short SGEMM probe: the machine is shared), each step's time, then
one JSON line (last line of stdout):
  {"impl": "torch <version>", "model", "B", "T", "V", "threads", "omp_wait_policy", "params", "attention",
   "tokens_per_sec" (B*T / median step time), "step_ms_median", "mfu", "step_ms", "loadavg",
   "sgemm_probe_gflops" (before, after)}
mfu = tokens_per_sec * (6*N + 12*L*T*C) / 435e9: N counts the tied embedding once, 435 GFLOP/s is
the fp32 FMA peak of this machine's 2 cores (AVX-512 at ~3.4 GHz).

Usage (2 threads, warm-up steps excluded, median of the timed ones):
  /usr/bin/python3 bench/train_torch.py --model mini -B 8 -T 256 --steps 5      # Debian torch 1.13
  build/venv-torch/bin/python bench/train_torch.py --model gpt2 -B 4 -T 256     # PyPI torch
(`make deps-torch` makes build/venv-torch.)
"""
import argparse
import json
import os
import statistics
import sys
import time

# The same OpenMP environment as parrot (its main sets OMP_WAIT_POLICY=passive unless the caller set
# it): on shared cores spinning worker threads slow every step many times over. Must be set before
# torch loads its OpenMP runtime; an OMP_WAIT_POLICY already in the environment is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from gen_gpt2_fixtures import GPT2, cosine_lambda  # noqa: E402

MODELS = {  # name: (n_layer, n_embd, n_head, n_positions, default vocab, default B, default T)
    "tiny": (4, 256, 4, 256, 32768, 8, 256),
    "mini": (6, 384, 6, 512, 32768, 8, 256),
    "gpt2": (12, 768, 12, 1024, 50257, 4, 256),
}
PEAK_FLOPS = 435e9


def machine_probe():
    """What the machine gives right now (it is shared): the 1-minute load average and a short
    1024^3 SGEMM in torch at the benchmark's thread count, in GFLOP/s (~390 peak-ish when idle with
    AVX-512 kernels; much less while others run)."""
    a = torch.randn(1024, 1024)
    a @ a
    t0 = time.perf_counter()
    for _ in range(5):
        a @ a
    gflops = 5 * 2 * 1024 ** 3 / (time.perf_counter() - t0) / 1e9
    try:
        with open("/proc/loadavg") as f:
            load = float(f.read().split()[0])
    except OSError:
        load = -1.0
    return round(load, 2), round(gflops, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="mini")
    ap.add_argument("--vocab", type=int, help="vocabulary size (default: 32768, 50257 for gpt2)")
    ap.add_argument("-B", type=int, help="micro-batch size (default: 8, 4 for gpt2)")
    ap.add_argument("-T", type=int, help="sequence length (default: 256)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps (median taken)")
    ap.add_argument("--warmup-steps", type=int, default=2, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=5e-4)
    args = ap.parse_args()

    L, C, NH, P, V, B, T = MODELS[args.model]
    V = args.vocab or V
    B = args.B or B
    T = args.T or T
    if T > P:
        ap.error(f"-T {T} exceeds the model's {P} positions")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    sdpa = hasattr(F, "scaled_dot_product_attention")

    model = GPT2(V, P, C, NH, L, attn="sdpa" if sdpa else "hf", gelu="fused")
    model.init_hf(torch.Generator().manual_seed(args.seed))
    model.train()
    N = model.num_params()
    opt = torch.optim.AdamW(model.param_groups(0.1), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_lambda(args.lr, 0.0, 2000, 150000))
    g = torch.Generator().manual_seed(args.seed + 1)
    total = args.warmup_steps + args.steps
    batches = torch.randint(0, V, (total, B, T + 1), generator=g)

    load0, probe0 = machine_probe()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads (OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}), model {args.model} "
          f"(L={L} C={C} NH={NH} V={V}), {N:,} parameters, B={B} T={T}, "
          f"attention {'sdpa' if sdpa else 'manual'}; load {load0}, sgemm probe {probe0} GFLOP/s", flush=True)
    times = []
    for s in range(total):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        _, loss = model(batches[s, :, :-1], batches[s, :, 1:])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        lv = loss.item()
        dt = time.perf_counter() - t0
        timed = s >= args.warmup_steps
        if timed:
            times.append(dt)
        print(f"step {s:3d}{'' if timed else ' (warm-up)'}: loss {lv:.4f} norm {float(norm):.3f} "
              f"{dt * 1e3:9.1f} ms {B * T / dt:8.1f} tok/s", flush=True)

    load1, probe1 = machine_probe()
    print(f"after: load {load1}, sgemm probe {probe1} GFLOP/s", flush=True)
    med = statistics.median(times)
    tps = B * T / med
    flops_per_token = 6 * N + 12 * L * T * C
    print(json.dumps({
        "impl": f"torch {torch.__version__}", "model": args.model, "B": B, "T": T, "V": V,
        "threads": args.threads, "omp_wait_policy": os.environ["OMP_WAIT_POLICY"], "params": N, "attention": "sdpa" if sdpa else "manual",
        "steps": len(times), "tokens_per_sec": round(tps, 1), "step_ms_median": round(med * 1e3, 1),
        "mfu": round(tps * flops_per_token / PEAK_FLOPS, 4),
        "step_ms": [round(t * 1e3, 1) for t in times],
        "loadavg": [load0, load1], "sgemm_probe_gflops": [probe0, probe1],
    }))


if __name__ == "__main__":
    main()
