//! Particle classes: the discrete density/size classes whose volume fractions are the field.

use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::forces::sedimentation_coefficient;
use buffycoat_physics::species::{Distribution, SizeDistribution, Species};
use buffycoat_physics::units::{sphere_equivalent_diameter, sphere_volume};

use crate::error::{FieldError, invalid};

/// One particle class: cells of one species with one diameter, density and shape factor,
/// initially uniform at volume fraction `volume_fraction` (SI).
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// name of the species the class belongs to (e.g. `"rbc"`)
    pub species: String,
    /// label of the class for outputs (e.g. `"rbc[ρ2/3,d1/2]"`)
    pub label: String,
    /// sphere-equivalent diameter d (m)
    pub diameter: f64,
    /// density ρ (kg/m³)
    pub density: f64,
    /// dynamic shape factor χ ≥ 1
    pub shape_factor: f64,
    /// initial (uniform) volume fraction φ₀ ≥ 0
    pub volume_fraction: f64,
    /// Cells per sedimenting unit N ≥ 1 (red-cell aggregates, rouleaux): the class settles as
    /// sphere-equivalent aggregates of N cells, hydrodynamic diameter d·N^(1/3), so its mobility
    /// d²/χ is multiplied by N^(2/3); number concentrations still count single cells. 1 = no
    /// aggregation.
    pub aggregate_cells: f64,
}

impl Class {
    /// A class of `species` with the given properties; the label is the species name.
    pub fn new(
        species: impl Into<String>,
        diameter: f64,
        density: f64,
        shape_factor: f64,
        volume_fraction: f64,
    ) -> Self {
        let species = species.into();
        Self {
            label: species.clone(),
            species,
            diameter,
            density,
            shape_factor,
            volume_fraction,
            aggregate_cells: 1.0,
        }
    }

    /// Hydrodynamic mobility d_h²/χ (m²) with d_h = d·N^(1/3) the aggregate diameter: the factor
    /// of the MLB velocity that depends on the class's size and shape.
    pub fn mobility(&self) -> f64 {
        self.diameter * self.diameter * self.aggregate_cells.powf(2.0 / 3.0) / self.shape_factor
    }

    /// Volume of one cell of the class, πd³/6 (m³): number concentration = φ / cell volume.
    pub fn cell_volume(&self) -> f64 {
        sphere_volume(self.diameter)
    }

    /// Dilute sedimentation coefficient s = d_h²(ρ − ρ_f)/(18μχ) (s) in `fluid`, with the
    /// hydrodynamic (aggregate) diameter d_h = d·N^(1/3).
    pub fn sedimentation_coefficient(&self, fluid: &Fluid) -> f64 {
        sedimentation_coefficient(
            self.diameter * self.aggregate_cells.cbrt(),
            self.density,
            fluid.density,
            fluid.viscosity,
            self.shape_factor,
        )
    }

    /// Checks d > 0, ρ > 0, χ ≥ 1 and φ₀ ≥ 0 (all finite).
    ///
    /// # Errors
    /// [`FieldError::InvalidParameter`] naming the class and quantity.
    pub fn validate(&self) -> Result<(), FieldError> {
        let l = &self.label;
        if !(self.diameter.is_finite() && self.diameter > 0.0) {
            return Err(invalid(&format!("{l}: diameter (m)"), self.diameter, "> 0"));
        }
        if !(self.density.is_finite() && self.density > 0.0) {
            return Err(invalid(
                &format!("{l}: density (kg/m^3)"),
                self.density,
                "> 0",
            ));
        }
        if !(self.aggregate_cells.is_finite() && self.aggregate_cells >= 1.0) {
            return Err(invalid(
                &format!("{l}: cells per aggregate"),
                self.aggregate_cells,
                ">= 1",
            ));
        }
        if !(self.shape_factor.is_finite() && self.shape_factor >= 1.0) {
            return Err(invalid(
                &format!("{l}: shape factor"),
                self.shape_factor,
                ">= 1",
            ));
        }
        if !(self.volume_fraction.is_finite() && self.volume_fraction >= 0.0) {
            return Err(invalid(
                &format!("{l}: volume fraction"),
                self.volume_fraction,
                ">= 0",
            ));
        }
        Ok(())
    }
}

