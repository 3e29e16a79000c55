//! Channel configuration: geometry, flows, velocity profile, rotor, fluid, hindrance law and
//! numerical settings (all SI).

use buffycoat_field::Numerics;
use buffycoat_field::column::Limiter;
use buffycoat_physics::blood::AC_RATIO_RANGE;
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::hindrance::HindranceLaw;
use buffycoat_physics::units::{m3_per_s_to_ml_per_min, rpm_to_rad_per_s};

use crate::error::{ChannelError, invalid};
use crate::flow::{DEFAULT_MAX_RELATIVE_VISCOSITY, SuspensionViscosity};
use buffycoat_physics::consolidation::Consolidation;

/// Largest accepted depth-to-radius ratio (r_outer − r_inner)/r_inner of the thin-channel
/// approximation. The model neglects the 1/r factor of the radial divergence and the variation
/// of the along-channel length with radius, relative errors of order δ/r; 0.25 keeps them
/// below about 25 % in the worst case (real apheresis channels have δ/r ≈ 0.01–0.05).
pub const MAX_DEPTH_TO_RADIUS: f64 = 0.25;

/// Largest accepted rotor speed (rpm) of the channel solvers (apheresis centrifuges run at
/// 1000–3000 rpm; higher values are accepted up to this bound).
pub const MAX_RPM: f64 = 20_000.0;

/// Largest accepted inlet (whole-blood) flow, mL/min (apheresis inlet pumps run at 10–150).
pub const MAX_INLET_ML_MIN: f64 = 1000.0;

/// The channel in the rotor (SI).
///
/// A thin curved channel between the radii `r_inner` (low-g wall) and `r_outer` (high-g wall),
/// of axial height `height`, running `length` along the circumference (measured at the mean
/// radius). **Thin-channel approximation**: with depth δ = r_outer − r_inner ≪ r the
/// along-channel coordinate s ∈ [0, L] is the same at every radius and the cross-section is
/// the rectangle h × δ (curvature terms of relative size δ/r are neglected).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelGeometry {
    /// radius of the inner (low-g) wall r₁ (m), scenario key `geometry.r_inner_m`
    pub r_inner: f64,
    /// radius of the outer (high-g) wall r₂ (m), scenario key `geometry.r_outer_m`
    pub r_outer: f64,
    /// axial height h (m), scenario key `geometry.height_m`
    pub height: f64,
    /// length L along the circumference at the mean radius (m), scenario key `geometry.length_m`
    pub length: f64,
}

impl ChannelGeometry {
    /// Radial depth δ = r₂ − r₁ (m).
    pub fn depth(&self) -> f64 {
        self.r_outer - self.r_inner
    }

    /// Mean radius R = (r₁ + r₂)/2 (m).
    pub fn mean_radius(&self) -> f64 {
        0.5 * (self.r_inner + self.r_outer)
    }

    /// Cross-section h δ (m²).
    pub fn cross_section(&self) -> f64 {
        self.height * self.depth()
    }

    /// Channel volume h δ L (m³).
    pub fn volume(&self) -> f64 {
        self.cross_section() * self.length
    }

    /// Checks the geometry.
    ///
    /// # Errors
    /// [`ChannelError::InvalidParameter`] naming the scenario key.
    pub fn validate(&self) -> Result<(), ChannelError> {
        if !(self.r_inner.is_finite() && self.r_inner > 0.0) {
            return Err(invalid(
                "geometry.r_inner_m",
                self.r_inner,
                "finite and > 0",
            ));
        }
        if !(self.r_outer.is_finite() && self.r_outer > self.r_inner) {
            return Err(invalid(
                "geometry.r_outer_m",
                self.r_outer,
                "finite and > geometry.r_inner_m",
            ));
        }
        if self.depth() > MAX_DEPTH_TO_RADIUS * self.r_inner {
            return Err(invalid(
                "geometry.r_outer_m",
                self.r_outer,
                &format!(
                    "a thin channel: r_outer_m - r_inner_m <= {MAX_DEPTH_TO_RADIUS} * r_inner_m = {}",
                    MAX_DEPTH_TO_RADIUS * self.r_inner
                ),
            ));
        }
        if !(self.height.is_finite() && self.height > 0.0) {
            return Err(invalid("geometry.height_m", self.height, "finite and > 0"));
        }
        if !(self.length.is_finite() && self.length > 0.0) {
            return Err(invalid("geometry.length_m", self.length, "finite and > 0"));
        }
        Ok(())
    }
}

