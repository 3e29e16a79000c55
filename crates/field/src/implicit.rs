//! The implicit scheme of the field ([`crate::Scheme::Implicit`]): backward Euler on the
//! whole radial column with the shared Newton solver of [`crate::column`], adaptive steps with
//! the local-error control documented at [`crate::ImplicitNumerics`].
//!
//! ## Split minor classes ([`MinorClasses::Split`])
//! The dilute classes (below `coupling_threshold` of the total initial fraction: white
//! cells and platelets in whole blood) hardly change the mixture, yet in the coupled solve
//! every Newton iteration factors N × N blocks for them, and their one-cell bands, moving
//! through the forming bed, set the step size. Split, a step [tⁿ, tⁿ + Δt] is:
//!
//! 1. **major solve**: backward Euler + Newton for the major classes with the minor classes
//!    frozen at φⁿ (their share of the mixture sums, of the network closure and of σ_e
//!    lagged; [`ColumnSolver::set_frozen_minor`]): N_M × N_M blocks. The step's local error
//!    (the norm of [`crate::ImplicitNumerics`]) is measured on the major classes only;
//! 2. **minor sub-steps** τ_k → τ_{k+1} = τ_k + h inside the accepted step: the major classes
//!    interpolated linearly in time, φ_M(τ_{k+1}) = φ_Mⁿ + (τ_{k+1}/Δt)(φ_Mⁿ⁺¹ − φ_Mⁿ), the
//!    minor classes at τ_k: with these the velocities v_i and stress coefficients h_i of
//!    every cell ([`Kinetics::velocities_and_compression`]) and σ_e are fixed, and the
//!    upwind backward-Euler equation of minor class i,
//!    m_j (φ_j − φ*_j) + h (F_{j+½} − F_{j−½}) = 0 with F_f = α_f φ_{f−1} + β_f φ_f,
//!    α_f = a_f v_i(R)⁺ + (h_i(R) D_f)⁺ ≥ 0, β_f = a_f v_i(L)⁻ + (h_i(L) D_f)⁻ ≤ 0,
//!    is linear: a tridiagonal M-matrix (positive diagonal, non-positive off-diagonals,
//!    column sums m_j > 0), solved by the Thomas algorithm: φ_i ≥ 0 for any h. The new state
//!    is then written as φ*_j − h/m_j (F_{j+½} − F_{j−½}) with the fluxes of the solution
//!    (conservative to round-off, as the Newton solver's update). The sub-steps have their
//!    own error control: the same estimate, norm and tolerance as the steps, from the last
//!    three sub-step states of the minor classes. The lagged velocities do not guarantee
//!    Σφ ≤ φ_max in a cell that receives minor cells, so a sub-step that overfills a cell
//!    is rejected and halved (as h → 0 the inflow, ∝ h v(receiving cell), fits the room).
//!
//! 3. **step control over all classes**: after the sub-steps the step's local error is
//!    measured again on every class (the minor ones at the step's end), as in the coupled
//!    solve; above 2 tol the step is retried smaller, and the next step is the smaller of
//!    the two proposals. This bounds the splitting error as the coupled scheme's own error
//!    (measured on the major classes only, the 4000 g single-cell hard spin put 11 points
//!    fewer monocytes into the buffy coat).
//! 4. **promotion on evidence of blocking**: a minor class joins the Newton solve for the rest
//!    of the run (sticky, saved in checkpoints; deterministic: a function of the step's
//!    iterates) when (a) the frozen Newton solve fails and the class holds ≥
//!    `coupling_threshold` of the total fraction in the cell of the largest residual
//!    ([`promote_concentrated`] on that cell; the step is retried at its size), or (b) a
//!    minor sub-step still overfills a cell at h ≤ 10⁻⁶ Δt — the minor cells sit where the
//!    red cells packed — and the class is concentrated there (or, if none is, present
//!    there). Frozen at φⁿ, a cell made mostly of white cells and platelets (a buffy coat
//!    on a fine grid) is an obstacle at the packing limit that the red cells must cross
//!    within one step. Before 2026-12-06 (session 7) every class concentrated anywhere
//!    (max_j φ_{i,j} ≥ θ max_j Σφ_j, the channel's rule) was promoted before the step: that
//!    promoted all 8 minor classes of the 400-cell preset and took most of the speed.
//!
//! The splitting error is first order in Δt (Lie splitting), like backward Euler itself;
//! the minor classes' feedback on the major ones (≈ their volume fraction) lags by one step.

use buffycoat_physics::rotor::RotorProfile;

use crate::classes::Class;
use crate::column::{
    ColumnSolver, ColumnStep, Compression, NewtonStats, Reconstruction, split_cells,
};
use crate::config::{ErrorNorm, FieldConfig, MinorClasses, acceleration};
use crate::kernel::Grid;
use crate::kinetics::{Kinetics, TestParticleCell};

/// Smallest class scale of the Newton residual, relative to the total initial fraction (as
/// the channel).
const MIN_RELATIVE_SCALE: f64 = 1e-12;

/// Smallest class scale of the step-size error measure, relative to the total initial
/// fraction.
const ERROR_SCALE_FLOOR: f64 = 1e-2;

/// A proposed growth of the step by a factor in [1, STEP_HOLD) is not taken: Δt stays, and
/// with it the factored Jacobian (which the column solver rebuilds whenever Δt changes).
/// The usual dead band of implicit step-size controllers (Hairer & Wanner, *Solving Ordinary
/// Differential Equations II*, 2nd ed., Springer 1996, §IV.8). 1.5: measured on the
/// whole-blood tube, 17 % fewer factorisations for 6 % more Newton iterations.
const STEP_HOLD: f64 = 1.5;

/// Steps below this (s) are a failure rather than a retry.
const MIN_DT: f64 = 1e-9;

