#!/usr/bin/env python3
"""Replays every reproducer of issue 13 against two `buffycoat` binaries and prints a table.

Usage:
    python3 crates/cli/tests/reproducers.py OLD_BIN OLD_TREE NEW_BIN NEW_TREE

OLD_TREE and NEW_TREE are the source trees whose `data/scenarios` each binary runs (a preset
may have gained keys since). Acceptance of issue 13: each reproducer fails on the old main
(dbf8245) and passes on the new binary; the script exits 1 if a reproducer does not pass on
the new binary. The automated regression tests that pin the same behaviour are named in the
`test` column (run by `cargo test`); this script is the evidence that they fail on the old
code. To rebuild the old binary:

    git worktree add /tmp/oldmain dbf8245
    (cd /tmp/oldmain && CARGO_TARGET_DIR=/tmp/oldmain-target cargo build -j 2 -p buffycoat)
    python3 crates/cli/tests/reproducers.py /tmp/oldmain-target/debug/buffycoat /tmp/oldmain \\
        target/debug/buffycoat .
    git worktree remove --force /tmp/oldmain; rm -rf /tmp/oldmain-target

Each case runs with a time limit (a hang is a failure) and, where the reproducer allocated
without bound, under `ulimit -v` 4 GiB. Needs h5py and numpy.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

TIMEOUT_S = 20
MEMORY_LIMIT = 4 << 30


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class Ctx:
    def __init__(self, binary, tree, d):
        self.bin = str(Path(binary).resolve())
        self.s = Path(tree).resolve() / "data" / "scenarios"
        self.d = Path(d)

    def run(self, *args, timeout=TIMEOUT_S, memory=False, stdin=None):
        """(exit status or 'hang', stdout, stderr)."""
        try:
            p = subprocess.run(
                [self.bin, *map(str, args)],
                cwd=self.d,
                capture_output=True,
                timeout=timeout,
                preexec_fn=limit_memory if memory else None,
            )
        except subprocess.TimeoutExpired:
            return "hang", "", ""
        err = p.stderr.decode(errors="replace")
        # Paths for people: the presets as $S, the case's directory as $D.
        err = err.replace(str(self.s), "$S").replace(str(self.d), "$D")
        return p.returncode, p.stdout.decode(errors="replace"), err

    def spawn(self, *args, stdout=subprocess.DEVNULL):
        return subprocess.Popen(
            [self.bin, *map(str, args)],
            cwd=self.d,
            stdout=stdout,
            stderr=subprocess.PIPE,
        )

    def preset(self, name):
        return self.s / name


def first_line(text, n=90):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    line = lines[0] if lines else ""
    line = line.replace("|", "/")
    return line if len(line) <= n else line[: n - 1] + "…"


def status_text(code, err=""):
    if code == "hang":
        return f"no end after {TIMEOUT_S} s"
    if isinstance(code, int) and code < 0:
        return f"killed by signal {-code}"
    if "panicked" in err:
        return f"exit {code}: panic"
    return f"exit {code}"


def non_finite_h5(path):
    bad = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f":
            if not np.all(np.isfinite(obj[()])):
                bad.append(name)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return bad


def json_nulls(v, at=""):
    if v is None:
        return [at]
    if isinstance(v, float) and not np.isfinite(v):
        return [at]
    if isinstance(v, dict):
        return [x for k, w in v.items() for x in json_nulls(w, f"{at}.{k}")]
    if isinstance(v, list):
        return [x for i, w in enumerate(v) for x in json_nulls(w, f"{at}[{i}]")]
    return []


def same_h5(a, b):
    """Every dataset of a equals b's bitwise (provenance text included)."""
    out = {}
    for path in (a, b):
        items = {}

        def visit(name, obj, items=items):
            if isinstance(obj, h5py.Dataset):
                v = obj[()]
                if isinstance(v, np.ndarray) and v.dtype.kind != "O":
                    items[name] = v.tobytes()
                else:
                    items[name] = repr(v.tolist() if isinstance(v, np.ndarray) else v)

        with h5py.File(path, "r") as f:
            f.visititems(visit)
        out[path] = items
    return out[a] == out[b]


# ---- item 2: inputs accepted that then misbehave ------------------------------------------


