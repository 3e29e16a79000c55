//! Every compression setting stores the same data: decoded datasets are bitwise identical, and
//! the filters are the ones a stock reader expects (checked through libhdf5 here and through
//! h5py in the CLI tests).

use buffycoat_h5::{Compression, Reader, Writer, WriterOptions};
use std::path::Path;

/// Smooth positions (compressible) with awkward values mixed in.
fn frame(n: usize, t: usize) -> Vec<f64> {
    (0..3 * n)
        .map(|i| match i % 97 {
            0 => -0.0,
            1 => f64::MIN_POSITIVE / 4.0,
            _ => 0.06 + 1e-6 * ((i + 7 * t) as f64).sqrt(),
        })
        .collect()
}

const SETTINGS: [Compression; 6] = [
    Compression::None,
    Compression::Lzf { shuffle: false },
    Compression::Lzf { shuffle: true },
    Compression::Deflate {
        level: 1,
        shuffle: false,
    },
    Compression::Deflate {
        level: 4,
        shuffle: true,
    },
    Compression::Deflate {
        level: 9,
        shuffle: true,
    },
];

/// Rows of the big series: 4.8 MB per frame, so two 4 MiB-capped chunks of 100 001 rows, the
/// second one an edge chunk (one row short).
const BIG: usize = 200_001;
const SMALL: usize = 1000;

fn write(path: &Path, compression: Compression) {
    let w = Writer::create_with(path, &WriterOptions::with_compression(compression)).unwrap();
    w.h5md_header("test", "buffycoat", "0").unwrap();
    let big = w
        .time_series("/particles/cells/position", &[BIG, 3], Some("m"), "s")
        .unwrap();
    let small = w
        .time_series("/particles/probe/position", &[SMALL, 3], Some("m"), "s")
        .unwrap();
    let scalar = w.time_series("/observables/count", &[], None, "s").unwrap();
    for t in 0..3 {
        w.append(big, t as i64, t as f64, frame(BIG, t)).unwrap();
        w.append(small, t as i64, t as f64, frame(SMALL, t))
            .unwrap();
        w.append(scalar, t as i64, t as f64, vec![t as f64])
            .unwrap();
    }
    w.dataset_f64(
        "/particles/cells/diameter",
        &[BIG],
        frame(BIG, 9)[..BIG].to_vec(),
        Some("m"),
    )
    .unwrap();
    w.dataset_i64(
        "/particles/cells/id",
        &[BIG],
        (0..BIG as i64).collect(),
        None,
    )
    .unwrap();
    w.finish().unwrap();
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn every_setting_decodes_to_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for c in SETTINGS {
        let path = dir
            .path()
            .join(format!("{}.h5", c.to_string().replace(['+', ':'], "_")));
        write(&path, c);
        sizes.push((c, std::fs::metadata(&path).unwrap().len()));
        let r = Reader::open(&path).unwrap();
        let (pos, shape) = r.read_f64("/particles/cells/position/value").unwrap();
        assert_eq!(shape, [3, BIG, 3], "{c}");
        let expected: Vec<f64> = (0..3).flat_map(|t| frame(BIG, t)).collect();
        assert_eq!(bits(&pos), bits(&expected), "{c}: big series");
        let (small, shape) = r.read_f64("/particles/probe/position/value").unwrap();
        assert_eq!(shape, [3, SMALL, 3], "{c}");
        let expected: Vec<f64> = (0..3).flat_map(|t| frame(SMALL, t)).collect();
        assert_eq!(bits(&small), bits(&expected), "{c}: small series");
        let (count, _) = r.read_f64("/observables/count/value").unwrap();
        assert_eq!(count, [0.0, 1.0, 2.0], "{c}");
        let (step, _) = r.read_i64("/particles/cells/position/step").unwrap();
        assert_eq!(step, [0, 1, 2], "{c}");
        let (d, _) = r.read_f64("/particles/cells/diameter").unwrap();
        assert_eq!(bits(&d), bits(&frame(BIG, 9)[..BIG]), "{c}: fixed f64");
        let (id, _) = r.read_i64("/particles/cells/id").unwrap();
        assert!(id.iter().enumerate().all(|(i, &v)| v == i as i64), "{c}");
        // A frame read alone (one chunk of the edge) is right too.
        let (last, _) = r
            .read_frame_f64("/particles/cells/position/value", 2)
            .unwrap();
        assert_eq!(bits(&last), bits(&frame(BIG, 2)), "{c}: frame 2");
    }
    // The filters really ran: these smooth data compress under every filter.
    let none = sizes[0].1;
    for &(c, size) in &sizes[1..] {
        assert!(size < none, "{c}: {size} B vs {none} B uncompressed");
    }
}

#[test]
fn compression_spellings_are_checked() {
    assert_eq!(Compression::default(), Compression::None);
    assert!(Compression::parse("deflate:11").is_err());
    assert_eq!(
        "shuffle+deflate:2".parse::<Compression>(),
        Ok(Compression::Deflate {
            level: 2,
            shuffle: true
        })
    );
}
