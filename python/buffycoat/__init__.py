"""buffycoat: centrifugal separation physics for leukapheresis, from Python.

The same engine, scenario format and outputs as the ``buffycoat`` program::

    import buffycoat
    r = buffycoat.run("data/scenarios/default.toml", set={"rotor.rpm": 2400})
    r.summary["species"]["probe"]["pelleted_fraction"]   # the SUMMARY.json of the CLI
    r.positions.shape                                    # (frames, cells, 3) in m
    s = buffycoat.sweep("data/scenarios/leukapheresis_channel.toml",
                        vary={"rotor.rpm": "1400:2000:4"})
    s.metrics["collection_efficiency.lymphocyte"]

- :func:`run` runs a scenario (a file, TOML text, or a dict with the keys of a scenario file)
  and returns a :class:`Result`: the summary as a dict and every dataset of the HDF5 output as
  a NumPy array (units in :attr:`Result.units`).
- :func:`sweep` runs a grid of parameter values and returns a :class:`SweepResult`.
- :func:`species` lists the species library; :func:`validate` runs the validation cases.

Runs release the GIL (other Python threads keep running) and Ctrl-C raises
``KeyboardInterrupt`` without leaving files behind. Errors raise the exceptions below with the
CLI's messages (file, key, allowed range).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native

__version__: str = _native.VERSION
GIT_COMMIT: str = _native.GIT_COMMIT

__all__ = [
    "run",
    "sweep",
    "species",
    "validate",
    "Result",
    "SweepResult",
    "ValidationResult",
    "BuffycoatError",
    "ScenarioError",
    "ScenarioFileError",
    "OverrideError",
    "ScenarioKeyError",
    "SetupError",
    "SolverError",
    "OutputError",
    "OutputExistsError",
    "SweepError",
]

Scenario = Union[str, "os.PathLike[str]", Mapping[str, Any]]
Overrides = Union[None, str, Sequence[str], Mapping[str, Any]]


# ---------------------------------------------------------------------------------------------
# Exceptions


class BuffycoatError(Exception):
    """Base class of every buffycoat error. ``str(e)`` is the CLI's message."""


class ScenarioError(BuffycoatError, ValueError):
    """The scenario is not valid TOML, or a key is unknown, missing or of the wrong type."""


class ScenarioFileError(ScenarioError, FileNotFoundError):
    """The scenario file cannot be read."""


class OverrideError(ScenarioError):
    """A ``set`` override is malformed or names an unknown key."""


class ScenarioKeyError(ScenarioError):
    """A value is out of its allowed range or inconsistent (the message names key and range)."""


class SetupError(BuffycoatError, ValueError):
    """The model rejected its set-up (e.g. a grid or geometry it cannot solve)."""


class SolverError(BuffycoatError, RuntimeError):
    """The solver failed during the run."""


class OutputError(BuffycoatError, OSError):
    """Writing or reading the HDF5 output failed."""


class OutputExistsError(OutputError, FileExistsError):
    """``output`` exists and ``force`` was not given."""


class SweepError(BuffycoatError, ValueError):
    """A ``vary`` specification is malformed, or a varied key cannot be varied."""


_ERRORS = {
    "scenario_read": ScenarioFileError,
    "scenario": ScenarioError,
    "override": OverrideError,
    "key": ScenarioKeyError,
    "setup": SetupError,
    "solver": SolverError,
    "output": OutputError,
    "exists": OutputExistsError,
    "sweep": SweepError,
    "value": ValueError,
}


def _call(fn, *args, **kwargs):
    """Calls a native function, turning its errors into the classes above."""
    try:
        return fn(*args, **kwargs)
    except _native.NativeError as e:
        kind, message = e.args
        raise _ERRORS.get(kind, BuffycoatError)(message) from None


# ---------------------------------------------------------------------------------------------
# Arguments


