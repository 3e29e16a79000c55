//! The error type of the channel solvers.

use buffycoat_field::FieldError;
use buffycoat_physics::error::PhysicsError;

/// Errors of the continuous-flow channel solvers.
///
/// Input errors name the scenario key (e.g. `inlet.flow_ml_min`) and give the rejected value in
/// the unit the key names (mL/min, m, rpm), so that a message can be shown to the user as is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChannelError {
    /// A setting is non-finite or outside its allowed range.
    #[error("invalid {key} = {value}: allowed {allowed}")]
    InvalidParameter {
        /// the parameter: the documented input key for geometry, flows, rpm and grid (e.g.
        /// `ports.collect_ml_min`), the `ChannelConfig` field path for solver numerics
        /// (e.g. `implicit.tolerance`); front ends map it to their input key
        key: String,
        /// the rejected value, in the unit the key names
        value: f64,
        /// the allowed range
        allowed: String,
    },
    /// The port flows take more than the channel receives: the red-cell port would have to
    /// run backwards.
    #[error(
        "ports.plasma_ml_min + ports.collect_ml_min = {ports_ml_min:.4} mL/min exceeds the channel \
         inflow {inflow_ml_min:.4} mL/min (inlet.flow_ml_min × (1 + 1/inlet.ac_ratio)); the \
         red-cell port would take {red_cells_ml_min:.4} mL/min: allowed plasma + collect <= inflow"
    )]
    NegativeRedCellFlow {
        /// channel inflow Q = Q_b(1 + 1/r) (mL/min)
        inflow_ml_min: f64,
        /// plasma + collect flow (mL/min)
        ports_ml_min: f64,
        /// the (negative) remainder Q − Q_p − Q_c (mL/min)
        red_cells_ml_min: f64,
    },
    /// The classes, roles, tracers or settings are inconsistent (empty, unknown species, …).
    #[error("inconsistent channel input: {0}")]
    Inconsistent(String),
    /// The implicit march did not converge (the Newton iteration stalled even after the step
    /// was subdivided).
    #[error(
        "implicit march did not converge at along-channel station {station} (τ = {tau} s): scaled \
         residual {residual:e} after {iterations} Newton iterations"
    )]
    NotConverged {
        /// along-channel station (1 … along_cells) or transient step
        station: usize,
        /// residence time of the station (s)
        tau: f64,
        /// last scaled residual
        residual: f64,
        /// Newton iterations spent
        iterations: usize,
    },
    /// The explicit field solver failed.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A physics closure rejected its parameters.
    #[error(transparent)]
    Physics(#[from] PhysicsError),
}

/// Shorthand for [`ChannelError::InvalidParameter`].
pub(crate) fn invalid(key: &str, value: f64, allowed: &str) -> ChannelError {
    ChannelError::InvalidParameter {
        key: key.to_owned(),
        value,
        allowed: allowed.to_owned(),
    }
}
