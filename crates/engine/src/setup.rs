//! The model set-ups: one typed choice per run, in SI units. Front ends (the CLI's scenario
//! files, future Python bindings) build a [`Setup`]; [`crate::run()`] runs it.

use buffycoat_channel::{
    ChannelConfig, ChannelError, ChannelFlows, ChannelGeometry, FlowProfile, InitialFill,
    InterfaceTarget, PlasmaControl, SettlingFlux, ShearDiffusion, SteadyMethod,
};
use buffycoat_field::{Class, FieldError, FieldGeometry, classes_from_suspension};
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::forces::ForceSet;
use buffycoat_physics::hindrance::HindranceLaw;
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_physics::species::{CellRoles, Species};
use buffycoat_sediment::{Geometry, ParticleModel, Tolerances};

/// A species of the run with its tracer count.
#[derive(Debug, Clone)]
pub struct RunSpecies {
    /// the species (SI distributions)
    pub species: Species,
    /// tracer cells
    pub count: usize,
    /// real cells per µL represented (blood compositions only)
    pub per_ul: Option<f64>,
    /// initial volume fraction (hindered model)
    pub volume_fraction: Option<f64>,
}

/// What every model separates: the species (in output order), the suspending fluid and the
/// RNG seed of the tracer cells.
#[derive(Debug, Clone)]
pub struct Sample {
    /// species in output order (names unique)
    pub species: Vec<RunSpecies>,
    /// suspending fluid
    pub fluid: Fluid,
    /// RNG seed (tracer properties and positions)
    pub seed: u64,
    /// which species are red cells and platelets (the white-cell rule)
    pub roles: CellRoles,
}

impl Sample {
    /// The species names in order.
    pub fn names(&self) -> Vec<String> {
        self.species
            .iter()
            .map(|s| s.species.name.clone())
            .collect()
    }
}

/// Simulated time and output cadence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeline {
    /// simulated duration (s)
    pub duration: f64,
    /// time between output frames (s)
    pub output_interval: f64,
}

/// Settings of the hindered (field) model, shared by the tube/sector field, the channel and
/// the procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct HinderedSettings {
    /// hindrance law with maximum packing
    pub law: HindranceLaw,
    /// finite volumes
    pub radial_cells: usize,
    /// classes per species
    pub classes_per_species: usize,
    /// CFL number
    pub cfl: f64,
    /// see `buffycoat_field::Numerics::inactive_fraction`
    pub inactive_fraction: f64,
    /// plasma → buffy-coat threshold (non-platelet cell volume fraction)
    pub plasma_threshold: f64,
    /// buffy-coat → red-cell threshold (fraction of the initial mean red-cell fraction)
    pub red_cell_threshold: f64,
    /// red cells per sedimenting aggregate (1 = none)
    pub red_cell_aggregate_cells: f64,
    /// the ESR (m/s) the aggregate size is derived from, if given that way
    pub esr: Option<f64>,
    /// time discretisation of the tube/sector field (`buffycoat_field::Scheme`)
    pub scheme: buffycoat_field::Scheme,
    /// implicit scheme: local error tolerance (`buffycoat_field::ImplicitNumerics`)
    pub time_tolerance: f64,
    /// implicit scheme: largest step (s)
    pub max_dt: f64,
    /// implicit scheme: the dilute classes in the coupled Newton solve or split off it
    /// (`buffycoat_field::MinorClasses`)
    pub minor_classes: buffycoat_field::MinorClasses,
    /// implicit scheme (tube/sector): `Some(limiter)` the second-order MUSCL settling flux
    /// (`grid.settling_flux`; `buffycoat_field::ImplicitNumerics::reconstruction`), `None` first
    /// order (the channel takes its own from `ChannelSettings`)
    pub settling_flux: Option<buffycoat_field::column::Limiter>,
    /// bed consolidation of the tube/sector field (`None`: off; requires the implicit scheme)
    pub consolidation: Option<buffycoat_physics::consolidation::Consolidation>,
}

/// Hematocrit assumed for the ESR → aggregate size conversion when the run gives none.
pub const DEFAULT_ESR_HEMATOCRIT: f64 = 0.45;

