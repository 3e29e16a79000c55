//! End-to-end tests: synthetic files of every kind, written with
//! `buffycoat_h5::Writer`, plotted with `plot_file`.
//!
//! Set `BUFFYCOAT_PLOT_TEST_OUT=/some/dir` to keep the plots (one
//! subdirectory per test) for looking at them.

use std::f64::consts::PI;
use std::fs;
use std::path::{Path, PathBuf};

use buffycoat_h5::Writer;
use buffycoat_plot::{
    FileKind, PlotError, PlotOptions, detect_kind, plot_channel_run, plot_file, plot_sweep,
};

type R = Result<(), Box<dyn std::error::Error>>;

/// A scratch directory: the input file goes in it, the plots in `out`
/// (or in `$BUFFYCOAT_PLOT_TEST_OUT/<name>` when set).
struct Scratch {
    _dir: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
}

fn scratch(name: &str) -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(format!("{name}.h5"));
    let out = match std::env::var_os("BUFFYCOAT_PLOT_TEST_OUT") {
        Some(base) => {
            let out = PathBuf::from(base).join(name);
            let _ = fs::remove_dir_all(&out);
            out
        }
        None => dir.path().join("plots"),
    };
    Scratch {
        _dir: dir,
        input,
        out,
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Checks that exactly `expected` plots (PNG and SVG each) were written,
/// that they are non-trivial, that each SVG holds its `labels`, and that no
/// temporary file is left.
fn check_written(out: &Path, written: &[PathBuf], expected: &[(&str, &[&str])]) {
    let mut want: Vec<PathBuf> = expected
        .iter()
        .flat_map(|(n, _)| [out.join(format!("{n}.png")), out.join(format!("{n}.svg"))])
        .collect();
    let mut got = written.to_vec();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    for (name, labels) in expected {
        let png = out.join(format!("{name}.png"));
        let bytes = fs::read(&png).unwrap();
        assert!(
            bytes.len() > 8_000,
            "{} is only {} bytes",
            png.display(),
            bytes.len()
        );
        assert_eq!(
            &bytes[..8],
            b"\x89PNG\r\n\x1a\n",
            "{} is not a PNG",
            png.display()
        );
        let svg = fs::read_to_string(out.join(format!("{name}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{name}.svg has no <svg");
        for l in *labels {
            assert!(svg.contains(l), "{name}.svg lacks the text {l:?}");
        }
    }
    for e in fs::read_dir(out).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !n.starts_with('.'),
            "temporary file {n} left in {}",
            out.display()
        );
    }
}

/// Asserts that `out` holds no plot (it may not exist).
fn assert_no_output(out: &Path) {
    if let Ok(entries) = fs::read_dir(out) {
        let left: Vec<_> = entries.map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "output left behind: {left:?}");
    }
}

// ---------------------------------------------------------------------------
// Synthetic files

fn write_particle_run(path: &Path, sector: bool) -> R {
    let w = Writer::create(path)?;
    w.h5md_header("test", "buffycoat", "0.1.0")?;
    let species = names(&["rbc", "lymphocyte"]);
    let frames = 25;
    let n = 400;
    let pel = w.time_series("/observables/pelleted_fraction", &[2], None, "s")?;
    let flo = w.time_series("/observables/floated_fraction", &[2], None, "s")?;
    let rad = w.time_series("/observables/mean_radius", &[2], Some("m"), "s")?;
    let pos = w.time_series("/particles/cells/position", &[n, 3], Some("m"), "s")?;
    for g in [
        "/observables/pelleted_fraction",
        "/observables/floated_fraction",
        "/observables/mean_radius",
    ] {
        w.attr_strings(g, "names", &species)?;
    }
    let kind: Vec<i32> = (0..n).map(|i| i32::from(i % 4 == 0)).collect();
    for f in 0..frames {
        let t = f as f64 * 10.0;
        let x = t / 240.0;
        w.append(
            pel,
            f as i64,
            t,
            vec![1.0 - (-x).exp(), 0.5 * (1.0 - (-0.3 * x).exp())],
        )?;
        w.append(flo, f as i64, t, vec![0.0, 0.02 * x])?;
        w.append(
            rad,
            f as i64,
            t,
            vec![0.10 + 0.02 * (1.0 - (-x).exp()), 0.10 + 0.008 * x],
        )?;
        let mut frame = Vec::with_capacity(n * 3);
        for (i, &k) in kind.iter().enumerate() {
            let u = (i as f64 * 0.618_034).fract();
            let spread = if k == 0 { 0.02 } else { 0.012 };
            let r = 0.09 + spread * (1.0 - (-x).exp()) + 0.004 * u + 0.003 * (i as f64 * 1.3).sin();
            let (x0, y0) = if sector {
                let a = (u - 0.5) * 4.0 * PI / 180.0;
                (r * a.cos(), r * a.sin())
            } else {
                (r, 0.002 * (i as f64).cos())
            };
            frame.extend([x0, y0, 0.001 * (i as f64).sin()]);
        }
        w.append(pos, f as i64, t, frame)?;
    }
    w.dataset_i32("/particles/cells/species", &[n], kind, None)?;
    w.attr_strings("/particles/cells/species", "names", &species)?;
    let kind = if sector { "sector" } else { "tube" };
    w.dataset_string(
        "/parameters/effective_toml",
        &format!("[rotor]\nrpm = 3000.0\n\n[geometry]\nkind = \"{kind}\"\n"),
    )?;
    w.finish()?;
    Ok(())
}

