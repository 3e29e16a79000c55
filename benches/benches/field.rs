//! The hindered field's flux-and-update kernel: whole blood (8 classes: 4 red-cell, platelet,
//! lymphocyte, monocyte, neutrophil) in a swing-out tube at 3000 rpm, 1 000 and 10 000 radial
//! cells, 1 and 2 threads. Throughput in cell-class updates (one class in one cell for one full
//! SSP-RK2 step); the steps per call are counted once before measuring (the CFL step is steady
//! after the start-up). Target (issue 3): ≥ 10⁸ per second on 2 threads.

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
            let mut f = field(cells);
            // Start-up, then count the steps of one call of `interval` seconds.
            let interval = if cells >= 10_000 { 0.002 } else { 0.02 };
            let mut t = 0.0;
            par.install(|| {
                for _ in 0..5 {
                    f.advance(t, t + interval, par).expect("advance");
                    t += interval;
                }
            });
            let before = f.stats().steps;
            f.advance(t, t + interval, par).expect("advance");
            t += interval;
            let steps = (f.stats().steps - before).max(1);
            group.throughput(Throughput::Elements((cells * 8) as u64 * steps));
            group.bench_function(
                BenchmarkId::from_parameter(timing::threads_label(par.threads())),
                |b| {
                    b.iter_custom(|iters| {
                        let start = std::time::Instant::now();
                        for _ in 0..iters {
                            f.advance(t, t + interval, par).expect("advance");
                            t += interval;
                        }
                        start.elapsed()
                    })
                },
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
