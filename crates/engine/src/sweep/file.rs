//! The sweep file (HDF5) and table (CSV): writing, reading back for `--resume` and `merge`.
//!
//! Layout (P points, D varied keys):
//!
//! | path | shape, type | content |
//! |---|---|---|
//! | `/sweep/parameters/<key>` | `[P]` f64, attr `unit` where known | value of each varied key (dataset name = the dotted key) |
//! | `/sweep/metrics/<name>` | `[P]` f64, attr `unit` where known | each metric (NaN: failed, not run, or absent from that point's summary) |
//! | `/sweep/status` | `[P]` i32, attr `legend` | 0 ok, 1 failed, 2 not run |
//! | `/sweep/error` | `[P]` strings | the error of a failed point; empty otherwise |
//! | `/sweep/seed` | `[P]` i64 | the point's `run.seed` |
//! | `/sweep/grid/keys`, `/sweep/grid/specs` | `[D]` strings | varied keys in `--vary` order, SPECs as given |
//! | `/sweep/grid/shape` | `[D]` i64 | values per key; points are row-major, last key fastest |
//! | `/sweep/grid/values/<key>` | `[n_k]` f64 | the values of each key (axis ticks) |
//! | `/sweep/shard` | `[2]` i64 = (index, count), also attrs `index`, `count` | the shard this file covers (`0/1`: all) |
//! | `/sweep/metrics` attrs `naming`, `timing` | strings | the naming rule; the non-deterministic metrics |
//! | `/parameters/{scenario_toml,scenario_path,program_version,git_commit}` | strings | provenance |
//! | `/parameters/seed` | scalar i64 | the scenario's own seed (from which point seeds derive) |
//!
//! Seeds are unsigned; they are stored as the two's-complement bit pattern in i64 (point seeds
//! are below 2⁶³, so they read back unchanged).

use super::SweepError;
use super::grid::{Axis, Grid, Shard, format_number};
use super::metrics::{TIMING_METRICS, unit_for};
use buffycoat_h5::schema;
use buffycoat_h5::{H5Error, Reader, Writer};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The status of one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointStatus {
    /// ran and produced metrics (0)
    Ok,
    /// the scenario check or the run failed (1)
    Failed,
    /// not run (yet), or in another shard (2)
    NotRun,
}

impl PointStatus {
    /// The code stored in `/sweep/status`.
    pub fn code(self) -> i32 {
        match self {
            PointStatus::Ok => 0,
            PointStatus::Failed => 1,
            PointStatus::NotRun => 2,
        }
    }

    /// From a stored code.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(PointStatus::Ok),
            1 => Some(PointStatus::Failed),
            2 => Some(PointStatus::NotRun),
            _ => None,
        }
    }
}

/// The outcome of one point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointResult {
    /// status
    pub status: PointStatus,
    /// error message (failed points), else empty
    pub error: String,
    /// metrics by name (empty unless ok)
    pub metrics: BTreeMap<String, f64>,
}

impl PointResult {
    /// A point that has not run.
    pub fn not_run() -> Self {
        Self {
            status: PointStatus::NotRun,
            error: String::new(),
            metrics: BTreeMap::new(),
        }
    }
}

/// Everything a sweep file holds.
#[derive(Debug, Clone)]
pub struct SweepData {
    /// the scenario file as given on the command line
    pub scenario_path: String,
    /// its text
    pub scenario_text: String,
    /// its `run.seed`
    pub scenario_seed: u64,
    /// the grid
    pub grid: Grid,
    /// the shard this file covers
    pub shard: Shard,
    /// per-point `run.seed`
    pub seeds: Vec<u64>,
    /// per-point outcome
    pub points: Vec<PointResult>,
    /// program version that computed the points
    pub program_version: String,
    /// git commit of that program
    pub git_commit: String,
}

/// Counts of points by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// status 0
    pub ok: usize,
    /// status 1
    pub failed: usize,
    /// status 2
    pub not_run: usize,
}

impl SweepData {
    /// Metric names: the union over all points, sorted.
    pub fn metric_names(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.points.iter().flat_map(|p| p.metrics.keys()).collect();
        set.into_iter().cloned().collect()
    }

    /// Metric `name` of every point (NaN where absent).
    pub fn metric_column(&self, name: &str) -> Vec<f64> {
        self.points
            .iter()
            .map(|p| p.metrics.get(name).copied().unwrap_or(f64::NAN))
            .collect()
    }

