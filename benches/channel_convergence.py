#!/usr/bin/env python3
"""Grid convergence and rpm smoothness of the leukapheresis channel's port quantities.

One command (from the repository root):

    python3 benches/channel_convergence.py            # convergence table
    python3 benches/channel_convergence.py --sweep    # 25-point rpm sweep 1800-3000, max jumps

builds the release binary (unless --no-build or --bin), runs
`buffycoat run data/scenarios/leukapheresis_channel.toml --no-output` at radial x along cells
50x50, 100x100 (the preset's default since 2026-12-06), 200x200, 400x400 and, as the finest
reference, 400x800 (extra `--set KEY=VALUE` overrides are passed on,
e.g. `--set flow.shear_diffusion_coefficient=0`), and prints a Markdown table of every port
quantity (collection efficiency of each species, platelet loss, MNC CE, product hematocrit,
white-cell purities) in per cent, plus the largest change between 2x and 4x refinement of the
default grid and between the default and 4x (the issue-12 acceptance: <= 1 and <= 2 points),
and between the default and 400x800.
With --sweep it runs the rpm sweep on the default grid instead and prints the largest jump
between neighbouring rpm values of every quantity (acceptance: <= 3 points).
Nothing here is a test; the numbers are deterministic (bitwise for any thread count).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESET = "data/scenarios/leukapheresis_channel.toml"
GRIDS = [(50, 50), (100, 100), (200, 200), (400, 400), (400, 800)]


def quantities(summary):
    """Port quantities in per cent, by name."""
    q = {}
    for sp, ce in summary["collection_efficiency"].items():
        q[f"CE {sp}"] = 100.0 * ce
    if "platelet_loss" in summary:
        q["platelet loss"] = 100.0 * summary["platelet_loss"]
    if "mononuclear_collection_efficiency" in summary:
        q["MNC CE"] = 100.0 * summary["mononuclear_collection_efficiency"]
    q["product Hct"] = 100.0 * summary["ports"]["collect"]["hematocrit"]
    for sp, p in summary.get("purity", {}).get("white_cells", {}).items():
        if p > 0.0 or sp not in ("rbc", "platelet"):
            q[f"WBC purity {sp}"] = 100.0 * p
    return q


def run(binary, sets, tmp):
    path = os.path.join(tmp, "s.json")
    cmd = [binary, "run", PRESET, "--no-output", "-q", "--threads", "1", "--force", "--summary", path]
    for s in sets:
        cmd += ["--set", s]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        summary = json.load(f)
    return quantities(summary), summary["wall_time_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--points", type=int, default=25)
    a = ap.parse_args()
    binary = a.bin or os.path.join(ROOT, "target", "release", "buffycoat")
    if not a.bin and not a.no_build:
        subprocess.run(
            ["cargo", "build", "--release", "-p", "buffycoat", "--locked"], cwd=ROOT, check=True
        )
    with tempfile.TemporaryDirectory() as tmp:
        if a.sweep:
            rows = []
            for k in range(a.points):
                rpm = 1800.0 + 1200.0 * k / (a.points - 1)
                q, _ = run(binary, a.set + [f"rotor.rpm={rpm}"], tmp)
                rows.append((rpm, q))
                print(f"rpm {rpm:7.1f}: " + ", ".join(f"{n} {v:.2f}" for n, v in q.items()), flush=True)
            print("\n| quantity | largest jump between neighbours (points) | at rpm |")
            print("|---|---|---|")
            worst = 0.0
            for name in rows[0][1]:
                jumps = [(abs(rows[i + 1][1][name] - rows[i][1][name]), rows[i][0]) for i in range(len(rows) - 1)]
                j, at = max(jumps)
                worst = max(worst, j)
                print(f"| {name} | {j:.2f} | {at:.0f}→{at + 1200.0 / (a.points - 1):.0f} |")
            print(f"\nlargest jump: {worst:.2f} points")
            return
        table = []
        for r, s in GRIDS:
            q, wall = run(binary, a.set + [f"grid.radial_cells={r}", f"grid.along_cells={s}"], tmp)
            table.append(((r, s), q, wall))
            print(f"{r}x{s}: {wall:.2f} s", file=sys.stderr, flush=True)
    names = list(table[0][1])
    print("| radial × along | " + " | ".join(names) + " | wall (s) |")
    print("|---" * (len(names) + 2) + "|")
    for (r, s), q, wall in table:
        print(f"| {r} × {s} | " + " | ".join(f"{q[n]:.2f}" for n in names) + f" | {wall:.2f} |")
    q1, q2, q4 = table[1][1], table[2][1], table[3][1]
    d24 = max(abs(q2[n] - q4[n]) for n in names)
    d14 = max(abs(q1[n] - q4[n]) for n in names)
    w24 = max(names, key=lambda n: abs(q2[n] - q4[n]))
    w14 = max(names, key=lambda n: abs(q1[n] - q4[n]))
    q8 = table[4][1]
    d18 = max(abs(q1[n] - q8[n]) for n in names)
    w18 = max(names, key=lambda n: abs(q1[n] - q8[n]))
    print(
        f"\nlargest change 2x→4x: {d24:.2f} points ({w24}); default→4x: {d14:.2f} points ({w14}); "
        f"default→400x800: {d18:.2f} points ({w18})"
    )


if __name__ == "__main__":
    main()