def refused(c, code, err, word):
    """A clear refusal naming `word`."""
    ok = code == 1 and word in err and "panicked" not in err
    return ok, (f"exit 1: {first_line(err)}" if code == 1 else status_text(code, err))


def finite_run(c, code, err, files):
    if code != 0:
        return False, f"{status_text(code, err)}: {first_line(err)}"
    problems = []
    for f in files:
        p = c.d / f
        if f.endswith(".h5"):
            bad = non_finite_h5(p)
            if bad:
                problems.append(f"NaN/inf in {', '.join(bad[:2])}")
        else:
            bad = json_nulls(json.loads(p.read_text().replace("NaN", "null")))
            if bad:
                problems.append(f"null in JSON {', '.join(bad[:2])}")
    return (not problems), ("exit 0, " + "; ".join(problems) if problems else "exit 0, all finite")


def inertial_ramp(c):
    code, _, err = c.run("run", c.preset("default.toml"), "-q", "-o", "o.h5",
                         "--set", "model.kind=inertial", "--set", "rotor.ramp_s=1e-306")
    return refused(c, code, err, "rotor")


def overdamped_ramp(c):
    code, _, err = c.run("run", c.preset("default.toml"), "-q", "-o", "o.h5",
                         "--set", "rotor.ramp_s=1e-306")
    if code == 0:
        return finite_run(c, code, err, ["o.h5"])
    return refused(c, code, err, "rotor")


def profile_knot(c):
    code, _, err = c.run("run", c.preset("sector_ramp_inertial.toml"), "-q", "-o", "o.h5",
                         "--set", "rotor.profile.1.time_s=1e-320")
    return refused(c, code, err, "rotor")


def step_min(c):
    code, _, err = c.run("run", c.preset("procedure_mnc_cart.toml"), "-q", "-o", "o.h5",
                         "--set", "procedure.step_min=1e-9", memory=True)
    ok, text = refused(c, code, err, "step_min")
    if "memory allocation" in err:
        text = f"{status_text(code)}: {first_line(err)}"
    return ok, text


def dt_tiny(c):
    code, _, err = c.run("run", c.preset("default.toml"), "-q", "-o", "o.h5",
                         "--set", "run.dt_s=1e-12")
    return refused(c, code, err, "dt_s")


def count_huge(c):
    code, _, err = c.run("run", c.preset("default.toml"), "-q", "-o", "o.h5",
                         "--set", "species.0.count=100000000", memory=True)
    ok = code == 1 and "memory" in err and "memory allocation of" not in err
    return ok, f"{status_text(code, err)}: {first_line(err)}"


def rpm_zero(c):
    code, _, err = c.run("run", c.preset("default.toml"), "-q", "-o", "o.h5",
                         "--summary", "s.json", "--set", "rotor.rpm=0")
    return finite_run(c, code, err, ["o.h5", "s.json"])


def tracers_zero(c):
    code, _, err = c.run("run", c.preset("whole_blood_tube.toml"), "-q", "-o", "o.h5",
                         "--summary", "s.json", "--set", "blood.tracers_per_species=0",
                         "--set", "run.duration_s=60")
    return finite_run(c, code, err, ["o.h5", "s.json"])


def procedure_at_once(c):
    code, _, err = c.run("run", c.preset("procedure_mnc_cart.toml"), "-q", "-o", "o.h5",
                         "--summary", "s.json", "--set", "procedure.time_limit_min=0.0001")
    return finite_run(c, code, err, ["o.h5", "s.json"])


def hindered_null(c):
    code, _, err = c.run("run", c.preset("whole_blood_tube.toml"), "-q", "-o", "o.h5",
                         "--summary", "s.json", "--set", "run.duration_s=60",
                         "--set", "run.output_interval_s=60", timeout=120)
    return finite_run(c, code, err, ["s.json"])


# ---- item 3: no result destroyed or left half-done -----------------------------------------


def same_output_and_summary(c):
    code, _, err = c.run("run", c.preset("default.toml"), "-q", "-o", "same.out",
                         "--summary", "same.out")
    left = (c.d / "same.out").exists()
    if code == 0:
        kind = "JSON" if (c.d / "same.out").read_bytes()[:1] == b"{" else "HDF5"
        return False, f"exit 0, same.out holds the {kind} only"
    return code == 1 and not left, f"exit {code}: {first_line(err)}"


