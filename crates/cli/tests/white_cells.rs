//! Issue 11: white cells and platelets leave the consolidating red-cell bed of the whole-blood
//! preset (`whole_blood_tube.toml`), with and without red-cell aggregation, on a reduced grid
//! (150 radial cells: the same physics; the buffy coat is then one or two cells thick, so the
//! layer split is coarser than at the preset's 400 cells — see docs/physics.md §9.5 for the
//! full-resolution numbers).

use std::path::{Path, PathBuf};
use std::process::Command;

fn preset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/scenarios/whole_blood_tube.toml")
}

/// The JSON summary of running `scenario` with `set` on 150 radial cells.
fn summary_on_150_cells(scenario: &Path, set: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("s.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_buffycoat"));
    cmd.arg("run")
        .arg(scenario)
        .args(["--quiet", "--no-output", "--summary"])
        .arg(&summary)
        .args(["--set", "grid.radial_cells=150"]);
    for s in set {
        cmd.args(["--set", s]);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{o:?}");
    serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap()
}

/// The fraction of each species outside the red layer (plasma + buffy coat) after running
/// `scenario` with `set` on 150 radial cells.
fn out_of_red_layer(scenario: &Path, set: &[&str]) -> serde_json::Value {
    let json = summary_on_150_cells(scenario, set);
    let mut out = serde_json::Map::new();
    for (name, s) in json["species"].as_object().unwrap() {
        let f = s["layer_fractions"].as_array().unwrap();
        let v = f[0].as_f64().unwrap() + f[1].as_f64().unwrap();
        out.insert(name.clone(), v.into());
    }
    out.into()
}

fn frac(v: &serde_json::Value, species: &str) -> f64 {
    v[species].as_f64().unwrap()
}

/// The preset as shipped (aggregating red cells, ESR 10 mm/h, 3000 rpm, 10 min): most
/// lymphocytes, monocytes and platelets end outside the red layer.
#[test]
fn preset_with_aggregation_puts_most_white_cells_and_platelets_outside_the_red_layer() {
    let v = out_of_red_layer(&preset(), &[]);
    for s in ["lymphocyte", "monocyte", "platelet"] {
        assert!(frac(&v, s) > 0.5, "{s}: {v}");
    }
}

/// Without aggregation (single red cells) a hard spin (5000 rpm, ≈ 2 800–4 500 g, 10 min)
/// brings most lymphocytes, monocytes, neutrophils and platelets out of the red layer; with
/// the network closure switched off (`consolidation.network_width = 0`) the neutrophils,
/// dragged down by the compacting bed, stay in it — the closure decides their fate.
#[test]
fn without_aggregation_a_hard_spin_frees_white_cells_through_the_network_closure() {
    let dir = tempfile::tempdir().unwrap();
    let single = single_cells(dir.path());
    let with = out_of_red_layer(&single, &["rotor.rpm=5000"]);
    for s in ["lymphocyte", "monocyte", "neutrophil", "platelet"] {
        assert!(frac(&with, s) > 0.5, "{s}: {with}");
    }
    let without = out_of_red_layer(
        &single,
        &["rotor.rpm=5000", "consolidation.network_width=0"],
    );
    assert!(
        frac(&without, "neutrophil") < 0.1,
        "without the closure: {without}"
    );
    // at the preset's gentle 3000 rpm the closure still lifts white cells to the top of the
    // bed, but most stay inside the red layer's first cells (docs/physics.md §9.5)
    let gentle = out_of_red_layer(&single, &[]);
    let gentle_off = out_of_red_layer(&single, &["consolidation.network_width=0"]);
    assert!(
        frac(&gentle, "lymphocyte") > frac(&gentle_off, "lymphocyte") + 0.05,
        "{gentle} vs {gentle_off}"
    );
}

/// The preset without `esr_mm_h` (single red cells), written to `dir`.
fn single_cells(dir: &Path) -> PathBuf {
    let single = dir.join("single_cells.toml");
    let text = std::fs::read_to_string(preset()).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("esr_mm_h"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&single, kept).unwrap();
    single
}

/// The opt-in pore-size network closure (`consolidation.network = "pore_size"`, cells held by
/// their size against the pores between the others; docs/physics.md §9.1): without
/// aggregation at the preset's 3000 rpm it brings far more white cells out of the red layer
/// than the contact ramp (150 cells: monocytes 96 % against 10 %, lymphocytes 58 % against
/// 16 %) and leaves the platelets alone; with aggregation the preset keeps its buffy coat.
#[test]
fn pore_size_closure_lifts_white_cells_with_the_settling_red_cells() {
    let dir = tempfile::tempdir().unwrap();
    let single = single_cells(dir.path());
    let pores = out_of_red_layer(&single, &["consolidation.network=pore_size"]);
    let ramp = out_of_red_layer(&single, &[]);
    assert!(frac(&pores, "monocyte") > 0.5, "{pores}");
    for s in ["lymphocyte", "monocyte"] {
        assert!(
            frac(&pores, s) > frac(&ramp, s) + 0.2,
            "{s}: {pores} vs {ramp}"
        );
    }
    assert!(
        (frac(&pores, "platelet") - frac(&ramp, "platelet")).abs() < 0.05,
        "{pores} vs {ramp}"
    );
    let aggregated = out_of_red_layer(&preset(), &["consolidation.network=pore_size"]);
    for s in ["lymphocyte", "monocyte", "platelet"] {
        assert!(frac(&aggregated, s) > 0.5, "{s}: {aggregated}");
    }
}

