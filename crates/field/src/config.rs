//! Run configuration: geometry, grid, rotor, fluid, hindrance law and numerics.

use buffycoat_physics::consolidation::Consolidation;
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::hindrance::HindranceLaw;
use buffycoat_physics::rotor::RotorProfile;

use crate::error::{FieldError, invalid};

/// The geometry factor of the radial conservation law.
///
/// - [`FieldGeometry::Sector`]: an ultracentrifuge-style sector (or any vessel whose
///   cross-section grows ∝ r): ∂φ_i/∂t + (1/r) ∂(r φ_i u_i)/∂r = 0. Gravity, if given, acts
///   along the rotation axis, perpendicular to r, and is ignored.
/// - [`FieldGeometry::Tube`]: a swing-out tube (constant cross-section) or a 1-g column:
///   ∂φ_i/∂t + ∂(φ_i u_i)/∂x = 0, with x the distance along the tube axis from the rotation axis
///   (or, with the rotor at rest, the depth below the top r_min).
///
/// Both ends are no-flux walls: r_min is the meniscus (top), r_max the bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldGeometry {
    /// cross-section ∝ r
    Sector,
    /// constant cross-section
    Tube,
}

/// Time integrator (strong-stability-preserving Runge–Kutta; Shu & Osher, J Comput Phys
/// 77:439, 1988; Gottlieb, Shu & Tadmor, SIAM Rev 43:89, 2001). Both are convex combinations
/// of forward-Euler steps, so every bound a forward-Euler step keeps, they keep too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeIntegrator {
    /// Heun's two-stage SSP-RK2 (SSP coefficient 1). The default: half the work of RK3 per
    /// step at the same CFL number.
    #[default]
    SspRk2,
    /// Shu–Osher three-stage SSP-RK3 (SSP coefficient 1).
    SspRk3,
}

/// Time discretisation of the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Scheme {
    /// The high-resolution central-upwind finite volumes with CFL-limited SSP Runge–Kutta
    /// steps (the crate documentation's scheme). No consolidation.
    #[default]
    Explicit,
    /// Backward Euler with the monotone upwind face flux, solved per step by the safeguarded
    /// Newton method of [`crate::column`] (shared with the channel), with adaptive steps
    /// ([`ImplicitNumerics`]). First order in space and time; exact conservation and bounds
    /// for any step; supports consolidation ([`FieldConfig::consolidation`]).
    Implicit,
}

/// The norm in which the step-size control measures backward Euler's local error
/// ([`ImplicitNumerics`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ErrorNorm {
    /// **Transport** (Wasserstein-1) norm, the default: the volume of each class misplaced by
    /// the step *times the distance* it is misplaced, relative to the class's volume and the
    /// column length, W_i = ∫ |C_i(r)| dr / (s_i V L) with C_i(r) the cumulative (from the
    /// inner wall) volume of the error. A band that sits in one or two cells (white cells
    /// collecting at a converging interface) moves by hopping from cell to cell; each hop is an
    /// O(1) change of its cells whatever the step, so in the L¹ norm it counts as a
    /// misplacement of the whole band and holds the step to a fraction of the time the band
    /// takes to cross one cell (a CFL limit in disguise: the step count grows with the
    /// resolution). In this norm the same hop counts as the band's volume times one cell
    /// width, i.e. what it really is.
    #[default]
    Transport,
    /// Volume-weighted L¹ norm (before 2026-12-06): the volume of class i misplaced by the
    /// step relative to its total, whatever the distance. Kept for comparison.
    Volume,
}

/// How the implicit scheme advances the dilute (minor) classes: those below
/// [`ImplicitNumerics::coupling_threshold`] of the total initial fraction (in whole blood the
/// white cells and platelets, together < 0.5 % of the volume).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MinorClasses {
    /// One backward-Euler Newton solve of all classes together (with consolidation every
    /// class coupled in the Jacobian): N × N blocks; the step size is controlled by the
    /// largest error of any class.
    #[default]
    Coupled,
    /// Operator split, multirate. Per step: (a) backward Euler + Newton for the major
    /// classes only, with the minor classes frozen at their state at the start of the step
    /// (their share of the mixture sums and of σ_e lagged; N_M × N_M blocks, 2 × 2 for two
    /// red-cell classes); the step size is controlled by the major classes' error alone.
    /// (b) The minor classes then follow in sub-steps of their own inside the step: in each
    /// sub-step the major classes are interpolated linearly in time between the step's end
    /// states and the minor classes' velocities and stress coefficients are taken at the
    /// sub-step's start (lagged); the backward-Euler upwind equation of each minor class is
    /// then linear in it, one scalar tridiagonal M-matrix solve per class (φ_i ≥ 0 for any
    /// sub-step; the update is conservative by construction, written as the flux
    /// difference of the solution). The sub-steps have their own error control (the same
    /// norm and tolerance as the steps, measured on the minor classes only), and a
    /// sub-step that would fill a cell beyond φ_max (possible with the lagged velocities)
    /// is rejected and halved. (c) A minor class that becomes concentrated (largest fraction
    /// in a cell ≥ `coupling_threshold` × the largest cell total,
    /// [`crate::promote_concentrated`]) is promoted to the Newton solve for the rest of the
    /// run. See `crate::implicit`.
    Split,
}