def output_is_scenario(c):
    scn = c.d / "scen.toml"
    scn.write_bytes(c.preset("default.toml").read_bytes())
    before = scn.read_bytes()
    code, _, err = c.run("run", scn, "-q", "-o", scn)
    if scn.read_bytes() != before:
        return False, f"exit {code}, the scenario was overwritten with HDF5"
    return code == 1, f"exit {code}: {first_line(err)}"


def summary_missing_dir(c):
    code, _, err = c.run("run", c.preset("default.toml"), "-q", "-o", "o.h5",
                         "--summary", "nodir/s.json")
    left = (c.d / "o.h5").exists()
    return (code == 1 and not left), f"exit {code}{', o.h5 left behind' if left else ''}: {first_line(err)}"


def long_echo(c):
    scn = c.d / "long.toml"
    text = c.preset("default.toml").read_text()
    scn.write_text(text.replace('kind = "tube"', 'kind = "' + "x" * 1_000_000 + '"', 1))
    code, _, err = c.run("run", scn, "-q", "-o", "o.h5")
    return (code == 1 and len(err) < 10_000), f"exit {code}, {len(err)} bytes of message"


# ---- item 4: merge and plot trust their inputs ----------------------------------------------


def sweep_parts(c):
    parts = []
    for k in range(2):
        p = f"part{k}.h5"
        code, _, err = c.run("sweep", c.preset("default.toml"), "--vary", "rotor.rpm=1000,2000",
                             "--set", "species.0.count=100", "--set", "run.duration_s=2",
                             "--shard", f"{k}/2", "-o", p, "-q", timeout=60)
        if code != 0:
            raise RuntimeError(f"sweep failed: {err}")
        parts.append(p)
    return parts


def merge_missing_metrics(c):
    parts = sweep_parts(c)
    with h5py.File(c.d / parts[0], "a") as f:
        del f["/sweep/metrics"]
    code, _, err = c.run("merge", *parts, "-o", "m.h5")
    return code == 1, f"exit {code}: {first_line(err)}" if code else "exit 0, merged"


def merge_float_status(c):
    parts = sweep_parts(c)
    # Point 0 (run in part 0, status 0 = ok) becomes 0.5; point 1 stays "not run" there.
    with h5py.File(c.d / parts[0], "a") as f:
        status = f["/sweep/status"][()].astype(float)
        status[0] = 0.5
        del f["/sweep/status"]
        f["/sweep/status"] = status
    code, _, err = c.run("merge", *parts, "-o", "m.h5")
    return code == 1, f"exit {code}: {first_line(err)}" if code else "exit 0, status 0.5 read as 0 (ok)"


def plot_status_99(c):
    parts = sweep_parts(c)
    with h5py.File(c.d / parts[0], "a") as f:
        f["/sweep/status"][...] = 99
    code, _, err = c.run("plot", parts[0], "-o", "p.png")
    return code == 1, f"exit {code}: {first_line(err)}" if code else "exit 0, plotted"


def two_sweeps(c):
    args = ["sweep", c.preset("default.toml"), "--vary", "rotor.rpm=1000:3000:12",
            "--set", "species.0.count=40000", "--set", "run.duration_s=10", "--threads", "1",
            "-o", "sw.h5", "-q", "--resume"]
    first = c.spawn(*args)
    time.sleep(0.3)
    if first.poll() is not None:
        return False, "the first sweep ended too soon to test"
    code, _, err = c.run(*args, timeout=120)
    first.wait()
    return code == 1, f"second: exit {code}{': ' + first_line(err) if code else ', ran every point'}"


# ---- item 1 and session 2: interrupts, resume, locks, pipes ---------------------------------


def stray(c, name):
    return sorted(p.name for p in c.d.iterdir() if p.name.startswith(f".{name}.partial"))


def signal_run(c, sig, expected):
    p = c.spawn("run", c.preset("default.toml"), "-q", "-o", "o.h5",
                "--set", "run.output_interval_s=0.01", "--set", "species.0.count=20000")
    time.sleep(1.5)
    if p.poll() is not None:
        return False, "ended before the signal"
    p.send_signal(sig)
    try:
        _, err = p.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        p.kill()
        return False, "did not stop"
    err = err.decode(errors="replace")
    code = p.returncode
    left = stray(c, "o.h5")
    ok = code == expected and not left and "--resume" in err
    text = status_text(code, err)
    if left:
        text += f", left {left[0]}"
    if "--resume" in err:
        text += ", checkpoint + how to continue"
    return ok, text


