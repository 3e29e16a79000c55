//! Running a set-up: `run(&Setup, &Provenance, &RunOptions) -> Outcome`: dispatches to the
//! model's runner and writes the JSON summary.

use crate::error::RunError;
pub use crate::observe::RunOptions;
use crate::provenance::Provenance;
use crate::setup::Setup;
use crate::summary::{Outcome, write_json_atomic};

/// Runs `setup` to completion: the model's solver, the HDF5 output if asked (written under a
/// temporary name and moved into place at the end), the JSON summary if asked.
pub fn run(setup: &Setup, provenance: &Provenance, opts: &RunOptions) -> Result<Outcome, RunError> {
    let outcome = match setup {
        Setup::Particles(s) => crate::particles::run_particles(s, provenance, opts)?,
        Setup::Hindered(s) => crate::field_run::run_hindered(s, provenance, opts)?,
        Setup::Channel(s) => crate::channel_run::run_channel(s, provenance, opts)?,
        Setup::Procedure(s) => crate::procedure_run::run_procedure(s, provenance, opts)?,
    };
    // ParaView/VisIt: the XDMF sidecar of the finished output (OUT.xmf; none for files
    // without a mesh).
    if let Some(path) = &opts.output {
        buffycoat_h5::xdmf::write_sidecar(path)?;
    }
    if let Some(path) = &opts.summary {
        write_json_atomic(path, &outcome).map_err(|source| RunError::Summary {
            path: path.clone(),
            source,
        })?;
    }
    Ok(outcome)
}
