//! Where a run came from: the program and the input it was set up from. Written to every
//! output file (`/parameters`) and summary (`program`, `scenario`).

use serde::Serialize;
use std::path::PathBuf;

/// Program version (from Cargo).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Git commit the engine was built from (`unknown` outside a checkout; `-dirty` if modified).
pub const GIT_COMMIT: &str = env!("BUFFYCOAT_GIT_COMMIT");

/// Program identification (`SUMMARY.json` key `program`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Program {
    /// "buffycoat"
    pub name: &'static str,
    /// version
    pub version: &'static str,
    /// git commit
    pub git_commit: &'static str,
}

impl Default for Program {
    fn default() -> Self {
        Self {
            name: "buffycoat",
            version: VERSION,
            git_commit: GIT_COMMIT,
        }
    }
}

/// The input a [`crate::Setup`] was made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// the scenario file, or a label of the caller (`/parameters/scenario_path`)
    pub scenario_path: PathBuf,
    /// the input as written (`/parameters/scenario_toml`; empty without a file)
    pub text: String,
    /// the input as run, after overrides (`/parameters/effective_toml`)
    pub effective_text: String,
    /// overrides as given (`/parameters/overrides`)
    pub overrides: Vec<String>,
    /// the program
    pub program: Program,
}

impl Provenance {
    /// The provenance of a set-up built in code, without a scenario file: `label` names it in
    /// messages and outputs.
    pub fn from_code(label: &str) -> Self {
        Self {
            scenario_path: PathBuf::from(label),
            ..Self::default()
        }
    }
}
