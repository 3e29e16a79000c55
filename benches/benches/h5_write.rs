//! H5MD write throughput of `buffycoat_h5::Writer`: create a file, write the H5MD header,
//! declare `/particles/cells/position`, append `frames` frames of `[N][3]` float64 positions
//! (shuffle + deflate level 4, compressed on the writer thread) and `finish()` (flush, close,
//! fsync, rename). Throughput counts the uncompressed payload, 24 B per cell per frame.

use buffycoat_benches::h5::position_frame;
use buffycoat_benches::timing;
use buffycoat_h5::Writer;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use std::path::Path;
use std::time::{Duration, Instant};

/// (cells per frame, frames per file).
const CASES: [(usize, usize); 2] = [(100_000, 4), (1_000_000, 2)];

/// Writes one file of `frames` copies of `frame` to `path`; returns the time taken.
fn write_file(path: &Path, frame: &[f64], frames: usize) -> Duration {
    let n = frame.len() / 3;
    let start = Instant::now();
    let w = Writer::create(path).expect("create");
    w.h5md_header("buffycoat-benches", "buffycoat", env!("CARGO_PKG_VERSION"))
        .expect("header");
    let pos = w
        .time_series("/particles/cells/position", &[n, 3], Some("m"), "s")
        .expect("series");
    for step in 0..frames {
        let mut buf = w.take_buffer_f64(frame.len());
        buf.copy_from_slice(frame);
        w.append(pos, step as i64, step as f64, buf)
            .expect("append");
    }
    w.finish().expect("finish");
    start.elapsed()
}

fn h5_write(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bench.h5");
    let mut group = c.benchmark_group("h5_write");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(timing::seconds(1.0))
        .measurement_time(timing::seconds(5.0));
    for (n, frames) in CASES {
        // Built on first use, so that a filtered run only prepares what it measures.
        let mut frame: Option<Vec<f64>> = None;
        let payload = (3 * n * frames * 8) as u64;
        group.throughput(Throughput::Bytes(payload));
        group.bench_with_input(BenchmarkId::new("positions", n), &frames, |b, &frames| {
            let frame = frame.get_or_insert_with(|| position_frame(n, 7));
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += write_file(&path, frame, frames);
                    std::fs::remove_file(&path).expect("remove");
                }
                total
            });
        });
        let Some(frame) = frame else { continue };
        write_file(&path, &frame, frames);
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        std::fs::remove_file(&path).expect("remove");
        eprintln!(
            "h5_write N = {n}: {frames} frames, payload {payload} B, file {size} B \
             (compression ratio {:.2})",
            payload as f64 / size.max(1) as f64
        );
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    h5_write(&mut criterion);
    criterion.final_summary();
}
