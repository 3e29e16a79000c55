//! `--set key=value`: override any scenario key by dotted path before the scenario is checked.
//!
//! Paths address tables by key and arrays by index: `rotor.rpm=2400`,
//! `geometry.r_max_m=0.15`, `species.0.count=500`. The value is read as a TOML value
//! (`2400`, `1.5e-3`, `true`, `"text"`, `[1, 2]`); a bare word that is not valid TOML is taken as
//! a string (`--set model.kind=inertial`). A key that the scenario format does not know is
//! rejected when the overridden scenario is checked (every table denies unknown fields), and the
//! message then names the `--set` that introduced it.
//!
//! The three `[ports]` keys that set the channel's plasma pump — `plasma_ml_min` (a fixed flow),
//! `collect_hematocrit` (the collect-line set-point) and `interface_control = true` (the
//! white-cell interface controller) — are alternatives: a `--set` of one of them removes the
//! others (and `interface_target` unless the interface controller is the one set), so that
//! `--set ports.plasma_ml_min=26.5` or `--vary ports.plasma_ml_min=…` runs a preset that holds a
//! set-point with fixed pumps instead of being refused as contradictory.

use toml::Value;

/// One parsed `--set` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// dotted path, e.g. `rotor.rpm`
    pub path: String,
    /// the value
    pub value: Value,
    /// the text as given, for messages
    pub text: String,
}

/// Problems with an override.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverrideError {
    /// Not of the form key=value.
    #[error("--set {0:?}: expected KEY=VALUE with a dotted key, e.g. --set rotor.rpm=2400")]
    Syntax(String),
    /// The path runs through a value that is not a table or array, or an index out of range.
    #[error("--set {text}: {message}")]
    Path {
        /// the override as given
        text: String,
        /// what is wrong
        message: String,
    },
}

impl Override {
    /// Parses `KEY=VALUE`.
    pub fn parse(text: &str) -> Result<Self, OverrideError> {
        let (path, raw) = text
            .split_once('=')
            .ok_or_else(|| OverrideError::Syntax(text.to_owned()))?;
        let path = path.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(OverrideError::Syntax(text.to_owned()));
        }
        let raw = raw.trim();
        let value = parse_value(raw);
        Ok(Self {
            path: path.to_owned(),
            value,
            text: text.to_owned(),
        })
    }

    /// Applies the override to a parsed scenario document. Missing table keys are created
    /// (so optional keys can be set); whether they are allowed is decided by the schema. A
    /// plasma-pump key replaces its alternatives (see the module documentation).
    pub fn apply(&self, doc: &mut Value) -> Result<(), OverrideError> {
        self.set(doc)?;
        self.replace_plasma_pump_alternatives(doc);
        Ok(())
    }

    /// After a `--set` of `ports.plasma_ml_min`, `ports.collect_hematocrit` or
    /// `ports.interface_control = true`: removes the other two (and `ports.interface_target`
    /// when the interface controller is not the one chosen).
    fn replace_plasma_pump_alternatives(&self, doc: &mut Value) {
        const PUMP: [&str; 3] = ["plasma_ml_min", "collect_hematocrit", "interface_control"];
        let Some(key) = self.path.strip_prefix("ports.") else {
            return;
        };
        if !PUMP.contains(&key)
            || (key == "interface_control" && self.value.as_bool() != Some(true))
        {
            return;
        }
        if let Some(Value::Table(ports)) = doc.get_mut("ports") {
            for other in PUMP.iter().filter(|&&k| k != key) {
                ports.remove(*other);
            }
            if key != "interface_control" {
                ports.remove("interface_target");
            }
        }
    }

    /// Sets the value at the dotted path.
    fn set(&self, doc: &mut Value) -> Result<(), OverrideError> {
        let err = |message: String| OverrideError::Path {
            text: self.text.clone(),
            message,
        };
        let parts: Vec<&str> = self.path.split('.').collect();
        let mut node = doc;
        for (depth, part) in parts.iter().enumerate() {
            let last = depth + 1 == parts.len();
            let so_far = parts[..=depth].join(".");
            node = match node {
                Value::Table(table) => {
                    if last {
                        table.insert((*part).to_owned(), self.value.clone());
                        return Ok(());
                    }
                    table
                        .entry((*part).to_owned())
                        .or_insert_with(|| Value::Table(toml::Table::new()))
                }
                Value::Array(array) => {
                    let index: usize = part.parse().map_err(|_| {
                        err(format!(
                            "`{}` is a list; address its entries by index, e.g. {}.0",
                            parts[..depth].join("."),
                            parts[..depth].join(".")
                        ))
                    })?;
                    let len = array.len();
                    let entry = array.get_mut(index).ok_or_else(|| {
                        err(format!(
                            "`{so_far}`: index {index} is out of range (the list has {len} entries)"
                        ))
                    })?;
                    if last {
                        *entry = self.value.clone();
                        return Ok(());
                    }
                    entry
                }
                other => {
                    return Err(err(format!(
                        "`{}` is a {}, not a table: cannot set `{}` inside it",
                        parts[..depth].join("."),
                        other.type_str(),
                        part
                    )));
                }
            };
        }
        Ok(())
    }
}

