//! # buffycoat-sediment
//!
//! The particle-sedimentation solver: cells of known density and size, moving under the
//! rotating-frame forces of [`buffycoat_physics::forces`] inside a [`Geometry`].
//!
//! Pipeline stages, one module each:
//! - [`geometry`]: containers (tube, sector), wall rules, uniform seeding;
//! - [`cells`]: the structure-of-arrays cell state;
//! - [`overdamped`]: the terminal-velocity model, integrated in closed form;
//! - [`inertial`]: the model with particle inertia, an exponential (ETD2) integrator that
//!   advances the drag exactly, with per-cell adaptive steps;
//! - [`solver`]: [`Sedimentation`], the system the stepper advances.
//!
//! The overdamped kernel runs compiled for AVX-512F or AVX2 when the CPU has them (chosen at
//! run time, bitwise the same results as the portable code); calling those `#[target_feature]`
//! functions is the crate's only `unsafe` code (module `simd`), hence `#![deny(unsafe_code)]`
//! with one scoped `allow`.
#![deny(unsafe_code)]

pub mod cells;
pub mod census;
pub mod geometry;
pub mod inertial;
pub mod overdamped;
mod simd;
pub mod solver;
pub mod validation;

pub use cells::{CellSpec, Cells, SpeciesDraw};
pub use geometry::{Geometry, Sector, Tube};
pub use solver::{ParticleModel, Sedimentation, SedimentationConfig, Tolerances};

/// Errors of the sedimentation solver.
#[derive(Debug, thiserror::Error)]
pub enum SedimentError {
    /// A parameter is out of its allowed range.
    #[error("{name} = {value} is invalid: allowed {allowed}")]
    InvalidParameter {
        /// the scenario key
        name: String,
        /// the value given
        value: f64,
        /// the allowed range
        allowed: String,
    },
    /// A cell's properties are invalid.
    #[error("cell {index}: {message}")]
    InvalidCell {
        /// cell index
        index: usize,
        /// what is wrong
        message: String,
    },
    /// The stepper failed (thread pool, schedule).
    #[error(transparent)]
    Stepper(#[from] buffycoat_stepper::StepperError),
    /// The integration failed (step size underflow, non-finite state).
    #[error("integration failed: {0}")]
    Integration(String),
}
