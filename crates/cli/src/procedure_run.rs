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
//! | `ce1`, `ce2` (attr `names`) | `[Sp]` at the end | – |

use crate::channel_run::channel_config;
use crate::input::LoadedScenario;
use crate::input::scenario::{ChannelSettings, HinderedSettings, Resolved};
use crate::run::{RunError, RunOptions};
use crate::summary::{
    NamedValues, ProcedureSummary, RunSummary, SpeciesSummary, SpeciesTable, ThresholdCrossing,
    write_json_atomic,
};
use buffycoat_channel::{CellRoles, Channel};
use buffycoat_field::classes_from_distribution;
use buffycoat_h5::H5Error;
use buffycoat_physics::species::{CD34, PLATELET, RBC};
use buffycoat_physics::units;
use buffycoat_procedure::citrate::CITRATE_RATE_THRESHOLDS_MG_KG_MIN;
use buffycoat_procedure::{PortFractions, ProcedureResult, Separator, StopReason};
use buffycoat_stepper::Parallel;
use std::path::PathBuf;
use std::time::Instant;

/// The continuous-flow channel as the procedure's separator: each call builds the classes of
/// the current inlet blood and solves the channel's steady state.
struct ChannelSeparator<'a> {
    res: &'a Resolved,
    settings: &'a HinderedSettings,
    channel: &'a ChannelSettings,
    par: Parallel,
    /// r/(r + 1)
    dilution: f64,
}

impl Separator for ChannelSeparator<'_> {
    fn port_fractions(&mut self, inlet_per_m3: &[f64]) -> Result<PortFractions, String> {
        let mut classes = Vec::new();
        for (sp, &n) in self.res.species.iter().zip(inlet_per_m3) {
            // The channel takes the undiluted blood and adds the anticoagulant itself.
            let phi = n / self.dilution * sp.species.mean_volume();
            if phi > 0.0 {
                classes.extend(
                    classes_from_distribution(&sp.species, phi, self.settings.classes_per_species)
                        .map_err(|e| e.to_string())?,
                );
            }
        }
        let channel = Channel::new(
            channel_config(self.res, self.settings, self.channel),
            classes,
        )
        .map_err(|e| e.to_string())?;
        let mut sol = channel.solve_steady(&self.par).map_err(|e| e.to_string())?;
        if let Some(targets) = &self.channel.interface_target {
            let names: Vec<String> = if targets.is_empty() {
                sol.classes()
                    .iter()
                    .map(|c| c.species.clone())
                    .filter(|n| n != RBC && n != PLATELET)
                    .collect()
            } else {
                targets.clone()
            };
            let idx = sol.classes_of(&names);
            let plasma = sol
                .interface_plasma_flow(&idx, self.channel.flows.collect)
                .map_err(|e| e.to_string())?;
            sol = sol
                .with_port_flows(plasma, self.channel.flows.collect)
                .map_err(|e| e.to_string())?;
        }
        let roles = CellRoles {
            red_cells: vec![RBC.into()],
            platelets: vec![PLATELET.into()],
        };
        let report = sol.species_report(&roles).map_err(|e| e.to_string())?;
        let ns = self.res.species.len();
        let mut out = PortFractions {
            collect: vec![0.0; ns],
            plasma: vec![0.0; ns],
            red_cells: vec![1.0; ns],
        };
        for (k, sp) in self.res.species.iter().enumerate() {
            if let Some(i) = report.index(&sp.species.name) {
                out.plasma[k] = report.ports[0].species[i].fraction;
                out.collect[k] = report.ports[1].species[i].fraction;
                out.red_cells[k] = report.ports[2].species[i].fraction;
            }
        }
        Ok(out)
    }
}

/// Runs a procedure scenario.
pub fn run_procedure(scn: &LoadedScenario, opts: &RunOptions) -> Result<RunSummary, RunError> {
    let start = Instant::now();
    let res = &scn.resolved;
    let settings = res
        .hindered
        .as_ref()
        .expect("a procedure has hindered settings");
    let channel = res.channel.as_ref().expect("a procedure has a channel");
    let proc_settings = res
        .procedure
        .as_ref()
        .expect("run_procedure needs procedure settings");
    let mut separator = ChannelSeparator {
        res,
        settings,
        channel,
        par: Parallel::new(opts.threads, buffycoat_stepper::DEFAULT_CHUNK_LEN)?,
        dilution: channel.flows.ac_ratio / (channel.flows.ac_ratio + 1.0),
    };
    let threads = separator.par.threads();
    let result = proc_settings
        .procedure
        .run(&proc_settings.patient, &mut separator)
        .map_err(|e| RunError::Procedure {
            scenario: scn.path.clone(),
            message: e.to_string(),
        })?;
    let names: Vec<String> = res.species.iter().map(|s| s.species.name.clone()).collect();
    let output = match &opts.output {
        Some(path) => Some(write_output(path, scn, &result, &names)?),
        None => None,
    };
    let summary = summary(scn, &result, &names, threads, start, output);
    if let Some(path) = &opts.summary {
        write_json_atomic(path, &summary).map_err(|source| RunError::Summary {
            path: path.clone(),
            source,
        })?;
    }
    Ok(summary)
}

fn series<F: Fn(&buffycoat_procedure::Sample) -> f64>(r: &ProcedureResult, f: F) -> Vec<f64> {
    r.samples.iter().map(f).collect()
}

