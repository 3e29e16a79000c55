//! Running a scenario: population, solver, observers (HDF5, progress), summary.

use crate::input::LoadedScenario;
use crate::input::scenario::Resolved;
use crate::output::H5mdOutput;
use crate::summary::{RunSummary, SpeciesSummary, SpeciesTable, write_json_atomic};
use buffycoat_h5::H5Error;
use buffycoat_physics::units::MICROLITRE;
use buffycoat_sediment::census::census;
use buffycoat_sediment::{
    Cells, Geometry, ParticleModel, SedimentError, Sedimentation, SedimentationConfig, SpeciesDraw,
};
use buffycoat_stepper::{
    Cadence, DEFAULT_CHUNK_LEN, Executor, Frame, Parallel, Propagate, RunReport, Schedule,
    StepperError,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// HDF5 output file (`None`: compute and summarise only, as sweep points do)
    pub output: Option<PathBuf>,
    /// JSON summary file
    pub summary: Option<PathBuf>,
    /// worker threads (`None`: all cores)
    pub threads: Option<usize>,
    /// draw a progress bar (on a terminal)
    pub progress: bool,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The cells or the solver configuration are invalid.
    #[error("{}: {source}", scenario.display())]
    Setup {
        /// scenario file
        scenario: PathBuf,
        /// the solver's error
        #[source]
        source: SedimentError,
    },
    /// The solver failed during the run.
    #[error("simulation failed: {0}")]
    Solver(#[from] SedimentError),
    /// Thread pool or schedule.
    #[error(transparent)]
    Stepper(#[from] StepperError),
    /// Writing the HDF5 output failed (the partial file is removed).
    #[error("output: {0}")]
    Output(#[from] H5Error),
    /// The field solver rejected its set-up.
    #[error("{}: {source}", scenario.display())]
    FieldSetup {
        /// scenario file
        scenario: PathBuf,
        /// the field solver's error
        #[source]
        source: buffycoat_field::FieldError,
    },
    /// The field solver failed.
    #[error("field solver: {0}")]
    Field(#[from] buffycoat_field::FieldError),
    /// The channel solver rejected its set-up.
    #[error("{}: {source}", scenario.display())]
    ChannelSetup {
        /// scenario file
        scenario: PathBuf,
        /// the channel solver's error
        #[source]
        source: buffycoat_channel::ChannelError,
    },
    /// The channel solver failed.
    #[error("channel solver: {0}")]
    Channel(#[from] buffycoat_channel::ChannelError),
    /// The procedure failed (invalid settings or a channel solve that failed).
    #[error("{}: procedure: {message}", scenario.display())]
    Procedure {
        /// scenario file
        scenario: PathBuf,
        /// what went wrong
        message: String,
    },
    /// Writing the JSON summary failed.
    #[error("cannot write summary {}: {source}", path.display())]
    Summary {
        /// the summary path
        path: PathBuf,
        /// the OS error
        #[source]
        source: std::io::Error,
    },
}

/// Samples every species' tracer cells (species k uses RNG stream k + 1) and places them, in
/// parallel over the fixed chunks of `par` (bitwise the same for any thread count).
pub fn build_cells(res: &Resolved, scenario: &Path, par: &Parallel) -> Result<Cells, RunError> {
    let setup = |source| RunError::Setup {
        scenario: scenario.to_owned(),
        source,
    };
    if res.species.len() > usize::from(u16::MAX) {
        return Err(setup(SedimentError::InvalidParameter {
            name: "species".into(),
            value: res.species.len() as f64,
            allowed: format!("at most {} species", u16::MAX),
        }));
    }
    let draws: Vec<SpeciesDraw<'_>> = res
        .species
        .iter()
        .enumerate()
        .map(|(k, sp)| SpeciesDraw {
            species: &sp.species,
            count: sp.count,
            stream: k as u64 + 1,
        })
        .collect();
    Cells::sample(
        &draws,
        &res.geometry,
        res.fluid.density,
        res.fluid.viscosity,
        res.seed,
        par,
    )
    .map_err(|e| {
        // Name the species of a rejected cell.
        let e = match e {
            SedimentError::InvalidCell { index, message } => {
                let mut k = 0;
                let mut end = 0;
                for (j, sp) in res.species.iter().enumerate() {
                    end += sp.count;
                    k = j;
                    if index < end {
                        break;
                    }
                }
                SedimentError::InvalidCell {
                    index,
                    message: format!("species `{}`: {message}", res.species[k].species.name),
                }
            }
            SedimentError::InvalidParameter {
                name,
                value,
                allowed,
            } => SedimentError::InvalidParameter {
                name: format!("a sampled cell's {name}"),
                value,
                allowed,
            },
            other => other,
        };
        setup(e)
    })
}

/// The solver configuration of a resolved scenario.
pub fn sedimentation_config(res: &Resolved) -> SedimentationConfig {
    SedimentationConfig {
        geometry: res.geometry,
        rotor: res.rotor.clone(),
        fluid_density: res.fluid.density,
        viscosity: res.fluid.viscosity,
        forces: res.forces,
        model: res.model,
        dt: res.dt,
        tolerances: res.tolerances,
    }
}

/// Builds the system for a scenario.
pub fn build_system(scn: &LoadedScenario, par: &Parallel) -> Result<Sedimentation, RunError> {
    let cells = build_cells(&scn.resolved, &scn.path, par)?;
    Sedimentation::new(sedimentation_config(&scn.resolved), cells, par).map_err(|source| {
        RunError::Setup {
            scenario: scn.path.clone(),
            source,
        }
    })
}

/// Runs a loaded scenario to completion, writing HDF5 (and the JSON summary if asked).
pub fn run(scn: &LoadedScenario, opts: &RunOptions) -> Result<RunSummary, RunError> {
    if scn.resolved.procedure.is_some() {
        return crate::procedure_run::run_procedure(scn, opts);
    }
    if scn.resolved.channel.is_some() {
        return crate::channel_run::run_channel(scn, opts);
    }
    if scn.resolved.hindered.is_some() {
        return crate::field_run::run_hindered(scn, opts);
    }
    run_particles(scn, opts)
}

/// Runs a particle (overdamped or inertial) scenario.
pub fn run_particles(scn: &LoadedScenario, opts: &RunOptions) -> Result<RunSummary, RunError> {
    let start = Instant::now();
    let res = &scn.resolved;
    let par = Parallel::new(opts.threads, DEFAULT_CHUNK_LEN)?;
    let mut sys = build_system(scn, &par)?;
    let names: Vec<String> = res.species.iter().map(|s| s.species.name.clone()).collect();
    let schedule = Schedule::new(res.duration, res.output_interval)?;
    // Everything is checked; only now does a file appear (under a temporary name).
    let mut output = match &opts.output {
        Some(path) => Some(H5mdOutput::create(path, scn, &sys, &names)?),
        None => None,
    };
    let report = run_observed(
        schedule,
        &mut sys,
        &par,
        |f: &Frame<'_, Sedimentation>| match output.as_mut() {
            Some(o) => o.observe(f).map_err(RunError::from),
            None => Ok(()),
        },
        opts.progress,
    )?;
    let output_path = output.map(|o| o.finish(&sys)).transpose()?;
    let mut counts = Vec::new();
    census(sys.cells(), &res.geometry, names.len(), &mut counts);
    let sample_volume_ul = res.geometry.volume() / MICROLITRE;
    let species = SpeciesTable(
        names
            .iter()
            .zip(&counts)
            .zip(&res.species)
            .map(|((name, c), sp)| {
                (
                    name.clone(),
                    SpeciesSummary::from_census(c, sp.per_ul, sample_volume_ul),
                )
            })
            .collect(),
    );
    let advance = report.advance_time.as_secs_f64();
    let totals = sys.totals();
    let summary = RunSummary {
        program: Default::default(),
        scenario: scn.path.clone(),
        output: output_path,
        seed: res.seed,
        threads: par.threads(),
        model: match res.model {
            ParticleModel::Inertial => "inertial".into(),
            _ => "overdamped".into(),
        },
        geometry: match res.geometry {
            Geometry::Tube(_) => "tube".into(),
            _ => "sector".into(),
        },
        duration_s: report.time,
        wall_time_s: start.elapsed().as_secs_f64(),
        particle_steps: totals.particle_steps,
        particle_steps_per_second: if advance > 0.0 {
            totals.particle_steps as f64 / advance
        } else {
            0.0
        },
        dt_s: sys.dt(),
        max_particle_reynolds: totals.max_reynolds,
        species,
        layers: None,
        channel: None,
        procedure: None,
    };
    if let Some(path) = &opts.summary {
        write_json_atomic(path, &summary).map_err(|source| RunError::Summary {
            path: path.clone(),
            source,
        })?;
    }
    Ok(summary)
}

/// Runs `system` through `schedule` with the two observers every run has, at every output
/// time: `write` (the file, if any), then the progress bar (cleared at the end).
pub(crate) fn run_observed<S>(
    schedule: Schedule,
    system: &mut S,
    par: &Parallel,
    mut write: impl FnMut(&Frame<'_, S>) -> Result<(), RunError>,
    progress: bool,
) -> Result<RunReport, RunError>
where
    S: Propagate,
    RunError: From<S::Error>,
{
    let bar = progress_bar(schedule.intervals() as u64, progress);
    let mut show = |f: &Frame<'_, S>| {
        bar.set_position(f.index as u64);
        bar.set_message(format!("t = {:.4} s", f.time));
        Ok::<(), RunError>(())
    };
    let report = Executor::<S, RunError>::new(schedule)
        .observe(Cadence::ALWAYS, &mut write)
        .observe(Cadence::ALWAYS, &mut show)
        .run(system, par);
    bar.finish_and_clear();
    report
}

/// A progress bar on stderr, hidden when stderr is not a terminal or when not wanted.
pub fn progress_bar(len: u64, wanted: bool) -> ProgressBar {
    let target = if wanted {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} frames {msg} (ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
