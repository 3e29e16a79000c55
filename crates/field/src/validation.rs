//! Validation cases against analytic solutions, shared by the tests and
//! `buffycoat validate`.

use buffycoat_physics::analytic::{AnestisSchneider, KynchBatch};
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::hindrance::HindranceLaw;
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_physics::units::STANDARD_GRAVITY;
use buffycoat_physics::validation::Check;
use buffycoat_stepper::{Parallel, Propagate};

use crate::classes::Class;
use crate::config::{FieldConfig, FieldGeometry, Numerics};
use crate::error::FieldError;
use crate::solver::HinderedField;
use crate::tracers::Tracers;

/// Innermost position (m) where the piecewise-linear `profile` (at `centres`) reaches
/// `threshold`, scanning outward from the first centre: the clear-fluid/suspension interface.
/// Returns the first centre if the first cell already reaches it, the last if none does.
pub fn clear_interface_depth(profile: &[f64], centres: &[f64], threshold: f64) -> f64 {
    if profile[0] >= threshold {
        return centres[0];
    }
    for j in 1..profile.len() {
        if profile[j] >= threshold {
            let w = (threshold - profile[j - 1]) / (profile[j] - profile[j - 1]);
            return centres[j - 1] + w * (centres[j] - centres[j - 1]);
        }
    }
    centres[centres.len() - 1]
}

/// Outermost position (m) where `profile` drops below `threshold`, scanning inward from the
/// last centre: the top of the sediment. Returns the last centre if the last cell is already
/// below it, the first if none is.
pub fn sediment_interface_depth(profile: &[f64], centres: &[f64], threshold: f64) -> f64 {
    let n = profile.len();
    if profile[n - 1] < threshold {
        return centres[n - 1];
    }
    for j in (0..n - 1).rev() {
        if profile[j] < threshold {
            let w = (threshold - profile[j + 1]) / (profile[j] - profile[j + 1]);
            return centres[j + 1] + w * (centres[j] - centres[j + 1]);
        }
    }
    centres[0]
}

/// One sample of the Anestis–Schneider case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnestisSchneiderSample {
    /// time (s)
    pub time: f64,
    /// exact interface radius (m)
    pub interface_exact: f64,
    /// numerical interface radius (m): where φ crosses half the exact suspension value
    pub interface: f64,
    /// exact suspension volume fraction
    pub fraction_exact: f64,
    /// numerical suspension volume fraction (cell at the middle of the uniform region)
    pub fraction: f64,
    /// cell width (m)
    pub dr: f64,
}

/// The Anestis–Schneider case: one red-cell-like class (d = 6 µm, ρ = 1095 kg/m³, χ = 1) at
/// φ₀ = 0.2 in human plasma at 37 °C, Richardson–Zaki n = 4.65, φ_max = 0.9, in a sector from
/// 0.06 to 0.08 m at 3000 rpm, sampled at 10, 20 and 30 s (interface from 0.060 to ≈ 0.067 m,
/// well before it meets the sediment; φ₀ < 2/(n + 1) so the uniform solution applies).
pub fn anestis_schneider_case(
    radial_cells: usize,
    par: &Parallel,
) -> Result<Vec<AnestisSchneiderSample>, FieldError> {
    anestis_schneider_case_with(radial_cells, Numerics::default(), &[10.0, 20.0, 30.0], par)
}

