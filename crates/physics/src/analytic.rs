//! Analytic (or quadrature-exact) solutions used to validate the solvers. Pure functions, SI
//! units throughout; each item names its source.
//!
//! - single overdamped particle: [`overdamped_radius`], [`overdamped_radius_ramp`];
//! - diffusion-free Lamm equation in a sector: [`lamm_boundary_radius`],
//!   [`lamm_plateau_concentration`];
//! - uniform hindered suspension in a sector (Anestis–Schneider): [`AnestisSchneider`],
//!   [`anestis_schneider_linear_interface_radius`];
//! - Kynch's batch settling of a monodisperse Richardson–Zaki suspension: [`KynchBatch`];
//! - Ambler's sigma theory: [`sigma`];
//! - apheresis washout: [`washout_concentration`];
//! - steady sedimentation–diffusion balance of a dilute species across a thin channel:
//!   [`sedimentation_diffusion_profile`].
//!
//! Rotor speed enters through τ = ∫ω² dt (rad²/s), so every centrifugal solution holds for a
//! ramped rotor as well: pass `RotorProfile::integral_omega_squared(0, t)`, or ω²t for a
//! constant speed.

use crate::error::{PhysicsError, ensure_in_range, ensure_positive};
use crate::hindrance::HindranceLaw;
use crate::units::STANDARD_GRAVITY;

/// Radius (m) of an overdamped particle with sedimentation coefficient `s` (s) starting at
/// `r0` (m) in a rotor at constant `omega` (rad/s) after time `t` (s): r(t) = r₀ exp(sω²t).
/// Source: dr/dt = sω²r (Svedberg & Pedersen, *The Ultracentrifuge*, 1940; docs/physics.md §8.1);
/// valid while the particle is free (no walls, dilute, Stokes drag).
#[inline]
pub fn overdamped_radius(r0: f64, s: f64, omega: f64, t: f64) -> f64 {
    r0 * (s * omega * omega * t).exp()
}

/// Radius (m) of an overdamped particle under an arbitrary speed history:
/// r = r₀ exp(s ∫ω² dt), with `integral_omega_squared` = ∫ω² dt (rad²/s). Exact for any ω(t)
/// because dr/dt = s ω(t)² r is linear in r (docs/physics.md §8.1).
#[inline]
pub fn overdamped_radius_ramp(r0: f64, s: f64, integral_omega_squared: f64) -> f64 {
    r0 * (s * integral_omega_squared).exp()
}

/// Boundary radius (m) of the diffusion-free Lamm equation in a sector cell (uniform start
/// from the meniscus `meniscus` r_m): r_b = r_m exp(s ∫ω² dt) (Svedberg & Pedersen, *The
/// Ultracentrifuge*, 1940; docs/physics.md §8.2). Valid while the boundary has not reached the
/// bottom and diffusion is negligible.
#[inline]
pub fn lamm_boundary_radius(meniscus: f64, s: f64, integral_omega_squared: f64) -> f64 {
    meniscus * (s * integral_omega_squared).exp()
}

/// Plateau concentration (same unit as `c0`) of the diffusion-free Lamm equation in a sector:
/// c = c₀ exp(−2 s ∫ω² dt), the "radial dilution" (docs/physics.md §8.2). Valid below the
/// boundary and above the bottom pile-up.
#[inline]
pub fn lamm_plateau_concentration(c0: f64, s: f64, integral_omega_squared: f64) -> f64 {
    c0 * (-2.0 * s * integral_omega_squared).exp()
}

/// Closed-form Anestis–Schneider interface radius (m) for the linear hindrance h(φ) = 1 − φ
/// (Richardson–Zaki with n = 1): R² = φ₀R₀² + (R₀² − φ₀R₀²) e^(2sτ), τ = ∫ω² dt
/// (docs/physics.md §8.3; Anestis & Schneider, Ingenieur-Archiv 53:399, 1983).
/// `meniscus` R₀ (m), `initial_fraction` φ₀, `s` (s), `integral_omega_squared` τ (rad²/s).
pub fn anestis_schneider_linear_interface_radius(
    meniscus: f64,
    initial_fraction: f64,
    s: f64,
    integral_omega_squared: f64,
) -> f64 {
    let r02 = meniscus * meniscus;
    (initial_fraction * r02
        + (r02 - initial_fraction * r02) * (2.0 * s * integral_omega_squared).exp())
    .sqrt()
}

/// Gauss–Legendre nodes and weights on [−1, 1], 10 points (Abramowitz & Stegun Table 25.4).
const GL10: [(f64, f64); 5] = [
    (0.148_874_338_981_631_2, 0.295_524_224_714_752_9),
    (0.433_395_394_129_247_2, 0.269_266_719_309_996_4),
    (0.679_409_568_299_024_4, 0.219_086_362_515_982),
    (0.865_063_366_688_984_5, 0.149_451_349_150_580_6),
    (0.973_906_528_517_171_7, 0.066_671_344_308_688_1),
];

/// ∫_a^b g over `panels` equal panels of 10-point Gauss–Legendre.
fn gauss_legendre(a: f64, b: f64, panels: usize, g: impl Fn(f64) -> f64) -> f64 {
    let width = (b - a) / panels as f64;
    let mut total = 0.0;
    for p in 0..panels {
        let mid = a + (p as f64 + 0.5) * width;
        let half = 0.5 * width;
        let mut sum = 0.0;
        for &(x, w) in &GL10 {
            sum += w * (g(mid - half * x) + g(mid + half * x));
        }
        total += sum * half;
    }
    total
}

