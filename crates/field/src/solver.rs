//! [`HinderedField`]: volume fractions of every class on the radial grid, advanced by the
//! stepper.

use buffycoat_physics::rotor::RotorProfile;
use buffycoat_stepper::{ChunkReducer, Parallel, Propagate};
use rayon::prelude::*;

mod checkpoint;
use std::sync::{Mutex, PoisonError};

use crate::classes::Class;
use crate::config::{FieldConfig, Scheme, TimeIntegrator};
use crate::error::FieldError;
use crate::implicit::{Implicit, ImplicitStats};
use crate::kernel::{Carry, Grid, Isa, Kernel, Layout, LimiterCounts, Scratch};
use crate::kinetics::TestParticleCell;
use crate::tracers::{TracerClosure, TracerEnv, Tracers, advance_tracers};

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
    /// raw first-stage fluxes (face f at the slot of cell f) and slopes (tiled)
    flux: Vec<f64>,
    slope: Vec<f64>,
    /// central-upwind weights of the first stage, per chunk [a⁺/Δa (L) | −a⁻/Δa (L) | a⁺a⁻/Δa (L)]
    face_w: Vec<f64>,
    /// per chunk: what its first stage leaves for its later stages
    carry: Vec<Carry>,
    /// kernel temporaries, one per hardware thread (slot = rayon thread index mod count; the
    /// mutex is uncontended unless a pool has more threads than slots)
    scratch: Vec<Mutex<Scratch>>,
    rate_reducer: ChunkReducer<f64>,
    count_reducer: ChunkReducer<LimiterCounts>,
    mix_old: Vec<f64>,
    mix_new: Vec<f64>,
    tracers: Tracers,
    /// ∫φ_i dV at the start (geometric measure, see [`HinderedField::class_volume`])
    initial_volumes: Vec<f64>,
    time: f64,
    stats: FieldStats,
    /// the implicit scheme's state ([`Scheme::Implicit`])
    implicit: Option<Box<Implicit>>,
    /// a consolidating implicit field with tracers: what the tracers feel at the start and
    /// end of the step ([`TracerClosure`]; empty otherwise)
    bed_cells_old: Vec<TestParticleCell>,
    bed_cells_new: Vec<TestParticleCell>,
    bed_gradient_old: Vec<f64>,
    bed_gradient_new: Vec<f64>,
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
            carry: (0..layout.chunks).map(|_| Carry::new(&layout)).collect(),
            scratch: (0..scratch_slots(layout.chunks))
                .map(|_| Mutex::new(Scratch::new(&layout)))
                .collect(),
            rate_reducer: ChunkReducer::new(layout.chunks, 0.0),
            count_reducer: ChunkReducer::new(layout.chunks, LimiterCounts::default()),
            mix_old: vec![0.0; 3 * layout.chunk * layout.chunks],
            mix_new: vec![0.0; 3 * layout.chunk * layout.chunks],
            stage_a: vec![0.0; storage],
            stage_b: vec![0.0; storage],
            flux: vec![0.0; storage],
            slope: vec![0.0; storage],
            face_w: vec![0.0; 3 * layout.chunk * layout.chunks],
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
                isa: Isa::Avx512,
            },
            config,
            classes,
            tracers,
            time: 0.0,
            stats: FieldStats {
                min_dt: f64::INFINITY,
                ..FieldStats::default()
            },
            implicit: None,
            bed_cells_old: Vec::new(),
            bed_cells_new: Vec::new(),
            bed_gradient_old: Vec::new(),
            bed_gradient_new: Vec::new(),
        };
        if field.config.numerics.scheme == Scheme::Implicit {
            field.implicit = Some(Box::new(Implicit::new(
                &field.config,
                &field.classes,
                &field.kernel.grid,
            )));
            if field.config.consolidation.is_some() && !field.tracers.is_empty() {
                field.bed_cells_old = vec![TestParticleCell::default(); cells];
                field.bed_cells_new = vec![TestParticleCell::default(); cells];
                field.bed_gradient_old = vec![0.0; cells + 1];
                field.bed_gradient_new = vec![0.0; cells + 1];
            }
        }
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
        if let Some(imp) = self.implicit.as_mut() {
            let total = self
                .kernel
                .grid
                .measure(self.kernel.grid.r_min, self.kernel.grid.r_max);
            let means: Vec<f64> = self.initial_volumes.iter().map(|v| v / total).collect();
            imp.set_scales(&means, self.config.numerics.implicit.coupling_threshold);
        }
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

    /// Statistics of the implicit scheme (`None` for the explicit scheme).
    pub fn implicit_stats(&self) -> Option<ImplicitStats> {
        self.implicit.as_ref().map(|imp| imp.stats)
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
    ///
    /// A step is two parallel passes over the chunks (SSP-RK3: three): the first stage's
    /// fluxes and wave speeds ([`Kernel::first_stage`], whose CFL rates fix Δt), then the rest
    /// of the step ([`Kernel::later_stages`]), which also leaves the tracer mixture of φⁿ⁺¹.
    /// The tracers' step n (which needs the mixtures of φⁿ and φⁿ⁺¹ and nothing else) runs
    /// concurrently with the first pass of step n + 1; every tracer step has been taken when
    /// this returns. The results do not depend on this overlap.
    fn advance_to(&mut self, t1: f64) -> Result<(), FieldError> {
        if self.implicit.is_some() {
            return self.advance_implicit(t1);
        }
        let cfl = self.config.numerics.cfl;
        let integrator = self.config.numerics.integrator;
        let track_mix = !self.tracers.is_empty();
        if track_mix {
            self.initial_mixture();
        }
        // tracer step of the previous field step: (Δt, ω² at its start, ω² at its end)
        let mut pending: Option<(f64, f64, f64)> = None;
        while self.time < t1 {
            let t = self.time;
            let t_end = self
                .config
                .rotor
                .next_knot_after(t)
                .map_or(t1, |k| k.min(t1));
            let w2_0 = omega_squared(&self.config.rotor, t);
            let rate = self.first_stage(w2_0, pending.take());
            let remaining = t_end - t;
            let mut dt = if rate > 0.0 { cfl / rate } else { remaining };
            let last = dt >= remaining * (1.0 - 1e-12);
            if last {
                dt = remaining;
            }
            if !rate.is_finite() || dt.is_nan() || dt <= 0.0 {
                return Err(FieldError::NonFinite {
                    time: t,
                    step: self.stats.steps,
                });
            }
            if !last {
                self.stats.min_dt = self.stats.min_dt.min(dt);
            }
            self.stats.max_dt = self.stats.max_dt.max(dt);
            let w2_dt = omega_squared(&self.config.rotor, t + dt);
            let counts = match integrator {
                TimeIntegrator::SspRk2 => {
                    // a = φⁿ + Δt L(φⁿ), φⁿ⁺¹ = ½φⁿ + ½(a + Δt L(a)).
                    let counts = self.later_stages(dt, w2_dt, 0.5, 0.5, track_mix);
                    std::mem::swap(&mut self.phi, &mut self.stage_b);
                    counts
                }
                TimeIntegrator::SspRk3 => {
                    // a = φⁿ + Δt L(φⁿ), b = ¾φⁿ + ¼(a + Δt L(a)), φⁿ⁺¹ = ⅓φⁿ + ⅔(b + Δt L(b)).
                    let counts = self.later_stages(dt, w2_dt, 0.75, 0.25, false);
                    let w2_half = omega_squared(&self.config.rotor, t + 0.5 * dt);
                    let counts = counts.merge(self.final_stage(dt, w2_half, track_mix));
                    std::mem::swap(&mut self.phi, &mut self.stage_a);
                    counts
                }
            };
            self.stats.limiters = self.stats.limiters.merge(counts);
            let t_next = if last { t_end } else { t + dt };
            if track_mix {
                pending = Some((dt, w2_0, omega_squared(&self.config.rotor, t_next)));
            }
            self.time = t_next;
            self.stats.steps += 1;
            self.stats.last_dt = dt;
        }
        if let Some(step) = pending {
            let Self {
                config,
                kernel,
                tracers,
                mix_old,
                mix_new,
                ..
            } = self;
            tracer_step(config, kernel, tracers, mix_old, mix_new, step, None);
        }
        Ok(())
    }

    /// [`Scheme::Implicit`]: adaptive backward-Euler steps of the whole column
    /// ([`crate::implicit`]), never across a rotor knot; after each step φ is copied into the
    /// tiled state and the tracers take their Heun step with the mixtures at both ends.
    fn advance_implicit(&mut self, t1: f64) -> Result<(), FieldError> {
        let track_mix = !self.tracers.is_empty();
        let lay = self.kernel.layout;
        let n = lay.classes;
        {
            let imp = self.implicit.as_mut().expect("implicit state");
            for cell in 0..lay.cells {
                for i in 0..n {
                    imp.col[cell * n + i] = self.phi[lay.index(i, cell)];
                }
            }
        }
        let bed = track_mix && !self.bed_cells_old.is_empty();
        // in a consolidating bed the tracers use the closures below, not the plain mixtures
        if track_mix && !bed {
            self.initial_mixture();
        }
        if bed {
            let imp = self.implicit.as_ref().expect("implicit state");
            imp.tracer_closure(
                &self.config,
                &self.kernel.grid,
                &mut self.bed_cells_old,
                &mut self.bed_gradient_old,
            );
        }
        while self.time < t1 {
            let t = self.time;
            let t_end = self
                .config
                .rotor
                .next_knot_after(t)
                .map_or(t1, |k| k.min(t1));
            let imp = self.implicit.as_mut().expect("implicit state");
            let Some((step, last)) = imp.step(&self.config, &self.kernel.grid, t, t_end) else {
                return Err(FieldError::NotConverged {
                    time: t,
                    step: self.stats.steps,
                });
            };
            for cell in 0..lay.cells {
                for i in 0..n {
                    self.phi[lay.index(i, cell)] = imp.col[cell * n + i];
                }
            }
            let dt = step.0;
            if !last {
                self.stats.min_dt = self.stats.min_dt.min(dt);
            }
            self.stats.max_dt = self.stats.max_dt.max(dt);
            self.stats.steps += 1;
            self.stats.last_dt = dt;
            self.time = if last { t_end } else { t + dt };
            if track_mix {
                if !bed {
                    self.mixture_into_new();
                }
                let Self {
                    config,
                    kernel,
                    tracers,
                    mix_old,
                    mix_new,
                    implicit,
                    bed_cells_old,
                    bed_cells_new,
                    bed_gradient_old,
                    bed_gradient_new,
                    ..
                } = self;
                if bed {
                    let imp = implicit.as_ref().expect("implicit state");
                    imp.tracer_closure(config, &kernel.grid, bed_cells_new, bed_gradient_new);
                    let closure = TracerClosure {
                        cells_old: bed_cells_old,
                        cells_new: bed_cells_new,
                        gradient_old: bed_gradient_old,
                        gradient_new: bed_gradient_new,
                    };
                    tracer_step(
                        config,
                        kernel,
                        tracers,
                        mix_old,
                        mix_new,
                        step,
                        Some(closure),
                    );
                    std::mem::swap(bed_cells_old, bed_cells_new);
                    std::mem::swap(bed_gradient_old, bed_gradient_new);
                } else {
                    tracer_step(config, kernel, tracers, mix_old, mix_new, step, None);
                }
            }
        }
        Ok(())
    }

    /// The tracer mixture of φ into `mix_new`.
    fn mixture_into_new(&mut self) {
        let Self {
            kernel,
            phi,
            scratch,
            mix_new,
            ..
        } = self;
        let lay = kernel.layout;
        let (kernel, phi): (&Kernel, &[f64]) = (kernel, phi);
        mix_new
            .par_chunks_mut(3 * lay.chunk)
            .enumerate()
            .for_each(|(c, mb)| {
                with_scratch(scratch, None, |scr| kernel.chunk_mixture(c, phi, mb, scr));
            });
    }

    /// The tracer mixture of φ into `mix_old`.
    fn initial_mixture(&mut self) {
        let Self {
            kernel,
            phi,
            scratch,
            mix_old,
            ..
        } = self;
        let lay = kernel.layout;
        let (kernel, phi): (&Kernel, &[f64]) = (kernel, phi);
        mix_old
            .par_chunks_mut(3 * lay.chunk)
            .enumerate()
            .for_each(|(c, mb)| {
                with_scratch(scratch, None, |scr| kernel.chunk_mixture(c, phi, mb, scr));
            });
    }

    /// [`Kernel::first_stage`] on every chunk of φⁿ; returns the largest CFL rate
    /// (NaN-propagating, folded in chunk order). A `pending` tracer step runs alongside
    /// (`rayon::join`); afterwards `mix_old` holds the mixture of φⁿ.
    fn first_stage(&mut self, w2: f64, pending: Option<(f64, f64, f64)>) -> f64 {
        let Self {
            config,
            kernel,
            phi,
            flux,
            slope,
            face_w,
            carry,
            scratch,
            rate_reducer,
            tracers,
            mix_old,
            mix_new,
            ..
        } = self;
        let kernel: &Kernel = kernel;
        let lay = kernel.layout;
        let state: &[f64] = phi;
        let scratch: &[Mutex<Scratch>] = scratch;
        let mut fluxes = || {
            let merge = |a: f64, b: f64| {
                if a.is_nan() || b.is_nan() {
                    f64::NAN
                } else {
                    a.max(b)
                }
            };
            rate_reducer.map_reduce(
                flux.par_chunks_mut(lay.block())
                    .zip(slope.par_chunks_mut(lay.block()))
                    .zip(face_w.par_chunks_mut(3 * lay.chunk))
                    .zip(carry.par_iter_mut())
                    .enumerate(),
                |(c, (((fb, sb), wb), cy))| {
                    with_scratch(scratch, Some(cy), |scr| {
                        kernel.first_stage(c, state, w2, fb, sb, wb, scr)
                    })
                },
                0.0,
                merge,
            )
        };
        match pending {
            Some(step) => {
                let (rate, ()) = rayon::join(fluxes, || {
                    tracer_step(config, kernel, tracers, mix_old, mix_new, step, None);
                });
                rate
            }
            None => fluxes(),
        }
    }

    /// [`Kernel::later_stages`] on every chunk: `stage_b = alpha·φⁿ + beta·(a + Δt L(a))`,
    /// a = φⁿ + Δt L(φⁿ); with `track_mix` the tracer mixture of the result goes to `mix_new`.
    fn later_stages(
        &mut self,
        dt: f64,
        w2: f64,
        alpha: f64,
        beta: f64,
        track_mix: bool,
    ) -> LimiterCounts {
        let Self {
            kernel,
            phi,
            stage_b,
            flux,
            slope,
            face_w,
            carry,
            scratch,
            mix_new,
            count_reducer,
            ..
        } = self;
        let lay = kernel.layout;
        let (phi, flux, slope, face_w): (&[f64], &[f64], &[f64], &[f64]) =
            (phi, flux, slope, face_w);
        let scratch: &[Mutex<Scratch>] = scratch;
        let items = stage_b
            .par_chunks_mut(lay.block())
            .zip(carry.par_iter_mut())
            .zip(mix_new.par_chunks_mut(3 * lay.chunk))
            .enumerate();
        count_reducer.map_reduce(
            items,
            |(c, ((blk, cy), mb))| {
                let mix = if track_mix { Some(mb) } else { None };
                with_scratch(scratch, Some(cy), |scr| {
                    kernel.later_stages(
                        c, phi, flux, slope, face_w, dt, w2, alpha, beta, blk, mix, scr,
                    )
                })
            },
            LimiterCounts::default(),
            LimiterCounts::merge,
        )
    }

    /// [`Kernel::final_stage`] on every chunk (SSP-RK3):
    /// `stage_a = ⅓φⁿ + ⅔(b + Δt L(b))`, b = `stage_b`.
    fn final_stage(&mut self, dt: f64, w2: f64, track_mix: bool) -> LimiterCounts {
        let Self {
            kernel,
            phi,
            stage_a,
            stage_b,
            face_w,
            scratch,
            mix_new,
            count_reducer,
            ..
        } = self;
        let lay = kernel.layout;
        let (phi, stage_b, face_w): (&[f64], &[f64], &[f64]) = (phi, stage_b, face_w);
        let scratch: &[Mutex<Scratch>] = scratch;
        let items = stage_a
            .par_chunks_mut(lay.block())
            .zip(mix_new.par_chunks_mut(3 * lay.chunk))
            .enumerate();
        count_reducer.map_reduce(
            items,
            |(c, (blk, mb))| {
                let mix = if track_mix { Some(mb) } else { None };
                with_scratch(scratch, None, |scr| {
                    kernel.final_stage(
                        c,
                        phi,
                        stage_b,
                        face_w,
                        dt,
                        w2,
                        1.0 / 3.0,
                        2.0 / 3.0,
                        blk,
                        mix,
                        scr,
                    )
                })
            },
            LimiterCounts::default(),
            LimiterCounts::merge,
        )
    }
}

