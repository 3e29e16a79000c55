//! Rotor speed: constant, or a piecewise-linear rpm profile (ramp up, plateau, brake).
//!
//! The rotor turns counter-clockwise about +ẑ with angular velocity ω(t) ≥ 0 (rad/s). A profile is
//! a list of knots (tₖ, ωₖ) with t₀ = 0 and strictly increasing times; between knots ω is linear in
//! t, after the last knot it holds the last value. Hence ω̇ is piecewise constant and jumps at the
//! knots: integrators must not step across a knot (see [`RotorProfile::next_knot_after`]), which
//! keeps their order of accuracy during ramps.

use crate::units::rpm_to_rad_per_s;

/// Highest rpm accepted anywhere: 150 000 rpm, the top speed of the fastest commercial
/// ultracentrifuge (Beckman Coulter Optima MAX-XP tabletop ultracentrifuge, product data sheet).
/// Apheresis centrifuges run at about 1 000–5 000 rpm; anything above this limit is a typo.
pub const MAX_RPM: f64 = 150_000.0;

/// Shortest interval between two knots of a rotor profile (s), and so the shortest ramp or
/// brake: 1 ms. Real rotors take seconds to change speed; shorter spacings only produce
/// accelerations that overflow (a ramp of 10⁻³⁰⁶ s) or knot times below the resolution of
/// the run's clock (a knot at 10⁻³²⁰ s), so they are refused.
pub const MIN_KNOT_SPACING_S: f64 = 1e-3;

/// Error building a rotor profile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RotorError {
    /// A speed is negative, not finite or above [`MAX_RPM`].
    #[error("rpm {rpm} at knot {index} is outside the allowed range 0 ≤ rpm ≤ {max} (finite)")]
    RpmOutOfRange {
        /// knot index
        index: usize,
        /// offending value (rpm)
        rpm: f64,
        /// the limit
        max: f64,
    },
    /// Knot times must start at 0 and increase strictly.
    #[error("profile times must start at 0 s and increase strictly; knot {index} has t = {time} s")]
    BadTimes {
        /// knot index
        index: usize,
        /// offending time (s)
        time: f64,
    },
    /// Two knots closer than [`MIN_KNOT_SPACING_S`].
    #[error(
        "profile knot {index} at t = {time:e} s is closer than {min} s to the previous knot (ramps and brakes last at least {min} s)"
    )]
    KnotsTooClose {
        /// knot index
        index: usize,
        /// its time (s)
        time: f64,
        /// the limit (s)
        min: f64,
    },
    /// An empty profile.
    #[error("a rotor profile needs at least one knot")]
    Empty,
}

/// A rotor speed history ω(t), piecewise linear in time.
#[derive(Debug, Clone, PartialEq)]
pub struct RotorProfile {
    /// knot times (s), `times[0] == 0`, strictly increasing
    times: Vec<f64>,
    /// angular velocity at the knots (rad/s)
    omegas: Vec<f64>,
}

impl RotorProfile {
    /// A rotor at a constant `rpm`.
    pub fn constant_rpm(rpm: f64) -> Result<Self, RotorError> {
        Self::from_rpm_knots(&[(0.0, rpm)])
    }

    /// A piecewise-linear profile from `(time_s, rpm)` knots. The first knot must be at t = 0.
    pub fn from_rpm_knots(knots: &[(f64, f64)]) -> Result<Self, RotorError> {
        if knots.is_empty() {
            return Err(RotorError::Empty);
        }
        let mut times = Vec::with_capacity(knots.len());
        let mut omegas = Vec::with_capacity(knots.len());
        for (index, &(time, rpm)) in knots.iter().enumerate() {
            let time_ok = time.is_finite()
                && if index == 0 {
                    time == 0.0
                } else {
                    time > times[index - 1]
                };
            if !time_ok {
                return Err(RotorError::BadTimes { index, time });
            }
            if index > 0 && time - times[index - 1] < MIN_KNOT_SPACING_S {
                return Err(RotorError::KnotsTooClose {
                    index,
                    time,
                    min: MIN_KNOT_SPACING_S,
                });
            }
            if !(rpm.is_finite() && (0.0..=MAX_RPM).contains(&rpm)) {
                return Err(RotorError::RpmOutOfRange {
                    index,
                    rpm,
                    max: MAX_RPM,
                });
            }
            times.push(time);
            omegas.push(rpm_to_rad_per_s(rpm));
        }
        Ok(Self { times, omegas })
    }

