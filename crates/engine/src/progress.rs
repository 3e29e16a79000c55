//! Progress on stderr: a bar on a terminal, plain lines at a modest cadence otherwise (batch
//! logs such as a Slurm job's), nothing when not wanted.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Shortest time between two plain progress lines.
pub const LINE_INTERVAL: Duration = Duration::from_secs(10);

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// nothing
    Off,
    /// a bar if stderr is a terminal, else plain lines
    Auto,
    /// plain lines (at most every [`LINE_INTERVAL`]), whatever stderr is
    Lines,
}

impl ProgressMode {
    /// `Auto` if `wanted`, else `Off`.
    pub fn wanted(wanted: bool) -> Self {
        if wanted { Self::Auto } else { Self::Off }
    }
}

/// A progress display over `len` steps of `unit` (frames, points).
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    lines: Option<Lines>,
    len: u64,
    unit: &'static str,
}

#[derive(Debug)]
struct Lines {
    start: Instant,
    last: Instant,
    interval: Duration,
}

impl Progress {
    /// A display of `len` steps of `unit` in `mode`.
    pub fn new(len: u64, unit: &'static str, mode: ProgressMode) -> Self {
        let lines = |interval| Lines {
            start: Instant::now(),
            last: Instant::now(),
            interval,
        };
        let (bar, lines) = match mode {
            ProgressMode::Off => (None, None),
            ProgressMode::Auto if std::io::stderr().is_terminal() => {
                let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(&format!(
                        "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} {{msg}} (ETA {{eta}})"
                    ))
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                (Some(bar), None)
            }
            ProgressMode::Auto | ProgressMode::Lines => (None, Some(lines(LINE_INTERVAL))),
        };
        Self {
            bar,
            lines,
            len,
            unit,
        }
    }

    /// `pos` steps done; `message` describes the current state (e.g. `t = 1.5 s`). The bar
    /// shows this message with this position (the message is set first, so the label never
    /// lags a frame); a plain line is printed if [`LINE_INTERVAL`] has passed since the last.
    pub fn update(&mut self, pos: u64, message: impl FnOnce() -> String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message());
            bar.set_position(pos);
        } else if let Some(l) = &mut self.lines {
            let now = Instant::now();
            if now.duration_since(l.last) >= l.interval && pos < self.len {
                l.last = now;
                let elapsed = now.duration_since(l.start).as_secs_f64();
                let eta = if pos > 0 {
                    format!(
                        ", ETA {:.0} s",
                        elapsed * (self.len - pos) as f64 / pos as f64
                    )
                } else {
                    String::new()
                };
                eprintln!(
                    "progress: {pos}/{} {} ({:.0} %), {}, {elapsed:.0} s elapsed{eta}",
                    self.len,
                    self.unit,
                    100.0 * pos as f64 / self.len.max(1) as f64,
                    message()
                );
            }
        }
    }

    /// Prints `f`'s output without garbling the bar.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar (also called on drop, so an error clears it too).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