/// The pump flows (SI, m³/s).
///
/// Whole blood enters at `blood_inlet` Q_b together with anticoagulant at the inlet:AC ratio
/// r (`ac_ratio`): the AC pump adds Q_b/r, the channel receives Q = Q_b(1 + 1/r), and every
/// inlet concentration is the blood's times r/(r + 1). At the end of the channel the plasma
/// port (innermost) takes Q_p = `plasma`, the collect port Q_c = `collect` and the red-cell
/// port (outermost) the remainder Q_r = Q − Q_p − Q_c, which must not be negative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelFlows {
    /// whole-blood (inlet pump) flow Q_b (m³/s), scenario key `inlet.flow_ml_min`
    pub blood_inlet: f64,
    /// inlet:AC ratio r (volumes of blood per volume of anticoagulant), key `inlet.ac_ratio`
    pub ac_ratio: f64,
    /// plasma port flow Q_p (m³/s), key `ports.plasma_ml_min`
    pub plasma: f64,
    /// collect port flow Q_c (m³/s), key `ports.collect_ml_min`
    pub collect: f64,
}

impl ChannelFlows {
    /// Anticoagulant flow Q_b/r (m³/s).
    pub fn anticoagulant(&self) -> f64 {
        self.blood_inlet / self.ac_ratio
    }

    /// Channel inflow Q = Q_b(1 + 1/r) (m³/s).
    pub fn channel_inflow(&self) -> f64 {
        self.blood_inlet + self.anticoagulant()
    }

    /// Dilution of the blood by the anticoagulant, r/(r + 1).
    pub fn dilution(&self) -> f64 {
        self.ac_ratio / (self.ac_ratio + 1.0)
    }

    /// Red-cell port flow Q_r = Q − Q_p − Q_c (m³/s; negative if the input is inconsistent).
    pub fn red_cells(&self) -> f64 {
        self.channel_inflow() - self.plasma - self.collect
    }

    /// The three port flows (plasma, collect, red cells) in m³/s.
    pub fn port_flows(&self) -> [f64; 3] {
        [self.plasma, self.collect, self.red_cells()]
    }

    /// Checks the flows.
    ///
    /// # Errors
    /// [`ChannelError::InvalidParameter`] naming the scenario key (values in mL/min), or
    /// [`ChannelError::NegativeRedCellFlow`].
    pub fn validate(&self) -> Result<(), ChannelError> {
        let ml = m3_per_s_to_ml_per_min;
        if !(self.blood_inlet.is_finite()
            && self.blood_inlet > 0.0
            && ml(self.blood_inlet) <= MAX_INLET_ML_MIN)
        {
            return Err(invalid(
                "inlet.flow_ml_min",
                ml(self.blood_inlet),
                &format!("> 0 and <= {MAX_INLET_ML_MIN}"),
            ));
        }
        let (lo, hi) = AC_RATIO_RANGE;
        if !(self.ac_ratio.is_finite() && self.ac_ratio >= lo && self.ac_ratio <= hi) {
            return Err(invalid(
                "inlet.ac_ratio",
                self.ac_ratio,
                &format!("{lo} <= ratio <= {hi}"),
            ));
        }
        if !(self.plasma.is_finite() && self.plasma >= 0.0) {
            return Err(invalid("ports.plasma_ml_min", ml(self.plasma), ">= 0"));
        }
        if !(self.collect.is_finite() && self.collect >= 0.0) {
            return Err(invalid("ports.collect_ml_min", ml(self.collect), ">= 0"));
        }
        let q = self.channel_inflow();
        if self.collect > q {
            return Err(invalid(
                "ports.collect_ml_min",
                ml(self.collect),
                &format!(
                    "<= the channel inflow {} mL/min (inlet.flow_ml_min x (1 + 1/inlet.ac_ratio))",
                    ml(q)
                ),
            ));
        }
        // A relative round-off margin: plasma + collect equal to the inflow is accepted.
        if self.red_cells() < -1e-12 * q {
            return Err(ChannelError::NegativeRedCellFlow {
                inflow_ml_min: ml(q),
                ports_ml_min: ml(self.plasma + self.collect),
                red_cells_ml_min: ml(self.red_cells()),
            });
        }
        Ok(())
    }
}