/// The Anestis–Schneider solution for a uniform hindered suspension in a sector cell or
/// cylinder (Anestis & Schneider, Ingenieur-Archiv 53:399, 1983; Lueptow & Hübler, J Biomech
/// Eng 113:485, 1991; docs/physics.md §8.3).
///
/// A suspension of one species, uniform at φ₀ below the meniscus R₀ at t = 0, stays uniform
/// while the clear-fluid/suspension interface R(t) has not met the sediment rising from the
/// bottom: conservation in the sector, ∂φ/∂t + (1/r)∂(r φ s ω² r h(φ))/∂r = 0, gives for uniform
/// φ the ODE dφ/dt = −2sω² φ h(φ), and the interface moves with the suspension,
/// dR/dt = sω² R h(φ), so that φ R² = φ₀ R₀² (the solids between meniscus and interface have
/// left).
///
/// With τ = ∫ω² dt and y = ln φ, dy/dτ = −2s h(eʸ), hence
/// G(y) := ∫_y^{ln φ₀} dy′ / h(e^{y′}) = 2sτ. G is evaluated by composite 10-point
/// Gauss–Legendre quadrature (≥ 4 panels, panel width ≤ 0.05 in y; the integrand is analytic
/// for φ < 1, so the quadrature error is below 10⁻¹⁵ relative) and the equation is solved by
/// Newton's method safeguarded by bisection in the bracket
/// [ln φ₀ − 2sτ, ln φ₀ − 2sτ h(φ₀)] to |Δy| ≤ 10⁻¹⁴. Overall relative accuracy of φ and R:
/// about 10⁻¹³ (tested against the closed form for h = 1 − φ).
///
/// Validity: the uniform solution requires the flux φh(φ) to have no inflection point in
/// [0, φ₀] (for Richardson–Zaki: φ₀ < 2/(n + 1)), otherwise a fan forms at the interface; and it
/// holds only until the interface meets the sediment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnestisSchneider {
    law: HindranceLaw,
    meniscus: f64,
    initial_fraction: f64,
    sedimentation_coefficient: f64,
}

impl AnestisSchneider {
    /// A suspension hindered by `law`, meniscus at `meniscus` R₀ (m), initial volume fraction
    /// `initial_fraction` φ₀ (0 < φ₀ < φ_max) and sedimentation coefficient
    /// `sedimentation_coefficient` s (s; negative for a floating species is not supported).
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] for a non-positive radius or s, or φ₀ outside
    /// (0, φ_max).
    pub fn new(
        law: HindranceLaw,
        meniscus: f64,
        initial_fraction: f64,
        sedimentation_coefficient: f64,
    ) -> Result<Self, PhysicsError> {
        law.validate()?;
        ensure_positive("meniscus radius (m)", meniscus)?;
        ensure_positive("sedimentation coefficient (s)", sedimentation_coefficient)?;
        ensure_in_range(
            "initial volume fraction",
            initial_fraction,
            f64::MIN_POSITIVE,
            law.max_packing() * (1.0 - 1e-12),
        )?;
        Ok(Self {
            law,
            meniscus,
            initial_fraction,
            sedimentation_coefficient,
        })
    }

    /// G(y) = ∫_y^{ln φ₀} dy′/h(e^{y′}).
    fn g(&self, y: f64) -> f64 {
        let y0 = self.initial_fraction.ln();
        let span = y0 - y;
        if span <= 0.0 {
            return 0.0;
        }
        let panels = ((span / 0.05).ceil() as usize).clamp(4, 100_000);
        gauss_legendre(y, y0, panels, |yy| {
            1.0 / self.law.hindered_settling_function(yy.exp())
        })
    }

    /// Volume fraction φ of the uniform suspension after τ = `integral_omega_squared`
    /// (rad²/s).
    pub fn suspension_fraction(&self, integral_omega_squared: f64) -> f64 {
        let target = 2.0 * self.sedimentation_coefficient * integral_omega_squared;
        let y0 = self.initial_fraction.ln();
        if target <= 0.0 {
            return self.initial_fraction;
        }
        let h0 = self.law.hindered_settling_function(self.initial_fraction);
        let (mut lo, mut hi) = (y0 - target, y0 - target * h0);
        // G decreases in y: G(lo) ≥ target ≥ G(hi).
        let mut y = hi;
        for _ in 0..200 {
            let residual = self.g(y) - target;
            if residual > 0.0 {
                lo = y;
            } else {
                hi = y;
            }
            let slope = -1.0 / self.law.hindered_settling_function(y.exp());
            let mut next = y - residual / slope;
            if !(next > lo && next < hi) {
                next = 0.5 * (lo + hi);
            }
            if (next - y).abs() <= 1e-14 * y.abs().max(1.0) || hi - lo <= 1e-15 * y.abs() {
                y = next;
                break;
            }
            y = next;
        }
        y.exp()
    }

    /// Clear-fluid/suspension interface radius R (m) after τ (rad²/s): R = R₀ √(φ₀/φ).
    pub fn interface_radius(&self, integral_omega_squared: f64) -> f64 {
        self.meniscus
            * (self.initial_fraction / self.suspension_fraction(integral_omega_squared)).sqrt()
    }
}

/// How the bottom of a Kynch batch-settling column evolves (the entropy solution of the
/// Riemann problem φ₀ | φ_max at the bottom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KynchMode {
    /// A single shock φ₀ → φ_max: the sediment rises at constant speed until it meets the
    /// descending clear interface.
    SingleShock {
        /// rising speed of the sediment surface (m/s, > 0)
        sediment_speed: f64,
    },
    /// An optional shock φ₀ → φ_lower, a rarefaction fan φ_lower → φ_upper, and a contact
    /// discontinuity φ_upper → φ_max (the sediment surface).
    Fan {
        /// the fan's lowest concentration (φ₀ if the fan is attached to the initial state)
        fan_low: f64,
        /// the fan's highest concentration, where the tangent from (φ_max, 0) touches f
        fan_high: f64,
    },
}

