//! The along-channel flow seen by one column of the steady march: the physical radius of the
//! ξ-faces, the face accelerations ω²r_f, the consolidation conductances, and the along-channel
//! velocity and shear rate at the faces (docs/physics.md §10.4, §10.9).
//!
//! For `plug` and `laminar` flow the map ξ → r is the same at every station (the grid's). For
//! `viscous` flow ([`FlowProfile::Viscous`]) it follows from the composition: every ξ-cell
//! carries the same volume flux Q/J (the stream-function coordinate), so at a station with the
//! cell viscosities μ_j(φ) the faces r_f are those at which the lubrication profile
//! ([`ViscousProfile`]) has Ψ(r_f) = fQ/J. [`StationFlow::update`] solves this fixed point:
//!
//! 1. μ_j from the column's total cell fraction at the nominal shear rate γ̇_n = 6w̄/δ (the
//!    wall shear rate of plane Poiseuille flow; [`SuspensionViscosity::viscosity`]);
//! 2. the exact profile for μ_j on the current faces; per-cell flux F_j;
//! 3. stop when max_j |F_j J/Q − 1| ≤ [`FLUX_TOLERANCE`]; otherwise rescale every cell width
//!    by (Q/(J F_j))^½ and renormalise the widths to the depth δ (a cell next to a no-slip wall
//!    carries F ∝ Δr², one in the core F ∝ Δr: the square root is the safe exponent), and
//!    repeat.
//!
//! **Why the nominal shear rate.** Blood is shear-thinning (Quemada's k falls with γ̇). Making
//! μ_j depend on the local γ̇ adds a Picard loop μ → profile → γ̇ → μ, which diverges where the
//! law is more shear-thinning than a power law of index ½ — the packed bed at low shear is
//! (measured: the loop grows slowly without bound in the MNC procedure with consolidation).
//! A stress-based formulation would fix that; it is not done. With γ̇_n the law keeps its
//! dependence on the hematocrit (the dominant effect: the bed is 10²–10³ times more viscous than
//! plasma) and drops the shear-thinning across the depth.
//!
//! The steady march couples flow and composition **explicitly along the channel**: the column
//! solve of station k uses the flow computed from the composition of station k − 1 (the map
//! changes over the development length of the layers, many stations; the lag is first order in
//! Δτ like the backward-Euler march itself, and the tests check that refining Δτ converges).

use buffycoat_physics::viscosity::{KriegerDougherty, QUEMADA_BLOOD_HEMATOCRIT_RANGE, Quemada};

use crate::config::{ChannelConfig, FlowProfile};
use crate::error::ChannelError;
use crate::grid::ChannelGrid;
use crate::lubrication::ViscousProfile;

/// Relative tolerance of the per-cell volume flux of the viscous map, max_j |F_j J/Q − 1|.
pub const FLUX_TOLERANCE: f64 = 1e-6;

/// Iterations of the viscous map per station before [`ChannelError::NotConverged`].
pub const MAX_FLOW_ITERATIONS: usize = 1000;

/// The local viscosity of the suspension in a radial cell (Pa·s), from its total cell volume
/// fraction φ and its shear rate γ̇ (docs/physics.md §10.3, §10.9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SuspensionViscosity {
    /// Blood: Quemada's law μ = μ_f (1 − ½k(γ̇)φ)^(−2) with the hematocrit fits of
    /// [`Quemada::blood`] evaluated at H = min(φ, 0.8) (the fits' range), φ the total cell
    /// fraction (red cells dominate it; white cells and platelets are counted as red cells).
    Blood,
    /// Rigid particles (beads, cells without red cells): Krieger–Dougherty
    /// μ = μ_f (1 − φ/φ_m)^(−[η]φ_m) with the given law.
    Rigid(KriegerDougherty),
}

/// Default bound of the relative viscosity μ/μ_f: see [`SuspensionViscosity::viscosity`].
pub const DEFAULT_MAX_RELATIVE_VISCOSITY: f64 = 1000.0;