def _toml_value(v: Any) -> str:
    """A Python value as a TOML value for a ``--set`` override."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot use a {type(v).__name__} as a scenario value")


def _overrides(set: Overrides) -> List[str]:
    if set is None:
        return []
    if isinstance(set, str):
        return [set]
    if isinstance(set, Mapping):
        return [f"{k}={_toml_value(v)}" for k, v in set.items()]
    return [str(s) for s in set]


def _source(scenario: Scenario) -> Tuple[str, Any]:
    """("path" | "text" | "dict", value): a mapping is a scenario dict; a string with a
    newline, or with ``=`` and naming no file, is TOML text; anything else is a file path."""
    if isinstance(scenario, Mapping):
        return "dict", dict(scenario)
    if isinstance(scenario, os.PathLike):
        return "path", os.fspath(scenario)
    if isinstance(scenario, str):
        if "\n" in scenario or ("=" in scenario and not os.path.exists(scenario)):
            return "text", scenario
        return "path", scenario
    raise TypeError(
        f"scenario must be a path, TOML text or a dict, not {type(scenario).__name__}"
    )


def _threads(threads: Optional[int]) -> Optional[int]:
    if threads is None:
        return None
    if int(threads) < 1:
        raise ValueError("threads must be at least 1")
    return int(threads)


# ---------------------------------------------------------------------------------------------
# Units

# Units of datasets without a `unit` attribute, from the schema (crates/h5/src/schema.rs):
# the name's suffix says the unit.
_SUFFIX_UNITS = (
    ("_mg_kg_min", "mg kg-1 min-1"),
    ("_mg_kg", "mg kg-1"),
    ("_ml_min", "mL min-1"),
    ("_kg_m3", "kg m-3"),
    ("_ml", "mL"),
    ("_m", "m"),
    ("_s", "s"),
    ("per_ul", "uL-1"),
)


def _unit_of(path: str, unit: Optional[str]) -> Optional[str]:
    if unit is not None:
        return unit
    name = path.rsplit("/", 1)[-1]
    for suffix, u in _SUFFIX_UNITS:
        if name.endswith(suffix) or name == suffix.lstrip("_"):
            return u
    return None


# ---------------------------------------------------------------------------------------------
# Results


class Result:
    """The result of :func:`run`.

    Attributes:
        summary: the JSON summary of the run as a dict (the CLI's ``--summary`` file; keys in
            the README, "Summaries").
        datasets: every dataset of the run's HDF5 output, keyed by its path in the file
            (e.g. ``"/particles/cells/position/value"``), as NumPy arrays (float64 or int64;
            string datasets as arrays of ``str``). The paths and shapes are those of the
            output schema (README "Output files").
        units: the unit of each dataset that has one (UDUNITS-style text: ``"m"``,
            ``"m s-1"``, ``"1"`` for dimensionless), from the file's ``unit`` attribute or, for
            datasets without one, from the unit suffix of its name (``radius_m`` → m).
        labels: axis labels of datasets and groups (attributes ``names``, ``species``,
            ``legend``, ``layers``), keyed by path.
        output: the HDF5 file written (``output=``), or None.
    """

    summary: Dict[str, Any]
    datasets: Dict[str, np.ndarray]
    units: Dict[str, str]
    labels: Dict[str, Dict[str, List[str]]]
    output: Optional[str]

    def __init__(self, raw: Dict[str, Any]):
        self.summary = json.loads(raw["summary"])
        self.output = raw["output"]
        self.labels = raw["labels"]
        self.datasets = {}
        self.units = {}
        for path, (dtype, shape, data, unit) in raw["datasets"].items():
            if dtype == "str":
                arr = np.array(data, dtype=object).reshape(shape)
            else:
                arr = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()
            self.datasets[path] = arr
            u = _unit_of(path, unit)
            if u is not None:
                self.units[path] = u

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<buffycoat.Result model={s.get('model')!r} geometry={s.get('geometry')!r} "
            f"{len(self.datasets)} datasets>"
        )

    def __getitem__(self, path: str) -> np.ndarray:
        """The dataset at ``path`` (e.g. ``r["/fields/radius_m"]``)."""
        return self.datasets[path]

    def __contains__(self, path: object) -> bool:
        return path in self.datasets

    def keys(self) -> List[str]:
        """The dataset paths, sorted."""
        return sorted(self.datasets)

    def unit(self, path: str) -> Optional[str]:
        """The unit of the dataset at ``path``, or None (dimensionless counts, labels)."""
        return self.units.get(path)

    def names(self, path: str) -> Optional[List[str]]:
        """The ``names`` labels of the last axis of a dataset or time series, if any."""
        for p in (path, path.rsplit("/", 1)[0]):
            if p in self.labels and "names" in self.labels[p]:
                return self.labels[p]["names"]
        return None

    def _get(self, path: str) -> Optional[np.ndarray]:
        return self.datasets.get(path)

    # H5MD time series and per-cell data (particle and hindered runs) -------------------------

    @property
    def time(self) -> Optional[np.ndarray]:
        """Frame times ``[T]`` in s (of the particle positions), or None."""
        return self._get("/particles/cells/position/time")

    @property
    def positions(self) -> Optional[np.ndarray]:
        """Tracer cell positions ``[T][N][3]`` in m (rotor frame, x y z), or None."""
        return self._get("/particles/cells/position/value")

    @property
    def velocities(self) -> Optional[np.ndarray]:
        """Tracer cell velocities ``[T][N][3]`` in m s-1, or None."""
        return self._get("/particles/cells/velocity/value")

    @property
    def species_index(self) -> Optional[np.ndarray]:
        """Species of each cell ``[N]`` (index into :attr:`species_names`), or None."""
        return self._get("/particles/cells/species")

    @property
    def species_names(self) -> Optional[List[str]]:
        """Names of the species indices of :attr:`species_index`, or None."""
        return self.labels.get("/particles/cells/species", {}).get("names")

    @property
    def diameter(self) -> Optional[np.ndarray]:
        """Cell diameters ``[N]`` in m, or None."""
        return self._get("/particles/cells/diameter")

    @property
    def density(self) -> Optional[np.ndarray]:
        """Cell densities ``[N]`` in kg m-3, or None."""
        return self._get("/particles/cells/density")

    def series(self, group: str) -> Optional[Dict[str, Any]]:
        """An H5MD time series (e.g. ``"/observables/pelleted_fraction"``) as a dict with
        ``time`` [T] (s), ``step`` [T], ``value`` [T, ...], ``unit`` and ``names``; or None."""
        value = self._get(f"{group}/value")
        if value is None:
            return None
        return {
            "time": self._get(f"{group}/time"),
            "step": self._get(f"{group}/step"),
            "value": value,
            "unit": self.units.get(f"{group}/value"),
            "names": self.names(f"{group}/value"),
        }

    # Hindered runs ---------------------------------------------------------------------------

    @property
    def radius(self) -> Optional[np.ndarray]:
        """Cell centres of the radial field ``[Nr]`` in m (hindered runs), or None."""
        return self._get("/fields/radius_m")

    @property
    def volume_fraction(self) -> Optional[np.ndarray]:
        """Volume fractions ``[T][Nr][S]`` (dimensionless; hindered runs), or None; the times
        are ``series("/fields/volume_fraction")["time"]``."""
        return self._get("/fields/volume_fraction/value")

    # Channel runs ----------------------------------------------------------------------------

    @property
    def channel(self) -> Optional[Dict[str, np.ndarray]]:
        """The channel's 2-D field (channel runs), or None: ``radius_m`` [Nr] (m),
        ``flux_coordinate_m`` [Nr] (m), ``along_m`` [K] (m), ``volume_fraction`` [K][Nr][S],
        ``hematocrit`` [K][Nr] (dimensionless), ``port_split_radius_m`` [2] (m)."""
        prefix = "/fields/channel/"
        found = {
            p[len(prefix) :]: a for p, a in self.datasets.items() if p.startswith(prefix)
        }
        return found or None

    @property
    def ports(self) -> Optional[Dict[str, Dict[str, np.ndarray]]]:
        """Port results (channel runs), or None: port → ``flow_ml_min`` (mL min-1),
        ``hematocrit`` (–), ``fraction`` [S] (–), ``per_ul`` [S] (µL-1); species order in
        ``names("/observables/ports/<port>/fraction")``."""
        prefix = "/observables/ports/"
        out: Dict[str, Dict[str, np.ndarray]] = {}
        for p, a in self.datasets.items():
            if p.startswith(prefix):
                port, name = p[len(prefix) :].split("/", 1)
                out.setdefault(port, {})[name] = a
        return out or None

    # Procedures ------------------------------------------------------------------------------

    @property
    def procedure(self) -> Optional[Dict[str, np.ndarray]]:
        """Procedure time series (procedure runs), or None: ``time_s`` [T] (s),
        ``processed_volume_ml`` [T] (mL), ``patient_per_ul`` [T][S] (µL-1),
        ``patient_hematocrit``, ``product_cells`` [T][S], ``product_volume_ml`` (mL),
        ``product_hematocrit``, ``collect_fraction`` [T][S], ``citrate_rate_mg_kg_min``,
        ``citrate_dose_mg_kg``, ``citrate_thresholds_mg_kg_min``, ``ce1``, ``ce2`` [S]."""
        prefix = "/procedure/"
        found = {
            p[len(prefix) :]: a for p, a in self.datasets.items() if p.startswith(prefix)
        }
        return found or None


class SweepResult:
    """The result of :func:`sweep`: one entry per grid point (row-major, the last ``vary`` key
    fastest).

    Attributes:
        keys: the varied keys, in ``vary`` order.
        shape: values per key (``parameters[k].reshape(shape)`` gives the grid).
        parameters: key → ``[P]`` float64 values of each point.
        metrics: metric name → ``[P]`` float64 (the flattened summary of each point, named as in
            the CLI's sweep file; NaN where a point failed or lacks the metric).
        units: unit of each parameter or metric whose unit is known.
        status: ``[P]`` int32: 0 ok, 1 failed, 2 not run.
        errors: ``[P]`` the message of a failed point ("" otherwise).
        seeds: ``[P]`` each point's ``run.seed``.
    """

    keys: List[str]
    shape: Tuple[int, ...]
    parameters: Dict[str, np.ndarray]
    metrics: Dict[str, np.ndarray]
    units: Dict[str, str]
    status: np.ndarray
    errors: List[str]
    seeds: np.ndarray

    def __init__(self, raw: Dict[str, Any]):
        self.keys = list(raw["keys"])
        self.shape = tuple(raw["shape"])
        self.parameters = {k: np.asarray(v, dtype=np.float64) for k, v in raw["parameters"].items()}
        self.metrics = {k: np.asarray(v, dtype=np.float64) for k, v in raw["metrics"].items()}
        self.units = dict(raw["units"])
        self.status = np.asarray(raw["status"], dtype=np.int32)
        self.errors = list(raw["error"])
        self.seeds = np.asarray(raw["seed"], dtype=np.uint64)

    def __repr__(self) -> str:
        return (
            f"<buffycoat.SweepResult {len(self.status)} points over {self.keys} "
            f"({int((self.status == 0).sum())} ok), {len(self.metrics)} metrics>"
        )

    def __len__(self) -> int:
        return len(self.status)

    def grid(self, name: str) -> np.ndarray:
        """A parameter or metric reshaped to the grid (``shape``)."""
        column = self.parameters.get(name)
        if column is None:
            column = self.metrics[name]
        return column.reshape(self.shape)

    def to_pandas(self):
        """The points as a ``pandas.DataFrame`` (columns: the parameters, then ``status``,
        ``error``, ``seed``, then the metrics). Needs pandas (not a dependency of buffycoat)."""
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError("SweepResult.to_pandas() needs pandas: pip install pandas") from e
        columns: Dict[str, Any] = dict(self.parameters)
        columns["status"] = self.status
        columns["error"] = self.errors
        columns["seed"] = self.seeds
        columns.update(self.metrics)
        return pd.DataFrame(columns)


class ValidationResult:
    """The validation cases (``buffycoat validate``).

    Attributes:
        cases: one dict per case: ``case``, ``quantity`` (with its unit), ``expected``, ``got``,
            ``relative_error``, ``tolerance``, ``passed``, ``note`` (source of the expected value).
        table: the CLI's table as text.
    """

    cases: List[Dict[str, Any]]
    table: str

    def __init__(self, cases: List[Dict[str, Any]], table: str):
        self.cases = cases
        self.table = table

    @property
    def passed(self) -> bool:
        """Whether every case is within its tolerance."""
        return all(c["passed"] for c in self.cases)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.table

    def __repr__(self) -> str:
        n = sum(c["passed"] for c in self.cases)
        return f"<buffycoat.ValidationResult {n}/{len(self.cases)} passed>"


# ---------------------------------------------------------------------------------------------
# Functions


def run(
    scenario: Scenario,
    set: Overrides = None,
    threads: Optional[int] = None,
    output: Union[None, str, "os.PathLike[str]"] = None,
    *,
    force: bool = False,
) -> Result:
    """Runs a scenario, as ``buffycoat run`` does.

    Args:
        scenario: a scenario file (path), TOML text, or a dict with the keys of a scenario file
            (``{"model": {"kind": "overdamped"}, "rotor": {"rpm": 2000}, ...}``).
        set: overrides by dotted key, as ``--set``: ``{"rotor.rpm": 2400}``,
            ``["rotor.rpm=2400"]`` or ``"rotor.rpm=2400"``.
        threads: worker threads (default: all cores). Results do not depend on it.
        output: also keep the HDF5 output (the same file the CLI writes) at this path.
        force: replace an existing ``output`` (without it, an existing file is an error).

    Returns:
        a :class:`Result` (summary dict and the output's datasets as NumPy arrays).

    Raises:
        ScenarioFileError, ScenarioError, OverrideError, ScenarioKeyError: bad input (the
            message names the file, the key and the allowed range);
        SetupError, SolverError: the model cannot be set up or fails;
        OutputError, OutputExistsError: the output cannot be written or exists;
        ValueError: ``threads`` < 1; KeyboardInterrupt: Ctrl-C (no file is left behind).
    """
    kind, value = _source(scenario)
    out = None if output is None else os.fspath(output)
    raw = _call(
        _native.run, kind, value, _overrides(set), _threads(threads), out, bool(force)
    )
    return Result(raw)


def _vary_spec(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    values = list(np.asarray(spec, dtype=np.float64).ravel())
    if not values:
        raise ValueError("a vary entry needs at least one value")
    return ",".join(repr(float(v)) for v in values)


def sweep(
    scenario: Scenario,
    vary: Mapping[str, Any],
    set: Overrides = None,
    threads: Optional[int] = None,
) -> SweepResult:
    """Runs a scenario over a grid of parameter values, as ``buffycoat sweep`` does (each point
    is ``run(scenario, set={**set, **point, "run.seed": derived})`` without HDF5 output).

    Args:
        scenario: as for :func:`run`.
        vary: key → values: a ``--vary`` SPEC string (``"1000:3000:5"``, ``"1:100:3:log"``,
            ``"100,1000"``) or a sequence of numbers. Several keys form the full grid, the last
            varying fastest.
        set: overrides applied to every point, as for :func:`run`.
        threads: points run at once (default: all cores). Results do not depend on it.

    Returns:
        a :class:`SweepResult`. Failed points are recorded there (``status`` 1, ``errors``),
        not raised.

    Raises:
        SweepError: a malformed SPEC or a key that cannot be varied; the errors of :func:`run`
            for a bad scenario; KeyboardInterrupt: Ctrl-C (running points are abandoned).
    """
    if not isinstance(vary, Mapping) or not vary:
        raise SweepError("vary needs at least one key, e.g. vary={'rotor.rpm': '1000:3000:5'}")
    kind, value = _source(scenario)
    specs = [f"{k}={_vary_spec(v)}" for k, v in vary.items()]
    raw = _call(_native.sweep, kind, value, specs, _overrides(set), _threads(threads))
    return SweepResult(raw)


def species() -> List[Dict[str, Any]]:
    """The bundled species library (``buffycoat species``): one dict per species with
    ``name``, ``display_name``, ``density_kg_m3`` and ``density_sd_kg_m3`` (kg m-3),
    ``volume_m3`` (m³), ``diameter_m`` (m), ``shape_factor`` (dynamic shape factor χ),
    ``normal_per_ul`` ((low, high) per µL, or None) and ``source`` (citation)."""
    return _call(_native.species)


def validate() -> ValidationResult:
    """Runs the built-in validation cases against analytic solutions (``buffycoat validate``);
    ``bool(result)`` is whether all passed, ``str(result)`` the table."""
    cases, table = _call(_native.validate)
    return ValidationResult(cases, table)