    /// Points by status.
    pub fn counts(&self) -> StatusCounts {
        let mut c = StatusCounts::default();
        for p in &self.points {
            match p.status {
                PointStatus::Ok => c.ok += 1,
                PointStatus::Failed => c.failed += 1,
                PointStatus::NotRun => c.not_run += 1,
            }
        }
        c
    }

    /// Points of this file's shard that are not run.
    pub fn pending_in_shard(&self) -> usize {
        self.points
            .iter()
            .enumerate()
            .filter(|(p, r)| self.shard.contains(*p) && r.status == PointStatus::NotRun)
            .count()
    }

    /// A table of failed points (point, varied values, error), or `None` if none failed.
    pub fn failure_table(&self) -> Option<String> {
        let failed: Vec<usize> = (0..self.points.len())
            .filter(|&p| self.points[p].status == PointStatus::Failed)
            .collect();
        if failed.is_empty() {
            return None;
        }
        let mut out = format!("{} point(s) failed:\n{:>7}", failed.len(), "point");
        for a in &self.grid.axes {
            out.push_str(&format!(" {:>14}", a.key));
        }
        out.push_str("  error\n");
        for p in failed {
            out.push_str(&format!("{p:>7}"));
            for v in self.grid.values(p) {
                out.push_str(&format!(" {:>14}", format_number(v)));
            }
            out.push_str(&format!("  {}\n", self.points[p].error.replace('\n', " ")));
        }
        Some(out)
    }

    /// `None` if `other` is the same sweep (scenario text and grid), else what differs.
    pub fn sweep_difference(&self, other: &SweepData) -> Option<String> {
        if self.scenario_text != other.scenario_text {
            let line = self
                .scenario_text
                .lines()
                .zip(other.scenario_text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| {
                    self.scenario_text
                        .lines()
                        .count()
                        .min(other.scenario_text.lines().count())
                });
            return Some(format!(
                "the scenario text differs (first at line {})",
                line + 1
            ));
        }
        self.grid
            .difference(&other.grid)
            .map(|d| format!("the grid differs: {d}"))
    }

    /// Writes the whole file atomically (a hidden partial file renamed over `path`): a reader
    /// or a crash only ever sees the previous or the new complete file.
    pub fn write_h5(&self, path: &Path) -> Result<PathBuf, H5Error> {
        let p = self.points.len();
        let w = Writer::create(path)?;
        for (k, axis) in self.grid.axes.iter().enumerate() {
            let col: Vec<f64> = (0..p).map(|i| self.grid.values(i)[k]).collect();
            let name = schema::sweep_parameter(&axis.key);
            w.dataset_f64(&name, &[p], col, unit_for(&axis.key))?;
            w.dataset_f64(
                &schema::sweep_grid_values(&axis.key),
                &[axis.values.len()],
                axis.values.clone(),
                unit_for(&axis.key),
            )?;
        }
        w.attr_string(
            schema::SWEEP_METRICS,
            "naming",
            "every numeric leaf of the run summary (SUMMARY.json) under its dotted path; \
             array elements by index; provenance keys (program, scenario, output, seed, threads) \
             left out; NaN where a point has no value",
        )?;
        let timing: Vec<String> = TIMING_METRICS.iter().map(|s| s.to_string()).collect();
        w.attr_strings(schema::SWEEP_METRICS, "timing", &timing)?;
        for name in self.metric_names() {
            w.dataset_f64(
                &schema::sweep_metric(&name),
                &[p],
                self.metric_column(&name),
                unit_for(&name),
            )?;
        }
        let status: Vec<i32> = self.points.iter().map(|r| r.status.code()).collect();
        w.dataset_i32(schema::SWEEP_STATUS, &[p], status, None)?;
        w.attr_string(schema::SWEEP_STATUS, "legend", "0 ok, 1 failed, 2 not run")?;
        let errors: Vec<String> = self
            .points
            .iter()
            .map(|r| r.error.replace('\0', " "))
            .collect();
        w.dataset_strings(schema::SWEEP_ERROR, &errors)?;
        w.dataset_i64(
            schema::SWEEP_SEED,
            &[p],
            self.seeds.iter().map(|&s| s as i64).collect(),
            None,
        )?;
        w.attr_string(
            schema::SWEEP_SEED,
            "note",
            "run.seed of each point: SplitMix64 of the scenario seed and the point index \
             (see buffycoat::sweep::derive_seed)",
        )?;
        let keys: Vec<String> = self.grid.axes.iter().map(|a| a.key.clone()).collect();
        let specs: Vec<String> = self.grid.axes.iter().map(|a| a.spec.clone()).collect();
        let shape: Vec<i64> = self.grid.shape().iter().map(|&n| n as i64).collect();
        w.dataset_strings(schema::SWEEP_GRID_KEYS, &keys)?;
        w.dataset_strings(schema::SWEEP_GRID_SPECS, &specs)?;
        w.dataset_i64(schema::SWEEP_GRID_SHAPE, &[shape.len()], shape, None)?;
        w.attr_string(
            schema::SWEEP_GRID,
            "order",
            "row-major: point p = ((i0*n1 + i1)*n2 + i2)..., the last key varies fastest",
        )?;
        w.dataset_i64(
            schema::SWEEP_SHARD,
            &[2],
            vec![self.shard.index as i64, self.shard.count as i64],
            None,
        )?;
        w.attr_i64(schema::SWEEP_SHARD, "index", self.shard.index as i64)?;
        w.attr_i64(schema::SWEEP_SHARD, "count", self.shard.count as i64)?;
        w.attr_i64(schema::SWEEP, "points", p as i64)?;
        w.dataset_string(schema::PARAMETERS_SCENARIO_TOML, &self.scenario_text)?;
        w.dataset_string(schema::PARAMETERS_SCENARIO_PATH, &self.scenario_path)?;
        w.dataset_i64(
            schema::PARAMETERS_SEED,
            &[],
            vec![self.scenario_seed as i64],
            None,
        )?;
        w.attr_string(
            schema::PARAMETERS_SEED,
            "note",
            "unsigned 64-bit seed stored as its two's-complement i64 bit pattern",
        )?;
        w.dataset_string(schema::PARAMETERS_PROGRAM_VERSION, &self.program_version)?;
        w.dataset_string(schema::PARAMETERS_GIT_COMMIT, &self.git_commit)?;
        w.finish()
    }

