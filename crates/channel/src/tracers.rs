//! Tracer cells in the steady field: per-cell fates and grade-efficiency curves.
//!
//! **Model.** A tracer (diameter d, density ρ, shape factor χ) enters at τ = 0 at
//! ξ₀ = entry·δ and moves across the channel with the MLB velocity of a *test particle* in the
//! local steady mixture, dξ/dτ = u(τ, ξ) = ω² r(ξ) c [d²(ρ − ρ_s)/χ − S]
//! ([`buffycoat_physics::hindrance::mlb_test_particle_velocity`]; c = V/(18μ), ρ_s and S of the
//! mixture, see [`buffycoat_field::kinetics`]). In the stream-function coordinate the along-channel
//! motion is τ itself (dτ = ds/w̄ for every streamline), so this single equation is exact for
//! a one-way-coupled cell: the tracer does not feed back on the field.
//!
//! **Interpolation.** c, ρ_s − ρ_f and S are computed per ξ-cell and station from the stored
//! steady field and interpolated bilinearly: linear in τ between stations, linear in ξ between
//! cell centres (constant beyond the first and last centre). r(ξ) is the exact map.
//!
//! **Integration.** Heun's method (second order) with `substeps` equal steps per station
//! interval Δτ. A tracer reaching the outer wall ξ = δ stops there (it has sedimented onto the
//! high-g wall and leaves with the red cells); one reaching the inner wall is held at ξ = 0
//! (it may move back). At τ = T its ξ decides the port: ξ < ξ_p plasma, ξ_p ≤ ξ < ξ_c
//! collect, ξ ≥ ξ_c red cells.
//!
//! **Entry positions.** Uniform feed means uniform in ξ (each ξ-interval carries the same
//! volume flux). [`ChannelTracer::uniform_entries`] places tracer n at the Weyl (golden-ratio)
//! point frac(½ + n·0.618…) — deterministic, equidistributed, and independent of the order in
//! which the caller sampled the cell properties.

use rayon::prelude::*;

use buffycoat_stepper::Parallel;

use crate::error::{ChannelError, invalid};
use crate::grid::Port;
use crate::solution::ChannelSolution;

/// Tracers per parallel chunk (fixed: results do not depend on the thread count).
const TRACER_CHUNK: usize = 256;

/// One tracer cell (SI).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelTracer {
    /// the caller's species index
    pub species: u16,
    /// sphere-equivalent diameter d (m)
    pub diameter: f64,
    /// density ρ (kg/m³)
    pub density: f64,
    /// dynamic shape factor χ ≥ 1
    pub shape_factor: f64,
    /// entry position ξ₀/δ ∈ [0, 1] (0 inner wall, 1 outer wall)
    pub entry: f64,
}

impl ChannelTracer {
    /// Tracers with entry positions uniform in ξ (uniform feed): tracer n of the list gets
    /// entry frac(½ + n(√5 − 1)/2). Each item is (species, d (m), ρ (kg/m³), χ).
    pub fn uniform_entries(cells: &[(u16, f64, f64, f64)]) -> Vec<ChannelTracer> {
        let golden = 0.5 * (5f64.sqrt() - 1.0);
        cells
            .iter()
            .enumerate()
            .map(
                |(n, &(species, diameter, density, shape_factor))| ChannelTracer {
                    species,
                    diameter,
                    density,
                    shape_factor,
                    entry: (0.5 + n as f64 * golden).fract(),
                },
            )
            .collect()
    }
}

/// Settings of the tracer integration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TracerSettings {
    /// Heun steps per station interval Δτ (≥ 1; default 4)
    pub substeps: usize,
}

impl Default for TracerSettings {
    fn default() -> Self {
        Self { substeps: 4 }
    }
}

/// The fate of one tracer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TracerFate {
    /// the port it leaves through
    pub port: Port,
    /// its ξ at τ = T (m)
    pub exit_xi: f64,
    /// true if it reached the outer wall
    pub reached_outer_wall: bool,
}