/// [`anestis_schneider_case`] with the given numerics (e.g. the implicit scheme) and sample
/// times (s, at most ≈ 30 s: the interface must stay clear of the sediment).
pub fn anestis_schneider_case_with(
    radial_cells: usize,
    numerics: Numerics,
    times: &[f64],
    par: &Parallel,
) -> Result<Vec<AnestisSchneiderSample>, FieldError> {
    let law = HindranceLaw::richardson_zaki(4.65, 0.9)?;
    let fluid = Fluid::plasma_37c();
    let rpm = 3000.0;
    let rotor =
        RotorProfile::constant_rpm(rpm).map_err(|e| FieldError::Inconsistent(e.to_string()))?;
    let omega = rotor.omega(0.0);
    let (r_min, r_max, phi0) = (0.06, 0.08, 0.2);
    let class = Class::new("test", 6e-6, 1095.0, 1.0, phi0);
    let s = class.sedimentation_coefficient(&fluid);
    let mut config = FieldConfig::new(
        FieldGeometry::Sector,
        r_min,
        r_max,
        radial_cells,
        rotor,
        fluid,
        law,
    );
    config.numerics = numerics;
    let mut field = HinderedField::new(config, vec![class], Tracers::none())?;
    let exact = AnestisSchneider::new(law, r_min, phi0, s)?;
    let mut out = Vec::new();
    let mut t = 0.0;
    let mut profile = vec![0.0; radial_cells];
    for &t_next in times {
        field.advance(t, t_next, par)?;
        t = t_next;
        let tau = omega * omega * t;
        let fraction_exact = exact.suspension_fraction(tau);
        let interface_exact = exact.interface_radius(tau);
        field.copy_profile(0, &mut profile);
        let interface = clear_interface_depth(&profile, field.radii(), 0.5 * fraction_exact);
        let probe = 0.5 * (interface_exact + 0.075);
        let cell = ((probe - r_min) / (r_max - r_min) * radial_cells as f64) as usize;
        out.push(AnestisSchneiderSample {
            time: t,
            interface_exact,
            interface,
            fraction_exact,
            fraction: profile[cell],
            dr: (r_max - r_min) / radial_cells as f64,
        });
    }
    Ok(out)
}

/// One sample of the Kynch case (heights above the bottom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KynchSample {
    /// time (s)
    pub time: f64,
    /// exact clear-interface height (m)
    pub clear_exact: f64,
    /// numerical clear-interface height (m): where φ crosses half the exact value below it
    pub clear: f64,
    /// exact sediment height (m)
    pub sediment_exact: f64,
    /// numerical sediment height (m): where φ crosses the mean of φ_max and the exact value
    /// above the sediment
    pub sediment: f64,
    /// L¹ error of the whole profile, ∫|φ − φ_exact| dz / (φ₀ H)
    pub l1_relative: f64,
    /// cell height (m)
    pub dz: f64,
}

/// The Kynch batch-settling case: a 0.3 m column at 1 g of glass-like particles (d = 40 µm,
/// ρ = 2500 kg/m³) in plasma at 37 °C (u∞ = s g ≈ 0.93 mm/s), Richardson–Zaki n = 4.65,
/// φ_max = 0.9, initial fraction `initial_fraction`, sampled at the given fractions of the
/// exact completion time.
pub fn kynch_case(
    radial_cells: usize,
    initial_fraction: f64,
    sample_fractions: &[f64],
    par: &Parallel,
) -> Result<(KynchBatch, Vec<KynchSample>), FieldError> {
    kynch_case_with(
        radial_cells,
        initial_fraction,
        sample_fractions,
        Numerics::default(),
        par,
    )
}

