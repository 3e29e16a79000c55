//! Effective (mixture) viscosity of concentrated suspensions: Krieger–Dougherty for rigid
//! particles and Quemada's structural model for blood (docs/physics.md §10.3).
//!
//! ## Symbols (SI)
//!
//! | symbol | meaning | unit |
//! |---|---|---|
//! | μ_f | viscosity of the suspending fluid (plasma) | Pa·s |
//! | μ_r = μ/μ_f | relative viscosity of the suspension | – |
//! | φ | volume fraction of the particles (hematocrit H for blood) | – |
//! | φ_m | maximum packing, where μ_r diverges | – |
//! | \[η\] | intrinsic viscosity (2.5 for rigid spheres, Einstein) | – |
//! | k | Quemada's structural ("effective intrinsic") viscosity, φ_m = 2/k | – |
//! | k₀, k_∞ | k at vanishing and at infinite shear (aggregated vs dispersed red cells) | – |
//! | γ̇, γ̇_c | shear rate and Quemada's critical shear rate | 1/s |
//!
//! These are *bulk* (Couette) laws: they hold where the suspension is a continuum on the scale
//! of the flow (channel depth ≫ cell size; the Fåhræus–Lindqvist reduction of tubes below
//! ~300 µm, Pries et al. 1992, does not apply to millimetre channels).

use crate::error::{PhysicsError, ensure_in_range, ensure_positive};

/// The Krieger–Dougherty law μ_r = (1 − φ/φ_m)^(−\[η\] φ_m) (Krieger & Dougherty, Trans Soc
/// Rheol 3:137, 1959).
///
/// - Reduces to Einstein's μ_r = 1 + \[η\]φ + O(φ²) as φ → 0 (for \[η\] = 2.5: rigid spheres).
/// - Diverges as (1 − φ/φ_m)^(−\[η\]φ_m) at the maximum packing; [`relative`](Self::relative)
///   returns `f64::INFINITY` for φ ≥ φ_m (a jammed bed that does not shear).
/// - Validity: non-Brownian, non-aggregating, Newtonian suspending fluid, the high-shear
///   (structure-independent) limit. For deformable red cells φ_m is an effective parameter
///   (red cells deform and pack above 0.9).
///
/// Phillips et al. (Phys Fluids A 4:30, 1992) used φ_m = 0.68 and \[η\]φ_m = 1.82 for rigid
/// spheres ([`KriegerDougherty::PHILLIPS_1992`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KriegerDougherty {
    /// maximum packing φ_m, in (0, 1]
    pub max_packing: f64,
    /// intrinsic viscosity \[η\] (> 0)
    pub intrinsic: f64,
}

impl KriegerDougherty {
    /// The rigid-sphere viscosity law of Phillips et al. (Phys Fluids A 4:30, 1992):
    /// φ_m = 0.68, exponent \[η\]φ_m = 1.82.
    pub const PHILLIPS_1992: KriegerDougherty = KriegerDougherty {
        max_packing: 0.68,
        intrinsic: 1.82 / 0.68,
    };

    /// A law with maximum packing `max_packing` φ_m ∈ [1e-6, 1] and intrinsic viscosity
    /// `intrinsic` \[η\] > 0.
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] outside these ranges.
    pub fn new(max_packing: f64, intrinsic: f64) -> Result<Self, PhysicsError> {
        ensure_in_range("Krieger-Dougherty maximum packing", max_packing, 1e-6, 1.0)?;
        ensure_positive("Krieger-Dougherty intrinsic viscosity", intrinsic)?;
        Ok(Self {
            max_packing,
            intrinsic,
        })
    }

    /// The exponent \[η\]φ_m.
    pub fn exponent(&self) -> f64 {
        self.intrinsic * self.max_packing
    }

    /// Relative viscosity μ_r(φ) (φ < 0 is taken as 0; `f64::INFINITY` for φ ≥ φ_m).
    pub fn relative(&self, phi: f64) -> f64 {
        let x = 1.0 - phi.max(0.0) / self.max_packing;
        if x <= 0.0 {
            f64::INFINITY
        } else {
            x.powf(-self.exponent())
        }
    }

    /// dμ_r/dφ = \[η\](1 − φ/φ_m)^(−\[η\]φ_m − 1) (`f64::INFINITY` for φ ≥ φ_m).
    pub fn derivative(&self, phi: f64) -> f64 {
        let x = 1.0 - phi.max(0.0) / self.max_packing;
        if x <= 0.0 {
            f64::INFINITY
        } else {
            self.intrinsic * x.powf(-self.exponent() - 1.0)
        }
    }
}

/// Quemada's viscosity law for concentrated, structured suspensions (Quemada, Rheol Acta
/// 17:632 and 17:643, 1978):
///
/// μ_r = (1 − ½ k φ)^(−2),  k(γ̇) = (k₀ + k_∞ √(γ̇/γ̇_c)) / (1 + √(γ̇/γ̇_c)).
///
/// k is the structural viscosity: k₀ at rest (red cells aggregated in rouleaux) and k_∞ at high
/// shear (dispersed, oriented cells); the effective maximum packing is 2/k. For whole blood the
/// three parameters depend on the hematocrit ([`Quemada::blood`]).
///
/// Validity: steady simple shear (no thixotropy), Newtonian plasma; μ_r = ∞ once ½kφ ≥ 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quemada {
    /// k₀, structural viscosity at vanishing shear
    pub k0: f64,
    /// k_∞, structural viscosity at infinite shear
    pub k_inf: f64,
    /// γ̇_c (1/s), critical shear rate of the structure
    pub critical_shear_rate: f64,
}

