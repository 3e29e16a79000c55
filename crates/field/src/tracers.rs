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
//!
//! **Consolidating bed** (implicit scheme with consolidation): the tracers instead feel the
//! field's own closures — bed mobility, packing ramp, network closure and solid stress — as
//! the face velocities of the field's flux ([`TracerClosure`], `TracerEnv::bed_face`), and are
//! moved by exact cell-by-cell tracking through the linear velocity of each cell (Pollock,
//! Ground Water 26:743, 1988; `TracerEnv::bed_advance`), which cannot overshoot the thin
//! buffy coat whatever the field's (implicit, long) step. docs/physics.md §4.6.

use rayon::prelude::*;

use crate::config::{FieldGeometry, acceleration};
use crate::error::{FieldError, invalid};
use crate::kinetics::TestParticleCell;

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
    /// hydrodynamic diameter d N^⅓ (m), the size the network closure's pores see
    hydro_diameter: Vec<f64>,
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
            hydro_diameter: cells
                .iter()
                .map(|c| c.diameter * c.aggregate_cells.max(1.0).cbrt())
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
    /// the implicit scheme's closures of a consolidating bed (replace the mixtures above)
    pub closure: Option<TracerClosure<'a>>,
}

/// What a tracer feels in a consolidating bed ([`crate::Scheme::Implicit`] with
/// consolidation), at the start and end of the step: per cell the test-particle view of the
/// mixture ([`TestParticleCell`]: bed mobility, packing ramp, network closure, consolidation
/// coefficient) and per face (J + 1, 0 at the walls) the stress gradient
/// (σ_e,R − σ_e,L)/Δr_f (Pa/m).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TracerClosure<'a> {
    pub cells_old: &'a [TestParticleCell],
    pub cells_new: &'a [TestParticleCell],
    pub gradient_old: &'a [f64],
    pub gradient_new: &'a [f64],
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

    /// The velocity at face `f` of a particle (mobility `k`, density excess `excess`,
    /// hydrodynamic diameter `d`) in a consolidating bed: the face velocity of the field's own
    /// flux per unit volume fraction of the donor cell,
    /// u_f = a_f [v_R⁺ + v_L⁻] + (h_R D_f)⁺ + (h_L D_f)⁻ (at the walls the one-sided term of the
    /// cell inside: a tracer leaves a wall but never reaches it), with v and h the
    /// particle's velocity per unit acceleration and consolidation coefficient in the cells
    /// either side ([`TestParticleCell`]) and D_f the stress gradient — the upwinding of the
    /// settling flux and of [`crate::column::Compression`].
    #[inline]
    fn bed_face(
        &self,
        cells: &[TestParticleCell],
        gradient: &[f64],
        f: usize,
        omega_squared: f64,
        (k, excess, d): (f64, f64, f64),
    ) -> f64 {
        let a = acceleration(
            self.geometry,
            self.gravity,
            self.accel_radius[f],
            omega_squared,
        );
        // the walls carry only the one-sided term of the cell inside: a tracer may leave the
        // meniscus or the bottom but not enter them (the field's walls carry no flux)
        if f == 0 {
            return a * cells[0].velocity(k, excess, d).max(0.0);
        }
        if f == self.cells {
            return a * cells[f - 1].velocity(k, excess, d).min(0.0);
        }
        let (left, right) = (&cells[f - 1], &cells[f]);
        let settling = right.velocity(k, excess, d).max(0.0) + left.velocity(k, excess, d).min(0.0);
        let g = gradient[f];
        let compression = if g == 0.0 {
            0.0
        } else {
            (right.compression(k, d) * g).max(0.0) + (left.compression(k, d) * g).min(0.0)
        };
        a * settling + compression
    }

    /// Moves a particle from `r0` over `dt` through a consolidating bed by semi-analytical
    /// cell-by-cell tracking (Pollock, Ground Water 26:743, 1988, the particle tracking of
    /// MODFLOW's MODPATH): in each cell the velocity is linear between its two face
    /// velocities u₀, u₁ (the time average of [`TracerEnv::bed_face`] at the step's two
    /// states), so dr/dt = u₀ + A (r − r₀), A = (u₁ − u₀)/Δr, is integrated exactly,
    /// r(t) = r + u (e^{At} − 1)/A, and the particle passes into the next cell at the exit
    /// time ln(u₁/u)/A. Unlike an explicit step it can neither overshoot a cell the field's
    /// flux converges on (the buffy coat's white cells, faces pointing inward) nor reach a
    /// wall (its velocity towards a wall vanishes there): the tracer is carried exactly as the class's flux carries volume,
    /// for any field step.
    fn bed_advance(
        &self,
        closure: &TracerClosure<'_>,
        r0: f64,
        dt: f64,
        (omega2_old, omega2_new): (f64, f64),
        particle: (f64, f64, f64),
    ) -> f64 {
        let face = |f: usize| {
            let old = self.bed_face(
                closure.cells_old,
                closure.gradient_old,
                f,
                omega2_old,
                particle,
            );
            let new = self.bed_face(
                closure.cells_new,
                closure.gradient_new,
                f,
                omega2_new,
                particle,
            );
            0.5 * (old + new)
        };
        let last = self.cells - 1;
        let mut x = r0.clamp(self.r_min, self.r_max);
        let mut j = (((x - self.r_min) / self.dr).floor().max(0.0) as usize).min(last);
        let mut left = dt;
        // each pass either ends the step or moves the particle into a neighbouring cell
        // whose faces it has not both seen moving towards it, so the loop is bounded
        for _ in 0..=2 * self.cells {
            let x0 = self.r_min + j as f64 * self.dr;
            match pass_through_cell(x, (x0, x0 + self.dr), (face(j), face(j + 1)), left) {
                CellPassage::Stays(end) => {
                    x = end;
                    break;
                }
                CellPassage::Leaves { outward, after } => {
                    left -= after;
                    let next = if outward {
                        x = x0 + self.dr;
                        (j < last).then_some(j + 1)
                    } else {
                        x = x0;
                        j.checked_sub(1)
                    };
                    match next {
                        Some(n) => j = n,
                        None => break,
                    }
                }
            }
        }
        x.clamp(self.r_min, self.r_max)
    }
}