    /// Reads a sweep file back.
    pub fn read_h5(path: &Path) -> Result<Self, SweepError> {
        let r = Reader::open(path)?;
        let not_sweep = |message: String| SweepError::NotASweep {
            path: path.to_owned(),
            message,
        };
        if !r.exists(schema::SWEEP_STATUS) || !r.exists(schema::SWEEP_GRID_KEYS) {
            return Err(not_sweep(
                "it has no /sweep/status or /sweep/grid/keys (not written by `buffycoat sweep`)"
                    .into(),
            ));
        }
        let keys = r.read_strings(schema::SWEEP_GRID_KEYS)?;
        let specs = r.read_strings(schema::SWEEP_GRID_SPECS)?;
        let (shape, _) = r.read_i64(schema::SWEEP_GRID_SHAPE)?;
        if specs.len() != keys.len() || shape.len() != keys.len() {
            return Err(not_sweep(
                "/sweep/grid/keys, specs and shape differ in length".into(),
            ));
        }
        let mut axes = Vec::with_capacity(keys.len());
        for ((key, spec), &n) in keys.iter().zip(&specs).zip(&shape) {
            let (values, _) = r.read_f64(&schema::sweep_grid_values(key))?;
            if values.len() as i64 != n {
                return Err(not_sweep(format!(
                    "/sweep/grid/values/{key} has {} values, the shape says {n}",
                    values.len()
                )));
            }
            axes.push(Axis {
                key: key.clone(),
                spec: spec.clone(),
                values,
            });
        }
        let grid = Grid::new(axes).map_err(|e| not_sweep(e.to_string()))?;
        let p = grid.points();
        let (status, _) = r.read_i32(schema::SWEEP_STATUS)?;
        // A float status (0.5, 2.5) would be truncated silently: refuse it.
        if let Ok((floats, _)) = r.read_f64(schema::SWEEP_STATUS)
            && let Some(bad) = floats.iter().find(|x| x.fract() != 0.0 || !x.is_finite())
        {
            return Err(not_sweep(format!(
                "/sweep/status has the non-integer value {bad}; allowed 0 (ok), 1 (failed), 2 (not run)"
            )));
        }
        let errors = r.read_strings(schema::SWEEP_ERROR)?;
        let (seeds, _) = r.read_i64(schema::SWEEP_SEED)?;
        if status.len() != p || errors.len() != p || seeds.len() != p {
            return Err(not_sweep(format!(
                "the grid has {p} points but /sweep/status, /sweep/error and /sweep/seed have \
                 {}, {} and {}",
                status.len(),
                errors.len(),
                seeds.len()
            )));
        }
        let (shard, _) = r.read_i64(schema::SWEEP_SHARD)?;
        let shard = match shard.as_slice() {
            &[i, n] if n >= 1 && (0..n).contains(&i) => Shard {
                index: i as usize,
                count: n as usize,
            },
            other => return Err(not_sweep(format!("/sweep/shard is {other:?}"))),
        };
        let mut points = Vec::with_capacity(p);
        for (i, (&code, error)) in status.iter().zip(errors).enumerate() {
            let status = PointStatus::from_code(code)
                .ok_or_else(|| not_sweep(format!("point {i} has status {code}")))?;
            points.push(PointResult {
                status,
                error,
                metrics: BTreeMap::new(),
            });
        }
        if !r.exists(schema::SWEEP_METRICS) && points.iter().any(|p| p.status == PointStatus::Ok) {
            return Err(not_sweep(
                "it has points with status ok but no /sweep/metrics".into(),
            ));
        }
        if r.exists(schema::SWEEP_METRICS) {
            for name in r.list_group(schema::SWEEP_METRICS)? {
                let (col, _) = r.read_f64(&schema::sweep_metric(&name))?;
                if col.len() != p {
                    return Err(not_sweep(format!(
                        "/sweep/metrics/{name} has {} values for {p} points",
                        col.len()
                    )));
                }
                // Only ok points have metrics; NaN means the point had no such value.
                for (point, v) in points.iter_mut().zip(col) {
                    if point.status == PointStatus::Ok && !v.is_nan() {
                        point.metrics.insert(name.clone(), v);
                    }
                }
            }
        }
        let (scenario_seed, _) = r.read_i64(schema::PARAMETERS_SEED)?;
        Ok(Self {
            scenario_path: r.read_string(schema::PARAMETERS_SCENARIO_PATH)?,
            scenario_text: r.read_string(schema::PARAMETERS_SCENARIO_TOML)?,
            scenario_seed: scenario_seed.first().copied().unwrap_or(0) as u64,
            grid,
            shard,
            seeds: seeds.into_iter().map(|s| s as u64).collect(),
            points,
            program_version: r.read_string(schema::PARAMETERS_PROGRAM_VERSION)?,
            git_commit: r.read_string(schema::PARAMETERS_GIT_COMMIT)?,
        })
    }

