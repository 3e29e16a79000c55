//! The engine from Rust, without any scenario file: what a front end such as the Python
//! bindings does. Set-ups are built in code, run, and their outcomes read.

use buffycoat_engine::summary::ModelOutcome;
use buffycoat_engine::{
    HinderedSettings, HinderedSetup, ParticleSetup, Provenance, RunOptions, RunSpecies, Sample,
    Setup, Timeline, run,
};
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::forces::ForceSet;
use buffycoat_physics::hindrance::HindranceLaw;
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_physics::species::{CellRoles, Distribution, SizeDistribution, Species};
use buffycoat_sediment::{Geometry, ParticleModel, Tolerances, Tube};

fn species(name: &str, density: f64, diameter: f64) -> Species {
    Species {
        name: name.into(),
        display_name: name.into(),
        density: Distribution::Fixed(density),
        size: SizeDistribution::Diameter(Distribution::Fixed(diameter)),
        shape_factor: 1.0,
        normal_per_ul: None,
        source: "test".into(),
    }
}

fn tube() -> Geometry {
    Geometry::Tube(Tube::new(0.10, 0.16, 0.006).unwrap())
}

fn particle_setup(count: usize) -> Setup {
    Setup::Particles(ParticleSetup {
        sample: Sample {
            species: vec![RunSpecies {
                species: species("probe", 1082.0, 9.63e-6),
                count,
                per_ul: None,
                volume_fraction: None,
            }],
            fluid: Fluid::plasma_room_temperature(),
            seed: 7,
            roles: CellRoles::standard(),
        },
        timeline: Timeline {
            duration: 2.0,
            output_interval: 0.5,
        },
        dt: None,
        rotor: RotorProfile::constant_rpm(2400.0).unwrap(),
        geometry: tube(),
        forces: ForceSet::default(),
        model: ParticleModel::Overdamped,
        tolerances: Tolerances::default(),
        particle_every: 1,
        velocities: false,
    })
}

#[test]
fn particles_run_from_rust_without_a_scenario_file() {
    let setup = particle_setup(200);
    let outcome = run(
        &setup,
        &Provenance::from_code("api test"),
        &RunOptions::default(),
    )
    .unwrap();
    assert_eq!(outcome.seed, 7);
    assert!(outcome.output.is_none());
    let ModelOutcome::Particles(p) = &outcome.model else {
        panic!("a particle set-up gives a particle outcome: {outcome:?}");
    };
    assert_eq!(p.model, "overdamped");
    assert_eq!(p.duration_s, 2.0);
    let probe = p.species.get("probe").unwrap();
    assert_eq!(probe.count, 200);
    // Cells move outward: the mean radius is beyond the initial uniform mean (0.13 m).
    assert!(probe.mean_radius_m > 0.13, "{}", probe.mean_radius_m);
    // Same set-up, same result (bitwise), and the text names the set-up's label.
    let again = run(
        &setup,
        &Provenance::from_code("api test"),
        &RunOptions::default(),
    )
    .unwrap();
    let ModelOutcome::Particles(q) = &again.model else {
        unreachable!()
    };
    assert_eq!(
        q.species.get("probe").unwrap().mean_radius_m.to_bits(),
        probe.mean_radius_m.to_bits()
    );
    assert!(
        outcome
            .to_text()
            .starts_with("api test (overdamped model, tube)")
    );
}

#[test]
fn outputs_are_written_where_asked() {
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        output: Some(dir.path().join("api.h5")),
        summary: Some(dir.path().join("api.json")),
        ..RunOptions::default()
    };
    let outcome = run(&particle_setup(50), &Provenance::from_code("api"), &opts).unwrap();
    assert_eq!(outcome.output.as_deref(), opts.output.as_deref());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("api.json")).unwrap())
            .unwrap();
    assert_eq!(json["species"]["probe"]["count"], 50);
    assert_eq!(json["scenario"], "api");
    let reader = buffycoat_h5::Reader::open(&dir.path().join("api.h5")).unwrap();
    let (_, shape) = reader
        .read_f64(&format!(
            "{}/value",
            buffycoat_h5::schema::PARTICLES_CELLS_POSITION
        ))
        .unwrap();
    assert_eq!(shape, vec![5, 50, 3]);
}

#[test]
fn hindered_field_runs_from_rust() {
    let red = RunSpecies {
        species: species("rbc", 1100.0, 5.5e-6),
        count: 100,
        per_ul: None,
        volume_fraction: Some(0.4),
    };
    let white = RunSpecies {
        species: species("lymphocyte", 1070.0, 7.5e-6),
        count: 50,
        per_ul: None,
        volume_fraction: Some(0.01),
    };
    let setup = Setup::Hindered(HinderedSetup {
        sample: Sample {
            species: vec![red, white],
            fluid: Fluid::plasma_room_temperature(),
            seed: 3,
            roles: CellRoles::standard(),
        },
        timeline: Timeline {
            duration: 5.0,
            output_interval: 1.0,
        },
        rotor: RotorProfile::constant_rpm(3000.0).unwrap(),
        geometry: tube(),
        gravity: None,
        field: HinderedSettings {
            law: HindranceLaw::richardson_zaki(4.65, 0.9).unwrap(),
            radial_cells: 100,
            classes_per_species: 1,
            cfl: 0.5,
            inactive_fraction: 1e-6,
            plasma_threshold: 0.01,
            red_cell_threshold: 0.5,
            red_cell_aggregate_cells: 1.0,
            esr: None,
            scheme: buffycoat_field::Scheme::Explicit,
            time_tolerance: 2e-3,
            max_dt: 10.0,
            minor_classes: buffycoat_field::MinorClasses::Coupled,
            settling_flux: None,
            consolidation: None,
        },
        particle_every: 1,
    });
    let outcome = run(
        &setup,
        &Provenance::from_code("field"),
        &RunOptions::default(),
    )
    .unwrap();
    let ModelOutcome::Hindered(h) = &outcome.model else {
        panic!("{outcome:?}")
    };
    assert_eq!(h.species.get("rbc").unwrap().count, 100);
    assert!(
        h.layers.max_volume_drift < 1e-9,
        "{}",
        h.layers.max_volume_drift
    );
    let text = outcome.to_text();
    assert!(!text.contains("NaN"), "{text}");
    assert!(
        text.contains("Richardson–Zaki (n = 4.65, φmax = 0.9)"),
        "{text}"
    );
}

#[test]
fn a_cancelled_run_stops_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let flag = buffycoat_engine::CancelFlag::new();
    flag.cancel();
    let opts = RunOptions {
        output: Some(dir.path().join("c.h5")),
        summary: Some(dir.path().join("c.json")),
        cancel: Some(flag.clone()),
        ..RunOptions::default()
    };
    let err = run(&particle_setup(50), &Provenance::from_code("api"), &opts).unwrap_err();
    assert!(
        matches!(err, buffycoat_engine::RunError::Interrupted { .. }),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // The same options without the flag set run to completion.
    let opts = RunOptions {
        cancel: Some(buffycoat_engine::CancelFlag::new()),
        ..opts
    };
    run(&particle_setup(50), &Provenance::from_code("api"), &opts).unwrap();
    assert!(dir.path().join("c.h5").exists());
}
