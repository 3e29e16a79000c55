//! Forces on a cell in the rotating frame, drag closures and the derived kinematic constants.
//!
//! Frame and symbols (SI throughout): the rotor turns with angular velocity ω ẑ (rad/s) about the
//! z axis, ω̇ its rate of change (rad/s²). The fluid co-rotates rigidly, i.e. it is at rest in the
//! rotating frame, so its pressure field balances ρ_f (ω²x⊥ − ω̇ ẑ×x + g): every body force on a
//! cell is reduced by buoyancy to the density excess ρ_p − ρ_f. A cell has sphere-equivalent
//! diameter d (m), volume V = πd³/6 (m³), density ρ_p (kg/m³), mass m = ρ_p V; the fluid has
//! density ρ_f and dynamic viscosity μ (Pa·s). x⊥ = (x, y, 0) is the position projected on the
//! plane of rotation, v the velocity relative to the rotating frame.
//!
//! | force | law (N) | note |
//! |---|---|---|
//! | net centrifugal | (ρ_p − ρ_f) V ω² x⊥ | buoyancy included |
//! | Coriolis | −2 m ω ẑ × v | fluid at rest ⇒ no buoyant counterpart |
//! | Euler | −(ρ_p − ρ_f) V ω̇ ẑ × x | only while ω changes (buoyancy: rigid co-rotation assumed) |
//! | gravity | −(ρ_p − ρ_f) V g ẑ | optional; the rotation axis is vertical |
//! | drag | −ζ f(Re) v, ζ = 3π μ d χ | Stokes with dynamic shape factor χ ≥ 1; optional finite-Re factor f |
//!
//! Sources: rotating-frame forces, e.g. Landau & Lifshitz, *Mechanics* §39; Stokes drag and the
//! dynamic shape factor, Clift, Grace & Weber, *Bubbles, Drops and Particles* (1978) ch. 3–4;
//! Schiller & Naumann, Z. Ver. Dtsch. Ing. 77:318 (1933); docs/physics.md §3.1, §3.2.
//!
//! Rigid co-rotation is the standard assumption of centrifugal sedimentation theory (the walls of
//! a tube, sector or channel drive the fluid). During spin-up the real fluid lags the walls for a
//! spin-up time of order h/√(νω) (Greenspan & Howard, J Fluid Mech 17:385, 1963), a second or so
//! for a centimetre-deep sample; that transient is not modelled.

use nalgebra::Vector3;
use std::f64::consts::PI;

/// Drag law: Stokes drag, optionally corrected for finite particle Reynolds number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DragLaw {
    /// Stokes drag ζ v with ζ = 3π μ d χ: exact as Re → 0, error O(Re) (Oseen: 3/16 Re).
    /// The right law for cells, whose Re ≤ 10⁻² (docs/physics.md §3.2). The default.
    #[default]
    Stokes,
    /// Stokes drag times f(Re) = 1 + 0.15 Re^0.687, valid for Re < 800 (Schiller & Naumann 1933;
    /// Clift, Grace & Weber 1978, Table 5.2). A fit for Re ≳ 1: below Re ≈ 0.1 it overstates the
    /// true correction (3/16 Re), which is why [`DragLaw::Stokes`] is the default.
    SchillerNaumann,
}

impl DragLaw {
    /// Drag correction factor f(Re) ≥ 1 multiplying the Stokes drag.
    #[inline]
    pub fn correction(self, reynolds: f64) -> f64 {
        match self {
            DragLaw::Stokes => 1.0,
            DragLaw::SchillerNaumann => 1.0 + 0.15 * reynolds.powf(0.687),
        }
    }
}

/// Which forces act (the drag always does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForceSet {
    /// Coriolis force −2mω×v.
    pub coriolis: bool,
    /// Euler force during ramps, −(ρ_p − ρ_f)V ω̇ ẑ × x.
    pub euler: bool,
    /// Gravity along −ẑ with this acceleration (m/s²); `None` = off.
    pub gravity: Option<f64>,
    /// Drag law.
    pub drag: DragLaw,
}

impl Default for ForceSet {
    /// Coriolis and Euler on, gravity off, Stokes drag.
    fn default() -> Self {
        Self {
            coriolis: true,
            euler: true,
            gravity: None,
            drag: DragLaw::Stokes,
        }
    }
}

/// Stokes drag coefficient ζ = 3π μ d χ (N·s/m) of a sphere-equivalent cell of diameter `d` (m)
/// in a fluid of viscosity `viscosity` (Pa·s), with dynamic shape factor `shape_factor` χ ≥ 1.
/// Valid for Re ≪ 1 (Stokes 1851; Clift, Grace & Weber 1978, eq. 3-14).
#[inline]
pub fn stokes_drag_coefficient(viscosity: f64, d: f64, shape_factor: f64) -> f64 {
    3.0 * PI * viscosity * d * shape_factor
}