/// Settings of the implicit scheme ([`Scheme::Implicit`]).
///
/// **Error control**: backward Euler's local error is ≈ (Δt²/2) φ̈; with the previous step
/// Δt₀ it is estimated from the divided differences of the last three states,
/// e_j = (φⁿ⁺¹ − φⁿ)_j − (Δt/Δt₀)(φⁿ − φⁿ⁻¹)_j (per class i; e integrates to zero since each
/// step conserves volume), and measured per class in the [`ErrorNorm`] of `error_norm`:
///
/// - transport (default): E = Δt/(Δt + Δt₀) · max_i Σ_f |C_{f,i}| h_f / (s_i V L), with
///   C_{f,i} = Σ_{j<f} m_j e_{j,i} the cumulative error volume at face f, h_f the distance
///   of the centres either side of face f, V = Σ_j m_j and L the distance of the first and
///   last centres: the Wasserstein-1 (earth mover's) distance of the two estimates, i.e.
///   misplaced volume × distance, relative to the class volume × column length. A whole
///   class displaced by δ gives δ/L, so the default tolerance 2·10⁻⁴ allows a local
///   displacement error of 0.02 % of the column per step (12 µm in the 60 mm whole-blood
///   tube, a tenth of a cell at 400 cells). (At 2·10⁻³ the layer fractions of a
///   consolidating tube miss a tight-tolerance reference by ≈ 3 points; at 2·10⁻⁴ by
///   ≈ 0.6, with a quarter of the volume norm's steps: `field/tests/consolidation.rs`);
/// - volume: E = Δt/(Δt + Δt₀) · max_i Σ_j m_j |e_{j,i}| / (s_i V), the volume of class i
///   misplaced by the step relative to its total (a moving front contributes its
///   displacement error, but a band of one or two cells contributes its whole volume at
///   every hop to the next cell, see [`ErrorNorm::Transport`]);
///
/// s_i = max(φ̄_i, 10⁻² Σφ̄) (φ̄_i the class's initial mean fraction: minor classes are
/// measured on their own scale, but not below 1 % of the total). A step with E > 2·tol is
/// rejected and retried; the next step is Δt·min(2, max(0.2, 0.9 √(tol/E))) (the error is
/// O(Δt²)), limited to `max_dt`. A step whose Newton solve fails is retried at half the size.
///
/// Measured on `whole_blood_tube.toml` (400 radial cells): the volume norm (2·10⁻³) takes
/// 1 375 steps, ≈ 1 000 of them between 16 and 60 s where a one-cell neutrophil band hops
/// through the forming bed; the transport norm (2·10⁻⁴) 308, with the printed layer
/// fractions within 0.02 points (benches/README.md). The step is then limited by Newton
/// convergence, not by the error estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImplicitNumerics {
    /// Newton tolerance on the scaled residual max |G_ij|/(m_j s_i) (default 10⁻⁸: five orders
    /// of magnitude below the default `time_tolerance`, so the algebraic error is negligible
    /// against the time error; conservation is exact whatever it is. 10⁻¹⁰ before; 10⁻⁸ saves
    /// ≈ 17 % of the Newton iterations of the whole-blood tube with the reported layers
    /// unchanged to the printed digits)
    pub newton_tolerance: f64,
    /// local error tolerance `tol` of the step-size control (default 2·10⁻⁴; 2·10⁻³ with the
    /// volume norm before 2026-12-06)
    pub time_tolerance: f64,
    /// the norm of the local error (default [`ErrorNorm::Transport`])
    pub error_norm: ErrorNorm,
    /// first step (s) (default 10⁻² s)
    pub initial_dt: f64,
    /// largest step (s) (default 10 s)
    pub max_dt: f64,
    /// width ε of the packing ramp V(φ)·min(1, (φ_max − φ)/ε) (default 0.01, as the channel)
    pub packing_ramp: f64,
    /// classes below this fraction of the total initial fraction are decoupled in the
    /// approximate Newton Jacobian (default 0.02, as the channel; ignored with consolidation,
    /// where every class is coupled); also the threshold of [`MinorClasses::Split`]
    pub coupling_threshold: f64,
    /// the minor classes in the fully coupled solve or split off it (default
    /// [`MinorClasses::Coupled`])
    pub minor_classes: MinorClasses,
    /// the settling flux of the Newton solve: `None` the first-order upwind flux of
    /// [`crate::column`] (default; bitwise the scheme without the option), `Some(limiter)`
    /// the lagged second-order MUSCL face states of [`crate::column::Reconstruction`] at
    /// every face of the column (`grid.settling_flux`; docs/physics.md §9.2). The split
    /// minor classes' sub-steps keep the first-order flux.
    pub reconstruction: Option<crate::column::Limiter>,
}

