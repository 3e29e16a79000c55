//! Validation cases of the particle models against closed-form solutions, for
//! `buffycoat validate` and the test suite. Each case documents its source and why its
//! tolerance is what it is.

use crate::{
    CellSpec, Cells, Geometry, ParticleModel, Sector, Sedimentation, SedimentationConfig,
    Tolerances, Tube,
};
use buffycoat_physics::forces::{DragLaw, ForceSet, relaxation_time, sedimentation_coefficient};
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_physics::units::rpm_to_rad_per_s;
use buffycoat_physics::validation::Check;
use buffycoat_stepper::{Cadence, Executor, Frame, Parallel, Schedule};

/// Plasma density at 37 °C, 1020.5 kg/m³ (Trudnowski & Rico, Clin Chem 20:615, 1974).
pub const PLASMA_DENSITY: f64 = 1020.5;
/// Plasma viscosity at 37 °C, 1.39 mPa·s (Rosenson et al., Clin Chem 42:1189, 1996).
pub const PLASMA_VISCOSITY: f64 = 1.39e-3;
/// The contract scenario's probe cell: diameter 9.63 µm (a 468 fL neutrophil, Zipursky 1976).
pub const PROBE_DIAMETER: f64 = 9.63e-6;
/// Probe density 1082 kg/m³ (neutrophil-like: > 1080 kg/m³ in Zipursky et al., Blood 48:361,
/// 1976; docs/physics.md §2.2).
pub const PROBE_DENSITY: f64 = 1082.0;

/// Sedimentation coefficient of the probe in plasma (s).
pub fn probe_sedimentation() -> f64 {
    sedimentation_coefficient(
        PROBE_DIAMETER,
        PROBE_DENSITY,
        PLASMA_DENSITY,
        PLASMA_VISCOSITY,
        1.0,
    )
}

/// Relaxation time of the probe (s).
pub fn probe_relaxation() -> f64 {
    relaxation_time(PROBE_DIAMETER, PROBE_DENSITY, PLASMA_VISCOSITY, 1.0)
}

/// The contract scenario's tube: r 0.10–0.16 m, inner radius 6 mm.
pub fn contract_tube() -> Geometry {
    Geometry::Tube(Tube::new(0.10, 0.16, 0.006).expect("valid tube"))
}

/// A wide sector (60°, r 0.10–0.20 m, 2 cm high) in which spiralling cells stay clear of walls.
pub fn wide_sector() -> Geometry {
    Geometry::Sector(Sector::new(0.10, 0.20, 60f64.to_radians(), 0.02).expect("valid sector"))
}

/// Forces without Coriolis and Euler terms (for the pure exponential law).
pub fn radial_forces_only() -> ForceSet {
    ForceSet {
        coriolis: false,
        euler: false,
        gravity: None,
        drag: DragLaw::Stokes,
    }
}

/// A configuration with plasma at 37 °C.
pub fn plasma_config(
    geometry: Geometry,
    rotor: RotorProfile,
    forces: ForceSet,
    model: ParticleModel,
    dt: Option<f64>,
) -> SedimentationConfig {
    SedimentationConfig {
        geometry,
        rotor,
        fluid_density: PLASMA_DENSITY,
        viscosity: PLASMA_VISCOSITY,
        forces,
        model,
        dt,
        tolerances: Tolerances::default(),
    }
}

/// Probe cells starting at the given positions.
pub fn probes_at(cfg: SedimentationConfig, starts: &[[f64; 3]], par: &Parallel) -> Sedimentation {
    let specs = vec![
        CellSpec {
            species: 0,
            diameter: PROBE_DIAMETER,
            density: PROBE_DENSITY,
            shape_factor: 1.0,
        };
        starts.len()
    ];
    let cells = Cells::place(&specs, &cfg.geometry, PLASMA_DENSITY, PLASMA_VISCOSITY, 1)
        .expect("probe cells fit");
    let mut sys = Sedimentation::new(cfg, cells, par).expect("valid configuration");
    for (i, p) in starts.iter().enumerate() {
        sys.cells_mut().set_position(i, *p);
    }
    sys
}

/// Runs to `duration` with frames every `interval`; returns (time, positions) per frame.
pub fn trajectory(
    sys: &mut Sedimentation,
    duration: f64,
    interval: f64,
    par: &Parallel,
) -> Vec<(f64, Vec<[f64; 3]>)> {
    let mut frames = Vec::new();
    let mut record = |f: &Frame<'_, Sedimentation>| {
        let c = f.state.cells();
        frames.push((f.time, (0..c.len()).map(|i| c.position(i)).collect()));
        Ok::<(), crate::SedimentError>(())
    };
    Executor::new(Schedule::new(duration, interval).expect("valid schedule"))
        .observe(Cadence::ALWAYS, &mut record)
        .run(sys, par)
        .expect("validation runs cannot fail");
    frames
}

