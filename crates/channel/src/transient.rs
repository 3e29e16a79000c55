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
use buffycoat_stepper::Parallel;

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
        settings.validate()?;
        if self.config.profile == crate::config::FlowProfile::Viscous {
            return Err(ChannelError::Inconsistent(
                "the transient channel supports flow.profile = \"plug\" or \"laminar\"; \
                 flow.profile = \"viscous\" is steady-only"
                    .into(),
            ));
        }
        // bed consolidation: the same closure as the steady march, on the grid's fixed map
        let flow = crate::flow::StationFlow::new(&self.config, &self.grid);
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
        let mut state = match settings.initial {
            InitialFill::CellFree => vec![0.0; k_cells * stride],
            InitialFill::InletBlood => inlet_column.repeat(k_cells),
        };
        let mut star = vec![0.0; k_cells * stride];
        let chunk_cols = settings.columns_per_chunk.min(k_cells);
        let chunks = k_cells.div_ceil(chunk_cols);
        let mut solvers: Vec<ColumnSolver> =
            (0..chunks).map(|_| ColumnSolver::new(j_cells, n)).collect();
        let mut failures: Vec<Option<(f64, usize)>> = vec![None; chunks];
        let mut accel = self.accel.clone();
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
        let mut steps = 0u64;
        // The whole time loop runs inside the pool, so rayon queues the column work on its
        // workers' deques (no injection, no allocation per step).
        par.install(|| -> Result<(), ChannelError> {
            let mut t = 0.0f64;
            for m in 1..=intervals {
                let t_out = if m == intervals {
                    settings.duration
                } else {
                    m as f64 * settings.output_interval
                };
                while t < t_out {
                    let remaining = t_out - t;
                    let dt = if dt_nominal >= remaining * (1.0 - 1e-12) {
                        remaining
                    } else {
                        dt_nominal
                    };
                    let t_next = if dt == remaining { t_out } else { t + dt };
                    if let Some(rotor) = &settings.rotor {
                        let w = rotor.omega(t_next);
                        for (a, r) in accel.iter_mut().zip(&grid.r_faces) {
                            *a = w * w * r;
                        }
                    }
                    let step = ColumnStep {
                        accel: &accel,
                        compression: self.config.consolidation.map(|c| Compression {
                            stress: c.stress,
                            conductance: flow.conductance(),
                            preconsolidation: None,
                        }),
                        ..self.column_step(&measure)
                    };
                    // Stage 1: along-channel advection into `star` (reads `state`).
                    let coef = dt / ds;
                    let state_ref = &state;
                    let inlet_ref = &inlet_column;
                    let w_ref = &w_cell;
                    {
                        star.par_chunks_mut(chunk_cols * stride)
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
                    let star_ref = &star;
                    let step_ref = &step;
                    {
                        state
                            .par_chunks_mut(chunk_cols * stride)
                            .zip(solvers.par_iter_mut())
                            .zip(failures.par_iter_mut())
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
                    steps += 1;
                    if let Some((residual, iterations)) = failures.iter().flatten().next().copied()
                    {
                        return Err(ChannelError::NotConverged {
                            station: steps as usize,
                            tau: t_next,
                            residual,
                            iterations,
                        });
                    }
                    t = t_next;
                }
                times.push(t_out);
                class_ports.push(self.port_fractions(&state[(k_cells - 1) * stride..]));
            }
            Ok(())
        })?;
        let newton = solvers
            .iter()
            .fold(NewtonStats::default(), |acc, s| acc.merge(s.stats));
        Ok(TransientSolution {
            times,
            class_ports,
            field: state,
            stats: TransientStats {
                steps,
                nominal_dt: dt_nominal,
                newton,
            },
            species_context: SpeciesContext {
                classes: self.classes.clone(),
                inlet: self.inlet.clone(),
                dilution: self.config.flows.dilution(),
                port_flows: self.config.flows.port_flows(),
                inflow: self.config.flows.channel_inflow(),
            },
        })
    }
}
