//! The particle push: `Sedimentation` advanced through `Propagate::advance` on the contract
//! scenario's tube and rotor with a whole-blood population (see `buffycoat_benches::push`).
//!
//! Groups (function = thread count, parameter = number of cells N), throughput in
//! particle-steps:
//! - `overdamped_streaming`: one step per `advance` call, every call streams the whole state
//!   through memory (memory-bound for large N; compare with the STREAM roofline);
//! - `overdamped_fused`: 16 steps per call, each chunk stays cache-resident across its steps;
//! - `inertial`: the inertial (ETD2) model with a fixed step (no error control), one step per
//!   call.

use buffycoat_benches::push::{FUSED_STEPS, PushBench};
use buffycoat_benches::timing;
use buffycoat_sediment::ParticleModel;
use buffycoat_stepper::{DEFAULT_CHUNK_LEN, Parallel};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};

/// Cell counts of the overdamped push.
const OVERDAMPED_N: [usize; 3] = [100_000, 1_000_000, 10_000_000];
/// Cell counts of the inertial push (N = 10⁷ costs about 0.5 s per single-threaded call).
const INERTIAL_N: [usize; 3] = [100_000, 1_000_000, 10_000_000];

fn pools() -> Vec<Parallel> {
    timing::thread_counts()
        .into_iter()
        .map(|t| Parallel::new(Some(t), DEFAULT_CHUNK_LEN).expect("thread pool"))
        .collect()
}

fn overdamped(c: &mut Criterion) {
    let pools = pools();
    for n in OVERDAMPED_N {
        // One system per N, shared by both variants and thread counts (same chunk length, so
        // the same chunking); it keeps advancing in time. Built on first use, so that a
        // filtered run (`-- overdamped_fused/2threads/1000000`) only sets up what it measures.
        let mut bench: Option<PushBench> = None;
        for (group_name, steps) in [
            ("overdamped_streaming", 1),
            ("overdamped_fused", FUSED_STEPS),
        ] {
            let mut group = c.benchmark_group(group_name);
            group
                .sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .warm_up_time(timing::seconds(1.0))
                .measurement_time(timing::seconds(if n >= 10_000_000 { 6.0 } else { 3.0 }))
                .throughput(Throughput::Elements(n as u64 * steps));
            for par in &pools {
                group.bench_with_input(
                    BenchmarkId::new(timing::threads_label(par.threads()), n),
                    &steps,
                    |b, &steps| {
                        let bench = bench.get_or_insert_with(|| {
                            PushBench::new(ParticleModel::Overdamped, n, &pools[0])
                        });
                        b.iter_custom(|iters| bench.time(iters, steps, par));
                    },
                );
            }
            group.finish();
        }
        if let Some(bench) = bench {
            eprintln!("overdamped {}", bench.summary());
        }
    }
}

fn inertial(c: &mut Criterion) {
    let pools = pools();
    let mut group = c.benchmark_group("inertial");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(timing::seconds(1.0));
    for n in INERTIAL_N {
        let mut bench: Option<PushBench> = None;
        group
            .measurement_time(timing::seconds(if n >= 10_000_000 { 8.0 } else { 4.0 }))
            .throughput(Throughput::Elements(n as u64));
        for par in &pools {
            group.bench_with_input(
                BenchmarkId::new(timing::threads_label(par.threads()), n),
                &1,
                |b, &steps| {
                    let bench = bench.get_or_insert_with(|| {
                        PushBench::new(ParticleModel::Inertial, n, &pools[0])
                    });
                    b.iter_custom(|iters| bench.time(iters, steps, par));
                },
            );
        }
        if let Some(bench) = bench {
            eprintln!("inertial {}", bench.summary());
        }
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    overdamped(&mut criterion);
    inertial(&mut criterion);
    criterion.final_summary();
}
