//! Operating-window expressions: `metric>=value,other<=value`.

use std::fmt;

use crate::PlotError;

/// A comparison of a window condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `>=`
    AtLeast,
    /// `<=`
    AtMost,
    /// `>`
    Above,
    /// `<`
    Below,
}

impl Comparison {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::AtLeast => ">=",
            Comparison::AtMost => "<=",
            Comparison::Above => ">",
            Comparison::Below => "<",
        }
    }

    /// Whether `x` satisfies the comparison with `value` (never for NaN).
    pub fn holds(self, x: f64, value: f64) -> bool {
        match self {
            Comparison::AtLeast => x >= value,
            Comparison::AtMost => x <= value,
            Comparison::Above => x > value,
            Comparison::Below => x < value,
        }
    }
}

/// One condition of an operating window, e.g.
/// `collection_efficiency.lymphocyte>=0.5`.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowCondition {
    /// A metric (`/sweep/metrics/<name>`) or a varied parameter
    /// (`/sweep/parameters/<key>`).
    pub name: String,
    /// The comparison.
    pub op: Comparison,
    /// The bound.
    pub value: f64,
}

impl WindowCondition {
    /// Whether `x` (the value of [`name`](WindowCondition::name) at a point)
    /// satisfies the condition.
    pub fn holds(&self, x: f64) -> bool {
        self.op.holds(x, self.value)
    }
}

impl fmt::Display for WindowCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.name, self.op.symbol(), self.value)
    }
}

const SYNTAX: &str = "expected NAME>=VALUE, NAME<=VALUE, NAME>VALUE or NAME<VALUE, \
                      conditions separated by commas";

/// Parses a window expression: conditions separated by commas, each
/// `NAME>=VALUE`, `NAME<=VALUE`, `NAME>VALUE` or `NAME<VALUE` (spaces
/// allowed around the parts; `VALUE` a finite number such as `0.5`, `-3`,
/// `1e-3`). Names are not checked here; [`plot_sweep`](crate::plot_sweep)
/// checks them against the file.
///
/// # Errors
/// [`PlotError::Window`] naming the offending condition, e.g. for `rpm>>3`,
/// `rpm=3`, `>=3`, `rpm>=` or an empty expression.
pub fn parse_window(expr: &str) -> Result<Vec<WindowCondition>, PlotError> {
    let bad = |condition: &str, message: String| PlotError::Window {
        condition: condition.to_owned(),
        message,
    };
    if expr.trim().is_empty() {
        return Err(bad(expr, format!("empty window expression ({SYNTAX})")));
    }
    let mut out = Vec::new();
    for raw in expr.split(',') {
        let cond = raw.trim();
        if cond.is_empty() {
            return Err(bad(
                expr,
                format!("empty condition between commas ({SYNTAX})"),
            ));
        }
        let Some(at) = cond.find(['<', '>']) else {
            return Err(bad(cond, format!("no comparison operator ({SYNTAX})")));
        };
        let name = cond[..at].trim();
        let rest = &cond[at..];
        let (op, value) = if let Some(v) = rest.strip_prefix(">=") {
            (Comparison::AtLeast, v)
        } else if let Some(v) = rest.strip_prefix("<=") {
            (Comparison::AtMost, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (Comparison::Above, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Comparison::Below, v)
        } else {
            unreachable!("`at` points at '<' or '>'")
        };
        if name.is_empty() {
            return Err(bad(
                cond,
                format!("no metric name before `{}` ({SYNTAX})", op.symbol()),
            ));
        }
        if name.contains(['=', '!', ' ']) {
            return Err(bad(
                cond,
                format!("`{name}` is not a metric name ({SYNTAX})"),
            ));
        }
        let value = value.trim();
        let parsed: f64 = value.parse().map_err(|_| {
            bad(
                cond,
                format!(
                    "`{value}` after `{}` is not a number ({SYNTAX})",
                    op.symbol()
                ),
            )
        })?;
        if !parsed.is_finite() {
            return Err(bad(cond, format!("`{value}` is not a finite number")));
        }
        out.push(WindowCondition {
            name: name.to_owned(),
            op,
            value: parsed,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_conditions() {
        let w = parse_window(
            "collection_efficiency.lymphocyte>=0.5, ports.collect.hematocrit <= 0.05,rotor.rpm>1e3,x<-2",
        )
        .unwrap();
        assert_eq!(w.len(), 4);
        assert_eq!(w[0].name, "collection_efficiency.lymphocyte");
        assert_eq!(w[0].op, Comparison::AtLeast);
        assert_eq!(w[0].value, 0.5);
        assert_eq!(w[1].op, Comparison::AtMost);
        assert_eq!(w[1].value, 0.05);
        assert_eq!(w[2].op, Comparison::Above);
        assert_eq!(w[2].value, 1000.0);
        assert_eq!(w[3].op, Comparison::Below);
        assert_eq!(w[3].value, -2.0);
        assert!(w[0].holds(0.5) && !w[0].holds(0.49) && !w[0].holds(f64::NAN));
        assert!(!w[2].holds(1000.0));
    }

    #[test]
    fn rejects_bad_conditions() {
        for (expr, needle) in [
            ("rpm>>3", "`>3` after `>` is not a number"),
            ("rpm=3", "no comparison operator"),
            (">=3", "no metric name"),
            ("rpm>=", "`` after `>=` is not a number"),
            ("rpm>=abc", "not a number"),
            ("a>=1,,b<=2", "empty condition"),
            ("", "empty window expression"),
            ("rpm==3>2", "not a metric name"),
            ("rpm>=inf", "not a finite number"),
        ] {
            let e = parse_window(expr).unwrap_err().to_string();
            assert!(e.contains(needle), "{expr}: {e}");
            assert!(e.starts_with("bad --window condition"), "{e}");
        }
    }
}
