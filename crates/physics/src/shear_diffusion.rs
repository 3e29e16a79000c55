//! Shear-induced (hydrodynamic) diffusion of particles across the streamlines of a sheared
//! suspension (docs/physics.md §10.2).
//!
//! In a non-Brownian suspension under shear, irreversible particle–particle encounters displace
//! particles across streamlines by O(a) at a rate O(γ̇φ): a random walk with a diffusivity
//! D = a² γ̇ f(φ) (Eckstein, Bailey & Shapiro, J Fluid Mech 79:191, 1977; Leighton & Acrivos,
//! J Fluid Mech 177:109, 1987 and 181:415, 1987). Two coefficients matter for a continuum model:
//!
//! - the **gradient (collective) diffusivity** of the concentrated phase itself (red cells in
//!   blood): it spreads concentration gradients; modelled here by the diffusive-flux model of
//!   Phillips et al. ([`PhillipsFlux`]);
//! - the **tracer diffusivity** of a dilute minor particle (platelets, white cells, beads)
//!   among the concentrated carrier ([`dilute_tracer_diffusivity`]): the carrier's encounters
//!   kick the tracer, so the length scale is the *carrier* radius.
//!
//! ## Symbols (SI)
//!
//! | symbol | meaning | unit |
//! |---|---|---|
//! | a | particle radius (sphere-equivalent; carrier radius for a tracer) | m |
//! | γ̇ | local shear rate | 1/s |
//! | φ | volume fraction of the concentrated phase (hematocrit H) | – |
//! | μ_r(φ) | relative viscosity of the suspension | – |
//! | K_c, K_η | Phillips et al. collision and viscosity-gradient coefficients | – |
//! | D | diffusivity | m²/s |
//!
//! Validity: Stokes flow around the particles (particle Reynolds number a²γ̇/ν ≪ 1), particle
//! Péclet number a²γ̇/D_Brownian ≫ 1 (true for cells above ~1 s⁻¹), a shear rate that varies
//! slowly on the scale a, a continuum (depth ≫ a). Red cells deform, align and aggregate: the
//! rigid-sphere coefficients are an order-of-magnitude guide only, and the red-cell values in
//! docs/physics.md §10.2 should be preferred where they exist.

use crate::error::{PhysicsError, ensure_in_range, ensure_non_negative};
use crate::viscosity::KriegerDougherty;

/// The diffusive-flux model of Phillips, Armstrong, Brown, Graham & Abbott (Phys Fluids A
/// 4:30, 1992). The particle flux relative to the mixture is the sum of a flux down gradients
/// of the collision frequency γ̇φ and one down gradients of the viscosity:
///
/// N = −K_c a² φ ∇(γ̇ φ) − K_η a² γ̇ φ² (1/μ) (dμ/dφ) ∇φ.
///
/// In one dimension this is a gradient diffusion with coefficient
/// D(φ) = a² γ̇ [K_c φ + K_η φ² d(ln μ_r)/dφ] ([`gradient_diffusivity`](Self::gradient_diffusivity))
/// plus a shear-gradient drift −K_c a² φ² ∂γ̇/∂y ([`shear_gradient_coefficient`](Self::shear_gradient_coefficient)).
///
/// Limits: D ≈ K_c a²γ̇ φ as φ → 0 (the viscosity term is O(φ²)); D → ∞ as φ → φ_m through
/// d ln μ_r/dφ (the model keeps the packed bed from over-packing).
///
/// [`PhillipsFlux::PHILLIPS_1992`] has the published K_c = 0.41, K_η = 0.62 (fitted to
/// Couette-cell migration data of rigid spheres, with the Krieger viscosity φ_m = 0.68,
/// exponent 1.82).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhillipsFlux {
    /// K_c, coefficient of the collision-frequency gradient flux
    pub k_c: f64,
    /// K_η, coefficient of the viscosity gradient flux
    pub k_eta: f64,
    /// the suspension viscosity law μ_r(φ)
    pub viscosity: KriegerDougherty,
}

