//! Per-model summaries (each model prints what it computes: no NaN, no other model's fields,
//! in the text and in SUMMARY.json), the CLI habits (help lists every command, an existing
//! result is never silently replaced), and range errors rounded for people.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_buffycoat"))
}

fn preset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../data/scenarios/{name}.toml"))
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Words only one model's text uses.
const PARTICLE_WORDS: [&str; 3] = ["cell-steps", "max particle Re", "on wall"];
const HINDERED_WORDS: [&str; 3] = ["radial cells", "field steps", "buffy coat"];
const CHANNEL_WORDS: [&str; 3] = ["residence time", "collection efficiency", "product purity"];
const PROCEDURE_WORDS: [&str; 3] = ["blood volumes", "citrate", "CE2"];
/// SUMMARY.json keys only one model writes (top level).
const PARTICLE_KEYS: [&str; 2] = ["max_particle_reynolds", "particle_steps"];
const HINDERED_KEYS: [&str; 1] = ["layers"];
const CHANNEL_KEYS: [&str; 2] = ["ports", "collection_efficiency"];
const PROCEDURE_KEYS: [&str; 1] = ["procedure"];

/// Runs `scenario` with `set`, returns (stdout, SUMMARY.json).
fn run(scenario: &Path, set: &[&str]) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("s.json");
    let mut cmd = bin();
    cmd.arg("run")
        .arg(scenario)
        .arg("--quiet")
        .arg("-o")
        .arg(dir.path().join("out.h5"))
        .arg("--summary")
        .arg(&summary);
    for s in set {
        cmd.args(["--set", s]);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let json = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    (String::from_utf8_lossy(&o.stdout).into_owned(), json)
}

fn check(
    stdout: &str,
    json: &serde_json::Value,
    own: (&[&str], &[&str]),
    others: &[(&[&str], &[&str])],
) {
    assert!(!stdout.contains("NaN"), "{stdout}");
    assert!(!stdout.contains("{ "), "Debug formatting: {stdout}");
    for w in own.0 {
        assert!(stdout.contains(w), "missing `{w}`:\n{stdout}");
    }
    for k in own.1 {
        assert!(json.get(k).is_some(), "missing key {k}: {json}");
    }
    for (words, keys) in others {
        for w in *words {
            assert!(!stdout.contains(w), "another model's `{w}`:\n{stdout}");
        }
        for k in *keys {
            assert!(json.get(k).is_none(), "another model's key {k}: {json}");
        }
    }
}

#[test]
fn particle_summary_is_its_own() {
    let (stdout, json) = run(&preset("default"), &["species.0.count=200"]);
    check(
        &stdout,
        &json,
        (&PARTICLE_WORDS, &PARTICLE_KEYS),
        &[
            (&HINDERED_WORDS, &HINDERED_KEYS),
            (&CHANNEL_WORDS, &CHANNEL_KEYS),
            (&PROCEDURE_WORDS, &PROCEDURE_KEYS),
        ],
    );
}

#[test]
fn hindered_summary_is_its_own() {
    let (stdout, json) = run(
        &preset("whole_blood_tube"),
        &[
            "grid.radial_cells=100",
            "run.duration_s=60",
            "run.output_interval_s=30",
        ],
    );
    check(
        &stdout,
        &json,
        (&HINDERED_WORDS, &HINDERED_KEYS),
        &[
            (&PARTICLE_WORDS, &["max_particle_reynolds"]),
            (&CHANNEL_WORDS, &CHANNEL_KEYS),
            (&PROCEDURE_WORDS, &PROCEDURE_KEYS),
        ],
    );
    assert!(stdout.contains("Richardson–Zaki (n = "), "{stdout}");
    assert!(
        json["layers"]["hindrance"]
            .as_str()
            .unwrap()
            .starts_with("Richardson–Zaki"),
        "{json}"
    );
}

#[test]
fn channel_summary_is_its_own() {
    let (stdout, json) = run(
        &preset("leukapheresis_channel"),
        &[
            "grid.radial_cells=40",
            "grid.along_cells=40",
            "blood.tracers_per_species=10",
        ],
    );
    check(
        &stdout,
        &json,
        (&CHANNEL_WORDS, &CHANNEL_KEYS),
        &[
            (&PARTICLE_WORDS, &PARTICLE_KEYS),
            (&HINDERED_WORDS, &HINDERED_KEYS),
            (&PROCEDURE_WORDS, &PROCEDURE_KEYS),
        ],
    );
    // Rounded for people: no 110.76923076923012 s.
    let line = stdout.lines().next().unwrap().split_once("): ").unwrap().1;
    assert!(
        !line
            .split_whitespace()
            .any(|w| w.len() > 12 && w.contains('.')),
        "{line}"
    );
    assert!(json["species"]["rbc"].get("floated_fraction").is_none());
}

#[test]
fn procedure_summary_is_its_own() {
    let (stdout, json) = run(&preset("procedure_mnc_cart"), &[]);
    check(
        &stdout,
        &json,
        (&PROCEDURE_WORDS, &PROCEDURE_KEYS),
        &[
            (&PARTICLE_WORDS, &PARTICLE_KEYS),
            (&HINDERED_WORDS, &HINDERED_KEYS),
            (&CHANNEL_WORDS, &CHANNEL_KEYS),
        ],
    );
    assert!(!stdout.contains("cell-steps/s"), "{stdout}");
    assert!(json["species"]["rbc"].get("mean_radius_m").is_none());
}

#[test]
fn help_lists_every_command() {
    let o = bin().arg("--help").output().unwrap();
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for command in ["run", "validate", "species", "plot", "sweep", "merge"] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "{command} is not listed:\n{help}"
        );
    }
}

#[test]
fn an_existing_result_is_not_replaced_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.h5");
    let summary = dir.path().join("s.json");
    let go = |extra: &[&str]| {
        bin()
            .arg("run")
            .arg(preset("default"))
            .args(["--quiet", "--set", "species.0.count=20", "-o"])
            .arg(&out)
            .arg("--summary")
            .arg(&summary)
            .args(extra)
            .output()
            .unwrap()
    };
    let first = go(&[]);
    assert!(first.status.success(), "{}", text(&first));
    let before = std::fs::read(&out).unwrap();
    let again = go(&["--set", "rotor.rpm=1000"]);
    assert!(!again.status.success(), "{}", text(&again));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the first result is intact"
    );
    // A summary alone is protected too.
    std::fs::remove_file(&out).unwrap();
    let summary_only = go(&[]);
    assert!(!summary_only.status.success(), "{}", text(&summary_only));
    assert!(!out.exists(), "nothing written when refusing");
    let forced = go(&["--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
}

#[test]
fn range_errors_are_rounded_for_people() {
    let o = bin()
        .arg("run")
        .arg(preset("leukapheresis_channel"))
        .args(["--quiet", "--set", "ports.collect_ml_min=500", "-o"])
        .arg(tempfile::tempdir().unwrap().path().join("x.h5"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ports.collect_ml_min"), "{err}");
    // Every number in the message has at most 4 significant digits.
    for w in err.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let digits = w.chars().filter(|c| c.is_ascii_digit()).count();
        assert!(digits <= 6, "`{w}` in {err}");
    }
}
