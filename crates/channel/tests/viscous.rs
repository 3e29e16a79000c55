//! The composition-dependent (`viscous`) along-channel flow in the steady march
//! (docs/physics.md §10.8).

mod common;

use buffycoat_channel::lubrication::ViscousProfile;
use buffycoat_channel::{CellRoles, FlowProfile, Port};
use common::{channel, preset_config, whole_blood};

fn blood_config(
    profile: FlowProfile,
    radial: usize,
    along: usize,
) -> buffycoat_channel::ChannelConfig {
    let mut c = preset_config();
    c.profile = profile;
    c.radial_cells = radial;
    c.along_cells = along;
    c
}

#[test]
fn explore() {
    for (profile, j, k, cons) in [
        (FlowProfile::Laminar, 100, 200, false),
        (FlowProfile::Viscous, 100, 200, false),
        (FlowProfile::Laminar, 100, 200, true),
        (FlowProfile::Viscous, 100, 200, true),
    ] {
        let mut cfg = blood_config(profile, j, k);
        if cons {
            cfg.consolidation = Some(buffycoat_physics::consolidation::Consolidation::red_cells());
        }
        let ch = channel(cfg, whole_blood(4));
        let sol = ch.solve_implicit().unwrap();
        let r = sol.species_report(&CellRoles::standard()).unwrap();
        let exit = sol.station_faces(k);
        eprintln!(
            "{profile:?}: flow it {} newton {:?} ce {:?} hct {:?} exit faces {:?}",
            sol.stats().flow_iterations,
            sol.stats().newton.iterations,
            r.collection_efficiency,
            r.ports.iter().map(|p| p.hematocrit).collect::<Vec<_>>(),
            &exit[j / 2 - 2..j / 2 + 2]
        );
        let cut = sol.grid().cut_radii();
        eprintln!("cuts {cut:?}");
        let _ = Port::Collect;
        let _ = ViscousProfile::new(2);
    }
}
