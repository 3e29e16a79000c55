//! The suspending fluid (plasma): density and Newtonian viscosity.
//!
//! Plasma is Newtonian to a good approximation (Rosenson et al., Clin Chem 42:1189, 1996), so a
//! single dynamic viscosity μ describes it. The non-Newtonian behaviour of whole blood comes from
//! the cells and is handled by the suspension closures, not here.
//!
//! Anticoagulant (ACD-A) dilutes plasma slightly and lowers its density and viscosity; the
//! presets below are for undiluted plasma. Use [`Fluid::new`] for measured values.

use crate::error::{PhysicsError, ensure_positive};

/// A Newtonian suspending fluid.
///
/// - `density` ρ_f in kg/m³;
/// - `viscosity` μ (dynamic) in Pa·s.
///
/// Construct with [`Fluid::new`] (validated) or a preset; the fields are public for reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fluid {
    /// Density ρ_f (kg/m³).
    pub density: f64,
    /// Dynamic viscosity μ (Pa·s).
    pub viscosity: f64,
}

impl Fluid {
    /// A fluid of density `density` (kg/m³) and dynamic viscosity `viscosity` (Pa·s).
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] if either value is non-finite or ≤ 0.
    pub fn new(density: f64, viscosity: f64) -> Result<Fluid, PhysicsError> {
        ensure_positive("fluid density (kg/m^3)", density)?;
        ensure_positive("fluid viscosity (Pa s)", viscosity)?;
        Ok(Fluid { density, viscosity })
    }

    /// Human plasma at 37 °C.
    ///
    /// - density ρ_f = 1020.5 kg/m³: specific gravity 1.0205 (95 % CI 1.0193–1.0216, 25 healthy
    ///   adults, relative to water at 4 °C), Trudnowski & Rico, Clin Chem 20:615 (1974);
    /// - viscosity μ = 1.39 mPa·s = 1.39 × 10⁻³ Pa·s (± 0.08 mPa·s SD), Rosenson, McCormick &
    ///   Uretz, Clin Chem 42:1189 (1996).
    pub fn plasma_37c() -> Fluid {
        Fluid {
            density: 1020.5,
            viscosity: 1.39e-3,
        }
    }

    /// Human plasma at room temperature, taken as 22 °C (processing of stored or
    /// extracorporeal blood at ambient temperature).
    ///
    /// - density ρ_f = 1026.7 kg/m³ (derived, not measured). Trudnowski & Rico (Clin Chem
    ///   20:615, 1974) give 1031.0 kg/m³ at 4 °C and 1020.5 kg/m³ at 37 °C. We write
    ///   ρ_plasma(T) = ρ_water(T) + Δ(T) with Δ, the solute excess, linear in T between the two
    ///   measurements: water 999.97 / 997.77 / 993.33 kg/m³ at 4 / 22 / 37 °C (Tanaka et al.,
    ///   Metrologia 38:301, 2001) gives Δ(4 °C) = 31.03, Δ(37 °C) = 27.17, Δ(22 °C) = 28.92 and
    ///   ρ(22 °C) = 1026.7 kg/m³. A straight line between the two measurements would give
    ///   1025.3 kg/m³; the difference (0.14 %) bounds the uncertainty of the interpolation.
    ///   Between 20 and 25 °C the value changes by about ∓1 kg/m³.
    /// - viscosity μ = 1.60 mPa·s = 1.60 × 10⁻³ Pa·s: middle of the 1.50–1.70 mPa·s range that
    ///   Rosenson et al. (Clin Chem 42:1189, 1996) report for plasma at room temperature.
    pub fn plasma_room_temperature() -> Fluid {
        Fluid {
            density: 1026.7,
            viscosity: 1.60e-3,
        }
    }

    /// Kinematic viscosity ν = μ / ρ_f (m²/s).
    pub fn kinematic_viscosity(&self) -> f64 {
        self.viscosity / self.density
    }

    /// Checks that both fields are finite and > 0 (useful after building the struct literally).
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] naming the offending field.
    pub fn validate(&self) -> Result<(), PhysicsError> {
        Fluid::new(self.density, self.viscosity).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units;

    #[test]
    fn new_rejects_non_physical_values() {
        assert!(Fluid::new(1000.0, 1e-3).is_ok());
        for (rho, mu) in [
            (0.0, 1e-3),
            (-1.0, 1e-3),
            (f64::NAN, 1e-3),
            (1000.0, 0.0),
            (1000.0, f64::INFINITY),
        ] {
            let err = Fluid::new(rho, mu).unwrap_err();
            assert!(
                matches!(err, PhysicsError::InvalidParameter { .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn presets_match_sources() {
        let p = Fluid::plasma_37c();
        assert_eq!(p.density, units::g_per_ml_to_kg_per_m3(1.0205));
        assert!((p.viscosity - units::mpa_s_to_pa_s(1.39)).abs() < 1e-18);
        p.validate().unwrap();

        let r = Fluid::plasma_room_temperature();
        r.validate().unwrap();
        // Colder plasma is denser and more viscous; the density lies between the 37 °C and
        // 4 °C measurements, and the viscosity inside Rosenson's 1.50–1.70 mPa·s range.
        assert!(r.density > p.density && r.density < 1031.0);
        assert!(r.viscosity >= 1.50e-3 && r.viscosity <= 1.70e-3);
        assert!((r.kinematic_viscosity() - 1.60e-3 / 1026.7).abs() < 1e-20);
    }

    #[test]
    fn room_temperature_density_derivation_reproduces() {
        // Re-derive the documented value: water + linear solute excess.
        let (w4, w22, w37) = (999.97, 997.77, 993.33);
        let (p4, p37) = (1031.0, 1020.5);
        let (d4, d37) = (p4 - w4, p37 - w37);
        let d22 = d4 + (d37 - d4) * (22.0 - 4.0) / (37.0 - 4.0);
        let rho22: f64 = w22 + d22;
        assert!(
            (rho22 - Fluid::plasma_room_temperature().density).abs() < 0.05,
            "{rho22}"
        );
    }
}
