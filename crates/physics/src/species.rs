//! Cell species: density and size distributions, drag shape factor, and the species library.
//!
//! A [`Species`] describes one kind of cell (red cell, platelet, lymphocyte, …) by
//!
//! - its density ρ_p, a [`Distribution`] in kg/m³;
//! - its size, a [`SizeDistribution`] of either the diameter (m) or the volume (m³);
//! - its dynamic shape factor χ ≥ 1, which multiplies the Stokes drag of the sphere of equal
//!   volume: F = 3π μ d_v χ (u_f − v), d_v the sphere-equivalent diameter;
//! - its normal range of concentration in blood (cells/µL, for documentation);
//! - the literature source of the numbers.
//!
//! Everything here is SI. The bundled species data live in `data/species.toml` (user units,
//! with sources) and are converted to SI by the CLI's library parser; this crate does no I/O.
//! The [`SpeciesLibrary`] is the ordered, name-indexed collection of species.

use std::f64::consts::PI;

use rand::Rng;
use rand_distr::{Distribution as _, StandardNormal};

use crate::error::{PhysicsError, ensure_non_negative, ensure_positive};
use crate::units;

/// Library name of the red blood cell.
pub const RBC: &str = "rbc";
/// Library name of the platelet.
pub const PLATELET: &str = "platelet";
/// Library name of the lymphocyte.
pub const LYMPHOCYTE: &str = "lymphocyte";
/// Library name of the monocyte.
pub const MONOCYTE: &str = "monocyte";
/// Library name of the neutrophil (neutrophilic granulocyte).
pub const NEUTROPHIL: &str = "neutrophil";
/// Library name of the myeloblast (acute myeloid leukaemia blast).
pub const MYELOBLAST: &str = "myeloblast";
/// Library name of the lymphoblast (acute lymphoblastic leukaemia blast).
pub const LYMPHOBLAST: &str = "lymphoblast";
/// Library name of the CD34⁺ haematopoietic progenitor cell.
pub const CD34: &str = "cd34";

/// Normal samples are truncated at ± this many standard deviations (see [`Distribution::sample`]).
pub const NORMAL_TRUNCATION_SD: f64 = 4.0;

/// Which species are red cells and platelets; every other species counts as a nucleated white
/// cell (lymphocytes, monocytes, neutrophils, blasts, CD34⁺ cells, …) unless `white_cells`
/// lists the white cells explicitly (a suspension of beads or other particles in buffer: with
/// `white_cells = Some(vec![])` it has no white cells, no red cells and no platelets, and the
/// blood-specific results are not reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellRoles {
    /// species names of the red cells (port hematocrit is their volume fraction)
    pub red_cells: Vec<String>,
    /// species names of the platelets (platelet loss is their collect fraction)
    pub platelets: Vec<String>,
    /// species names of the white cells; `None`: every species that is neither a red cell nor
    /// a platelet (the rule for blood)
    pub white_cells: Option<Vec<String>>,
}

impl CellRoles {
    /// The library names: red cells `"rbc"`, platelets `"platelet"`.
    pub fn standard() -> Self {
        Self {
            red_cells: vec![RBC.to_owned()],
            platelets: vec![PLATELET.to_owned()],
            white_cells: None,
        }
    }

    /// True if `species` is neither a red cell nor a platelet: the one place the white-cell
    /// rule is written (channel purity, interface controller, layers, procedure white count).
    pub fn is_white(&self, species: &str) -> bool {
        !self.is_red_cell(species)
            && !self.is_platelet(species)
            && self
                .white_cells
                .as_ref()
                .is_none_or(|w| w.iter().any(|s| s == species))
    }

    /// True if `species` is a red-cell species.
    pub fn is_red_cell(&self, species: &str) -> bool {
        self.red_cells.iter().any(|s| s == species)
    }

    /// True if `species` is a platelet species.
    pub fn is_platelet(&self, species: &str) -> bool {
        self.platelets.iter().any(|s| s == species)
    }
}

impl Default for CellRoles {
    fn default() -> Self {
        Self::standard()
    }
}

