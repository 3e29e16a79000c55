//! Hindered settling: hindrance laws and the Masliyah–Lockett–Bassoon (MLB) polydisperse
//! velocities.
//!
//! ## Symbols (SI)
//!
//! | symbol | meaning | unit |
//! |---|---|---|
//! | a | acceleration driving the settling (ω²r in a centrifuge, g at 1 g) | m/s² |
//! | ρ_f, μ | density and dynamic viscosity of the suspending fluid | kg/m³, Pa·s |
//! | d_j, ρ_j, χ_j | sphere-equivalent diameter, density and dynamic shape factor of class j | m, kg/m³, – |
//! | φ_j, φ = Σφ_j | volume fraction of class j and of all solids | – |
//! | ρ_s = ρ_f(1 − φ) + Σρ_jφ_j | density of the suspension (mixture) | kg/m³ |
//! | V(φ) | hindrance ("velocity") factor of the MLB model | – |
//! | h(φ) = (1 − φ)² V(φ) | monodisperse hindered-settling function, u = s a h(φ) | – |
//! | s = d²(ρ_p − ρ_f)/(18 μ χ) | sedimentation coefficient | s |
//!
//! ## MLB velocities
//!
//! Masliyah (Chem Eng Sci 34:1166, 1979) and Lockett & Bassoon (Powder Technol 24:1, 1979) set
//! the slip velocity of class i against the fluid to u_i − u_f = a d_i² V(φ)(ρ_i − ρ_s)/(18 μ χ_i):
//! a Stokes velocity with the particle's buoyancy taken against the *suspension* density ρ_s
//! and hindered by V(φ). In a closed vessel (batch settling, no through-flow) the volume
//! average velocity vanishes, Σφ_iu_i + (1 − φ)u_f = 0, which gives (form of Bürger, Concha,
//! Fjelde & Karlsen, Powder Technol 113:30, 2000, eq. 9; with the shape factor χ_j dividing
//! each Stokes term as in [`crate::forces::sedimentation_coefficient`])
//!
//! u_i = a V(φ)/(18 μ) · [ d_i²(ρ_i − ρ_s)/χ_i − Σ_j φ_j d_j²(ρ_j − ρ_s)/χ_j ].
//!
//! For one species ρ_i − ρ_s = (ρ_i − ρ_f)(1 − φ), so u = s a (1 − φ)² V(φ) = s a h(φ): the MLB
//! model reduces exactly to the monodisperse law h. A cell lighter than the suspension
//! (ρ_i < ρ_s, e.g. a lymphocyte in a packed red-cell bed, ρ_s ≈ 1088 kg/m³) moves inward: this is
//! how the buffy coat forms (docs/physics.md §4.4).
//!
//! Validity: creeping flow around every particle (Re ≪ 1; Richardson–Zaki's n = 4.65 is the
//! Re < 0.2 value), particles much smaller than the vessel, no flocculation, no compression of
//! the bed (effective solid stress neglected), Newtonian fluid. Polydisperse MLB systems can lose
//! hyperbolicity for some parameter combinations (Bürger, Karlsen, Tory & Wendland, ZAMM 82:699,
//! 2002), which signals instabilities of the physical suspension, not of the formula.

use crate::error::{PhysicsError, ensure_in_range};

/// Richardson–Zaki exponent for particle Reynolds numbers below 0.2 (Richardson & Zaki, Trans
/// IChemE 32:35, 1954). Cells settle at Re ≤ 10⁻², well inside that range.
pub const RICHARDSON_ZAKI_LOW_RE_EXPONENT: f64 = 4.65;

/// Hawksley's crowding constant 39/64 (Hawksley 1951), the coefficient k in
/// exp[−2.5φ/(1 − kφ)].
pub const HAWKSLEY_CROWDING: f64 = 39.0 / 64.0;

/// Allowed range of the maximum packing φ_max: (0, 1), written as the closed interval
/// [1e-6, 0.999] so that 1 − φ stays bounded away from 0 for every law.
pub const MAX_PACKING_RANGE: (f64, f64) = (1e-6, 0.999);