/// Kynch's batch settling of a monodisperse suspension with the Richardson–Zaki flux and a
/// maximum packing, at constant acceleration (a 1 g column), from the entropy solution.
///
/// ## Problem
/// A column of height H (m), initially uniform at φ₀, closed at top and bottom. With depth x
/// measured downward from the top (0 ≤ x ≤ H) and heights z = H − x,
/// ∂φ/∂t + ∂f(φ)/∂x = 0, f(φ) = u∞ φ (1 − φ)ⁿ for φ < φ_max, f(φ) = 0 for φ ≥ φ_max
/// (Kynch, Trans Faraday Soc 48:166, 1952; Richardson & Zaki 1954). u∞ = s g (m/s) is the
/// single-particle settling velocity.
///
/// ## Entropy solution (derivation)
/// Both walls act as Riemann problems whose solutions follow from Oleinik's condition: for a
/// left (upper) state φ_L below a right (lower) state φ_R > φ_L, the solution follows the
/// lower convex envelope of f on [φ_L, φ_R] (Oleinik 1957; see e.g. Bustos, Concha, Bürger &
/// Tory, *Sedimentation and Thickening*, Kluwer 1999, ch. 7).
///
/// - **Top, 0 | φ₀.** f(φ)/φ = u∞(1 − φ)ⁿ decreases, so f lies above the chord from the origin on
///   [0, φ₀]: the envelope is that chord, a single shock. The clear interface descends at
///   σ_top = f(φ₀)/φ₀ = u∞(1 − φ₀)ⁿ for every φ₀.
/// - **Bottom, φ₀ | φ_max.** f is concave on [0, φ_i] and convex on [φ_i, φ_max),
///   φ_i = 2/(n + 1), and jumps to 0 at φ_max. The envelope consists of at most three pieces:
///   a chord from (φ₀, f(φ₀)) tangent to the convex branch at φ_lo (root of
///   f(φ₀) = f(φ) + f′(φ)(φ₀ − φ); absent when φ₀ ≥ φ_i), the convex branch from φ_lo to φ_hi,
///   and the chord from φ_hi to (φ_max, 0) (φ_hi the root of f(φ) + f′(φ)(φ_max − φ) = 0). Both
///   tangency functions are monotone on the convex branch, so the roots are found by bisection
///   (to 10⁻¹⁵). If φ_lo ≥ φ_hi the envelope is the single chord from φ₀ to φ_max: a single
///   shock rising at f(φ₀)/(φ_max − φ₀) ([`KynchMode::SingleShock`]). Otherwise the sediment
///   surface is a contact discontinuity rising at |f′(φ_hi)| below a fan of characteristics
///   x = H + f′(φ)t, φ ∈ [φ_lo, φ_hi] ([`KynchMode::Fan`]).
/// - **Interaction.** The clear interface meets the first bottom wave (speed
///   σ₁ = (f(φ_lo) − f(φ₀))/(φ_lo − φ₀), or f′(φ₀) when φ_lo = φ₀) at t₁ = H/(σ_top − σ₁). In the
///   single-shock mode all solids are then in the sediment. In the fan mode the interface
///   separates clear fluid from fan states: dx/dt = f(φ)/φ with x = H + f′(φ)t. Eliminating x,
///   d/dt[t (f(φ) − φ f′(φ))] = 0, so t (f(φ) − φf′(φ)) = C = t₁(f(φ_lo) − φ_lo f′(φ_lo)), solved
///   for φ by bisection (f − φf′ decreases on the convex branch). The interface reaches φ_hi,
///   i.e. the sediment surface, at t₂ = C/(f(φ_hi) − φ_hi f′(φ_hi)); from then on everything is
///   sediment of height φ₀H/φ_max.
///
/// Accuracy: closed forms except the bisections (10⁻¹⁵ relative in φ); the mass balance of the
/// construction, ∫φ dz = φ₀H at all times, holds to about 10⁻¹² (tested).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KynchBatch {
    settling_velocity: f64,
    exponent: f64,
    max_packing: f64,
    initial_fraction: f64,
    height: f64,
    mode: KynchMode,
    /// clear-interface speed (m/s, downward)
    top_speed: f64,
    /// time the clear interface meets the first bottom wave (s)
    meet_time: f64,
    /// time all solids are in the sediment (s)
    completion_time: f64,
    /// constant C of the interface in the fan (m/s · s = m... units of f·t)
    fan_constant: f64,
}

/// Bisection for an increasing function `g` on [a, b] with g(a) ≤ 0 ≤ g(b).
fn bisect_increasing(mut a: f64, mut b: f64, g: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if m <= a || m >= b {
            break;
        }
        if g(m) > 0.0 {
            b = m;
        } else {
            a = m;
        }
    }
    0.5 * (a + b)
}

