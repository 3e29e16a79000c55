//! Checkpoints of single runs: a run killed or interrupted continues with `--resume` and
//! writes a file bitwise identical to an uninterrupted run.
//!
//! Next to the output `DIR/OUT.h5` a checkpointing run keeps two hidden files:
//!
//! - `DIR/.OUT.h5.journal`: every frame the output observer appended (series, step, time,
//!   values), appended as the run goes (what a resumed run replays into its new file); the
//!   particle output leaves out the run's last frame, which no checkpoint can follow;
//! - `DIR/.OUT.h5.checkpoint`: written atomically at each checkpoint: the program version and
//!   git commit, the scenario (text, effective text, overrides, path), the frame index reached,
//!   the journal length at that frame, and the solver's state (saved by the solver itself,
//!   [`buffycoat_stepper::Checkpoint`]).
//!
//! A checkpoint is written by an observer after the output of a frame, at the cadence of
//! [`CheckpointEvery`] (wall-clock or frames), and when a run is cancelled. On resume the
//! system is built from the set-up as usual, its state restored, the journal replayed into a
//! fresh output up to the checkpoint's length (and cut there), and the run continues at the
//! next frame; since the HDF5 writer receives exactly the same calls, the finished file is
//! byte for byte the uninterrupted one. Both files are removed when the run finishes.

use crate::error::RunError;
use crate::observe::{RunOptions, run_observed};
use crate::provenance::Provenance;
use buffycoat_h5::{SeriesId, Writer};
use buffycoat_stepper::{
    Checkpoint, Frame, Parallel, Propagate, RunReport, Schedule, StateReader, StateWriter,
};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Format version of the checkpoint file.
const FORMAT: u64 = 1;
/// Default wall-clock interval between checkpoints (s).
pub const DEFAULT_CHECKPOINT_INTERVAL_S: f64 = 60.0;

/// How often a checkpoint is written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CheckpointEvery {
    /// after the first frame at least this much wall-clock time after the last checkpoint
    Wall(Duration),
    /// every n-th frame (n ≥ 1)
    Frames(usize),
}

/// Checkpointing of a run with an HDF5 output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checkpointing {
    /// cadence of periodic checkpoints
    pub every: CheckpointEvery,
    /// continue from the output's checkpoint if there is one
    pub resume: bool,
}

impl Default for Checkpointing {
    /// Every 60 s of wall-clock time, not resuming.
    fn default() -> Self {
        Self {
            every: CheckpointEvery::Wall(Duration::from_secs_f64(DEFAULT_CHECKPOINT_INTERVAL_S)),
            resume: false,
        }
    }
}

fn hidden(output: &Path, suffix: &str) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    buffycoat_h5::atomic::directory_of(output).join(format!(".{name}.{suffix}"))
}

/// The checkpoint file of `output`.
pub fn checkpoint_path(output: &Path) -> PathBuf {
    hidden(output, "checkpoint")
}

/// The journal file of `output`.
pub fn journal_path(output: &Path) -> PathBuf {
    hidden(output, "journal")
}

/// What a checkpoint says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointInfo {
    /// the checkpoint file
    pub path: PathBuf,
    /// frame index reached
    pub frame: u64,
    /// simulated time reached (s)
    pub time: f64,
}

/// The checkpoint of an interrupted run of `output`, if there is a readable one.
pub fn find_checkpoint(output: &Path) -> Option<CheckpointInfo> {
    let path = checkpoint_path(output);
    let bytes = std::fs::read(&path).ok()?;
    let head = Header::read(&mut StateReader::new(&bytes)).ok()?;
    Some(CheckpointInfo {
        path,
        frame: head.frame,
        time: head.time,
    })
}

