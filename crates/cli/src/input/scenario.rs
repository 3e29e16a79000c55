//! The scenario file: schema (serde, every table denies unknown keys), checks with allowed
//! ranges, and resolution into SI values for the solvers.
//!
//! ```toml
//! version = 1                  # format version (required; only 1 exists)
//! [run]
//! duration_s = 20.0            # simulated time (s), (0, 1e7]
//! output_interval_s = 1.0      # time between frames (s), (0, duration_s]
//! seed = 7                     # RNG seed (0 ≤ seed < 2⁶⁴), default 0
//! dt_s = 0.01                  # optional fixed step (s); default automatic
//! [rotor]
//! rpm = 2400.0                 # constant speed, [0, 150000]; or
//! # profile = [{ time_s = 0, rpm = 0 }, { time_s = 30, rpm = 2400 }]   piecewise linear
//! # ramp_s = 30  brake_s = 20  # with `rpm`: linear ramp from rest, brake to rest at the end
//! [geometry]
//! kind = "tube"                # r_min_m, r_max_m, radius_m
//! # kind = "sector"            # r_min_m, r_max_m, angle_deg, height_m
//! [fluid]                      # default: plasma at 37 °C
//! density_kg_m3 = 1020.5       # or preset = "plasma_37c" | "plasma_room_temperature"
//! viscosity_pa_s = 1.39e-3
//! [model]
//! kind = "overdamped"          # or "inertial" (rtol = 1e-8 optional)
//! [forces]                     # all optional
//! coriolis = true
//! euler = true
//! gravity = false              # standard gravity along −z
//! drag = "stokes"              # or "schiller_naumann"
//! [[species]]                  # custom: both density_kg_m3 and diameter_m
//! name = "probe"
//! density_kg_m3 = 1082.0       # or { mean = 1082, sd = 4, distribution = "normal" }
//! diameter_m = 9.63e-6         # or { mean, sd, distribution = "normal" | "log_normal" }
//! count = 1000                 # tracer cells, ≥ 1
//! # shape_factor = 1.0
//! # library = "lymphocyte"     # take unspecified properties from the species library
//! [blood]                      # optional whole-blood composition (see README)
//! [output]
//! particle_every = 1           # write particle positions every n-th frame
//! velocities = true
//! # checkpoint_interval_s = 60  # particle, hindered, transient channel and procedure runs:
//! #                             # wall-clock time between checkpoints (`run --resume`
//! #                             # continues); or instead:
//! # checkpoint_every_frames = 10
//! compression = "none"         # or "lzf", "shuffle+lzf", "deflate[:LEVEL]", "shuffle+deflate[:LEVEL]"
//! ```

use buffycoat_engine::summary::human;
use buffycoat_physics::blood::{BlastSpecies, BloodComposition};
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::forces::{DragLaw, ForceSet};
use buffycoat_physics::rotor::{MAX_RPM, RotorProfile};
use buffycoat_physics::species::{Distribution, SizeDistribution, Species, SpeciesLibrary};
use buffycoat_physics::units::{self, STANDARD_GRAVITY};
use buffycoat_sediment::{Geometry, ParticleModel, Sector, Tolerances, Tube};
use serde::Deserialize;
use std::collections::BTreeMap;

use super::quantity::{self, QuantityKey, RawQuantity};

/// The scenario format version this program reads.
pub const SCENARIO_VERSION: i64 = 1;
/// Longest simulated duration accepted (s): about 116 days, far beyond any procedure.
pub const MAX_DURATION_S: f64 = 1e7;
/// Most frames a run may write (duration / output interval).
pub const MAX_FRAMES: f64 = 1e6;
/// Most tracer cells per run.
pub const MAX_CELLS: u64 = 100_000_000;
/// Most integration steps per cell of a particle run with a fixed `run.dt_s`
/// (`run.duration_s / run.dt_s`).
pub const MAX_STEPS_PER_CELL: f64 = 1e8;
/// Most cell-steps of a particle run with a fixed `run.dt_s` (cells × steps): about ten
/// minutes at the measured 2 × 10⁹ cell-steps/s of one core.
pub const MAX_CELL_STEPS: f64 = 1e12;
/// Shortest procedure step (min): a 24-hour procedure then has at most 144 000 samples.
pub const MIN_PROCEDURE_STEP_MIN: f64 = 0.01;
/// Plausible fluid density range (kg/m³): catches g/mL typed as kg/m³.
pub const FLUID_DENSITY_RANGE: (f64, f64) = (500.0, 3000.0);
/// Plausible viscosity range (Pa·s): water at 100 °C (2.8e-4) to glycerol-like 10 Pa·s.
pub const VISCOSITY_RANGE: (f64, f64) = (1e-4, 10.0);
/// Plausible cell density range (kg/m³).
pub const CELL_DENSITY_RANGE: (f64, f64) = (500.0, 3000.0);
/// Plausible cell diameter range (m): 0.1 µm – 200 µm.
pub const CELL_DIAMETER_RANGE: (f64, f64) = (1e-7, 2e-4);
/// Plausible container radii (m): 1 mm to 2 m from the axis.
pub const RADIUS_RANGE: (f64, f64) = (1e-3, 2.0);

// ------------------------------------------------------------------------------------------
// Schema (raw, as written in the file)
// ------------------------------------------------------------------------------------------

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// format version
    pub version: i64,
    /// `[run]`
    pub run: RunSection,
    /// `[rotor]`
    pub rotor: RotorSection,
    /// `[geometry]`
    pub geometry: GeometrySection,
    /// `[fluid]`
    #[serde(default)]
    pub fluid: FluidSection,
    /// `[model]`
    #[serde(default)]
    pub model: ModelSection,
    /// `[forces]`
    #[serde(default)]
    pub forces: ForcesSection,
    /// `[[species]]`
    #[serde(default)]
    pub species: Vec<SpeciesEntry>,
    /// `[blood]`
    pub blood: Option<BloodSection>,
    /// `[output]`
    #[serde(default)]
    pub output: OutputSection,
    /// `[hindrance]` (model.kind = "hindered")
    pub hindrance: Option<HindranceSection>,
    /// `[grid]` (model.kind = "hindered")
    pub grid: Option<GridSection>,
    /// `[layers]` interface thresholds (model.kind = "hindered")
    pub layers: Option<LayersSection>,
    /// `[consolidation]` red-cell bed consolidation (model.kind = "hindered", tube or sector)
    pub consolidation: Option<ConsolidationSection>,
    /// `[inlet]` (channel)
    pub inlet: Option<InletSection>,
    /// `[ports]` (channel)
    pub ports: Option<PortsSection>,
    /// `[flow]` (channel)
    pub flow: Option<FlowSection>,
    /// `[channel]` solver settings (channel)
    pub channel: Option<ChannelSection>,
    /// `[patient]` (procedure)
    pub patient: Option<PatientSection>,
    /// `[procedure]` (procedure)
    pub procedure: Option<ProcedureSection>,
    /// `[roles]` which species are red cells, platelets and white cells (default: the library
    /// names `rbc`, `platelet`, every other species white)
    pub roles: Option<RolesSection>,
}

/// `[roles]`: the cell roles of the run's species (`buffycoat_physics::species::CellRoles`).
/// A suspension of beads or cells in buffer gives `red_cells = []`, `platelets = []` and
/// `white_cells = []` (or the names that are white cells); the blood-specific results (port
/// hematocrit, platelet loss, white-cell purity) are then absent from the summary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesSection {
    /// species names of the red cells (default `["rbc"]`)
    pub red_cells: Option<Vec<String>>,
    /// species names of the platelets (default `["platelet"]`)
    pub platelets: Option<Vec<String>>,
    /// species names of the white cells (default: every species that is neither)
    pub white_cells: Option<Vec<String>>,
}

impl ScenarioFile {
    /// The cell roles of `[roles]` (or the standard ones).
    pub fn cell_roles(&self) -> buffycoat_physics::species::CellRoles {
        let mut roles = buffycoat_physics::species::CellRoles::standard();
        if let Some(r) = &self.roles {
            if let Some(v) = &r.red_cells {
                roles.red_cells.clone_from(v);
            }
            if let Some(v) = &r.platelets {
                roles.platelets.clone_from(v);
            }
            roles.white_cells.clone_from(&r.white_cells);
        }
        roles
    }

    /// Whether the run's suspension has red cells (a `[blood]` or `[patient]` section, or a
    /// `[[species]]` that is a red cell by [`Self::cell_roles`]).
    fn has_red_cells(&self) -> bool {
        let roles = self.cell_roles();
        self.blood
            .as_ref()
            .is_some_and(|b| b.hematocrit.is_none_or(|h| h > 0.0))
            || self.patient.is_some()
            || self.species.iter().any(|s| roles.is_red_cell(&s.name))
    }
}

/// Patient sex for Nadler's blood volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SexKind {
    /// male
    Male,
    /// female
    Female,
}

/// First-order mobilisation of one species from an extravascular pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MobilizationEntry {
    /// release rate (1/min)
    pub rate_per_min: f64,
    /// pool size relative to the initial circulating count
    pub pool_factor: f64,
}

/// `[patient]`: body size and blood count (undiluted).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientSection {
    /// "male" or "female"
    pub sex: SexKind,
    /// height (m)
    pub height_m: f64,
    /// weight (kg)
    pub weight_kg: f64,
    /// hematocrit, or give rbc_per_ul
    pub hematocrit: Option<f64>,
    /// red cells per µL
    pub rbc_per_ul: Option<f64>,
    /// white cells per µL (excluding blasts and CD34+ cells)
    pub wbc_per_ul: Option<f64>,
    /// white-cell differential
    pub differential: Option<BTreeMap<String, f64>>,
    /// platelets per µL
    pub platelets_per_ul: Option<f64>,
    /// blasts per µL
    pub blasts_per_ul: Option<f64>,
    /// "myeloblast" or "lymphoblast"
    pub blast_species: Option<String>,
    /// CD34+ cells per µL
    pub cd34_per_ul: Option<f64>,
    /// optional mobilisation per species, e.g. { cd34 = { rate_per_min = 0.01, pool_factor = 1 } }
    pub mobilization: Option<BTreeMap<String, MobilizationEntry>>,
    /// tracer cells per species for the channel's grade curves (default 0 in procedures)
    pub tracers_per_species: Option<i64>,
}

