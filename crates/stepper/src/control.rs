//! Step-size control for embedded error estimates (generic numerics, no physics).

/// Outcome of one error check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepDecision {
    /// Keep the step; try `next` (s) for the following one.
    Accept {
        /// proposed next step
        next: f64,
    },
    /// Redo the step with `retry` (s).
    Reject {
        /// smaller step to retry with
        retry: f64,
    },
}

/// The standard elementary controller (Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.4):
/// with a scaled error norm `err` (≤ 1 means within tolerance) of an embedded estimate of order
/// `q` (local error ∝ h^(q+1)), the new step is h · clamp(safety · err^(−1/(q+1)), min, max).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepController {
    /// order q of the error estimate
    pub estimate_order: u32,
    /// safety factor (< 1)
    pub safety: f64,
    /// smallest shrink factor per step
    pub min_factor: f64,
    /// largest growth factor per step
    pub max_factor: f64,
}

impl StepController {
    /// A controller for an estimate of order `q` with safety 0.9 and factors in [0.2, 5].
    pub fn new(estimate_order: u32) -> Self {
        Self {
            estimate_order,
            safety: 0.9,
            min_factor: 0.2,
            max_factor: 5.0,
        }
    }

    /// Accept or reject a step `h` whose scaled error norm is `err`.
    #[inline]
    pub fn decide(&self, h: f64, err: f64) -> StepDecision {
        let exponent = -1.0 / f64::from(self.estimate_order + 1);
        let factor = if err > 0.0 {
            (self.safety * err.powf(exponent)).clamp(self.min_factor, self.max_factor)
        } else {
            self.max_factor
        };
        if err <= 1.0 {
            StepDecision::Accept { next: h * factor }
        } else {
            // A non-finite error must still shrink the step.
            let factor = if err.is_finite() {
                factor.min(0.9)
            } else {
                self.min_factor
            };
            StepDecision::Reject { retry: h * factor }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_on_small_error_and_shrinks_on_large() {
        let c = StepController::new(1);
        assert!(matches!(c.decide(1.0, 0.0), StepDecision::Accept { next } if next == 5.0));
        match c.decide(1.0, 0.25) {
            StepDecision::Accept { next } => assert!((next - 1.8).abs() < 1e-12),
            d => panic!("{d:?}"),
        }
        assert!(matches!(c.decide(1.0, 4.0), StepDecision::Reject { retry } if retry < 0.5));
        assert!(matches!(c.decide(1.0, f64::NAN), StepDecision::Reject { retry } if retry == 0.2));
    }
}
