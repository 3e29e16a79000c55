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

/// The validation table as text.
pub fn table(checks: &[Check]) -> String {
    let mut out = format!(
        "{:<48} {:<32} {:>14} {:>14} {:>10} {:>9}  {}\n",
        "case", "quantity", "expected", "got", "rel. err", "tol.", "pass"
    );
    for c in checks {
        out.push_str(&format!(
            "{:<48} {:<32} {:>14.8e} {:>14.8e} {:>10.2e} {:>9.1e}  {}\n",
            c.case,
            c.quantity,
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
