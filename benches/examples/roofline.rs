//! Prints the roofline and result tables of `benches/README.md` from the latest criterion
//! results:
//!
//! ```text
//! cargo bench -p buffycoat-benches
//! cargo run --release -p buffycoat-benches --example roofline [CRITERION_DIR]
//! ```
//!
//! `CRITERION_DIR` defaults to `$CARGO_TARGET_DIR/criterion`, else `target/criterion` at the
//! workspace root. Times are criterion's point estimates of the mean (`new/estimates.json`).
//! The bound of a push kernel is the measured STREAM bandwidth with the same thread count
//! divided by the bytes it moves per particle-step; the DRAM bandwidth is used when the bytes
//! one call moves (N × bytes per call) exceed half the last-level cache, else the in-cache
//! (`stream_llc`) bandwidth.

use buffycoat_benches::push::{FUSED_STEPS, INERTIAL_BYTES_PER_CALL, OVERDAMPED_BYTES_PER_CALL};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bytes the field kernel (`crates/field`, SSP-RK2) moves through the cache hierarchy per
/// cell-class update, estimated from the passes of `HinderedField::advance`: the first pass
/// reads φⁿ (8 B) and writes the raw fluxes and slopes (2 × 8 B) plus the per-chunk carry
/// (φⁿ, slope, flux: 3 × 8 B); the second reads the carry and φⁿ (4 × 8 B) and writes φⁿ⁺¹
/// (8 B). Face weights (3 per cell, shared by the classes) add < 1 B. The compulsory traffic
/// is 16 B (φⁿ in, φⁿ⁺¹ out); at 10⁴ cells × 8 classes every array (640 KiB) is L2/LLC
/// resident, so the in-cache bandwidth is the bound.
const FIELD_BYTES_PER_UPDATE: u64 = 8 + 2 * 8 + 3 * 8 + 4 * 8 + 8;

/// One benchmark result: criterion ids, mean time per iteration, throughput per iteration.
#[derive(Debug, Clone)]
struct Entry {
    group: String,
    function: String,
    value: String,
    mean_ns: f64,
    /// ("Bytes" | "Elements", count per iteration)
    throughput: Option<(String, f64)>,
}

impl Entry {
    /// Throughput per second (bytes/s or elements/s).
    fn rate(&self) -> Option<f64> {
        self.throughput
            .as_ref()
            .map(|(_, count)| count / (self.mean_ns * 1e-9))
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn collect(dir: &Path, out: &mut Vec<Entry>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let (Some(b), Some(e)) = (
                read_json(&path.join("benchmark.json")),
                read_json(&path.join("estimates.json")),
            ) {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                let throughput = b["throughput"].as_object().and_then(|t| {
                    let (kind, count) = t.iter().next()?;
                    Some((kind.clone(), count.as_f64()?))
                });
                if let Some(mean_ns) = e["mean"]["point_estimate"].as_f64() {
                    out.push(Entry {
                        group: text(&b["group_id"]),
                        function: text(&b["function_id"]),
                        value: text(&b["value_str"]),
                        mean_ns,
                        throughput,
                    });
                }
            }
        } else {
            collect(&path, out);
        }
    }
}

fn criterion_dir() -> PathBuf {
    if let Some(dir) = std::env::args().nth(1) {
        return dir.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")
}

/// Last-level cache size (bytes) from sysfs, if known.
fn llc_bytes() -> Option<f64> {
    let mut best = None;
    for index in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
        let Ok(size) = std::fs::read_to_string(format!("{dir}/size")) else {
            break;
        };
        let size = size.trim();
        let (num, mult) = match size.strip_suffix('K') {
            Some(n) => (n, 1024.0),
            None => match size.strip_suffix('M') {
                Some(n) => (n, 1024.0 * 1024.0),
                None => (size, 1.0),
            },
        };
        if let Ok(v) = num.parse::<f64>() {
            best = Some(v * mult);
        }
    }
    best
}

