#!/usr/bin/env python3
"""Writes tests/data/gpt2_fixtures/*.safetensors: what PyTorch computes for small GPT-2 configs.

The C model (src/model/gpt2.c) is tested against these: logits and loss of one batch, the
gradient of every parameter, and the losses of a 10-step AdamW run with weight decay, gradient
clipping and the warmup+cosine schedule, all from the same initial weights.

The model here is a small, faithful re-implementation of Hugging Face's GPT2LMHeadModel in plain
torch (no `transformers` needed): learned positions, pre-LayerNorm blocks (eps 1e-5), causal
multi-head attention with biases, an MLP of 4C with gelu_new, final LayerNorm, an lm head tied to
wte; scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn as HF's GPT2Attention does them.
Its parameters carry parrot's names and [out, in] weights (HF's Conv1D stores [in, out]); one
Block per layer (as HF, and so that the benchmark's backward is not slowed by slicing a stacked
tensor); layout_params() stacks them into parrot's flat layout order.

Truth is computed in float64 from the float32 initial weights (an exact upcast) and rounded to
float32 when written: the C code computes in float32, and float64 keeps the reference's own
rounding out of the comparison. The script also runs the same thing in float32 and prints how
far float32 PyTorch lands from the float64 truth, as a yardstick for the C tolerances.

Fixtures (safetensors, written by hand: u64 LE header length, JSON header padded with spaces to a
multiple of 8, raw little-endian data; dtypes F32 and I32; tensors in the order below):
  plain.safetensors   V=517 P=32 T=19 C=72 NH=3 L=2 B=2, both attention options off:
      param.<name> (parrot's layout order), tokens I32 [B, T+1] (inputs tokens[:, :T], targets
      tokens[:, 1:]), logits F32 [B, T, V], loss F32 [1] (mean cross-entropy), grad.<name>,
      train.tokens I32 [10, B, T+1], train.loss F32 [10] (each step's loss before its update),
      train.lr F32 [10] (lr used by each step), train.grad_norm F32 [10] (norm before clipping).
  scaled.safetensors  the same with scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn
      on: everything but param.* (same initial weights: read them from plain.safetensors).
  accum2.safetensors  config of plain with grad_accum 2: train.* only (initial weights from
      plain.safetensors); train.tokens I32 [10, 2, B, T+1], two micro-batches per step, each
      micro-batch's mean loss divided by 2; train.loss = the sum of those (mean of the two).
The __metadata__ of each holds the config and hyper-parameters as strings, and `params_from`.

Usage: /usr/bin/python3 tools/gen_gpt2_fixtures.py [-o tests/data/gpt2_fixtures]  (Debian's
python3-torch; prints the parameter counts of gpt2 at V=50257 and 32768 as a check).
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

LAYOUT = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
          "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
LAYER_PARAMS = LAYOUT[2:14]
DECAYED = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw"}  # matrices and embeddings


def gelu_new(x):
    """HF's NewGELUActivation (the tanh approximation), written out."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Block(nn.Module):
    def __init__(self, C, layer_idx):
        super().__init__()
        self.layer_idx = layer_idx
        self.ln1w = nn.Parameter(torch.ones(C))           # (C)
        self.ln1b = nn.Parameter(torch.zeros(C))          # (C)
        self.qkvw = nn.Parameter(torch.zeros(3 * C, C))   # (3C, C)
        self.qkvb = nn.Parameter(torch.zeros(3 * C))      # (3C)
        self.attprojw = nn.Parameter(torch.zeros(C, C))   # (C, C)
        self.attprojb = nn.Parameter(torch.zeros(C))      # (C)
        self.ln2w = nn.Parameter(torch.ones(C))           # (C)
        self.ln2b = nn.Parameter(torch.zeros(C))          # (C)
        self.fcw = nn.Parameter(torch.zeros(4 * C, C))    # (4C, C)
        self.fcb = nn.Parameter(torch.zeros(4 * C))       # (4C)
        self.fcprojw = nn.Parameter(torch.zeros(C, 4 * C))  # (C, 4C)
        self.fcprojb = nn.Parameter(torch.zeros(C))       # (C)


