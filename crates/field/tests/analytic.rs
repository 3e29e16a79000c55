//! The field solver against analytic solutions (Anestis–Schneider, Kynch).

use buffycoat_field::{anestis_schneider_case, kynch_case};
use buffycoat_physics::analytic::KynchMode;
use buffycoat_stepper::Parallel;

/// One species in a sector vs the Anestis–Schneider uniform-suspension solution.
///
/// Tolerances: the interface is a shock captured over 2–3 cells whose position conservation
/// fixes, so it must lie within 1 cell (observed ≤ 0.1 cell); the suspension fraction obeys
/// dφ/dt = −2sω²φh(φ) exactly in space on the sector grid, so its error is SSP-RK2's O(Δt²)
/// with Δt ∝ Δr: it must be below 1 % (observed 5e-8 at 100 cells) and fall with order ≥ 1.8.
#[test]
fn anestis_schneider_interface_and_fraction_converge() {
    let par = Parallel::serial();
    let mut last_error = f64::INFINITY;
    let mut orders = Vec::new();
    for cells in [100, 200, 400, 800] {
        let samples = anestis_schneider_case(cells, &par).unwrap();
        let mut worst_fraction = 0.0f64;
        for s in &samples {
            let cells_off = (s.interface - s.interface_exact).abs() / s.dr;
            assert!(
                cells_off <= 1.0,
                "N={cells} t={}: interface {cells_off} cells off",
                s.time
            );
            let rel = (s.fraction / s.fraction_exact - 1.0).abs();
            assert!(rel < 0.01, "N={cells}: φ error {rel}");
            worst_fraction = worst_fraction.max(rel);
        }
        if last_error.is_finite() {
            orders.push((last_error / worst_fraction).log2());
        }
        println!("N={cells}: max relative φ error {worst_fraction:.3e}");
        last_error = worst_fraction;
    }
    println!("observed orders of the suspension fraction: {orders:?}");
    for o in orders {
        assert!(o > 1.8, "order {o}");
    }
}

/// Monodisperse Richardson–Zaki at 1 g vs Kynch's exact batch-settling solution.
///
/// Tolerances: the clear interface (a shock) within 1 cell (observed ≤ 0.2); the sediment
/// surface (a contact discontinuity φ₁ → φ_max, not self-sharpening) within 2 cells (observed
/// ≤ 1.5); the L¹ error of the whole profile below 5 % of the solids and falling with the
/// resolution (first order is expected at discontinuities).
#[test]
fn kynch_batch_settling_interfaces() {
    let par = Parallel::serial();
    for phi0 in [0.1, 0.3] {
        let mut l1 = Vec::new();
        for cells in [100, 200] {
            let (exact, samples) = kynch_case(cells, phi0, &[0.01, 0.03, 0.06], &par).unwrap();
            assert!(matches!(exact.mode(), KynchMode::Fan { .. }));
            // the samples straddle the meeting of the interface with the bottom waves
            assert!(samples[0].time < exact.meet_time() && samples[2].time > exact.meet_time());
            for s in &samples {
                let clear = (s.clear - s.clear_exact) / s.dz;
                let sediment = (s.sediment - s.sediment_exact) / s.dz;
                println!(
                    "φ₀={phi0} N={cells} t={:.0}: clear {clear:+.2} cells, sediment {sediment:+.2} cells, L1 {:.2e}",
                    s.time, s.l1_relative
                );
                assert!(clear.abs() <= 1.0, "clear interface {clear} cells off");
                assert!(sediment.abs() <= 2.0, "sediment {sediment} cells off");
                assert!(s.l1_relative < 0.05);
            }
            l1.push(samples.iter().map(|s| s.l1_relative).sum::<f64>());
        }
        assert!(l1[1] < l1[0], "L1 error must fall with resolution: {l1:?}");
    }
}

/// The cases `buffycoat validate` runs pass.
#[test]
fn validation_checks_pass() {
    let start = std::time::Instant::now();
    let checks = buffycoat_field::validation_checks();
    println!("{} checks in {:?}", checks.len(), start.elapsed());
    assert_eq!(checks.len(), 10);
    for c in &checks {
        println!(
            "{}: {} expected {} got {} (rel err {:.2e}, tol {:.2e})",
            c.case,
            c.quantity,
            c.expected,
            c.got,
            c.relative_error(),
            c.tolerance
        );
        assert!(c.passed(), "{c:?}");
    }
}