/// Standard normal density ϕ(z).
fn normal_pdf(z: f64) -> f64 {
    if z.is_infinite() {
        return 0.0;
    }
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// erfc(x) for x ≥ 0, absolute error ≲ 10⁻¹⁶: the positive-term series
/// erf x = (2/√π) e^(−x²) Σ 2ⁿ x^(2n+1)/(1·3···(2n+1)) below x = 3, the continued fraction
/// erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) (Lentz) above
/// (Abramowitz & Stegun 7.1.6 and 7.1.14).
fn erfc_nonnegative(x: f64) -> f64 {
    if x < 3.0 {
        let mut term = x;
        let mut sum = x;
        let mut k = 0.0;
        while term > 1e-18 * sum {
            k += 1.0;
            term *= 2.0 * x * x / (2.0 * k + 1.0);
            sum += term;
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp() * sum
    } else {
        // Modified Lentz for b0 + a1/(b1 + a2/(b2 + …)), b = x, a_k = k/2.
        let tiny = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for k in 1..10_000 {
            let a = k as f64 / 2.0;
            d = x + a * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = x + a / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
    }
}

/// Standard normal cumulative distribution Φ(z).
pub(crate) fn normal_cdf(z: f64) -> f64 {
    if z == f64::INFINITY {
        return 1.0;
    }
    if z == f64::NEG_INFINITY {
        return 0.0;
    }
    let x = z / std::f64::consts::SQRT_2;
    if x >= 0.0 {
        1.0 - 0.5 * erfc_nonnegative(x)
    } else {
        0.5 * erfc_nonnegative(-x)
    }
}

/// Standard normal quantile Φ⁻¹(p) by safeguarded Newton iteration (|ΔΦ| ≲ 10⁻¹⁶).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    let mut z = 0.0;
    for _ in 0..200 {
        let r = normal_cdf(z) - p;
        if r > 0.0 {
            hi = z;
        } else {
            lo = z;
        }
        let mut next = z - r / normal_pdf(z).max(1e-300);
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if (next - z).abs() <= 1e-15 * z.abs().max(1e-3) {
            return next;
        }
        z = next;
    }
    z
}

/// The bins of one quantity: (probability, E\[X | bin\], E\[X³ | bin\]) for `bins` equal-probability
/// bins of `dist`. The normal truncation of [`Distribution::sample`] (±4 sd, positive) is
/// neglected here (it moves less than 6 × 10⁻⁵ of the probability).
fn quantile_bins(dist: &Distribution, bins: usize) -> Vec<(f64, f64, f64)> {
    let p = 1.0 / bins as f64;
    let edges: Vec<f64> = (0..=bins).map(|k| normal_quantile(k as f64 * p)).collect();
    edges
        .windows(2)
        .map(|w| {
            let (za, zb) = (w[0], w[1]);
            let (pa, pb) = (normal_pdf(za), normal_pdf(zb));
            let zpa = if za.is_finite() { za * pa } else { 0.0 };
            let zpb = if zb.is_finite() { zb * pb } else { 0.0 };
            let z2pa = if za.is_finite() {
                (za * za + 2.0) * pa
            } else {
                0.0
            };
            let z2pb = if zb.is_finite() {
                (zb * zb + 2.0) * pb
            } else {
                0.0
            };
            match *dist {
                Distribution::Fixed(v) => (p, v, v * v * v),
                Distribution::Normal { mean: m, sd: s } => {
                    let e1 = (pa - pb) / p;
                    let e2 = 1.0 + (zpa - zpb) / p;
                    let e3 = (z2pa - z2pb) / p;
                    let mean = m + s * e1;
                    let third =
                        m * m * m + 3.0 * m * m * s * e1 + 3.0 * m * s * s * e2 + s * s * s * e3;
                    (p, mean, third)
                }
                Distribution::LogNormal { .. } => {
                    let (mu, sigma) = dist.log_space_parameters().unwrap_or((0.0, 0.0));
                    let moment = |k: f64| {
                        (k * mu + 0.5 * k * k * sigma * sigma).exp()
                            * (normal_cdf(zb - k * sigma) - normal_cdf(za - k * sigma))
                            / p
                    };
                    (p, moment(1.0), moment(3.0))
                }
            }
        })
        .collect()
}

fn has_spread(d: &Distribution) -> bool {
    !matches!(d, Distribution::Fixed(_)) && d.sd() > 0.0
}

/// Splits `n` into (density bins, size bins) with product n, the size count the largest
/// divisor of n not above √n (so 4 → 2×2, 6 → 3×2, 8 → 4×2, 5 → 5×1): density, which decides
/// where a cell ends up, gets at least as many bins as size, which decides how fast.
fn factor_bins(n: usize) -> (usize, usize) {
    let mut size_bins = 1;
    for d in 1..=n {
        if d * d > n {
            break;
        }
        if n.is_multiple_of(d) {
            size_bins = d;
        }
    }
    (n / size_bins, size_bins)
}

/// Discretises `species` into `n_classes` classes whose volume fractions sum to `total_phi`.
///
/// Density and size are taken as independent. Each is cut into equal-probability quantile
/// bins (bin k of m holds the values between the quantiles (k − 1)/m and k/m): `n_classes` is
/// factored as (density bins) × (size bins) with the size count the largest divisor not above
/// √n (4 → 2 × 2, 8 → 4 × 2, 5 → 5 × 1); a quantity without spread (fixed, or sd = 0) gets one
/// bin and the other all of them, and with neither spread a single class is returned. Each
/// class carries
///
/// - the density ρ = E\[ρ | density bin\] (conditional mean, closed form for normal and
///   log-normal distributions);
/// - the diameter of the sphere of the bin's mean volume, d = (6 E\[V | size bin\]/π)^(1/3), with
///   E\[V | bin\] = E\[V | bin\] for a volume distribution and π E\[d³ | bin\]/6 for a diameter
///   distribution (closed-form truncated moments);
/// - the volume fraction φ = total_phi · P(density bin) · P(size bin) E\[V | bin\] / E\[V\], so the
///   number of cells of each class is the bin's share of the species' cells
///   (φ / cell volume = n · P), and the fractions sum to `total_phi`.
///
/// The normal sampler's ±4 sd truncation is neglected (it changes the mean of the extreme
/// bins by < 10⁻³ of an sd for up to 16 bins). The shape factor is the species'.
///
/// # Errors
/// [`FieldError::InvalidParameter`] for `n_classes` = 0 or a negative/non-finite
/// `total_phi`; [`FieldError::Physics`] if the species is invalid.
pub fn classes_from_distribution(
    species: &Species,
    total_phi: f64,
    n_classes: usize,
) -> Result<Vec<Class>, FieldError> {
    species.validate()?;
    if n_classes == 0 {
        return Err(invalid("classes per species", 0.0, ">= 1"));
    }
    if !(total_phi.is_finite() && total_phi >= 0.0) {
        return Err(invalid(
            &format!("{}: volume fraction", species.name),
            total_phi,
            ">= 0",
        ));
    }
    let size_dist = match species.size {
        SizeDistribution::Diameter(d) | SizeDistribution::Volume(d) => d,
    };
    let (n_rho, n_size) = match (has_spread(&species.density), has_spread(&size_dist)) {
        (true, true) => factor_bins(n_classes),
        (true, false) => (n_classes, 1),
        (false, true) => (1, n_classes),
        (false, false) => (1, 1),
    };
    let rho_bins = quantile_bins(&species.density, n_rho);
    let size_bins: Vec<(f64, f64)> = quantile_bins(&size_dist, n_size)
        .into_iter()
        .map(|(p, mean, third)| {
            let volume = match species.size {
                SizeDistribution::Volume(_) => mean,
                SizeDistribution::Diameter(_) => std::f64::consts::PI / 6.0 * third,
            };
            (p, volume)
        })
        .collect();
    let mean_volume: f64 = size_bins.iter().map(|(p, v)| p * v).sum();
    let mut classes = Vec::with_capacity(n_rho * n_size);
    for (i, &(p_rho, rho, _)) in rho_bins.iter().enumerate() {
        for (j, &(p_size, volume)) in size_bins.iter().enumerate() {
            let label = if n_rho * n_size == 1 {
                species.name.clone()
            } else {
                format!(
                    "{}[rho{}/{},d{}/{}]",
                    species.name,
                    i + 1,
                    n_rho,
                    j + 1,
                    n_size
                )
            };
            classes.push(Class {
                aggregate_cells: 1.0,
                species: species.name.clone(),
                label,
                diameter: sphere_equivalent_diameter(volume),
                density: rho,
                shape_factor: species.shape_factor,
                volume_fraction: total_phi * p_rho * p_size * volume / mean_volume,
            });
        }
    }
    Ok(classes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_and_quantile() {
        // Reference values (Abramowitz & Stegun Table 26.1).
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
        assert!((normal_cdf(-2.0) - 0.022_750_131_948_179_2).abs() < 1e-16);
        assert!((normal_cdf(4.5) - 0.999_996_602_326_875).abs() < 1e-15);
        assert!((normal_cdf(-5.0) - 2.866_515_718_791_939e-7).abs() < 1e-20);
        for &p in &[1e-6, 0.025, 0.25, 0.5, 0.75, 0.975, 0.999] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-15, "{p}");
        }
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
    }

    #[test]
    fn factoring() {
        assert_eq!(factor_bins(1), (1, 1));
        assert_eq!(factor_bins(4), (2, 2));
        assert_eq!(factor_bins(5), (5, 1));
        assert_eq!(factor_bins(6), (3, 2));
        assert_eq!(factor_bins(8), (4, 2));
        assert_eq!(factor_bins(9), (3, 3));
    }

    fn rbc() -> Species {
        Species {
            name: "rbc".into(),
            display_name: "red blood cell".into(),
            density: Distribution::Normal {
                mean: 1095.0,
                sd: 4.0,
            },
            size: SizeDistribution::Volume(Distribution::LogNormal {
                mean: 87e-18,
                sd: 11.3e-18,
            }),
            shape_factor: 1.09,
            normal_per_ul: None,
            source: "test".into(),
        }
    }

    #[test]
    fn classes_preserve_volume_number_and_mean_density() {
        let s = rbc();
        for n in [1, 2, 4, 6, 8] {
            let classes = classes_from_distribution(&s, 0.45, n).unwrap();
            assert_eq!(classes.len(), n);
            let phi: f64 = classes.iter().map(|c| c.volume_fraction).sum();
            assert!((phi - 0.45).abs() < 1e-14, "{phi}");
            // Number concentration n = φ/E[V] is preserved.
            let number: f64 = classes
                .iter()
                .map(|c| c.volume_fraction / c.cell_volume())
                .sum();
            assert!((number / (0.45 / 87e-18) - 1.0).abs() < 1e-12, "{number}");
            // Number-weighted mean density is the species mean.
            let rho: f64 = classes
                .iter()
                .map(|c| c.density * c.volume_fraction / c.cell_volume())
                .sum::<f64>()
                / number;
            assert!((rho - 1095.0).abs() < 1e-9, "{rho}");
            for c in &classes {
                c.validate().unwrap();
            }
        }
        // Two density bins of a normal: means at ±sd·√(2/π).
        let classes = classes_from_distribution(&s, 0.45, 2).unwrap();
        let expected = 4.0 * (2.0 / std::f64::consts::PI).sqrt();
        assert!((classes[1].density - 1095.0 - expected).abs() < 1e-10);
        assert!((classes[0].density - 1095.0 + expected).abs() < 1e-10);
    }

    #[test]
    fn diameter_distribution_and_fixed() {
        let mut s = rbc();
        s.density = Distribution::Fixed(1064.5);
        s.size = SizeDistribution::Diameter(Distribution::Normal {
            mean: 11.2e-6,
            sd: 1.85e-6,
        });
        let classes = classes_from_distribution(&s, 0.01, 3).unwrap();
        assert_eq!(classes.len(), 3);
        assert!(classes.iter().all(|c| c.density == 1064.5));
        assert!(
            classes[0].diameter < classes[1].diameter && classes[1].diameter < classes[2].diameter
        );
        // Mean volume π E[d³]/6 recovered from the classes.
        let number: f64 = classes
            .iter()
            .map(|c| c.volume_fraction / c.cell_volume())
            .sum();
        let mean_volume = s.mean_volume();
        assert!((0.01 / number / mean_volume - 1.0).abs() < 1e-12);
        s.size = SizeDistribution::Diameter(Distribution::Fixed(8e-6));
        assert_eq!(classes_from_distribution(&s, 0.01, 4).unwrap().len(), 1);
        assert!(classes_from_distribution(&s, -0.1, 4).is_err());
        assert!(classes_from_distribution(&s, 0.1, 0).is_err());
    }
}
