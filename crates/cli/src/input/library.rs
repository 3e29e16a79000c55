//! The cell species library file (`data/species.toml`): parsing, unit conversion, validation.
//!
//! The file is written in the units engineers use (g/mL, fL, µm, cells/µL) with a literature
//! source for every entry; see the header comment of `data/species.toml` for the format. This
//! module is the boundary: it converts those units to SI with [`buffycoat_physics::units`] and
//! returns a validated [`SpeciesLibrary`]. Every problem is reported as a [`LibraryError`] that
//! names the file (origin), the species and the key.
//!
//! Format (version 1):
//!
//! ```toml
//! version = 1
//! [[species]]
//! name = "rbc"                                   # unique key, no whitespace
//! display_name = "red blood cell"                # optional, defaults to name
//! density_g_ml = { mean = 1.095, sd = 0.004, distribution = "normal" }
//! volume_fl = { mean = 87.0, sd = 11.3, distribution = "log_normal" }   # or diameter_um
//! shape_factor = 1.09                            # optional, >= 1, default 1
//! normal_per_ul = [4.2e6, 6.1e6]                 # optional
//! source = "full citation"
//! ```
//!
//! A quantity is a bare number (fixed value) or `{ mean, sd, distribution }` with
//! `distribution` one of `"normal"`, `"log_normal"`, `"fixed"`; `mean` and `sd` are the
//! arithmetic mean and standard deviation (also for `"log_normal"`).

use buffycoat_physics::error::PhysicsError;
use buffycoat_physics::species::{Distribution, SizeDistribution, Species, SpeciesLibrary};
use buffycoat_physics::units;
use serde::Deserialize;

use super::quantity::{self, QuantityKey, RawQuantity};

/// The bundled species library (`data/species.toml`), embedded at compile time.
pub const DEFAULT_LIBRARY_TOML: &str = include_str!("../../../../data/species.toml");

/// The origin string used for the bundled library in error messages.
pub const DEFAULT_LIBRARY_ORIGIN: &str = "bundled data/species.toml";

/// The library format version this module reads.
pub const SUPPORTED_VERSION: i64 = 1;

/// Plausible range of cell densities in the file, g/mL (catches kg/m³ typed as g/mL).
pub const PLAUSIBLE_DENSITY_G_ML: (f64, f64) = (0.5, 3.0);
/// Plausible range of cell volumes in the file, fL (catches m³ or µL typed as fL).
pub const PLAUSIBLE_VOLUME_FL: (f64, f64) = (0.01, 1e6);
/// Plausible range of cell diameters in the file, µm (catches m or mm typed as µm).
pub const PLAUSIBLE_DIAMETER_UM: (f64, f64) = (0.1, 200.0);

/// Errors reading a species library. Each message starts with the origin (usually the path).
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The text is not valid TOML, or does not have the expected structure (wrong types,
    /// missing or unknown keys). The TOML error carries line and column.
    #[error("{origin}: {source}")]
    Toml {
        /// Where the text came from (path or description).
        origin: String,
        /// The parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// The `version` key has a value this program cannot read.
    #[error(
        "{origin}: unsupported species library version {found}; this program reads version {supported}"
    )]
    UnsupportedVersion {
        /// Where the text came from.
        origin: String,
        /// The version in the file.
        found: i64,
        /// The version this program reads.
        supported: i64,
    },
    /// A value is out of range or inconsistent.
    #[error("{origin}: species `{species}`, key `{key}`: {message}")]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// The species name (or `#n`, its 1-based position, if the name itself is bad).
        species: String,
        /// The key, with a sub-key where useful (e.g. `density_g_ml.sd`).
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// Two `[[species]]` tables share a name.
    #[error("{origin}: species name `{species}` is defined more than once")]
    DuplicateSpecies {
        /// Where the text came from.
        origin: String,
        /// The repeated name.
        species: String,
    },
    /// The file defines no species.
    #[error("{origin}: the library defines no species (add [[species]] tables)")]
    Empty {
        /// Where the text came from.
        origin: String,
    },
    /// The physics crate rejected the converted library (should not happen after the checks
    /// here; kept so that no error is lost).
    #[error("{origin}: {source}")]
    Physics {
        /// Where the text came from.
        origin: String,
        /// The physics error.
        #[source]
        source: PhysicsError,
    },
}

