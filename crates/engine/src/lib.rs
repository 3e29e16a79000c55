//! # buffycoat-engine
//!
//! The engine under every front end (the `buffycoat` program today, Python bindings later):
//!
//! - [`Setup`]: one typed choice of model and its settings, in SI units
//!   ([`ParticleSetup`], [`HinderedSetup`], [`ChannelSetup`], [`ProcedureSetup`]), plus the
//!   [`Provenance`] of the input;
//! - [`run()`]: runs a set-up with [`RunOptions`] (HDF5 output, JSON summary, threads,
//!   progress) and returns its [`Outcome`], a per-model result with a text for people and a
//!   JSON form ([`summary`]);
//! - [`sweep`]: parameter sweeps (grid, plan, runner, sweep file, merge) for any front end
//!   that implements [`sweep::ScenarioSource`].
//!
//! The model logic itself lives in the model crates (sediment, field, channel, procedure);
//! the engine connects them to outputs. Modules do not import each other in a circle:
//! `run` dispatches to `particles`, `field_run`, `channel_run` and `procedure_run`, which
//! use `observe`, `output`, `progress`, `summary`, `setup` and `error`, never `run`.
#![forbid(unsafe_code)]

pub mod channel_run;
pub mod checkpoint;
pub mod error;
pub mod field_run;
pub mod observe;
pub mod output;
pub mod particles;
pub mod procedure_run;
pub mod progress;
pub mod provenance;
pub mod run;
pub mod setup;
pub mod summary;
pub mod sweep;
pub mod validate;

pub use checkpoint::{CheckpointEvery, Checkpointing};
pub use error::RunError;
pub use observe::CancelFlag;
pub use progress::ProgressMode;
pub use provenance::{GIT_COMMIT, Program, Provenance, VERSION};
pub use run::{RunOptions, run};
pub use setup::{
    ChannelSettings, ChannelSetup, ChannelSolver, HinderedSettings, HinderedSetup, ParticleSetup,
    ProcedureSetup, RunSpecies, Sample, Setup, Timeline,
};
pub use summary::{ModelOutcome, Outcome};
