//! Conservation, bounds, monotonicity and consistency of the scheme.

mod common;

use buffycoat_field::{
    Class, FieldConfig, FieldError, FieldGeometry, HinderedField, HindranceLaw, PACKING_TOLERANCE,
    TimeIntegrator, TracerCell, Tracers,
};
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_stepper::{Parallel, Propagate};
use common::*;

fn check_bounds(field: &HinderedField) {
    let phi_max = field.config().hindrance.max_packing();
    for cell in 0..field.radial_cells() {
        let mut total = 0.0;
        for i in 0..field.classes().len() {
            let p = field.volume_fraction(i, cell);
            assert!(p >= 0.0 && p.is_finite(), "φ_{i}[{cell}] = {p}");
            total += p;
        }
        assert!(total <= phi_max + PACKING_TOLERANCE, "Σφ[{cell}] = {total}");
    }
}

/// Every class volume is conserved to 1e-12 relative over a whole run (ramp, plateau, 8
/// classes, packing), and the bounds hold at every output time. The scheme is conservative by
/// construction (both neighbours use the same face flux, walls carry none), so only round-off
/// (~1e-16 per step, summed over ~10⁴ steps) remains.
#[test]
fn volumes_conserved_and_bounds_hold_through_a_blood_run() {
    let par = Parallel::new(Some(2), 2048).unwrap();
    let mut field = blood_field(300, 3000.0, Tracers::none());
    let mut t = 0.0;
    for k in 1..=12 {
        let t1 = 30.0 * k as f64;
        field.advance(t, t1, &par).unwrap();
        t = t1;
        check_bounds(&field);
    }
    let drift = field.max_volume_drift();
    println!(
        "steps {}, max relative volume drift {drift:.2e}, limiters {:?}",
        field.stats().steps,
        field.stats().limiters
    );
    assert!(drift < 1e-12, "drift {drift}");
    // The red cells have packed at the bottom (the capacity cap was exercised).
    let last = field.radial_cells() - 1;
    assert!(field.total_fraction(last) > 0.85);
}

/// Same with the Hawksley–Vand law, SSP-RK3, a sector and a rotor that brakes to rest.
#[test]
fn hawksley_vand_sector_rk3_conserves_and_stays_bounded() {
    let par = Parallel::serial();
    let rotor = RotorProfile::trapezoid(4000.0, 5.0, 60.0, 10.0).unwrap();
    let mut config = FieldConfig::new(
        FieldGeometry::Sector,
        0.05,
        0.07,
        200,
        rotor,
        Fluid::plasma_37c(),
        HindranceLaw::hawksley_vand(0.95).unwrap(),
    );
    config.numerics.integrator = TimeIntegrator::SspRk3;
    let mut field = HinderedField::new(config, blood_classes(), Tracers::none()).unwrap();
    let mut t = 0.0;
    for t1 in [20.0, 60.0, 70.0, 90.0] {
        field.advance(t, t1, &par).unwrap();
        t = t1;
        check_bounds(&field);
    }
    assert!(
        field.max_volume_drift() < 1e-12,
        "{}",
        field.max_volume_drift()
    );
}

fn column(cells: usize, theta: f64) -> HinderedField {
    let mut config = FieldConfig::settling_column(0.3, cells, Fluid::plasma_37c(), rz()).unwrap();
    config.numerics.limiter_theta = theta;
    let class = Class::new("beads", 40e-6, 2500.0, 1.0, 0.1);
    HinderedField::new(config, vec![class], Tracers::none()).unwrap()
}

fn total_variation(p: &[f64]) -> f64 {
    p.windows(2).map(|w| (w[1] - w[0]).abs()).sum()
}

/// A Riemann-like problem at 1 g: φ = 0.1 above 0.5 (a step). Kynch's entropy solution of a
/// batch column with non-decreasing initial data stays non-decreasing with depth (the walls
/// add the states 0 above and φ_max below, which extend the ordering), so any decrease with
/// depth is a spurious oscillation; its total variation is then φ(bottom) − φ(top) ≤ φ_max.
/// Tolerance 1e-12 for round-off.
#[test]
fn riemann_problem_stays_monotone_without_new_extrema() {
    let par = Parallel::serial();
    for theta in [1.0, 1.5, 2.0] {
        let cells = 150;
        let mut field = column(cells, theta);
        let step: Vec<f64> = (0..cells)
            .map(|j| if j < cells / 2 { 0.1 } else { 0.5 })
            .collect();
        field.set_profile(0, &step).unwrap();
        let tv0 = total_variation(&step);
        let mut t = 0.0;
        for k in 1..=20 {
            let t1 = 150.0 * k as f64;
            field.advance(t, t1, &par).unwrap();
            t = t1;
            let p = field.profile(0);
            for j in 1..cells {
                assert!(
                    p[j] >= p[j - 1] - 1e-12,
                    "θ={theta} t={t}: φ decreases with depth at cell {j}: {} → {}",
                    p[j - 1],
                    p[j]
                );
            }
            let tv = total_variation(&p);
            assert!(tv <= 0.9 + 1e-12 && (tv - (p[cells - 1] - p[0])).abs() < 1e-9);
            let _ = tv0;
        }
        assert!(field.max_volume_drift() < 1e-12);
    }
}