    /// Writes the CSV table atomically: one row per point; columns `point`, the varied keys
    /// (dotted names), `status`, the metrics (sorted by name), `error`. Numbers are written by
    /// [`format_number`] (shortest text that reads back to the same `f64`; empty for NaN).
    pub fn write_csv(&self, path: &Path) -> Result<(), SweepError> {
        let csv_err = |source: std::io::Error| SweepError::Csv {
            path: path.to_owned(),
            source,
        };
        let result = buffycoat_h5::atomic::write_atomic(path, |file| {
            let mut out = csv::Writer::from_writer(std::io::BufWriter::new(file));
            let metrics = self.metric_names();
            let mut header = vec!["point".to_string()];
            header.extend(self.grid.axes.iter().map(|a| a.key.clone()));
            header.push("status".into());
            header.extend(metrics.iter().cloned());
            header.push("error".into());
            out.write_record(&header).map_err(std::io::Error::other)?;
            let mut row = Vec::with_capacity(header.len());
            for (p, point) in self.points.iter().enumerate() {
                row.clear();
                row.push(p.to_string());
                row.extend(self.grid.values(p).into_iter().map(format_number));
                row.push(point.status.code().to_string());
                row.extend(metrics.iter().map(|m| {
                    point
                        .metrics
                        .get(m)
                        .map(|&v| format_number(v))
                        .unwrap_or_default()
                }));
                row.push(point.error.clone());
                out.write_record(&row).map_err(std::io::Error::other)?;
            }
            let mut buf = out.into_inner().map_err(|e| e.into_error())?;
            buf.flush()
        });
        result.map_err(csv_err)
    }
}
