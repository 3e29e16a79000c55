//! Tracer cells in the steady field: per-cell fates and grade-efficiency curves.
//!
//! **Model.** A tracer (diameter d, density ρ, shape factor χ) enters at τ = 0 at
//! ξ₀ = entry·δ and moves across the channel as a *test particle* in the local steady mixture:
//! in the stream-function coordinate the along-channel motion is τ itself (dτ = ds/w̄ for
//! every streamline), and across it the tracer is carried by the field's own settling flux,
//! so it is one-way coupled (it does not feed back on the field) and goes where a class with
//! its constants goes.
//!
//! **Face velocities.** At station k every ξ-face f gets the face velocity of the field's
//! upwind settling flux per unit volume fraction of the donor cell,
//! u_f = ω² r_f [v_R⁺ + v_L⁻] (dξ/dτ, m/s), with v the particle's velocity per unit
//! acceleration in the cells L and R either side (MLB test-particle velocity with the
//! implicit scheme's packing ramp and, with consolidation, its bed mobility and network
//! closure: [`buffycoat_field::kinetics::TestParticleCell`], bitwise a class's own velocity
//! for its constants) and r_f the station's face radius (the viscous flow's map). At the
//! inner wall the one-sided term u₀ = ω² r₀ v₀⁺ (a tracer leaves the wall, or approaches it
//! without reaching it), at the outer wall u_J = ω² r_J v_{J−1} (absorbing: a tracer reaching
//! ξ = δ has sedimented onto the high-g wall and leaves with the red cells, as in sigma
//! theory). The solid stress and the
//! shear-induced diffusion of the field are not felt.
//!
//! **Integration.** Each station interval Δτ is cut into `substeps` sub-intervals; in each the
//! face velocities are those of its mid-time, linear in τ between the two stations (midpoint
//! rule, second order in τ), and within a ξ-cell linear between its two faces. The tracer is
//! then moved exactly through that piecewise-linear field, cell by cell (Pollock, Ground Water
//! 26:743, 1988 — the particle tracking of MODFLOW's MODPATH): dξ/dτ = u₀ + A(ξ − ξ_f),
//! A = (u₁ − u₀)/Δξ, ξ(τ) = ξ + u (e^{Aτ} − 1)/A, leaving the cell at ln(u₁/u)/A. A tracer can
//! therefore not overshoot a thin sheet the flux converges on (the white cells on the bed's
//! top, the packed platelet sheet) whatever the step: its fate converges with the grid like the
//! field's port fractions (docs/physics.md §6.7). At τ = T its ξ decides the port:
//! ξ < ξ_p plasma, ξ_p ≤ ξ < ξ_c collect, ξ ≥ ξ_c red cells.
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
use buffycoat_field::kinetics::TestParticleCell;
use buffycoat_field::{CellPassage, pass_through_cell};

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
    /// sub-intervals per station interval Δτ, each with the face velocities of its mid-time
    /// (≥ 1; default 1: the tracking within a cell is exact, so the fates depend on them only
    /// through the time interpolation of the field between stations)
    pub substeps: usize,
}

