//! Running a leukapheresis procedure: the patient compartment over hours, with the channel's
//! steady port fractions recomputed as the patient's blood changes.
//!
//! Output layout (`/procedure`, time series over the samples, every `step_min`):
//!
//! | path | content | unit |
//! |---|---|---|
//! | `time_s`, `processed_volume_ml` | `[T]` | s, mL |
//! | `patient_per_ul` (attr `names`) | `[T][Sp]` patient concentrations | µL-1 |
//! | `patient_hematocrit` | `[T]` | – |
//! | `product_cells` (attr `names`) | `[T][Sp]` cells in the bag | – |
//! | `product_volume_ml`, `product_hematocrit` | `[T]` | mL, – |
//! | `collect_fraction` (attr `names`) | `[T][Sp]` the channel's collect fraction in force | – |
//! | `citrate_rate_mg_kg_min`, `citrate_dose_mg_kg` | `[T]` | mg kg-1 min-1, mg kg-1 |
//! | `citrate_thresholds_mg_kg_min` | `[2]` | mg kg-1 min-1 |
//! | `ce1`, `ce2` (attr `names`) | `[Sp]` at the end (0 where undefined) | – |

use crate::checkpoint::{StateOnly, run_checkpointed};
use crate::error::RunError;
use crate::observe::RunOptions;
use crate::output::create_output;
use crate::provenance::Provenance;
use crate::setup::ProcedureSetup;
use crate::summary::{
    ModelOutcome, Named, NamedValues, Outcome, ProcedureOutcome, ProcedureSpecies,
    ProcedureSummary, ThresholdCrossing,
};
use buffycoat_channel::ChannelSeparator;
use buffycoat_h5::H5Error;
use buffycoat_h5::schema;
use buffycoat_physics::species::CD34;
use buffycoat_physics::units;
use buffycoat_procedure::citrate::CITRATE_RATE_THRESHOLDS_MG_KG_MIN;
use buffycoat_procedure::{ProcedureResult, ProcedureRun, StopReason};
use buffycoat_stepper::{
    Checkpoint, DEFAULT_CHUNK_LEN, Parallel, Propagate, Schedule, StateError, StateReader,
    StateWriter,
};
use std::path::PathBuf;
use std::time::Instant;

/// Runs a procedure set-up.
pub(crate) fn run_procedure(
    setup: &ProcedureSetup,
    provenance: &Provenance,
    opts: &RunOptions,
) -> Result<Outcome, RunError> {
    let start = Instant::now();
    let sample = &setup.sample;
    let separator = ChannelSeparator {
        config: setup.channel.config(&setup.field, sample.fluid),
        species: sample.species.iter().map(|s| s.species.clone()).collect(),
        classes_per_species: setup.field.classes_per_species,
        red_cell_aggregate_cells: setup.field.red_cell_aggregate_cells(sample),
        interface: setup.channel.interface.clone(),
        collect_hematocrit: setup.channel.collect_hematocrit,
        roles: sample.roles.clone(),
        par: Parallel::new(opts.threads, DEFAULT_CHUNK_LEN)?,
    };
    let threads = separator.par.threads();
    let procedure_error = |e: buffycoat_procedure::ProcedureError| RunError::Procedure {
        scenario: provenance.scenario_path.clone(),
        message: e.to_string(),
    };
    let run = setup
        .procedure
        .start(&setup.patient)
        .map_err(procedure_error)?;
    // Step by step through the stepper (one frame per `step_min`), checkpointed like the
    // other runs: the state holds every sample until the output is written at the end.
    let schedule = Schedule::new(run.time_bound(), setup.procedure.step)?;
    let mut system = ProcedureSystem {
        run,
        separator,
        scenario: provenance.scenario_path.clone(),
    };
    let mut checkpoint = opts.output.as_ref().map(|_| StateOnly::default());
    // The separator's solves use its own pool; the stepper's is not used.
    let idle = Parallel::new(Some(1), DEFAULT_CHUNK_LEN)?;
    run_checkpointed(
        schedule,
        &mut system,
        &idle,
        provenance,
        opts,
        &mut checkpoint,
    )?;
    let result = system.run.finish().map_err(procedure_error)?;
    let names = sample.names();
    let output = match &opts.output {
        Some(path) => Some(write_output(
            path,
            opts.compression,
            setup,
            provenance,
            &result,
            &names,
        )?),
        None => None,
    };
    if let Some(c) = checkpoint {
        c.remove();
    }
    let model = procedure_outcome(setup, &result, &names);
    Ok(Outcome::new(
        provenance,
        output,
        sample.seed,
        threads,
        start,
        ModelOutcome::Procedure(model),
    ))
}