/// A whole-blood-like field run: red cells pack outwards behind a front,
/// lymphocytes and platelets gather at the interface.
fn write_field_run(path: &Path, skip: Option<&str>) -> R {
    let w = Writer::create(path)?;
    w.h5md_header("test", "buffycoat", "0.1.0")?;
    let nr = 80;
    let classes = names(&["rbc_0", "rbc_1", "lymphocyte_0", "platelet_0"]);
    let species = names(&["rbc", "rbc", "lymphocyte", "platelet"]);
    let s = classes.len();
    let (r0, r1) = (0.08, 0.12);
    let radius: Vec<f64> = (0..nr)
        .map(|i| r0 + (i as f64 + 0.5) * (r1 - r0) / nr as f64)
        .collect();
    if skip != Some("/fields/radius_m") {
        w.dataset_f64("/fields/radius_m", &[nr], radius.clone(), Some("m"))?;
    }
    let vf = w.time_series("/fields/volume_fraction", &[nr, s], None, "s")?;
    w.attr_strings("/fields/volume_fraction", "names", &classes)?;
    w.attr_strings("/fields/volume_fraction", "species", &species)?;
    let iface = w.time_series("/observables/interface_radius", &[2], Some("m"), "s")?;
    w.attr_strings(
        "/observables/interface_radius",
        "names",
        &names(&["plasma_buffy", "buffy_red"]),
    )?;
    let hct = w.time_series("/observables/red_layer_hematocrit", &[1], None, "s")?;
    let lf = w.time_series("/observables/layer_fraction", &[3, 3], None, "s")?;
    w.attr_strings(
        "/observables/layer_fraction",
        "names",
        &names(&["rbc", "lymphocyte", "platelet"]),
    )?;
    w.attr_strings(
        "/observables/layer_fraction",
        "layers",
        &names(&["plasma", "buffy_coat", "red_cells"]),
    )?;
    let frames = 40;
    for f in 0..frames {
        let t = f as f64 * 15.0;
        let prog = 1.0 - (-t / 200.0).exp();
        // The red-cell front moves from r0 out to where 0.45 of the tube
        // packed at 0.9 would sit.
        let front = r0 + prog * 0.5 * (r1 - r0);
        let phi_red = 0.45 * (r1 - r0) / (r1 - front);
        let mut frame = vec![0.0; nr * s];
        for (i, &r) in radius.iter().enumerate() {
            let red = if r > front { phi_red } else { 0.0 };
            frame[i * s] = 0.6 * red;
            frame[i * s + 1] = 0.4 * red;
            let d = (r - front) / 0.0015;
            let peak = (-d * d).exp() * prog;
            frame[i * s + 2] = 0.0012 * ((1.0 - prog) + 18.0 * peak);
            frame[i * s + 3] = 0.002
                * ((1.0 - prog) * 1.0 + 12.0 * peak + if r < front { 0.4 * prog } else { 0.0 });
        }
        w.append(vf, f as i64, t, frame)?;
        let (a, b) = if f < 3 {
            (f64::NAN, f64::NAN)
        } else {
            (front - 0.001, front)
        };
        w.append(iface, f as i64, t, vec![a, b])?;
        w.append(hct, f as i64, t, vec![phi_red])?;
        w.append(
            lf,
            f as i64,
            t,
            vec![
                0.0,
                0.0,
                1.0,
                0.1 * prog,
                0.8 * prog,
                1.0 - 0.9 * prog,
                0.6 * prog,
                0.3 * prog,
                1.0 - 0.9 * prog,
            ],
        )?;
    }
    w.finish()?;
    Ok(())
}