/// Where a particle goes in one cell [x₀, x₁] whose velocity is linear between its face
/// velocities u₀ (at x₀) and u₁ (at x₁), starting at `x` for at most `time`
/// ([`pass_through_cell`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellPassage {
    /// still in the cell when the time is up (or at rest): its position
    Stays(f64),
    /// leaves through the outer (x₁, `outward`) or inner (x₀) face after `after` (s)
    Leaves {
        /// through x₁ (else x₀)
        outward: bool,
        /// the time to the face
        after: f64,
    },
}

/// Exact passage of a particle through one cell of a piecewise-linear velocity field
/// (semi-analytical particle tracking: Pollock, Ground Water 26:743, 1988, the method of
/// MODFLOW's MODPATH): with A = (u₁ − u₀)/(x₁ − x₀) and u = u₀ + A(x − x₀) the particle moves
/// as x(t) = x + u (e^{At} − 1)/A and reaches the face ahead (the one its velocity points
/// to) at t = ln(u_face/u)/A, only if the face velocity points the same way. It never
/// overshoots a point the flow converges on, whatever `time`. Shared by the tube's tracers in
/// a consolidating bed and the channel's tracers (docs/physics.md §4.6, §6.7).
#[inline]
pub fn pass_through_cell(
    x: f64,
    (x0, x1): (f64, f64),
    (u0, u1): (f64, f64),
    time: f64,
) -> CellPassage {
    let a = (u1 - u0) / (x1 - x0);
    let u = u0 + a * (x - x0);
    let (outward, exit, u_exit) = if u > 0.0 {
        (true, x1, u1)
    } else if u < 0.0 {
        (false, x0, u0)
    } else {
        return CellPassage::Stays(x);
    };
    let time_to_exit = if u_exit * u <= 0.0 {
        f64::INFINITY
    } else if a == 0.0 {
        (exit - x) / u
    } else {
        ((u_exit - u) / u).ln_1p() / a
    };
    if time_to_exit >= time {
        let at = a * time;
        let travel = if at == 0.0 {
            u * time
        } else {
            u * at.exp_m1() / a
        };
        CellPassage::Stays((x + travel).clamp(x0, x1))
    } else {
        CellPassage::Leaves {
            outward,
            after: time_to_exit,
        }
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
        hydro_diameter,
        ..
    } = tracers;
    radial
        .par_chunks_mut(chunk)
        .zip(status.par_chunks_mut(chunk))
        .zip(mobility.par_chunks(chunk))
        .zip(density.par_chunks(chunk))
        .zip(hydro_diameter.par_chunks(chunk))
        .for_each(|((((r, st), mob), rho), dh)| {
            for k in 0..r.len() {
                if st[k] == PELLETED {
                    continue;
                }
                let excess = rho[k] - env.fluid_density;
                let r0 = r[k];
                let particle = (mob[k], excess, dh[k]);
                if let Some(closure) = &env.closure {
                    // a consolidating bed: exact cell-by-cell tracking, no pelleting (the
                    // field's walls carry no flux)
                    r[k] = env.bed_advance(closure, r0, dt, (omega2_old, omega2_new), particle);
                    continue;
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// [`pass_through_cell`] against the exact solutions: uniform velocity (x + ut, exit
    /// at (x₁ − x)/u), a velocity linear in x through the origin (x e^{At}, exit at
    /// ln(x₁/x)/A, both directions), a cell the flow converges on (no exit for any time, the
    /// stagnation point approached from either side) and a particle at rest.
    #[test]
    fn pass_through_cell_is_exact_for_a_linear_velocity() {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs().max(1.0);
        // uniform
        assert_eq!(
            pass_through_cell(0.2, (0.0, 1.0), (2.0, 2.0), 0.1),
            CellPassage::Stays(0.2 + 2.0 * 0.1)
        );
        match pass_through_cell(0.2, (0.0, 1.0), (2.0, 2.0), 1.0) {
            CellPassage::Leaves { outward, after } => assert!(outward && close(after, 0.4)),
            other => panic!("{other:?}"),
        }
        // u = A x on [0.5, 2]
        let a = 0.3;
        let (cell, faces) = ((0.5, 2.0), (0.5 * a, 2.0 * a));
        for t in [0.01, 0.5, 2.0] {
            match pass_through_cell(1.0, cell, faces, t) {
                CellPassage::Stays(x) => assert!(close(x, (a * t).exp()), "{t}: {x}"),
                other => panic!("{other:?}"),
            }
        }
        match pass_through_cell(1.0, cell, faces, 10.0) {
            CellPassage::Leaves { outward, after } => {
                assert!(outward && close(after, 2f64.ln() / a), "{after}");
            }
            other => panic!("{other:?}"),
        }
        // the same flow reversed leaves through the inner face
        match pass_through_cell(1.0, cell, (-faces.0, -faces.1), 10.0) {
            CellPassage::Leaves { outward, after } => {
                assert!(!outward && close(after, 2f64.ln() / a), "{after}");
            }
            other => panic!("{other:?}"),
        }
        // converging: stagnation point at 0.5, approached but never crossed
        for x in [0.1, 0.9] {
            for t in [1.0, 1e3, 1e12] {
                match pass_through_cell(x, (0.0, 1.0), (1.0, -1.0), t) {
                    CellPassage::Stays(end) => {
                        assert!((end - 0.5).abs() <= (x - 0.5f64).abs(), "{x} {t}: {end}");
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(
            pass_through_cell(0.5, (0.0, 1.0), (1.0, -1.0), 1.0),
            CellPassage::Stays(0.5)
        );
    }
}
