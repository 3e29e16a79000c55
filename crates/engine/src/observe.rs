//! What every model runner shares: the run options and the observed run loop (output file,
//! progress).

use crate::error::RunError;
use crate::progress::{Progress, ProgressMode};
use buffycoat_stepper::{Cadence, Executor, Frame, Parallel, Propagate, RunReport, Schedule};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A cancellation flag shared between a run and whoever may stop it (a signal handler, a
/// Python `KeyboardInterrupt`, another thread). Cloning shares the flag.
///
/// A run checks it at every safe point (between output intervals of the time-stepping
/// models and the procedure, before writing a steady channel); once set, the run stops there, writes a
/// checkpoint if it is checkpointing, removes its partial output and returns
/// [`RunError::Interrupted`].
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop at its next safe point (callable from a signal handler: one
    /// atomic store).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CancelFlag::cancel`] has been called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The shared atomic itself (for loops that poll it).
    pub fn as_atomic(&self) -> &AtomicBool {
        &self.0
    }
}

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
    /// stops the run at its next safe point when set (`None`: never)
    pub cancel: Option<CancelFlag>,
    /// checkpoints of runs with an output (particle, hindered, transient channel, procedure;
    /// `None`: none; an interrupted run then leaves nothing to resume)
    pub checkpoint: Option<crate::checkpoint::Checkpointing>,
    /// how the HDF5 file stores large datasets (the scenario's `[output] compression`)
    pub compression: buffycoat_h5::Compression,
}

impl RunOptions {
    /// `Err(Interrupted)` if the run has been cancelled: the check at a safe point of the
    /// runs that do not step through an executor (the steady channel), `time` being the
    /// simulated time reached.
    pub(crate) fn check_cancel(&self, time: f64) -> Result<(), RunError> {
        if self.cancel.as_ref().is_some_and(CancelFlag::is_cancelled) {
            return Err(RunError::Interrupted {
                time,
                checkpoint: None,
            });
        }
        Ok(())
    }
}

impl Default for RunOptions {
    /// No files, all cores, no progress.
    fn default() -> Self {
        Self {
            output: None,
            summary: None,
            threads: None,
            progress: ProgressMode::Off,
            cancel: None,
            checkpoint: None,
            compression: buffycoat_h5::Compression::None,
        }
    }
}

/// Runs `system` through `schedule` with the two observers every time-stepping run has, at
/// every output time: `write` (the file, if any), then the progress display (showing the
/// frame's time; removed at the end, also on error). A cancelled run returns its report with
/// `cancelled` set: the caller checkpoints and reports [`RunError::Interrupted`].
pub(crate) fn run_observed<S>(
    schedule: Schedule,
    system: &mut S,
    par: &Parallel,
    mut write: impl FnMut(&Frame<'_, S>) -> Result<(), RunError>,
    progress: ProgressMode,
    cancel: Option<&CancelFlag>,
    start_frame: usize,
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
    let mut executor = Executor::<S, RunError>::new(schedule)
        .observe(Cadence::ALWAYS, &mut write)
        .observe(Cadence::ALWAYS, &mut show);
    if let Some(flag) = cancel {
        executor = executor.cancel_on(flag.as_atomic());
    }
    let report = executor.start_at(start_frame).run(system, par);
    bar.finish();
    report
}
