//! The sweep grid: `--vary KEY=SPEC` axes, their product in a fixed (row-major) order, shards
//! and the text form of numbers shared by `--set` overrides and the CSV.

use super::SweepError;

/// Most values on one axis.
pub const MAX_AXIS_VALUES: usize = 1_000_000;
/// Most points in one sweep.
pub const MAX_POINTS: usize = 10_000_000;

/// One varied key: `--vary KEY=SPEC`.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// dotted scenario key, e.g. `rotor.rpm`
    pub key: String,
    /// the SPEC as given, e.g. `1000:3000:5`
    pub spec: String,
    /// the values, in order
    pub values: Vec<f64>,
}

impl Axis {
    /// Parses `KEY=SPEC` (the argument of `--vary`). SPEC is `start:stop:count` (inclusive,
    /// linear), `start:stop:count:log` (inclusive, geometric) or a list `a,b,c`.
    pub fn parse(arg: &str) -> Result<Self, SweepError> {
        let err = |message: String| SweepError::Spec {
            arg: arg.to_owned(),
            message,
        };
        let (key, spec) = arg.split_once('=').ok_or_else(|| {
            err("expected KEY=SPEC, e.g. --vary rotor.rpm=1000:3000:5 or --vary rotor.rpm=1000,2000".into())
        })?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(|p| p.trim().is_empty() || p != p.trim()) {
            return Err(err(format!(
                "`{key}` is not a dotted scenario key (e.g. rotor.rpm, species.0.count)"
            )));
        }
        let spec = spec.trim();
        let values = parse_spec(spec).map_err(err)?;
        Ok(Self {
            key: key.to_owned(),
            spec: spec.to_owned(),
            values,
        })
    }
}

/// The values of a SPEC, or what is wrong with it.
pub fn parse_spec(spec: &str) -> Result<Vec<f64>, String> {
    const FORMS: &str = "SPEC is start:stop:count (inclusive, linear), start:stop:count:log \
                         (inclusive, geometric) or a list a,b,c";
    if spec.is_empty() {
        return Err(format!("empty SPEC; {FORMS}"));
    }
    let number = |what: &str, text: &str| -> Result<f64, String> {
        let t = text.trim();
        let v: f64 = t
            .parse()
            .map_err(|_| format!("{what} `{t}` is not a number; {FORMS}"))?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(format!("{what} `{t}` is not a finite number"))
        }
    };
    if spec.contains(':') {
        let parts: Vec<&str> = spec.split(':').collect();
        let log = match parts.as_slice() {
            [_, _, _] => false,
            [_, _, _, mode] if mode.trim() == "log" => true,
            [_, _, _, mode] => {
                return Err(format!(
                    "unknown spacing `{}` (the 4th field can only be `log`)",
                    mode.trim()
                ));
            }
            _ => {
                return Err(format!("`{spec}` has {} field(s); {FORMS}", parts.len()));
            }
        };
        let start = number("start", parts[0])?;
        let stop = number("stop", parts[1])?;
        let count_text = parts[2].trim();
        let count: usize = count_text
            .parse()
            .map_err(|_| format!("count `{count_text}` is not a whole number ≥ 1; {FORMS}"))?;
        if count == 0 {
            return Err("count must be at least 1 (got 0)".into());
        }
        if count > MAX_AXIS_VALUES {
            return Err(format!(
                "count {count} is more than {MAX_AXIS_VALUES} values on one axis"
            ));
        }
        if count == 1 && start != stop {
            return Err(format!(
                "count 1 cannot include both {start} and {stop}; give a single value or count ≥ 2"
            ));
        }
        if log && (start <= 0.0 || stop <= 0.0) {
            return Err(format!(
                "log spacing needs positive bounds (got {start} and {stop})"
            ));
        }
        Ok(spaced(start, stop, count, log))
    } else {
        let values = spec
            .split(',')
            .map(|v| {
                if v.trim().is_empty() {
                    Err(format!("empty entry in the list `{spec}`"))
                } else {
                    number("value", v)
                }
            })
            .collect::<Result<Vec<f64>, String>>()?;
        if values.len() > MAX_AXIS_VALUES {
            return Err(format!(
                "{} values are more than {MAX_AXIS_VALUES} on one axis",
                values.len()
            ));
        }
        Ok(values)
    }
}

/// `count` values from `start` to `stop` inclusive (both ends exact), equally spaced or
/// geometrically spaced (`log`).
fn spaced(start: f64, stop: f64, count: usize, log: bool) -> Vec<f64> {
    if count == 1 {
        return vec![start];
    }
    let last = (count - 1) as f64;
    (0..count)
        .map(|i| {
            if i == 0 {
                start
            } else if i == count - 1 {
                stop
            } else {
                if log {
                    let t = i as f64 / last;
                    (start.ln() * (1.0 - t) + stop.ln() * t).exp()
                } else {
                    // (stop − start)·i is exact for whole-number ranges, so evenly divisible
                    // integer ranges give exact integers (1000:20000:20 → 1000, 2000, …).
                    start + (stop - start) * i as f64 / last
                }
            }
        })
        .collect()
}

