//! Probe workloads for the instruction-count gate (`benches/perf_gate.py`).
//!
//! Each workload is fixed (sizes, seeds, steps), runs on one thread and prints a checksum of its
//! result so the work cannot be optimised away and a wrong result is visible. Instruction counts
//! under `valgrind --tool=cachegrind --cache-sim=no` are then repeatable for a given binary,
//! toolchain and machine, unlike wall-clock time on shared CI runners.
//!
//! ```text
//! perf-probe list                  # the workload names
//! perf-probe overdamped_push       # run one
//! ```

use buffycoat_channel::{Channel, ChannelConfig, ChannelFlows, ChannelGeometry, FlowProfile};
use buffycoat_field::{
    Class, FieldConfig, FieldGeometry, HinderedField, HindranceLaw, MinorClasses, Scheme, Tracers,
};
use buffycoat_physics::blood::BloodComposition;
use buffycoat_physics::consolidation::Consolidation;
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::forces::ForceSet;
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_sediment::validation::{
    PLASMA_DENSITY, PLASMA_VISCOSITY, contract_tube, plasma_config,
};
use buffycoat_sediment::{CellSpec, Cells, ParticleModel, Sedimentation};
use buffycoat_stepper::{Parallel, Propagate};

/// A polydisperse population from a fixed recipe (no RNG: identical on every platform).
fn population(n: usize) -> Vec<CellSpec> {
    (0..n)
        .map(|i| {
            let u = (i as f64 * 0.618_033_988_749_894_9).fract();
            let v = (i as f64 * 0.414_213_562_373_095).fract();
            CellSpec {
                species: (i % 4) as u16,
                diameter: 5e-6 + 5e-6 * u,
                density: 1060.0 + 40.0 * v,
                shape_factor: 1.0,
            }
        })
        .collect()
}

fn particles(model: ParticleModel, n: usize, dt: Option<f64>) -> (Sedimentation, Parallel) {
    let par = Parallel::serial();
    let rotor = RotorProfile::trapezoid(2400.0, 0.005, 1e6, 0.0).expect("rotor");
    let cfg = plasma_config(contract_tube(), rotor, ForceSet::default(), model, dt);
    let cells = Cells::place(
        &population(n),
        &cfg.geometry,
        PLASMA_DENSITY,
        PLASMA_VISCOSITY,
        7,
    )
    .expect("cells");
    (Sedimentation::new(cfg, cells, &par).expect("system"), par)
}

fn checksum(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(0.0, |a, v| a + v)
}

/// Overdamped push: 20 000 cells, a 5 ms ramp (5 steps on the general path) then 400 steps on
/// the cached constant-ω path (the kernel that dominates real runs).
fn overdamped_push() -> f64 {
    let (mut sys, par) = particles(ParticleModel::Overdamped, 20_000, Some(1e-3));
    sys.advance(0.0, 0.005, &par).expect("ramp");
    sys.advance(0.005, 0.405, &par).expect("plateau");
    checksum(sys.cells().x.iter().copied())
}

/// Inertial push: 2 000 cells, adaptive ETD2 steps over 0.2 s including the 5 ms ramp.
fn inertial_push() -> f64 {
    let (mut sys, par) = particles(ParticleModel::Inertial, 2_000, None);
    sys.advance(0.0, 0.2, &par).expect("inertial");
    checksum(sys.cells().x.iter().copied())
}

/// Checksum of a field's volume fractions (weighted by their index: a moved class shows).
fn field_checksum(field: &HinderedField) -> f64 {
    let mut phi = vec![0.0; field.radial_cells() * field.classes().len()];
    field.copy_volume_fractions(&mut phi);
    checksum(phi.iter().enumerate().map(|(i, p)| p * i as f64))
}

fn blood_classes() -> Vec<Class> {
    vec![
        Class::new("rbc", 5.3e-6, 1091.0, 1.09, 0.1125),
        Class::new("rbc", 5.7e-6, 1093.0, 1.09, 0.1125),
        Class::new("rbc", 5.3e-6, 1097.0, 1.09, 0.1125),
        Class::new("rbc", 5.7e-6, 1099.0, 1.09, 0.1125),
        Class::new("platelet", 2.4e-6, 1070.0, 1.04, 0.0019),
        Class::new("lymphocyte", 7.8e-6, 1075.0, 1.0, 0.0006),
        Class::new("monocyte", 10.0e-6, 1072.0, 1.0, 0.0002),
        Class::new("neutrophil", 9.6e-6, 1085.0, 1.0, 0.0017),
    ]
}

/// The field's flux-and-update kernel: whole blood (8 classes) in a tube, 400 radial cells,
/// 20 s at 3000 rpm (a few hundred SSP-RK2 steps).
fn field_step() -> f64 {
    let par = Parallel::serial();
    let rotor = RotorProfile::constant_rpm(3000.0).expect("rotor");
    let law = HindranceLaw::richardson_zaki(4.65, 0.9).expect("law");
    let cfg = FieldConfig::new(
        FieldGeometry::Tube,
        0.10,
        0.16,
        400,
        rotor,
        Fluid::plasma_37c(),
        law,
    );
    let mut field = HinderedField::new(cfg, blood_classes(), Tracers::none()).expect("field");
    field.advance(0.0, 20.0, &par).expect("field");
    field_checksum(&field)
}