class GPT2(nn.Module):
    """GPT2LMHeadModel's math with parrot's parameter names.

    attn: "hf" (HF's eager attention: explicit scores, causal mask with the dtype's minimum,
    softmax; with reorder_and_upcast_attn, its baddbmm path with the scale folded into alpha),
    or "sdpa" (F.scaled_dot_product_attention(is_causal=True), torch >= 2; for benchmarks).
    gelu: "explicit" (the formula above) or "fused" (F.gelu(approximate="tanh"), the same
    function, one kernel; for benchmarks).
    """

    def __init__(self, V, P, C, NH, L, scale_attn_by_inverse_layer_idx=False,
                 reorder_and_upcast_attn=False, attn="hf", gelu="explicit"):
        super().__init__()
        assert C % NH == 0
        self.V, self.P, self.C, self.NH, self.L = V, P, C, NH, L
        self.scale_by_layer = scale_attn_by_inverse_layer_idx
        self.reorder_upcast = reorder_and_upcast_attn
        self.attn_mode, self.gelu_mode = attn, gelu
        self.wte = nn.Parameter(torch.zeros(V, C))  # (V, C), also the lm head
        self.wpe = nn.Parameter(torch.zeros(P, C))  # (P, C)
        self.blocks = nn.ModuleList([Block(C, i) for i in range(L)])
        self.lnfw = nn.Parameter(torch.ones(C))     # (C)
        self.lnfb = nn.Parameter(torch.zeros(C))    # (C)

    def init_hf(self, generator):
        """GPT2PreTrainedModel._init_weights: N(0, 0.02), c_proj weights N(0, 0.02/sqrt(2L)),
        biases 0, LayerNorm 1/0. Drawn in layout order from `generator`."""
        std, proj_std = 0.02, 0.02 / math.sqrt(2 * self.L)
        with torch.no_grad():
            self.wte.normal_(0.0, std, generator=generator)
            self.wpe.normal_(0.0, std, generator=generator)
            for b in self.blocks:
                for name in ("qkvw", "attprojw", "fcw", "fcprojw"):
                    getattr(b, name).normal_(0.0, proj_std if name in ("attprojw", "fcprojw") else std,
                                             generator=generator)
                for name in ("qkvb", "attprojb", "fcb", "fcprojb", "ln1b", "ln2b"):
                    getattr(b, name).zero_()
                b.ln1w.fill_(1.0)
                b.ln2w.fill_(1.0)
            self.lnfw.fill_(1.0)
            self.lnfb.zero_()

    def layout_params(self):
        """name -> tensor in parrot's layout order, per-layer tensors stacked on a leading L."""
        out = {"wte": self.wte, "wpe": self.wpe}
        for name in LAYER_PARAMS:
            out[name] = torch.stack([getattr(b, name) for b in self.blocks])
        out["lnfw"], out["lnfb"] = self.lnfw, self.lnfb
        return {k: out[k] for k in LAYOUT}

    def layout_grads(self):
        out = {"wte": self.wte.grad, "wpe": self.wpe.grad}
        for name in LAYER_PARAMS:
            out[name] = torch.stack([getattr(b, name).grad for b in self.blocks])
        out["lnfw"], out["lnfb"] = self.lnfw.grad, self.lnfb.grad
        return {k: out[k] for k in LAYOUT}

    def load_layout(self, params):
        with torch.no_grad():
            self.wte.copy_(params["wte"])
            self.wpe.copy_(params["wpe"])
            for i, b in enumerate(self.blocks):
                for name in LAYER_PARAMS:
                    getattr(b, name).copy_(params[name][i])
            self.lnfw.copy_(params["lnfw"])
            self.lnfb.copy_(params["lnfb"])

    def num_params(self):
        return sum(p.numel() for p in self.parameters())  # wte counted once: it is one Parameter

    def param_groups(self, weight_decay):
        """CodeParrot's get_grouped_params: decay matrices and embeddings, not biases/LayerNorm."""
        decay, no_decay = [], []
        for full, p in self.named_parameters():
            (decay if full.split(".")[-1] in DECAYED else no_decay).append(p)
        return [{"params": decay, "weight_decay": weight_decay},
                {"params": no_decay, "weight_decay": 0.0}]

    def _attn(self, q, k, v, layer_idx):
        # q, k, v: (B, NH, T, hs)
        T, hs = q.size(-2), q.size(-1)
        if self.attn_mode == "sdpa":
            scale = 1.0 / math.sqrt(hs)
            if self.scale_by_layer:
                scale /= float(layer_idx + 1)
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale) \
                if self.scale_by_layer else F.scaled_dot_product_attention(q, k, v, is_causal=True)
        causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        if self.reorder_upcast:
            # HF _upcast_and_reordered_attn: scale folded into baddbmm's alpha, in float32 or wider
            B, NH = q.size(0), q.size(1)
            scale = 1.0 / float(hs) ** 0.5
            if self.scale_by_layer:
                scale /= float(layer_idx + 1)
            wide = torch.float64 if q.dtype == torch.float64 else torch.float32
            qq = q.reshape(-1, T, hs).to(wide)
            kk = k.transpose(-1, -2).reshape(-1, hs, T).to(wide)
            w = torch.baddbmm(torch.empty(B * NH, T, T, dtype=wide), qq, kk, beta=0, alpha=scale)
            w = w.reshape(B, NH, T, T)
        else:
            # HF _attn: q k^T / sqrt(hs) (a tensor division), then / (layer_idx + 1)
            w = torch.matmul(q, k.transpose(-1, -2))
            w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
            if self.scale_by_layer:
                w = w / float(layer_idx + 1)
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        w = F.softmax(w, dim=-1).to(v.dtype)
        return torch.matmul(w, v)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        C, NH = self.C, self.NH
        x = F.embedding(idx, self.wte) + self.wpe[:T]
        for i, b in enumerate(self.blocks):
            h = F.layer_norm(x, (C,), b.ln1w, b.ln1b, 1e-5)
            qkv = F.linear(h, b.qkvw, b.qkvb)
            q, k, v = qkv.split(C, dim=2)
            q = q.view(B, T, NH, C // NH).transpose(1, 2)
            k = k.view(B, T, NH, C // NH).transpose(1, 2)
            v = v.view(B, T, NH, C // NH).transpose(1, 2)
            a = self._attn(q, k, v, i).transpose(1, 2).reshape(B, T, C)
            x = x + F.linear(a, b.attprojw, b.attprojb)
            h = F.layer_norm(x, (C,), b.ln2w, b.ln2b, 1e-5)
            h = F.linear(h, b.fcw, b.fcb)
            h = F.gelu(h, approximate="tanh") if self.gelu_mode == "fused" else gelu_new(h)
            x = x + F.linear(h, b.fcprojw, b.fcprojb)
        x = F.layer_norm(x, (C,), self.lnfw, self.lnfb, 1e-5)
        logits = F.linear(x, self.wte)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss


def cosine_lambda(lr, min_lr, warmup, max_steps):
    """LambdaLR factor for the shared schedule: lr(s) = min_lr + (lr - min_lr) * f(s), f = HF's
    get_scheduler("cosine") (linear warmup from 0, then half a cosine to 0)."""
    def f(s):
        if s < warmup:
            return s / max(1, warmup)
        prog = (s - warmup) / max(1, max_steps - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * prog)))
    return lambda s: (min_lr + (lr - min_lr) * f(s)) / lr


# ---------------------------------------------------------------------------------------------
# safetensors, by hand

def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, tensor) in file order; float tensors written F32, int ones I32."""
    header, blobs, off = {"__metadata__": {k: str(v) for k, v in metadata.items()}}, [], 0
    for name, t in tensors:
        t = t.detach().cpu().contiguous()
        if t.dtype.is_floating_point:
            data, dtype = t.to(torch.float32).numpy().astype("<f4").tobytes(), "F32"
        else:
            data, dtype = t.to(torch.int32).numpy().astype("<i4").tobytes(), "I32"
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def read_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        dt = {"F32": "<f4", "I32": "<i4"}[h["dtype"]]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + e], dtype=dt).copy()).reshape(h["shape"])
    return out, meta


# ---------------------------------------------------------------------------------------------
# the fixtures

CFG = dict(V=517, P=32, T=19, C=72, NH=3, L=2, B=2)
HP = dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1,
          warmup_steps=3, max_steps=10)
STEPS = 10


def make_initial(seed):
    """HF's init from a torch seed, then every bias and LayerNorm parameter perturbed (so that
    their gradients are tested: with HF's 1/0 they would hide a swapped weight and bias)."""
    g = torch.Generator().manual_seed(seed)
    m = GPT2(CFG["V"], CFG["P"], CFG["C"], CFG["NH"], CFG["L"])
    m.init_hf(g)
    p = {k: v.detach().clone() for k, v in m.layout_params().items()}
    for name in ("ln1w", "ln2w", "lnfw"):
        p[name] += 0.1 * torch.randn(p[name].shape, generator=g)
    for name in ("ln1b", "ln2b", "lnfb", "qkvb", "attprojb", "fcb", "fcprojb"):
        p[name] += 0.05 * torch.randn(p[name].shape, generator=g)
    return p


