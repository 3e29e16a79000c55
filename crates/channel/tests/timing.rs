//! Development timing of one steady evaluation of the representative preset (100 radial ×
//! 200 along-channel cells, 8 classes: red cells ×4, platelets, lymphocytes, monocytes,
//! neutrophils) on one core. Run with
//! `cargo test --release -p buffycoat-channel --test timing -- --ignored --nocapture`.
//! The requirement is ≤ 50 ms; the criterion bench is the reference measurement.

mod common;

use buffycoat_stepper::Parallel;
use common::*;
use std::time::Instant;

/// CPU time (user + system) of this process in seconds from `/proc/self/stat` (Linux; clock
/// ticks of 10 ms), `None` elsewhere. Unlike wall time it does not count waiting for a core
/// on a loaded machine.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

#[test]
#[ignore = "timing; run in release on an idle machine"]
fn preset_steady_solve_time() {
    let par = Parallel::serial();
    for rbc in [3, 4] {
        let ch = channel(preset_config(), whole_blood(rbc));
        let _ = ch.solve_steady(&par).unwrap(); // warm-up
        let cpu0 = process_cpu_seconds();
        let mut times: Vec<f64> = (0..21)
            .map(|_| {
                let t = Instant::now();
                let sol = ch.solve_steady(&par).unwrap();
                std::hint::black_box(&sol);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let cpu = cpu0
            .zip(process_cpu_seconds())
            .map(|(a, b)| (b - a) / 21.0 * 1e3);
        times.sort_by(f64::total_cmp);
        let sol = ch.solve_steady(&par).unwrap();
        println!(
            "{} classes, {} x {}: wall min {:.1} ms, median {:.1} ms, max {:.1} ms; CPU {:.1?} ms \
             per solve; {:?}",
            ch.classes().len(),
            ch.config().radial_cells,
            ch.config().along_cells,
            times[0],
            times[10],
            times[20],
            cpu,
            sol.stats().newton
        );
        assert!(times[10] <= 50.0, "median {} ms", times[10]);
    }
}

/// Development timing of a transient of the preset: 3 residence times, Courant 1, two
/// threads.
#[test]
#[ignore = "timing; run in release on an idle machine"]
fn preset_transient_time() {
    let par = Parallel::new(Some(2), 2048).unwrap();
    let ch = channel(preset_config(), whole_blood(4));
    let t_res = ch.config().residence_time();
    let settings = buffycoat_channel::TransientSettings::new(3.0 * t_res, 0.25 * t_res);
    let t = Instant::now();
    let tr = ch.solve_transient(&settings, &par).unwrap();
    println!(
        "transient 3 T = {:.0} s: {:?}, {:?}",
        3.0 * t_res,
        t.elapsed(),
        tr.stats
    );
}

/// Development breakdown of the refined viscous preset (the CLI preset's physics: viscous flow,
/// `grid.refine_interface = 0.015`): Newton statistics and CPU time per solve of the uniform
/// march, the coarse locating march, the whole refined solve, the refined solve with the exact
/// Jacobian, and the laminar uniform and refined solves. Run with
/// `cargo test --release -p buffycoat-channel --test timing refined_breakdown -- --ignored --nocapture`;
/// `BREAKDOWN_ONLY=<name>` runs one row, `BREAKDOWN_REPS=<n>` sets the timed repetitions (0 for
/// instruction counts under valgrind: one warm-up and one statistics solve).
#[test]
#[ignore = "timing; run in release"]
fn refined_breakdown() {
    let par = Parallel::serial();
    let mut base = preset_config();
    base.profile = buffycoat_channel::FlowProfile::Viscous;
    let mut coarse = base.clone();
    coarse.radial_cells /= 2;
    coarse.along_cells /= 4;
    let mut refined = base.clone();
    refined.refine_interface = Some(0.015);
    let mut exact = refined.clone();
    exact.implicit.coupling_threshold = 0.0;
    let mut laminar_refined = refined.clone();
    laminar_refined.profile = buffycoat_channel::FlowProfile::Laminar;
    let mut laminar = laminar_refined.clone();
    laminar.refine_interface = None;
    let reps: usize = std::env::var("BREAKDOWN_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    for (name, cfg) in [
        ("uniform", base),
        ("coarse", coarse),
        ("refined", refined),
        ("refined_exact", exact),
        ("laminar", laminar),
        ("laminar_refined", laminar_refined),
    ] {
        if std::env::var("BREAKDOWN_ONLY").is_ok_and(|o| o != name) {
            continue;
        }
        let ch = channel(cfg, whole_blood(4));
        let _ = ch.solve_steady(&par).unwrap();
        let cpu0 = process_cpu_seconds();
        for _ in 0..reps {
            std::hint::black_box(ch.solve_steady(&par).unwrap());
        }
        let cpu = cpu0
            .zip(process_cpu_seconds())
            .map(|(a, b)| (b - a) / reps.max(1) as f64 * 1e3);
        let sol = ch.solve_steady(&par).unwrap();
        println!("{name}: CPU {cpu:.1?} ms per solve; {:?}", sol.stats());
    }
}
