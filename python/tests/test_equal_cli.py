"""Python results are bitwise equal to the CLI's for the same scenario and seed: every dataset
of the HDF5 output (as the CLI wrote it, as Python wrote it with `output=`, and the arrays
`Result.datasets` returns) and every deterministic summary value."""

import json

import h5py
import numpy as np
import pytest

import buffycoat
from conftest import SCENARIOS

# (scenario, overrides): default particles, whole blood (shortened: same physics, fewer
# frames), the channel, one procedure.
CASES = [
    ("default", []),
    ("whole_blood_tube", ["run.duration_s=60", "run.output_interval_s=10", "grid.radial_cells=80"]),
    ("leukapheresis_channel", []),
    ("procedure_mnc_cart", []),
]

# The build's commit (the CLI binary and the extension may be built at different moments of a
# dirty tree); compared separately with the summary's program.git_commit.
BUILD = {"/parameters/git_commit"}

# Summary values that measure the machine, not the physics.
TIMING = {"wall_time_s", "particle_steps_per_second", "output", "threads", "git_commit"}


def read_all(path):
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out["/" + name] = obj[()]

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def read_attrs(path):
    """Every attribute of every object, as text (fixed and variable strings alike) or lists."""
    out = {}

    def norm(v):
        if isinstance(v, bytes):
            return v.decode()
        if isinstance(v, np.ndarray):
            return [norm(x) for x in v.tolist()]
        if isinstance(v, np.generic):
            return v.item()
        return v

    def visit(name, obj):
        for k, v in obj.attrs.items():
            out[f"/{name}@{k}"] = norm(v)

    with h5py.File(path, "r") as f:
        visit("", f)
        f.visititems(visit)
    return out


def bitwise_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        return a.shape == b.shape and np.array_equal(
            a.astype(np.float64).view(np.uint64), b.astype(np.float64).view(np.uint64)
        )
    if a.dtype.kind in "OSU" or b.dtype.kind in "OSU":
        norm = lambda x: [v.decode() if isinstance(v, bytes) else str(v) for v in np.ravel(x)]
        return np.shape(a) == np.shape(b) and norm(a) == norm(b)
    return a.shape == b.shape and np.array_equal(a, b)


def strip_timing(summary):
    if isinstance(summary, dict):
        return {k: strip_timing(v) for k, v in summary.items() if k not in TIMING}
    return summary


@pytest.mark.parametrize("name,overrides", CASES, ids=[c[0] for c in CASES])
def test_python_equals_cli_bitwise(tmp_path, cli, name, overrides):
    scenario = SCENARIOS / f"{name}.toml"
    sets = [a for o in overrides for a in ("--set", o)]
    cli_h5, cli_json = tmp_path / "cli.h5", tmp_path / "cli.json"
    cli("run", scenario, "-q", "-o", cli_h5, "--summary", cli_json, *sets)
    py_h5 = tmp_path / "py.h5"
    result = buffycoat.run(scenario, set=overrides, output=py_h5)

    expected = read_all(cli_h5)
    written = read_all(py_h5)
    assert sorted(written) == sorted(expected)
    for path, value in expected.items():
        if path not in BUILD:
            assert bitwise_equal(written[path], value), f"{name}: {path} differs in the file"
    assert read_attrs(py_h5) == read_attrs(cli_h5)
    # The arrays handed to Python are the file's, bit for bit (numeric datasets and strings).
    assert sorted(result.datasets) == sorted(expected)
    for path, value in written.items():
        assert bitwise_equal(result.datasets[path], value), f"{name}: {path} differs in Result"
    assert result["/parameters/git_commit"].item() == result.summary["program"]["git_commit"]

    cli_summary = json.loads(cli_json.read_text())
    assert strip_timing(result.summary) == strip_timing(cli_summary)
    assert result.output == str(py_h5)


def test_acceptance_one_liner_prints_the_cli_value(tmp_path, cli):
    """The README's acceptance line: the pelleted fraction of the default scenario."""
    cli("run", SCENARIOS / "default.toml", "-q", "-o", tmp_path / "d.h5", "--summary", tmp_path / "d.json")
    expected = json.loads((tmp_path / "d.json").read_text())["species"]["probe"]["pelleted_fraction"]
    r = buffycoat.run(str(SCENARIOS / "default.toml"))
    assert r.summary["species"]["probe"]["pelleted_fraction"] == expected
    assert r.output is None


def test_results_do_not_depend_on_threads():
    a = buffycoat.run(SCENARIOS / "default.toml", threads=1)
    b = buffycoat.run(SCENARIOS / "default.toml", threads=3)
    for path in a.datasets:
        assert bitwise_equal(a[path], b[path]), path
