//! The inertial model: particle momentum with the drag advanced exactly (exponential
//! integrator), so the step is not limited by the ~1 µs relaxation time.
//!
//! In complex notation for the plane of rotation, ζ = x + iy and w = v_x + i v_y (ẑ× becomes
//! multiplication by i), Newton's law with the forces of [`buffycoat_physics::forces`] reads
//!
//! ẇ = L w + K(t) ζ,  L = −f/τ_p − 2iω,  K(t) = β (ω² − i ω̇),  β = 1 − ρ_f/ρ_p,
//! ζ̇ = w,
//!
//! and along the axis ẇ_z = −(f/τ_p) w_z − β g. The stiff, linear part L (drag and Coriolis)
//! is integrated exactly through the φ-functions φ₁(x) = (eˣ − 1)/x, φ₂(x) = (eˣ − 1 − x)/x²,
//! φ₃(x) = (eˣ − 1 − x − x²/2)/x³; the forcing G = K ζ is handled by the second-order
//! exponential Runge–Kutta method ETD2RK (Cox & Matthews, J Comput Phys 176:430, 2002), extended
//! to carry the position (ζ = ∫w) exactly for given G(t):
//!
//! predictor (G frozen):  w* = e^{Lh} w + h φ₁ G₀,   ζ* = ζ + h φ₁ w + h² φ₂ G₀,
//! corrector (G linear):  w⁺ = w* + h φ₂ (G₁ − G₀),   ζ⁺ = ζ* + h² φ₃ (G₁ − G₀),
//!
//! with G₀ = K(t) ζ, G₁ = K(t + h) ζ* and L evaluated at the step's mid-point ω (exact at
//! constant ω). The axial motion (constant forcing) is exact. The difference between corrector
//! and predictor position, h² φ₃ (G₁ − G₀), is the embedded error estimate (order 1 in the
//! sense of [`buffycoat_stepper::StepController`]); the corrector is propagated (local
//! extrapolation), giving a second-order method, verified by the convergence test. In the limit
//! h ≫ τ_p the scheme becomes Heun's method on the overdamped motion, with the initial velocity
//! transient integrated exactly.

use crate::geometry::{Container, status};
use crate::solver::{ChunkStats, Env, Tolerances};
use buffycoat_physics::forces::particle_reynolds_number;
use buffycoat_stepper::{StepController, StepDecision};
use num_complex::Complex64;

/// φ₀ = eˣ, φ₁, φ₂, φ₃ of a complex argument. Taylor series (to x¹⁸) for |x| < 1, where the
/// closed forms cancel; the closed forms elsewhere, with one complex division. For Re x < −40,
/// |eˣ| < 5·10⁻¹⁸ is below half an ulp of the terms it is added to, so it is taken as 0 and the
/// exponential is skipped (strongly damped steps, h ≫ τ_p, the common case).
#[inline]
pub fn phi_functions(x: Complex64) -> [Complex64; 4] {
    if x.norm_sqr() < 1.0 {
        // φ_k(x) = Σ_j x^j / (j + k)!; accumulate by Horner from the highest term.
        let mut p3 = Complex64::new(0.0, 0.0);
        for j in (0..19).rev() {
            p3 = p3 * x + 1.0 / factorial(j + 3);
        }
        let p2 = p3 * x + 0.5;
        let p1 = p2 * x + 1.0;
        let p0 = p1 * x + 1.0;
        [p0, p1, p2, p3]
    } else {
        let e = if x.re < -40.0 {
            Complex64::new(0.0, 0.0)
        } else {
            x.exp()
        };
        let inv = x.inv();
        let p1 = (e - 1.0) * inv;
        let p2 = (p1 - 1.0) * inv;
        let p3 = (p2 - 0.5) * inv;
        [e, p1, p2, p3]
    }
}

