#!/usr/bin/env python3
"""Whole-process benchmark: what a user waits for, from `buffycoat ...` to the prompt.

One command (from the repository root):

    python3 benches/whole_process.py

builds the release binary (`cargo build --release -p buffycoat --locked`), then runs every case
below REPS times (default 5) as a fresh process, timing each run from spawn to exit with a
monotonic clock, and prints a Markdown table of min / median / max wall time (seconds), the
median CPU time of the process (user + sys, from the children's resource usage: on a shared
machine the load-independent figure), the size of the HDF5 file written and the commands. Output files go to a temporary directory and are
deleted after each repetition. Nothing here is a test: the numbers depend on the machine.

Options: --reps N, --only REGEX (case names), --no-build, --markdown FILE (also write the table
there), --check (read the sector case's output with h5py and check that it is complete),
--bin PATH (time another buffycoat binary, e.g. an older build, instead of building this one).
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTOR = "benches/scenarios/sector_1e6.toml"

# (name, arguments after the binary, writes a file at OUT?)
CASES = [
    (
        "sector 10⁶ cells, 200 steps, 1 thread, default output",
        ["run", SECTOR, "--threads", "1", "-q", "-o", "{out}"],
        True,
    ),
    (
        "sector 10⁶ cells, 200 steps, 1 thread, --no-output",
        ["run", SECTOR, "--threads", "1", "-q", "--no-output"],
        False,
    ),
    (
        "sector 10⁶ cells, 200 steps, 1 thread, compression lzf",
        ["run", SECTOR, "--threads", "1", "-q", "-o", "{out}",
         "--set", "output.compression=lzf"],
        True,
    ),
    (
        "sector 10⁶ cells, 200 steps, 1 thread, compression shuffle+deflate:4 (the old default)",
        ["run", SECTOR, "--threads", "1", "-q", "-o", "{out}",
         "--set", "output.compression=shuffle+deflate:4"],
        True,
    ),
    (
        "sector 10⁶ cells, 200 steps, 2 threads, default output",
        ["run", SECTOR, "--threads", "2", "-q", "-o", "{out}"],
        True,
    ),
    (
        "whole-blood tube preset (hindered field), all cores",
        ["run", "data/scenarios/whole_blood_tube.toml", "-q", "-o", "{out}"],
        True,
    ),
    (
        "whole-blood tube preset, 400 radial cells, 2 threads",
        ["run", "data/scenarios/whole_blood_tube.toml", "--threads", "2", "-q", "-o", "{out}"],
        True,
    ),
    (
        "whole-blood tube preset, 2000 radial cells, 2 threads",
        ["run", "data/scenarios/whole_blood_tube.toml", "--threads", "2", "-q", "-o", "{out}",
         "--set", "grid.radial_cells=2000"],
        True,
    ),
    (
        "leukapheresis channel preset, all cores",
        ["run", "data/scenarios/leukapheresis_channel.toml", "-q", "-o", "{out}"],
        True,
    ),
    (
        "procedure preset MNC/CAR-T, all cores",
        ["run", "data/scenarios/procedure_mnc_cart.toml", "-q", "-o", "{out}"],
        True,
    ),
    (
        "sweep 10 × 10 (rotor.rpm × inlet.flow_ml_min) of the channel preset, all cores",
        ["sweep", "data/scenarios/leukapheresis_channel.toml",
         "--vary", "rotor.rpm=1800:2800:10", "--vary", "inlet.flow_ml_min=30:70:10",
         "-q", "-o", "{out}"],
        True,
    ),
]


def binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "buffycoat")


def run_case(exe, args, out):
    """Wall time and CPU time (user + sys) of one run, in seconds."""
    argv = [exe] + [a.replace("{out}", out) for a in args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def check_sector_file(path):
    """The file is complete: h5py opens it and every dataset decodes to its full shape."""
    import h5py  # noqa: PLC0415 (only needed for --check)
    import numpy as np  # noqa: PLC0415

    with h5py.File(path, "r") as f:
        pos = f["particles/cells/position/value"][...]
        vel = f["particles/cells/velocity/value"][...]
        assert pos.shape == (2, 1_000_000, 3), pos.shape
        assert vel.shape == (2, 1_000_000, 3), vel.shape
        assert np.isfinite(pos).all() and np.isfinite(vel).all()
        assert f["particles/cells/final_status"].shape == (1_000_000,)
        return pos.nbytes + vel.nbytes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default=None, help="regex on case names")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--markdown", default=None)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--bin", default=None)
    ap.add_argument("--interleave", action="store_true",
                    help="run the selected cases in turn, rep after rep (robust ratios on a "
                    "machine whose speed drifts)")
    opts = ap.parse_args()

    if not opts.no_build and opts.bin is None:
        subprocess.run(
            ["cargo", "build", "--release", "-p", "buffycoat", "--locked"], cwd=ROOT, check=True
        )
    exe = opts.bin or binary()
    tmp = tempfile.mkdtemp(prefix="buffycoat-whole-process-")
    rows = []
    try:
        selected = [c for c in CASES if not opts.only or re.search(opts.only, c[0])]
        samples = {name: ([], [], [None]) for name, _, _ in selected}

        def one(name, args, writes):
            out = os.path.join(tmp, "out.h5")
            wall, cpu = run_case(exe, args, out)
            times, cpus, size = samples[name]
            times.append(wall)
            cpus.append(cpu)
            if writes:
                size[0] = os.path.getsize(out)
                if opts.check and args[1] == SECTOR:
                    check_sector_file(out)
                os.remove(out)

        if opts.interleave:
            # Round-robin: a drift of the machine's speed (shared hosts) hits every case alike.
            for _ in range(opts.reps):
                for case in selected:
                    one(*case)
        else:
            for case in selected:
                for _ in range(opts.reps):
                    one(*case)
        for name, args, _ in selected:
            times, cpus, size = samples[name]
            shown = " ".join(a.replace("{out}", "OUT.h5") for a in args)
            rows.append((name, shown, len(times), min(times), statistics.median(times),
                         max(times), statistics.median(cpus), size[0]))
            print(f"{name}: min {min(times):.3f} s, median {statistics.median(times):.3f} s, "
                  f"median CPU {statistics.median(cpus):.3f} s", file=sys.stderr)
        if opts.interleave and len(selected) == 2:
            a, b = (samples[name][0] for name, _, _ in selected)
            ratios = sorted(x / y for x, y in zip(a, b))
            print(f"ratio {selected[0][0]} / {selected[1][0]} per round: median "
                  f"{statistics.median(ratios):.3f}, of medians "
                  f"{statistics.median(a) / statistics.median(b):.3f}, of minima "
                  f"{min(a) / min(b):.3f}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        "| case | reps | min (s) | median (s) | max (s) | CPU median (s) | HDF5 file (MB) "
        "| command (`buffycoat …`) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, shown, n, lo, med, hi, cpu, size in rows:
        mb = f"{size / 1e6:.2f}" if size is not None else "–"
        lines.append(f"| {name} | {n} | {lo:.3f} | {med:.3f} | {hi:.3f} | {cpu:.3f} | {mb} "
                     f"| `{shown}` |")
    table = "\n".join(lines) + "\n"
    print(table)
    if opts.markdown:
        with open(opts.markdown, "w", encoding="utf-8") as f:
            f.write(table)


if __name__ == "__main__":
    main()
