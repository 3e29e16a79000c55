//! [`Channel`]: a validated channel set-up and its steady solvers.

use buffycoat_field::{Class, FieldConfig, FieldGeometry, HinderedField, Tracers};
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_stepper::{Parallel, Propagate};

use crate::config::{ChannelConfig, SettlingFlux, SteadyMethod};
use crate::error::ChannelError;
use crate::flow::{FLUX_TOLERANCE, StationFlow};
use crate::grid::{ChannelGrid, face_shear_rates};
use crate::solution::{ChannelSolution, class_port_fractions};
use buffycoat_field::column::{
    ColumnSolver, ColumnStep, Compression, Diffusion, NewtonStats, Reconstruction,
};
use buffycoat_field::kinetics::Kinetics;

/// Smallest class scale of the Newton residual, relative to the total inlet fraction.
const MIN_RELATIVE_SCALE: f64 = 1e-12;

/// Newton tolerance of the refinement's two locating marches
/// ([`Channel::solve_implicit`]; the configured tolerance if that is looser). They only
/// locate the top of the red-cell bed at the exit, the first cell whose total fraction reaches
/// half of the exit's largest ([`Channel::bed_top`]): a converged step is the same to this
/// tolerance relative to each class's inlet fraction (≈ 2·10⁻⁵ in a red-cell fraction), far
/// below what moves that cell. Measured on the leukapheresis preset: the same window at the
/// four operating points of the test `locating_tolerances_keep_the_window` and at all 400
/// points of the 20 × 20 rpm × flow sweep (sweep file identical but for the wall times), so
/// the final march is bitwise unchanged; 10⁻⁶ (session 4) saved 3.4 %, 10⁻⁴ another 1.5 % of
/// the instructions per solve.
const LOCATE_NEWTON_TOLERANCE: f64 = 1e-4;

