//! Tracer cells: Lagrangian cells carried by the hindered velocity of the field.
//!
//! **One-way coupling.** A tracer moves with the MLB velocity a *test particle* of its own
//! diameter, density and shape factor would have in the local mixture,
//! u = a V(φ)/(18μ) · [d²(ρ − ρ_s)/χ − Σ_j φ_j d_j²(ρ_j − ρ_s)/χ_j]
//! ([`buffycoat_physics::hindrance::MlbMixture::velocity`]), but it does not feed back: the
//! field is computed from the class volume fractions alone, and tracers are samples of those
//! classes (or of any cell one wants to follow), not extra volume. This lets statistics be
//! resolved by diameter and density within a species at no cost to the field.
//!
//! **Interpolation.** The three mixture quantities the velocity depends on — V(φ)/(18μ),
//! ρ_s − ρ_f and S = Σ_j φ_j d_j²(ρ_j − ρ_s)/χ_j — are computed at the cell centres and
//! interpolated linearly in r between them (held constant beyond the first and last centre).
//!
//! **Time integration.** Within each field step t_n → t_{n+1} = t_n + Δt, Heun's method (second
//! order): u₁ = u(r_n; φⁿ, t_n), r* = r_n + Δt u₁, u₂ = u(r*; φⁿ⁺¹, t_{n+1}),
//! r_{n+1} = r_n + Δt(u₁ + u₂)/2, with the field at both ends of the step. A tracer reaching the
//! bottom r_max stops there (pelleted, status [`PELLETED`]); one reaching the meniscus r_min is
//! held there (it may move back if its velocity turns outward). A tracer in a packed cell
//! (V = 0) does not move.

use rayon::prelude::*;

use crate::config::{FieldGeometry, acceleration};
use crate::error::{FieldError, invalid};

/// Status: moving.
pub const FREE: u8 = 0;
/// Status: reached the bottom and stopped.
pub const PELLETED: u8 = 1;

/// One tracer cell to place (SI).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TracerCell {
    /// the caller's species index
    pub species: u16,
    /// sphere-equivalent diameter d (m)
    pub diameter: f64,
    /// density ρ (kg/m³)
    pub density: f64,
    /// dynamic shape factor χ ≥ 1
    pub shape_factor: f64,
    /// cells per sedimenting aggregate N ≥ 1 (1 = a single cell), see
    /// [`crate::Class::aggregate_cells`]
    pub aggregate_cells: f64,
    /// initial radial position (m), in [r_min, r_max]
    pub radial: f64,
    /// fixed transverse coordinate y (m), carried for output only
    pub y: f64,
    /// fixed axial coordinate z (m), carried for output only
    pub z: f64,
}

/// Tracer cells as a structure of arrays.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tracers {
    /// species index per tracer
    pub species: Vec<u16>,
    /// diameter d (m)
    pub diameter: Vec<f64>,
    /// density ρ (kg/m³)
    pub density: Vec<f64>,
    /// shape factor χ
    pub shape_factor: Vec<f64>,
    /// radial position (m)
    pub radial: Vec<f64>,
    /// transverse coordinate y (m), fixed
    pub y: Vec<f64>,
    /// axial coordinate z (m), fixed
    pub z: Vec<f64>,
    /// status ([`FREE`] or [`PELLETED`])
    pub status: Vec<u8>,
    /// Stokes mobility d²/χ (m²)
    mobility: Vec<f64>,
}

impl Tracers {
    /// No tracers.
    pub fn none() -> Self {
        Self::default()
    }

    /// Tracers from a list of cells (validated against the grid by the field constructor).
    pub fn from_cells(cells: &[TracerCell]) -> Self {
        Self {
            species: cells.iter().map(|c| c.species).collect(),
            diameter: cells.iter().map(|c| c.diameter).collect(),
            density: cells.iter().map(|c| c.density).collect(),
            shape_factor: cells.iter().map(|c| c.shape_factor).collect(),
            radial: cells.iter().map(|c| c.radial).collect(),
            y: cells.iter().map(|c| c.y).collect(),
            z: cells.iter().map(|c| c.z).collect(),
            status: vec![FREE; cells.len()],
            mobility: cells
                .iter()
                .map(|c| {
                    c.diameter * c.diameter * c.aggregate_cells.max(1.0).powf(2.0 / 3.0)
                        / c.shape_factor
                })
                .collect(),
        }
    }

    /// Number of tracers.
    pub fn len(&self) -> usize {
        self.radial.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.radial.is_empty()
    }