/// After a Newton failure at Δt_f, later proposals stay below FAILED_STEP_FRACTION · Δt_f,
/// and that ceiling grows by [`CEILING_GROWTH`] per accepted step: Newton's region of
/// convergence changes slowly, so growing straight back to the failed size fails again (in
/// the whole-blood tube at t = 70–80 s every other step failed at 2.1 s and succeeded at
/// 1.05 s). The memory of convergence failures of stiff integrators (Hairer & Wanner,
/// *Solving ODEs II*, §IV.8, the step after a rejection) kept over several steps.
/// Measured (benches/README.md "Session 11"): 0.9 and 1.2 — the preset 2 036 → 1 452
/// line-search backtracks, 5–8 % less wall time; 0.75/1.1 and 0.6/1.05 cost more steps at
/// 800 cells.
const FAILED_STEP_FRACTION: f64 = 0.9;

/// Growth of the failure ceiling per accepted step ([`FAILED_STEP_FRACTION`]).
const CEILING_GROWTH: f64 = 1.2;

/// The next step after an accepted one: the controller's proposal `dt` held below
/// [`FAILED_STEP_FRACTION`] times the failure ceiling `ceiling` (∞: no failure remembered),
/// and the ceiling after this step: grown by [`CEILING_GROWTH`], forgotten (∞) once it no
/// longer binds below `max_dt`.
fn below_failure_ceiling(dt: f64, ceiling: f64, max_dt: f64) -> (f64, f64) {
    if !ceiling.is_finite() {
        return (dt, ceiling);
    }
    let next = dt.min(FAILED_STEP_FRACTION * ceiling);
    let grown = CEILING_GROWTH * ceiling;
    let grown = if FAILED_STEP_FRACTION * grown >= max_dt {
        f64::INFINITY
    } else {
        grown
    };
    (next, grown)
}

/// Split: a minor sub-step that still overfills a cell at h ≤ BLOCKED_FRACTION · Δt means the
/// minor classes cannot follow the red cells of the major solve (they sit where the red
/// cells packed): the step is retried with the minor classes of that cell promoted.
const BLOCKED_FRACTION: f64 = 1e-6;

/// Split: after this many failed frozen solves of one step in a row, the minor classes
/// concentrated within ±[`BLOCK_WINDOW`] cells of the worst residual join the Newton solve.
const BLOCK_FAILURES: u32 = 3;

/// Split: the half-width (cells) of the neighbourhood of [`BLOCK_FAILURES`].
const BLOCK_WINDOW: usize = 3;

/// Counters of the implicit scheme.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImplicitStats {
    /// accepted backward-Euler steps
    pub accepted: u64,
    /// steps rejected by the error control
    pub rejected_error: u64,
    /// steps retried because the Newton solve failed
    pub rejected_newton: u64,
    /// the Newton solver's own statistics
    pub newton: NewtonStats,
    /// accepted sub-steps of the minor classes ([`MinorClasses::Split`]; 0 when coupled)
    pub minor_substeps: u64,
    /// minor sub-steps rejected (error control or packing bound)
    pub minor_rejected: u64,
    /// volume clipped from round-off negatives by the minor sub-steps, summed over classes
    /// relative to the class scale (as [`NewtonStats::clipped`])
    pub minor_clipped: f64,
    /// minor classes promoted to the Newton solve because they became concentrated
    /// ([`promote_concentrated`]; split only)
    pub promoted_classes: u64,
}

/// State and workspace of the implicit scheme (all allocated up front).
#[derive(Debug)]
pub(crate) struct Implicit {
    kin: Kinetics,
    solver: ColumnSolver,
    /// φⁿ, φⁿ⁺¹ (candidate), φⁿ⁻¹, all J × N cell-major
    pub col: Vec<f64>,
    next: Vec<f64>,
    prev: Vec<f64>,
    /// A_f a_f per face
    accel: Vec<f64>,
    measure: Vec<f64>,
    /// cell widths Δr_j (m), the slopes' coordinate of the MUSCL settling flux
    /// ([`ImplicitNumerics::reconstruction`](crate::config::ImplicitNumerics))
    widths: Vec<f64>,
    conductance: Vec<f64>,
    inv_scale: Vec<f64>,
    err_scale: Vec<f64>,
    class_err: Vec<f64>,
    inv_total_measure: f64,
    /// per face: the distance of the neighbouring cell centres over the column length L
    /// (walls 0), the weights h_f/L of the transport error norm
    dual: Vec<f64>,
    /// per class: the cumulative error volume of the transport norm (scratch)
    cumulative: Vec<f64>,
    /// per cell: the largest total fraction reached so far (the preconsolidation state of an
    /// irreversible bed, [`Compression::preconsolidation`])
    history: Vec<f64>,
    major: Vec<bool>,
    /// all classes coupled in the Newton Jacobian (consolidation)
    coupled: bool,
    /// proposed next step (s)
    dt: f64,
    /// last accepted step (s), 0 before the first
    dt_prev: f64,
    /// a Newton failure since the last accepted step
    recovering: bool,
    /// Newton failures since the last accepted step (0 at every checkpoint: not saved)
    failures: u32,
    /// the smallest step size at which Newton failed, grown since ([`FAILED_STEP_FRACTION`];
    /// ∞: none remembered)
    dt_ceiling: f64,
    pub stats: ImplicitStats,
    /// the minor classes split off the Newton solve ([`MinorClasses::Split`])
    split: bool,
    /// split: the Newton residual scales of the major solve (0 for the frozen minor classes)
    inv_scale_major: Vec<f64>,
    /// split: per class, included in the error measure of the current solve
    mask: Vec<bool>,
    /// split: the minor classes one sub-step back (J × N; minor entries)
    sub_prev: Vec<f64>,
    /// split: a sub-step's solution (J × N; minor entries)
    sub_new: Vec<f64>,
    /// split: `sub_prev` at the start of the step (restored when the step is retried)
    sub_save: Vec<f64>,
    /// split: the state of a sub-step's coefficients (J × N): major classes interpolated,
    /// minor classes lagged
    mixed: Vec<f64>,
    /// split: per cell velocities per unit acceleration and stress coefficients (J × N), σ_e
    sub_v: Vec<f64>,
    sub_h: Vec<f64>,
    sub_sig: Vec<f64>,
    /// split: A_f a_f of the sub-step (J + 1)
    sub_accel: Vec<f64>,
    /// split: the face coefficients α_f, β_f of one class (J + 1) and the Thomas factors (J)
    face_in: Vec<f64>,
    face_out: Vec<f64>,
    thomas_c: Vec<f64>,
    thomas_d: Vec<f64>,
    /// split: proposed next sub-step (s) and the last accepted one (0 before the first)
    sub_dt: f64,
    sub_dt_prev: f64,
    /// split: per class, promoted to the Newton solve because it became concentrated
    /// ([`promote_concentrated`]; sticky for the run)
    promoted: Vec<bool>,
    /// split: per class, the largest fraction over the cells (scratch of the promotion)
    local_max: Vec<f64>,
    /// split: the promotion threshold (`coupling_threshold`)
    promote_threshold: f64,
}