fn write_output(
    path: &std::path::Path,
    scn: &LoadedScenario,
    r: &ProcedureResult,
    names: &[String],
) -> Result<PathBuf, H5Error> {
    let w = crate::output::create_writer(path, scn)?;
    w.h5md_header("buffycoat developers", "buffycoat", crate::VERSION)?;
    crate::output::write_parameters(&w, scn)?;
    let t = r.samples.len();
    let sp = names.len();
    w.dataset_f64("/procedure/time_s", &[t], series(r, |s| s.time), Some("s"))?;
    w.dataset_f64(
        "/procedure/processed_volume_ml",
        &[t],
        series(r, |s| s.processed_volume / units::MILLILITRE),
        Some("mL"),
    )?;
    let matrix = |f: &dyn Fn(&buffycoat_procedure::Sample) -> Vec<f64>| -> Vec<f64> {
        r.samples.iter().flat_map(f).collect()
    };
    w.dataset_f64(
        "/procedure/patient_per_ul",
        &[t, sp],
        matrix(&|s| {
            s.patient_per_m3
                .iter()
                .map(|&c| units::per_m3_to_per_ul(c))
                .collect()
        }),
        Some("uL-1"),
    )?;
    w.attr_strings("/procedure/patient_per_ul", "names", names)?;
    w.dataset_f64(
        "/procedure/patient_hematocrit",
        &[t],
        series(r, |s| s.patient_hematocrit),
        None,
    )?;
    w.dataset_f64(
        "/procedure/product_cells",
        &[t, sp],
        matrix(&|s| s.product_cells.clone()),
        None,
    )?;
    w.attr_strings("/procedure/product_cells", "names", names)?;
    w.dataset_f64(
        "/procedure/product_volume_ml",
        &[t],
        series(r, |s| s.product_volume / units::MILLILITRE),
        Some("mL"),
    )?;
    w.dataset_f64(
        "/procedure/product_hematocrit",
        &[t],
        series(r, |s| s.product_hematocrit),
        None,
    )?;
    w.dataset_f64(
        "/procedure/collect_fraction",
        &[t, sp],
        matrix(&|s| s.collect_fraction.clone()),
        None,
    )?;
    w.attr_strings("/procedure/collect_fraction", "names", names)?;
    w.dataset_f64(
        "/procedure/citrate_rate_mg_kg_min",
        &[t],
        series(r, |s| s.citrate_rate_mg_kg_min),
        Some("mg kg-1 min-1"),
    )?;
    w.dataset_f64(
        "/procedure/citrate_dose_mg_kg",
        &[t],
        series(r, |s| s.citrate_dose_mg_kg),
        Some("mg kg-1"),
    )?;
    w.dataset_f64(
        "/procedure/citrate_thresholds_mg_kg_min",
        &[2],
        CITRATE_RATE_THRESHOLDS_MG_KG_MIN.to_vec(),
        Some("mg kg-1 min-1"),
    )?;
    for (name, values) in [("ce1", r.ce1()), ("ce2", r.ce2())] {
        let path = format!("/procedure/{name}");
        w.dataset_f64(&path, &[sp], values, None)?;
        w.attr_strings(&path, "names", names)?;
    }
    w.finish()
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

fn summary(
    scn: &LoadedScenario,
    r: &ProcedureResult,
    names: &[String],
    threads: usize,
    start: Instant,
    output: Option<PathBuf>,
) -> RunSummary {
    let res = &scn.resolved;
    let p = res.procedure.as_ref().expect("procedure settings");
    let first = &r.samples[0];
    let last = r.last();
    let weight = p.patient.weight;
    let per_ul =
        |v: &[f64]| -> Vec<f64> { v.iter().map(|&c| units::per_m3_to_per_ul(c)).collect() };
    let pre = per_ul(&first.patient_per_m3);
    let post = per_ul(&last.patient_per_m3);
    let pairs = |v: &[f64]| {
        NamedValues(
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
    let wbc_names: Vec<usize> = (0..names.len())
        .filter(|&k| names[k] != RBC && names[k] != PLATELET)
        .collect();
    let wbc = |v: &[f64]| -> f64 { wbc_names.iter().map(|&k| v[k]).sum() };
    let platelet = names.iter().position(|n| n == PLATELET);
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
    let table = res
        .species
        .iter()
        .map(|sp| {
            let mut s = SpeciesSummary::from_census(
                &buffycoat_sediment::census::SpeciesCensus {
                    min_radius: f64::NAN,
                    max_radius: f64::NAN,
                    mean_radius: f64::NAN,
                    ..Default::default()
                },
                sp.per_ul,
                f64::NAN,
            );
            s.cells_represented = None;
            s.volume_fraction = sp.volume_fraction;
            (sp.species.name.clone(), s)
        })
        .collect();
    RunSummary {
        program: Default::default(),
        scenario: scn.path.clone(),
        output,
        seed: res.seed,
        threads,
        model: "hindered".into(),
        geometry: "channel".into(),
        duration_s: last.time,
        wall_time_s: start.elapsed().as_secs_f64(),
        particle_steps: 0,
        particle_steps_per_second: 0.0,
        dt_s: res.procedure.as_ref().map_or(0.0, |p| p.procedure.step),
        max_particle_reynolds: f64::NAN,
        species: SpeciesTable(table),
        layers: None,
        channel: None,
        procedure: Some(procedure),
    }
}