/// The along-channel velocity w(r) across the depth: imposed (`Plug`, `Laminar`) or from the
/// local viscosity of the suspension (`Viscous`, docs/physics.md §10.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlowProfile {
    /// uniform w = w̄ = Q/(h δ); the stream-function coordinate is ξ = y = r − r₁
    #[default]
    Plug,
    /// plane Poiseuille flow across the depth, w = 6 w̄ y(δ − y)/δ² (no slip at both walls,
    /// the height h ≫ δ is not resolved); ξ = δ[3(y/δ)² − 2(y/δ)³]
    Laminar,
    /// composition-dependent lubrication flow ∂/∂r(μ(φ, γ̇) ∂w/∂r) = ∂p/∂s with no slip at both
    /// walls, recomputed at every station from the column of the previous station
    /// ([`crate::StationFlow`], [`crate::lubrication::ViscousProfile`]): the packed red-cell bed
    /// is viscous and moves slowly. The inlet (uniform suspension) is plane Poiseuille flow.
    Viscous,
}

impl FlowProfile {
    /// The scenario name: `plug`, `laminar`, `viscous`.
    pub fn key(self) -> &'static str {
        match self {
            FlowProfile::Plug => "plug",
            FlowProfile::Laminar => "laminar",
            FlowProfile::Viscous => "viscous",
        }
    }
}

/// Shear-induced diffusion across the channel depth (docs/physics.md §10.2; the flux of
/// [`buffycoat_field::column::Diffusion`]): class i diffuses with
/// N_i = −k_i γ̇ Φ [(1 − Φ/φ_max) ∂φ_i/∂r + (φ_i/φ_max) ∂Φ/∂r], k_i = K ℓ_i², where γ̇ is the
/// shear rate of the along-channel profile ([`crate::grid::face_shear_rates`]) and
/// ℓ_i = (a_i + ā)/2 the mean collision radius of a class-i cell (sphere-equivalent radius
/// a_i of one cell) with the suspension's volume-weighted mean radius ā at the inlet.
///
/// K = 0.41 is Phillips et al.'s collision coefficient K_c (Phys Fluids A 4:30, 1992,
/// fitted to rigid-sphere Couette migration data). For red cells it gives
/// K ℓ² = 0.41 × (2.8 µm)² = 3.2 × 10⁻¹² m², close to the Zydney–Colton red-cell value
/// 0.15 × (4.2 µm)² = 2.6 × 10⁻¹² m² (PhysicoChem Hydrodyn 10:77, 1988; *unconfirmed*), and
/// for a platelet tracer at H = 0.4, γ̇ = 17 s⁻¹ about 1.1 × 10⁻¹¹ m²/s, inside the measured
/// 0.5–2.5 × 10⁻¹¹ m²/s of Turitto, Benis & Leonard (Ind Eng Chem Fundam 11:216, 1972).
/// Validity: as [`buffycoat_physics::shear_diffusion`] (Stokes flow around the cells,
/// a²γ̇/D_Brownian ≫ 1); rigid-sphere coefficient for deformable, aggregating cells is an
/// order-of-magnitude model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShearDiffusion {
    /// dimensionless encounter coefficient K ≥ 0, scenario key
    /// `flow.shear_diffusion_coefficient`
    pub coefficient: f64,
}

