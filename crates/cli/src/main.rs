//! The `buffycoat` command-line program.

use anyhow::{Context, Result};
use buffycoat::input::{self, library};
use buffycoat_engine::{ProgressMode, RunOptions};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod alloc;

#[global_allocator]
static ALLOCATOR: alloc::HugePageAlloc = alloc::HugePageAlloc;

// Printing that survives a closed pipe (`buffycoat … | head`): what the program prints is a
// courtesy, its files are the result. A failed write to stdout or stderr (a broken pipe) is
// ignored, where `println!` would panic, and the command finishes normally.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! err {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($t)*);
    }};
}
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// Centrifugal separation physics for leukapheresis: cells of known density and size under
/// rotating-frame forces, hindered settling, the continuous-flow channel and procedures;
/// outputs in HDF5 (H5MD).
#[derive(Debug, Parser)]
#[command(
    name = "buffycoat",
    version,
    about = "Centrifugal separation physics for leukapheresis: run scenario files (particles, hindered settling, the continuous-flow channel, procedures), sweep and merge parameter grids, plot the HDF5 outputs.",
    long_about = None,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario: writes an HDF5 (H5MD) file and prints a summary.
    ///
    /// Without -o the file is <scenario name>.h5 in the current directory (an existing file is
    /// an error unless --force); --no-output writes no HDF5 at all (only the summary). A second
    /// run on the same output is refused while the first runs. SIGINT, SIGTERM or SIGHUP stop
    /// the run at its next safe point with a checkpoint; exit status 130, 143 or 129 (128 + the
    /// signal).
    Run {
        /// Scenario file (TOML), e.g. data/scenarios/default.toml.
        scenario: PathBuf,
        /// HDF5 output file [default: <scenario name>.h5 in the current directory].
        #[arg(short, long, value_name = "OUT.h5")]
        output: Option<PathBuf>,
        /// Write no HDF5 file (the summary is still printed, and written with --summary).
        #[arg(long, conflicts_with = "output")]
        no_output: bool,
        /// Also write the summary as JSON to this file.
        #[arg(long, value_name = "SUMMARY.json")]
        summary: Option<PathBuf>,
        /// Override a scenario key by dotted path, e.g. --set rotor.rpm=2400 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Worker threads [default: all cores]. Results do not depend on it.
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// No progress (a bar on a terminal, otherwise a plain line every 10 s).
        #[arg(short, long)]
        quiet: bool,
        /// Replace an existing output or summary file (without it, run refuses to overwrite),
        /// or start over instead of continuing an interrupted run's checkpoint.
        #[arg(short, long)]
        force: bool,
        /// Continue an interrupted run of the same scenario and output from its checkpoint
        /// (particle, hindered, transient channel and procedure runs; the result is bitwise
        /// that of an uninterrupted run).
        /// Without a checkpoint the run starts from the beginning.
        #[arg(long, conflicts_with = "force")]
        resume: bool,
    },
    /// Run the built-in validation cases against analytic solutions; fails if any case fails.
    Validate,
    /// List the cell species library with sources.
    Species {
        /// Show the full source citations.
        #[arg(long)]
        sources: bool,
    },
    /// Draw PNG and SVG plots of an output file (run, hindered run, channel, sweep, procedure).
    Plot {
        /// An HDF5 file written by buffycoat (run, sweep or merge).
        file: PathBuf,
        /// Directory for the plots [default: <file name>_plots next to the file].
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Sweeps: plot only these metrics (repeatable), e.g. --metric collection_efficiency.lymphocyte.
        #[arg(long = "metric", value_name = "NAME")]
        metrics: Vec<String>,
        /// Sweeps: outline the operating window where all conditions hold, e.g.
        /// "collection_efficiency.lymphocyte>=0.5,ports.collect.hematocrit<=0.05".
        #[arg(long, value_name = "CONDITIONS")]
        window: Option<String>,
    },
    /// Run a scenario over a grid of parameter values (in parallel, resumable, shardable).
    #[command(long_about = SWEEP_ABOUT)]
    Sweep(SweepArgs),
    /// Combine the shard files of a sweep (`sweep --shard I/N`) into one sweep file.
    #[command(long_about = MERGE_ABOUT)]
    Merge(MergeArgs),
}

const SWEEP_ABOUT: &str = "\
Run a scenario over a grid of parameter values.

