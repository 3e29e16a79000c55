//! Write a file with every kind of object, read it back, compare bitwise.

use buffycoat_h5::{Compression, H5Error, ObjectKind, Reader, Writer, WriterOptions};

/// Deterministic awkward values: subnormals, signed zero, huge and tiny
/// magnitudes, so that "bitwise equal" means something.
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match i % 7 {
                0 => -0.0,
                1 => f64::MIN_POSITIVE / 8.0,
                2 => f64::MAX,
                _ => f64::from_bits(x >> 2) * if x & 1 == 0 { 1.0 } else { -1.0 },
            }
        })
        .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn everything_round_trips() -> Result<(), H5Error> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.h5");
    let n = 5;

    let w = Writer::create(&path)?;
    w.h5md_header("Ada Lovelace", "buffycoat", "0.1.0-test")?;

    let pos = w.time_series("/particles/cells/position", &[n, 3], Some("m"), "s")?;
    let count = w.time_series("/observables/count", &[], None, "s")?;
    let mut frames = Vec::new();
    for t in 0..3_u64 {
        let frame = values(n * 3, t + 1);
        frames.push(frame.clone());
        let mut buf = w.take_buffer_f64(n * 3);
        buf.copy_from_slice(&frame);
        w.append(pos, 10 * t as i64, 0.5 * t as f64, buf)?;
        w.append(count, 10 * t as i64, 0.5 * t as f64, vec![t as f64])?;
    }

    // Small and large (compressed, chunked) fixed datasets of each dtype.
    let small = values(6, 42);
    let large = values(4000 * 3, 7);
    w.dataset_f64("/parameters/small", &[2, 3], small.clone(), Some("kg m-3"))?;
    w.dataset_f64("/parameters/large", &[4000, 3], large.clone(), None)?;
    w.dataset_f64("/parameters/scalar", &[], vec![1.25], Some("s"))?;
    w.dataset_f64("/parameters/empty", &[0, 3], Vec::new(), None)?;
    let ints: Vec<i64> = (0..5000).map(|i| i * 7919 - 12345678901).collect();
    w.dataset_i64("/particles/cells/species", &[5000], ints.clone(), None)?;
    w.dataset_i64(
        "/particles/cells/id",
        &[n],
        (0..n as i64).collect(),
        Some("1"),
    )?;
    let i32s = vec![i32::MIN, -1, 0, 1, i32::MAX, 7];
    w.dataset_i32("/parameters/flags", &[3, 2], i32s.clone(), None)?;

    let toml = "[rotor]\nrpm = 3000 # ü, µm, ∞\n";
    w.dataset_string("/parameters/scenario", toml)?;
    let names = vec![
        "RBC".to_string(),
        "WBC".into(),
        "platelet".into(),
        "".into(),
    ];
    w.dataset_strings("/parameters/species_names", &names)?;
    w.dataset_strings("/parameters/no_names", &[])?;

    w.attr_string("/parameters", "comment", "ä test")?;
    w.attr_strings("/parameters/small", "columns", &names)?;
    w.attr_f64("/observables", "sampling_interval", 0.5)?;
    w.attr_i64("/deep/new/group", "seed", -42)?;
    w.attr_i64("/deep/new/group", "seed", 43)?; // replaced, not an error
    w.attr_string("/", "title", "root attr")?;
    let path = w.finish()?;

    let r = Reader::open(&path)?;
    assert_eq!(r.read_attr_i64s("/h5md", "version")?, [1, 1]);
    assert_eq!(r.read_attr_string("/h5md/author", "name")?, "Ada Lovelace");
    assert_eq!(r.read_attr_string("/h5md/creator", "name")?, "buffycoat");
    assert_eq!(
        r.read_attr_string("/h5md/creator", "version")?,
        "0.1.0-test"
    );

    let (v, shape) = r.read_f64("/particles/cells/position/value")?;
    assert_eq!(shape, [3, n, 3]);
    assert_eq!(bits(&v), bits(&frames.concat()));
    let (f1, fshape) = r.read_frame_f64("/particles/cells/position/value", 1)?;
    assert_eq!(fshape, [n, 3]);
    assert_eq!(bits(&f1), bits(&frames[1]));
    assert!(
        r.read_frame_f64("/particles/cells/position/value", 3)
            .is_err()
    );
    assert_eq!(
        r.read_i64("/particles/cells/position/step")?,
        (vec![0, 10, 20], vec![3])
    );
    assert_eq!(
        r.read_f64("/particles/cells/position/time")?,
        (vec![0.0, 0.5, 1.0], vec![3])
    );
    assert_eq!(
        r.read_attr_string("/particles/cells/position/value", "unit")?,
        "m"
    );
    assert_eq!(
        r.read_attr_string("/particles/cells/position/time", "unit")?,
        "s"
    );
    assert_eq!(
        r.read_f64("/observables/count/value")?,
        (vec![0.0, 1.0, 2.0], vec![3])
    );
    assert!(r.attr_names("/observables/count/value")?.is_empty());

    let (v, shape) = r.read_f64("/parameters/small")?;
    assert_eq!((bits(&v), shape), (bits(&small), vec![2, 3]));
    assert_eq!(r.read_attr_string("/parameters/small", "unit")?, "kg m-3");
    assert_eq!(r.read_attr_strings("/parameters/small", "columns")?, names);
    let (v, shape) = r.read_f64("/parameters/large")?;
    assert_eq!((bits(&v), shape), (bits(&large), vec![4000, 3]));
    assert_eq!(r.read_f64("/parameters/scalar")?, (vec![1.25], vec![]));
    assert_eq!(r.read_f64("/parameters/empty")?, (vec![], vec![0, 3]));
    assert_eq!(r.read_i64("/particles/cells/species")?, (ints, vec![5000]));
    assert_eq!(r.read_attr_string("/particles/cells/id", "unit")?, "1");
    assert_eq!(r.read_i32("/parameters/flags")?, (i32s, vec![3, 2]));

    assert_eq!(r.read_string("/parameters/scenario")?, toml);
    assert_eq!(r.read_strings("/parameters/species_names")?, names);
    assert!(r.read_strings("/parameters/no_names")?.is_empty());
    assert_eq!(r.read_attr_string("/parameters", "comment")?, "ä test");
    assert_eq!(r.read_attr_f64("/observables", "sampling_interval")?, 0.5);
    assert_eq!(r.read_attr_i64("/deep/new/group", "seed")?, 43);
    assert_eq!(r.read_attr_string("/", "title")?, "root attr");

    assert_eq!(
        r.list_group("/")?,
        ["deep", "h5md", "observables", "parameters", "particles"]
    );
    assert_eq!(
        r.list_group("/particles/cells/position")?,
        ["step", "time", "value"]
    );
    assert!(r.exists("/parameters/scenario"));
    assert!(!r.exists("/parameters/nope"));
    assert!(!r.exists("/nope/deeper"));
    assert_eq!(r.kind("/parameters"), Some(ObjectKind::Group));
    assert_eq!(r.kind("/parameters/large"), Some(ObjectKind::Dataset));
    assert_eq!(r.kind("/nope"), None);
    assert_eq!(r.shape("/parameters/flags")?, [3, 2]);
    Ok(())
}

