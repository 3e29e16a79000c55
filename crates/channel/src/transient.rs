//! Transient mode: start-up and interface build-up in the 2-D channel.
//!
//! ## Equations
//! ∂φ_i/∂t + w(r) ∂φ_i/∂s + ∂(φ_i u_i)/∂r = 0 on the (along × ξ) grid of the steady solver:
//! columns k = 1 … K of length Δs = L/K, ξ-cells j of physical width Δr_j, each carrying the
//! volume flux w_j Δr_j h = w̄ Δξ h. Finite volumes per cell:
//!
//! Δr_j dφ_{k,j}/dt = −(w̄Δξ/Δs)(φ_{k,j} − φ_{k−1,j}) − (F_{k,j+½} − F_{k,j−½}),
//!
//! first-order upwind along s (φ_{0,j} = the inlet), the radial flux F of the implicit steady
//! solver ([`buffycoat_field::column`]) with a = ω(t)² r.
//!
//! ## Scheme
//! Operator splitting per step Δt: the along-channel advection explicitly,
//! φ* = (1 − μ_j) φⁿ_{k,j} + μ_j φⁿ_{k−1,j}, μ_j = w_j Δt/Δs ≤ 1 (a convex combination, so
//! φ* keeps φ ≥ 0 and Σφ ≤ φ_max); then the radial transport by backward Euler on every
//! column, Δr_j(φⁿ⁺¹ − φ*) + Δt ΔF(φⁿ⁺¹) = 0, solved by the same Newton solver as the steady
//! march (bounds kept for any Δt). Δt = `courant` · Δs / max_j w_j, optionally capped by
//! `max_step` (e.g. the radial CFL time for a time-accurate interface build-up), and shortened
//! to land on the output times.
//!
//! **Steady limit.** At a fixed point φⁿ⁺¹ = φⁿ the two stages combine to
//! w̄Δξ(φ_k − φ_{k−1})/Δs + ΔF(φ_k) = 0, i.e. Δξ(φ_k − φ_{k−1}) + Δτ ΔF(φ_k) = 0 with
//! Δτ = Δs/w̄: exactly the backward-Euler march of the implicit steady solver. So the
//! long-time limit of the transient equals the implicit steady solution on the same grid (to
//! the Newton tolerance and the distance from the fixed point). For plug flow with
//! `courant` = 1 the advection stage is an exact shift and the transient reproduces the
//! steady march exactly once the front has crossed the channel (K steps).
//!
//! ## Parallelism
//! Columns are independent within each stage; they are processed in parallel in chunks of a
//! fixed number of columns, each chunk with its own preallocated Newton workspace, so results
//! are bitwise identical for any number of threads. No allocation inside the time loop.

use rayon::prelude::*;

use buffycoat_physics::rotor::RotorProfile;
use buffycoat_stepper::{Checkpoint, Parallel, Propagate, StateError, StateReader, StateWriter};

use crate::channel::Channel;
use crate::error::{ChannelError, invalid};
use crate::solution::{CellRoles, SpeciesReport, species_report};
use buffycoat_field::column::{ColumnSolver, ColumnStep, Compression, NewtonStats};

/// What fills the channel at t = 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialFill {
    /// primed with cell-free fluid (saline/plasma): φ = 0
    #[default]
    CellFree,
    /// full of unseparated inlet blood: φ = φ_in everywhere
    InletBlood,
}

/// Settings of a transient run.
#[derive(Debug, Clone, PartialEq)]
pub struct TransientSettings {
    /// simulated time (s), > 0
    pub duration: f64,
    /// interval of the port-fraction outputs (s), > 0
    pub output_interval: f64,
    /// Courant number of the along-channel advection, Δt = courant · Δs/max_j w_j, in (0, 1]
    /// (default 1: an exact shift for plug flow)
    pub courant: f64,
    /// initial fill
    pub initial: InitialFill,
    /// optional cap on Δt (s)
    pub max_step: Option<f64>,
    /// columns per parallel chunk (fixed; default 8)
    pub columns_per_chunk: usize,
    /// rotor speed history ω(t) (`None`: the constant `rotor.rpm` of the configuration); the
    /// radial step uses ω at the end of each step (backward Euler)
    pub rotor: Option<RotorProfile>,
}