fn write_channel_run(path: &Path) -> R {
    let w = Writer::create(path)?;
    w.h5md_header("test", "buffycoat", "0.1.0")?;
    let (nr, k) = (50, 120);
    let (ri, ro, len) = (0.060, 0.063, 0.30);
    let radius: Vec<f64> = (0..nr)
        .map(|i| ri + (i as f64 + 0.5) * (ro - ri) / nr as f64)
        .collect();
    let along: Vec<f64> = (0..k).map(|i| (i as f64 + 0.5) * len / k as f64).collect();
    let mut hct = Vec::with_capacity(k * nr);
    let mut vf = Vec::with_capacity(k * nr * 2);
    for &a in &along {
        let prog = 1.0 - (-a / 0.06).exp();
        let front = ri + (ro - ri) * 0.55 * prog;
        let packed_from = ro - (ro - ri) * 0.45 * prog;
        for &r in &radius {
            let h = if r < front {
                0.4 * (1.0 - prog)
            } else if r > packed_from {
                0.4 + 0.5 * prog
            } else {
                0.4
            };
            hct.push(h);
            vf.extend([h, 0.001]);
        }
    }
    w.dataset_f64("/fields/channel/radius_m", &[nr], radius, Some("m"))?;
    w.dataset_f64("/fields/channel/along_m", &[k], along, Some("m"))?;
    w.dataset_f64("/fields/channel/hematocrit", &[k, nr], hct, None)?;
    w.dataset_f64("/fields/channel/volume_fraction", &[k, nr, 2], vf, None)?;
    w.attr_strings(
        "/fields/channel/volume_fraction",
        "names",
        &names(&["rbc_0", "lymphocyte_0"]),
    )?;
    w.attr_strings(
        "/fields/channel/volume_fraction",
        "species",
        &names(&["rbc", "lymphocyte"]),
    )?;
    w.dataset_f64(
        "/fields/channel/port_split_radius_m",
        &[2],
        vec![0.0612, 0.0618],
        Some("m"),
    )?;
    for (name, d0, d1) in [
        ("lymphocyte", 6e-6, 11e-6),
        ("platelet", 1.5e-6, 3.5e-6),
        ("rbc", 7e-6, 9e-6),
    ] {
        let b = 12;
        let g = format!("/observables/grade_efficiency/{name}");
        let d: Vec<f64> = (0..b)
            .map(|i| d0 + (d1 - d0) * (i as f64 + 0.5) / b as f64)
            .collect();
        let mut p = Vec::with_capacity(b * 3);
        let mut count = Vec::with_capacity(b);
        for i in 0..b {
            let x = i as f64 / (b - 1) as f64;
            let red = x * x;
            let collect = 0.7 * (1.0 - red) * (0.3 + 0.7 * x);
            p.extend([1.0 - red - collect, collect, red]);
            count.push(if i == 0 || i == 7 {
                0.0
            } else {
                20.0 + i as f64
            });
        }
        w.dataset_f64(&format!("{g}/diameter_m"), &[b], d, Some("m"))?;
        w.dataset_f64(&format!("{g}/probability"), &[b, 3], p, None)?;
        w.dataset_f64(&format!("{g}/count"), &[b], count, None)?;
    }
    w.finish()?;
    Ok(())
}

/// A sweep over `keys` with `shape` points each. Metrics are smooth
/// functions of the normalised coordinates; point 3 failed and point 5 was
/// not run (when there are that many).
fn write_sweep(path: &Path, keys: &[(&str, f64, f64, bool)], shape: &[usize]) -> R {
    let w = Writer::create(path)?;
    w.h5md_header("test", "buffycoat", "0.1.0")?;
    let p: usize = shape.iter().product();
    let d = shape.len();
    let mut coords = vec![vec![0.0; p]; d];
    let mut params = vec![vec![0.0; p]; d];
    for pt in 0..p {
        let mut rest = pt;
        for k in (0..d).rev() {
            let idx = rest % shape[k];
            rest /= shape[k];
            let u = if shape[k] > 1 {
                idx as f64 / (shape[k] - 1) as f64
            } else {
                0.0
            };
            let (_, lo, hi, log) = keys[k];
            coords[k][pt] = u;
            params[k][pt] = if log {
                lo * (hi / lo).powf(u)
            } else {
                lo + u * (hi - lo)
            };
        }
    }
    for (k, (key, ..)) in keys.iter().enumerate() {
        let unit = match *key {
            "rotor.rpm" => Some("rpm"),
            "inlet.flow_ml_min" => None, // inferred from the name
            _ => None,
        };
        w.dataset_f64(
            &format!("/sweep/parameters/{key}"),
            &[p],
            params[k].clone(),
            unit,
        )?;
    }
    let status: Vec<i32> = (0..p)
        .map(|i| match i {
            3 => 1,
            5 => 2,
            _ => 0,
        })
        .collect();
    let metric = |f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        (0..p)
            .map(|i| {
                if status[i] != 0 {
                    return f64::NAN;
                }
                let a = coords[0][i];
                let b = if d > 1 { coords[1][i] } else { 0.3 };
                f(a, b)
            })
            .collect()
    };
    let ce = metric(&|a, b| 0.2 + 0.7 * a * (1.0 - 0.6 * b));
    let hct = metric(&|a, b| 0.01 + 0.08 * b * (1.0 - 0.5 * a));
    let loss = metric(&|a, b| 0.05 + 0.1 * (a - b).abs());
    let wall = metric(&|a, b| 0.5 + a + b);
    w.dataset_f64(
        "/sweep/metrics/collection_efficiency.lymphocyte",
        &[p],
        ce,
        Some("1"),
    )?;
    w.dataset_f64(
        "/sweep/metrics/ports.collect.hematocrit",
        &[p],
        hct,
        Some("1"),
    )?;
    w.dataset_f64("/sweep/metrics/platelet_loss", &[p], loss, None)?;
    w.dataset_f64("/sweep/metrics/wall_time_s", &[p], wall, Some("s"))?;
    w.dataset_i32("/sweep/status", &[p], status, None)?;
    w.dataset_strings(
        "/sweep/grid/keys",
        &keys.iter().map(|k| k.0.to_owned()).collect::<Vec<_>>(),
    )?;
    w.dataset_i64(
        "/sweep/grid/shape",
        &[d],
        shape.iter().map(|&n| n as i64).collect(),
        None,
    )?;
    w.finish()?;
    Ok(())
}