/// Port probabilities in bins of one quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct GradeTable {
    /// bin edges (m for diameter, kg/m³ for density), ascending; values outside are not
    /// counted
    pub edges: Vec<f64>,
    /// tracers per bin
    pub counts: Vec<u64>,
    /// probability of [plasma, collect, red cells] per bin (0 for an empty bin)
    pub probability: Vec<[f64; 3]>,
}

/// Grade-efficiency curves of one species.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeciesGrade {
    /// the caller's species index
    pub species: u16,
    /// by diameter
    pub by_diameter: GradeTable,
    /// by density
    pub by_density: GradeTable,
}

impl ChannelSolution {
    /// Integrates `tracers` through the steady field and returns their fates (in input
    /// order). Parallel over tracers in fixed chunks inside `par` (bitwise independent of the
    /// thread count).
    ///
    /// # Errors
    /// [`ChannelError::InvalidParameter`] for a tracer with invalid properties or entry, or
    /// zero substeps.
    pub fn track(
        &self,
        tracers: &[ChannelTracer],
        settings: &TracerSettings,
        par: &Parallel,
    ) -> Result<Vec<TracerFate>, ChannelError> {
        if settings.substeps == 0 {
            return Err(invalid("tracers.substeps", 0.0, ">= 1"));
        }
        for (k, t) in tracers.iter().enumerate() {
            let bad = |what: &str, v: f64, allowed: &str| {
                Err(invalid(&format!("tracer {k}: {what}"), v, allowed))
            };
            if !(t.diameter.is_finite() && t.diameter > 0.0) {
                return bad("diameter (m)", t.diameter, "> 0");
            }
            if !(t.density.is_finite() && t.density > 0.0) {
                return bad("density (kg/m^3)", t.density, "> 0");
            }
            if !(t.shape_factor.is_finite() && t.shape_factor >= 1.0) {
                return bad("shape factor", t.shape_factor, ">= 1");
            }
            if !(t.entry.is_finite() && (0.0..=1.0).contains(&t.entry)) {
                return bad("entry (xi/depth)", t.entry, "in [0, 1]");
            }
        }
        let grid = self.grid();
        let r_centres: Vec<f64> = grid.xi_centres.iter().map(|&xi| grid.radius(xi)).collect();
        // rows of (c, e, S, r) per ξ-cell and station: one bounds check per interpolation row
        let mix = self.mixture_field();
        let mut rows = Vec::with_capacity(mix.len() / 3 * 4);
        for (m, &r) in mix
            .chunks_exact(3)
            .zip(r_centres.iter().cycle().take(mix.len() / 3))
        {
            rows.extend_from_slice(&[m[0], m[1], m[2], r]);
        }
        let env = Env {
            rows: &rows,
            grid: self.grid(),
            uniform: self.grid().is_uniform(),
            w2: self.omega() * self.omega(),
            fluid_density: self.fluid_density,
        };
        let mut fates = vec![
            TracerFate {
                port: Port::Plasma,
                exit_xi: 0.0,
                reached_outer_wall: false,
            };
            tracers.len()
        ];
        let substeps = settings.substeps;
        par.install(|| {
            fates
                .par_chunks_mut(TRACER_CHUNK)
                .zip(tracers.par_chunks(TRACER_CHUNK))
                .for_each(|(out, input)| {
                    for (fate, t) in out.iter_mut().zip(input) {
                        *fate = env.integrate(t, substeps);
                    }
                });
        });
        Ok(fates)
    }
}

/// What the tracer integration needs.
struct Env<'a> {
    /// [(K + 1) × J × 4] mixture (c, e, S) and r(ξ) at the ξ-cell centres (the same at every
    /// station), interpolated with the mixture (r(ξ) is smooth, so the linear interpolation
    /// error O(Δξ²) is far below the mixture's)
    rows: &'a [f64],
    grid: &'a crate::grid::ChannelGrid,
    /// the grid is uniform ([`crate::ChannelGrid::is_uniform`], O(J): computed once)
    uniform: bool,
    w2: f64,
    fluid_density: f64,
}

