#!/usr/bin/env python3
"""safetensors interoperability checks between parrot (hf/safetensors) and Hugging Face's
safetensors package (tests/e2e/safetensors.sh).

    st_check.py parrot NP.st BF16.st   check the files `test_safetensors --write` made: loaded by
                                       safetensors.numpy.load_file (and, for BF16, which numpy
                                       lacks, by safetensors.deserialize), every value exact
    st_check.py python OUT WANT        write OUT with safetensors' own serializer (every dtype
                                       kind, metadata, a 0-d and empty tensors) and WANT: the
                                       lines `test_safetensors --dump OUT` must print
    st_check.py corrupt SRC DIR        write damaged copies of SRC into DIR (one per fault) and
                                       check that safetensors refuses each of them too

The data formula matches make_src() in tests/unit/test_safetensors.c: float i of a tensor has
the bits i * 2654435761 + salt (mod 2^32), so NaNs, infinities, subnormals and huge values all
occur. Expected conversions come from numpy (F32 -> F16, F64 -> F32, F16 -> F32) or, for BF16,
from choosing the nearer of the two neighbouring BF16 values in float64 (ties to even).
"""
import json
import os
import struct
import sys

import numpy as np
import safetensors
import safetensors.numpy as stnp
from safetensors import TensorSpec


def src(n, salt):
    bits = (np.arange(n, dtype=np.uint64) * 2654435761 + salt) & 0xFFFFFFFF
    return bits.astype(np.uint32).view(np.float32)


def bf16_oracle(x):
    """Round-to-nearest-even float32 -> bfloat16 bits, by distance in float64."""
    u = x.view(np.uint32).astype(np.uint64)
    out = np.zeros(len(u), dtype=np.uint16)
    for i, b in enumerate(u):
        sign, mag = int(b) & 0x80000000, int(b) & 0x7FFFFFFF
        if mag > 0x7F800000:
            out[i] = 0xFFFF  # NaN: checked by isnan below
            continue
        lo = mag & 0xFFFF0000
        hi = lo + 0x10000
        val = lambda m: 2.0 ** 128 if m == 0x7F800000 else float(np.array([m], np.uint32).view(np.float32)[0])
        if mag == lo:
            pick = lo
        else:
            dlo, dhi = val(mag) - val(lo), val(hi) - val(mag)
            pick = lo if dlo < dhi else hi if dhi < dlo else (lo if not (lo >> 16) & 1 else hi)
        out[i] = (sign | pick) >> 16
    return out


