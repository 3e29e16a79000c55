//! STREAM-style memory bandwidth: copy and triad (plus the in-place `update`), 1 thread and all threads, over arrays far
//! larger than the last-level cache (`stream_dram`) and over arrays that fit in it
//! (`stream_llc`). Bytes follow the STREAM convention (16 B copy, 24 B triad per element, no
//! write-allocate traffic counted); see `buffycoat_benches::stream`.

use buffycoat_benches::stream::{
    Arrays, COPY_BYTES_PER_ELEMENT, TRIAD_BYTES_PER_ELEMENT, UPDATE_BYTES_PER_ELEMENT,
};
use buffycoat_benches::timing;
use buffycoat_stepper::{DEFAULT_CHUNK_LEN, Parallel};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};

/// Elements per array far beyond the LLC: 2²⁷ f64 = 1 GiB per array, 3 GiB in all (the
/// machine this was written on reports a 480 MiB L3).
const DRAM_LEN: usize = 1 << 27;
/// Elements per array well inside the LLC but beyond the L2: 2²⁰ f64 = 8 MiB per array.
const LLC_LEN: usize = 1 << 20;

fn stream(c: &mut Criterion) {
    let pools: Vec<Parallel> = timing::thread_counts()
        .into_iter()
        .map(|t| Parallel::new(Some(t), DEFAULT_CHUNK_LEN).expect("thread pool"))
        .collect();
    for (group_name, len, secs) in [("stream_llc", LLC_LEN, 2.0), ("stream_dram", DRAM_LEN, 4.0)] {
        // Allocated on first use, so that a filtered run only allocates what it measures.
        let mut arrays: Option<Arrays> = None;
        let all = pools.last().expect("at least one pool");
        let mut group = c.benchmark_group(group_name);
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(timing::seconds(1.0))
            .measurement_time(timing::seconds(secs));
        for par in &pools {
            let label = timing::threads_label(par.threads());
            group.throughput(Throughput::Bytes(COPY_BYTES_PER_ELEMENT * len as u64));
            group.bench_function(BenchmarkId::new("copy", &label), |b| {
                let arrays = arrays.get_or_insert_with(|| Arrays::new(len, all));
                b.iter(|| arrays.copy(par));
            });
            group.throughput(Throughput::Bytes(TRIAD_BYTES_PER_ELEMENT * len as u64));
            group.bench_function(BenchmarkId::new("triad", &label), |b| {
                let arrays = arrays.get_or_insert_with(|| Arrays::new(len, all));
                b.iter(|| arrays.triad(par));
            });
            group.throughput(Throughput::Bytes(UPDATE_BYTES_PER_ELEMENT * len as u64));
            group.bench_function(BenchmarkId::new("update", &label), |b| {
                let arrays = arrays.get_or_insert_with(|| Arrays::new(len, all));
                b.iter(|| arrays.update(par));
            });
        }
        group.finish();
        assert!(arrays.is_none_or(|a| a.verify()), "STREAM check failed");
    }
}

fn main() {
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    stream(&mut criterion);
    criterion.final_summary();
}