/// Allowed hematocrit of [`Quemada::blood`]: [0, 0.8]. The hematocrit fits (see there) are
/// used in the literature for H ≈ 0.1–0.7; outside that band they are an extrapolation.
pub const QUEMADA_BLOOD_HEMATOCRIT_RANGE: (f64, f64) = (0.0, 0.8);

impl Quemada {
    /// A Quemada law with `k0` ≥ 0, `k_inf` ≥ 0 and `critical_shear_rate` γ̇_c > 0 (1/s).
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] outside these ranges.
    pub fn new(k0: f64, k_inf: f64, critical_shear_rate: f64) -> Result<Self, PhysicsError> {
        ensure_in_range("Quemada k0", k0, 0.0, 1e3)?;
        ensure_in_range("Quemada k_inf", k_inf, 0.0, 1e3)?;
        ensure_positive("Quemada critical shear rate (1/s)", critical_shear_rate)?;
        Ok(Self {
            k0,
            k_inf,
            critical_shear_rate,
        })
    }

    /// Human blood at hematocrit `hematocrit` H: the exponential-cubic fits of the three Quemada
    /// parameters to Cokelet's Couette data (Cokelet, in *Handbook of Bioengineering*, Skalak &
    /// Chien eds., 1987; the form used by Neofytou, Biorheology 41:693, 2004 and
    /// Marcinkowska-Gapińska et al., Med Biol Eng Comput 45:837, 2007):
    ///
    /// - k_∞ = exp(1.3435 − 2.803 H + 2.711 H² − 0.6479 H³)
    /// - k₀ = exp(3.874 − 10.41 H + 13.8 H² − 6.738 H³)
    /// - γ̇_c = exp(−6.1508 + 27.923 H − 25.6 H² + 3.697 H³) s⁻¹
    ///
    /// At H = 0.45: k_∞ = 1.77, μ_r(γ̇ → ∞) = 2.77 (with μ_p = 1.2 mPa·s: 3.3 mPa·s, the
    /// textbook high-shear blood viscosity). The attribution of the fits to their primary
    /// source is unconfirmed in docs/physics.md §10.3 (the coefficients themselves are
    /// reproduced identically by independent implementations).
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] for H outside [`QUEMADA_BLOOD_HEMATOCRIT_RANGE`].
    pub fn blood(hematocrit: f64) -> Result<Self, PhysicsError> {
        let h = ensure_in_range(
            "hematocrit of the Quemada blood law",
            hematocrit,
            QUEMADA_BLOOD_HEMATOCRIT_RANGE.0,
            QUEMADA_BLOOD_HEMATOCRIT_RANGE.1,
        )?;
        let cubic = |c: [f64; 4]| (c[0] + h * (c[1] + h * (c[2] + h * c[3]))).exp();
        Ok(Self {
            k_inf: cubic([1.3435, -2.803, 2.711, -0.6479]),
            k0: cubic([3.874, -10.41, 13.8, -6.738]),
            critical_shear_rate: cubic([-6.1508, 27.923, -25.6, 3.697]),
        })
    }

    /// Structural viscosity k(γ̇) (γ̇ < 0 is taken as |γ̇|).
    pub fn structural(&self, shear_rate: f64) -> f64 {
        let x = (shear_rate.abs() / self.critical_shear_rate).sqrt();
        if x.is_infinite() {
            return self.k_inf;
        }
        (self.k0 + self.k_inf * x) / (1.0 + x)
    }

    /// Relative viscosity μ_r(φ, γ̇) = (1 − ½k(γ̇)φ)^(−2); `f64::INFINITY` once ½kφ ≥ 1.
    pub fn relative(&self, phi: f64, shear_rate: f64) -> f64 {
        let x = 1.0 - 0.5 * self.structural(shear_rate) * phi.max(0.0);
        if x <= 0.0 {
            f64::INFINITY
        } else {
            1.0 / (x * x)
        }
    }

    /// d(ln μ_r)/dφ = k/(1 − ½kφ) at fixed structure k(γ̇) (the parameters held constant; for
    /// [`Quemada::blood`] this neglects their own hematocrit dependence). This is the factor the
    /// viscosity-gradient flux of [`crate::shear_diffusion::PhillipsFlux`] needs
    /// ([`crate::shear_diffusion::PhillipsFlux::gradient_diffusivity_with`]). `f64::INFINITY`
    /// once ½kφ ≥ 1.
    pub fn log_derivative(&self, phi: f64, shear_rate: f64) -> f64 {
        let k = self.structural(shear_rate);
        let x = 1.0 - 0.5 * k * phi.max(0.0);
        if x <= 0.0 { f64::INFINITY } else { k / x }
    }
}