    /// A trapezoidal run: linear ramp from rest to `rpm` over `ramp_up_s`, plateau until
    /// `brake_start_s`, linear brake to rest over `brake_s`. Zero-length ramps are allowed.
    pub fn trapezoid(
        rpm: f64,
        ramp_up_s: f64,
        brake_start_s: f64,
        brake_s: f64,
    ) -> Result<Self, RotorError> {
        let mut knots = Vec::new();
        if ramp_up_s > 0.0 {
            knots.push((0.0, 0.0));
        }
        knots.push((ramp_up_s.max(0.0), rpm));
        if brake_start_s > ramp_up_s {
            knots.push((brake_start_s, rpm));
        }
        if brake_s > 0.0 {
            knots.push((brake_start_s.max(ramp_up_s) + brake_s, 0.0));
        }
        Self::from_rpm_knots(&knots)
    }

    /// Knot times (s).
    pub fn knot_times(&self) -> &[f64] {
        &self.times
    }

    /// True when ω never changes.
    pub fn is_constant(&self) -> bool {
        self.omegas.iter().all(|&w| w == self.omegas[0])
    }

    /// Largest angular velocity of the profile (rad/s).
    pub fn max_omega(&self) -> f64 {
        self.omegas.iter().copied().fold(0.0, f64::max)
    }

    /// Index of the segment containing `t`: the last knot with tₖ ≤ t (0 for t < 0).
    #[inline]
    fn segment(&self, t: f64) -> usize {
        // partition_point: number of knots with tₖ ≤ t.
        self.times.partition_point(|&tk| tk <= t).saturating_sub(1)
    }

    /// Angular velocity ω(t) (rad/s).
    #[inline]
    pub fn omega(&self, t: f64) -> f64 {
        let k = self.segment(t);
        if k + 1 >= self.times.len() || t <= self.times[k] {
            return self.omegas[k];
        }
        let frac = (t - self.times[k]) / (self.times[k + 1] - self.times[k]);
        self.omegas[k] + frac * (self.omegas[k + 1] - self.omegas[k])
    }

    /// Angular acceleration ω̇(t) (rad/s²), the right derivative (the slope of the segment that
    /// starts at or before `t`).
    #[inline]
    pub fn omega_dot(&self, t: f64) -> f64 {
        let k = self.segment(t);
        if k + 1 >= self.times.len() || t < 0.0 {
            return 0.0;
        }
        (self.omegas[k + 1] - self.omegas[k]) / (self.times[k + 1] - self.times[k])
    }

    /// The first knot strictly after `t`, if any: integrators end a step there so that ω̇ is
    /// constant within every step.
    #[inline]
    pub fn next_knot_after(&self, t: f64) -> Option<f64> {
        let k = self.times.partition_point(|&tk| tk <= t);
        self.times.get(k).copied()
    }

    /// Exact ∫ ω(t)² dt over [t0, t1] (rad²/s). ω is linear on each segment, so ω² is quadratic
    /// and Simpson's rule is exact piece by piece.
    pub fn integral_omega_squared(&self, t0: f64, t1: f64) -> f64 {
        self.integrate_piecewise(t0, t1, |a, b, h| {
            let m = 0.5 * (a + b);
            h / 6.0 * (a * a + 4.0 * m * m + b * b)
        })
    }

    /// Exact ∫ ω(t) dt over [t0, t1] (rad): the angle turned.
    pub fn integral_omega(&self, t0: f64, t1: f64) -> f64 {
        self.integrate_piecewise(t0, t1, |a, b, h| 0.5 * h * (a + b))
    }