impl ShearDiffusion {
    /// K = K_c = 0.41 of Phillips et al. (1992).
    pub const PHILLIPS_1992: ShearDiffusion = ShearDiffusion { coefficient: 0.41 };
}

/// How the steady state is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SteadyMethod {
    /// Backward-Euler march in τ with Δτ = T/along_cells, a monotone first-order flux in ξ and
    /// Newton's method with the analytic block-tridiagonal Jacobian (fast; the default).
    #[default]
    Implicit,
    /// Explicit CFL-limited march with the high-resolution field solver
    /// ([`buffycoat_field::HinderedField`]: MUSCL central-upwind, SSP-RK2) in the coordinate ξ,
    /// sampled at the along_cells + 1 stations (accurate; slower).
    Explicit,
}

/// Settings of the implicit (backward-Euler + Newton) march.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImplicitSettings {
    /// Newton converges when max_{i,j} |G_ij| / (m_j s_i) ≤ `tolerance`, with G the residual,
    /// m_j the cell measure and s_i the scale of class i (its inlet volume fraction, at least
    /// 10⁻¹² of the total). Default 10⁻¹⁰; the new state is then recomputed from the fluxes so
    /// that conservation holds to round-off whatever the tolerance.
    pub tolerance: f64,
    /// Newton iterations per step before the step is subdivided (default 40).
    pub max_iterations: usize,
    /// Halvings of a step allowed when Newton stalls (default 8; each halving replaces one
    /// backward-Euler step by two of half the size, counted in the statistics).
    pub max_subdivisions: usize,
    /// Width ε of the packing ramp (volume fraction, default 0.01): the implicit scheme uses
    /// V(φ)·min(1, (φ_max − φ)/ε) for V(φ), continuous at φ_max. The law's own cut-off
    /// (V jumps to 0 at φ_max) leaves the backward-Euler equations without a solution when a
    /// cell fills; the ramp changes V only within ε of φ_max, where V ≲ 10⁻² already.
    pub packing_ramp: f64,
    /// Classes whose inlet fraction is below `coupling_threshold` × the total inlet fraction
    /// are *decoupled* in the Newton Jacobian (default 0.02; 0 gives the exact Jacobian): the
    /// derivatives of the velocities with respect to their fractions are left out, which
    /// makes the Jacobian block-lower-triangular — a small dense block system for the major
    /// classes (the red cells) and one tridiagonal per minor class (platelets, white cells).
    /// The residual stays exact, so the converged solution is the same; only the Newton
    /// contraction changes (by the relative size φ_minor/φ_major of the neglected terms). A
    /// step that does not converge is retried with the exact Jacobian.
    pub coupling_threshold: f64,
}

impl Default for ImplicitSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-10,
            max_iterations: 40,
            max_subdivisions: 8,
            packing_ramp: 0.01,
            coupling_threshold: 0.02,
        }
    }
}

