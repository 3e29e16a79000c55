//! Metrics of a sweep point: every numeric leaf of the run summary (`SUMMARY.json`) under a
//! dotted name, and units derived from the names.
//!
//! # Naming rule
//!
//! The summary is serialised to JSON and walked: object keys are joined with `.`, array
//! elements are named by their index (`species.probe.layer_fractions.0`). Every number becomes a
//! metric (integers as `f64`); strings, booleans and `null` are skipped (a point whose summary
//! has `null` where another has a number gets NaN for that metric). The top-level provenance
//! keys [`EXCLUDED_KEYS`] (`program`, `scenario`, `output`, `seed`, `threads`) are not metrics.
//! A `/` in a key (not a valid HDF5 name) becomes `_`. Examples:
//!
//! | summary JSON | metric |
//! |---|---|
//! | `{"species": {"probe": {"pelleted_fraction": 0.4}}}` | `species.probe.pelleted_fraction` |
//! | `{"layers": {"buffy_coat": {"species": {"lymphocyte": 0.9}}}}` | `layers.buffy_coat.species.lymphocyte` |
//! | `{"ports": {"collect": {"species": {"lymphocyte": {"fraction": 0.4}}}}}` | `ports.collect.species.lymphocyte.fraction` |
//! | `{"collection_efficiency": {"lymphocyte": 0.4}}` | `collection_efficiency.lymphocyte` |
//! | `{"wall_time_s": 0.1}` | `wall_time_s` |
//!
//! The metric set of a sweep is the union over its points (sorted by name).
//! [`TIMING_METRICS`] (`wall_time_s`, `particle_steps_per_second`) measure the machine, not
//! the physics: they differ between runs of the same point and are left out of every identity
//! check (resume, merge, tests).
//!
//! # Units
//!
//! [`unit_for`] derives a `unit` attribute from the last component of a dotted name (parameter
//! or metric), first match wins:
//!
//! | name ends in | unit |
//! |---|---|
//! | `_pa_s` | `Pa s` |
//! | `_kg_m3` | `kg m-3` |
//! | `_ml_min` | `mL/min` |
//! | `_mm_h` | `mm/h` |
//! | `_per_ul` (or is `per_ul`) | `cells/µL` |
//! | `_per_second` | `s-1` |
//! | `_deg` | `deg` |
//! | `_m` | `m` |
//! | `_s` | `s` |
//! | `rpm` | `rpm` |
//!
//! Otherwise, a name with a component ending in `fraction`, `fractions`, `hematocrit`, `purity`
//! or `efficiency` (`ports.collect.hematocrit`, `collection_efficiency.lymphocyte`) gets `1`
//! (dimensionless). Anything else gets no `unit` attribute.

use serde_json::Value;
use std::collections::BTreeMap;

/// Top-level summary keys that are provenance, not results.
pub const EXCLUDED_KEYS: [&str; 5] = ["program", "scenario", "output", "seed", "threads"];

/// Metrics that measure the machine rather than the physics; excluded from identity checks.
pub const TIMING_METRICS: [&str; 2] = ["wall_time_s", "particle_steps_per_second"];

/// Whether `name` is one of [`TIMING_METRICS`].
pub fn is_timing(name: &str) -> bool {
    TIMING_METRICS.contains(&name)
}

/// Every numeric leaf of a summary (as JSON) under its dotted name (see the module docs).
pub fn flatten_summary(summary: &Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    match summary {
        Value::Object(map) => {
            for (k, v) in map {
                if !EXCLUDED_KEYS.contains(&k.as_str()) {
                    flatten_into(&clean(k), v, &mut out);
                }
            }
        }
        other => flatten_into("", other, &mut out),
    }
    out
}

fn clean(key: &str) -> String {
    key.replace('/', "_")
}

