//! Checkpoints of single runs: a run killed or interrupted continues with `--resume` and
//! writes a file bitwise identical to an uninterrupted run.
//!
//! Next to the output `DIR/OUT.h5` a checkpointing run keeps two hidden files:
//!
//! - `DIR/.OUT.h5.journal`: every frame the output observer appended (series, step, time,
//!   values), what a resumed run replays into its new file; recorded by the writer thread after
//!   it wrote the frame, held in memory (up to 256 MiB) and written to the file before each
//!   checkpoint, so a run that ends before its first checkpoint writes none; the particle
//!   output leaves out the run's last frame, which no checkpoint can follow;
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
use buffycoat_h5::{FrameSink, SeriesId, Writer};
use buffycoat_stepper::{
    Checkpoint, Frame, Parallel, Propagate, RunReport, Schedule, StateReader, StateWriter,
};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
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

/// Journal records waiting in memory above this many bytes go to the journal file at once (on
/// the writer thread); below it they wait for the next checkpoint. A run that ends before its
/// first checkpoint (every run shorter than the checkpoint interval) then writes no journal at
/// all: at 10⁶ particles one frame is 48 MB that would be written and deleted again, which cost
/// about a tenth of such a run.
const JOURNAL_MEMORY_BYTES: usize = 256 << 20;

/// The journal of one run: the frames handed to the output writer, recorded by the writer
/// thread after it wrote them (through [`JournalTicket`]s), kept in memory up to
/// [`JOURNAL_MEMORY_BYTES`] and written to the journal file before each checkpoint.
#[derive(Debug)]
struct Journal {
    path: PathBuf,
    /// the output's time series in slot order
    ids: Vec<SeriesId>,
    state: Mutex<JournalState>,
    /// signalled whenever a ticket settles
    settled: Condvar,
}

#[derive(Debug, Default)]
struct JournalState {
    /// the journal file once it exists (a resumed run reopens the old one)
    file: Option<BufWriter<File>>,
    /// bytes in the file (written or in its buffer)
    file_len: u64,
    /// encoded records not yet in the file, in append order
    pending: Vec<Vec<u8>>,
    pending_len: u64,
    /// tickets handed out / settled (recorded or dropped)
    sent: u64,
    settled: u64,
    /// a frame handed to the writer never reached the journal (the output failed)
    lost: bool,
    /// the first I/O error on the journal file
    error: Option<String>,
}

impl Journal {
    fn lock(&self) -> MutexGuard<'_, JournalState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the pending records into the journal file (created on first use).
    fn write_pending(&self, st: &mut JournalState) -> std::io::Result<()> {
        if st.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&self.path)?;
            st.file = Some(BufWriter::with_capacity(1 << 20, file));
        }
        let JournalState {
            file,
            pending,
            file_len,
            pending_len,
            ..
        } = st;
        let file = file.as_mut().expect("created above");
        for record in pending.drain(..) {
            file.write_all(&record)?;
        }
        *file_len += *pending_len;
        *pending_len = 0;
        Ok(())
    }

    /// Waits until every ticket handed out has settled, then moves the pending records to
    /// the file and syncs it; returns the journal's length.
    fn sync(&self) -> Result<u64, RunError> {
        let mut st = self.lock();
        while st.settled < st.sent {
            st = self
                .settled
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let fail = |message: String| RunError::Checkpoint {
            path: self.path.clone(),
            message,
        };
        if st.lost {
            return Err(fail(
                "a frame of the output was not written, so no checkpoint can be taken".into(),
            ));
        }
        if let Some(e) = &st.error {
            return Err(fail(e.clone()));
        }
        let result = self.write_pending(&mut st).and_then(|()| {
            let file = st.file.as_mut().expect("write_pending creates the file");
            file.flush()?;
            file.get_ref().sync_data()
        });
        result.map_err(|e| fail(e.to_string()))?;
        Ok(st.file_len)
    }
}

/// One frame on its way to the journal: handed to the writer with the frame, it records the
/// frame once the writer thread has written it (so the producing thread copies nothing), and
/// settles when dropped, recorded or not, so that [`Journal::sync`] never waits for a frame
/// that a failed writer discarded.
#[derive(Debug)]
struct JournalTicket {
    journal: Arc<Journal>,
    recorded: bool,
}