impl TransientSettings {
    /// `duration` observed every `output_interval`, Courant 1, cell-free start, constant rpm.
    pub fn new(duration: f64, output_interval: f64) -> Self {
        Self {
            duration,
            output_interval,
            courant: 1.0,
            initial: InitialFill::CellFree,
            max_step: None,
            columns_per_chunk: 8,
            rotor: None,
        }
    }

    fn validate(&self) -> Result<(), ChannelError> {
        if !(self.duration.is_finite() && self.duration > 0.0) {
            return Err(invalid("run.duration_s", self.duration, "finite and > 0"));
        }
        if !(self.output_interval.is_finite() && self.output_interval > 0.0) {
            return Err(invalid(
                "run.output_interval_s",
                self.output_interval,
                "finite and > 0",
            ));
        }
        if !(self.courant.is_finite() && self.courant > 0.0 && self.courant <= 1.0) {
            return Err(invalid(
                "transient.courant",
                self.courant,
                "0 < courant <= 1",
            ));
        }
        if let Some(m) = self.max_step
            && !(m.is_finite() && m > 0.0)
        {
            return Err(invalid("transient.max_step_s", m, "finite and > 0"));
        }
        if self.columns_per_chunk == 0 {
            return Err(invalid("transient.columns_per_chunk", 0.0, ">= 1"));
        }
        Ok(())
    }
}

/// Statistics of a transient run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TransientStats {
    /// time steps
    pub steps: u64,
    /// the nominal time step (s)
    pub nominal_dt: f64,
    /// Newton statistics summed over all column solves (in chunk order)
    pub newton: NewtonStats,
}

/// Port fractions over time and the final 2-D field.
#[derive(Debug, Clone)]
pub struct TransientSolution {
    /// output times (s), from 0
    pub times: Vec<f64>,
    /// per output time, per class: the share of the *current* inflow of the class leaving
    /// through [plasma, collect, red cells] (∫_band φ_i(L, ξ, t) dξ / (φ_in,i δ)); during
    /// start-up the three add up to less than 1 (cells still filling the channel) or more
    /// (a channel primed with blood emptying)
    pub class_ports: Vec<Vec<[f64; 3]>>,
    /// the field at the end, φ\[k\]\[j\]\[i\] flattened as (k·J + j)·N + i for the K columns
    /// (column k is the along-channel cell (k, k + 1)·Δs)
    pub field: Vec<f64>,
    /// statistics
    pub stats: TransientStats,
    species_context: SpeciesContext,
}

#[derive(Debug, Clone)]
struct SpeciesContext {
    classes: Vec<buffycoat_field::Class>,
    inlet: Vec<f64>,
    dilution: f64,
    port_flows: [f64; 3],
    inflow: f64,
}

impl TransientSolution {
    /// Per-species port results at output `m` (fractions of the current inflow; see
    /// [`TransientSolution::class_ports`]).
    ///
    /// # Errors
    /// As [`crate::ChannelSolution::species_report`].
    pub fn species_report(
        &self,
        m: usize,
        roles: &CellRoles,
    ) -> Result<SpeciesReport, ChannelError> {
        let c = &self.species_context;
        species_report(
            &c.classes,
            &c.inlet,
            c.dilution,
            &self.class_ports[m],
            c.port_flows,
            c.inflow,
            roles,
        )
    }
}

impl Channel {
    /// Runs the transient (see the module documentation) inside `par`.
    ///
    /// # Errors
    /// Invalid settings; [`ChannelError::NotConverged`] if a column solve fails (the
    /// `station` is the time step).
    pub fn solve_transient(
        &self,
        settings: &TransientSettings,
        par: &Parallel,
    ) -> Result<TransientSolution, ChannelError> {
        let mut run = self.transient_run(settings)?;
        for m in 1..=run.intervals() {
            run.advance_interval(m, par)?;
        }
        Ok(run.finish())
    }

