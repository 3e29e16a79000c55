//! The composition-dependent (`viscous`) along-channel flow in the steady march
//! (docs/physics.md §10.9).

mod common;

use buffycoat_channel::lubrication::ViscousProfile;
use buffycoat_channel::{
    CellRoles, Channel, ChannelConfig, FlowProfile, StationFlow, SteadyMethod, SuspensionViscosity,
    TransientSettings,
};
use buffycoat_field::Class;
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::viscosity::KriegerDougherty;
use buffycoat_stepper::Parallel;
use common::{channel, preset_config, whole_blood};

fn config(profile: FlowProfile, radial: usize, along: usize) -> ChannelConfig {
    let mut c = preset_config();
    c.profile = profile;
    c.radial_cells = radial;
    c.along_cells = along;
    c
}

/// Neutrally buoyant rigid particles stay uniform, so the (Newtonian, Krieger–Dougherty)
/// viscosity is uniform and the viscous flow is plane Poiseuille flow at every station: the
/// faces are the laminar map's and the march is bitwise the laminar one. (Blood is
/// shear-thinning: its uniform profile is blunter than Poiseuille's.)
#[test]
fn uniform_suspension_reproduces_laminar_flow() {
    let rho = Fluid::plasma_37c().density;
    let beads = vec![Class::new("bead", 10e-6, rho, 1.0, 0.2)];
    let lam = Channel::new(config(FlowProfile::Laminar, 40, 30), beads.clone()).unwrap();
    let mut cfg = config(FlowProfile::Viscous, 40, 30);
    cfg.viscosity = SuspensionViscosity::Rigid(KriegerDougherty::new(0.68, 2.5).unwrap());
    let vis = Channel::new(cfg, beads).unwrap();
    let (a, b) = (lam.solve_implicit().unwrap(), vis.solve_implicit().unwrap());
    for k in 0..=30 {
        for (x, y) in a.station_faces(k).iter().zip(b.station_faces(k)) {
            assert!((x - y).abs() <= 1e-12 * 0.002, "station {k}: {x} vs {y}");
        }
    }
    assert_eq!(a.field(), b.field());
    assert_eq!(a.class_port_fractions(), b.class_port_fractions());
    // one iteration per station: the inlet map is already the fixed point
    assert_eq!(b.stats().flow_iterations, 30);
}

