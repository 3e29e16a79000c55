//! The hindered field's flux-and-update kernel: whole blood (8 classes: 4 red-cell, platelet,
//! lymphocyte, monocyte, neutrophil) in a swing-out tube at 3000 rpm, 1 000 and 10 000 radial
//! cells, 1 and 2 threads. Throughput in cell-class updates (one class in one cell for one full
//! SSP-RK2 step) at 3000 rpm after a 1 s start-up; the steps per call are counted before
//! measuring (the CFL step is steady by then) and checked against the steps taken while
//! measuring (printed). Target (issue 3): ≥ 10⁸ per second on 2 threads.

use buffycoat_benches::timing;
use buffycoat_field::{Class, FieldConfig, FieldGeometry, HinderedField, HindranceLaw, Tracers};
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_stepper::{DEFAULT_CHUNK_LEN, Parallel, Propagate};
use criterion::{BenchmarkId, Criterion, Throughput};

fn blood_classes() -> Vec<Class> {
    vec![
        Class::new("rbc", 5.3e-6, 1091.0, 1.09, 0.1125),
        Class::new("rbc", 5.7e-6, 1093.0, 1.09, 0.1125),
        Class::new("rbc", 5.3e-6, 1097.0, 1.09, 0.1125),
        Class::new("rbc", 5.7e-6, 1099.0, 1.09, 0.1125),
        Class::new("platelet", 2.4e-6, 1070.0, 1.04, 0.0019),
        Class::new("lymphocyte", 7.8e-6, 1075.0, 1.0, 0.0006),
        Class::new("monocyte", 10.0e-6, 1072.0, 1.0, 0.0002),
        Class::new("neutrophil", 9.6e-6, 1085.0, 1.0, 0.0017),
    ]
}

fn field(cells: usize) -> HinderedField {
    let rotor = RotorProfile::constant_rpm(3000.0).expect("rotor");
    let law = HindranceLaw::richardson_zaki(4.65, 0.9).expect("law");
    let cfg = FieldConfig::new(
        FieldGeometry::Tube,
        0.10,
        0.16,
        cells,
        rotor,
        Fluid::plasma_37c(),
        law,
    );
    HinderedField::new(cfg, blood_classes(), Tracers::none()).expect("field")
}

/// Simulated start-up before measuring (s).
const START_UP_S: f64 = 1.0;
/// Calls after which the field is rebuilt (untimed), so that every measured step is taken on
/// a state a few seconds into the run.
const CALLS_BEFORE_RESET: u64 = 100;

fn kernel(c: &mut Criterion) {
    let pools: Vec<Parallel> = timing::thread_counts()
        .into_iter()
        .map(|t| Parallel::new(Some(t), DEFAULT_CHUNK_LEN).expect("pool"))
        .collect();
    for cells in [1_000usize, 10_000] {
        // One group per size, so that each group has one throughput.
        let mut group = c.benchmark_group(format!("field_flux_update_{cells}cells_8classes"));
        group
            .sample_size(10)
            .warm_up_time(timing::seconds(1.0))
            .measurement_time(timing::seconds(3.0));
        for par in &pools {
            // Start-up over the first second (the transient near the walls, where the CFL step
            // shrinks, is over by then), then calls of `interval` (≈ 15 steps each), the
            // field rebuilt every CALLS_BEFORE_RESET calls. The throughput uses the mean steps
            // per call over one such cycle; the steps actually taken while
            // measuring are printed afterwards as a check.
            let interval = if cells >= 10_000 { 0.02 } else { 0.2 };
            let started = || {
                let mut f = field(cells);
                f.advance(0.0, START_UP_S, par).expect("advance");
                f
            };
            let mut f = started();
            let mut t = START_UP_S;
            // The mean steps per call over one reset cycle: the cycle the measurement repeats.
            let before = f.stats().steps;
            for _ in 0..CALLS_BEFORE_RESET {
                f.advance(t, t + interval, par).expect("advance");
                t += interval;
            }
            let steps_per_call = (f.stats().steps - before) as f64 / CALLS_BEFORE_RESET as f64;
            f = started();
            t = START_UP_S;
            group.throughput(Throughput::Elements(
                ((cells * 8) as f64 * steps_per_call).round() as u64,
            ));
            let (mut measured_steps, mut measured_calls) = (0u64, 0u64);
            group.bench_function(
                BenchmarkId::from_parameter(timing::threads_label(par.threads())),
                |b| {
                    b.iter_custom(|iters| {
                        let mut elapsed = std::time::Duration::ZERO;
                        for _ in 0..iters {
                            // Back to the start-up state (untimed) before the layers have
                            // formed far enough to change the step size.
                            if t + interval > START_UP_S + CALLS_BEFORE_RESET as f64 * interval {
                                f = started();
                                t = START_UP_S;
                            }
                            let s0 = f.stats().steps;
                            let start = std::time::Instant::now();
                            f.advance(t, t + interval, par).expect("advance");
                            elapsed += start.elapsed();
                            t += interval;
                            measured_steps += f.stats().steps - s0;
                        }
                        measured_calls += iters;
                        elapsed
                    })
                },
            );
            eprintln!(
                "field {cells} cells, {} thread(s): {steps_per_call:.2} steps per call assumed, \
                 {:.2} taken while measuring (t = {t:.1} s)",
                par.threads(),
                measured_steps as f64 / measured_calls.max(1) as f64
            );
        }
        group.finish();
    }
}

fn main() {
    // Plots off: criterion's plotting back end panics on some iter_custom sample sets here;
    // the numbers are in the terminal and target/criterion/*/new/estimates.json.
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    kernel(&mut criterion);
    criterion.final_summary();
}
