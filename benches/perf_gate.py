#!/usr/bin/env python3
"""Instruction-count performance gate.

Runs every workload of the `perf-probe` binary (benches/probe: fixed sizes and seeds, one
thread) under `valgrind --tool=cachegrind --cache-sim=no` and compares its instruction count
("I refs") with the committed baseline `benches/instruction-baseline.json`. Instruction counts
are repeatable for a given binary, toolchain and machine, whatever else the machine is doing,
unlike wall-clock time on shared CI runners.

    python3 benches/perf_gate.py            # compare; exit 1 if any workload is > 3 % above
    python3 benches/perf_gate.py --approve  # measure and write a new baseline (on purpose!)

The baseline records the toolchain (`rustc -V`), the valgrind version and the CPU features that
select glibc's math routines (FMA, AVX2). If the toolchain or those features differ, the counts
are not comparable: the gate says so, prints the table, and passes; re-approve after
checking the numbers. Faster-than-baseline workloads (> 3 % below) are reported so that the
improvement can be locked in with --approve.
"""
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(ROOT, "benches", "instruction-baseline.json")
THRESHOLD = 0.03


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, check=True, text=True, capture_output=True, **kw)


def build():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    run(["cargo", "build", "--profile", "bench", "--locked", "-q", "-p", "buffycoat-probe"])
    return os.path.join(target, "release", "perf-probe")


def measure(probe, workload):
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", probe, workload],
        cwd=ROOT, text=True, capture_output=True)
    if out.returncode != 0:
        sys.exit(f"perf gate: {workload} failed under valgrind:\n{out.stdout}{out.stderr}")
    m = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if not m:
        sys.exit(f"perf gate: no instruction count for {workload} in valgrind's output:\n{out.stderr}")
    checksum = out.stdout.strip().split()[-1] if out.stdout.strip() else "?"
    return int(m.group(1).replace(",", "")), checksum


def versions():
    rustc = run(["rustc", "-V"]).stdout.strip()
    valgrind = run(["valgrind", "--version"]).stdout.strip()
    return rustc, valgrind


def cpu_features():
    """The CPU features that change which glibc math routines run (ifunc selection: exp, sin,
    pow have FMA/AVX2 variants), and hence the instruction counts."""
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    return " ".join(f for f in ("fma", "avx2", "avx512f") if f in flags) or "baseline"


def main():
    approve = "--approve" in sys.argv[1:]
    probe = build()
    workloads = run([probe, "list"]).stdout.split()
    rustc, valgrind = versions()
    cpu = cpu_features()
    started = time.time()
    counts = {}
    checksums = {}
    for w in workloads:
        counts[w], checksums[w] = measure(probe, w)
    elapsed = time.time() - started
    if approve:
        data = {
            "toolchain": rustc,
            "valgrind": valgrind,
            "cpu_features": cpu,
            "threshold": THRESHOLD,
            "approved": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "workloads": counts,
            "checksums": checksums,
        }
        with open(BASELINE + ".tmp", "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(BASELINE + ".tmp", BASELINE)
        print(f"perf gate: new baseline written to {os.path.relpath(BASELINE, ROOT)} ({rustc}; {valgrind})")
        for w in workloads:
            print(f"  {w:<20} {counts[w]:>15,} instructions")
        return 0
    if not os.path.exists(BASELINE):
        sys.exit(f"perf gate: no baseline {BASELINE}; create one with: python3 benches/perf_gate.py --approve")
    with open(BASELINE) as f:
        base = json.load(f)
    threshold = base.get("threshold", THRESHOLD)
    comparable = base.get("toolchain") == rustc and base.get("cpu_features", cpu) == cpu
    print(f"perf gate: instruction counts (valgrind cachegrind), threshold +{threshold:.0%}, {elapsed:.0f} s")
    print(f"  baseline: {base.get('toolchain')}, CPU features [{base.get('cpu_features')}] ({base.get('approved')})")
    print(f"  now:      {rustc}, CPU features [{cpu}]")
    print(f"  {'workload':<20} {'baseline':>15} {'now':>15} {'change':>9}  result")
    failed = []
    for w in workloads:
        now = counts[w]
        old = base["workloads"].get(w)
        if old is None:
            print(f"  {w:<20} {'-':>15} {now:>15,} {'new':>9}  not in the baseline (approve to add)")
            continue
        change = now / old - 1.0
        if change > threshold:
            verdict = "SLOWER: fails the gate"
            failed.append(w)
        elif change < -threshold:
            verdict = "faster (approve to lock in)"
        else:
            verdict = "ok"
        if base.get("checksums", {}).get(w) not in (None, checksums[w]):
            verdict += f"; checksum changed ({base['checksums'][w]} -> {checksums[w]})"
        print(f"  {w:<20} {old:>15,} {now:>15,} {change:>+8.2%}  {verdict}")
    if failed and not comparable:
        print("perf gate: the toolchain or CPU features differ from the baseline's, so the counts are not comparable;"
              " not failing. Check the table and re-approve: python3 benches/perf_gate.py --approve")
        return 0
    if failed:
        print(f"perf gate: FAILED: {', '.join(failed)} more than {threshold:.0%} above the baseline.\n"
              "If the slowdown is intended, re-approve: python3 benches/perf_gate.py --approve")
        return 1
    print("perf gate: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
