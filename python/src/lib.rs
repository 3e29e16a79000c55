//! # buffycoat-python: the native module `buffycoat._native`
//!
//! The Python package `buffycoat` (python/buffycoat) is a thin layer over these functions:
//!
//! - `run`: a scenario (a file, TOML text, or a dict with the same keys) through the CLI's
//!   own input layer (`buffycoat::input::load`/`load_text`: the same `--set` overrides, checks
//!   and messages), then `buffycoat_engine::run` with the GIL released; returns the JSON
//!   summary and every dataset of the HDF5 output (the same file the CLI writes; a temporary
//!   file deleted before returning when the caller asked for no output);
//! - `sweep`: the engine's sweep runner with the CLI's `ScenarioSource`; returns the
//!   parameters, metrics, status, errors and seeds of every point;
//! - `species`, `validate`: the species library and the validation table.
//!
//! Errors are returned as `NativeError(kind, message)`; the Python layer maps `kind` to its
//! exception classes. `message` is exactly what the CLI prints after `error: `.
//!
//! Ctrl-C: each call runs its work on a worker thread and waits for it with the GIL released,
//! polling Python's signal handlers every 50 ms. A sweep is cancelled through the engine's
//! `CancelToken` (running points are abandoned; its temporary file is removed), a run through
//! the engine's `CancelFlag` (it stops at its next safe point and removes its partial output);
//! an interrupted call never leaves a file behind.
#![forbid(unsafe_code)]

use buffycoat::input::{self, ScenarioError, library};
use buffycoat_engine::sweep::{
    self as engine_sweep, Axis, CancelToken, Grid, PointStatus, Shard, SweepError, SweepOptions,
};
use buffycoat_engine::{CancelFlag, ProgressMode, RunError, RunOptions};
use buffycoat_h5::{ElementKind, ObjectKind, Reader};
use pyo3::exceptions::{PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

pyo3::create_exception!(
    _native,
    NativeError,
    PyException,
    "An error of the engine: args = (kind, message)."
);

/// How often a waiting call looks at Python's signal handlers.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Label of a scenario given as TOML text (in messages and `/parameters/scenario_path`).
const TEXT_LABEL: &str = "<string>";
/// Label of a scenario given as a dict.
const DICT_LABEL: &str = "<dict>";

/// An error for the Python layer: a kind (which exception class) and the CLI's message.
#[derive(Debug)]
struct Failure {
    kind: &'static str,
    message: String,
}

impl Failure {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    fn into_py(self) -> PyErr {
        if self.kind == "interrupted" {
            return PyKeyboardInterrupt::new_err(self.message);
        }
        NativeError::new_err((self.kind, self.message))
    }
}

impl From<ScenarioError> for Failure {
    fn from(e: ScenarioError) -> Self {
        let kind = match &e {
            ScenarioError::Read { .. } => "scenario_read",
            ScenarioError::Toml { .. } => "scenario",
            ScenarioError::Override { .. } => "override",
            ScenarioError::Key { .. } => "key",
        };
        Failure::new(kind, engine_sweep::error_chain(&e))
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Self {
        let kind = match &e {
            RunError::Setup { .. }
            | RunError::FieldSetup { .. }
            | RunError::ChannelSetup { .. }
            | RunError::Procedure { .. } => "setup",
            RunError::Output(_) | RunError::Summary { .. } => "output",
            _ => "solver",
        };
        Failure::new(kind, engine_sweep::error_chain(&e))
    }
}

impl From<SweepError> for Failure {
    fn from(e: SweepError) -> Self {
        let kind = match &e {
            SweepError::Scenario(_) => "scenario",
            _ => "sweep",
        };
        Failure::new(kind, engine_sweep::error_chain(&e))
    }
}

impl From<buffycoat_h5::H5Error> for Failure {
    fn from(e: buffycoat_h5::H5Error) -> Self {
        Failure::new("output", engine_sweep::error_chain(&e))
    }
}

/// Where a scenario comes from.
enum Source {
    Path(PathBuf),
    Text(String),
    Dict(String),
}

impl Source {
    fn from_py(kind: &str, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(match kind {
            "path" => Source::Path(PathBuf::from(value.extract::<String>()?)),
            "text" => Source::Text(value.extract::<String>()?),
            "dict" => {
                let table = match to_toml(value, "")? {
                    toml::Value::Table(t) => t,
                    _ => {
                        return Err(NativeError::new_err((
                            "scenario",
                            "a scenario dict must be a mapping of tables".to_owned(),
                        )));
                    }
                };
                let text = toml::to_string(&table).map_err(|e| {
                    NativeError::new_err(("scenario", format!("{DICT_LABEL}: {e}")))
                })?;
                Source::Dict(text)
            }
            other => {
                return Err(NativeError::new_err((
                    "scenario",
                    format!("unknown scenario kind {other}"),
                )));
            }
        })
    }

    fn load(
        &self,
        set: &[String],
        library: &buffycoat_physics::species::SpeciesLibrary,
    ) -> Result<input::LoadedScenario, Failure> {
        Ok(match self {
            Source::Path(p) => input::load(p, set, library)?,
            Source::Text(t) => input::load_text(Path::new(TEXT_LABEL), t, set, library)?,
            Source::Dict(t) => input::load_text(Path::new(DICT_LABEL), t, set, library)?,
        })
    }

    /// The scenario path and text a sweep stores (file sweeps read the file as the CLI does).
    fn sweep_text(&self) -> Result<(PathBuf, String), Failure> {
        Ok(match self {
            Source::Path(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| {
                    Failure::from(ScenarioError::Read {
                        path: p.clone(),
                        source,
                    })
                })?;
                (p.clone(), text)
            }
            Source::Text(t) => (PathBuf::from(TEXT_LABEL), t.clone()),
            Source::Dict(t) => (PathBuf::from(DICT_LABEL), t.clone()),
        })
    }
}

/// A Python value (dict, list, str, bool, int, float) as TOML; `key` names it in errors.
fn to_toml(value: &Bound<'_, PyAny>, key: &str) -> PyResult<toml::Value> {
    let err = |what: &str| {
        NativeError::new_err((
            "scenario",
            format!(
                "{DICT_LABEL}: {}: {what}",
                if key.is_empty() { "(top)" } else { key }
            ),
        ))
    };
    if value.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(value.extract()?));
    }
    if value.is_instance_of::<PyInt>() {
        return value
            .extract::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| err("integer out of the 64-bit range"));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(value.extract()?));
    }
    if value.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(value.extract()?));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut table = toml::map::Map::new();
        for (k, v) in d.iter() {
            let name: String = k.extract().map_err(|_| err("dict keys must be strings"))?;
            let path = if key.is_empty() {
                name.clone()
            } else {
                format!("{key}.{name}")
            };
            if v.is_none() {
                continue;
            }
            table.insert(name, to_toml(&v, &path)?);
        }
        return Ok(toml::Value::Table(table));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, v) in value.try_iter()?.enumerate() {
            items.push(to_toml(&v?, &format!("{key}.{i}"))?);
        }
        return Ok(toml::Value::Array(items));
    }
    // NumPy scalars and other numbers: through float() / int().
    if let Ok(i) = value.call_method0("__index__") {
        return to_toml(&i, key);
    }
    if let Ok(f) = value.call_method0("__float__") {
        return to_toml(&f, key);
    }
    Err(err(&format!(
        "unsupported type {}",
        value.get_type().name()?
    )))
}