fn final_position(sys: &mut Sedimentation, duration: f64, par: &Parallel) -> [f64; 3] {
    trajectory(sys, duration, duration, par)
        .pop()
        .expect("at least one frame")
        .1[0]
}

/// Observed convergence order of the inertial integrator with fixed steps during an rpm ramp
/// (0.4 s halved three times against a 1024× finer reference): returns the three orders.
pub fn inertial_convergence_orders(par: &Parallel) -> [f64; 3] {
    let rotor = RotorProfile::from_rpm_knots(&[(0.0, 500.0), (4.0, 5000.0)]).expect("valid ramp");
    let end = |dt: f64| {
        let cfg = plasma_config(
            wide_sector(),
            rotor.clone(),
            ForceSet::default(),
            ParticleModel::Inertial,
            Some(dt),
        );
        let mut sys = probes_at(cfg, &[[0.11, 0.0, 0.0]], par);
        final_position(&mut sys, 4.0, par)
    };
    let reference = end(0.4 / 1024.0);
    let err = |dt: f64| {
        let p = end(dt);
        (p[0] - reference[0]).hypot(p[1] - reference[1])
    };
    let e = [err(0.4), err(0.2), err(0.1), err(0.05)];
    [
        (e[0] / e[1]).log2(),
        (e[1] / e[2]).log2(),
        (e[2] / e[3]).log2(),
    ]
}

/// All particle-model validation checks.
pub fn validation_checks() -> Vec<Check> {
    let par = Parallel::serial();
    let s = probe_sedimentation();
    let tau = probe_relaxation();
    let mut checks = Vec::new();

    // 1. Overdamped, constant ω, radial forces only: r(t) = r₀ exp(sω²t) (docs/physics.md §8.1).
    {
        let omega = rpm_to_rad_per_s(2400.0);
        let cfg = plasma_config(
            contract_tube(),
            RotorProfile::constant_rpm(2400.0).expect("rpm"),
            radial_forces_only(),
            ParticleModel::Overdamped,
            None,
        );
        let mut sys = probes_at(cfg, &[[0.11, 0.0, 0.0]], &par);
        let p = final_position(&mut sys, 20.0, &par);
        checks.push(Check::new(
            "overdamped, 2400 rpm, tube",
            "r(20 s) [m]",
            0.11 * (s * omega * omega * 20.0).exp(),
            p[0],
            1e-9,
            "r₀ exp(sω²t); closed-form integrator, only round-off remains",
        ));
    }
    // 2. Coriolis spiral: r = r₀ exp(sω²t/(1+k²)), θ = −k sω²t/(1+k²), k = 2ωτ_p.
    {
        let omega = rpm_to_rad_per_s(3000.0);
        let k = 2.0 * omega * tau;
        let rate = s * omega * omega / (1.0 + k * k);
        let cfg = plasma_config(
            wide_sector(),
            RotorProfile::constant_rpm(3000.0).expect("rpm"),
            ForceSet::default(),
            ParticleModel::Overdamped,
            None,
        );
        let mut sys = probes_at(cfg, &[[0.11, 0.0, 0.0]], &par);
        let p = final_position(&mut sys, 20.0, &par);
        checks.push(Check::new(
            "overdamped + Coriolis, 3000 rpm, sector",
            "θ(20 s) [rad]",
            -k * rate * 20.0,
            p[1].atan2(p[0]),
            1e-9,
            "exact solution of the overdamped balance with Coriolis (forces module)",
        ));
    }
    // 3. Ramp: r(t) = r₀ exp(s ∫ω² dt).
    {
        let rotor = RotorProfile::trapezoid(3000.0, 7.0, 20.0, 5.5).expect("ramp");
        let exact = 0.101 * (s * rotor.integral_omega_squared(0.0, 30.0)).exp();
        let cfg = plasma_config(
            contract_tube(),
            rotor,
            radial_forces_only(),
            ParticleModel::Overdamped,
            Some(0.3),
        );
        let mut sys = probes_at(cfg, &[[0.101, 0.0, 0.0]], &par);
        let p = final_position(&mut sys, 30.0, &par);
        checks.push(Check::new(
            "overdamped, ramp 0→3000 rpm (7 s), brake (5.5 s)",
            "r(30 s) [m]",
            exact,
            p[0],
            1e-9,
            "r₀ exp(s∫ω²dt); Gauss–Legendre exact for the quadratic ω²",
        ));
    }
    // 4. Inertial agrees with overdamped after the transient.
    {
        let rotor = RotorProfile::constant_rpm(2400.0).expect("rpm");
        let run = |model| {
            let cfg = plasma_config(
                contract_tube(),
                rotor.clone(),
                ForceSet::default(),
                model,
                None,
            );
            let mut sys = probes_at(cfg, &[[0.11, 0.0, 0.001]], &par);
            final_position(&mut sys, 10.0, &par)
        };
        let (over, inert) = (run(ParticleModel::Overdamped), run(ParticleModel::Inertial));
        checks.push(Check::new(
            "inertial vs overdamped, 2400 rpm",
            "x(10 s) [m]",
            over[0],
            inert[0],
            1e-6,
            "models differ by O(sω²τ_p) ≈ 1e-8 plus the µs start-up lag; 1e-6 leaves room for the adaptive step",
        ));
    }
    // 5. Coriolis slip of the inertial model: v_θ/v_r = −2ωτ_p.
    {
        let omega = rpm_to_rad_per_s(3000.0);
        let cfg = plasma_config(
            wide_sector(),
            RotorProfile::constant_rpm(3000.0).expect("rpm"),
            ForceSet::default(),
            ParticleModel::Inertial,
            None,
        );
        let mut sys = probes_at(cfg, &[[0.12, 0.0, 0.0]], &par);
        final_position(&mut sys, 2.0, &par);
        let c = sys.cells();
        let (x, y) = (c.x[0], c.y[0]);
        let v_r = c.vx[0] * x + c.vy[0] * y;
        let v_theta = -c.vx[0] * y + c.vy[0] * x;
        checks.push(Check::new(
            "inertial Coriolis slip, 3000 rpm",
            "v_θ/v_r",
            -2.0 * omega * tau,
            v_theta / v_r,
            1e-2,
            "docs/physics.md §3.3; the brief's 1 % bound",
        ));
    }
    // 6. Convergence order of the inertial integrator.
    {
        let orders = inertial_convergence_orders(&par);
        checks.push(Check::new(
            "inertial ETD2, fixed steps, ramp 500→5000 rpm",
            "observed order (dt 0.1→0.05 s)",
            2.0,
            orders[2],
            0.1,
            "second-order exponential Runge–Kutta (Cox & Matthews 2002)",
        ));
    }
    // 7. Lamm equation without diffusion in a sector: boundary r_m exp(sω²t), plateau
    //    c₀ exp(−2sω²t) (docs/physics.md §8.2), from a uniformly seeded particle population.
    checks.extend(lamm_checks(&par));
    checks
}