impl KynchBatch {
    /// A column of height `height` H (m) at initial fraction `initial_fraction` φ₀, with
    /// single-particle settling velocity `settling_velocity` u∞ = s g (m/s), Richardson–Zaki
    /// exponent `exponent` n and maximum packing `max_packing` φ_max.
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] for non-positive H or u∞, n outside [0, 20], φ_max
    /// outside (0, 1), or φ₀ outside (0, φ_max).
    pub fn new(
        settling_velocity: f64,
        exponent: f64,
        max_packing: f64,
        initial_fraction: f64,
        height: f64,
    ) -> Result<Self, PhysicsError> {
        HindranceLaw::richardson_zaki(exponent, max_packing)?;
        ensure_positive("settling velocity (m/s)", settling_velocity)?;
        ensure_positive("column height (m)", height)?;
        ensure_in_range(
            "initial volume fraction",
            initial_fraction,
            f64::MIN_POSITIVE,
            max_packing * (1.0 - 1e-9),
        )?;
        let mut k = Self {
            settling_velocity,
            exponent,
            max_packing,
            initial_fraction,
            height,
            mode: KynchMode::SingleShock {
                sediment_speed: 0.0,
            },
            top_speed: 0.0,
            meet_time: 0.0,
            completion_time: 0.0,
            fan_constant: 0.0,
        };
        k.construct();
        Ok(k)
    }

    /// Flux f(φ) (m/s) with the cut-off at φ_max.
    pub fn flux(&self, phi: f64) -> f64 {
        if phi >= self.max_packing || phi <= 0.0 {
            0.0
        } else {
            self.settling_velocity * phi * (1.0 - phi).powf(self.exponent)
        }
    }

    /// f′(φ) for φ < φ_max (m/s).
    fn flux_derivative(&self, phi: f64) -> f64 {
        let n = self.exponent;
        self.settling_velocity * (1.0 - phi).powf(n - 1.0) * (1.0 - (n + 1.0) * phi)
    }

    /// Intercept of the tangent at φ with the axis φ = 0: f(φ) − φ f′(φ).
    fn intercept(&self, phi: f64) -> f64 {
        self.flux(phi) - phi * self.flux_derivative(phi)
    }

    fn construct(&mut self) {
        let (phi0, pmax, h) = (self.initial_fraction, self.max_packing, self.height);
        let f0 = self.flux(phi0);
        self.top_speed = f0 / phi0;
        let inflection = if self.exponent > 1.0 {
            (2.0 / (self.exponent + 1.0)).min(pmax)
        } else {
            pmax
        };
        let lo_bound = phi0.max(inflection);
        // Tangent from (φ_max, 0): T₁(φ) = f + f′(φ_max − φ), increasing on the convex branch.
        let t1 = |p: f64| self.flux(p) + self.flux_derivative(p) * (pmax - p);
        let upper = pmax * (1.0 - 1e-15);
        let fan_high = if lo_bound >= upper || t1(lo_bound) >= 0.0 {
            lo_bound
        } else {
            bisect_increasing(lo_bound, upper, t1)
        };
        // Tangent through (φ₀, f₀): T₂(φ) = f₀ − f − f′(φ₀ − φ), increasing for φ > φ₀.
        let t2 = |p: f64| f0 - self.flux(p) - self.flux_derivative(p) * (phi0 - p);
        let fan_low = if lo_bound >= upper || t2(lo_bound) >= 0.0 {
            lo_bound
        } else {
            bisect_increasing(lo_bound, upper, t2)
        };
        if fan_low >= fan_high {
            let sediment_speed = f0 / (pmax - phi0);
            self.mode = KynchMode::SingleShock { sediment_speed };
            self.meet_time = h / (self.top_speed + sediment_speed);
            self.completion_time = self.meet_time;
        } else {
            self.mode = KynchMode::Fan { fan_low, fan_high };
            let first_speed = if fan_low > phi0 {
                (self.flux(fan_low) - f0) / (fan_low - phi0)
            } else {
                self.flux_derivative(phi0)
            };
            self.meet_time = h / (self.top_speed - first_speed);
            self.fan_constant = self.meet_time * self.intercept(fan_low);
            self.completion_time = self.fan_constant / self.intercept(fan_high);
        }
    }

    /// The bottom wave structure.
    pub fn mode(&self) -> KynchMode {
        self.mode
    }

    /// Descent speed of the clear interface before it meets the bottom waves,
    /// u∞(1 − φ₀)ⁿ (m/s).
    pub fn clear_interface_speed(&self) -> f64 {
        self.top_speed
    }

    /// Time (s) at which the clear interface meets the first wave from the bottom.
    pub fn meet_time(&self) -> f64 {
        self.meet_time
    }

    /// Time (s) after which all solids are in the sediment.
    pub fn completion_time(&self) -> f64 {
        self.completion_time
    }

    /// Final sediment height φ₀H/φ_max (m).
    pub fn final_sediment_height(&self) -> f64 {
        self.initial_fraction * self.height / self.max_packing
    }

    /// The fan state φ on the clear interface at time t ∈ [t₁, t₂] (fan mode only).
    fn interface_fan_state(&self, t: f64, fan_low: f64, fan_high: f64) -> f64 {
        let target = self.fan_constant / t;
        // intercept decreases in φ on the convex branch: solve intercept(φ) = target.
        bisect_increasing(fan_low, fan_high, |p| target - self.intercept(p))
    }

    /// Height (m, above the bottom) of the clear-fluid/suspension interface at time `t` (s).
    pub fn clear_interface_height(&self, t: f64) -> f64 {
        let t = t.max(0.0);
        if t <= self.meet_time {
            return self.height - self.top_speed * t;
        }
        if t >= self.completion_time {
            return self.final_sediment_height();
        }
        match self.mode {
            KynchMode::SingleShock { .. } => self.final_sediment_height(),
            KynchMode::Fan { fan_low, fan_high } => {
                let p = self.interface_fan_state(t, fan_low, fan_high);
                -t * self.flux_derivative(p)
            }
        }
    }

    /// Height (m) of the sediment/suspension interface (top of the packed bed at φ_max) at
    /// time `t` (s).
    pub fn sediment_height(&self, t: f64) -> f64 {
        let t = t.max(0.0);
        if t >= self.completion_time {
            return self.final_sediment_height();
        }
        match self.mode {
            KynchMode::SingleShock { sediment_speed } => sediment_speed * t,
            KynchMode::Fan { fan_high, .. } => -self.flux_derivative(fan_high) * t,
        }
    }

    /// The entropy solution φ(z, t) at height `z` (m above the bottom) and time `t` (s).
    pub fn volume_fraction(&self, z: f64, t: f64) -> f64 {
        let t = t.max(0.0);
        if z > self.clear_interface_height(t) || z > self.height {
            return 0.0;
        }
        if z < self.sediment_height(t) || t >= self.completion_time {
            return self.max_packing;
        }
        match self.mode {
            KynchMode::SingleShock { .. } => self.initial_fraction,
            KynchMode::Fan { fan_low, fan_high } => {
                if t <= 0.0 {
                    return self.initial_fraction;
                }
                // ξ = (x − H)/t = −z/t.
                let xi = -z / t;
                let head = if fan_low > self.initial_fraction {
                    (self.flux(fan_low) - self.flux(self.initial_fraction))
                        / (fan_low - self.initial_fraction)
                } else {
                    self.flux_derivative(fan_low)
                };
                if xi < head {
                    self.initial_fraction
                } else {
                    // f′ increases on the convex branch.
                    bisect_increasing(fan_low, fan_high, |p| self.flux_derivative(p) - xi)
                }
            }
        }
    }
}