/// Allowed range of the Richardson–Zaki exponent n: [0, 20]. Measured values lie in 2.4–4.65;
/// n = 1 is accepted for the closed-form Anestis–Schneider test solution.
pub const EXPONENT_RANGE: (f64, f64) = (0.0, 20.0);

/// A hindrance law: the velocity factor V(φ) of the MLB model, with a maximum packing φ_max at
/// and above which nothing moves (V = 0).
///
/// The cut-off makes V discontinuous at φ_max (V(φ_max⁻) > 0); numerical schemes must handle
/// it (the field solver caps the volume flux into nearly packed cells).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HindranceLaw {
    /// Richardson–Zaki (Trans IChemE 32:35, 1954): V(φ) = (1 − φ)^(n−2) for φ < φ_max, 0 at or
    /// above φ_max, so one species settles with u = s a (1 − φ)^n exactly. n = 4.65 for
    /// Re < 0.2 ([`RICHARDSON_ZAKI_LOW_RE_EXPONENT`]). Valid for non-colloidal spheres of
    /// uniform size at Re < 0.2 up to concentrated suspensions; for blood it is a fit.
    RichardsonZaki {
        /// exponent n (dimensionless), in [`EXPONENT_RANGE`]
        exponent: f64,
        /// maximum packing φ_max, in [`MAX_PACKING_RANGE`]
        max_packing: f64,
    },
    /// Hawksley–Vand: h(φ) = (1 − φ)² exp[−2.5φ/(1 − 39φ/64)] (Hawksley, in *Some Aspects of
    /// Fluid Flow*, Arnold 1951; used for red-cell sedimentation e.g. by Lueptow & Hübler,
    /// J Biomech Eng 113:485, 1991), i.e. V(φ) = exp[−2.5φ/(1 − 39φ/64)] for φ < φ_max and 0 at
    /// or above. The exponent is Einstein's 2.5 with Vand's crowding correction; the formula is
    /// singular at φ = 64/39 > 1, so it is finite on the whole admissible range.
    HawksleyVand {
        /// maximum packing φ_max, in [`MAX_PACKING_RANGE`]
        max_packing: f64,
    },
}