/// The Lamm sector case: 200 000 identical cells seeded uniformly between r_m = 6.0 cm and
/// r_b = 7.2 cm (an analytical-ultracentrifuge cell), 3000 rpm, radial forces only.
pub fn lamm_checks(par: &Parallel) -> Vec<Check> {
    let (r_m, r_b) = (0.060, 0.072);
    let geometry =
        Geometry::Sector(Sector::new(r_m, r_b, 4f64.to_radians(), 0.012).expect("sector"));
    let rpm = 3000.0;
    let omega = rpm_to_rad_per_s(rpm);
    let s = probe_sedimentation();
    let t = 6.0;
    let n = 200_000;
    let specs = vec![
        CellSpec {
            species: 0,
            diameter: PROBE_DIAMETER,
            density: PROBE_DENSITY,
            shape_factor: 1.0,
        };
        n
    ];
    let cfg = plasma_config(
        geometry,
        RotorProfile::constant_rpm(rpm).expect("rpm"),
        radial_forces_only(),
        ParticleModel::Overdamped,
        None,
    );
    let cells =
        Cells::place(&specs, &geometry, PLASMA_DENSITY, PLASMA_VISCOSITY, 11).expect("cells fit");
    let mut sys = Sedimentation::new(cfg, cells, par).expect("config");
    Executor::<Sedimentation, crate::SedimentError>::new(Schedule::new(t, t).expect("schedule"))
        .run(&mut sys, par)
        .expect("run");
    let a = 0.5 * PROBE_DIAMETER;
    let growth = (s * omega * omega * t).exp();
    let c = sys.cells();
    let radii: Vec<f64> = (0..c.len()).map(|i| c.x[i].hypot(c.y[i])).collect();
    let boundary = radii.iter().copied().fold(f64::INFINITY, f64::min);
    // Plateau: cells per unit volume between the moved boundary and 1 mm short of the bottom,
    // relative to the initial density of the region available to cell centres.
    let (lo, hi) = ((r_m + a) * growth + 1e-4, r_b - a - 1e-3);
    let count = radii.iter().filter(|&&r| r > lo && r < hi).count() as f64;
    let annulus = |r0: f64, r1: f64| r1 * r1 - r0 * r0;
    let initial_density = n as f64 / annulus(r_m + a, r_b - a);
    let plateau = count / annulus(lo, hi) / initial_density;
    vec![
        Check::new(
            "Lamm sector (particles), 3000 rpm",
            "boundary r_b(6 s) [m]",
            (r_m + a) * growth,
            boundary,
            2e-5,
            "r_m exp(sω²t) for the innermost seeded cell; it starts within ~(r_b−r_m)/n of the meniscus",
        ),
        Check::new(
            "Lamm sector (particles), 3000 rpm",
            "plateau c(6 s)/c₀",
            (-2.0 * s * omega * omega * t).exp(),
            plateau,
            0.02,
            "radial dilution exp(−2sω²t); ~1.1e5 cells in the window give a 0.3 % sampling sd, 2 % ≈ 6 sd",
        ),
    ]
}
