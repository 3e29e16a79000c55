//! The error type of the field solver.

use buffycoat_physics::error::PhysicsError;

/// Errors of the Eulerian field solver.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    /// A numeric setting is non-finite or outside its allowed range.
    #[error("invalid {name} = {value}: allowed {allowed}")]
    InvalidParameter {
        /// which setting: the field's own parameter (the `FieldConfig` field path, e.g.
        /// `radial_cells`, `numerics.cfl`); front ends map it to their input key
        name: String,
        /// the rejected value (SI)
        value: f64,
        /// the allowed range
        allowed: String,
    },
    /// The classes or initial profiles are inconsistent (empty, wrong length, overfull).
    #[error("inconsistent field input: {0}")]
    Inconsistent(String),
    /// A physics closure rejected its parameters.
    #[error(transparent)]
    Physics(#[from] PhysicsError),
    /// `advance` was asked to start at a time other than the state's time.
    #[error("advance from t0 = {requested} s, but the field is at t = {current} s")]
    TimeMismatch {
        /// requested start time (s)
        requested: f64,
        /// the state's time (s)
        current: f64,
    },
    /// The state became non-finite (a wave-speed bound was NaN or infinite).
    #[error("non-finite wave speed at t = {time} s (step {step}); the state has diverged")]
    NonFinite {
        /// time of the failing step (s)
        time: f64,
        /// step index
        step: u64,
    },
    /// The implicit scheme's Newton solve failed even at the smallest step.
    #[error(
        "the implicit step did not converge at t = {time} s (step {step}) even at 1e-9 s; \
         try a smaller numerics.implicit.initial_dt or the explicit scheme"
    )]
    NotConverged {
        /// time of the failing step (s)
        time: f64,
        /// step index
        step: u64,
    },
}

/// Shorthand for [`FieldError::InvalidParameter`].
pub(crate) fn invalid(name: &str, value: f64, allowed: &str) -> FieldError {
    FieldError::InvalidParameter {
        name: name.to_owned(),
        value,
        allowed: allowed.to_owned(),
    }
}
