//! A fixed, deterministic push workload for instruction-count profiling (valgrind cachegrind or
//! callgrind), where criterion's adaptive iteration counts would get in the way:
//!
//! ```text
//! cargo build --profile bench -p buffycoat-benches --example push_probe
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/push_probe overdamped 100000 16 4
//! ```
//!
//! Arguments: model (`overdamped` | `inertial`), cells N, steps per `advance` call, calls,
//! threads (default 1). Prints the wall time and the particle-steps per second (meaningless
//! under valgrind; divide the instruction count by N × steps × calls instead).

use buffycoat_benches::push::PushBench;
use buffycoat_sediment::ParticleModel;
use buffycoat_stepper::{DEFAULT_CHUNK_LEN, Parallel};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let model = match arg(0, "overdamped").as_str() {
        "overdamped" => ParticleModel::Overdamped,
        "inertial" => ParticleModel::Inertial,
        other => {
            eprintln!("unknown model {other:?}: use overdamped or inertial");
            std::process::exit(2);
        }
    };
    let parse = |i: usize, default: &str| -> u64 {
        arg(i, default).parse().unwrap_or_else(|e| {
            eprintln!("argument {}: {e}", i + 1);
            std::process::exit(2);
        })
    };
    let (n, steps, calls, threads) = (
        parse(1, "100000"),
        parse(2, "16"),
        parse(3, "4"),
        parse(4, "1"),
    );
    let par = Parallel::new(Some(threads as usize), DEFAULT_CHUNK_LEN).expect("thread pool");
    let mut bench = PushBench::new(model, n as usize, &par);
    // One untimed call builds the overdamped multiplier cache.
    bench.advance(steps, &par);
    let start = Instant::now();
    for _ in 0..calls {
        bench.advance(steps, &par);
    }
    let secs = start.elapsed().as_secs_f64();
    let particle_steps = (n * steps * calls) as f64;
    println!(
        "{:?} N = {n}, {steps} steps/call × {calls} calls, {threads} thread(s): {secs:.3} s, \
         {:.3e} particle-steps/s",
        model,
        particle_steps / secs
    );
    eprintln!("{}", bench.summary());
}
