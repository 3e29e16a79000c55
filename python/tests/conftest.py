"""Shared fixtures: the repository, the CLI binary the Python results are compared with."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "data" / "scenarios"
BAD = REPO / "crates" / "cli" / "tests" / "fixtures" / "bad"


def cli_binary() -> Path:
    """The CLI to compare with: $BUFFYCOAT_CLI, else target/release, else target/debug."""
    env = os.environ.get("BUFFYCOAT_CLI")
    candidates = [Path(env)] if env else []
    candidates += [REPO / "target" / "release" / "buffycoat", REPO / "target" / "debug" / "buffycoat"]
    for c in candidates:
        if c.is_file():
            return c
    found = shutil.which("buffycoat")
    if found:
        return Path(found)
    raise RuntimeError(
        "no buffycoat binary: build it (cargo build --release -p buffycoat) or set BUFFYCOAT_CLI"
    )


@pytest.fixture(scope="session")
def cli():
    binary = cli_binary()

    def run(*args, check=True):
        p = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"buffycoat {' '.join(map(str, args))} failed:\n{p.stderr}")
        return p

    return run
