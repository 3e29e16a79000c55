//! A checked sweep: the scenario, the grid, the shard, and how one point runs.

use super::SweepError;
use super::file::{PointResult, PointStatus, SweepData};
use super::grid::{Axis, Grid, Shard};
use super::metrics::flatten_summary;
use crate::progress::ProgressMode;
use crate::provenance::{GIT_COMMIT, Provenance, VERSION};
use crate::run::{RunOptions, run};
use crate::setup::Setup;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    source: Arc<dyn ScenarioSource>,
}

/// The front end's scenario format, as a sweep needs it: which keys can be varied, and the
/// set-up of a point (the scenario with `--set`-style overrides applied).
pub trait ScenarioSource: Send + Sync + std::fmt::Debug {
    /// Checks that `axis.key` can be varied over its values (rounding values of keys that
    /// take whole numbers); errors name the key.
    ///
    /// # Errors
    /// [`SweepError::Key`] naming the key.
    fn check_axis(&self, axis: &mut Axis) -> Result<(), SweepError>;

    /// The set-up and provenance of the scenario with `overrides` (`KEY=value`) applied.
    ///
    /// # Errors
    /// The message of the scenario check (file, key, allowed range).
    fn point(&self, overrides: &[String]) -> Result<(Setup, Provenance), String>;
}

impl SweepPlan {
    /// A sweep of the scenario `source` (read from `scenario_path`, with text `scenario_text`
    /// and seed `scenario_seed`) over `grid`, running `shard`. Every varied key is checked
    /// ([`ScenarioSource::check_axis`]); `run.seed` cannot be varied: each point derives its
    /// own (see [`derive_seed`]).
    ///
    /// # Errors
    /// [`SweepError::Key`] for a key that cannot be varied.
    pub fn new(
        source: Arc<dyn ScenarioSource>,
        scenario_path: &Path,
        scenario_text: String,
        scenario_seed: u64,
        grid: Grid,
        shard: Shard,
    ) -> Result<Self, SweepError> {
        let mut grid = grid;
        for axis in &mut grid.axes {
            source.check_axis(axis)?;
        }
        Ok(Self {
            scenario_path: scenario_path.to_owned(),
            scenario_text,
            scenario_seed,
            grid,
            shard,
            source,
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
        let (setup, provenance) = match self.source.point(&self.overrides(p)) {
            Ok(point) => point,
            Err(e) => return failed(e),
        };
        let opts = RunOptions {
            output: None,
            summary: None,
            // One thread per point: points are many and independent, so spreading them over
            // the cores keeps every core busy without synchronisation inside a run.
            threads: Some(1),
            progress: ProgressMode::Off,
            compression: buffycoat_h5::Compression::None,
        };
        match run(&setup, &provenance, &opts) {
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
            program_version: VERSION.to_owned(),
            git_commit: GIT_COMMIT.to_owned(),
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
        let warning = (data.git_commit != GIT_COMMIT).then(|| {
            format!(
                "{} was written by buffycoat {} (commit {}); this is {} (commit {}): resumed \
                 points may not match the earlier ones bit for bit",
                output.display(),
                data.program_version,
                data.git_commit,
                VERSION,
                GIT_COMMIT
            )
        });
        data.program_version = VERSION.to_owned();
        data.git_commit = GIT_COMMIT.to_owned();
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
}