impl HindranceLaw {
    /// A validated Richardson–Zaki law with exponent `exponent` and maximum packing
    /// `max_packing`.
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] if n is outside [`EXPONENT_RANGE`] or φ_max outside
    /// [`MAX_PACKING_RANGE`].
    pub fn richardson_zaki(exponent: f64, max_packing: f64) -> Result<Self, PhysicsError> {
        let law = HindranceLaw::RichardsonZaki {
            exponent,
            max_packing,
        };
        law.validate()?;
        Ok(law)
    }

    /// A validated Hawksley–Vand law with maximum packing `max_packing`.
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] if φ_max is outside [`MAX_PACKING_RANGE`].
    pub fn hawksley_vand(max_packing: f64) -> Result<Self, PhysicsError> {
        let law = HindranceLaw::HawksleyVand { max_packing };
        law.validate()?;
        Ok(law)
    }

    /// Checks the parameters (useful after building the enum literally).
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] naming the offending parameter.
    pub fn validate(&self) -> Result<(), PhysicsError> {
        let (lo, hi) = MAX_PACKING_RANGE;
        ensure_in_range("hindrance max_packing", self.max_packing(), lo, hi)?;
        if let HindranceLaw::RichardsonZaki { exponent, .. } = *self {
            let (lo, hi) = EXPONENT_RANGE;
            ensure_in_range("hindrance exponent", exponent, lo, hi)?;
        }
        Ok(())
    }

    /// Maximum packing φ_max.
    #[inline]
    pub fn max_packing(&self) -> f64 {
        match *self {
            HindranceLaw::RichardsonZaki { max_packing, .. }
            | HindranceLaw::HawksleyVand { max_packing } => max_packing,
        }
    }

    /// The MLB velocity factor V(φ) (dimensionless) at total solids fraction `phi`; 0 for
    /// φ ≥ φ_max. For φ < 0 (round-off) it is evaluated at 0.
    #[inline]
    pub fn velocity_factor(&self, phi: f64) -> f64 {
        self.velocity_factor_and_derivative(phi).0
    }

    /// V(φ) and its derivative dV/dφ (both 0 for φ ≥ φ_max; the jump at φ_max is not
    /// represented):
    ///
    /// - Richardson–Zaki: V = (1 − φ)^(n−2), dV/dφ = −(n − 2) V/(1 − φ);
    /// - Hawksley–Vand: V = exp[−2.5φ/(1 − kφ)], dV/dφ = −2.5 V/(1 − kφ)², k = 39/64.
    ///
    /// One `powf` (RZ) or one `exp` (HV) per call.
    #[inline]
    pub fn velocity_factor_and_derivative(&self, phi: f64) -> (f64, f64) {
        let phi = phi.max(0.0);
        match *self {
            HindranceLaw::RichardsonZaki {
                exponent,
                max_packing,
            } => {
                if phi >= max_packing {
                    return (0.0, 0.0);
                }
                let free = 1.0 - phi;
                let m = exponent - 2.0;
                let v = free.powf(m);
                (v, -m * v / free)
            }
            HindranceLaw::HawksleyVand { max_packing } => {
                if phi >= max_packing {
                    return (0.0, 0.0);
                }
                let crowd = 1.0 / (1.0 - HAWKSLEY_CROWDING * phi);
                let v = (-2.5 * phi * crowd).exp();
                (v, -2.5 * v * crowd * crowd)
            }
        }
    }

    /// The monodisperse hindered-settling function h(φ) = (1 − φ)² V(φ): one species settles
    /// with u = s a h(φ). Richardson–Zaki: (1 − φ)^n; Hawksley–Vand: (1 − φ)² exp[…]. Zero at or
    /// above φ_max.
    #[inline]
    pub fn hindered_settling_function(&self, phi: f64) -> f64 {
        let free = 1.0 - phi.max(0.0);
        free * free * self.velocity_factor(phi)
    }
}

/// Red-cell aggregation (rouleaux) calibrated to an erythrocyte sedimentation rate.
///
/// In plasma at rest, red cells aggregate (fibrinogen-mediated rouleaux that gather into
/// roughly spherical clusters) and sediment as aggregates; this is what the Westergren ESR
/// measures (ICSH review, Jou et al., Int J Lab Hematol 33:125, 2011; normal upper limits
/// 15–20 mm/h). Treating an aggregate of N cells as a sphere of N cell volumes, its
/// sedimentation coefficient is N^(2/3) times a single cell's. A suspension of hematocrit φ
/// settling at 1 g with interface speed `esr` (m/s) then has N = [esr / (s g h(φ))]^(3/2), with
/// s the single-cell sedimentation coefficient (s), g = g₀ and h the hindered settling function
/// of `law`. Validity: an order-of-magnitude closure — aggregates deform and may be partly
/// disrupted by the sedimentation shear in strong fields (stress ≈ μu/d ≈ 0.1 Pa at ~1000 g,
/// comparable to disaggregation thresholds of 0.1–0.5 Pa).
pub fn aggregate_cells_from_esr(
    esr: f64,
    hematocrit: f64,
    single_cell_s: f64,
    law: &HindranceLaw,
) -> f64 {
    let single =
        single_cell_s * crate::units::STANDARD_GRAVITY * law.hindered_settling_function(hematocrit);
    (esr / single).powf(1.5).max(1.0)
}

/// One particle class of the MLB model (SI).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlbClass {
    /// sphere-equivalent diameter d (m)
    pub diameter: f64,
    /// density ρ (kg/m³)
    pub density: f64,
    /// dynamic shape factor χ ≥ 1 (dimensionless)
    pub shape_factor: f64,
}

impl MlbClass {
    /// The Stokes mobility factor d²/χ (m²).
    #[inline]
    pub fn mobility(&self) -> f64 {
        self.diameter * self.diameter / self.shape_factor
    }
}

