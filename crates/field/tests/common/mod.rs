//! Shared fixtures for the field tests.
#![allow(dead_code)]

use buffycoat_field::{Class, FieldConfig, FieldGeometry, HinderedField, HindranceLaw, Tracers};
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::rotor::RotorProfile;

/// Eight whole-blood classes (hematocrit 0.45): four red-cell density/size classes, platelets,
/// lymphocytes, monocytes, neutrophils (numbers from data/species.toml, rounded).
pub fn blood_classes() -> Vec<Class> {
    vec![
        Class::new("rbc", 5.3e-6, 1091.0, 1.09, 0.1125),
        Class::new("rbc", 5.7e-6, 1093.0, 1.09, 0.1125),
        Class::new("rbc", 5.3e-6, 1097.0, 1.09, 0.1125),
        Class::new("rbc", 5.7e-6, 1099.0, 1.09, 0.1125),
        Class::new("platelet", 2.4e-6, 1070.0, 1.04, 0.0019),
        Class::new("lymphocyte", 7.8e-6, 1075.0, 1.0, 0.0006),
        Class::new("monocyte", 10.0e-6, 1072.0, 1.0, 0.0002),
        Class::new("neutrophil", 9.6e-6, 1085.0, 1.0, 0.0017),
    ]
}

pub fn rz() -> HindranceLaw {
    HindranceLaw::richardson_zaki(4.65, 0.9).unwrap()
}

/// A swing-out tube 0.10–0.16 m at `rpm` (10 s ramp), plasma at 37 °C.
pub fn blood_tube(cells: usize, rpm: f64) -> FieldConfig {
    let rotor = RotorProfile::trapezoid(rpm, 10.0, 1e4, 0.0).unwrap();
    FieldConfig::new(
        FieldGeometry::Tube,
        0.10,
        0.16,
        cells,
        rotor,
        Fluid::plasma_37c(),
        rz(),
    )
}

pub fn blood_field(cells: usize, rpm: f64, tracers: Tracers) -> HinderedField {
    HinderedField::new(blood_tube(cells, rpm), blood_classes(), tracers).unwrap()
}

/// FNV-1a over the bit patterns of a slice of f64.
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
