//! Run outcomes and their summaries: a text for people (numbers rounded) and `SUMMARY.json` for
//! programs (full precision). Each model reports what it computes and nothing else: no
//! placeholders, no other model's fields.
//!
//! JSON keys (stable; later versions only add keys). Every run:
//!
//! ```json
//! {"program": {"name": "buffycoat", "version": "0.1.0", "git_commit": "…"},
//!  "scenario": "path.toml", "output": "out.h5", "seed": 7, "threads": 2,
//!  "model": "overdamped", "geometry": "tube", "duration_s": 20.0, "wall_time_s": 0.1, …}
//! ```
//!
//! - particles (`model` = overdamped, inertial): `particle_steps`, `particle_steps_per_second`,
//!   `dt_s`, `max_particle_reynolds`, `species.<name>` = {`count`, `pelleted_fraction`,
//!   `floated_fraction`, `wall_fraction`, `mean_radius_m`, `min_radius_m`, `max_radius_m`,
//!   `per_ul`, `cells_represented`};
//! - hindered (`model` = hindered, `geometry` = tube, sector): `particle_steps` (tracer cell
//!   steps), `particle_steps_per_second`, `dt_s` (mean field step), `species.<name>` =
//!   {`count`, `pelleted_fraction`, radii, `per_ul`, `cells_represented`, `volume_fraction`,
//!   `layer_fractions`, `tracer_layer_fractions`}, `layers`;
//! - channel (`model` = hindered, `geometry` = channel): `species.<name>` = {`count`,
//!   `per_ul`, `volume_fraction`, and with tracers `pelleted_fraction` (reached the outer wall),
//!   exit radii, `tracer_port_fractions`}, `ports`, `collection_efficiency`, `purity`,
//!   `platelet_loss`, `mononuclear_collection_efficiency`, `inlet_hematocrit`,
//!   `residence_time_s`, `port_split_radius_m`, `solver`, `interface_control`,
//!   `collect_hematocrit_setpoint` (only with that control), `balance_residual`;
//! - procedure (`model` = hindered, `geometry` = channel): `species.<name>` = {`per_ul`,
//!   `volume_fraction`}, `procedure`.

use crate::provenance::{Program, Provenance};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Named entries in run order, serialised as a JSON object keyed by name.
#[derive(Debug, Clone, Default)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, v) in &self.0 {
            map.serialize_entry(name, v)?;
        }
        map.end()
    }
}

impl<T> Named<T> {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// Per-species numbers serialised as an object.
pub type NamedValues = Named<f64>;

/// The outcome of a run: provenance, then the model's own results.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// program identification
    pub program: Program,
    /// scenario file (or the label of a set-up built in code)
    pub scenario: PathBuf,
    /// HDF5 output (`null` when none was written)
    pub output: Option<PathBuf>,
    /// RNG seed
    pub seed: u64,
    /// worker threads
    pub threads: usize,
    /// wall-clock time of the whole run (s)
    pub wall_time_s: f64,
    /// the model's results
    #[serde(flatten)]
    pub model: ModelOutcome,
}

/// The results of one model.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ModelOutcome {
    /// free tracer cells
    Particles(ParticleOutcome),
    /// hindered settling fields
    Hindered(HinderedOutcome),
    /// the channel
    Channel(ChannelOutcome),
    /// a procedure
    Procedure(ProcedureOutcome),
}

/// One species' census of a particle run.
#[derive(Debug, Clone, Serialize)]
pub struct ParticleSpecies {
    /// tracer cells
    pub count: usize,
    /// fraction pelleted at the bottom
    pub pelleted_fraction: f64,
    /// fraction floated at the meniscus
    pub floated_fraction: f64,
    /// fraction touching a side wall
    pub wall_fraction: f64,
    /// mean radial coordinate (m)
    pub mean_radius_m: f64,
    /// smallest radial coordinate (m)
    pub min_radius_m: f64,
    /// largest radial coordinate (m)
    pub max_radius_m: f64,
    /// real cells per µL (blood compositions)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_ul: Option<f64>,
    /// real cells represented by the tracers (blood compositions): per_ul × sample volume
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cells_represented: Option<f64>,
}