/// The real-argument φ₀…φ₂ (axial motion, whose damping is real); same switching as
/// [`phi_functions`].
#[inline]
pub fn phi_functions_real(x: f64) -> [f64; 3] {
    if x.abs() < 1.0 {
        let mut p2 = 0.0;
        for j in (0..19).rev() {
            p2 = p2 * x + 1.0 / factorial(j + 2);
        }
        let p1 = p2 * x + 1.0;
        [p1 * x + 1.0, p1, p2]
    } else {
        let e = if x < -40.0 { 0.0 } else { x.exp() };
        let inv = 1.0 / x;
        let p1 = (e - 1.0) * inv;
        [e, p1, (p1 - 1.0) * inv]
    }
}

#[inline]
fn factorial(n: usize) -> f64 {
    (1..=n).fold(1.0, |acc, k| acc * k as f64)
}

/// Arrays of one chunk of cells for the inertial kernel.
pub(crate) struct Chunk<'a> {
    pub x: &'a mut [f64],
    pub y: &'a mut [f64],
    pub z: &'a mut [f64],
    pub vx: &'a mut [f64],
    pub vy: &'a mut [f64],
    pub vz: &'a mut [f64],
    pub status: &'a mut [u8],
    pub step: &'a mut [f64],
    pub sedimentation: &'a [f64],
    pub relaxation: &'a [f64],
    pub diameter: &'a [f64],
}

/// One ETD2 step of size `h` from `t`; returns the new (ζ, w, z, w_z) and the position error
/// estimate |h² φ₃ (G₁ − G₀)| (m).
#[inline]
fn etd2_step(
    zeta: Complex64,
    w: Complex64,
    z: f64,
    wz: f64,
    t: f64,
    h: f64,
    beta: f64,
    damping: f64,
    env: &Env<'_>,
) -> (Complex64, Complex64, f64, f64, f64) {
    let coriolis = if env.forces.coriolis { 2.0 } else { 0.0 };
    let omega_dot = if env.forces.euler {
        env.rotor.omega_dot(t)
    } else {
        0.0
    };
    let (om0, om_mid, om1) = (
        env.rotor.omega(t),
        env.rotor.omega(t + 0.5 * h),
        env.rotor.omega(t + h),
    );
    let l = Complex64::new(-damping, -coriolis * om_mid);
    let [e, p1, p2, p3] = phi_functions(l * h);
    let k0 = beta * Complex64::new(om0 * om0, -omega_dot);
    let k1 = beta * Complex64::new(om1 * om1, -omega_dot);
    let g0 = k0 * zeta;
    let w_pred = e * w + h * p1 * g0;
    let zeta_pred = zeta + h * p1 * w + h * h * p2 * g0;
    let dg = k1 * zeta_pred - g0;
    let w_new = w_pred + h * p2 * dg;
    let correction = h * h * p3 * dg;
    let zeta_new = zeta_pred + correction;
    // Axial: exact for the constant forcing −βg.
    let ga = -beta * env.gravity();
    let [ea, a1, a2] = phi_functions_real(-damping * h);
    let wz_new = ea * wz + h * a1 * ga;
    let z_new = z + h * a1 * wz + h * h * a2 * ga;
    (zeta_new, w_new, z_new, wz_new, correction.norm())
}