    fn integrate_piecewise(&self, t0: f64, t1: f64, piece: impl Fn(f64, f64, f64) -> f64) -> f64 {
        if t1 < t0 {
            return -self.integrate_piecewise(t1, t0, piece);
        }
        let mut total = 0.0;
        let mut a = t0;
        while a < t1 {
            let b = self.next_knot_after(a).map_or(t1, |k| k.min(t1));
            total += piece(self.omega(a), self.omega(b), b - a);
            a = b;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn constant_profile() {
        let p = RotorProfile::constant_rpm(2400.0).unwrap();
        let w = 2400.0 * 2.0 * PI / 60.0;
        assert_eq!(p.omega(0.0), w);
        assert_eq!(p.omega(1e6), w);
        assert_eq!(p.omega_dot(3.0), 0.0);
        assert!(p.is_constant());
        assert!((p.integral_omega_squared(1.0, 3.0) - 2.0 * w * w).abs() < 1e-9);
        assert_eq!(p.next_knot_after(0.0), None);
    }

    #[test]
    fn trapezoid_ramp_values_and_integrals() {
        let p = RotorProfile::trapezoid(3000.0, 10.0, 100.0, 20.0).unwrap();
        let w = rpm_to_rad_per_s(3000.0);
        assert_eq!(p.omega(0.0), 0.0);
        assert!((p.omega(5.0) - 0.5 * w).abs() < 1e-12);
        assert!((p.omega_dot(5.0) - w / 10.0).abs() < 1e-12);
        assert_eq!(p.omega_dot(50.0), 0.0);
        assert!((p.omega_dot(110.0) + w / 20.0).abs() < 1e-12);
        assert_eq!(p.omega(200.0), 0.0);
        // ∫ω² over the ramp: w² T / 3; plateau w² (100 − 10); brake w² 20 / 3.
        let expected = w * w * (10.0 / 3.0 + 90.0 + 20.0 / 3.0);
        let got = p.integral_omega_squared(0.0, 150.0);
        assert!((got / expected - 1.0).abs() < 1e-14, "{got} vs {expected}");
        assert_eq!(p.integral_omega_squared(3.0, 3.0), 0.0);
        // Splitting the interval anywhere gives the same total.
        let split = p.integral_omega_squared(0.0, 7.3) + p.integral_omega_squared(7.3, 150.0);
        assert!((split / expected - 1.0).abs() < 1e-14);
        // Angle turned during the plateau.
        assert!((p.integral_omega(10.0, 100.0) - 90.0 * w).abs() < 1e-9);
        assert_eq!(p.next_knot_after(0.0), Some(10.0));
        assert_eq!(p.next_knot_after(10.0), Some(100.0));
        assert_eq!(p.next_knot_after(120.0), None);
    }

    #[test]
    fn rejects_bad_knots() {
        assert!(matches!(
            RotorProfile::constant_rpm(-1.0),
            Err(RotorError::RpmOutOfRange { .. })
        ));
        assert!(matches!(
            RotorProfile::constant_rpm(f64::NAN),
            Err(RotorError::RpmOutOfRange { .. })
        ));
        assert!(matches!(
            RotorProfile::constant_rpm(MAX_RPM * 1.01),
            Err(RotorError::RpmOutOfRange { .. })
        ));
        assert!(matches!(
            RotorProfile::from_rpm_knots(&[(1.0, 100.0)]),
            Err(RotorError::BadTimes { index: 0, .. })
        ));
        assert!(matches!(
            RotorProfile::from_rpm_knots(&[(0.0, 100.0), (0.0, 200.0)]),
            Err(RotorError::BadTimes { index: 1, .. })
        ));
        assert_eq!(RotorProfile::from_rpm_knots(&[]), Err(RotorError::Empty));
        // Ramps shorter than a millisecond (a reproducer: 1e-306 s overflowed ω̇) are refused.
        assert!(matches!(
            RotorProfile::trapezoid(2400.0, 1e-306, 20.0, 0.0),
            Err(RotorError::KnotsTooClose { index: 1, .. })
        ));
        assert!(matches!(
            RotorProfile::from_rpm_knots(&[(0.0, 0.0), (1e-320, 2400.0)]),
            Err(RotorError::KnotsTooClose { index: 1, .. })
        ));
        assert!(RotorProfile::trapezoid(2400.0, MIN_KNOT_SPACING_S, 20.0, 0.0).is_ok());
    }
}
