//! A checked sweep: the scenario, the grid, the shard, and how one point runs.

use super::SweepError;
use super::file::{PointResult, PointStatus, SweepData};
use super::grid::{Axis, Grid, Shard};
use super::metrics::flatten_summary;
use crate::input::overrides::{Override, OverrideError};
use crate::input::scenario::ScenarioFile;
use crate::input::{self, ScenarioError};
use crate::run::{self, RunOptions};
use buffycoat_physics::species::SpeciesLibrary;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Value;

/// The `run.seed` of point `p`: output number `p + 1` of a SplitMix64 generator (Steele, Lea &
/// Flood, OOPSLA 2014) started at the scenario seed, shifted right by one bit so that it is
/// below 2⁶³ and can be written as a TOML integer (`--set run.seed=…`).
///
/// Neighbouring points (and neighbouring scenario seeds) get unrelated seeds, every point's
/// seed depends only on the scenario seed and `p`, never on the shard or the order of work.
pub fn derive_seed(scenario_seed: u64, point: usize) -> u64 {
    let mut z = scenario_seed.wrapping_add(
        (point as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) >> 1
}

/// A sweep whose scenario and varied keys have been checked.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    /// the scenario file as given
    pub scenario_path: PathBuf,
    /// its text
    pub scenario_text: String,
    /// its `run.seed`
    pub scenario_seed: u64,
    /// the grid
    pub grid: Grid,
    /// the shard to run
    pub shard: Shard,
    library: SpeciesLibrary,
}

impl SweepPlan {
    /// Reads the scenario and checks that every varied key is a numeric key the scenario format
    /// accepts, with values of the right kind (whole numbers for integer keys).
    ///
    /// A key present in the file must hold a number there (`model.kind` is refused); a key the
    /// file omits but the format allows (`run.dt_s`) is fine. Values of keys that take whole
    /// numbers are rounded when within 10⁻⁹ of one (`1:1000:4:log` → 1, 10, 100, 1000) and
    /// refused otherwise. `run.seed` cannot be varied: each
    /// point derives its own (see [`derive_seed`]).
    pub fn new(
        scenario: &Path,
        grid: Grid,
        shard: Shard,
        library: SpeciesLibrary,
    ) -> Result<Self, SweepError> {
        let text = std::fs::read_to_string(scenario).map_err(|source| ScenarioError::Read {
            path: scenario.to_owned(),
            source,
        })?;
        Self::from_text(scenario, text, grid, shard, library)
    }

    /// As [`SweepPlan::new`], for text already read (`scenario` is used in messages and
    /// stored as the scenario path).
    pub fn from_text(
        scenario: &Path,
        text: String,
        grid: Grid,
        shard: Shard,
        library: SpeciesLibrary,
    ) -> Result<Self, SweepError> {
        let toml_err = |e: &dyn std::fmt::Display| ScenarioError::Toml {
            path: scenario.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        };
        let doc: Value = toml::from_str(&text).map_err(|e| toml_err(&e))?;
        let file = ScenarioFile::deserialize(doc.clone()).map_err(|e| toml_err(&e))?;
        let mut grid = grid;
        for axis in &mut grid.axes {
            check_key(&doc, axis)?;
        }
        Ok(Self {
            scenario_path: scenario.to_owned(),
            scenario_text: text,
            scenario_seed: file.run.seed,
            grid,
            shard,
            library,
        })
    }

    /// The `--set` overrides of point `p`: the varied keys, then `run.seed=<derived>`.
    /// `buffycoat run SCENARIO --set …` with these reproduces the point.
    pub fn overrides(&self, p: usize) -> Vec<String> {
        let mut o = self.grid.overrides(p);
        o.push(format!("run.seed={}", self.seed(p)));
        o
    }

    /// The seed of point `p`.
    pub fn seed(&self, p: usize) -> u64 {
        derive_seed(self.scenario_seed, p)
    }

    /// Runs point `p` on one thread, without output files. A scenario check or run error is a
    /// failed point carrying the message, not an error of the sweep.
    pub fn run_point(&self, p: usize) -> PointResult {
        let failed = |error: String| PointResult {
            status: PointStatus::Failed,
            error,
            metrics: Default::default(),
        };
        let loaded = match input::load_text(
            &self.scenario_path,
            &self.scenario_text,
            &self.overrides(p),
            &self.library,
        ) {
            Ok(l) => l,
            Err(e) => return failed(error_chain(&e)),
        };
        let opts = RunOptions {
            output: None,
            summary: None,
            // One thread per point: points are many and independent, so spreading them over
            // the cores keeps every core busy without synchronisation inside a run.
            threads: Some(1),
            progress: false,
        };
        match run::run(&loaded, &opts) {
            Ok(summary) => match serde_json::to_value(&summary) {
                Ok(json) => PointResult {
                    status: PointStatus::Ok,
                    error: String::new(),
                    metrics: flatten_summary(&json),
                },
                Err(e) => failed(format!("cannot serialise the summary: {e}")),
            },
            Err(e) => failed(error_chain(&e)),
        }
    }

