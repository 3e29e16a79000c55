//! Test 2: species balance and the invariants of the steady field.

mod common;

use buffycoat_channel::{CellRoles, FlowProfile, Port, SteadyMethod};
use buffycoat_stepper::Parallel;
use common::*;

/// Inflow = Σ outflows at steady state to 10⁻¹⁰ relative, per class and per species, for both
/// velocity profiles and both methods; and ∫φ_i dξ is the same at every station (discrete
/// conservation of the march), φ ≥ 0 and Σφ ≤ φ_max everywhere.
///
/// Tolerance 10⁻¹⁰: the implicit march updates the state from its fluxes (exactly
/// conservative), the explicit field solver conserves to round-off, and the port bands tile
/// [0, δ] exactly; what remains is the round-off of ~J·K additions (observed ≤ 10⁻¹³).
#[test]
fn inflow_equals_sum_of_outflows() {
    let par = Parallel::serial();
    for (profile, method, j, k) in [
        (FlowProfile::Laminar, SteadyMethod::Implicit, 100, 200),
        (FlowProfile::Plug, SteadyMethod::Implicit, 100, 200),
        (FlowProfile::Laminar, SteadyMethod::Explicit, 50, 50),
    ] {
        let mut config = preset_config();
        config.profile = profile;
        config.method = method;
        config.radial_cells = j;
        config.along_cells = k;
        let phi_max = config.hindrance.max_packing();
        let ch = channel(config, whole_blood(3));
        let sol = ch.solve_steady(&par).unwrap();
        let n = sol.classes().len();
        let g = sol.grid();
        let mut worst_class = 0.0f64;
        for ports in sol.class_port_fractions() {
            worst_class = worst_class.max((ports.iter().sum::<f64>() - 1.0).abs());
            assert!(
                ports.iter().all(|&f| (-1e-14..=1.0 + 1e-12).contains(&f)),
                "{ports:?}"
            );
        }
        let report = sol.species_report(&CellRoles::standard()).unwrap();
        let worst_species = report
            .balance_residual
            .iter()
            .fold(0.0f64, |a, &b| a.max(b));
        // per-station conservation and bounds
        let mut worst_station = 0.0f64;
        for kk in 0..=g.along_cells() {
            let st = sol.station(kk);
            for i in 0..n {
                let total: f64 =
                    (0..g.radial_cells()).map(|jj| st[jj * n + i]).sum::<f64>() * g.dxi;
                let inflow = sol.inlet_fractions()[i] * g.depth;
                worst_station = worst_station.max((total / inflow - 1.0).abs());
            }
            for cell in st.chunks_exact(n) {
                assert!(cell.iter().all(|&p| p >= 0.0), "negative fraction {cell:?}");
                let sum: f64 = cell.iter().sum();
                assert!(sum <= phi_max + 1e-12, "overpacked {sum}");
            }
        }
        println!(
            "{profile:?} {method:?}: class balance {worst_class:.2e}, species {worst_species:.2e}, \
             stations {worst_station:.2e}, stats {:?}",
            sol.stats()
        );
        assert!(worst_class < 1e-10);
        assert!(worst_species < 1e-10);
        assert!(worst_station < 1e-10);
        // the port hematocrits are the red-cell volume in each band / band width
        let red = classes_of(&sol, &["rbc"]);
        let exit = sol.station(g.along_cells());
        for port in Port::ALL {
            let (a, b) = g.port_band(port);
            let hct: f64 = red
                .iter()
                .map(|&i| {
                    let prof: Vec<f64> = (0..g.radial_cells()).map(|jj| exit[jj * n + i]).collect();
                    g.band_integral(&prof, a, b)
                })
                .sum::<f64>()
                / (b - a);
            let got = report.ports[port.index()].hematocrit;
            assert!((hct - got).abs() < 1e-12, "{port:?}: {hct} vs {got}");
        }
    }
}
