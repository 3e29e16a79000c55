//! Sweeps of scenario files: the [`ScenarioSource`] of the engine's sweep machinery for the
//! TOML scenario format (`--vary` keys are scenario keys; a point is `run --set …`).

use super::overrides::{Override, OverrideError};
use super::scenario::ScenarioFile;
use super::{ScenarioError, load_text};
use buffycoat_engine::Provenance;
use buffycoat_engine::setup::Setup;
use buffycoat_engine::sweep::{
    Axis, Grid, ScenarioSource, Shard, SweepError, SweepPlan, error_chain,
};
use buffycoat_physics::species::SpeciesLibrary;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Value;

/// A scenario file as the source of sweep points.
#[derive(Debug, Clone)]
pub struct TomlScenario {
    path: PathBuf,
    text: String,
    doc: Value,
    library: SpeciesLibrary,
}

impl ScenarioSource for TomlScenario {
    fn check_axis(&self, axis: &mut Axis) -> Result<(), SweepError> {
        check_key(&self.doc, axis)
    }

    fn point(&self, overrides: &[String]) -> Result<(Setup, Provenance), String> {
        let loaded = load_text(&self.path, &self.text, overrides, &self.library)
            .map_err(|e| error_chain(&e))?;
        Ok((loaded.setup(), loaded.provenance()))
    }
}

/// A sweep of the scenario file `scenario`: reads it and checks that every varied key is a
/// numeric key the scenario format accepts, with values of the right kind (whole numbers for
/// integer keys).
///
/// A key present in the file must hold a number there (`model.kind` is refused); a key the
/// file omits but the format allows (`run.dt_s`) is fine. Values of keys that take whole
/// numbers are rounded when within 10⁻⁹ of one (`1:1000:4:log` → 1, 10, 100, 1000) and
/// refused otherwise. `run.seed` cannot be varied: each point derives its own
/// (`buffycoat_engine::sweep::derive_seed`).
pub fn sweep_plan(
    scenario: &Path,
    grid: Grid,
    shard: Shard,
    library: SpeciesLibrary,
) -> Result<SweepPlan, SweepError> {
    let text = std::fs::read_to_string(scenario).map_err(|source| {
        SweepError::Scenario(
            ScenarioError::Read {
                path: scenario.to_owned(),
                source,
            }
            .to_string(),
        )
    })?;
    sweep_plan_from_text(scenario, text, grid, shard, library)
}

/// As [`sweep_plan`], for text already read (`scenario` is used in messages and stored as the
/// scenario path).
pub fn sweep_plan_from_text(
    scenario: &Path,
    text: String,
    grid: Grid,
    shard: Shard,
    library: SpeciesLibrary,
) -> Result<SweepPlan, SweepError> {
    let toml_err = |e: &dyn std::fmt::Display| {
        SweepError::Scenario(
            ScenarioError::Toml {
                path: scenario.to_owned(),
                message: e.to_string().trim_end().to_owned(),
            }
            .to_string(),
        )
    };
    let doc: Value = toml::from_str(&text).map_err(|e| toml_err(&e))?;
    let file = ScenarioFile::deserialize(doc.clone()).map_err(|e| toml_err(&e))?;
    let source = TomlScenario {
        path: scenario.to_owned(),
        text: text.clone(),
        doc,
        library,
    };
    SweepPlan::new(Arc::new(source), scenario, text, file.run.seed, grid, shard)
}