def random_tokens(shape, g):
    """Token ids from a skewed (Zipf-like) distribution over the whole vocabulary, so a few
    steps learn something (main() also puts ids 0 and V-1 into the single batch)."""
    V = CFG["V"]
    w = 1.0 / (torch.arange(V, dtype=torch.float64) + 5.0)
    perm = torch.randperm(V, generator=g)
    flat = perm[torch.multinomial(w, math.prod(shape), replacement=True, generator=g)]
    return flat.reshape(shape).to(torch.int64)


def build(init, dtype, scaled):
    m = GPT2(CFG["V"], CFG["P"], CFG["C"], CFG["NH"], CFG["L"],
             scale_attn_by_inverse_layer_idx=scaled, reorder_and_upcast_attn=scaled)
    m.load_layout(init)
    return m.to(dtype)


def forward_backward(init, tokens, dtype, scaled):
    m = build(init, dtype, scaled)
    logits, loss = m(tokens[:, :-1], tokens[:, 1:])
    loss.backward()
    return logits.detach(), loss.detach(), {k: v.detach() for k, v in m.layout_grads().items()}


def train(init, batches, dtype, scaled, min_lr, grad_clip, grad_accum):
    """batches: [STEPS, grad_accum, B, T+1]. Returns losses, lrs, grad norms (pre-clip), and
    the steps where clipping scaled the gradients."""
    m = build(init, dtype, scaled)
    opt = torch.optim.AdamW(m.param_groups(HP["weight_decay"]), lr=HP["lr"],
                            betas=(HP["beta1"], HP["beta2"]), eps=HP["eps"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, cosine_lambda(HP["lr"], min_lr, HP["warmup_steps"], HP["max_steps"]))
    losses, lrs, norms, clipped = [], [], [], []
    for s in range(STEPS):
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for a in range(grad_accum):
            toks = batches[s, a]
            _, loss = m(toks[:, :-1], toks[:, 1:])
            loss = loss / grad_accum
            loss.backward()
            total += loss.item()
        norm = torch.nn.utils.clip_grad_norm_(m.parameters(), grad_clip).item()
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        losses.append(total)
        norms.append(norm)
        if grad_clip / (norm + 1e-6) < 1.0:
            clipped.append(s)
    return losses, lrs, norms, clipped


def rel(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def metadata(scaled, min_lr, grad_clip, grad_accum, params_from):
    return dict(n_layer=CFG["L"], n_embd=CFG["C"], n_head=CFG["NH"], n_positions=CFG["P"],
                vocab_size=CFG["V"], seq_len=CFG["T"], batch_size=CFG["B"],
                scale_attn_by_inverse_layer_idx=int(scaled), reorder_and_upcast_attn=int(scaled),
                lr=HP["lr"], min_lr=min_lr, beta1=HP["beta1"], beta2=HP["beta2"], eps=HP["eps"],
                weight_decay=HP["weight_decay"], grad_clip=grad_clip,
                warmup_steps=HP["warmup_steps"], max_steps=HP["max_steps"], grad_accum=grad_accum,
                params_from=params_from, torch_version=torch.__version__,
                reference="float64, rounded to float32")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", default="tests/data/gpt2_fixtures")
    ap.add_argument("--seed", type=int, default=1337)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    for V, want in ((50257, 124_439_808), (32768, 111_008_256)):
        n = GPT2(V, 1024, 768, 12, 12).num_params()
        print(f"gpt2 parameters at V={V}: {n:,} (Hugging Face: {want:,})", "ok" if n == want else "MISMATCH")
        if n != want:
            sys.exit(1)

    init = make_initial(args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    B, T = CFG["B"], CFG["T"]
    tokens = random_tokens((B, T + 1), g)
    tokens[0, 0], tokens[1, 5], tokens[1, T] = CFG["V"] - 1, 0, CFG["V"] - 1
    train1 = random_tokens((STEPS, 1, B, T + 1), g)
    train2 = random_tokens((STEPS, 2, B, T + 1), g)

    # grad_clip is set per run so that clipping scales the gradients in some steps and leaves
    # them alone in others (both branches tested); min_lr nonzero in one run (step 0 then moves).
    runs = [("plain", False, 0.0, 1.6, 1, train1), ("scaled", True, 1e-3, 1.6, 1, train1),
            ("accum2", False, 0.0, 1.2, 2, train2)]
    for name, scaled, min_lr, clip, accum, batches in runs:
        tensors = []
        if name == "plain":
            tensors += [("param." + k, v) for k, v in init.items()]
        if accum == 1:
            lg, ls, gr = forward_backward(init, tokens, torch.float64, scaled)
            lg32, ls32, gr32 = forward_backward(init, tokens, torch.float32, scaled)
            print(f"[{name}] loss {ls.item():.7f}; float32 torch vs float64: logits max abs "
                  f"{(lg32.double() - lg).abs().max().item():.2e}, loss {abs(ls32.item() - ls.item()):.2e}, "
                  f"worst grad rel {max(rel(gr32[k], gr[k]) for k in LAYOUT):.2e}")
            tensors += [("tokens", tokens), ("logits", lg), ("loss", ls.reshape(1))]
            tensors += [("grad." + k, v) for k, v in gr.items()]
        losses, lrs, norms, clipped = train(init, batches, torch.float64, scaled, min_lr, clip, accum)
        l32, _, n32, _ = train(init, batches, torch.float32, scaled, min_lr, clip, accum)
        print(f"[{name}] train losses " + " ".join(f"{x:.5f}" for x in losses))
        print(f"[{name}] lr " + " ".join(f"{x:.3g}" for x in lrs))
        print(f"[{name}] grad norms " + " ".join(f"{x:.3f}" for x in norms) + f"; clipped at steps {clipped}")
        print(f"[{name}] float32 torch vs float64: train loss max abs "
              f"{max(abs(a - b) for a, b in zip(l32, losses)):.2e}, grad norm max rel "
              f"{max(abs(a - b) / b for a, b in zip(n32, norms)):.2e}")
        if not clipped or len(clipped) == STEPS:
            print(f"[{name}] warning: clipping did not trigger in some but not all steps")
        tb = batches if accum > 1 else batches[:, 0]
        tensors += [("train.tokens", tb), ("train.loss", torch.tensor(losses)),
                    ("train.lr", torch.tensor(lrs)), ("train.grad_norm", torch.tensor(norms))]
        path = os.path.join(args.out, name + ".safetensors")
        write_safetensors(path, tensors, metadata(scaled, min_lr, clip, accum,
                                                  "" if name == "plain" else "plain.safetensors"))
        back, _ = read_safetensors(path)
        for k, v in tensors:  # round trip
            want = v.detach().to(torch.float32 if v.dtype.is_floating_point else torch.int32)
            assert back[k].shape == want.shape and torch.equal(back[k], want), k
        print(f"wrote {path} ({os.path.getsize(path):,} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