Each --vary KEY=SPEC names a numeric scenario key by dotted path (as --set does) and its values:
  start:stop:count        inclusive, equally spaced      rotor.rpm=1000:3000:5
  start:stop:count:log    inclusive, geometric           run.duration_s=1:100:3:log
  a,b,c                   a list                          species.0.count=100,1000
Several --vary form the full grid. Points are numbered row-major, the LAST --vary varying
fastest. Point p is exactly `buffycoat run SCENARIO --set KEY=value ... --set run.seed=S` with
S derived from the scenario seed and p (stored in /sweep/seed). Points run in parallel, one
thread each; results do not depend on --threads.

A failing point is recorded (status 1 and its message) and the sweep goes on. The output is
rewritten whole and atomically at least every second, so it is always a complete file: after
Ctrl-C, SIGTERM or a crash, run the same command with --resume to run only the missing points.
--shard I/N runs the points with p mod N = I; `buffycoat merge` combines the shard files.

Exit status: 0 all points ok; 1 error; 3 some points failed; 130 (SIGINT), 143 (SIGTERM) or
129 (SIGHUP) interrupted (resumable).";

const MERGE_ABOUT: &str = "\
Combine the shard files of a sweep (`buffycoat sweep ... --shard I/N`) into one sweep file.

The parts must come from the same scenario text and grid, and every point must have been run
(ok or failed) in exactly one part; otherwise merge names the differing part or the missing and
duplicated points and writes nothing.

Exit status: 0 merged, all points ok; 1 error; 3 merged, but some points failed.";

/// `buffycoat sweep` arguments.
#[derive(Debug, clap::Args)]
struct SweepArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// A key and its values: KEY=start:stop:count, KEY=start:stop:count:log or KEY=a,b,c
    /// (repeatable; the last one varies fastest).
    #[arg(long = "vary", value_name = "KEY=SPEC", required = true)]
    vary: Vec<String>,
    /// Sweep file (HDF5).
    #[arg(short, long, value_name = "SWEEP.h5")]
    output: PathBuf,
    /// Also write a CSV table, one row per point.
    #[arg(long, value_name = "SWEEP.csv")]
    csv: Option<PathBuf>,
    /// Points run at once [default: all cores]. Results do not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Continue the sweep in the output file: run only its points that are not ok (not run or
    /// failed). The file must be the same sweep (scenario text, --vary, --shard); if it does not
    /// exist yet, the sweep starts.
    #[arg(long)]
    resume: bool,
    /// Run only the points with index p mod N = I (0 ≤ I < N); merge the parts with `merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Override a scenario key for every point, e.g. --set ports.interface_control=false
    /// (repeatable). The sweep stores the scenario with these applied.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// No progress (a bar on a terminal, otherwise a plain line every 10 s).
    #[arg(short, long)]
    quiet: bool,
}

/// `buffycoat merge` arguments.
#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// Shard files written by `buffycoat sweep --shard I/N`.
    #[arg(required = true, value_name = "PART.h5")]
    parts: Vec<PathBuf>,
    /// Merged sweep file (HDF5).
    #[arg(short, long, value_name = "SWEEP.h5")]
    output: PathBuf,
    /// Also write a CSV table, one row per point.
    #[arg(long, value_name = "SWEEP.csv")]
    csv: Option<PathBuf>,
    /// Replace an existing output or CSV file (without it, merge refuses to overwrite).
    #[arg(short, long)]
    force: bool,
}

/// Exit status of a sweep or merge whose result has failed points.
const EXIT_POINTS_FAILED: u8 = 3;
/// Exit status of a run or sweep interrupted by SIGINT (128 + 2); SIGTERM gives 143 and
/// SIGHUP 129 (128 + the signal, the shell's convention).
const EXIT_INTERRUPTED: u8 = 130;

/// The interrupt handler of `run` and `sweep`: SIGINT, SIGTERM and SIGHUP are received on a
/// thread of their own (signal-hook), which calls `stop` for each (the run stops at its next
/// safe point) and exits at once with 128 + the signal at the third. Remembers the first signal
/// for the exit status of the stopped command.
struct Interrupts {
    first: std::sync::Arc<std::sync::atomic::AtomicI32>,
}

