//! Test 3: in the dilute case more rpm at fixed flows never lowers the capture at the
//! red-cell port, and more flow never raises it.

use buffycoat_channel::SigmaCase;
use buffycoat_physics::units::ml_per_min_to_m3_per_s;
use buffycoat_stepper::Parallel;

/// Capture at the red-cell port over five rpm (fixed 120 mL/min) and five flows (fixed
/// 1000 rpm), 200 × 100 cells. Exactly monotone: the march is monotone and u = sω²r grows with
/// ω at every point, and T = V/Q falls with Q. Strict inequalities are asserted (the steps
/// change the capture by ≥ 0.03).
#[test]
fn capture_rises_with_rpm_and_falls_with_flow() {
    let par = Parallel::serial();
    let mut case = SigmaCase::standard();
    case.radial_cells = 200;
    case.along_cells = 100;
    let q = ml_per_min_to_m3_per_s(120.0);
    let mut last = -1.0;
    for rpm in [600.0, 800.0, 1000.0, 1300.0, 1700.0] {
        let mut c = case.clone();
        c.rpm = rpm;
        let capture = c.capture(q, &par).unwrap();
        println!("{rpm} rpm: capture {capture:.5}");
        assert!(capture > last, "{rpm} rpm: {capture} after {last}");
        last = capture;
    }
    let mut last = 2.0;
    for q_ml in [60.0, 90.0, 120.0, 160.0, 220.0] {
        let capture = case.capture(ml_per_min_to_m3_per_s(q_ml), &par).unwrap();
        println!("{q_ml} mL/min: capture {capture:.5}");
        assert!(capture < last, "{q_ml} mL/min: {capture} after {last}");
        last = capture;
    }
}
