//! Kill tests of single runs: a particle, a hindered, a transient channel and a procedure run
//! are interrupted (SIGTERM) and killed (SIGKILL) at several points and resumed with
//! `--resume`; the finished file holds bitwise the data of an uninterrupted run and no partial,
//! journal or checkpoint file remains. Also: the exit status tells the signal (130 SIGINT,
//! 143 SIGTERM, 129 SIGHUP); a resume of another scenario is refused; a fresh run does not
//! silently discard a checkpoint; a second run on the same output is refused while the first
//! runs; a closed stdout (`| head`) does not make the program panic; the temporary file of a
//! summary write killed halfway is found and removed.

use buffycoat_engine::checkpoint::{checkpoint_path, find_checkpoint, journal_path};
use buffycoat_h5::{ObjectKind, Reader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_buffycoat"))
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A preset with `replace` applied to its text, written to `dir/name`.
fn scenario(dir: &Path, preset: &str, name: &str, replace: &[(&str, &str)]) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/scenarios")
        .join(preset);
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{preset} has no `{from}`");
        text = text.replace(from, to);
    }
    let out = dir.join(name);
    std::fs::write(&out, text).unwrap();
    out
}

/// Every dataset (values bitwise) and attribute of `a` equals that of `b`, and both hold the
/// same objects.
fn assert_same_file(a: &Path, b: &Path) {
    let (ra, rb) = (Reader::open(a).unwrap(), Reader::open(b).unwrap());
    let mut stack = vec!["/".to_string()];
    let mut datasets = 0;
    while let Some(group) = stack.pop() {
        let names = ra.list_group(&group).unwrap();
        assert_eq!(names, rb.list_group(&group).unwrap(), "members of {group}");
        for name in names {
            let path = if group == "/" {
                format!("/{name}")
            } else {
                format!("{group}/{name}")
            };
            let kind = ra.kind(&path);
            assert_eq!(kind, rb.kind(&path), "{path}");
            match kind {
                Some(ObjectKind::Group) => stack.push(path.clone()),
                Some(ObjectKind::Dataset) => {
                    datasets += 1;
                    assert_eq!(dataset(&ra, &path), dataset(&rb, &path), "{path}");
                }
                _ => {}
            }
            let attrs = ra.attr_names(&path).unwrap();
            assert_eq!(attrs, rb.attr_names(&path).unwrap(), "attributes of {path}");
            for attr in attrs {
                assert_eq!(
                    attribute(&ra, &path, &attr),
                    attribute(&rb, &path, &attr),
                    "{path}@{attr}"
                );
            }
        }
    }
    assert!(datasets > 5, "{datasets} datasets");
}

/// A dataset's values as comparable text: f64 as bit patterns, else integers, else strings.
fn dataset(r: &Reader, path: &str) -> String {
    if let Ok((v, shape)) = r.read_f64(path) {
        let bits: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
        return format!("{shape:?} {bits:?}");
    }
    if let Ok((v, shape)) = r.read_i64(path) {
        return format!("{shape:?} {v:?}");
    }
    if let Ok(v) = r.read_strings(path) {
        return format!("{v:?}");
    }
    format!("{:?}", r.read_string(path))
}

fn attribute(r: &Reader, path: &str, name: &str) -> String {
    if let Ok(v) = r.read_attr_strings(path, name) {
        return format!("{v:?}");
    }
    if let Ok(v) = r.read_attr_string(path, name) {
        return v;
    }
    if let Ok(v) = r.read_attr_i64s(path, name) {
        return format!("{v:?}");
    }
    format!("{:?}", r.read_attr_f64(path, name).map(f64::to_bits))
}

/// The sorted names in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// How a run is stopped.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Term,
    Kill,
    Hup,
    Int,
}

impl Stop {
    /// The `kill` option and the exit status it must give (none for SIGKILL).
    fn signal(self) -> Option<(&'static str, i32)> {
        match self {
            Stop::Term => Some(("-TERM", 143)),
            Stop::Hup => Some(("-HUP", 129)),
            Stop::Int => Some(("-INT", 130)),
            Stop::Kill => None,
        }
    }
}

/// Waits until the run has a checkpoint at frame ≥ `frame` (or has ended), then stops it.
/// Returns true if it was stopped while running.
fn stop_at(child: &mut Child, out: &Path, frame: u64, how: Stop) -> bool {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if find_checkpoint(out).is_some_and(|c| c.frame >= frame) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    match how.signal() {
        Some((signal, _)) => {
            let ok = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }
        None => child.kill().unwrap(),
    }
    true
}