/// The distribution of a positive physical quantity (a density, diameter or volume) over the
/// cells of one species. Values are in SI units.
///
/// `mean` and `sd` are the **arithmetic** mean and standard deviation of the quantity itself,
/// for both the normal and the log-normal case, so that numbers from the literature
/// (e.g. MCV ± SD, or MCV with RDW = sd/mean) can be entered unchanged.
///
/// For [`Distribution::LogNormal`], ln X is normal with (log-space) parameters
///
/// σ² = ln(1 + sd²/mean²),  μ = ln(mean) − σ²/2,
///
/// which reproduce E\[X\] = exp(μ + σ²/2) = mean and SD\[X\] = mean·√(exp(σ²) − 1) = sd exactly
/// (see [`Distribution::log_space_parameters`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// Every cell has this value.
    Fixed(f64),
    /// Normal with arithmetic `mean` and `sd`, truncated at ±4 sd and restricted to positive
    /// values (see [`Distribution::sample`]).
    Normal {
        /// Arithmetic mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Log-normal with arithmetic `mean` and `sd` (not the log-space μ, σ).
    LogNormal {
        /// Arithmetic mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
}

impl Distribution {
    /// Arithmetic mean of the (untruncated) distribution.
    pub fn mean(&self) -> f64 {
        match *self {
            Distribution::Fixed(v) => v,
            Distribution::Normal { mean, .. } | Distribution::LogNormal { mean, .. } => mean,
        }
    }

    /// Standard deviation of the (untruncated) distribution; 0 for [`Distribution::Fixed`].
    pub fn sd(&self) -> f64 {
        match *self {
            Distribution::Fixed(_) => 0.0,
            Distribution::Normal { sd, .. } | Distribution::LogNormal { sd, .. } => sd,
        }
    }

    /// Coefficient of variation sd / mean.
    pub fn cv(&self) -> f64 {
        self.sd() / self.mean()
    }

    /// For [`Distribution::LogNormal`], the parameters (μ, σ) of the normal distribution of
    /// ln X: σ² = ln(1 + sd²/mean²), μ = ln(mean) − σ²/2. `None` for the other variants.
    pub fn log_space_parameters(&self) -> Option<(f64, f64)> {
        match *self {
            Distribution::LogNormal { mean, sd } => {
                let cv = sd / mean;
                let s2 = (cv * cv).ln_1p();
                Some((mean.ln() - 0.5 * s2, s2.sqrt()))
            }
            _ => None,
        }
    }

    /// The same family with mean and sd multiplied by `factor` > 0: the distribution of
    /// `factor · X`. Used for unit conversion at the boundary (e.g. g/mL → kg/m³ is × 1000).
    /// Scaling preserves the family exactly (a scaled normal is normal, a scaled log-normal is
    /// log-normal with the same σ).
    pub fn scaled(&self, factor: f64) -> Distribution {
        match *self {
            Distribution::Fixed(v) => Distribution::Fixed(v * factor),
            Distribution::Normal { mean, sd } => Distribution::Normal {
                mean: mean * factor,
                sd: sd * factor,
            },
            Distribution::LogNormal { mean, sd } => Distribution::LogNormal {
                mean: mean * factor,
                sd: sd * factor,
            },
        }
    }

    /// Third raw moment E\[X³\] of the untruncated distribution:
    /// fixed v³; normal m³ + 3 m s²; log-normal exp(3μ + 9σ²/2).
    ///
    /// Used for the mean volume π E\[d³\]/6 of a species whose diameter is distributed. For the
    /// normal case the ±4 sd truncation and positivity restriction of [`Distribution::sample`]
    /// are neglected (relative effect < 10⁻³ for sd/mean ≤ 0.25).
    pub fn third_moment(&self) -> f64 {
        match *self {
            Distribution::Fixed(v) => v * v * v,
            Distribution::Normal { mean, sd } => mean * mean * mean + 3.0 * mean * sd * sd,
            Distribution::LogNormal { .. } => {
                let (mu, sigma) = self.log_space_parameters().unwrap_or((0.0, 0.0));
                (3.0 * mu + 4.5 * sigma * sigma).exp()
            }
        }
    }

    /// Whether the parameters are physical: mean finite and > 0, sd finite and ≥ 0.
    /// (Allocation-free; [`Distribution::sample`] calls it on every draw.)
    pub fn is_valid(&self) -> bool {
        let (mean, sd) = (self.mean(), self.sd());
        mean.is_finite() && mean > 0.0 && sd.is_finite() && sd >= 0.0
    }

    /// Checks that the mean is finite and > 0 and the sd finite and ≥ 0.
    ///
    /// `name` describes the quantity in error messages (e.g. `"rbc: density (kg/m^3)"`).
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] naming `name` and `mean` or `sd`.
    pub fn validate(&self, name: &str) -> Result<(), PhysicsError> {
        if self.is_valid() {
            return Ok(());
        }
        match *self {
            Distribution::Fixed(v) => ensure_positive(&format!("{name} (fixed value)"), v)?,
            Distribution::Normal { mean, sd } | Distribution::LogNormal { mean, sd } => {
                ensure_positive(&format!("{name} mean"), mean)?;
                ensure_non_negative(&format!("{name} sd"), sd)?
            }
        };
        Ok(())
    }

    /// Draws one value.
    ///
    /// - [`Distribution::Fixed`]: returns the value and consumes no randomness.
    /// - [`Distribution::Normal`]: x = mean + sd·z with z standard normal; draws with
    ///   |z| > 4 ([`NORMAL_TRUNCATION_SD`]) or x ≤ 0 are rejected and redrawn, so every sample is
    ///   physical (positive and within ±4 sd). The ±4 sd truncation alone lowers the standard
    ///   deviation by a factor √(1 − 8φ(4)/(2Φ(4) − 1)) = 0.99946 (−0.054 %, i.e. < 0.1 %) and
    ///   leaves the mean unchanged; positivity only matters when sd/mean > 1/4, where a
    ///   log-normal is the better model anyway. About half of all draws or more are accepted
    ///   whatever the parameters, so the loop terminates quickly.
    /// - [`Distribution::LogNormal`]: x = exp(μ + σz) with μ, σ from
    ///   [`Distribution::log_space_parameters`]; exact, not truncated.
    ///
    /// # Panics
    /// If the distribution is not valid ([`Distribution::validate`]); validate user input first.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.sampler().sample(rng)
    }

    /// The distribution prepared for many draws ([`Sampler`]): validity checked and the
    /// log-space parameters computed once.
    ///
    /// # Panics
    /// If the distribution is not valid ([`Distribution::validate`]); validate user input first.
    pub fn sampler(&self) -> Sampler {
        assert!(
            self.is_valid(),
            "sampling an invalid distribution {self:?}; call validate() first"
        );
        match *self {
            Distribution::Fixed(v) => Sampler::Fixed(v),
            Distribution::Normal { mean, sd } => Sampler::Normal { mean, sd },
            Distribution::LogNormal { .. } => {
                let (mu, sigma) = self.log_space_parameters().unwrap_or((0.0, 0.0));
                Sampler::LogNormal { mu, sigma }
            }
        }
    }
}

