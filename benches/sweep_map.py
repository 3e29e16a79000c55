#!/usr/bin/env python3
"""The numbers README "Sweeps" quotes for the 20 x 20 rpm x flow map of the leukapheresis preset.

One command (from the repository root; build first: cargo build --release -p buffycoat):

    python3 benches/sweep_map.py [path/to/buffycoat] [--csv existing.csv] [--figure DIR]

runs `buffycoat sweep data/scenarios/leukapheresis_channel.toml --vary rotor.rpm=1500:3000:20
--vary inlet.flow_ml_min=30:70:20 --csv ...` (unless --csv names the CSV of such a sweep) and
prints: the product hematocrit range, the MNC collection efficiency at the map's corners and its
range, the largest step between neighbouring points (along either axis) of MNC CE, the operating
window MNC CE >= 40 % (number of points and of 4-connected regions), the platelet CE range and the
largest neutrophil CE. With --figure DIR it also draws the map with `buffycoat plot` into DIR (the
README figure data/figures/sweep_mnc_collection_efficiency.png is its PNG). Wall time is not measured here
(benches/README.md times the sweep under `chrt -f 50`).
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESET = os.path.join(ROOT, "data", "scenarios", "leukapheresis_channel.toml")
RPM = "rotor.rpm"
FLOW = "inlet.flow_ml_min"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", nargs="?", default=os.path.join(ROOT, "target", "release", "buffycoat"))
    ap.add_argument("--csv", help="CSV of an existing 20 x 20 sweep (skips the run)")
    ap.add_argument("--figure", help="also draw the MNC CE map into this directory (PNG and SVG)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, h5 = a.csv, os.path.join(tmp, "sweep.h5")
        if path is None:
            path = os.path.join(tmp, "sweep.csv")
            subprocess.run([a.binary, "sweep", PRESET, "--vary", f"{RPM}=1500:3000:20", "--vary",
                            f"{FLOW}=30:70:20", "-q", "-o", h5, "--csv", path], check=True)
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if a.figure:
            if a.csv is not None:
                sys.exit("--figure needs the sweep's HDF5: run without --csv")
            subprocess.run([a.binary, "plot", h5, "--metric", "mononuclear_collection_efficiency",
                            "--window", "mononuclear_collection_efficiency>=0.4", "-o", a.figure],
                           check=True)
    failed = [r for r in rows if r["status"] != "0"]
    ok = [r for r in rows if r["status"] == "0"]
    rpms = sorted({float(r[RPM]) for r in rows})
    flows = sorted({float(r[FLOW]) for r in rows})
    grid = {(float(r[RPM]), float(r[FLOW])): r for r in ok}

    def val(r, key):
        return float(r[key])

    mnc = {k: 100 * val(r, "mononuclear_collection_efficiency") for k, r in grid.items()}
    hct = [val(r, "ports.collect.hematocrit") for r in ok]
    plt = [100 * val(r, "collection_efficiency.platelet") for r in ok]
    neu = [val(r, "collection_efficiency.neutrophil") for r in ok]
    step = 0.0
    where = None
    for i, rpm in enumerate(rpms):
        for j, flow in enumerate(flows):
            for (di, dj) in ((1, 0), (0, 1)):
                if i + di < len(rpms) and j + dj < len(flows):
                    a_, b_ = (rpm, flow), (rpms[i + di], flows[j + dj])
                    if a_ in mnc and b_ in mnc and abs(mnc[a_] - mnc[b_]) > step:
                        step, where = abs(mnc[a_] - mnc[b_]), (a_, b_)
    window = {k for k, v in mnc.items() if v >= 40.0}
    regions, seen = 0, set()
    for k in sorted(window):
        if k in seen:
            continue
        regions += 1
        todo = [k]
        while todo:
            c = todo.pop()
            if c in seen:
                continue
            seen.add(c)
            i, j = rpms.index(c[0]), flows.index(c[1])
            for (di, dj) in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                if 0 <= i + di < len(rpms) and 0 <= j + dj < len(flows):
                    n = (rpms[i + di], flows[j + dj])
                    if n in window and n not in seen:
                        todo.append(n)
    lo, hi = min(mnc, key=mnc.get), max(mnc, key=mnc.get)
    print(f"points: {len(rows)} ({len(failed)} failed)")
    print(f"product hematocrit: {min(hct):.4f} – {max(hct):.4f}")
    print(f"MNC CE: {mnc[lo]:.1f} % (at {lo[0]:.0f} rpm, {lo[1]:.1f} mL/min) – {mnc[hi]:.1f} % "
          f"(at {hi[0]:.0f} rpm, {hi[1]:.1f} mL/min)")
    print(f"largest MNC CE step between neighbouring points: {step:.2f} points "
          f"({where[0][0]:.0f}/{where[0][1]:.1f} – {where[1][0]:.0f}/{where[1][1]:.1f})")
    print(f"window MNC CE >= 40 %: {len(window)} of {len(rows)} points, {regions} connected region(s)")
    print(f"platelet CE: {min(plt):.0f} – {max(plt):.0f} %")
    print(f"largest neutrophil CE: {max(neu):.1e}")


if __name__ == "__main__":
    main()
