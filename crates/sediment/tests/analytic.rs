//! The particle models against closed-form solutions (docs/physics.md §3.4, §3.5, §8.1, §8.2).

mod common;

use buffycoat_physics::forces::ForceSet;
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_physics::units::rpm_to_rad_per_s;
use buffycoat_sediment::ParticleModel;
use buffycoat_stepper::Parallel;
use common::*;

fn no_coriolis() -> ForceSet {
    buffycoat_sediment::validation::radial_forces_only()
}

/// Overdamped, constant ω, Coriolis off: r(t) = r₀ exp(s ω² t). The integrator is the closed
/// form, so the only error is round-off accumulated over the steps: ≤ 1e-9 relative (the
/// brief's bound; in practice ~1e-13).
#[test]
fn overdamped_constant_omega_matches_exponential_law() {
    let par = Parallel::serial();
    let omega = rpm_to_rad_per_s(2400.0);
    let rotor = RotorProfile::constant_rpm(2400.0).unwrap();
    let starts = [[0.105, 0.0, 0.0], [0.12, 0.0, 0.0], [0.13, 0.0, 0.0]];
    let cfg = config(
        contract_tube(),
        rotor,
        no_coriolis(),
        ParticleModel::Overdamped,
        None,
    );
    let mut sys = system_at(cfg, &starts, &par);
    let s = probe_s();
    for (t, pos) in trajectory(&mut sys, 20.0, 1.0, &par) {
        for (p, p0) in pos.iter().zip(&starts) {
            let exact = p0[0] * (s * omega * omega * t).exp();
            if exact < 0.16 - buffycoat_sediment::validation::PROBE_DIAMETER / 2.0 {
                let rel = (p[0] / exact - 1.0).abs();
                assert!(rel <= 1e-9, "t = {t}: {} vs {exact}: {rel:e}", p[0]);
                assert_eq!(p[1], 0.0);
            }
        }
    }
}

/// The reported largest particle Reynolds number is Re = ρ |s| √((ω²r)² + g²) d / μ of the
/// fastest moving cell at the end of the run (the solver takes the maximum of the squared
/// speed·diameter, then one square root): equal to the direct formula to a few ulp. Pins the
/// squared-form Reynolds pass of the overdamped push.
#[test]
fn overdamped_reports_the_largest_particle_reynolds_number() {
    let par = Parallel::serial();
    let omega = rpm_to_rad_per_s(2400.0);
    let mut forces = no_coriolis();
    forces.gravity = Some(9.80665);
    let cfg = config(
        contract_tube(),
        RotorProfile::constant_rpm(2400.0).unwrap(),
        forces,
        ParticleModel::Overdamped,
        None,
    );
    let starts = [[0.105, 0.0, 0.0], [0.13, 0.0, 0.0], [0.12, 0.0, 0.0]];
    let mut sys = system_at(cfg, &starts, &par);
    trajectory(&mut sys, 2.0, 1.0, &par);
    let cells = sys.cells();
    let expected = (0..cells.len())
        .map(|i| {
            let r = cells.x[i].hypot(cells.y[i]);
            RHO_F
                * cells.sedimentation[i].abs()
                * (omega * omega * r).hypot(9.80665)
                * cells.diameter[i]
                / MU
        })
        .fold(0.0, f64::max);
    let reported = sys.totals().max_reynolds;
    assert!(expected > 0.0);
    let rel = (reported / expected - 1.0).abs();
    assert!(
        rel <= 8.0 * f64::EPSILON,
        "{reported:e} vs {expected:e}: {rel:e}"
    );
}

/// With Coriolis on, the overdamped cell spirals: r(t) = r₀ exp(sω²t/(1+k²)),
/// θ(t) = −k sω²t/(1+k²), k = 2ωτ_p (exact solution of the force balance with Coriolis).
#[test]
fn overdamped_coriolis_spiral_matches_closed_form() {
    let par = Parallel::serial();
    let omega = rpm_to_rad_per_s(3000.0);
    let rotor = RotorProfile::constant_rpm(3000.0).unwrap();
    let starts = [[0.11, 0.0, 0.0]];
    let cfg = config(
        wide_sector(),
        rotor,
        ForceSet::default(),
        ParticleModel::Overdamped,
        None,
    );
    let mut sys = system_at(cfg, &starts, &par);
    let (s, k) = (probe_s(), 2.0 * omega * probe_tau());
    let rate = s * omega * omega / (1.0 + k * k);
    for (t, pos) in trajectory(&mut sys, 20.0, 2.0, &par) {
        let p = pos[0];
        let r = p[0].hypot(p[1]);
        let theta = p[1].atan2(p[0]);
        assert!(
            (r / (0.11 * (rate * t).exp()) - 1.0).abs() < 1e-11,
            "t = {t}"
        );
        let theta_exact = -k * rate * t;
        assert!((theta - theta_exact).abs() <= 1e-10 * theta_exact.abs().max(1e-12) + 1e-15);
    }
}

/// rpm ramp (Coriolis off): r(t) = r₀ exp(s ∫₀ᵗ ω² dt′).
#[test]
fn overdamped_follows_rpm_ramp_exactly() {
    let par = Parallel::serial();
    let rotor = RotorProfile::trapezoid(3000.0, 7.0, 20.0, 5.5).unwrap();
    let starts = [[0.101, 0.0, 0.0], [0.125, 0.0, 0.0]];
    let cfg = config(
        contract_tube(),
        rotor.clone(),
        no_coriolis(),
        ParticleModel::Overdamped,
        Some(0.3),
    );
    let mut sys = system_at(cfg, &starts, &par);
    let s = probe_s();
    for (t, pos) in trajectory(&mut sys, 30.0, 0.5, &par) {
        let growth = (s * rotor.integral_omega_squared(0.0, t)).exp();
        for (p, p0) in pos.iter().zip(&starts) {
            let exact = p0[0] * growth;
            if exact < 0.155 {
                assert!((p[0] / exact - 1.0).abs() < 1e-12, "t = {t}");
            }
        }
    }
}