/// What one accepted step did: (Δt, ω² at its start, ω² at its end).
pub(crate) type Accepted = (f64, f64, f64);

impl Implicit {
    /// The tracers' view of the current state φⁿ in a consolidating bed
    /// ([`crate::tracers::TracerClosure`]): per cell the [`TestParticleCell`] of the
    /// kinetics (J) and per face the stress gradient (σ_e,R − σ_e,L)/Δr_f (J + 1, 0 at the
    /// walls), σ_e with the bed history as the steps use it. Without consolidation the
    /// gradients are 0 and the cells carry no compression coefficient.
    pub fn tracer_closure(
        &self,
        config: &FieldConfig,
        grid: &Grid,
        cells: &mut [TestParticleCell],
        gradient: &mut [f64],
    ) {
        let n = self.kin.n;
        let critical = config.consolidation.map(|c| c.stress.critical);
        for (cell, phi) in cells.iter_mut().zip(self.col.chunks_exact(n)) {
            *cell = self.kin.test_particle_cell(phi, critical);
        }
        gradient.fill(0.0);
        if let Some(c) = &config.consolidation {
            let compression = Compression {
                stress: c.stress,
                conductance: &self.conductance,
                preconsolidation: Some((&self.history, c.unloading_stiffness)),
                held_branch: None,
            };
            let stress = |j: usize| {
                let total: f64 = self.col[j * n..(j + 1) * n].iter().sum();
                compression.cell_stress(j, total).0
            };
            let mut left = stress(0);
            let interior = &mut gradient[1..cells.len()];
            for (f, (g, centres)) in (1..).zip(interior.iter_mut().zip(grid.centres.windows(2))) {
                let right = stress(f);
                *g = (right - left) / (centres[1] - centres[0]);
                left = right;
            }
        }
    }
}

impl Implicit {
    pub fn new(config: &FieldConfig, classes: &[Class], grid: &Grid) -> Self {
        let cells = config.radial_cells;
        let n = classes.len();
        let im = config.numerics.implicit;
        let mut kin = Kinetics::new(classes, &config.fluid, config.hindrance, im.packing_ramp);
        if let Some(c) = &config.consolidation {
            kin = kin.with_bed(c);
        }
        let total: f64 = classes.iter().map(|c| c.volume_fraction).sum();
        let floor = MIN_RELATIVE_SCALE * total.max(f64::MIN_POSITIVE);
        let conductance = (0..=cells)
            .map(|f| {
                if f == 0 || f == cells {
                    0.0
                } else {
                    grid.area[f] / (grid.centres[f] - grid.centres[f - 1])
                }
            })
            .collect();
        let mut s = Self {
            kin,
            solver: ColumnSolver::new(cells, n),
            col: vec![0.0; cells * n],
            next: vec![0.0; cells * n],
            prev: vec![0.0; cells * n],
            accel: vec![0.0; cells + 1],
            measure: grid.volume.clone(),
            widths: grid.faces.windows(2).map(|f| f[1] - f[0]).collect(),
            conductance,
            inv_scale: vec![1.0 / floor; n],
            err_scale: vec![1.0; n],
            class_err: vec![0.0; n],
            inv_total_measure: 1.0 / grid.volume.iter().sum::<f64>(),
            dual: dual_weights(grid, cells),
            cumulative: vec![0.0; n],
            history: vec![0.0; cells],
            major: vec![true; n],
            coupled: false,
            dt: im.initial_dt,
            dt_prev: 0.0,
            recovering: false,
            failures: 0,
            dt_ceiling: f64::INFINITY,
            stats: ImplicitStats::default(),
            split: im.minor_classes == MinorClasses::Split,
            inv_scale_major: vec![1.0 / floor; n],
            mask: vec![true; n],
            sub_prev: vec![0.0; cells * n],
            sub_new: vec![0.0; cells * n],
            sub_save: vec![0.0; cells * n],
            mixed: vec![0.0; cells * n],
            sub_v: vec![0.0; cells * n],
            sub_h: vec![0.0; cells * n],
            sub_sig: vec![0.0; cells],
            sub_accel: vec![0.0; cells + 1],
            face_in: vec![0.0; cells + 1],
            face_out: vec![0.0; cells + 1],
            thomas_c: vec![0.0; cells],
            thomas_d: vec![0.0; cells],
            sub_dt: im.initial_dt,
            sub_dt_prev: 0.0,
            promoted: vec![false; n],
            local_max: vec![0.0; n],
            promote_threshold: im.coupling_threshold,
        };
        s.coupled = config.consolidation.is_some() && !s.split;
        s.solver.set_frozen_minor(s.split);
        let means: Vec<f64> = classes.iter().map(|c| c.volume_fraction).collect();
        s.set_scales(&means, im.coupling_threshold);
        s
    }

