//! [`HinderedField`]: volume fractions of every class on the radial grid, advanced by the
//! stepper.

use buffycoat_physics::rotor::RotorProfile;
use buffycoat_stepper::{ChunkReducer, Parallel, Propagate};
use rayon::prelude::*;

use crate::classes::Class;
use crate::config::{FieldConfig, TimeIntegrator};
use crate::error::FieldError;
use crate::kernel::{Grid, Kernel, Layout, LimiterCounts, Scratch};
use crate::tracers::{TracerEnv, Tracers, advance_tracers};

/// Tolerance of the bound Σφ_i ≤ φ_max: the capacity cap keeps it exactly up to round-off of
/// the class sum, well below this.
pub const PACKING_TOLERANCE: f64 = 1e-12;

/// Statistics of the run so far.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FieldStats {
    /// time steps taken
    pub steps: u64,
    /// last time step (s)
    pub last_dt: f64,
    /// smallest time step (s) (excluding steps shortened to hit an output time or knot)
    pub min_dt: f64,
    /// largest time step (s)
    pub max_dt: f64,
    /// limiter activity summed over all stages
    pub limiters: LimiterCounts,
}

/// The Eulerian hindered, polydisperse sedimentation field (see the crate documentation for
/// the equations, the scheme and its guarantees).
#[derive(Debug)]
pub struct HinderedField {
    config: FieldConfig,
    classes: Vec<Class>,
    kernel: Kernel,
    /// state φⁿ (tiled)
    phi: Vec<f64>,
    stage_a: Vec<f64>,
    stage_b: Vec<f64>,
    flux: Vec<f64>,
    slope: Vec<f64>,
    scratch: Vec<Scratch>,
    rate_reducer: ChunkReducer<f64>,
    count_reducer: ChunkReducer<LimiterCounts>,
    mix_old: Vec<f64>,
    mix_new: Vec<f64>,
    tracers: Tracers,
    /// ∫φ_i dV at the start (geometric measure, see [`HinderedField::class_volume`])
    initial_volumes: Vec<f64>,
    time: f64,
    stats: FieldStats,
}

impl HinderedField {
    /// A field with every class uniform at its `volume_fraction`, and the given tracers.
    ///
    /// # Errors
    /// Invalid configuration, class or tracer; no classes; Σφ₀ ≥ φ_max.
    pub fn new(
        config: FieldConfig,
        classes: Vec<Class>,
        tracers: Tracers,
    ) -> Result<Self, FieldError> {
        config.validate()?;
        if classes.is_empty() {
            return Err(FieldError::Inconsistent(
                "at least one class is needed".into(),
            ));
        }
        if classes.len() > u16::MAX as usize {
            return Err(FieldError::Inconsistent("too many classes".into()));
        }
        for c in &classes {
            c.validate()?;
        }
        let phi_max = config.hindrance.max_packing();
        let total: f64 = classes.iter().map(|c| c.volume_fraction).sum();
        if total >= phi_max {
            return Err(FieldError::Inconsistent(format!(
                "the initial volume fractions sum to {total}, not below the maximum packing {phi_max}"
            )));
        }
        tracers.validate(config.r_min, config.r_max)?;
        let cells = config.radial_cells;
        let layout = Layout::new(cells, classes.len(), config.numerics.cells_per_chunk);
        let mut grid = Grid::new(config.geometry, config.r_min, config.r_max, cells);
        if let Some(radius) = &config.face_radius {
            grid.accel_radius.clone_from(radius);
        }
        let rho_f = config.fluid.density;
        let mobility: Vec<f64> = classes.iter().map(Class::mobility).collect();
        let excess: Vec<f64> = classes.iter().map(|c| c.density - rho_f).collect();
        let threshold: Vec<f64> = classes
            .iter()
            .map(|c| config.numerics.inactive_fraction * c.volume_fraction)
            .collect();
        let mut phi = vec![0.0; layout.storage()];
        for (i, c) in classes.iter().enumerate() {
            for cell in 0..cells {
                phi[layout.index(i, cell)] = c.volume_fraction;
            }
        }
        let storage = layout.storage();
        let mut field = Self {
            scratch: (0..layout.chunks).map(|_| Scratch::new(&layout)).collect(),
            rate_reducer: ChunkReducer::new(layout.chunks, 0.0),
            count_reducer: ChunkReducer::new(layout.chunks, LimiterCounts::default()),
            mix_old: vec![0.0; 3 * layout.chunk * layout.chunks],
            mix_new: vec![0.0; 3 * layout.chunk * layout.chunks],
            stage_a: vec![0.0; storage],
            stage_b: vec![0.0; storage],
            flux: vec![0.0; storage],
            slope: vec![0.0; storage],
            phi,
            initial_volumes: Vec::new(),
            kernel: Kernel {
                layout,
                grid,
                mobility,
                excess,
                threshold,
                law: config.hindrance,
                inv_18mu: 1.0 / (18.0 * config.fluid.viscosity),
                theta: config.numerics.limiter_theta,
                phi_max: config.hindrance.max_packing(),
                gravity: config.gravity,
            },
            config,
            classes,
            tracers,
            time: 0.0,
            stats: FieldStats {
                min_dt: f64::INFINITY,
                ..FieldStats::default()
            },
        };
        field.initial_volumes = (0..field.classes.len())
            .map(|i| field.class_volume(i))
            .collect();
        Ok(field)
    }

