//! Executor, observers and cadence: the run loop, separated from the physics it advances.

use crate::{Parallel, StepperError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A system that can be advanced in time. Implementations own their state and scratch; they
/// parallelise internally with the [`Parallel`] they are given.
pub trait Propagate {
    /// The system's error type.
    type Error;
    /// Advances the state from `t0` to `t1` (s), one observation interval.
    fn advance(&mut self, t0: f64, t1: f64, par: &Parallel) -> Result<(), Self::Error>;
    /// Integration steps taken since the start (the H5MD `step` of the current state).
    fn step_count(&self) -> u64;
}

/// Observation times: `tₖ = min(k · interval, duration)` for k = 0..=K, K = ⌈duration/interval⌉.
/// Times are computed by multiplication, never by accumulation, so they carry no drift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    duration: f64,
    interval: f64,
    intervals: usize,
}

impl Schedule {
    /// A schedule of total `duration` (s) observed every `interval` (s).
    pub fn new(duration: f64, interval: f64) -> Result<Self, StepperError> {
        if !(duration.is_finite() && duration > 0.0) {
            return Err(StepperError::Schedule(format!(
                "duration must be finite and > 0 s, got {duration}"
            )));
        }
        if !(interval.is_finite() && interval > 0.0) {
            return Err(StepperError::Schedule(format!(
                "output interval must be finite and > 0 s, got {interval}"
            )));
        }
        // Tolerate round-off in duration/interval (e.g. 0.3/0.1 = 2.9999999999999996).
        let ratio = duration / interval;
        let rounded = ratio.round();
        let intervals = if (ratio - rounded).abs() <= 1e-9 * ratio.max(1.0) {
            rounded as usize
        } else {
            ratio.ceil() as usize
        };
        Ok(Self {
            duration,
            interval,
            intervals: intervals.max(1),
        })
    }

    /// Number of intervals K (there are K + 1 frames, including t = 0).
    pub fn intervals(&self) -> usize {
        self.intervals
    }

    /// Total duration (s).
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// Nominal interval (s).
    pub fn interval(&self) -> f64 {
        self.interval
    }

    /// Time of frame `k` (s).
    pub fn time(&self, k: usize) -> f64 {
        if k >= self.intervals {
            self.duration
        } else {
            (k as f64 * self.interval).min(self.duration)
        }
    }
}

/// How often an observer sees the state: every `n`-th frame. The first (t = 0) and the last
/// frame are always delivered, so outputs always contain the initial and final states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    every: usize,
}

impl Cadence {
    /// Every frame.
    pub const ALWAYS: Cadence = Cadence { every: 1 };

    /// Every `n`-th frame (`n` ≥ 1; 0 is treated as 1).
    pub fn every(n: usize) -> Self {
        Self { every: n.max(1) }
    }

    /// Whether frame `index` is due.
    pub fn is_due(&self, index: usize, last: bool) -> bool {
        last || index.is_multiple_of(self.every)
    }
}

/// What an observer sees.
#[derive(Debug)]
pub struct Frame<'a, S> {
    /// frame index k (0 = initial state)
    pub index: usize,
    /// integration steps so far
    pub step: u64,
    /// simulated time (s)
    pub time: f64,
    /// true for the final frame
    pub last: bool,
    /// the system
    pub state: &'a S,
}