/// Runs `work` on a worker thread and waits for it with the GIL released, polling Python's
/// signal handlers. On a pending signal (Ctrl-C), `on_interrupt` is called once, the worker
/// is still waited for (it stops at its next safe point or runs to its end), and the signal's
/// exception is returned.
fn wait_interruptible<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce() -> T + Send + 'static,
    on_interrupt: impl FnOnce(),
) -> PyResult<T> {
    let (tx, rx) = mpsc::channel();
    // `detach` needs the closure's captures to be `Send`; a `Receiver` is not `Sync`.
    let rx = std::sync::Mutex::new(rx);
    let handle = std::thread::Builder::new()
        .name("buffycoat-run".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| NativeError::new_err(("solver", format!("cannot start a thread: {e}"))))?;
    let mut on_interrupt = Some(on_interrupt);
    let mut interrupted: Option<PyErr> = None;
    loop {
        match py.detach(|| {
            rx.lock()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
                .and_then(|r| r.recv_timeout(SIGNAL_POLL))
        }) {
            Ok(value) => {
                let _ = py.detach(|| handle.join());
                return match interrupted {
                    Some(e) => Err(e),
                    None => Ok(value),
                };
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if interrupted.is_none()
                    && let Err(e) = py.check_signals()
                {
                    if let Some(f) = on_interrupt.take() {
                        f();
                    }
                    interrupted = Some(e);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = py.detach(|| handle.join());
                return Err(interrupted.unwrap_or_else(|| {
                    NativeError::new_err(("solver", "the run's thread panicked".to_owned()))
                }));
            }
        }
    }
}

/// One dataset of an output file, for the Python layer: (dtype, shape, raw bytes in native
/// byte order, unit or None) for numbers; a list of str for strings.
fn dataset_to_py<'py>(
    py: Python<'py>,
    reader: &Reader,
    path: &str,
) -> Result<Option<Bound<'py, PyAny>>, Failure> {
    let unit = reader
        .attr_names(path)?
        .iter()
        .any(|a| a == "unit")
        .then(|| reader.read_attr_string(path, "unit"))
        .transpose()?;
    let value = match reader.element_kind(path)? {
        ElementKind::Float => {
            let (data, shape) = reader.read_f64(path)?;
            let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_ne_bytes()).collect();
            ("f8", shape, PyBytes::new(py, &bytes), unit)
                .into_pyobject(py)
                .map_err(|e| Failure::new("output", e.to_string()))?
                .into_any()
        }
        ElementKind::Integer => {
            let (data, shape) = reader.read_i64(path)?;
            let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_ne_bytes()).collect();
            ("i8", shape, PyBytes::new(py, &bytes), unit)
                .into_pyobject(py)
                .map_err(|e| Failure::new("output", e.to_string()))?
                .into_any()
        }
        ElementKind::String => {
            let strings = reader.read_strings(path)?;
            let shape = reader.shape(path)?;
            ("str", shape, strings, unit)
                .into_pyobject(py)
                .map_err(|e| Failure::new("output", e.to_string()))?
                .into_any()
        }
        ElementKind::Other => return Ok(None),
    };
    Ok(Some(value))
}