impl SuspensionViscosity {
    /// The shear-independent part of the law at total fraction `phi` (the Quemada parameters
    /// of [`Quemada::blood`], three exponentials), so that a fixed point in the shear rate
    /// only re-evaluates [`Self::viscosity_with`].
    pub fn prepare(&self, phi: f64) -> Option<Quemada> {
        match self {
            SuspensionViscosity::Blood => {
                Quemada::blood(phi.clamp(0.0, QUEMADA_BLOOD_HEMATOCRIT_RANGE.1)).ok()
            }
            SuspensionViscosity::Rigid(_) => None,
        }
    }

    /// [`Self::viscosity`] with the prepared parameters `prepared` of [`Self::prepare`] for
    /// the same `phi`.
    pub fn viscosity_with(
        &self,
        prepared: Option<&Quemada>,
        phi: f64,
        shear_rate: f64,
        fluid: f64,
        max_relative: f64,
    ) -> f64 {
        let phi = phi.max(0.0);
        let relative = match (self, prepared) {
            (SuspensionViscosity::Rigid(kd), _) => kd.relative(phi),
            (SuspensionViscosity::Blood, Some(q)) => q.relative(phi, shear_rate),
            (SuspensionViscosity::Blood, None) => max_relative,
        };
        fluid * relative.min(max_relative)
    }

    /// μ (Pa·s) at total fraction `phi`, shear rate `shear_rate` (1/s), fluid viscosity
    /// `fluid` (Pa·s), bounded by `max_relative` × μ_f.
    ///
    /// The bound is a regularisation, not a fitted value: both laws diverge at their packing
    /// (Quemada's 2/k₀ ≈ 0.5–0.8 at rest), while a bed of deformable red cells at H ≈ 0.9 still
    /// flows (the red-cell port drains it). In the flux coordinate every cell carries Q/J, so
    /// an infinite viscosity has no steady solution; the bound (default 1000, i.e. ≈ 1.4 Pa·s,
    /// the order of packed red cells at low shear) keeps the packed bed slow without freezing
    /// it. The port fractions depend on it only through r(ξ) (docs/physics.md §10.9).
    pub fn viscosity(&self, phi: f64, shear_rate: f64, fluid: f64, max_relative: f64) -> f64 {
        let prepared = self.prepare(phi);
        self.viscosity_with(prepared.as_ref(), phi, shear_rate, fluid, max_relative)
    }
}

/// The flow of one station (see the module documentation). Buffers are allocated once.
#[derive(Debug, Clone)]
pub struct StationFlow {
    /// physical radius of the J + 1 ξ-faces (m)
    r_faces: Vec<f64>,
    /// ω² r_f (m/s²)
    accel: Vec<f64>,
    /// 1/(r_{j+1} − r_j) between the cell centres (midpoints of the faces) at the interior
    /// faces, 0 at the walls (1/m)
    conductance: Vec<f64>,
    /// along-channel velocity at the faces over the mean velocity, w_f/w̄ (0 at the walls)
    velocity_ratio: Vec<f64>,
    /// shear rate |∂w/∂r| at the faces (1/s): the mean of the two one-sided values
    shear_faces: Vec<f64>,
    /// cell viscosities of the last update (Pa·s; viscous only)
    viscosity: Vec<f64>,
    /// per cell: its share of the volume flux, Δξ_j/δ (1/J on a uniform grid)
    flux_share: Vec<f64>,
    /// per cell: total fraction and the prepared law (scratch of [`Self::update`])
    phi: Vec<f64>,
    prepared: Vec<Option<Quemada>>,
    viscous: Option<ViscousProfile>,
    /// total iterations of the viscous map over all updates
    iterations: u64,
    omega2: f64,
    /// γ̇_n = 6 w̄/δ, the wall shear rate of plane Poiseuille flow (1/s)
    nominal_shear: f64,
    height: f64,
    flow: f64,
    mean_velocity: f64,
    fluid_viscosity: f64,
    law: SuspensionViscosity,
    max_relative: f64,
    /// the map's convergence tolerance on every cell's relative flux error
    /// ([`FLUX_TOLERANCE`] unless [`Self::set_flux_tolerance`])
    flux_tolerance: f64,
}

impl StationFlow {
    /// Sets the convergence tolerance of the viscous map (default [`FLUX_TOLERANCE`]); the
    /// refinement's locating marches use a looser one (crates/channel/src/channel.rs).
    pub(crate) fn set_flux_tolerance(&mut self, tolerance: f64) {
        self.flux_tolerance = tolerance;
    }