impl FrameSink for JournalTicket {
    fn frame(&mut self, series: SeriesId, step: i64, time: f64, data: &[f64]) {
        let slot = self
            .journal
            .ids
            .iter()
            .position(|&i| i == series)
            .expect("every series of the output is registered") as u64;
        let mut record = vec![0u8; 32 + 8 * data.len()];
        let (head, values) = record.split_at_mut(32);
        head[0..8].copy_from_slice(&slot.to_le_bytes());
        head[8..16].copy_from_slice(&step.to_le_bytes());
        head[16..24].copy_from_slice(&time.to_bits().to_le_bytes());
        head[24..32].copy_from_slice(&(data.len() as u64).to_le_bytes());
        for (b, x) in values.chunks_exact_mut(8).zip(data) {
            b.copy_from_slice(&x.to_le_bytes());
        }
        let mut st = self.journal.lock();
        st.pending_len += record.len() as u64;
        st.pending.push(record);
        if st.pending_len > JOURNAL_MEMORY_BYTES as u64
            && st.error.is_none()
            && let Err(e) = self.journal.write_pending(&mut st)
        {
            st.error = Some(e.to_string());
        }
        self.recorded = true;
    }
}

impl Drop for JournalTicket {
    fn drop(&mut self) {
        let mut st = self.journal.lock();
        st.settled += 1;
        st.lost |= !self.recorded;
        drop(st);
        self.journal.settled.notify_all();
    }
}