def same_bits(got, want, what):
    """Equal bit patterns, NaN matching any NaN of the same width."""
    got, want = np.ascontiguousarray(got), np.ascontiguousarray(want)
    if got.shape != want.shape or got.dtype != want.dtype:
        raise AssertionError("%s: %s %s, expected %s %s" % (what, got.dtype, got.shape, want.dtype, want.shape))
    ui = {2: np.uint16, 4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    both_nan = np.isnan(got) & np.isnan(want)
    diff = (got.view(ui) != want.view(ui)) & ~both_nan
    if diff.any():
        i = int(np.flatnonzero(diff.reshape(-1))[0])
        raise AssertionError("%s: %d values differ, first at %d: %r vs %r" %
                             (what, int(diff.sum()), i, got.reshape(-1)[i], want.reshape(-1)[i]))


def check_parrot(np_path, bf_path):
    t = stnp.load_file(np_path)
    want_keys = {"a", "h.f16", "tr", "d", "i64", "i32", "u8", "b", "scalar", "empty"}
    assert set(t) == want_keys, sorted(t)
    same_bits(t["a"], src(12, 1).reshape(3, 4), "a")
    with np.errstate(over="ignore", invalid="ignore"):
        same_bits(t["h.f16"], src(100, 2).astype(np.float16).reshape(10, 10), "h.f16")
    same_bits(t["tr"], src(21, 3).reshape(7, 3).T, "tr")
    same_bits(t["d"], np.array([1.5, -2.25, 1e300, 0.1, -0.0]), "d")
    assert t["i64"].dtype == np.int64 and t["i64"].tolist() == [-2**63, -1, 0, 2**63 - 1]
    assert t["i32"].dtype == np.int32 and t["i32"].tolist() == [-7, 0, 2147483647]
    assert t["u8"].dtype == np.uint8 and t["u8"].tolist() == [0, 1, 127, 128, 255]
    assert t["b"].dtype == np.bool_ and t["b"].tolist() == [[True, False], [False, True]]
    assert t["scalar"].shape == () and t["scalar"].dtype == np.float32 and float(t["scalar"]) == -1.75
    assert t["empty"].shape == (2, 0, 3) and t["empty"].dtype == np.float32
    with safetensors.safe_open(np_path, "np") as f:
        assert f.metadata() == {"format": "pt", "note": 'caf\u00e9 "quoted"\n'}, f.metadata()
    # BF16: numpy has no bfloat16, so the raw bytes through safetensors' own parser
    raw = open(bf_path, "rb").read()
    got = {name: v for name, v in safetensors.deserialize(raw)}
    assert set(got) == {"x.bf16", "tr.bf16", "d32"}, sorted(got)
    for name, data, shape in (("x.bf16", src(100, 2), [10, 10]), ("tr.bf16", src(21, 3).reshape(7, 3).T.reshape(-1), [3, 7])):
        v = got[name]
        assert v["dtype"] == "BF16" and list(v["shape"]) == shape, (name, v["dtype"], v["shape"])
        g = np.frombuffer(bytes(v["data"]), dtype=np.uint16)
        w = bf16_oracle(np.ascontiguousarray(data))
        nan = np.isnan(data)
        assert (((g & 0x7F80) == 0x7F80) & ((g & 0x7F) != 0))[nan].all(), name + ": NaN not kept"
        bad = (g != w) & ~nan
        assert not bad.any(), "%s: %d of %d bf16 values differ, first %d: %04x vs %04x" % (
            name, bad.sum(), len(g), np.flatnonzero(bad)[0], g[bad][0], w[bad][0])
    assert got["d32"]["dtype"] == "F32"
    same_bits(np.frombuffer(bytes(got["d32"]["data"]), np.float32), src(6, 4), "d32")
    with safetensors.safe_open(bf_path, "np") as f:
        assert f.metadata() == {"dtype": "bfloat16"}, f.metadata()
    print("parrot's files read by safetensors %s: exact" % safetensors.__version__)


def write_python(out, want_path):
    rng = np.random.default_rng(5)
    f16 = np.array([1.0, -2.5, 65504.0, 6e-8, np.inf, -np.inf, np.nan, 0.0, -0.0, 0.333], np.float16)
    specs = {
        "w": (src(20, 11).reshape(4, 5), "float32", "F32"),
        "h": (f16, "float16", "F16"),
        "bf": (np.array([0x3F80, 0xC0A0, 0x7F80, 0xFF80, 0x7FC1, 0x0001, 0x8000, 0x4049], np.uint16).reshape(2, 4),
               "bfloat16", "BF16"),
        "d": (np.array([1.0 / 3.0, -1e300, 5e-324, np.nan, 2.5], np.float64), "float64", "F64"),
        "i8": (np.array([-128, -1, 0, 127], np.int8), "int8", "I8"),
        "u16": (np.array([0, 1, 65535], np.uint16), "uint16", "U16"),
        "i16": (np.array([-32768, 32767], np.int16).reshape(1, 2), "int16", "I16"),
        "u32": (np.array([4294967295, 7], np.uint32), "uint32", "U32"),
        "i32": (rng.integers(-2**31, 2**31, size=(2, 3, 2), dtype=np.int64).astype(np.int32), "int32", "I32"),
        "i64": (np.array([-2**63, 2**63 - 1], np.int64), "int64", "I64"),
        "u64": (np.array([2**64 - 1, 0], np.uint64), "uint64", "U64"),
        "flags": (np.array([True, False, True]), "bool", "BOOL"),
        "f8": (np.array([0x38, 0xB8, 0x7E], np.uint8), "float8_e4m3fn", "F8_E4M3"),
        "f4": (np.array([0x12, 0xAB], np.uint8), "float4_e2m1fn_x2", "F4"),  # 4 values in 2 bytes
        "scalar": (np.array(0.1, np.float32), "float32", "F32"),
        "empty": (np.zeros((0,), np.float32), "float32", "F32"),
        "empty2": (np.zeros((3, 0), np.int32), "int32", "I32"),
        "a.b/c:d": (np.array([7], np.uint8), "uint8", "U8"),
    }
    meta = {"format": "np", "author": "st_check.py", "empty": ""}
    keep = {k: np.ascontiguousarray(v[0]) for k, v in specs.items()}
    shape = lambda k: [4] if k == "f4" else list(keep[k].shape)
    tensors = {k: TensorSpec(dtype=specs[k][1], shape=list(keep[k].shape), data_ptr=keep[k].ctypes.data,
                             data_len=keep[k].nbytes) for k in specs}
    safetensors.serialize_file(tensors, out, metadata=meta)
    lines = ["meta %s %s" % kv for kv in meta.items()]
    for k, (arr, _, dt) in specs.items():
        a = keep[k]
        line = "tensor %s %s [%s] %s" % (k, dt, ",".join(map(str, shape(k))), a.tobytes().hex())
        if dt in ("F32", "F16", "F64"):
            with np.errstate(over="ignore"):  # -1e300 becomes -inf in float32, as in C
                    line += " f32:" + ",".join("%08x" % b for b in a.reshape(-1).astype(np.float32).view(np.uint32))
        elif dt == "BF16":
            line += " f32:" + ",".join("%08x" % (int(b) << 16) for b in a.reshape(-1))
        lines.append(line)
    with open(want_path, "w") as f:
        f.write("\n".join(lines) + "\n")


def read_parts(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def assemble(header, buf):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + buf


def corrupt(src_path, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    raw = open(src_path, "rb").read()
    header, buf = read_parts(src_path)
    (n,) = struct.unpack("<Q", raw[:8])

    def edit(fn):
        h = json.loads(json.dumps(header))
        fn(h)
        return assemble(h, buf)

    def set_field(name, key, value):
        return lambda h: h[name].__setitem__(key, value)

    # a tensor that does not start the buffer, moved 4 bytes back over the one before it
    late = max((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    b0, b1 = header[late]["data_offsets"]
    cases = {
        "truncated": raw[:-5],
        "truncated_header": raw[:8 + n // 2],
        "wrong_size": struct.pack("<Q", n + 16) + raw[8:],
        "huge_size": struct.pack("<Q", 1 << 62) + raw[8:],
        "bad_dtype": edit(set_field("w", "dtype", "F33")),
        "shape_mismatch": edit(set_field("w", "shape", [4, 6])),
        "overlap": edit(set_field(late, "data_offsets", [b0 - 4, b1 - 4])),
        "not_json": raw[:8] + b"{" + raw[9:8 + n].replace(b'"', b"'", 3) + raw[8 + n:],
        "leftover": raw + b"\0" * 8,
    }
    for name, data in cases.items():
        p = os.path.join(out_dir, name + ".safetensors")
        with open(p, "wb") as f:
            f.write(data)
        try:
            with safetensors.safe_open(p, "np") as f:
                for k in f.keys():
                    f.get_slice(k)
        except Exception:
            continue
        raise AssertionError("safetensors accepted %s" % name)
    print("%d damaged files, each refused by safetensors" % len(cases))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"parrot": check_parrot, "python": write_python, "corrupt": corrupt}[cmd](*args)


if __name__ == "__main__":
    main()
