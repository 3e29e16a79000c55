//! Run summaries: a table for people and `SUMMARY.json` for programs.
//!
//! JSON keys (stable; later versions only add keys):
//!
//! ```json
//! {
//!   "program": {"name": "buffycoat", "version": "0.1.0", "git_commit": "…"},
//!   "scenario": "path.toml", "output": "out.h5", "seed": 7, "threads": 2,
//!   "model": "overdamped", "geometry": "tube",
//!   "duration_s": 20.0, "wall_time_s": 0.1, "particle_steps": 123, "particle_steps_per_second": 1e9,
//!   "dt_s": 0.005, "max_particle_reynolds": 1e-3,
//!   "species": {"probe": {"count": 1000, "pelleted_fraction": 0.4, "floated_fraction": 0.0,
//!               "wall_fraction": 0.1, "mean_radius_m": 0.14, "min_radius_m": 0.13, "max_radius_m": 0.16,
//!               "per_ul": null, "cells_represented": null}}
//! }
//! ```

use buffycoat_sediment::census::SpeciesCensus;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Program identification.
#[derive(Debug, Clone, Serialize)]
pub struct Program {
    /// "buffycoat"
    pub name: &'static str,
    /// version
    pub version: &'static str,
    /// git commit
    pub git_commit: &'static str,
}

impl Default for Program {
    fn default() -> Self {
        Self {
            name: "buffycoat",
            version: crate::VERSION,
            git_commit: crate::GIT_COMMIT,
        }
    }
}

/// One species' outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SpeciesSummary {
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
    pub per_ul: Option<f64>,
    /// real cells represented by the tracers (blood compositions): per_ul × sample volume
    pub cells_represented: Option<f64>,
    /// initial volume fraction (hindered model)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_fraction: Option<f64>,
    /// fraction of the species' cells in [plasma, buffy coat, red cells] from the field
    /// (hindered model)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_fractions: Option<[f64; 3]>,
    /// the same from the tracer cells' final positions (hindered model)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracer_layer_fractions: Option<[f64; 3]>,
    /// share of the species' tracer cells leaving through [plasma, collect, red-cell port]
    /// (channel)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracer_port_fractions: Option<[f64; 3]>,
}

impl SpeciesSummary {
    /// From a census; `per_ul` and the sample volume (µL) for blood compositions.
    pub fn from_census(c: &SpeciesCensus, per_ul: Option<f64>, sample_volume_ul: f64) -> Self {
        Self {
            count: c.count,
            pelleted_fraction: c.pelleted_fraction(),
            floated_fraction: c.floated_fraction(),
            wall_fraction: c.wall_fraction(),
            mean_radius_m: c.mean_radius,
            min_radius_m: c.min_radius,
            max_radius_m: c.max_radius,
            per_ul,
            cells_represented: per_ul.map(|p| p * sample_volume_ul),
            volume_fraction: None,
            layer_fractions: None,
            tracer_layer_fractions: None,
            tracer_port_fractions: None,
        }
    }
}

/// Species in run order, serialised as a JSON object keyed by name.
#[derive(Debug, Clone, Default)]
pub struct SpeciesTable(pub Vec<(String, SpeciesSummary)>);

impl Serialize for SpeciesTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, summary) in &self.0 {
            map.serialize_entry(name, summary)?;
        }
        map.end()
    }
}

/// A list of (name, value) pairs serialised as a JSON object in order.
#[derive(Debug, Clone, Default)]
pub struct NamedValues(pub Vec<(String, f64)>);

impl Serialize for NamedValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, v) in &self.0 {
            map.serialize_entry(name, v)?;
        }
        map.end()
    }
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
    #[serde(serialize_with = "serialize_pairs")]
    pub species: Vec<(String, f64)>,
    /// cells per µL of each species in the layer (plasma only: its purity)
    #[serde(
        serialize_with = "serialize_pairs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub per_ul: Vec<(String, f64)>,
}