    pub(crate) fn validate(&self, r_min: f64, r_max: f64) -> Result<(), FieldError> {
        for k in 0..self.len() {
            let (d, rho, chi, r) = (
                self.diameter[k],
                self.density[k],
                self.shape_factor[k],
                self.radial[k],
            );
            if !(d.is_finite() && d > 0.0) {
                return Err(invalid(&format!("tracer {k}: diameter (m)"), d, "> 0"));
            }
            if !(rho.is_finite() && rho > 0.0) {
                return Err(invalid(
                    &format!("tracer {k}: density (kg/m^3)"),
                    rho,
                    "> 0",
                ));
            }
            if !(chi.is_finite() && chi >= 1.0) {
                return Err(invalid(&format!("tracer {k}: shape factor"), chi, ">= 1"));
            }
            if !(r.is_finite() && r >= r_min && r <= r_max) {
                return Err(invalid(
                    &format!("tracer {k}: radial position (m)"),
                    r,
                    "within [r_min, r_max]",
                ));
            }
        }
        Ok(())
    }
}

/// What the tracer step needs from the field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TracerEnv<'a> {
    pub geometry: FieldGeometry,
    pub gravity: Option<f64>,
    pub fluid_density: f64,
    pub r_min: f64,
    pub r_max: f64,
    /// first cell centre and spacing
    pub centre0: f64,
    pub dr: f64,
    pub cells: usize,
    /// physical radius at the faces for the acceleration (the coordinate itself unless mapped)
    pub accel_radius: &'a [f64],
    /// mixture at the start and end of the step, [cell][3]
    pub mix_old: &'a [f64],
    pub mix_new: &'a [f64],
}

impl TracerEnv<'_> {
    /// Test-particle velocity at `r` in mixture `mix` (per unit acceleration factor applied).
    #[inline]
    fn velocity(&self, mix: &[f64], r: f64, omega_squared: f64, mobility: f64, excess: f64) -> f64 {
        let x = (r - self.centre0) / self.dr;
        let (j, w) = if x <= 0.0 {
            (0, 0.0)
        } else {
            let j = x.floor() as usize;
            if j + 1 >= self.cells {
                (self.cells - 2, 1.0)
            } else {
                (j, x - j as f64)
            }
        };
        let a = &mix[3 * j..3 * j + 6];
        let factor = a[0] + w * (a[3] - a[0]);
        let exc = a[1] + w * (a[4] - a[1]);
        let mean = a[2] + w * (a[5] - a[2]);
        // Physical radius of coordinate r: linear between faces (identity unless mapped).
        let xf = ((r - self.r_min) / self.dr).clamp(0.0, self.cells as f64);
        let f = (xf.floor() as usize).min(self.cells - 1);
        let radius = self.accel_radius[f]
            + (xf - f as f64) * (self.accel_radius[f + 1] - self.accel_radius[f]);
        let acc = acceleration(self.geometry, self.gravity, radius, omega_squared);
        acc * factor * (mobility * (excess - exc) - mean)
    }
}

/// Advances every free tracer over one field step [t0, t0 + dt] with Heun's method;
/// `omega2_old`, `omega2_new` are ω² at both ends.
pub(crate) fn advance_tracers(
    tracers: &mut Tracers,
    env: &TracerEnv<'_>,
    dt: f64,
    omega2_old: f64,
    omega2_new: f64,
    chunk: usize,
) {
    let Tracers {
        radial,
        status,
        mobility,
        density,
        ..
    } = tracers;
    radial
        .par_chunks_mut(chunk)
        .zip(status.par_chunks_mut(chunk))
        .zip(mobility.par_chunks(chunk))
        .zip(density.par_chunks(chunk))
        .for_each(|(((r, st), mob), rho)| {
            for k in 0..r.len() {
                if st[k] == PELLETED {
                    continue;
                }
                let excess = rho[k] - env.fluid_density;
                let r0 = r[k];
                let u1 = env.velocity(env.mix_old, r0, omega2_old, mob[k], excess);
                let r_star = (r0 + dt * u1).clamp(env.r_min, env.r_max);
                let u2 = env.velocity(env.mix_new, r_star, omega2_new, mob[k], excess);
                let r1 = r0 + 0.5 * dt * (u1 + u2);
                if r1 >= env.r_max {
                    r[k] = env.r_max;
                    st[k] = PELLETED;
                } else {
                    r[k] = r1.max(env.r_min);
                }
            }
        });
}
