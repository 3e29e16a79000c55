//! The partial-file protocol, error reporting and buffer recycling.

use std::path::Path;

use buffycoat_h5::{FrameSink, H5Error, Reader, SeriesId, Writer};

/// Names of all entries in `dir` (including hidden ones).
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn file_appears_only_on_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let w = Writer::create(&path).unwrap();
    let partial = w.partial_path().to_path_buf();
    assert_eq!(partial.parent(), Some(dir.path()));
    assert_eq!(
        partial.file_name().unwrap().to_string_lossy(),
        format!(".run.h5.partial-{}", std::process::id())
    );
    assert!(partial.exists());
    assert!(!path.exists());

    let s = w
        .time_series("/particles/a/position", &[2, 3], Some("m"), "s")
        .unwrap();
    w.append(s, 0, 0.0, vec![0.0; 6]).unwrap();
    w.flush().unwrap();
    assert!(!path.exists(), "final name must not appear before finish");

    assert_eq!(w.finish().unwrap(), path);
    assert!(path.exists());
    assert!(!partial.exists());
    assert_eq!(entries(dir.path()), ["run.h5"]);
    assert_eq!(
        Reader::open(&path)
            .unwrap()
            .read_f64("/particles/a/position/value")
            .unwrap()
            .1,
        [1, 2, 3]
    );
}

#[test]
fn finish_replaces_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    std::fs::write(&path, b"old").unwrap();
    let w = Writer::create(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    w.dataset_i64("/n", &[], vec![3], None).unwrap();
    w.finish().unwrap();
    assert_eq!(Reader::open(&path).unwrap().read_i64("/n").unwrap().0, [3]);
    assert_eq!(entries(dir.path()), ["run.h5"]);
}

#[test]
fn drop_without_finish_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    {
        let w = Writer::create(&path).unwrap();
        let s = w.time_series("/x", &[4], None, "s").unwrap();
        for t in 0..10 {
            w.append(s, t, t as f64, vec![1.0; 4]).unwrap();
        }
        assert!(w.partial_path().exists());
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn panic_unwinding_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let p = path.clone();
    let result = std::panic::catch_unwind(move || {
        let w = Writer::create(&p).unwrap();
        w.dataset_f64("/x", &[1], vec![1.0], None).unwrap();
        panic!("simulation blew up");
    });
    assert!(result.is_err());
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn create_in_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/run.h5");
    let e = Writer::create(&path).unwrap_err();
    match &e {
        H5Error::Create { path: p, .. } => assert_eq!(p, &path),
        other => panic!("expected Create, got {other:?}"),
    }
    assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn create_under_a_regular_file_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let path = file.join("run.h5");
    let e = Writer::create(&path).unwrap_err();
    assert!(
        matches!(&e, H5Error::Create { path: p, .. } if p == &path),
        "{e:?}"
    );
    assert!(e.to_string().contains("not a directory"), "{e}");
    assert_eq!(entries(dir.path()), ["plain"]);
}

#[test]
fn create_without_a_file_name_fails() {
    let e = Writer::create(Path::new("/")).unwrap_err();
    assert!(matches!(e, H5Error::Create { .. }), "{e:?}");
}

