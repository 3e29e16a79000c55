//! The implicit march (backward Euler in τ, first-order monotone flux, packing ramp) agrees
//! with the explicit high-resolution march (the field solver: MUSCL central-upwind, SSP-RK2,
//! CFL-limited) within stated tolerances, and the difference falls with resolution.

mod common;

use buffycoat_channel::{SigmaCase, SteadyMethod};
use buffycoat_physics::units::ml_per_min_to_m3_per_s;
use buffycoat_stepper::Parallel;
use common::*;

/// Dilute single species (the sigma case, 400 × 200 cells): the captures of the two methods
/// agree to 10⁻³ where the capture is a smooth function of the flow (observed ≤ 3·10⁻⁴) and
/// to 0.03 next to the full-capture kink (70 mL/min, 2 % below Q_full), where the first-order
/// implicit scheme smears the suspension front into the wall cell (observed 0.025).
#[test]
fn dilute_capture_agrees() {
    let par = Parallel::serial();
    let case = SigmaCase::standard();
    let mut explicit = case.clone();
    explicit.method = SteadyMethod::Explicit;
    for (q_ml, tol) in [(70.0, 0.03), (100.0, 1e-3), (143.0, 1e-3), (200.0, 1e-3)] {
        let q = ml_per_min_to_m3_per_s(q_ml);
        let a = case.capture(q, &par).unwrap();
        let b = explicit.capture(q, &par).unwrap();
        println!(
            "{q_ml} mL/min: implicit {a:.6}, explicit {b:.6}, diff {:.2e}",
            a - b
        );
        assert!((a - b).abs() < tol);
    }
}

/// Where things are at the exit, for the two methods.
struct Exit {
    /// hematocrit per ξ-cell
    hct: Vec<f64>,
    /// ξ (in cells) where the hematocrit first reaches 0.2: the plasma/red-cell interface
    interface: f64,
    /// ξ-cell of the MNC number peak: the buffy coat
    buffy: usize,
    /// MNC collection efficiency with the collect port (1 mL/min) centred on the MNC
    mnc_ce: f64,
}

fn exit(sol: &buffycoat_channel::ChannelSolution) -> Exit {
    let n = sol.classes().len();
    let red = classes_of(sol, &["rbc"]);
    let mnc = classes_of(sol, &["lymphocyte", "monocyte"]);
    let st = sol.station(sol.grid().along_cells());
    let cells = sol.grid().radial_cells();
    let hct: Vec<f64> = (0..cells)
        .map(|j| red.iter().map(|&i| st[j * n + i]).sum())
        .collect();
    let j = hct.iter().position(|&h| h >= 0.2).unwrap();
    let interface = if j == 0 {
        0.0
    } else {
        j as f64 - 1.0 + (0.2 - hct[j - 1]) / (hct[j] - hct[j - 1]) + 0.5
    };
    let number = |j: usize| -> f64 {
        mnc.iter()
            .map(|&i| st[j * n + i] / sol.classes()[i].cell_volume())
            .sum()
    };
    let buffy = (0..cells).fold(0, |b, j| if number(j) > number(b) { j } else { b });
    let collect = ml_per_min_to_m3_per_s(1.0);
    let plasma = sol.interface_plasma_flow(&mnc, collect).unwrap();
    let report = sol
        .with_port_flows(plasma, collect)
        .unwrap()
        .species_report(&buffycoat_channel::CellRoles::standard())
        .unwrap();
    Exit {
        hct,
        interface,
        buffy,
        mnc_ce: report.group_collection_efficiency(&["lymphocyte", "monocyte"]),
    }
}

/// Whole blood in the representative channel, 100 × 100 and 200 × 200 cells: the exit
/// hematocrit profiles agree (L¹ relative to the red-cell volume < 0.05; observed 0.016,
/// 0.009), the plasma/red-cell interface within 1.5 cells (observed 0.2), the buffy coat (MNC
/// peak) within 2 % of the depth (observed 1 and 2 cells), and the MNC collection efficiency
/// with interface control within 0.12 at 100 cells and 0.05 at 200 (observed 0.086, 0.002) —
/// tolerances of the order of the smearing of the first-order implicit scheme (1–2 cells at
/// each interface) and of the shift of a layer one or two cells thick relative to a collect
/// band two cells wide; the agreement improves with resolution.
///
/// Port fractions at a fixed plasma flow are *not* compared: the buffy coat and the platelet
/// layer above it are one or two cells thick, so a one-cell shift moves whole classes between
/// the collect and the neighbouring port (differences up to 0.14 observed at 100 cells).
#[test]
fn whole_blood_agrees_within_stated_tolerance() {
    let par = Parallel::new(Some(2), 2048).unwrap();
    for (cells, tol_ce) in [(100, 0.12), (200, 0.05)] {
        let mut config = preset_config();
        config.radial_cells = cells;
        config.along_cells = cells;
        let imp = exit(
            &channel(config.clone(), whole_blood(3))
                .solve_steady(&par)
                .unwrap(),
        );
        config.method = SteadyMethod::Explicit;
        let exp = exit(&channel(config, whole_blood(3)).solve_steady(&par).unwrap());
        let diff: f64 = imp
            .hct
            .iter()
            .zip(&exp.hct)
            .map(|(a, b)| (a - b).abs())
            .sum();
        let profile = diff / exp.hct.iter().sum::<f64>();
        println!(
            "{cells} x {cells}: hematocrit L1 {profile:.4}; interface {:.2} vs {:.2} cells; buffy \
             coat cell {} vs {}; MNC CE {:.3} vs {:.3}",
            imp.interface, exp.interface, imp.buffy, exp.buffy, imp.mnc_ce, exp.mnc_ce
        );
        assert!(profile < 0.05);
        assert!((imp.interface - exp.interface).abs() < 1.5);
        assert!(imp.buffy.abs_diff(exp.buffy) <= cells / 50);
        assert!((imp.mnc_ce - exp.mnc_ce).abs() < tol_ce);
    }
}