/// Removes the hidden temporary files that runs killed before finishing left next to
/// `output` (`.OUT.partial-PID` of the HDF5 writer, `.OUT.partial-PID-XXXXXX` of an atomic
/// write such as a JSON summary, `.OUT.checkpoint.tmp-PID`, whose process no longer exists)
/// and returns their paths, so the caller can say so. Files of live processes are kept.
pub fn remove_stale_partials(output: &Path) -> Vec<PathBuf> {
    let Some(name) = output.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let dir = buffycoat_h5::atomic::directory_of(output);
    let prefixes = [
        format!(".{name}.partial-"),
        format!(".{name}.checkpoint.tmp-"),
    ];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    names.sort();
    let mut removed = Vec::new();
    for (file, path) in names {
        let Some(pid) = prefixes
            .iter()
            .find_map(|p| file.strip_prefix(p.as_str()))
            .and_then(|s| {
                // `PID` or `PID-XXXXXX`
                let digits = s.split_once('-').map_or(s, |(pid, _)| pid);
                digits.parse::<u32>().ok()
            })
        else {
            continue;
        };
        if !process_alive(pid) && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// Whether process `pid` exists and has not ended (Linux: `/proc/PID`, a zombie — ended but
/// not yet reaped by its parent — counts as ended; elsewhere every process counts as alive,
/// so nothing is removed). Our own process is never alive here: our files are never stale,
/// and at start we have created none.
pub fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // `PID (COMMAND) STATE …`: the state follows the last parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The identity of a run: resume only what the same program started on the same input.
#[derive(Debug, Clone, PartialEq)]
struct Identity {
    version: String,
    git_commit: String,
    input: Vec<String>,
}

impl Identity {
    fn of(p: &Provenance) -> Self {
        let mut input = vec![
            p.scenario_path.display().to_string(),
            p.text.clone(),
            p.effective_text.clone(),
        ];
        input.extend(p.overrides.iter().cloned());
        Self {
            version: p.program.version.to_string(),
            git_commit: p.program.git_commit.to_string(),
            input,
        }
    }
}

struct Header {
    identity: Identity,
    frame: u64,
    time: f64,
    journal_len: u64,
}

fn text(r: &mut StateReader<'_>) -> Result<String, buffycoat_stepper::StateError> {
    Ok(String::from_utf8_lossy(r.u8s()?).into_owned())
}

impl Header {
    fn write(&self, w: &mut StateWriter) {
        w.tag("buffycoat-checkpoint");
        w.u64(FORMAT);
        w.u8s(self.identity.version.as_bytes());
        w.u8s(self.identity.git_commit.as_bytes());
        w.u64(self.identity.input.len() as u64);
        for s in &self.identity.input {
            w.u8s(s.as_bytes());
        }
        w.u64(self.frame);
        w.f64(self.time);
        w.u64(self.journal_len);
    }

    fn read(r: &mut StateReader<'_>) -> Result<Self, buffycoat_stepper::StateError> {
        r.tag("buffycoat-checkpoint")?;
        let format = r.u64()?;
        if format != FORMAT {
            return Err(buffycoat_stepper::StateError(format!(
                "checkpoint format {format}, this program reads {FORMAT}"
            )));
        }
        let version = text(r)?;
        let git_commit = text(r)?;
        let n = r.u64()?;
        let mut input = Vec::new();
        for _ in 0..n.min(1 << 20) {
            input.push(text(r)?);
        }
        Ok(Self {
            identity: Identity {
                version,
                git_commit,
                input,
            },
            frame: r.u64()?,
            time: r.f64()?,
            journal_len: r.u64()?,
        })
    }
}

/// The checkpoint observer of one run: records the output's frames in the journal and writes
/// checkpoints at its cadence.
pub(crate) struct Checkpointer {
    state_path: PathBuf,
    tmp_path: PathBuf,
    journal_path: PathBuf,
    /// the journal of the frames written (`None`: the run writes its output at the end, and
    /// its state holds everything until then)
    journal: Option<BufWriter<File>>,
    journal_len: u64,
    ids: Vec<SeriesId>,
    identity: Identity,
    every: CheckpointEvery,
    last: Instant,
    /// frame of the checkpoint on disk (or restored from)
    saved_frame: Option<usize>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RunError + '_ {
    move |source| RunError::Checkpoint {
        path: path.to_path_buf(),
        message: source.to_string(),
    }
}

impl Checkpointer {
    /// Starts checkpointing the run writing `output`, whose frames go through `journal`'s
    /// writer as its time series (in a fixed order; `None`: the output is written at the end
    /// from the state, and there is no journal). With `resume` and a checkpoint on disk,
    /// restores `system`, replays the journal into the writer and returns the frame to
    /// continue from; otherwise starts a new journal and returns 0.
    pub(crate) fn start<S: Checkpoint>(
        output: &Path,
        provenance: &Provenance,
        opts: &Checkpointing,
        journal: Option<(&Writer, Vec<SeriesId>)>,
        system: &mut S,
    ) -> Result<(Self, usize), RunError> {
        let (writer, ids) = match journal {
            Some((w, ids)) => (Some(w), ids),
            None => (None, Vec::new()),
        };
        let state_path = checkpoint_path(output);
        let journal_path = journal_path(output);
        let identity = Identity::of(provenance);
        let mut frame = 0usize;
        let mut journal_len = 0u64;
        if opts.resume && state_path.exists() {
            let bytes = std::fs::read(&state_path).map_err(io_err(&state_path))?;
            let mut r = StateReader::new(&bytes);
            let bad = |message: String| RunError::Checkpoint {
                path: state_path.clone(),
                message,
            };
            let head = Header::read(&mut r).map_err(|e| bad(e.0))?;
            let (a, b) = (&head.identity, &identity);
            if (&a.version, &a.git_commit) != (&b.version, &b.git_commit) {
                return Err(bad(format!(
                    "written by buffycoat {} (commit {}), this is buffycoat {} (commit {}): resume with the program that started the run, or start over with --force",
                    a.version, a.git_commit, b.version, b.git_commit
                )));
            }
            if a.input != b.input {
                return Err(bad(
                    "the checkpoint is of another input (scenario path, text or --set overrides differ): resume with the same command, or start over with --force".into(),
                ));
            }
            system
                .restore_state(&mut r)
                .map_err(|e| bad(e.to_string()))?;
            if !r.finished() {
                return Err(bad("trailing bytes after the solver state".into()));
            }
            match writer {
                Some(writer) => replay(&journal_path, head.journal_len, writer, &ids)?,
                None if head.journal_len > 0 => {
                    return Err(bad(
                        "the checkpoint has a journal, this run writes none".into()
                    ));
                }
                None => {}
            }
            frame = usize::try_from(head.frame).map_err(|_| bad("frame out of range".into()))?;
            journal_len = head.journal_len;
        }
        let journal = match writer {
            Some(_) => {
                let file = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(false)
                    .open(&journal_path)
                    .map_err(io_err(&journal_path))?;
                file.set_len(journal_len).map_err(io_err(&journal_path))?;
                let mut journal = BufWriter::with_capacity(1 << 20, file);
                journal
                    .seek(SeekFrom::Start(journal_len))
                    .map_err(io_err(&journal_path))?;
                Some(journal)
            }
            None => None,
        };
        if frame == 0 {
            // A new run: an old checkpoint no longer matches the journal.
            match std::fs::remove_file(&state_path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&state_path)(e)),
            }
        }
        Ok((
            Self {
                state_path,
                tmp_path: hidden(output, &format!("checkpoint.tmp-{}", std::process::id())),
                journal_path,
                journal,
                journal_len,
                ids,
                identity,
                every: opts.every,
                last: Instant::now(),
                saved_frame: (frame > 0).then_some(frame),
            },
            frame,
        ))
    }

    /// Records one appended frame of series `id` in the journal.
    pub(crate) fn record(
        &mut self,
        id: SeriesId,
        step: i64,
        time: f64,
        data: &[f64],
    ) -> Result<(), RunError> {
        let slot = self
            .ids
            .iter()
            .position(|&i| i == id)
            .expect("every series of the output is registered") as u64;
        let mut head = [0u8; 32];
        head[0..8].copy_from_slice(&slot.to_le_bytes());
        head[8..16].copy_from_slice(&step.to_le_bytes());
        head[16..24].copy_from_slice(&time.to_bits().to_le_bytes());
        head[24..32].copy_from_slice(&(data.len() as u64).to_le_bytes());
        let err = io_err(&self.journal_path);
        let journal = self
            .journal
            .as_mut()
            .expect("only runs with a journal record frames");
        journal.write_all(&head).map_err(&err)?;
        // Little-endian bytes, converted a block at a time (one `write_all` per value would
        // cost more than the copy into the page cache for a frame of 10⁶ cells).
        let mut bytes = [0u8; 8 * 1024];
        for block in data.chunks(1024) {
            for (b, x) in bytes.chunks_exact_mut(8).zip(block) {
                b.copy_from_slice(&x.to_le_bytes());
            }
            journal.write_all(&bytes[..8 * block.len()]).map_err(&err)?;
        }
        self.journal_len += 32 + 8 * data.len() as u64;
        Ok(())
    }

    /// The periodic checkpoint, after frame `index` was written (none at the last frame: the
    /// run is about to finish).
    pub(crate) fn after_frame<S: Checkpoint>(
        &mut self,
        index: usize,
        time: f64,
        last: bool,
        system: &S,
    ) -> Result<(), RunError> {
        if last || index == 0 {
            return Ok(());
        }
        let due = match self.every {
            CheckpointEvery::Wall(d) => self.last.elapsed() >= d,
            CheckpointEvery::Frames(n) => index.is_multiple_of(n.max(1)),
        };
        if due {
            self.save(index, time, system)?;
        }
        Ok(())
    }

    /// Writes a checkpoint of `system` at frame `index` (the journal is synced first, then the
    /// checkpoint file is replaced atomically) and returns its path.
    pub(crate) fn save<S: Checkpoint>(
        &mut self,
        index: usize,
        time: f64,
        system: &S,
    ) -> Result<PathBuf, RunError> {
        if self.saved_frame == Some(index) {
            return Ok(self.state_path.clone());
        }
        if let Some(journal) = self.journal.as_mut() {
            let err = io_err(&self.journal_path);
            journal.flush().map_err(&err)?;
            journal.get_ref().sync_data().map_err(&err)?;
        }
        let mut w = StateWriter::new();
        Header {
            identity: self.identity.clone(),
            frame: index as u64,
            time,
            journal_len: self.journal_len,
        }
        .write(&mut w);
        system.save_state(&mut w);
        let bytes = w.into_bytes();
        let tmp = &self.tmp_path;
        let werr = io_err(&self.state_path);
        let result = (|| {
            let mut f = File::create(tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(tmp, &self.state_path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(tmp);
            return Err(werr(e));
        }
        self.saved_frame = Some(index);
        self.last = Instant::now();
        Ok(self.state_path.clone())
    }

    /// The run finished and its output is in place: removes the checkpoint and the journal.
    pub(crate) fn remove(self) {
        let journal = self.journal.is_some();
        drop(self.journal);
        let _ = std::fs::remove_file(&self.state_path);
        if journal {
            let _ = std::fs::remove_file(&self.journal_path);
        }
    }
}

/// What a checkpointed run writes while it runs: an output observer that journals its frames
/// through a [`Checkpointer`] it holds.
pub(crate) trait CheckpointedOutput<S> {
    /// The writer and its time series in a fixed order (the journal's slots); `None` for runs
    /// that write their output at the end from the state (channel, procedure).
    fn journal(&self) -> Option<(&Writer, Vec<SeriesId>)>;
    /// Where the output keeps its checkpointer (its appends are recorded there).
    fn checkpointer(&mut self) -> &mut Option<Checkpointer>;
    /// Writes one frame.
    fn observe(&mut self, frame: &Frame<'_, S>) -> Result<(), RunError>;
}

/// The checkpointing of a run that writes nothing until it ends (a transient channel, a
/// procedure): the state holds every result so far.
#[derive(Default)]
pub(crate) struct StateOnly(Option<Checkpointer>);

impl StateOnly {
    /// Removes the checkpoint of the finished run (after its output is in place).
    pub(crate) fn remove(self) {
        if let Some(c) = self.0 {
            c.remove();
        }
    }
}

impl<S> CheckpointedOutput<S> for StateOnly {
    fn journal(&self) -> Option<(&Writer, Vec<SeriesId>)> {
        None
    }
    fn checkpointer(&mut self) -> &mut Option<Checkpointer> {
        &mut self.0
    }
    fn observe(&mut self, _frame: &Frame<'_, S>) -> Result<(), RunError> {
        Ok(())
    }
}

/// Runs `system` through `schedule` with checkpoints, the one sequence of every model runner:
/// with an output and [`RunOptions::checkpoint`], starts the checkpointer (restoring `system`
/// and replaying the journal on `--resume`), runs the observed loop from the frame reached
/// (each frame: `output` writes, then the periodic checkpoint), and if the run is cancelled
/// writes a checkpoint of the state reached and returns [`RunError::Interrupted`] (the caller
/// then drops its output, which removes the partial file).
pub(crate) fn run_checkpointed<S, O>(
    schedule: Schedule,
    system: &mut S,
    par: &Parallel,
    provenance: &Provenance,
    opts: &RunOptions,
    output: &mut Option<O>,
) -> Result<RunReport, RunError>
where
    S: Propagate + Checkpoint,
    RunError: From<S::Error>,
    O: CheckpointedOutput<S>,
{
    let mut start_frame = 0;
    if let (Some(o), Some(path), Some(c)) = (output.as_mut(), &opts.output, &opts.checkpoint) {
        let (ckpt, frame) = Checkpointer::start(path, provenance, c, o.journal(), system)?;
        *o.checkpointer() = Some(ckpt);
        start_frame = frame;
    }
    let report = run_observed(
        schedule,
        system,
        par,
        |f: &Frame<'_, S>| match output.as_mut() {
            Some(o) => {
                o.observe(f)?;
                match o.checkpointer() {
                    Some(c) => c.after_frame(f.index, f.time, f.last, f.state),
                    None => Ok(()),
                }
            }
            None => Ok(()),
        },
        opts.progress,
        opts.cancel.as_ref(),
        start_frame,
    )?;
    if report.cancelled {
        // Checkpoint the state reached.
        let checkpoint = match output.as_mut().and_then(|o| o.checkpointer().as_mut()) {
            Some(c) => Some(c.save(report.reached, report.time, system)?),
            None => None,
        };
        return Err(RunError::Interrupted {
            time: report.time,
            checkpoint,
        });
    }
    Ok(report)
}

/// Replays the first `len` bytes of the journal into `writer`.
fn replay(path: &Path, len: u64, writer: &Writer, ids: &[SeriesId]) -> Result<(), RunError> {
    let err = io_err(path);
    let file = File::open(path).map_err(&err)?;
    let actual = file.metadata().map_err(&err)?.len();
    if actual < len {
        return Err(RunError::Checkpoint {
            path: path.to_path_buf(),
            message: format!("the journal has {actual} bytes, the checkpoint needs {len}"),
        });
    }
    let mut r = BufReader::with_capacity(1 << 20, file.take(len));
    let mut done = 0u64;
    let mut head = [0u8; 32];
    while done < len {
        r.read_exact(&mut head).map_err(&err)?;
        let word = |k: usize| u64::from_le_bytes(head[8 * k..8 * k + 8].try_into().expect("8"));
        let slot = word(0) as usize;
        let step = word(1) as i64;
        let time = f64::from_bits(word(2));
        let n = word(3);
        let id = *ids.get(slot).ok_or_else(|| RunError::Checkpoint {
            path: path.to_path_buf(),
            message: format!(
                "the journal names series {slot}, the output has {}",
                ids.len()
            ),
        })?;
        if 32 + 8 * n > len - done {
            return Err(RunError::Checkpoint {
                path: path.to_path_buf(),
                message: "the journal is truncated".into(),
            });
        }
        let mut buf = writer.take_buffer_f64(n as usize);
        let mut b = [0u8; 8];
        for x in buf.iter_mut() {
            r.read_exact(&mut b).map_err(&err)?;
            *x = f64::from_le_bytes(b);
        }
        writer.append(id, step, time, buf)?;
        done += 32 + 8 * n;
    }
    Ok(())
}
