//! Layer formation: a light species ends above the packed bed (the buffy coat forms), tracers
//! find their layers, the whole-blood tube separates.

mod common;

use buffycoat_field::{
    Class, HinderedField, Layer, LayerRoles, PELLETED, TracerCell, Tracers,
    classes_from_distribution,
};
use buffycoat_physics::species::{Distribution, SizeDistribution, Species};
use buffycoat_physics::units::per_m3_to_per_ul;
use buffycoat_stepper::{Parallel, Propagate};
use common::*;

fn tracer(species: u16, d: f64, rho: f64, r: f64) -> TracerCell {
    TracerCell {
        aggregate_cells: 1.0,
        species,
        diameter: d,
        density: rho,
        shape_factor: 1.0,
        radial: r,
        y: 0.001,
        z: -0.002,
    }
}

/// Bidisperse: a light species (ρ = 1065 kg/m³, lighter than a packed red-cell bed,
/// ρ_s ≈ 1088 kg/m³) mixed into a dense one ends above the packed bed: the buffy coat forms.
///
/// Closure: Richardson–Zaki with n = 2.7 so that the bed packs within the run (with n = 4.65
/// the dense region compacts as a slow rarefaction and most light cells are still inside it
/// after 10 min). Light cells caught in cells that reach φ_max stay there (V = 0): about a
/// quarter here, so the test asks for a clear majority above the red-cell layer, not all.
#[test]
fn light_species_ends_above_the_packed_bed() {
    let par = Parallel::new(Some(2), 2048).unwrap();
    let classes = vec![
        Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.40),
        Class::new("light", 8.0e-6, 1065.0, 1.0, 0.01),
    ];
    let tracers = Tracers::from_cells(&[
        tracer(1, 8e-6, 1065.0, 0.12),   // light: buffy coat
        tracer(0, 5.5e-6, 1095.0, 0.11), // red cell: red layer
        tracer(2, 15e-6, 1300.0, 0.12),  // very dense: pellets
        tracer(1, 8e-6, 1065.0, 0.10),   // at the meniscus
    ]);
    let mut config = blood_tube(300, 3000.0);
    config.hindrance = buffycoat_field::HindranceLaw::richardson_zaki(2.7, 0.9).unwrap();
    let mut field = HinderedField::new(config, classes, tracers).unwrap();
    field.advance(0.0, 600.0, &par).unwrap();
    let roles = LayerRoles {
        red_cell_classes: vec![0],
        platelet_classes: vec![],
    };
    let report = field.layers(&roles);
    println!("{report:#?}");
    // Interfaces ordered, buffy coat not empty.
    assert!(report.plasma_buffy_radius < report.buffy_red_radius);
    assert!(report.buffy_red_radius < 0.16);
    // Most of the light species above the red-cell layer, concentrated in the thin buffy coat
    // (enriched > 20× over its initial fraction), none left in the plasma.
    let light = report.class_fractions[1];
    assert!(
        light[1] > 0.7,
        "light species mostly in the buffy coat: {light:?}"
    );
    assert!(light[0] < 1e-6, "{light:?}");
    let buffy_fraction = report.layer_measure[1] / field.total_measure();
    assert!(
        light[1] / buffy_fraction > 20.0,
        "enrichment {}",
        light[1] / buffy_fraction
    );
    // The red cells pack: layer hematocrit near φ_max, plasma free of red cells.
    assert!(
        report.red_layer_hematocrit > 0.8,
        "{}",
        report.red_layer_hematocrit
    );
    assert!(report.class_fractions[0][2] > 0.99);
    assert!(report.plasma_volume_fraction[0] < 1e-6);
    // Fractions of every class sum to 1.
    for f in &report.class_fractions {
        assert!((f.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    // Tracers.
    let layers = field.tracer_layers(&report);
    println!("tracers {:?} at {:?}", layers, field.tracers().radial);
    assert_eq!(layers[0], Layer::BuffyCoat);
    assert_eq!(layers[1], Layer::RedCells);
    assert_eq!(field.tracers().status[2], PELLETED);
    assert_eq!(field.tracers().radial[2], 0.16);
    assert_eq!(layers[3], Layer::BuffyCoat);
    assert_eq!(field.tracers().y[0], 0.001);
}

fn species(name: &str, rho: f64, rho_sd: f64, v_fl: f64, v_sd: f64, chi: f64) -> Species {
    Species {
        name: name.into(),
        display_name: name.into(),
        density: Distribution::Normal {
            mean: rho,
            sd: rho_sd,
        },
        size: SizeDistribution::Volume(Distribution::LogNormal {
            mean: v_fl * 1e-18,
            sd: v_sd * 1e-18,
        }),
        shape_factor: chi,
        normal_per_ul: None,
        source: "test (data/species.toml)".into(),
    }
}

/// Whole blood (hematocrit 0.45, 4 red-cell classes, platelets, lymphocytes, monocytes,
/// neutrophils from species distributions) in a swing-out tube at 3000 rpm for 10 min: the
/// red-cell layer packs towards φ_max, the plasma is essentially free of red cells (< 10⁻⁵ of
/// the initial count) and the mononuclear cells are strongly enriched in the buffy coat.
///
/// Closure: Richardson–Zaki n = 2.7, φ_max = 0.9 (see the bidisperse test); with n = 4.65 the
/// bed does not pack in 10 min (red-layer mean φ 0.73) and no buffy coat forms.
#[test]
fn whole_blood_tube_separates_into_three_layers() {
    let par = Parallel::new(Some(2), 2048).unwrap();
    let per_ul = |n: f64, v_fl: f64| n * 1e9 * v_fl * 1e-18;
    let mut classes =
        classes_from_distribution(&species("rbc", 1095.0, 4.0, 87.0, 11.3, 1.09), 0.45, 4).unwrap();
    classes.extend(
        classes_from_distribution(
            &species("platelet", 1070.0, 6.0, 7.5, 3.75, 1.04),
            per_ul(250e3, 7.5),
            1,
        )
        .unwrap(),
    );
    classes.extend(
        classes_from_distribution(
            &species("lymphocyte", 1075.0, 4.0, 247.0, 37.0, 1.0),
            per_ul(2500.0, 247.0),
            1,
        )
        .unwrap(),
    );
    classes.extend(
        classes_from_distribution(
            &species("monocyte", 1072.0, 4.0, 534.0, 80.0, 1.0),
            per_ul(430.0, 534.0),
            1,
        )
        .unwrap(),
    );
    classes.extend(
        classes_from_distribution(
            &species("neutrophil", 1085.0, 4.0, 468.0, 70.0, 1.0),
            per_ul(3650.0, 468.0),
            1,
        )
        .unwrap(),
    );
    assert_eq!(classes.len(), 8);
    let roles = LayerRoles::by_species(&classes, "rbc", "platelet");
    let mut config = blood_tube(400, 3000.0);
    config.hindrance = buffycoat_field::HindranceLaw::richardson_zaki(2.7, 0.9).unwrap();
    let mut field = HinderedField::new(config, classes, Tracers::none()).unwrap();
    let start = std::time::Instant::now();
    field.advance(0.0, 600.0, &par).unwrap();
    println!(
        "400 cells, 600 s: {:?}, {:?}",
        start.elapsed(),
        field.stats()
    );
    let report = field.layers(&roles);
    let species = report.species_fractions(field.classes());
    println!("{report:#?}\n{species:?}");
    assert!(
        report.red_layer_hematocrit > 0.85,
        "{}",
        report.red_layer_hematocrit
    );
    let rbc_in_plasma: f64 = roles
        .red_cell_classes
        .iter()
        .map(|&i| report.plasma_number_concentration[i])
        .sum();
    println!(
        "red cells in plasma: {:.3e} /µL",
        per_m3_to_per_ul(rbc_in_plasma)
    );
    assert!(per_m3_to_per_ul(rbc_in_plasma) < 1e-5 * 0.45 / 87e-18 * 1e-9);
    let fraction = |name: &str| species.iter().find(|(s, _)| s == name).unwrap().1;
    let buffy_share = report.layer_measure[1] / field.total_measure();
    for name in ["lymphocyte", "monocyte"] {
        let f = fraction(name);
        println!(
            "{name}: enrichment in the buffy coat {:.0}×",
            f[1] / buffy_share
        );
        assert!(f[1] / buffy_share > 10.0, "{name}: {f:?}");
        assert!(f[0] < 1e-3, "{name} in plasma: {f:?}");
    }
    assert!(report.plasma_buffy_radius < report.buffy_red_radius);
    assert!(field.max_volume_drift() < 1e-12);
}