/// Two Newtonian layers (clear fluid under a concentrated suspension of rigid particles): the
/// station's faces put the layer interface where the two-layer closed form of §10.4 carries
/// the clear layer's share of the flux, and every ξ-cell carries Q/J.
#[test]
fn two_layer_station_matches_the_closed_form() {
    let mut cfg = config(FlowProfile::Viscous, 60, 10);
    let kd = KriegerDougherty::new(0.68, 2.5).unwrap();
    cfg.viscosity = SuspensionViscosity::Rigid(kd);
    let ch = Channel::new(
        cfg.clone(),
        vec![Class::new("bead", 10e-6, 1100.0, 1.0, 0.1)],
    )
    .unwrap();
    let j_cells = 60;
    for (inner_cells, phi_outer) in [(30, 0.6), (20, 0.4), (45, 0.66)] {
        let column: Vec<f64> = (0..j_cells)
            .map(|j| if j < inner_cells { 0.0 } else { phi_outer })
            .collect();
        let mut flow = StationFlow::new(&cfg, ch.grid());
        let its = flow.update(&column, 1, 1, 0.0).unwrap();
        assert!(its > 1 && its < 1000, "{its} iterations");
        let mu = flow.viscosity().to_vec();
        let (mu1, mu2) = (mu[0], mu[j_cells - 1]);
        assert!(mu2 / mu1 > 4.0, "{mu1} {mu2}");
        // closed form: fraction of the flux below y = b for the interface at b
        let delta = 0.002;
        let share_below = |b: f64| {
            let c = (b * b / mu1 + (delta * delta - b * b) / mu2)
                / (2.0 * b / mu1 + 2.0 * (delta - b) / mu2);
            let below = (b.powi(3) / 3.0 - c * b * b) / (2.0 * mu1);
            let total = below
                - ((b - delta).powi(3) / 3.0 + (delta - c) * (b - delta).powi(2)) / (2.0 * mu2);
            below / total
        };
        let want = inner_cells as f64 / j_cells as f64;
        let (mut lo, mut hi) = (1e-9, delta - 1e-9);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if share_below(mid) < want {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let b = 0.5 * (lo + hi);
        let got = flow.r_faces()[inner_cells] - flow.r_faces()[0];
        assert!(
            (got - b).abs() < 1e-7 * delta,
            "interface {got} vs closed form {b} (φ = {phi_outer}, {inner_cells} cells)"
        );
        // every cell carries Q/J (independent re-solve of the profile on the returned faces)
        let mut vp = ViscousProfile::new(j_cells);
        let q = cfg.flows.channel_inflow();
        vp.solve(flow.r_faces(), &mu, cfg.geometry.height, q)
            .unwrap();
        for j in 0..j_cells {
            let f = vp.flux_below()[j + 1] - vp.flux_below()[j];
            assert!((f * j_cells as f64 / q - 1.0).abs() < 1e-6, "cell {j}: {f}");
        }
        // the concentrated layer is slow: its peak velocity is below the clear layer's
        let w = flow.velocity_ratio();
        let slow = w[inner_cells + 1..j_cells]
            .iter()
            .copied()
            .fold(0.0, f64::max);
        let fast = w[..inner_cells].iter().copied().fold(0.0, f64::max);
        assert!(slow < fast, "{slow} {fast}");
        // shear rates at the faces are finite, and zero only near the velocity maximum
        assert!(
            flow.shear_rate_faces()
                .iter()
                .all(|g| g.is_finite() && *g >= 0.0)
        );
    }
}

/// Whole blood: the packed bed is slow and thick in r (the cuts move inward against laminar
/// flow), the march converges as Δτ is refined (the explicit coupling along the channel is
/// first order), and the port results stay close to laminar flow (the flow enters only through
/// r(ξ) in a thin channel, §10.9).
#[test]
fn blood_bed_moves_slowly_and_the_coupling_converges() {
    let roles = CellRoles::standard();
    let run = |profile, along| {
        let ch = channel(config(profile, 50, along), whole_blood(2));
        let sol = ch.solve_implicit().unwrap();
        let r = sol.species_report(&roles).unwrap();
        (sol, r)
    };
    let (lam, lam_r) = run(FlowProfile::Laminar, 100);
    let (vis, vis_r) = run(FlowProfile::Viscous, 100);
    let cut_lam = lam.grid().cut_radii();
    let cut_vis = vis.grid().cut_radii();
    assert!(cut_vis[1] < cut_lam[1] - 2e-4, "{cut_vis:?} vs {cut_lam:?}");
    for (a, b) in lam_r
        .collection_efficiency
        .iter()
        .zip(&vis_r.collection_efficiency)
    {
        assert!((a - b).abs() < 0.05, "{a} vs {b}");
    }
    // along-channel refinement: differences shrink (first order)
    let ce = |along| {
        let (_, r) = run(FlowProfile::Viscous, along);
        r.ports.iter().map(|p| p.hematocrit).collect::<Vec<_>>()
    };
    let (c1, c2, c4) = (ce(50), ce(100), ce(200));
    let d1: f64 = c1.iter().zip(&c2).map(|(a, b)| (a - b).abs()).sum();
    let d2: f64 = c2.iter().zip(&c4).map(|(a, b)| (a - b).abs()).sum();
    assert!(d2 < 0.8 * d1 && d2 < 0.02, "{d1} {d2}");
    assert!(vis.stats().flow_iterations > 100);
}

#[test]
fn viscous_needs_the_implicit_steady_march() {
    let mut cfg = config(FlowProfile::Viscous, 20, 10);
    cfg.method = SteadyMethod::Explicit;
    let msg = Channel::new(cfg, whole_blood(1)).unwrap_err().to_string();
    assert!(msg.contains("flow.profile = \"viscous\""), "{msg}");
    let ch = channel(config(FlowProfile::Viscous, 20, 10), whole_blood(1));
    let msg = ch
        .solve_transient(
            &TransientSettings::new(1.0, 1.0),
            &Parallel::new(Some(1), 64).unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(msg.contains("steady-only"), "{msg}");
}