impl PatientSection {
    /// The blood count as a `[blood]` section (undiluted: the channel adds the anticoagulant).
    pub fn as_blood(&self) -> BloodSection {
        BloodSection {
            hematocrit: self.hematocrit,
            rbc_per_ul: self.rbc_per_ul,
            wbc_per_ul: self.wbc_per_ul,
            differential: self.differential.clone(),
            platelets_per_ul: self.platelets_per_ul,
            blasts_per_ul: self.blasts_per_ul,
            blast_species: self.blast_species.clone(),
            cd34_per_ul: self.cd34_per_ul,
            ac_ratio: None,
            tracers_per_species: Some(self.tracers_per_species.unwrap_or(0)),
        }
    }
}

/// `[procedure]`: stop rules and numerics.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureSection {
    /// stop after processing this many total blood volumes
    pub blood_volumes: Option<f64>,
    /// stop after this time (min)
    pub time_limit_min: Option<f64>,
    /// stop when the product holds this many CD34+ cells per kg body weight
    pub target_cd34_per_kg: Option<f64>,
    /// stop when the product holds this many lymphocytes
    pub target_lymphocytes: Option<f64>,
    /// longest step and output interval (min), default 1
    pub step_min: Option<f64>,
    /// relative inlet drift that triggers a new channel solve, default 0.02
    pub recompute_tolerance: Option<f64>,
    /// citrate of the anticoagulant (mg/mL), default ACD-A 21.67
    pub citrate_mg_ml: Option<f64>,
}

/// Checked procedure settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureSettings {
    /// the patient (concentrations per species of the run, undiluted)
    pub patient: buffycoat_procedure::Patient,
    /// stop rules, flows, numerics
    pub procedure: buffycoat_procedure::Procedure,
}

/// `[inlet]`: the channel's inflow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InletSection {
    /// whole-blood flow (mL/min), anticoagulant added on top
    pub flow_ml_min: f64,
    /// inlet:AC ratio (AC flow = flow / ratio)
    pub ac_ratio: f64,
}

/// `[ports]`: the pumps drawing off the layers; red cells take the remainder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortsSection {
    /// plasma pump (mL/min); with `interface_control` the controller replaces it
    pub plasma_ml_min: Option<f64>,
    /// collect pump (mL/min)
    pub collect_ml_min: f64,
    /// set the plasma pump like an interface controller: the plasma flow that centres the
    /// collect band on the layer of the target cells (the half-maximum centre of the
    /// collected count, docs/physics.md §6.5)
    pub interface_control: Option<bool>,
    /// species the interface controller collects (default: every white-cell species present)
    pub interface_target: Option<Vec<String>>,
    /// collect-line hematocrit set-point (volume fraction, 0–1): the plasma pump is solved so
    /// the collect port's hematocrit equals it (replaces `plasma_ml_min`; exclusive with
    /// `interface_control`)
    pub collect_hematocrit: Option<f64>,
}

/// Along-channel velocity profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    /// uniform velocity
    Plug,
    /// plane Poiseuille across the depth
    #[default]
    Laminar,
    /// composition-dependent lubrication flow (docs/physics.md §10.9)
    Viscous,
}

/// Settling-flux discretisations of the implicit schemes (`grid.settling_flux`): the channel's
/// steady march and the tube/sector field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlingFluxKind {
    /// first-order upwind everywhere
    #[default]
    Upwind,
    /// second-order MUSCL with van Leer's limiter in the red-cell bed (docs/physics.md §10.15)
    MusclVanLeer,
    /// second-order MUSCL with the minmod limiter in the red-cell bed
    MusclMinmod,
}

impl SettlingFluxKind {
    /// The channel solver's setting.
    pub fn settling_flux(self) -> buffycoat_channel::SettlingFlux {
        use buffycoat_channel::{Limiter, SettlingFlux};
        let muscl = |limiter| SettlingFlux::Muscl {
            limiter,
            min_total: buffycoat_channel::BED_MIN_TOTAL,
        };
        match self {
            Self::Upwind => SettlingFlux::Upwind,
            Self::MusclVanLeer => muscl(Limiter::VanLeer),
            Self::MusclMinmod => muscl(Limiter::Minmod),
        }
    }
}

/// `[flow]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSection {
    /// velocity profile across the channel (default: `viscous` for a suspension with red
    /// cells, `laminar` otherwise)
    pub profile: Option<ProfileKind>,
    /// coefficient K of the shear-induced diffusion across the depth (0: off; absent: the
    /// default [`DEFAULT_SHEAR_DIFFUSION`]; docs/physics.md §10.2)
    pub shear_diffusion_coefficient: Option<f64>,
}

/// The radial refinement of a channel without `grid.refine_interface`: none (a uniform grid).
/// The leukapheresis preset sets 0.015 (a window of ±1.5 % of the depth around the exit's
/// buffy coat holding half of the radial cells; README "Grid convergence of the channel").
/// Not the default: on the AML leukocytoreduction procedure preset the refined re-solves
/// measured 33 s of CPU against 0.5 s uniform (not yet investigated).
pub const DEFAULT_REFINE_INTERFACE: Option<f64> = None;

/// Sub-intervals of the tracer cells per station interval without `channel.tracer_substeps`
/// (crates/channel/src/tracers.rs). Since session 9 the tracers are tracked exactly through the
/// piecewise-linear face velocities of each cell, so their fates converge with the grid like
/// the field's and hardly depend on the sub-intervals (the leukapheresis preset: identical for
/// 1–16; until then Heun steps, default 4, whose fates converged with Δτ/substeps).
pub const DEFAULT_TRACER_SUBSTEPS: usize = 1;

/// The settling flux of a channel without `grid.settling_flux`.
pub const DEFAULT_SETTLING_FLUX: SettlingFluxKind = SettlingFluxKind::Upwind;

/// The shear-diffusion coefficient K of a channel without `flow.shear_diffusion_coefficient`.
pub const DEFAULT_SHEAR_DIFFUSION: Option<buffycoat_channel::ShearDiffusion> = None;

/// Channel solvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelSolver {
    /// the steady state (march along the channel)
    #[default]
    Steady,
    /// start-up in time
    Transient,
}

/// Steady march methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarchMethod {
    /// backward Euler, first order, fast (default)
    #[default]
    Implicit,
    /// the high-resolution explicit field solver
    Explicit,
}

/// Initial fill of a transient channel run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillKind {
    /// primed with cell-free fluid
    #[default]
    CellFree,
    /// full of unseparated inlet blood
    InletBlood,
}

/// `[channel]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSection {
    /// steady or transient
    #[serde(default)]
    pub solver: ChannelSolver,
    /// steady march method
    #[serde(default)]
    pub method: MarchMethod,
    /// transient initial fill
    #[serde(default)]
    pub initial_fill: FillKind,
    /// diameter bins of the grade-efficiency curves
    pub grade_bins: Option<i64>,
    /// sub-intervals of the tracer cells per station interval (steady channel; default 1)
    pub tracer_substeps: Option<i64>,
}

/// Checked settings of a channel run (SI).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSettings {
    /// walls, height, length
    pub geometry: buffycoat_channel::ChannelGeometry,
    /// inlet, anticoagulant and port flows
    pub flows: buffycoat_channel::ChannelFlows,
    /// velocity profile
    pub profile: buffycoat_channel::FlowProfile,
    /// constant rotor speed (rpm)
    pub rpm: f64,
    /// stations along the channel
    pub along_cells: usize,
    /// steady or transient
    pub solver: ChannelSolver,
    /// steady method
    pub method: MarchMethod,
    /// transient initial fill
    pub initial_fill: FillKind,
    /// grade-efficiency diameter bins
    pub grade_bins: usize,
    /// sub-intervals of the tracer cells per station interval
    pub tracer_substeps: usize,
    /// species whose collection the interface controller maximises (`None`: plasma flow fixed)
    pub interface_target: Option<Vec<String>>,
    /// collect-hematocrit set-point in (0, 1) (`None`: not controlled)
    pub collect_hematocrit: Option<f64>,
    /// shear-induced diffusion (`None`: off)
    pub shear_diffusion: Option<buffycoat_channel::ShearDiffusion>,
    /// half-width of the radial refinement at the buffy coat (fraction of the depth; `None`:
    /// uniform grid)
    pub refine_interface: Option<f64>,
    /// settling flux of the implicit steady march
    pub settling_flux: buffycoat_channel::SettlingFlux,
}

/// Hindrance laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HindranceKind {
    /// Richardson–Zaki, V = (1 − φ)^(n−2)
    #[default]
    RichardsonZaki,
    /// Hawksley–Vand
    HawksleyVand,
}

/// Time discretisation of the hindered field (`grid.scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemeKind {
    /// high-resolution central-upwind finite volumes, CFL-limited SSP-RK steps
    Explicit,
    /// backward Euler + Newton (the column solver shared with the channel), adaptive steps
    Implicit,
}

/// How the implicit scheme advances the dilute classes (`grid.minor_classes`,
/// `buffycoat_field::MinorClasses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinorClassesKind {
    /// one Newton solve of all classes together
    Coupled,
    /// the dilute classes split off the Newton solve, in sub-steps of their own
    Split,
}

/// `[consolidation]`: the bed of red cells carries an effective solid stress above its
/// contact fraction (`buffycoat_physics::consolidation`). Every key is optional; the table's
/// presence switches consolidation on with the calibrated red-cell values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsolidationSection {
    /// contact (critical) fraction φ_c
    pub critical_fraction: Option<f64>,
    /// stress scale σ₀ (Pa)
    pub modulus_pa: Option<f64>,
    /// stiffening exponent β
    pub exponent: Option<f64>,
    /// exponent m of the bed mobility above φ_c
    pub bed_exponent: Option<f64>,
    /// ratio of the unloading to the loading stiffness of the bed
    pub unloading_stiffness: Option<f64>,
    /// width (volume fraction below φ_c) over which the crowded bed comes to hold cells larger
    /// than the bed's cells (0: off); selects `network = "contact_ramp"` when `network` is
    /// not given (files written before the pore closure keep their closure)
    pub network_width: Option<f64>,
    /// how the crowded bed holds cells larger than its own: "contact_ramp" (default; width
    /// `network_width`), "pore_size" or "off"
    pub network: Option<NetworkKind>,
}