impl Default for TracerSettings {
    fn default() -> Self {
        Self { substeps: 1 }
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
        let (j_cells, k_cells) = (grid.radial_cells(), grid.along_cells());
        let n = self.classes().len();
        // per station and ξ-cell the test-particle view of the steady mixture, per station
        // and ξ-face the acceleration ω² r_f (the station's map for viscous flow)
        let cells: Vec<TestParticleCell> = self
            .field()
            .chunks_exact(n)
            .map(|phi| self.kin.test_particle_cell(phi, None))
            .collect();
        let w2 = self.omega() * self.omega();
        let accel: Vec<f64> = (0..=k_cells)
            .flat_map(|k| self.station_faces(k).iter().map(move |&r| w2 * r))
            .collect();
        let env = Env {
            cells: &cells,
            accel: &accel,
            grid,
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
        debug_assert_eq!(cells.len(), (k_cells + 1) * j_cells);
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
    /// [(K + 1) × J] the test-particle view of every station's cells
    cells: &'a [TestParticleCell],
    /// [(K + 1) × (J + 1)] ω² r_f at every station's ξ-faces (m/s²)
    accel: &'a [f64],
    grid: &'a crate::grid::ChannelGrid,
    fluid_density: f64,
}

impl Env<'_> {
    /// The face velocity u_f (dξ/dτ, m/s) at station `k` of a particle (mobility `mob`,
    /// density excess `dx`, diameter `d`): the upwind settling flux's velocity, the inner wall
    /// one-sided, the outer wall absorbing (module documentation).
    #[inline]
    fn face_velocity(&self, k: usize, f: usize, (mob, dx, d): (f64, f64, f64)) -> f64 {
        let j_cells = self.grid.radial_cells();
        let row = &self.cells[k * j_cells..(k + 1) * j_cells];
        let a = self.accel[k * (j_cells + 1) + f];
        let v = |j: usize| row[j].velocity(mob, dx, d);
        // at the walls the one-sided upwind terms: the inner wall lets a tracer leave it
        // (v₀⁺) but not enter it; the outer wall absorbs (the donor cell's velocity, either
        // sign)
        let upwind = if f == 0 {
            v(0).max(0.0)
        } else if f == j_cells {
            v(j_cells - 1)
        } else {
            v(f).max(0.0) + v(f - 1).min(0.0)
        };
        a * upwind
    }

    /// The port of a tracer that ends at `xi` (at the outer wall if `at_wall`).
    fn fate(&self, xi: f64, at_wall: bool) -> TracerFate {
        let g = self.grid;
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

    /// One tracer through every station interval (module documentation: midpoint face
    /// velocities per sub-interval, exact cell-by-cell tracking within it).
    fn integrate(&self, t: &ChannelTracer, substeps: usize) -> TracerFate {
        let g = self.grid;
        let particle = (
            t.diameter * t.diameter / t.shape_factor,
            t.density - self.fluid_density,
            t.diameter,
        );
        let j_cells = g.radial_cells();
        let last = j_cells - 1;
        let delta = g.depth;
        let mut xi = (t.entry * delta).min(delta);
        let mut at_wall = xi >= delta;
        let h = g.dtau / substeps as f64;
        // the cell holding ξ (the last one at the outer wall)
        let mut j = g.xi_faces[1..j_cells].partition_point(|&f| f <= xi);
        for station in 0..g.along_cells() {
            for sub in 0..substeps {
                if at_wall {
                    return self.fate(delta, true);
                }
                // the sub-interval's mid-time between stations `station` and `station + 1`
                let w = (sub as f64 + 0.5) / substeps as f64;
                let face = |f: usize| {
                    let u0 = self.face_velocity(station, f, particle);
                    let u1 = self.face_velocity(station + 1, f, particle);
                    u0 + w * (u1 - u0)
                };
                let mut left = h;
                // each pass ends the sub-interval or moves the tracer into a neighbouring
                // cell (it never re-enters a cell whose face it left against the flow), so the
                // loop is bounded
                for _ in 0..=2 * j_cells {
                    let (x0, x1) = (g.xi_faces[j], g.xi_faces[j + 1]);
                    match pass_through_cell(xi, (x0, x1), (face(j), face(j + 1)), left) {
                        CellPassage::Stays(end) => {
                            xi = end;
                            break;
                        }
                        CellPassage::Leaves { outward, after } => {
                            left -= after;
                            if outward {
                                xi = x1;
                                if j == last {
                                    at_wall = true;
                                    break;
                                }
                                j += 1;
                            } else {
                                xi = x0;
                                if j == 0 {
                                    // at the inner wall for the rest of the sub-interval
                                    break;
                                }
                                j -= 1;
                            }
                        }
                    }
                }
            }
        }
        self.fate(if at_wall { delta } else { xi }, at_wall)
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
