//! # buffycoat-stepper
//!
//! A deterministic parallel time-stepper. It knows nothing of blood: it advances any
//! [`Propagate`] system from one observation time to the next and hands the state to
//! [`Observer`]s at their [`Cadence`] (the executor/solver/observer split of argmin).
//!
//! ## Determinism
//! Results are bitwise identical for any number of threads and across reruns because
//!
//! 1. work is split into chunks of a **fixed length** ([`Parallel::chunk_len`]), chosen
//!    independently of the thread count, and every chunk's arithmetic depends only on its own
//!    data;
//! 2. per-chunk partial results are stored in a slot per chunk and folded **in chunk order**
//!    ([`ChunkReducer`]); no floating-point reduction depends on scheduling;
//! 3. nothing here iterates a hash map or draws random numbers.
//!
//! ## No allocation in the step loop
//! The pool is built once ([`Parallel::new`]); scratch space ([`ChunkReducer`]) is allocated
//! when a system is set up, not per step. Run the whole loop inside [`Parallel::install`] so
//! that rayon queues jobs on its workers' deques instead of the global injector.
#![forbid(unsafe_code)]

mod control;
mod executor;
mod parallel;
mod state;

pub use control::{StepController, StepDecision};
pub use executor::{Cadence, Executor, Frame, Observer, Propagate, RunReport, Schedule};
pub use parallel::{ChunkReducer, DEFAULT_CHUNK_LEN, Parallel, StepperError};
pub use state::{Checkpoint, StateError, StateReader, StateWriter};