    /// Saves the scheme's evolving state: the column and its previous and candidate states,
    /// the face accelerations, the class scales and errors, the bed history, the step sizes,
    /// the statistics and the column solver's workspace (with its reused factorisation).
    pub fn save_state(&self, w: &mut buffycoat_stepper::StateWriter) {
        w.tag("implicit");
        for v in [
            &self.col,
            &self.next,
            &self.prev,
            &self.accel,
            &self.inv_scale,
            &self.err_scale,
            &self.class_err,
            &self.history,
        ] {
            w.f64s(v);
        }
        let major: Vec<u8> = self.major.iter().map(|&m| u8::from(m)).collect();
        w.u8s(&major);
        w.f64(self.dt);
        w.f64(self.dt_prev);
        w.u64(u64::from(self.recovering));
        w.f64(self.dt_ceiling);
        w.u64(self.stats.accepted);
        w.u64(self.stats.rejected_error);
        w.u64(self.stats.rejected_newton);
        if self.split {
            // only in split runs: a coupled run's checkpoint is unchanged
            w.tag("split");
            w.f64s(&self.sub_prev);
            w.f64(self.sub_dt);
            w.f64(self.sub_dt_prev);
            w.u64(self.stats.minor_substeps);
            w.u64(self.stats.minor_rejected);
            w.f64(self.stats.minor_clipped);
            let promoted: Vec<u8> = self.promoted.iter().map(|&m| u8::from(m)).collect();
            w.u8s(&promoted);
            w.u64(self.stats.promoted_classes);
        }
        self.solver.save_state(w);
    }

    /// Restores what [`Implicit::save_state`] saved.
    pub fn restore_state(
        &mut self,
        r: &mut buffycoat_stepper::StateReader<'_>,
    ) -> Result<(), buffycoat_stepper::StateError> {
        r.tag("implicit")?;
        for (name, v) in [
            ("column", &mut self.col),
            ("candidate column", &mut self.next),
            ("previous column", &mut self.prev),
            ("face accelerations", &mut self.accel),
            ("class scales", &mut self.inv_scale),
            ("error scales", &mut self.err_scale),
            ("class errors", &mut self.class_err),
            ("bed history", &mut self.history),
        ] {
            r.f64s_into(name, v)?;
        }
        let mut major = vec![0u8; self.major.len()];
        r.u8s_into("coupled classes", &mut major)?;
        for (m, b) in self.major.iter_mut().zip(major) {
            *m = b != 0;
        }
        self.dt = r.f64()?;
        self.dt_prev = r.f64()?;
        self.recovering = r.u64()? != 0;
        self.dt_ceiling = r.f64()?;
        self.stats.accepted = r.u64()?;
        self.stats.rejected_error = r.u64()?;
        self.stats.rejected_newton = r.u64()?;
        if self.split {
            r.tag("split")?;
            r.f64s_into("minor sub-step state", &mut self.sub_prev)?;
            self.sub_dt = r.f64()?;
            self.sub_dt_prev = r.f64()?;
            self.stats.minor_substeps = r.u64()?;
            self.stats.minor_rejected = r.u64()?;
            self.stats.minor_clipped = r.f64()?;
            let mut promoted = vec![0u8; self.promoted.len()];
            r.u8s_into("promoted classes", &mut promoted)?;
            for (m, b) in self.promoted.iter_mut().zip(promoted) {
                *m = b != 0;
            }
            self.stats.promoted_classes = r.u64()?;
            // the major solve's residual scales follow the restored partition
            for ((s, &full), &m) in self
                .inv_scale_major
                .iter_mut()
                .zip(&self.inv_scale)
                .zip(&self.major)
            {
                *s = if m { full } else { 0.0 };
            }
        }
        self.solver.restore_state(r)
    }

    /// Class scales from the mean fractions (Newton residual, error measure, coupling).
    pub fn set_scales(&mut self, means: &[f64], coupling_threshold: f64) {
        let total: f64 = means.iter().sum();
        let floor = MIN_RELATIVE_SCALE * total.max(f64::MIN_POSITIVE);
        let largest = means.iter().copied().fold(0.0, f64::max);
        for (i, &m) in means.iter().enumerate() {
            self.inv_scale[i] = 1.0 / m.max(floor);
            self.err_scale[i] = 1.0 / m.max(ERROR_SCALE_FLOOR * total).max(floor);
            // With consolidation every class is coupled. Decoupled minor rows (even with the
            // stress coupling through the coupled update, `column::ColumnSolver`) miss the
            // minor classes' share of σ_e in the red-cell rows: in the whole-blood tube
            // Newton then needs ≈ 1.8 × the iterations and 3 × the factorisations, which costs
            // more than the 10 × 10 blocks save (measured, benches/README.md).
            self.major[i] =
                self.coupled || m >= coupling_threshold * total || m == largest || self.promoted[i];
            self.inv_scale_major[i] = if self.major[i] {
                self.inv_scale[i]
            } else {
                0.0
            };
        }
        // the partition follows the new flags at the next step (before the first step, as
        // here from `new` and `set_profile`, nothing changes for the coupled solve)
        self.solver.reset_partition();
    }

    /// The step's scaled local error from `class_err` (the classes of `mask`; the largest
    /// class error over its scale, relative to the total measure, times Δt/(Δt + Δt₀)) and the
    /// proposed step factor clamp(0.9 √(tol/E), 0.2, 2) (2 for a zero error). One expression for
    /// the major steps and the minor sub-steps.
    fn error_and_factor(&self, dt: f64, dt_prev: f64, tolerance: f64) -> (f64, f64) {
        let err = self
            .class_err
            .iter()
            .zip(&self.err_scale)
            .zip(&self.mask)
            .filter(|&(_, &k)| k)
            .map(|((e, s), _)| e * s)
            .fold(0.0, f64::max)
            * self.inv_total_measure
            * dt
            / (dt + dt_prev);
        let factor = if err > 0.0 {
            (0.9 * (tolerance / err).sqrt()).clamp(0.2, 2.0)
        } else {
            2.0
        };
        (err, factor)
    }

