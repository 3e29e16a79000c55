//! # buffycoat-physics
//!
//! The physics of centrifugal blood separation, independent of any solver or file format:
//!
//! - [`units`]: SI inside, conversions at the boundary (the one place units are documented);
//! - [`rotor`]: rotor speed profiles ω(t), ω̇(t) and their exact time integrals;
//! - [`forces`]: force laws in the rotating frame, drag closures, sedimentation coefficient;
//! - [`hindrance`]: hindered settling laws (Richardson–Zaki, Hawksley–Vand) and MLB polydisperse velocities;
//! - [`consolidation`]: effective solid stress σ_e(φ) of a compressible bed (sedimentation–consolidation);
//! - [`analytic`]: analytic solutions for validation (Lamm, Anestis–Schneider, Kynch, sigma theory, washout);
//! - [`error`]: the crate's error type [`error::PhysicsError`] and validation helpers;
//! - [`fluid`]: the suspending fluid (plasma): density and viscosity presets with sources;
//! - [`species`]: cell species (density and size distributions, shape factor) and the species library;
//! - [`population`]: deterministic per-particle random streams and cell sampling;
//! - [`blood`]: blood composition (counts, hematocrit, differential, AC dilution) to concentrations;
//! - [`validation`]: a computed value checked against a known one ([`validation::Check`]);
//! - [`viscosity`]: suspension viscosity (Krieger–Dougherty, Quemada for blood);
//! - [`shear_diffusion`]: shear-induced diffusion coefficients (Phillips et al., tracers in blood);
//!
//! This crate performs no I/O.
#![forbid(unsafe_code)]

pub mod analytic;
pub mod blood;
pub mod consolidation;
pub mod error;
pub mod fluid;
pub mod forces;
pub mod hindrance;
pub mod population;
pub mod rotor;
pub mod shear_diffusion;
pub mod species;
pub mod units;
pub mod validation;
pub mod viscosity;
