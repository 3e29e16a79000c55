//! The second-order settling flux in the red-cell bed (`SettlingFlux::Muscl`,
//! docs/physics.md §10.15).

mod common;

use buffycoat_channel::{ChannelSolution, FlowProfile, Limiter, SettlingFlux};
use buffycoat_stepper::Parallel;
use common::*;

/// ξ (m) where the exit's total volume fraction first reaches `level`, interpolated
/// linearly between cell centres.
fn bed_top(sol: &ChannelSolution, level: f64) -> f64 {
    let g = sol.grid();
    let n = sol.classes().len();
    let exit = sol.station(g.along_cells());
    let totals: Vec<f64> = exit.chunks_exact(n).map(|c| c.iter().sum()).collect();
    let centre = |j: usize| 0.5 * (g.xi_faces[j] + g.xi_faces[j + 1]);
    let j = totals.iter().position(|&t| t >= level).unwrap();
    let (t0, t1) = (totals[j - 1], totals[j]);
    centre(j - 1) + (level - t0) / (t1 - t0) * (centre(j) - centre(j - 1))
}

/// Development diagnostic: Newton statistics and exit bed top of the preset for the
/// settling fluxes. `BED_CELLS=100,200`, `BED_REFINE=0|1`, `BED_FLUX=upwind|vl|mm`,
/// `BED_MIN_TOTAL=0.6`.
#[test]
#[ignore = "development diagnostic"]
fn bed_flux_diagnostic() {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let min_total: f64 = env("BED_MIN_TOTAL", "0.6").parse().unwrap();
    let flux = match env("BED_FLUX", "vl").as_str() {
        "upwind" => SettlingFlux::Upwind,
        "mm" => SettlingFlux::Muscl {
            limiter: Limiter::Minmod,
            min_total,
        },
        _ => SettlingFlux::Muscl {
            limiter: Limiter::VanLeer,
            min_total,
        },
    };
    for cells in env("BED_CELLS", "100").split(',') {
        let j: usize = cells.parse().unwrap();
        let mut c = preset_config();
        c.profile = if env("BED_LAMINAR", "0") == "1" {
            FlowProfile::Laminar
        } else {
            FlowProfile::Viscous
        };
        c.radial_cells = j;
        c.along_cells = env("BED_ALONG", "0").parse().unwrap();
        if c.along_cells == 0 {
            c.along_cells = 2 * j;
        }
        if env("BED_REFINE", "1") == "1" {
            c.refine_interface = Some(0.015);
        }
        c.settling_flux = flux;
        let ch = channel(c, whole_blood(4));
        let t = std::time::Instant::now();
        let sol = ch.solve_steady(&Parallel::serial()).unwrap();
        if let Ok(path) = std::env::var("BED_DUMP") {
            // exit profile: ξ centre, total
            let g = sol.grid();
            let n = sol.classes().len();
            let exit = sol.station(g.along_cells());
            let mut out = String::new();
            for (jj, c) in exit.chunks_exact(n).enumerate() {
                let x = 0.5 * (g.xi_faces[jj] + g.xi_faces[jj + 1]);
                let t: f64 = c.iter().sum();
                out += &format!("{x:e} {t:e}\n");
            }
            std::fs::write(format!("{path}_{j}.txt"), out).unwrap();
        }
        let rbc = classes_of(&sol, &["rbc"]);
        let ports = sol.class_port_fractions();
        let collect_rbc: f64 = rbc.iter().map(|&i| ports[i][1] * ch.inlet_fractions()[i]).sum();
        println!(
            "{j}: bed top (0.6) {:.3} µm, (0.8) {:.3} µm, collect rbc volume flux share {:.5}, {:.2?}, {:?}",
            bed_top(&sol, 0.6) * 1e6,
            bed_top(&sol, 0.8) * 1e6,
            collect_rbc,
            t.elapsed(),
            sol.stats().newton
        );
    }
}
