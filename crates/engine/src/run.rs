//! Running a set-up: `run(&Setup, &Provenance, &RunOptions) -> Outcome`: dispatches to the
//! model's runner and writes the JSON summary.

use crate::error::RunError;
pub use crate::observe::RunOptions;
use crate::provenance::Provenance;
use crate::setup::Setup;
use crate::summary::{Outcome, write_json_atomic};

/// Runs `setup` to completion: the model's solver, the HDF5 output if asked (written under a
/// temporary name and moved into place at the end), the JSON summary if asked. If the summary
/// cannot be written, the HDF5 output is removed again: both appear or neither.
pub fn run(setup: &Setup, provenance: &Provenance, opts: &RunOptions) -> Result<Outcome, RunError> {
    opts.check_cancel(0.0)?;
    let outcome = match setup {
        Setup::Particles(s) => crate::particles::run_particles(s, provenance, opts)?,
        Setup::Hindered(s) => crate::field_run::run_hindered(s, provenance, opts)?,
        Setup::Channel(s) => crate::channel_run::run_channel(s, provenance, opts)?,
        Setup::Procedure(s) => crate::procedure_run::run_procedure(s, provenance, opts)?,
    };
    // ParaView/VisIt: the XDMF sidecar of the finished output (OUT.xmf; none for files
    // without a mesh).
    let sidecar = match &outcome.output {
        Some(output) => buffycoat_h5::xdmf::write_sidecar(output)?,
        None => None,
    };
    if let Some(path) = &opts.summary
        && let Err(source) = write_json_atomic(path, &outcome)
    {
        // The outputs of a run appear together or not at all: without its summary, the HDF5
        // file just written (and its sidecar) is removed.
        if let Some(output) = &outcome.output {
            let _ = std::fs::remove_file(output);
        }
        if let Some(sidecar) = &sidecar {
            let _ = std::fs::remove_file(sidecar);
        }
        return Err(RunError::Summary {
            path: path.clone(),
            source,
        });
    }
    Ok(outcome)
}