/// Everything that defines a channel computation except the cell classes.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    /// geometry
    pub geometry: ChannelGeometry,
    /// pump flows
    pub flows: ChannelFlows,
    /// along-channel velocity profile, scenario key `flow.profile`
    pub profile: FlowProfile,
    /// constant rotor speed (rpm), scenario key `rotor.rpm`
    pub rpm: f64,
    /// suspending fluid (plasma with anticoagulant): density (kg/m³) and viscosity (Pa·s)
    pub fluid: Fluid,
    /// hindrance law and maximum packing
    pub hindrance: HindranceLaw,
    /// radial (ξ) cells, key `grid.radial_cells` (≥ 4)
    pub radial_cells: usize,
    /// along-channel cells (stations − 1), key `grid.along_cells` (≥ 1)
    pub along_cells: usize,
    /// steady-state method
    pub method: SteadyMethod,
    /// settings of the implicit march (and of the transient's radial solves)
    pub implicit: ImplicitSettings,
    /// settings of the explicit field solver ([`SteadyMethod::Explicit`])
    pub explicit: Numerics,
    /// viscosity of the suspension for [`FlowProfile::Viscous`] (default: blood)
    pub viscosity: SuspensionViscosity,
    /// bound of μ/μ_f for [`FlowProfile::Viscous`] (default
    /// [`crate::flow::DEFAULT_MAX_RELATIVE_VISCOSITY`]; see
    /// [`SuspensionViscosity::viscosity`])
    pub max_relative_viscosity: f64,
    /// consolidation of the red-cell bed (effective solid stress and bed mobility,
    /// [`buffycoat_physics::consolidation`], the closure of the tube's implicit scheme;
    /// docs/physics.md §9, §10.10); `None`: off. Implicit steady march only.
    pub consolidation: Option<Consolidation>,
    /// shear-induced diffusion across the depth (implicit march and transient; `None`: off,
    /// the sharp-interface model)
    pub shear_diffusion: Option<ShearDiffusion>,
    /// radial refinement at the buffy coat (implicit steady march only), scenario key
    /// `grid.refine_interface`: the half-width of the refined ξ-window as a fraction of the
    /// depth (`None`: a uniform grid). Two coarse marches (half the radial, a quarter of the
    /// along-channel cells) locate the top of the red-cell bed at the exit; the march is then
    /// repeated on
    /// [`crate::ChannelGrid::refined`] with half of the radial cells in the window around it.
    pub refine_interface: Option<f64>,
    /// the settling flux of the implicit steady march, scenario key `grid.settling_flux`
    /// (the transient keeps the first-order flux)
    pub settling_flux: SettlingFlux,
}

/// The discretisation of the settling flux in the implicit steady march
/// ([`buffycoat_field::column`]; docs/physics.md §10.15).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SettlingFlux {
    /// first order everywhere: F = a [φ_L v(φ_R)⁺ + φ_R v(φ_L)⁻] (`"upwind"`)
    Upwind,
    /// second-order MUSCL face states with `limiter` in the dense part of the column, where
    /// the start state's total fraction is at least `min_total` over the stencil
    /// ([`buffycoat_field::column::Reconstruction`]); first order elsewhere
    /// (`"muscl_van_leer"`, `"muscl_minmod"`)
    Muscl {
        /// slope limiter
        limiter: Limiter,
        /// the total fraction above which a face is reconstructed
        min_total: f64,
    },
}

impl ChannelConfig {
    /// A configuration with the default resolution (100 radial × 200 along-channel cells),
    /// implicit method and default settings.
    pub fn new(
        geometry: ChannelGeometry,
        flows: ChannelFlows,
        profile: FlowProfile,
        rpm: f64,
        fluid: Fluid,
        hindrance: HindranceLaw,
    ) -> Self {
        Self {
            geometry,
            flows,
            profile,
            rpm,
            fluid,
            hindrance,
            radial_cells: 100,
            along_cells: 200,
            method: SteadyMethod::Implicit,
            implicit: ImplicitSettings::default(),
            explicit: Numerics {
                // white cells that have left a region stop limiting the step there
                inactive_fraction: 1e-8,
                ..Numerics::default()
            },
            viscosity: SuspensionViscosity::Blood,
            max_relative_viscosity: DEFAULT_MAX_RELATIVE_VISCOSITY,
            consolidation: None,
            shear_diffusion: None,
            refine_interface: None,
            settling_flux: SettlingFlux::Upwind,
        }
    }

    /// Angular velocity ω = 2π·rpm/60 (rad/s).
    pub fn omega(&self) -> f64 {
        rpm_to_rad_per_s(self.rpm)
    }

    /// Mean along-channel velocity w̄ = Q/(h δ) (m/s).
    pub fn mean_velocity(&self) -> f64 {
        self.flows.channel_inflow() / self.geometry.cross_section()
    }