/// Scratch slots for `chunks` chunks: one per hardware thread of the machine, at most one per
/// chunk. (Allocated once, by [`HinderedField::new`], whatever pool later runs the field: a
/// pool with more threads than the machine has shares slots between threads, correctly but
/// with some waiting.)
fn scratch_slots(chunks: usize) -> usize {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    threads.min(chunks).max(1)
}

/// Runs `f` with the scratch slot of the current rayon thread, with the chunk's `carry` (if
/// any) exchanged in for the call ([`Scratch::exchange`]). Which slot a chunk gets does not
/// matter: the kernel reads only scratch data it wrote in the same call or finds in the carry.
fn with_scratch<R>(
    scratch: &[Mutex<Scratch>],
    carry: Option<&mut Carry>,
    f: impl FnOnce(&mut Scratch) -> R,
) -> R {
    let slot = rayon::current_thread_index().unwrap_or(0) % scratch.len();
    let mut s = scratch[slot].lock().unwrap_or_else(PoisonError::into_inner);
    match carry {
        Some(carry) => {
            s.exchange(carry);
            let r = f(&mut s);
            s.exchange(carry);
            r
        }
        None => f(&mut s),
    }
}

/// Advances every tracer over the field step `(Δt, ω² at its start, ω² at its end)` with the
/// mixtures `mix_old` (start) and `mix_new` (end), then swaps them: `mix_old` holds the mixture
/// at the end of the step and `mix_new` is free for the next.
fn tracer_step(
    config: &FieldConfig,
    kernel: &Kernel,
    tracers: &mut Tracers,
    mix_old: &mut Vec<f64>,
    mix_new: &mut Vec<f64>,
    (dt, w2_0, w2_1): (f64, f64, f64),
    closure: Option<TracerClosure<'_>>,
) {
    let env = TracerEnv {
        geometry: config.geometry,
        gravity: config.gravity,
        fluid_density: config.fluid.density,
        r_min: kernel.grid.r_min,
        r_max: kernel.grid.r_max,
        centre0: kernel.grid.centres[0],
        dr: kernel.grid.dr,
        cells: kernel.layout.cells,
        accel_radius: &kernel.grid.accel_radius,
        mix_old,
        mix_new,
        closure,
    };
    advance_tracers(tracers, &env, dt, w2_0, w2_1, TRACER_CHUNK);
    std::mem::swap(mix_old, mix_new);
}