/// Splitting a class into two identical halves does not change the PDE (the MLB flux is
/// additive over identical classes), but it adds the eigenvalue u (the "relative" mode of the
/// halves) to the Jacobian, so the central-upwind diffusion, and hence the discrete solution,
/// differ at discontinuities by O(Δr). Both converge to the same entropy solution: the L¹
/// difference of the total profiles must fall with the resolution, and the halves stay equal.
#[test]
fn splitting_a_class_converges_to_the_same_solution() {
    let par = Parallel::serial();
    let mut differences = Vec::new();
    for cells in [100, 200, 400] {
        let config = blood_tube(cells, 3000.0);
        let one = vec![Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.45)];
        let two = vec![
            Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.225),
            Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.225),
        ];
        let mut a = HinderedField::new(config.clone(), one, Tracers::none()).unwrap();
        let mut b = HinderedField::new(config, two, Tracers::none()).unwrap();
        a.advance(0.0, 120.0, &par).unwrap();
        b.advance(0.0, 120.0, &par).unwrap();
        let mut l1 = 0.0;
        for cell in 0..cells {
            let (h0, h1) = (b.volume_fraction(0, cell), b.volume_fraction(1, cell));
            assert!((h0 - h1).abs() <= 1e-15 * h0.max(1e-300), "halves differ");
            l1 += (a.volume_fraction(0, cell) - h0 - h1).abs() * a.cell_measure(cell);
        }
        differences.push(l1 / a.initial_class_volume(0));
    }
    println!("relative L1 differences one vs two classes: {differences:?}");
    assert!(differences[2] < differences[1] && differences[1] < differences[0]);
    assert!(differences[2] < 0.01);
}

#[test]
fn rejects_bad_input_and_time_mismatch() {
    let par = Parallel::serial();
    let mut bad = blood_tube(200, 3000.0);
    bad.radial_cells = 2;
    assert!(HinderedField::new(bad, blood_classes(), Tracers::none()).is_err());
    let mut overfull = blood_classes();
    overfull[0].volume_fraction = 0.8;
    assert!(matches!(
        HinderedField::new(blood_tube(100, 3000.0), overfull, Tracers::none()),
        Err(FieldError::Inconsistent(_))
    ));
    assert!(HinderedField::new(blood_tube(100, 3000.0), vec![], Tracers::none()).is_err());
    let outside = Tracers::from_cells(&[TracerCell {
        aggregate_cells: 1.0,
        species: 0,
        diameter: 8e-6,
        density: 1070.0,
        shape_factor: 1.0,
        radial: 0.2,
        y: 0.0,
        z: 0.0,
    }]);
    assert!(HinderedField::new(blood_tube(100, 3000.0), blood_classes(), outside).is_err());
    let mut field = blood_field(100, 3000.0, Tracers::none());
    assert!(matches!(
        field.advance(1.0, 2.0, &par),
        Err(FieldError::TimeMismatch { .. })
    ));
    let mut profile = vec![0.5; 100];
    profile[3] = -1.0;
    assert!(field.set_profile(0, &profile).is_err());
    assert!(field.set_profile(0, &[0.9; 100]).is_err()); // overfull with the others
    field.advance(0.0, 1.0, &par).unwrap();
    assert!(field.set_profile(0, &[0.1; 100]).is_err()); // too late
}

/// With the rotor at rest and no gravity nothing moves, in one step.
#[test]
fn nothing_moves_without_acceleration() {
    let par = Parallel::serial();
    let mut config = blood_tube(64, 0.0);
    config.rotor = RotorProfile::constant_rpm(0.0).unwrap();
    let mut field = HinderedField::new(config, blood_classes(), Tracers::none()).unwrap();
    field.advance(0.0, 100.0, &par).unwrap();
    assert_eq!(field.stats().steps, 1);
    assert_eq!(field.volume_fraction(0, 10), 0.1125);
}
