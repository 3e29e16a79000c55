//! Kernel throughput smoke test (ignored by default; run with `--ignored --nocapture`).

mod common;

use buffycoat_field::{HinderedField, Tracers};
use buffycoat_stepper::{Parallel, Propagate};
use common::*;

/// Cell-class updates per second (one update = one class in one cell advanced by one full
/// SSP-RK2 step) at 1 000 and 10 000 cells × 8 classes, 1 and 2 threads, on the blood tube
/// at 3000 rpm after the ramp. Timing-free assertions only (the numbers are printed).
/// `FIELD_CHUNK=L` sets `Numerics::cells_per_chunk`.
#[test]
#[ignore = "timing run; prints throughput"]
fn kernel_throughput() {
    for cells in [1000, 10_000] {
        for threads in [1, 2] {
            let par = Parallel::new(Some(threads), 2048).unwrap();
            let mut config = blood_tube(cells, 3000.0);
            config.rotor = buffycoat_physics::rotor::RotorProfile::constant_rpm(3000.0).unwrap();
            if let Some(chunk) = std::env::var("FIELD_CHUNK")
                .ok()
                .and_then(|v| v.parse().ok())
            {
                config.numerics.cells_per_chunk = chunk;
            }
            let mut field = HinderedField::new(config, blood_classes(), Tracers::none()).unwrap();
            field.advance(0.0, 1.0, &par).unwrap();
            let s0 = field.step_count();
            let start = std::time::Instant::now();
            field.advance(1.0, 3.0, &par).unwrap();
            let elapsed = start.elapsed().as_secs_f64();
            let steps = field.step_count() - s0;
            let rate = (steps * cells as u64 * 8) as f64 / elapsed;
            println!(
                "{cells} cells × 8 classes, {threads} thread(s): {steps} steps, {:.1} µs/step, {rate:.3e} cell-class updates/s",
                elapsed / steps as f64 * 1e6
            );
            assert!(rate > 0.0);
        }
    }
}

/// The stretch target: a 10-minute 3000 rpm whole-blood tube (hematocrit 0.45, 0.10–0.16 m,
/// 8 classes) at 2 000 cells, 2 threads.
#[test]
#[ignore = "timing run; prints wall time"]
fn whole_blood_2000_cells_10_minutes() {
    let par = Parallel::new(Some(2), 2048).unwrap();
    let cells: usize = std::env::var("FIELD_CELLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    for inactive in [0.0, 1e-8] {
        let mut config = blood_tube(cells, 3000.0);
        config.numerics.inactive_fraction = inactive;
        let mut field = HinderedField::new(config, blood_classes(), Tracers::none()).unwrap();
        let start = std::time::Instant::now();
        field.advance(0.0, 600.0, &par).unwrap();
        println!(
            "{cells} cells, 600 s, inactive_fraction {inactive:e}: {:?}, {:?}",
            start.elapsed(),
            field.stats()
        );
    }
}