/// `consolidation.network` (see `buffycoat_physics::consolidation::NetworkClosure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkKind {
    /// a weight per class from the cell's size against the pores between the other cells
    PoreSize,
    /// one weight for every class, a ramp of width `network_width` below φ_c
    ContactRamp,
    /// no network closure
    Off,
}

/// `[hindrance]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HindranceSection {
    /// law
    #[serde(default)]
    pub law: HindranceKind,
    /// Richardson–Zaki exponent n
    pub exponent: Option<f64>,
    /// maximum packing φ_max
    pub max_packing: Option<f64>,
    /// red cells sediment as aggregates (rouleaux) of this many cells (≥ 1)
    pub red_cell_aggregate_cells: Option<f64>,
    /// or: the aggregate size that reproduces this 1-g erythrocyte sedimentation rate (mm/h)
    pub esr_mm_h: Option<f64>,
}

/// `[grid]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSection {
    /// finite volumes across the container (radially)
    pub radial_cells: Option<i64>,
    /// stations along the channel (channel)
    pub along_cells: Option<i64>,
    /// half-width of the radial refinement at the buffy coat, a fraction of the depth
    /// (channel, implicit steady march; 0 or absent: uniform)
    pub refine_interface: Option<f64>,
    /// settling flux of the channel's implicit steady march (MUSCL in the bed) or of the
    /// tube/sector field's implicit scheme (MUSCL at every face): "upwind" (default),
    /// "muscl_van_leer", "muscl_minmod" (docs/physics.md §10.15, §9.2); an error with the
    /// explicit scheme
    pub settling_flux: Option<SettlingFluxKind>,
    /// density/size classes per species
    pub classes_per_species: Option<i64>,
    /// CFL number
    pub cfl: Option<f64>,
    /// classes below this fraction of their initial mean in a cell leave its wave-speed bound
    pub inactive_fraction: Option<f64>,
    /// "explicit" (default without `[consolidation]`) or "implicit"
    pub scheme: Option<SchemeKind>,
    /// local error tolerance of the implicit step-size control
    pub time_tolerance: Option<f64>,
    /// largest implicit step (s)
    pub max_dt_s: Option<f64>,
    /// implicit scheme: "coupled" (default) or "split" dilute classes
    pub minor_classes: Option<MinorClassesKind>,
}

/// `[layers]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayersSection {
    /// plasma → buffy coat: non-platelet cell volume fraction threshold
    pub plasma_threshold: Option<f64>,
    /// buffy coat → red cells: fraction of the initial mean red-cell volume fraction
    pub red_cell_threshold: Option<f64>,
}

/// `[run]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// simulated duration (s); required except for steady channel runs
    pub duration_s: Option<f64>,
    /// time between output frames (s); required except for steady channel runs
    pub output_interval_s: Option<f64>,
    /// RNG seed
    #[serde(default)]
    pub seed: u64,
    /// fixed step (s)
    pub dt_s: Option<f64>,
}

/// One knot of an rpm profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knot {
    /// time (s)
    pub time_s: f64,
    /// speed (rpm)
    pub rpm: f64,
}

/// `[rotor]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotorSection {
    /// constant (plateau) speed, rpm
    pub rpm: Option<f64>,
    /// linear ramp from rest to `rpm` (s)
    pub ramp_s: Option<f64>,
    /// linear brake to rest ending at the end of the run (s)
    pub brake_s: Option<f64>,
    /// explicit piecewise-linear profile
    pub profile: Option<Vec<Knot>>,
}

/// Container kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeometryKind {
    /// swing-out tube
    Tube,
    /// sector cell
    Sector,
    /// continuous-flow channel
    Channel,
}

/// `[geometry]`: one flat table; which keys apply depends on `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeometrySection {
    /// container kind
    pub kind: GeometryKind,
    /// meniscus radius (m)
    pub r_min_m: Option<f64>,
    /// bottom radius (m)
    pub r_max_m: Option<f64>,
    /// tube inner radius (m)
    pub radius_m: Option<f64>,
    /// sector opening angle (degrees)
    pub angle_deg: Option<f64>,
    /// sector or channel height (m)
    pub height_m: Option<f64>,
    /// channel inner wall radius (m)
    pub r_inner_m: Option<f64>,
    /// channel outer wall radius (m)
    pub r_outer_m: Option<f64>,
    /// channel length along the circumference (m)
    pub length_m: Option<f64>,
}

/// Fluid presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FluidPreset {
    /// plasma at 37 °C
    #[serde(rename = "plasma_37c")]
    Plasma37c,
    /// plasma at room temperature
    PlasmaRoomTemperature,
}

/// `[fluid]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FluidSection {
    /// preset
    pub preset: Option<FluidPreset>,
    /// density (kg/m³)
    pub density_kg_m3: Option<f64>,
    /// viscosity (Pa·s)
    pub viscosity_pa_s: Option<f64>,
}

/// Particle model kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// terminal velocity
    #[default]
    Overdamped,
    /// with inertia
    Inertial,
    /// hindered, polydisperse settling (volume-fraction fields + tracers)
    Hindered,
}

/// `[model]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// model kind (default: overdamped; hindered for a channel)
    pub kind: Option<ModelKind>,
    /// relative tolerance of the inertial model
    pub rtol: Option<f64>,
}

/// Drag laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DragKind {
    /// Stokes
    #[default]
    Stokes,
    /// Schiller–Naumann
    SchillerNaumann,
}

/// `[forces]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForcesSection {
    /// Coriolis force
    #[serde(default = "yes")]
    pub coriolis: bool,
    /// Euler force
    #[serde(default = "yes")]
    pub euler: bool,
    /// gravity along −z
    #[serde(default)]
    pub gravity: bool,
    /// drag law
    #[serde(default)]
    pub drag: DragKind,
}

fn yes() -> bool {
    true
}

impl Default for ForcesSection {
    fn default() -> Self {
        Self {
            coriolis: true,
            euler: true,
            gravity: false,
            drag: DragKind::Stokes,
        }
    }
}

/// `[[species]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeciesEntry {
    /// name used in outputs
    pub name: String,
    /// library species to start from (default: `name`, when no properties are given)
    pub library: Option<String>,
    /// density (kg/m³)
    pub density_kg_m3: Option<RawQuantity>,
    /// diameter (m)
    pub diameter_m: Option<RawQuantity>,
    /// dynamic shape factor
    pub shape_factor: Option<f64>,
    /// tracer cells
    pub count: Option<i64>,
    /// initial uniform volume fraction (hindered model)
    pub volume_fraction: Option<f64>,
}

/// `[blood]`: a whole-blood composition; each species present gets tracer cells.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BloodSection {
    /// hematocrit (volume fraction of red cells), or give `rbc_per_ul`
    pub hematocrit: Option<f64>,
    /// red cells per µL
    pub rbc_per_ul: Option<f64>,
    /// white cells per µL (excluding blasts)
    pub wbc_per_ul: Option<f64>,
    /// white-cell differential: species → fraction of `wbc_per_ul`
    pub differential: Option<BTreeMap<String, f64>>,
    /// platelets per µL
    pub platelets_per_ul: Option<f64>,
    /// blasts per µL
    pub blasts_per_ul: Option<f64>,
    /// "myeloblast" or "lymphoblast"
    pub blast_species: Option<String>,
    /// CD34+ cells per µL
    pub cd34_per_ul: Option<f64>,
    /// inlet:anticoagulant ratio (dilution r/(r+1))
    pub ac_ratio: Option<f64>,
    /// tracer cells per species present
    pub tracers_per_species: Option<i64>,
}

/// `[output]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// write particle positions every n-th frame
    #[serde(default = "one")]
    pub particle_every: i64,
    /// write velocities
    #[serde(default = "yes")]
    pub velocities: bool,
    /// wall-clock time between checkpoints (s)
    #[serde(default)]
    pub checkpoint_interval_s: Option<f64>,
    /// checkpoint every n-th output frame instead
    #[serde(default)]
    pub checkpoint_every_frames: Option<i64>,
    /// HDF5 filter of large datasets, see [`buffycoat_h5::Compression::parse`] (default
    /// `"none"`)
    #[serde(default)]
    pub compression: Option<String>,
}

/// Largest `output.checkpoint_interval_s` (s): one week.
pub const MAX_CHECKPOINT_INTERVAL_S: f64 = 604_800.0;

fn one() -> i64 {
    1
}

impl OutputSection {
    fn checkpoint_every(&self) -> Result<buffycoat_engine::CheckpointEvery, KeyError> {
        use buffycoat_engine::CheckpointEvery;
        match (self.checkpoint_interval_s, self.checkpoint_every_frames) {
            (Some(_), Some(_)) => Err(key_err(
                "output.checkpoint_every_frames",
                "give either output.checkpoint_interval_s or output.checkpoint_every_frames, not both",
            )),
            (Some(s), None) => {
                if !(s.is_finite() && s > 0.0 && s <= MAX_CHECKPOINT_INTERVAL_S) {
                    return Err(key_err(
                        "output.checkpoint_interval_s",
                        format!(
                            "{} is out of range: allowed (0, {}] s",
                            human(s, 4),
                            human(MAX_CHECKPOINT_INTERVAL_S, 4)
                        ),
                    ));
                }
                Ok(CheckpointEvery::Wall(std::time::Duration::from_secs_f64(s)))
            }
            (None, Some(n)) => {
                if n < 1 {
                    return Err(key_err(
                        "output.checkpoint_every_frames",
                        format!("{n} is out of range: allowed ≥ 1"),
                    ));
                }
                Ok(CheckpointEvery::Frames(
                    usize::try_from(n).unwrap_or(usize::MAX),
                ))
            }
            (None, None) => Ok(CheckpointEvery::Wall(std::time::Duration::from_secs_f64(
                buffycoat_engine::checkpoint::DEFAULT_CHECKPOINT_INTERVAL_S,
            ))),
        }
    }
}

