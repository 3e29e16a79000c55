//! # buffycoat-procedure
//!
//! A leukapheresis procedure over hours: the patient's circulating blood as one well-mixed
//! compartment, the separator (any [`Separator`]: in practice the continuous-flow channel solved
//! by the field solver) deciding which share of each cell type drawn goes to the product bag, the
//! rest returned with the anticoagulant. Outputs patient counts over time, product yield and
//! composition, collection efficiencies CE1/CE2, citrate infusion rate and cumulative dose, and
//! stops on processed blood volumes, a product target or a time limit.
//!
//! Stages (one module each): [`patient`] (blood volume, counts), [`citrate`] (ACD-A dose),
//! [`separator`] (the port-fraction interface), [`simulation`] (the time integration and stop
//! rules).
#![forbid(unsafe_code)]

pub mod citrate;
pub mod patient;
pub mod separator;
pub mod simulation;

pub use patient::{Patient, Sex};
pub use separator::{ConstantSeparator, PortFractions, Separator};
pub use simulation::{Procedure, ProcedureResult, ProcedureRun, Sample, StopReason, StopRules};

/// Errors of the procedure model.
#[derive(Debug, thiserror::Error)]
pub enum ProcedureError {
    /// A parameter is out of range.
    #[error("{name} = {value} is invalid: allowed {allowed}")]
    InvalidParameter {
        /// the scenario key
        name: String,
        /// the value given
        value: f64,
        /// allowed range
        allowed: String,
    },
    /// The separator failed.
    #[error("separator: {0}")]
    Separator(String),
}

pub(crate) fn check(
    name: &str,
    value: f64,
    ok: bool,
    allowed: &str,
) -> Result<f64, ProcedureError> {
    if value.is_finite() && ok {
        Ok(value)
    } else {
        Err(ProcedureError::InvalidParameter {
            name: name.into(),
            value,
            allowed: allowed.into(),
        })
    }
}