    /// A sweep file with every point not run.
    pub fn empty_data(&self) -> SweepData {
        let p = self.grid.points();
        SweepData {
            scenario_path: self.scenario_path.display().to_string(),
            scenario_text: self.scenario_text.clone(),
            scenario_seed: self.scenario_seed,
            grid: self.grid.clone(),
            shard: self.shard,
            seeds: (0..p).map(|i| self.seed(i)).collect(),
            points: vec![PointResult::not_run(); p],
            program_version: crate::VERSION.to_owned(),
            git_commit: crate::GIT_COMMIT.to_owned(),
        }
    }

    /// The starting state for output `output`: a fresh sweep, or with `resume` the existing
    /// file after checking that it is this sweep (same scenario text, grid and shard). Without
    /// `resume` an existing output is an error.
    pub fn prepare(&self, output: &Path, resume: bool) -> Result<Prepared, SweepError> {
        if !output.exists() {
            return Ok(Prepared {
                data: self.empty_data(),
                resumed: false,
                warning: None,
            });
        }
        if !resume {
            return Err(SweepError::OutputExists {
                path: output.to_owned(),
            });
        }
        let mut data = SweepData::read_h5(output)?;
        let mine = self.empty_data();
        if let Some(d) = data.sweep_difference(&mine) {
            return Err(SweepError::Mismatch {
                path: output.to_owned(),
                message: format!(
                    "it belongs to another sweep: {d} (the file's vs those of {} and the \
                     --vary given); remove it or choose another -o",
                    self.scenario_path.display()
                ),
            });
        }
        if data.shard != self.shard {
            return Err(SweepError::Mismatch {
                path: output.to_owned(),
                message: format!(
                    "it was written for --shard {}, not --shard {}",
                    data.shard, self.shard
                ),
            });
        }
        if data.seeds != mine.seeds {
            return Err(SweepError::Mismatch {
                path: output.to_owned(),
                message: "its point seeds differ from this program's seed rule".into(),
            });
        }
        let warning = (data.git_commit != crate::GIT_COMMIT).then(|| {
            format!(
                "{} was written by buffycoat {} (commit {}); this is {} (commit {}): resumed \
                 points may not match the earlier ones bit for bit",
                output.display(),
                data.program_version,
                data.git_commit,
                crate::VERSION,
                crate::GIT_COMMIT
            )
        });
        data.program_version = crate::VERSION.to_owned();
        data.git_commit = crate::GIT_COMMIT.to_owned();
        data.scenario_path = mine.scenario_path;
        Ok(Prepared {
            data,
            resumed: true,
            warning,
        })
    }
}

/// The starting state of a sweep.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// the points (some already done when resuming)
    pub data: SweepData,
    /// whether an existing file was resumed
    pub resumed: bool,
    /// something the user should know (a different program wrote the file)
    pub warning: Option<String>,
}