impl Default for OutputSection {
    fn default() -> Self {
        Self {
            particle_every: 1,
            velocities: true,
            checkpoint_interval_s: None,
            checkpoint_every_frames: None,
            compression: None,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Resolved (checked, SI)
// ------------------------------------------------------------------------------------------

pub use buffycoat_engine::setup::{HinderedSettings, RunSpecies};

/// Default radial cells of the hindered model.
pub const DEFAULT_RADIAL_CELLS: usize = 400;
/// Default radial cells across a channel.
pub const DEFAULT_CHANNEL_RADIAL_CELLS: usize = 100;
/// Default stations along a channel.
pub const DEFAULT_ALONG_CELLS: usize = 200;
/// Default diameter bins of the grade-efficiency curves.
pub const DEFAULT_GRADE_BINS: usize = 12;

/// Default classes per species.
pub const DEFAULT_CLASSES_PER_SPECIES: usize = 2;

/// A checked scenario in SI units.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// simulated duration (s)
    pub duration: f64,
    /// output interval (s)
    pub output_interval: f64,
    /// RNG seed
    pub seed: u64,
    /// fixed step (s)
    pub dt: Option<f64>,
    /// rotor profile
    pub rotor: RotorProfile,
    /// container
    pub geometry: Geometry,
    /// fluid
    pub fluid: Fluid,
    /// forces
    pub forces: ForceSet,
    /// particle model
    pub model: ParticleModel,
    /// error control of the inertial model
    pub tolerances: Tolerances,
    /// species in output order
    pub species: Vec<RunSpecies>,
    /// particle positions every n-th frame
    pub particle_every: usize,
    /// write velocities
    pub velocities: bool,
    /// checkpoint cadence of particle, hindered, transient channel and procedure runs
    pub checkpoint_every: buffycoat_engine::CheckpointEvery,
    /// HDF5 compression of large datasets (every output kind)
    pub compression: buffycoat_h5::Compression,
    /// the hindered model's settings (`model = "hindered"`)
    pub hindered: Option<HinderedSettings>,
    /// the channel's settings (`geometry.kind = "channel"`)
    pub channel: Option<ChannelSettings>,
    /// the procedure (`[patient]` and `[procedure]`)
    pub procedure: Option<ProcedureSettings>,
    /// the cell roles (`[roles]`)
    pub roles: buffycoat_physics::species::CellRoles,
}

/// A problem with a key of the scenario (the file name is added by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyError {
    /// dotted key path
    pub key: String,
    /// what is wrong and what is allowed
    pub message: String,
}

fn key_err(key: impl Into<String>, message: impl Into<String>) -> KeyError {
    KeyError {
        key: key.into(),
        message: message.into(),
    }
}

fn require(key: &str, value: Option<f64>) -> Result<f64, KeyError> {
    value.ok_or_else(|| key_err(key, "missing (required for this kind)"))
}

/// An integer key (a count) within [lo, hi]: `None` if absent, else the value, or an error
/// naming the key and the allowed range.
fn count_in_range(
    key: &str,
    value: Option<i64>,
    lo: i64,
    hi: i64,
) -> Result<Option<usize>, KeyError> {
    match value {
        None => Ok(None),
        Some(n) if (lo..=hi).contains(&n) => Ok(Some(n as usize)),
        Some(n) => Err(key_err(
            key,
            format!("{n} is out of range: allowed [{lo}, {hi}]"),
        )),
    }
}

/// Checks that `value` is finite and within [lo, hi] (`open_lo`: strictly above lo).
fn in_range(
    key: &str,
    value: f64,
    lo: f64,
    hi: f64,
    open_lo: bool,
    unit: &str,
) -> Result<f64, KeyError> {
    let ok = value.is_finite() && (if open_lo { value > lo } else { value >= lo }) && value <= hi;
    if ok {
        Ok(value)
    } else {
        let lo_bracket = if open_lo { "(" } else { "[" };
        // Bounds rounded for people (a derived bound such as 54.166666666666664 → 54.17).
        let (lo, hi) = (human(lo, 4), human(hi, 4));
        Err(key_err(
            key,
            format!(
                "{} is out of range: allowed {lo_bracket}{lo}, {hi}] {unit}",
                number(value)
            ),
        ))
    }
}

/// A number for a message: plain, or in exponent form when plain would be very long
/// (1e-306, not 0.000…0001).
pub fn number(v: f64) -> String {
    if v.is_finite() && v != 0.0 && !(1e-4..1e15).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn not_for_kind(key: &str, present: bool, kind: &str) -> Result<(), KeyError> {
    if present {
        Err(key_err(
            key,
            format!("is not used by geometry kind = \"{kind}\"; remove it"),
        ))
    } else {
        Ok(())
    }
}

const DENSITY_SI: QuantityKey = QuantityKey {
    key: "density_kg_m3",
    unit: "kg/m³",
    plausible: CELL_DENSITY_RANGE,
    to_si: std::convert::identity,
};
const DIAMETER_SI: QuantityKey = QuantityKey {
    key: "diameter_m",
    unit: "m",
    plausible: CELL_DIAMETER_RANGE,
    to_si: std::convert::identity,
};

impl ScenarioFile {
    /// Checks every key and converts to SI. `library` resolves species by name.
    pub fn resolve(&self, library: &SpeciesLibrary) -> Result<Resolved, KeyError> {
        if self.version != SCENARIO_VERSION {
            return Err(key_err(
                "version",
                format!(
                    "{} is not supported: this program reads scenario version {SCENARIO_VERSION}",
                    self.version
                ),
            ));
        }
        let run = &self.run;
        let is_channel = self.geometry.kind == GeometryKind::Channel;
        let steady_channel = is_channel
            && self
                .channel
                .as_ref()
                .is_none_or(|c| c.solver == ChannelSolver::Steady);
        if steady_channel
            && (self.rotor.ramp_s.is_some()
                || self.rotor.brake_s.is_some()
                || self.rotor.profile.is_some())
        {
            return Err(key_err(
                "rotor",
                "the steady channel needs a constant rpm (no profile, ramp_s or brake_s); use [channel] solver = \"transient\" for rpm changes",
            ));
        }
        let (duration, output_interval) =
            match (run.duration_s, run.output_interval_s, steady_channel) {
                (None, None, true) => (1.0, 1.0),
                (d, i, _) => {
                    let d = d.ok_or_else(|| {
                        key_err(
                            "run.duration_s",
                            "missing: the simulated time (s), (0, 1e7]",
                        )
                    })?;
                    let duration = in_range("run.duration_s", d, 0.0, MAX_DURATION_S, true, "s")?;
                    let i = i.ok_or_else(|| {
                        key_err(
                            "run.output_interval_s",
                            "missing: the time between output frames (s)",
                        )
                    })?;
                    let output_interval = in_range(
                        "run.output_interval_s",
                        i,
                        0.0,
                        duration,
                        true,
                        "s (at most run.duration_s)",
                    )?;
                    (duration, output_interval)
                }
            };
        if duration / output_interval > MAX_FRAMES {
            return Err(key_err(
                "run.output_interval_s",
                format!(
                    "{output_interval} s gives more than {MAX_FRAMES} frames; allowed ≥ duration_s / {MAX_FRAMES}"
                ),
            ));
        }
        let dt = run
            .dt_s
            .map(|dt| {
                in_range(
                    "run.dt_s",
                    dt,
                    0.0,
                    output_interval,
                    true,
                    "s (at most run.output_interval_s)",
                )
            })
            .transpose()?;
        let rotor = self.rotor_profile(duration)?;
        let geometry = self.geometry()?;
        let fluid = self.fluid()?;
        let forces = ForceSet {
            coriolis: self.forces.coriolis,
            euler: self.forces.euler,
            gravity: self.forces.gravity.then_some(STANDARD_GRAVITY),
            drag: match self.forces.drag {
                DragKind::Stokes => DragLaw::Stokes,
                DragKind::SchillerNaumann => DragLaw::SchillerNaumann,
            },
        };
        let mut tolerances = Tolerances::default();
        let model_kind = match (self.model.kind, is_channel) {
            (None, true) | (Some(ModelKind::Hindered), true) => ModelKind::Hindered,
            (Some(k), true) => {
                return Err(key_err(
                    "model.kind",
                    format!(
                        "{k:?} does not apply to geometry kind = \"channel\": the channel uses the hindered model (\"hindered\")"
                    ),
                ));
            }
            (k, false) => k.unwrap_or_default(),
        };
        let model = match model_kind {
            ModelKind::Overdamped | ModelKind::Hindered => {
                if self.model.rtol.is_some() {
                    return Err(key_err("model.rtol", "applies only to kind = \"inertial\""));
                }
                ParticleModel::Overdamped
            }
            ModelKind::Inertial => {
                if let Some(rtol) = self.model.rtol {
                    tolerances.rtol = in_range("model.rtol", rtol, 1e-14, 1e-2, false, "")?;
                }
                ParticleModel::Inertial
            }
        };
        let hindered_model = model_kind == ModelKind::Hindered;
        let hindered = if hindered_model {
            Some(self.hindered_settings()?)
        } else {
            for (present, key) in [
                (self.hindrance.is_some(), "hindrance"),
                (self.grid.is_some(), "grid"),
                (self.layers.is_some(), "layers"),
                (self.consolidation.is_some(), "consolidation"),
            ] {
                if present {
                    return Err(key_err(
                        key,
                        "applies only to model.kind = \"hindered\"; remove it or set the model",
                    ));
                }
            }
            None
        };
        let channel = self.channel_settings(&rotor, self.grid.as_ref())?;
        let mut species = Vec::new();
        for (i, entry) in self.species.iter().enumerate() {
            species.push(resolve_species(entry, i, library, hindered_model)?);
        }
        if let Some(blood) = &self.blood {
            species.extend(resolve_blood(blood, library, hindered_model)?);
        }
        if let Some(patient) = &self.patient {
            if self.blood.is_some() || !self.species.is_empty() {
                return Err(key_err(
                    "patient",
                    "a procedure takes the blood from [patient]; remove [blood] and [[species]]",
                ));
            }
            species.extend(
                resolve_blood(&patient.as_blood(), library, true).map_err(|e| KeyError {
                    key: e.key.replacen("blood", "patient", 1),
                    message: e.message,
                })?,
            );
        }
        if let Some(h) = &hindered {
            let total: f64 = species.iter().filter_map(|s| s.volume_fraction).sum();
            let phi_max = h.law.max_packing();
            if total >= phi_max {
                return Err(key_err(
                    "species",
                    format!(
                        "the initial volume fractions sum to {total:.4}; allowed below hindrance.max_packing = {phi_max}"
                    ),
                ));
            }
        }
        if species.is_empty() {
            return Err(key_err(
                "species",
                "no cells: add at least one [[species]] table or a [blood] section",
            ));
        }
        for (i, s) in species.iter().enumerate() {
            if species[..i]
                .iter()
                .any(|t| t.species.name == s.species.name)
            {
                return Err(key_err(
                    "species",
                    format!(
                        "species `{}` appears twice; names must be unique",
                        s.species.name
                    ),
                ));
            }
        }
        let total: u64 = species.iter().map(|s| s.count as u64).sum();
        if total > MAX_CELLS {
            return Err(key_err(
                "species",
                format!("{total} tracer cells in all; allowed at most {MAX_CELLS}"),
            ));
        }
        if let Some(dt) = dt {
            let steps = duration / dt;
            if steps > MAX_STEPS_PER_CELL || steps * total as f64 > MAX_CELL_STEPS {
                return Err(key_err(
                    "run.dt_s",
                    format!(
                        "{} s gives {} steps per cell ({} cell-steps); allowed at most {} steps per cell and {} cell-steps (run.dt_s ≥ {} s here), or omit run.dt_s for the automatic step",
                        number(dt),
                        human(steps, 3),
                        human(steps * total as f64, 3),
                        human(MAX_STEPS_PER_CELL, 3),
                        human(MAX_CELL_STEPS, 3),
                        human(
                            (duration / MAX_STEPS_PER_CELL)
                                .max(duration * total as f64 / MAX_CELL_STEPS),
                            3
                        ),
                    ),
                ));
            }
        }
        let particle_every = self.output.particle_every;
        if particle_every < 1 {
            return Err(key_err(
                "output.particle_every",
                format!("{particle_every} is out of range: allowed ≥ 1"),
            ));
        }
        let checkpoint_every = self.output.checkpoint_every()?;
        let compression = match &self.output.compression {
            None => buffycoat_h5::Compression::default(),
            Some(text) => buffycoat_h5::Compression::parse(text)
                .map_err(|message| key_err("output.compression", message))?,
        };
        let procedure = self.procedure_settings(&species, channel.as_ref())?;
        Ok(Resolved {
            duration,
            output_interval,
            seed: run.seed,
            dt,
            rotor,
            geometry,
            fluid,
            forces,
            model,
            tolerances,
            species,
            particle_every: particle_every as usize,
            velocities: self.output.velocities,
            checkpoint_every,
            compression,
            hindered,
            procedure,
            channel,
            roles: self.cell_roles(),
        })
    }

    fn procedure_settings(
        &self,
        species: &[RunSpecies],
        channel: Option<&ChannelSettings>,
    ) -> Result<Option<ProcedureSettings>, KeyError> {
        let (patient, procedure) = match (&self.patient, &self.procedure) {
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err(key_err(
                    "procedure",
                    "missing: a [patient] needs a [procedure] with a stop rule",
                ));
            }
            (None, Some(_)) => {
                return Err(key_err(
                    "patient",
                    "missing: a [procedure] needs a [patient]",
                ));
            }
            (Some(p), Some(q)) => (p, q),
        };
        let channel = channel.ok_or_else(|| {
            key_err(
                "geometry.kind",
                "a procedure runs the continuous-flow channel: set kind = \"channel\"",
            )
        })?;
        if channel.solver != ChannelSolver::Steady {
            return Err(key_err(
                "channel.solver",
                "a procedure uses the steady channel",
            ));
        }
        let sex = match patient.sex {
            SexKind::Male => buffycoat_procedure::Sex::Male,
            SexKind::Female => buffycoat_procedure::Sex::Female,
        };
        let height = in_range("patient.height_m", patient.height_m, 0.3, 2.5, true, "m")?;
        let weight = in_range(
            "patient.weight_kg",
            patient.weight_kg,
            1.0,
            400.0,
            true,
            "kg",
        )?;
        let per_m3: Vec<f64> = species
            .iter()
            .map(|s| units::per_ul_to_per_m3(s.per_ul.unwrap_or(0.0)))
            .collect();
        let cell_volume: Vec<f64> = species.iter().map(|s| s.species.mean_volume()).collect();
        let patient_model =
            buffycoat_procedure::Patient::new(sex, height, weight, per_m3, cell_volume)
                .map_err(|e| key_err("patient", e.to_string()))?;
        let index = |name: &str| species.iter().position(|s| s.species.name == name);
        let mut mobilization = vec![None; species.len()];
        for (name, m) in patient.mobilization.iter().flatten() {
            let k = index(name).ok_or_else(|| {
                key_err(
                    format!("patient.mobilization.{name}"),
                    "this species is not in the patient's blood (count 0 or unknown)",
                )
            })?;
            let rate = in_range(
                &format!("patient.mobilization.{name}.rate_per_min"),
                m.rate_per_min,
                0.0,
                10.0,
                false,
                "per min",
            )?;
            let pool = in_range(
                &format!("patient.mobilization.{name}.pool_factor"),
                m.pool_factor,
                0.0,
                1000.0,
                false,
                "",
            )?;
            mobilization[k] = Some(buffycoat_procedure::simulation::Mobilization {
                rate: rate / 60.0,
                pool_factor: pool,
            });
        }
        let q = procedure;
        let mut targets = Vec::new();
        if let Some(t) = q.target_cd34_per_kg {
            let t = in_range(
                "procedure.target_cd34_per_kg",
                t,
                0.0,
                1e12,
                true,
                "cells/kg",
            )?;
            let k = index(buffycoat_physics::species::CD34).ok_or_else(|| {
                key_err(
                    "procedure.target_cd34_per_kg",
                    "the patient has no CD34+ cells: set patient.cd34_per_ul",
                )
            })?;
            targets.push((k, t * weight));
        }
        if let Some(t) = q.target_lymphocytes {
            let t = in_range("procedure.target_lymphocytes", t, 0.0, 1e15, true, "cells")?;
            let k = index(buffycoat_physics::species::LYMPHOCYTE).ok_or_else(|| {
                key_err(
                    "procedure.target_lymphocytes",
                    "the patient has no lymphocytes",
                )
            })?;
            targets.push((k, t));
        }
        let stop = buffycoat_procedure::StopRules {
            blood_volumes: q
                .blood_volumes
                .map(|v| {
                    in_range(
                        "procedure.blood_volumes",
                        v,
                        0.0,
                        10.0,
                        true,
                        "total blood volumes",
                    )
                })
                .transpose()?,
            time_limit: q
                .time_limit_min
                .map(|v| {
                    in_range("procedure.time_limit_min", v, 0.0, 1440.0, true, "min")
                        .map(|m| m * 60.0)
                })
                .transpose()?,
            product_targets: targets,
        };
        if stop.blood_volumes.is_none()
            && stop.time_limit.is_none()
            && stop.product_targets.is_empty()
        {
            return Err(key_err(
                "procedure",
                "no stop rule: give blood_volumes, time_limit_min, target_cd34_per_kg or target_lymphocytes",
            ));
        }
        let step = q
            .step_min
            .map(|v| {
                in_range(
                    "procedure.step_min",
                    v,
                    MIN_PROCEDURE_STEP_MIN,
                    60.0,
                    false,
                    "min",
                )
            })
            .transpose()?
            .unwrap_or(1.0)
            * 60.0;
        let recompute_tolerance = q
            .recompute_tolerance
            .map(|v| in_range("procedure.recompute_tolerance", v, 0.0, 0.5, true, ""))
            .transpose()?
            .unwrap_or(0.02);
        let citrate = q
            .citrate_mg_ml
            .map(|v| in_range("procedure.citrate_mg_ml", v, 0.0, 100.0, false, "mg/mL"))
            .transpose()?
            .unwrap_or(buffycoat_procedure::citrate::ACD_A_CITRATE_KG_M3);
        let procedure = buffycoat_procedure::Procedure {
            blood_flow: channel.flows.blood_inlet,
            ac_ratio: channel.flows.ac_ratio,
            collect_flow: channel.flows.collect,
            citrate,
            mobilization,
            stop,
            step,
            recompute_tolerance,
            red_cell_species: index(buffycoat_physics::species::RBC).into_iter().collect(),
        };
        procedure
            .validate(species.len())
            .map_err(|e| key_err("procedure", e.to_string()))?;
        Ok(Some(ProcedureSettings {
            patient: patient_model,
            procedure,
        }))
    }

    fn channel_geometry(&self) -> Result<buffycoat_channel::ChannelGeometry, KeyError> {
        let g = &self.geometry;
        let r_inner = in_range(
            "geometry.r_inner_m",
            require("geometry.r_inner_m", g.r_inner_m)?,
            RADIUS_RANGE.0,
            RADIUS_RANGE.1,
            false,
            "m",
        )?;
        let r_outer = require("geometry.r_outer_m", g.r_outer_m)?;
        let max_outer = r_inner * (1.0 + buffycoat_channel::MAX_DEPTH_TO_RADIUS);
        if !(r_outer.is_finite() && r_outer > r_inner && r_outer <= max_outer) {
            return Err(key_err(
                "geometry.r_outer_m",
                format!(
                    "{r_outer} is out of range: allowed r_inner_m < r_outer_m ≤ {max_outer:.4} m (a thin channel: depth ≤ {} × r_inner_m)",
                    buffycoat_channel::MAX_DEPTH_TO_RADIUS
                ),
            ));
        }
        let height = in_range(
            "geometry.height_m",
            require("geometry.height_m", g.height_m)?,
            0.0,
            1.0,
            true,
            "m",
        )?;
        let length = in_range(
            "geometry.length_m",
            require("geometry.length_m", g.length_m)?,
            0.0,
            100.0,
            true,
            "m",
        )?;
        let geometry = buffycoat_channel::ChannelGeometry {
            r_inner,
            r_outer,
            height,
            length,
        };
        geometry
            .validate()
            .map_err(|e| key_err("geometry", e.to_string()))?;
        Ok(geometry)
    }

    fn channel_settings(
        &self,
        rotor: &RotorProfile,
        grid: Option<&GridSection>,
    ) -> Result<Option<ChannelSettings>, KeyError> {
        if self.geometry.kind != GeometryKind::Channel {
            for (present, key) in [
                (self.inlet.is_some(), "inlet"),
                (self.ports.is_some(), "ports"),
                (self.flow.is_some(), "flow"),
                (self.channel.is_some(), "channel"),
                (
                    grid.is_some_and(|g| g.along_cells.is_some()),
                    "grid.along_cells",
                ),
                (
                    grid.is_some_and(|g| g.refine_interface.is_some()),
                    "grid.refine_interface",
                ),
            ] {
                if present {
                    return Err(key_err(
                        key,
                        "applies only to geometry kind = \"channel\"; remove it",
                    ));
                }
            }
            return Ok(None);
        }
        if self.blood.as_ref().is_some_and(|b| b.ac_ratio.is_some()) {
            return Err(key_err(
                "blood.ac_ratio",
                "a channel takes the anticoagulant ratio from inlet.ac_ratio; remove blood.ac_ratio",
            ));
        }
        let geometry = self.channel_geometry()?;
        let inlet = self.inlet.as_ref().ok_or_else(|| {
            key_err(
                "inlet",
                "missing: a channel needs [inlet] flow_ml_min and ac_ratio",
            )
        })?;
        let ports = self.ports.as_ref().ok_or_else(|| {
            key_err(
                "ports",
                "missing: a channel needs [ports] plasma_ml_min and collect_ml_min",
            )
        })?;
        let flow = in_range(
            "inlet.flow_ml_min",
            inlet.flow_ml_min,
            0.0,
            buffycoat_channel::MAX_INLET_ML_MIN,
            true,
            "mL/min",
        )?;
        let ac_ratio = in_range("inlet.ac_ratio", inlet.ac_ratio, 2.0, 50.0, false, "")?;
        let inflow = flow * (1.0 + 1.0 / ac_ratio);
        let interface = ports.interface_control.unwrap_or(false);
        let collect_hematocrit = match ports.collect_hematocrit {
            None => None,
            Some(h) if h.is_finite() && h > 0.0 && h < 1.0 => Some(h),
            Some(h) => {
                return Err(key_err(
                    "ports.collect_hematocrit",
                    format!(
                        "{h} is out of range: allowed (0, 1) (a volume fraction, e.g. 0.04 for 4 %)"
                    ),
                ));
            }
        };
        if interface && collect_hematocrit.is_some() {
            return Err(key_err(
                "ports.collect_hematocrit",
                "both ports.collect_hematocrit and ports.interface_control = true set the plasma \
                 pump: give one of them",
            ));
        }
        // Either controller replaces a fixed plasma flow.
        let control = interface || collect_hematocrit.is_some();
        let within = format!(
            "mL/min (at most the channel inflow {} mL/min)",
            human(inflow, 4)
        );
        let collect = in_range(
            "ports.collect_ml_min",
            ports.collect_ml_min,
            0.0,
            inflow,
            false,
            &within,
        )?;
        let plasma = match (ports.plasma_ml_min, control) {
            // The controller replaces a fixed plasma flow (so `--set ports.interface_control=true`
            // works on a scenario that has one); it must still be a valid flow.
            (Some(p), true) => {
                in_range("ports.plasma_ml_min", p, 0.0, inflow, false, &within)?;
                0.0
            }
            (None, true) => 0.0,
            (None, false) => {
                return Err(key_err(
                    "ports.plasma_ml_min",
                    "missing: the plasma pump flow (mL/min), or set ports.interface_control = true \
                     or ports.collect_hematocrit",
                ));
            }
            (Some(p), false) => in_range("ports.plasma_ml_min", p, 0.0, inflow, false, &within)?,
        };
        if ports.interface_target.is_some() && !interface {
            return Err(key_err(
                "ports.interface_target",
                "applies only with ports.interface_control = true",
            ));
        }
        if plasma + collect > inflow {
            return Err(key_err(
                "ports",
                format!(
                    "plasma_ml_min + collect_ml_min = {} mL/min exceeds the channel inflow {} mL/min (inlet.flow_ml_min × (1 + 1/ac_ratio)): the red-cell port would need a negative flow",
                    human(plasma + collect, 4),
                    human(inflow, 4)
                ),
            ));
        }
        let interface_target =
            interface.then(|| ports.interface_target.clone().unwrap_or_default());
        let flows = buffycoat_channel::ChannelFlows {
            blood_inlet: units::ml_per_min_to_m3_per_s(flow),
            ac_ratio,
            plasma: units::ml_per_min_to_m3_per_s(plasma),
            collect: units::ml_per_min_to_m3_per_s(collect),
        };
        flows
            .validate()
            .map_err(|e| key_err("ports", e.to_string()))?;
        let c = self.channel.clone().unwrap_or_default();
        if control && c.solver == ChannelSolver::Transient {
            return Err(key_err(
                if interface {
                    "ports.interface_control"
                } else {
                    "ports.collect_hematocrit"
                },
                "applies to the steady channel only; give ports.plasma_ml_min for a transient run",
            ));
        }
        let constant = rotor.is_constant();
        if c.solver == ChannelSolver::Steady && !constant {
            return Err(key_err(
                "rotor",
                "the steady channel needs a constant rpm (no profile, ramp_s or brake_s); use [channel] solver = \"transient\" for rpm changes",
            ));
        }
        let along_cells = count_in_range(
            "grid.along_cells",
            grid.and_then(|g| g.along_cells),
            2,
            100_000,
        )?
        .unwrap_or(DEFAULT_ALONG_CELLS);
        let grade_bins = count_in_range("channel.grade_bins", c.grade_bins, 1, 1000)?
            .unwrap_or(DEFAULT_GRADE_BINS);
        let tracer_substeps = count_in_range("channel.tracer_substeps", c.tracer_substeps, 1, 64)?
            .unwrap_or(DEFAULT_TRACER_SUBSTEPS);
        let refine_interface = match grid.and_then(|g| g.refine_interface) {
            None => DEFAULT_REFINE_INTERFACE,
            Some(w) => {
                let w = in_range("grid.refine_interface", w, 0.0, 0.5, false, "")?;
                (w > 0.0).then_some(w)
            }
        };
        let shear_diffusion = match self
            .flow
            .clone()
            .unwrap_or_default()
            .shear_diffusion_coefficient
        {
            None => DEFAULT_SHEAR_DIFFUSION,
            Some(k) => {
                let k = in_range("flow.shear_diffusion_coefficient", k, 0.0, 10.0, false, "")?;
                (k > 0.0).then_some(buffycoat_channel::ShearDiffusion { coefficient: k })
            }
        };
        let settling_flux = grid
            .and_then(|g| g.settling_flux)
            .unwrap_or(DEFAULT_SETTLING_FLUX)
            .settling_flux();
        Ok(Some(ChannelSettings {
            shear_diffusion,
            refine_interface,
            settling_flux,
            geometry,
            flows,
            profile: match self.flow.clone().unwrap_or_default().profile {
                Some(ProfileKind::Plug) => buffycoat_channel::FlowProfile::Plug,
                Some(ProfileKind::Laminar) => buffycoat_channel::FlowProfile::Laminar,
                Some(ProfileKind::Viscous) => buffycoat_channel::FlowProfile::Viscous,
                None if self.has_red_cells()
                    && c.solver == ChannelSolver::Steady
                    && c.method == MarchMethod::Implicit =>
                {
                    buffycoat_channel::FlowProfile::Viscous
                }
                None => buffycoat_channel::FlowProfile::Laminar,
            },
            rpm: units::rad_per_s_to_rpm(rotor.max_omega()),
            along_cells,
            solver: c.solver,
            method: c.method,
            initial_fill: c.initial_fill,
            grade_bins,
            tracer_substeps,
            interface_target,
            collect_hematocrit,
        }))
    }

    fn hindered_settings(&self) -> Result<HinderedSettings, KeyError> {
        use buffycoat_physics::hindrance::HindranceLaw;
        let h = self.hindrance.clone().unwrap_or_default();
        let max_packing = h
            .max_packing
            .map(|v| in_range("hindrance.max_packing", v, 0.5, 0.99, false, ""))
            .transpose()?
            .unwrap_or(0.9);
        let law = match h.law {
            HindranceKind::RichardsonZaki => {
                let n = h
                    .exponent
                    .map(|v| in_range("hindrance.exponent", v, 2.0, 10.0, false, ""))
                    .transpose()?
                    .unwrap_or(buffycoat_physics::hindrance::RICHARDSON_ZAKI_LOW_RE_EXPONENT);
                HindranceLaw::richardson_zaki(n, max_packing)
            }
            HindranceKind::HawksleyVand => {
                if h.exponent.is_some() {
                    return Err(key_err(
                        "hindrance.exponent",
                        "applies only to law = \"richardson_zaki\"",
                    ));
                }
                HindranceLaw::hawksley_vand(max_packing)
            }
        }
        .map_err(|e| key_err("hindrance", e.to_string()))?;
        let g = self.grid.clone().unwrap_or_default();
        let radial_cells = match count_in_range("grid.radial_cells", g.radial_cells, 4, 1_000_000)?
        {
            Some(n) => n,
            None if self.geometry.kind == GeometryKind::Channel => DEFAULT_CHANNEL_RADIAL_CELLS,
            None => DEFAULT_RADIAL_CELLS,
        };
        let classes_per_species =
            count_in_range("grid.classes_per_species", g.classes_per_species, 1, 16)?
                .unwrap_or(DEFAULT_CLASSES_PER_SPECIES);
        let cfl = g
            .cfl
            .map(|v| in_range("grid.cfl", v, 0.0, 1.0, true, ""))
            .transpose()?
            .unwrap_or(0.5);
        let inactive_fraction = g
            .inactive_fraction
            .map(|v| in_range("grid.inactive_fraction", v, 0.0, 0.1, false, ""))
            .transpose()?
            .unwrap_or(0.0);
        let l = self.layers.clone().unwrap_or_default();
        let plasma_threshold = l
            .plasma_threshold
            .map(|v| in_range("layers.plasma_threshold", v, 0.0, 0.5, true, ""))
            .transpose()?
            .unwrap_or(0.01);
        let red_cell_threshold = l
            .red_cell_threshold
            .map(|v| in_range("layers.red_cell_threshold", v, 0.0, 1.0, true, ""))
            .transpose()?
            .unwrap_or(0.5);
        let (red_cell_aggregate_cells, esr) = match (h.red_cell_aggregate_cells, h.esr_mm_h) {
            (Some(_), Some(_)) => {
                return Err(key_err(
                    "hindrance",
                    "give red_cell_aggregate_cells or esr_mm_h, not both",
                ));
            }
            (Some(n), None) => (
                in_range(
                    "hindrance.red_cell_aggregate_cells",
                    n,
                    1.0,
                    1e6,
                    false,
                    "cells",
                )?,
                None,
            ),
            (None, Some(esr)) => {
                let esr = in_range("hindrance.esr_mm_h", esr, 0.0, 200.0, true, "mm/h")?;
                (f64::NAN, Some(esr * 1e-3 / 3600.0))
            }
            (None, None) => (1.0, None),
        };
        if !matches!(
            self.geometry.kind,
            GeometryKind::Tube | GeometryKind::Sector | GeometryKind::Channel
        ) {
            return Err(key_err(
                "geometry.kind",
                "the hindered model runs in a tube or a sector",
            ));
        }
        let channel = self.geometry.kind == GeometryKind::Channel;
        let consolidation = match &self.consolidation {
            None => None,
            Some(c) => {
                use buffycoat_physics::consolidation::{
                    Consolidation, NetworkClosure, SolidStress,
                };
                let d = Consolidation::red_cells();
                let critical = c
                    .critical_fraction
                    .map(|v| in_range("consolidation.critical_fraction", v, 0.3, 0.9, false, ""))
                    .transpose()?
                    .unwrap_or(d.stress.critical);
                if critical >= law.max_packing() {
                    return Err(key_err(
                        "consolidation.critical_fraction",
                        format!(
                            "{critical} must be below hindrance.max_packing = {}",
                            law.max_packing()
                        ),
                    ));
                }
                let modulus = c
                    .modulus_pa
                    .map(|v| in_range("consolidation.modulus_pa", v, 0.0, 1e9, true, "Pa"))
                    .transpose()?
                    .unwrap_or(d.stress.modulus);
                let exponent = c
                    .exponent
                    .map(|v| in_range("consolidation.exponent", v, 1.0, 10.0, false, ""))
                    .transpose()?
                    .unwrap_or(d.stress.exponent);
                let bed_exponent = c
                    .bed_exponent
                    .map(|v| in_range("consolidation.bed_exponent", v, 0.0, 6.0, false, ""))
                    .transpose()?
                    .unwrap_or(d.bed_exponent);
                let unloading_stiffness = c
                    .unloading_stiffness
                    .map(|v| in_range("consolidation.unloading_stiffness", v, 1.0, 1e6, false, ""))
                    .transpose()?
                    .unwrap_or(d.unloading_stiffness);
                let network_width = c
                    .network_width
                    .map(|v| in_range("consolidation.network_width", v, 0.0, 0.4, false, ""))
                    .transpose()?
                    .unwrap_or(d.network_width);
                let network = match (c.network, c.network_width) {
                    (None, None) => d.network,
                    (None | Some(NetworkKind::ContactRamp), _) => NetworkClosure::ContactRamp,
                    (Some(NetworkKind::PoreSize), Some(_)) => {
                        return Err(key_err(
                            "consolidation.network_width",
                            "applies only to consolidation.network = \"contact_ramp\"; remove \
                             it or set network = \"contact_ramp\"",
                        ));
                    }
                    (Some(NetworkKind::PoreSize), None) => NetworkClosure::PoreSize,
                    (Some(NetworkKind::Off), _) => NetworkClosure::Off,
                };
                Some(Consolidation {
                    stress: SolidStress::new(critical, modulus, exponent)
                        .map_err(|e| key_err("consolidation", e.to_string()))?,
                    bed_exponent,
                    unloading_stiffness,
                    network,
                    network_width,
                })
            }
        };
        let scheme = match (g.scheme, consolidation.is_some()) {
            (Some(_), _) if channel => {
                return Err(key_err(
                    "grid.scheme",
                    "is not used by geometry kind = \"channel\" (see channel.method); remove it",
                ));
            }
            (Some(SchemeKind::Explicit), true) => {
                return Err(key_err(
                    "grid.scheme",
                    "\"explicit\" cannot run [consolidation]; use \"implicit\" or remove \
                     [consolidation]",
                ));
            }
            (Some(SchemeKind::Implicit), _) | (None, true) => buffycoat_field::Scheme::Implicit,
            (Some(SchemeKind::Explicit), false) | (None, false) => {
                buffycoat_field::Scheme::Explicit
            }
        };
        let defaults = buffycoat_field::ImplicitNumerics::default();
        let time_tolerance = g
            .time_tolerance
            .map(|v| in_range("grid.time_tolerance", v, 1e-6, 0.1, false, ""))
            .transpose()?
            .unwrap_or(defaults.time_tolerance);
        let max_dt = g
            .max_dt_s
            .map(|v| in_range("grid.max_dt_s", v, 1e-6, 1e4, false, "s"))
            .transpose()?
            .unwrap_or(defaults.max_dt);
        if scheme == buffycoat_field::Scheme::Explicit {
            for (key, present) in [
                ("grid.time_tolerance", g.time_tolerance.is_some()),
                ("grid.max_dt_s", g.max_dt_s.is_some()),
                ("grid.minor_classes", g.minor_classes.is_some()),
                ("grid.settling_flux", g.settling_flux.is_some() && !channel),
            ] {
                if present {
                    return Err(key_err(key, "applies only to grid.scheme = \"implicit\""));
                }
            }
        }
        Ok(HinderedSettings {
            law,
            radial_cells,
            classes_per_species,
            cfl,
            inactive_fraction,
            plasma_threshold,
            red_cell_threshold,
            red_cell_aggregate_cells,
            esr,
            scheme,
            time_tolerance,
            max_dt,
            minor_classes: match g.minor_classes {
                Some(MinorClassesKind::Coupled) | None => buffycoat_field::MinorClasses::Coupled,
                Some(MinorClassesKind::Split) => buffycoat_field::MinorClasses::Split,
            },
            // the tube/sector field's implicit scheme: MUSCL at every face (the channel's own
            // setting, bed faces only, is in `ChannelSettings`)
            settling_flux: match g.settling_flux {
                _ if channel => None,
                Some(SettlingFluxKind::Upwind) | None => None,
                Some(SettlingFluxKind::MusclVanLeer) => {
                    Some(buffycoat_field::column::Limiter::VanLeer)
                }
                Some(SettlingFluxKind::MusclMinmod) => {
                    Some(buffycoat_field::column::Limiter::Minmod)
                }
            },
            consolidation,
        })
    }

    fn rotor_profile(&self, duration: f64) -> Result<RotorProfile, KeyError> {
        let r = &self.rotor;
        let rpm_range = |key: &str, v: f64| in_range(key, v, 0.0, MAX_RPM, false, "rpm");
        match (&r.profile, r.rpm) {
            (Some(_), Some(_)) => Err(key_err(
                "rotor",
                "give either `rpm` (with optional ramp_s/brake_s) or `profile`, not both",
            )),
            (None, None) => Err(key_err("rotor.rpm", "missing: give `rpm` or `profile`")),
            (Some(knots), None) => {
                if r.ramp_s.is_some() || r.brake_s.is_some() {
                    return Err(key_err(
                        "rotor",
                        "ramp_s/brake_s go with `rpm`, not with `profile`",
                    ));
                }
                let mut pairs = Vec::with_capacity(knots.len());
                for (i, k) in knots.iter().enumerate() {
                    rpm_range(&format!("rotor.profile.{i}.rpm"), k.rpm)?;
                    pairs.push((k.time_s, k.rpm));
                }
                RotorProfile::from_rpm_knots(&pairs)
                    .map_err(|e| key_err("rotor.profile", e.to_string()))
            }
            (None, Some(rpm)) => {
                rpm_range("rotor.rpm", rpm)?;
                let ramp = r
                    .ramp_s
                    .map(|v| {
                        in_range(
                            "rotor.ramp_s",
                            v,
                            0.0,
                            duration,
                            false,
                            "s (within run.duration_s)",
                        )
                    })
                    .transpose()?
                    .unwrap_or(0.0);
                let brake = r
                    .brake_s
                    .map(|v| {
                        in_range(
                            "rotor.brake_s",
                            v,
                            0.0,
                            duration - ramp,
                            false,
                            "s (ramp_s + brake_s ≤ run.duration_s)",
                        )
                    })
                    .transpose()?
                    .unwrap_or(0.0);
                RotorProfile::trapezoid(rpm, ramp, duration - brake, brake)
                    .map_err(|e| key_err("rotor", e.to_string()))
            }
        }
    }

    fn geometry(&self) -> Result<Geometry, KeyError> {
        let g = &self.geometry;
        if g.kind == GeometryKind::Channel {
            for (key, present) in [
                ("geometry.r_min_m", g.r_min_m.is_some()),
                ("geometry.r_max_m", g.r_max_m.is_some()),
                ("geometry.radius_m", g.radius_m.is_some()),
                ("geometry.angle_deg", g.angle_deg.is_some()),
            ] {
                not_for_kind(key, present, "channel")?;
            }
            let c = self.channel_geometry()?;
            // The particle container is unused for a channel; a box of the channel's depth
            // stands in so that shared code (sample volume) has a geometry.
            return Tube::new(c.r_inner, c.r_outer, 0.5 * c.height)
                .map(Geometry::Tube)
                .map_err(|e| key_err("geometry", e.to_string()));
        }
        for (key, present) in [
            ("geometry.r_inner_m", g.r_inner_m.is_some()),
            ("geometry.r_outer_m", g.r_outer_m.is_some()),
            ("geometry.length_m", g.length_m.is_some()),
        ] {
            let kind = if g.kind == GeometryKind::Tube {
                "tube"
            } else {
                "sector"
            };
            not_for_kind(key, present, kind)?;
        }
        let r_min = in_range(
            "geometry.r_min_m",
            require("geometry.r_min_m", g.r_min_m)?,
            RADIUS_RANGE.0,
            RADIUS_RANGE.1,
            false,
            "m",
        )?;
        let r_max = require("geometry.r_max_m", g.r_max_m)?;
        if !(r_max.is_finite() && r_max > r_min && r_max <= RADIUS_RANGE.1) {
            return Err(key_err(
                "geometry.r_max_m",
                format!(
                    "{r_max} is out of range: allowed r_min_m < r_max_m ≤ {} m (r_min_m = {r_min})",
                    RADIUS_RANGE.1
                ),
            ));
        }
        let to_err = |e: buffycoat_sediment::SedimentError| match e {
            buffycoat_sediment::SedimentError::InvalidParameter {
                name,
                value,
                allowed,
            } => key_err(name, format!("{value} is out of range: allowed {allowed}")),
            other => key_err("geometry", other.to_string()),
        };
        match g.kind {
            GeometryKind::Tube => {
                not_for_kind("geometry.angle_deg", g.angle_deg.is_some(), "tube")?;
                not_for_kind("geometry.height_m", g.height_m.is_some(), "tube")?;
                let radius = in_range(
                    "geometry.radius_m",
                    require("geometry.radius_m", g.radius_m)?,
                    0.0,
                    0.5,
                    true,
                    "m",
                )?;
                Tube::new(r_min, r_max, radius)
                    .map(Geometry::Tube)
                    .map_err(to_err)
            }
            GeometryKind::Channel => unreachable!("handled above"),
            GeometryKind::Sector => {
                not_for_kind("geometry.radius_m", g.radius_m.is_some(), "sector")?;
                let angle = in_range(
                    "geometry.angle_deg",
                    require("geometry.angle_deg", g.angle_deg)?,
                    0.0,
                    179.0,
                    true,
                    "degrees",
                )?;
                let height = in_range(
                    "geometry.height_m",
                    require("geometry.height_m", g.height_m)?,
                    0.0,
                    1.0,
                    true,
                    "m",
                )?;
                Sector::new(r_min, r_max, angle.to_radians(), height)
                    .map(Geometry::Sector)
                    .map_err(to_err)
            }
        }
    }

    fn fluid(&self) -> Result<Fluid, KeyError> {
        let f = &self.fluid;
        let base = match f.preset {
            Some(FluidPreset::PlasmaRoomTemperature) => Fluid::plasma_room_temperature(),
            Some(FluidPreset::Plasma37c) | None => Fluid::plasma_37c(),
        };
        let density = f
            .density_kg_m3
            .map(|v| {
                in_range(
                    "fluid.density_kg_m3",
                    v,
                    FLUID_DENSITY_RANGE.0,
                    FLUID_DENSITY_RANGE.1,
                    false,
                    "kg/m³",
                )
            })
            .transpose()?
            .unwrap_or(base.density);
        let viscosity = f
            .viscosity_pa_s
            .map(|v| {
                in_range(
                    "fluid.viscosity_pa_s",
                    v,
                    VISCOSITY_RANGE.0,
                    VISCOSITY_RANGE.1,
                    false,
                    "Pa·s",
                )
            })
            .transpose()?
            .unwrap_or(base.viscosity);
        Fluid::new(density, viscosity).map_err(|e| key_err("fluid", e.to_string()))
    }
}

fn resolve_count(key: &str, count: Option<i64>) -> Result<usize, KeyError> {
    match count {
        None => Err(key_err(key, "missing: the number of tracer cells, ≥ 1")),
        Some(c) if c < 1 || c as u64 > MAX_CELLS => Err(key_err(
            key,
            format!("{c} is out of range: allowed 1 ≤ count ≤ {MAX_CELLS}"),
        )),
        Some(c) => Ok(c as usize),
    }
}

fn resolve_species(
    entry: &SpeciesEntry,
    i: usize,
    library: &SpeciesLibrary,
    hindered: bool,
) -> Result<RunSpecies, KeyError> {
    let prefix = format!("species.{i}");
    let name = entry.name.trim();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(key_err(
            format!("{prefix}.name"),
            format!("{:?}: must be non-empty without whitespace", entry.name),
        ));
    }
    let count_key = format!("{prefix}.count");
    let (count, volume_fraction) = if hindered {
        let phi = entry.volume_fraction.ok_or_else(|| {
            key_err(format!("{prefix}.volume_fraction"), "missing: the hindered model needs each species' initial volume fraction (or use [blood])")
        })?;
        let phi = in_range(
            &format!("{prefix}.volume_fraction"),
            phi,
            0.0,
            0.99,
            false,
            "",
        )?;
        let count = match entry.count {
            None => 0,
            Some(c) if c < 0 || c as u64 > MAX_CELLS => {
                return Err(key_err(
                    count_key,
                    format!("{c} is out of range: allowed 0 ≤ count ≤ {MAX_CELLS} tracer cells"),
                ));
            }
            Some(c) => c as usize,
        };
        (count, Some(phi))
    } else {
        if entry.volume_fraction.is_some() {
            return Err(key_err(
                format!("{prefix}.volume_fraction"),
                "applies only to model.kind = \"hindered\" (particle models use `count`)",
            ));
        }
        (resolve_count(&count_key, entry.count)?, None)
    };
    let quantity =
        |q: &Option<RawQuantity>, k: &QuantityKey| -> Result<Option<Distribution>, KeyError> {
            q.as_ref()
                .map(|q| {
                    quantity::convert_quantity(q, k)
                        .map_err(|e| key_err(format!("{prefix}.{}", e.key), e.message))
                })
                .transpose()
        };
    let density = quantity(&entry.density_kg_m3, &DENSITY_SI)?;
    let diameter = quantity(&entry.diameter_m, &DIAMETER_SI)?;
    let base_name = entry.library.as_deref().unwrap_or(name);
    let base = match (&density, &diameter, entry.library.is_some()) {
        (Some(_), Some(_), false) => None,
        _ => Some(library.get(base_name).ok_or_else(|| {
            let known: Vec<&str> = library.names().collect();
            let key = if entry.library.is_some() { format!("{prefix}.library") } else { format!("{prefix}.name") };
            key_err(
                key,
                format!(
                    "unknown species `{base_name}`: known species are {}; or define a custom species with both density_kg_m3 and diameter_m",
                    known.join(", ")
                ),
            )
        })?),
    };
    let shape_factor = match entry.shape_factor {
        Some(chi) => in_range(&format!("{prefix}.shape_factor"), chi, 1.0, 10.0, false, "")?,
        None => base.map_or(1.0, |b| b.shape_factor),
    };
    let species = Species {
        name: name.to_owned(),
        display_name: base.map_or_else(|| name.to_owned(), |b| b.display_name.clone()),
        density: density
            .unwrap_or_else(|| base.expect("library species when density missing").density),
        size: diameter
            .map(SizeDistribution::Diameter)
            .unwrap_or_else(|| base.expect("library species when diameter missing").size),
        shape_factor,
        normal_per_ul: base.and_then(|b| b.normal_per_ul),
        source: base.map_or_else(|| "custom (scenario file)".to_owned(), |b| b.source.clone()),
    };
    species
        .validate()
        .map_err(|e| key_err(prefix.clone(), e.to_string()))?;
    Ok(RunSpecies {
        species,
        count,
        per_ul: None,
        volume_fraction,
    })
}

