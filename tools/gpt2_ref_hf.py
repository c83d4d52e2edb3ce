#!/usr/bin/env python3
"""A hand-written GPT-2 in PyTorch that reads a Hugging Face model folder by the format's rules.

The reference `parrot export hf` is checked against (tests/e2e/hf.sh), independent of transformers
and of the safetensors package: config.json with json, model.safetensors with struct + json (every
rule of the format checked: header size, dtypes, shapes against byte spans, offsets tiling the data
buffer), and GPT2LMHeadModel's forward written out in a few dozen lines (Conv1D weights [in, out]
used as x @ W, tied output layer, gelu_new, causal attention scaled by 1/sqrt(head size) and by
1/(layer+1) when scale_attn_by_inverse_layer_idx is on).

    gpt2_ref_hf.py run DIR ID... [--new N]   prints JSON {"logits": [[...] per position], "greedy": [...]}
    gpt2_ref_hf.py check DIR FILE [--tol X]  FILE is `build/tests/test_hf --logits CKPT N ID...` output:
                                             same logits (max |a-b| / max |b| <= X, default 1e-4) and the
                                             same greedy continuation; exit 1 otherwise
    gpt2_ref_hf.py golden                    the golden model of tests/unit/test_hf.c: its weights in
                                             Conv1D layout as C arrays and the logits, computed in float64

Runs with Debian's python3-torch (/usr/bin/python3) or any torch >= 1.10.
"""
import json
import math
import struct
import sys
import textwrap

import torch

DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2), "F64": (torch.float64, 8)}


def read_safetensors(path):
    """{name: float tensor} from a safetensors file, refusing anything the format forbids."""
    raw = open(path, "rb").read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header size")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header size {n} exceeds the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    spans = []
    out = {}
    for name, t in header.items():
        if t["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name!r}: dtype {t['dtype']} is not a float type this reader takes")
        dt, size = DTYPES[t["dtype"]]
        begin, end = t["data_offsets"]
        numel = math.prod(t["shape"])
        if end - begin != numel * size or not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: tensor {name!r}: shape {t['shape']} does not match bytes [{begin}, {end})")
        spans.append((begin, end, name))
        buf = bytearray(data[begin:end])
        x = torch.frombuffer(buf, dtype=dt) if numel else torch.zeros(0, dtype=dt)
        out[name] = x.reshape(t["shape"]).to(torch.float64 if dt == torch.float64 else torch.float32)
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            raise ValueError(f"{path}: tensor {name!r} starts at {begin}, not {pos} (hole or overlap)")
        pos = end
    if pos != len(data):
        raise ValueError(f"{path}: tensors cover {pos} of {len(data)} data bytes")
    return out, meta


def load(folder, dtype=torch.float32):
    cfg = json.load(open(f"{folder}/config.json"))
    w, _ = read_safetensors(f"{folder}/model.safetensors")
    w = {(k[12:] if k.startswith("transformer.") else k): v.to(dtype) for k, v in w.items()}
    return cfg, w


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * g + b


def gelu(x, kind):
    if kind == "gelu":  # the exact one
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def forward(cfg, w, ids):
    """Logits [T, V] for the token list ids."""
    C, H, T = cfg["n_embd"], cfg["n_head"], len(ids)
    hs, eps, act = C // H, cfg.get("layer_norm_epsilon", 1e-5), cfg.get("activation_function", "gelu_new")
    x = w["wte.weight"][ids] + w["wpe.weight"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: [in, out]
        q, k, v = (t.reshape(T, H, hs).transpose(0, 1) for t in qkv.split(C, dim=-1))
        s = q @ k.transpose(-1, -2) / math.sqrt(hs)
        if cfg.get("scale_attn_by_inverse_layer_idx"):
            s = s / (l + 1)
        s = s.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (s @ v).transpose(0, 1).reshape(T, C)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        h = gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], act)
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].T  # tied output layer


def greedy(cfg, w, ids, n):
    ids = list(ids)
    out = []
    for _ in range(n):
        if len(ids) >= cfg["n_positions"]:
            break
        nxt = int(forward(cfg, w, ids)[-1].argmax())
        out.append(nxt)
        ids.append(nxt)
    return out