/// Parses the bundled library [`DEFAULT_LIBRARY_TOML`].
///
/// # Errors
/// Only if the bundled file is broken (a test guards against that).
pub fn default_library() -> Result<SpeciesLibrary, LibraryError> {
    parse_library(DEFAULT_LIBRARY_TOML, DEFAULT_LIBRARY_ORIGIN)
}

/// Parses species library text, converts it to SI and validates it.
///
/// `origin` names the text in error messages (e.g. the file path).
///
/// Conversions: density g/mL × 1000 → kg/m³; volume fL × 10⁻¹⁸ → m³; diameter µm × 10⁻⁶ → m
/// (mean and sd alike; the distribution family is preserved). Checks: version 1; at least one
/// species; names non-empty without whitespace and unique; means finite and > 0 and within the
/// plausible ranges ([`PLAUSIBLE_DENSITY_G_ML`], …); sd finite and ≥ 0 (required for normal and
/// log-normal, absent or 0 for fixed); exactly one of `volume_fl` and `diameter_um`; shape factor
/// finite and ≥ 1; normal range finite with 0 ≤ low ≤ high; `source` non-empty.
///
/// # Errors
/// [`LibraryError`] naming the origin, species and key.
pub fn parse_library(text: &str, origin: &str) -> Result<SpeciesLibrary, LibraryError> {
    let raw: RawLibrary = toml::from_str(text).map_err(|source| LibraryError::Toml {
        origin: origin.to_owned(),
        source,
    })?;
    if raw.version != SUPPORTED_VERSION {
        return Err(LibraryError::UnsupportedVersion {
            origin: origin.to_owned(),
            found: raw.version,
            supported: SUPPORTED_VERSION,
        });
    }
    if raw.species.is_empty() {
        return Err(LibraryError::Empty {
            origin: origin.to_owned(),
        });
    }
    let mut species: Vec<Species> = Vec::with_capacity(raw.species.len());
    for (i, r) in raw.species.iter().enumerate() {
        let s = convert_species(r, i, origin)?;
        if species.iter().any(|t| t.name == s.name) {
            return Err(LibraryError::DuplicateSpecies {
                origin: origin.to_owned(),
                species: s.name,
            });
        }
        species.push(s);
    }
    SpeciesLibrary::new(species).map_err(|source| LibraryError::Physics {
        origin: origin.to_owned(),
        source,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLibrary {
    version: i64,
    #[serde(default)]
    species: Vec<RawSpecies>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpecies {
    name: String,
    display_name: Option<String>,
    density_g_ml: RawQuantity,
    volume_fl: Option<RawQuantity>,
    diameter_um: Option<RawQuantity>,
    shape_factor: Option<f64>,
    normal_per_ul: Option<[f64; 2]>,
    source: String,
}

/// Builds [`LibraryError::Invalid`].
fn invalid(origin: &str, species: &str, key: &str, message: impl Into<String>) -> LibraryError {
    LibraryError::Invalid {
        origin: origin.to_owned(),
        species: species.to_owned(),
        key: key.to_owned(),
        message: message.into(),
    }
}

const DENSITY_KEY: QuantityKey = QuantityKey {
    key: "density_g_ml",
    unit: "g/mL",
    plausible: PLAUSIBLE_DENSITY_G_ML,
    to_si: units::g_per_ml_to_kg_per_m3,
};
const VOLUME_KEY: QuantityKey = QuantityKey {
    key: "volume_fl",
    unit: "fL",
    plausible: PLAUSIBLE_VOLUME_FL,
    to_si: units::fl_to_m3,
};
const DIAMETER_KEY: QuantityKey = QuantityKey {
    key: "diameter_um",
    unit: "um",
    plausible: PLAUSIBLE_DIAMETER_UM,
    to_si: units::um_to_m,
};

/// Converts one quantity, attributing any problem to `species`.
fn convert_quantity(
    q: &RawQuantity,
    k: &QuantityKey,
    origin: &str,
    species: &str,
) -> Result<Distribution, LibraryError> {
    quantity::convert_quantity(q, k).map_err(|e| invalid(origin, species, &e.key, e.message))
}

/// Validates one `[[species]]` table and converts it to SI.
fn convert_species(r: &RawSpecies, index: usize, origin: &str) -> Result<Species, LibraryError> {
    let name = r.name.as_str();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(invalid(
            origin,
            &format!("#{}", index + 1),
            "name",
            format!(
                "{:?} is not allowed: must be non-empty without whitespace",
                r.name
            ),
        ));
    }
    let display_name = match &r.display_name {
        Some(d) if d.trim().is_empty() => {
            return Err(invalid(
                origin,
                name,
                "display_name",
                "must not be empty (omit it to use the name)",
            ));
        }
        Some(d) => d.trim().to_owned(),
        None => name.to_owned(),
    };
    let density = convert_quantity(&r.density_g_ml, &DENSITY_KEY, origin, name)?;
    let size = match (&r.volume_fl, &r.diameter_um) {
        (Some(v), None) => {
            SizeDistribution::Volume(convert_quantity(v, &VOLUME_KEY, origin, name)?)
        }
        (None, Some(d)) => {
            SizeDistribution::Diameter(convert_quantity(d, &DIAMETER_KEY, origin, name)?)
        }
        (Some(_), Some(_)) => {
            return Err(invalid(
                origin,
                name,
                "volume_fl / diameter_um",
                "give exactly one of `volume_fl` and `diameter_um`, not both",
            ));
        }
        (None, None) => {
            return Err(invalid(
                origin,
                name,
                "volume_fl / diameter_um",
                "missing: give the cell size as `volume_fl` or `diameter_um`",
            ));
        }
    };
    let shape_factor = r.shape_factor.unwrap_or(1.0);
    if !(shape_factor.is_finite() && shape_factor >= 1.0) {
        return Err(invalid(
            origin,
            name,
            "shape_factor",
            format!(
                "{shape_factor} is not allowed: the dynamic shape factor multiplies the Stokes \
                 drag of the equal-volume sphere and must be finite and >= 1 (1 = sphere)"
            ),
        ));
    }
    let normal_per_ul = match r.normal_per_ul {
        None => None,
        Some([lo, hi]) => {
            if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && hi >= lo) {
                return Err(invalid(
                    origin,
                    name,
                    "normal_per_ul",
                    format!("[{lo}, {hi}] is not allowed: need finite 0 <= low <= high (cells/uL)"),
                ));
            }
            Some((lo, hi))
        }
    };
    let source = r.source.trim();
    if source.is_empty() {
        return Err(invalid(
            origin,
            name,
            "source",
            "must not be empty: cite where the numbers come from",
        ));
    }
    Ok(Species {
        name: name.to_owned(),
        display_name,
        density,
        size,
        shape_factor,
        normal_per_ul,
        source: source.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use buffycoat_physics::species::{
        CD34, LYMPHOBLAST, LYMPHOCYTE, MONOCYTE, MYELOBLAST, NEUTROPHIL, PLATELET, RBC,
    };

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    const MINIMAL: &str = r#"
version = 1
[[species]]
name = "rbc"
density_g_ml = { mean = 1.095, sd = 0.004, distribution = "normal" }
volume_fl = { mean = 87.0, sd = 11.3, distribution = "log_normal" }
source = "test"
"#;

    /// MINIMAL with `from` replaced by `to` (asserting that `from` occurs).
    fn variant(from: &str, to: &str) -> String {
        assert!(MINIMAL.contains(from), "{from}");
        MINIMAL.replacen(from, to, 1)
    }

    fn invalid_key(text: &str) -> (String, String, String) {
        match parse_library(text, "test.toml").unwrap_err() {
            LibraryError::Invalid {
                species,
                key,
                message,
                ..
            } => (species, key, message),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn bundled_library_parses_with_the_eight_species_in_order() {
        let lib = default_library().unwrap();
        let names: Vec<&str> = lib.names().collect();
        assert_eq!(
            names,
            vec![
                RBC,
                PLATELET,
                LYMPHOCYTE,
                MONOCYTE,
                NEUTROPHIL,
                MYELOBLAST,
                LYMPHOBLAST,
                CD34
            ]
        );
        for s in &lib {
            assert!(!s.source.trim().is_empty(), "{} has no source", s.name);
            assert!(!s.display_name.is_empty());
            assert!(s.shape_factor >= 1.0);
            // Plausible SI values: densities 1000–1150 kg/m³, diameters 1–20 µm.
            assert!((1000.0..1150.0).contains(&s.mean_density()), "{}", s.name);
            assert!((1e-6..2e-5).contains(&s.mean_diameter()), "{}", s.name);
            assert!(s.normal_per_ul.is_some(), "{}", s.name);
        }
    }

    #[test]
    fn bundled_library_converts_units_to_si() {
        let lib = default_library().unwrap();
        let rbc = lib.get(RBC).unwrap();
        // MCV 87 fL → 8.7e-17 m³; RDW 13 % → 11.3 fL.
        match rbc.size {
            SizeDistribution::Volume(Distribution::LogNormal { mean, sd }) => {
                assert!(close(mean, 8.7e-17, 1e-12), "{mean}");
                assert!(close(sd, 1.13e-17, 1e-12), "{sd}");
            }
            other => panic!("{other:?}"),
        }
        assert!(close(rbc.mean_volume(), 8.7e-17, 1e-12));
        // 1.095 g/mL → 1095 kg/m³.
        match rbc.density {
            Distribution::Normal { mean, sd } => {
                assert!(close(mean, 1095.0, 1e-12) && close(sd, 4.0, 1e-12));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rbc.shape_factor, 1.09);
        assert_eq!(rbc.normal_per_ul, Some((4.2e6, 6.1e6)));
        // Myeloblast diameter 11.2 µm → 1.12e-5 m.
        let mb = lib.get(MYELOBLAST).unwrap();
        match mb.size {
            SizeDistribution::Diameter(d) => {
                assert!(close(d.mean(), 1.12e-5, 1e-12) && close(d.sd(), 1.85e-6, 1e-12));
            }
            other => panic!("{other:?}"),
        }
        // Lighter mononuclear cells than neutrophils, all lighter than red cells.
        let rho = |n: &str| lib.get(n).unwrap().mean_density();
        assert!(rho(LYMPHOCYTE) < rho(NEUTROPHIL) && rho(NEUTROPHIL) < rho(RBC));
        assert!(rho(CD34) < rho(LYMPHOCYTE) && rho(MYELOBLAST) < rho(MONOCYTE));
    }

    #[test]
    fn minimal_library_and_defaults() {
        let lib = parse_library(MINIMAL, "min.toml").unwrap();
        let s = lib.get(RBC).unwrap();
        assert_eq!(s.display_name, "rbc");
        assert_eq!(s.shape_factor, 1.0);
        assert_eq!(s.normal_per_ul, None);
    }

    #[test]
    fn bare_numbers_and_fixed_distributions() {
        let text = variant(
            r#"density_g_ml = { mean = 1.095, sd = 0.004, distribution = "normal" }"#,
            "density_g_ml = 1.1",
        );
        let text = text.replace(
            r#"volume_fl = { mean = 87.0, sd = 11.3, distribution = "log_normal" }"#,
            r#"diameter_um = { mean = 8, distribution = "fixed" }"#,
        );
        let lib = parse_library(&text, "t").unwrap();
        let s = lib.get(RBC).unwrap();
        assert!(matches!(s.density, Distribution::Fixed(v) if close(v, 1100.0, 1e-12)));
        assert!(
            matches!(s.size, SizeDistribution::Diameter(Distribution::Fixed(d)) if close(d, 8e-6, 1e-12))
        );
        // Integer bare number.
        let text = variant(
            r#"volume_fl = { mean = 87.0, sd = 11.3, distribution = "log_normal" }"#,
            "volume_fl = 90",
        );
        let lib = parse_library(&text, "t").unwrap();
        assert!(close(lib.get(RBC).unwrap().mean_volume(), 9e-17, 1e-12));
    }

    #[test]
    fn bad_toml_gives_a_toml_error_with_origin() {
        let e = parse_library("version = 1\n[[species]\nname = ", "broken.toml").unwrap_err();
        assert!(matches!(e, LibraryError::Toml { .. }), "{e:?}");
        assert!(e.to_string().starts_with("broken.toml: "), "{e}");
        // Wrong type.
        let e = parse_library(&variant("name = \"rbc\"", "name = 3"), "t").unwrap_err();
        assert!(matches!(e, LibraryError::Toml { .. }), "{e:?}");
        // Missing required key.
        let e = parse_library(&variant("source = \"test\"", ""), "t").unwrap_err();
        assert!(e.to_string().contains("source"), "{e}");
    }

    #[test]
    fn unknown_keys_are_rejected_at_every_level() {
        for text in [
            variant("version = 1", "version = 1\ncolour = \"red\""),
            variant("source = \"test\"", "source = \"test\"\nsize_um = 7"),
            variant(
                "sd = 0.004, distribution",
                "sd = 0.004, median = 1.09, distribution",
            ),
        ] {
            let e = parse_library(&text, "t").unwrap_err();
            assert!(matches!(e, LibraryError::Toml { .. }), "{e:?}");
            assert!(e.to_string().contains("unknown field"), "{e}");
        }
        // Unknown distribution name.
        let e = parse_library(&variant("\"normal\"", "\"gaussian\""), "t").unwrap_err();
        assert!(e.to_string().contains("gaussian"), "{e}");
    }

    #[test]
    fn invalid_values_name_species_and_key() {
        let cases = [
            (
                variant("sd = 0.004", "sd = -0.004"),
                "density_g_ml.sd",
                ">= 0",
            ),
            (
                variant("mean = 1.095", "mean = 0.0"),
                "density_g_ml.mean",
                "> 0",
            ),
            (
                variant("mean = 1.095", "mean = 1095.0"),
                "density_g_ml.mean",
                "wrong unit",
            ),
            (
                variant("mean = 87.0", "mean = 8.7e-17"),
                "volume_fl.mean",
                "plausible",
            ),
            (
                variant("mean = 87.0", "mean = nan"),
                "volume_fl.mean",
                "finite",
            ),
            (
                variant(
                    "sd = 11.3, distribution = \"log_normal\"",
                    "distribution = \"log_normal\"",
                ),
                "volume_fl.sd",
                "missing",
            ),
            (
                variant("distribution = \"log_normal\"", "distribution = \"fixed\""),
                "volume_fl.sd",
                "no spread",
            ),
            (
                variant("source = \"test\"", "source = \"test\"\nshape_factor = 0.9"),
                "shape_factor",
                ">= 1",
            ),
            (
                variant(
                    "source = \"test\"",
                    "source = \"test\"\nnormal_per_ul = [6e6, 4e6]",
                ),
                "normal_per_ul",
                "low <= high",
            ),
            (
                variant("source = \"test\"", "source = \"  \""),
                "source",
                "cite",
            ),
            (
                variant(
                    "source = \"test\"",
                    "source = \"test\"\ndisplay_name = \"\"",
                ),
                "display_name",
                "empty",
            ),
            (
                variant("source = \"test\"", "source = \"test\"\ndiameter_um = 7.5"),
                "volume_fl / diameter_um",
                "not both",
            ),
            (
                variant(
                    r#"volume_fl = { mean = 87.0, sd = 11.3, distribution = "log_normal" }"#,
                    "",
                ),
                "volume_fl / diameter_um",
                "missing",
            ),
        ];
        for (text, key, needle) in cases {
            let (species, k, message) = invalid_key(&text);
            assert_eq!(species, "rbc");
            assert_eq!(k, key, "{message}");
            assert!(message.contains(needle), "`{message}` lacks `{needle}`");
        }
        // A bad name is reported by position.
        let (species, key, _) = invalid_key(&variant("name = \"rbc\"", "name = \"red cell\""));
        assert_eq!((species.as_str(), key.as_str()), ("#1", "name"));
        // The message names origin, species and key.
        let e = parse_library(&variant("sd = 0.004", "sd = -1.0"), "my/lib.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "my/lib.toml: species `rbc`, key `density_g_ml.sd`: -1 g/mL is not allowed: \
             must be finite and >= 0"
        );
    }

    #[test]
    fn version_duplicates_and_empty() {
        let e = parse_library(&variant("version = 1", "version = 2"), "t").unwrap_err();
        assert!(
            matches!(
                e,
                LibraryError::UnsupportedVersion {
                    found: 2,
                    supported: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        let twice = format!("{MINIMAL}{}", MINIMAL.replace("version = 1", ""));
        let e = parse_library(&twice, "t").unwrap_err();
        assert!(
            matches!(e, LibraryError::DuplicateSpecies { ref species, .. } if species == "rbc"),
            "{e:?}"
        );
        let e = parse_library("version = 1\n", "t").unwrap_err();
        assert!(matches!(e, LibraryError::Empty { .. }), "{e:?}");
        let e = parse_library("", "t").unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
    }
}
