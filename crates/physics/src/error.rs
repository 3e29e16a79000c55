//! The error type of the physics crate.
//!
//! Every fallible constructor or validation in `buffycoat-physics` returns
//! [`PhysicsError`]. Messages name the offending parameter, its value and the allowed range,
//! so that a message can be shown to the user unchanged. Values in messages are in SI units
//! (the crate works in SI only; see [`crate::units`]); the boundary that converted user units
//! should add context if the user typed something else.

/// Errors raised by the physics crate's constructors and validations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhysicsError {
    /// A numeric parameter is non-finite or outside its allowed range.
    #[error("invalid {name} = {value}: allowed {allowed}")]
    InvalidParameter {
        /// What the parameter is (e.g. `"plasma viscosity (Pa s)"`).
        name: String,
        /// The rejected value (SI units).
        value: f64,
        /// Human-readable allowed range, e.g. `"finite and > 0"` or `"in [0, 0.8]"`.
        allowed: String,
    },
    /// A species name was looked up that the library does not contain.
    #[error("unknown species `{name}`; known species: {}", known.join(", "))]
    UnknownSpecies {
        /// The name that was asked for.
        name: String,
        /// The names the library does contain, in library order.
        known: Vec<String>,
    },
    /// Two species in one library share a name.
    #[error("duplicate species name `{name}` in species library")]
    DuplicateSpecies {
        /// The repeated name.
        name: String,
    },
    /// The input is self-contradictory or incomplete (not a single out-of-range number).
    #[error("inconsistent input: {0}")]
    InconsistentInput(String),
}

impl PhysicsError {
    /// Shorthand for [`PhysicsError::InvalidParameter`].
    pub fn invalid(name: impl Into<String>, value: f64, allowed: impl Into<String>) -> Self {
        PhysicsError::InvalidParameter {
            name: name.into(),
            value,
            allowed: allowed.into(),
        }
    }
}

/// Returns `value` if it is finite and strictly positive, else [`PhysicsError::InvalidParameter`]
/// naming `name`.
pub fn ensure_positive(name: &str, value: f64) -> Result<f64, PhysicsError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(PhysicsError::invalid(name, value, "finite and > 0"))
    }
}

/// Returns `value` if it is finite and ≥ 0, else [`PhysicsError::InvalidParameter`] naming `name`.
pub fn ensure_non_negative(name: &str, value: f64) -> Result<f64, PhysicsError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(PhysicsError::invalid(name, value, "finite and >= 0"))
    }
}

/// Returns `value` if it is finite and in the closed interval `[lo, hi]`, else
/// [`PhysicsError::InvalidParameter`] naming `name` and the interval.
pub fn ensure_in_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<f64, PhysicsError> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(value)
    } else {
        Err(PhysicsError::invalid(
            name,
            value,
            format!("in [{lo}, {hi}]"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_parameter_value_and_range() {
        let e = ensure_in_range("hematocrit", 0.9, 0.0, 0.8).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("hematocrit") && msg.contains("0.9") && msg.contains("[0, 0.8]"));
        let e = PhysicsError::UnknownSpecies {
            name: "rbcs".into(),
            known: vec!["rbc".into(), "platelet".into()],
        };
        assert_eq!(
            e.to_string(),
            "unknown species `rbcs`; known species: rbc, platelet"
        );
    }

    #[test]
    fn helpers_accept_and_reject() {
        assert_eq!(ensure_positive("x", 2.0), Ok(2.0));
        assert!(ensure_positive("x", 0.0).is_err());
        assert!(ensure_positive("x", f64::NAN).is_err());
        assert!(ensure_positive("x", f64::INFINITY).is_err());
        assert_eq!(ensure_non_negative("x", 0.0), Ok(0.0));
        assert!(ensure_non_negative("x", -1e-300).is_err());
        assert_eq!(ensure_in_range("x", 0.8, 0.0, 0.8), Ok(0.8));
        assert!(ensure_in_range("x", f64::NAN, 0.0, 0.8).is_err());
    }
}
