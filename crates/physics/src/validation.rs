//! A comparison of a computed quantity against a known value (analytic solution or published
//! number), shared by every crate's validation cases and printed by `buffycoat validate`.

/// One validation check: `got` must match `expected` within relative `tolerance`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// the case (e.g. "overdamped, constant ω")
    pub case: String,
    /// the compared quantity with its unit (e.g. `"r(20 s) [m]"`)
    pub quantity: String,
    /// the known value
    pub expected: f64,
    /// the computed value
    pub got: f64,
    /// allowed relative error
    pub tolerance: f64,
    /// why the tolerance is what it is, and the source of the expected value
    pub note: String,
}

impl Check {
    /// A check of `got` against `expected` within relative `tolerance`.
    pub fn new(
        case: impl Into<String>,
        quantity: impl Into<String>,
        expected: f64,
        got: f64,
        tolerance: f64,
        note: impl Into<String>,
    ) -> Self {
        Self {
            case: case.into(),
            quantity: quantity.into(),
            expected,
            got,
            tolerance,
            note: note.into(),
        }
    }

    /// |got − expected| / |expected| (absolute error when expected is 0).
    pub fn relative_error(&self) -> f64 {
        let diff = (self.got - self.expected).abs();
        if self.expected == 0.0 {
            diff
        } else {
            diff / self.expected.abs()
        }
    }

    /// True when the error is within tolerance (and both values are finite).
    pub fn passed(&self) -> bool {
        self.got.is_finite() && self.expected.is_finite() && self.relative_error() <= self.tolerance
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_and_fail() {
        assert!(Check::new("c", "q", 2.0, 2.0 + 1e-10, 1e-9, "").passed());
        assert!(!Check::new("c", "q", 2.0, 2.1, 1e-3, "").passed());
        assert!(!Check::new("c", "q", 2.0, f64::NAN, 1.0, "").passed());
        assert_eq!(
            Check::new("c", "q", 0.0, 1e-3, 1e-2, "").relative_error(),
            1e-3
        );
    }
}
