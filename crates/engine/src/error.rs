//! Why a run failed.

use buffycoat_h5::H5Error;
use buffycoat_sediment::SedimentError;
use buffycoat_stepper::StepperError;
use std::path::PathBuf;

/// Why a run failed. Set-up errors name the scenario (the [`crate::Provenance`] path).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The cells or the solver configuration are invalid.
    #[error("{}: {source}", scenario.display())]
    Setup {
        /// scenario file
        scenario: PathBuf,
        /// the solver's error
        #[source]
        source: SedimentError,
    },
    /// The solver failed during the run.
    #[error("simulation failed: {0}")]
    Solver(#[from] SedimentError),
    /// Thread pool or schedule.
    #[error(transparent)]
    Stepper(#[from] StepperError),
    /// Writing the HDF5 output failed (the partial file is removed).
    #[error("output: {0}")]
    Output(#[from] H5Error),
    /// The field solver rejected its set-up.
    #[error("{}: {source}", scenario.display())]
    FieldSetup {
        /// scenario file
        scenario: PathBuf,
        /// the field solver's error
        #[source]
        source: buffycoat_field::FieldError,
    },
    /// The field solver failed.
    #[error("field solver: {0}")]
    Field(#[from] buffycoat_field::FieldError),
    /// The channel solver rejected its set-up.
    #[error("{}: {source}", scenario.display())]
    ChannelSetup {
        /// scenario file
        scenario: PathBuf,
        /// the channel solver's error
        #[source]
        source: buffycoat_channel::ChannelError,
    },
    /// The channel solver failed.
    #[error("channel solver: {0}")]
    Channel(#[from] buffycoat_channel::ChannelError),
    /// The procedure failed (invalid settings or a channel solve that failed).
    #[error("{}: procedure: {message}", scenario.display())]
    Procedure {
        /// scenario file
        scenario: PathBuf,
        /// what went wrong
        message: String,
    },
    /// Writing the JSON summary failed.
    #[error("cannot write summary {}: {source}", path.display())]
    Summary {
        /// the summary path
        path: PathBuf,
        /// the OS error
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint or its journal cannot be written, read or used.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// the checkpoint or journal file
        path: PathBuf,
        /// what went wrong
        message: String,
    },
    /// The run was cancelled ([`crate::CancelFlag`]) and stopped at a safe point; its partial
    /// output was removed.
    #[error("interrupted at t = {time} s{}", match checkpoint {
        Some(c) => format!("; checkpoint {} written: run the same command with --resume to continue", c.display()),
        None => String::new(),
    })]
    Interrupted {
        /// simulated time reached (s)
        time: f64,
        /// the checkpoint written, if the run was checkpointing
        checkpoint: Option<PathBuf>,
    },
}