/// The full grid: the product of the axes. Point `p` has coordinates in row-major order — the
/// **last** `--vary` varies fastest: `p = ((i₀·n₁ + i₁)·n₂ + i₂)…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// axes in `--vary` order
    pub axes: Vec<Axis>,
}

impl Grid {
    /// A grid over `axes` (at least one, distinct keys, at most [`MAX_POINTS`] points).
    pub fn new(axes: Vec<Axis>) -> Result<Self, SweepError> {
        if axes.is_empty() {
            return Err(SweepError::Spec {
                arg: String::new(),
                message: "at least one --vary KEY=SPEC is needed".into(),
            });
        }
        for (i, a) in axes.iter().enumerate() {
            if axes[..i].iter().any(|b| b.key == a.key) {
                return Err(SweepError::Key {
                    key: a.key.clone(),
                    message: "is varied twice; give each key one --vary (a list `a,b,c` can hold any values)".into(),
                });
            }
        }
        let points = axes
            .iter()
            .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()));
        match points {
            Some(p) if p <= MAX_POINTS => Ok(Self { axes }),
            _ => Err(SweepError::Spec {
                arg: String::new(),
                message: format!("the grid has more than {MAX_POINTS} points"),
            }),
        }
    }

    /// Number of values per axis (`/sweep/grid/shape`).
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.values.len()).collect()
    }

    /// Number of points P.
    pub fn points(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// The per-axis indices of point `p` (row-major, last axis fastest).
    pub fn indices(&self, p: usize) -> Vec<usize> {
        let mut idx = vec![0; self.axes.len()];
        let mut rest = p;
        for (k, a) in self.axes.iter().enumerate().rev() {
            let n = a.values.len();
            idx[k] = rest % n;
            rest /= n;
        }
        idx
    }

    /// The values of the varied keys at point `p`, in axis order.
    pub fn values(&self, p: usize) -> Vec<f64> {
        self.indices(p)
            .into_iter()
            .zip(&self.axes)
            .map(|(i, a)| a.values[i])
            .collect()
    }

    /// The `--set` overrides of point `p` (without the seed): `KEY=value` in axis order, values
    /// written by [`format_number`].
    pub fn overrides(&self, p: usize) -> Vec<String> {
        self.values(p)
            .into_iter()
            .zip(&self.axes)
            .map(|(v, a)| format!("{}={}", a.key, format_number(v)))
            .collect()
    }

    /// `None` if `other` is the same grid (same keys in the same order with bitwise the same
    /// values), else what differs.
    pub fn difference(&self, other: &Grid) -> Option<String> {
        let keys = |g: &Grid| g.axes.iter().map(|a| a.key.clone()).collect::<Vec<_>>();
        if keys(self) != keys(other) {
            return Some(format!(
                "varied keys [{}] vs [{}]",
                keys(self).join(", "),
                keys(other).join(", ")
            ));
        }
        for (a, b) in self.axes.iter().zip(&other.axes) {
            let same = a.values.len() == b.values.len()
                && a.values
                    .iter()
                    .zip(&b.values)
                    .all(|(x, y)| x.to_bits() == y.to_bits());
            if !same {
                return Some(format!(
                    "values of {}: `{}` ({} values) vs `{}` ({} values)",
                    a.key,
                    a.spec,
                    a.values.len(),
                    b.spec,
                    b.values.len()
                ));
            }
        }
        None
    }
}

/// Which part of the grid a run covers: points with `p ≡ index (mod count)`. `0/1` is the
/// whole grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// I, 0 ≤ I < N
    pub index: usize,
    /// N ≥ 1
    pub count: usize,
}