impl HinderedSettings {
    /// Red cells per sedimenting aggregate: as given, or derived from the ESR with the mean red
    /// cell of `sample` (`buffycoat_field::red_cell_aggregate_from_esr`); 1 without red cells.
    pub fn red_cell_aggregate_cells(&self, sample: &Sample) -> f64 {
        let Some(esr) = self.esr else {
            return self.red_cell_aggregate_cells;
        };
        let Some(rbc) = sample
            .species
            .iter()
            .find(|s| sample.roles.is_red_cell(&s.species.name))
        else {
            return 1.0;
        };
        buffycoat_field::red_cell_aggregate_from_esr(
            esr,
            &rbc.species,
            rbc.volume_fraction.unwrap_or(DEFAULT_ESR_HEMATOCRIT),
            &sample.fluid,
            &self.law,
        )
    }

    /// The field classes of every species of `sample` at its initial volume fraction.
    ///
    /// # Errors
    /// As `buffycoat_field::classes_from_suspension`.
    pub fn classes(&self, sample: &Sample) -> Result<Vec<Class>, FieldError> {
        let components: Vec<(&Species, f64)> = sample
            .species
            .iter()
            .map(|s| (&s.species, s.volume_fraction.unwrap_or(0.0)))
            .collect();
        classes_from_suspension(
            &components,
            self.classes_per_species,
            &sample.roles,
            self.red_cell_aggregate_cells(sample),
        )
    }
}

/// The free-cell (particle) models: overdamped or inertial tracer cells in a tube or sector.
#[derive(Debug, Clone)]
pub struct ParticleSetup {
    /// species, fluid, seed
    pub sample: Sample,
    /// duration and output cadence
    pub timeline: Timeline,
    /// fixed step (s; `None`: the solver's choice)
    pub dt: Option<f64>,
    /// rotor speed over time
    pub rotor: RotorProfile,
    /// container
    pub geometry: Geometry,
    /// forces
    pub forces: ForceSet,
    /// overdamped or inertial
    pub model: ParticleModel,
    /// error control of the inertial model
    pub tolerances: Tolerances,
    /// particle positions every n-th frame
    pub particle_every: usize,
    /// write velocities
    pub velocities: bool,
}

/// Hindered settling in a tube or sector: volume-fraction fields plus tracer cells.
#[derive(Debug, Clone)]
pub struct HinderedSetup {
    /// species (with initial volume fractions), fluid, seed
    pub sample: Sample,
    /// duration and output cadence
    pub timeline: Timeline,
    /// rotor speed over time
    pub rotor: RotorProfile,
    /// container (the field is radial: a tube's axis or a sector's radius)
    pub geometry: Geometry,
    /// gravitational acceleration along the axis (m/s²; `None`: off)
    pub gravity: Option<f64>,
    /// field settings
    pub field: HinderedSettings,
    /// tracer positions every n-th frame
    pub particle_every: usize,
}

impl HinderedSetup {
    /// The field's geometry for the container.
    pub fn field_geometry(&self) -> FieldGeometry {
        match self.geometry {
            Geometry::Tube(_) => FieldGeometry::Tube,
            Geometry::Sector(_) => FieldGeometry::Sector,
        }
    }
}

/// The channel's settings (SI), shared by channel runs and procedures.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSettings {
    /// walls, height, length
    pub geometry: ChannelGeometry,
    /// inlet, anticoagulant and port flows
    pub flows: ChannelFlows,
    /// velocity profile
    pub profile: FlowProfile,
    /// constant rotor speed (rpm)
    pub rpm: f64,
    /// stations along the channel
    pub along_cells: usize,
    /// steady march method
    pub method: SteadyMethod,
    /// grade-efficiency bins
    pub grade_bins: usize,
    /// sub-intervals of the tracer cells per station interval (docs/physics.md §6.7)
    /// ([`buffycoat_channel::TracerSettings::substeps`])
    pub tracer_substeps: usize,
    /// the interface controller's target (`None`: plasma flow fixed)
    pub interface: Option<InterfaceTarget>,
    /// the collect-hematocrit set-point (volume fraction in (0, 1)): the plasma flow is solved
    /// so the collect port's hematocrit equals it (`None`: not controlled; exclusive with
    /// `interface`; docs/physics.md §10.6)
    pub collect_hematocrit: Option<f64>,
    /// shear-induced diffusion across the depth (`None`: off; docs/physics.md §10.2)
    pub shear_diffusion: Option<ShearDiffusion>,
    /// half-width of the radial refinement at the buffy coat, a fraction of the depth
    /// (`None`: uniform; [`ChannelConfig::refine_interface`])
    pub refine_interface: Option<f64>,
    /// settling flux of the implicit steady march ([`ChannelConfig::settling_flux`])
    pub settling_flux: SettlingFlux,
}