/// The Euler force during a ramp turns overdamped cells by B = ∫ b dt with
/// b = −s(ω̇ + kω²)/(1+k²): check the angle against direct quadrature of that rate.
#[test]
fn overdamped_euler_deflection_during_ramp() {
    let par = Parallel::serial();
    let rotor = RotorProfile::trapezoid(4000.0, 4.0, 10.0, 4.0).unwrap();
    let cfg = config(
        wide_sector(),
        rotor.clone(),
        ForceSet::default(),
        ParticleModel::Overdamped,
        Some(0.01),
    );
    let mut sys = system_at(cfg, &[[0.11, 0.0, 0.0]], &par);
    let frames = trajectory(&mut sys, 14.0, 2.0, &par);
    let (s, tau) = (probe_s(), probe_tau());
    // Reference: composite Simpson on a fine grid (integrand smooth within segments; knots at 4, 10).
    let b = |t: f64| {
        let rates = buffycoat_physics::forces::overdamped_rates(
            s,
            tau,
            rotor.omega(t),
            rotor.omega_dot(t),
            true,
            true,
        );
        rates.rotation
    };
    let simpson = |a: f64, c: f64| {
        let n = 2000;
        let h = (c - a) / n as f64;
        (0..=n)
            .map(|i| {
                let w = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                w * b(a
                    + i as f64 * h
                    + if i == 0 {
                        1e-12
                    } else if i == n {
                        -1e-12
                    } else {
                        0.0
                    })
            })
            .sum::<f64>()
            * h
            / 3.0
    };
    let (t, pos) = &frames[frames.len() - 1];
    assert_eq!(*t, 14.0);
    let exact = simpson(0.0, 4.0) + simpson(4.0, 10.0) + simpson(10.0, 14.0);
    let theta = pos[0][1].atan2(pos[0][0]);
    assert!((theta / exact - 1.0).abs() < 1e-8, "{theta} vs {exact}");
}

/// Inertial and overdamped models agree once the ~µs velocity transient has passed: the slow
/// eigenvalue of the inertial system differs from the overdamped rate by O(sω²τ_p) ≈ 10⁻⁸.
#[test]
fn inertial_agrees_with_overdamped_after_transient() {
    let par = Parallel::serial();
    let rotor = RotorProfile::constant_rpm(2400.0).unwrap();
    let starts = [[0.11, 0.0, 0.001], [0.125, 0.001, -0.002]];
    let run = |model| {
        let cfg = config(
            contract_tube(),
            rotor.clone(),
            ForceSet::default(),
            model,
            None,
        );
        let mut sys = system_at(cfg, &starts, &par);
        trajectory(&mut sys, 10.0, 1.0, &par)
    };
    let over = run(ParticleModel::Overdamped);
    let inert = run(ParticleModel::Inertial);
    for ((t, a), (_, b)) in over.iter().zip(&inert).skip(1) {
        for (pa, pb) in a.iter().zip(b) {
            let dr = ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2) + (pa[2] - pb[2]).powi(2))
                .sqrt();
            // The inertial cell starts at rest and lags by about τ_p·u ≈ 10⁻⁹ m; 1e-6 relative
            // is far below any physical difference and far above round-off.
            assert!(dr < 1e-6 * pa[0], "t = {t}: {dr:e} m");
        }
    }
}

/// Coriolis slip of the inertial model: v_θ/v_r → −2ωτ_p (docs/physics.md §3.3), within 1 %.
#[test]
fn inertial_coriolis_slip_ratio() {
    let par = Parallel::serial();
    let omega = rpm_to_rad_per_s(3000.0);
    let rotor = RotorProfile::constant_rpm(3000.0).unwrap();
    let cfg = config(
        wide_sector(),
        rotor,
        ForceSet::default(),
        ParticleModel::Inertial,
        None,
    );
    let mut sys = system_at(cfg, &[[0.12, 0.0, 0.0]], &par);
    trajectory(&mut sys, 2.0, 1.0, &par);
    let c = sys.cells();
    let (x, y) = (c.x[0], c.y[0]);
    let r = x.hypot(y);
    let v_r = (c.vx[0] * x + c.vy[0] * y) / r;
    let v_theta = (-c.vx[0] * y + c.vy[0] * x) / r;
    let expected = -2.0 * omega * probe_tau();
    let got = v_theta / v_r;
    assert!((got / expected - 1.0).abs() < 0.01, "{got} vs {expected}");
}

/// Measured convergence order of the inertial integrator with fixed steps, during an rpm ramp
/// (at constant ω the scheme is nearly exact, which would hide the order). Halving the step
/// must divide the error by ≈ 4 (second order); accept observed orders in [1.8, 2.3].
#[test]
fn inertial_integrator_is_second_order() {
    let orders = buffycoat_sediment::validation::inertial_convergence_orders(&Parallel::serial());
    eprintln!("observed orders {orders:?}");
    for o in &orders {
        assert!((1.8..=2.3).contains(o), "orders {orders:?}");
    }
}

/// Every built-in validation case of `buffycoat validate` passes.
#[test]
fn all_particle_validation_checks_pass() {
    let checks = buffycoat_sediment::validation::validation_checks();
    assert!(checks.len() >= 8);
    for c in &checks {
        eprintln!(
            "{} | {} | {} vs {} ({:.1e})",
            c.case,
            c.quantity,
            c.expected,
            c.got,
            c.relative_error()
        );
        assert!(c.passed(), "{c:?}");
    }
}