#[cfg(unix)]
#[test]
fn create_in_read_only_directory_fails_cleanly() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root (and CAP_DAC_OVERRIDE) can write anyway: probe, and fall back to
    // a path under a regular file, which nobody can create.
    let probe = ro.join("probe");
    let privileged = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    let path = if privileged {
        let hostname = Path::new("/etc/hostname");
        if hostname.is_file() {
            hostname.join("x.h5")
        } else {
            let plain = dir.path().join("plain");
            std::fs::write(&plain, b"x").unwrap();
            plain.join("x.h5")
        }
    } else {
        ro.join("run.h5")
    };
    let e = Writer::create(&path).unwrap_err();
    assert!(
        matches!(&e, H5Error::Create { path: p, .. } if p == &path),
        "{e:?}"
    );
    assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
    assert!(entries(&ro).is_empty());
    assert!(!path.exists());
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn wrong_frame_length_spoils_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let w = Writer::create(&path).unwrap();
    let s = w
        .time_series("/particles/cells/position", &[4, 3], Some("m"), "s")
        .unwrap();
    w.append(s, 0, 0.0, vec![0.0; 12]).unwrap();
    let e = w.append(s, 1, 0.1, vec![0.0; 11]).unwrap_err();
    match &e {
        H5Error::Write {
            dataset, message, ..
        } => {
            assert_eq!(dataset, "/particles/cells/position/value");
            assert!(
                message.contains("11") && message.contains("12"),
                "{message}"
            );
        }
        other => panic!("expected Write, got {other:?}"),
    }
    // Every later call, and finish, report the same error.
    assert_eq!(w.append(s, 1, 0.1, vec![0.0; 12]).unwrap_err(), e);
    assert_eq!(w.attr_f64("/", "x", 1.0).unwrap_err(), e);
    assert_eq!(w.finish().unwrap_err(), e);
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn errors_on_the_writer_thread_are_reported_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let w = Writer::create(&path).unwrap();
    w.dataset_f64("/a/b", &[1], vec![1.0], None).unwrap();
    // A dataset cannot be a group: fails on the thread, not here.
    w.dataset_f64("/a/b/c", &[1], vec![1.0], None).unwrap();
    // The error surfaces at the latest at flush.
    let e = w.flush().unwrap_err();
    assert!(
        matches!(&e, H5Error::Write { dataset, .. } if dataset == "/a/b/c"),
        "{e:?}"
    );
    assert_eq!(w.finish().unwrap_err(), e);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn invalid_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    type Case = Box<dyn Fn(&Writer) -> Result<(), H5Error>>;
    let cases: Vec<(&str, Case)> = vec![
        (
            "shape",
            Box::new(|w| w.dataset_f64("/x", &[2, 2], vec![0.0; 3], None)),
        ),
        (
            "i32 shape",
            Box::new(|w| w.dataset_i32("/x", &[], vec![], None)),
        ),
        ("nul", Box::new(|w| w.dataset_string("/x", "a\0b"))),
        ("nul attr", Box::new(|w| w.attr_string("/", "x", "a\0b"))),
        ("empty attr name", Box::new(|w| w.attr_f64("/", "", 1.0))),
        ("root dataset", Box::new(|w| w.dataset_string("/", "x"))),
        (
            "dotdot",
            Box::new(|w| w.dataset_i64("/a/../b", &[], vec![1], None)),
        ),
        (
            "overflow",
            Box::new(|w| w.time_series("/s", &[usize::MAX, 2], None, "s").map(|_| ())),
        ),
        (
            "duplicate",
            Box::new(|w| {
                w.time_series("/s", &[1], None, "s")?;
                w.time_series("/s", &[1], None, "s").map(|_| ())
            }),
        ),
    ];
    for (name, case) in cases {
        let path = dir.path().join(format!("{}.h5", name.replace(' ', "_")));
        let w = Writer::create(&path).unwrap();
        let e = case(&w).expect_err(name);
        assert!(matches!(e, H5Error::Write { .. }), "{name}: {e:?}");
        assert!(w.finish().is_err(), "{name}");
        assert!(!path.exists(), "{name}");
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn unknown_series_id_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let w1 = Writer::create(&dir.path().join("a.h5")).unwrap();
    let w2 = Writer::create(&dir.path().join("b.h5")).unwrap();
    w1.time_series("/s0", &[1], None, "s").unwrap();
    let s = w1.time_series("/s1", &[1], None, "s").unwrap();
    assert!(matches!(
        w2.append(s, 0, 0.0, vec![1.0]),
        Err(H5Error::Write { .. })
    ));
    w1.append(s, 0, 0.0, vec![1.0]).unwrap();
    w1.finish().unwrap();
    assert!(w2.finish().is_err());
    assert_eq!(entries(dir.path()), ["a.h5"]);
}