/// A valid [`Distribution`] prepared for many draws ([`Distribution::sampler`]): each draw
/// costs only its random numbers and arithmetic, and is bitwise the draw of
/// [`Distribution::sample`] from the same generator state (which is implemented by it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    /// a fixed value
    Fixed(f64),
    /// a normal, truncated as in [`Distribution::sample`]
    Normal {
        /// mean
        mean: f64,
        /// standard deviation
        sd: f64,
    },
    /// exp(μ + σz) with the log-space parameters of [`Distribution::log_space_parameters`]
    LogNormal {
        /// μ, mean of the logarithm
        mu: f64,
        /// σ, standard deviation of the logarithm
        sigma: f64,
    },
}

impl Sampler {
    /// Draws one value (see [`Distribution::sample`]).
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Sampler::Fixed(v) => v,
            Sampler::Normal { mean, sd } => loop {
                let z: f64 = StandardNormal.sample(rng);
                if z.abs() > NORMAL_TRUNCATION_SD {
                    continue;
                }
                let x = mean + sd * z;
                if x > 0.0 {
                    break x;
                }
            },
            Sampler::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
        }
    }
}

/// The size distribution of a species: either of the diameter d (m) or of the volume V (m³).
///
/// A cell's size for the drag law is its sphere-equivalent diameter d_v = (6V/π)^(1/3)
/// ([`units::sphere_equivalent_diameter`]); non-sphericity enters separately through the shape
/// factor χ of [`Species`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeDistribution {
    /// Distribution of the (sphere-equivalent) diameter, m.
    Diameter(Distribution),
    /// Distribution of the cell volume, m³.
    Volume(Distribution),
}

