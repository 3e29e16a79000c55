//! Bitwise thread-count invariance.

mod common;

use buffycoat_field::{LayerRoles, TracerCell, Tracers};
use buffycoat_stepper::{Parallel, Propagate};
use common::*;

fn tracers() -> Tracers {
    let cells: Vec<TracerCell> = (0..5000)
        .map(|k| {
            let x = (k as f64 * 0.618_033_988_749_895).fract();
            TracerCell {
                aggregate_cells: 1.0,
                species: (k % 3) as u16,
                diameter: 5e-6 + 5e-6 * x,
                density: 1060.0 + 40.0 * (k as f64 * 0.414_213_562).fract(),
                shape_factor: 1.0,
                radial: 0.10 + 0.06 * x,
                y: 0.0,
                z: 0.0,
            }
        })
        .collect();
    Tracers::from_cells(&cells)
}

/// 1, 2 and 3 threads give bitwise identical fields, tracers and statistics. Chunks of 64
/// cells (13 chunks of 800 cells) make sure several workers share every pass.
#[test]
fn fields_and_tracers_are_bitwise_identical_for_1_2_3_threads() {
    let mut hashes = Vec::new();
    for threads in [1, 2, 3] {
        let par = Parallel::new(Some(threads), 700).unwrap();
        let mut config = blood_tube(800, 3000.0);
        config.numerics.cells_per_chunk = 64;
        let mut field =
            buffycoat_field::HinderedField::new(config, blood_classes(), tracers()).unwrap();
        let mut t = 0.0;
        for t1 in [5.0, 20.0, 40.0] {
            field.advance(t, t1, &par).unwrap();
            t = t1;
        }
        let nc = field.classes().len();
        let values = (0..field.radial_cells())
            .flat_map(|c| (0..nc).map(move |i| (c, i)))
            .map(|(c, i)| field.volume_fraction(i, c));
        let roles = LayerRoles::by_species(field.classes(), "rbc", "platelet");
        let report = field.layers(&roles);
        let h = hash_f64(
            values
                .chain(field.tracers().radial.iter().copied())
                .chain([report.plasma_buffy_radius, report.buffy_red_radius])
                .chain([field.stats().last_dt, field.step_count() as f64]),
        );
        println!(
            "threads {threads}: hash {h:016x}, steps {}",
            field.step_count()
        );
        hashes.push(h);
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:x?}");
}

/// The implicit scheme with consolidation on a column long enough for the split per-cell
/// passes of the column solver (residual and Jacobian assembly in two halves): 1, 2 and 3
/// threads give bitwise identical fields, tracers (5 000, tracked through the bed), step
/// counts and Newton statistics.
#[test]
fn implicit_consolidating_field_is_bitwise_identical_for_1_2_3_threads() {
    implicit_consolidating_field_is_thread_invariant(buffycoat_field::MinorClasses::Coupled);
}

/// As [`implicit_consolidating_field_is_bitwise_identical_for_1_2_3_threads`] with the dilute
/// classes split off the Newton solve (their sub-steps' per-cell pass also runs in halves),
/// run to 300 s, past the promotion of concentrated minor classes to the Newton solve.
#[test]
fn implicit_split_minor_classes_are_bitwise_identical_for_1_2_3_threads() {
    implicit_consolidating_field_is_thread_invariant(buffycoat_field::MinorClasses::Split);
}

fn implicit_consolidating_field_is_thread_invariant(minor: buffycoat_field::MinorClasses) {
    use buffycoat_field::{HindranceLaw, Scheme};
    use buffycoat_physics::consolidation::Consolidation;
    let mut reference = None;
    for threads in [1, 2, 3] {
        let par = Parallel::new(Some(threads), 64).unwrap();
        let mut config = blood_tube(300, 3000.0);
        config.numerics.scheme = Scheme::Implicit;
        config.numerics.implicit.minor_classes = minor;
        config.hindrance = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
        config.consolidation = Some(Consolidation::red_cells());
        let mut field =
            buffycoat_field::HinderedField::new(config, blood_classes(), tracers()).unwrap();
        // split: long enough for the buffy coat to form (its sub-steps run throughout)
        let end = if minor == buffycoat_field::MinorClasses::Split {
            300.0
        } else {
            30.0
        };
        field.advance(0.0, end, &par).unwrap();
        let nc = field.classes().len();
        let bits: Vec<u64> = (0..field.radial_cells())
            .flat_map(|c| (0..nc).map(move |i| (c, i)))
            .map(|(c, i)| field.volume_fraction(i, c).to_bits())
            // the tracers, tracked through the consolidating bed cell by cell
            .chain(field.tracers().radial.iter().map(|r| r.to_bits()))
            .collect();
        let stats = field.implicit_stats().expect("implicit");
        assert!(stats.accepted > 5 && field.max_volume_drift() < 1e-12);
        let got = (bits, field.step_count(), stats);
        match &reference {
            None => reference = Some(got),
            Some(want) => assert!(*want == got, "threads {threads}"),
        }
    }
}