    /// Takes one accepted step from `time` towards `t_end` (never beyond): retries rejected
    /// steps internally. Returns the accepted step, or `None` if Newton failed at the
    /// smallest step.
    pub fn step(
        &mut self,
        config: &FieldConfig,
        grid: &Grid,
        time: f64,
        t_end: f64,
    ) -> Option<(Accepted, bool)> {
        let im = config.numerics.implicit;
        let n = self.kin.n;
        let w2_0 = omega_squared(&config.rotor, time);
        loop {
            let remaining = t_end - time;
            let mut dt = self.dt.min(im.max_dt);
            let last = dt >= remaining * (1.0 - 1e-12);
            if last {
                dt = remaining;
            }
            let w2 = omega_squared(&config.rotor, time + dt);
            for (f, a) in self.accel.iter_mut().enumerate() {
                *a = grid.area[f]
                    * acceleration(grid.geometry, config.gravity, grid.accel_radius[f], w2);
            }
            // initial guess: linear extrapolation of the last two states
            if self.dt_prev > 0.0 {
                let ratio = dt / self.dt_prev;
                for ((g, &c), &p) in self.next.iter_mut().zip(&self.col).zip(&self.prev) {
                    *g = c + ratio * (c - p);
                }
            } else {
                self.next.copy_from_slice(&self.col);
            }
            if self.split {
                // the frozen minor classes: their state at the start of the step
                for (g, c) in self.next.chunks_exact_mut(n).zip(self.col.chunks_exact(n)) {
                    for ((x, &y), &m) in g.iter_mut().zip(c).zip(&self.major) {
                        if !m {
                            *x = y;
                        }
                    }
                }
            }
            let compression = config.consolidation.map(|c| Compression {
                stress: c.stress,
                conductance: &self.conductance,
                preconsolidation: Some((&self.history, c.unloading_stiffness)),
                held_branch: None,
            });
            let step = ColumnStep {
                // the MUSCL face states at every face (min_total 0: the white-cell and
                // platelet sheets on the bed and the suspension's top are where the
                // first-order flux smears most; docs/physics.md §9.2)
                reconstruction: im.reconstruction.map(|limiter| Reconstruction {
                    width: &self.widths,
                    limiter,
                    min_total: 0.0,
                }),
                kin: &self.kin,
                accel: &self.accel,
                measure: &self.measure,
                inv_scale: if self.split {
                    &self.inv_scale_major
                } else {
                    &self.inv_scale
                },
                tolerance: im.newton_tolerance,
                max_iterations: 40,
                max_subdivisions: 0,
                major: &self.major,
                compression,
                diffusion: None,
            };
            let solved = self.solver.step(&step, &self.col, &mut self.next, dt);
            self.stats.newton = self.solver.stats;
            if solved.is_err() {
                self.stats.rejected_newton += 1;
                if self.split {
                    // evidence of blocking: the minor classes concentrated in the cell where
                    // the frozen solve stalled join it, and the step is retried at its size
                    // (a failure at the same cell repeated BLOCK_FAILURES times: the classes
                    // concentrated near it)
                    self.failures += 1;
                    let cell = self.solver.worst_cell(&self.measure, &self.inv_scale_major);
                    let window = if self.failures >= BLOCK_FAILURES {
                        BLOCK_WINDOW
                    } else {
                        0
                    };
                    if self.promote_near(cell, window, false) {
                        continue;
                    }
                }
                self.recovering = true;
                self.dt_ceiling = self.dt_ceiling.min(dt);
                self.dt = 0.5 * dt;
                if self.dt < MIN_DT {
                    return None;
                }
                continue;
            }
            let mut factor = 2.0;
            if self.dt_prev > 0.0 {
                let ratio = dt / self.dt_prev;
                local_error(
                    im.error_norm,
                    (&self.measure, &self.dual),
                    (&self.next, &self.col, &self.prev),
                    ratio,
                    n,
                    (&mut self.class_err, &mut self.cumulative),
                );
                for (k, &m) in self.mask.iter_mut().zip(&self.major) {
                    *k = !self.split || m;
                }
                let err;
                (err, factor) = self.error_and_factor(dt, self.dt_prev, im.time_tolerance);
                if err > 2.0 * im.time_tolerance && dt > MIN_DT {
                    self.stats.rejected_error += 1;
                    self.dt = dt * factor;
                    continue;
                }
            }
            if self.split && self.major.iter().any(|&m| !m) {
                self.sub_save.copy_from_slice(&self.sub_prev);
                let (sub_dt, sub_dt_prev) = (self.sub_dt, self.sub_dt_prev);
                let blocked = self.advance_minor(config, grid, time, dt);
                let mut retry = None;
                if let Some(cell) = blocked {
                    // the minor classes cannot follow the red cells: promote those in the
                    // cell (or halve the step if there is nothing left to promote)
                    self.stats.rejected_newton += 1;
                    retry = Some(if self.promote_near(cell, 0, true) {
                        dt
                    } else {
                        0.5 * dt
                    });
                } else if self.dt_prev > 0.0 {
                    // the step's local error over all classes, the minor ones after their
                    // sub-steps (as the coupled solve measures it)
                    local_error(
                        im.error_norm,
                        (&self.measure, &self.dual),
                        (&self.next, &self.col, &self.prev),
                        dt / self.dt_prev,
                        n,
                        (&mut self.class_err, &mut self.cumulative),
                    );
                    self.mask.fill(true);
                    let (err, all) = self.error_and_factor(dt, self.dt_prev, im.time_tolerance);
                    if err > 2.0 * im.time_tolerance && dt > MIN_DT {
                        self.stats.rejected_error += 1;
                        retry = Some(dt * all);
                    }
                    factor = factor.min(all);
                }
                if let Some(next_dt) = retry {
                    // undo the sub-steps (the minor entries of `next` are reset from `col` by
                    // the next attempt's initial guess)
                    self.sub_prev.copy_from_slice(&self.sub_save);
                    (self.sub_dt, self.sub_dt_prev) = (sub_dt, sub_dt_prev);
                    self.dt = next_dt;
                    if self.dt < MIN_DT {
                        return None;
                    }
                    continue;
                }
            }
            // Values below 10⁻²⁰⁰ are flushed to 0 (as the explicit scheme does: keeps decaying
            // tails out of the slow subnormal range; < 10⁻²⁰⁰ of volume per cell).
            for x in &mut self.next {
                if *x < 1e-200 {
                    *x = 0.0;
                }
            }
            for (h, cell) in self.history.iter_mut().zip(self.next.chunks_exact(n)) {
                *h = h.max(cell.iter().sum());
            }
            self.failures = 0;
            std::mem::swap(&mut self.prev, &mut self.col);
            std::mem::swap(&mut self.col, &mut self.next);
            self.dt_prev = dt;
            // The step after a Newton failure does not grow: the failed size (twice this
            // one) is where Newton stops converging, and growing back into it costs another
            // failed solve (measured on the whole-blood tube: 20 % fewer factorisations).
            if self.recovering {
                factor = factor.min(1.0);
                self.recovering = false;
            }
            // Step-size dead band: a growth by less than STEP_HOLD keeps Δt, so that the
            // next step can reuse the Jacobian factorisation (built for this Δt).
            if (1.0..STEP_HOLD).contains(&factor) {
                factor = 1.0;
            }
            // a step shortened to hit t_end does not shrink the proposal
            self.dt = if last {
                self.dt.max(dt * factor)
            } else {
                dt * factor
            };
            (self.dt, self.dt_ceiling) = below_failure_ceiling(self.dt, self.dt_ceiling, im.max_dt);
            self.stats.accepted += 1;
            return Some(((dt, w2_0, w2), last));
        }
    }
}

