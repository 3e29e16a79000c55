#!/usr/bin/env python3
"""Checks that stock h5py (no plugins) decodes every dataset of buffycoat files written with
different `[output] compression` settings to exactly the bytes of the uncompressed file, and
that the filters really are the ones asked for.

Usage: compare_compressed.py REFERENCE.h5 FILE.h5=SETTING [FILE.h5=SETTING ...]
with SETTING as in the scenario key, e.g. none, lzf, shuffle+lzf, deflate:1, shuffle+deflate:6.
Exits non-zero with a message naming the first difference.
"""
import sys

import h5py
import numpy as np


def fail(msg):
    print(f"compression check failed: {msg}", file=sys.stderr)
    sys.exit(1)


def datasets(f):
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[name] = obj

    f.visititems(visit)
    return out


def main():
    ref_path, others = sys.argv[1], sys.argv[2:]
    with h5py.File(ref_path, "r") as ref:
        ref_sets = datasets(ref)
        numeric = {k: v for k, v in ref_sets.items() if v.dtype.kind in "fiu"}
        if "particles/cells/position/value" not in numeric:
            fail(f"{ref_path}: no particles/cells/position/value")
        ref_data = {k: v[()] for k, v in numeric.items()}
        for item in others:
            path, setting = item.split("=", 1)
            with h5py.File(path, "r") as f:
                sets = datasets(f)
                if sorted(sets) != sorted(ref_sets):
                    fail(f"{path}: datasets differ from {ref_path}")
                for name, want in ref_data.items():
                    got = sets[name][()]
                    if got.shape != want.shape or got.dtype != want.dtype:
                        fail(f"{path}:{name}: shape/dtype {got.shape}/{got.dtype}")
                    if got.tobytes() != want.tobytes():
                        fail(f"{path}:{name}: decoded bytes differ")
                pos = sets["particles/cells/position/value"]
                kind = setting.removeprefix("shuffle+").split(":")[0]
                expected = {"none": None, "lzf": "lzf", "deflate": "gzip"}[kind]
                if pos.compression != expected:
                    fail(f"{path}: position filter {pos.compression}, expected {expected}")
                if pos.shuffle != setting.startswith("shuffle+"):
                    fail(f"{path}: shuffle {pos.shuffle} for {setting}")
    print(f"{len(others)} files decode to the bytes of {ref_path}")


if __name__ == "__main__":
    main()
