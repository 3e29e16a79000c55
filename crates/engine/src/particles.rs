//! The particle models (overdamped, inertial): population, solver, H5MD output, census.

use crate::checkpoint::run_checkpointed;
use crate::error::RunError;
use crate::observe::RunOptions;
use crate::output::H5mdOutput;
use crate::provenance::Provenance;
use crate::setup::{ParticleSetup, geometry_name, particle_model_name};
use crate::summary::{ModelOutcome, Named, Outcome, ParticleOutcome, ParticleSpecies};
use buffycoat_physics::units::MICROLITRE;
use buffycoat_sediment::census::census;
use buffycoat_sediment::{Cells, SedimentError, Sedimentation, SedimentationConfig, SpeciesDraw};
use buffycoat_stepper::{DEFAULT_CHUNK_LEN, Parallel, Schedule};
use std::time::Instant;

/// Samples every species' tracer cells (species k uses RNG stream k + 1) and places them, in
/// parallel over the fixed chunks of `par` (bitwise the same for any thread count; see
/// [`Cells::sample`]).
///
/// # Errors
/// [`SedimentError`] naming the species of a rejected cell.
pub fn build_cells(setup: &ParticleSetup, par: &Parallel) -> Result<Cells, SedimentError> {
    let sample = &setup.sample;
    if sample.species.len() > usize::from(u16::MAX) {
        return Err(SedimentError::InvalidParameter {
            name: "species".into(),
            value: sample.species.len() as f64,
            allowed: format!("at most {} species", u16::MAX),
        });
    }
    let draws: Vec<SpeciesDraw<'_>> = sample
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
        &setup.geometry,
        sample.fluid.density,
        sample.fluid.viscosity,
        sample.seed,
        par,
    )
    .map_err(|e| match e {
        // Name the species of a rejected cell.
        SedimentError::InvalidCell { index, message } => {
            let mut end = 0;
            let species = sample
                .species
                .iter()
                .find(|sp| {
                    end += sp.count;
                    index < end
                })
                .map_or("?", |sp| sp.species.name.as_str());
            SedimentError::InvalidCell {
                index,
                message: format!("species `{species}`: {message}"),
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
    })
}

/// The solver configuration of a particle set-up.
pub fn sedimentation_config(setup: &ParticleSetup) -> SedimentationConfig {
    SedimentationConfig {
        geometry: setup.geometry,
        rotor: setup.rotor.clone(),
        fluid_density: setup.sample.fluid.density,
        viscosity: setup.sample.fluid.viscosity,
        forces: setup.forces,
        model: setup.model,
        dt: setup.dt,
        tolerances: setup.tolerances,
    }
}

/// Builds the system of a particle set-up.
///
/// # Errors
/// [`SedimentError`] for invalid cells or solver settings.
pub fn build_system(setup: &ParticleSetup, par: &Parallel) -> Result<Sedimentation, SedimentError> {
    Sedimentation::new(sedimentation_config(setup), build_cells(setup, par)?, par)
}

/// Runs a particle set-up.
pub(crate) fn run_particles(
    setup: &ParticleSetup,
    provenance: &Provenance,
    opts: &RunOptions,
) -> Result<Outcome, RunError> {
    let start = Instant::now();
    let par = Parallel::new(opts.threads, DEFAULT_CHUNK_LEN)?;
    let mut sys = build_system(setup, &par).map_err(|source| RunError::Setup {
        scenario: provenance.scenario_path.clone(),
        source,
    })?;
    let names = setup.sample.names();
    let schedule = Schedule::new(setup.timeline.duration, setup.timeline.output_interval)?;
    // Everything is checked; only now does a file appear (under a temporary name).
    let mut output = match &opts.output {
        Some(path) => Some(H5mdOutput::create(
            path,
            opts.compression,
            setup,
            provenance,
            &sys,
            &names,
        )?),
        None => None,
    };
    let report = run_checkpointed(schedule, &mut sys, &par, provenance, opts, &mut output)?;
    // The output's census of the last frame is the final state's (a pass over 10⁶ cells saved).
    let (output_path, counts) = match output {
        Some(o) => {
            let (path, counts) = o.finish(&sys)?;
            (Some(path), counts)
        }
        None => {
            let mut counts = Vec::new();
            census(sys.cells(), &setup.geometry, names.len(), &mut counts);
            (None, counts)
        }
    };
    let sample_volume_ul = setup.geometry.volume() / MICROLITRE;
    let species = Named(
        names
            .iter()
            .zip(&counts)
            .zip(&setup.sample.species)
            .map(|((name, c), sp)| {
                (
                    name.clone(),
                    ParticleSpecies {
                        count: c.count,
                        pelleted_fraction: c.pelleted_fraction(),
                        floated_fraction: c.floated_fraction(),
                        wall_fraction: c.wall_fraction(),
                        mean_radius_m: c.mean_radius,
                        min_radius_m: c.min_radius,
                        max_radius_m: c.max_radius,
                        per_ul: sp.per_ul,
                        cells_represented: sp.per_ul.map(|p| p * sample_volume_ul),
                    },
                )
            })
            .collect(),
    );
    let advance = report.advance_time.as_secs_f64();
    let totals = sys.totals();
    let model = ModelOutcome::Particles(ParticleOutcome {
        model: particle_model_name(setup.model),
        geometry: geometry_name(&setup.geometry),
        duration_s: report.time,
        particle_steps: totals.particle_steps,
        particle_steps_per_second: if advance > 0.0 {
            totals.particle_steps as f64 / advance
        } else {
            0.0
        },
        // The automatic step is infinite when nothing moves (rpm 0, no gravity): each output
        // interval is then one step.
        dt_s: if sys.dt().is_finite() {
            sys.dt()
        } else {
            setup.timeline.output_interval
        },
        max_particle_reynolds: totals.max_reynolds,
        species,
    });
    Ok(Outcome::new(
        provenance,
        output_path,
        setup.sample.seed,
        par.threads(),
        start,
        model,
    ))
}
