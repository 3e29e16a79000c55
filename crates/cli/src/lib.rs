//! # buffycoat (command-line program and its library)
//!
//! The input layer ([`input`]: scenario files, `--set`, the species library), the run driver
//! ([`run`]: sets up the solvers, observers and output), summaries ([`summary`]) and the
//! built-in validation ([`validate`]). `main.rs` is a thin clap front end over these.
#![forbid(unsafe_code)]

pub mod input;

/// Program version (from Cargo).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Git commit the binary was built from (`unknown` outside a checkout; `-dirty` if modified).
pub const GIT_COMMIT: &str = env!("BUFFYCOAT_GIT_COMMIT");
pub mod channel_run;
pub mod field_run;
pub mod output;
pub mod procedure_run;
pub mod run;
pub mod summary;
pub mod sweep;
pub mod validate;