impl ChannelSettings {
    /// How the plasma pump is set after the steady solve.
    ///
    /// # Errors
    /// Both controllers given, or a set-point outside (0, 1)
    /// ([`PlasmaControl::from_options`]).
    pub fn plasma_control(&self) -> Result<PlasmaControl, ChannelError> {
        PlasmaControl::from_options(self.interface.as_ref(), self.collect_hematocrit)
    }

    /// The channel solver's configuration.
    pub fn config(&self, field: &HinderedSettings, fluid: Fluid) -> ChannelConfig {
        let mut config = ChannelConfig::new(
            self.geometry,
            self.flows,
            self.profile,
            self.rpm,
            fluid,
            field.law,
        );
        config.radial_cells = field.radial_cells;
        config.along_cells = self.along_cells;
        config.method = self.method;
        config.explicit.cfl = field.cfl;
        config.explicit.inactive_fraction = field.inactive_fraction;
        config.consolidation = field.consolidation;
        config.shear_diffusion = self.shear_diffusion;
        config.refine_interface = self.refine_interface;
        config.settling_flux = self.settling_flux;
        config
    }
}

/// How a channel is solved.
#[derive(Debug, Clone)]
pub enum ChannelSolver {
    /// the steady state, marched along the channel (with tracer fates and grade curves)
    Steady,
    /// start-up in time
    Transient {
        /// duration and output cadence
        timeline: Timeline,
        /// initial content
        initial: InitialFill,
        /// rotor speed over time (`None`: constant at the channel's rpm)
        rotor: Option<RotorProfile>,
    },
}

/// The continuous-flow separation channel.
#[derive(Debug, Clone)]
pub struct ChannelSetup {
    /// the undiluted blood (volume fractions), fluid, seed
    pub sample: Sample,
    /// field settings across the channel
    pub field: HinderedSettings,
    /// the channel
    pub channel: ChannelSettings,
    /// steady or transient
    pub solver: ChannelSolver,
}

/// A leukapheresis procedure over hours, with the channel as separator.
#[derive(Debug, Clone)]
pub struct ProcedureSetup {
    /// the patient's species, fluid, seed
    pub sample: Sample,
    /// field settings of the channel
    pub field: HinderedSettings,
    /// the channel
    pub channel: ChannelSettings,
    /// the patient (concentrations per species of the sample, undiluted)
    pub patient: buffycoat_procedure::Patient,
    /// stop rules, flows, numerics
    pub procedure: buffycoat_procedure::Procedure,
}

/// One run: the model and its settings.
#[derive(Debug, Clone)]
pub enum Setup {
    /// free tracer cells (overdamped or inertial)
    Particles(ParticleSetup),
    /// hindered settling fields in a tube or sector
    Hindered(HinderedSetup),
    /// the continuous-flow channel
    Channel(ChannelSetup),
    /// a procedure over hours
    Procedure(ProcedureSetup),
}

impl Setup {
    /// The species, fluid and seed.
    pub fn sample(&self) -> &Sample {
        match self {
            Setup::Particles(s) => &s.sample,
            Setup::Hindered(s) => &s.sample,
            Setup::Channel(s) => &s.sample,
            Setup::Procedure(s) => &s.sample,
        }
    }

    /// The model's name as in the summaries: `overdamped`, `inertial`, `hindered`, `channel`,
    /// `procedure`.
    pub fn model_name(&self) -> &'static str {
        match self {
            Setup::Particles(p) => particle_model_name(p.model),
            Setup::Hindered(_) => "hindered",
            Setup::Channel(_) => "channel",
            Setup::Procedure(_) => "procedure",
        }
    }
}

/// `overdamped` or `inertial`.
pub fn particle_model_name(model: ParticleModel) -> &'static str {
    match model {
        ParticleModel::Overdamped => "overdamped",
        ParticleModel::Inertial => "inertial",
    }
}

/// `tube` or `sector`.
pub fn geometry_name(geometry: &Geometry) -> &'static str {
    match geometry {
        Geometry::Tube(_) => "tube",
        Geometry::Sector(_) => "sector",
    }
}