fn serialize_pairs<S: Serializer>(pairs: &[(String, f64)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (name, v) in pairs {
        map.serialize_entry(name, v)?;
    }
    map.end()
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
    /// hindrance law
    pub hindrance: String,
    /// radial finite volumes
    pub radial_cells: usize,
    /// field time steps taken
    pub field_steps: u64,
    /// largest relative drift of any class volume (conservation check)
    pub max_volume_drift: f64,
    /// red cells per sedimenting aggregate (1 = single cells)
    pub red_cell_aggregate_cells: f64,
}

/// The summary of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// program identification
    pub program: Program,
    /// scenario file
    pub scenario: PathBuf,
    /// HDF5 output (`null` when none was written)
    pub output: Option<PathBuf>,
    /// RNG seed
    pub seed: u64,
    /// worker threads
    pub threads: usize,
    /// particle model
    pub model: String,
    /// container kind
    pub geometry: String,
    /// simulated time (s)
    pub duration_s: f64,
    /// wall-clock time of the whole run (s)
    pub wall_time_s: f64,
    /// cell-steps taken
    pub particle_steps: u64,
    /// cell-steps per second of advance time
    pub particle_steps_per_second: f64,
    /// nominal step (s)
    pub dt_s: f64,
    /// largest particle Reynolds number seen
    pub max_particle_reynolds: f64,
    /// per-species outcome
    pub species: SpeciesTable,
    /// layers (hindered model)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<LayersSummary>,
    /// ports, collection efficiency, purity (channel); flattened into the top level
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelSummary>,
    /// the end-of-procedure figures (procedure runs)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<ProcedureSummary>,
}

/// When a citrate-rate threshold was first exceeded.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdCrossing {
    /// the threshold (mg/kg/min)
    pub threshold_mg_kg_min: f64,
    /// minutes into the procedure (`null`: never)
    pub crossed_at_min: Option<f64>,
}

/// End-of-procedure figures (`SUMMARY.json` key `"procedure"`).
#[derive(Debug, Clone, Serialize)]
pub struct ProcedureSummary {
    /// why it stopped: blood_volumes, time_limit or product_target:<species>
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
    /// white cells (all species but red cells and platelets) before (cells/µL)
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

/// One port of a channel (`SUMMARY.json` `"ports": {"<port>": …}`).
#[derive(Debug, Clone)]
pub struct PortSummary {
    /// port flow (mL/min)
    pub flow_ml_min: f64,
    /// red-cell volume fraction of the port stream
    pub hematocrit: f64,
    /// per species: (share of its inflow leaving here, cells per µL in the port stream)
    pub species: Vec<(String, (f64, f64))>,
}

impl Serialize for PortSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Entry {
            fraction: f64,
            per_ul: f64,
        }
        struct Species<'a>(&'a [(String, (f64, f64))]);
        impl Serialize for Species<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.len()))?;
                for (name, (fraction, per_ul)) in self.0 {
                    map.serialize_entry(
                        name,
                        &Entry {
                            fraction: *fraction,
                            per_ul: *per_ul,
                        },
                    )?;
                }
                map.end()
            }
        }
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("flow_ml_min", &self.flow_ml_min)?;
        map.serialize_entry("hematocrit", &self.hematocrit)?;
        map.serialize_entry("species", &Species(&self.species))?;
        map.end()
    }
}

/// Product purity by number.
#[derive(Debug, Clone, Serialize)]
pub struct Purity {
    /// share of each species among all collected cells (red cells and platelets included)
    pub all_cells: NamedValues,
    /// share of each species among the collected white (nucleated) cells
    pub white_cells: NamedValues,
}

/// The channel's results (keys at the top level of `SUMMARY.json`).
#[derive(Debug, Clone, Serialize)]
pub struct ChannelSummary {
    /// `"ports": {"plasma": …, "collect": …, "red_cells": …}`
    #[serde(serialize_with = "serialize_ports")]
    pub ports: Vec<(String, PortSummary)>,
    /// `"collection_efficiency": {"<species>": collect fraction}`
    pub collection_efficiency: NamedValues,
    /// product purity
    pub purity: Purity,
    /// fraction of the inflowing platelets in the product
    pub platelet_loss: f64,
    /// number-weighted collection efficiency of lymphocytes and monocytes together
    pub mononuclear_collection_efficiency: f64,
    /// hematocrit of the channel inflow (after anticoagulant)
    pub inlet_hematocrit: f64,
    /// mean residence time L/w̄ (s)
    pub residence_time_s: f64,
    /// outlet radii of the plasma/collect and collect/red-cell cuts (m)
    pub port_split_radius_m: [f64; 2],
    /// "steady" or "transient"
    pub solver: String,
    /// the plasma pump was set by the interface controller
    pub interface_control: bool,
    /// largest |Σ_ports fraction − 1| over species (steady: round-off)
    pub balance_residual: f64,
}

