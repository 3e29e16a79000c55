//! Progress on stderr: a bar on a terminal, plain lines at a modest cadence otherwise (batch
//! logs such as a Slurm job's), nothing when not wanted.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
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
        } else if let Some(line) = self.next_line(pos, message) {
            // A closed stderr (`2>&1 | head`) must not stop the run.
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    /// The plain progress line for `pos` steps done, if one is due (at most one per interval,
    /// none at the end: the summary follows).
    fn next_line(&mut self, pos: u64, message: impl FnOnce() -> String) -> Option<String> {
        let l = self.lines.as_mut()?;
        let now = Instant::now();
        if now.duration_since(l.last) < l.interval || pos >= self.len {
            return None;
        }
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
        Some(format!(
            "progress: {pos}/{} {} ({:.0} %), {}, {elapsed:.0} s elapsed{eta}",
            self.len,
            self.unit,
            100.0 * pos as f64 / self.len.max(1) as f64,
            message()
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_name_position_state_and_eta() {
        let mut p = Progress::new(4, "frames", ProgressMode::Lines);
        // Nothing before the interval has passed.
        assert!(p.next_line(1, || "t = 1 s".into()).is_none());
        p.lines.as_mut().unwrap().interval = Duration::ZERO;
        let line = p.next_line(1, || "t = 1 s".into()).unwrap();
        assert!(
            line.starts_with("progress: 1/4 frames (25 %), t = 1 s, "),
            "{line}"
        );
        assert!(line.contains("ETA"), "{line}");
        // None at the end (the summary follows), none when off.
        assert!(p.next_line(4, || "t = 4 s".into()).is_none());
        let mut off = Progress::new(4, "frames", ProgressMode::Off);
        assert!(off.next_line(1, String::new).is_none());
    }
}
