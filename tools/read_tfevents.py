#!/usr/bin/env python3
"""Reads a TensorBoard run folder with TensorBoard's own EventAccumulator and compares its
scalars with an expected list (tests/e2e/tfevents.sh).

    read_tfevents.py RUN_DIR EXPECTED      EXPECTED: lines "tag step hexbits wall_time"
    read_tfevents.py RUN_DIR               prints every scalar as "tag step value"

The comparison is exact: the float32 bit pattern of each value (NaN and infinities
included), the step and the wall time, and the set of tags; nothing more, nothing less.
"""
import math
import struct
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def load(run_dir):
    # size_guidance 0 keeps every point (the default samples 10000 per tag)
    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0}, purge_orphaned_data=True)
    acc.Reload()
    got = {}
    for tag in acc.Tags()["scalars"]:
        got[tag] = [(ev.step, ev.value, ev.wall_time) for ev in acc.Scalars(tag)]
    return got


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def main():
    got = load(sys.argv[1])
    if len(sys.argv) == 2:
        for tag in sorted(got):
            for step, value, _ in got[tag]:
                print(tag, step, value)
        return 0
    want = {}
    for line in open(sys.argv[2]):
        tag, step, bits, wall = line.split()
        want.setdefault(tag, []).append((int(step), int(bits, 16), float(wall)))
    errors = []
    if sorted(got) != sorted(want):
        errors.append("tags %s, expected %s" % (sorted(got), sorted(want)))
    for tag in sorted(want):
        g, w = got.get(tag, []), want[tag]
        if len(g) != len(w):
            errors.append("%s: %d points, expected %d" % (tag, len(g), len(w)))
            continue
        for (gs, gv, gw), (ws, wb, ww) in zip(g, w):
            same = f32_bits(gv) == wb or (math.isnan(gv) and (wb & 0x7F800000) == 0x7F800000 and wb & 0x7FFFFF)
            if gs != ws or not same or gw != ww:
                errors.append("%s: got step %d value %r wall %r, expected step %d bits %08x wall %r"
                              % (tag, gs, gv, gw, ws, wb, ww))
    for e in errors[:20]:
        print(e, file=sys.stderr)
    n = sum(len(v) for v in want.values())
    print("%d scalars in %d tags: %s" % (n, len(want), "ok" if not errors else "%d differences" % len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