/// Advances every cell of a chunk from `t0` to `t1`, each with its own step size (stored in
/// `chunk.step` between calls), or with the fixed step `fixed` when given.
pub(crate) fn advance_chunk<C: Container>(
    walls: &C,
    env: &Env<'_>,
    t0: f64,
    t1: f64,
    fixed: Option<f64>,
    tol: &Tolerances,
    c: Chunk<'_>,
) -> ChunkStats {
    let controller = StepController::new(1);
    let mut stats = ChunkStats::default();
    for idx in 0..c.x.len() {
        if c.status[idx] & status::FROZEN != 0 {
            continue;
        }
        let s = c.sedimentation[idx];
        let tau = c.relaxation[idx];
        let d = c.diameter[idx];
        let a = 0.5 * d;
        let beta = s / tau;
        let mut zeta = Complex64::new(c.x[idx], c.y[idx]);
        let mut w = Complex64::new(c.vx[idx], c.vy[idx]);
        let (mut z, mut wz) = (c.z[idx], c.vz[idx]);
        let mut st = c.status[idx];
        let mut h = fixed.unwrap_or(c.step[idx]);
        let mut t = t0;
        while t < t1 && st & status::FROZEN == 0 {
            let stop = env.rotor.next_knot_after(t).map_or(t1, |k| k.min(t1));
            let h_try = h.min(tol.max_step).min(stop - t);
            // Land exactly on `stop` when within round-off of it.
            let (h_try, t_next) = if t + h_try >= stop - 1e-12 * stop.abs() {
                (stop - t, stop)
            } else {
                (h_try, t + h_try)
            };
            let speed = w.norm().hypot(wz);
            let re = particle_reynolds_number(env.fluid_density, speed, d, env.viscosity);
            let damping = env.forces.drag.correction(re) / tau;
            let (zeta_new, w_new, z_new, wz_new, err) =
                etd2_step(zeta, w, z, wz, t, h_try, beta, damping, env);
            if fixed.is_none() {
                let scale = tol.atol_position + tol.rtol * zeta_new.norm().hypot(z_new);
                let err = err / scale;
                match controller.decide(h_try, err) {
                    StepDecision::Accept { next } => h = next,
                    StepDecision::Reject { retry } => {
                        if h_try > tol.min_step {
                            stats.rejected_steps += 1;
                            h = retry.max(tol.min_step);
                            continue;
                        }
                        // At the step floor: accept rather than stall, and report it.
                        stats.forced_steps += 1;
                        h = tol.min_step;
                    }
                }
            }
            let mut p = [zeta_new.re, zeta_new.im, z_new];
            let mut v = [w_new.re, w_new.im, wz_new];
            st = if walls.inside(&p, a) {
                status::FREE
            } else {
                walls.confine(&mut p, Some(&mut v), a)
            };
            zeta = Complex64::new(p[0], p[1]);
            w = Complex64::new(v[0], v[1]);
            z = p[2];
            wz = v[2];
            t = t_next;
            stats.particle_steps += 1;
            stats.max_reynolds = stats.max_reynolds.max(re);
        }
        c.x[idx] = zeta.re;
        c.y[idx] = zeta.im;
        c.z[idx] = z;
        c.vx[idx] = w.re;
        c.vy[idx] = w.im;
        c.vz[idx] = wz;
        c.status[idx] = st;
        if fixed.is_none() {
            c.step[idx] = h;
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_functions_are_continuous_across_the_series_switch() {
        for &x in &[
            Complex64::new(-0.999_999, 0.0),
            Complex64::new(0.6, -0.79),
            Complex64::new(-0.3, 0.9),
        ] {
            let series = phi_functions(x);
            let e = x.exp();
            let closed = [
                e,
                (e - 1.0) / x,
                (e - 1.0 - x) / (x * x),
                (e - 1.0 - x - 0.5 * x * x) / (x * x * x),
            ];
            // The closed forms lose about |x|⁻³ ε near |x| = 1; 1e-13 covers it.
            for k in 0..4 {
                assert!((series[k] - closed[k]).norm() < 1e-13, "{x} φ{k}");
            }
        }
        for &x in &[-0.5, 0.9, -3.0, -50.0] {
            let r = phi_functions_real(x);
            let c = phi_functions(Complex64::new(x, 0.0));
            for k in 0..3 {
                assert!(
                    (r[k] - c[k].re).abs() < 1e-14 * c[k].re.abs().max(1.0),
                    "{x} φ{k}"
                );
            }
        }
        // Recurrence φ_{k}(x) = x φ_{k+1}(x) + 1/k! holds everywhere.
        for &x in &[Complex64::new(-1e4, 3.0), Complex64::new(-2.0, -5.0)] {
            let p = phi_functions(x);
            assert!((p[0] - (x * p[1] + 1.0)).norm() < 1e-12 * p[0].norm().max(1.0));
            assert!((p[1] - (x * p[2] + 1.0)).norm() < 1e-12 * p[1].norm().max(1.0));
            assert!((p[2] - (x * p[3] + 0.5)).norm() < 1e-12 * p[2].norm().max(1.0));
        }
    }
}