/// Sedimentation coefficient s = d² (ρ_p − ρ_f) / (18 μ χ) (s): the terminal velocity per unit
/// acceleration, u = s a. Negative for cells lighter than the fluid (they float).
/// Svedberg & Pedersen, *The Ultracentrifuge* (1940); docs/physics.md §3.3.
#[inline]
pub fn sedimentation_coefficient(
    d: f64,
    particle_density: f64,
    fluid_density: f64,
    viscosity: f64,
    shape_factor: f64,
) -> f64 {
    d * d * (particle_density - fluid_density) / (18.0 * viscosity * shape_factor)
}

/// Particle (momentum) relaxation time τ_p = m/ζ = ρ_p d² / (18 μ χ) (s), about 1 µs for blood
/// cells in plasma (docs/physics.md §3.3).
#[inline]
pub fn relaxation_time(d: f64, particle_density: f64, viscosity: f64, shape_factor: f64) -> f64 {
    particle_density * d * d / (18.0 * viscosity * shape_factor)
}

/// Particle Reynolds number Re = ρ_f |v| d / μ (dimensionless), `speed` relative to the fluid.
#[inline]
pub fn particle_reynolds_number(fluid_density: f64, speed: f64, d: f64, viscosity: f64) -> f64 {
    fluid_density * speed * d / viscosity
}

/// In-plane velocity field of an overdamped cell, v⊥ = a x⊥ + b ẑ × x⊥ (see [`overdamped_rates`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanarRates {
    /// radial growth rate a (1/s)
    pub growth: f64,
    /// rotation rate b (rad/s), negative = clockwise (Coriolis slip against the rotation)
    pub rotation: f64,
}

/// Overdamped (terminal-velocity) motion in the plane of rotation.
///
/// Neglecting particle acceleration, the force balance on a cell with sedimentation coefficient
/// `s` (s) and relaxation time `tau` (s) — both already divided by any drag correction — is
///
/// ζ v = (ρ_p − ρ_f)V (ω² x⊥ − ω̇ ẑ×x⊥) − 2 m ω ẑ × v,
///
/// i.e. (I + k J) v = s (ω² I − ω̇ J) x⊥ with J = ẑ×· (J² = −I) and k = 2ωτ. Since
/// (I + kJ)⁻¹ = (I − kJ)/(1 + k²):
///
/// v⊥ = a x⊥ + b J x⊥, a = s (ω² − k ω̇)/(1 + k²), b = −s (ω̇ + k ω²)/(1 + k²).
///
/// With ω̇ = 0 this gives the Coriolis slip v_θ/v_r = b/a = −2ωτ_p (docs/physics.md §3.4). Because
/// every such field is a combination of I and J, which commute, the motion over any time interval
/// is exactly x⊥(t₁) = exp(∫a dt) R(∫b dt) x⊥(t₀) (R a rotation): the overdamped integrator uses
/// this closed form. `coriolis`/`euler` switch the corresponding forces off (k = 0 / ω̇ = 0).
#[inline]
pub fn overdamped_rates(
    s: f64,
    tau: f64,
    omega: f64,
    omega_dot: f64,
    coriolis: bool,
    euler: bool,
) -> PlanarRates {
    let k = if coriolis { 2.0 * omega * tau } else { 0.0 };
    let wd = if euler { omega_dot } else { 0.0 };
    let inv = 1.0 / (1.0 + k * k);
    PlanarRates {
        growth: s * (omega * omega - k * wd) * inv,
        rotation: -s * (wd + k * omega * omega) * inv,
    }
}

/// A single cell's properties needed to evaluate forces (SI).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellBody {
    /// sphere-equivalent diameter d (m)
    pub diameter: f64,
    /// density ρ_p (kg/m³)
    pub density: f64,
    /// dynamic shape factor χ ≥ 1
    pub shape_factor: f64,
}

impl CellBody {
    /// Volume V = πd³/6 (m³).
    #[inline]
    pub fn volume(&self) -> f64 {
        crate::units::sphere_volume(self.diameter)
    }
    /// Mass m = ρ_p V (kg).
    #[inline]
    pub fn mass(&self) -> f64 {
        self.density * self.volume()
    }
}

/// The individual forces on a cell (N), for diagnostics and as the reference implementation the
/// fast integrators are tested against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForceBreakdown {
    /// net centrifugal (buoyancy included)
    pub centrifugal: Vector3<f64>,
    /// Coriolis
    pub coriolis: Vector3<f64>,
    /// Euler
    pub euler: Vector3<f64>,
    /// net gravity
    pub gravity: Vector3<f64>,
    /// drag
    pub drag: Vector3<f64>,
    /// particle Reynolds number
    pub reynolds: f64,
}

impl ForceBreakdown {
    /// Sum of all forces (N).
    pub fn total(&self) -> Vector3<f64> {
        self.centrifugal + self.coriolis + self.euler + self.gravity + self.drag
    }
}

