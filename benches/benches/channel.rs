//! One steady-state solve of the leukapheresis channel preset's physics (implicit march, 8 blood
//! classes, laminar flow, Hawksley–Vand) at the default 100 radial × 200 along-channel cells, one
//! thread. Target (issue 4): ≤ 50 ms per solve. Throughput in cell-class updates
//! (radial × along × classes) per second; the time per iteration is the time per solve.
//! `preset_100x200_1thread_shear_diffusion`: the same with the shear-induced diffusion term
//! (Phillips K = 0.41, laminar shear rates; docs/physics.md §10.2).
//! `preset_100x200_1thread_refined`: the preset's radial refinement at the buffy coat
//! (`grid.refine_interface = 0.015`: two locating marches and the final one; §10.8).
//! `preset_100x200_1thread_viscous_refined`: the steady solve exactly as the CLI runs the preset
//! `data/scenarios/leukapheresis_channel.toml` (composition-dependent `viscous` flow, §10.9, and
//! the radial refinement) with 8 classes and a fixed plasma pump (kept for its history).
//! `preset_as_shipped_1thread`: the issue-12 "one steady solve of the preset" measurement —
//! `data/scenarios/leukapheresis_channel.toml` read by the CLI's input layer and built by the
//! engine's `build_channel` (10 classes, viscous flow, refinement), solved and its plasma pump
//! set by the preset's collect-hematocrit control: exactly the CLI's steady solve, without
//! tracers and output.

use buffycoat::input::library;
use buffycoat_benches::timing;
use buffycoat_channel::{
    Channel, ChannelConfig, ChannelFlows, ChannelGeometry, FlowProfile, ShearDiffusion,
};
use buffycoat_engine::Setup;
use buffycoat_engine::channel_run::build_channel;
use buffycoat_field::{Class, HindranceLaw};
use buffycoat_physics::fluid::Fluid;
use buffycoat_stepper::Parallel;
use criterion::{Criterion, Throughput};
use std::path::Path;

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

/// The `channel_steady` group: 20 samples over 4 s, throughput in cell-class updates
/// (`updates` = radial × along × classes per solve).
fn steady_group(
    c: &mut Criterion,
    updates: usize,
) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group("channel_steady");
    group
        .sample_size(20)
        .warm_up_time(timing::seconds(1.0))
        .measurement_time(timing::seconds(4.0))
        .throughput(Throughput::Elements(updates as u64));
    group
}

fn steady(c: &mut Criterion) {
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
    let config = ChannelConfig::new(
        geometry,
        flows,
        FlowProfile::Laminar,
        2400.0,
        Fluid::plasma_37c(),
        law,
    );
    let (radial, along) = (config.radial_cells, config.along_cells);
    let mut diffusive = config.clone();
    diffusive.shear_diffusion = Some(ShearDiffusion::PHILLIPS_1992);
    let mut refined = config.clone();
    refined.refine_interface = Some(0.015);
    let mut viscous_refined = refined.clone();
    viscous_refined.profile = FlowProfile::Viscous;
    let channel_refined = Channel::new(refined, blood_classes()).expect("channel");
    let channel_viscous_refined = Channel::new(viscous_refined, blood_classes()).expect("channel");
    let channel = Channel::new(config, blood_classes()).expect("channel");
    let channel_diffusive = Channel::new(diffusive, blood_classes()).expect("channel");
    let par = Parallel::serial();
    let mut group = steady_group(c, radial * along * 8);
    group.bench_function("preset_100x200_1thread", |b| {
        b.iter(|| channel.solve_steady(&par).expect("steady"))
    });
    group.bench_function("preset_100x200_1thread_shear_diffusion", |b| {
        b.iter(|| channel_diffusive.solve_steady(&par).expect("steady"))
    });
    group.bench_function("preset_100x200_1thread_refined", |b| {
        b.iter(|| channel_refined.solve_steady(&par).expect("steady"))
    });
    group.bench_function("preset_100x200_1thread_viscous_refined", |b| {
        b.iter(|| channel_viscous_refined.solve_steady(&par).expect("steady"))
    });
    group.finish();
}

fn preset_as_shipped(c: &mut Criterion) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/scenarios/leukapheresis_channel.toml");
    let library = library::default_library().expect("library");
    let loaded = buffycoat::input::load(&path, &[], &library).expect("preset");
    let Setup::Channel(setup) = loaded.setup() else {
        panic!("{} is not a channel scenario", path.display())
    };
    let (channel, control) = build_channel(&setup, &path).expect("channel");
    let names = setup.sample.names();
    let (radial, along) = (channel.config().radial_cells, channel.config().along_cells);
    let classes = channel.classes().len();
    let par = Parallel::serial();
    let mut group = steady_group(c, radial * along * classes);
    group.bench_function("preset_as_shipped_1thread", |b| {
        b.iter(|| {
            channel
                .solve_steady(&par)
                .expect("steady")
                .with_plasma_control(
                    &control,
                    &names,
                    &setup.sample.roles,
                    setup.channel.flows.collect,
                )
                .expect("control")
        })
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    steady(&mut criterion);
    preset_as_shipped(&mut criterion);
    criterion.final_summary();
}