/// [`kynch_case`] with the given numerics (e.g. the implicit scheme).
pub fn kynch_case_with(
    radial_cells: usize,
    initial_fraction: f64,
    sample_fractions: &[f64],
    numerics: Numerics,
    par: &Parallel,
) -> Result<(KynchBatch, Vec<KynchSample>), FieldError> {
    let (n, phi_max, height) = (4.65, 0.9, 0.3);
    let law = HindranceLaw::richardson_zaki(n, phi_max)?;
    let fluid = Fluid::plasma_37c();
    let class = Class::new("beads", 40e-6, 2500.0, 1.0, initial_fraction);
    let u_inf = class.sedimentation_coefficient(&fluid) * STANDARD_GRAVITY;
    let exact = KynchBatch::new(u_inf, n, phi_max, initial_fraction, height)?;
    let mut config = FieldConfig::settling_column(height, radial_cells, fluid, law)?;
    config.numerics = numerics;
    let mut field = HinderedField::new(config, vec![class], Tracers::none())?;
    let dz = height / radial_cells as f64;
    let mut out = Vec::new();
    let mut t = 0.0;
    let mut profile = vec![0.0; radial_cells];
    for &frac in sample_fractions {
        let t_next = frac * exact.completion_time();
        field.advance(t, t_next, par)?;
        t = t_next;
        field.copy_profile(0, &mut profile);
        let clear_exact = exact.clear_interface_height(t);
        let sediment_exact = exact.sediment_height(t);
        let eps = 1e-9 * height;
        let below = exact.volume_fraction(clear_exact - eps, t);
        let above_sediment = exact.volume_fraction(sediment_exact + eps, t);
        // depth x = H − z
        let clear = height - clear_interface_depth(&profile, field.radii(), 0.5 * below);
        let sediment = height
            - sediment_interface_depth(&profile, field.radii(), 0.5 * (phi_max + above_sediment));
        let mut l1 = 0.0;
        for (j, &p) in profile.iter().enumerate() {
            // exact cell average by 8-point midpoint sampling
            let (x0, x1) = (j as f64 * dz, (j + 1) as f64 * dz);
            let mut avg = 0.0;
            for k in 0..8 {
                let x = x0 + (k as f64 + 0.5) / 8.0 * (x1 - x0);
                avg += exact.volume_fraction(height - x, t) / 8.0;
            }
            l1 += (p - avg).abs() * dz;
        }
        out.push(KynchSample {
            time: t,
            clear_exact,
            clear,
            sediment_exact,
            sediment,
            l1_relative: l1 / (initial_fraction * height),
            dz,
        });
    }
    Ok((exact, out))
}

/// The field solver's validation cases for `buffycoat validate` (about 0.3 s in release):
///
/// - Anestis–Schneider (sector, 3000 rpm, 400 cells): interface radius and suspension volume
///   fraction at 30 s;
/// - Kynch (1-g column, 200 cells, φ₀ = 0.1 and 0.3): clear-interface and sediment heights at
///   25 % of the exact completion time, i.e. long after the clear interface has met the waves
///   from the bottom, while it runs through the rarefaction fan above the rising sediment.
///
/// Each check's note gives the tolerance's justification. If a case cannot be set up, its
/// check reports NaN (and fails).
pub fn validation_checks() -> Vec<Check> {
    let par = Parallel::serial();
    let mut checks = Vec::new();
    let cells = 400;
    match anestis_schneider_case(cells, &par) {
        Ok(samples) => {
            let s = samples[samples.len() - 1];
            checks.push(Check::new(
                "hindered field: Anestis–Schneider, sector 3000 rpm, 400 cells",
                "interface radius R(30 s) [m]",
                s.interface_exact,
                s.interface,
                2.0 * s.dr / s.interface_exact,
                "Anestis & Schneider (1983) uniform-suspension solution by quadrature (1e-13). \
                 Tolerance 2 cells: the interface is a shock, captured over 2–3 cells by the \
                 MUSCL central-upwind scheme; its position is fixed by conservation.",
            ));
            checks.push(Check::new(
                "hindered field: Anestis–Schneider, sector 3000 rpm, 400 cells",
                "suspension volume fraction φ(30 s)",
                s.fraction_exact,
                s.fraction,
                1e-3,
                "The uniform region obeys dφ/dt = −2sω²φh(φ) exactly in space on the sector grid; \
                 the only error is SSP-RK2's O(Δt²) (observed ~1e-6). Tolerance 0.1 %.",
            ));
        }
        Err(e) => checks.push(Check::new(
            "hindered field: Anestis–Schneider",
            format!("setup failed: {e}"),
            1.0,
            f64::NAN,
            0.0,
            "",
        )),
    }
    let kynch_cells = 200;
    for phi0 in [0.1, 0.3] {
        let case = format!(
            "hindered field: Kynch batch settling at 1 g, φ₀ = {phi0}, {kynch_cells} cells"
        );
        match kynch_case(kynch_cells, phi0, &[0.25], &par) {
            Ok((_, samples)) => {
                let s = samples[0];
                checks.push(Check::new(
                    case.clone(),
                    "clear-interface height at 25 % of the settling time [m]",
                    s.clear_exact,
                    s.clear,
                    3.0 * s.dz / s.clear_exact,
                    "Kynch (1952) entropy solution by Oleinik's convex-hull construction. \
                     Tolerance 3 cells: a shock (or the tail of a fan meeting clear fluid) \
                     smeared over a few cells.",
                ));
                checks.push(Check::new(
                    case,
                    "sediment height at 25 % of the settling time [m]",
                    s.sediment_exact,
                    s.sediment,
                    3.0 * s.dz / s.sediment_exact,
                    "Sediment surface (contact discontinuity or shock to φ_max) from the same exact \
                     solution. Tolerance 3 cells: a contact discontinuity is not self-sharpening \
                     and spreads over a few cells.",
                ));
            }
            Err(e) => checks.push(Check::new(
                case,
                format!("setup failed: {e}"),
                1.0,
                f64::NAN,
                0.0,
                "",
            )),
        }
    }
    consolidation_checks(&par, &mut checks);
    checks
}