    /// Replaces the initial profile of class `class` by `values` (one per cell, ≥ 0). Call
    /// before the first `advance`; the reference volumes for conservation checks and the
    /// initial mean fractions used by the layer thresholds are updated.
    ///
    /// # Errors
    /// Wrong length, negative or non-finite values, a total above φ_max in some cell, or a
    /// field that has already been advanced.
    pub fn set_profile(&mut self, class: usize, values: &[f64]) -> Result<(), FieldError> {
        if self.stats.steps > 0 {
            return Err(FieldError::Inconsistent(
                "profiles can only be set before the first step".into(),
            ));
        }
        if class >= self.classes.len() || values.len() != self.kernel.layout.cells {
            return Err(FieldError::Inconsistent(format!(
                "profile for class {class} must have {} values",
                self.kernel.layout.cells
            )));
        }
        let phi_max = self.config.hindrance.max_packing();
        for (cell, &v) in values.iter().enumerate() {
            if !(v.is_finite() && v >= 0.0) {
                return Err(crate::error::invalid("initial volume fraction", v, ">= 0"));
            }
            let others: f64 = (0..self.classes.len())
                .filter(|&i| i != class)
                .map(|i| self.phi[self.kernel.layout.index(i, cell)])
                .sum();
            if others + v > phi_max {
                return Err(FieldError::Inconsistent(format!(
                    "total volume fraction {} in cell {cell} exceeds the maximum packing {phi_max}",
                    others + v
                )));
            }
        }
        for (cell, &v) in values.iter().enumerate() {
            self.phi[self.kernel.layout.index(class, cell)] = v;
        }
        self.initial_volumes[class] = self.class_volume(class);
        let mean = self.initial_volumes[class] / self.total_measure();
        self.kernel.threshold[class] = self.config.numerics.inactive_fraction * mean;
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &FieldConfig {
        &self.config
    }

    /// The classes.
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// Simulated time (s).
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Run statistics.
    pub fn stats(&self) -> FieldStats {
        self.stats
    }

    /// Number of radial cells.
    pub fn radial_cells(&self) -> usize {
        self.kernel.layout.cells
    }

    /// Cell-centre radii (m).
    pub fn radii(&self) -> &[f64] {
        &self.kernel.grid.centres
    }

    /// Face radii (m), `radial_cells + 1` values from r_min to r_max.
    pub fn faces(&self) -> &[f64] {
        &self.kernel.grid.faces
    }

    /// Geometric measure of cell `cell`: Δr for a tube (volume per unit cross-section, m),
    /// (r₊² − r₋²)/2 for a sector (volume per radian and unit height, m²).
    pub fn cell_measure(&self, cell: usize) -> f64 {
        self.kernel.grid.volume[cell]
    }

    /// Total measure of the domain (same unit as [`HinderedField::cell_measure`]).
    pub fn total_measure(&self) -> f64 {
        self.kernel
            .grid
            .measure(self.kernel.grid.r_min, self.kernel.grid.r_max)
    }

    /// Volume fraction of class `class` in cell `cell`.
    #[inline]
    pub fn volume_fraction(&self, class: usize, cell: usize) -> f64 {
        self.phi[self.kernel.layout.index(class, cell)]
    }

    /// Σ_i φ_i in cell `cell`.
    pub fn total_fraction(&self, cell: usize) -> f64 {
        (0..self.classes.len())
            .map(|i| self.volume_fraction(i, cell))
            .sum()
    }

    /// Copies the profile of class `class` into `out` (length `radial_cells`).
    pub fn copy_profile(&self, class: usize, out: &mut [f64]) {
        for (cell, o) in out.iter_mut().enumerate().take(self.kernel.layout.cells) {
            *o = self.volume_fraction(class, cell);
        }
    }

    /// The profile of class `class` (allocates).
    pub fn profile(&self, class: usize) -> Vec<f64> {
        let mut v = vec![0.0; self.kernel.layout.cells];
        self.copy_profile(class, &mut v);
        v
    }

    /// Copies all volume fractions into `out` in the `[Nr][S]` order of the H5MD output
    /// (`out[cell * classes + class]`).
    pub fn copy_volume_fractions(&self, out: &mut [f64]) {
        let nc = self.classes.len();
        for cell in 0..self.kernel.layout.cells {
            for i in 0..nc {
                out[cell * nc + i] = self.volume_fraction(i, cell);
            }
        }
    }

    /// ∫φ_i dV of class `class` in the geometric measure of [`HinderedField::cell_measure`],
    /// summed with Neumaier compensation in cell order (deterministic).
    pub fn class_volume(&self, class: usize) -> f64 {
        let mut sum = 0.0f64;
        let mut comp = 0.0f64;
        for cell in 0..self.kernel.layout.cells {
            let x = self.volume_fraction(class, cell) * self.kernel.grid.volume[cell];
            let t = sum + x;
            if sum.abs() >= x.abs() {
                comp += (sum - t) + x;
            } else {
                comp += (x - t) + sum;
            }
            sum = t;
        }
        sum + comp
    }

    /// ∫φ_i dV at the start (or when the profile was last set).
    pub fn initial_class_volume(&self, class: usize) -> f64 {
        self.initial_volumes[class]
    }

    /// The tracers.
    pub fn tracers(&self) -> &Tracers {
        &self.tracers
    }

    pub(crate) fn grid(&self) -> &Grid {
        &self.kernel.grid
    }

    /// Largest relative change of any class volume since the start,
    /// max_i |V_i(t) − V_i(0)| / V_i(0) (classes with zero volume are skipped).
    pub fn max_volume_drift(&self) -> f64 {
        (0..self.classes.len())
            .filter(|&i| self.initial_volumes[i] > 0.0)
            .map(|i| (self.class_volume(i) / self.initial_volumes[i] - 1.0).abs())
            .fold(0.0, f64::max)
    }

    /// Advances to `t1` with as many CFL-limited steps as needed, never stepping across a
    /// rotor knot. Must run inside the pool (see [`Propagate::advance`]).
    fn advance_to(&mut self, t1: f64) -> Result<(), FieldError> {
        let cfl = self.config.numerics.cfl;
        let integrator = self.config.numerics.integrator;
        let track_mix = !self.tracers.is_empty();
        let tracer_chunk = 1024;
        while self.time < t1 {
            let t = self.time;
            let t_end = self
                .config
                .rotor
                .next_knot_after(t)
                .map_or(t1, |k| k.min(t1));
            let (w2_0, rate) = {
                let w2_0 = omega_squared(&self.config.rotor, t);
                let Self {
                    kernel,
                    phi,
                    flux,
                    slope,
                    scratch,
                    mix_old,
                    rate_reducer,
                    ..
                } = self;
                let rate = stage_fluxes(
                    kernel,
                    phi,
                    w2_0,
                    true,
                    flux,
                    slope,
                    scratch,
                    track_mix.then_some(mix_old.as_mut_slice()),
                    rate_reducer,
                );
                (w2_0, rate)
            };
            if !rate.is_finite() {
                return Err(FieldError::NonFinite {
                    time: t,
                    step: self.stats.steps,
                });
            }
            let remaining = t_end - t;
            let mut dt = if rate > 0.0 { cfl / rate } else { remaining };
            let last = dt >= remaining * (1.0 - 1e-12);
            if last {
                dt = remaining;
            } else {
                self.stats.min_dt = self.stats.min_dt.min(dt);
            }
            if dt.is_nan() || dt <= 0.0 {
                return Err(FieldError::NonFinite {
                    time: t,
                    step: self.stats.steps,
                });
            }
            self.stats.max_dt = self.stats.max_dt.max(dt);
            // Stage 1: a = φⁿ + Δt L(φⁿ).
            let mut counts = self.update(Buf::Phi, Buf::Phi, Buf::A, dt, 0.0, 1.0);
            match integrator {
                TimeIntegrator::SspRk2 => {
                    self.fluxes(Buf::A, omega_squared(&self.config.rotor, t + dt));
                    counts = counts.merge(self.update(Buf::A, Buf::Phi, Buf::B, dt, 0.5, 0.5));
                    std::mem::swap(&mut self.phi, &mut self.stage_b);
                }
                TimeIntegrator::SspRk3 => {
                    self.fluxes(Buf::A, omega_squared(&self.config.rotor, t + dt));
                    counts = counts.merge(self.update(Buf::A, Buf::Phi, Buf::B, dt, 0.75, 0.25));
                    self.fluxes(Buf::B, omega_squared(&self.config.rotor, t + 0.5 * dt));
                    counts = counts.merge(self.update(
                        Buf::B,
                        Buf::Phi,
                        Buf::A,
                        dt,
                        1.0 / 3.0,
                        2.0 / 3.0,
                    ));
                    std::mem::swap(&mut self.phi, &mut self.stage_a);
                }
            }
            self.stats.limiters = self.stats.limiters.merge(counts);
            let t_next = if last { t_end } else { t + dt };
            if track_mix {
                let kernel = &self.kernel;
                let lay = self.kernel.layout;
                let phi = &self.phi;
                let mix_new = &mut self.mix_new;
                mix_new
                    .par_chunks_mut(3 * lay.chunk)
                    .enumerate()
                    .for_each(|(c, blk)| kernel.mixture(c, phi, blk));
                let env = TracerEnv {
                    geometry: self.config.geometry,
                    gravity: self.config.gravity,
                    fluid_density: self.config.fluid.density,
                    r_min: self.kernel.grid.r_min,
                    r_max: self.kernel.grid.r_max,
                    centre0: self.kernel.grid.centres[0],
                    dr: self.kernel.grid.dr,
                    cells: lay.cells,
                    accel_radius: &self.kernel.grid.accel_radius,
                    mix_old: &self.mix_old,
                    mix_new: &self.mix_new,
                };
                let w2_1 = omega_squared(&self.config.rotor, t_next);
                advance_tracers(&mut self.tracers, &env, dt, w2_0, w2_1, tracer_chunk);
            }
            self.time = t_next;
            self.stats.steps += 1;
            self.stats.last_dt = dt;
        }
        Ok(())
    }

    /// Pass A on buffer `src` at squared speed `w2` (later stages; no tracer mixture).
    fn fluxes(&mut self, src: Buf, w2: f64) {
        let Self {
            kernel,
            phi,
            stage_a,
            stage_b,
            flux,
            slope,
            scratch,
            rate_reducer,
            ..
        } = self;
        let state: &[f64] = match src {
            Buf::Phi => phi,
            Buf::A => stage_a,
            Buf::B => stage_b,
        };
        stage_fluxes(
            kernel,
            state,
            w2,
            false,
            flux,
            slope,
            scratch,
            None,
            rate_reducer,
        );
    }

    /// Pass B: `dst = alpha·old + beta·(src + dt L(src))`.
    fn update(
        &mut self,
        src: Buf,
        old: Buf,
        dst: Buf,
        dt: f64,
        alpha: f64,
        beta: f64,
    ) -> LimiterCounts {
        let lay = self.kernel.layout;
        let Self {
            kernel,
            phi,
            stage_a,
            stage_b,
            flux,
            slope,
            scratch,
            count_reducer,
            ..
        } = self;
        // Exactly one buffer is written; the others are read.
        let (out, state, old_state): (&mut Vec<f64>, &[f64], &[f64]) = match (dst, src, old) {
            (Buf::A, Buf::Phi, Buf::Phi) => (stage_a, phi, phi),
            (Buf::B, Buf::A, Buf::Phi) => (stage_b, stage_a, phi),
            (Buf::A, Buf::B, Buf::Phi) => (stage_a, stage_b, phi),
            _ => unreachable!("unsupported stage buffer combination"),
        };
        let flux: &[f64] = flux;
        let slope: &[f64] = slope;
        count_reducer.map_reduce(
            out.par_chunks_mut(lay.block())
                .zip(scratch.par_iter_mut())
                .enumerate(),
            |(c, (blk, scr))| {
                kernel.pass_b(c, state, old_state, flux, slope, dt, alpha, beta, blk, scr)
            },
            LimiterCounts::default(),
            LimiterCounts::merge,
        )
    }
}

/// ω(t)² (rad²/s²).
#[inline]
fn omega_squared(rotor: &RotorProfile, t: f64) -> f64 {
    let w = rotor.omega(t);
    w * w
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Buf {
    Phi,
    A,
    B,
}

/// Pass A over all chunks; returns the largest CFL rate (NaN-propagating, in chunk order).
#[allow(clippy::too_many_arguments)]
fn stage_fluxes(
    kernel: &Kernel,
    state: &[f64],
    w2: f64,
    new_bounds: bool,
    flux: &mut [f64],
    slope: &mut [f64],
    scratch: &mut [Scratch],
    mix: Option<&mut [f64]>,
    reducer: &mut ChunkReducer<f64>,
) -> f64 {
    let lay = kernel.layout;
    let merge = |a: f64, b: f64| {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.max(b)
        }
    };
    match mix {
        Some(mix) => reducer.map_reduce(
            flux.par_chunks_mut(lay.block())
                .zip(slope.par_chunks_mut(lay.block()))
                .zip(scratch.par_iter_mut())
                .zip(mix.par_chunks_mut(3 * lay.chunk))
                .enumerate(),
            |(c, (((fb, sb), scr), mb))| {
                kernel.pass_a(c, state, w2, new_bounds, fb, sb, Some(mb), scr)
            },
            0.0,
            merge,
        ),
        None => reducer.map_reduce(
            flux.par_chunks_mut(lay.block())
                .zip(slope.par_chunks_mut(lay.block()))
                .zip(scratch.par_iter_mut())
                .enumerate(),
            |(c, ((fb, sb), scr))| kernel.pass_a(c, state, w2, new_bounds, fb, sb, None, scr),
            0.0,
            merge,
        ),
    }
}

impl Propagate for HinderedField {
    type Error = FieldError;

    /// Advances from `t0` (which must be the field's time, to within 10⁻⁹ relative) to `t1`,
    /// inside `par`'s pool. Allocation-free.
    fn advance(&mut self, t0: f64, t1: f64, par: &Parallel) -> Result<(), FieldError> {
        if (t0 - self.time).abs() > 1e-9 * self.time.abs().max(1.0) {
            return Err(FieldError::TimeMismatch {
                requested: t0,
                current: self.time,
            });
        }
        par.install(|| self.advance_to(t1))
    }

    fn step_count(&self) -> u64 {
        self.stats.steps
    }
}