impl Env<'_> {
    /// u (m/s) at (station position x = τ/Δτ, ξ) for mobility `k` and density excess `dx`;
    /// x ∈ [`base`, `base` + 2).
    /// `hint`: the bracket of the previous call ([`crate::ChannelGrid::centre_interpolation_near`]).
    /// Inlined into [`Env::integrate`]'s two calls (the tracers' hot loop).
    #[inline(always)]
    fn velocity(&self, x: f64, base: usize, xi: f64, k: f64, dx: f64, hint: &mut usize) -> f64 {
        let g = self.grid;
        let j_cells = g.radial_cells();
        let k_cells = g.along_cells();
        let (k0, wt) = if x <= 0.0 {
            (0, 0.0)
        } else {
            // floor(x) for x ∈ [base, base + 2) (the callers' range), without a libm call
            let k0 = if x >= (base + 1) as f64 {
                base + 1
            } else {
                base
            };
            if k0 >= k_cells {
                (k_cells - 1, 1.0)
            } else {
                (k0, x - k0 as f64)
            }
        };
        let (j0, wx) = g.centre_interpolation_near(xi, self.uniform, hint);
        // the (c, e, S, r) rows of the centres j0, j0 + 1 at the stations k0 and k0 + 1 (one
        // bounds check per row; the arithmetic is the bilinear interpolation, in this order)
        let lo = &self.rows[(k0 * j_cells + j0) * 4..][..8];
        let hi = &self.rows[((k0 + 1) * j_cells + j0) * 4..][..8];
        let interp = |q: usize| {
            let a = lo[q] + wx * (lo[4 + q] - lo[q]);
            let b = hi[q] + wx * (hi[4 + q] - hi[q]);
            a + wt * (b - a)
        };
        let (c, e, s) = (interp(0), interp(1), interp(2));
        let r = if j_cells == 1 {
            lo[3]
        } else {
            lo[3] + wx * (lo[7] - lo[3])
        };
        self.w2 * r * c * (k * (dx - e) - s)
    }

    fn integrate(&self, t: &ChannelTracer, substeps: usize) -> TracerFate {
        let g = self.grid;
        let k = t.diameter * t.diameter / t.shape_factor;
        let dx = t.density - self.fluid_density;
        let delta = g.depth;
        let mut xi = t.entry * delta;
        let mut at_wall = xi >= delta;
        let h = g.dtau / substeps as f64;
        let mut hint = 0;
        let dx_station = 1.0 / substeps as f64;
        'outer: for station in 0..g.along_cells() {
            for sub in 0..substeps {
                if at_wall {
                    break 'outer;
                }
                let x0 = station as f64 + sub as f64 * dx_station;
                let u1 = self.velocity(x0, station, xi, k, dx, &mut hint);
                let xi_star = (xi + h * u1).clamp(0.0, delta);
                let u2 = self.velocity(x0 + dx_station, station, xi_star, k, dx, &mut hint);
                let next = xi + 0.5 * h * (u1 + u2);
                if next >= delta {
                    xi = delta;
                    at_wall = true;
                } else {
                    xi = next.max(0.0);
                }
            }
        }
        let port = if at_wall || xi >= g.cuts[1] {
            Port::RedCells
        } else if xi >= g.cuts[0] {
            Port::Collect
        } else {
            Port::Plasma
        };
        TracerFate {
            port,
            exit_xi: xi,
            reached_outer_wall: at_wall,
        }
    }
}