impl Default for ImplicitNumerics {
    fn default() -> Self {
        Self {
            newton_tolerance: 1e-8,
            time_tolerance: 2e-4,
            error_norm: ErrorNorm::Transport,
            initial_dt: 1e-2,
            max_dt: 10.0,
            packing_ramp: 0.01,
            coupling_threshold: 0.02,
            minor_classes: MinorClasses::Coupled,
            reconstruction: None,
        }
    }
}

/// Numerical settings. [`Numerics::default`] is what the tests and validation use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Numerics {
    /// CFL number ν: Δt = ν / max_faces(max(a⁺, −a⁻, |u_i|) · a_face · γ_face / Δr), with a±
    /// the local one-sided wave-speed bounds and u_i the class velocities (both per unit
    /// acceleration) and γ ≥ 1 the sector's area/volume ratio correction. In (0, 1]; default
    /// 0.5 (the bound of the MUSCL central-upwind scheme's positivity/TVD analysis, Kurganov,
    /// Noelle & Petrova 2001, with SSP coefficient 1).
    pub cfl: f64,
    /// Parameter θ ∈ [1, 2] of the generalised minmod slope limiter
    /// minmod(θΔ⁻, (Δ⁻ + Δ⁺)/2, θΔ⁺): 1 is minmod (most dissipative), 2 the monotonised central
    /// limiter (van Leer 1977). Default 1.5 (as recommended by Kurganov & Tadmor 2000).
    pub limiter_theta: f64,
    /// time integrator
    pub integrator: TimeIntegrator,
    /// Radial cells per parallel chunk (fixed, independent of the thread count, so results
    /// are bitwise identical for any number of threads, and of the chunk length too). Default
    /// 256: a chunk's working set (≈ 10 per-class arrays × 262 cells × 8 classes × 8 B ≈
    /// 170 KiB at 8 classes) stays in L2, and the first stage's 6 recomputed halo cells add
    /// ~2 % (the throughput is flat between 64 and 512).
    pub cells_per_chunk: usize,
    /// A class whose volume fraction is below `inactive_fraction × (its initial mean
    /// fraction)` in a cell is left out of that cell's wave-speed bound. Such a class is
    /// (nearly) absent there; its eigenvalue u_m decouples (∂(φ_m u_m)/∂φ_j = φ_m ∂u_m/∂φ_j ≈ 0)
    /// and its transport is still kept non-negative by the positivity limiter. Default 0
    /// (exactly absent classes only); 10⁻⁸ lets fast classes that have left a region (e.g.
    /// white cells in the plasma) stop limiting the time step there.
    ///
    /// It is an approximation (a left-out class may move more than its CFL number allows; the
    /// positivity limiter then caps its outflow at what the donor holds, i.e. it lags), and it
    /// does little for aggregated red cells in whole blood: there the step is set at the bottom
    /// of the buffy coat, where red-cell aggregates at volume fractions 10⁻³–10⁻¹ (not a trace)
    /// would settle at centimetres per second through the dilute buffy coat but are held up by
    /// the packed bed below. The preset at 200 cells takes 175 269 steps with 0, 160 853 with
    /// 10⁻⁸ and 136 373 with 10⁻³ (−22 %), while the tail quantities move: plasma red cells per
    /// µL −55 % and buffy-coat fractions of the white cells +3–5 % already at 10⁻⁸.
    pub inactive_fraction: f64,
    /// explicit (default) or implicit time discretisation
    pub scheme: Scheme,
    /// settings of the implicit scheme
    pub implicit: ImplicitNumerics,
}

