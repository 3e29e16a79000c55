//! Bad input: every fixture in tests/fixtures/bad/ must fail with a clear message (its first line
//! `# expect: a | b` lists substrings the message must contain), a non-zero exit, no panic and
//! no output file left behind. Plus the command-line cases: unwritable output path, unknown
//! `--set` key, missing scenario file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_buffycoat"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

fn good_scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/scenarios/default.toml")
}

/// Asserts a failed run: exit code 1, no panic, the message contains every expected piece, and
/// the output directory is still empty (no final or partial file).
fn assert_clean_failure(out: &Output, expected: &[&str], dir: &Path, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{what}: expected failure, got success\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{what}: exit code\n{stderr}");
    assert!(!stderr.contains("panicked"), "{what}: panic\n{stderr}");
    assert!(
        stderr.starts_with("error: "),
        "{what}: message format\n{stderr}"
    );
    for piece in expected {
        assert!(
            stderr.contains(piece),
            "{what}: message lacks {piece:?}\n{stderr}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{what}: files left behind: {left:?}");
}

#[test]
fn every_bad_fixture_fails_cleanly_with_its_expected_message() {
    let mut count = 0;
    let mut entries: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        let first = text.lines().next().unwrap();
        let expected: Vec<&str> = first
            .strip_prefix("# expect: ")
            .unwrap_or_else(|| panic!("{} lacks an expect line", path.display()))
            .split(" | ")
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let out = bin()
            .arg("run")
            .arg(path)
            .arg("-o")
            .arg(dir.path().join("out.h5"))
            .arg("--summary")
            .arg(dir.path().join("s.json"))
            .arg("--quiet")
            .output()
            .unwrap();
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut pieces = expected.clone();
        pieces.push(&file_name);
        assert_clean_failure(&out, &pieces, dir.path(), &file_name);
        count += 1;
    }
    assert!(count >= 12, "only {count} fixtures");
}

#[test]
fn unwritable_output_path_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no/such/dir/out.h5");
    let out = bin()
        .arg("run")
        .arg(good_scenario())
        .arg("-o")
        .arg(&target)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_clean_failure(
        &out,
        &["no/such/dir/out.h5"],
        dir.path(),
        "unwritable output",
    );
}

#[test]
fn unknown_set_key_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("run")
        .arg(good_scenario())
        .args(["--set", "rotor.rpmm=2400", "-o"])
        .arg(dir.path().join("out.h5"))
        .arg("--quiet")
        .output()
        .unwrap();
    assert_clean_failure(
        &out,
        &[
            "--set rotor.rpmm=2400",
            "unknown field `rpmm`",
            "default.toml",
        ],
        dir.path(),
        "unknown --set key",
    );
    let out = bin()
        .arg("run")
        .arg(good_scenario())
        .args(["--set", "rotor.rpm=-5", "-o"])
        .arg(dir.path().join("out.h5"))
        .arg("--quiet")
        .output()
        .unwrap();
    assert_clean_failure(
        &out,
        &["rotor.rpm", "allowed [0, 150000]"],
        dir.path(),
        "bad --set value",
    );
}

#[test]
fn missing_scenario_file_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("run")
        .arg(dir.path().join("nope.toml"))
        .arg("-o")
        .arg(dir.path().join("out.h5"))
        .output()
        .unwrap();
    assert_clean_failure(
        &out,
        &["cannot read scenario file", "nope.toml"],
        dir.path(),
        "missing file",
    );
}

/// Reproducer: `count = 1e8` died with `memory allocation of 1600000000 bytes failed` under a
/// 4 GB limit. The memory is estimated before anything is allocated or written and the run
/// is refused with a clear message (here under `ulimit -v` of 2 GB, with 10⁷ cells).
#[test]
fn a_run_larger_than_the_memory_limit_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 2000000 && exec '{}' run '{}' -o '{}' --set species.0.count=10000000 -q",
            env!("CARGO_BIN_EXE_buffycoat"),
            good_scenario().display(),
            dir.path().join("out.h5").display()
        ))
        .output()
        .unwrap();
    assert_clean_failure(
        &out,
        &[
            "needs about",
            "of memory",
            "10000000 tracer cells",
            "ulimit -v",
        ],
        dir.path(),
        "memory limit",
    );
}

/// Reproducers of item 3 of issue 13: outputs that coincide with each other or with an input,
/// and outputs whose directory is missing or which are directories, are refused before
/// anything is computed, and no file appears (the HDF5 output once stayed behind when only the
/// summary failed).
#[test]
fn coinciding_or_unwritable_outputs_are_refused_before_computing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = d.join("scen.toml");
    let text = std::fs::read_to_string(good_scenario()).unwrap();
    std::fs::write(&scn, &text).unwrap();
    let run = |args: &[&std::ffi::OsStr]| bin().arg("run").args(args).arg("-q").output().unwrap();
    let os = |p: &Path| p.as_os_str().to_owned();
    let same = d.join("same.out");
    let cases: Vec<(Vec<std::ffi::OsString>, Vec<&str>)> = vec![
        (
            vec![
                os(&scn),
                "-o".into(),
                os(&same),
                "--summary".into(),
                os(&same),
            ],
            vec!["-o and --summary are the same file"],
        ),
        (
            vec![os(&scn), "-o".into(), os(&scn)],
            vec!["is also an input"],
        ),
        (
            vec![
                os(&scn),
                "-o".into(),
                os(&d.join("./scen.toml")),
                "--force".into(),
            ],
            vec!["is also an input"],
        ),
        (
            vec![
                os(&scn),
                "-o".into(),
                os(&d.join("out.h5")),
                "--summary".into(),
                os(&d.join("missing/s.json")),
            ],
            vec!["--summary", "missing", "does not exist"],
        ),
        (
            vec![
                os(&scn),
                "-o".into(),
                os(&d.join("out.h5")),
                "--summary".into(),
                os(d),
            ],
            vec!["--summary", "is a directory"],
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let o = run(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}\n{stderr}");
        for piece in expected {
            assert!(
                stderr.contains(piece),
                "{args:?}: lacks {piece:?}\n{stderr}"
            );
        }
        // Nothing written, the scenario untouched.
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec!["scen.toml".to_string()], "{args:?}");
        assert_eq!(std::fs::read_to_string(&scn).unwrap(), text);
    }
    // A sweep whose CSV cannot be written does not start (no sweep file).
    let o = bin()
        .arg("sweep")
        .arg(&scn)
        .args(["--vary", "rotor.rpm=1000,2000", "-o"])
        .arg(d.join("sw.h5"))
        .arg("--csv")
        .arg(d.join("nowhere/sw.csv"))
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--csv"));
    assert!(!d.join("sw.h5").exists());
}