/// The consolidation and implicit-scheme cases of [`validation_checks`].
fn consolidation_checks(par: &Parallel, checks: &mut Vec<Check>) {
    let failed = |case: &str, e: FieldError| {
        Check::new(case, format!("setup failed: {e}"), 1.0, f64::NAN, 0.0, "")
    };
    let case = "consolidation: equilibrium sediment, tube 3000 rpm, 200 cells (implicit)";
    match consolidation_equilibrium_case(200, par) {
        Ok(s) => {
            checks.push(Check::new(
                case,
                "bed surface r_s [m]",
                s.top_exact,
                s.top,
                1.5 * s.dr / s.top_exact,
                "Independent RK4 solution of dσ_e/dr = Δρ φ(σ_e) ω² r with the red-cell volume \
                 fixing r_s (bisection). Tolerance 1.5 cells: the first-order scheme places the \
                 bed surface (a contact discontinuity) within about a cell.",
            ));
            checks.push(Check::new(
                case,
                "φ of the bottom cell",
                s.bottom_exact,
                s.bottom,
                2e-3,
                "Same ODE at the bottom cell centre. Tolerance 0.2 %: the discrete stress \
                 balance is first-order accurate in Δr where σ_e varies fastest.",
            ));
        }
        Err(e) => checks.push(failed(case, e)),
    }
    let case = "implicit field: Anestis–Schneider uniform region, fixed steps 1, 0.5, 0.25 s";
    match implicit_time_order(par) {
        Ok((_, orders)) => checks.push(Check::new(
            case,
            "observed order (Δt 0.5 → 0.25 s)",
            1.0,
            orders[orders.len() - 1],
            0.1,
            "Backward Euler is first order; the uniform region is exact in space on the sector \
             grid, so the error is the time error alone.",
        )),
        Err(e) => checks.push(failed(case, e)),
    }
    let case = "consolidation: microhaematocrit, 12 000 g × 5 min, Hct 0.45 (calibration target)";
    let law = HindranceLaw::richardson_zaki(4.65, 0.99);
    match law.map_err(FieldError::from).and_then(|law| {
        packed_cell_volume(
            12000.0,
            0.09,
            0.05,
            0.45,
            law,
            Some(buffycoat_physics::consolidation::Consolidation::red_cells()),
            200,
            &[300.0],
        )
    }) {
        Ok(pcv) => checks.push(Check::new(
            case,
            "trapped plasma 1 − Hct/PCV",
            0.03,
            1.0 - 0.45 / pcv[0],
            0.34,
            "England, Walford & Waters, Br J Haematol 23:247 (1972): ≈ 3 % of the red column. \
             This is the datum σ₀ was fitted to (docs/physics.md §9.3), not an independent \
             validation; tolerance ±1 percentage point.",
        )),
        Err(e) => checks.push(failed(case, e)),
    }
}

