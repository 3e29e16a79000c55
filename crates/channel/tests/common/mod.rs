//! Shared fixtures for the channel tests.
#![allow(dead_code)]

use buffycoat_channel::{
    Channel, ChannelConfig, ChannelFlows, ChannelGeometry, ChannelSolution, FlowProfile,
};
use buffycoat_field::{Class, classes_from_distribution};
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::hindrance::HindranceLaw;
use buffycoat_physics::species::{Distribution, SizeDistribution, Species};
use buffycoat_physics::units::ml_per_min_to_m3_per_s;

/// A library species in SI, numbers of `data/species.toml` (density normal, volume
/// log-normal; arithmetic mean and sd in g/mL and fL).
pub fn species(name: &str, rho_g_ml: f64, rho_sd: f64, v_fl: f64, v_sd: f64, chi: f64) -> Species {
    Species {
        name: name.into(),
        display_name: name.into(),
        density: Distribution::Normal {
            mean: rho_g_ml * 1000.0,
            sd: rho_sd * 1000.0,
        },
        size: SizeDistribution::Volume(Distribution::LogNormal {
            mean: v_fl * 1e-18,
            sd: v_sd * 1e-18,
        }),
        shape_factor: chi,
        normal_per_ul: None,
        source: "data/species.toml".into(),
    }
}

/// Whole blood of a healthy adult (undiluted; the channel applies the AC dilution):
/// hematocrit 0.45 in `rbc_classes` red-cell classes, platelets 250 × 10³/µL, lymphocytes
/// 2500, monocytes 430, neutrophils 3650 /µL (BloodComposition::normal_adult), one class each.
pub fn whole_blood(rbc_classes: usize) -> Vec<Class> {
    let phi = |per_ul: f64, v_fl: f64| per_ul * 1e9 * v_fl * 1e-18;
    let mut c = classes_from_distribution(
        &species("rbc", 1.095, 0.004, 87.0, 11.3, 1.09),
        0.45,
        rbc_classes,
    )
    .unwrap();
    for (s, n) in [
        (species("platelet", 1.070, 0.006, 7.5, 3.75, 1.04), 250e3),
        (
            species("lymphocyte", 1.075, 0.004, 247.0, 37.0, 1.0),
            2500.0,
        ),
        (species("monocyte", 1.072, 0.004, 534.0, 80.0, 1.0), 430.0),
        (
            species("neutrophil", 1.085, 0.004, 468.0, 70.0, 1.0),
            3650.0,
        ),
    ] {
        let v_fl = s.mean_volume() * 1e18;
        c.extend(classes_from_distribution(&s, phi(n, v_fl), 1).unwrap());
    }
    c
}

/// The representative leukapheresis channel (representative only: published channel
/// dimensions are scarce): r₁ = 0.100 m, r₂ = 0.102 m, h = 0.080 m, L = 0.625 m (≈ one turn,
/// 100 mL, T ≈ 111 s at 54.2 mL/min), 2400 rpm (651 g at the mean radius), inlet 50 mL/min
/// whole blood, AC 12, plasma 26.5 mL/min (≈ the interface-control set-point) and collect
/// 1.0 mL/min, laminar flow, Hawksley–Vand with φ_max = 0.95, 100 × 200 cells.
pub fn preset_config() -> ChannelConfig {
    ChannelConfig::new(
        ChannelGeometry {
            r_inner: 0.100,
            r_outer: 0.102,
            height: 0.080,
            length: 0.625,
        },
        ChannelFlows {
            blood_inlet: ml_per_min_to_m3_per_s(50.0),
            ac_ratio: 12.0,
            plasma: ml_per_min_to_m3_per_s(26.5),
            collect: ml_per_min_to_m3_per_s(1.0),
        },
        FlowProfile::Laminar,
        2400.0,
        Fluid::plasma_37c(),
        HindranceLaw::hawksley_vand(0.95).unwrap(),
    )
}

/// A small whole-blood case (coarse grid) for the transient and determinism tests.
pub fn small_blood_config(profile: FlowProfile) -> ChannelConfig {
    let mut c = preset_config();
    c.profile = profile;
    c.radial_cells = 30;
    c.along_cells = 20;
    c
}

/// Indices of the classes of `names`.
pub fn classes_of(sol: &ChannelSolution, names: &[&str]) -> Vec<usize> {
    sol.classes_of(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

/// Build a channel.
pub fn channel(config: ChannelConfig, classes: Vec<Class>) -> Channel {
    Channel::new(config, classes).unwrap()
}

/// FNV-1a over the bit patterns of a sequence of f64.
pub fn hash_f64(values: impl IntoIterator<Item = f64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}
