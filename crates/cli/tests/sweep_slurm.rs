//! The Slurm recipe (`examples/slurm/`) against a real scheduler: starts a one-node Slurm from
//! Debian's packages (munged, slurmctld, slurmd; a minimal slurm.conf with this machine's
//! hostname as controller and node, on loopback, every file in a temporary directory),
//! submits `examples/slurm/submit.sh` for a small grid in 3 shards, waits for the merge job and
//! checks that the merged file equals a local unsharded sweep. Every daemon it started is
//! stopped, also when the test fails.
//!
//! Needs root and the packages `slurm-wlm` and `munge` (`.ci/setup` installs them); elsewhere it
//! prints "skipped: …" and passes.

use buffycoat::sweep::SweepData;
use buffycoat::sweep::metrics::is_timing;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DAEMONS: [&str; 3] = ["munged", "slurmctld", "slurmd"];
const CLIENTS: [&str; 5] = ["sbatch", "squeue", "scontrol", "sinfo", "scancel"];

/// The full path of a program on PATH or in the sbin directories.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some(
            "the Slurm integration test starts slurmctld, slurmd and munged, which needs root"
                .into(),
        );
    }
    let missing: Vec<&str> = DAEMONS
        .iter()
        .chain(&CLIENTS)
        .copied()
        .filter(|p| find(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "{} not installed (apt-get install slurm-wlm munge, or bash .ci/setup)",
            missing.join(", ")
        ));
    }
    None
}

/// A free TCP port on loopback (released again, then given to a daemon).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn short_hostname() -> String {
    let o = Command::new("hostname").arg("-s").output().unwrap();
    assert!(o.status.success(), "hostname -s failed");
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}