/// Something that looks at the state at its cadence: output writers, progress bars, statistics.
pub trait Observer<S, E> {
    /// Called with each due frame; an error stops the run.
    fn observe(&mut self, frame: &Frame<'_, S>) -> Result<(), E>;
}

impl<S, E, F> Observer<S, E> for F
where
    F: FnMut(&Frame<'_, S>) -> Result<(), E>,
{
    fn observe(&mut self, frame: &Frame<'_, S>) -> Result<(), E> {
        self(frame)
    }
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunReport {
    /// frames delivered (including t = 0)
    pub frames: usize,
    /// integration steps taken
    pub steps: u64,
    /// simulated time reached (s)
    pub time: f64,
    /// wall-clock time spent advancing the system, observers excluded
    pub advance_time: Duration,
    /// wall-clock time of the whole run
    pub wall_time: Duration,
    /// true if the run stopped early because cancellation was requested
    pub cancelled: bool,
    /// index of the last frame reached (the state's frame when cancelled)
    pub reached: usize,
}

type ObserverSlot<'o, S, E> = (Cadence, &'o mut dyn Observer<S, E>);

/// Runs a [`Propagate`] system over a [`Schedule`], calling observers at their cadence.
pub struct Executor<'o, S, E> {
    schedule: Schedule,
    observers: Vec<ObserverSlot<'o, S, E>>,
    cancel: Option<&'o AtomicBool>,
    start: usize,
}

impl<'o, S, E> Executor<'o, S, E>
where
    S: Propagate,
    E: From<S::Error>,
{
    /// An executor for `schedule` with no observers.
    pub fn new(schedule: Schedule) -> Self {
        Self {
            schedule,
            observers: Vec::new(),
            cancel: None,
            start: 0,
        }
    }

    /// Adds an observer with its cadence. Observers are called in the order they were added.
    pub fn observe(mut self, cadence: Cadence, observer: &'o mut dyn Observer<S, E>) -> Self {
        self.observers.push((cadence, observer));
        self
    }

    /// Stops cleanly (after the current interval) once `flag` becomes true.
    pub fn cancel_on(mut self, flag: &'o AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Continues a run whose state is that of frame `k` (restored from a checkpoint): frames
    /// 0..=k are not delivered again; the first advance is from frame k to k + 1.
    pub fn start_at(mut self, k: usize) -> Self {
        self.start = k;
        self
    }

    fn notify(&mut self, system: &S, index: usize, last: bool) -> Result<(), E> {
        let frame = Frame {
            index,
            step: system.step_count(),
            time: self.schedule.time(index),
            last,
            state: system,
        };
        for (cadence, observer) in &mut self.observers {
            if cadence.is_due(index, last) {
                observer.observe(&frame)?;
            }
        }
        Ok(())
    }

    /// Advances `system` through the whole schedule.
    pub fn run(&mut self, system: &mut S, par: &Parallel) -> Result<RunReport, E> {
        let start = Instant::now();
        let mut advance_time = Duration::ZERO;
        let k_max = self.schedule.intervals();
        let first = self.start.min(k_max);
        let mut frames = 0;
        if first == 0 {
            self.notify(system, 0, false)?;
            frames = 1;
        }
        let mut cancelled = false;
        let mut reached = first;
        for k in first + 1..=k_max {
            if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                cancelled = true;
                break;
            }
            let t0 = self.schedule.time(k - 1);
            let t1 = self.schedule.time(k);
            let tick = Instant::now();
            system.advance(t0, t1, par)?;
            advance_time += tick.elapsed();
            self.notify(system, k, k == k_max)?;
            frames += 1;
            reached = k;
        }
        Ok(RunReport {
            frames,
            steps: system.step_count(),
            time: self.schedule.time(reached),
            advance_time,
            wall_time: start.elapsed(),
            cancelled,
            reached,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dx/dt = -x integrated by exact exponential steps of fixed size.
    struct Decay {
        x: f64,
        steps: u64,
        dt: f64,
    }

    impl Propagate for Decay {
        type Error = String;
        fn advance(&mut self, t0: f64, t1: f64, _par: &Parallel) -> Result<(), String> {
            let n = ((t1 - t0) / self.dt - 1e-9).ceil().max(1.0) as u64;
            let h = (t1 - t0) / n as f64;
            for _ in 0..n {
                self.x *= (-h).exp();
            }
            self.steps += n;
            Ok(())
        }
        fn step_count(&self) -> u64 {
            self.steps
        }
    }

    #[test]
    fn schedule_times_are_exact_and_cover_the_duration() {
        let s = Schedule::new(0.3, 0.1).unwrap();
        assert_eq!(s.intervals(), 3);
        assert_eq!(s.time(3), 0.3);
        let s = Schedule::new(1.05, 0.5).unwrap();
        assert_eq!(s.intervals(), 3);
        assert_eq!(s.time(2), 1.0);
        assert_eq!(s.time(3), 1.05);
        assert!(Schedule::new(0.0, 1.0).is_err());
        assert!(Schedule::new(1.0, f64::NAN).is_err());
    }

    #[test]
    fn observers_see_frames_at_their_cadence_including_first_and_last() {
        let mut system = Decay {
            x: 1.0,
            steps: 0,
            dt: 0.01,
        };
        let mut every: Vec<(usize, f64)> = Vec::new();
        let mut third: Vec<usize> = Vec::new();
        let mut rec_all = |f: &Frame<'_, Decay>| -> Result<(), String> {
            every.push((f.index, f.state.x));
            Ok(())
        };
        let mut rec_third = |f: &Frame<'_, Decay>| -> Result<(), String> {
            third.push(f.index);
            Ok(())
        };
        let par = Parallel::serial();
        let report = Executor::new(Schedule::new(1.0, 0.1).unwrap())
            .observe(Cadence::ALWAYS, &mut rec_all)
            .observe(Cadence::every(3), &mut rec_third)
            .run(&mut system, &par)
            .unwrap();
        assert_eq!(report.frames, 11);
        assert_eq!(every.len(), 11);
        assert_eq!(third, vec![0, 3, 6, 9, 10]);
        assert!((every[10].1 - (-1.0f64).exp()).abs() < 1e-14);
        assert_eq!(report.steps, 100);
        assert!(!report.cancelled);
    }

    #[test]
    fn observer_error_stops_the_run() {
        let mut system = Decay {
            x: 1.0,
            steps: 0,
            dt: 0.1,
        };
        let mut fail = |f: &Frame<'_, Decay>| -> Result<(), String> {
            if f.index == 2 {
                Err("disk full".into())
            } else {
                Ok(())
            }
        };
        let err = Executor::new(Schedule::new(1.0, 0.1).unwrap())
            .observe(Cadence::ALWAYS, &mut fail)
            .run(&mut system, &Parallel::serial())
            .unwrap_err();
        assert_eq!(err, "disk full");
        assert_eq!(system.steps, 2);
    }

    #[test]
    fn cancellation_stops_between_intervals() {
        let flag = AtomicBool::new(true);
        let mut system = Decay {
            x: 1.0,
            steps: 0,
            dt: 0.1,
        };
        let report = Executor::<Decay, String>::new(Schedule::new(1.0, 0.1).unwrap())
            .cancel_on(&flag)
            .run(&mut system, &Parallel::serial())
            .unwrap();
        assert!(report.cancelled);
        assert_eq!(report.frames, 1);
        assert_eq!(report.reached, 0);
        assert_eq!(system.steps, 0);
    }

    #[test]
    fn a_run_started_at_a_frame_delivers_only_the_later_frames() {
        let mut system = Decay {
            x: 1.0,
            steps: 0,
            dt: 0.01,
        };
        let mut seen = Vec::new();
        let mut rec = |f: &Frame<'_, Decay>| -> Result<(), String> {
            seen.push(f.index);
            Ok(())
        };
        let report = Executor::new(Schedule::new(1.0, 0.1).unwrap())
            .observe(Cadence::ALWAYS, &mut rec)
            .start_at(7)
            .run(&mut system, &Parallel::serial())
            .unwrap();
        assert_eq!(seen, vec![8, 9, 10]);
        assert_eq!(report.frames, 3);
        assert_eq!(report.reached, 10);
        assert_eq!(system.steps, 30);
    }
}