impl SizeDistribution {
    /// Representative diameter (m): the mean diameter for [`SizeDistribution::Diameter`]; the
    /// sphere-equivalent diameter of the **mean volume**, (6 E\[V\]/π)^(1/3), for
    /// [`SizeDistribution::Volume`] (e.g. MCV 87 fL → 5.50 µm).
    pub fn mean_diameter(&self) -> f64 {
        match self {
            SizeDistribution::Diameter(d) => d.mean(),
            SizeDistribution::Volume(v) => units::sphere_equivalent_diameter(v.mean()),
        }
    }

    /// Mean cell volume E\[V\] (m³): the mean of the volume distribution, or π E\[d³\]/6 for a
    /// diameter distribution (see [`Distribution::third_moment`]).
    pub fn mean_volume(&self) -> f64 {
        match self {
            SizeDistribution::Diameter(d) => PI / 6.0 * d.third_moment(),
            SizeDistribution::Volume(v) => v.mean(),
        }
    }

    /// Draws one sphere-equivalent diameter (m): a diameter draw, or the sphere-equivalent
    /// diameter of a volume draw.
    pub fn sample_diameter<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.sampler().sample_diameter(rng)
    }

    /// The size distribution prepared for many draws (see [`Distribution::sampler`]).
    ///
    /// # Panics
    /// If the distribution is not valid.
    pub fn sampler(&self) -> SizeSampler {
        match self {
            SizeDistribution::Diameter(d) => SizeSampler::Diameter(d.sampler()),
            SizeDistribution::Volume(v) => SizeSampler::Volume(v.sampler()),
        }
    }

    /// Validates the underlying distribution; `name` prefixes the error message.
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] as in [`Distribution::validate`].
    pub fn validate(&self, name: &str) -> Result<(), PhysicsError> {
        match self {
            SizeDistribution::Diameter(d) => d.validate(&format!("{name}: diameter (m)")),
            SizeDistribution::Volume(v) => v.validate(&format!("{name}: volume (m^3)")),
        }
    }
}

/// A [`SizeDistribution`] prepared for many draws ([`SizeDistribution::sampler`]); draws are
/// bitwise those of [`SizeDistribution::sample_diameter`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeSampler {
    /// of the diameter (m)
    Diameter(Sampler),
    /// of the volume (m³), converted to the sphere-equivalent diameter
    Volume(Sampler),
}

impl SizeSampler {
    /// Draws one sphere-equivalent diameter (m).
    #[inline]
    pub fn sample_diameter<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            SizeSampler::Diameter(d) => d.sample(rng),
            SizeSampler::Volume(v) => units::sphere_equivalent_diameter(v.sample(rng)),
        }
    }
}

/// Dynamic shape factor χ of an oblate spheroid of aspect ratio p = c/a ≤ 1 (c polar,
/// a equatorial semi-axis), averaged over random orientations, relative to the sphere of equal
/// volume:
///
/// χ(p) = √(1 − p²) / ( p^(1/3) · arctan(√(1 − p²)/p) ),  0 < p ≤ 1.
///
/// This is Perrin's translational friction ratio f/f₀ for an oblate ellipsoid (Perrin,
/// J Phys Radium 5:497, 1934; Happel & Brenner, *Low Reynolds number hydrodynamics*, 1965).
/// The orientation average is the one that applies to settling in Stokes flow: a body that does
/// not rotate settles, averaged over orientations, with the mean of its three principal
/// mobilities, f_avg = 3/(1/f₁ + 1/f₂ + 1/f₃). Limits: χ(1) = 1 (sphere); χ → (2/π)·p^(−1/3)
/// for a thin disc. Examples: χ(0.5) = 1.042, χ(0.35) = 1.096.
///
/// # Errors
/// [`PhysicsError::InvalidParameter`] unless 0 < p ≤ 1.
pub fn oblate_spheroid_shape_factor(aspect_ratio: f64) -> Result<f64, PhysicsError> {
    let p = aspect_ratio;
    if !(p.is_finite() && p > 0.0 && p <= 1.0) {
        return Err(PhysicsError::invalid(
            "oblate spheroid aspect ratio c/a",
            p,
            "in (0, 1]",
        ));
    }
    let x = (1.0 - p * p).sqrt() / p;
    // x/arctan(x) → 1 as x → 0; the division is well conditioned except at x = 0 exactly.
    let ratio = if x < 1e-8 { 1.0 } else { x / x.atan() };
    Ok(p.powf(2.0 / 3.0) * ratio)
}

