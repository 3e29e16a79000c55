//! Test 6: results are bitwise identical for 1, 2 and 3 threads (steady implicit and
//! explicit, transient, tracers); bad inputs give errors that name the scenario key.

mod common;

use buffycoat_channel::{
    Channel, ChannelError, ChannelTracer, FlowProfile, SteadyMethod, TracerSettings,
    TransientSettings,
};
use buffycoat_physics::units::ml_per_min_to_m3_per_s;
use buffycoat_stepper::Parallel;
use common::*;

fn pools() -> Vec<Parallel> {
    [1, 2, 3]
        .iter()
        .map(|&t| Parallel::new(Some(t), 2048).unwrap())
        .collect()
}

/// Steady (both methods), transient (4 columns per chunk, so 5 chunks for 20 columns) and
/// tracer fates hash to the same value for every thread count.
#[test]
fn bitwise_identical_for_one_two_three_threads() {
    let mut hashes: Vec<[u64; 4]> = Vec::new();
    for par in pools() {
        let mut config = small_blood_config(FlowProfile::Laminar);
        let ch = channel(config.clone(), whole_blood(2));
        let implicit = ch.solve_steady(&par).unwrap();
        config.method = SteadyMethod::Explicit;
        let explicit = channel(config, whole_blood(2)).solve_steady(&par).unwrap();
        let t_res = ch.config().residence_time();
        let mut settings = TransientSettings::new(1.5 * t_res, 0.5 * t_res);
        settings.columns_per_chunk = 4;
        settings.courant = 0.7;
        let tr = ch.solve_transient(&settings, &par).unwrap();
        let cells: Vec<(u16, f64, f64, f64)> = (0..1000)
            .map(|k| {
                let x = (k as f64 * 0.618_033_988_749_895).fract();
                (
                    (k % 3) as u16,
                    5e-6 + 6e-6 * x,
                    1060.0 + 40.0 * (1.0 - x),
                    1.0,
                )
            })
            .collect();
        let tracers = ChannelTracer::uniform_entries(&cells);
        let fates = implicit
            .track(&tracers, &TracerSettings::default(), &par)
            .unwrap();
        let h = [
            hash_f64(implicit.field().iter().copied()),
            hash_f64(explicit.field().iter().copied()),
            hash_f64(
                tr.field
                    .iter()
                    .copied()
                    .chain(tr.class_ports.iter().flatten().flatten().copied()),
            ),
            hash_f64(fates.iter().map(|f| f.exit_xi)),
        ];
        println!("{} threads: {h:x?}", par.threads());
        hashes.push(h);
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:x?}");
}

/// A change of one setting.
type Change = Box<dyn Fn(&mut buffycoat_channel::ChannelConfig)>;

fn key_of(e: &ChannelError) -> String {
    match e {
        ChannelError::InvalidParameter { key, .. } => key.clone(),
        ChannelError::NegativeRedCellFlow { .. } => "red-cell remainder".into(),
        other => format!("{other:?}"),
    }
}

/// Each bad setting is rejected with an error naming its scenario key (and, in the message,
/// the allowed range).
#[test]
fn bad_port_flows_and_settings_give_clear_errors() {
    let ml = ml_per_min_to_m3_per_s;
    let base = preset_config();
    let cases: Vec<(&str, Change)> = vec![
        // negative remainder: plasma + collect above the inflow 54.2 mL/min
        (
            "red-cell remainder",
            Box::new(move |c| c.flows.plasma = ml(60.0)),
        ),
        ("inlet.flow_ml_min", Box::new(|c| c.flows.blood_inlet = 0.0)),
        (
            "inlet.flow_ml_min",
            Box::new(|c| c.flows.blood_inlet = -1e-6),
        ),
        (
            "inlet.flow_ml_min",
            Box::new(|c| c.flows.blood_inlet = f64::NAN),
        ),
        (
            "ports.collect_ml_min",
            Box::new(move |c| c.flows.collect = ml(60.0)),
        ),
        (
            "ports.collect_ml_min",
            Box::new(|c| c.flows.collect = -1e-9),
        ),
        ("ports.plasma_ml_min", Box::new(|c| c.flows.plasma = -1e-9)),
        ("inlet.ac_ratio", Box::new(|c| c.flows.ac_ratio = 1.0)),
        ("geometry.r_inner_m", Box::new(|c| c.geometry.r_inner = 0.0)),
        (
            "geometry.r_outer_m",
            Box::new(|c| c.geometry.r_outer = 0.099),
        ),
        ("geometry.r_outer_m", Box::new(|c| c.geometry.r_outer = 0.2)),
        ("geometry.height_m", Box::new(|c| c.geometry.height = 0.0)),
        (
            "geometry.length_m",
            Box::new(|c| c.geometry.length = f64::INFINITY),
        ),
        ("rotor.rpm", Box::new(|c| c.rpm = 0.0)),
        ("grid.radial_cells", Box::new(|c| c.radial_cells = 3)),
        ("grid.along_cells", Box::new(|c| c.along_cells = 0)),
    ];
    for (key, change) in &cases {
        let mut c = base.clone();
        change(&mut c);
        let e = Channel::new(c, whole_blood(2)).unwrap_err();
        println!("{key}: {e}");
        assert_eq!(&key_of(&e), key, "{e}");
        assert!(e.to_string().contains("allowed"), "{e}");
    }
    // the remainder error names both port keys and the inflow
    let mut c = base.clone();
    c.flows.plasma = ml(53.5);
    c.flows.collect = ml(1.0);
    let msg = Channel::new(c, whole_blood(2)).unwrap_err().to_string();
    assert!(msg.contains("ports.plasma_ml_min") && msg.contains("ports.collect_ml_min"));
    assert!(msg.contains("inlet.flow_ml_min"), "{msg}");
    // plasma + collect exactly equal to the inflow is allowed (red-cell flow 0)
    let mut c = base.clone();
    let q = c.flows.channel_inflow();
    c.flows.plasma = q - ml(1.0);
    c.flows.collect = ml(1.0);
    assert!(Channel::new(c, whole_blood(2)).is_ok());
    // no classes; an inlet that is already packed
    assert!(matches!(
        Channel::new(base.clone(), vec![]),
        Err(ChannelError::Inconsistent(_))
    ));
    let mut packed = whole_blood(2);
    for c in packed.iter_mut().filter(|c| c.species == "rbc") {
        c.volume_fraction = 0.6;
    }
    assert!(matches!(
        Channel::new(base, packed),
        Err(ChannelError::Inconsistent(_))
    ));
}