/// A particle run (overdamped or inertial).
#[derive(Debug, Clone, Serialize)]
pub struct ParticleOutcome {
    /// `overdamped` or `inertial`
    pub model: &'static str,
    /// `tube` or `sector`
    pub geometry: &'static str,
    /// simulated time (s)
    pub duration_s: f64,
    /// cell-steps taken
    pub particle_steps: u64,
    /// cell-steps per second of advance time
    pub particle_steps_per_second: f64,
    /// nominal step (s)
    pub dt_s: f64,
    /// largest particle Reynolds number seen
    pub max_particle_reynolds: f64,
    /// per-species census
    pub species: Named<ParticleSpecies>,
}

/// Radial extent of a group of tracer cells (m).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct RadialExtent {
    /// mean (m)
    pub mean_radius_m: f64,
    /// smallest (m)
    pub min_radius_m: f64,
    /// largest (m)
    pub max_radius_m: f64,
}

impl RadialExtent {
    /// Of `radii`; `None` when empty.
    pub fn of(radii: impl Iterator<Item = f64>) -> Option<Self> {
        let (mut n, mut sum, mut lo, mut hi) = (0usize, 0.0, f64::INFINITY, f64::NEG_INFINITY);
        for r in radii {
            n += 1;
            sum += r;
            lo = lo.min(r);
            hi = hi.max(r);
        }
        (n > 0).then(|| Self {
            mean_radius_m: sum / n as f64,
            min_radius_m: lo,
            max_radius_m: hi,
        })
    }
}

/// One species of a hindered run.
#[derive(Debug, Clone, Serialize)]
pub struct HinderedSpecies {
    /// tracer cells
    pub count: usize,
    /// fraction of the tracers pelleted (absent without tracers)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pelleted_fraction: Option<f64>,
    /// where the tracers ended (absent without tracers)
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub radii: Option<RadialExtent>,
    /// real cells per µL (blood compositions)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_ul: Option<f64>,
    /// real cells represented by the tracers (blood compositions)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cells_represented: Option<f64>,
    /// initial volume fraction
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_fraction: Option<f64>,
    /// fraction of the species' cells in [plasma, buffy coat, red cells] from the field
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_fractions: Option<[f64; 3]>,
    /// the same from the tracer cells' final positions
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracer_layer_fractions: Option<[f64; 3]>,
}

/// One layer of a hindered run at the end.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    /// inner boundary (m)
    pub inner_radius_m: f64,
    /// outer boundary (m)
    pub outer_radius_m: f64,
    /// mean red-cell volume fraction in the layer
    pub hematocrit: f64,
    /// fraction of each species' cells in this layer
    pub species: NamedValues,
    /// cells per µL of each species in the layer (plasma only: its purity)
    #[serde(skip_serializing_if = "Named::is_empty")]
    pub per_ul: NamedValues,
}

