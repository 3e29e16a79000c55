//! Property-based fuzzing of the scenario pipeline: parse → `--set` → resolve → memory check →
//! a very short run, over structured mutations of small scenarios (deleted and duplicated
//! keys, wrong types, extreme and subnormal numbers, NaN and infinities, huge counts, random
//! bytes, truncation), with a fixed seed. Every case must end without a panic, in bounded
//! work, with either a clear error and no file left, or outputs holding only finite numbers
//! (no NaN, infinity or `null`). The corpus at the end replays every reproducer of issue 13
//! through the same checks.

use buffycoat::input::{self, library};
use buffycoat_engine::{CancelFlag, RunOptions};
use buffycoat_h5::{ObjectKind, Reader};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use std::path::Path;
use std::time::Duration;

/// The small base scenarios: particles (overdamped, 20 cells) and a hindered tube (40 cells,
/// 5 tracers per species, 6 frames).
fn bases() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/scenarios");
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    let particles = read("default.toml")
        .replace("count = 1000", "count = 20")
        .replace("duration_s = 20.0", "duration_s = 2.0")
        .replace("output_interval_s = 1.0", "output_interval_s = 0.5");
    let hindered = read("whole_blood_tube.toml")
        .replace("duration_s = 600.0", "duration_s = 60.0")
        .replace("radial_cells = 400", "radial_cells = 40")
        .replace("tracers_per_species = 200", "tracers_per_species = 5");
    vec![
        ("particles.toml".into(), particles),
        ("hindered.toml".into(), hindered),
    ]
}

/// Dotted paths of every leaf of a TOML document (array elements by index).
fn leaves(v: &toml::Value, at: &str, out: &mut Vec<String>) {
    let join = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match v {
        toml::Value::Table(t) => t.iter().for_each(|(k, x)| leaves(x, &join(k), out)),
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| leaves(x, &join(&i.to_string()), out)),
        _ => out.push(at.to_string()),
    }
}

/// Values a mutation may put at a key (as `--set` text): extremes, subnormals, NaN,
/// infinities, huge counts, wrong types.
const VALUES: &[&str] = &[
    "1",
    "2",
    "10",
    "100",
    "3000",
    "0.001",
    "0.25",
    "0",
    "-0.0",
    "-1",
    "1e-320",
    "5e-324",
    "1e-306",
    "1e308",
    "1.7976931348623157e308",
    "nan",
    "inf",
    "-inf",
    "100000000",
    "9007199254740993",
    "9223372036854775807",
    "1e9",
    "0.5",
    "\"text\"",
    "true",
    "[1, 2]",
    "{ a = 1 }",
];

