//! Bitwise reproducibility across thread counts and reruns, and cell-count conservation.

mod common;

use buffycoat_physics::forces::{DragLaw, ForceSet};
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_physics::units::STANDARD_GRAVITY;
use buffycoat_sediment::geometry::status;
use buffycoat_sediment::{CellSpec, Cells, Geometry, ParticleModel, Sedimentation};
use buffycoat_stepper::{Executor, Parallel, Schedule};
use common::*;

/// A polydisperse population (diameters 3–12 µm, densities 1010–1110 kg/m³, so some cells
/// float) from a simple deterministic recipe.
fn population(n: usize) -> Vec<CellSpec> {
    (0..n)
        .map(|i| {
            let u = (i as f64 * 0.618_033_988_749_894_9).fract();
            let v = (i as f64 * 0.414_213_562_373_095).fract();
            CellSpec {
                species: (i % 3) as u16,
                diameter: 3e-6 + 9e-6 * u,
                density: 1010.0 + 100.0 * v,
                shape_factor: 1.0 + 0.2 * v,
            }
        })
        .collect()
}

/// Rotor and run length: (ramp, plateau, brake, duration, output interval) in s.
type Spin = (f64, f64, f64, f64, f64);

/// 3000 rpm for 20 s between a 3 s ramp and a 4 s brake: long enough to pellet most dense
/// cells.
const LONG_SPIN: Spin = (3.0, 20.0, 4.0, 26.0, 4.0);

/// The same phases, shortened (1 s ramp, 4 s plateau, 1 s brake, stopped at 5.5 s inside the
/// brake): every code path of the long spin (ramp, cached plateau, brake, wall contacts,
/// pelleting, floating) at a fifth of the cost, for the 24 runs of the thread-count test.
const SHORT_SPIN: Spin = (1.0, 4.0, 1.0, 5.5, 1.1);

fn run(
    model: ParticleModel,
    geometry: Geometry,
    drag: DragLaw,
    threads: usize,
    spin: Spin,
) -> (u64, Cells) {
    let (ramp, plateau, brake, duration, interval) = spin;
    let par = Parallel::new(Some(threads), 256).unwrap();
    let forces = ForceSet {
        coriolis: true,
        euler: true,
        gravity: Some(STANDARD_GRAVITY),
        drag,
    };
    // Ramp, plateau and brake: exercises the cached and the general paths.
    let rotor = RotorProfile::trapezoid(3000.0, ramp, plateau, brake).unwrap();
    let mut cfg = config(geometry, rotor, forces, model, None);
    cfg.fluid_density = RHO_F;
    let cells = Cells::place(&population(1001), &cfg.geometry, RHO_F, MU, 42).unwrap();
    let mut sys = Sedimentation::new(cfg, cells, &par).unwrap();
    Executor::<Sedimentation, buffycoat_sediment::SedimentError>::new(
        Schedule::new(duration, interval).unwrap(),
    )
    .run(&mut sys, &par)
    .unwrap();
    (sys.cells().state_hash(), sys.cells().clone())
}

#[test]
fn results_are_bitwise_identical_for_1_2_3_threads_and_reruns() {
    for (model, drag) in [
        (ParticleModel::Overdamped, DragLaw::Stokes),
        (ParticleModel::Overdamped, DragLaw::SchillerNaumann),
        (ParticleModel::Inertial, DragLaw::Stokes),
    ] {
        let mut seen = 0u8;
        for geometry in [contract_tube(), wide_sector()] {
            let runs: Vec<(u64, Cells)> = [1, 2, 3, 2]
                .iter()
                .map(|&t| run(model, geometry, drag, t, SHORT_SPIN))
                .collect();
            // The short spin must still reach the event paths whose bookkeeping the thread
            // count could disturb (checked over both geometries below).
            seen |= runs[0].1.status.iter().fold(0, |acc, &s| acc | s);
            let hashes: Vec<u64> = runs.iter().map(|r| r.0).collect();
            assert!(
                hashes.windows(2).all(|w| w[0] == w[1]),
                "{model:?} {drag:?} {geometry:?}: {hashes:x?}"
            );
        }
        for flag in [status::PELLETED, status::FLOATED, status::ON_WALL] {
            assert!(
                seen & flag != 0,
                "{model:?} {drag:?}: no cell with status {flag:#x}"
            );
        }
    }
}

