#!/usr/bin/env python3
"""Checks the H5MD 1.1 layout, units and dtypes of a buffycoat particle output file.

Usage: check_h5md_layout.py OUT.h5 N_CELLS N_FRAMES SPECIES[,SPECIES...]
Exits non-zero with a message naming the first violated expectation.
"""
import sys

import h5py
import numpy as np


def fail(msg):
    print(f"H5MD layout check failed: {msg}", file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


def attr_str(obj, name):
    v = obj.attrs[name]
    return v.decode() if isinstance(v, bytes) else str(v)


def expect_fixed_ascii_unit(obj, what):
    """H5MD 1.1: `unit` is a fixed-length ASCII string attribute."""
    expect("unit" in obj.attrs, f"{what} has no unit attribute")
    t = h5py.check_string_dtype(obj.attrs.get_id("unit").dtype)
    expect(t is not None and t.length is not None and t.encoding == "ascii",
           f"{what} unit is not a fixed-length ASCII string ({t})")


def check_series(f, group, shape_tail, unit, n_frames):
    expect(group in f, f"missing group {group}")
    g = f[group]
    for name in ("step", "time", "value"):
        expect(name in g, f"missing {group}/{name}")
    step, time, value = g["step"], g["time"], g["value"]
    expect(np.issubdtype(step.dtype, np.integer), f"{group}/step dtype {step.dtype} is not integer")
    expect(time.dtype == np.float64, f"{group}/time dtype {time.dtype} is not float64")
    expect(value.dtype == np.float64, f"{group}/value dtype {value.dtype} is not float64")
    expect(attr_str(time, "unit") == "s", f"{group}/time unit is not s")
    expect_fixed_ascii_unit(time, f"{group}/time")
    if unit is not None:
        expect_fixed_ascii_unit(value, f"{group}/value")
        expect(attr_str(value, "unit") == unit, f"{group}/value unit {attr_str(value, 'unit')!r} != {unit!r}")
    expect(value.shape == (n_frames,) + tuple(shape_tail),
           f"{group}/value shape {value.shape} != {(n_frames,) + tuple(shape_tail)}")
    expect(step.shape == (n_frames,) and time.shape == (n_frames,), f"{group} step/time length != {n_frames}")
    t = time[()]
    expect(np.all(np.diff(t) > 0), f"{group}/time is not increasing")
    expect(np.all(np.diff(step[()]) >= 0), f"{group}/step is decreasing")
    expect(np.all(np.isfinite(value[()])), f"{group}/value has non-finite entries")
    return value[()], t


def main():
    path, n, frames, species = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(",")
    with h5py.File(path, "r") as f:
        expect("h5md" in f, "missing /h5md")
        version = f["h5md"].attrs["version"]
        expect(list(version) == [1, 1], f"/h5md version {list(version)} != [1, 1]")
        expect("modules/units" in f["h5md"], "missing /h5md/modules/units (the H5MD units module)")
        units = f["h5md/modules/units"]
        expect(list(units.attrs["version"]) == [1, 0], "units module version != [1, 0]")
        expect(attr_str(units, "system") == "SI", "units module system != SI")
        expect("author" in f["h5md"] and "name" in f["h5md/author"].attrs, "missing /h5md/author name")
        creator = f["h5md/creator"]
        expect(attr_str(creator, "name") == "buffycoat", "creator name is not buffycoat")
        expect(len(attr_str(creator, "version")) > 0, "creator version empty")
        box = f["particles/cells/box"]
        expect(int(box.attrs["dimension"]) == 3, "box dimension != 3")

        pos, t = check_series(f, "particles/cells/position", (n, 3), "m", frames)
        vel, _ = check_series(f, "particles/cells/velocity", (n, 3), "m s-1", frames)
        expect(abs(t[0]) == 0.0, "first frame is not t = 0")

        cells = f["particles/cells"]
        sp = cells["species"]
        expect(np.issubdtype(sp.dtype, np.integer) and sp.shape == (n,), f"species dtype/shape {sp.dtype} {sp.shape}")
        names = [x.decode() if isinstance(x, bytes) else str(x) for x in sp.attrs["names"]]
        expect(names == species, f"species names {names} != {species}")
        expect(sp[()].min() >= 0 and sp[()].max() < len(names), "species index out of range")
        ids = cells["id"][()]
        expect(np.array_equal(ids, np.arange(n)), "id is not 0..N-1")
        for name, unit in (("diameter", "m"), ("density", "kg m-3")):
            d = cells[name]
            expect(d.dtype == np.float64 and d.shape == (n,), f"{name} dtype/shape")
            expect(attr_str(d, "unit") == unit, f"{name} unit != {unit}")
            expect_fixed_ascii_unit(d, name)
            expect(np.all(d[()] > 0), f"{name} not positive")
        expect("final_status" in cells, "missing final_status")

        # Physical sanity: positions in metres inside the contract tube, cells move outward.
        x = pos[:, :, 0]
        expect(np.all((x >= 0.10) & (x <= 0.16)), "x outside the tube [0.10, 0.16] m (wrong unit?)")
        expect(np.mean(x[-1]) > np.mean(x[0]), "cells did not move outward")
        expect(np.all(np.hypot(pos[:, :, 1], pos[:, :, 2]) <= 0.006 + 1e-12), "cells outside the tube radius")

        for obs, unit in (("pelleted_fraction", None), ("floated_fraction", None), ("mean_radius", "m")):
            v, _ = check_series(f, f"observables/{obs}", (len(species),), unit, frames)
            if obs == "pelleted_fraction":
                expect(np.all((v >= 0) & (v <= 1)), "pelleted fraction outside [0, 1]")
                expect(np.all(np.diff(v[:, 0]) >= 0), "pelleted fraction decreases")

        params = f["parameters"]
        text = params["scenario_toml"].asstr()[()]
        expect("[rotor]" in text and "version = 1" in text, "scenario text not stored")
        expect(int(params["seed"][()]) == 7, "seed != 7")
        expect(len(params["program_version"].asstr()[()]) > 0, "program version missing")
        expect(len(params["git_commit"].asstr()[()]) > 0, "git commit missing")
        # The default `[output] compression = "none"`: the growing series is chunked, unfiltered
        # (compressed settings are checked by compare_compressed.py).
        pos = f["particles/cells/position/value"]
        expect(pos.compression is None and not pos.shuffle, "position filtered by default")
        expect(pos.chunks is not None and pos.maxshape[0] is None, "position not resizable")
    print(f"H5MD layout OK: {path}")


if __name__ == "__main__":
    main()
