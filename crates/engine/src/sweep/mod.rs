//! Parameter sweeps: one scenario run over a grid of values of numeric keys, in parallel,
//! resumable, shardable across a cluster (`buffycoat sweep`, `buffycoat merge`).
//!
//! # Grid and point order
//!
//! `--vary KEY=SPEC` names a numeric scenario key by dotted path (as `--set` does:
//! `rotor.rpm`, `run.duration_s`, `species.0.count`) and its values: `start:stop:count`
//! (inclusive, equally spaced), `start:stop:count:log` (inclusive, geometric; positive bounds) or
//! a list `a,b,c` ([`grid::parse_spec`]). Several `--vary` form the full product grid of P
//! points. Points are numbered **row-major, the last `--vary` varying fastest**: with axes of
//! n₀, n₁, … values, point `p = ((i₀·n₁ + i₁)·n₂ + i₂)…` ([`Grid::indices`]). The order
//! depends only on the `--vary` arguments.
//!
//! # A point
//!
//! Point p runs the scenario with the overrides [`SweepPlan::overrides`]: `KEY=value` for each
//! varied key (values written by [`grid::format_number`], as in the CSV), then
//! `run.seed=<derive_seed(scenario seed, p)>` ([`derive_seed`], SplitMix64). It is exactly
//! `buffycoat run SCENARIO --set KEY=value … --set run.seed=<seed>`: the same checks, the same
//! solver, the same summary. The point's metrics are the numeric leaves of that summary
//! ([`metrics`]); its seed is stored in `/sweep/seed`.
//!
//! Each point runs on **one thread** and the points are spread over a rayon pool of
//! `--threads` workers: a sweep has many independent points, so parallelism across points keeps
//! every core busy with no synchronisation inside a run, whereas parallelism inside a point only
//! pays for a single large run (`buffycoat run --threads`). Results do not depend on the thread
//! count.
//!
//! # Failures, checkpoints, resume
//!
//! A point whose scenario check or run fails is recorded (status 1 and its message) and the
//! sweep goes on. The sweep file is rewritten whole and atomically (a hidden partial file
//! renamed over the output) at the start, at checkpoints (at most once per second) and at the
//! end; pending points have status 2. So the file on disk is always complete and valid, whatever
//! happens to the process. `--resume` reads it back, checks that it is the same sweep (scenario
//! text, grid, shard) and runs only the points whose status is not 0; the result is identical to
//! an uninterrupted sweep (apart from the [`metrics::TIMING_METRICS`]).
//!
//! # Shards and merge
//!
//! `--shard I/N` runs only the points with `p mod N = I` (the others keep status 2 and the file
//! records the shard). [`merge_parts`] combines shard files after checking that they are the
//! same sweep and cover every point exactly once.
//!
//! The file layout is in [`mod@file`].

pub mod file;
pub mod grid;
pub mod merge;
pub mod metrics;
pub mod plan;
pub mod runner;

pub use file::{PointResult, PointStatus, StatusCounts, SweepData};
pub use grid::{Axis, Grid, Shard};
pub use merge::merge_parts;
pub use plan::{Prepared, ScenarioSource, SweepPlan, derive_seed, error_chain};
pub use runner::{CHECKPOINT_INTERVAL, CancelToken, SweepOptions, SweepOutcome, run_sweep};

use buffycoat_h5::H5Error;
use std::path::PathBuf;

/// Why a sweep or a merge could not be done. (A failing *point* is not an error: it is recorded
/// in the file.)
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A `--vary` argument is malformed.
    #[error("--vary {arg}: {message}")]
    Spec {
        /// the argument as given
        arg: String,
        /// what is wrong and what is expected
        message: String,
    },
    /// A varied key is unknown to the scenario format, not numeric, or cannot be varied.
    #[error("--vary {key}: {message}")]
    Key {
        /// the dotted key
        key: String,
        /// what is wrong
        message: String,
    },
    /// `--shard` is malformed.
    #[error("--shard {text}: {message}")]
    Shard {
        /// the argument as given
        text: String,
        /// what is wrong
        message: String,
    },
    /// The scenario file cannot be read or is invalid (the front end's message).
    #[error("{0}")]
    Scenario(String),
    /// The output exists and `--resume` was not given.
    #[error(
        "{} already exists: use --resume to continue that sweep, or remove the file",
        path.display()
    )]
    OutputExists {
        /// the output
        path: PathBuf,
    },
    /// A file is not a sweep file (or is inconsistent).
    #[error("{} is not a valid sweep file: {message}", path.display())]
    NotASweep {
        /// the file
        path: PathBuf,
        /// what is missing or inconsistent
        message: String,
    },
    /// A file belongs to a different sweep (resume: the output; merge: a part).
    #[error("{}: {message}", path.display())]
    Mismatch {
        /// the file
        path: PathBuf,
        /// what differs
        message: String,
    },
    /// Merge parts leave points uncovered or cover some twice.
    #[error("merge: {message}")]
    Coverage {
        /// which points, which parts
        message: String,
    },
    /// Reading or writing HDF5 failed.
    #[error(transparent)]
    H5(#[from] H5Error),
    /// Writing the CSV table failed.
    #[error("cannot write CSV {}: {source}", path.display())]
    Csv {
        /// the CSV path
        path: PathBuf,
        /// the OS error
        #[source]
        source: std::io::Error,
    },
    /// The worker pool could not be started.
    #[error("cannot start the sweep's worker threads: {0}")]
    ThreadPool(String),
}