def cmd_run(args):
    new = 0
    if "--new" in args:
        i = args.index("--new")
        new = int(args[i + 1])
        del args[i:i + 2]
    folder, ids = args[0], [int(a) for a in args[1:]]
    cfg, w = load(folder)
    with torch.no_grad():
        print(json.dumps({"logits": forward(cfg, w, ids).tolist(), "greedy": greedy(cfg, w, ids, new)}))


def cmd_check(args):
    tol = 1e-4
    if "--tol" in args:
        i = args.index("--tol")
        tol = float(args[i + 1])
        del args[i:i + 2]
    folder, path = args
    lines = open(path).read().split("\n")
    ids = [int(x) for x in lines[0].split()[1:]]       # "ids ..."
    want_greedy = [int(x) for x in lines[1].split()[1:]]  # "greedy ..."
    got = torch.tensor([[float(v) for v in ln.split()] for ln in lines[2:] if ln.strip()], dtype=torch.float64)
    cfg, w = load(folder)
    with torch.no_grad():
        ref = forward(cfg, w, ids).to(torch.float64)
        g = greedy(cfg, w, ids, len(want_greedy))
    err = float((got - ref).abs().max() / ref.abs().max())
    print(f"{len(ids)} positions x {ref.shape[1]} logits: max |parrot - torch| / max |torch| = {err:.3g}")
    print(f"greedy parrot {want_greedy}\ngreedy torch  {g}")
    if got.shape != ref.shape or err > tol or g != want_greedy:
        print("MISMATCH", file=sys.stderr)
        sys.exit(1)


def cmd_golden():
    """Weights k/8 (exact in float32) from a small LCG, written out in Conv1D layout, and their logits."""
    state = [12345]

    def vals(n):
        out = []
        for _ in range(n):
            state[0] = (state[0] * 1103515245 + 12345) % 2 ** 31
            out.append(((state[0] >> 16) % 17 - 8) / 8)
        return out

    C, V, P, L = 4, 6, 4, 1
    shapes = {"wte.weight": [V, C], "wpe.weight": [P, C], "h.0.ln_1.weight": [C], "h.0.ln_1.bias": [C],
              "h.0.attn.c_attn.weight": [C, 3 * C], "h.0.attn.c_attn.bias": [3 * C],
              "h.0.attn.c_proj.weight": [C, C], "h.0.attn.c_proj.bias": [C], "h.0.ln_2.weight": [C],
              "h.0.ln_2.bias": [C], "h.0.mlp.c_fc.weight": [C, 4 * C], "h.0.mlp.c_fc.bias": [4 * C],
              "h.0.mlp.c_proj.weight": [4 * C, C], "h.0.mlp.c_proj.bias": [C], "ln_f.weight": [C], "ln_f.bias": [C]}
    w = {}
    for name, shape in shapes.items():
        v = vals(math.prod(shape))
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
            v = [1 + x / 2 for x in v]  # LayerNorm gains around 1
        w[name] = torch.tensor(v, dtype=torch.float64).reshape(shape)
        cname = name.replace(".", "_")
        body = textwrap.fill(", ".join(f"{x!r}f" for x in v), 108, initial_indent="    ", subsequent_indent="    ")
        print(f"static const float g_{cname}[{len(v)}] = {{ /* {shape} */\n{body}}};")
    cfg = {"n_embd": C, "n_head": 2, "n_layer": L, "n_positions": P}
    ids = [3, 1, 4, 5]
    logits = forward(cfg, w, ids)
    print(f"static const int32_t g_ids[{len(ids)}] = {{{', '.join(map(str, ids))}}};")
    body = ",\n    ".join(", ".join(f"{x:.9g}" for x in row) for row in logits.tolist())
    print(f"static const double g_logits[{len(ids)} * {V}] = {{\n    {body}}};")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "check", "golden"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    {"run": lambda: cmd_run(sys.argv[2:]), "check": lambda: cmd_check(sys.argv[2:]), "golden": cmd_golden}[sys.argv[1]]()