    /// The flow of the channel's inlet: for `viscous` the uniform inlet suspension, i.e. plane
    /// Poiseuille flow (the grid's laminar map).
    pub fn new(config: &ChannelConfig, grid: &ChannelGrid) -> Self {
        let j_cells = grid.radial_cells();
        let omega2 = config.omega() * config.omega();
        let mut s = Self {
            r_faces: grid.r_faces.clone(),
            accel: vec![0.0; j_cells + 1],
            conductance: vec![0.0; j_cells + 1],
            velocity_ratio: vec![0.0; j_cells + 1],
            shear_faces: vec![0.0; j_cells + 1],
            viscosity: vec![config.fluid.viscosity; j_cells],
            flux_share: grid.cell_dxi.iter().map(|&d| d / grid.depth).collect(),
            phi: vec![0.0; j_cells],
            prepared: vec![None; j_cells],
            viscous: (config.profile == FlowProfile::Viscous).then(|| ViscousProfile::new(j_cells)),
            iterations: 0,
            omega2,
            nominal_shear: 6.0 * config.mean_velocity() / config.geometry.depth(),
            height: config.geometry.height,
            flow: config.flows.channel_inflow(),
            mean_velocity: config.mean_velocity(),
            fluid_viscosity: config.fluid.viscosity,
            law: config.viscosity,
            max_relative: config.max_relative_viscosity,
            flux_tolerance: FLUX_TOLERANCE,
        };
        s.refresh_geometry();
        let depth = grid.depth;
        let wbar = s.mean_velocity;
        for (f, &r) in s.r_faces.iter().enumerate() {
            let eta = ((r - grid.r_inner) / depth).clamp(0.0, 1.0);
            let (ratio, shear) = match config.profile {
                FlowProfile::Plug => (1.0, 0.0),
                FlowProfile::Laminar | FlowProfile::Viscous => (
                    6.0 * eta * (1.0 - eta),
                    6.0 * wbar * (1.0 - 2.0 * eta).abs() / depth,
                ),
            };
            s.velocity_ratio[f] = ratio;
            s.shear_faces[f] = shear;
        }
        if let Some(vp) = &mut s.viscous {
            // the inlet: uniform fluid viscosity (exact Poiseuille on the laminar faces)
            let _ = vp.solve(&s.r_faces, &s.viscosity, s.height, s.flow);
        }
        s
    }

    fn refresh_geometry(&mut self) {
        for (a, &r) in self.accel.iter_mut().zip(&self.r_faces) {
            *a = self.omega2 * r;
        }
        let j_cells = self.r_faces.len() - 1;
        self.conductance[0] = 0.0;
        self.conductance[j_cells] = 0.0;
        for f in 1..j_cells {
            let left = 0.5 * (self.r_faces[f - 1] + self.r_faces[f]);
            let right = 0.5 * (self.r_faces[f] + self.r_faces[f + 1]);
            self.conductance[f] = 1.0 / (right - left);
        }
    }

    /// Whether the flow depends on the composition (`viscous`).
    pub fn is_viscous(&self) -> bool {
        self.viscous.is_some()
    }

    /// Physical radius of the J + 1 ξ-faces (m).
    pub fn r_faces(&self) -> &[f64] {
        &self.r_faces
    }

    /// ω² r_f at the faces (m/s²).
    pub fn accel(&self) -> &[f64] {
        &self.accel
    }

    /// 1/Δr between neighbouring cell centres at the faces (1/m; 0 at the walls): the
    /// conductance of a gradient term (consolidation stress, diffusion) in the ξ-column.
    pub fn conductance(&self) -> &[f64] {
        &self.conductance
    }

    /// w_f/w̄ at the faces: a radial flux −D ∂φ/∂r is −D (w/w̄) ∂φ/∂ξ in the flux coordinate.
    pub fn velocity_ratio(&self) -> &[f64] {
        &self.velocity_ratio
    }

    /// Shear rate |∂w/∂r| at the faces (1/s), for shear-induced diffusion.
    pub fn shear_rate_faces(&self) -> &[f64] {
        &self.shear_faces
    }

