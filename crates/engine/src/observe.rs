//! What every model runner shares: the run options and the observed run loop (output file,
//! progress).

use crate::error::RunError;
use crate::progress::{Progress, ProgressMode};
use buffycoat_stepper::{Cadence, Executor, Frame, Parallel, Propagate, RunReport, Schedule};
use std::path::PathBuf;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// HDF5 output file (`None`: compute and summarise only, as sweep points do)
    pub output: Option<PathBuf>,
    /// JSON summary file
    pub summary: Option<PathBuf>,
    /// worker threads (`None`: all cores)
    pub threads: Option<usize>,
    /// progress on stderr
    pub progress: ProgressMode,
    /// how the HDF5 file stores large datasets (the scenario's `[output] compression`)
    pub compression: buffycoat_h5::Compression,
}

impl Default for RunOptions {
    /// No files, all cores, no progress.
    fn default() -> Self {
        Self {
            output: None,
            summary: None,
            threads: None,
            progress: ProgressMode::Off,
            compression: buffycoat_h5::Compression::None,
        }
    }
}

/// Runs `system` through `schedule` with the two observers every time-stepping run has, at
/// every output time: `write` (the file, if any), then the progress display (showing the
/// frame's time; removed at the end, also on error).
pub(crate) fn run_observed<S>(
    schedule: Schedule,
    system: &mut S,
    par: &Parallel,
    mut write: impl FnMut(&Frame<'_, S>) -> Result<(), RunError>,
    progress: ProgressMode,
) -> Result<RunReport, RunError>
where
    S: Propagate,
    RunError: From<S::Error>,
{
    let mut bar = Progress::new(schedule.intervals() as u64, "frames", progress);
    let mut show = |f: &Frame<'_, S>| {
        bar.update(f.index as u64, || {
            format!("t = {} s", crate::summary::human(f.time, 4))
        });
        Ok::<(), RunError>(())
    };
    let report = Executor::<S, RunError>::new(schedule)
        .observe(Cadence::ALWAYS, &mut write)
        .observe(Cadence::ALWAYS, &mut show)
        .run(system, par);
    bar.finish();
    report
}
