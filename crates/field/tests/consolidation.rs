//! Consolidation and the implicit scheme.

use buffycoat_field::{HindranceLaw, packed_cell_volume};
use buffycoat_physics::consolidation::{Consolidation, SolidStress};

/// Exploration (prints PCV against RCF and time).
#[test]
#[ignore = "exploration"]
fn explore_pcv() {
    let m: f64 = std::env::var("BED_M").map_or(1.0, |v| v.parse().unwrap());
    for law in [
        HindranceLaw::richardson_zaki(4.65, 0.99).unwrap(),
        HindranceLaw::hawksley_vand(0.99).unwrap(),
    ] {
        for rcf in [1000.0, 3000.0, 12000.0] {
            let t0 = std::time::Instant::now();
            let pcv = packed_cell_volume(
                rcf,
                0.09,
                0.05,
                0.45,
                law,
                Some(Consolidation {
                    stress: SolidStress::red_cells(),
                    bed_exponent: m,
                }),
                200,
                &[60.0, 300.0, 1800.0, 36000.0],
            )
            .unwrap();
            println!("m={m} {law:?} {rcf} g: {pcv:?} ({:?})", t0.elapsed());
        }
    }
}

/// Calibration of σ₀ and β (φ_c = 0.55, bed exponent m from BED_M, default 1): for each β,
/// σ₀ is bisected so that the microhaematocrit (12 000 g, 5 min, 50 mm column, bottom at
/// 0.09 m, Hct 0.45) traps 3 % plasma; printed with the trapped plasma of a macro tube
/// (1 500 g, 30 min, 100 mm column, bottom at 0.15 m).
#[test]
#[ignore = "calibration"]
fn calibrate_stress() {
    let m: f64 = std::env::var("BED_M").map_or(1.0, |v| v.parse().unwrap());
    let law = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
    let trapped = |rcf: f64, r_max: f64, column: f64, t: f64, s0: f64, b: f64| {
        let c = Consolidation {
            stress: SolidStress::new(0.55, s0, b).unwrap(),
            bed_exponent: m,
        };
        let pcv = packed_cell_volume(rcf, r_max, column, 0.45, law, Some(c), 200, &[t]).unwrap();
        1.0 - 0.45 / pcv[0]
    };
    let betas: Vec<f64> = std::env::var("BETAS").map_or(vec![1.0, 1.5, 2.0, 2.5, 3.0, 4.0], |v| {
        v.split(',').map(|x| x.parse().unwrap()).collect()
    });
    for b in betas {
        let (mut lo, mut hi) = (-4.0f64, 9.0f64);
        for _ in 0..14 {
            let mid = 0.5 * (lo + hi);
            let t = trapped(12000.0, 0.09, 0.05, 300.0, 10f64.powf(mid), b);
            if t > 0.03 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let s0 = 10f64.powf(0.5 * (lo + hi));
        let macro_tube = trapped(1500.0, 0.15, 0.10, 1800.0, s0, b);
        let micro_long = trapped(12000.0, 0.09, 0.05, 3600.0, s0, b);
        println!(
            "m={m} beta={b} s0={s0:.4} Pa: micro 5 min 3 %, micro 60 min {micro_long:.4}, macro 1500 g 30 min {macro_tube:.4}"
        );
    }
}

/// Exploration of the validation cases (prints).
#[test]
#[ignore = "exploration"]
fn explore_validation() {
    use buffycoat_field::{
        Numerics, Scheme, anestis_schneider_case_with, consolidation_equilibrium_case,
        implicit_time_order, kynch_case_with,
    };
    use buffycoat_stepper::Parallel;
    let par = Parallel::serial();
    let t0 = std::time::Instant::now();
    println!("{:?}", consolidation_equilibrium_case(200, &par).unwrap());
    println!(
        "{:?} {:?}",
        implicit_time_order(&par).unwrap(),
        t0.elapsed()
    );
    let numerics = Numerics {
        scheme: Scheme::Implicit,
        ..Numerics::default()
    };
    for phi0 in [0.1, 0.3] {
        let (_, s) = kynch_case_with(200, phi0, &[0.25], numerics, &par).unwrap();
        println!("kynch {phi0}: {:?}", s[0]);
    }
    let s = anestis_schneider_case_with(400, numerics, &[30.0], &par).unwrap();
    println!("AS: {:?} {:?}", s[0], t0.elapsed());
}
