"""Every error class maps to an exception carrying the CLI's message: every bad-input fixture
of the CLI's own tests (crates/cli/tests/fixtures/bad) through both front ends, plus the
command-line cases (missing file, bad override, unwritable or existing output, bad sweep)."""

import os

import pytest

import buffycoat
from buffycoat import _native
from conftest import BAD, SCENARIOS

DEFAULT = SCENARIOS / "default.toml"


def cli_message(cli, *args):
    p = cli("run", *args, "-q", check=False)
    assert p.returncode == 1 and p.stderr.startswith("error: "), p.stderr
    return p.stderr[len("error: ") :].rstrip("\n")


def fixtures():
    return sorted(BAD.glob("*.toml"))


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_bad_fixture_raises_the_cli_message(tmp_path, cli, path):
    expected = cli_message(cli, path, "-o", tmp_path / "cli.h5")
    out = tmp_path / "py.h5"
    with pytest.raises(buffycoat.BuffycoatError) as info:
        buffycoat.run(path, output=out)
    assert str(info.value) == expected
    assert type(info.value) in (
        buffycoat.ScenarioError,
        buffycoat.ScenarioKeyError,
        buffycoat.SetupError,
    ), type(info.value)
    assert not out.exists() and os.listdir(tmp_path) == []


def test_fixtures_cover_the_input_classes():
    kinds = set()
    for path in fixtures():
        try:
            buffycoat.run(path)
        except buffycoat.BuffycoatError as e:
            kinds.add(type(e))
    assert {buffycoat.ScenarioError, buffycoat.ScenarioKeyError, buffycoat.SetupError} <= kinds


def test_missing_file(tmp_path, cli):
    missing = tmp_path / "nope.toml"
    expected = cli_message(cli, missing, "-o", tmp_path / "x.h5")
    with pytest.raises(buffycoat.ScenarioFileError) as info:
        buffycoat.run(missing)
    assert str(info.value) == expected
    assert isinstance(info.value, FileNotFoundError)


def test_bad_override(tmp_path, cli):
    for bad in ("rotor.rpmm=3", "rotor", "rotor.rpm=-5"):
        expected = cli_message(cli, DEFAULT, "--set", bad, "-o", tmp_path / "x.h5")
        with pytest.raises(buffycoat.ScenarioError) as info:
            buffycoat.run(DEFAULT, set=[bad])
        assert str(info.value) == expected
    with pytest.raises(buffycoat.OverrideError):
        buffycoat.run(DEFAULT, set={"rotor.rpmm": 3})
    with pytest.raises(buffycoat.ScenarioKeyError) as info:
        buffycoat.run(DEFAULT, set={"rotor.rpm": -5})
    assert "rotor.rpm" in str(info.value)


def test_unwritable_output(tmp_path, cli):
    target = tmp_path / "no" / "such" / "dir" / "out.h5"
    expected = cli_message(cli, DEFAULT, "-o", target)
    with pytest.raises(buffycoat.OutputError) as info:
        buffycoat.run(DEFAULT, output=target)
    assert str(info.value) == expected


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "out.h5"
    out.write_text("precious")
    with pytest.raises(buffycoat.OutputExistsError) as info:
        buffycoat.run(DEFAULT, output=out)
    assert "already exists" in str(info.value) and isinstance(info.value, FileExistsError)
    assert out.read_text() == "precious"
    buffycoat.run(DEFAULT, output=out, force=True)
    assert out.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"


def test_bad_arguments():
    with pytest.raises(ValueError, match="threads must be at least 1"):
        buffycoat.run(DEFAULT, threads=0)
    with pytest.raises(TypeError):
        buffycoat.run(42)
    with pytest.raises(buffycoat.ScenarioError) as info:
        buffycoat.run("version = 1\n[run]\nduration_s = \n")
    assert str(info.value).startswith("<string>: ")
    with pytest.raises(buffycoat.ScenarioError) as info:
        buffycoat.run({"version": 1, "run": {"duration_s": object()}})
    assert "run.duration_s" in str(info.value)


def test_sweep_errors(tmp_path, cli):
    cases = [
        ["--vary", "rotor.rpm=1:2"],
        ["--vary", "model.kind=1,2"],
        ["--vary", "run.seed=1,2"],
    ]
    for args in cases:
        p = cli("sweep", DEFAULT, *args, "-q", "-o", tmp_path / "s.h5", check=False)
        expected = p.stderr[len("error: ") :].rstrip("\n")
        key, spec = args[1].split("=", 1)
        with pytest.raises(buffycoat.SweepError) as info:
            buffycoat.sweep(DEFAULT, vary={key: spec})
        assert str(info.value) == expected
    with pytest.raises(buffycoat.ScenarioFileError):
        buffycoat.sweep(tmp_path / "nope.toml", vary={"rotor.rpm": [1, 2]})
    with pytest.raises(buffycoat.ScenarioKeyError):
        buffycoat.sweep(DEFAULT, vary={"rotor.rpm": [1, 2]}, set={"run.duration_s": -1})


@pytest.mark.parametrize(
    "kind,cls",
    [
        ("solver", buffycoat.SolverError),
        ("setup", buffycoat.SetupError),
        ("output", buffycoat.OutputError),
        ("sweep", buffycoat.SweepError),
        ("key", buffycoat.ScenarioKeyError),
    ],
)
def test_native_kinds_map_to_classes(kind, cls):
    """The kinds the native module reports (python/src/lib.rs, `Failure`) and their classes;
    a solver failure cannot be provoked from valid input, so its mapping is checked here."""

    def fail():
        raise _native.NativeError(kind, "the message")

    with pytest.raises(cls, match="^the message$"):
        buffycoat._call(fail)