impl Implicit {
    /// Split: promotes to the Newton solve, for the rest of the run, the minor classes
    /// concentrated in the cells `cell` ± `window` of φⁿ (φ_{i,j} ≥ `coupling_threshold` ·
    /// the largest Σ_k φ_{k,j} there, [`promote_concentrated`] on those cells) or, if `any`
    /// and none is, every minor class
    /// present in the cell's candidate state. Returns whether the partition changed (the
    /// solver's partition is then reset). Allocates nothing.
    fn promote_near(&mut self, cell: usize, window: usize, any: bool) -> bool {
        let n = self.kin.n;
        let lo = cell.saturating_sub(window);
        let hi = (cell + window + 1).min(self.measure.len());
        let cells = &self.col[lo * n..hi * n];
        let mut changed = promote_concentrated(
            cells,
            n,
            self.promote_threshold,
            &mut self.local_max,
            &mut self.major,
        );
        if !changed && any {
            for (m, &x) in self
                .major
                .iter_mut()
                .zip(&self.next[cell * n..(cell + 1) * n])
            {
                if !*m && x > 0.0 {
                    *m = true;
                    changed = true;
                }
            }
        }
        if changed {
            for i in 0..n {
                if self.major[i] && self.inv_scale_major[i] == 0.0 {
                    self.promoted[i] = true;
                    self.stats.promoted_classes += 1;
                    self.inv_scale_major[i] = self.inv_scale[i];
                }
            }
            self.solver.reset_partition();
        }
        changed
    }

    /// The minor classes' sub-steps over the accepted major step [`time`, `time` + `dt`]
    /// ([`MinorClasses::Split`], module documentation): on entry `next` holds the major
    /// classes at the step's end and the minor classes at its start, on return the minor
    /// classes at its end. Returns `Some(cell)` (and leaves `next` half-advanced: the caller
    /// retries the step) if a sub-step still overfills `cell` at h ≤ BLOCKED_FRACTION · Δt.
    fn advance_minor(
        &mut self,
        config: &FieldConfig,
        grid: &Grid,
        time: f64,
        dt: f64,
    ) -> Option<usize> {
        let im = config.numerics.implicit;
        let n = self.kin.n;
        let cells = self.measure.len();
        for (k, &m) in self.mask.iter_mut().zip(&self.major) {
            *k = !m;
        }
        let mut tau = 0.0;
        while tau < dt {
            let remaining = dt - tau;
            let mut h = self.sub_dt.min(remaining);
            let last = h >= remaining * (1.0 - 1e-12);
            if last {
                h = remaining;
            }
            // the coefficients' state: major classes interpolated to the sub-step's end,
            // minor classes at its start
            let theta = if last { 1.0 } else { (tau + h) / dt };
            for ((x, c), e) in self
                .mixed
                .chunks_exact_mut(n)
                .zip(self.col.chunks_exact(n))
                .zip(self.next.chunks_exact(n))
            {
                for (((x, &c), &e), &m) in x.iter_mut().zip(c).zip(e).zip(&self.major) {
                    *x = if m { c + theta * (e - c) } else { e };
                }
            }
            let w2 = omega_squared(&config.rotor, time + tau + h);
            for (f, a) in self.sub_accel.iter_mut().enumerate() {
                *a = grid.area[f]
                    * acceleration(grid.geometry, config.gravity, grid.accel_radius[f], w2);
            }
            let compression = config.consolidation.map(|c| Compression {
                stress: c.stress,
                conductance: &self.conductance,
                preconsolidation: Some((&self.history, c.unloading_stiffness)),
                held_branch: None,
            });
            {
                let (kin, mixed, cp) = (&self.kin, &self.mixed, compression.as_ref());
                let pass = |first: usize, v: &mut [f64], hc: &mut [f64], sig: &mut [f64]| {
                    for (k, s) in sig.iter_mut().enumerate() {
                        let j = first + k;
                        let cell = &mixed[j * n..(j + 1) * n];
                        let (v, hc) = (&mut v[k * n..(k + 1) * n], &mut hc[k * n..(k + 1) * n]);
                        match cp {
                            Some(cp) => {
                                *s = cp.cell_stress(j, cell.iter().sum()).0;
                                kin.velocities_and_compression(cell, cp.stress.critical, v, hc);
                            }
                            None => {
                                *s = 0.0;
                                kin.velocities(cell, v, None);
                            }
                        }
                    }
                };
                split_cells(
                    cells,
                    n,
                    &mut self.sub_v,
                    &mut self.sub_h,
                    &mut self.sub_sig,
                    pass,
                );
            }
            let compressed = compression.is_some();
            for i in 0..n {
                if !self.major[i] {
                    self.stats.minor_clipped += self.minor_solve(i, h, compressed);
                }
            }
            // the packing bound with the lagged velocities
            let phi_max = self.kin.phi_max;
            let overfull = self
                .mixed
                .chunks_exact(n)
                .zip(self.sub_new.chunks_exact(n))
                .position(|(x, y)| {
                    let total: f64 = x
                        .iter()
                        .zip(y)
                        .zip(&self.major)
                        .map(|((&a, &b), &m)| if m { a } else { b })
                        .sum();
                    total > phi_max
                });
            if let Some(cell) = overfull
                && h <= BLOCKED_FRACTION * dt
            {
                return Some(cell);
            }
            if overfull.is_some() && h > MIN_DT {
                self.stats.minor_rejected += 1;
                self.sub_dt = 0.5 * h;
                continue;
            }
            let mut factor = 2.0;
            if self.sub_dt_prev > 0.0 {
                let ratio = h / self.sub_dt_prev;
                local_error(
                    im.error_norm,
                    (&self.measure, &self.dual),
                    (&self.sub_new, &self.next, &self.sub_prev),
                    ratio,
                    n,
                    (&mut self.class_err, &mut self.cumulative),
                );
                let err;
                (err, factor) = self.error_and_factor(h, self.sub_dt_prev, im.time_tolerance);
                if err > 2.0 * im.time_tolerance && h > MIN_DT {
                    self.stats.minor_rejected += 1;
                    self.sub_dt = h * factor;
                    continue;
                }
            }
            for ((p, c), x) in self
                .sub_prev
                .chunks_exact_mut(n)
                .zip(self.next.chunks_exact_mut(n))
                .zip(self.sub_new.chunks_exact(n))
            {
                for (((p, c), &x), &m) in p.iter_mut().zip(c.iter_mut()).zip(x).zip(&self.major) {
                    if !m {
                        *p = *c;
                        *c = x;
                    }
                }
            }
            self.sub_dt_prev = h;
            self.sub_dt = if last {
                self.sub_dt.max(h * factor)
            } else {
                h * factor
            };
            self.stats.minor_substeps += 1;
            if last {
                break;
            }
            tau += h;
        }
        None
    }