/// Every cell is accounted for: free + on a wall + pelleted + floated = N, all positions finite
/// and inside the container, and the long run pellets the dense cells and floats the light ones.
#[test]
fn pelleting_conserves_the_cell_count() {
    for model in [ParticleModel::Overdamped, ParticleModel::Inertial] {
        let geometry = contract_tube();
        let (_, cells) = run(model, geometry, DragLaw::Stokes, 2, LONG_SPIN);
        let n = cells.len();
        let mut counts = [0usize; 4];
        for i in 0..n {
            let st = cells.status[i];
            let class = if st & status::PELLETED != 0 {
                0
            } else if st & status::FLOATED != 0 {
                1
            } else if st & status::ON_WALL != 0 {
                2
            } else {
                3
            };
            counts[class] += 1;
            let p = cells.position(i);
            assert!(p.iter().all(|c| c.is_finite()));
            let a = 0.5 * cells.diameter[i];
            assert!(
                p[0] >= 0.10 + a - 1e-15 && p[0] <= 0.16 - a + 1e-15,
                "{p:?}"
            );
            assert!(p[1].hypot(p[2]) <= 0.006 - a + 1e-15);
        }
        assert_eq!(counts.iter().sum::<usize>(), n);
        // Only cells lighter than plasma float, only denser ones pellet; most dense cells pellet.
        for i in 0..n {
            if cells.status[i] & status::FLOATED != 0 {
                assert!(cells.density[i] < RHO_F);
            }
            if cells.status[i] & status::PELLETED != 0 {
                assert!(cells.density[i] > RHO_F);
            }
        }
        assert!(counts[1] > 0 && counts[0] > n / 4, "{model:?}: {counts:?}");
    }
}

fn species(name: &str, rho: f64, d: f64, chi: f64) -> buffycoat_physics::species::Species {
    use buffycoat_physics::species::{Distribution, SizeDistribution, Species};
    Species {
        name: name.into(),
        display_name: name.into(),
        density: Distribution::Normal { mean: rho, sd: 5.0 },
        size: SizeDistribution::Diameter(Distribution::LogNormal {
            mean: d,
            sd: 0.15 * d,
        }),
        shape_factor: chi,
        normal_per_ul: None,
        source: "test".into(),
    }
}

/// Parallel set-up (`Cells::sample`) gives bitwise the cells of the serial recipe (sample each
/// species, then `Cells::place`), for 1, 2 and 3 threads and several chunk lengths, with an
/// empty species and species boundaries inside chunks.
#[test]
fn parallel_sampling_matches_the_serial_recipe_for_any_thread_count() {
    use buffycoat_physics::population::sample_species;
    use buffycoat_sediment::SpeciesDraw;
    let kinds = [
        species("a", 1095.0, 5.6e-6, 1.4),
        species("empty", 1070.0, 9e-6, 1.0),
        species("b", 1070.0, 9e-6, 1.0),
        species("c", 1060.0, 7e-6, 1.1),
    ];
    let counts = [1000, 0, 777, 1301];
    for geometry in [contract_tube(), wide_sector()] {
        let mut specs = Vec::new();
        let mut samples = Vec::new();
        for (k, (sp, &n)) in kinds.iter().zip(&counts).enumerate() {
            sample_species(sp, n, 99, k as u64 + 1, &mut samples);
            specs.extend(samples.iter().map(|c| CellSpec {
                species: k as u16,
                diameter: c.diameter,
                density: c.density,
                shape_factor: sp.shape_factor,
            }));
        }
        let serial = Cells::place(&specs, &geometry, RHO_F, MU, 99).unwrap();
        let draws: Vec<SpeciesDraw<'_>> = kinds
            .iter()
            .zip(&counts)
            .enumerate()
            .map(|(k, (sp, &count))| SpeciesDraw {
                species: sp,
                count,
                stream: k as u64 + 1,
            })
            .collect();
        for (threads, chunk) in [(1, 2048), (2, 256), (3, 333), (2, 1)] {
            let par = Parallel::new(Some(threads), chunk).unwrap();
            let sampled = Cells::sample(&draws, &geometry, RHO_F, MU, 99, &par).unwrap();
            // PartialEq on f64 would accept −0 == +0; compare the hash and every field's bits.
            assert_eq!(sampled.state_hash(), serial.state_hash());
            for (a, b) in [
                (&sampled.diameter, &serial.diameter),
                (&sampled.density, &serial.density),
                (&sampled.shape_factor, &serial.shape_factor),
                (&sampled.sedimentation, &serial.sedimentation),
                (&sampled.relaxation, &serial.relaxation),
            ] {
                assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
            }
            assert_eq!(sampled.species, serial.species);
            assert_eq!(sampled, serial, "{threads} threads, chunk {chunk}");
        }
    }
}

/// The first invalid cell is reported whatever the thread count: here every cell of the second
/// species is too large for the tube, and the error names the first of them.
#[test]
fn parallel_sampling_reports_the_first_invalid_cell() {
    use buffycoat_sediment::SpeciesDraw;
    let ok = species("ok", 1070.0, 9e-6, 1.0);
    let huge = species("huge", 1070.0, 0.05, 1.0);
    let draws = [
        SpeciesDraw {
            species: &ok,
            count: 3000,
            stream: 1,
        },
        SpeciesDraw {
            species: &huge,
            count: 3000,
            stream: 2,
        },
    ];
    for threads in [1, 2, 3] {
        let par = Parallel::new(Some(threads), 256).unwrap();
        match Cells::sample(&draws, &contract_tube(), RHO_F, MU, 5, &par) {
            Err(buffycoat_sediment::SedimentError::InvalidCell { index, .. }) => {
                assert_eq!(index, 3000, "{threads} threads");
            }
            other => panic!("expected an invalid cell, got {other:?}"),
        }
    }
}