/// A TOML value from text; bare words that are not TOML become strings.
fn parse_value(raw: &str) -> Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut table) => table.remove("v").unwrap_or(Value::String(raw.to_owned())),
        Err(_) => Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        toml::from_str::<Value>("[rotor]\nrpm = 2400.0\n[[species]]\nname = \"a\"\ncount = 3\n")
            .unwrap()
    }

    #[test]
    fn sets_nested_keys_array_entries_and_new_keys() {
        let mut d = doc();
        Override::parse("rotor.rpm=3000")
            .unwrap()
            .apply(&mut d)
            .unwrap();
        Override::parse("species.0.count=7")
            .unwrap()
            .apply(&mut d)
            .unwrap();
        Override::parse("run.dt_s=1e-3")
            .unwrap()
            .apply(&mut d)
            .unwrap();
        Override::parse("model.kind=inertial")
            .unwrap()
            .apply(&mut d)
            .unwrap();
        assert_eq!(d["rotor"]["rpm"].as_integer(), Some(3000));
        assert_eq!(d["species"][0]["count"].as_integer(), Some(7));
        assert_eq!(d["run"]["dt_s"].as_float(), Some(1e-3));
        assert_eq!(d["model"]["kind"].as_str(), Some("inertial"));
    }

    /// The plasma pump's keys are alternatives: the one given with `--set` wins.
    #[test]
    fn a_plasma_pump_key_replaces_its_alternatives() {
        let preset = "[ports]\ncollect_ml_min = 1.0\ncollect_hematocrit = 0.04\n";
        let mut d = toml::from_str::<Value>(preset).unwrap();
        let set = |d: &mut Value, text: &str| Override::parse(text).unwrap().apply(d).unwrap();
        set(&mut d, "ports.plasma_ml_min=26.5");
        assert_eq!(d["ports"]["plasma_ml_min"].as_float(), Some(26.5));
        assert!(d["ports"].get("collect_hematocrit").is_none());
        assert_eq!(d["ports"]["collect_ml_min"].as_float(), Some(1.0));
        set(&mut d, "ports.interface_control=true");
        set(&mut d, "ports.interface_target=[\"lymphocyte\"]");
        assert!(d["ports"].get("plasma_ml_min").is_none());
        assert_eq!(d["ports"]["interface_control"].as_bool(), Some(true));
        set(&mut d, "ports.collect_hematocrit=0.05");
        assert!(d["ports"].get("interface_control").is_none());
        assert!(d["ports"].get("interface_target").is_none());
        assert_eq!(d["ports"]["collect_hematocrit"].as_float(), Some(0.05));
        // Turning the interface controller off removes nothing; other keys are untouched.
        set(&mut d, "ports.interface_control=false");
        set(&mut d, "ports.collect_ml_min=2");
        assert_eq!(d["ports"]["collect_hematocrit"].as_float(), Some(0.05));
        assert_eq!(d["ports"]["collect_ml_min"].as_integer(), Some(2));
    }

    #[test]
    fn rejects_bad_syntax_and_paths() {
        assert!(matches!(
            Override::parse("rotor.rpm"),
            Err(OverrideError::Syntax(_))
        ));
        assert!(matches!(
            Override::parse("rotor..rpm=1"),
            Err(OverrideError::Syntax(_))
        ));
        let mut d = doc();
        let e = Override::parse("species.5.count=1").unwrap().apply(&mut d);
        assert!(matches!(e, Err(OverrideError::Path { .. })), "{e:?}");
        let e = Override::parse("rotor.rpm.x=1").unwrap().apply(&mut d);
        assert!(matches!(e, Err(OverrideError::Path { .. })), "{e:?}");
        let e = Override::parse("species.name=1").unwrap().apply(&mut d);
        assert!(matches!(e, Err(OverrideError::Path { .. })), "{e:?}");
    }
}