/// One structured mutation.
#[derive(Debug, Clone)]
enum Mutation {
    /// `--set KEY=VALUE` on a leaf
    Set(usize, usize),
    /// the same, written into the text of the file (replacing the key's line)
    Edit(usize, usize),
    /// remove a leaf's line from the text
    Delete(usize),
    /// duplicate a line of the text
    Duplicate(usize),
    /// overwrite bytes of the text
    Bytes(usize, Vec<u8>),
    /// cut the text
    Truncate(usize),
    /// an override that is not KEY=VALUE or names no key
    BadOverride(String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        8 => (any::<usize>(), 0..VALUES.len()).prop_map(|(k, v)| Mutation::Set(k, v)),
        3 => (any::<usize>(), 0..VALUES.len()).prop_map(|(k, v)| Mutation::Edit(k, v)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Duplicate),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(p, b)| Mutation::Bytes(p, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => "[a-z._=0-9]{0,12}".prop_map(Mutation::BadOverride),
    ]
}

/// Applies `mutations` to `text`, returning the new text and the `--set` overrides.
fn apply(text: &str, mutations: &[Mutation]) -> (Vec<u8>, Vec<String>) {
    let doc: toml::Value = toml::from_str(text).unwrap();
    let mut keys = Vec::new();
    leaves(&doc, "", &mut keys);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut sets = Vec::new();
    let mut bytes_ops = Vec::new();
    for m in mutations {
        match m {
            Mutation::Set(k, v) => sets.push(format!("{}={}", keys[k % keys.len()], VALUES[*v])),
            Mutation::Edit(k, _) | Mutation::Delete(k) => {
                let key = &keys[k % keys.len()];
                let last = key.rsplit('.').next().unwrap();
                if let Some(line) = lines
                    .iter_mut()
                    .find(|l| l.trim_start().starts_with(&format!("{last} =")))
                {
                    *line = match m {
                        Mutation::Edit(_, v) => format!("{last} = {}", VALUES[*v]),
                        _ => String::new(),
                    };
                }
            }
            Mutation::Duplicate(i) => {
                let i = i % lines.len();
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            Mutation::BadOverride(s) => sets.push(s.clone()),
            Mutation::Bytes(..) | Mutation::Truncate(_) => bytes_ops.push(m.clone()),
        }
    }
    let mut bytes = (lines.join("\n") + "\n").into_bytes();
    for m in bytes_ops {
        match m {
            Mutation::Bytes(p, b) => {
                let p = p % bytes.len();
                for (k, x) in b.into_iter().enumerate() {
                    if p + k < bytes.len() {
                        bytes[p + k] = x;
                    }
                }
            }
            Mutation::Truncate(p) => bytes.truncate(p % (bytes.len() + 1)),
            _ => unreachable!(),
        }
    }
    (bytes, sets)
}

/// Cases whose run stage is cheap enough for the fuzz budget (bounded work); larger valid
/// scenarios are checked up to resolve and the memory estimate.
fn small(r: &input::scenario::Resolved) -> bool {
    let cells: usize = r.species.iter().map(|s| s.count).sum();
    let frames = r.duration / r.output_interval;
    let steps = r.dt.map_or(0.0, |dt| r.duration / dt);
    r.channel.is_none()
        && r.procedure.is_none()
        && cells <= 2000
        && frames <= 200.0
        && steps <= 1e5
        && r.hindered.as_ref().is_none_or(|h| h.radial_cells <= 400)
}

/// Non-finite numbers in an HDF5 file (datasets and attributes readable as f64).
fn non_finite(path: &Path) -> Vec<String> {
    let r = Reader::open(path).unwrap();
    let mut bad = Vec::new();
    let mut stack = vec!["/".to_string()];
    while let Some(g) = stack.pop() {
        for name in r.list_group(&g).unwrap() {
            let p = if g == "/" {
                format!("/{name}")
            } else {
                format!("{g}/{name}")
            };
            match r.kind(&p) {
                Some(ObjectKind::Group) => stack.push(p.clone()),
                Some(ObjectKind::Dataset) => {
                    if let Ok((v, _)) = r.read_f64(&p)
                        && v.iter().any(|x| !x.is_finite())
                    {
                        bad.push(p.clone());
                    }
                }
                _ => {}
            }
            for a in r.attr_names(&p).unwrap() {
                if r.read_attr_f64(&p, &a).is_ok_and(|v| !v.is_finite()) {
                    bad.push(format!("{p}@{a}"));
                }
            }
        }
    }
    bad
}

fn has_null(v: &serde_json::Value, top: bool) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Object(m) => m
            .iter()
            .any(|(k, x)| !(top && k == "output") && has_null(x, false)),
        serde_json::Value::Array(a) => a.iter().any(|x| has_null(x, false)),
        _ => false,
    }
}

/// What one case did.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    parse_or_resolve_errors: usize,
    too_large_to_run: usize,
    run_errors: usize,
    runs: usize,
}

/// The pipeline on one input; Err(message) if a property fails.
fn check_case(
    dir: &Path,
    name: &str,
    text: &[u8],
    sets: &[String],
    lib: &buffycoat_physics::species::SpeciesLibrary,
    tally: &mut Tally,
) -> Result<(), String> {
    let path = dir.join(name);
    let Ok(text) = std::str::from_utf8(text) else {
        tally.parse_or_resolve_errors += 1;
        return Ok(());
    };
    let loaded = match input::load_text(&path, text, sets, lib) {
        Ok(l) => l,
        Err(e) => {
            let m = e.to_string();
            if m.is_empty() || m.contains("panicked") {
                return Err(format!("unclear error {m:?}"));
            }
            tally.parse_or_resolve_errors += 1;
            return Ok(());
        }
    };
    if input::resources::check_memory(&loaded.resolved).is_err() || !small(&loaded.resolved) {
        tally.too_large_to_run += 1;
        return Ok(());
    }
    let out_dir = tempfile::tempdir_in(dir).unwrap();
    let output = out_dir.path().join("out.h5");
    let summary = out_dir.path().join("out.json");
    let cancel = CancelFlag::new();
    let opts = RunOptions {
        output: Some(output.clone()),
        summary: Some(summary.clone()),
        threads: Some(1),
        cancel: Some(cancel.clone()),
        ..RunOptions::default()
    };
    // Bounded work: a watchdog cancels a run that takes more than 20 s; it must then stop. The
    // watchdog waits on a channel, so it returns as soon as the run ends (a polling loop with a
    // sleep made every case wait for its next wake-up).
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                finished.recv_timeout(Duration::from_secs(20))
            {
                cancel.cancel();
            }
        })
    };
    let result = buffycoat_engine::run(&loaded.setup(), &loaded.provenance(), &opts);
    drop(done);
    watchdog.join().unwrap();
    if cancel.is_cancelled() {
        return Err(format!("ran longer than 20 s (work not bounded): {sets:?}"));
    }
    match result {
        Ok(_) => {
            tally.runs += 1;
            let bad = non_finite(&output);
            if !bad.is_empty() {
                return Err(format!("non-finite values in {bad:?}"));
            }
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
            if has_null(&json, true) {
                return Err(format!("null in the summary: {json}"));
            }
        }
        Err(e) => {
            tally.run_errors += 1;
            let left: Vec<_> = std::fs::read_dir(out_dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            if !left.is_empty() {
                return Err(format!("error `{e}` left files {left:?}"));
            }
        }
    }
    Ok(())
}