/// A packed-cell-volume spin: anticoagulant-free blood of haematocrit `hematocrit` as one
/// red-cell class (d = 5.5 µm, ρ = 1095 kg/m³, χ = 1.09, single cells) in plasma at 37 °C,
/// filling a tube from `r_max − column` to `r_max`, spun at constant speed giving
/// `rcf` × g at the bottom (no ramp, no gravity), with the implicit scheme, consolidation
/// `consolidation` and hindrance `law`. Returns the packed-cell volume (the red column's
/// height over the blood column's: where the red-cell fraction first exceeds 0.25 going
/// inward from the bottom) at each of `times` (s, increasing).
///
/// # Errors
/// Invalid set-up or a failed step.
#[allow(clippy::too_many_arguments)]
pub fn packed_cell_volume(
    rcf: f64,
    r_max: f64,
    column: f64,
    hematocrit: f64,
    law: HindranceLaw,
    consolidation: Option<buffycoat_physics::consolidation::Consolidation>,
    radial_cells: usize,
    times: &[f64],
) -> Result<Vec<f64>, FieldError> {
    let fluid = Fluid::plasma_37c();
    let omega = (rcf * STANDARD_GRAVITY / r_max).sqrt();
    let rpm = omega * 60.0 / (2.0 * std::f64::consts::PI);
    let rotor =
        RotorProfile::constant_rpm(rpm).map_err(|e| FieldError::Inconsistent(e.to_string()))?;
    let r_min = r_max - column;
    let mut config = FieldConfig::new(
        FieldGeometry::Tube,
        r_min,
        r_max,
        radial_cells,
        rotor,
        fluid,
        law,
    );
    config.numerics.scheme = crate::config::Scheme::Implicit;
    config.consolidation = consolidation;
    let class = Class::new("rbc", 5.5e-6, 1095.0, 1.09, hematocrit);
    let mut field = HinderedField::new(config, vec![class], Tracers::none())?;
    let par = Parallel::serial();
    let mut out = Vec::with_capacity(times.len());
    let mut t = 0.0;
    let mut profile = vec![0.0; radial_cells];
    for &t_next in times {
        field.advance(t, t_next, &par)?;
        t = t_next;
        field.copy_profile(0, &mut profile);
        let top = sediment_interface_depth(&profile, field.radii(), 0.25);
        out.push((r_max - top) / column);
    }
    Ok(out)
}

/// The equilibrium (steady) sediment of the consolidation validation case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EquilibriumSample {
    /// bed surface (m) from the independent ODE solution
    pub top_exact: f64,
    /// bed surface (m) of the field: where φ first exceeds φ_c/2 going inward from the bottom
    pub top: f64,
    /// φ at the centre of the bottom cell from the ODE
    pub bottom_exact: f64,
    /// φ of the bottom cell
    pub bottom: f64,
    /// largest relative change of the profile over the last 20 % of the run (steadiness)
    pub drift: f64,
    /// cell width (m)
    pub dr: f64,
}