    /// The transient as a resumable stepper ([`TransientRun`]): output interval by output
    /// interval ([`Propagate`], on the [`TransientRun::schedule`]), with its whole evolving
    /// state saved and restored by [`Checkpoint`]. Running all its intervals and calling
    /// [`TransientRun::finish`] is [`Channel::solve_transient`].
    ///
    /// # Errors
    /// Invalid settings.
    pub fn transient_run(
        &self,
        settings: &TransientSettings,
    ) -> Result<TransientRun<'_>, ChannelError> {
        settings.validate()?;
        if self.config.profile == crate::config::FlowProfile::Viscous {
            return Err(ChannelError::Inconsistent(
                "the transient channel supports flow.profile = \"plug\" or \"laminar\"; \
                 flow.profile = \"viscous\" is steady-only"
                    .into(),
            ));
        }
        // bed consolidation: the same closure as the steady march, on the grid's fixed map
        let conductance = crate::flow::StationFlow::new(&self.config, &self.grid)
            .conductance()
            .to_vec();
        let n = self.classes.len();
        let grid = &self.grid;
        let j_cells = grid.radial_cells();
        let k_cells = grid.along_cells();
        let stride = j_cells * n;
        let w_mean = self.config.mean_velocity();
        let ds = self.config.geometry.length / k_cells as f64;
        // per-cell along velocity w_j = w̄ Δξ/Δr_j and measure Δr_j
        let measure: Vec<f64> = grid.cell_width.clone();
        let w_cell: Vec<f64> = measure.iter().map(|&dr| w_mean * grid.dxi / dr).collect();
        let w_max = w_cell.iter().fold(0.0f64, |a, &b| a.max(b));
        let mut dt_nominal = settings.courant * ds / w_max;
        if let Some(m) = settings.max_step {
            dt_nominal = dt_nominal.min(m);
        }
        let inlet_column = self.inlet_column();
        let state = match settings.initial {
            InitialFill::CellFree => vec![0.0; k_cells * stride],
            InitialFill::InletBlood => inlet_column.repeat(k_cells),
        };
        let star = vec![0.0; k_cells * stride];
        let chunk_cols = settings.columns_per_chunk.min(k_cells);
        let chunks = k_cells.div_ceil(chunk_cols);
        let solvers: Vec<ColumnSolver> =
            (0..chunks).map(|_| ColumnSolver::new(j_cells, n)).collect();
        let failures: Vec<Option<(f64, usize)>> = vec![None; chunks];
        let accel = self.accel.clone();
        let intervals = {
            let ratio = settings.duration / settings.output_interval;
            let r = ratio.round();
            if (ratio - r).abs() <= 1e-9 * ratio.max(1.0) {
                r as usize
            } else {
                ratio.ceil() as usize
            }
        }
        .max(1);
        let mut times = Vec::with_capacity(intervals + 1);
        let mut class_ports = Vec::with_capacity(intervals + 1);
        times.push(0.0);
        class_ports.push(self.port_fractions(&state[(k_cells - 1) * stride..]));
        Ok(TransientRun {
            channel: self,
            settings: settings.clone(),
            n,
            stride,
            k_cells,
            ds,
            measure,
            w_cell,
            dt_nominal,
            inlet_column,
            state,
            star,
            chunk_cols,
            solvers,
            failures,
            accel,
            conductance,
            intervals,
            times,
            class_ports,
            steps: 0,
            t: 0.0,
        })
    }
}

/// A transient run in progress (see [`Channel::transient_run`]).
#[derive(Debug)]
pub struct TransientRun<'c> {
    channel: &'c Channel,
    settings: TransientSettings,
    n: usize,
    stride: usize,
    k_cells: usize,
    ds: f64,
    measure: Vec<f64>,
    w_cell: Vec<f64>,
    dt_nominal: f64,
    inlet_column: Vec<f64>,
    // evolving state (saved by `Checkpoint`)
    state: Vec<f64>,
    solvers: Vec<ColumnSolver>,
    accel: Vec<f64>,
    /// 1/Δr between the cell centres (consolidation)
    conductance: Vec<f64>,
    times: Vec<f64>,
    class_ports: Vec<Vec<[f64; 3]>>,
    steps: u64,
    t: f64,
    // scratch
    star: Vec<f64>,
    chunk_cols: usize,
    failures: Vec<Option<(f64, usize)>>,
    intervals: usize,
}