/// One cell species, in SI units.
///
/// Build it literally and check it with [`Species::validate`], or let
/// [`SpeciesLibrary::new`] validate it.
#[derive(Debug, Clone, PartialEq)]
pub struct Species {
    /// Short unique name used as key (e.g. `"rbc"`, see the constants [`RBC`] …).
    pub name: String,
    /// Human-readable name (e.g. `"red blood cell"`).
    pub display_name: String,
    /// Cell density ρ_p (kg/m³).
    pub density: Distribution,
    /// Cell size: diameter (m) or volume (m³).
    pub size: SizeDistribution,
    /// Dynamic shape factor χ ≥ 1 (dimensionless). The Stokes drag of a cell of
    /// sphere-equivalent diameter d_v is 3π μ d_v χ (u_f − v); χ = 1 for a sphere.
    pub shape_factor: f64,
    /// Normal range of the concentration in the blood of healthy adults, cells/µL
    /// (documentation only; `None` if not applicable).
    pub normal_per_ul: Option<(f64, f64)>,
    /// Literature source(s) of the numbers.
    pub source: String,
}

impl Species {
    /// Representative (sphere-equivalent) diameter, m; see [`SizeDistribution::mean_diameter`].
    pub fn mean_diameter(&self) -> f64 {
        self.size.mean_diameter()
    }

    /// Mean cell volume E\[V\], m³; see [`SizeDistribution::mean_volume`].
    pub fn mean_volume(&self) -> f64 {
        self.size.mean_volume()
    }

    /// Mean cell density, kg/m³.
    pub fn mean_density(&self) -> f64 {
        self.density.mean()
    }

    /// Checks the species: non-empty name, valid density and size distributions, finite shape
    /// factor χ ≥ 1, and a normal range with 0 ≤ low ≤ high (if given).
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] naming the species and the offending quantity, or
    /// [`PhysicsError::InconsistentInput`] for an empty name.
    pub fn validate(&self) -> Result<(), PhysicsError> {
        let n = &self.name;
        if n.trim().is_empty() {
            return Err(PhysicsError::InconsistentInput(
                "species name must not be empty".into(),
            ));
        }
        self.density.validate(&format!("{n}: density (kg/m^3)"))?;
        self.size.validate(n)?;
        if !(self.shape_factor.is_finite() && self.shape_factor >= 1.0) {
            return Err(PhysicsError::invalid(
                format!("{n}: shape factor"),
                self.shape_factor,
                "finite and >= 1",
            ));
        }
        if let Some((lo, hi)) = self.normal_per_ul {
            ensure_non_negative(&format!("{n}: normal range low (cells/uL)"), lo)?;
            ensure_non_negative(&format!("{n}: normal range high (cells/uL)"), hi)?;
            if hi < lo {
                return Err(PhysicsError::invalid(
                    format!("{n}: normal range high (cells/uL)"),
                    hi,
                    format!(">= low end {lo}"),
                ));
            }
        }
        Ok(())
    }
}

/// An ordered collection of [`Species`] with unique names.
///
/// The order is the order of definition (for the bundled library, the order in
/// `data/species.toml`) and is the stable order used by outputs such as
/// [`crate::blood::BloodComposition::concentrations`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpeciesLibrary {
    species: Vec<Species>,
}

impl SpeciesLibrary {
    /// Builds a library, validating every species ([`Species::validate`]) and the uniqueness of
    /// the names.
    ///
    /// # Errors
    /// The first validation error, or [`PhysicsError::DuplicateSpecies`].
    pub fn new(species: Vec<Species>) -> Result<SpeciesLibrary, PhysicsError> {
        for (i, s) in species.iter().enumerate() {
            s.validate()?;
            if species[..i].iter().any(|t| t.name == s.name) {
                return Err(PhysicsError::DuplicateSpecies {
                    name: s.name.clone(),
                });
            }
        }
        Ok(SpeciesLibrary { species })
    }