/// The local mixture as seen by one particle in the MLB model: everything in u_i that does
/// not depend on the particle itself. With it the velocity of any particle (d, ρ, χ) is
/// u = a · `factor` · [d²(ρ − ρ_s)/χ − `mean_buoyancy_term`], see [`MlbMixture::velocity`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlbMixture {
    /// total solids fraction φ = Σφ_j
    pub total_fraction: f64,
    /// suspension density ρ_s = ρ_f(1 − φ) + Σρ_jφ_j (kg/m³)
    pub suspension_density: f64,
    /// Σ_j φ_j d_j²(ρ_j − ρ_s)/χ_j (kg/m)
    pub mean_buoyancy_term: f64,
    /// V(φ)/(18 μ) (1/(Pa·s))
    pub factor: f64,
}

impl MlbMixture {
    /// The mixture of `classes` at volume fractions `phi` (same length) in a fluid of density
    /// `fluid_density` (kg/m³) and viscosity `viscosity` (Pa·s), hindered by `law`.
    ///
    /// # Panics
    /// If `classes` and `phi` differ in length.
    pub fn new(
        law: &HindranceLaw,
        fluid_density: f64,
        viscosity: f64,
        classes: &[MlbClass],
        phi: &[f64],
    ) -> Self {
        assert_eq!(classes.len(), phi.len(), "one volume fraction per class");
        let mut total = 0.0;
        let mut excess = 0.0; // Σ (ρ_j − ρ_f) φ_j = ρ_s − ρ_f
        for (c, &p) in classes.iter().zip(phi) {
            total += p;
            excess += (c.density - fluid_density) * p;
        }
        let suspension_density = fluid_density + excess;
        let mut mean = 0.0;
        for (c, &p) in classes.iter().zip(phi) {
            mean += p * c.mobility() * (c.density - suspension_density);
        }
        Self {
            total_fraction: total,
            suspension_density,
            mean_buoyancy_term: mean,
            factor: law.velocity_factor(total) / (18.0 * viscosity),
        }
    }

    /// Velocity (m/s, positive along the acceleration) of a particle with diameter `d` (m),
    /// density `density` (kg/m³) and shape factor `shape_factor` in this mixture under
    /// acceleration `acceleration` (m/s²): u = a V/(18μ)·[d²(ρ − ρ_s)/χ − Σφ_jd_j²(ρ_j − ρ_s)/χ_j].
    #[inline]
    pub fn velocity(&self, acceleration: f64, d: f64, density: f64, shape_factor: f64) -> f64 {
        acceleration
            * self.factor
            * (d * d * (density - self.suspension_density) / shape_factor - self.mean_buoyancy_term)
    }
}

/// MLB velocities u_i (m/s, positive along the acceleration) of every class, written into
/// `out` (allocation-free): u_i = a V(φ)/(18 μ) · [d_i²(ρ_i − ρ_s)/χ_i − Σ_j φ_j d_j²(ρ_j − ρ_s)/χ_j]
/// (see the module documentation for symbols, source and validity).
///
/// `acceleration` a (m/s²), `fluid_density` ρ_f (kg/m³), `viscosity` μ (Pa·s).
///
/// # Panics
/// If `classes`, `phi` and `out` differ in length.
pub fn mlb_velocities(
    law: &HindranceLaw,
    acceleration: f64,
    fluid_density: f64,
    viscosity: f64,
    classes: &[MlbClass],
    phi: &[f64],
    out: &mut [f64],
) {
    assert_eq!(classes.len(), out.len(), "one output slot per class");
    let mix = MlbMixture::new(law, fluid_density, viscosity, classes, phi);
    for (c, u) in classes.iter().zip(out.iter_mut()) {
        *u = mix.velocity(acceleration, c.diameter, c.density, c.shape_factor);
    }
}