/// A one-node Slurm cluster in a directory. Dropping it cancels its jobs and stops the daemons.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    node: String,
    daemons: Vec<(&'static str, Child)>,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        let dir = dir.to_path_buf();
        for sub in ["munge", "state", "spool", "log"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        fs::set_permissions(dir.join("munge"), fs::Permissions::from_mode(0o700)).unwrap();
        let key = dir.join("munge/munge.key");
        let mut bytes = [0u8; 1024];
        fs::File::open("/dev/urandom")
            .unwrap()
            .read_exact(&mut bytes)
            .unwrap();
        fs::write(&key, bytes).unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o400)).unwrap();
        let socket = dir.join("munge/munge.sock");
        let node = short_hostname();
        let conf = dir.join("slurm.conf");
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let d = dir.display();
        fs::write(
            &conf,
            format!(
                "# One-node test cluster (crates/cli/tests/sweep_slurm.rs)\n\
                 ClusterName=buffycoat-test\n\
                 SlurmctldHost={node}(127.0.0.1)\n\
                 SlurmctldPort={ctld_port}\n\
                 SlurmdPort={d_port}\n\
                 SlurmUser=root\n\
                 SlurmdUser=root\n\
                 AuthType=auth/munge\n\
                 CredType=cred/munge\n\
                 AuthInfo=socket={socket}\n\
                 StateSaveLocation={d}/state\n\
                 SlurmdSpoolDir={d}/spool\n\
                 SlurmctldPidFile={d}/slurmctld.pid\n\
                 SlurmdPidFile={d}/slurmd.pid\n\
                 SlurmctldLogFile={d}/log/slurmctld.log\n\
                 SlurmdLogFile={d}/log/slurmd.log\n\
                 ProctrackType=proctrack/linuxproc\n\
                 TaskPlugin=task/none\n\
                 SelectType=select/cons_tres\n\
                 SelectTypeParameters=CR_Core\n\
                 MpiDefault=none\n\
                 ReturnToService=2\n\
                 SchedulerType=sched/backfill\n\
                 JobAcctGatherType=jobacct_gather/none\n\
                 AccountingStorageType=accounting_storage/none\n\
                 MailProg=/bin/true\n\
                 NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
                 PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP\n",
                ctld_port = free_port(),
                d_port = free_port(),
                socket = socket.display(),
            ),
        )
        .unwrap();
        let mut cluster = Cluster {
            dir: dir.clone(),
            conf,
            node,
            daemons: Vec::new(),
        };
        cluster.spawn(
            "munged",
            &[
                "--foreground".into(),
                "--force".into(),
                format!("--key-file={}", key.display()),
                format!("--socket={}", socket.display()),
                format!("--pid-file={d}/munge/munged.pid"),
                format!("--log-file={d}/log/munged.log"),
                format!("--seed-file={d}/munge/munged.seed"),
            ],
        );
        cluster.wait_for(
            "munged to create its socket",
            Duration::from_secs(15),
            |_| socket.exists(),
        );
        let conf = cluster.conf.display().to_string();
        cluster.spawn("slurmctld", &["-D".into(), "-f".into(), conf.clone()]);
        let node = cluster.node.clone();
        cluster.spawn(
            "slurmd",
            &["-D".into(), "-f".into(), conf, "-N".into(), node.clone()],
        );
        cluster.wait_for(
            "the node to be idle in sinfo",
            Duration::from_secs(30),
            |c| {
                c.client("sinfo")
                    .args(["-h", "-N", "-n", &node, "-o", "%T"])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
            },
        );
        cluster
    }

    /// Starts a daemon in the foreground as our child, its output in log/<name>.out.
    fn spawn(&mut self, name: &'static str, args: &[String]) {
        let out = fs::File::create(self.dir.join(format!("log/{name}.out"))).unwrap();
        let child = Command::new(find(name).unwrap())
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.daemons.push((name, child));
    }

    /// A Slurm client command talking to this cluster.
    fn client(&self, program: &str) -> Command {
        let mut c = Command::new(find(program).unwrap());
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Waits until `ready`, panicking with the daemons' logs after `timeout` or if a daemon
    /// exits.
    fn wait_for(&mut self, what: &str, timeout: Duration, ready: impl Fn(&Cluster) -> bool) {
        let start = Instant::now();
        loop {
            if ready(self) {
                eprintln!("slurm: {what} after {:.1} s", start.elapsed().as_secs_f64());
                return;
            }
            let exited = self
                .daemons
                .iter_mut()
                .find_map(|(name, child)| child.try_wait().ok().flatten().map(|s| (*name, s)));
            if let Some((name, status)) = exited {
                panic!(
                    "{name} exited ({status}) while waiting for {what}\n{}",
                    self.logs()
                );
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {} s waiting for {what}\n{}",
                    timeout.as_secs(),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every log and job output file, for failure messages.
    fn logs(&self) -> String {
        let mut out = String::new();
        let mut files = Vec::new();
        collect_logs(&self.dir, &mut files);
        files.sort();
        for f in files {
            let text = fs::read_to_string(&f).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            out.push_str(&format!(
                "==== {} (last {} lines)\n",
                f.display(),
                tail.len()
            ));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

fn collect_logs(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if !p.ends_with("state") && !p.ends_with("spool") && !p.ends_with("munge") {
                collect_logs(&p, files);
            }
        } else if p.extension().is_some_and(|x| x == "out" || x == "log") {
            files.push(p);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Cancel whatever is still queued or running (only this cluster's: SLURM_CONF).
        if self.daemons.iter().any(|(n, _)| *n == "slurmctld") {
            let _ = self
                .client("scancel")
                .args(["--quiet", "--user=root"])
                .stderr(Stdio::null())
                .status();
        }
        // Stop in reverse order: slurmd, slurmctld, munged. SIGTERM, then SIGKILL after 10 s.
        while let Some((name, mut child)) = self.daemons.pop() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            let start = Instant::now();
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if start.elapsed() < Duration::from_secs(10) => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    _ => {
                        eprintln!("slurm: {name} did not stop on SIGTERM; killing it");
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
    }
}

/// Every value of `field` (e.g. `JobState=`) in `scontrol show job ID` (one per array task).
fn job_fields(cluster: &Cluster, id: &str, field: &str) -> Vec<String> {
    let o = cluster
        .client("scontrol")
        .args(["show", "job", id])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .filter_map(|w| w.strip_prefix(field))
        .map(str::to_owned)
        .collect()
}

/// `JobState` and `Reason` of a (non-array) job.
fn job_state(cluster: &Cluster, id: &str) -> (String, String) {
    let first = |f: &str| {
        job_fields(cluster, id, f)
            .into_iter()
            .next()
            .unwrap_or_default()
    };
    (first("JobState="), first("Reason="))
}

#[test]
fn slurm_job_array_and_dependent_merge_equal_a_local_sweep() {
    if let Some(reason) = skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let start = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let cluster = Cluster::start(&d.join("slurm"));

    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/scenarios/default.toml");
    let text = fs::read_to_string(default).unwrap();
    fs::write(
        d.join("fast.toml"),
        text.replace("count = 1000", "count = 40"),
    )
    .unwrap();
    let grid = ["rotor.rpm=1200,2400", "run.duration_s=1:3:3"];
    let submit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/slurm/submit.sh");
    let o = Command::new("bash")
        .arg(&submit)
        .args(["fast.toml", "3"])
        .args(grid)
        .current_dir(d)
        .env("SLURM_CONF", &cluster.conf)
        .env("BUFFYCOAT", env!("CARGO_BIN_EXE_buffycoat"))
        .env("OUT", "merged.h5")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "submit.sh failed:\n{stdout}{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        cluster.logs()
    );
    eprint!("{stdout}");
    let job = |prefix: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| panic!("no `{prefix}<id>` in submit.sh's output:\n{stdout}"))
            .to_owned()
    };
    let array = job("sweep job ");
    let merge = job("merge job ");
    let waited = Instant::now();
    loop {
        let (state, reason) = job_state(&cluster, &merge);
        match state.as_str() {
            "COMPLETED" => break,
            "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING"
                if reason != "DependencyNeverSatisfied" => {}
            _ => panic!(
                "merge job {merge} is {state} ({reason}); array job {array}:\n{}\n{}",
                String::from_utf8_lossy(
                    &cluster
                        .client("scontrol")
                        .args(["show", "job", &array])
                        .output()
                        .unwrap()
                        .stdout
                ),
                cluster.logs()
            ),
        }
        assert!(
            waited.elapsed() < Duration::from_secs(120),
            "merge job {merge} not done after 120 s (state {state}, {reason})\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!(
        "slurm: array {array} and merge {merge} done after {:.1} s",
        waited.elapsed().as_secs_f64()
    );
    // The dependency held: the merge started only after every array task had ended
    // (timestamps are ISO 8601, so they compare as text).
    let ends = job_fields(&cluster, &array, "EndTime=");
    let states = job_fields(&cluster, &array, "JobState=");
    assert_eq!(states, ["COMPLETED"; 3], "array job {array}");
    let merge_start = job_fields(&cluster, &merge, "StartTime=").remove(0);
    assert!(
        ends.iter().all(|e| *e <= merge_start),
        "merge started {merge_start}, array tasks ended {ends:?}"
    );
    assert!(d.join("merged.csv").exists(), "merge.sbatch writes the CSV");
    for i in 0..3 {
        assert!(d.join(format!("merged.parts/part-{i}.h5")).exists());
    }

    // The same sweep, locally and unsharded.
    let mut args: Vec<String> = vec!["sweep".into(), "fast.toml".into()];
    for g in grid {
        args.push("--vary".into());
        args.push(g.into());
    }
    args.extend(["-o", "local.h5", "--quiet"].map(String::from));
    let o = Command::new(env!("CARGO_BIN_EXE_buffycoat"))
        .args(&args)
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let local = SweepData::read_h5(&d.join("local.h5")).unwrap();
    let merged = SweepData::read_h5(&d.join("merged.h5")).unwrap();
    assert_eq!((merged.shard.index, merged.shard.count), (0, 1));
    assert_eq!(merged.scenario_text, local.scenario_text);
    assert!(merged.grid.difference(&local.grid).is_none());
    assert_eq!(merged.grid.shape(), [2, 3]);
    assert_eq!(merged.seeds, local.seeds);
    assert_eq!(merged.metric_names(), local.metric_names());
    for (p, (m, l)) in merged.points.iter().zip(&local.points).enumerate() {
        assert_eq!(m.status, l.status, "point {p}");
        assert_eq!(m.error, l.error, "point {p}");
        assert_eq!(m.metrics.len(), l.metrics.len(), "point {p}");
        for (name, v) in &l.metrics {
            if !is_timing(name) {
                assert_eq!(v.to_bits(), m.metrics[name].to_bits(), "point {p} {name}");
            }
        }
    }
    assert_eq!(local.counts().ok, 6);
    drop(cluster);
    eprintln!("slurm test: {:.1} s in all", start.elapsed().as_secs_f64());
}
