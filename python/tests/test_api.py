"""The API's forms of input (path, TOML text, dict; overrides as dict, list, string), the
convenience accessors and their units, sweeps, species and validation."""

import math
import tomllib

import numpy as np
import pytest

import buffycoat
from conftest import SCENARIOS

DEFAULT = SCENARIOS / "default.toml"


def deterministic(summary):
    skip = {"wall_time_s", "particle_steps_per_second", "scenario", "output", "threads"}
    return {k: v for k, v in summary.items() if k not in skip}


def test_text_and_dict_scenarios_equal_the_file():
    text = DEFAULT.read_text()
    from_file = buffycoat.run(DEFAULT)
    from_text = buffycoat.run(text)
    from_dict = buffycoat.run(tomllib.loads(text))
    assert from_text.summary["scenario"] == "<string>"
    assert from_dict.summary["scenario"] == "<dict>"
    for other in (from_text, from_dict):
        assert deterministic(other.summary) == deterministic(from_file.summary)
        assert np.array_equal(other.positions, from_file.positions)
    # The provenance keeps what ran: the text as given, the dict as TOML.
    assert from_text["/parameters/scenario_toml"].item() == text
    assert tomllib.loads(from_dict["/parameters/scenario_toml"].item()) == tomllib.loads(text)


def test_overrides_in_every_form_are_the_cli_set():
    as_dict = buffycoat.run(DEFAULT, set={"rotor.rpm": 1500, "run.seed": 3})
    as_list = buffycoat.run(DEFAULT, set=["rotor.rpm=1500", "run.seed=3"])
    as_str = buffycoat.run(DEFAULT, set="rotor.rpm=1500")
    assert as_dict.summary["seed"] == 3
    assert deterministic(as_dict.summary) == deterministic(as_list.summary)
    assert list(as_list["/parameters/overrides"]) == ["rotor.rpm=1500", "run.seed=3"]
    assert as_str.summary["species"] != buffycoat.run(DEFAULT).summary["species"]


def test_particle_arrays_have_shapes_and_units():
    r = buffycoat.run(DEFAULT)
    frames = len(r.time)
    n = r.summary["species"]["probe"]["count"]
    assert r.positions.shape == (frames, n, 3)
    assert r.velocities.shape == (frames, n, 3)
    assert r.positions.dtype == np.float64
    assert r.unit("/particles/cells/position/value") == "m"
    assert r.unit("/particles/cells/velocity/value") == "m s-1"
    assert r.unit("/particles/cells/position/time") == "s"
    assert r.species_names == ["probe"]
    assert r.diameter.shape == (n,) and r.unit("/particles/cells/diameter") == "m"
    pel = r.series("/observables/pelleted_fraction")
    assert pel["names"] == ["probe"]
    assert pel["value"][-1, 0] == r.summary["species"]["probe"]["pelleted_fraction"]
    assert np.all(np.isfinite(r.positions))


def test_channel_and_procedure_accessors():
    ch = buffycoat.run(SCENARIOS / "leukapheresis_channel.toml")
    field = ch.channel
    k, nr = field["hematocrit"].shape
    assert field["radius_m"].shape == (nr,) and field["along_m"].shape == (k,)
    assert ch.unit("/fields/channel/radius_m") == "m"
    assert set(ch.ports) == set(ch.summary["ports"])
    for port, values in ch.ports.items():
        assert values["hematocrit"].item() == ch.summary["ports"][port]["hematocrit"]
    pr = buffycoat.run(SCENARIOS / "procedure_mnc_cart.toml")
    p = pr.procedure
    t = p["time_s"]
    assert t.ndim == 1 and np.all(np.diff(t) > 0)
    assert p["patient_per_ul"].shape[0] == len(t)
    assert pr.unit("/procedure/time_s") == "s"
    assert pr.unit("/procedure/processed_volume_ml") == "mL"
    assert ch.procedure is None and pr.channel is None and ch.positions is None


def test_hindered_fields():
    r = buffycoat.run(
        SCENARIOS / "whole_blood_tube.toml",
        set={"run.duration_s": 60, "grid.radial_cells": 60},
    )
    vf = r.volume_fraction
    times = r.series("/fields/volume_fraction")["time"]
    assert vf.shape[0] == len(times) and vf.shape[1] == len(r.radius) == 60
    assert np.all(vf >= 0) and np.all(vf <= 1)


def test_sweep_points_equal_runs():
    s = buffycoat.sweep(DEFAULT, vary={"rotor.rpm": "1000:3000:3", "run.duration_s": [5, 10]})
    assert len(s) == 6 and s.shape == (3, 2) and s.keys == ["rotor.rpm", "run.duration_s"]
    assert np.array_equal(s.parameters["rotor.rpm"], [1000, 1000, 2000, 2000, 3000, 3000])
    assert np.all(s.status == 0) and s.errors == [""] * 6
    name = "species.probe.pelleted_fraction"
    assert s.units.get("rotor.rpm") == "rpm"
    assert s.grid(name).shape == (3, 2)
    # Point p is `run --set KEY=value ... --set run.seed=S`.
    p = 3
    r = buffycoat.run(
        DEFAULT,
        set={"rotor.rpm": 2000.0, "run.duration_s": 10.0, "run.seed": int(s.seeds[p])},
    )
    assert s.metrics[name][p] == r.summary["species"]["probe"]["pelleted_fraction"]
    # Independent of threads.
    t = buffycoat.sweep(DEFAULT, vary={"rotor.rpm": "1000:3000:3", "run.duration_s": [5, 10]}, threads=1)
    assert np.array_equal(t.metrics[name], s.metrics[name])


def test_sweep_records_failed_points_and_fixed_overrides():
    s = buffycoat.sweep(DEFAULT, vary={"rotor.rpm": [1000, -5]}, set={"run.duration_s": 5})
    assert list(s.status) == [0, 1]
    assert "rotor.rpm" in s.errors[1]
    assert math.isnan(s.metrics["species.probe.pelleted_fraction"][1])


def test_sweep_to_pandas():
    pd = pytest.importorskip("pandas")
    s = buffycoat.sweep(DEFAULT, vary={"rotor.rpm": [1000, 2000]})
    df = s.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 2
    assert list(df["rotor.rpm"]) == [1000.0, 2000.0]


def test_species_library():
    lib = buffycoat.species()
    names = [s["name"] for s in lib]
    assert "lymphocyte" in names and "rbc" in names
    lym = lib[names.index("lymphocyte")]
    assert 1050 < lym["density_kg_m3"] < 1090
    assert 5e-6 < lym["diameter_m"] < 12e-6
    assert lym["source"]


def test_validate():
    v = buffycoat.validate()
    assert v.passed and bool(v)
    assert len(v.cases) > 5
    for c in v.cases:
        assert c["relative_error"] <= c["tolerance"]
        assert c["case"] in v.table
