//! H5MD write throughput of `buffycoat_h5::Writer`: create a file, write the H5MD header,
//! declare `/particles/cells/position`, append `frames` frames of `[N][3]` float64 positions
//! and `finish()` (flush, close, fsync, rename), for each `[output] compression` setting:
//! `none` (the default), `lzf`, `shuffle+lzf` (HDF5's pipeline on the writer thread),
//! `deflate:1` and `shuffle+deflate:4` (the old default; chunks compressed on worker threads and
//! written with direct chunk writes). Throughput counts the uncompressed payload, 24 B per cell
//! per frame. Benchmark names: `h5_write/positions_<setting>/<N>` (`+` and `:` as `_`).

use buffycoat_benches::h5::position_frame;
use buffycoat_benches::timing;
use buffycoat_h5::{Compression, Writer, WriterOptions};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use std::path::Path;
use std::time::{Duration, Instant};

/// `[output] compression` settings measured.
const SETTINGS: [&str; 5] = [
    "none",
    "lzf",
    "shuffle+lzf",
    "deflate:1",
    "shuffle+deflate:4",
];

/// (cells per frame, frames per file).
const CASES: [(usize, usize); 2] = [(100_000, 4), (1_000_000, 2)];

/// Writes one file of `frames` copies of `frame` to `path`; returns the time taken.
fn write_file(path: &Path, frame: &[f64], frames: usize, compression: Compression) -> Duration {
    let n = frame.len() / 3;
    let start = Instant::now();
    let w =
        Writer::create_with(path, &WriterOptions::with_compression(compression)).expect("create");
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
        for setting in SETTINGS {
            let compression = Compression::parse(setting).expect("a valid setting");
            let name = format!("positions_{}", setting.replace(['+', ':'], "_"));
            let mut measured = false;
            group.bench_with_input(BenchmarkId::new(name, n), &frames, |b, &frames| {
                measured = true;
                let frame = frame.get_or_insert_with(|| position_frame(n, 7));
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += write_file(&path, frame, frames, compression);
                        std::fs::remove_file(&path).expect("remove");
                    }
                    total
                });
            });
            let (true, Some(frame)) = (measured, &frame) else {
                continue;
            };
            write_file(&path, frame, frames, compression);
            let size = std::fs::metadata(&path).map_or(0, |m| m.len());
            std::fs::remove_file(&path).expect("remove");
            eprintln!(
                "h5_write {setting} N = {n}: {frames} frames, payload {payload} B, file {size} B \
                 (compression ratio {:.2})",
                payload as f64 / size.max(1) as f64
            );
        }
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    h5_write(&mut criterion);
    criterion.final_summary();
}