impl Default for Numerics {
    fn default() -> Self {
        Self {
            cfl: 0.5,
            limiter_theta: 1.5,
            integrator: TimeIntegrator::SspRk2,
            cells_per_chunk: 256,
            inactive_fraction: 0.0,
            scheme: Scheme::Explicit,
            implicit: ImplicitNumerics::default(),
        }
    }
}

/// Everything that defines a field run except the classes.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldConfig {
    /// geometry factor
    pub geometry: FieldGeometry,
    /// meniscus (top) position r_min (m); > 0 for a sector, ≥ 0 for a tube
    pub r_min: f64,
    /// bottom position r_max (m), > r_min
    pub r_max: f64,
    /// number of finite volumes between r_min and r_max (≥ 4)
    pub radial_cells: usize,
    /// rotor speed history ω(t)
    pub rotor: RotorProfile,
    /// Gravity g (m/s²) acting on a tube. `None` = off. In a swing-out tube the tube aligns
    /// with the resultant of centrifugal and gravitational acceleration, so the acceleration
    /// along the tube axis is a(x, t) = √((ω(t)² x)² + g²). With the rotor at rest this is a
    /// 1-g batch-settling column with uniform a = g, x measured downward from the top r_min.
    /// Ignored for a sector (gravity is perpendicular to r there).
    pub gravity: Option<f64>,
    /// suspending fluid (plasma): density ρ_f (kg/m³) and viscosity μ (Pa·s)
    pub fluid: Fluid,
    /// hindrance law and maximum packing
    pub hindrance: HindranceLaw,
    /// numerical settings
    pub numerics: Numerics,
    /// Physical radius (m) at each of the `radial_cells + 1` grid faces, when the grid
    /// coordinate x is not itself the radius — the continuous-flow channel solves in a
    /// stream-function coordinate. The acceleration at coordinate x is then ω² r(x), r(x)
    /// interpolated linearly between faces. `None`: r = x.
    pub face_radius: Option<Vec<f64>>,
    /// Sediment consolidation: the effective solid stress σ_e(φ) and the mobility of the bed
    /// ([`buffycoat_physics::consolidation`]); `None` (default): none, the bed packs to
    /// φ_max. Requires [`Scheme::Implicit`].
    pub consolidation: Option<Consolidation>,
}

impl FieldConfig {
    /// A configuration with default [`Numerics`] and gravity off.
    pub fn new(
        geometry: FieldGeometry,
        r_min: f64,
        r_max: f64,
        radial_cells: usize,
        rotor: RotorProfile,
        fluid: Fluid,
        hindrance: HindranceLaw,
    ) -> Self {
        Self {
            geometry,
            r_min,
            r_max,
            radial_cells,
            rotor,
            gravity: None,
            fluid,
            hindrance,
            numerics: Numerics::default(),
            face_radius: None,
            consolidation: None,
        }
    }