#[test]
fn buffers_are_recycled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let w = Writer::create(&path).unwrap();
    let len = 1000 * 3;
    let s = w.time_series("/p", &[1000, 3], None, "s").unwrap();
    let mut sent = Vec::new();
    for t in 0..4 {
        let buf = w.take_buffer_f64(len);
        sent.push(buf.as_ptr() as usize);
        w.append(s, t, 0.0, buf).unwrap();
    }
    // Everything queued has been written (and its buffer returned) once
    // flush returns.
    w.flush().unwrap();
    let mut reused = 0;
    let mut held = Vec::new();
    for _ in 0..4 {
        let buf = w.take_buffer_f64(len);
        assert_eq!(buf.len(), len);
        assert!(buf.capacity() >= len);
        if sent.contains(&(buf.as_ptr() as usize)) {
            reused += 1;
        }
        held.push(buf);
    }
    assert!(reused >= 3, "only {reused} of 4 buffers came back");

    // A smaller request is served from the pool without a new allocation.
    for b in held {
        w.append(s, 9, 0.0, b).unwrap();
    }
    w.flush().unwrap();
    let small = w.take_buffer_f64(10);
    assert_eq!(small.len(), 10);
    assert!(sent.contains(&(small.as_ptr() as usize)));

    // i64 buffers used for fixed datasets come back as well.
    let ib = w.take_buffer_i64(500);
    let ip = ib.as_ptr() as usize;
    w.dataset_i64("/ints", &[500], ib, None).unwrap();
    w.flush().unwrap();
    let again = w.take_buffer_i64(400);
    assert_eq!(again.as_ptr() as usize, ip);
    w.finish().unwrap();
}

#[test]
fn writer_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Writer>();
    check::<H5Error>();
}

/// What a [`FrameSink`] saw: frames received and sinks dropped.
#[derive(Debug, Default)]
struct SinkLog {
    frames: Vec<(i64, f64, Vec<f64>)>,
    dropped: usize,
}

#[derive(Debug)]
struct LoggingSink(std::sync::Arc<std::sync::Mutex<SinkLog>>);

impl FrameSink for LoggingSink {
    fn frame(&mut self, _series: SeriesId, step: i64, time: f64, data: &[f64]) {
        self.0
            .lock()
            .unwrap()
            .frames
            .push((step, time, data.to_vec()));
    }
}

impl Drop for LoggingSink {
    fn drop(&mut self) {
        self.0.lock().unwrap().dropped += 1;
    }
}

/// The sink of a written frame receives exactly that frame, in append order, once it is
/// written; after a writer-thread error later sinks are dropped without a frame (so that a
/// journal waiting for its frames counts drops and never hangs).
#[test]
fn frame_sinks_receive_written_frames_and_are_dropped_after_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.h5");
    let log = std::sync::Arc::new(std::sync::Mutex::new(SinkLog::default()));
    let w = Writer::create(&path).unwrap();
    let s = w.time_series("/s", &[2], None, "s").unwrap();
    for k in 0..3 {
        let sink = Box::new(LoggingSink(log.clone()));
        w.append_to_sink(s, k, 0.5 * k as f64, vec![k as f64, -1.0], sink)
            .unwrap();
    }
    w.flush().unwrap();
    {
        let log = log.lock().unwrap();
        assert_eq!(log.dropped, 3);
        let seen: Vec<_> = log.frames.iter().map(|f| (f.0, f.1, f.2.clone())).collect();
        assert_eq!(
            seen,
            vec![
                (0, 0.0, vec![0.0, -1.0]),
                (1, 0.5, vec![1.0, -1.0]),
                (2, 1.0, vec![2.0, -1.0])
            ]
        );
    }
    // A dataset under a dataset fails on the thread; the next frame's sink gets no frame.
    w.dataset_f64("/a", &[1], vec![1.0], None).unwrap();
    w.dataset_f64("/a/b", &[1], vec![1.0], None).unwrap();
    let _ = w.append_to_sink(
        s,
        3,
        1.5,
        vec![3.0, -1.0],
        Box::new(LoggingSink(log.clone())),
    );
    assert!(w.flush().is_err());
    assert!(w.finish().is_err());
    let log = log.lock().unwrap();
    assert_eq!((log.frames.len(), log.dropped), (3, 4));
}