    /// Cell viscosities of the last update (Pa·s; the fluid's for plug/laminar).
    pub fn viscosity(&self) -> &[f64] {
        &self.viscosity
    }

    /// Iterations of the viscous map summed over all updates.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// Recomputes the viscous map for the column `column` (J × `n`, cell-major); a no-op for
    /// plug and laminar flow. Returns the iterations used. Allocates nothing.
    ///
    /// # Errors
    /// [`ChannelError::Inconsistent`] naming station `station` if the map does not converge in
    /// [`MAX_FLOW_ITERATIONS`].
    pub fn update(
        &mut self,
        column: &[f64],
        n: usize,
        station: usize,
        tau: f64,
    ) -> Result<usize, ChannelError> {
        let Some(vp) = self.viscous.as_mut() else {
            return Ok(0);
        };
        let j_cells = self.r_faces.len() - 1;
        let flow = self.flow;
        let depth = self.r_faces[j_cells] - self.r_faces[0];
        let mut worst = f64::INFINITY;
        for (j, (phi, prep)) in self.phi.iter_mut().zip(&mut self.prepared).enumerate() {
            *phi = column[j * n..(j + 1) * n].iter().sum();
            *prep = self.law.prepare(*phi);
        }
        // μ depends on φ only (evaluated at the nominal shear rate, see the module docs): the
        // fixed point is in the faces alone
        let shear = self.nominal_shear;
        for (j, mu) in self.viscosity.iter_mut().enumerate() {
            *mu = self.law.viscosity_with(
                self.prepared[j].as_ref(),
                self.phi[j],
                shear,
                self.fluid_viscosity,
                self.max_relative,
            );
        }
        for it in 1..=MAX_FLOW_ITERATIONS {
            vp.solve(&self.r_faces, &self.viscosity, self.height, self.flow)?;
            let psi = vp.flux_below();
            worst = 0.0;
            for j in 0..j_cells {
                let target = flow * self.flux_share[j];
                worst = worst.max(((psi[j + 1] - psi[j]) / target - 1.0).abs());
            }
            if worst <= self.flux_tolerance {
                self.iterations += it as u64;
                self.finish_viscous();
                return Ok(it);
            }
            // rescale the widths (see the module docs) and renormalise to δ
            let mut total = 0.0;
            let mut widths_end = self.r_faces[0];
            for j in 0..j_cells {
                let width = self.r_faces[j + 1] - self.r_faces[j];
                let flux = (psi[j + 1] - psi[j]).max(1e-300);
                let w = width * (flow * self.flux_share[j] / flux).sqrt();
                // store the new width temporarily in accel (overwritten by refresh_geometry)
                self.accel[j] = w;
                total += w;
            }
            let scale = depth / total;
            for j in 0..j_cells {
                widths_end += self.accel[j] * scale;
                self.r_faces[j + 1] = widths_end;
            }
            self.r_faces[j_cells] = self.r_faces[0] + depth;
        }
        self.refresh_geometry();
        Err(ChannelError::Inconsistent(format!(
            "the viscous flow map (flow.profile = \"viscous\") did not converge at along-channel \
             station {station} (τ = {tau} s): largest relative flux error of a cell {worst:e} \
             after {MAX_FLOW_ITERATIONS} iterations (allowed {:e}); try \
             flow.profile = \"laminar\"",
            self.flux_tolerance
        )))
    }

    fn finish_viscous(&mut self) {
        self.refresh_geometry();
        let Some(vp) = self.viscous.as_ref() else {
            return;
        };
        let j_cells = self.r_faces.len() - 1;
        let w = vp.velocity_faces();
        let tau = vp.stress_faces();
        for f in 0..=j_cells {
            self.velocity_ratio[f] = w[f] / self.mean_velocity;
            let left = if f > 0 {
                1.0 / self.viscosity[f - 1]
            } else {
                0.0
            };
            let right = if f < j_cells {
                1.0 / self.viscosity[f]
            } else {
                0.0
            };
            let fluidity = if f == 0 {
                right
            } else if f == j_cells {
                left
            } else {
                0.5 * (left + right)
            };
            self.shear_faces[f] = (tau[f] * fluidity).abs();
        }
    }
}