def sigterm(c):
    return signal_run(c, signal.SIGTERM, 143)


def sighup(c):
    return signal_run(c, signal.SIGHUP, 129)


def sigint(c):
    return signal_run(c, signal.SIGINT, 130)


def two_runs(c):
    args = ["run", c.preset("default.toml"), "-q", "-o", "o.h5",
            "--set", "run.output_interval_s=0.01", "--set", "species.0.count=20000"]
    first = c.spawn(*args)
    time.sleep(1.0)
    if first.poll() is not None:
        return False, "the first run ended too soon to test"
    code, _, err = c.run(*args)
    first.kill()
    first.wait()
    if code == "hang":
        return False, f"second: not refused, ran alongside the first (stopped after {TIMEOUT_S} s)"
    return code == 1 and "another buffycoat" in err, f"second: {status_text(code, err)}: {first_line(err)}"


def broken_pipe(c):
    results = []
    for args in (["species"], ["run", c.preset("default.toml"), "-o", "o.h5"]):
        p = c.spawn(*args, stdout=subprocess.PIPE)
        p.stdout.close()
        _, err = p.communicate(timeout=TIMEOUT_S)
        err = err.decode(errors="replace")
        results.append((p.returncode, "panicked" in err))
    ok = all(code == 0 and not panic for code, panic in results)
    return ok, "; ".join(
        f"{a}: {'panic, ' if panic else ''}exit {code}" for a, (code, panic) in zip(["species", "run"], results)
    )


def stale_summary_tmp(c):
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = c.d / f".s.json.partial-{gone.pid}-a1B2c3"
    stale.write_text('{"half": ')
    code, _, err = c.run("run", c.preset("default.toml"), "-q", "-o", "o.h5", "--summary", "s.json")
    ok = code == 0 and not stale.exists()
    return ok, f"exit {code}, {'removed and reported' if ok else stale.name + ' left'}"


def resume_case(c, preset, sets, what):
    """Uninterrupted reference; then a run killed (SIGKILL) after its first checkpoints and
    the same command with --resume: must continue from the checkpoint to the same file."""
    base = ["run", c.preset(preset), "-q", *sum((["--set", s] for s in sets), []),
            "--set", "output.checkpoint_every_frames=1"]
    code, _, err = c.run(*base, "-o", "ref.h5", timeout=120)
    if code != 0:
        return False, f"{status_text(code, err)}: {first_line(err)}"
    p = c.spawn(*base, "-o", "o.h5")
    deadline = time.time() + 60
    ckpt = c.d / ".o.h5.checkpoint"
    while not ckpt.exists() and p.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    if p.poll() is not None:
        return False, "ended before it could be killed"
    p.kill()
    p.wait()
    code, _, err = c.run(*base, "-o", "o.h5", "--resume", timeout=120)
    if code != 0:
        return False, f"resume: {status_text(code, err)}: {first_line(err)}"
    resumed = "resuming" in err
    same = same_h5(c.d / "ref.h5", c.d / "o.h5")
    return resumed and same, f"{'resumed from the checkpoint' if resumed else 'started over'}, {'bitwise identical' if same else 'differs'}"


def resume_transient(c):
    return resume_case(c, "leukapheresis_channel.toml",
                       ["grid.radial_cells=40", "grid.along_cells=40", "channel.solver=transient",
                        "run.duration_s=560", "run.output_interval_s=8"], "transient")


def resume_procedure(c):
    return resume_case(c, "procedure_mnc_cart.toml",
                       ["grid.radial_cells=40", "grid.along_cells=60"], "procedure")


def resume_particles(c):
    return resume_case(c, "default.toml",
                       ["model.kind=inertial", "run.output_interval_s=0.25", "species.0.count=3000"],
                       "particles")