    /// Mean residence time T = h δ L / Q (s).
    pub fn residence_time(&self) -> f64 {
        self.geometry.volume() / self.flows.channel_inflow()
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`ChannelError::InvalidParameter`] naming the scenario key, or the errors of
    /// [`ChannelGeometry::validate`], [`ChannelFlows::validate`], the fluid and the law.
    pub fn validate(&self) -> Result<(), ChannelError> {
        self.geometry.validate()?;
        self.flows.validate()?;
        if !(self.rpm.is_finite() && self.rpm > 0.0 && self.rpm <= MAX_RPM) {
            return Err(invalid(
                "rotor.rpm",
                self.rpm,
                &format!("> 0 and <= {MAX_RPM} (a constant speed)"),
            ));
        }
        self.fluid.validate()?;
        self.hindrance.validate()?;
        if !(4..=100_000).contains(&self.radial_cells) {
            return Err(invalid(
                "grid.radial_cells",
                self.radial_cells as f64,
                "4 <= radial_cells <= 100000",
            ));
        }
        if !(1..=1_000_000).contains(&self.along_cells) {
            return Err(invalid(
                "grid.along_cells",
                self.along_cells as f64,
                "1 <= along_cells <= 1000000",
            ));
        }
        let s = &self.implicit;
        if !(s.tolerance.is_finite() && s.tolerance > 0.0 && s.tolerance < 1e-3) {
            return Err(invalid(
                "implicit.tolerance",
                s.tolerance,
                "0 < tolerance < 1e-3",
            ));
        }
        if s.max_iterations == 0 {
            return Err(invalid("implicit.max_iterations", 0.0, ">= 1"));
        }
        if s.max_subdivisions > 30 {
            return Err(invalid(
                "implicit.max_subdivisions",
                s.max_subdivisions as f64,
                "<= 30",
            ));
        }
        if !(s.coupling_threshold.is_finite() && (0.0..=1.0).contains(&s.coupling_threshold)) {
            return Err(invalid(
                "implicit.coupling_threshold",
                s.coupling_threshold,
                "0 <= threshold <= 1",
            ));
        }
        if !(self.max_relative_viscosity.is_finite() && self.max_relative_viscosity >= 1.0) {
            return Err(invalid(
                "flow.max_relative_viscosity",
                self.max_relative_viscosity,
                ">= 1 and finite",
            ));
        }
        if self.profile == FlowProfile::Viscous && self.method == SteadyMethod::Explicit {
            return Err(ChannelError::Inconsistent(
                "flow.profile = \"viscous\" needs the implicit march (channel.method = \
                 \"implicit\")"
                    .into(),
            ));
        }
        if let Some(c) = &self.consolidation {
            c.validate()?;
            if self.method == SteadyMethod::Explicit {
                return Err(ChannelError::Inconsistent(
                    "bed consolidation in the channel needs the implicit march (channel.method = \
                     \"implicit\")"
                        .into(),
                ));
            }
        }
        if let Some(d) = self.shear_diffusion
            && !(d.coefficient.is_finite() && (0.0..=10.0).contains(&d.coefficient))
        {
            return Err(invalid(
                "flow.shear_diffusion_coefficient",
                d.coefficient,
                "0 <= coefficient <= 10",
            ));
        }
        if let Some(w) = self.refine_interface
            && !(w.is_finite() && w > 0.0 && w <= 0.5)
        {
            return Err(invalid(
                "grid.refine_interface",
                w,
                "0 < half-width <= 0.5 (a fraction of the depth)",
            ));
        }
        if let SettlingFlux::Muscl { min_total, .. } = self.settling_flux
            && !(min_total.is_finite() && (0.0..=1.0).contains(&min_total))
        {
            return Err(invalid(
                "grid.settling_flux",
                min_total,
                "0 <= total fraction of the reconstructed faces <= 1",
            ));
        }
        let phi_max = self.hindrance.max_packing();
        if !(s.packing_ramp.is_finite() && s.packing_ramp > 0.0 && s.packing_ramp < phi_max) {
            return Err(invalid(
                "implicit.packing_ramp",
                s.packing_ramp,
                "0 < ramp < max_packing",
            ));
        }
        Ok(())
    }
}