    /// One sub-step `h` of minor class `i` from its state in `next` into `sub_new` with the
    /// coefficients in `sub_v`, `sub_h`, `sub_sig`, `sub_accel` (module documentation):
    /// the tridiagonal M-matrix solve, then the conservative flux-difference update. Returns
    /// the volume clipped from round-off negatives relative to the class scale.
    fn minor_solve(&mut self, i: usize, h: f64, compression: bool) -> f64 {
        let n = self.kin.n;
        let cells = self.measure.len();
        let (a, b) = (&mut self.face_in, &mut self.face_out);
        a[0] = 0.0;
        b[0] = 0.0;
        a[cells] = 0.0;
        b[cells] = 0.0;
        for f in 1..cells {
            let (l, r) = ((f - 1) * n + i, f * n + i);
            let acc = self.sub_accel[f];
            let (mut al, mut be) = (acc * self.sub_v[r].max(0.0), acc * self.sub_v[l].min(0.0));
            if compression {
                let grad = (self.sub_sig[f] - self.sub_sig[f - 1]) * self.conductance[f];
                if grad != 0.0 {
                    al += (self.sub_h[r] * grad).max(0.0);
                    be += (self.sub_h[l] * grad).min(0.0);
                }
            }
            a[f] = al;
            b[f] = be;
        }
        // Thomas: row j: −h α_j φ_{j−1} + (m_j + h(α_{j+1} − β_j)) φ_j + h β_{j+1} φ_{j+1}
        // = m_j φ*_j (no pivoting: the matrix is column diagonally dominant)
        let (c, d) = (&mut self.thomas_c, &mut self.thomas_d);
        let (mut c_prev, mut d_prev) = (0.0, 0.0);
        for j in 0..cells {
            let m = self.measure[j];
            let lower = -h * a[j];
            let diag = m + h * (a[j + 1] - b[j]);
            let upper = h * b[j + 1];
            let den = 1.0 / (diag - lower * c_prev);
            c_prev = upper * den;
            d_prev = (m * self.next[j * n + i] - lower * d_prev) * den;
            c[j] = c_prev;
            d[j] = d_prev;
        }
        for j in (0..cells - 1).rev() {
            d[j] -= c[j] * d[j + 1];
        }
        // conservative update with the fluxes of the solution
        let mut clipped = 0.0;
        let mut flux_in = 0.0;
        for j in 0..cells {
            let flux_out = if j + 1 < cells {
                a[j + 1] * d[j] + b[j + 1] * d[j + 1]
            } else {
                0.0
            };
            let value = self.next[j * n + i] - h / self.measure[j] * (flux_out - flux_in);
            if value < 0.0 {
                clipped += -value * self.inv_scale[i] * self.measure[j];
                self.sub_new[j * n + i] = 0.0;
            } else {
                self.sub_new[j * n + i] = value;
            }
            flux_in = flux_out;
        }
        clipped
    }
}

/// Backward Euler's local error per class into `class_err` (all N classes; the caller
/// weighs and reduces those it measures): the divided difference
/// e_j = (new − cur)_j − ratio (cur − old)_j in the [`ErrorNorm`] `norm` (see
/// [`crate::ImplicitNumerics`]), not yet divided by the total measure.
fn local_error(
    norm: ErrorNorm,
    (measure, dual): (&[f64], &[f64]),
    (new, cur, old): (&[f64], &[f64], &[f64]),
    ratio: f64,
    n: usize,
    (class_err, cumulative): (&mut [f64], &mut [f64]),
) {
    class_err.fill(0.0);
    match norm {
        ErrorNorm::Volume => {
            for (j, &m) in measure.iter().enumerate() {
                let range = j * n..(j + 1) * n;
                for (((e, &x1), &x0), &xm) in class_err
                    .iter_mut()
                    .zip(&new[range.clone()])
                    .zip(&cur[range.clone()])
                    .zip(&old[range])
                {
                    *e += m * ((x1 - x0) - ratio * (x0 - xm)).abs();
                }
            }
        }
        _ => {
            // Σ_f |C_f| h_f/L, C_f the cumulative error volume left of face f
            // (face j + 1 lies right of cell j; the outer wall's weight is 0)
            cumulative.fill(0.0);
            for (j, &m) in measure.iter().enumerate() {
                let range = j * n..(j + 1) * n;
                let h = dual[j + 1];
                for ((((e, c), &x1), &x0), &xm) in class_err
                    .iter_mut()
                    .zip(cumulative.iter_mut())
                    .zip(&new[range.clone()])
                    .zip(&cur[range.clone()])
                    .zip(&old[range])
                {
                    *c += m * ((x1 - x0) - ratio * (x0 - xm));
                    *e += h * c.abs();
                }
            }
        }
    }
}