CASES = [
    # (name, function, regression test)
    ("inertial ramp_s=1e-306 hung", inertial_ramp, "fixtures/bad/reproducer_inertial_ramp_1e-306_hung.toml, fuzz.rs corpus"),
    ("overdamped ramp_s=1e-306 wrote NaN", overdamped_ramp, "fixtures/bad/reproducer_overdamped_ramp_1e-306_wrote_nan.toml"),
    ("profile knot at 1e-320 s stuck at frame 0", profile_knot, "fixtures/bad/reproducer_profile_knot_at_1e-320_s_stuck_at_frame_0.toml"),
    ("procedure.step_min=1e-9 unbounded memory", step_min, "fixtures/bad/reproducer_procedure_step_min_1e-9_unbounded_memory.toml"),
    ("run.dt_s=1e-12 never finished", dt_tiny, "fixtures/bad/reproducer_dt_1e-12_never_finished.toml"),
    ("count=1e8 under 4 GiB: allocation abort", count_huge, "bad_input.rs a_run_larger_than_the_memory_limit_is_refused_up_front"),
    ("rpm=0: dt_s inf, JSON null", rpm_zero, "finite_outputs.rs reproducers_of_non_finite_output_…"),
    ("tracers_per_species=0: NaN radii", tracers_zero, "finite_outputs.rs reproducers_of_non_finite_output_…"),
    ("procedure stopping at once: CE NaN/inf", procedure_at_once, "finite_outputs.rs reproducers_of_non_finite_output_…"),
    ("hindered preset: max_particle_reynolds null", hindered_null, "finite_outputs.rs every_preset_writes_only_finite_numbers_and_no_nulls"),
    ("-o same.out --summary same.out", same_output_and_summary, "bad_input.rs coinciding_or_unwritable_outputs_…"),
    ("run scen.toml -o scen.toml", output_is_scenario, "bad_input.rs coinciding_or_unwritable_outputs_…"),
    ("summary in a missing directory", summary_missing_dir, "bad_input.rs coinciding_or_unwritable_outputs_…"),
    ("1 MB string echoed in the error", long_echo, "main.rs unit test, bad_input.rs"),
    ("merge: shard without /sweep/metrics", merge_missing_metrics, "sweep.rs corrupted_sweep_files_…"),
    ("merge: float status 0.5", merge_float_status, "sweep.rs corrupted_sweep_files_…"),
    ("plot: status 99", plot_status_99, "sweep.rs corrupted_sweep_files_…"),
    ("two sweeps on one output", two_sweeps, "sweep.rs"),
    ("run stopped by SIGTERM (exit 143)", sigterm, "resume.rs kill tests"),
    ("run stopped by SIGHUP (exit 129)", sighup, "resume.rs the_exit_status_tells_the_signal"),
    ("run stopped by SIGINT (exit 130)", sigint, "resume.rs the_exit_status_tells_the_signal"),
    ("inertial particle run killed, --resume", resume_particles, "resume.rs a_particle_run_killed_…"),
    ("transient channel killed, --resume", resume_transient, "resume.rs a_transient_channel_run_killed_…"),
    ("procedure killed, --resume", resume_procedure, "resume.rs a_procedure_killed_…"),
    ("two runs on one output", two_runs, "resume.rs a_second_run_on_the_same_output_…"),
    ("stdout closed (piped into head)", broken_pipe, "resume.rs a_closed_stdout_does_not_make_the_program_panic"),
    ("summary temp file of a killed write", stale_summary_tmp, "resume.rs the_temporary_file_of_a_killed_summary_write_is_removed"),
]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    old_bin, old_tree, new_bin, new_tree = sys.argv[1:]
    rows = []
    all_ok = True
    for name, case, test in CASES:
        results = []
        for binary, tree in ((old_bin, old_tree), (new_bin, new_tree)):
            with tempfile.TemporaryDirectory() as d:
                try:
                    ok, text = case(Ctx(binary, tree, d))
                except Exception as e:  # a case that cannot even be set up fails
                    ok, text = False, f"error: {first_line(str(e))}"
            results.append((ok, text))
        (old_ok, old_text), (new_ok, new_text) = results
        all_ok &= new_ok and not old_ok
        rows.append(
            f"| {name} | {'✗' if not old_ok else '✓ (!)'} {old_text} | {'✓' if new_ok else '✗ (!)'} {new_text} | {test} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    print("| reproducer | old main | this build | regression test |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