/// The value at a dotted path of a TOML document, if there is one.
fn lookup<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    let mut node = doc;
    for part in key.split('.') {
        node = match node {
            Value::Table(t) => t.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Checks that `axis.key` can be varied over its values in the scenario `doc`. For keys that
/// take whole numbers (the schema refuses 0.5, e.g. `species.0.count`), values within 10⁻⁹
/// (relative) of a whole number are rounded to it — floating-point noise of `start:stop:count`
/// and log spacing — and other values are an error.
fn check_key(doc: &Value, axis: &mut Axis) -> Result<(), SweepError> {
    let key = axis.key.as_str();
    let err = |message: String| SweepError::Key {
        key: key.to_owned(),
        message,
    };
    if key == "run.seed" {
        return Err(err(
            "cannot be varied: every point derives its own seed from the scenario's run.seed \
             and the point index (change run.seed in the scenario for another realisation)"
                .into(),
        ));
    }
    match lookup(doc, key) {
        Some(Value::Integer(_) | Value::Float(_)) | None => {}
        Some(other) => {
            let shown = match other {
                Value::Table(_) | Value::Array(_) => String::new(),
                v => format!(" ({v})"),
            };
            return Err(err(format!(
                "is not a numeric key: the scenario has a {}{shown} there; --vary takes keys \
                 whose value is a number (e.g. rotor.rpm, run.duration_s, species.0.count)",
                other.type_str()
            )));
        }
    }
    // Whether the scenario format accepts `key = v` (types and known keys; ranges are checked
    // per point).
    let accepts = |v: f64| -> Result<(), SweepError> {
        let text = format!("{key}={}", super::grid::format_number(v));
        let o = Override::parse(&text).map_err(|e| err(e.to_string()))?;
        let mut d = doc.clone();
        o.apply(&mut d).map_err(|e| match e {
            OverrideError::Path { message, .. } => err(message),
            other => err(other.to_string()),
        })?;
        ScenarioFile::deserialize(d).map(|_| ()).map_err(|e| {
            let msg = e.to_string().trim_end().replace('\n', " ");
            err(format!("the scenario format does not accept {text}: {msg}"))
        })
    };
    let first = axis.values.first().copied().unwrap_or(0.0);
    accepts(first.round())?;
    if accepts(0.5).is_err() {
        for v in &mut axis.values {
            let r = v.round();
            if (*v - r).abs() <= 1e-9 * r.abs().max(1.0) {
                *v = r;
            } else {
                return Err(err(format!(
                    "takes whole numbers, but the SPEC `{}` gives {v}",
                    axis.spec
                )));
            }
        }
    }
    Ok(())
}

/// An error and its causes, each added only if the message does not already contain it.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable_distinct_and_toml_integers() {
        // Fixed values: changing the rule changes every sweep's results.
        assert_eq!(derive_seed(7, 0), derive_seed(7, 0));
        let seeds: Vec<u64> = (0..1000).map(|p| derive_seed(7, p)).collect();
        let mut sorted = seeds.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 1000);
        assert!(seeds.iter().all(|&s| s < 1 << 63));
        assert_ne!(derive_seed(7, 1), derive_seed(8, 1));
        // SplitMix64 reference: first output for state 0 is 0xE220A8397B1DCDAF.
        assert_eq!(derive_seed(0, 0), 0xE220_A839_7B1D_CDAF >> 1);
    }

    const SCENARIO: &str = "version = 1\n[run]\nduration_s = 1.0\noutput_interval_s = 0.5\nseed = 7\n\
        [rotor]\nrpm = 2400.0\n[geometry]\nkind = \"tube\"\nr_min_m = 0.1\nr_max_m = 0.16\n\
        radius_m = 0.006\n[model]\nkind = \"overdamped\"\n[[species]]\nname = \"probe\"\n\
        density_kg_m3 = 1082.0\ndiameter_m = 9.63e-6\ncount = 20\n";

    fn plan(varies: &[&str]) -> Result<SweepPlan, SweepError> {
        let axes = varies.iter().map(|v| Axis::parse(v).unwrap()).collect();
        SweepPlan::from_text(
            Path::new("s.toml"),
            SCENARIO.into(),
            Grid::new(axes)?,
            Shard::WHOLE,
            input::library::default_library().unwrap(),
        )
    }

    #[test]
    fn keys_are_checked() {
        plan(&["rotor.rpm=1000,2000", "run.dt_s=0.01,0.02"]).unwrap();
        plan(&["species.0.count=10:30:3"]).unwrap();
        let p = plan(&["species.0.count=1:1000:4:log"]).unwrap();
        assert_eq!(p.grid.axes[0].values, [1.0, 10.0, 100.0, 1000.0]);
        let e = |v: &str| plan(&[v]).unwrap_err().to_string();
        assert!(
            e("rotor.nope=1,2").contains("rotor.nope"),
            "{}",
            e("rotor.nope=1,2")
        );
        assert!(e("rotor.nope=1,2").contains("unknown field"));
        assert!(e("model.kind=1,2").contains("not a numeric key"));
        assert!(e("geometry=1,2").contains("not a numeric key"));
        assert!(e("species.3.count=1").contains("out of range"));
        assert!(e("species.0.count=1.5").contains("species.0.count"));
        assert!(e("run.seed=1,2").contains("cannot be varied"));
    }

    #[test]
    fn a_point_runs_and_a_bad_point_fails_with_its_message() {
        let p = plan(&["rotor.rpm=-5,2400"]).unwrap();
        assert_eq!(
            p.overrides(1),
            [
                "rotor.rpm=2400".to_string(),
                format!("run.seed={}", derive_seed(7, 1))
            ]
        );
        let bad = p.run_point(0);
        assert_eq!(bad.status, PointStatus::Failed);
        assert!(bad.error.contains("rotor.rpm"), "{}", bad.error);
        let ok = p.run_point(1);
        assert_eq!(ok.status, PointStatus::Ok, "{}", ok.error);
        assert_eq!(ok.metrics["species.probe.count"], 20.0);
        assert!(ok.metrics.contains_key("wall_time_s"));
        assert!(!ok.metrics.contains_key("seed"));
    }
}