/// Ambler's sigma theory: the equivalent settling area Σ (m²) of a centrifuge, such that a
/// particle with 1-g settling velocity v_g is captured (50 % or completely) at volume flow
/// Q = (2) v_g Σ (Ambler, J Biochem Microbiol Technol Eng 1:185, 1959; docs/physics.md §8.5).
///
/// Assumptions: dilute suspension (unhindered Stokes settling), plug flow through the bowl,
/// feed uniform over the inlet cross-section, settling velocity ω²r/g times v_g, no
/// resuspension. `omega` in rad/s, lengths in m; g = g₀ ([`STANDARD_GRAVITY`]).
pub mod sigma {
    use super::STANDARD_GRAVITY;
    use std::f64::consts::PI;

    /// Tubular bowl, 50 % cut: Σ₅₀ = π L ω² (r₂² − r₁²) / (g ln[2r₂²/(r₁² + r₂²)]), liquid from
    /// r₁ (inner surface) to r₂ (wall), length L.
    pub fn tubular_bowl_sigma_50(length: f64, omega: f64, r_inner: f64, r_outer: f64) -> f64 {
        let (a, b) = (r_inner * r_inner, r_outer * r_outer);
        PI * length * omega * omega * (b - a) / (STANDARD_GRAVITY * (2.0 * b / (a + b)).ln())
    }

    /// Tubular bowl, complete capture: Σ = π L ω² (r₂² − r₁²) / (g ln(r₂/r₁)).
    pub fn tubular_bowl_sigma_full(length: f64, omega: f64, r_inner: f64, r_outer: f64) -> f64 {
        PI * length * omega * omega * (r_outer * r_outer - r_inner * r_inner)
            / (STANDARD_GRAVITY * (r_outer / r_inner).ln())
    }

    /// Thin flat channel of area A (m²) at radius R: Σ ≈ ω² R A / g (the thin-layer limit of
    /// both bowl formulas, A = 2πR L).
    pub fn thin_channel_sigma(omega: f64, radius: f64, area: f64) -> f64 {
        omega * omega * radius * area / STANDARD_GRAVITY
    }

    /// Disc stack of `discs` discs between radii r₁ and r₂ with half-cone angle θ (rad, from
    /// the axis): Σ = 2π n ω² (r₂³ − r₁³) cot θ / (3g).
    pub fn disc_stack_sigma(
        discs: f64,
        omega: f64,
        r_inner: f64,
        r_outer: f64,
        half_angle: f64,
    ) -> f64 {
        2.0 * PI * discs * omega * omega * (r_outer.powi(3) - r_inner.powi(3))
            / (3.0 * STANDARD_GRAVITY * half_angle.tan())
    }

    /// Flow (m³/s) at which half the particles of 1-g settling velocity `settling_velocity_1g`
    /// (m/s) are captured: Q₅₀ = 2 v_g Σ₅₀.
    pub fn flow_50(settling_velocity_1g: f64, sigma_50: f64) -> f64 {
        2.0 * settling_velocity_1g * sigma_50
    }

    /// Largest flow (m³/s) with complete capture: Q = v_g Σ_full.
    pub fn flow_full_capture(settling_velocity_1g: f64, sigma_full: f64) -> f64 {
        settling_velocity_1g * sigma_full
    }
}

/// Apheresis washout: the concentration of a cell type in the patient after processing a blood
/// volume V, C(V) = C₀ exp(−CE · V/TBV).
///
/// One well-mixed compartment of volume TBV (total blood volume) from which each processed
/// volume dV removes the fraction CE (collection efficiency, 0–1) of its cells:
/// dC/dV = −CE C/TBV. No mobilisation or return of cells, constant TBV. This is the standard
/// one-compartment exchange model of apheresis (e.g. the exponential removal curve of plasma
/// exchange, Kaplan, Am J Kidney Dis 52:1180, 2008, unconfirmed). `processed_volume` and
/// `total_blood_volume` in m³ (any common unit cancels); C in the unit of `c0`.
#[inline]
pub fn washout_concentration(
    c0: f64,
    collection_efficiency: f64,
    processed_volume: f64,
    total_blood_volume: f64,
) -> f64 {
    c0 * (-collection_efficiency * processed_volume / total_blood_volume).exp()
}