impl Shard {
    /// The whole grid (`0/1`).
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Self, SweepError> {
        let err = |message: String| SweepError::Shard {
            text: text.to_owned(),
            message,
        };
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| err("expected I/N, e.g. --shard 0/4".into()))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| err(format!("I `{}` is not a whole number ≥ 0", i.trim())))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| err(format!("N `{}` is not a whole number ≥ 1", n.trim())))?;
        if count == 0 {
            return Err(err("N must be at least 1".into()));
        }
        if index >= count {
            return Err(err(format!(
                "I must be below N (0 ≤ I < {count}; Slurm array task ids start at 0)"
            )));
        }
        Ok(Self { index, count })
    }

    /// Whether point `p` belongs to this shard.
    pub fn contains(&self, p: usize) -> bool {
        p % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A number as text that reads back to the same `f64` (shortest round-trip form) and is a valid
/// TOML value: whole numbers below 10¹⁵ in magnitude as integers (`2400`, so that integer keys
/// such as `species.0.count` accept them), others in decimal (`0.45`) or, when very large or
/// small, exponent form (`1.5e-7`). NaN (a missing metric) is the empty string.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        return String::new();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = v.abs();
    if v.fract() == 0.0 && a < 1e15 {
        format!("{}", v as i64)
    } else if (1e-5..1e15).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(parse_spec("1000:3000:3").unwrap(), [1000.0, 2000.0, 3000.0]);
        assert_eq!(parse_spec("3:1:3").unwrap(), [3.0, 2.0, 1.0]);
        assert_eq!(parse_spec(" 5 ").unwrap(), [5.0]);
        assert_eq!(parse_spec("1,2.5,1e3").unwrap(), [1.0, 2.5, 1000.0]);
        assert_eq!(parse_spec("2:2:1").unwrap(), [2.0]);
        let lin = parse_spec("0:1:11").unwrap();
        assert_eq!(lin.len(), 11);
        assert_eq!(lin[10], 1.0);
        assert!((lin[3] - 0.3).abs() < 1e-15);
        let log = parse_spec("1:1000:4:log").unwrap();
        assert_eq!(log[0], 1.0);
        assert_eq!(log[3], 1000.0);
        assert!((log[1] - 10.0).abs() < 1e-12 && (log[2] - 100.0).abs() < 1e-10);
        let counts = parse_spec("1000:20000:20").unwrap();
        assert!(counts.iter().all(|v| v.fract() == 0.0), "{counts:?}");
        for (bad, says) in [
            ("1:2", "2 field(s)"),
            ("a:b:3", "start `a` is not a number"),
            ("1:2:0", "count must be at least 1"),
            ("1:2:x", "count `x`"),
            ("1:2:2.5", "count `2.5`"),
            ("0:10:3:log", "positive bounds"),
            ("1:10:3:lin", "unknown spacing"),
            ("1:2:1", "count 1"),
            ("1,,2", "empty entry"),
            ("1,x", "value `x`"),
            ("inf,1", "not a finite"),
            ("", "empty SPEC"),
            ("1:2:3:log:5", "5 field(s)"),
        ] {
            let e = parse_spec(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn axis_arguments() {
        let a = Axis::parse("rotor.rpm=1000:2000:2").unwrap();
        assert_eq!(a.key, "rotor.rpm");
        assert_eq!(a.spec, "1000:2000:2");
        assert!(Axis::parse("rotor.rpm").is_err());
        assert!(Axis::parse("rotor..rpm=1").is_err());
        assert!(Axis::parse("=1").is_err());
        let e = Axis::parse("rotor.rpm=1:2").unwrap_err().to_string();
        assert!(e.contains("--vary rotor.rpm=1:2"), "{e}");
    }

    #[test]
    fn row_major_last_axis_fastest() {
        let g = Grid::new(vec![
            Axis::parse("a=1,2").unwrap(),
            Axis::parse("b=10,20,30").unwrap(),
        ])
        .unwrap();
        assert_eq!(g.points(), 6);
        assert_eq!(g.shape(), [2, 3]);
        let all: Vec<Vec<f64>> = (0..6).map(|p| g.values(p)).collect();
        assert_eq!(
            all,
            [
                [1.0, 10.0],
                [1.0, 20.0],
                [1.0, 30.0],
                [2.0, 10.0],
                [2.0, 20.0],
                [2.0, 30.0]
            ]
        );
        assert_eq!(g.overrides(4), ["a=2", "b=20"]);
        assert!(Grid::new(vec![]).is_err());
        assert!(
            Grid::new(vec![
                Axis::parse("a=1").unwrap(),
                Axis::parse("a=2").unwrap()
            ])
            .is_err()
        );
        let other = Grid::new(vec![
            Axis::parse("a=1,2").unwrap(),
            Axis::parse("b=10,20,31").unwrap(),
        ])
        .unwrap();
        assert!(g.difference(&g.clone()).is_none());
        assert!(g.difference(&other).unwrap().contains("values of b"));
    }

    #[test]
    fn shards() {
        let s = Shard::parse("1/3").unwrap();
        assert!(s.contains(4) && !s.contains(3));
        assert_eq!(s.to_string(), "1/3");
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_round_trip_and_are_toml() {
        for v in [
            2400.0,
            0.45,
            1.5e-7,
            -3.25,
            1e15,
            1e300,
            0.1 + 0.2,
            123456.789,
            f64::MIN_POSITIVE,
        ] {
            let t = format_number(v);
            assert_eq!(t.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{t}");
            let doc: toml::Table = format!("v = {t}").parse().unwrap();
            assert_eq!(
                doc["v"]
                    .as_float()
                    .or(doc["v"].as_integer().map(|i| i as f64)),
                Some(v)
            );
        }
        assert_eq!(format_number(2400.0), "2400");
        assert_eq!(format_number(f64::NAN), "");
    }
}
