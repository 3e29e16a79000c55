"""ParaView/VisIt: every output with a mesh has an XDMF sidecar (OUT.xmf) that VTK's own
reader (vtkXdmfReader, as in ParaView) reads with the right array names, shapes, time steps
and values (compared with h5py)."""

import h5py
import numpy as np
import pytest
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOXdmf2 import vtkXdmfReader

import buffycoat
from conftest import SCENARIOS


def read(xmf):
    reader = vtkXdmfReader()
    reader.SetFileName(str(xmf))
    reader.UpdateInformation()
    info = reader.GetOutputInformation(0)
    from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline as sddp

    times = list(info.Get(sddp.TIME_STEPS())) if info.Has(sddp.TIME_STEPS()) else []
    return reader, times


def blocks_at(reader, t):
    """The reader's output at time t as {grid name: vtkDataSet}."""
    reader.UpdateTimeStep(t)
    out = reader.GetOutputDataObject(0)
    if not out.IsA("vtkCompositeDataSet"):  # a file with one grid (temporal or not)
        return {reader.GetGridName(0): out}
    found = {}
    it = out.NewIterator()
    it.InitTraversal()
    while not it.IsDoneWithTraversal():
        name = it.GetCurrentMetaData().Get(out.NAME())
        found[name] = it.GetCurrentDataObject()
        it.GoToNextItem()
    return found


def point_array(ds, name):
    arr = ds.GetPointData().GetArray(name)
    assert arr is not None, (name, [ds.GetPointData().GetArrayName(i) for i in range(ds.GetPointData().GetNumberOfArrays())])
    return vtk_to_numpy(arr)


def run_with_sidecar(tmp_path, name, overrides=None):
    out = tmp_path / f"{name}.h5"
    buffycoat.run(SCENARIOS / f"{name}.toml", set=overrides, output=out)
    xmf = tmp_path / f"{name}.xmf"
    assert xmf.is_file(), "no sidecar"
    return out, xmf


def test_particles_over_time(tmp_path):
    out, xmf = run_with_sidecar(tmp_path, "default")
    reader, times = read(xmf)
    with h5py.File(out, "r") as f:
        t = f["particles/cells/position/time"][()]
        pos = f["particles/cells/position/value"][()]
        vel = f["particles/cells/velocity/value"][()]
        species = f["particles/cells/species"][()]
        diameter = f["particles/cells/diameter"][()]
        density = f["particles/cells/density"][()]
    assert np.allclose(times, t, rtol=1e-15, atol=0)
    for i in (0, len(t) // 2, len(t) - 1):
        cells = blocks_at(reader, t[i])["cells"]
        assert cells.GetNumberOfPoints() == pos.shape[1]
        points = vtk_to_numpy(cells.GetPoints().GetData())
        assert points.shape == pos[i].shape and np.array_equal(points, pos[i])
        v = point_array(cells, "velocity")
        assert v.shape == (pos.shape[1], 3) and np.array_equal(v, vel[i])
        assert np.array_equal(point_array(cells, "species"), species)
        assert np.array_equal(point_array(cells, "diameter"), diameter)
        assert np.array_equal(point_array(cells, "density"), density)
        assert cells.GetNumberOfCells() == pos.shape[1]  # one vertex per cell


def test_radial_fields_and_tracers_over_time(tmp_path):
    out, xmf = run_with_sidecar(
        tmp_path, "whole_blood_tube", {"run.duration_s": 60, "grid.radial_cells": 50}
    )
    reader, times = read(xmf)
    with h5py.File(out, "r") as f:
        ft = f["fields/volume_fraction/time"][()]
        vf = f["fields/volume_fraction/value"][()]
        radius = f["fields/radius_m"][()]
        names = [n.decode() if isinstance(n, bytes) else n for n in f["fields/volume_fraction"].attrs["names"]]
        pt = f["particles/cells/position/time"][()]
    # The union of the field's and the tracers' frame times.
    assert np.allclose(sorted(set(times)), sorted(set(ft) | set(pt)), rtol=1e-15, atol=0)
    for i in (0, len(ft) - 1):
        field = blocks_at(reader, ft[i])["radial_field"]
        assert field.GetNumberOfPoints() == len(radius)
        x = vtk_to_numpy(field.GetXCoordinates())
        assert np.array_equal(x, radius)
        for k, name in enumerate(names):
            a = point_array(field, f"volume_fraction {name}")
            assert a.shape == (len(radius),) and np.array_equal(a, vf[i, :, k])
    assert "cells" in blocks_at(reader, pt[-1])


def test_channel_field(tmp_path):
    out, xmf = run_with_sidecar(tmp_path, "leukapheresis_channel")
    reader, times = read(xmf)
    assert times == []  # steady
    with h5py.File(out, "r") as f:
        radius = f["fields/channel/radius_m"][()]
        along = f["fields/channel/along_m"][()]
        hct = f["fields/channel/hematocrit"][()]
        vf = f["fields/channel/volume_fraction"][()]
        names = [n.decode() if isinstance(n, bytes) else n for n in f["fields/channel/volume_fraction"].attrs["names"]]
    reader.Update()
    ch = blocks_at(reader, 0.0)["channel"]
    assert ch.GetDimensions() == (len(radius), len(along), 1)
    assert np.array_equal(vtk_to_numpy(ch.GetXCoordinates()), radius)
    assert np.array_equal(vtk_to_numpy(ch.GetYCoordinates()), along)
    # VTK orders points x fastest: [K][Nr] in C order is the same sequence.
    assert np.array_equal(point_array(ch, "hematocrit"), hct.ravel())
    for k, name in enumerate(names):
        assert np.array_equal(point_array(ch, f"volume_fraction {name}"), vf[:, :, k].ravel())


def test_no_sidecar_without_a_mesh(tmp_path):
    out = tmp_path / "p.h5"
    buffycoat.run(SCENARIOS / "procedure_mnc_cart.toml", output=out)
    assert not (tmp_path / "p.xmf").exists()
