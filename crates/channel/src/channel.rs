//! [`Channel`]: a validated channel set-up and its steady solvers.

use buffycoat_field::{Class, FieldConfig, FieldGeometry, HinderedField, Tracers};
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_stepper::{Parallel, Propagate};

use crate::config::{ChannelConfig, SteadyMethod};
use crate::error::ChannelError;
use crate::flow::StationFlow;
use crate::grid::ChannelGrid;
use crate::solution::{ChannelSolution, class_port_fractions};
use buffycoat_field::column::{ColumnSolver, ColumnStep, Compression, NewtonStats};
use buffycoat_field::kinetics::Kinetics;

/// Smallest class scale of the Newton residual, relative to the total inlet fraction.
const MIN_RELATIVE_SCALE: f64 = 1e-12;

/// A channel ready to solve: configuration, classes, grid and the derived constants.
///
/// The classes' `volume_fraction` is the volume fraction in the patient's **blood**
/// (before anticoagulant); the channel inlet carries φ_in,i = r/(r + 1) × that
/// ([`ChannelConfig::flows`]). Build the classes from an undiluted blood composition.
#[derive(Debug, Clone)]
pub struct Channel {
    pub(crate) config: ChannelConfig,
    pub(crate) classes: Vec<Class>,
    pub(crate) inlet: Vec<f64>,
    pub(crate) grid: ChannelGrid,
    pub(crate) kin: Kinetics,
    /// ω² r_f at the ξ faces (m/s²)
    pub(crate) accel: Vec<f64>,
    /// 1/s_i
    pub(crate) inv_scale: Vec<f64>,
    /// Δξ per cell (steady measure)
    pub(crate) steady_measure: Vec<f64>,
    /// per class: coupled in the approximate Newton Jacobian
    pub(crate) major: Vec<bool>,
}