/// A procedure with its separator, as a stepper: each output interval of the schedule
/// (`step_min`) takes the procedure's steps up to its end; the last one runs until a stop
/// rule ends the procedure (intervals after a product target are empty). The steps do not
/// depend on how they are grouped into intervals.
struct ProcedureSystem<'a> {
    run: ProcedureRun<'a>,
    separator: ChannelSeparator,
    scenario: PathBuf,
}

impl Propagate for ProcedureSystem<'_> {
    type Error = RunError;

    fn advance(&mut self, _t0: f64, t1: f64, _par: &Parallel) -> Result<(), RunError> {
        let last = t1 >= self.run.time_bound();
        while !self.run.is_done() && (last || self.run.time() < t1 * (1.0 - 1e-12)) {
            self.run
                .step(&mut self.separator)
                .map_err(|e| RunError::Procedure {
                    scenario: self.scenario.clone(),
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }

    fn step_count(&self) -> u64 {
        self.run.steps()
    }
}

impl Checkpoint for ProcedureSystem<'_> {
    fn save_state(&self, w: &mut StateWriter) {
        self.run.save_state(w);
    }
    fn restore_state(&mut self, r: &mut StateReader<'_>) -> Result<(), StateError> {
        self.run.restore_state(r)
    }
}

fn series<F: Fn(&buffycoat_procedure::Sample) -> f64>(r: &ProcedureResult, f: F) -> Vec<f64> {
    r.samples.iter().map(f).collect()
}

fn write_output(
    path: &std::path::Path,
    compression: buffycoat_h5::Compression,
    setup: &ProcedureSetup,
    provenance: &Provenance,
    r: &ProcedureResult,
    names: &[String],
) -> Result<PathBuf, H5Error> {
    let w = create_output(path, compression, provenance, setup.sample.seed)?;
    let t = r.samples.len();
    let sp = names.len();
    w.dataset_f64(
        schema::PROCEDURE_TIME_S,
        &[t],
        series(r, |s| s.time),
        Some("s"),
    )?;
    w.dataset_f64(
        schema::PROCEDURE_PROCESSED_VOLUME_ML,
        &[t],
        series(r, |s| s.processed_volume / units::MILLILITRE),
        Some("mL"),
    )?;
    let matrix = |f: &dyn Fn(&buffycoat_procedure::Sample) -> Vec<f64>| -> Vec<f64> {
        r.samples.iter().flat_map(f).collect()
    };
    w.dataset_f64(
        schema::PROCEDURE_PATIENT_PER_UL,
        &[t, sp],
        matrix(&|s| {
            s.patient_per_m3
                .iter()
                .map(|&c| units::per_m3_to_per_ul(c))
                .collect()
        }),
        Some("uL-1"),
    )?;
    w.attr_strings(schema::PROCEDURE_PATIENT_PER_UL, "names", names)?;
    w.dataset_f64(
        schema::PROCEDURE_PATIENT_HEMATOCRIT,
        &[t],
        series(r, |s| s.patient_hematocrit),
        None,
    )?;
    w.dataset_f64(
        schema::PROCEDURE_PRODUCT_CELLS,
        &[t, sp],
        matrix(&|s| s.product_cells.clone()),
        None,
    )?;
    w.attr_strings(schema::PROCEDURE_PRODUCT_CELLS, "names", names)?;
    w.dataset_f64(
        schema::PROCEDURE_PRODUCT_VOLUME_ML,
        &[t],
        series(r, |s| s.product_volume / units::MILLILITRE),
        Some("mL"),
    )?;
    w.dataset_f64(
        schema::PROCEDURE_PRODUCT_HEMATOCRIT,
        &[t],
        series(r, |s| s.product_hematocrit),
        None,
    )?;
    w.dataset_f64(
        schema::PROCEDURE_COLLECT_FRACTION,
        &[t, sp],
        matrix(&|s| s.collect_fraction.clone()),
        None,
    )?;
    w.attr_strings(schema::PROCEDURE_COLLECT_FRACTION, "names", names)?;
    w.dataset_f64(
        schema::PROCEDURE_CITRATE_RATE_MG_KG_MIN,
        &[t],
        series(r, |s| s.citrate_rate_mg_kg_min),
        Some("mg kg-1 min-1"),
    )?;
    w.dataset_f64(
        schema::PROCEDURE_CITRATE_DOSE_MG_KG,
        &[t],
        series(r, |s| s.citrate_dose_mg_kg),
        Some("mg kg-1"),
    )?;
    w.dataset_f64(
        schema::PROCEDURE_CITRATE_THRESHOLDS_MG_KG_MIN,
        &[2],
        CITRATE_RATE_THRESHOLDS_MG_KG_MIN.to_vec(),
        Some("mg kg-1 min-1"),
    )?;
    for (path, values) in [
        (schema::PROCEDURE_CE1, r.ce1()),
        (schema::PROCEDURE_CE2, r.ce2()),
    ] {
        // 0 where undefined (nothing processed, or a species absent before the procedure), as
        // in the JSON summary: no NaN or infinity is ever written.
        let values = values.into_iter().map(finite_or_zero).collect();
        w.dataset_f64(path, &[sp], values, None)?;
        w.attr_strings(path, "names", names)?;
    }
    w.finish()
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

fn procedure_outcome(
    setup: &ProcedureSetup,
    r: &ProcedureResult,
    names: &[String],
) -> ProcedureOutcome {
    let roles = &setup.sample.roles;
    let first = &r.samples[0];
    let last = r.last();
    let weight = setup.patient.weight;
    let per_ul =
        |v: &[f64]| -> Vec<f64> { v.iter().map(|&c| units::per_m3_to_per_ul(c)).collect() };
    let pre = per_ul(&first.patient_per_m3);
    let post = per_ul(&last.patient_per_m3);
    let pairs = |v: &[f64]| -> NamedValues {
        Named(
            names
                .iter()
                .cloned()
                .zip(v.iter().map(|&x| finite_or_zero(x)))
                .collect(),
        )
    };
    let reduction: Vec<f64> = pre
        .iter()
        .zip(&post)
        .map(|(a, b)| if *a > 0.0 { 1.0 - b / a } else { 0.0 })
        .collect();
    let per_kg: Vec<f64> = last.product_cells.iter().map(|c| c / weight).collect();
    let stop_reason = match &r.stop_reason {
        StopReason::BloodVolumes => "blood_volumes".to_string(),
        StopReason::TimeLimit => "time_limit".to_string(),
        StopReason::ProductTarget(k) => format!("product_target:{}", names[*k]),
    };
    let white: Vec<usize> = (0..names.len())
        .filter(|&k| roles.is_white(&names[k]))
        .collect();
    let wbc = |v: &[f64]| -> f64 { white.iter().map(|&k| v[k]).sum() };
    let platelet = names.iter().position(|n| roles.is_platelet(n));
    let procedure = ProcedureSummary {
        stop_reason,
        duration_min: last.time / 60.0,
        processed_volume_ml: last.processed_volume / units::MILLILITRE,
        total_blood_volume_ml: r.blood_volume / units::MILLILITRE,
        blood_volumes_processed: last.processed_volume / r.blood_volume,
        weight_kg: weight,
        patient_pre_per_ul: pairs(&pre),
        patient_post_per_ul: pairs(&post),
        patient_reduction: pairs(&reduction),
        white_count_pre_per_ul: wbc(&pre),
        white_count_post_per_ul: wbc(&post),
        white_count_reduction: if wbc(&pre) > 0.0 {
            1.0 - wbc(&post) / wbc(&pre)
        } else {
            0.0
        },
        hematocrit_pre: first.patient_hematocrit,
        hematocrit_post: last.patient_hematocrit,
        product_volume_ml: last.product_volume / units::MILLILITRE,
        product_hematocrit: last.product_hematocrit,
        product_cells: pairs(&last.product_cells),
        product_cells_per_kg: pairs(&per_kg),
        cd34_per_kg: names.iter().position(|n| n == CD34).map(|k| per_kg[k]),
        ce1: pairs(&r.ce1()),
        ce2: pairs(&r.ce2()),
        platelet_loss: platelet.map_or(0.0, |k| reduction[k]),
        citrate_rate_mg_kg_min: last.citrate_rate_mg_kg_min,
        citrate_dose_mg_kg: last.citrate_dose_mg_kg,
        citrate_thresholds: r
            .citrate_threshold_crossings
            .iter()
            .map(|&(threshold, at)| ThresholdCrossing {
                threshold_mg_kg_min: threshold,
                crossed_at_min: at.map(|t| t / 60.0),
            })
            .collect(),
        separator_evaluations: r.separator_calls,
    };
    ProcedureOutcome {
        model: "hindered",
        geometry: "channel",
        duration_s: last.time,
        species: Named(
            setup
                .sample
                .species
                .iter()
                .map(|sp| {
                    (
                        sp.species.name.clone(),
                        ProcedureSpecies {
                            per_ul: sp.per_ul,
                            volume_fraction: sp.volume_fraction,
                        },
                    )
                })
                .collect(),
        ),
        procedure,
    }
}