/// The weights h_f/L of the transport error norm ([`ErrorNorm::Transport`]) per face
/// (J + 1): the distance of the centres either side of face f over the distance L of the
/// first and last centres; 0 at the walls.
fn dual_weights(grid: &Grid, cells: usize) -> Vec<f64> {
    let length = (grid.centres[cells - 1] - grid.centres[0]).max(f64::MIN_POSITIVE);
    (0..=cells)
        .map(|f| {
            if f == 0 || f == cells {
                0.0
            } else {
                (grid.centres[f] - grid.centres[f - 1]) / length
            }
        })
        .collect()
}

/// Promotes to `major` every class whose largest fraction over the cells of `column`
/// (J × N, cell-major) reaches `threshold` times the largest total fraction of a cell:
/// max_j φ_{i,j} ≥ θ max_j Σ_k φ_{k,j}. A class diluted in the feed (white cells, platelets)
/// but concentrated somewhere in the column (a buffy-coat band resolved by a fine grid) then
/// is no longer decoupled/frozen where it blocks the major classes. `local_max` (N) is
/// scratch. Returns whether a class was promoted. The channel's refined march and the
/// field's split minor classes share this rule (θ = `coupling_threshold`).
#[inline]
pub fn promote_concentrated(
    column: &[f64],
    n: usize,
    threshold: f64,
    local_max: &mut [f64],
    major: &mut [bool],
) -> bool {
    local_max.fill(0.0);
    let mut largest_total = 0.0f64;
    for cell in column.chunks_exact(n) {
        let mut total = 0.0;
        for (m, &p) in local_max.iter_mut().zip(cell) {
            *m = f64::max(*m, p);
            total += p;
        }
        largest_total = largest_total.max(total);
    }
    let mut changed = false;
    for (m, &lm) in major.iter_mut().zip(local_max.iter()) {
        if !*m && lm >= threshold * largest_total {
            *m = true;
            changed = true;
        }
    }
    changed
}

/// ω(t)² (rad²/s²).
#[inline]
fn omega_squared(rotor: &RotorProfile, t: f64) -> f64 {
    let w = rotor.omega(t);
    w * w
}

#[cfg(test)]
mod tests {
    use super::{
        CEILING_GROWTH, FAILED_STEP_FRACTION, below_failure_ceiling, promote_concentrated,
    };

    /// After a Newton failure at 2 s the proposals stay below 0.9 × the ceiling, which grows
    /// by 1.2 per accepted step until it no longer binds below the largest step and is
    /// forgotten; without a failure the proposal passes unchanged.
    #[test]
    fn steps_stay_below_the_failed_size_until_the_ceiling_has_grown() {
        let max_dt = 10.0;
        assert_eq!(
            below_failure_ceiling(3.0, f64::INFINITY, max_dt),
            (3.0, f64::INFINITY)
        );
        let (mut ceiling, mut accepted): (f64, i32) = (2.0, 0);
        let mut proposals = Vec::new();
        while ceiling.is_finite() {
            // the controller proposes more than the largest step (it is clamped when used)
            let (dt, next) = below_failure_ceiling(20.0, ceiling, max_dt);
            assert!(dt <= FAILED_STEP_FRACTION * ceiling && dt < max_dt);
            assert!(next > ceiling);
            proposals.push(dt);
            ceiling = next;
            accepted += 1;
            assert!(accepted < 100, "the ceiling is never forgotten");
        }
        assert_eq!(proposals[0], FAILED_STEP_FRACTION * 2.0);
        assert_eq!(proposals[1], FAILED_STEP_FRACTION * 2.0 * CEILING_GROWTH);
        assert!(proposals.windows(2).all(|w| w[1] > w[0]));
        // forgotten only once 0.9 × the grown ceiling reaches the largest step
        let last = 2.0 * CEILING_GROWTH.powi(accepted);
        assert!(FAILED_STEP_FRACTION * last >= max_dt);
        assert!(FAILED_STEP_FRACTION * last / CEILING_GROWTH < max_dt);
        // a smaller proposal is kept
        assert_eq!(below_failure_ceiling(0.5, 2.0, max_dt).0, 0.5);
    }

    /// A class is promoted once its largest fraction reaches the threshold times the largest
    /// cell total (anywhere in the column), never demoted, and the call reports a change only
    /// when it promotes.
    #[test]
    fn promotes_a_class_concentrated_in_one_cell() {
        // 3 cells × 3 classes: a packed red cell, a buffy-coat cell, a dilute plasma cell
        let column = [0.9, 0.0, 0.001, 0.05, 0.3, 0.001, 0.0, 0.001, 0.0005];
        let mut local_max = [0.0; 3];
        let mut major = [true, false, false];
        // largest total 0.901: class 1 reaches 0.3 ≥ 0.02 × 0.901, class 2 (0.001) does not
        assert!(promote_concentrated(
            &column,
            3,
            0.02,
            &mut local_max,
            &mut major
        ));
        assert_eq!(major, [true, true, false]);
        assert_eq!(local_max, [0.9, 0.3, 0.001]);
        // nothing new: no change reported
        assert!(!promote_concentrated(
            &column,
            3,
            0.02,
            &mut local_max,
            &mut major
        ));
        // promotion is sticky: a diluted column does not demote
        let dilute = [0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert!(!promote_concentrated(
            &dilute,
            3,
            0.02,
            &mut local_max,
            &mut major
        ));
        assert_eq!(major, [true, true, false]);
        // exactly at the threshold promotes
        let edge = [0.25, 0.0, 0.25];
        let mut major = [true, false, false];
        assert!(promote_concentrated(
            &edge,
            3,
            0.5,
            &mut local_max,
            &mut major
        ));
        assert_eq!(major, [true, false, true]);
    }
}