impl Channel {
    /// Validates `config` and `classes` and builds the grid.
    ///
    /// # Errors
    /// [`ChannelError`] naming the offending scenario key or class; no classes; an inlet
    /// whose total volume fraction reaches φ_max.
    pub fn new(config: ChannelConfig, classes: Vec<Class>) -> Result<Self, ChannelError> {
        config.validate()?;
        if classes.is_empty() {
            return Err(ChannelError::Inconsistent(
                "at least one cell class is needed".into(),
            ));
        }
        if classes.len() > 64 {
            return Err(ChannelError::Inconsistent(format!(
                "{} classes: at most 64 are supported by the implicit solver",
                classes.len()
            )));
        }
        for c in &classes {
            c.validate()?;
        }
        let dilution = config.flows.dilution();
        let inlet: Vec<f64> = classes
            .iter()
            .map(|c| c.volume_fraction * dilution)
            .collect();
        let total: f64 = inlet.iter().sum();
        let phi_max = config.hindrance.max_packing();
        if total >= phi_max {
            return Err(ChannelError::Inconsistent(format!(
                "the inlet volume fractions sum to {total} (blood × {dilution}), not below the \
                 maximum packing {phi_max}"
            )));
        }
        let grid = ChannelGrid::new(&config);
        let kin = Kinetics::new(
            &classes,
            &config.fluid,
            config.hindrance,
            config.implicit.packing_ramp,
        );
        let kin = match &config.consolidation {
            Some(c) => kin.with_bed(c),
            None => kin,
        };
        let w2 = config.omega() * config.omega();
        let accel = grid.r_faces.iter().map(|r| w2 * r).collect();
        let floor = MIN_RELATIVE_SCALE * total.max(f64::MIN_POSITIVE);
        let inv_scale = inlet.iter().map(|&p| 1.0 / p.max(floor)).collect();
        let steady_measure = vec![grid.dxi; grid.radial_cells()];
        let threshold = config.implicit.coupling_threshold * total;
        let largest = inlet.iter().copied().fold(0.0, f64::max);
        let major = inlet
            .iter()
            .map(|&p| p >= threshold || p == largest)
            .collect();
        Ok(Self {
            config,
            classes,
            inlet,
            grid,
            kin,
            accel,
            inv_scale,
            steady_measure,
            major,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ChannelConfig {
        &self.config
    }

    /// The classes (volume fractions of the undiluted blood).
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// Inlet volume fraction of every class, φ_in,i = r/(r + 1) φ_blood,i.
    pub fn inlet_fractions(&self) -> &[f64] {
        &self.inlet
    }

    /// The grid.
    pub fn grid(&self) -> &ChannelGrid {
        &self.grid
    }

    pub(crate) fn column_step<'a>(&'a self, measure: &'a [f64]) -> ColumnStep<'a> {
        ColumnStep {
            kin: &self.kin,
            accel: &self.accel,
            measure,
            inv_scale: &self.inv_scale,
            tolerance: self.config.implicit.tolerance,
            max_iterations: self.config.implicit.max_iterations,
            max_subdivisions: self.config.implicit.max_subdivisions,
            major: &self.major,
            compression: None,
        }
    }

    /// The inlet state of one column (J × N, cell-major).
    pub(crate) fn inlet_column(&self) -> Vec<f64> {
        let j_cells = self.grid.radial_cells();
        let mut column = Vec::with_capacity(j_cells * self.classes.len());
        for _ in 0..j_cells {
            column.extend_from_slice(&self.inlet);
        }
        column
    }

    /// The steady state with [`ChannelConfig::method`]. `par` is used by the explicit method
    /// only (the implicit march is sequential along the channel); results do not depend on
    /// the number of threads.
    ///
    /// # Errors
    /// [`ChannelError::NotConverged`] (implicit) or [`ChannelError::Field`] (explicit).
    pub fn solve_steady(&self, par: &Parallel) -> Result<ChannelSolution, ChannelError> {
        match self.config.method {
            SteadyMethod::Implicit => self.solve_implicit(),
            SteadyMethod::Explicit => self.solve_explicit(par),
        }
    }

    /// The steady state by the implicit march (ignores [`ChannelConfig::method`]).
    ///
    /// # Errors
    /// [`ChannelError::NotConverged`].
    pub fn solve_implicit(&self) -> Result<ChannelSolution, ChannelError> {
        let n = self.classes.len();
        let j_cells = self.grid.radial_cells();
        let k_cells = self.grid.along_cells();
        let stride = j_cells * n;
        let mut field = vec![0.0; (k_cells + 1) * stride];
        field[..stride].copy_from_slice(&self.inlet_column());
        let mut solver = ColumnSolver::new(j_cells, n);
        let mut phi = vec![0.0; stride];
        let mut flow = StationFlow::new(&self.config, &self.grid);
        let viscous = flow.is_viscous();
        let faces = j_cells + 1;
        let mut station_faces = if viscous {
            let mut v = vec![0.0; (k_cells + 1) * faces];
            v[..faces].copy_from_slice(flow.r_faces());
            v
        } else {
            Vec::new()
        };
        let dtau = self.grid.dtau;
        for k in 1..=k_cells {
            let (done, rest) = field.split_at_mut(k * stride);
            let star = &done[(k - 1) * stride..];
            if viscous {
                // explicit coupling along the channel: the flow of the previous station's
                // column (flow.rs module docs)
                flow.update(star, n, k, self.grid.tau_stations[k])?;
                station_faces[k * faces..(k + 1) * faces].copy_from_slice(flow.r_faces());
            }
            let mut step = self.column_step(&self.steady_measure);
            step.accel = flow.accel();
            step.compression = self.config.consolidation.map(|c| Compression {
                stress: c.stress,
                conductance: flow.conductance(),
                preconsolidation: None,
            });
            // Initial guess: linear extrapolation from the last two stations (projected onto
            // the bounds by the solver); the solution is smooth in τ, so this halves the
            // Newton iterations compared with starting from φ^{k−1}.
            if k >= 2 {
                let before = &done[(k - 2) * stride..(k - 1) * stride];
                for ((g, &a), &b) in phi.iter_mut().zip(star).zip(before) {
                    *g = 2.0 * a - b;
                }
            } else {
                phi.copy_from_slice(star);
            }
            solver
                .step(&step, star, &mut phi, dtau)
                .map_err(|f| ChannelError::NotConverged {
                    station: k,
                    tau: self.grid.tau_stations[k],
                    residual: f.residual,
                    iterations: f.iterations,
                })?;
            rest[..stride].copy_from_slice(&phi);
        }
        let mut sol = ChannelSolution::new(self, field, SteadyMethod::Implicit, solver.stats, 0);
        if viscous {
            sol.set_station_faces(station_faces, flow.iterations());
        }
        Ok(sol)
    }

    /// The steady state by the explicit high-resolution march (ignores
    /// [`ChannelConfig::method`]): a [`HinderedField`] in the tube geometry on the coordinate
    /// ξ ∈ [0, δ] with `face_radius` = r(ξ_f), started uniform at the inlet fractions and
    /// advanced in τ, sampled at every station. It uses the law's own cut-off at φ_max (no
    /// packing ramp) and the field solver's CFL-limited SSP-RK2 steps.
    ///
    /// # Errors
    /// [`ChannelError::Field`].
    pub fn solve_explicit(&self, par: &Parallel) -> Result<ChannelSolution, ChannelError> {
        let n = self.classes.len();
        let j_cells = self.grid.radial_cells();
        let k_cells = self.grid.along_cells();
        let stride = j_cells * n;
        let rotor = RotorProfile::constant_rpm(self.config.rpm)
            .map_err(|e| ChannelError::Inconsistent(e.to_string()))?;
        let mut fc = FieldConfig::new(
            FieldGeometry::Tube,
            0.0,
            self.grid.depth,
            j_cells,
            rotor,
            self.config.fluid,
            self.config.hindrance,
        );
        fc.numerics = self.config.explicit;
        fc.face_radius = Some(self.grid.r_faces.clone());
        let classes: Vec<Class> = self
            .classes
            .iter()
            .zip(&self.inlet)
            .map(|(c, &p)| Class {
                volume_fraction: p,
                ..c.clone()
            })
            .collect();
        let mut hf = HinderedField::new(fc, classes, Tracers::none())?;
        let mut field = vec![0.0; (k_cells + 1) * stride];
        let mut profile = vec![0.0; j_cells];
        let store = |hf: &HinderedField, k: usize, field: &mut [f64], profile: &mut [f64]| {
            for i in 0..n {
                hf.copy_profile(i, profile);
                for (j, &v) in profile.iter().enumerate() {
                    field[k * stride + j * n + i] = v;
                }
            }
        };
        store(&hf, 0, &mut field, &mut profile);
        for k in 1..=k_cells {
            let (t0, t1) = (self.grid.tau_stations[k - 1], self.grid.tau_stations[k]);
            hf.advance(t0, t1, par)?;
            store(&hf, k, &mut field, &mut profile);
        }
        let steps = hf.stats().steps;
        Ok(ChannelSolution::new(
            self,
            field,
            SteadyMethod::Explicit,
            NewtonStats::default(),
            steps,
        ))
    }

    /// The port fractions of every class for the exit profile `exit` (J × N).
    pub(crate) fn port_fractions(&self, exit: &[f64]) -> Vec<[f64; 3]> {
        class_port_fractions(&self.grid, &self.inlet, exit)
    }
}