/// The MLB velocity (m/s) of a *test particle* (d, ρ, χ) — any cell, not necessarily one of the
/// classes — in the local mixture of `classes` at fractions `phi`. The test particle does not
/// contribute to the mixture (a dilute tracer). Same formula and units as [`mlb_velocities`].
pub fn mlb_test_particle_velocity(
    law: &HindranceLaw,
    acceleration: f64,
    fluid_density: f64,
    viscosity: f64,
    classes: &[MlbClass],
    phi: &[f64],
    particle: &MlbClass,
) -> f64 {
    MlbMixture::new(law, fluid_density, viscosity, classes, phi).velocity(
        acceleration,
        particle.diameter,
        particle.density,
        particle.shape_factor,
    )
}

/// The fluid velocity u_f = −Σφ_iu_i/(1 − φ) (m/s) implied by zero net volume flux, given the
/// class velocities `velocities` at fractions `phi`.
pub fn fluid_velocity(phi: &[f64], velocities: &[f64]) -> f64 {
    let total: f64 = phi.iter().sum();
    let flux: f64 = phi.iter().zip(velocities).map(|(p, u)| p * u).sum();
    -flux / (1.0 - total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forces::sedimentation_coefficient;

    const RHO_F: f64 = 1020.5;
    const MU: f64 = 1.39e-3;

    fn rbc() -> MlbClass {
        MlbClass {
            diameter: 5.5e-6,
            density: 1095.0,
            shape_factor: 1.09,
        }
    }

    #[test]
    fn one_species_reduces_to_richardson_zaki_exactly() {
        let law = HindranceLaw::richardson_zaki(4.65, 0.9).unwrap();
        let c = rbc();
        let s = sedimentation_coefficient(c.diameter, c.density, RHO_F, MU, c.shape_factor);
        let a = 1.3e4;
        let mut u = [0.0];
        for k in 0..90 {
            let phi = k as f64 / 100.0;
            mlb_velocities(&law, a, RHO_F, MU, &[c], &[phi], &mut u);
            let rz = s * a * (1.0 - phi).powf(4.65);
            assert!(
                (u[0] / rz - 1.0).abs() <= 1e-14,
                "φ={phi}: {} vs {rz}",
                u[0]
            );
            let h = law.hindered_settling_function(phi);
            assert!((h / (1.0 - phi).powf(4.65) - 1.0).abs() <= 1e-14);
        }
        // Cut-off: nothing moves at or above φ_max.
        mlb_velocities(&law, a, RHO_F, MU, &[c], &[0.9], &mut u);
        assert_eq!(u[0], 0.0);
        assert_eq!(law.velocity_factor(0.95), 0.0);
    }

    #[test]
    fn hawksley_vand_values_and_derivative() {
        let law = HindranceLaw::hawksley_vand(0.95).unwrap();
        let phi: f64 = 0.45;
        let h = (1.0 - phi).powi(2) * (-2.5 * phi / (1.0 - 39.0 * phi / 64.0)).exp();
        assert!((law.hindered_settling_function(phi) / h - 1.0).abs() < 1e-15);
        // Derivatives against central differences, both laws.
        for law in [law, HindranceLaw::richardson_zaki(4.65, 0.95).unwrap()] {
            for &p in &[0.0, 0.1, 0.45, 0.8] {
                let (_, dv) = law.velocity_factor_and_derivative(p);
                let e = 1e-6;
                let fd = (law.velocity_factor(p + e) - law.velocity_factor((p - e).max(0.0)))
                    / (p + e - (p - e).max(0.0));
                assert!((dv - fd).abs() < 1e-6 * dv.abs().max(1.0), "{law:?} {p}");
            }
        }
        assert_eq!(law.velocity_factor_and_derivative(0.96), (0.0, 0.0));
    }

    #[test]
    fn zero_net_volume_flux_by_construction() {
        // u_f from the slip relation u_i − u_f = a d_i² V (ρ_i − ρ_s)/(18 μ χ_i) must equal
        // −Σφ_iu_i/(1 − φ), i.e. Σφ_iu_i + (1 − φ)u_f = 0.
        let law = HindranceLaw::richardson_zaki(4.65, 0.9).unwrap();
        let classes = [
            rbc(),
            MlbClass {
                diameter: 7.8e-6,
                density: 1075.0,
                shape_factor: 1.0,
            },
            MlbClass {
                diameter: 9.6e-6,
                density: 1085.0,
                shape_factor: 1.0,
            },
            MlbClass {
                diameter: 2.4e-6,
                density: 1070.0,
                shape_factor: 1.04,
            },
        ];
        let phi = [0.42, 0.01, 0.02, 0.003];
        let a = 9.80665;
        let mut u = [0.0; 4];
        mlb_velocities(&law, a, RHO_F, MU, &classes, &phi, &mut u);
        let uf = fluid_velocity(&phi, &u);
        let total: f64 = phi.iter().sum();
        let rho_s = RHO_F * (1.0 - total)
            + classes
                .iter()
                .zip(&phi)
                .map(|(c, p)| c.density * p)
                .sum::<f64>();
        let v = law.velocity_factor(total);
        for (c, ui) in classes.iter().zip(&u) {
            let slip = a * c.mobility() * v * (c.density - rho_s) / (18.0 * MU);
            assert!(
                ((ui - uf) - slip).abs() <= 1e-12 * slip.abs(),
                "{ui} {uf} {slip}"
            );
        }
        let net: f64 = phi.iter().zip(&u).map(|(p, ui)| p * ui).sum::<f64>() + (1.0 - total) * uf;
        assert!(net.abs() < 1e-18, "{net}");
        // The test-particle velocity of a class member equals its class velocity.
        let tp = mlb_test_particle_velocity(&law, a, RHO_F, MU, &classes, &phi, &classes[1]);
        assert!((tp - u[1]).abs() <= 1e-15 * u[1].abs());
    }

    #[test]
    fn light_species_in_dense_bed_moves_inward() {
        let law = HindranceLaw::richardson_zaki(4.65, 0.9).unwrap();
        let lymphocyte = MlbClass {
            diameter: 7.8e-6,
            density: 1075.0,
            shape_factor: 1.0,
        };
        let classes = [rbc(), lymphocyte];
        let mut u = [0.0; 2];
        // Dilute: both sink (denser than plasma).
        mlb_velocities(&law, 1e4, RHO_F, MU, &classes, &[0.01, 0.001], &mut u);
        assert!(u[0] > 0.0 && u[1] > 0.0);
        // Packed red-cell bed (ρ_s ≈ 1088 kg/m³ > 1075): the lymphocyte moves inward, the red
        // cells outward.
        mlb_velocities(&law, 1e4, RHO_F, MU, &classes, &[0.85, 0.001], &mut u);
        assert!(u[1] < 0.0 && u[0] > 0.0, "{u:?}");
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(HindranceLaw::richardson_zaki(-1.0, 0.9).is_err());
        assert!(HindranceLaw::richardson_zaki(4.65, 1.0).is_err());
        assert!(HindranceLaw::richardson_zaki(4.65, f64::NAN).is_err());
        assert!(HindranceLaw::hawksley_vand(0.0).is_err());
        assert!(HindranceLaw::hawksley_vand(0.95).is_ok());
    }

    #[test]
    fn aggregate_size_reproduces_the_esr() {
        // A typical normal ESR of 10 mm/h at hematocrit 0.45 with single red cells of
        // s = 8.3e-8 s needs aggregates of a few hundred cells; inverting gives back the ESR.
        let law = HindranceLaw::richardson_zaki(4.65, 0.9).unwrap();
        let esr = 10e-3 / 3600.0;
        let s = 8.3e-8;
        let n = aggregate_cells_from_esr(esr, 0.45, s, &law);
        assert!(n > 100.0 && n < 1000.0, "{n}");
        let back = s
            * n.powf(2.0 / 3.0)
            * crate::units::STANDARD_GRAVITY
            * law.hindered_settling_function(0.45);
        assert!((back / esr - 1.0).abs() < 1e-12);
        assert_eq!(aggregate_cells_from_esr(0.0, 0.45, s, &law), 1.0);
    }
}
