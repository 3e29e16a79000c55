//! The implicit scheme of the field ([`crate::Scheme::Implicit`]): backward Euler on the
//! whole radial column with the shared Newton solver of [`crate::column`], adaptive steps with
//! the local-error control documented at [`crate::ImplicitNumerics`].

use buffycoat_physics::rotor::RotorProfile;

use crate::classes::Class;
use crate::column::{ColumnSolver, ColumnStep, Compression, NewtonStats};
use crate::config::{ErrorNorm, FieldConfig, acceleration};
use crate::kernel::Grid;
use crate::kinetics::Kinetics;

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
    pub stats: ImplicitStats,
}

/// What one accepted step did: (Δt, ω² at its start, ω² at its end).
pub(crate) type Accepted = (f64, f64, f64);

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
            stats: ImplicitStats::default(),
        };
        s.coupled = config.consolidation.is_some();
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
        w.u64(self.stats.accepted);
        w.u64(self.stats.rejected_error);
        w.u64(self.stats.rejected_newton);
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
        self.stats.accepted = r.u64()?;
        self.stats.rejected_error = r.u64()?;
        self.stats.rejected_newton = r.u64()?;
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
            self.major[i] = self.coupled || m >= coupling_threshold * total || m == largest;
        }
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
            let compression = config.consolidation.map(|c| Compression {
                stress: c.stress,
                conductance: &self.conductance,
                preconsolidation: Some((&self.history, c.unloading_stiffness)),
            });
            let step = ColumnStep {
                reconstruction: None,
                kin: &self.kin,
                accel: &self.accel,
                measure: &self.measure,
                inv_scale: &self.inv_scale,
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
                self.recovering = true;
                self.dt = 0.5 * dt;
                if self.dt < MIN_DT {
                    return None;
                }
                continue;
            }
            let mut factor = 2.0;
            if self.dt_prev > 0.0 {
                let ratio = dt / self.dt_prev;
                self.class_err.fill(0.0);
                match im.error_norm {
                    ErrorNorm::Volume => {
                        for (j, &m) in self.measure.iter().enumerate() {
                            let range = j * n..(j + 1) * n;
                            for (((e, &x1), &x0), &xm) in self
                                .class_err
                                .iter_mut()
                                .zip(&self.next[range.clone()])
                                .zip(&self.col[range.clone()])
                                .zip(&self.prev[range])
                            {
                                *e += m * ((x1 - x0) - ratio * (x0 - xm)).abs();
                            }
                        }
                    }
                    _ => {
                        // Σ_f |C_f| h_f/L, C_f the cumulative error volume left of face f
                        // (face j + 1 lies right of cell j; the outer wall's weight is 0)
                        self.cumulative.fill(0.0);
                        for (j, &m) in self.measure.iter().enumerate() {
                            let range = j * n..(j + 1) * n;
                            let h = self.dual[j + 1];
                            for ((((e, c), &x1), &x0), &xm) in self
                                .class_err
                                .iter_mut()
                                .zip(self.cumulative.iter_mut())
                                .zip(&self.next[range.clone()])
                                .zip(&self.col[range.clone()])
                                .zip(&self.prev[range])
                            {
                                *c += m * ((x1 - x0) - ratio * (x0 - xm));
                                *e += h * c.abs();
                            }
                        }
                    }
                }
                let err = self
                    .class_err
                    .iter()
                    .zip(&self.err_scale)
                    .map(|(e, s)| e * s)
                    .fold(0.0, f64::max)
                    * self.inv_total_measure
                    * dt
                    / (dt + self.dt_prev);
                if err > 0.0 {
                    factor = (0.9 * (im.time_tolerance / err).sqrt()).clamp(0.2, 2.0);
                }
                if err > 2.0 * im.time_tolerance && dt > MIN_DT {
                    self.stats.rejected_error += 1;
                    self.dt = dt * factor;
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
            self.stats.accepted += 1;
            return Some(((dt, w2_0, w2), last));
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

/// ω(t)² (rad²/s²).
#[inline]
fn omega_squared(rotor: &RotorProfile, t: f64) -> f64 {
    let w = rotor.omega(t);
    w * w
}
