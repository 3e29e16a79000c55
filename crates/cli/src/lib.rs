//! # buffycoat (command-line program and its library)
//!
//! The input layer ([`input`]: scenario files, `--set`, the species library, conversion to the
//! engine's [`buffycoat_engine::Setup`]).
//! Running, outputs, summaries and sweeps are the engine's (`buffycoat-engine`); `main.rs`
//! parses arguments, prints and sets the exit status.
#![forbid(unsafe_code)]

pub mod input;

pub use buffycoat_engine::{GIT_COMMIT, VERSION};
pub use buffycoat_engine::{sweep, validate};