    /// The species called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Species> {
        self.species.iter().find(|s| s.name == name)
    }

    /// The species called `name`.
    ///
    /// # Errors
    /// [`PhysicsError::UnknownSpecies`] listing the known names.
    pub fn lookup(&self, name: &str) -> Result<&Species, PhysicsError> {
        self.get(name).ok_or_else(|| PhysicsError::UnknownSpecies {
            name: name.to_owned(),
            known: self.names().map(str::to_owned).collect(),
        })
    }

    /// Position of the species called `name` in library order (e.g. to derive a per-species
    /// random stream id).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.species.iter().position(|s| s.name == name)
    }

    /// The species names, in library order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.species.iter().map(|s| s.name.as_str())
    }

    /// Iterates over the species in library order.
    pub fn iter(&self) -> std::slice::Iter<'_, Species> {
        self.species.iter()
    }

    /// The species as a slice, in library order.
    pub fn as_slice(&self) -> &[Species] {
        &self.species
    }

    /// Number of species.
    pub fn len(&self) -> usize {
        self.species.len()
    }

    /// Whether the library has no species.
    pub fn is_empty(&self) -> bool {
        self.species.is_empty()
    }
}

impl<'a> IntoIterator for &'a SpeciesLibrary {
    type Item = &'a Species;
    type IntoIter = std::slice::Iter<'a, Species>;

