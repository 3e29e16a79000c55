//! Shared set-up for the sediment integration tests.
#![allow(dead_code)]

use buffycoat_physics::forces::{ForceSet, relaxation_time, sedimentation_coefficient};
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_sediment::{
    CellSpec, Cells, Geometry, ParticleModel, Sector, Sedimentation, SedimentationConfig,
    Tolerances, Tube,
};
use buffycoat_stepper::{Executor, Parallel, Schedule};

/// Plasma at 37 °C (Trudnowski & Rico 1974; Rosenson et al. 1996).
pub const RHO_F: f64 = 1020.5;
/// Plasma viscosity at 37 °C (Pa·s).
pub const MU: f64 = 1.39e-3;
/// The contract "probe" cell: a neutrophil-like 9.63 µm, 1082 kg/m³ sphere.
pub const PROBE_D: f64 = 9.63e-6;
/// Probe density (kg/m³).
pub const PROBE_RHO: f64 = 1082.0;

/// s of the probe (s).
pub fn probe_s() -> f64 {
    sedimentation_coefficient(PROBE_D, PROBE_RHO, RHO_F, MU, 1.0)
}

/// τ_p of the probe (s).
pub fn probe_tau() -> f64 {
    relaxation_time(PROBE_D, PROBE_RHO, MU, 1.0)
}

/// A 60° sector, r 0.10–0.20 m, 2 cm high.
pub fn wide_sector() -> Geometry {
    Geometry::Sector(Sector::new(0.10, 0.20, 60f64.to_radians(), 0.02).unwrap())
}

/// The contract scenario's tube.
pub fn contract_tube() -> Geometry {
    Geometry::Tube(Tube::new(0.10, 0.16, 0.006).unwrap())
}

/// A configuration with plasma at 37 °C.
pub fn config(
    geometry: Geometry,
    rotor: RotorProfile,
    forces: ForceSet,
    model: ParticleModel,
    dt: Option<f64>,
) -> SedimentationConfig {
    SedimentationConfig {
        geometry,
        rotor,
        fluid_density: RHO_F,
        viscosity: MU,
        forces,
        model,
        dt,
        tolerances: Tolerances::default(),
    }
}

/// `n` identical probe cells placed at the given start positions.
/// Probe cells at the given positions.
pub fn system_at(cfg: SedimentationConfig, starts: &[[f64; 3]], par: &Parallel) -> Sedimentation {
    let specs = vec![
        CellSpec {
            species: 0,
            diameter: PROBE_D,
            density: PROBE_RHO,
            shape_factor: 1.0,
        };
        starts.len()
    ];
    let cells = Cells::place(&specs, &cfg.geometry, RHO_F, MU, 1).unwrap();
    let mut sys = Sedimentation::new(cfg, cells, par).unwrap();
    for (i, p) in starts.iter().enumerate() {
        sys.cells_mut().set_position(i, *p);
    }
    sys
}

/// Runs to `duration` with frames every `interval`, returning every frame's positions.
/// Positions at every frame.
pub fn trajectory(
    sys: &mut Sedimentation,
    duration: f64,
    interval: f64,
    par: &Parallel,
) -> Vec<(f64, Vec<[f64; 3]>)> {
    let mut frames = Vec::new();
    let mut record = |f: &buffycoat_stepper::Frame<'_, Sedimentation>| {
        let c = f.state.cells();
        frames.push((f.time, (0..c.len()).map(|i| c.position(i)).collect()));
        Ok::<(), buffycoat_sediment::SedimentError>(())
    };
    Executor::new(Schedule::new(duration, interval).unwrap())
        .observe(buffycoat_stepper::Cadence::ALWAYS, &mut record)
        .run(sys, par)
        .unwrap();
    frames
}