impl<T> Named<T> {
    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The layers of a hindered run at the end (`SUMMARY.json` key `"layers"`).
#[derive(Debug, Clone, Serialize)]
pub struct LayersSummary {
    /// plasma layer
    pub plasma: LayerSummary,
    /// buffy coat
    pub buffy_coat: LayerSummary,
    /// packed red cells
    pub red_cells: LayerSummary,
    /// mean red-cell volume fraction of the red-cell layer (as the field solver reports it)
    pub red_layer_hematocrit: f64,
    /// hindrance law, e.g. `Richardson–Zaki (n = 4.65, φmax = 0.9)`
    pub hindrance: String,
    /// radial finite volumes
    pub radial_cells: usize,
    /// field time steps taken
    pub field_steps: u64,
    /// implicit scheme: steps rejected by the error control or a failed Newton solve (0 for
    /// the explicit scheme)
    pub rejected_steps: u64,
    /// implicit scheme: Newton iterations (linear solves) of all attempted steps (0 for the
    /// explicit scheme)
    pub newton_iterations: u64,
    /// implicit scheme: Jacobian factorisations (0 for the explicit scheme)
    pub jacobian_factorizations: u64,
    /// implicit scheme with `grid.minor_classes = "split"`: minor classes promoted to the Newton
    /// solve on evidence of blocking (docs/physics.md §9.2; 0 otherwise)
    pub promoted_minor_classes: u64,
    /// largest relative drift of any class volume (conservation check)
    pub max_volume_drift: f64,
    /// red cells per sedimenting aggregate (1 = single cells)
    pub red_cell_aggregate_cells: f64,
}

/// A hindered run (tube or sector).
#[derive(Debug, Clone, Serialize)]
pub struct HinderedOutcome {
    /// `hindered`
    pub model: &'static str,
    /// `tube` or `sector`
    pub geometry: &'static str,
    /// simulated time (s)
    pub duration_s: f64,
    /// tracer cell-steps (tracers × field steps)
    pub particle_steps: u64,
    /// tracer cell-steps per second of advance time
    pub particle_steps_per_second: f64,
    /// mean field step (s)
    pub dt_s: f64,
    /// per species
    pub species: Named<HinderedSpecies>,
    /// the layers at the end
    pub layers: LayersSummary,
}

/// One port of a channel (`SUMMARY.json` `"ports": {"<port>": …}`).
#[derive(Debug, Clone, Serialize)]
pub struct PortSummary {
    /// port flow (mL/min)
    pub flow_ml_min: f64,
    /// red-cell volume fraction of the port stream (absent for a suspension without red cells)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hematocrit: Option<f64>,
    /// per species: share of its inflow leaving here, cells per µL in the port stream
    pub species: Named<PortSpeciesSummary>,
}

/// One species at one port.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PortSpeciesSummary {
    /// share of the species' inflow leaving through the port
    pub fraction: f64,
    /// cells per µL in the port stream
    pub per_ul: f64,
}

/// Product purity by number.
#[derive(Debug, Clone, Serialize)]
pub struct Purity {
    /// share of each species among all collected cells (red cells and platelets included)
    pub all_cells: NamedValues,
    /// share of each species among the collected white (nucleated) cells (absent for a
    /// suspension without white cells)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub white_cells: Option<NamedValues>,
}

/// One species of a channel run.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelSpecies {
    /// tracer cells
    pub count: usize,
    /// real cells per µL of the undiluted blood
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_ul: Option<f64>,
    /// volume fraction in the undiluted blood
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_fraction: Option<f64>,
    /// share of the tracers that reached the outer wall (steady; absent without tracers)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pelleted_fraction: Option<f64>,
    /// outlet radii of the tracers (steady; absent without tracers)
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub radii: Option<RadialExtent>,
    /// share of the tracers leaving through [plasma, collect, red-cell port]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracer_port_fractions: Option<[f64; 3]>,
}

/// A channel run.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelOutcome {
    /// `hindered` (the channel's settling model)
    pub model: &'static str,
    /// `channel`
    pub geometry: &'static str,
    /// simulated time (s): the transient's duration, or the steady residence time
    pub duration_s: f64,
    /// per species
    pub species: Named<ChannelSpecies>,
    /// `"ports": {"plasma": …, "collect": …, "red_cells": …}`
    pub ports: Named<PortSummary>,
    /// `"collection_efficiency": {"<species>": collect fraction}`
    pub collection_efficiency: NamedValues,
    /// product purity
    pub purity: Purity,
    /// fraction of the inflowing platelets in the product (absent without platelets)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platelet_loss: Option<f64>,
    /// number-weighted collection efficiency of lymphocytes and monocytes together (absent
    /// when neither is present)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mononuclear_collection_efficiency: Option<f64>,
    /// hematocrit of the channel inflow (after anticoagulant; absent without red cells)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inlet_hematocrit: Option<f64>,
    /// the along-channel velocity profile: `plug`, `laminar` or `viscous`
    pub flow_profile: &'static str,
    /// bed consolidation (effective solid stress) was on in the channel's column step
    pub consolidation: bool,
    /// mean residence time L/w̄ (s)
    pub residence_time_s: f64,
    /// outlet radii of the plasma/collect and collect/red-cell cuts (m)
    pub port_split_radius_m: [f64; 2],
    /// "steady" or "transient"
    pub solver: &'static str,
    /// the plasma pump was set by the interface controller
    pub interface_control: bool,
    /// the collect-hematocrit set-point the plasma pump held (absent without that control)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collect_hematocrit_setpoint: Option<f64>,
    /// largest |Σ_ports fraction − 1| over species (steady: round-off)
    pub balance_residual: f64,
}

