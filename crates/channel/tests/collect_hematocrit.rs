//! Collect-hematocrit control: the plasma flow that holds the collect port at a hematocrit
//! set-point, found by re-splitting a solved whole-blood channel
//! ([`ChannelSolution::collect_hematocrit_plasma_flow`]).

mod common;

use buffycoat_channel::{CellRoles, ChannelError, ChannelSolution, InterfaceTarget, PlasmaControl};
use buffycoat_physics::units::ml_per_min_to_m3_per_s;
use buffycoat_stepper::Parallel;
use common::*;

fn solved() -> ChannelSolution {
    let par = Parallel::serial();
    channel(preset_config(), whole_blood(3))
        .solve_steady(&par)
        .unwrap()
}

fn collect_hct(sol: &ChannelSolution, plasma: f64, collect: f64) -> f64 {
    sol.with_port_flows(plasma, collect)
        .unwrap()
        .species_report(&CellRoles::standard())
        .unwrap()
        .ports[1]
        .hematocrit
}

#[test]
fn collect_hematocrit_control() {
    let sol = solved();
    let roles = CellRoles::standard();
    let collect = ml_per_min_to_m3_per_s(1.0);
    let (lo, hi) = sol.collect_hematocrit_range(&roles, collect).unwrap();
    println!("achievable collect hematocrit [{lo:.5}, {hi:.5}]");
    assert!(lo < 0.01 && hi > 0.7, "{lo} {hi}");

    // hits the set-point on the real solved channel, with plasma flows ordered like the
    // set-points (a larger hematocrit needs the band further out: more plasma flow)
    let mut last_plasma = 0.0;
    for setpoint in [0.02, 0.03, 0.05, 0.1, 0.3, 0.6] {
        let plasma = sol
            .collect_hematocrit_plasma_flow(&roles, collect, setpoint)
            .unwrap();
        let got = collect_hct(&sol, plasma, collect);
        let report = sol
            .with_port_flows(plasma, collect)
            .unwrap()
            .species_report(&roles)
            .unwrap();
        let gran = report.index("neutrophil").unwrap();
        println!(
            "set-point {setpoint}: plasma {:.4} mL/min, collect hematocrit {got:.6}, MNC CE \
             {:.3}, platelet loss {:.3}, neutrophil share of white cells {:.3}",
            plasma * 6e7,
            report.group_collection_efficiency(&["lymphocyte", "monocyte"]),
            report.platelet_loss,
            report.purity_white_cells[gran]
        );
        assert!((got - setpoint).abs() < 1e-3, "{setpoint}: {got}");
        assert!(
            (got - setpoint).abs() < 1e-9,
            "exact piecewise-linear inverse: {got}"
        );
        assert!(plasma > last_plasma, "{setpoint}");
        last_plasma = plasma;
    }

    // monotone bracket: the collect hematocrit does not decrease as the plasma flow (and with
    // it the collect band) moves outward, and brackets every reachable set-point
    let q = sol.channel_inflow();
    let top = q - collect;
    let mut prev = -1.0;
    for k in 0..=400 {
        let plasma = top * k as f64 / 400.0;
        let h = collect_hct(&sol, plasma, collect);
        assert!(h >= prev - 1e-12, "{k}: {h} < {prev}");
        assert!(h >= lo - 1e-12 && h <= hi + 1e-12);
        prev = h;
    }
    assert!((collect_hct(&sol, 0.0, collect) - lo).abs() < 1e-12);
    assert!((collect_hct(&sol, top, collect) - hi).abs() < 1e-12);
}

