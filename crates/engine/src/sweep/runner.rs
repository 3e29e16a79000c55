//! Running a sweep: points in parallel, checkpoints, interruption.

use super::SweepError;
use super::file::{PointResult, PointStatus, StatusCounts, SweepData};
use super::plan::SweepPlan;
use crate::progress::{Progress, ProgressMode};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Shortest time between two checkpoints.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// the sweep file (rewritten whole and atomically at every checkpoint)
    pub output: PathBuf,
    /// the CSV table, written at the end
    pub csv: Option<PathBuf>,
    /// worker threads (`None`: all cores); each point runs on one of them
    pub threads: Option<usize>,
    /// progress on stderr (a bar on a terminal, plain lines otherwise)
    pub progress: ProgressMode,
    /// shortest time between checkpoints (also at least 10× the time the last one took)
    pub checkpoint_interval: Duration,
}

/// Asks a running sweep to stop. Level 1 (first Ctrl-C): take no new points, let the running
/// ones finish, write a final checkpoint. Level 2: abandon the running points too.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicUsize>);

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the level by one and returns the new level.
    pub fn cancel(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Times [`CancelToken::cancel`] has been called.
    pub fn level(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a sweep run did.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// points of the whole file by status
    pub counts: StatusCounts,
    /// points of this shard still not run (interrupted)
    pub pending: usize,
    /// points run now
    pub ran: usize,
    /// stopped by [`CancelToken`] with points of the shard not run
    pub interrupted: bool,
    /// wall time (s)
    pub elapsed_s: f64,
}

/// Work shared by the worker jobs.
struct Work {
    plan: Arc<SweepPlan>,
    todo: Vec<usize>,
    next: AtomicUsize,
    started: AtomicUsize,
    cancel: CancelToken,
}

/// Runs the points of `plan`'s shard that are not ok in `data` (all of them for a fresh
/// sweep; failed and not-run points on resume), `threads` at a time on a rayon pool, each point
/// on one thread.
///
/// The output file is written at the start (every pending point with status 2), then whole and
/// atomically at checkpoints (at most every `checkpoint_interval` of wall time, and at least 10×
/// the time the last write took) and at the end, so the file on disk is always complete and
/// valid: a sweep killed at any moment resumes from its last checkpoint. `cancel` stops the
/// sweep (see [`CancelToken`]); the final checkpoint is then still written. Results never depend
/// on the thread count or the order in which points finish.
pub fn run_sweep(
    plan: Arc<SweepPlan>,
    data: &mut SweepData,
    opts: &SweepOptions,
    cancel: &CancelToken,
) -> Result<SweepOutcome, SweepError> {
    let start = Instant::now();
    let todo: Vec<usize> = (0..data.points.len())
        .filter(|&p| plan.shard.contains(p) && data.points[p].status != PointStatus::Ok)
        .collect();
    for &p in &todo {
        data.points[p] = PointResult::not_run();
    }
    let mut write_time = timed_write(data, opts)?;
    let mut last_write = Instant::now();
    let mut dirty = false;
    let mut ran = 0;
    let mut failed = 0;
    let mut interrupted = false;

    if !todo.is_empty() {
        let threads = opts
            .threads
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(usize::from)
                    .unwrap_or(1)
            })
            .max(1);
        let workers = threads.min(todo.len());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("buffycoat-sweep-{i}"))
            .build()
            .map_err(|e| SweepError::ThreadPool(e.to_string()))?;
        let total = todo.len();
        let work = Arc::new(Work {
            plan,
            todo,
            next: AtomicUsize::new(0),
            started: AtomicUsize::new(0),
            cancel: cancel.clone(),
        });
        let (tx, rx) = mpsc::channel::<(usize, PointResult)>();
        for _ in 0..workers {
            let work = Arc::clone(&work);
            let tx = tx.clone();
            pool.spawn(move || worker(&work, &tx));
        }
        drop(tx);
        let mut bar = Progress::new(total as u64, "points", opts.progress);
        let mut announced = 0;
        loop {
            let now = Instant::now();
            let due = last_write + opts.checkpoint_interval.max(write_time * 10);
            let wait = due
                .saturating_duration_since(now)
                .min(Duration::from_millis(100));
            match rx.recv_timeout(wait) {
                Ok((p, result)) => {
                    if result.status == PointStatus::Failed {
                        failed += 1;
                    }
                    data.points[p] = result;
                    ran += 1;
                    dirty = true;
                    bar.update(ran as u64, || format!("{failed} failed"));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let level = cancel.level();
            if level > announced {
                interrupted = true;
                announced = level;
                let running = work.started.load(Ordering::SeqCst).saturating_sub(ran);
                let note = if level == 1 {
                    format!(
                        "interrupted: taking no new points; waiting for {running} running point(s) \
                         (interrupt again to abandon them)"
                    )
                } else {
                    format!("interrupted again: abandoning {running} running point(s)")
                };
                bar.suspend(|| {
                    let _ = writeln!(std::io::stderr(), "{note}");
                });
                if level >= 2 {
                    break;
                }
            }
            if dirty && Instant::now() >= due {
                write_time = timed_write(data, opts)?;
                last_write = Instant::now();
                dirty = false;
            }
        }
        bar.finish();
    }
    if dirty {
        timed_write(data, opts)?;
    }
    let pending = data.pending_in_shard();
    // A stop that came after the last point is no interruption.
    let interrupted = (interrupted || cancel.level() > 0) && pending > 0;
    if let Some(csv) = &opts.csv {
        data.write_csv(csv)?;
    }
    Ok(SweepOutcome {
        counts: data.counts(),
        pending,
        ran,
        interrupted,
        elapsed_s: start.elapsed().as_secs_f64(),
    })
}

/// One worker job: takes points in index order until none are left or the sweep is cancelled.
fn worker(work: &Work, tx: &mpsc::Sender<(usize, PointResult)>) {
    loop {
        if work.cancel.level() > 0 {
            return;
        }
        let i = work.next.fetch_add(1, Ordering::SeqCst);
        let Some(&p) = work.todo.get(i) else {
            return;
        };
        work.started.fetch_add(1, Ordering::SeqCst);
        let result =
            catch_unwind(AssertUnwindSafe(|| work.plan.run_point(p))).unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                PointResult {
                    status: PointStatus::Failed,
                    error: format!("the run panicked: {what}"),
                    metrics: Default::default(),
                }
            });
        if tx.send((p, result)).is_err() {
            return; // the sweep stopped waiting
        }
    }
}

/// Writes the sweep file and returns how long that took.
fn timed_write(data: &SweepData, opts: &SweepOptions) -> Result<Duration, SweepError> {
    let t = Instant::now();
    data.write_h5(&opts.output)?;
    Ok(t.elapsed())
}
