//! Units: everything inside buffycoat is SI.
//!
//! | quantity | unit inside | symbol |
//! |---|---|---|
//! | length, position, diameter | metre | m |
//! | time | second | s |
//! | mass | kilogram | kg |
//! | density | kilogram per cubic metre | kg/m³ |
//! | dynamic viscosity | pascal second | Pa·s |
//! | angular velocity | radian per second | rad/s |
//! | volume | cubic metre | m³ |
//! | volume flow | cubic metre per second | m³/s |
//! | number concentration | per cubic metre | 1/m³ |
//! | sedimentation coefficient | second | s (1 svedberg = 10⁻¹³ s) |
//!
//! Users think in rpm, mL/min, g/mL, µm, fL and cells/µL. Those units are converted **only at the
//! boundary** (scenario parsing, CLI output) with the functions below; every solver, closure and
//! analytic solution takes and returns SI. Each conversion is exact (defined by the SI prefixes),
//! except [`STANDARD_GRAVITY`], which is the conventional value g₀ = 9.80665 m/s² (CGPM 1901,
//! BIPM SI Brochure, 9th ed., 2019).

use std::f64::consts::PI;

/// Standard acceleration of gravity g₀ = 9.80665 m/s² (exact by definition; 3rd CGPM 1901,
/// BIPM SI Brochure 9th ed. 2019).
pub const STANDARD_GRAVITY: f64 = 9.806_65;

/// One svedberg, 10⁻¹³ s: the customary unit of sedimentation coefficients.
pub const SVEDBERG: f64 = 1e-13;

/// Cubic metres in one litre.
pub const LITRE: f64 = 1e-3;
/// Cubic metres in one millilitre.
pub const MILLILITRE: f64 = 1e-6;
/// Cubic metres in one microlitre.
pub const MICROLITRE: f64 = 1e-9;
/// Cubic metres in one femtolitre (1 fL = 1 µm³).
pub const FEMTOLITRE: f64 = 1e-18;
/// Metres in one micrometre.
pub const MICROMETRE: f64 = 1e-6;

/// Revolutions per minute → angular velocity ω = 2π·rpm/60 in rad/s.
#[inline]
pub fn rpm_to_rad_per_s(rpm: f64) -> f64 {
    rpm * (2.0 * PI / 60.0)
}

/// Angular velocity in rad/s → revolutions per minute.
#[inline]
pub fn rad_per_s_to_rpm(omega: f64) -> f64 {
    omega * (60.0 / (2.0 * PI))
}

/// mL/min → m³/s.
#[inline]
pub fn ml_per_min_to_m3_per_s(q: f64) -> f64 {
    q * MILLILITRE / 60.0
}

/// m³/s → mL/min.
#[inline]
pub fn m3_per_s_to_ml_per_min(q: f64) -> f64 {
    q * 60.0 / MILLILITRE
}

/// g/mL → kg/m³ (1 g/mL = 1000 kg/m³).
#[inline]
pub fn g_per_ml_to_kg_per_m3(rho: f64) -> f64 {
    rho * 1000.0
}

/// kg/m³ → g/mL.
#[inline]
pub fn kg_per_m3_to_g_per_ml(rho: f64) -> f64 {
    rho / 1000.0
}

/// µm → m.
#[inline]
pub fn um_to_m(d: f64) -> f64 {
    d * MICROMETRE
}

/// m → µm.
#[inline]
pub fn m_to_um(d: f64) -> f64 {
    d / MICROMETRE
}

/// fL → m³.
#[inline]
pub fn fl_to_m3(v: f64) -> f64 {
    v * FEMTOLITRE
}

/// m³ → fL.
#[inline]
pub fn m3_to_fl(v: f64) -> f64 {
    v / FEMTOLITRE
}

/// mPa·s (centipoise) → Pa·s.
#[inline]
pub fn mpa_s_to_pa_s(mu: f64) -> f64 {
    mu * 1e-3
}

/// Cells per µL → cells per m³.
#[inline]
pub fn per_ul_to_per_m3(c: f64) -> f64 {
    c / MICROLITRE
}

/// Cells per m³ → cells per µL.
#[inline]
pub fn per_m3_to_per_ul(c: f64) -> f64 {
    c * MICROLITRE
}

/// Volume of a sphere of diameter `d` (m): V = π d³ / 6 (m³).
#[inline]
pub fn sphere_volume(d: f64) -> f64 {
    PI * d * d * d / 6.0
}

/// Sphere-equivalent diameter of volume `v` (m³): d = (6V/π)^(1/3) (m).
/// 90 fL gives 5.56 µm (docs/physics.md §1.2).
#[inline]
pub fn sphere_equivalent_diameter(v: f64) -> f64 {
    (6.0 * v / PI).cbrt()
}

/// Relative centrifugal force (multiples of g₀) at radius `r` (m) and angular velocity
/// `omega` (rad/s): RCF = ω² r / g₀. Equivalent to 1.118 × 10⁻⁵ · r_cm · rpm² (r_cm in centimetres).
#[inline]
pub fn relative_centrifugal_force(omega: f64, r: f64) -> f64 {
    omega * omega * r / STANDARD_GRAVITY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_round_trip_and_known_value() {
        // 60 rpm is one revolution per second: 2π rad/s.
        assert!((rpm_to_rad_per_s(60.0) - 2.0 * PI).abs() < 1e-15);
        let rpm = 2400.0;
        assert!((rad_per_s_to_rpm(rpm_to_rad_per_s(rpm)) - rpm).abs() < 1e-10);
    }

    #[test]
    fn rcf_matches_textbook_rule() {
        // RCF = 1.118e-5 · r[cm] · rpm² (rounded constant, docs/physics.md §1.2).
        let (r_cm, rpm) = (10.0, 3000.0);
        let rcf = relative_centrifugal_force(rpm_to_rad_per_s(rpm), r_cm / 100.0);
        let textbook = 1.118e-5 * r_cm * rpm * rpm;
        assert!((rcf / textbook - 1.0).abs() < 1e-3, "{rcf} vs {textbook}");
    }

    #[test]
    fn sphere_equivalent_diameter_of_90_fl() {
        let d = sphere_equivalent_diameter(fl_to_m3(90.0));
        assert!((m_to_um(d) - 5.56).abs() < 0.005, "{}", m_to_um(d));
        assert!((sphere_volume(d) / fl_to_m3(90.0) - 1.0).abs() < 1e-14);
    }

    #[test]
    fn flow_and_concentration_conversions() {
        assert!((ml_per_min_to_m3_per_s(60.0) - 1e-6).abs() < 1e-20);
        assert!((m3_per_s_to_ml_per_min(1e-6) - 60.0).abs() < 1e-12);
        assert!((per_ul_to_per_m3(1.0) - 1e9).abs() < 1e-3);
        assert!((per_m3_to_per_ul(5e15) - 5e6).abs() < 1e-6);
        assert_eq!(g_per_ml_to_kg_per_m3(1.0205), 1020.5);
    }
}