/// Issue 11's white-cell point without aggregation, with the pore-size closure on a grid fine
/// enough for the white band at the top of the red cells (800 radial cells; lymphocytes 65 %,
/// monocytes 96 %, platelets 84 % outside the red layer). At the preset's 400 cells the band
/// straddles the layer threshold (21 % / 72 %), docs/physics.md §9.1. Release only: ≈ 45 s.
#[test]
#[cfg_attr(debug_assertions, ignore = "release only: 800 radial cells, ~45 s")]
fn without_aggregation_the_pore_closure_frees_most_white_cells_on_a_fine_grid() {
    let dir = tempfile::tempdir().unwrap();
    let single = single_cells(dir.path());
    let v = out_of_red_layer(
        &single,
        &["consolidation.network=pore_size", "grid.radial_cells=800"],
    );
    for s in ["lymphocyte", "monocyte", "platelet"] {
        assert!(frac(&v, s) > 0.5, "{s}: {v}");
    }
}

/// `grid.minor_classes = "split"` promotes a minor class to the Newton solve only on evidence
/// of blocking (docs/physics.md §9.2 (d)). The aggregated hard spin of docs/physics.md §9.5
/// (100 mm column, 4000 g at the bottom, 10 min) is a case where it must: the compacting bed
/// of aggregates squeezes the buffy coat against frozen minor classes. The promoted run must
/// report its promotions and put every species in the same layers as the coupled scheme.
#[test]
fn split_promotes_blocking_minor_classes_in_the_hard_spin_and_agrees_with_coupled() {
    let run = |minor: &str| -> serde_json::Value {
        let minor = format!("grid.minor_classes={minor}");
        summary_on_150_cells(
            &preset(),
            &[
                "geometry.r_min_m=0.15",
                "geometry.r_max_m=0.25",
                "rotor.rpm=3782.6",
                "run.duration_s=600",
                "run.output_interval_s=150",
                &minor,
            ],
        )
    };
    let split = run("split");
    let coupled = run("coupled");
    let promoted = split["layers"]["promoted_minor_classes"].as_u64().unwrap();
    assert!(promoted > 0, "no promotion: {}", split["layers"]);
    assert_eq!(
        coupled["layers"]["promoted_minor_classes"].as_u64(),
        Some(0)
    );
    assert!(split["layers"]["max_volume_drift"].as_f64().unwrap() < 1e-12);
    for (name, s) in split["species"].as_object().unwrap() {
        let a = s["layer_fractions"].as_array().unwrap();
        let b = coupled["species"][name]["layer_fractions"]
            .as_array()
            .unwrap();
        for (x, y) in a.iter().zip(b) {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() < 0.01, "{name}: split {a:?} coupled {b:?}");
        }
    }
}

/// The second-order (MUSCL) settling flux of the implicit tube (`grid.settling_flux =
/// "muscl_van_leer"`, opt-in, docs/physics.md §9.2) with the pore-size closure, without
/// aggregation: the white band rides the red cells' top separated from the bed instead of
/// smeared into it, and most lymphocytes, monocytes and platelets end outside the red layer
/// (150 cells: 70 / 84 / 84 %; 300: 74 / 99 / 84 %; 400: 86 / 98 / 84 %; 800: 71 / 100 / 84 %),
/// volume conserved to round-off; with aggregation the preset keeps its buffy coat (150
/// cells: 75 / 75 / 99 %, as first order).
#[test]
fn muscl_flux_with_the_pore_closure_frees_most_white_cells_without_aggregation() {
    let dir = tempfile::tempdir().unwrap();
    let single = single_cells(dir.path());
    let set = [
        "consolidation.network=pore_size",
        "grid.settling_flux=muscl_van_leer",
    ];
    let json = summary_on_150_cells(&single, &set);
    assert!(json["layers"]["max_volume_drift"].as_f64().unwrap() < 1e-12);
    let v = out_of_red_layer(&single, &set);
    for s in ["lymphocyte", "monocyte", "platelet"] {
        assert!(frac(&v, s) > 0.5, "{s}: {v}");
    }
    let aggregated = out_of_red_layer(&preset(), &["grid.settling_flux=muscl_van_leer"]);
    for s in ["lymphocyte", "monocyte", "platelet"] {
        assert!(frac(&aggregated, s) > 0.5, "{s}: {aggregated}");
    }
}