/// When a citrate-rate threshold was first exceeded.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdCrossing {
    /// the threshold (mg/kg/min)
    pub threshold_mg_kg_min: f64,
    /// minutes into the procedure (`null`: never)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crossed_at_min: Option<f64>,
}

/// End-of-procedure figures (`SUMMARY.json` key `"procedure"`).
#[derive(Debug, Clone, Serialize)]
pub struct ProcedureSummary {
    /// why it stopped: `blood_volumes`, `time_limit` or `product_target:<species>`
    pub stop_reason: String,
    /// duration (min)
    pub duration_min: f64,
    /// whole blood processed (mL)
    pub processed_volume_ml: f64,
    /// the patient's total blood volume (Nadler) (mL)
    pub total_blood_volume_ml: f64,
    /// processed volume / total blood volume
    pub blood_volumes_processed: f64,
    /// body weight (kg)
    pub weight_kg: f64,
    /// patient concentrations before (cells/µL)
    pub patient_pre_per_ul: NamedValues,
    /// and after
    pub patient_post_per_ul: NamedValues,
    /// 1 − post/pre per species
    pub patient_reduction: NamedValues,
    /// white cells (every species but red cells and platelets) before (cells/µL)
    pub white_count_pre_per_ul: f64,
    /// and after
    pub white_count_post_per_ul: f64,
    /// 1 − post/pre of the white count
    pub white_count_reduction: f64,
    /// patient hematocrit before
    pub hematocrit_pre: f64,
    /// and after
    pub hematocrit_post: f64,
    /// product volume (mL)
    pub product_volume_ml: f64,
    /// product hematocrit
    pub product_hematocrit: f64,
    /// cells in the product per species
    pub product_cells: NamedValues,
    /// cells in the product per kg body weight
    pub product_cells_per_kg: NamedValues,
    /// CD34+ cells per kg in the product (if the patient has CD34+ cells)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cd34_per_kg: Option<f64>,
    /// CE1 per species (Neyrinck 2015)
    pub ce1: NamedValues,
    /// CE2 per species (Neyrinck 2015)
    pub ce2: NamedValues,
    /// fraction of the patient's circulating platelets removed
    pub platelet_loss: f64,
    /// citrate returned to the patient (mg/kg/min)
    pub citrate_rate_mg_kg_min: f64,
    /// cumulative citrate (mg/kg)
    pub citrate_dose_mg_kg: f64,
    /// hypocalcaemia-risk thresholds and when they were crossed
    pub citrate_thresholds: Vec<ThresholdCrossing>,
    /// channel solves
    pub separator_evaluations: usize,
}

/// One species of a procedure: the patient's blood at the start.
#[derive(Debug, Clone, Serialize)]
pub struct ProcedureSpecies {
    /// cells per µL in the patient's blood
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_ul: Option<f64>,
    /// volume fraction in the patient's blood
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_fraction: Option<f64>,
}

/// A procedure.
#[derive(Debug, Clone, Serialize)]
pub struct ProcedureOutcome {
    /// `hindered` (the channel's settling model)
    pub model: &'static str,
    /// `channel`
    pub geometry: &'static str,
    /// procedure time (s)
    pub duration_s: f64,
    /// per species
    pub species: Named<ProcedureSpecies>,
    /// the end-of-procedure figures
    pub procedure: ProcedureSummary,
}