const RPM: (&str, f64, f64, bool) = ("rotor.rpm", 1500.0, 3000.0, false);
const FLOW: (&str, f64, f64, bool) = ("inlet.flow_ml_min", 20.0, 80.0, false);
const HCT: (&str, f64, f64, bool) = ("blood.hematocrit", 0.35, 0.45, false);

fn write_procedure(path: &Path) -> R {
    let w = Writer::create(path)?;
    w.h5md_header("test", "buffycoat", "0.1.0")?;
    let t = 91;
    let sp = names(&[
        "lymphocyte",
        "monocyte",
        "neutrophil",
        "myeloblast",
        "platelet",
    ]);
    let c0 = [2500.0, 500.0, 4000.0, 150_000.0, 250_000.0];
    let ce = [0.5, 0.6, 0.1, 0.45, 0.08];
    let time: Vec<f64> = (0..t).map(|i| i as f64 * 120.0).collect();
    let flow = 50.0; // mL/min
    let volume: Vec<f64> = time.iter().map(|s| s / 60.0 * flow).collect();
    let tbv = 5000.0;
    let mut counts = Vec::new();
    let mut product = Vec::new();
    for &v in &volume {
        for k in 0..sp.len() {
            let c = c0[k] * (-ce[k] * v / tbv).exp();
            counts.push(c);
            // µL → cells: TBV in mL × 1000 µL/mL.
            product.push((c0[k] - c) * tbv * 1000.0);
        }
    }
    let hct: Vec<f64> = volume.iter().map(|v| 0.30 - 0.01 * v / tbv).collect();
    let rate: Vec<f64> = time
        .iter()
        .map(|s| 0.6 + 1.4 * (1.0 - (-s / 2400.0).exp()))
        .collect();
    let mut dose = vec![0.0; t];
    for i in 1..t {
        dose[i] = dose[i - 1] + 0.5 * (rate[i] + rate[i - 1]) * (time[i] - time[i - 1]) / 60.0;
    }
    w.dataset_f64("/procedure/time_s", &[t], time, Some("s"))?;
    w.dataset_f64("/procedure/processed_volume_ml", &[t], volume, Some("mL"))?;
    w.dataset_f64(
        "/procedure/patient_per_ul",
        &[t, sp.len()],
        counts,
        Some("uL-1"),
    )?;
    w.attr_strings("/procedure/patient_per_ul", "names", &sp)?;
    w.dataset_f64("/procedure/patient_hematocrit", &[t], hct, None)?;
    w.dataset_f64("/procedure/product_cells", &[t, sp.len()], product, None)?;
    w.attr_strings("/procedure/product_cells", "names", &sp)?;
    w.dataset_f64(
        "/procedure/citrate_rate_mg_kg_min",
        &[t],
        rate,
        Some("mg kg-1 min-1"),
    )?;
    w.dataset_f64("/procedure/citrate_dose_mg_kg", &[t], dose, Some("mg kg-1"))?;
    w.dataset_f64(
        "/procedure/citrate_thresholds_mg_kg_min",
        &[2],
        vec![1.0, 1.8],
        None,
    )?;
    w.finish()?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Every kind plots

#[test]
fn particle_run_plots() -> R {
    for sector in [false, true] {
        let s = scratch(if sector {
            "particle_sector"
        } else {
            "particle_tube"
        });
        write_particle_run(&s.input, sector)?;
        assert_eq!(detect_kind(&s.input)?, FileKind::ParticleRun);
        let written = plot_file(&s.input, &s.out, &PlotOptions::default())?;
        let r_label = if sector {
            "√(x² + y²)"
        } else {
            "r = x (mm)"
        };
        check_written(
            &s.out,
            &written,
            &[
                (
                    "pelleted_fraction",
                    &[
                        "time (s)",
                        "fraction of the species",
                        "lymphocyte",
                        "floated",
                    ],
                ),
                ("mean_radius", &["time (s)", "mean radial position (mm)"]),
                (
                    "radial_histogram",
                    &[r_label, "rbc (300 cells)", "lymphocyte (100 cells)"],
                ),
            ],
        );
    }
    Ok(())
}

#[test]
fn field_run_plots() -> R {
    let s = scratch("field");
    write_field_run(&s.input, None)?;
    assert_eq!(detect_kind(&s.input)?, FileKind::FieldRun);
    let written = plot_file(&s.input, &s.out, &PlotOptions::default())?;
    check_written(
        &s.out,
        &written,
        &[
            (
                "volume_fraction_profiles",
                &[
                    "radius (mm)",
                    "volume fraction φ (–)",
                    "φ / φ₀",
                    "t = 0 s",
                    "platelet",
                ],
            ),
            (
                "interfaces",
                &[
                    "time (s)",
                    "interface radius (mm)",
                    "red-layer hematocrit (–)",
                    "plasma / buffy-coat interface",
                ],
            ),
            (
                "hematocrit_map",
                &[
                    "time (s)",
                    "radius (mm)",
                    "red-cell volume fraction φ_rbc (–)",
                ],
            ),
            (
                "layer_fraction",
                &["buffy coat", "fraction of the species (–)"],
            ),
        ],
    );
    Ok(())
}

#[test]
fn channel_run_plots() -> R {
    let s = scratch("channel");
    write_channel_run(&s.input)?;
    assert_eq!(detect_kind(&s.input)?, FileKind::ChannelRun);
    let written = plot_channel_run(&s.input, &s.out)?;
    check_written(
        &s.out,
        &written,
        &[
            (
                "channel_hematocrit",
                &[
                    "distance along the channel (mm)",
                    "radius (mm)",
                    "hematocrit (–)",
                    "port split radii",
                ],
            ),
            (
                "grade_efficiency",
                &[
                    "cell diameter (µm)",
                    "collect port",
                    "red cells port",
                    "platelet (",
                    "lymphocyte (",
                ],
            ),
        ],
    );
    Ok(())
}

#[test]
fn sweep_2d_plots_heat_maps_and_window() -> R {
    let s = scratch("sweep_2d");
    write_sweep(&s.input, &[RPM, FLOW], &[7, 6])?;
    assert_eq!(detect_kind(&s.input)?, FileKind::Sweep);
    let options = PlotOptions {
        metrics: vec![],
        window: Some(
            "collection_efficiency.lymphocyte>=0.5, ports.collect.hematocrit<=0.05".into(),
        ),
    };
    let written = plot_file(&s.input, &s.out, &options)?;
    check_written(
        &s.out,
        &written,
        &[
            (
                "sweep_collection_efficiency.lymphocyte",
                &[
                    "rotor.rpm (rpm)",
                    "inlet.flow_ml_min (mL/min)",
                    "collection_efficiency.lymphocyte (–)",
                    "operating window",
                    "failed or not run (2 points)",
                ],
            ),
            (
                "sweep_ports.collect.hematocrit",
                &["ports.collect.hematocrit (–)"],
            ),
            ("sweep_platelet_loss", &["platelet_loss (–)"]),
            ("sweep_wall_time_s", &["wall_time_s (s)"]),
            (
                "window",
                &[
                    "Operating window",
                    "rotor.rpm (rpm)",
                    "Green: every condition holds",
                ],
            ),
        ],
    );
    Ok(())
}

#[test]
fn sweep_metric_selection() -> R {
    let s = scratch("sweep_select");
    write_sweep(&s.input, &[RPM, FLOW], &[4, 3])?;
    let options = PlotOptions {
        metrics: vec![
            "platelet_loss".into(),
            "wall_time_s".into(),
            "platelet_loss".into(),
        ],
        window: None,
    };
    let written = plot_sweep(&s.input, &s.out, &options)?;
    check_written(
        &s.out,
        &written,
        &[
            ("sweep_platelet_loss", &["platelet_loss"]),
            ("sweep_wall_time_s", &["wall_time_s (s)"]),
        ],
    );
    Ok(())
}

#[test]
fn sweep_1d_plots_lines() -> R {
    let s = scratch("sweep_1d");
    write_sweep(&s.input, &[("inlet.flow_ml_min", 10.0, 1000.0, true)], &[9])?;
    let options = PlotOptions {
        metrics: vec!["collection_efficiency.lymphocyte".into()],
        window: Some("collection_efficiency.lymphocyte>0.4,inlet.flow_ml_min<=500".into()),
    };
    let written = plot_file(&s.input, &s.out, &options)?;
    check_written(
        &s.out,
        &written,
        &[
            (
                "sweep_collection_efficiency.lymphocyte",
                &[
                    "inlet.flow_ml_min (mL/min)",
                    "collection_efficiency.lymphocyte (–)",
                    "Green band",
                ],
            ),
            ("window", &["inside the window"]),
        ],
    );
    Ok(())
}

#[test]
fn sweep_3d_plots_a_slice() -> R {
    let s = scratch("sweep_3d");
    write_sweep(&s.input, &[RPM, FLOW, HCT], &[4, 3, 2])?;
    let options = PlotOptions {
        metrics: vec!["collection_efficiency.lymphocyte".into()],
        window: None,
    };
    let written = plot_file(&s.input, &s.out, &options)?;
    check_written(
        &s.out,
        &written,
        &[(
            "sweep_collection_efficiency.lymphocyte",
            &["at blood.hematocrit = 0.35 (first values)"],
        )],
    );
    Ok(())
}

#[test]
fn procedure_plots() -> R {
    let s = scratch("procedure");
    write_procedure(&s.input)?;
    assert_eq!(detect_kind(&s.input)?, FileKind::Procedure);
    let written = plot_file(&s.input, &s.out, &PlotOptions::default())?;
    check_written(
        &s.out,
        &written,
        &[
            (
                "patient_counts",
                &[
                    "time (min)",
                    "patient count (µL⁻¹)",
                    "myeloblast",
                    "patient hematocrit (–)",
                ],
            ),
            (
                "product_yield",
                &["processed blood volume (mL)", "cells in the product bag"],
            ),
            (
                "citrate",
                &[
                    "citrate infusion rate (mg/kg/min)",
                    "cumulative citrate dose (mg/kg)",
                    "threshold 1.8 mg/kg/min",
                ],
            ),
        ],
    );
    Ok(())
}

#[test]
fn plotting_again_replaces_the_plots() -> R {
    let s = scratch("again");
    write_procedure(&s.input)?;
    let first = plot_file(&s.input, &s.out, &PlotOptions::default())?;
    let second = plot_file(&s.input, &s.out, &PlotOptions::default())?;
    assert_eq!(first, second);
    assert_eq!(fs::read_dir(&s.out)?.count(), 6);
    Ok(())
}

// ---------------------------------------------------------------------------
// Bad input: clear errors, no output

#[test]
fn missing_dataset_is_a_clear_error() -> R {
    let s = scratch("missing");
    write_field_run(&s.input, Some("/fields/radius_m"))?;
    let e = plot_file(&s.input, &s.out, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, PlotError::Missing { .. }), "{e:?}");
    let msg = e.to_string();
    assert_eq!(
        msg,
        format!(
            "{}: no dataset /fields/radius_m: not a buffycoat field-run file",
            s.input.display()
        )
    );
    assert_no_output(&s.out);
    Ok(())
}