impl TransientRun<'_> {
    /// Number of output intervals.
    pub fn intervals(&self) -> usize {
        self.intervals
    }

    /// The output times as a stepper schedule (the same times as [`TransientSolution::times`]).
    ///
    /// # Errors
    /// Never for validated settings.
    pub fn schedule(&self) -> Result<buffycoat_stepper::Schedule, buffycoat_stepper::StepperError> {
        buffycoat_stepper::Schedule::new(self.settings.duration, self.settings.output_interval)
    }

    /// Simulated time reached (s).
    pub fn time(&self) -> f64 {
        self.t
    }

    /// Output intervals done.
    pub fn intervals_done(&self) -> usize {
        self.times.len() - 1
    }

    /// Advances through output interval `m` (1-based; must be the next one) inside `par`.
    ///
    /// # Errors
    /// [`ChannelError::NotConverged`] if a column solve fails; [`ChannelError::Inconsistent`]
    /// if `m` is not the next interval.
    pub fn advance_interval(&mut self, m: usize, par: &Parallel) -> Result<(), ChannelError> {
        if m != self.times.len() || m > self.intervals {
            return Err(ChannelError::Inconsistent(format!(
                "transient interval {m} requested, the next one is {} of {}",
                self.times.len(),
                self.intervals
            )));
        }
        let t_out = if m == self.intervals {
            self.settings.duration
        } else {
            m as f64 * self.settings.output_interval
        };
        // The whole interval runs inside the pool, so rayon queues the column work on its
        // workers' deques (no injection, no allocation per step).
        par.install(|| self.run_until(t_out))?;
        let k_cells = self.k_cells;
        let stride = self.stride;
        self.times.push(t_out);
        let ports = self
            .channel
            .port_fractions(&self.state[(k_cells - 1) * stride..]);
        self.class_ports.push(ports);
        Ok(())
    }

    fn run_until(&mut self, t_out: f64) -> Result<(), ChannelError> {
        let channel = self.channel;
        let grid = &channel.grid;
        let n = self.n;
        let stride = self.stride;
        let chunk_cols = self.chunk_cols;
        let ds = self.ds;
        let dt_nominal = self.dt_nominal;
        let mut t = self.t;
        while t < t_out {
            let remaining = t_out - t;
            let dt = if dt_nominal >= remaining * (1.0 - 1e-12) {
                remaining
            } else {
                dt_nominal
            };
            let t_next = if dt == remaining { t_out } else { t + dt };
            if let Some(rotor) = &self.settings.rotor {
                let w = rotor.omega(t_next);
                for (a, r) in self.accel.iter_mut().zip(&grid.r_faces) {
                    *a = w * w * r;
                }
            }
            let step = ColumnStep {
                accel: &self.accel,
                compression: channel.config.consolidation.map(|c| Compression {
                    stress: c.stress,
                    conductance: &self.conductance,
                    preconsolidation: None,
                    held_branch: None,
                }),
                ..channel.column_step(&self.measure)
            };
            // Stage 1: along-channel advection into `star` (reads `state`).
            let coef = dt / ds;
            let state_ref = &self.state;
            let inlet_ref = &self.inlet_column;
            let w_ref = &self.w_cell;
            {
                self.star
                    .par_chunks_mut(chunk_cols * stride)
                    .enumerate()
                    .for_each(|(c, blk)| {
                        for (local, col) in blk.chunks_exact_mut(stride).enumerate() {
                            let k = c * chunk_cols + local;
                            let own = &state_ref[k * stride..(k + 1) * stride];
                            let up = if k == 0 {
                                &inlet_ref[..]
                            } else {
                                &state_ref[(k - 1) * stride..k * stride]
                            };
                            for (j, &w) in w_ref.iter().enumerate() {
                                let mu = w * coef;
                                for q in j * n..(j + 1) * n {
                                    col[q] = (1.0 - mu) * own[q] + mu * up[q];
                                }
                            }
                        }
                    });
            }
            // Stage 2: radial backward Euler per column, in place (guess: old state).
            let star_ref = &self.star;
            let step_ref = &step;
            {
                self.state
                    .par_chunks_mut(chunk_cols * stride)
                    .zip(self.solvers.par_iter_mut())
                    .zip(self.failures.par_iter_mut())
                    .enumerate()
                    .for_each(|(c, ((blk, solver), fail))| {
                        for (local, col) in blk.chunks_exact_mut(stride).enumerate() {
                            let k = c * chunk_cols + local;
                            let s = &star_ref[k * stride..(k + 1) * stride];
                            if let Err(f) = solver.step(step_ref, s, col, dt)
                                && fail.is_none()
                            {
                                *fail = Some((f.residual, f.iterations));
                            }
                        }
                    });
            }
            self.steps += 1;
            if let Some((residual, iterations)) = self.failures.iter().flatten().next().copied() {
                return Err(ChannelError::NotConverged {
                    station: self.steps as usize,
                    tau: t_next,
                    residual,
                    iterations,
                });
            }
            t = t_next;
            self.t = t;
        }
        Ok(())
    }

    /// The solution: port fractions at every output time so far and the field reached.
    pub fn finish(self) -> TransientSolution {
        let newton = self
            .solvers
            .iter()
            .fold(NewtonStats::default(), |acc, s| acc.merge(s.stats));
        let ch = self.channel;
        TransientSolution {
            times: self.times,
            class_ports: self.class_ports,
            field: self.state,
            stats: TransientStats {
                steps: self.steps,
                nominal_dt: self.dt_nominal,
                newton,
            },
            species_context: SpeciesContext {
                classes: ch.classes.clone(),
                inlet: ch.inlet.clone(),
                dilution: ch.config.flows.dilution(),
                port_flows: ch.config.flows.port_flows(),
                inflow: ch.config.flows.channel_inflow(),
            },
        }
    }
}

