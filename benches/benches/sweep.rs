//! A 4 × 4 sweep (rotor.rpm × inlet.flow_ml_min) of the leukapheresis channel preset with its
//! tracer cells, all cores, writing the sweep file: the whole `buffycoat sweep` machinery.
//! Throughput in sweep points per second.

use buffycoat::input::library;
use buffycoat::input::sweep::sweep_plan;
use buffycoat::sweep::{Axis, CancelToken, Grid, Shard, SweepOptions, run_sweep};
use buffycoat_benches::timing;
use buffycoat_engine::ProgressMode;
use criterion::{Criterion, Throughput};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn sweep(c: &mut Criterion) {
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/scenarios/leukapheresis_channel.toml");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("sweep");
    group
        .sample_size(10)
        .warm_up_time(timing::seconds(1.0))
        .measurement_time(timing::seconds(8.0))
        .throughput(Throughput::Elements(16));
    group.bench_function("channel_4x4", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let grid = Grid::new(vec![
                    Axis::parse("rotor.rpm=1800:3000:4").expect("axis"),
                    Axis::parse("inlet.flow_ml_min=35:65:4").expect("axis"),
                ])
                .expect("grid");
                let plan = sweep_plan(
                    &scenario,
                    grid,
                    Shard::WHOLE,
                    library::default_library().expect("library"),
                )
                .expect("plan");
                let output = dir.path().join(format!("sweep-{i}.h5"));
                let mut data = plan.empty_data();
                let opts = SweepOptions {
                    output: output.clone(),
                    csv: None,
                    threads: None,
                    progress: ProgressMode::Off,
                    checkpoint_interval: Duration::from_secs(3600),
                };
                let start = std::time::Instant::now();
                run_sweep(Arc::new(plan), &mut data, &opts, &CancelToken::default())
                    .expect("sweep");
                total += start.elapsed();
                let _ = std::fs::remove_file(output);
            }
            total
        })
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    sweep(&mut criterion);
    criterion.final_summary();
}
