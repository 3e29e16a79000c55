//! `buffycoat sweep` and `buffycoat merge` end to end: shards merged equal the unsharded sweep,
//! an interrupted (SIGTERM) and a killed (SIGKILL) sweep resume to the identical result, a point
//! equals `run --set`, bad specs and mismatched merges are clear errors, and the file layout as
//! h5py sees it.

use buffycoat::sweep::grid::format_number;
use buffycoat::sweep::metrics::{flatten_summary, is_timing};
use buffycoat::sweep::{PointStatus, SweepData, derive_seed};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_buffycoat"))
}

/// The default scenario with `count` probe cells.
fn scenario(dir: &Path, name: &str, count: usize) -> PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/scenarios/default.toml");
    let text = std::fs::read_to_string(default).unwrap();
    assert!(text.contains("count = 1000"));
    let path = dir.join(name);
    std::fs::write(
        &path,
        text.replace("count = 1000", &format!("count = {count}")),
    )
    .unwrap();
    path
}

fn sweep(scenario: &Path, args: &[&str]) -> Output {
    bin()
        .arg("sweep")
        .arg(scenario)
        .args(args)
        .arg("--quiet")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn read(path: &Path) -> SweepData {
    SweepData::read_h5(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The same sweep results: grid, seeds, status, errors, metric names and values (bitwise,
/// except the timing metrics).
fn assert_same_results(a: &SweepData, b: &SweepData) {
    assert_eq!(a.scenario_text, b.scenario_text);
    assert!(a.grid.difference(&b.grid).is_none());
    assert_eq!(a.seeds, b.seeds);
    assert_eq!(a.points.len(), b.points.len());
    assert_eq!(a.metric_names(), b.metric_names());
    for (p, (x, y)) in a.points.iter().zip(&b.points).enumerate() {
        assert_eq!(x.status, y.status, "point {p}");
        assert_eq!(x.error, y.error, "point {p}");
        let names =
            |r: &buffycoat::sweep::PointResult| r.metrics.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(x), names(y), "point {p}");
        for (name, v) in &x.metrics {
            if !is_timing(name) {
                assert_eq!(v.to_bits(), y.metrics[name].to_bits(), "point {p} {name}");
            }
        }
    }
}

/// No hidden partial files and exactly `expected` in `dir`.
fn assert_dir_holds(dir: &Path, expected: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
}

const GRID: [&str; 4] = [
    "--vary",
    "rotor.rpm=-100,1000,3000",
    "--vary",
    "run.duration_s=1:2:2",
];

#[test]
fn shards_merged_equal_the_unsharded_sweep_and_failures_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(d, "s.toml", 50);
    let whole = d.join("whole.h5");
    let whole_csv = d.join("whole.csv");
    let o = sweep(
        &scn,
        &[
            &GRID[..],
            &[
                "-o",
                whole.to_str().unwrap(),
                "--csv",
                whole_csv.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    // rpm −100 is out of range: those two points fail, the sweep goes on, exit status 3.
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("2 point(s) failed"), "{stderr}");
    let w = read(&whole);
    assert_eq!(w.grid.shape(), [3, 2]);
    let status: Vec<PointStatus> = w.points.iter().map(|p| p.status).collect();
    use PointStatus::{Failed, NotRun, Ok};
    assert_eq!(status, [Failed, Failed, Ok, Ok, Ok, Ok]);
    assert!(
        w.points[0].error.contains("rotor.rpm"),
        "{}",
        w.points[0].error
    );
    assert!(w.points[2].error.is_empty());
    assert_eq!(w.grid.values(3), [1000.0, 2.0]); // row-major, last key fastest
    assert_eq!(w.seeds[4], derive_seed(7, 4));
    assert_eq!(w.points[2].metrics["species.probe.count"], 50.0);

    let mut parts = Vec::new();
    for i in 0..3 {
        let part = d.join(format!("part-{i}.h5"));
        let shard = format!("{i}/3");
        let o = sweep(
            &scn,
            &[
                &GRID[..],
                &["-o", part.to_str().unwrap(), "--shard", &shard],
            ]
            .concat(),
        );
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", text(&o));
        let data = read(&part);
        assert_eq!((data.shard.index, data.shard.count), (i, 3));
        for (p, point) in data.points.iter().enumerate() {
            assert_eq!(point.status == NotRun, p % 3 != i, "shard {i} point {p}");
        }
        parts.push(part);
    }
    let merged = d.join("merged.h5");
    let merged_csv = d.join("merged.csv");
    let o = bin()
        .arg("merge")
        .args(&parts)
        .arg("-o")
        .arg(&merged)
        .arg("--csv")
        .arg(&merged_csv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let m = read(&merged);
    assert_eq!((m.shard.index, m.shard.count), (0, 1));
    assert_same_results(&w, &m);

    // The CSVs agree too (apart from the timing columns), with the contract's columns.
    let table = |path: &Path| -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = csv::Reader::from_path(path).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    };
    let (h1, r1) = table(&whole_csv);
    let (h2, r2) = table(&merged_csv);
    assert_eq!(h1, h2);
    assert_eq!(&h1[..4], ["point", "rotor.rpm", "run.duration_s", "status"]);
    assert_eq!(h1.last().unwrap(), "error");
    let metric_cols = &h1[4..h1.len() - 1];
    let mut sorted = metric_cols.to_vec();
    sorted.sort();
    assert_eq!(metric_cols, sorted.as_slice());
    assert_eq!(r1.len(), 6);
    for (a, b) in r1.iter().zip(&r2) {
        for (k, name) in h1.iter().enumerate() {
            if !is_timing(name) {
                assert_eq!(a[k], b[k], "{name}");
            }
        }
    }
    // Full precision: the CSV reads back to the file's numbers bit for bit.
    let col = h1
        .iter()
        .position(|h| h == "species.probe.mean_radius_m")
        .unwrap();
    for (p, row) in r1.iter().enumerate() {
        let v = w.points[p].metrics.get("species.probe.mean_radius_m");
        match v {
            Some(v) => assert_eq!(row[col].parse::<f64>().unwrap().to_bits(), v.to_bits()),
            None => assert_eq!(row[col], ""),
        }
    }
    assert!(r1[0].last().unwrap().contains("rotor.rpm"));
    assert_eq!(r1[0][3], "1");
}

#[test]
fn a_point_equals_run_with_the_same_set_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(d, "s.toml", 60);
    let out = d.join("sweep.h5");
    let o = sweep(
        &scn,
        &[
            "--vary",
            "rotor.rpm=1500:2500:2",
            "--vary",
            "run.duration_s=1,2.5",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let data = read(&out);
    for p in [1, 2] {
        let mut args = vec!["run".to_string(), scn.display().to_string()];
        for (axis, v) in data.grid.axes.iter().zip(data.grid.values(p)) {
            args.push("--set".into());
            args.push(format!("{}={}", axis.key, format_number(v)));
        }
        args.push("--set".into());
        args.push(format!("run.seed={}", data.seeds[p]));
        let summary = d.join(format!("p{p}.json"));
        let o = bin()
            .args(&args)
            .arg("-o")
            .arg(d.join(format!("p{p}.h5")))
            .arg("--summary")
            .arg(&summary)
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        let expected = flatten_summary(&json);
        let got = &data.points[p].metrics;
        assert_eq!(
            expected.keys().collect::<Vec<_>>(),
            got.keys().collect::<Vec<_>>()
        );
        for (name, v) in &expected {
            if !is_timing(name) {
                assert_eq!(v.to_bits(), got[name].to_bits(), "point {p} {name}");
            }
        }
        assert_eq!(json["duration_s"].as_f64(), Some(data.grid.values(p)[1]));
    }
}

/// Waits until `out` is a sweep file with more than `min_ok` ok points (the process keeps
/// running), reading it as another program would while checkpoints replace it.
fn wait_for_progress(out: &Path, min_ok: usize, child: &mut std::process::Child) -> usize {
    let start = Instant::now();
    loop {
        if out.exists()
            && let Ok(d) = SweepData::read_h5(out)
            && d.counts().ok > min_ok
        {
            return d.counts().ok;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the sweep ended ({status}) before a checkpoint with progress appeared");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn interrupted_and_killed_sweeps_resume_to_the_identical_result() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 60 points of ~0.09 s on one thread (~5 s): the sweep is still running at its second and
    // third checkpoints.
    let scn = scenario(d, "s.toml", 10_000);
    let grid = [
        "--vary",
        "rotor.rpm=1500:3000:12",
        "--vary",
        "run.duration_s=10,20,30,40,50",
    ];
    let out = d.join("sweep.h5");
    let spawn = |extra: &[&str]| {
        bin()
            .arg("sweep")
            .arg(&scn)
            .args(grid)
            .arg("-o")
            .arg(&out)
            .args(["--quiet", "--threads", "1"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };

    // 1. SIGTERM after the first checkpoint with progress: the running point finishes, a final
    //    checkpoint is written, exit status 143 (128 + SIGTERM).
    let mut child = spawn(&[]);
    wait_for_progress(&out, 0, &mut child);
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    let after_term = read(&out).counts();
    assert!(
        after_term.ok > 0 && after_term.not_run > 0,
        "{after_term:?}"
    );

    // 2. Resume, then SIGKILL it after its next checkpoint: the file on disk is still a complete
    //    sweep file (the last checkpoint), with points not run.
    let mut child = spawn(&["--resume"]);
    wait_for_progress(&out, after_term.ok, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = read(&out);
    let c = after_kill.counts();
    assert!(c.ok > after_term.ok && c.not_run > 0, "{c:?}");
    assert_eq!(c.failed, 0);

    // 3. Resume to the end, on two threads; compare with an uninterrupted sweep.
    let o = bin()
        .arg("sweep")
        .arg(&scn)
        .args(grid)
        .arg("-o")
        .arg(&out)
        .args(["--quiet", "--threads", "2", "--resume"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("{} of 60 points done", c.ok)));
    let reference = d.join("reference.h5");
    let o = sweep(
        &scn,
        &[
            &grid[..],
            &["-o", reference.to_str().unwrap(), "--threads", "2"],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let resumed = read(&out);
    assert_eq!(resumed.counts().ok, 60);
    assert_same_results(&read(&reference), &resumed);
}

#[test]
fn bad_specs_keys_and_shards_are_clear_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(d, "s.toml", 20);
    let out = d.join("out.h5");
    let cases: [(&[&str], &str); 12] = [
        (
            &["--vary", "rotor.rpm=1:2"],
            "--vary rotor.rpm=1:2: `1:2` has 2 field(s)",
        ),
        (&["--vary", "rotor.rpm=a:b:3"], "start `a` is not a number"),
        (&["--vary", "rotor.rpm=1:2:0"], "count must be at least 1"),
        (
            &["--vary", "rotor.rpm=0:100:3:log"],
            "log spacing needs positive bounds",
        ),
        (&["--vary", "rotor.rpm=1,,2"], "empty entry"),
        (&["--vary", "rotor.rpm"], "expected KEY=SPEC"),
        (
            &["--vary", "rotor.nope=1,2"],
            "--vary rotor.nope: the scenario format does not accept",
        ),
        (
            &["--vary", "model.kind=1,2"],
            "--vary model.kind: is not a numeric key",
        ),
        (&["--vary", "species.0.count=1.5"], "--vary species.0.count"),
        (&["--vary", "run.seed=1,2"], "cannot be varied"),
        (
            &["--vary", "rotor.rpm=1,2", "--vary", "rotor.rpm=3"],
            "varied twice",
        ),
        (
            &["--vary", "rotor.rpm=1,2", "--shard", "2/2"],
            "--shard 2/2: I must be below N",
        ),
    ];
    for (args, says) in cases {
        let o = sweep(&scn, &[args, &["-o", out.to_str().unwrap()]].concat());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains(says),
            "{args:?}: expected {says:?} in {stderr}"
        );
        assert_dir_holds(d, &["s.toml"]);
    }
    // Run-time range errors are point failures, not spec errors; keys the file omits are fine.
    let o = sweep(
        &scn,
        &["--vary", "run.dt_s=0.01,0.02", "-o", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    // An existing output needs --resume.
    let before = std::fs::read(&out).unwrap();
    let o = sweep(
        &scn,
        &["--vary", "rotor.rpm=1,2", "-o", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("use --resume"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
    // --resume of a different sweep is refused.
    let o = sweep(
        &scn,
        &[
            "--vary",
            "rotor.rpm=1,2",
            "-o",
            out.to_str().unwrap(),
            "--resume",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("belongs to another sweep"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_dir_holds(d, &["s.toml", "out.h5"]);
}

#[test]
fn merging_mismatched_or_incomplete_parts_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(d, "s.toml", 20);
    let other_scn = scenario(d, "other.toml", 21);
    let make = |name: &str, scn: &Path, rpm: &str, shard: &str| -> PathBuf {
        let path = d.join(name);
        let o = sweep(
            scn,
            &[
                "--vary",
                rpm,
                "--vary",
                "run.duration_s=1,2",
                "-o",
                path.to_str().unwrap(),
                "--shard",
                shard,
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        path
    };
    let a0 = make("a0.h5", &scn, "rotor.rpm=1000,2000", "0/2");
    let a1 = make("a1.h5", &scn, "rotor.rpm=1000,2000", "1/2");
    let other_text = make("b1.h5", &other_scn, "rotor.rpm=1000,2000", "1/2");
    let other_grid = make("c1.h5", &scn, "rotor.rpm=1000,2500", "1/2");
    let t0 = make("t0.h5", &scn, "rotor.rpm=1000,2000", "0/3");
    let t1 = make("t1.h5", &scn, "rotor.rpm=1000,2000", "1/3");
    let out = d.join("merged.h5");
    let merge = |parts: &[&PathBuf]| -> String {
        let o = bin()
            .arg("merge")
            .args(parts)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(!out.exists());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = merge(&[&a0, &other_text]);
    assert!(
        e.contains("b1.h5") && e.contains("scenario text differs"),
        "{e}"
    );
    let e = merge(&[&a0, &other_grid]);
    assert!(
        e.contains("c1.h5") && e.contains("values of rotor.rpm"),
        "{e}"
    );
    let e = merge(&[&a0, &a1, &a0]);
    assert!(
        e.contains("more than one part") && e.contains("0 (") && e.contains("a0.h5"),
        "{e}"
    );
    let e = merge(&[&a0]);
    assert!(
        e.contains("2 of 4 point(s) are not covered") && e.contains("1, 3"),
        "{e}"
    );
    assert!(e.contains("missing shard(s) 1/2"), "{e}");
    let e = merge(&[&t0, &t1]);
    assert!(
        e.contains("missing shard(s) 2/3") && e.contains(": 2"),
        "{e}"
    );
    let e = merge(&[&a0, &t0]);
    assert!(
        e.contains("more than one part: 0 (") && e.contains("t0.h5"),
        "{e}"
    );
    let e = merge(&[&a0, &t1]);
    assert!(
        e.contains("not covered by any part: 3") && !e.contains("missing shard"),
        "{e}"
    );
    let e = merge(&[&scn.to_path_buf()]);
    assert!(e.contains("s.toml"), "{e}");
    // The matching parts do merge.
    let o = bin()
        .arg("merge")
        .args([&a1, &a0])
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(read(&out).counts().ok, 4);
}

/// The layout as h5py sees it: dtypes, names, units, shard. Needs python3 with h5py (installed
/// by .ci/run); BUFFYCOAT_SKIP_PYTHON=1 skips it.
#[test]
fn sweep_file_layout_checked_by_h5py() {
    if std::env::var_os("BUFFYCOAT_SKIP_PYTHON").is_some() {
        eprintln!("skipped: BUFFYCOAT_SKIP_PYTHON is set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(d, "s.toml", 20);
    let out = d.join("sweep.h5");
    let o = sweep(
        &scn,
        &[
            "--vary",
            "rotor.rpm=1000:2000:3",
            "--vary",
            "run.duration_s=1,2",
            "-o",
            out.to_str().unwrap(),
            "--shard",
            "1/2",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let script = r#"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
s = f["sweep"]
assert s["status"].dtype == np.int32, s["status"].dtype
assert list(s["status"][:]) == [2, 0, 2, 0, 2, 0], s["status"][:]
assert s["seed"].dtype == np.int64
assert [x.decode() for x in s["error"][:]] == [""] * 6
assert [x.decode() for x in s["grid/keys"][:]] == ["rotor.rpm", "run.duration_s"]
assert [x.decode() for x in s["grid/specs"][:]] == ["1000:2000:3", "1,2"]
assert list(s["grid/shape"][:]) == [3, 2] and s["grid/shape"].dtype == np.int64
assert list(s["grid/values/rotor.rpm"][:]) == [1000, 1500, 2000]
rpm = s["parameters/rotor.rpm"]
assert rpm.dtype == np.float64 and list(rpm[:]) == [1000, 1000, 1500, 1500, 2000, 2000]
def unit(d):
    # H5MD: fixed-length ASCII
    t = h5py.check_string_dtype(d.attrs.get_id("unit").dtype)
    assert t is not None and t.length is not None and t.encoding == "ascii", t
    return d.attrs["unit"].decode()
assert unit(rpm) == "rpm" and unit(s["parameters/run.duration_s"]) == "s"
m = s["metrics"]
assert unit(m["species.probe.mean_radius_m"]) == "m"
assert unit(m["species.probe.pelleted_fraction"]) == "1"
assert "unit" not in m["species.probe.count"].attrs
assert np.isnan(m["species.probe.count"][0]) and m["species.probe.count"][1] == 20
assert "wall_time_s" in m and "seed" not in m and "threads" not in m
assert list(s["shard"][:]) == [1, 2] and s["shard"].attrs["index"] == 1 and s["shard"].attrs["count"] == 2
p = f["parameters"]
assert "count = 20" in p["scenario_toml"][()].decode()
assert p["scenario_path"][()].decode().endswith("s.toml")
assert p["seed"][()] == 7
assert p["program_version"][()].decode() and p["git_commit"][()].decode()
print("ok")
"#;
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&out)
        .output()
        .expect("python3 is required for the layout test (bash .ci/run installs it)");
    assert!(o.status.success(), "h5py check failed:\n{}", text(&o));
}

/// Reproducers of item 4 of issue 13: a shard with `/sweep/metrics` deleted merged with exit
/// 0 and NaN metrics; float statuses 0.5 and 2.5 were truncated to 0 and 2; `plot` accepted
/// status 99; two sweeps on the same output both ran every point. Corrupted files (edited
/// with h5py) are now refused with a clear message and nothing is written; a second sweep on
/// an output that another live process is writing is refused (a stale lock is taken over).
#[test]
fn corrupted_sweep_files_are_refused_and_concurrent_sweeps_locked_out() {
    if std::env::var_os("BUFFYCOAT_SKIP_PYTHON").is_some() {
        eprintln!("skipped: BUFFYCOAT_SKIP_PYTHON is set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scn = scenario(d, "s.toml", 20);
    let grid = ["--vary", "rotor.rpm=1000,2000"];
    let mut parts = Vec::new();
    for i in 0..2 {
        let part = d.join(format!("p{i}.h5"));
        let o = sweep(
            &scn,
            &[
                &grid[..],
                &["-o", part.to_str().unwrap(), "--shard", &format!("{i}/2")],
            ]
            .concat(),
        );
        assert!(o.status.success(), "{}", text(&o));
        parts.push(part);
    }
    let edit = |file: &Path, code: &str| {
        let copy = file.with_file_name(format!(
            "edited_{}",
            file.file_name().unwrap().to_string_lossy()
        ));
        std::fs::copy(file, &copy).unwrap();
        let script = format!(
            "import sys, h5py, numpy as np\nf = h5py.File(sys.argv[1], 'r+')\n{code}\nf.close()\n"
        );
        let o = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&copy)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        copy
    };
    let merge = |a: &Path, b: &Path| {
        bin()
            .arg("merge")
            .arg(a)
            .arg(b)
            .arg("-o")
            .arg(d.join("merged.h5"))
            .output()
            .unwrap()
    };
    let cases = [
        ("del f['sweep/metrics']", "no /sweep/metrics"),
        (
            "st = f['sweep/status'][:].astype(np.float64); st[st == 0] = 0.5\ndel f['sweep/status']\nf['sweep/status'] = st",
            "non-integer value 0.5",
        ),
        (
            "st = f['sweep/status'][:].astype(np.float64); st[st == 2] = 2.5\ndel f['sweep/status']\nf['sweep/status'] = st",
            "non-integer value 2.5",
        ),
    ];
    for (code, expected) in cases {
        let bad = edit(&parts[0], code);
        let o = merge(&bad, &parts[1]);
        assert_eq!(o.status.code(), Some(1), "{code}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(expected),
            "{code}: {}",
            text(&o)
        );
        assert!(!d.join("merged.h5").exists());
        std::fs::remove_file(bad).unwrap();
    }
    // plot refuses an unknown status and a float status.
    for (code, expected) in [
        ("f['sweep/status'][0] = 99", "status 99"),
        (
            "st = f['sweep/status'][:].astype(np.float64); st[0] = 0.5\ndel f['sweep/status']\nf['sweep/status'] = st",
            "non-integer value 0.5",
        ),
    ] {
        let bad = edit(&parts[0], code);
        let o = bin()
            .arg("plot")
            .arg(&bad)
            .arg("-o")
            .arg(d.join("plots"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{code}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(expected),
            "{code}: {}",
            text(&o)
        );
        std::fs::remove_file(bad).unwrap();
    }
    // A lock held by a live process (this test) refuses a second sweep on the same output.
    let out = d.join("locked.h5");
    let lock = d.join(".locked.h5.lock");
    std::fs::write(&lock, std::process::id().to_string()).unwrap();
    let o = sweep(&scn, &[&grid[..], &["-o", out.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is writing"));
    assert!(!out.exists());
    // A lock of a process that no longer exists is taken over and removed at the end.
    std::fs::write(&lock, "4194304999").unwrap();
    let o = sweep(&scn, &[&grid[..], &["-o", out.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", text(&o));
    assert!(out.exists() && !lock.exists());
}