#[test]
fn missing_datasets_of_each_kind() -> R {
    // A file that looks like a sweep / procedure / channel run but lacks the
    // rest of it.
    for (group_dataset, missing, kind) in [
        ("/sweep/status", "/sweep/grid/keys", "sweep"),
        (
            "/procedure/time_s",
            "/procedure/processed_volume_ml",
            "procedure",
        ),
        (
            "/fields/channel/radius_m",
            "/fields/channel/along_m",
            "channel-run",
        ),
    ] {
        let s = scratch("missing_kind");
        let w = Writer::create(&s.input)?;
        w.dataset_f64(group_dataset, &[3], vec![0.0, 1.0, 2.0], None)?;
        w.finish()?;
        let e = plot_file(&s.input, &s.out, &PlotOptions::default()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.ends_with(&format!(
                "no dataset {missing}: not a buffycoat {kind} file"
            )),
            "{msg}"
        );
        assert!(msg.starts_with(&s.input.display().to_string()), "{msg}");
        assert_no_output(&s.out);
    }
    Ok(())
}

#[test]
fn wrong_shape_is_a_clear_error() -> R {
    let s = scratch("shape");
    let w = Writer::create(&s.input)?;
    w.dataset_f64("/fields/channel/radius_m", &[3], vec![1.0, 2.0, 3.0], None)?;
    w.dataset_f64("/fields/channel/along_m", &[2], vec![1.0, 2.0], None)?;
    w.dataset_f64("/fields/channel/hematocrit", &[3, 2], vec![0.0; 6], None)?;
    w.finish()?;
    let e = plot_file(&s.input, &s.out, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, PlotError::Malformed { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("/fields/channel/hematocrit: has shape [3, 2] where [2, 3] was expected"),
        "{e}"
    );
    assert_no_output(&s.out);
    Ok(())
}

#[test]
fn empty_sweep_is_an_error() -> R {
    let s = scratch("empty_sweep");
    let w = Writer::create(&s.input)?;
    w.dataset_strings("/sweep/grid/keys", &names(&["rotor.rpm"]))?;
    w.dataset_i64("/sweep/grid/shape", &[1], vec![0], None)?;
    w.dataset_i32("/sweep/status", &[0], vec![], None)?;
    w.dataset_f64("/sweep/parameters/rotor.rpm", &[0], vec![], None)?;
    w.dataset_f64("/sweep/metrics/platelet_loss", &[0], vec![], None)?;
    w.finish()?;
    let e = plot_file(&s.input, &s.out, &PlotOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("/sweep/status: empty sweep: no points"),
        "{e}"
    );
    assert_no_output(&s.out);

    // A sweep without metrics is empty too.
    let s = scratch("no_metrics");
    let w = Writer::create(&s.input)?;
    w.dataset_strings("/sweep/grid/keys", &names(&["rotor.rpm"]))?;
    w.dataset_i64("/sweep/grid/shape", &[1], vec![2], None)?;
    w.dataset_i32("/sweep/status", &[2], vec![0, 0], None)?;
    w.dataset_f64("/sweep/parameters/rotor.rpm", &[2], vec![1.0, 2.0], None)?;
    w.attr_string("/sweep/metrics", "note", "none")?;
    w.finish()?;
    let e = plot_file(&s.input, &s.out, &PlotOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("/sweep/metrics: empty sweep: no metrics"),
        "{e}"
    );
    assert_no_output(&s.out);
    Ok(())
}

#[test]
fn bad_window_is_an_error() -> R {
    let s = scratch("bad_window");
    write_sweep(&s.input, &[RPM, FLOW], &[3, 3])?;
    for (window, needle) in [
        (
            "rpm>>3",
            "bad --window condition `rpm>>3`: `>3` after `>` is not a number",
        ),
        ("rotor.rpm=3", "no comparison operator"),
        (
            "collection_efficiency.lymph>=0.5",
            "no metric or varied key `collection_efficiency.lymph`",
        ),
    ] {
        let options = PlotOptions {
            metrics: vec![],
            window: Some(window.into()),
        };
        let e = plot_file(&s.input, &s.out, &options).unwrap_err();
        assert!(matches!(e, PlotError::Window { .. }), "{e:?}");
        assert!(e.to_string().contains(needle), "{e}");
        assert_no_output(&s.out);
    }
    Ok(())
}

#[test]
fn unknown_metric_is_an_error() -> R {
    let s = scratch("unknown_metric");
    write_sweep(&s.input, &[RPM, FLOW], &[3, 3])?;
    let options = PlotOptions {
        metrics: vec!["purity".into()],
        window: None,
    };
    let e = plot_file(&s.input, &s.out, &options).unwrap_err();
    assert!(matches!(e, PlotError::UnknownMetric { .. }), "{e:?}");
    assert!(e.to_string().contains("no metric `purity`"), "{e}");
    assert!(e.to_string().contains("platelet_loss"), "{e}");
    assert_no_output(&s.out);
    Ok(())
}

#[test]
fn sweep_options_on_other_kinds_are_errors() -> R {
    let s = scratch("options_elsewhere");
    write_procedure(&s.input)?;
    let options = PlotOptions {
        metrics: vec![],
        window: Some("a>=1".into()),
    };
    let e = plot_file(&s.input, &s.out, &options).unwrap_err();
    assert!(
        e.to_string()
            .contains("--window applies only to sweep files, but this is a procedure file"),
        "{e}"
    );
    assert_no_output(&s.out);
    Ok(())
}

#[test]
fn not_a_buffycoat_file() -> R {
    let s = scratch("foreign");
    let w = Writer::create(&s.input)?;
    w.dataset_f64("/something/else", &[2], vec![1.0, 2.0], None)?;
    w.finish()?;
    let e = plot_file(&s.input, &s.out, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, PlotError::UnknownKind { .. }), "{e:?}");
    assert!(e.to_string().contains("not a buffycoat output file"), "{e}");

    let text = s.input.with_extension("txt");
    fs::write(&text, "not hdf5")?;
    let e = plot_file(&text, &s.out, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, PlotError::Hdf5(_)), "{e:?}");
    assert!(e.to_string().contains(&text.display().to_string()), "{e}");

    let e = plot_file(
        &s.input.with_extension("nope"),
        &s.out,
        &PlotOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, PlotError::Hdf5(_)), "{e:?}");
    assert_no_output(&s.out);
    Ok(())
}