#[test]
fn reader_errors_name_file_and_object() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.h5");
    let w = Writer::create(&path).unwrap();
    w.dataset_string("/text", "hello").unwrap();
    w.dataset_f64("/x", &[2], vec![1.0, 2.0], None).unwrap();
    let path = w.finish().unwrap();
    let r = Reader::open(&path).unwrap();

    let e = r.read_f64("/missing/data").unwrap_err();
    assert!(
        matches!(&e, H5Error::Layout { path: p, .. } if p == &path),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("/missing/data") && msg.contains("small.h5"),
        "{msg}"
    );

    let e = r.read_f64("/text").unwrap_err();
    assert!(
        matches!(&e, H5Error::Read { dataset, .. } if dataset == "/text"),
        "{e:?}"
    );
    let e = r.read_string("/x").unwrap_err();
    assert!(
        matches!(&e, H5Error::Read { dataset, .. } if dataset == "/x"),
        "{e:?}"
    );
    let e = r.read_attr_string("/x", "unit").unwrap_err();
    assert!(e.to_string().contains("/x@unit"), "{e}");
    assert!(matches!(r.list_group("/x"), Err(H5Error::Layout { .. })));

    let e = Reader::open(&dir.path().join("absent.h5")).unwrap_err();
    assert!(matches!(&e, H5Error::Open { .. }) && e.to_string().contains("absent.h5"));
    let junk = dir.path().join("junk.h5");
    std::fs::write(&junk, b"not hdf5 at all").unwrap();
    assert!(matches!(Reader::open(&junk), Err(H5Error::Open { .. })));
}

#[test]
fn large_frames_are_split_into_capped_chunks() -> Result<(), H5Error> {
    // 200 000 × 3 × 8 B = 4.8 MB per frame: over the 4 MiB chunk cap.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.h5");
    let n = 200_000;
    // Shuffle + deflate: frames are compressed chunk by chunk on worker threads.
    let w = Writer::create_with(
        &path,
        &WriterOptions::with_compression(Compression::Deflate {
            level: 4,
            shuffle: true,
        }),
    )?;
    let s = w.time_series("/particles/all/velocity", &[n, 3], Some("m s-1"), "s")?;
    let mut expected = Vec::new();
    for t in 0..2 {
        let mut buf = w.take_buffer_f64(n * 3);
        for (i, x) in buf.iter_mut().enumerate() {
            *x = (i as f64).sqrt() + t as f64;
        }
        expected.extend_from_slice(&buf);
        w.append(s, t, t as f64, buf)?;
    }
    let path = w.finish()?;
    let r = Reader::open(&path)?;
    let (v, shape) = r.read_f64("/particles/all/velocity/value")?;
    assert_eq!(shape, [2, n, 3]);
    assert_eq!(bits(&v), bits(&expected));
    // Compression did something on this smooth data.
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < (2 * n * 3 * 8) as u64, "file is {size} bytes");
    Ok(())
}