// 3 000 mutated scenarios in two halves with their own seeds, so the test harness runs them on
// two cores at once (the runs, ≈ 100 ms each with their HDF5 output, dominate the time).
#[test]
fn mutated_scenarios_never_panic_hang_write_non_finite_values_or_leave_files() {
    fuzz_scenarios(13, 1500);
}

#[test]
fn mutated_scenarios_second_half() {
    fuzz_scenarios(14, 1500);
}

/// `cases` mutated scenarios from the fixed proptest seed `seed`; every property of
/// [`check_case`] must hold and the mutations must reach every stage.
fn fuzz_scenarios(seed: u64, cases: u32) {
    let lib = library::default_library().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bases = bases();
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let strategy = (0..bases.len(), proptest::collection::vec(mutation(), 1..3));
    runner
        .run(&strategy, |(b, mutations)| {
            let (name, text) = &bases[b];
            let (bytes, sets) = apply(text, &mutations);
            check_case(
                dir.path(),
                name,
                &bytes,
                &sets,
                &lib,
                &mut tally.borrow_mut(),
            )
            .map_err(|m| TestCaseError::fail(format!("{m}\nmutations {mutations:?}")))
        })
        .unwrap();
    let t = *tally.borrow();
    eprintln!("{t:?}");
    // The mutations reach every stage: errors at input, refusals and real runs (≈ 89 % and
    // ≈ 11 % of the cases with these mutation weights).
    let cases = cases as usize;
    assert!(t.parse_or_resolve_errors > cases / 10, "{t:?}");
    assert!(t.runs > cases / 10, "{t:?}");
}

/// Every reproducer of issue 13 (item 2), named after what it pins, through the same checks.
#[test]
fn corpus_of_reproducers() {
    let lib = library::default_library().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bases = bases();
    let dir_s = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/scenarios");
    let sector = std::fs::read_to_string(dir_s.join("sector_ramp_inertial.toml")).unwrap();
    let procedure = std::fs::read_to_string(dir_s.join("procedure_mnc_cart.toml")).unwrap();
    let corpus: Vec<(&str, &str, &str, Vec<&str>, bool)> = vec![
        // (name, base name, text, overrides, must be refused)
        (
            "inertial_ramp_1e-306_hung",
            "particles.toml",
            &bases[0].1,
            vec!["model.kind=inertial", "rotor.ramp_s=1e-306"],
            true,
        ),
        (
            "overdamped_ramp_1e-306_wrote_nan",
            "particles.toml",
            &bases[0].1,
            vec!["rotor.ramp_s=1e-306"],
            true,
        ),
        (
            "profile_knot_1e-320_stuck_at_frame_0",
            "sector.toml",
            &sector,
            vec!["rotor.profile.1.time_s=1e-320"],
            true,
        ),
        (
            "procedure_step_min_1e-9_unbounded_memory",
            "procedure.toml",
            &procedure,
            vec!["procedure.step_min=1e-9"],
            true,
        ),
        (
            "dt_1e-12_never_finished",
            "particles.toml",
            &bases[0].1,
            vec!["run.dt_s=1e-12"],
            true,
        ),
        (
            "rpm_zero_infinite_step",
            "particles.toml",
            &bases[0].1,
            vec!["rotor.rpm=0"],
            false,
        ),
        (
            "rpm_subnormal_infinite_step",
            "particles.toml",
            &bases[0].1,
            vec!["rotor.rpm=1e-310"],
            false,
        ),
        (
            "no_tracers_nan_radii",
            "hindered.toml",
            &bases[1].1,
            vec!["blood.tracers_per_species=0"],
            false,
        ),
    ];
    for (name, file, text, sets, refused) in corpus {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let mut t = Tally::default();
        check_case(dir.path(), file, text.as_bytes(), &sets, &lib, &mut t)
            .unwrap_or_else(|m| panic!("{name}: {m}"));
        if refused {
            assert_eq!(t.parse_or_resolve_errors, 1, "{name}: not refused: {t:?}");
        } else {
            assert_eq!(t.runs, 1, "{name}: did not run: {t:?}");
        }
    }
}