/// Evaluates every force of the table in the module doc on `cell` at position `x` (m) with
/// velocity `v` (m/s, rotating frame), for rotor state (ω, ω̇), fluid (ρ_f, μ) and force set.
pub fn forces_on_cell(
    cell: &CellBody,
    x: Vector3<f64>,
    v: Vector3<f64>,
    omega: f64,
    omega_dot: f64,
    fluid_density: f64,
    viscosity: f64,
    set: &ForceSet,
) -> ForceBreakdown {
    let z = Vector3::z();
    let excess_mass = (cell.density - fluid_density) * cell.volume();
    let x_perp = Vector3::new(x.x, x.y, 0.0);
    let reynolds = particle_reynolds_number(fluid_density, v.norm(), cell.diameter, viscosity);
    let zeta = stokes_drag_coefficient(viscosity, cell.diameter, cell.shape_factor)
        * set.drag.correction(reynolds);
    ForceBreakdown {
        centrifugal: excess_mass * omega * omega * x_perp,
        coriolis: if set.coriolis {
            -2.0 * cell.mass() * omega * z.cross(&v)
        } else {
            Vector3::zeros()
        },
        euler: if set.euler {
            -excess_mass * omega_dot * z.cross(&x)
        } else {
            Vector3::zeros()
        },
        gravity: set
            .gravity
            .map_or(Vector3::zeros(), |g| -excess_mass * g * z),
        drag: -zeta * v,
        reynolds,
    }
}

/// Terminal speed factor with a finite-Re drag law: returns f such that the terminal velocity is
/// u_Stokes / f, solving f = f(Re(u_Stokes / f)) by fixed-point iteration (a contraction, since
/// df/dRe · Re/f < 0.7 for Schiller–Naumann). `stokes_speed` in m/s.
pub fn terminal_drag_correction(
    law: DragLaw,
    stokes_speed: f64,
    fluid_density: f64,
    d: f64,
    viscosity: f64,
) -> f64 {
    if law == DragLaw::Stokes || stokes_speed == 0.0 {
        return 1.0;
    }
    let re_stokes = particle_reynolds_number(fluid_density, stokes_speed, d, viscosity);
    let mut f = 1.0;
    for _ in 0..60 {
        let next = law.correction(re_stokes / f);
        if (next - f).abs() <= 1e-15 * next {
            return next;
        }
        f = next;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const MU: f64 = 1.39e-3;
    const RHO_F: f64 = 1020.5;

    #[test]
    fn sedimentation_coefficient_equals_terminal_velocity_per_acceleration() {
        // Force balance ζ u = (ρp − ρf) V a  ⇒  u/a = (ρp − ρf) V / ζ = s.
        let (d, rho, chi) = (9.63e-6, 1082.0, 1.1);
        let s = sedimentation_coefficient(d, rho, RHO_F, MU, chi);
        let v = crate::units::sphere_volume(d);
        let from_balance = (rho - RHO_F) * v / stokes_drag_coefficient(MU, d, chi);
        assert!((s / from_balance - 1.0).abs() < 4.0 * f64::EPSILON);
        let tau = relaxation_time(d, rho, MU, chi);
        assert!((tau / (rho * v / stokes_drag_coefficient(MU, d, chi)) - 1.0).abs() < 4e-16);
        // A lymphocyte-sized cell relaxes in about a microsecond (docs/physics.md §3.3).
        assert!(tau > 1e-6 && tau < 1e-5, "{tau}");
    }

    #[test]
    fn overdamped_rates_solve_the_force_balance() {
        // The velocity a x + b ẑ×x must make the total force (with drag) vanish.
        let cell = CellBody {
            diameter: 8e-6,
            density: 1095.0,
            shape_factor: 1.0,
        };
        let s = sedimentation_coefficient(cell.diameter, cell.density, RHO_F, MU, 1.0);
        let tau = relaxation_time(cell.diameter, cell.density, MU, 1.0);
        let (omega, omega_dot) = (300.0, 45.0);
        let rates = overdamped_rates(s, tau, omega, omega_dot, true, true);
        let x = Vector3::new(0.11, -0.02, 0.003);
        let v = rates.growth * Vector3::new(x.x, x.y, 0.0)
            + rates.rotation * Vector3::new(-x.y, x.x, 0.0);
        let set = ForceSet::default();
        let f = forces_on_cell(&cell, x, v, omega, omega_dot, RHO_F, MU, &set);
        let scale = f.centrifugal.norm();
        assert!(
            f.total().norm() < 1e-12 * scale,
            "{}",
            f.total().norm() / scale
        );
        // Coriolis slip ratio.
        let plain = overdamped_rates(s, tau, omega, 0.0, true, true);
        assert!((plain.rotation / plain.growth + 2.0 * omega * tau).abs() < 1e-15);
    }

    #[test]
    fn schiller_naumann_terminal_correction_is_a_fixed_point() {
        let (d, u_stokes) = (1e-3, 0.05); // Re ≈ 37: a visible correction
        let f = terminal_drag_correction(DragLaw::SchillerNaumann, u_stokes, RHO_F, d, MU);
        let re = particle_reynolds_number(RHO_F, u_stokes / f, d, MU);
        assert!((f - (1.0 + 0.15 * re.powf(0.687))).abs() < 1e-13);
        assert!(f > 1.5);
        assert_eq!(
            terminal_drag_correction(DragLaw::Stokes, u_stokes, RHO_F, d, MU),
            1.0
        );
    }
}
