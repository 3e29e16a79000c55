"""Runs release the GIL (another Python thread makes progress during a run) and Ctrl-C
interrupts a run or a sweep with KeyboardInterrupt, leaving no file behind."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import buffycoat
from conftest import SCENARIOS

LONG = SCENARIOS / "diluted_blood_tube.toml"


def test_a_second_thread_progresses_during_a_run():
    ticks = []
    done = threading.Event()

    def runner():
        buffycoat.run(LONG, threads=1)
        done.set()

    t = threading.Thread(target=runner)
    t.start()
    # Count how often this thread runs Python while the run is going on.
    while not done.is_set():
        ticks.append(1)
        time.sleep(0.001)
    t.join()
    # A run holding the GIL would let this loop run at most a couple of times.
    assert len(ticks) > 50, len(ticks)


def interrupted(tmp_path, body):
    """Runs `body` in a child Python with TMPDIR in tmp_path, sends SIGINT once the child
    says it started, and returns (returncode, stderr, files left in tmp_path)."""
    work = tmp_path / "work"
    work.mkdir()
    script = textwrap.dedent(
        f"""
        import sys, buffycoat
        print("started", flush=True)
        try:
            {body}
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
            sys.exit(130)
        print("finished", flush=True)
        """
    )
    env = dict(os.environ, TMPDIR=str(work))
    p = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=work,
    )
    assert p.stdout.readline().strip() == "started"
    time.sleep(0.7)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    return p.returncode, out, err, sorted(os.listdir(work))


def test_ctrl_c_interrupts_a_run_and_leaves_no_file(tmp_path):
    code, out, err, left = interrupted(
        tmp_path, f"buffycoat.run({str(LONG)!r}, output='out.h5', threads=1)"
    )
    assert code == 130 and "KeyboardInterrupt" in out, (out, err)
    assert left == [], left


def test_ctrl_c_interrupts_a_sweep_and_leaves_no_file(tmp_path):
    code, out, err, left = interrupted(
        tmp_path,
        f"buffycoat.sweep({str(LONG)!r}, vary={{'rotor.rpm': '1000:3000:40'}}, threads=1)",
    )
    assert code == 130 and "KeyboardInterrupt" in out, (out, err)
    assert left == [], left