/// Steady profile of a dilute species across a thin channel where sedimentation and (shear-
/// induced or Brownian) diffusion balance: zero net radial flux,
///
/// J = φ u(r) − D(r) dφ/dr = 0  ⇒  φ(r) = M e^{E(r)} / ∫_{r₁}^{r₂} e^{E} dr,
/// E(r) = ∫_{r₁}^{r} u/D dr′,
///
/// in planar (thin-channel) geometry, normalised to the amount per unit area
/// M = ∫_{r₁}^{r₂} φ dr (m; e.g. φ̄ δ for a mean fraction φ̄ over the depth δ). `velocity` u(r)
/// (m/s, outward positive) and `diffusivity` D(r) > 0 (m²/s) are functions of the radius only
/// (a dilute species: neither depends on φ). Returns φ at each of `radii` (m, inside
/// [r₁, r₂]).
///
/// This is the exact steady state of the 1-D balance ∂φ/∂t + ∂(φu − D∂φ/∂r)/∂r = 0 with no-flux
/// walls (Mason & Weaver, Phys Rev 23:412, 1924, for constant u and D: the equilibrium
/// "sedimentation–diffusion" or barometric profile φ ∝ e^{u r/D}); it is the reference for the
/// channel's shear-diffusion term (docs/physics.md §10.5).
///
/// Method (independent of any finite-volume solver): E is accumulated panel by panel with
/// 10-point Gauss–Legendre quadrature (`panels` equal panels, each node's E from its panel's
/// left edge by a second 10-point rule), the normaliser by the same rule on the same panels,
/// with exponents shifted by their maximum (no overflow at Péclet numbers uδ/D up to ~10⁵ when
/// the panels resolve the layer D/u). For analytic u/D the relative error falls like the
/// 20th power of the panel width; 400 panels reach round-off for uδ/D ≲ 10³.
///
/// # Errors
/// [`PhysicsError`] for r₂ ≤ r₁, M < 0, fewer than 1 panel, a radius outside [r₁, r₂], or a
/// non-finite / non-positive D or non-finite u met at a quadrature node.
pub fn sedimentation_diffusion_profile(
    r_inner: f64,
    r_outer: f64,
    amount: f64,
    velocity: impl Fn(f64) -> f64,
    diffusivity: impl Fn(f64) -> f64,
    panels: usize,
    radii: &[f64],
) -> Result<Vec<f64>, PhysicsError> {
    ensure_positive("inner radius (m)", r_inner)?;
    if !(r_outer.is_finite() && r_outer > r_inner) {
        return Err(PhysicsError::invalid(
            "outer radius (m)",
            r_outer,
            format!("finite and > inner radius {r_inner}"),
        ));
    }
    crate::error::ensure_non_negative("amount per unit area (m)", amount)?;
    if panels == 0 {
        return Err(PhysicsError::invalid("panels", 0.0, ">= 1"));
    }
    for &r in radii {
        if !(r >= r_inner && r <= r_outer) {
            return Err(PhysicsError::invalid(
                "radius of the profile (m)",
                r,
                format!("in [{r_inner}, {r_outer}]"),
            ));
        }
    }
    let mut bad: Option<PhysicsError> = None;
    let mut ratio = |r: f64| {
        let (u, d) = (velocity(r), diffusivity(r));
        if !(d.is_finite() && d > 0.0) {
            bad.get_or_insert(PhysicsError::invalid(
                "diffusivity (m^2/s)",
                d,
                "finite and > 0",
            ));
            return 0.0;
        }
        if !u.is_finite() {
            bad.get_or_insert(PhysicsError::invalid("velocity (m/s)", u, "finite"));
            return 0.0;
        }
        u / d
    };
    let width = (r_outer - r_inner) / panels as f64;
    let edge = |p: usize| {
        if p == panels {
            r_outer
        } else {
            r_inner + p as f64 * width
        }
    };
    // ∫_a^b u/D by one 10-point rule
    let mut integral = |a: f64, b: f64| {
        let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
        let mut sum = 0.0;
        for &(x, w) in &GL10 {
            sum += w * (ratio(mid - half * x) + ratio(mid + half * x));
        }
        sum * half
    };
    // E at the panel edges
    let mut e_edge = Vec::with_capacity(panels + 1);
    let mut acc = 0.0;
    e_edge.push(acc);
    for p in 0..panels {
        acc += integral(edge(p), edge(p + 1));
        e_edge.push(acc);
    }
    // E at the outer nodes of every panel, and their maximum
    let mut nodes: Vec<(f64, f64)> = Vec::with_capacity(panels * 20); // (weight·half, E)
    for (p, &e_left) in e_edge.iter().enumerate().take(panels) {
        let (a, b) = (edge(p), edge(p + 1));
        let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
        for &(x, w) in &GL10 {
            for r in [mid - half * x, mid + half * x] {
                nodes.push((w * half, e_left + integral(a, r)));
            }
        }
    }
    // E at the requested radii
    let e_at: Vec<f64> = radii
        .iter()
        .map(|&r| {
            let p = (((r - r_inner) / width).floor().max(0.0) as usize).min(panels - 1);
            e_edge[p] + integral(edge(p), r)
        })
        .collect();
    if let Some(e) = bad {
        return Err(e);
    }
    let shift = nodes
        .iter()
        .map(|n| n.1)
        .chain(e_at.iter().copied())
        .fold(f64::NEG_INFINITY, f64::max);
    let norm: f64 = nodes.iter().map(|&(w, e)| w * (e - shift).exp()).sum();
    Ok(e_at
        .iter()
        .map(|&e| amount * (e - shift).exp() / norm)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdamped_and_lamm() {
        let (r0, s, w, t) = (0.1, 2e-7, 300.0, 20.0);
        let r = overdamped_radius(r0, s, w, t);
        assert!((r / (r0 * (s * w * w * t).exp()) - 1.0).abs() < 1e-15);
        assert_eq!(overdamped_radius_ramp(r0, s, w * w * t), r);
        assert_eq!(lamm_boundary_radius(r0, s, w * w * t), r);
        // Radial dilution: the plateau falls as (r_m/r_b)².
        let c = lamm_plateau_concentration(1.0, s, w * w * t);
        assert!((c - (r0 / r).powi(2)).abs() < 1e-15);
    }

    #[test]
    fn anestis_schneider_matches_linear_closed_form() {
        let law = HindranceLaw::richardson_zaki(1.0, 0.9).unwrap();
        let (r0, phi0, s) = (0.06, 0.3, 1e-7);
        let a = AnestisSchneider::new(law, r0, phi0, s).unwrap();
        for &tau in &[0.0, 1e4, 1e5, 1e6, 5e6] {
            let exact = anestis_schneider_linear_interface_radius(r0, phi0, s, tau);
            let got = a.interface_radius(tau);
            assert!(
                (got / exact - 1.0).abs() < 1e-13,
                "τ={tau}: {got} vs {exact}"
            );
            let phi = a.suspension_fraction(tau);
            assert!((phi * got * got / (phi0 * r0 * r0) - 1.0).abs() < 1e-13);
        }
    }

    #[test]
    fn anestis_schneider_richardson_zaki_small_time_and_ode() {
        // Early on dR/dτ = s R h(φ₀); and the solution satisfies the ODE (finite differences).
        let law = HindranceLaw::richardson_zaki(4.65, 0.9).unwrap();
        let (r0, phi0, s) = (0.06, 0.2, 1e-7);
        let a = AnestisSchneider::new(law, r0, phi0, s).unwrap();
        let tau = 3e5;
        let e = 1e2;
        let dr = (a.interface_radius(tau + e) - a.interface_radius(tau - e)) / (2.0 * e);
        let r = a.interface_radius(tau);
        let phi = a.suspension_fraction(tau);
        let rhs = s * r * law.hindered_settling_function(phi);
        assert!((dr / rhs - 1.0).abs() < 1e-8, "{dr} vs {rhs}");
        assert!(AnestisSchneider::new(law, r0, 0.95, s).is_err());
    }

    fn kynch_mass(k: &KynchBatch, t: f64) -> f64 {
        // ∫φ dz: the sediment exactly, the suspension by Gauss–Legendre between breakpoints
        // (interfaces and the leading bottom wave, where φ jumps).
        let zc = k.clear_interface_height(t);
        let zs = k.sediment_height(t);
        let mut total = k.max_packing * zs.min(zc);
        if zc > zs {
            let mut cuts = vec![zs, zc];
            if let KynchMode::Fan { fan_low, .. } = k.mode() {
                let head = if fan_low > k.initial_fraction {
                    (k.flux(fan_low) - k.flux(k.initial_fraction)) / (fan_low - k.initial_fraction)
                } else {
                    k.flux_derivative(fan_low)
                };
                let z_head = -head * t;
                if z_head > zs && z_head < zc {
                    cuts.insert(1, z_head);
                }
            }
            for w in cuts.windows(2) {
                total += gauss_legendre(w[0], w[1], 400, |z| k.volume_fraction(z, t));
            }
        }
        total
    }

    #[test]
    fn kynch_construction_conserves_mass() {
        for &(phi0, pmax) in &[(0.05, 0.9), (0.2, 0.9), (0.4, 0.9), (0.6, 0.9), (0.2, 0.64)] {
            let (u, n, h) = (1e-4, 4.65, 0.3);
            let k = KynchBatch::new(u, n, pmax, phi0, h).unwrap();
            assert!(k.meet_time() <= k.completion_time());
            for frac in [0.1, 0.5, 0.9, 1.0, 1.3, 2.0] {
                let t = frac * k.completion_time();
                let m = kynch_mass(&k, t);
                assert!(
                    (m / (phi0 * h) - 1.0).abs() < 1e-10,
                    "φ₀={phi0} φmax={pmax} t={t}: {m} vs {} ({:?})",
                    phi0 * h,
                    k.mode()
                );
            }
            // Interfaces meet at the final sediment height.
            let tc = k.completion_time();
            let hf = k.final_sediment_height();
            assert!((k.clear_interface_height(tc * (1.0 - 1e-12)) / hf - 1.0).abs() < 1e-6);
            assert!((k.sediment_height(tc * (1.0 - 1e-12)) / hf - 1.0).abs() < 1e-6);
            // Before meeting, the clear interface falls at u∞(1−φ₀)ⁿ.
            let t = 0.5 * k.meet_time();
            assert!(
                (k.clear_interface_height(t) - (h - u * (1.0 - phi0).powf(n) * t)).abs() < 1e-15
            );
        }
    }

    #[test]
    fn sigma_theory_limits() {
        use super::sigma::*;
        let (l, w, r1) = (0.2, 1000.0, 0.05);
        // Thin layer: both bowl formulas tend to ω² R A / g with A = 2π R L.
        let r2 = r1 * (1.0 + 1e-6);
        let thin = thin_channel_sigma(w, r1, 2.0 * std::f64::consts::PI * r1 * l);
        assert!((tubular_bowl_sigma_full(l, w, r1, r2) / thin - 1.0).abs() < 1e-5);
        assert!((tubular_bowl_sigma_50(l, w, r1, r2) / thin - 1.0).abs() < 1e-5);
        // Half capture needs less area than full capture of the same particle: Q₅₀ > Q_full.
        let r2 = 0.08;
        let vg = 1e-6;
        let q50 = flow_50(vg, tubular_bowl_sigma_50(l, w, r1, r2));
        let qf = flow_full_capture(vg, tubular_bowl_sigma_full(l, w, r1, r2));
        assert!(q50 > qf);
        // Thin limit ratio Q₅₀/Q_full → 2 (linear capture profile).
        let r2 = r1 * (1.0 + 1e-6);
        let ratio = flow_50(vg, tubular_bowl_sigma_50(l, w, r1, r2))
            / flow_full_capture(vg, tubular_bowl_sigma_full(l, w, r1, r2));
        assert!((ratio - 2.0).abs() < 1e-5);
        // Disc stack scales with n and cot θ.
        let d1 = disc_stack_sigma(10.0, w, 0.02, 0.08, 0.7);
        let d2 = disc_stack_sigma(20.0, w, 0.02, 0.08, 0.7);
        assert!((d2 / d1 - 2.0).abs() < 1e-14);
    }

    #[test]
    fn washout() {
        let c = washout_concentration(100.0, 0.5, 2.0, 1.0);
        assert!((c - 100.0 * (-1.0f64).exp()).abs() < 1e-12);
        assert_eq!(washout_concentration(7.0, 0.5, 0.0, 5.0), 7.0);
    }
    #[test]
    fn sedimentation_diffusion_constant_coefficients_closed_form() {
        // u/D = k constant: φ = M k e^{k(r − r₁)} / (e^{kδ} − 1)
        let (r1, r2) = (0.1, 0.102);
        let delta = r2 - r1;
        for pe in [0.5, 20.0, 400.0, -50.0] {
            let k = pe / delta;
            let d = 1e-10;
            let radii: Vec<f64> = (0..=20).map(|i| r1 + delta * i as f64 / 20.0).collect();
            let got = sedimentation_diffusion_profile(r1, r2, 1e-3, |_| k * d, |_| d, 200, &radii)
                .unwrap();
            for (r, g) in radii.iter().zip(&got) {
                // closed form written to avoid overflow: k e^{k(r−r₂)} / (1 − e^{−kδ})
                let exact = if k > 0.0 {
                    1e-3 * k * (k * (r - r2)).exp() / (1.0 - (-k * delta).exp())
                } else {
                    1e-3 * k * (k * (r - r1)).exp() / ((k * delta).exp() - 1.0)
                };
                assert!(
                    (g / exact - 1.0).abs() < 1e-11,
                    "pe {pe} r {r}: {g} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn sedimentation_diffusion_centrifugal_against_rk4() {
        // u = s ω² r, D(r) varying: an independent RK4 march of dφ/dr = φ u/D with
        // Simpson normalisation.
        let (r1, r2) = (0.1, 0.102);
        let (s, omega) = (1.6e-9, 250.0);
        let u = |r: f64| s * omega * omega * r;
        let d = |r: f64| 2e-10 * (1.0 + 30.0 * (r - r1));
        let n = 40_000;
        let h = (r2 - r1) / n as f64;
        let mut phi = vec![1.0f64; n + 1];
        let f = |r: f64, p: f64| p * u(r) / d(r);
        for i in 0..n {
            let r = r1 + i as f64 * h;
            let p = phi[i];
            let k1 = f(r, p);
            let k2 = f(r + 0.5 * h, p + 0.5 * h * k1);
            let k3 = f(r + 0.5 * h, p + 0.5 * h * k2);
            let k4 = f(r + h, p + h * k3);
            phi[i + 1] = p + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
        }
        let simpson: f64 = (0..=n)
            .map(|i| {
                let w = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                w * phi[i]
            })
            .sum::<f64>()
            * h
            / 3.0;
        let radii: Vec<f64> = (0..=n).step_by(4000).map(|i| r1 + i as f64 * h).collect();
        let got = sedimentation_diffusion_profile(r1, r2, 2e-4, u, d, 100, &radii).unwrap();
        let pe = u(r2) * (r2 - r1) / d(r2);
        assert!(pe > 50.0, "{pe}");
        for (k, g) in got.iter().enumerate() {
            let exact = 2e-4 * phi[k * 4000] / simpson;
            assert!((g / exact - 1.0).abs() < 1e-9, "{k}: {g} vs {exact}");
        }
        // the flux φu − Dφ′ vanishes (central difference inside)
        let r = 0.1019;
        let e = 1e-7;
        let p =
            sedimentation_diffusion_profile(r1, r2, 2e-4, u, d, 100, &[r - e, r, r + e]).unwrap();
        let flux = p[1] * u(r) - d(r) * (p[2] - p[0]) / (2.0 * e);
        // central-difference error (k e)²/6 ≈ 4e-6 relative
        assert!(flux.abs() < 1e-5 * p[1] * u(r), "{flux}");
    }

    #[test]
    fn sedimentation_diffusion_errors() {
        let ok = |_: f64| 1e-10;
        assert!(sedimentation_diffusion_profile(0.1, 0.1, 1.0, ok, ok, 10, &[0.1]).is_err());
        assert!(sedimentation_diffusion_profile(0.1, 0.2, -1.0, ok, ok, 10, &[0.1]).is_err());
        assert!(sedimentation_diffusion_profile(0.1, 0.2, 1.0, ok, ok, 0, &[0.1]).is_err());
        assert!(sedimentation_diffusion_profile(0.1, 0.2, 1.0, ok, ok, 10, &[0.3]).is_err());
        let msg = sedimentation_diffusion_profile(0.1, 0.2, 1.0, ok, |_| 0.0, 10, &[0.1])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("diffusivity"), "{msg}");
    }
}