/// A number for people: `digits` significant digits, plain notation between 10⁻⁴ and 10⁶,
/// scientific outside, trailing zeros removed (`110.8`, `0.02`, `1.2e-7`, `0`).
pub fn human(x: f64, digits: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if (1e-4..1e6).contains(&a) {
        let decimals = (digits as i32 - 1 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        let s = format!("{:.*e}", digits.saturating_sub(1), x);
        match s.split_once('e') {
            Some((m, e)) if m.contains('.') => {
                format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => s,
        }
    }
}

/// A fraction as a percentage with one decimal (`12.3%`).
fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

impl Outcome {
    /// The outcome of a run that started at `start`, with provenance from `provenance`.
    pub fn new(
        provenance: &Provenance,
        output: Option<PathBuf>,
        seed: u64,
        threads: usize,
        start: Instant,
        model: ModelOutcome,
    ) -> Self {
        Self {
            program: provenance.program.clone(),
            scenario: provenance.scenario_path.clone(),
            output,
            seed,
            threads,
            wall_time_s: start.elapsed().as_secs_f64(),
            model,
        }
    }

    /// The human-readable summary of the model's results.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let scenario = self.scenario.display();
        let wall = human(self.wall_time_s, 3);
        match &self.model {
            ModelOutcome::Particles(p) => p.write_text(&mut out, &scenario.to_string(), &wall),
            ModelOutcome::Hindered(h) => h.write_text(&mut out, &scenario.to_string(), &wall),
            ModelOutcome::Channel(c) => c.write_text(&mut out, &scenario.to_string(), &wall),
            ModelOutcome::Procedure(p) => p.write_text(&mut out, &scenario.to_string(), &wall),
        }
        if let Some(path) = &self.output {
            let _ = writeln!(out, "output: {}", path.display());
        }
        out
    }
}

impl ParticleOutcome {
    fn write_text(&self, out: &mut String, scenario: &str, wall: &str) {
        let _ = writeln!(
            out,
            "{scenario} ({} model, {}): {} s simulated in {wall} s wall, {} cell-steps ({} cell-steps/s), dt {} s, max particle Re {}",
            self.model,
            self.geometry,
            human(self.duration_s, 4),
            self.particle_steps,
            human(self.particle_steps_per_second, 3),
            human(self.dt_s, 3),
            human(self.max_particle_reynolds, 2),
        );
        let _ = writeln!(
            out,
            "{:<14} {:>9} {:>10} {:>9} {:>9} {:>12} {:>12} {:>12}",
            "species",
            "count",
            "pelleted",
            "floated",
            "on wall",
            "mean r [mm]",
            "min r [mm]",
            "max r [mm]"
        );
        for (name, s) in &self.species.0 {
            let _ = writeln!(
                out,
                "{:<14} {:>9} {:>9.2}% {:>8.2}% {:>8.2}% {:>12.3} {:>12.3} {:>12.3}",
                name,
                s.count,
                100.0 * s.pelleted_fraction,
                100.0 * s.floated_fraction,
                100.0 * s.wall_fraction,
                1e3 * s.mean_radius_m,
                1e3 * s.min_radius_m,
                1e3 * s.max_radius_m
            );
        }
    }
}

impl HinderedOutcome {
    fn write_text(&self, out: &mut String, scenario: &str, wall: &str) {
        let l = &self.layers;
        let _ = writeln!(
            out,
            "{scenario} (hindered model, {}): {} s simulated in {wall} s wall; {}, {} radial cells, {} field steps (mean step {} s), max volume drift {}",
            self.geometry,
            human(self.duration_s, 4),
            l.hindrance,
            l.radial_cells,
            l.field_steps,
            human(self.dt_s, 3),
            human(l.max_volume_drift, 2),
        );
        if l.red_cell_aggregate_cells > 1.0 {
            let _ = writeln!(
                out,
                "red cells settle as aggregates of {} cells",
                human(l.red_cell_aggregate_cells, 3)
            );
        }
        let _ = write!(
            out,
            "{:<12} {:>9} {:>9} {:>6}",
            "layer", "from [mm]", "to [mm]", "Hct"
        );
        for (name, _) in &l.plasma.species.0 {
            let _ = write!(out, " {name:>11}");
        }
        out.push('\n');
        for (label, layer) in [
            ("plasma", &l.plasma),
            ("buffy coat", &l.buffy_coat),
            ("red cells", &l.red_cells),
        ] {
            let _ = write!(
                out,
                "{:<12} {:>9.3} {:>9.3} {:>6.3}",
                label,
                1e3 * layer.inner_radius_m,
                1e3 * layer.outer_radius_m,
                layer.hematocrit
            );
            for (_, f) in &layer.species.0 {
                let _ = write!(out, " {:>10.2}%", 100.0 * f);
            }
            out.push('\n');
        }
        if !l.plasma.per_ul.is_empty() {
            out.push_str("plasma purity [cells/µL]:");
            for (name, c) in &l.plasma.per_ul.0 {
                let _ = write!(out, " {name} {}", human(*c, 3));
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{:<14} {:>9} {:>10} {:>28}",
            "tracers", "count", "pelleted", "plasma / buffy / red [%]"
        );
        for (name, s) in &self.species.0 {
            let layers = s.tracer_layer_fractions.map_or_else(
                || "–".to_string(),
                |f| {
                    format!(
                        "{:.1} / {:.1} / {:.1}",
                        100.0 * f[0],
                        100.0 * f[1],
                        100.0 * f[2]
                    )
                },
            );
            let pelleted = s.pelleted_fraction.map_or_else(|| "–".into(), pct);
            let _ = writeln!(out, "{name:<14} {:>9} {pelleted:>10} {layers:>28}", s.count);
        }
    }
}

impl ChannelOutcome {
    fn write_text(&self, out: &mut String, scenario: &str, wall: &str) {
        let _ = writeln!(
            out,
            "{scenario} (channel, {}, {} flow): residence time {} s, inlet hematocrit {}, species balance residual {}, {wall} s wall{}",
            self.solver,
            self.flow_profile,
            human(self.residence_time_s, 4),
            self.inlet_hematocrit
                .map_or_else(|| "–".into(), |h| format!("{h:.3}")),
            human(self.balance_residual, 2),
            match (self.interface_control, self.collect_hematocrit_setpoint) {
                (true, _) => ", plasma pump set by the interface controller".to_string(),
                (false, Some(h)) => format!(", plasma pump holds the collect hematocrit at {h:.3}"),
                (false, None) => String::new(),
            }
        );
        let _ = write!(out, "{:<12} {:>8} {:>6}", "port", "mL/min", "Hct");
        for (name, _) in &self.collection_efficiency.0 {
            let _ = write!(out, " {name:>11}");
        }
        out.push('\n');
        for (name, p) in &self.ports.0 {
            let hct = p
                .hematocrit
                .map_or_else(|| "–".into(), |h| format!("{h:.3}"));
            let _ = write!(out, "{:<12} {:>8.2} {hct:>6}", name, p.flow_ml_min);
            for (_, x) in &p.species.0 {
                let _ = write!(out, " {:>10.2}%", 100.0 * x.fraction);
            }
            out.push('\n');
        }
        out.push_str("collection efficiency:");
        for (name, v) in &self.collection_efficiency.0 {
            let _ = write!(out, " {name} {}", pct(*v));
        }
        out.push('\n');
        if let Some(mnc) = self.mononuclear_collection_efficiency {
            let _ = writeln!(
                out,
                "mononuclear cells (lymphocytes + monocytes): {}",
                pct(mnc)
            );
        }
        if let Some(white) = &self.purity.white_cells {
            out.push_str("product purity, white cells:");
            for (name, v) in &white.0 {
                if *v > 0.0 {
                    let _ = write!(out, " {name} {}", pct(*v));
                }
            }
            out.push('\n');
        }
        out.push_str("product purity, all cells:");
        for (name, v) in &self.purity.all_cells.0 {
            let _ = write!(out, " {name} {:.2}%", 100.0 * v);
        }
        out.push('\n');
        if let Some(loss) = self.platelet_loss {
            let _ = writeln!(out, "platelet loss: {}", pct(loss));
        }
        let tracers: Vec<_> = self
            .species
            .0
            .iter()
            .filter_map(|(n, s)| s.tracer_port_fractions.map(|f| (n, s.count, f)))
            .collect();
        if !tracers.is_empty() {
            out.push_str("tracer cells leaving by port (plasma / collect / red cells):");
            for (name, count, f) in tracers {
                let _ = write!(
                    out,
                    " {name} ({count}) {:.1} / {:.1} / {:.1}%;",
                    100.0 * f[0],
                    100.0 * f[1],
                    100.0 * f[2]
                );
            }
            if out.ends_with(';') {
                out.pop();
            }
            out.push('\n');
        }
    }
}

impl ProcedureOutcome {
    fn write_text(&self, out: &mut String, scenario: &str, wall: &str) {
        let p = &self.procedure;
        let _ = writeln!(
            out,
            "{scenario} (procedure, {wall} s wall)\nprocedure: stopped on {} after {:.1} min, {:.0} mL processed = {:.2} blood volumes (TBV {:.0} mL); {} channel solves",
            p.stop_reason,
            p.duration_min,
            p.processed_volume_ml,
            p.blood_volumes_processed,
            p.total_blood_volume_ml,
            p.separator_evaluations
        );
        let _ = writeln!(
            out,
            "white count {} → {} /µL ({} reduction); hematocrit {:.3} → {:.3}; platelet loss {}",
            human(p.white_count_pre_per_ul, 4),
            human(p.white_count_post_per_ul, 4),
            pct(p.white_count_reduction),
            p.hematocrit_pre,
            p.hematocrit_post,
            pct(p.platelet_loss)
        );
        let _ = writeln!(
            out,
            "{:<12} {:>11} {:>11} {:>10} {:>11} {:>11} {:>7} {:>7}",
            "species", "pre [/µL]", "post [/µL]", "reduction", "product", "per kg", "CE2", "CE1"
        );
        for (k, (name, pre)) in p.patient_pre_per_ul.0.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<12} {:>11} {:>11} {:>10} {:>11} {:>11} {:>7} {:>7}",
                name,
                human(*pre, 4),
                human(p.patient_post_per_ul.0[k].1, 4),
                pct(p.patient_reduction.0[k].1),
                human(p.product_cells.0[k].1, 4),
                human(p.product_cells_per_kg.0[k].1, 4),
                pct(p.ce2.0[k].1),
                pct(p.ce1.0[k].1)
            );
        }
        let _ = write!(
            out,
            "product: {:.1} mL, hematocrit {:.3}; citrate {:.2} mg/kg/min, {:.0} mg/kg in all",
            p.product_volume_ml,
            p.product_hematocrit,
            p.citrate_rate_mg_kg_min,
            p.citrate_dose_mg_kg
        );
        for c in &p.citrate_thresholds {
            match c.crossed_at_min {
                Some(t) => {
                    let _ = write!(
                        out,
                        "; above {} mg/kg/min from {:.0} min",
                        human(c.threshold_mg_kg_min, 3),
                        t
                    );
                }
                None => {
                    let _ = write!(out, "; below {} mg/kg/min", human(c.threshold_mg_kg_min, 3));
                }
            }
        }
        out.push('\n');
        if let Some(c) = p.cd34_per_kg {
            let _ = writeln!(out, "CD34+ cells in the product: {} per kg", human(c, 4));
        }
    }
}

/// Writes `value` as pretty JSON to `path` atomically ([`buffycoat_h5::atomic::write_atomic`]),
/// so a reader never sees a half-written summary.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    buffycoat_h5::atomic::write_atomic(path, |file| {
        serde_json::to_writer_pretty(&mut *file, value).map_err(std::io::Error::other)?;
        std::io::Write::write_all(file, b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn numbers_for_people() {
        assert_eq!(human(110.76923076923012, 4), "110.8");
        assert_eq!(human(54.166666666666664, 4), "54.17");
        assert_eq!(human(0.02, 3), "0.02");
        assert_eq!(human(1.234e-7, 3), "1.23e-7");
        assert_eq!(human(2.5e9, 3), "2.5e9");
        assert_eq!(human(0.0, 3), "0");
        assert_eq!(human(-3.0, 3), "-3");
    }
}