/// Relative viscosity of human blood at hematocrit `hematocrit` and shear rate `shear_rate`
/// (1/s): [`Quemada::blood`] evaluated at φ = H.
///
/// # Errors
/// As [`Quemada::blood`].
pub fn blood_relative_viscosity(hematocrit: f64, shear_rate: f64) -> Result<f64, PhysicsError> {
    Ok(Quemada::blood(hematocrit)?.relative(hematocrit, shear_rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krieger_dougherty_limits() {
        let kd = KriegerDougherty::new(0.64, 2.5).unwrap();
        // Einstein limit: μ_r = 1 + 2.5 φ + O(φ²)
        for phi in [1e-4, 1e-5, 1e-6] {
            let slope = (kd.relative(phi) - 1.0) / phi;
            assert!((slope - 2.5).abs() < 5.0 * phi * 2.5 * 2.5, "{slope}");
        }
        assert_eq!(kd.relative(0.0), 1.0);
        assert_eq!(kd.relative(-0.1), 1.0);
        // divergence at φ_m with the right exponent: μ_r(φ_m − ε) ε^{[η]φ_m} → φ_m^{[η]φ_m}
        for eps in [1e-3, 1e-6] {
            let scaled = kd.relative(0.64 - eps) * eps.powf(kd.exponent());
            assert!((scaled / 0.64f64.powf(kd.exponent()) - 1.0).abs() < 1e-9);
        }
        assert_eq!(kd.relative(0.64), f64::INFINITY);
        assert_eq!(kd.derivative(0.7), f64::INFINITY);
        // derivative against a central difference
        let phi = 0.3;
        let h = 1e-6;
        let fd = (kd.relative(phi + h) - kd.relative(phi - h)) / (2.0 * h);
        assert!((kd.derivative(phi) / fd - 1.0).abs() < 1e-8);
        // Phillips et al.: at φ = 0.5, (1 − 0.5/0.68)^-1.82
        let p = KriegerDougherty::PHILLIPS_1992;
        assert!((p.exponent() - 1.82).abs() < 1e-15);
        assert!((p.relative(0.5) - (1.0f64 - 0.5 / 0.68).powf(-1.82)).abs() < 1e-12);
        assert!(KriegerDougherty::new(0.0, 2.5).is_err());
        assert!(KriegerDougherty::new(0.6, -1.0).is_err());
        assert!(KriegerDougherty::new(f64::NAN, 2.5).is_err());
    }

    #[test]
    fn quemada_blood_at_normal_hematocrit() {
        let q = Quemada::blood(0.45).unwrap();
        assert!((q.k_inf - 1.7720).abs() < 1e-3, "{}", q.k_inf);
        assert!((q.k0 - 3.935).abs() < 5e-3, "{}", q.k0);
        // high shear: 2.77 × plasma (≈ 3.3 mPa s with 1.2 mPa s plasma)
        let high = q.relative(0.45, 1e12);
        assert!((high - 2.766).abs() < 0.01, "{high}");
        // shear thinning: μ decreases monotonically with γ̇
        let mut last = f64::INFINITY;
        for k in 0..20 {
            let g = 10f64.powf(-2.0 + 0.3 * k as f64);
            let mu = q.relative(0.45, g);
            assert!(mu < last, "{g}");
            last = mu;
        }
        // k(γ̇_c) is the mean of k0 and k_inf
        let mid = q.structural(q.critical_shear_rate);
        assert!((mid - 0.5 * (q.k0 + q.k_inf)).abs() < 1e-14);
        // zero hematocrit: plasma
        assert_eq!(blood_relative_viscosity(0.0, 100.0).unwrap(), 1.0);
        // viscosity rises with hematocrit at fixed high shear
        let mut last = 1.0;
        for k in 1..=14 {
            let h = 0.05 * k as f64;
            let mu = blood_relative_viscosity(h, 1000.0).unwrap();
            assert!(mu > last, "{h}");
            last = mu;
        }
        assert!(Quemada::blood(0.9).is_err());
        assert!(Quemada::new(4.0, 1.8, 0.0).is_err());
    }

    #[test]
    fn quemada_diverges_at_its_packing() {
        let q = Quemada::new(2.0, 2.0, 1.0).unwrap(); // φ_m = 1
        assert_eq!(q.relative(1.0, 5.0), f64::INFINITY);
        assert!((q.relative(0.5, 5.0) - 4.0).abs() < 1e-14);
        assert_eq!(q.structural(f64::INFINITY), 2.0);
        // log-derivative against a central difference at fixed structure
        let q = Quemada::new(3.9, 1.77, 0.3).unwrap();
        for (phi, g) in [(0.3, 0.1), (0.45, 10.0), (0.6, 1000.0)] {
            let h = 1e-6;
            let fd = (q.relative(phi + h, g).ln() - q.relative(phi - h, g).ln()) / (2.0 * h);
            assert!(
                (q.log_derivative(phi, g) / fd - 1.0).abs() < 1e-8,
                "{phi} {g}"
            );
        }
        assert_eq!(q.log_derivative(1.5, 1e9), f64::INFINITY);
    }
}