impl Propagate for TransientRun<'_> {
    type Error = ChannelError;

    /// Advances through the output interval that ends at `t1` (the next one of
    /// [`TransientRun::schedule`]).
    fn advance(&mut self, _t0: f64, _t1: f64, par: &Parallel) -> Result<(), ChannelError> {
        let m = self.times.len();
        self.advance_interval(m, par)
    }

    fn step_count(&self) -> u64 {
        self.steps
    }
}

impl Checkpoint for TransientRun<'_> {
    /// The field, the column solvers (their reused Jacobians included), the rotor term, the
    /// time, the step count and the port fractions of every output so far.
    fn save_state(&self, w: &mut StateWriter) {
        w.tag("channel_transient");
        w.f64(self.t);
        w.u64(self.steps);
        w.f64s(&self.state);
        w.f64s(&self.accel);
        w.f64s(&self.times);
        for ports in &self.class_ports {
            w.f64s(ports.as_flattened());
        }
        for s in &self.solvers {
            s.save_state(w);
        }
    }

    fn restore_state(&mut self, r: &mut StateReader<'_>) -> Result<(), StateError> {
        r.tag("channel_transient")?;
        self.t = r.f64()?;
        self.steps = r.u64()?;
        r.f64s_into("channel field", &mut self.state)?;
        r.f64s_into("channel acceleration", &mut self.accel)?;
        let n = r.u64()?;
        if n == 0 || n > self.intervals as u64 + 1 {
            return Err(StateError(format!(
                "{n} output times saved, this run has {}",
                self.intervals + 1
            )));
        }
        let mut times = vec![0.0; n as usize];
        for t in &mut times {
            *t = r.f64()?;
        }
        let classes = self.n;
        let mut class_ports = Vec::with_capacity(self.intervals + 1);
        for _ in 0..n {
            let mut ports = vec![[0.0; 3]; classes];
            r.f64s_into("port fractions", ports.as_flattened_mut())?;
            class_ports.push(ports);
        }
        for s in &mut self.solvers {
            s.restore_state(r)?;
        }
        self.times = times;
        self.class_ports = class_ports;
        Ok(())
    }
}