#[test]
fn unwritable_output_leaves_nothing() -> R {
    let s = scratch("unwritable");
    write_procedure(&s.input)?;
    // The output "directory" is a regular file.
    let blocker = s.input.with_extension("blocker");
    fs::write(&blocker, "x")?;
    let e = plot_file(&s.input, &blocker, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, PlotError::Output { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&blocker.display().to_string()),
        "{e}"
    );
    Ok(())
}

#[test]
fn series_without_frames_is_an_error() -> R {
    let s = scratch("no_frames");
    let w = Writer::create(&s.input)?;
    let species = names(&["rbc"]);
    for g in [
        "/observables/pelleted_fraction",
        "/observables/floated_fraction",
        "/observables/mean_radius",
    ] {
        w.time_series(g, &[1], None, "s")?;
        w.attr_strings(g, "names", &species)?;
    }
    w.time_series("/particles/cells/position", &[2, 3], Some("m"), "s")?;
    w.finish()?;
    let e = plot_file(&s.input, &s.out, &PlotOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("/observables/pelleted_fraction/value: has no frames"),
        "{e}"
    );
    assert_no_output(&s.out);
    Ok(())
}

#[test]
fn wrong_type_and_bad_species_index_are_errors() -> R {
    // A string where numbers are expected: the HDF5 layer's error, naming
    // the file and the dataset.
    let s = scratch("wrong_type");
    let w = Writer::create(&s.input)?;
    w.dataset_string("/fields/channel/radius_m", "sixty millimetres")?;
    w.finish()?;
    let e = plot_file(&s.input, &s.out, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, PlotError::Hdf5(_)), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("/fields/channel/radius_m"), "{msg}");
    assert!(msg.contains(&s.input.display().to_string()), "{msg}");
    assert_no_output(&s.out);

    // A cell whose species index has no name.
    let s = scratch("bad_species");
    write_particle_run(&s.input, false)?;
    let patched = s.input.with_extension("patched.h5");
    {
        let r = buffycoat_h5::Reader::open(&s.input)?;
        let w = Writer::create(&patched)?;
        for g in ["/observables/pelleted_fraction", "/observables/mean_radius"] {
            let (v, shape) = r.read_f64(&format!("{g}/value"))?;
            let (t, _) = r.read_f64(&format!("{g}/time"))?;
            let id = w.time_series(g, &shape[1..], None, "s")?;
            for (f, chunk) in v.chunks(shape[1]).enumerate() {
                w.append(id, f as i64, t[f], chunk.to_vec())?;
            }
            w.attr_strings(g, "names", &names(&["rbc", "lymphocyte"]))?;
        }
        let (v, shape) = r.read_f64("/particles/cells/position/value")?;
        let id = w.time_series("/particles/cells/position", &shape[1..], Some("m"), "s")?;
        w.append(id, 0, 0.0, v[..shape[1] * 3].to_vec())?;
        let mut species = r.read_i32("/particles/cells/species")?.0;
        species[7] = 5;
        w.dataset_i32("/particles/cells/species", &[species.len()], species, None)?;
        w.attr_strings(
            "/particles/cells/species",
            "names",
            &names(&["rbc", "lymphocyte"]),
        )?;
        w.finish()?;
    }
    let e = plot_file(&patched, &s.out, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, PlotError::Malformed { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("/particles/cells/species: species index 5 out of range for 2 names"),
        "{e}"
    );
    assert_no_output(&s.out);
    Ok(())
}