fn flatten_into(prefix: &str, v: &Value, out: &mut BTreeMap<String, f64>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(prefix.to_owned(), x);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                flatten_into(&join(&clean(k)), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten_into(&join(&i.to_string()), v, out);
            }
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// Name components that mark a dimensionless quantity.
const DIMENSIONLESS: [&str; 5] = [
    "fraction",
    "fractions",
    "hematocrit",
    "purity",
    "efficiency",
];

/// The unit of a parameter or metric from its name (see the module docs); `None` if unknown.
pub fn unit_for(name: &str) -> Option<&'static str> {
    let last = name.rsplit('.').next().unwrap_or(name);
    const SUFFIXES: [(&str, &str); 10] = [
        ("_pa_s", "Pa s"),
        ("_kg_m3", "kg m-3"),
        ("_ml_min", "mL/min"),
        ("_mm_h", "mm/h"),
        ("_per_ul", "cells/µL"),
        ("_per_second", "s-1"),
        ("_deg", "deg"),
        ("_m", "m"),
        ("_s", "s"),
        ("rpm", "rpm"),
    ];
    if last == "per_ul" {
        return Some("cells/µL");
    }
    if let Some((_, unit)) = SUFFIXES.iter().find(|(s, _)| last.ends_with(s)) {
        return Some(unit);
    }
    name.split('.')
        .any(|c| DIMENSIONLESS.iter().any(|s| c.ends_with(s)))
        .then_some("1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_numeric_leaves_and_skips_provenance() {
        let s = json!({
            "program": {"name": "buffycoat", "version": "0.1.0"},
            "scenario": "a.toml", "output": null, "seed": 7, "threads": 2,
            "model": "overdamped",
            "wall_time_s": 0.5,
            "particle_steps": 1000,
            "species": {"probe": {"count": 50, "pelleted_fraction": 0.25, "per_ul": null,
                                   "layer_fractions": [0.1, 0.2, 0.7]}},
            "ports": {"collect": {"species": {"lymphocyte": {"fraction": 0.4}}}},
            "flag": true,
            "a/b": 1.5
        });
        let m = flatten_summary(&s);
        let names: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "a_b",
                "particle_steps",
                "ports.collect.species.lymphocyte.fraction",
                "species.probe.count",
                "species.probe.layer_fractions.0",
                "species.probe.layer_fractions.1",
                "species.probe.layer_fractions.2",
                "species.probe.pelleted_fraction",
                "wall_time_s",
            ]
        );
        assert_eq!(m["species.probe.pelleted_fraction"], 0.25);
        assert_eq!(m["particle_steps"], 1000.0);
    }

    #[test]
    fn units_from_suffixes() {
        assert_eq!(unit_for("rotor.rpm"), Some("rpm"));
        assert_eq!(unit_for("rotor.profile.1.rpm"), Some("rpm"));
        assert_eq!(unit_for("inlet.flow_ml_min"), Some("mL/min"));
        assert_eq!(unit_for("ports.collect.flow_ml_min"), Some("mL/min"));
        assert_eq!(unit_for("geometry.r_max_m"), Some("m"));
        assert_eq!(unit_for("run.duration_s"), Some("s"));
        assert_eq!(unit_for("fluid.viscosity_pa_s"), Some("Pa s"));
        assert_eq!(unit_for("fluid.density_kg_m3"), Some("kg m-3"));
        assert_eq!(unit_for("blood.wbc_per_ul"), Some("cells/µL"));
        assert_eq!(
            unit_for("ports.collect.species.lymphocyte.per_ul"),
            Some("cells/µL")
        );
        assert_eq!(unit_for("particle_steps_per_second"), Some("s-1"));
        assert_eq!(unit_for("species.probe.pelleted_fraction"), Some("1"));
        assert_eq!(unit_for("blood.hematocrit"), Some("1"));
        assert_eq!(unit_for("species.0.count"), None);
        assert_eq!(unit_for("collection_efficiency.lymphocyte"), Some("1"));
        assert_eq!(unit_for("species.probe.layer_fractions.2"), Some("1"));
        assert_eq!(unit_for("max_particle_reynolds"), None);
    }
}
