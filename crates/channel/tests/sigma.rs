//! Test 1: dilute single species in plug flow against Ambler's sigma theory
//! (docs/physics.md §8.5; Ambler, J Biochem Microbiol Technol Eng 1:185, 1959; derivation and
//! error budget in `buffycoat_channel::validation`).

use buffycoat_channel::{SigmaCase, SteadyMethod, validation_checks};
use buffycoat_physics::units::m3_per_s_to_ml_per_min as ml;
use buffycoat_stepper::Parallel;

/// The exact plug-flow flows tend to Ambler's thin-channel v_gΣ and 2v_gΣ (Σ = ω²RA/g): the
/// full-capture flow to second order in δ/R, the 50 % flow with the first-order offset δ/(4R).
/// Tolerance: the next term of each expansion, (δ/R)² (here 4·10⁻⁴).
#[test]
fn exact_thin_channel_flows_tend_to_ambler_sigma() {
    let case = SigmaCase::standard();
    let g = &case.geometry;
    let ratio = g.depth() / g.mean_radius();
    let (q50_ambler, q_full_ambler) = case.ambler_flows();
    let off50 = case.exact_flow_50() / q50_ambler - 1.0;
    let off_full = case.exact_flow_full() / q_full_ambler - 1.0;
    println!(
        "δ/R = {ratio:.4}: Q50 offset {off50:.3e} (δ/4R = {:.3e}), Q_full offset {off_full:.3e}",
        ratio / 4.0
    );
    assert!((off50 - ratio / 4.0).abs() < ratio * ratio, "{off50}");
    assert!(off_full.abs() < ratio * ratio, "{off_full}");
}

/// Q₅₀ from the Eulerian implicit and explicit solvers, Q_full from the tracers and from the
/// extrapolated Eulerian capture, all within 1 % of the exact r₂ formulas; the Eulerian
/// values also within 0.1 % (Q₅₀) of the exact values for the actual one-cell port cut, which
/// isolates the discretisation error.
#[test]
fn fifty_percent_and_full_capture_flows_within_one_percent() {
    let par = Parallel::serial();
    let case = SigmaCase::standard();
    let (q50_cut, q_full_cut) = case.exact_flows_at_cut(case.red_port_cut());
    let q50 = case.flow_50(&par).unwrap();
    let e50 = q50 / case.exact_flow_50() - 1.0;
    let e50_cut = q50 / q50_cut - 1.0;
    println!(
        "Q50: exact {:.3} mL/min, cut {:.3}, implicit {:.3} ({e50:+.3e} vs r2, {e50_cut:+.3e} vs cut)",
        ml(case.exact_flow_50()),
        ml(q50_cut),
        ml(q50)
    );
    assert!(e50.abs() < 0.01);
    assert!(e50_cut.abs() < 1e-3);

    let qt = case.flow_full_tracer(&par).unwrap();
    let et = qt / case.exact_flow_full() - 1.0;
    println!(
        "Q_full: exact {:.3}, tracer {:.3} ({et:+.3e})",
        ml(case.exact_flow_full()),
        ml(qt)
    );
    assert!(et.abs() < 1e-3);

    let qe = case.flow_full_extrapolated(&par).unwrap();
    let ee = qe / case.exact_flow_full() - 1.0;
    let ee_cut = qe / q_full_cut - 1.0;
    println!(
        "Q_full: Eulerian extrapolated {:.3} ({ee:+.3e} vs r2, {ee_cut:+.3e} vs cut)",
        ml(qe)
    );
    assert!(ee.abs() < 0.01);
    assert!(ee_cut.abs() < 2e-3);

    let mut explicit = case.clone();
    explicit.method = SteadyMethod::Explicit;
    let qx = explicit.flow_50(&par).unwrap();
    let ex = qx / case.exact_flow_50() - 1.0;
    let ex_cut = qx / q50_cut - 1.0;
    println!(
        "Q50 explicit {:.3} ({ex:+.3e} vs r2, {ex_cut:+.3e} vs cut)",
        ml(qx)
    );
    assert!(ex.abs() < 0.01);
    assert!(ex_cut.abs() < 1e-3);
}

/// The cases `buffycoat validate` runs pass, fast.
#[test]
fn validation_checks_pass() {
    let start = std::time::Instant::now();
    let checks = validation_checks(&Parallel::serial()).unwrap();
    let elapsed = start.elapsed();
    for c in &checks {
        println!(
            "{} | {}: expected {:.4}, got {:.4}, rel {:.2e} (tol {:.0e})",
            c.case,
            c.quantity,
            c.expected,
            c.got,
            c.relative_error(),
            c.tolerance
        );
        assert!(c.passed(), "{c:?}");
    }
    println!("validation_checks: {elapsed:?}");
    assert_eq!(checks.len(), 4);
}
