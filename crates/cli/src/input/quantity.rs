//! A physical quantity in an input file: a bare number (every cell has that value) or a
//! distribution `{ mean, sd, distribution = "normal" | "log_normal" | "fixed" }`, with mean and
//! sd the arithmetic mean and standard deviation in the key's unit. Shared by the species
//! library and scenario files; conversion to SI happens here, at the boundary.

use std::fmt;

use buffycoat_physics::species::Distribution;
use serde::Deserialize;
use serde::de;

/// What is wrong with a quantity: the offending key (e.g. `density_g_ml.sd`) and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuantityError {
    pub key: String,
    pub message: String,
}

impl QuantityError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// A quantity in the file: a bare number or `{ mean, sd, distribution }`.
#[derive(Debug, Clone)]
pub enum RawQuantity {
    /// a bare number: every cell has this value
    Fixed(f64),
    /// a distribution
    Spec(RawSpec),
}

/// `{ mean, sd, distribution }` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    mean: f64,
    sd: Option<f64>,
    distribution: RawKind,
}

/// Distribution family.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawKind {
    /// normal (truncated at ±4 sd, positive)
    Normal,
    /// log-normal
    LogNormal,
    /// fixed value
    Fixed,
}

impl<'de> Deserialize<'de> for RawQuantity {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;

        impl<'de> de::Visitor<'de> for QuantityVisitor {
            type Value = RawQuantity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a table { mean = .., sd = .., distribution = \"normal\" | \"log_normal\" | \"fixed\" }")
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawQuantity, E> {
                Ok(RawQuantity::Fixed(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawQuantity, E> {
                Ok(RawQuantity::Fixed(v as f64))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawQuantity, E> {
                Ok(RawQuantity::Fixed(v as f64))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RawQuantity, A::Error> {
                RawSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawQuantity::Spec)
            }
        }

        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// How one quantity key is read: its unit, plausible range and SI factor.
pub(crate) struct QuantityKey {
    /// key name in the file
    pub key: &'static str,
    /// unit as written in messages
    pub unit: &'static str,
    /// plausible range of the mean in that unit (catches unit mistakes)
    pub plausible: (f64, f64),
    /// conversion of a value in that unit to SI
    pub to_si: fn(f64) -> f64,
}

/// Validates one quantity in file units and converts it to an SI [`Distribution`].
pub(crate) fn convert_quantity(
    q: &RawQuantity,
    k: &QuantityKey,
) -> Result<Distribution, QuantityError> {
    let (mean, sd, kind, mean_key) = match q {
        RawQuantity::Fixed(v) => (*v, None, RawKind::Fixed, k.key.to_owned()),
        RawQuantity::Spec(s) => (s.mean, s.sd, s.distribution, format!("{}.mean", k.key)),
    };
    if !(mean.is_finite() && mean > 0.0) {
        return Err(QuantityError::new(
            &mean_key,
            format!("{mean} {} is not allowed: must be finite and > 0", k.unit),
        ));
    }
    let (lo, hi) = k.plausible;
    if !(lo..=hi).contains(&mean) {
        return Err(QuantityError::new(
            &mean_key,
            format!(
                "{mean} {unit} is outside the plausible range [{lo}, {hi}] {unit} (wrong unit?)",
                unit = k.unit
            ),
        ));
    }
    let sd_key = format!("{}.sd", k.key);
    let dist = match kind {
        RawKind::Fixed => {
            if let Some(sd) = sd.filter(|&sd| sd != 0.0) {
                return Err(QuantityError::new(
                    &sd_key,
                    format!("{sd}: a fixed value has no spread; omit `sd` or set it to 0"),
                ));
            }
            Distribution::Fixed(mean)
        }
        RawKind::Normal | RawKind::LogNormal => {
            let sd = sd.ok_or_else(|| {
                QuantityError::new(
                    &sd_key,
                    "missing: a normal or log_normal distribution needs `sd` (>= 0)",
                )
            })?;
            if !(sd.is_finite() && sd >= 0.0) {
                return Err(QuantityError::new(
                    &sd_key,
                    format!("{sd} {} is not allowed: must be finite and >= 0", k.unit),
                ));
            }
            if matches!(kind, RawKind::Normal) {
                Distribution::Normal { mean, sd }
            } else {
                Distribution::LogNormal { mean, sd }
            }
        }
    };
    // Scaling by the (positive) unit factor maps a normal to a normal and a log-normal to a
    // log-normal with the same log-space σ; only the mean and sd change.
    Ok(dist.scaled((k.to_si)(1.0)))
}