/// The implicit field with consolidation, close to how `whole_blood_tube.toml` runs: whole
/// blood after ACD-A (8 classes; two red-cell classes settling as aggregates of 269 cells, the
/// preset's ESR 10 mm/h) in a 60 mm tube at 200 radial cells, 3000 rpm with a 20 s ramp, a
/// 20 s brake and gravity, the calibrated irreversible red-cell bed, 0–600 s: settling, bed
/// formation, compaction and the brake's unloading — the backward-Euler Newton solves of
/// `buffycoat_field::column` (8 × 8 blocks: with consolidation every class is coupled),
/// including the held stress branches at the preconsolidation kink (≈ 300 solves, 2 100
/// Newton iterations, 900 factorisations).
fn tube_implicit() -> f64 {
    tube_implicit_with(MinorClasses::Coupled)
}

/// [`tube_implicit`] with the white cells and platelets split off the Newton solve
/// (`grid.minor_classes = "split"`, as `whole_blood_tube.toml` runs since session 11): the
/// multirate sub-steps and the promotion of blocking minor classes (2 × 2 blocks until then).
fn tube_implicit_split() -> f64 {
    tube_implicit_with(MinorClasses::Split)
}

/// The consolidating tube of [`tube_implicit`] with `minor` classes.
fn tube_implicit_with(minor: MinorClasses) -> f64 {
    let par = Parallel::serial();
    let rotor = RotorProfile::trapezoid(3000.0, 20.0, 580.0, 20.0).expect("rotor");
    let law = HindranceLaw::richardson_zaki(4.65, 0.99).expect("law");
    let mut cfg = FieldConfig::new(
        FieldGeometry::Tube,
        0.10,
        0.16,
        200,
        rotor,
        Fluid::plasma_37c(),
        law,
    );
    cfg.gravity = Some(9.81);
    cfg.numerics.scheme = Scheme::Implicit;
    cfg.numerics.implicit.minor_classes = minor;
    cfg.consolidation = Some(Consolidation::red_cells());
    // the preset's blood after ACD-A (inlet:AC 12): two red-cell classes settling as
    // aggregates (269 cells: the preset's `red_cell_aggregate_cells`, 268.6, fixed here so the
    // workload does not move with the ESR closure), the white cells and platelets single
    let dilution = BloodComposition {
        ac_ratio: Some(12.0),
        ..BloodComposition::normal_adult()
    }
    .dilution_factor();
    let mut classes = vec![
        Class::new("rbc", 5.3e-6, 1093.0, 1.09, 0.225 * dilution),
        Class::new("rbc", 5.7e-6, 1097.0, 1.09, 0.225 * dilution),
    ];
    for class in &mut classes {
        class.aggregate_cells = 269.0;
    }
    classes.extend(
        blood_classes()
            .into_iter()
            .filter(|c| c.species != "rbc")
            .map(|mut c| {
                c.volume_fraction *= dilution;
                c
            }),
    );
    let mut field = HinderedField::new(cfg, classes, Tracers::none()).expect("field");
    field.advance(0.0, 600.0, &par).expect("field");
    field_checksum(&field)
}

/// The channel's steady state (implicit march): the leukapheresis preset's channel and flows at
/// 60 radial × 100 along-channel cells with the 8 blood classes.
fn channel_steady() -> f64 {
    let geometry = ChannelGeometry {
        r_inner: 0.100,
        r_outer: 0.102,
        height: 0.080,
        length: 0.625,
    };
    let flows = ChannelFlows {
        blood_inlet: 50e-6 / 60.0,
        ac_ratio: 12.0,
        plasma: 26.5e-6 / 60.0,
        collect: 1e-6 / 60.0,
    };
    let law = HindranceLaw::hawksley_vand(0.95).expect("law");
    let mut config = ChannelConfig::new(
        geometry,
        flows,
        FlowProfile::Laminar,
        2400.0,
        Fluid::plasma_37c(),
        law,
    );
    config.radial_cells = 60;
    config.along_cells = 100;
    let channel = Channel::new(config, blood_classes()).expect("channel");
    let solution = channel.solve_steady(&Parallel::serial()).expect("steady");
    checksum(solution.class_port_fractions().iter().map(|f| f[1]))
}

/// A named probe workload returning a checksum of its result.
type Workload = (&'static str, fn() -> f64);

const WORKLOADS: [Workload; 6] = [
    ("overdamped_push", overdamped_push),
    ("inertial_push", inertial_push),
    ("field_step", field_step),
    ("tube_implicit", tube_implicit),
    ("tube_implicit_split", tube_implicit_split),
    ("channel_steady", channel_steady),
];

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    if name == "list" {
        for (n, _) in WORKLOADS {
            println!("{n}");
        }
        return;
    }
    match WORKLOADS.iter().find(|(n, _)| *n == name) {
        Some((n, f)) => println!("{n} checksum {:.17e}", f()),
        None => {
            let names: Vec<&str> = WORKLOADS.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "usage: perf-probe list | perf-probe <workload>; workloads: {}",
                names.join(", ")
            );
            std::process::exit(2);
        }
    }
}