/// The value at a dotted path of a TOML document, if there is one.
fn lookup<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    let mut node = doc;
    for part in key.split('.') {
        node = match node {
            Value::Table(t) => t.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Checks that `axis.key` can be varied over its values in the scenario `doc`. For keys that
/// take whole numbers (the schema refuses 0.5, e.g. `species.0.count`), values within 10⁻⁹
/// (relative) of a whole number are rounded to it — floating-point noise of `start:stop:count`
/// and log spacing — and other values are an error.
fn check_key(doc: &Value, axis: &mut Axis) -> Result<(), SweepError> {
    let key = axis.key.as_str();
    let err = |message: String| SweepError::Key {
        key: key.to_owned(),
        message,
    };
    if key == "run.seed" {
        return Err(err(
            "cannot be varied: every point derives its own seed from the scenario's run.seed \
             and the point index (change run.seed in the scenario for another realisation)"
                .into(),
        ));
    }
    match lookup(doc, key) {
        Some(Value::Integer(_) | Value::Float(_)) | None => {}
        Some(other) => {
            let shown = match other {
                Value::Table(_) | Value::Array(_) => String::new(),
                v => format!(" ({v})"),
            };
            return Err(err(format!(
                "is not a numeric key: the scenario has a {}{shown} there; --vary takes keys \
                 whose value is a number (e.g. rotor.rpm, run.duration_s, species.0.count)",
                other.type_str()
            )));
        }
    }
    // Whether the scenario format accepts `key = v` (types and known keys; ranges are checked
    // per point).
    let accepts = |v: f64| -> Result<(), SweepError> {
        let text = format!("{key}={}", buffycoat_engine::sweep::grid::format_number(v));
        let o = Override::parse(&text).map_err(|e| err(e.to_string()))?;
        let mut d = doc.clone();
        o.apply(&mut d).map_err(|e| match e {
            OverrideError::Path { message, .. } => err(message),
            other => err(other.to_string()),
        })?;
        ScenarioFile::deserialize(d).map(|_| ()).map_err(|e| {
            let msg = e.to_string().trim_end().replace('\n', " ");
            err(format!("the scenario format does not accept {text}: {msg}"))
        })
    };
    let first = axis.values.first().copied().unwrap_or(0.0);
    accepts(first.round())?;
    if accepts(0.5).is_err() {
        for v in &mut axis.values {
            let r = v.round();
            if (*v - r).abs() <= 1e-9 * r.abs().max(1.0) {
                *v = r;
            } else {
                return Err(err(format!(
                    "takes whole numbers, but the SPEC `{}` gives {v}",
                    axis.spec
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use buffycoat_engine::sweep::{PointStatus, derive_seed};

    const SCENARIO: &str = "version = 1\n[run]\nduration_s = 1.0\noutput_interval_s = 0.5\nseed = 7\n\
        [rotor]\nrpm = 2400.0\n[geometry]\nkind = \"tube\"\nr_min_m = 0.1\nr_max_m = 0.16\n\
        radius_m = 0.006\n[model]\nkind = \"overdamped\"\n[[species]]\nname = \"probe\"\n\
        density_kg_m3 = 1082.0\ndiameter_m = 9.63e-6\ncount = 20\n";

    fn plan(varies: &[&str]) -> Result<SweepPlan, SweepError> {
        let axes = varies.iter().map(|v| Axis::parse(v).unwrap()).collect();
        sweep_plan_from_text(
            Path::new("s.toml"),
            SCENARIO.into(),
            Grid::new(axes)?,
            Shard::WHOLE,
            crate::input::library::default_library().unwrap(),
        )
    }

    #[test]
    fn keys_are_checked() {
        plan(&["rotor.rpm=1000,2000", "run.dt_s=0.01,0.02"]).unwrap();
        plan(&["species.0.count=10:30:3"]).unwrap();
        let p = plan(&["species.0.count=1:1000:4:log"]).unwrap();
        assert_eq!(p.grid.axes[0].values, [1.0, 10.0, 100.0, 1000.0]);
        let e = |v: &str| plan(&[v]).unwrap_err().to_string();
        assert!(
            e("rotor.nope=1,2").contains("rotor.nope"),
            "{}",
            e("rotor.nope=1,2")
        );
        assert!(e("rotor.nope=1,2").contains("unknown field"));
        assert!(e("model.kind=1,2").contains("not a numeric key"));
        assert!(e("geometry=1,2").contains("not a numeric key"));
        assert!(e("species.3.count=1").contains("out of range"));
        assert!(e("species.0.count=1.5").contains("species.0.count"));
        assert!(e("run.seed=1,2").contains("cannot be varied"));
    }

    #[test]
    fn a_point_runs_and_a_bad_point_fails_with_its_message() {
        let p = plan(&["rotor.rpm=-5,2400"]).unwrap();
        assert_eq!(
            p.overrides(1),
            [
                "rotor.rpm=2400".to_string(),
                format!("run.seed={}", derive_seed(7, 1))
            ]
        );
        let bad = p.run_point(0);
        assert_eq!(bad.status, PointStatus::Failed);
        assert!(bad.error.contains("rotor.rpm"), "{}", bad.error);
        let ok = p.run_point(1);
        assert_eq!(ok.status, PointStatus::Ok, "{}", ok.error);
        assert_eq!(ok.metrics["species.probe.count"], 20.0);
        assert!(ok.metrics.contains_key("wall_time_s"));
        assert!(!ok.metrics.contains_key("seed"));
    }
}
