//! `buffycoat validate`: the built-in validation cases against analytic solutions.

use buffycoat_physics::validation::Check;

/// Every validation check of every solver, in a stable order.
pub fn all_checks() -> Vec<Check> {
    let mut checks = buffycoat_sediment::validation::validation_checks();
    checks.extend(buffycoat_field::validation_checks());
    match buffycoat_channel::validation_checks(&buffycoat_stepper::Parallel::serial()) {
        Ok(c) => checks.extend(c),
        Err(e) => checks.push(Check::new(
            "channel: sigma theory",
            "solver",
            0.0,
            f64::NAN,
            0.0,
            format!("the channel solver failed: {e}"),
        )),
    }
    checks
}

/// Pads `text` to `width` characters (not bytes: the table has Greek letters and arrows).
fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

/// The validation table as text: case, quantity, expected, got, relative error, tolerance,
/// pass — columns sized to their contents.
pub fn table(checks: &[Check]) -> String {
    let case_w = checks
        .iter()
        .map(|c| c.case.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let quantity_w = checks
        .iter()
        .map(|c| c.quantity.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = format!(
        "{} {} {:>15} {:>15} {:>9} {:>8}  pass\n",
        pad("case", case_w),
        pad("quantity", quantity_w),
        "expected",
        "got",
        "rel. err",
        "tol."
    );
    for c in checks {
        out.push_str(&format!(
            "{} {} {:>15.8e} {:>15.8e} {:>9.2e} {:>8.1e}  {}\n",
            pad(&c.case, case_w),
            pad(&c.quantity, quantity_w),
            c.expected,
            c.got,
            c.relative_error(),
            c.tolerance,
            if c.passed() { "yes" } else { "NO" }
        ));
    }
    let failed = checks.iter().filter(|c| !c.passed()).count();
    out.push_str(&format!("{} checks, {} failed\n", checks.len(), failed));
    out
}