/// Grade-efficiency tables: for every species index present among `tracers` (ascending), the
/// probability of each port in the bins `diameter_edges` (m) and `density_edges` (kg/m³).
///
/// # Errors
/// [`ChannelError::InvalidParameter`] for fewer than two edges or edges not strictly
/// ascending; [`ChannelError::Inconsistent`] if `fates` and `tracers` differ in length.
pub fn grade_efficiency(
    tracers: &[ChannelTracer],
    fates: &[TracerFate],
    diameter_edges: &[f64],
    density_edges: &[f64],
) -> Result<Vec<SpeciesGrade>, ChannelError> {
    if tracers.len() != fates.len() {
        return Err(ChannelError::Inconsistent(format!(
            "{} tracers but {} fates",
            tracers.len(),
            fates.len()
        )));
    }
    for (key, edges) in [
        ("grade.diameter_edges_m", diameter_edges),
        ("grade.density_edges_kg_m3", density_edges),
    ] {
        let ascending =
            edges.iter().all(|e| e.is_finite()) && edges.windows(2).all(|w| w[1] > w[0]);
        if edges.len() < 2 || !ascending {
            return Err(invalid(
                key,
                edges.len() as f64,
                "at least 2 finite, strictly ascending edges",
            ));
        }
    }
    let mut species: Vec<u16> = tracers.iter().map(|t| t.species).collect();
    species.sort_unstable();
    species.dedup();
    let table = |sp: u16, edges: &[f64], value: &dyn Fn(&ChannelTracer) -> f64| {
        let bins = edges.len() - 1;
        let mut counts = vec![0u64; bins];
        let mut ports = vec![[0u64; 3]; bins];
        for (t, f) in tracers.iter().zip(fates) {
            if t.species != sp {
                continue;
            }
            let v = value(t);
            if v < edges[0] || v > edges[bins] {
                continue;
            }
            let b = edges
                .partition_point(|&e| e <= v)
                .saturating_sub(1)
                .min(bins - 1);
            counts[b] += 1;
            ports[b][f.port.index()] += 1;
        }
        let probability = counts
            .iter()
            .zip(&ports)
            .map(|(&c, p)| {
                if c == 0 {
                    [0.0; 3]
                } else {
                    std::array::from_fn(|q| p[q] as f64 / c as f64)
                }
            })
            .collect();
        GradeTable {
            edges: edges.to_vec(),
            counts,
            probability,
        }
    };
    Ok(species
        .into_iter()
        .map(|sp| SpeciesGrade {
            species: sp,
            by_diameter: table(sp, diameter_edges, &|t| t.diameter),
            by_density: table(sp, density_edges, &|t| t.density),
        })
        .collect())
}

/// Equal-width bins spanning `values` (`bins` bins; `[0, 1]` for no values). A degenerate
/// range (one tracer, or a fixed property) is widened to ±0.1 % of the value.
pub fn equal_width_edges(values: impl Iterator<Item = f64>, bins: usize) -> Vec<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return vec![0.0, 1.0];
    }
    let (lo, hi) = if hi - lo > 1e-6 * hi.abs() {
        let pad = 1e-9 * (hi - lo);
        (lo - pad, hi + pad)
    } else {
        (lo * (1.0 - 1e-3), hi * (1.0 + 1e-3))
    };
    (0..=bins)
        .map(|b| lo + (hi - lo) * b as f64 / bins as f64)
        .collect()
}

/// Grade-efficiency curves (docs/physics.md §6.7) of species `0 .. species`, each binned over its own range of
/// diameters and densities in `bins` equal-width bins ([`equal_width_edges`]); species without
/// tracers are left out.
///
/// # Errors
/// As [`grade_efficiency`].
pub fn grade_efficiency_per_species(
    tracers: &[ChannelTracer],
    fates: &[TracerFate],
    species: usize,
    bins: usize,
) -> Result<Vec<SpeciesGrade>, ChannelError> {
    if fates.len() != tracers.len() {
        return Err(ChannelError::Inconsistent(format!(
            "{} fates for {} tracers",
            fates.len(),
            tracers.len()
        )));
    }
    let mut out = Vec::new();
    for k in 0..species {
        let idx: Vec<usize> = (0..tracers.len())
            .filter(|&i| usize::from(tracers[i].species) == k)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let t: Vec<ChannelTracer> = idx.iter().map(|&i| tracers[i]).collect();
        let f: Vec<TracerFate> = idx.iter().map(|&i| fates[i]).collect();
        let d = equal_width_edges(t.iter().map(|c| c.diameter), bins);
        let rho = equal_width_edges(t.iter().map(|c| c.density), bins);
        out.extend(grade_efficiency(&t, &f, &d, &rho)?);
    }
    Ok(out)
}
