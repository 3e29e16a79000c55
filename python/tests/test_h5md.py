"""H5MD conformance: pyh5md (the H5MD reference reader) reads positions and velocities with
their units; units are fixed-length ASCII strings; the units module is declared."""

import h5py
import numpy as np
import pyh5md

import buffycoat
from conftest import SCENARIOS


def test_pyh5md_reads_position_and_velocity_with_units(tmp_path):
    out = tmp_path / "run.h5"
    r = buffycoat.run(SCENARIOS / "default.toml", output=out)
    with pyh5md.File(str(out), "r") as f:
        cells = f.particles_group("cells")
        for name, unit, expected in (
            ("position", b"m", r.positions),
            ("velocity", b"m s-1", r.velocities),
        ):
            element = pyh5md.element(cells, name)
            assert isinstance(element, pyh5md.h5md_module.TimeElement)
            assert element.value.attrs["unit"] == unit
            assert element.time.attrs["unit"] == b"s"
            assert np.array_equal(element.value[()], expected)
            assert np.array_equal(element.time[()], r.time)
        diameter = pyh5md.element(cells, "diameter")
        assert diameter.attrs["unit"] == b"m"
        units = f["h5md/modules/units"]
        assert list(units.attrs["version"]) == [1, 0]
        assert units.attrs["system"] == b"SI"


def test_every_unit_attribute_is_fixed_length_ascii(tmp_path):
    for name in ("default", "leukapheresis_channel", "procedure_mnc_cart"):
        out = tmp_path / f"{name}.h5"
        buffycoat.run(SCENARIOS / f"{name}.toml", output=out)
        seen = []

        def visit(path, obj):
            if "unit" in obj.attrs:
                t = h5py.check_string_dtype(obj.attrs.get_id("unit").dtype)
                assert t is not None and t.length is not None and t.encoding == "ascii", (path, t)
                seen.append(path)

        with h5py.File(out, "r") as f:
            f.visititems(visit)
        assert seen, name