#[test]
fn unreachable_and_invalid_setpoints_error() {
    let sol = solved();
    let roles = CellRoles::standard();
    let collect = ml_per_min_to_m3_per_s(1.0);
    let (_, hi) = sol.collect_hematocrit_range(&roles, collect).unwrap();
    let above = 0.5 * (hi + 1.0);
    let err = sol
        .collect_hematocrit_plasma_flow(&roles, collect, above)
        .unwrap_err();
    let msg = err.to_string();
    println!("{msg}");
    assert!(matches!(err, ChannelError::InvalidParameter { .. }));
    assert!(msg.contains("ports.collect_hematocrit"), "{msg}");
    assert!(msg.contains(&format!("{hi:.4}]")), "{msg}");
    assert!(msg.contains("mL/min"), "{msg}");
    for bad in [0.0, 1.0, -0.03, f64::NAN, 3.0] {
        let msg = sol
            .collect_hematocrit_plasma_flow(&roles, collect, bad)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("in (0, 1)"), "{bad}: {msg}");
    }
    // no collect flow, or more than the inflow
    assert!(
        sol.collect_hematocrit_plasma_flow(&roles, 0.0, 0.03)
            .is_err()
    );
    assert!(
        sol.collect_hematocrit_plasma_flow(&roles, 2.0 * sol.channel_inflow(), 0.03)
            .is_err()
    );
    // no red cells among the roles
    let none = CellRoles {
        red_cells: vec!["bead".into()],
        platelets: vec![],
        white_cells: None,
    };
    let msg = sol
        .collect_hematocrit_plasma_flow(&none, collect, 0.03)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("needs red cells"), "{msg}");
}

/// The plasma-pump dispatch used by channel runs and the procedure's separator: the
/// collect-hematocrit control lands on its set-point (to round-off, far inside the 0.002 of the
/// acceptance), the interface control and the fixed pump give what their own paths give, and
/// the two controllers are exclusive.
#[test]
fn plasma_control_dispatch() {
    let sol = solved();
    let roles = CellRoles::standard();
    let collect = ml_per_min_to_m3_per_s(1.0);
    let names: Vec<String> = ["rbc", "platelet", "lymphocyte", "monocyte", "neutrophil"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for setpoint in [0.02, 0.04, 0.3] {
        let control = PlasmaControl::from_options(None, Some(setpoint)).unwrap();
        let held = sol
            .clone()
            .with_plasma_control(&control, &names, &roles, collect)
            .unwrap();
        let h = held.species_report(&roles).unwrap().ports[1].hematocrit;
        assert!((h - setpoint).abs() < 1e-9, "{setpoint}: {h}");
        let direct = sol
            .with_collect_hematocrit(&roles, collect, setpoint)
            .unwrap();
        assert_eq!(direct.field(), held.field());
        assert_eq!(direct.class_port_fractions(), held.class_port_fractions());
    }
    let target = InterfaceTarget::WhiteCells;
    let by_dispatch = sol
        .clone()
        .with_plasma_control(
            &PlasmaControl::from_options(Some(&target), None).unwrap(),
            &names,
            &roles,
            collect,
        )
        .unwrap();
    let by_controller = sol
        .with_interface_control(&target, &names, &roles, collect)
        .unwrap();
    assert_eq!(
        by_dispatch.class_port_fractions(),
        by_controller.class_port_fractions()
    );
    let fixed = sol
        .clone()
        .with_plasma_control(&PlasmaControl::Fixed, &names, &roles, collect)
        .unwrap();
    assert_eq!(fixed.class_port_fractions(), sol.class_port_fractions());

    let both = PlasmaControl::from_options(Some(&target), Some(0.04)).unwrap_err();
    assert!(
        both.to_string().contains("ports.collect_hematocrit")
            && both.to_string().contains("ports.interface_control"),
        "{both}"
    );
    for bad in [0.0, 1.0, -0.04, f64::NAN, f64::INFINITY] {
        let msg = PlasmaControl::from_options(None, Some(bad))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("ports.collect_hematocrit") && msg.contains("(0, 1)"),
            "{msg}"
        );
    }
    // unreachable set-point: the error names the achievable range
    let (_, hi) = sol.collect_hematocrit_range(&roles, collect).unwrap();
    let msg = sol
        .clone()
        .with_plasma_control(
            &PlasmaControl::CollectHematocrit(0.5 * (hi + 1.0)),
            &names,
            &roles,
            collect,
        )
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&format!("{hi:.4}]")), "{msg}");
}