fn serialize_ports<S: Serializer>(
    ports: &[(String, PortSummary)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(ports.len()))?;
    for (name, p) in ports {
        map.serialize_entry(name, p)?;
    }
    map.end()
}

impl RunSummary {
    /// The human-readable table.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{} ({} model, {}): {} s simulated in {:.3} s wall, {} cell-steps ({:.3e} cell-steps/s), dt {:.3e} s, max particle Re {:.2e}\n",
            self.scenario.display(),
            self.model,
            self.geometry,
            self.duration_s,
            self.wall_time_s,
            self.particle_steps,
            self.particle_steps_per_second,
            self.dt_s,
            self.max_particle_reynolds
        ));
        out.push_str(&format!(
            "{:<14} {:>9} {:>10} {:>9} {:>9} {:>12} {:>12} {:>12}\n",
            "species",
            "count",
            "pelleted",
            "floated",
            "on wall",
            "mean r [m]",
            "min r [m]",
            "max r [m]"
        ));
        for (name, s) in &self.species.0 {
            out.push_str(&format!(
                "{:<14} {:>9} {:>9.2}% {:>8.2}% {:>8.2}% {:>12.6} {:>12.6} {:>12.6}\n",
                name,
                s.count,
                100.0 * s.pelleted_fraction,
                100.0 * s.floated_fraction,
                100.0 * s.wall_fraction,
                s.mean_radius_m,
                s.min_radius_m,
                s.max_radius_m
            ));
        }
        if let Some(l) = &self.layers {
            out.push_str(&format!(
                "layers ({}, {} radial cells, {} steps, max volume drift {:.1e}):\n",
                l.hindrance, l.radial_cells, l.field_steps, l.max_volume_drift
            ));
            out.push_str(&format!(
                "{:<12} {:>10} {:>10} {:>8}",
                "layer", "from [m]", "to [m]", "Hct"
            ));
            for (name, _) in &l.plasma.species {
                out.push_str(&format!(" {:>11}", name));
            }
            out.push('\n');
            for (label, layer) in [
                ("plasma", &l.plasma),
                ("buffy coat", &l.buffy_coat),
                ("red cells", &l.red_cells),
            ] {
                out.push_str(&format!(
                    "{:<12} {:>10.5} {:>10.5} {:>8.3}",
                    label, layer.inner_radius_m, layer.outer_radius_m, layer.hematocrit
                ));
                for (_, f) in &layer.species {
                    out.push_str(&format!(" {:>10.2}%", 100.0 * f));
                }
                out.push('\n');
            }
            if !l.plasma.per_ul.is_empty() {
                out.push_str("plasma purity [cells/µL]:");
                for (name, c) in &l.plasma.per_ul {
                    out.push_str(&format!(" {name} {c:.3e}"));
                }
                out.push('\n');
            }
        }
        if let Some(c) = &self.channel {
            out.push_str(&format!(
                "channel ({}): residence time {:.1} s, inlet hematocrit {:.3}, species balance residual {:.1e}\n",
                c.solver, c.residence_time_s, c.inlet_hematocrit, c.balance_residual
            ));
            out.push_str(&format!("{:<12} {:>10} {:>7}", "port", "mL/min", "Hct"));
            for (name, _) in &c.collection_efficiency.0 {
                out.push_str(&format!(" {:>11}", name));
            }
            out.push('\n');
            for (name, p) in &c.ports {
                out.push_str(&format!(
                    "{:<12} {:>10.3} {:>7.3}",
                    name, p.flow_ml_min, p.hematocrit
                ));
                for (_, (f, _)) in &p.species {
                    out.push_str(&format!(" {:>10.2}%", 100.0 * f));
                }
                out.push('\n');
            }
            out.push_str("collection efficiency:");
            for (name, v) in &c.collection_efficiency.0 {
                out.push_str(&format!(" {name} {:.1}%", 100.0 * v));
            }
            out.push_str(&format!(
                "\nmononuclear cells (lymphocytes + monocytes): {:.1}%\n",
                100.0 * c.mononuclear_collection_efficiency
            ));
            out.push_str("product purity, white cells:");
            for (name, v) in &c.purity.white_cells.0 {
                if *v > 0.0 {
                    out.push_str(&format!(" {name} {:.1}%", 100.0 * v));
                }
            }
            out.push_str("\nproduct purity, all cells:");
            for (name, v) in &c.purity.all_cells.0 {
                out.push_str(&format!(" {name} {:.2}%", 100.0 * v));
            }
            out.push_str(&format!(
                "\nplatelet loss: {:.1}%\n",
                100.0 * c.platelet_loss
            ));
        }
        if let Some(p) = &self.procedure {
            out.push_str(&format!(
                "procedure: stopped on {} after {:.1} min, {:.0} mL processed = {:.2} blood volumes (TBV {:.0} mL); {} channel solves\n",
                p.stop_reason, p.duration_min, p.processed_volume_ml, p.blood_volumes_processed, p.total_blood_volume_ml, p.separator_evaluations
            ));
            out.push_str(&format!(
                "white count {:.4e} → {:.4e} /µL ({:.1} % reduction); hematocrit {:.3} → {:.3}; platelet loss {:.1} %\n",
                p.white_count_pre_per_ul,
                p.white_count_post_per_ul,
                100.0 * p.white_count_reduction,
                p.hematocrit_pre,
                p.hematocrit_post,
                100.0 * p.platelet_loss
            ));
            out.push_str(&format!(
                "{:<12} {:>12} {:>12} {:>10} {:>12} {:>12} {:>8} {:>8}\n",
                "species",
                "pre [/µL]",
                "post [/µL]",
                "reduction",
                "product",
                "per kg",
                "CE2",
                "CE1"
            ));
            for (k, (name, pre)) in p.patient_pre_per_ul.0.iter().enumerate() {
                out.push_str(&format!(
                    "{:<12} {:>12.4e} {:>12.4e} {:>9.1}% {:>12.4e} {:>12.4e} {:>7.1}% {:>7.1}%\n",
                    name,
                    pre,
                    p.patient_post_per_ul.0[k].1,
                    100.0 * p.patient_reduction.0[k].1,
                    p.product_cells.0[k].1,
                    p.product_cells_per_kg.0[k].1,
                    100.0 * p.ce2.0[k].1,
                    100.0 * p.ce1.0[k].1
                ));
            }
            out.push_str(&format!(
                "product: {:.1} mL, hematocrit {:.3}; citrate {:.2} mg/kg/min, {:.0} mg/kg in all",
                p.product_volume_ml,
                p.product_hematocrit,
                p.citrate_rate_mg_kg_min,
                p.citrate_dose_mg_kg
            ));
            for c in &p.citrate_thresholds {
                match c.crossed_at_min {
                    Some(t) => out.push_str(&format!(
                        "; above {} mg/kg/min from {:.0} min",
                        c.threshold_mg_kg_min, t
                    )),
                    None => out.push_str(&format!("; below {} mg/kg/min", c.threshold_mg_kg_min)),
                }
            }
            out.push('\n');
            if let Some(c) = p.cd34_per_kg {
                out.push_str(&format!("CD34+ cells in the product: {c:.3e} per kg\n"));
            }
        }
        if let Some(path) = &self.output {
            out.push_str(&format!("output: {}\n", path.display()));
        }
        out
    }
}

/// Writes `value` as pretty JSON to `path` atomically (temporary file, then rename), so a
/// reader never sees a half-written summary.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "summary.json".into());
    let tmp = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut file, value).map_err(std::io::Error::other)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