/// Every dataset under `group` (recursively) into `out`, keyed by absolute path.
fn collect_datasets<'py>(
    py: Python<'py>,
    reader: &Reader,
    group: &str,
    out: &Bound<'py, PyDict>,
) -> Result<(), Failure> {
    for name in reader.list_group(group)? {
        let path = if group == "/" {
            format!("/{name}")
        } else {
            format!("{group}/{name}")
        };
        match reader.kind(&path) {
            Some(ObjectKind::Group) => collect_datasets(py, reader, &path, out)?,
            Some(ObjectKind::Dataset) => {
                if let Some(v) = dataset_to_py(py, reader, &path)? {
                    out.set_item(&path, v)
                        .map_err(|e| Failure::new("output", e.to_string()))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The names of the string attributes `names`, `species`, `legend`, `layers` of every object
/// in the file (labels of array axes), keyed by object path then attribute name.
fn collect_labels<'py>(
    py: Python<'py>,
    reader: &Reader,
    group: &str,
    out: &Bound<'py, PyDict>,
) -> Result<(), Failure> {
    let visit = |path: &str| -> Result<(), Failure> {
        let attrs = reader.attr_names(path)?;
        let here = PyDict::new(py);
        for a in attrs {
            if matches!(a.as_str(), "names" | "species" | "legend" | "layers")
                && let Ok(v) = reader.read_attr_strings(path, &a)
            {
                here.set_item(a, v)
                    .map_err(|e| Failure::new("output", e.to_string()))?;
            }
        }
        if !here.is_empty() {
            out.set_item(path, here)
                .map_err(|e| Failure::new("output", e.to_string()))?;
        }
        Ok(())
    };
    visit(group)?;
    for name in reader.list_group(group)? {
        let path = if group == "/" {
            format!("/{name}")
        } else {
            format!("{group}/{name}")
        };
        match reader.kind(&path) {
            Some(ObjectKind::Group) => collect_labels(py, reader, &path, out)?,
            Some(ObjectKind::Dataset) => visit(&path)?,
            _ => {}
        }
    }
    Ok(())
}

/// Never silently destroy a result (the CLI's rule and message).
fn refuse_existing(path: &Path, force: bool) -> Result<(), Failure> {
    if path.exists() && !force {
        return Err(Failure::new(
            "exists",
            format!(
                "{} already exists: not overwriting it (give force=True to replace it, or choose another file)",
                path.display()
            ),
        ));
    }
    Ok(())
}

fn bundled_library() -> Result<buffycoat_physics::species::SpeciesLibrary, Failure> {
    library::default_library().map_err(|e| {
        Failure::new(
            "scenario",
            format!("the bundled species library is invalid: {e}"),
        )
    })
}

fn check_threads(threads: Option<usize>) -> Result<(), Failure> {
    if threads == Some(0) {
        return Err(Failure::new("value", "threads must be at least 1"));
    }
    Ok(())
}

/// Runs a scenario. `kind` is "path", "text" or "dict"; returns a dict with `summary` (JSON
/// text), `datasets` (path → (dtype, shape, bytes, unit) or (\"str\", shape, [str], unit)),
/// `labels` (path → {attribute: [str]}) and `output` (the file kept, or None).
#[pyfunction]
#[pyo3(signature = (kind, scenario, set, threads=None, output=None, force=false))]
fn run<'py>(
    py: Python<'py>,
    kind: &str,
    scenario: &Bound<'py, PyAny>,
    set: Vec<String>,
    threads: Option<usize>,
    output: Option<PathBuf>,
    force: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let source = Source::from_py(kind, scenario)?;
    let prepared = (|| -> Result<_, Failure> {
        let library = bundled_library()?;
        let loaded = source.load(&set, &library)?;
        check_threads(threads)?;
        if let Some(o) = &output {
            refuse_existing(o, force)?;
            // The CLI's own check of `-o` (directory exists and is writable), same message.
            input::outputs::check_outputs(&[], &[("-o", o)])
                .map_err(|message| Failure::new("output", message))?;
        }
        Ok(loaded)
    })()
    .map_err(Failure::into_py)?;
    let temp = match &output {
        Some(_) => None,
        None => Some(tempfile::Builder::new().prefix("buffycoat-").tempdir()?),
    };
    let out_path = match (&output, &temp) {
        (Some(o), _) => o.clone(),
        (None, Some(t)) => t.path().join("run.h5"),
        (None, None) => unreachable!("a temporary directory exists when no output is given"),
    };
    // No summary file, no progress; options added later keep their defaults.
    // Ctrl-C sets the engine's cancellation flag: the run stops at its next safe point.
    let cancel = CancelFlag::new();
    let opts = RunOptions {
        output: Some(out_path.clone()),
        threads,
        cancel: Some(cancel.clone()),
        ..RunOptions::default()
    };
    let setup = prepared.setup();
    let provenance = prepared.provenance();
    let sidecar = buffycoat_h5::xdmf::sidecar_path(&out_path);
    let existed = out_path.exists();
    let sidecar_existed = sidecar.exists();
    let result = wait_interruptible(
        py,
        move || {
            buffycoat_engine::run(&setup, &provenance, &opts)
                .map_err(input::setup::name_scenario_keys)
        },
        move || cancel.cancel(),
    );
    let outcome = match result {
        Ok(r) => r.map_err(|e| Failure::from(e).into_py())?,
        Err(interrupt) => {
            // The run was interrupted: its result is not wanted; leave no file behind.
            if !existed || force {
                let _ = std::fs::remove_file(&out_path);
            }
            if !sidecar_existed || force {
                let _ = std::fs::remove_file(&sidecar);
            }
            return Err(interrupt);
        }
    };
    let summary = serde_json::to_string(&outcome)
        .map_err(|e| NativeError::new_err(("output", e.to_string())))?;
    let dict = PyDict::new(py);
    dict.set_item("summary", summary)?;
    let reader = Reader::open(&out_path).map_err(|e| Failure::from(e).into_py())?;
    let datasets = PyDict::new(py);
    collect_datasets(py, &reader, "/", &datasets).map_err(Failure::into_py)?;
    let labels = PyDict::new(py);
    collect_labels(py, &reader, "/", &labels).map_err(Failure::into_py)?;
    drop(reader);
    dict.set_item("datasets", datasets)?;
    dict.set_item("labels", labels)?;
    dict.set_item("output", output.map(|p| p.to_string_lossy().into_owned()))?;
    drop(temp);
    Ok(dict)
}

/// Runs a sweep: `vary` are `KEY=SPEC` strings as `--vary` takes them. Returns a dict with
/// `keys`, `parameters` (key → [P] values), `metrics` (name → [P]), `units` (name → unit),
/// `status`, `error`, `seed`, `shape`.
#[pyfunction]
#[pyo3(signature = (kind, scenario, vary, set, threads=None))]
fn sweep<'py>(
    py: Python<'py>,
    kind: &str,
    scenario: &Bound<'py, PyAny>,
    vary: Vec<String>,
    set: Vec<String>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let source = Source::from_py(kind, scenario)?;
    let temp = tempfile::Builder::new().prefix("buffycoat-").tempdir()?;
    let file = temp.path().join("sweep.h5");
    let prepared = (|| -> Result<_, Failure> {
        let axes = vary
            .iter()
            .map(|v| Axis::parse(v))
            .collect::<Result<Vec<_>, _>>()?;
        let grid = Grid::new(axes)?;
        check_threads(threads)?;
        let library = bundled_library()?;
        let (path, text) = source.sweep_text()?;
        let text = if set.is_empty() {
            text
        } else {
            // As the CLI: check the fixed overrides as `run` would, store the overridden text.
            input::load_text(&path, &text, &set, &library)?.effective_text
        };
        let plan = input::sweep::sweep_plan_from_text(&path, text, grid, Shard::WHOLE, library)?;
        let data = plan.prepare(&file, false)?.data;
        Ok((plan, data))
    })()
    .map_err(Failure::into_py)?;
    let (plan, mut data) = prepared;
    let plan = std::sync::Arc::new(plan);
    let cancel = CancelToken::new();
    let worker_cancel = cancel.clone();
    let opts = SweepOptions {
        output: file.clone(),
        csv: None,
        threads,
        progress: ProgressMode::Off,
        checkpoint_interval: engine_sweep::CHECKPOINT_INTERVAL,
    };
    let worker_plan = plan.clone();
    let result = wait_interruptible(
        py,
        move || {
            let r = engine_sweep::run_sweep(worker_plan, &mut data, &opts, &worker_cancel);
            (r, data)
        },
        || {
            // Abandon the running points too (level 2): the caller wants control back.
            cancel.cancel();
            cancel.cancel();
        },
    );
    let (outcome, data) = result?;
    drop(temp);
    outcome.map_err(|e| Failure::from(e).into_py())?;
    let dict = PyDict::new(py);
    let keys: Vec<String> = plan.grid.axes.iter().map(|a| a.key.clone()).collect();
    let n = data.points.len();
    let parameters = PyDict::new(py);
    for (k, key) in keys.iter().enumerate() {
        let column: Vec<f64> = (0..n).map(|p| plan.grid.values(p)[k]).collect();
        parameters.set_item(key, column)?;
    }
    let metrics = PyDict::new(py);
    let units = PyDict::new(py);
    for name in data.metric_names() {
        if let Some(u) = engine_sweep::metrics::unit_for(&name) {
            units.set_item(&name, u)?;
        }
        metrics.set_item(&name, data.metric_column(&name))?;
    }
    for key in &keys {
        if let Some(u) = engine_sweep::metrics::unit_for(key) {
            units.set_item(key, u)?;
        }
    }
    dict.set_item("keys", keys)?;
    dict.set_item("shape", plan.grid.shape())?;
    dict.set_item("parameters", parameters)?;
    dict.set_item("metrics", metrics)?;
    dict.set_item("units", units)?;
    dict.set_item(
        "status",
        data.points
            .iter()
            .map(|p| p.status.code())
            .collect::<Vec<i32>>(),
    )?;
    dict.set_item(
        "error",
        data.points
            .iter()
            .map(|p| p.error.clone())
            .collect::<Vec<String>>(),
    )?;
    dict.set_item("seed", data.seeds.clone())?;
    dict.set_item(
        "ok",
        data.points.iter().all(|p| p.status == PointStatus::Ok),
    )?;
    Ok(dict)
}

/// The bundled species library: one dict per species (SI units and the CLI's display units).
#[pyfunction]
fn species(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let library = bundled_library().map_err(Failure::into_py)?;
    let list = PyList::empty(py);
    for s in library.iter() {
        let d = PyDict::new(py);
        d.set_item("name", &s.name)?;
        d.set_item("display_name", &s.display_name)?;
        d.set_item("density_kg_m3", s.density.mean())?;
        d.set_item("density_sd_kg_m3", s.density.sd())?;
        d.set_item("volume_m3", s.mean_volume())?;
        d.set_item("diameter_m", s.mean_diameter())?;
        d.set_item("shape_factor", s.shape_factor)?;
        d.set_item("normal_per_ul", s.normal_per_ul)?;
        d.set_item("source", &s.source)?;
        list.append(d)?;
    }
    Ok(list)
}

/// The validation cases: one dict per case, and the CLI's table as text.
#[pyfunction]
fn validate(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    let checks = py.detach(buffycoat::validate::all_checks);
    let table = buffycoat::validate::table(&checks);
    let list = PyList::empty(py);
    for c in &checks {
        let d = PyDict::new(py);
        d.set_item("case", &c.case)?;
        d.set_item("quantity", &c.quantity)?;
        d.set_item("expected", c.expected)?;
        d.set_item("got", c.got)?;
        d.set_item("relative_error", c.relative_error())?;
        d.set_item("tolerance", c.tolerance)?;
        d.set_item("passed", c.passed())?;
        d.set_item("note", &c.note)?;
        list.append(d)?;
    }
    PyTuple::new(py, [list.into_any(), PyString::new(py, &table).into_any()])
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add("VERSION", buffycoat_engine::VERSION)?;
    m.add("GIT_COMMIT", buffycoat_engine::GIT_COMMIT)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(species, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    Ok(())
}