impl PhillipsFlux {
    /// Phillips et al. (1992): K_c = 0.41, K_η = 0.62, viscosity (1 − φ/0.68)^(−1.82).
    pub const PHILLIPS_1992: PhillipsFlux = PhillipsFlux {
        k_c: 0.41,
        k_eta: 0.62,
        viscosity: KriegerDougherty::PHILLIPS_1992,
    };

    /// A model with coefficients `k_c`, `k_eta` in [0, 10] and the viscosity law `viscosity`.
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] for coefficients outside [0, 10].
    pub fn new(k_c: f64, k_eta: f64, viscosity: KriegerDougherty) -> Result<Self, PhysicsError> {
        ensure_in_range("Phillips K_c", k_c, 0.0, 10.0)?;
        ensure_in_range("Phillips K_eta", k_eta, 0.0, 10.0)?;
        Ok(Self {
            k_c,
            k_eta,
            viscosity,
        })
    }

    /// Dimensionless gradient diffusivity f(φ) = D/(a²γ̇) = K_c φ + K_η φ² d(ln μ_r)/dφ, with
    /// d ln μ_r/dφ = \[η\]/(1 − φ/φ_m) for the Krieger–Dougherty law. `f64::INFINITY` at and
    /// above φ_m; 0 for φ ≤ 0.
    pub fn dimensionless(&self, phi: f64) -> f64 {
        if phi <= 0.0 {
            return 0.0;
        }
        let x = 1.0 - phi / self.viscosity.max_packing;
        if x <= 0.0 {
            return f64::INFINITY;
        }
        self.k_c * phi + self.k_eta * phi * phi * self.viscosity.intrinsic / x
    }

    /// Gradient diffusivity D (m²/s) of particles of radius `radius` a (m) at shear rate
    /// `shear_rate` γ̇ (1/s, its magnitude is used) and volume fraction `phi`:
    /// D = a²|γ̇| f(φ) ([`dimensionless`](Self::dimensionless)).
    pub fn gradient_diffusivity(&self, radius: f64, shear_rate: f64, phi: f64) -> f64 {
        let f = self.dimensionless(phi);
        if f == 0.0 {
            return 0.0;
        }
        radius * radius * shear_rate.abs() * f
    }

    /// Gradient diffusivity D (m²/s) with the viscosity law given by its logarithmic derivative
    /// `dln_mu_dphi` = d(ln μ_r)/dφ at `phi` instead of [`PhillipsFlux::viscosity`] — e.g. the
    /// red-cell phase with [`crate::viscosity::Quemada::log_derivative`]:
    /// D = a²|γ̇| [K_c φ + K_η φ² d ln μ_r/dφ]. 0 for φ ≤ 0; `f64::INFINITY` if the derivative is.
    pub fn gradient_diffusivity_with(
        &self,
        radius: f64,
        shear_rate: f64,
        phi: f64,
        dln_mu_dphi: f64,
    ) -> f64 {
        if phi <= 0.0 {
            return 0.0;
        }
        if dln_mu_dphi.is_infinite() {
            return f64::INFINITY;
        }
        radius * radius * shear_rate.abs() * (self.k_c * phi + self.k_eta * phi * phi * dln_mu_dphi)
    }

    /// Coefficient K_c a² φ² (m²) of the shear-rate-gradient flux N_γ = −K_c a² φ² ∂γ̇/∂y,
    /// which drives particles from high to low shear (towards the centre of a channel flow).
    pub fn shear_gradient_coefficient(&self, radius: f64, phi: f64) -> f64 {
        let p = phi.max(0.0);
        self.k_c * radius * radius * p * p
    }
}

/// Leighton & Acrivos's correlation for the dimensionless gradient (down-gradient) diffusivity
/// of rigid spheres, D/(a²γ̇) = φ²(1 + ½ e^{8.8φ})/3 (Leighton & Acrivos, Chem Eng Sci
/// 41:1377, 1986, viscous resuspension; exact form quoted from the secondary literature,
/// unconfirmed in docs/physics.md §10.2). Behaves as φ²/2 as φ → 0 (pair encounters need two
/// particles, hence φ² rather than the φ of the Phillips collision term). Valid for φ ≲ 0.5.
/// 0 for φ ≤ 0.
pub fn leighton_acrivos_gradient(phi: f64) -> f64 {
    if phi <= 0.0 {
        return 0.0;
    }
    phi * phi * (1.0 + 0.5 * (8.8 * phi).exp()) / 3.0
}

