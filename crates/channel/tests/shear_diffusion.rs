//! The channel march with shear-induced diffusion (docs/physics.md §10.2): conservation and
//! bounds at every station, determinism, `K = 0` bitwise equal to the term switched off, and
//! the dilute limit (D ∝ Φ: a dilute species is unaffected).

mod common;

use buffycoat_channel::{Channel, FlowProfile, Port, ShearDiffusion};
use buffycoat_field::Class;
use common::{hash_f64, preset_config, small_blood_config, whole_blood};

fn with_diffusion(mut c: buffycoat_channel::ChannelConfig, k: Option<f64>) -> Channel {
    c.shear_diffusion = k.map(|coefficient| ShearDiffusion { coefficient });
    Channel::new(c, whole_blood(3)).unwrap()
}

/// Whole blood on a coarse laminar channel: every station conserves every class to 10⁻¹²,
/// fractions stay ≥ 0 and Σφ ≤ φ_max, a rerun is bitwise identical, K = 0 is bitwise the
/// term switched off, and K = 0.41 changes the exit profile (the term acts).
#[test]
fn whole_blood_conserves_bounds_and_is_deterministic() {
    let config = small_blood_config(FlowProfile::Laminar);
    let phi_max = config.hindrance.max_packing();
    let on = with_diffusion(config.clone(), Some(0.41));
    let sol = on.solve_implicit().unwrap();
    let g = sol.grid();
    let n = sol.classes().len();
    let mut worst = 0.0f64;
    for k in 0..=g.along_cells() {
        let st = sol.station(k);
        for i in 0..n {
            let total: f64 = (0..g.radial_cells()).map(|j| st[j * n + i]).sum::<f64>() * g.dxi;
            let inflow = sol.inlet_fractions()[i] * g.depth;
            worst = worst.max((total / inflow - 1.0).abs());
        }
        for cell in st.chunks_exact(n) {
            assert!(cell.iter().all(|&p| p >= 0.0), "{cell:?}");
            assert!(cell.iter().sum::<f64>() <= phi_max + 1e-12, "{cell:?}");
        }
    }
    assert!(worst < 1e-12, "station balance {worst}");
    let again = with_diffusion(config.clone(), Some(0.41))
        .solve_implicit()
        .unwrap();
    assert_eq!(
        hash_f64(sol.field().iter().copied()),
        hash_f64(again.field().iter().copied())
    );
    let off = with_diffusion(config.clone(), None)
        .solve_implicit()
        .unwrap();
    let zero = with_diffusion(config, Some(0.0)).solve_implicit().unwrap();
    assert_eq!(
        hash_f64(off.field().iter().copied()),
        hash_f64(zero.field().iter().copied())
    );
    let change = sol
        .field()
        .iter()
        .zip(off.field())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(change > 1e-4, "the term changed the field by only {change}");
}

/// The dilute limit: a single red-cell-sized probe at φ = 10⁻⁶ in the laminar channel. With
/// D = K ℓ² γ̇ Φ(1 − Φ/φ_max) the diffusive flux is O(Φ²) against the O(Φ) settling flux,
/// so the port fractions move by less than 10⁻⁹ and the exit profile by less than 10⁻⁴ of φ
/// (observed 2·10⁻¹⁶ and 2·10⁻⁵: the Newton tolerance's level in the depleted cells) (the
/// sigma-theory validation cases, which also use plug flow where γ̇ = 0, are
/// unaffected); at φ = 0.2 the same coefficient moves the profile by more than 10⁻² of φ (the
/// check is not vacuous).
#[test]
fn dilute_species_is_unaffected() {
    let run = |phi: f64, k: Option<f64>| {
        let mut c = preset_config();
        c.radial_cells = 60;
        c.along_cells = 40;
        c.rpm = 600.0;
        c.shear_diffusion = k.map(|coefficient| ShearDiffusion { coefficient });
        let class = Class::new("probe", 6e-6, 1095.0, 1.0, phi);
        let sol = Channel::new(c, vec![class])
            .unwrap()
            .solve_implicit()
            .unwrap();
        let exit = sol.station(sol.grid().along_cells()).to_vec();
        (exit, sol.class_port_fractions()[0])
    };
    let change = |phi: f64| {
        let (a, pa) = run(phi, None);
        let (b, pb) = run(phi, Some(0.41));
        let profile = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs() / phi)
            .fold(0.0, f64::max);
        let ports = Port::ALL
            .iter()
            .map(|p| (pa[p.index()] - pb[p.index()]).abs())
            .fold(0.0, f64::max);
        (profile, ports)
    };
    let dilute = change(1e-6);
    let dense = change(0.2);
    println!("largest relative profile / port change: φ = 1e-6 {dilute:?}, φ = 0.2 {dense:?}");
    assert!(dilute.0 < 1e-4 && dilute.1 < 1e-9, "{dilute:?}");
    assert!(dense.0 > 1e-2, "{dense:?}");
}