    fn into_iter(self) -> Self::IntoIter {
        self.species.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{fl_to_m3, g_per_ml_to_kg_per_m3, m_to_um, um_to_m};

    /// The prepared samplers draw bitwise what the per-draw recipe gives (parameters derived
    /// from the distribution at every draw, as `Distribution::sample` did before samplers).
    #[test]
    fn samplers_draw_bitwise_the_per_draw_recipe() {
        use rand::SeedableRng;
        fn recipe<R: Rng>(d: &Distribution, rng: &mut R) -> f64 {
            match *d {
                Distribution::Fixed(v) => v,
                Distribution::Normal { mean, sd } => loop {
                    let z: f64 = StandardNormal.sample(rng);
                    if z.abs() > NORMAL_TRUNCATION_SD {
                        continue;
                    }
                    let x = mean + sd * z;
                    if x > 0.0 {
                        break x;
                    }
                },
                Distribution::LogNormal { .. } => {
                    let (mu, sigma) = d.log_space_parameters().unwrap();
                    let z: f64 = StandardNormal.sample(rng);
                    (mu + sigma * z).exp()
                }
            }
        }
        for d in [
            Distribution::Fixed(1070.0),
            // sd/mean 0.8: the positivity and truncation rejections both occur
            Distribution::Normal { mean: 1.0, sd: 0.8 },
            Distribution::LogNormal {
                mean: fl_to_m3(87.0),
                sd: fl_to_m3(11.3),
            },
        ] {
            let sampler = d.sampler();
            let size = SizeDistribution::Volume(d).sampler();
            let mut a = rand_pcg::Pcg64Mcg::seed_from_u64(3);
            let mut b = a.clone();
            let mut c = a.clone();
            for _ in 0..2000 {
                let want = recipe(&d, &mut a);
                assert_eq!(sampler.sample(&mut b).to_bits(), want.to_bits(), "{d:?}");
                let v = size.sample_diameter(&mut c);
                assert_eq!(
                    v.to_bits(),
                    units::sphere_equivalent_diameter(want).to_bits()
                );
            }
        }
    }

    fn rbc() -> Species {
        Species {
            name: RBC.into(),
            display_name: "red blood cell".into(),
            density: Distribution::Normal {
                mean: 1095.0,
                sd: 4.0,
            },
            size: SizeDistribution::Volume(Distribution::LogNormal {
                mean: fl_to_m3(87.0),
                sd: fl_to_m3(11.3),
            }),
            shape_factor: 1.09,
            normal_per_ul: Some((4.2e6, 6.1e6)),
            source: "test".into(),
        }
    }

    fn blast() -> Species {
        Species {
            name: MYELOBLAST.into(),
            display_name: "myeloblast".into(),
            density: Distribution::Fixed(1064.5),
            size: SizeDistribution::Diameter(Distribution::Normal {
                mean: um_to_m(11.2),
                sd: um_to_m(1.85),
            }),
            shape_factor: 1.0,
            normal_per_ul: None,
            source: "test".into(),
        }
    }

    #[test]
    fn log_space_parameters_reproduce_arithmetic_moments() {
        let d = Distribution::LogNormal {
            mean: 87.0,
            sd: 11.3,
        };
        let (mu, sigma) = d.log_space_parameters().unwrap();
        let mean = (mu + 0.5 * sigma * sigma).exp();
        let sd = mean * (sigma * sigma).exp_m1().sqrt();
        assert!((mean / 87.0 - 1.0).abs() < 1e-14);
        assert!((sd / 11.3 - 1.0).abs() < 1e-12);
        assert!(Distribution::Fixed(1.0).log_space_parameters().is_none());
        assert_eq!(d.cv(), 11.3 / 87.0);
    }

    #[test]
    fn scaled_and_third_moment() {
        let d = Distribution::Normal {
            mean: 1.095,
            sd: 0.004,
        }
        .scaled(1000.0);
        assert!((d.mean() - 1095.0).abs() < 1e-9 && (d.sd() - 4.0).abs() < 1e-12);
        assert_eq!(Distribution::Fixed(2.0).third_moment(), 8.0);
        let n = Distribution::Normal { mean: 2.0, sd: 0.5 };
        assert!((n.third_moment() - (8.0 + 3.0 * 2.0 * 0.25)).abs() < 1e-12);
        // Log-normal E[X³] = mean³ (1 + cv²)³.
        let l = Distribution::LogNormal { mean: 2.0, sd: 0.5 };
        let expected = 8.0 * (1.0f64 + 0.0625).powi(3);
        assert!((l.third_moment() / expected - 1.0).abs() < 1e-12);
        // Scaling a log-normal keeps σ.
        let (_, s1) = l.log_space_parameters().unwrap();
        let (_, s2) = l.scaled(1e-18).log_space_parameters().unwrap();
        assert!((s1 - s2).abs() < 1e-12);
    }

    #[test]
    fn validation_of_distributions() {
        assert!(Distribution::Fixed(1.0).is_valid());
        assert!(Distribution::Normal { mean: 1.0, sd: 0.0 }.is_valid());
        for bad in [
            Distribution::Fixed(0.0),
            Distribution::Normal {
                mean: -1.0,
                sd: 0.1,
            },
            Distribution::LogNormal {
                mean: 1.0,
                sd: -0.1,
            },
            Distribution::LogNormal {
                mean: f64::NAN,
                sd: 0.1,
            },
            Distribution::Normal {
                mean: 1.0,
                sd: f64::INFINITY,
            },
        ] {
            let e = bad.validate("rbc: density").unwrap_err();
            assert!(e.to_string().contains("rbc: density"), "{e}");
        }
    }

    #[test]
    #[should_panic(expected = "invalid distribution")]
    fn sampling_invalid_distribution_panics_instead_of_hanging() {
        let mut rng = rand_pcg::Pcg64Mcg::new(1);
        Distribution::Normal {
            mean: -10.0,
            sd: 1.0,
        }
        .sample(&mut rng);
    }

    #[test]
    fn size_means() {
        let r = rbc();
        assert!((r.mean_volume() - 8.7e-17).abs() < 1e-30);
        // Sphere of 87 fL: d = (6·87/π)^(1/3) µm = 5.4976 µm.
        assert!((m_to_um(r.mean_diameter()) - 5.4976).abs() < 1e-4);
        assert_eq!(r.mean_density(), 1095.0);
        let b = blast();
        assert!((b.mean_diameter() - 11.2e-6).abs() < 1e-18);
        // E[V] = π/6 (m³ + 3 m s²) exceeds the volume at the mean diameter.
        let v_at_mean = units::sphere_volume(11.2e-6);
        let ratio = b.mean_volume() / v_at_mean;
        let cv: f64 = 1.85 / 11.2;
        assert!((ratio - (1.0 + 3.0 * cv * cv)).abs() < 1e-12, "{ratio}");
    }

    #[test]
    fn shape_factor_of_oblate_spheroids() {
        assert_eq!(oblate_spheroid_shape_factor(1.0).unwrap(), 1.0);
        assert!((oblate_spheroid_shape_factor(1.0 - 1e-12).unwrap() - 1.0).abs() < 1e-9);
        // Perrin's tabulated f/f0 for an oblate ellipsoid of axial ratio 2 is 1.042.
        assert!((oblate_spheroid_shape_factor(0.5).unwrap() - 1.0424).abs() < 5e-4);
        // Thin-disc limit: χ p^(1/3) → 2/π (disc friction 12 μ a vs sphere 6π μ a p^(1/3)).
        let p: f64 = 1e-6;
        let chi = oblate_spheroid_shape_factor(p).unwrap();
        assert!((chi * p.cbrt() - 2.0 / PI).abs() < 1e-5);
        // Monotone: flatter is draggier.
        let mut last = 1.0;
        for k in (1..100).rev() {
            let c = oblate_spheroid_shape_factor(k as f64 / 100.0).unwrap();
            assert!(c >= last);
            last = c;
        }
        for bad in [0.0, -0.5, 1.5, f64::NAN] {
            assert!(oblate_spheroid_shape_factor(bad).is_err());
        }
    }

    #[test]
    fn red_cell_shape_factor_derivation() {
        // Equal-volume oblate spheroid with the red-cell diameter 7.8 µm (Evans & Fung 1972)
        // and MCV 87 fL: c = 3V/(4π a²), p = c/a ≈ 0.350, χ ≈ 1.096; with their own mean
        // volume 94 fL, p ≈ 0.378, χ ≈ 1.082. The library uses χ = 1.09.
        let a = um_to_m(7.8) / 2.0;
        let chi = |v_fl: f64| {
            let c = 3.0 * fl_to_m3(v_fl) / (4.0 * PI * a * a);
            oblate_spheroid_shape_factor(c / a).unwrap()
        };
        assert!((chi(87.0) - 1.0955).abs() < 5e-4, "{}", chi(87.0));
        assert!((chi(94.0) - 1.0821).abs() < 5e-4, "{}", chi(94.0));
    }

    #[test]
    fn species_validation_names_the_species() {
        rbc().validate().unwrap();
        blast().validate().unwrap();
        let mut s = rbc();
        s.shape_factor = 0.9;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("rbc") && e.contains("shape factor"), "{e}");
        let mut s = rbc();
        s.normal_per_ul = Some((5.0, 4.0));
        assert!(s.validate().is_err());
        let mut s = rbc();
        s.size = SizeDistribution::Volume(Distribution::Fixed(-1.0));
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("rbc: volume"), "{e}");
        let mut s = rbc();
        s.name = " ".into();
        assert!(matches!(
            s.validate(),
            Err(PhysicsError::InconsistentInput(_))
        ));
    }

    #[test]
    fn library_lookup_and_errors() {
        let lib = SpeciesLibrary::new(vec![rbc(), blast()]).unwrap();
        assert_eq!(lib.len(), 2);
        assert!(!lib.is_empty());
        assert_eq!(lib.names().collect::<Vec<_>>(), vec![RBC, MYELOBLAST]);
        assert_eq!(lib.get(RBC).unwrap().shape_factor, 1.09);
        assert_eq!(lib.index_of(MYELOBLAST), Some(1));
        assert!(lib.get("neutrophil").is_none());
        let e = lib.lookup("neutrophil").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown species `neutrophil`; known species: rbc, myeloblast"
        );
        assert_eq!(lib.iter().count(), 2);
        assert_eq!((&lib).into_iter().count(), 2);
        assert_eq!(lib.as_slice()[0].name, RBC);

        let dup = SpeciesLibrary::new(vec![rbc(), rbc()]).unwrap_err();
        assert_eq!(dup, PhysicsError::DuplicateSpecies { name: RBC.into() });
        let mut bad = rbc();
        bad.density = Distribution::Normal {
            mean: g_per_ml_to_kg_per_m3(1.095),
            sd: -1.0,
        };
        assert!(SpeciesLibrary::new(vec![bad]).is_err());
        assert!(SpeciesLibrary::new(vec![]).unwrap().is_empty());
    }
}