/// The steady sediment of one red-cell class (d = 5.5 µm, ρ = 1095 kg/m³, χ = 1.09, φ₀ = 0.4)
/// in plasma at 37 °C in a tube from 0.10 to 0.16 m at 3000 rpm without gravity
/// (Richardson–Zaki n = 4.65, φ_max = 0.99, `Consolidation::red_cells`), run for 4 h with
/// the implicit scheme, against an independent solution of the stress balance
/// dσ_e/dr = Δρ φ(σ_e) ω² r (φ(σ) the inverse of the law, RK4 with 20 000 steps) from the bed
/// surface r_s (σ_e = 0), r_s fixed by the red-cell volume ∫φ dr = φ₀ (r_max − r_min)
/// (bisection).
///
/// # Errors
/// Invalid set-up or a failed step.
pub fn consolidation_equilibrium_case(
    radial_cells: usize,
    par: &Parallel,
) -> Result<EquilibriumSample, FieldError> {
    use buffycoat_physics::consolidation::Consolidation;
    let (r_min, r_max, phi0, rpm) = (0.10, 0.16, 0.4, 3000.0);
    let fluid = Fluid::plasma_37c();
    let law = HindranceLaw::richardson_zaki(4.65, 0.99)?;
    let consolidation = Consolidation::red_cells();
    let rotor =
        RotorProfile::constant_rpm(rpm).map_err(|e| FieldError::Inconsistent(e.to_string()))?;
    let w2 = rotor.omega(0.0).powi(2);
    let mut config = FieldConfig::new(
        FieldGeometry::Tube,
        r_min,
        r_max,
        radial_cells,
        rotor,
        fluid,
        law,
    );
    config.numerics.scheme = crate::config::Scheme::Implicit;
    config.numerics.implicit.max_dt = 60.0;
    config.consolidation = Some(consolidation);
    let class = Class::new("rbc", 5.5e-6, 1095.0, 1.09, phi0);
    let delta_rho = class.density - fluid.density;
    let mut field = HinderedField::new(config, vec![class], Tracers::none())?;
    let (t_end, t_check) = (14_400.0, 0.8 * 14_400.0);
    field.advance(0.0, t_check, par)?;
    let before = field.profile(0);
    field.advance(t_check, t_end, par)?;
    let after = field.profile(0);
    let drift = before
        .iter()
        .zip(&after)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
        / phi0;
    let stress = consolidation.stress;
    let phi_c = stress.critical;
    // independent ODE: σ(r) from r_s outward; returns (∫φ dr, φ(r at the last cell centre))
    let dr = (r_max - r_min) / radial_cells as f64;
    let last_centre = r_max - 0.5 * dr;
    let solve = |r_s: f64| -> (f64, f64) {
        let steps = 20_000;
        let h = (r_max - r_s) / f64::from(steps);
        let rhs = |r: f64, s: f64| delta_rho * stress.fraction_at(s) * w2 * r;
        let (mut r, mut s, mut integral) = (r_s, 0.0f64, 0.0);
        let mut at_centre = f64::NAN;
        for _ in 0..steps {
            let k1 = rhs(r, s);
            let k2 = rhs(r + 0.5 * h, s + 0.5 * h * k1);
            let k3 = rhs(r + 0.5 * h, s + 0.5 * h * k2);
            let k4 = rhs(r + h, s + h * k3);
            let s1 = s + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
            // Simpson on φ over the step
            let mid = s + 0.5 * h * k2;
            integral += h / 6.0
                * (stress.fraction_at(s) + 4.0 * stress.fraction_at(mid) + stress.fraction_at(s1));
            if r <= last_centre && last_centre < r + h {
                let w = (last_centre - r) / h;
                at_centre = stress.fraction_at(s + w * (s1 - s));
            }
            s = s1;
            r += h;
        }
        (integral, at_centre)
    };
    let volume = phi0 * (r_max - r_min);
    let (mut lo, mut hi) = (r_min, r_max - 1e-9);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if solve(mid).0 > volume {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let top_exact = 0.5 * (lo + hi);
    let bottom_exact = solve(top_exact).1;
    let top = sediment_interface_depth(&after, field.radii(), 0.5 * phi_c);
    Ok(EquilibriumSample {
        top_exact,
        top,
        bottom_exact,
        bottom: after[radial_cells - 1],
        drift,
        dr,
    })
}

/// Observed order of the implicit scheme's time discretisation: the Anestis–Schneider
/// uniform-suspension fraction at 20 s (exact in space on the sector grid, so its error is
/// the time error alone) with fixed steps Δt = 1, 0.5 and 0.25 s (error control off). Returns
/// the errors and the observed orders log₂(e(Δt)/e(Δt/2)).
///
/// # Errors
/// Invalid set-up or a failed step.
pub fn implicit_time_order(par: &Parallel) -> Result<(Vec<f64>, Vec<f64>), FieldError> {
    let mut errors = Vec::new();
    for dt in [1.0, 0.5, 0.25] {
        let mut numerics = Numerics {
            scheme: crate::config::Scheme::Implicit,
            ..Numerics::default()
        };
        numerics.implicit.initial_dt = dt;
        numerics.implicit.max_dt = dt;
        numerics.implicit.time_tolerance = 0.5;
        let s = anestis_schneider_case_with(400, numerics, &[20.0], par)?;
        errors.push((s[0].fraction - s[0].fraction_exact).abs());
    }
    let orders = errors.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
    Ok((errors, orders))
}