/// Tolerance of the viscous flow map ([`crate::flow`]) in the locating marches: every cell's
/// relative flux error ≤ 10⁻² (10⁻⁶ in the final march, [`crate::flow::FLUX_TOLERANCE`]);
/// see [`LOCATE_NEWTON_TOLERANCE`].
const LOCATE_FLUX_TOLERANCE: f64 = 1e-2;

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
    /// shear diffusion: per class k_i = K ℓ_i² (m²) and per face c_f = γ̇_f/(r_R − r_L)
    /// (1/(s·m)); empty when [`ChannelConfig::shear_diffusion`] is `None`
    pub(crate) diffusion_coefficient: Vec<f64>,
    pub(crate) diffusion_conductance: Vec<f64>,
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
        let steady_measure = grid.cell_dxi.clone();
        let threshold = config.implicit.coupling_threshold * total;
        let largest = inlet.iter().copied().fold(0.0, f64::max);
        let major = inlet
            .iter()
            .map(|&p| p >= threshold || p == largest)
            .collect();
        let mut channel = Self {
            config,
            classes,
            inlet,
            grid,
            kin,
            accel,
            inv_scale,
            steady_measure,
            major,
            diffusion_coefficient: Vec::new(),
            diffusion_conductance: Vec::new(),
        };
        if let Some(d) = channel.config.shear_diffusion {
            // ℓ_i = (a_i + ā)/2, ā the inlet volume-weighted mean radius
            let mean_radius = channel
                .classes
                .iter()
                .zip(&channel.inlet)
                .map(|(c, &p)| 0.5 * c.diameter * p)
                .sum::<f64>()
                / total.max(f64::MIN_POSITIVE);
            channel.diffusion_coefficient = channel
                .classes
                .iter()
                .map(|c| {
                    let l = 0.5 * (0.5 * c.diameter + mean_radius);
                    d.coefficient * l * l
                })
                .collect();
            channel.set_profile_shear_rates();
        }
        Ok(channel)
    }

    /// Sets the shear rates of the imposed profile (`flow.profile`) on the current grid's
    /// faces ([`face_shear_rates`]); used at construction and after a regrid.
    fn set_profile_shear_rates(&mut self) {
        let g = &self.grid;
        let mut rates = vec![0.0; g.r_faces.len()];
        face_shear_rates(
            self.config.profile,
            g.r_inner,
            g.depth,
            self.config.mean_velocity(),
            &g.r_faces,
            &mut rates,
        );
        self.set_face_shear_rates(&rates);
    }

    /// Replaces the shear rates γ̇_f (1/s, J + 1 faces; walls unused) that drive the
    /// shear-induced diffusion, e.g. by those of a composition-dependent flow profile. No
    /// effect when [`ChannelConfig::shear_diffusion`] is `None`.
    ///
    /// # Panics
    /// If `rates` does not have one value per ξ face.
    pub fn set_face_shear_rates(&mut self, rates: &[f64]) {
        if self.config.shear_diffusion.is_none() {
            return;
        }
        let g = &self.grid;
        assert_eq!(rates.len(), g.r_faces.len(), "one shear rate per face");
        self.diffusion_conductance.clear();
        self.diffusion_conductance.push(0.0);
        for (rate, c) in rates[1..].iter().zip(g.r_centres.windows(2)) {
            self.diffusion_conductance.push(rate.abs() / (c[1] - c[0]));
        }
        self.diffusion_conductance.push(0.0);
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
            reconstruction: None,
            kin: &self.kin,
            accel: &self.accel,
            measure,
            inv_scale: &self.inv_scale,
            tolerance: self.config.implicit.tolerance,
            max_iterations: self.config.implicit.max_iterations,
            max_subdivisions: self.config.implicit.max_subdivisions,
            major: &self.major,
            compression: None,
            diffusion: self.config.shear_diffusion.map(|_| Diffusion {
                conductance: &self.diffusion_conductance,
                coefficient: &self.diffusion_coefficient,
            }),
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

    /// The same channel on another ξ-grid of the same depth and stations (the ω²r
    /// accelerations, cell measures and the shear rates of the configured profile
    /// recomputed).
    fn with_grid(&self, grid: ChannelGrid) -> Self {
        let w2 = self.config.omega() * self.config.omega();
        let mut c = self.clone();
        c.accel = grid.r_faces.iter().map(|r| w2 * r).collect();
        c.steady_measure = grid.cell_dxi.clone();
        c.grid = grid;
        if c.config.shear_diffusion.is_some() {
            c.set_profile_shear_rates();
        }
        c
    }

    /// The flux coordinate ξ (m) of the top of the red-cell bed at the exit of `sol`: the
    /// first face, counted from the inner wall, whose outer cell holds at least half of the
    /// largest total volume fraction of the exit profile.
    fn bed_top(sol: &ChannelSolution) -> f64 {
        let g = sol.grid();
        let n = sol.classes().len();
        let exit = sol.station(g.along_cells());
        let totals: Vec<f64> = exit.chunks_exact(n).map(|c| c.iter().sum()).collect();
        let largest = totals.iter().copied().fold(0.0, f64::max);
        let j = totals.iter().position(|&t| t >= 0.5 * largest).unwrap_or(0);
        g.xi_faces[j]
    }

    /// The steady state by the implicit march (ignores [`ChannelConfig::method`]); with
    /// [`ChannelConfig::refine_interface`] on a grid refined at the exit's buffy coat, located
    /// first by two marches at half the radial and a quarter of the along-channel cells
    /// (uniform, then refined in a window 4× as wide): about 1.25 × the cost of one march.
    ///
    /// # Errors
    /// [`ChannelError::NotConverged`].
    pub fn solve_implicit(&self) -> Result<ChannelSolution, ChannelError> {
        match self.config.refine_interface {
            Some(half_width) if self.grid.is_uniform() => {
                // locate: a uniform march and a march refined in a 4× wider window, both at
                // half the radial and a quarter of the along-channel cells (the exit profile
                // depends little on the along-channel resolution); then the final march
                let depth = self.grid.depth;
                let centre = self.locate_bed_top(
                    half_width,
                    LOCATE_NEWTON_TOLERANCE,
                    LOCATE_FLUX_TOLERANCE,
                )?;
                let grid = ChannelGrid::refined(&self.config, centre, half_width * depth);
                self.with_grid(grid).march(FLUX_TOLERANCE)
            }
            _ => self.march(FLUX_TOLERANCE),
        }
    }

    /// The flux coordinate (m) of the top of the red-cell bed at the exit, located for the
    /// refinement by two marches at half the radial and a quarter of the along-channel cells
    /// (uniform, then refined in a window 4× as wide as `half_width` × depth), solved to the
    /// Newton tolerance `newton_tolerance` (or the configured one if looser) and the viscous
    /// map's `flux_tolerance`.
    fn locate_bed_top(
        &self,
        half_width: f64,
        newton_tolerance: f64,
        flux_tolerance: f64,
    ) -> Result<f64, ChannelError> {
        let depth = self.grid.depth;
        let mut coarse = self.config.clone();
        coarse.radial_cells = (coarse.radial_cells / 2).max(4);
        coarse.along_cells = (coarse.along_cells / 4).max(1);
        coarse.implicit.tolerance = coarse.implicit.tolerance.max(newton_tolerance);
        let coarse_channel = Channel::new(coarse.clone(), self.classes.clone())?;
        let centre = Self::bed_top(&coarse_channel.march(flux_tolerance)?);
        let wide = (4.0 * half_width).min(0.5) * depth;
        let grid = ChannelGrid::refined(&coarse, centre, wide);
        Ok(Self::bed_top(
            &coarse_channel.with_grid(grid).march(flux_tolerance)?,
        ))
    }

    /// The implicit march on this channel's grid; `flux_tolerance`: that of the viscous flow
    /// map ([`crate::flow::FLUX_TOLERANCE`] but in the locating marches).
    fn march(&self, flux_tolerance: f64) -> Result<ChannelSolution, ChannelError> {
        let n = self.classes.len();
        let j_cells = self.grid.radial_cells();
        let k_cells = self.grid.along_cells();
        let stride = j_cells * n;
        let mut field = vec![0.0; (k_cells + 1) * stride];
        field[..stride].copy_from_slice(&self.inlet_column());
        let mut solver = ColumnSolver::new(j_cells, n);
        // the packed platelet sheet's upwind switches: a full step may raise the merit once
        // (docs/physics.md §10.8)
        solver.set_nonmonotone_line_search(true);
        let mut phi = vec![0.0; stride];
        let mut flow = StationFlow::new(&self.config, &self.grid);
        flow.set_flux_tolerance(flux_tolerance);
        let viscous = flow.is_viscous();
        let faces = j_cells + 1;
        let mut station_faces = if viscous {
            let mut v = vec![0.0; (k_cells + 1) * faces];
            v[..faces].copy_from_slice(flow.r_faces());
            v
        } else {
            Vec::new()
        };
        let mut diffusion_conductance = self.diffusion_conductance.clone();
        let dtau = self.grid.dtau;
        // classes coupled in the Newton Jacobian at this station: those of the inlet rule
        // (`self.major`) and, on a refined grid, every class that has become locally
        // concentrated upstream ([`promote_concentrated`])
        let refined = !self.grid.is_uniform();
        let mut major = self.major.clone();
        let mut local_max = vec![0.0; n];
        let local_threshold = self.config.implicit.coupling_threshold;
        for k in 1..=k_cells {
            let (done, rest) = field.split_at_mut(k * stride);
            let star = &done[(k - 1) * stride..];
            if viscous {
                // explicit coupling along the channel: the flow of the previous station's
                // column (flow.rs module docs)
                flow.update(star, n, k, self.grid.tau_stations[k])?;
                station_faces[k * faces..(k + 1) * faces].copy_from_slice(flow.r_faces());
            }
            if viscous && self.config.shear_diffusion.is_some() {
                // the station's shear rates over its physical centre distances
                for ((c, &g), &inv_dr) in diffusion_conductance
                    .iter_mut()
                    .zip(flow.shear_rate_faces())
                    .zip(flow.conductance())
                {
                    *c = g * inv_dr;
                }
            }
            if refined && promote_concentrated(star, n, local_threshold, &mut local_max, &mut major)
            {
                solver.reset_partition();
            }
            let mut step = self.column_step(&self.steady_measure);
            step.major = &major;
            step.accel = flow.accel();
            step.compression = self.config.consolidation.map(|c| Compression {
                stress: c.stress,
                conductance: flow.conductance(),
                preconsolidation: None,
                held_branch: None,
            });
            if let SettlingFlux::Muscl { limiter, min_total } = self.config.settling_flux {
                step.reconstruction = Some(Reconstruction {
                    width: &self.steady_measure,
                    limiter,
                    min_total,
                });
            }
            if viscous {
                step.diffusion = self.config.shear_diffusion.map(|_| Diffusion {
                    conductance: &diffusion_conductance,
                    coefficient: &self.diffusion_coefficient,
                });
            }
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

/// The total volume fraction above which [`SettlingFlux::Muscl`] reconstructs the settling
/// flux (every cell of a face's stencil in the state at the start of the step): the red-cell
/// bed of the channel (whole blood enters at ≈ 0.42 with the anticoagulant; the bed is
/// ≳ 0.7), not the suspension above it nor the platelet and white-cell sheets on it.
pub const BED_MIN_TOTAL: f64 = 0.6;

// [`promote_concentrated`] (shared with the field's split minor classes,
// `buffycoat_field::promote_concentrated`) promotes to the coupled ("major") classes of the
// Newton Jacobian every class whose largest volume fraction in the column reaches
// `threshold` × the column's largest total fraction.
//
// The inlet rule ([`crate::ImplicitSettings::coupling_threshold`]) decouples the classes
// that are dilute at the inlet (platelets, white cells). Downstream they collect into sheets
// (the packed platelets and the buffy coat reach 5–20 % by volume on a grid that resolves
// them, [`crate::ChannelConfig::refine_interface`]); there the neglected derivatives
// ∂v_major/∂φ_minor are no longer small, the decoupled Newton iteration stalls and every such
// station fails once and is repeated with the exact Jacobian (measured on the refined
// leukapheresis preset: 34 retries, 2 869 iterations, 1 666 factorisations). Coupling a class
// from the first station where it is concentrated removes that (1 retry, ≈ 1 750 iterations,
// ≈ 450 factorisations). A promoted class stays coupled for the rest of the march, so the
// partition changes at most n times. A converged step is the same to the Newton tolerance
// (the residual is exact); a step that has to be subdivided is a slightly different
// backward-Euler discretisation, so where the two partitions subdivide different stations the
// port fractions differ by the discretisation error of a step (4·10⁻⁴ in the test
// `refined_march_couples_concentrated_classes`). The decision depends only on the march's own
// data, so it is deterministic.
//
// Only the refined march ([`crate::ChannelConfig::refine_interface`]) uses it: on a uniform
// grid the sheets are smeared over cells of ≈ 20 µm, the decoupled iteration converges (no
// retries in the preset) and the larger coupled blocks only cost (+4.6 % instructions for the
// uniform viscous preset, +6 % for the laminar probe `channel_steady`).
use buffycoat_field::promote_concentrated;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ChannelFlows, ChannelGeometry, FlowProfile};
    use buffycoat_field::HindranceLaw;
    use buffycoat_physics::fluid::Fluid;

    /// The leukapheresis preset's channel (viscous flow, refined) with the 8 blood classes of
    /// the channel bench, at `rpm` and whole-blood inflow `inlet_ml_min`.
    fn preset(rpm: f64, inlet_ml_min: f64) -> Channel {
        let classes = vec![
            Class::new("rbc", 5.3e-6, 1091.0, 1.09, 0.1125),
            Class::new("rbc", 5.7e-6, 1093.0, 1.09, 0.1125),
            Class::new("rbc", 5.3e-6, 1097.0, 1.09, 0.1125),
            Class::new("rbc", 5.7e-6, 1099.0, 1.09, 0.1125),
            Class::new("platelet", 2.4e-6, 1070.0, 1.04, 0.0019),
            Class::new("lymphocyte", 7.8e-6, 1075.0, 1.0, 0.0006),
            Class::new("monocyte", 10.0e-6, 1072.0, 1.0, 0.0002),
            Class::new("neutrophil", 9.6e-6, 1085.0, 1.0, 0.0017),
        ];
        let mut config = ChannelConfig::new(
            ChannelGeometry {
                r_inner: 0.100,
                r_outer: 0.102,
                height: 0.080,
                length: 0.625,
            },
            ChannelFlows {
                blood_inlet: inlet_ml_min * 1e-6 / 60.0,
                ac_ratio: 12.0,
                plasma: 26.5e-6 / 60.0,
                collect: 1e-6 / 60.0,
            },
            FlowProfile::Viscous,
            rpm,
            Fluid::plasma_37c(),
            HindranceLaw::hawksley_vand(0.95).unwrap(),
        );
        config.refine_interface = Some(0.015);
        Channel::new(config, classes).unwrap()
    }

    /// The locating marches' loose tolerances ([`LOCATE_NEWTON_TOLERANCE`],
    /// [`LOCATE_FLUX_TOLERANCE`]) put the refinement window exactly where the configured
    /// tolerances put it, over the preset's operating range (so the final march, and every
    /// port quantity, is bitwise unchanged), while the looser marches do take fewer
    /// iterations.
    #[test]
    fn locating_tolerances_keep_the_window() {
        for (rpm, inlet) in [
            (1500.0, 30.0),
            (2400.0, 50.0),
            (3000.0, 70.0),
            (2000.0, 60.0),
        ] {
            let ch = preset(rpm, inlet);
            let tight = ch
                .locate_bed_top(0.015, ch.config.implicit.tolerance, FLUX_TOLERANCE)
                .unwrap();
            let loose = ch
                .locate_bed_top(0.015, LOCATE_NEWTON_TOLERANCE, LOCATE_FLUX_TOLERANCE)
                .unwrap();
            assert_eq!(
                tight.to_bits(),
                loose.to_bits(),
                "{rpm} rpm, {inlet} mL/min"
            );
        }
        let ch = preset(2400.0, 50.0);
        let mut coarse = ch.config.clone();
        coarse.radial_cells /= 2;
        coarse.along_cells /= 4;
        let tight_channel = Channel::new(coarse.clone(), ch.classes.clone()).unwrap();
        coarse.implicit.tolerance = LOCATE_NEWTON_TOLERANCE;
        let loose_channel = Channel::new(coarse, ch.classes.clone()).unwrap();
        let tight = tight_channel.march(FLUX_TOLERANCE).unwrap();
        let loose = loose_channel.march(LOCATE_FLUX_TOLERANCE).unwrap();
        assert!(loose.stats().newton.iterations < tight.stats().newton.iterations);
        assert!(loose.stats().flow_iterations < tight.stats().flow_iterations);
    }
}
