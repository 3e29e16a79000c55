//! Test 5: the long-time limit of the transient equals the steady solution.
//!
//! At a fixed point the transient's two stages (upwind advection along s, backward-Euler
//! radial transport) combine to exactly the implicit steady march (see the module
//! documentation of `transient`), so the only differences are the distance from the fixed
//! point after the simulated time and the Newton tolerance.

mod common;

use buffycoat_channel::{FlowProfile, InitialFill, TransientSettings};
use buffycoat_stepper::Parallel;
use common::*;

/// Laminar flow, Courant 0.8, channel primed with cell-free fluid, 10 residence times on a
/// 30 × 20 grid with whole blood (6 classes): the port fractions of every class agree with
/// the steady solution to 10⁻⁸ and the exit field (relative to the inlet fractions) to 10⁻⁶.
///
/// Tolerances: the transient approaches the fixed point geometrically (slowest in the
/// near-wall cells of the laminar profile, whose along-channel velocity is ≈ 0.17 w̄); after
/// 10 T the observed distances are ≈ 10⁻¹² (ports) and ≈ 10⁻¹⁰ (field); the Newton tolerance
/// 10⁻¹⁰ sets the floor. Before one residence time no cells have reached the ports.
#[test]
fn long_time_transient_equals_steady() {
    let par = Parallel::new(Some(2), 2048).unwrap();
    let ch = channel(small_blood_config(FlowProfile::Laminar), whole_blood(2));
    let steady = ch.solve_steady(&par).unwrap();
    let t_res = ch.config().residence_time();
    let mut settings = TransientSettings::new(10.0 * t_res, 0.5 * t_res);
    settings.courant = 0.8;
    let start = std::time::Instant::now();
    let tr = ch.solve_transient(&settings, &par).unwrap();
    println!("transient: {:?}, {:?}", start.elapsed(), tr.stats);
    let n = ch.classes().len();
    // start-up: nothing at the ports for the first half residence time (laminar centre
    // streamline at 1.5 w̄ arrives at T/1.5)
    assert!(
        tr.class_ports[1]
            .iter()
            .all(|p| p.iter().sum::<f64>() < 1e-12)
    );
    let last = tr.class_ports.last().unwrap();
    let mut port_diff = 0.0f64;
    for (a, b) in last.iter().zip(steady.class_port_fractions()) {
        for q in 0..3 {
            port_diff = port_diff.max((a[q] - b[q]).abs());
        }
    }
    let k = steady.grid().along_cells();
    let stride = steady.grid().radial_cells() * n;
    let exit = steady.station(k);
    let mut field_diff = 0.0f64;
    for (q, (a, b)) in exit.iter().zip(&tr.field[(k - 1) * stride..]).enumerate() {
        field_diff = field_diff.max((a - b).abs() / ch.inlet_fractions()[q % n]);
    }
    println!("after 10 T: port fractions {port_diff:.2e}, exit field {field_diff:.2e}");
    assert!(port_diff < 1e-8);
    assert!(field_diff < 1e-6);
    // the species report works on transient outputs too
    let report = tr
        .species_report(
            tr.times.len() - 1,
            &buffycoat_channel::CellRoles::standard(),
        )
        .unwrap();
    assert!(report.balance_residual.iter().all(|&r| r < 1e-8));
}

/// Plug flow with Courant 1: the advection stage is an exact shift, so after K steps (one
/// residence time) plus the output step the transient *is* the steady march, to the Newton
/// tolerance (assert 10⁻⁸ on the field relative to the inlet fractions). Starting full of
/// inlet blood, the outflow exceeds nothing unphysical: all fractions stay in [0, φ_max].
#[test]
fn plug_flow_transient_reproduces_the_march_after_one_residence_time() {
    let par = Parallel::serial();
    let ch = channel(small_blood_config(FlowProfile::Plug), whole_blood(2));
    let steady = ch.solve_steady(&par).unwrap();
    let t_res = ch.config().residence_time();
    let mut settings = TransientSettings::new(1.5 * t_res, 0.25 * t_res);
    settings.initial = InitialFill::InletBlood;
    let tr = ch.solve_transient(&settings, &par).unwrap();
    let n = ch.classes().len();
    let k_cells = steady.grid().along_cells();
    let stride = steady.grid().radial_cells() * n;
    let mut worst = 0.0f64;
    for k in 1..=k_cells {
        let st = steady.station(k);
        for (q, (a, b)) in st
            .iter()
            .zip(&tr.field[(k - 1) * stride..k * stride])
            .enumerate()
        {
            worst = worst.max((a - b).abs() / ch.inlet_fractions()[q % n]);
        }
    }
    println!("plug, Courant 1, after 1.5 T: max field difference {worst:.2e}");
    assert!(worst < 1e-8);
    let phi_max = ch.config().hindrance.max_packing();
    for cell in tr.field.chunks_exact(n) {
        assert!(cell.iter().all(|&p| p >= 0.0));
        assert!(cell.iter().sum::<f64>() <= phi_max + 1e-12);
    }
}

/// The transient as a resumable stepper: stopped after any output interval, its state saved
/// (`Checkpoint`) and restored into a fresh run on another thread count, continued to the end:
/// bitwise the uninterrupted solution (field, port fractions, statistics). A state of another
/// grid is refused.
#[test]
fn a_transient_saved_and_restored_continues_bitwise_identically() {
    use buffycoat_stepper::{Checkpoint, StateReader, StateWriter};
    let par = Parallel::new(Some(2), 2048).unwrap();
    let other_par = Parallel::new(Some(3), 2048).unwrap();
    let ch = channel(small_blood_config(FlowProfile::Laminar), whole_blood(2));
    let t_res = ch.config().residence_time();
    let mut settings = TransientSettings::new(2.0 * t_res, 0.25 * t_res);
    settings.courant = 0.8;
    let whole = ch.solve_transient(&settings, &par).unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for stop in [0, 1, 5] {
        let mut first = ch.transient_run(&settings).unwrap();
        for m in 1..=stop {
            first.advance_interval(m, &par).unwrap();
        }
        let mut w = StateWriter::new();
        first.save_state(&mut w);
        let bytes = w.into_bytes();
        let mut resumed = ch.transient_run(&settings).unwrap();
        let mut r = StateReader::new(&bytes);
        resumed.restore_state(&mut r).unwrap();
        assert!(r.finished());
        assert_eq!(resumed.intervals_done(), stop);
        // Out of order is an error, not a silent restart.
        assert!(resumed.advance_interval(stop + 2, &other_par).is_err());
        for m in stop + 1..=resumed.intervals() {
            resumed.advance_interval(m, &other_par).unwrap();
        }
        let sol = resumed.finish();
        assert_eq!(bits(&sol.field), bits(&whole.field), "stopped after {stop}");
        assert_eq!(sol.times, whole.times);
        assert_eq!(sol.class_ports, whole.class_ports);
        assert_eq!(sol.stats, whole.stats);
    }
    let mut w = StateWriter::new();
    ch.transient_run(&settings).unwrap().save_state(&mut w);
    let bytes = w.into_bytes();
    let mut config = small_blood_config(FlowProfile::Laminar);
    config.radial_cells += 2;
    let coarse = channel(config, whole_blood(2));
    let mut other = coarse.transient_run(&settings).unwrap();
    assert!(other.restore_state(&mut StateReader::new(&bytes)).is_err());
}