/// Runs `scn` uninterrupted, then again stopped at each of `stops` and resumed, and checks
/// that the results are the same and no stray file is left. `journal`: whether the run keeps
/// a journal of its frames (runs that write their output only at the end keep none).
fn kill_and_resume(scn: &Path, dir: &Path, stops: &[(u64, Stop)], journal: bool) {
    let set = ["--set", "output.checkpoint_every_frames=1"];
    let reference = dir.join("reference.h5");
    let o = bin()
        .arg("run")
        .arg(scn)
        .arg("-o")
        .arg(&reference)
        .args(set)
        .arg("-q")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let before = listing(dir);
    let out = dir.join("out.h5");
    let spawn = |resume: bool| {
        let mut c = bin();
        c.arg("run")
            .arg(scn)
            .arg("-o")
            .arg(&out)
            .args(set)
            .args(["-q", "--threads", "2"]);
        if resume {
            c.arg("--resume");
        }
        c.stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut stopped = 0;
    for (k, &(frame, how)) in stops.iter().enumerate() {
        let mut child = spawn(k > 0);
        let was_running = stop_at(&mut child, &out, frame, how);
        let o = child.wait_with_output().unwrap();
        if !was_running {
            // Finished before reaching the frame: nothing more to interrupt.
            assert!(o.status.success(), "{}", text(&o));
            break;
        }
        stopped += 1;
        match how.signal() {
            Some((_, code)) => {
                assert_eq!(o.status.code(), Some(code), "{how:?}: {}", text(&o));
                let err = String::from_utf8_lossy(&o.stderr);
                assert!(err.contains("--resume"), "{err}");
                // A clean stop leaves only the checkpoint and its journal next to the inputs.
                let mut expected = before.clone();
                expected.push(".out.h5.checkpoint".into());
                if journal {
                    expected.push(".out.h5.journal".into());
                }
                expected.sort();
                assert_eq!(listing(dir), expected);
            }
            None => assert!(checkpoint_path(&out).exists()),
        }
        assert!(!out.exists());
    }
    assert!(
        stopped >= 2,
        "the run ended before it could be stopped twice"
    );
    if !out.exists() {
        let o = spawn(true).wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_same_file(&reference, &out);
    // No partial output, journal, lock or checkpoint is left.
    let mut expected = before.clone();
    expected.push("out.h5".into());
    // The finished run's ParaView sidecar (issue 14) sits next to it (none for a procedure).
    if before.iter().any(|n| n == "reference.xmf") {
        expected.push("out.xmf".into());
    }
    expected.sort();
    assert_eq!(listing(dir), expected);
    assert!(!journal_path(&out).exists());
}

#[test]
fn a_particle_run_killed_and_interrupted_resumes_to_the_identical_file() {
    let dir = tempfile::tempdir().unwrap();
    // Inertial cells with adaptive steps (their step sizes are part of the checkpoint), 80
    // frames with velocities.
    let scn = scenario(
        dir.path(),
        "default.toml",
        "p.toml",
        &[
            ("count = 1000", "count = 3000"),
            ("kind = \"overdamped\"", "kind = \"inertial\""),
            ("output_interval_s = 1.0", "output_interval_s = 0.25"),
        ],
    );
    kill_and_resume(
        &scn,
        dir.path(),
        &[
            (5, Stop::Term),
            (20, Stop::Kill),
            (35, Stop::Kill),
            (50, Stop::Term),
        ],
        true,
    );
}

#[test]
fn a_hindered_run_killed_and_interrupted_resumes_to_the_identical_file() {
    let dir = tempfile::tempdir().unwrap();
    let scn = scenario(
        dir.path(),
        "whole_blood_tube.toml",
        "h.toml",
        &[
            ("output_interval_s = 10.0", "output_interval_s = 5.0"),
            ("radial_cells = 400", "radial_cells = 80"),
            ("tracers_per_species = 200", "tracers_per_species = 50"),
            // the coupled Newton solve (the library default; the preset sets the split one,
            // which the test below resumes)
            (
                "\nminor_classes = \"split\"\n",
                "\nminor_classes = \"coupled\"\n",
            ),
        ],
    );
    kill_and_resume(
        &scn,
        dir.path(),
        &[
            (10, Stop::Kill),
            (30, Stop::Term),
            (60, Stop::Kill),
            (90, Stop::Term),
        ],
        true,
    );
}

/// The split implicit tube (`grid.minor_classes = "split"`, as the preset sets it) promotes its
/// minor classes to the Newton solve at t ≈ 415 s of the aggregated 4000 g hard spin (150
/// cells; the promotion test in white_cells.rs); stops before and after it resume to the
/// identical file, so the promotion flags, the sub-step state and the rescaled residual
/// weights are in the checkpoint.
#[test]
fn a_split_tube_stopped_after_a_promotion_resumes_to_the_identical_file() {
    let dir = tempfile::tempdir().unwrap();
    let scn = scenario(
        dir.path(),
        "whole_blood_tube.toml",
        "h.toml",
        &[
            ("output_interval_s = 10.0", "output_interval_s = 5.0"),
            ("radial_cells = 400", "radial_cells = 150"),
            // the preset's own setting, asserted present
            (
                "\nminor_classes = \"split\"\n",
                "\nminor_classes = \"split\"\n",
            ),
            ("tracers_per_species = 200", "tracers_per_species = 20"),
            ("rpm = 3000.0", "rpm = 3782.6"),
            ("r_min_m = 0.10", "r_min_m = 0.15"),
            ("r_max_m = 0.16", "r_max_m = 0.25"),
        ],
    );
    kill_and_resume(
        &scn,
        dir.path(),
        &[(30, Stop::Term), (90, Stop::Kill), (100, Stop::Term)],
        true,
    );
}

#[test]
fn a_transient_channel_run_killed_and_interrupted_resumes_to_the_identical_file() {
    let dir = tempfile::tempdir().unwrap();
    // The coarse transient of `cli_run.rs` (five residence times), 70 frames: the state
    // holds the field, the column solvers' reused Jacobians and every port fraction so far.
    let scn = scenario(
        dir.path(),
        "leukapheresis_channel.toml",
        "c.toml",
        &[
            ("radial_cells = 100", "radial_cells = 40"),
            ("along_cells = 100", "along_cells = 40"),
            // a transient run has fixed pumps (the set-point is for the steady channel)
            ("collect_hematocrit = 0.04", "plasma_ml_min = 26.5"),
            ("[channel]", "[channel]\nsolver = \"transient\""),
            (
                "[run]",
                "[run]\nduration_s = 560.0\noutput_interval_s = 8.0",
            ),
        ],
    );
    kill_and_resume(
        &scn,
        dir.path(),
        &[
            (5, Stop::Term),
            (20, Stop::Kill),
            (40, Stop::Kill),
            (55, Stop::Term),
        ],
        false,
    );
}

#[test]
fn a_procedure_killed_and_interrupted_resumes_to_the_identical_file() {
    let dir = tempfile::tempdir().unwrap();
    // 84 one-minute steps until the lymphocyte target, the channel re-solved as the patient's
    // blood drifts (coarse grid to stay fast).
    let scn = scenario(
        dir.path(),
        "procedure_mnc_cart.toml",
        "m.toml",
        &[
            ("radial_cells = 100", "radial_cells = 40"),
            ("along_cells = 200", "along_cells = 60"),
        ],
    );
    kill_and_resume(
        &scn,
        dir.path(),
        &[(10, Stop::Kill), (30, Stop::Term), (50, Stop::Kill)],
        false,
    );
}

/// The exit status is 128 + the signal: 130 for SIGINT (Ctrl-C), 129 for SIGHUP (a closed
/// terminal), 143 for SIGTERM (above); each stops cleanly with a checkpoint.
#[test]
fn the_exit_status_tells_the_signal() {
    for how in [Stop::Int, Stop::Hup] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let scn = scenario(
            d,
            "default.toml",
            "p.toml",
            &[("output_interval_s = 1.0", "output_interval_s = 0.05")],
        );
        let out = d.join("out.h5");
        let mut child = bin()
            .arg("run")
            .arg(&scn)
            .arg("-o")
            .arg(&out)
            .args(["-q", "--set", "output.checkpoint_every_frames=1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(stop_at(&mut child, &out, 2, how), "{how:?}: finished first");
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), how.signal().map(|s| s.1), "{}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
        assert_eq!(
            listing(d),
            vec![
                ".out.h5.checkpoint".to_string(),
                ".out.h5.journal".into(),
                "p.toml".into()
            ]
        );
    }
}

/// Two runs on the same output: the second is refused while the first runs (also with
/// `--force` or `--resume`); the lock of a killed run is taken over.
#[test]
fn a_second_run_on_the_same_output_is_refused_while_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(
        d,
        "default.toml",
        "p.toml",
        &[("output_interval_s = 1.0", "output_interval_s = 0.05")],
    );
    let out = d.join("out.h5");
    let args = ["-q", "--set", "output.checkpoint_every_frames=1"];
    let run = |extra: &[&str]| {
        let mut c = bin();
        c.arg("run")
            .arg(&scn)
            .arg("-o")
            .arg(&out)
            .args(args)
            .args(extra);
        c
    };
    let mut first = run(&[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Running: it holds the lock and has written a checkpoint.
    let start = Instant::now();
    while find_checkpoint(&out).is_none() {
        assert!(first.try_wait().unwrap().is_none(), "finished first");
        assert!(start.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    let lock = d.join(".out.h5.lock");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        first.id().to_string()
    );
    for extra in [&[][..], &["--force"], &["--resume"]] {
        let o = run(extra).output().unwrap();
        assert!(first.try_wait().unwrap().is_none(), "finished first");
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("another buffycoat") && err.contains(&first.id().to_string()),
            "{err}"
        );
    }
    // Killed, it leaves its lock; the next run takes it over.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(lock.exists());
    let o = run(&["--resume"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        listing(d),
        vec!["out.h5".to_string(), "out.xmf".into(), "p.toml".into()]
    );
}

/// `buffycoat … | head`: a closed stdout is not an error of the program (no panic, the
/// command finishes and its files are complete).
#[test]
fn a_closed_stdout_does_not_make_the_program_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(d, "default.toml", "p.toml", &[]);
    let out = d.join("out.h5");
    let summary = d.join("s.json");
    let mut species = bin();
    species.arg("species");
    let mut run = bin();
    run.arg("run")
        .arg(&scn)
        .arg("-o")
        .arg(&out)
        .arg("--summary")
        .arg(&summary);
    for mut cmd in [species, run] {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the program writes anything (as `head -0` would).
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(o.status.code(), Some(0), "{err}");
    }
    assert!(out.exists() && summary.exists());
}

/// The temporary file of a summary (or any atomic write) whose writer was killed halfway,
/// `.NAME.partial-PID-XXXXXX`, is found and removed by the next run of that output, like the
/// partial HDF5 output; files of live processes are kept.
#[test]
fn the_temporary_file_of_a_killed_summary_write_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(d, "default.toml", "p.toml", &[]);
    // A process id that no longer exists: a child that has ended.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let stale = d.join(format!(".s.json.partial-{dead}-a1B2c3"));
    std::fs::write(&stale, "{\"half\": ").unwrap();
    let live = d.join(format!(".s.json.partial-{}-x9Y8z7", std::process::id()));
    std::fs::write(&live, "{").unwrap();
    let o = bin()
        .arg("run")
        .arg(&scn)
        .arg("-q")
        .arg("-o")
        .arg(d.join("out.h5"))
        .arg("--summary")
        .arg(d.join("s.json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&stale.display().to_string()) && err.contains("did not finish"),
        "{err}"
    );
    assert!(!stale.exists());
    assert!(live.exists());
}

#[test]
fn a_resume_of_another_scenario_is_refused_and_a_checkpoint_is_not_discarded_silently() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(
        d,
        "default.toml",
        "p.toml",
        &[("output_interval_s = 1.0", "output_interval_s = 0.1")],
    );
    let out = d.join("out.h5");
    let run = |extra: &[&str]| {
        bin()
            .arg("run")
            .arg(&scn)
            .arg("-o")
            .arg(&out)
            .args(["-q", "--set", "output.checkpoint_every_frames=1"])
            .args(extra)
            .output()
            .unwrap()
    };
    let mut child = bin()
        .arg("run")
        .arg(&scn)
        .arg("-o")
        .arg(&out)
        .args(["-q", "--set", "output.checkpoint_every_frames=1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(stop_at(&mut child, &out, 3, Stop::Kill));
    child.wait().unwrap();
    // Another scenario (an extra override) is refused, naming the reason.
    let o = run(&["--resume", "--set", "rotor.rpm=2000"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("another input"), "{err}");
    // The killed run's partial output was found and removed.
    assert!(err.contains("partial output of an earlier run"), "{err}");
    assert!(checkpoint_path(&out).exists());
    // A fresh run does not discard the checkpoint without --force.
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--resume") && err.contains("--force"), "{err}");
    // --force starts over and cleans up.
    let o = run(&["--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        listing(d),
        vec!["out.h5".to_string(), "out.xmf".into(), "p.toml".into()]
    );
}
