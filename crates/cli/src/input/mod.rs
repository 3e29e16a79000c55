//! The input layer: scenario files, `--set` overrides and the species library. Everything the
//! user writes is checked here and converted to SI; the solvers never see user units.

pub mod library;
pub mod outputs;
pub mod overrides;
pub mod quantity;
pub mod resources;
pub mod scenario;
pub mod setup;
pub mod sweep;

use buffycoat_physics::species::SpeciesLibrary;
use overrides::Override;
use scenario::{Resolved, ScenarioFile};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A scenario read from a file, with overrides applied and every key checked.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// the file
    pub path: PathBuf,
    /// the file's text as written
    pub text: String,
    /// the scenario after `--set` overrides, as TOML text (what actually ran)
    pub effective_text: String,
    /// the overrides as given
    pub overrides: Vec<String>,
    /// the parsed file (after overrides)
    pub file: ScenarioFile,
    /// checked, SI values
    pub resolved: Resolved,
}

/// Why a scenario could not be loaded. Every message names the file; key errors name the key
/// and the allowed range.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("cannot read scenario file {}: {source}", path.display())]
    Read {
        /// the file
        path: PathBuf,
        /// the OS error
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, or a key is unknown, missing or of the wrong type (line and column given).
    #[error("{}: {message}", path.display())]
    Toml {
        /// the file
        path: PathBuf,
        /// the parser's message
        message: String,
    },
    /// A `--set` override is malformed or names an unknown key.
    #[error("{}: {message}", path.display())]
    Override {
        /// the scenario file
        path: PathBuf,
        /// what is wrong
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{}: {key}: {message}", path.display())]
    Key {
        /// the file
        path: PathBuf,
        /// dotted key path
        key: String,
        /// what is wrong and what is allowed
        message: String,
    },
}

fn toml_message(e: &toml::de::Error) -> String {
    e.to_string().trim_end().to_owned()
}

/// Reads `path`, applies `overrides` in order, checks every key against `library` and the
/// allowed ranges.
pub fn load(
    path: &Path,
    overrides: &[String],
    library: &SpeciesLibrary,
) -> Result<LoadedScenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_owned(),
        source,
    })?;
    load_text(path, &text, overrides, library)
}

/// As [`load`], for text already read (`path` is used in messages).
pub fn load_text(
    path: &Path,
    text: &str,
    overrides: &[String],
    library: &SpeciesLibrary,
) -> Result<LoadedScenario, ScenarioError> {
    let toml_err = |message: String| ScenarioError::Toml {
        path: path.to_owned(),
        message,
    };
    let override_err = |message: String| ScenarioError::Override {
        path: path.to_owned(),
        message,
    };
    // Syntax first (with line and column), then the schema of the file as written.
    let mut doc: toml::Value = toml::from_str(text).map_err(|e| toml_err(toml_message(&e)))?;
    let parsed: Vec<Override> = overrides
        .iter()
        .map(|o| Override::parse(o).map_err(|e| override_err(e.to_string())))
        .collect::<Result<_, _>>()?;
    let file = if parsed.is_empty() {
        toml::from_str::<ScenarioFile>(text).map_err(|e| toml_err(toml_message(&e)))?
    } else {
        let file_alone = toml::from_str::<ScenarioFile>(text);
        for (k, o) in parsed.iter().enumerate() {
            o.apply(&mut doc).map_err(|e| override_err(e.to_string()))?;
            // Blame the first override that breaks a file that was fine without it.
            if file_alone.is_ok()
                && let Err(e) = ScenarioFile::deserialize(doc.clone())
            {
                return Err(override_err(format!(
                    "--set {}: {}",
                    parsed[k].text,
                    toml_message(&e).replace('\n', " ")
                )));
            }
        }
        match ScenarioFile::deserialize(doc.clone()) {
            Ok(f) => f,
            Err(e) => {
                return Err(match file_alone {
                    Err(file_error) => toml_err(toml_message(&file_error)),
                    Ok(_) => override_err(toml_message(&e)),
                });
            }
        }
    };
    let resolved = file.resolve(library).map_err(|e| ScenarioError::Key {
        path: path.to_owned(),
        key: e.key,
        message: e.message,
    })?;
    let effective_text = if parsed.is_empty() {
        text.to_owned()
    } else {
        toml::to_string(&doc).unwrap_or_else(|_| text.to_owned())
    };
    Ok(LoadedScenario {
        path: path.to_owned(),
        text: text.to_owned(),
        effective_text,
        overrides: overrides.to_vec(),
        file,
        resolved,
    })
}