#[test]
fn sweep_with_every_point_failed_still_plots() -> R {
    let s = scratch("all_failed");
    let w = Writer::create(&s.input)?;
    w.dataset_strings(
        "/sweep/grid/keys",
        &names(&["rotor.rpm", "inlet.flow_ml_min"]),
    )?;
    w.dataset_i64("/sweep/grid/shape", &[2], vec![2, 3], None)?;
    w.dataset_i32("/sweep/status", &[6], vec![1, 1, 2, 2, 1, 1], None)?;
    w.dataset_f64(
        "/sweep/parameters/rotor.rpm",
        &[6],
        vec![1000.0, 1000.0, 1000.0, 2000.0, 2000.0, 2000.0],
        Some("rpm"),
    )?;
    w.dataset_f64(
        "/sweep/parameters/inlet.flow_ml_min",
        &[6],
        vec![10.0, 20.0, 30.0, 10.0, 20.0, 30.0],
        Some("mL/min"),
    )?;
    w.dataset_f64(
        "/sweep/metrics/platelet_loss",
        &[6],
        vec![f64::NAN; 6],
        None,
    )?;
    w.finish()?;
    let options = PlotOptions {
        metrics: vec![],
        window: Some("platelet_loss<=0.1".into()),
    };
    let written = plot_file(&s.input, &s.out, &options)?;
    check_written(
        &s.out,
        &written,
        &[
            (
                "sweep_platelet_loss",
                &["No point has a value", "failed or not run (6 points)"],
            ),
            ("window", &["(0 of 6 points)"]),
        ],
    );
    Ok(())
}