/// Coefficient of the Zydney–Colton form of the tracer diffusivity in a red-cell suspension,
/// D = K a_c² γ̇ H (1 − H)^0.8 with K = 0.15 (Zydney & Colton, PhysicoChem Hydrodyn 10:77,
/// 1988; unconfirmed in docs/physics.md §10.2).
pub const ZYDNEY_COLTON_COEFFICIENT: f64 = 0.15;

/// Exponent 0.8 of (1 − H) in the Zydney–Colton tracer diffusivity.
pub const ZYDNEY_COLTON_EXPONENT: f64 = 0.8;

/// Shear-induced diffusivity (m²/s) of a dilute minor particle (platelet, white cell, bead)
/// among red cells of radius `carrier_radius` a_c (m, the red-cell half-diameter in the
/// Zydney–Colton correlation) at hematocrit `hematocrit` H and shear rate `shear_rate` γ̇
/// (1/s, magnitude used):
///
/// D = K a_c² |γ̇| H (1 − H)^0.8,  K = `coefficient` (≥ 0, [`ZYDNEY_COLTON_COEFFICIENT`]).
///
/// The carrier's pair encounters set the length a_c and the rate γ̇H; the factor (1 − H)^0.8
/// makes the motion vanish in a fully packed bed. Independent of the tracer's own size to
/// this order (it is a passive tracer of the red-cell motion).
///
/// # Errors
/// [`PhysicsError::InvalidParameter`] for a negative or non-finite radius or coefficient, or
/// H outside [0, 1].
pub fn dilute_tracer_diffusivity(
    carrier_radius: f64,
    shear_rate: f64,
    hematocrit: f64,
    coefficient: f64,
) -> Result<f64, PhysicsError> {
    ensure_non_negative("carrier radius (m)", carrier_radius)?;
    ensure_non_negative("tracer diffusivity coefficient", coefficient)?;
    let h = ensure_in_range("hematocrit", hematocrit, 0.0, 1.0)?;
    if !shear_rate.is_finite() {
        return Err(PhysicsError::invalid(
            "shear rate (1/s)",
            shear_rate,
            "finite",
        ));
    }
    Ok(coefficient
        * carrier_radius
        * carrier_radius
        * shear_rate.abs()
        * h
        * (1.0 - h).powf(ZYDNEY_COLTON_EXPONENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phillips_dilute_and_packing_limits() {
        let p = PhillipsFlux::PHILLIPS_1992;
        assert_eq!(p.dimensionless(0.0), 0.0);
        assert_eq!(p.dimensionless(-0.1), 0.0);
        // φ → 0: f ≈ K_c φ, correction O(φ²)
        for phi in [1e-3, 1e-5] {
            let ratio = p.dimensionless(phi) / (0.41 * phi);
            let second = 0.62 * (1.82 / 0.68) / 0.41 * phi;
            assert!((ratio - 1.0 - second).abs() < 3.0 * second * phi / 0.68 + 1e-14);
        }
        // φ → φ_m: divergence as 1/(1 − φ/φ_m) with the viscosity coefficient
        for eps in [1e-4, 1e-8] {
            let phi = 0.68 * (1.0 - eps);
            let scaled = p.dimensionless(phi) * eps;
            let expect = 0.62 * phi * phi * (1.82 / 0.68);
            assert!((scaled / expect - 1.0).abs() < 1e-3, "{scaled} {expect}");
        }
        assert_eq!(p.dimensionless(0.68), f64::INFINITY);
        // the viscosity term is K_η φ² μ'/μ: compare with a finite difference of ln μ_r
        let phi = 0.4;
        let h = 1e-6;
        let dlnmu =
            (p.viscosity.relative(phi + h).ln() - p.viscosity.relative(phi - h).ln()) / (2.0 * h);
        let expect = 0.41 * phi + 0.62 * phi * phi * dlnmu;
        assert!((p.dimensionless(phi) / expect - 1.0).abs() < 1e-8);
        // dimensional: a = 2.8 µm, γ̇ = 100/s, φ = 0.4
        let d = p.gradient_diffusivity(2.8e-6, -100.0, 0.4);
        assert!((d - 2.8e-6f64.powi(2) * 100.0 * p.dimensionless(0.4)).abs() < 1e-25);
        assert!((p.shear_gradient_coefficient(1.0, 0.5) - 0.41 * 0.25).abs() < 1e-15);
        assert!(PhillipsFlux::new(-0.1, 0.6, KriegerDougherty::PHILLIPS_1992).is_err());
        // the general form with the Krieger–Dougherty log-derivative [η]/(1 − φ/φ_m) is the same
        let dln = (1.82 / 0.68) / (1.0 - 0.4 / 0.68);
        let general = p.gradient_diffusivity_with(2.8e-6, 100.0, 0.4, dln);
        assert!((general / p.gradient_diffusivity(2.8e-6, 100.0, 0.4) - 1.0).abs() < 1e-14);
        // red cells with the Quemada blood law at H = 0.45, γ̇ = 17/s (the channel's wall
        // shear): finite, and larger than the collision term alone
        let q = crate::viscosity::Quemada::blood(0.45).unwrap();
        let d_rbc = p.gradient_diffusivity_with(2.8e-6, 17.0, 0.45, q.log_derivative(0.45, 17.0));
        assert!(d_rbc.is_finite() && d_rbc > 0.41 * 0.45 * 2.8e-6f64.powi(2) * 17.0);
        assert_eq!(p.gradient_diffusivity_with(1.0, 1.0, 0.0, 5.0), 0.0);
    }

    #[test]
    fn leighton_acrivos_limits() {
        // φ → 0: φ²/2
        for phi in [1e-4, 1e-6] {
            let ratio = leighton_acrivos_gradient(phi) / (0.5 * phi * phi);
            assert!((ratio - 1.0).abs() < 4.0 * phi, "{ratio}");
        }
        // hand value at φ = 0.3: 0.09 (1 + ½ e^{2.64}) / 3
        let expect = 0.09 * (1.0 + 0.5 * 2.64f64.exp()) / 3.0;
        assert!((leighton_acrivos_gradient(0.3) - expect).abs() < 1e-15);
        assert_eq!(leighton_acrivos_gradient(0.0), 0.0);
    }

    #[test]
    fn tracer_diffusivity_limits_and_errors() {
        let d = |h: f64| dilute_tracer_diffusivity(4.2e-6, 100.0, h, 0.15).unwrap();
        assert_eq!(d(0.0), 0.0);
        assert_eq!(d(1.0), 0.0);
        // linear in H as H → 0
        let slope = d(1e-6) / 1e-6;
        assert!((slope / (0.15 * 4.2e-6f64.powi(2) * 100.0) - 1.0).abs() < 1e-5);
        // maximum of H(1 − H)^0.8 at H = 1/1.8
        let hmax = 1.0 / 1.8;
        assert!(d(hmax) > d(hmax - 1e-3) && d(hmax) > d(hmax + 1e-3));
        // H = 0.4, γ̇ = 100/s: 0.15 (4.2 µm)² 100 × 0.4 × 0.6^0.8 ≈ 7.0e-11 m²/s
        assert!((d(0.4) - 7.04e-11).abs() < 0.02e-11, "{}", d(0.4));
        assert!(dilute_tracer_diffusivity(4.2e-6, 100.0, 1.2, 0.15).is_err());
        assert!(dilute_tracer_diffusivity(-1.0, 100.0, 0.4, 0.15).is_err());
        assert!(dilute_tracer_diffusivity(4.2e-6, f64::NAN, 0.4, 0.15).is_err());
    }
}