/// The checkpoint observer of one run: journals the output's frames and writes checkpoints at
/// its cadence.
pub(crate) struct Checkpointer {
    state_path: PathBuf,
    tmp_path: PathBuf,
    /// the journal of the frames written (`None`: the run writes its output at the end, and
    /// its state holds everything until then)
    journal: Option<Arc<Journal>>,
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
    /// continue from; otherwise starts a new journal (in memory until the first checkpoint)
    /// and returns 0.
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
                let mut st = JournalState::default();
                if frame > 0 {
                    // Resumed: continue the old journal after the checkpoint's records.
                    let file = OpenOptions::new()
                        .write(true)
                        .open(&journal_path)
                        .map_err(io_err(&journal_path))?;
                    file.set_len(journal_len).map_err(io_err(&journal_path))?;
                    let mut file = BufWriter::with_capacity(1 << 20, file);
                    file.seek(SeekFrom::Start(journal_len))
                        .map_err(io_err(&journal_path))?;
                    st.file = Some(file);
                    st.file_len = journal_len;
                } else {
                    // A new run: an old journal is of another run.
                    remove_if_present(&journal_path)?;
                }
                Some(Arc::new(Journal {
                    path: journal_path,
                    ids,
                    state: Mutex::new(st),
                    settled: Condvar::new(),
                }))
            }
            None => None,
        };
        if frame == 0 {
            // A new run: an old checkpoint no longer matches the journal.
            remove_if_present(&state_path)?;
        }
        Ok((
            Self {
                state_path,
                tmp_path: hidden(output, &format!("checkpoint.tmp-{}", std::process::id())),
                journal,
                identity,
                every: opts.every,
                last: Instant::now(),
                saved_frame: (frame > 0).then_some(frame),
            },
            frame,
        ))
    }

    /// Appends one frame of series `id` to `writer` and to the journal (the writer thread
    /// records it after writing it).
    pub(crate) fn append(
        &mut self,
        writer: &Writer,
        id: SeriesId,
        step: i64,
        time: f64,
        data: Vec<f64>,
    ) -> Result<(), RunError> {
        let journal = self
            .journal
            .as_ref()
            .expect("only runs with a journal append frames");
        journal.lock().sent += 1;
        let ticket = JournalTicket {
            journal: Arc::clone(journal),
            recorded: false,
        };
        writer.append_to_sink(id, step, time, data, Box::new(ticket))?;
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

    /// Writes a checkpoint of `system` at frame `index` (the journal is completed and synced
    /// first, then the checkpoint file is replaced atomically) and returns its path.
    pub(crate) fn save<S: Checkpoint>(
        &mut self,
        index: usize,
        time: f64,
        system: &S,
    ) -> Result<PathBuf, RunError> {
        if self.saved_frame == Some(index) {
            return Ok(self.state_path.clone());
        }
        let journal_len = match &self.journal {
            Some(journal) => journal.sync()?,
            None => 0,
        };
        let mut w = StateWriter::new();
        Header {
            identity: self.identity.clone(),
            frame: index as u64,
            time,
            journal_len,
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

    /// The run finished and its output is in place: removes the checkpoint and the journal
    /// (if it ever reached the disk).
    pub(crate) fn remove(self) {
        let _ = std::fs::remove_file(&self.state_path);
        if let Some(journal) = self.journal {
            let on_disk = journal.lock().file.take().is_some();
            if on_disk {
                let _ = std::fs::remove_file(&journal.path);
            }
        }
    }
}

/// Removes `path`; a missing file is fine.
fn remove_if_present(path: &Path) -> Result<(), RunError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A system whose state is one number.
    struct Counter(u64);

    impl Checkpoint for Counter {
        fn save_state(&self, out: &mut StateWriter) {
            out.u64(self.0);
        }
        fn restore_state(
            &mut self,
            input: &mut StateReader<'_>,
        ) -> Result<(), buffycoat_stepper::StateError> {
            self.0 = input.u64()?;
            Ok(())
        }
    }

    /// The journal stays in memory until a checkpoint needs it (a run shorter than the
    /// checkpoint interval writes none), is complete on disk at each checkpoint (every frame
    /// handed to the writer before it, recorded by the writer thread), replays to the same
    /// frames on resume, and is removed with the checkpoint when the run finishes.
    #[test]
    fn the_journal_reaches_the_disk_only_for_a_checkpoint_and_replays_its_frames() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run.h5");
        let provenance = Provenance::from_code("journal test");
        let opts = Checkpointing {
            every: CheckpointEvery::Frames(1000),
            resume: false,
        };
        let frame = |k: usize| -> Vec<f64> { (0..1000).map(|i| (i * 7 + k) as f64).collect() };

        let writer = Writer::create(&out).unwrap();
        let series = writer.time_series("/s", &[1000], None, "s").unwrap();
        let mut system = Counter(0);
        let (mut ckpt, start) = Checkpointer::start(
            &out,
            &provenance,
            &opts,
            Some((&writer, vec![series])),
            &mut system,
        )
        .unwrap();
        assert_eq!(start, 0);
        for k in 0..3 {
            ckpt.append(&writer, series, k as i64, k as f64, frame(k))
                .unwrap();
        }
        writer.flush().unwrap();
        assert!(
            !journal_path(&out).exists(),
            "no checkpoint yet, so no journal file"
        );
        system.0 = 3;
        ckpt.save(3, 3.0, &system).unwrap();
        assert!(journal_path(&out).exists() && checkpoint_path(&out).exists());
        assert_eq!(
            std::fs::metadata(journal_path(&out)).unwrap().len(),
            3 * (32 + 8 * 1000)
        );
        // A frame after the checkpoint is not in the checkpoint's journal length.
        ckpt.append(&writer, series, 3, 3.0, frame(3)).unwrap();
        drop(ckpt);
        drop(writer);

        // Resume: the state and the three journalled frames come back.
        let writer = Writer::create(&out).unwrap();
        let series = writer.time_series("/s", &[1000], None, "s").unwrap();
        let mut restored = Counter(0);
        let resume = Checkpointing {
            resume: true,
            ..opts
        };
        let (ckpt, start) = Checkpointer::start(
            &out,
            &provenance,
            &resume,
            Some((&writer, vec![series])),
            &mut restored,
        )
        .unwrap();
        assert_eq!((start, restored.0), (3, 3));
        writer.finish().unwrap();
        let file = buffycoat_h5::Reader::open(&out).unwrap();
        let (values, shape) = file.read_f64("/s/value").unwrap();
        let expected: Vec<f64> = (0..3).flat_map(frame).collect();
        assert_eq!((values, shape), (expected, vec![3, 1000]));
        ckpt.remove();
        assert!(!journal_path(&out).exists() && !checkpoint_path(&out).exists());
    }
}