    /// A 1-g batch-settling column of height `height` (m): a tube from x = 0 (top) to
    /// x = `height` (bottom), rotor at rest, gravity g₀.
    pub fn settling_column(
        height: f64,
        radial_cells: usize,
        fluid: Fluid,
        hindrance: HindranceLaw,
    ) -> Result<Self, FieldError> {
        let rotor =
            RotorProfile::constant_rpm(0.0).map_err(|e| FieldError::Inconsistent(e.to_string()))?;
        let mut c = Self::new(
            FieldGeometry::Tube,
            0.0,
            height,
            radial_cells,
            rotor,
            fluid,
            hindrance,
        );
        c.gravity = Some(buffycoat_physics::units::STANDARD_GRAVITY);
        Ok(c)
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`FieldError::InvalidParameter`] naming the offending setting, or
    /// [`FieldError::Physics`] from the hindrance law or fluid.
    pub fn validate(&self) -> Result<(), FieldError> {
        let r_min_ok = match self.geometry {
            FieldGeometry::Sector => self.r_min > 0.0,
            FieldGeometry::Tube => self.r_min >= 0.0,
        };
        if !(self.r_min.is_finite() && r_min_ok) {
            return Err(invalid(
                "r_min",
                self.r_min,
                "finite; > 0 for a sector, >= 0 for a tube",
            ));
        }
        if !(self.r_max.is_finite() && self.r_max > self.r_min) {
            return Err(invalid("r_max", self.r_max, "finite and > r_min_m"));
        }
        if self.radial_cells < 4 || self.radial_cells > 50_000_000 {
            return Err(invalid(
                "radial_cells",
                self.radial_cells as f64,
                "4 <= radial_cells <= 5e7",
            ));
        }
        if let Some(g) = self.gravity
            && !(g.is_finite() && g >= 0.0)
        {
            return Err(invalid("gravity", g, "finite and >= 0"));
        }
        if let Some(radius) = &self.face_radius {
            if radius.len() != self.radial_cells + 1 {
                return Err(invalid(
                    "face_radius (entries)",
                    radius.len() as f64,
                    "radial_cells + 1 entries",
                ));
            }
            if radius.iter().any(|r| !(r.is_finite() && *r >= 0.0))
                || radius.windows(2).any(|w| w[1] < w[0])
            {
                return Err(invalid(
                    "face_radius",
                    f64::NAN,
                    "finite, >= 0 and non-decreasing",
                ));
            }
        }
        self.fluid.validate()?;
        self.hindrance.validate()?;
        let n = &self.numerics;
        if !(n.cfl.is_finite() && n.cfl > 0.0 && n.cfl <= 1.0) {
            return Err(invalid("numerics.cfl", n.cfl, "0 < cfl <= 1"));
        }
        if !(n.limiter_theta.is_finite() && (1.0..=2.0).contains(&n.limiter_theta)) {
            return Err(invalid(
                "numerics.limiter_theta",
                n.limiter_theta,
                "1 <= theta <= 2",
            ));
        }
        if n.cells_per_chunk == 0 {
            return Err(invalid("numerics.cells_per_chunk", 0.0, ">= 1"));
        }
        if !(n.inactive_fraction.is_finite() && (0.0..1.0).contains(&n.inactive_fraction)) {
            return Err(invalid(
                "numerics.inactive_fraction",
                n.inactive_fraction,
                "0 <= inactive_fraction < 1",
            ));
        }
        let im = &n.implicit;
        let checks = [
            (
                "numerics.implicit.newton_tolerance",
                im.newton_tolerance,
                1e-15,
                1e-3,
            ),
            (
                "numerics.implicit.time_tolerance",
                im.time_tolerance,
                1e-8,
                0.5,
            ),
            ("numerics.implicit.initial_dt", im.initial_dt, 1e-9, 1e4),
            ("numerics.implicit.max_dt", im.max_dt, 1e-9, 1e6),
            ("numerics.implicit.packing_ramp", im.packing_ramp, 1e-6, 0.1),
            (
                "numerics.implicit.coupling_threshold",
                im.coupling_threshold,
                0.0,
                1.0,
            ),
        ];
        for (name, v, lo, hi) in checks {
            if !(v.is_finite() && v >= lo && v <= hi) {
                return Err(invalid(name, v, &format!("{lo} <= value <= {hi}")));
            }
        }
        if let Some(c) = &self.consolidation {
            c.validate()?;
            let stress = &c.stress;
            if n.scheme != Scheme::Implicit {
                return Err(FieldError::Inconsistent(
                    "consolidation needs the implicit scheme (grid.scheme = \"implicit\")".into(),
                ));
            }
            if stress.critical >= self.hindrance.max_packing() {
                return Err(FieldError::Inconsistent(format!(
                    "the consolidation critical fraction {} must be below the maximum packing {}",
                    stress.critical,
                    self.hindrance.max_packing()
                )));
            }
        }
        if n.scheme == Scheme::Implicit && self.face_radius.is_some() {
            return Err(FieldError::Inconsistent(
                "the implicit field scheme does not support a mapped face radius".into(),
            ));
        }
        Ok(())
    }

    /// Acceleration along the radial coordinate at position `r` (m) for squared angular
    /// velocity `omega_squared` (rad²/s²): ω²r, or √((ω²r)² + g²) in a tube with gravity (m/s²).
    #[inline]
    pub fn acceleration(&self, r: f64, omega_squared: f64) -> f64 {
        acceleration(self.geometry, self.gravity, r, omega_squared)
    }
}

/// See [`FieldConfig::acceleration`].
#[inline]
pub(crate) fn acceleration(
    geometry: FieldGeometry,
    gravity: Option<f64>,
    r: f64,
    omega_squared: f64,
) -> f64 {
    let centrifugal = omega_squared * r;
    match (geometry, gravity) {
        (FieldGeometry::Tube, Some(g)) if g > 0.0 => (centrifugal * centrifugal + g * g).sqrt(),
        _ => centrifugal,
    }
}