/// Tracers per parallel work item (each tracer moves independently, so the results do not
/// depend on it).
const TRACER_CHUNK: usize = 256;

/// ω(t)² (rad²/s²).
#[inline]
fn omega_squared(rotor: &RotorProfile, t: f64) -> f64 {
    let w = rotor.omega(t);
    w * w
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FieldGeometry;
    use crate::tracers::TracerCell;
    use buffycoat_physics::fluid::Fluid;
    use buffycoat_physics::hindrance::HindranceLaw;

    /// A coarse blood tube with strongly aggregated red cells (both limiters act within 30 s)
    /// and a few tracers.
    fn field(cells: usize, chunk: usize, integrator: TimeIntegrator) -> HinderedField {
        let rotor = RotorProfile::trapezoid(3000.0, 2.0, 1e4, 0.0).unwrap();
        let law = HindranceLaw::richardson_zaki(4.65, 0.9).unwrap();
        let mut config = FieldConfig::new(
            FieldGeometry::Tube,
            0.10,
            0.16,
            cells,
            rotor,
            Fluid::plasma_37c(),
            law,
        );
        config.gravity = Some(9.81);
        config.numerics.cells_per_chunk = chunk;
        config.numerics.integrator = integrator;
        let mut rbc = Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.5);
        rbc.aggregate_cells = 200.0;
        let classes = vec![
            rbc,
            Class::new("platelet", 2.4e-6, 1070.0, 1.04, 0.002),
            Class::new("neutrophil", 9.6e-6, 1085.0, 1.0, 0.002),
        ];
        let tracers: Vec<TracerCell> = (0..7)
            .map(|k| TracerCell {
                species: 0,
                diameter: 6e-6 + 1e-6 * f64::from(k),
                density: 1080.0,
                shape_factor: 1.0,
                aggregate_cells: 1.0,
                radial: 0.10 + 0.008 * f64::from(k),
                y: 0.0,
                z: 0.0,
            })
            .collect();
        HinderedField::new(config, classes, Tracers::from_cells(&tracers)).unwrap()
    }

    /// The entry points compiled for AVX-512F, AVX2 (where the CPU has them) and the portable
    /// code give bitwise identical fields, tracers, step counts and limiter counts, for
    /// SSP-RK2 and SSP-RK3, Richardson–Zaki and Hawksley–Vand, chunk lengths 5 and 37.
    #[test]
    fn instruction_sets_give_bitwise_identical_results() {
        let par = Parallel::new(Some(2), 64).unwrap();
        for integrator in [TimeIntegrator::SspRk2, TimeIntegrator::SspRk3] {
            for hawksley in [false, true] {
                for chunk in [5, 37] {
                    let mut reference: Option<(Vec<u64>, u64, LimiterCounts)> = None;
                    for isa in [Isa::Portable, Isa::Avx2, Isa::Avx512] {
                        let mut f = field(37, chunk, integrator);
                        if hawksley {
                            f.kernel.law = HindranceLaw::hawksley_vand(0.9).unwrap();
                            f.kernel.phi_max = f.kernel.law.max_packing();
                        }
                        f.kernel.isa = isa;
                        f.advance(0.0, 0.7, &par).unwrap();
                        f.advance(0.7, 30.0, &par).unwrap();
                        let bits: Vec<u64> = (0..f.radial_cells())
                            .flat_map(|c| (0..3).map(move |i| (c, i)))
                            .map(|(c, i)| f.volume_fraction(i, c).to_bits())
                            .chain(f.tracers().radial.iter().map(|r| r.to_bits()))
                            .collect();
                        let got = (bits, f.step_count(), f.stats().limiters);
                        match &reference {
                            None => reference = Some(got),
                            Some(want) => assert!(
                                *want == got,
                                "{isa:?}, {integrator:?}, Hawksley–Vand {hawksley}, chunk {chunk}"
                            ),
                        }
                    }
                }
            }
        }
    }

    /// Chunks of 1, 2, 3, 5, 16 and all 37 cells give bitwise identical fields, tracers and
    /// step counts (the halo cells a chunk recomputes equal its neighbours' own values), for
    /// SSP-RK2 and SSP-RK3, on 1 and 2 threads.
    #[test]
    fn results_do_not_depend_on_the_chunk_length() {
        for integrator in [TimeIntegrator::SspRk2, TimeIntegrator::SspRk3] {
            let mut reference: Option<(Vec<u64>, u64)> = None;
            for (chunk, threads) in [(37, 1), (1, 2), (2, 1), (3, 2), (5, 1), (16, 2)] {
                let par = Parallel::new(Some(threads), 64).unwrap();
                let mut f = field(37, chunk, integrator);
                f.advance(0.0, 0.7, &par).unwrap();
                f.advance(0.7, 30.0, &par).unwrap();
                let bits: Vec<u64> = (0..f.radial_cells())
                    .flat_map(|c| (0..3).map(move |i| (c, i)))
                    .map(|(c, i)| f.volume_fraction(i, c).to_bits())
                    .chain(f.tracers().radial.iter().map(|r| r.to_bits()))
                    .collect();
                assert!(f.max_volume_drift() < 1e-13);
                match &reference {
                    None => reference = Some((bits, f.step_count())),
                    Some((want, steps)) => {
                        assert_eq!(*steps, f.step_count(), "chunk {chunk}");
                        assert!(*want == bits, "chunk {chunk}, {integrator:?}");
                    }
                }
            }
        }
    }
}