fn resolve_blood(
    b: &BloodSection,
    library: &SpeciesLibrary,
    hindered: bool,
) -> Result<Vec<RunSpecies>, KeyError> {
    let defaults = BloodComposition::normal_adult();
    let blast_species = match b.blast_species.as_deref() {
        None => defaults.blast_species,
        Some(s) => s.parse::<BlastSpecies>().map_err(|_| {
            key_err(
                "blood.blast_species",
                format!("{s:?}: allowed \"myeloblast\" or \"lymphoblast\""),
            )
        })?,
    };
    let (hematocrit, rbc_per_ul) = match (b.hematocrit, b.rbc_per_ul) {
        (Some(_), Some(_)) => {
            return Err(key_err("blood", "give hematocrit or rbc_per_ul, not both"));
        }
        (None, None) => (defaults.hematocrit, defaults.rbc_per_ul),
        (h, r) => (h, r),
    };
    let composition = BloodComposition {
        hematocrit,
        rbc_per_ul,
        wbc_per_ul: b.wbc_per_ul.unwrap_or(defaults.wbc_per_ul),
        differential: b
            .differential
            .as_ref()
            .map(|d| d.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or(defaults.differential),
        platelets_per_ul: b.platelets_per_ul.unwrap_or(defaults.platelets_per_ul),
        blasts_per_ul: b.blasts_per_ul.unwrap_or(0.0),
        blast_species,
        cd34_per_ul: b.cd34_per_ul.unwrap_or(defaults.cd34_per_ul),
        ac_ratio: b.ac_ratio,
    };
    let concentrations = composition
        .concentrations(library)
        .map_err(|e| key_err("blood", e.to_string()))?;
    let count = match (b.tracers_per_species, hindered) {
        (None, false) => 1000,
        (None, true) => 200,
        (Some(c), true) if (0..=MAX_CELLS as i64).contains(&c) => c as usize,
        (c, _) => resolve_count("blood.tracers_per_species", c)?,
    };
    concentrations
        .iter()
        .map(|c| {
            let species = library
                .lookup(&c.species)
                .map_err(|e| key_err("blood", e.to_string()))?;
            Ok(RunSpecies {
                species: species.clone(),
                count,
                per_ul: Some(units::per_m3_to_per_ul(c.per_m3)),
                volume_fraction: hindered.then_some(c.volume_fraction),
            })
        })
        .collect()
}