impl Interrupts {
    fn install(stop: impl Fn() + Send + 'static) -> Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        use std::sync::atomic::Ordering;
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .context("cannot install the SIGINT/SIGTERM/SIGHUP handler")?;
        let first = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
        let seen = first.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut count = 0;
                for signal in signals.forever() {
                    let _ = seen.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                    stop();
                    count += 1;
                    if count >= 3 {
                        // Third signal: stop at once (the last checkpoint is on disk).
                        std::process::exit(128 + signal);
                    }
                }
            })
            .context("cannot start the signal thread")?;
        Ok(Self { first })
    }

    /// 128 + the first signal received (130 if none).
    fn exit_code(&self) -> ExitCode {
        match self.first.load(std::sync::atomic::Ordering::SeqCst) {
            0 => ExitCode::from(EXIT_INTERRUPTED),
            s => ExitCode::from(u8::try_from(128 + s).unwrap_or(EXIT_INTERRUPTED)),
        }
    }
}

fn cmd_sweep(args: SweepArgs) -> Result<ExitCode> {
    use buffycoat::sweep::{self, Axis, CancelToken, Grid, Shard, SweepOptions};
    let axes = args
        .vary
        .iter()
        .map(|v| Axis::parse(v))
        .collect::<Result<Vec<_>, _>>()?;
    let grid = Grid::new(axes)?;
    let shard = match &args.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::WHOLE,
    };
    if args.threads == Some(0) {
        anyhow::bail!("--threads must be at least 1");
    }
    let mut outputs: Vec<(&str, &Path)> = vec![("-o", &args.output)];
    if let Some(csv) = &args.csv {
        outputs.push(("--csv", csv));
    }
    input::outputs::check_outputs(&[&args.scenario], &outputs).map_err(anyhow::Error::msg)?;
    let _lock = OutputLock::take(&args.output)?;
    for path in std::iter::once(&args.output).chain(&args.csv) {
        for stale in buffycoat_engine::checkpoint::remove_stale_partials(path) {
            errln!(
                "removed {}, the partial output of an earlier sweep that did not finish",
                stale.display()
            );
        }
    }
    let library = library::default_library().context("the bundled species library is invalid")?;
    let plan = if args.set.is_empty() {
        input::sweep::sweep_plan(&args.scenario, grid, shard, library)?
    } else {
        // Fixed overrides become part of the sweep's scenario: check them as `run` would, then
        // store the overridden scenario (so resume and merge compare what actually ran).
        let loaded = input::load(&args.scenario, &args.set, &library)?;
        input::sweep::sweep_plan_from_text(
            &args.scenario,
            loaded.effective_text,
            grid,
            shard,
            library,
        )?
    };
    let prepared = plan.prepare(&args.output, args.resume)?;
    if let Some(w) = &prepared.warning {
        errln!("warning: {w}");
    }
    let mut data = prepared.data;
    let in_shard = (0..data.points.len())
        .filter(|&p| shard.contains(p))
        .count();
    let done = (0..data.points.len())
        .filter(|&p| shard.contains(p) && data.points[p].status == sweep::PointStatus::Ok)
        .count();
    let shard_text = if shard.count > 1 {
        format!(" (shard {shard}: {in_shard} points)")
    } else {
        String::new()
    };
    if prepared.resumed {
        errln!(
            "resuming {}: {done} of {in_shard} points done, running {}",
            args.output.display(),
            in_shard - done
        );
    }
    outln!(
        "sweep: {} points{shard_text}, grid {}",
        data.points.len(),
        plan.grid
            .axes
            .iter()
            .map(|a| format!("{} [{}]", a.key, a.values.len()))
            .collect::<Vec<_>>()
            .join(" × ")
    );
    let cancel = CancelToken::new();
    let handler_token = cancel.clone();
    // The file on disk is always the last checkpoint.
    let interrupts = Interrupts::install(move || {
        handler_token.cancel();
    })?;
    let opts = SweepOptions {
        output: args.output.clone(),
        csv: args.csv.clone(),
        threads: args.threads,
        progress: ProgressMode::wanted(!args.quiet),
        checkpoint_interval: sweep::CHECKPOINT_INTERVAL,
    };
    let outcome = sweep::run_sweep(std::sync::Arc::new(plan), &mut data, &opts, &cancel)?;
    let c = outcome.counts;
    outln!(
        "{} points ran in {:.2} s: {} ok, {} failed, {} not run{}",
        outcome.ran,
        outcome.elapsed_s,
        c.ok,
        c.failed,
        c.not_run,
        if shard.count > 1 {
            format!(" ({} in other shards)", c.not_run - outcome.pending)
        } else {
            String::new()
        }
    );
    outln!("output: {}", args.output.display());
    if let Some(csv) = &args.csv {
        outln!("csv: {}", csv.display());
    }
    if let Some(table) = data.failure_table() {
        err!("{table}");
    }
    if outcome.interrupted {
        errln!(
            "interrupted with {} point(s) not run; continue with the same command and --resume",
            outcome.pending
        );
        return Ok(interrupts.exit_code());
    }
    Ok(if c.failed > 0 {
        ExitCode::from(EXIT_POINTS_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_merge(args: MergeArgs) -> Result<ExitCode> {
    let mut outputs: Vec<(&str, &Path)> = vec![("-o", &args.output)];
    if let Some(csv) = &args.csv {
        outputs.push(("--csv", csv));
    }
    let inputs: Vec<&Path> = args.parts.iter().map(PathBuf::as_path).collect();
    input::outputs::check_outputs(&inputs, &outputs).map_err(anyhow::Error::msg)?;
    refuse_existing(&args.output, args.force)?;
    if let Some(csv) = &args.csv {
        refuse_existing(csv, args.force)?;
    }
    let merged = buffycoat::sweep::merge_parts(&args.parts)?;
    merged.write_h5(&args.output)?;
    if let Some(csv) = &args.csv {
        merged.write_csv(csv)?;
    }
    let c = merged.counts();
    outln!(
        "merged {} parts: {} points, {} ok, {} failed",
        args.parts.len(),
        merged.points.len(),
        c.ok,
        c.failed
    );
    outln!("output: {}", args.output.display());
    if let Some(csv) = &args.csv {
        outln!("csv: {}", csv.display());
    }
    if let Some(table) = merged.failure_table() {
        err!("{table}");
        return Ok(ExitCode::from(EXIT_POINTS_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

fn default_output(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "buffycoat".into());
    PathBuf::from(format!("{stem}.h5"))
}

/// A lock file `.NAME.lock` (holding the process id) next to an output that a command writes
/// for a long time (a sweep, a run): a second command on the same output is refused while the first
/// runs. A lock left by a process that no longer exists (killed) is taken over. Removed when
/// dropped.
struct OutputLock {
    path: PathBuf,
}

impl OutputLock {
    fn take(output: &Path) -> Result<Self> {
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = buffycoat_h5::atomic::directory_of(output).join(format!(".{name}.lock"));
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    let alive = pid.is_some_and(buffycoat_engine::checkpoint::process_alive);
                    if alive {
                        anyhow::bail!(
                            "another buffycoat (process {}) is writing {} (lock {}): wait for it to finish, or stop it and continue with --resume",
                            pid.unwrap_or(0),
                            output.display(),
                            path.display()
                        );
                    }
                    // A lock of a process that was killed: take it over.
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "cannot create the lock file {}: {e}",
                        path.display()
                    ));
                }
            }
        }
        anyhow::bail!("cannot take the lock {}", path.display())
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Never silently destroy a result: an existing `path` is an error unless `force`.
fn refuse_existing(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists: not overwriting it (give --force to replace it, or choose another file)",
            path.display()
        );
    }
    Ok(())
}

struct RunArgs {
    scenario: PathBuf,
    output: Option<PathBuf>,
    no_output: bool,
    summary: Option<PathBuf>,
    set: Vec<String>,
    threads: Option<usize>,
    quiet: bool,
    force: bool,
    resume: bool,
}

fn cmd_run(args: RunArgs) -> Result<ExitCode> {
    let library = library::default_library().context("the bundled species library is invalid")?;
    let loaded = input::load(&args.scenario, &args.set, &library)?;
    if args.threads == Some(0) {
        anyhow::bail!("--threads must be at least 1");
    }
    input::resources::check_memory(&loaded.resolved)
        .map_err(|m| anyhow::anyhow!("{}: {m}", args.scenario.display()))?;
    let opts = RunOptions {
        output: if args.no_output {
            None
        } else {
            Some(
                args.output
                    .unwrap_or_else(|| default_output(&args.scenario)),
            )
        },
        summary: args.summary,
        threads: args.threads,
        progress: ProgressMode::wanted(!args.quiet),
        cancel: Some(buffycoat_engine::CancelFlag::new()),
        checkpoint: Some(buffycoat_engine::Checkpointing {
            every: loaded.resolved.checkpoint_every,
            resume: args.resume,
        }),
        compression: loaded.resolved.compression,
    };
    let mut outputs: Vec<(&str, &Path)> = Vec::new();
    if let Some(o) = &opts.output {
        outputs.push(("-o", o));
    }
    if let Some(s) = &opts.summary {
        outputs.push(("--summary", s));
    }
    input::outputs::check_outputs(&[&args.scenario], &outputs).map_err(anyhow::Error::msg)?;
    for path in opts.output.iter().chain(&opts.summary) {
        refuse_existing(path, args.force)?;
    }
    // One run per output at a time: a second run on the same file is refused while the
    // first runs (a lock of a killed run is taken over).
    let _lock = opts.output.as_deref().map(OutputLock::take).transpose()?;
    for path in opts.output.iter().chain(&opts.summary) {
        for stale in buffycoat_engine::checkpoint::remove_stale_partials(path) {
            errln!(
                "removed {}, the partial output of an earlier run that did not finish",
                stale.display()
            );
        }
    }
    if let Some(output) = &opts.output {
        use buffycoat_engine::checkpoint;
        match checkpoint::find_checkpoint(output) {
            Some(c) if args.resume => errln!(
                "resuming {} from its checkpoint at t = {} s (frame {})",
                output.display(),
                buffycoat_engine::summary::human(c.time, 6),
                c.frame
            ),
            Some(c) if !args.force => anyhow::bail!(
                "an interrupted run of {} left a checkpoint at t = {} s ({}): continue it with --resume, or give --force to start over",
                output.display(),
                buffycoat_engine::summary::human(c.time, 6),
                c.path.display()
            ),
            None if args.resume => errln!(
                "no checkpoint of {} to resume: starting from the beginning",
                output.display()
            ),
            _ => {}
        }
    }
    // First SIGINT/SIGTERM/SIGHUP: stop at the next safe point. Third: stop at once.
    let interrupts = match opts.cancel.clone() {
        Some(flag) => Some(Interrupts::install(move || flag.cancel())?),
        None => None,
    };
    let outcome = match buffycoat_engine::run(&loaded.setup(), &loaded.provenance(), &opts) {
        Ok(outcome) => outcome,
        Err(e @ buffycoat_engine::RunError::Interrupted { .. }) => {
            errln!("{e}");
            return Ok(interrupts.map_or(ExitCode::from(EXIT_INTERRUPTED), |i| i.exit_code()));
        }
        Err(e) => return Err(input::setup::name_scenario_keys(e).into()),
    };
    out!("{}", outcome.to_text());
    if let Some(path) = &opts.summary {
        outln!("summary: {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_validate() -> Result<bool> {
    let checks = buffycoat::validate::all_checks();
    out!("{}", buffycoat::validate::table(&checks));
    Ok(checks.iter().all(|c| c.passed()))
}

fn cmd_species(sources: bool) -> Result<()> {
    let library = library::default_library().context("the bundled species library is invalid")?;
    outln!(
        "{:<12} {:<26} {:>14} {:>16} {:>12} {:>6} {:>22}",
        "name",
        "display name",
        "density [g/mL]",
        "volume [fL]",
        "diameter [µm]",
        "χ",
        "normal range [/µL]"
    );
    for s in library.iter() {
        let range = s
            .normal_per_ul
            .map_or_else(|| "–".to_string(), |(lo, hi)| format!("{lo:.3e}–{hi:.3e}"));
        outln!(
            "{:<12} {:<26} {:>7.4} ± {:<5.4} {:>8.1} ± {:<6.1} {:>12.2} {:>6.3} {:>22}",
            s.name,
            s.display_name,
            s.density.mean() / 1000.0,
            s.density.sd() / 1000.0,
            s.mean_volume() * 1e18,
            s.size_volume_sd_fl(),
            s.mean_diameter() * 1e6,
            s.shape_factor,
            range
        );
        if sources {
            outln!("    source: {}", s.source.replace('\n', " "));
        }
    }
    if !sources {
        outln!("(buffycoat species --sources prints the citations)");
    }
    Ok(())
}

fn cmd_plot(
    file: PathBuf,
    output: Option<PathBuf>,
    metrics: Vec<String>,
    window: Option<String>,
) -> Result<()> {
    let dir = output.unwrap_or_else(|| {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "buffycoat".into());
        file.with_file_name(format!("{stem}_plots"))
    });
    let written = buffycoat_plot::plot_file(
        &file,
        &dir,
        &buffycoat_plot::PlotOptions { metrics, window },
    )?;
    for path in written {
        outln!("{}", path.display());
    }
    Ok(())
}

/// Volume spread in fL for display.
trait VolumeSpread {
    fn size_volume_sd_fl(&self) -> f64;
}

impl VolumeSpread for buffycoat_physics::species::Species {
    fn size_volume_sd_fl(&self) -> f64 {
        use buffycoat_physics::species::SizeDistribution;
        match &self.size {
            SizeDistribution::Volume(v) => v.sd() * 1e18,
            // For a diameter distribution, propagate to first order: σ_V ≈ (π/2) d² σ_d.
            SizeDistribution::Diameter(d) => {
                std::f64::consts::FRAC_PI_2 * d.mean() * d.mean() * d.sd() * 1e18
            }
        }
    }
}

/// Longest text of one cause in an error message (characters); longer ones (an echoed string
/// value of a megabyte) are cut with a note of how much was left out.
const MAX_CAUSE_CHARS: usize = 500;

/// The error and its causes, each cause added only if the message does not already say it
/// (typed errors often quote their source in their own message); each cause cut to
/// [`MAX_CAUSE_CHARS`]; a full disk said in one line instead of the HDF5 error stack.
fn error_chain(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if message.is_empty() {
            message = text;
        } else if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    readable(&message)
}

/// `message` for people: a disk-full error in one line, long texts cut.
fn readable(message: &str) -> String {
    // HDF5 reports a failed write(2) as "bytes actually written = 18446744073709551615" (−1)
    // in a long error stack; the OS error is ENOSPC.
    let disk_full = message.contains("No space left on device")
        || message.contains("bytes actually written = 18446744073709551615");
    if disk_full {
        let head: String = message
            .split(": ")
            .take(2)
            .collect::<Vec<_>>()
            .join(": ")
            .chars()
            .take(200)
            .collect();
        return format!(
            "{head}: the disk is full (no space left on device); no partial output was kept"
        );
    }
    cut(message, MAX_CAUSE_CHARS * 4)
}

/// `text` cut to `max` characters, with a note of how many were left out.
fn cut(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… ({} more characters not shown)", n - max)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            output,
            no_output,
            summary,
            set,
            threads,
            quiet,
            force,
            resume,
        } => match cmd_run(RunArgs {
            scenario,
            output,
            no_output,
            summary,
            set,
            threads,
            quiet,
            force,
            resume,
        }) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
        Command::Validate => cmd_validate(),
        Command::Species { sources } => cmd_species(sources).map(|()| true),
        Command::Plot {
            file,
            output,
            metrics,
            window,
        } => cmd_plot(file, output, metrics, window).map(|()| true),
        Command::Sweep(args) => match cmd_sweep(args) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
        Command::Merge(args) => match cmd_merge(args) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            errln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_one_line_and_long_messages_are_cut() {
        let hdf5 = "output: cannot write /tmp/x/out.h5: HDF5 error: H5Dwrite(): can't write data\n  #001: H5FDsec2.c line 800 in H5FD__sec2_write(): file write failed: time = Sat, filename = '/tmp/x/.out.h5.partial-1', file descriptor = 3, errno = 28, error message = 'No space left on device', buf = 0x1, total write size = 4096, bytes this sub-write = 4096, bytes actually written = 18446744073709551615, offset = 0";
        let m = readable(hdf5);
        assert!(m.contains("the disk is full"), "{m}");
        assert!(
            !m.contains("18446744073709551615") && !m.contains('\n'),
            "{m}"
        );
        assert!(m.starts_with("output: cannot write /tmp/x/out.h5"), "{m}");
        // An echoed megabyte string value is cut.
        let long = format!("unknown species `{}`", "x".repeat(1 << 20));
        let m = readable(&long);
        assert!(m.chars().count() < 2100, "{}", m.len());
        assert!(
            m.ends_with("more characters not shown)"),
            "{}",
            &m[m.len() - 60..]
        );
        assert_eq!(readable("short"), "short");
    }
}