/// The thread count of a label `1thread`, `2threads`, …; 0 for any other id.
fn threads_of(label: &str) -> usize {
    label
        .strip_suffix("threads")
        .or_else(|| label.strip_suffix("thread"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let dir = criterion_dir();
    let mut entries = Vec::new();
    collect(&dir, &mut entries);
    if entries.is_empty() {
        eprintln!(
            "no criterion results under {}: run `cargo bench -p buffycoat-benches` first",
            dir.display()
        );
        std::process::exit(1);
    }
    // Sort by group, N, thread count (the thread label is the function or the value).
    let key = |e: &Entry| {
        let n = e.value.parse::<f64>().unwrap_or(0.0);
        let threads = threads_of(&e.function).max(threads_of(&e.value));
        (e.group.clone(), n, e.function.clone(), threads)
    };
    entries.sort_by(|a, b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let gb = 1e9;

    // STREAM: (level, kernel, threads) -> bytes/s.
    let mut stream: BTreeMap<(String, String, usize), f64> = BTreeMap::new();
    println!("### STREAM bandwidth (STREAM byte convention)\n");
    println!("| arrays | kernel | threads | GB/s | GiB/s |");
    println!("|---|---|---|---|---|");
    for e in entries.iter().filter(|e| e.group.starts_with("stream_")) {
        let Some(rate) = e.rate() else { continue };
        let level = e.group.trim_start_matches("stream_").to_string();
        let threads = threads_of(&e.value);
        println!(
            "| {level} | {} | {threads} | {:.2} | {:.2} |",
            e.function,
            rate / gb,
            rate / (1024.0 * 1024.0 * 1024.0)
        );
        stream.insert((level, e.function.clone(), threads), rate);
    }

    let llc = llc_bytes();
    println!(
        "\n### Particle push (roofline: STREAM triad, same thread count; LLC {})\n",
        llc.map_or("unknown".into(), |b| format!("{:.0} MiB", b / 1048576.0))
    );
    println!(
        "| kernel | N | threads | particle-steps/s | B/step | memory level | triad bound | \
         achieved | update bound | achieved | 2T/1T |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let push: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.group.starts_with("overdamped_") || e.group == "inertial")
        .collect();
    for e in &push {
        let Some(rate) = e.rate() else { continue };
        let n: f64 = e.value.parse().unwrap_or(0.0);
        let threads = threads_of(&e.function);
        let (per_call, steps) = match e.group.as_str() {
            "overdamped_streaming" => (OVERDAMPED_BYTES_PER_CALL as f64, 1.0),
            "overdamped_fused" => (OVERDAMPED_BYTES_PER_CALL as f64, FUSED_STEPS as f64),
            _ => (INERTIAL_BYTES_PER_CALL as f64, 1.0),
        };
        let per_step = per_call / steps;
        let level = match llc {
            Some(llc) if n * per_call > 0.5 * llc => "dram",
            _ => "llc",
        };
        let bound = |kernel: &str| {
            stream
                .get(&(level.to_string(), kernel.to_string(), threads))
                .map(|bw| bw / per_step)
        };
        let fmt_bound = |b: Option<f64>| match b {
            Some(b) => (format!("{b:.3e}"), format!("{:.0} %", 100.0 * rate / b)),
            None => ("–".into(), "–".into()),
        };
        let (triad, triad_frac) = fmt_bound(bound("triad"));
        let (update, update_frac) = fmt_bound(bound("update"));
        let scaling = if threads > 1 {
            push.iter()
                .find(|o| o.group == e.group && o.value == e.value && threads_of(&o.function) == 1)
                .and_then(|o| o.rate())
                .map_or("–".into(), |one| format!("{:.2}", rate / one))
        } else {
            String::new()
        };
        println!(
            "| {} | {} | {threads} | {rate:.3e} | {per_step:.2} | {level} | {triad} | \
             {triad_frac} | {update} | {update_frac} | {scaling} |",
            e.group, e.value
        );
    }

    // Field, channel and sweep: time per iteration and throughput, 2-thread scaling.
    println!("\n### Field flux-and-update, channel steady solve, sweep\n");
    println!(
        "| benchmark | threads | time per iteration | throughput (/s) | LLC triad bound at \
         {FIELD_BYTES_PER_UPDATE} B/update | achieved | 2T/1T |"
    );
    println!("|---|---|---|---|---|---|---|");
    let others: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            e.group.starts_with("field_") || e.group == "channel_steady" || e.group == "sweep"
        })
        .collect();
    for e in &others {
        let Some(rate) = e.rate() else { continue };
        let label = if e.value.is_empty() {
            &e.function
        } else {
            &e.value
        };
        let threads = threads_of(label).max(if e.group == "channel_steady" { 1 } else { 0 });
        let (bound, achieved) = if e.group.starts_with("field_") {
            match stream.get(&("llc".to_string(), "triad".to_string(), threads)) {
                Some(bw) => {
                    let b = bw / FIELD_BYTES_PER_UPDATE as f64;
                    (format!("{b:.3e}"), format!("{:.0} %", 100.0 * rate / b))
                }
                None => ("–".into(), "–".into()),
            }
        } else {
            ("–".into(), "–".into())
        };
        let scaling = if threads > 1 {
            others
                .iter()
                .find(|o| {
                    o.group == e.group
                        && threads_of(if o.value.is_empty() {
                            &o.function
                        } else {
                            &o.value
                        }) == 1
                })
                .and_then(|o| o.rate())
                .map_or("–".into(), |one| format!("{:.2}", rate / one))
        } else {
            String::new()
        };
        let time = e.mean_ns * 1e-9;
        let time = if time < 1e-3 {
            format!("{:.1} µs", time * 1e6)
        } else if time < 1.0 {
            format!("{:.2} ms", time * 1e3)
        } else {
            format!("{time:.3} s")
        };
        let name = [e.group.as_str(), e.function.as_str(), e.value.as_str()]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        let threads = if threads == 0 {
            "all".to_string()
        } else {
            threads.to_string()
        };
        println!("| {name} | {threads} | {time} | {rate:.3e} | {bound} | {achieved} | {scaling} |");
    }

    println!("\n### H5MD write\n");
    println!("| benchmark | N | time per file | MB/s (payload) | MiB/s |");
    println!("|---|---|---|---|---|");
    for e in entries.iter().filter(|e| e.group == "h5_write") {
        let Some(rate) = e.rate() else { continue };
        println!(
            "| {} | {} | {:.3} s | {:.1} | {:.1} |",
            e.function,
            e.value,
            e.mean_ns * 1e-9,
            rate / 1e6,
            rate / 1048576.0
        );
    }
}
