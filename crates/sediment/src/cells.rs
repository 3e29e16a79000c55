//! The cell population as a structure of arrays.

use crate::geometry::Seeder;
use crate::{Geometry, SedimentError};
use buffycoat_physics::forces::{relaxation_time, sedimentation_coefficient};
use buffycoat_physics::population::{CellSampler, particle_rng};
use buffycoat_physics::species::Species;
use buffycoat_stepper::Parallel;
use rayon::prelude::*;

/// RNG stream used for initial positions (cell properties use the species' own streams), so
/// that positions and properties are independent and each reproducible on its own.
pub const POSITION_STREAM: u64 = 0x706f_7369_7469_6f6e; // "position"

/// One cell to be placed: its species index and physical properties (SI).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellSpec {
    /// index into the run's species list
    pub species: u16,
    /// sphere-equivalent diameter d (m)
    pub diameter: f64,
    /// density ρ_p (kg/m³)
    pub density: f64,
    /// dynamic shape factor χ ≥ 1
    pub shape_factor: f64,
}

/// One species of a population to sample with [`Cells::sample`]: `count` cells drawn from
/// `species` with RNG stream `stream`.
#[derive(Debug, Clone, Copy)]
pub struct SpeciesDraw<'a> {
    /// the species (distributions of density and size, shape factor)
    pub species: &'a Species,
    /// number of cells
    pub count: usize,
    /// RNG stream of the species' properties (cell `j` of the species uses
    /// `particle_rng(seed, stream, j)`)
    pub stream: u64,
}

/// Everything [`Cells`] holds about one cell, computed from its spec alone.
#[derive(Debug, Clone, Copy)]
struct Prepared {
    sedimentation: f64,
    relaxation: f64,
    position: [f64; 3],
}

/// Checks cell `index` and computes its constants and initial position (RNG stream
/// `particle_rng(seed, POSITION_STREAM, index)`): the per-cell work of [`Cells::place`] and
/// [`Cells::sample`], so both give bitwise the same cells.
fn prepare(
    index: usize,
    spec: &CellSpec,
    seeder: &Seeder,
    fluid_density: f64,
    viscosity: f64,
    seed: u64,
) -> Result<Prepared, SedimentError> {
    let valid = spec.diameter.is_finite()
        && spec.diameter > 0.0
        && spec.density.is_finite()
        && spec.density > 0.0
        && spec.shape_factor.is_finite()
        && spec.shape_factor >= 1.0;
    if !valid {
        return Err(SedimentError::InvalidCell {
            index,
            message: format!(
                "diameter {} m, density {} kg/m³, shape factor {}: need d > 0, ρ > 0, χ ≥ 1",
                spec.diameter, spec.density, spec.shape_factor
            ),
        });
    }
    seeder
        .geometry()
        .check_fits(spec.diameter)
        .map_err(|e| SedimentError::InvalidCell {
            index,
            message: e.to_string(),
        })?;
    let mut rng = particle_rng(seed, POSITION_STREAM, index as u64);
    let position = seeder.sample_uniform(0.5 * spec.diameter, &mut rng);
    Ok(Prepared {
        sedimentation: sedimentation_coefficient(
            spec.diameter,
            spec.density,
            fluid_density,
            viscosity,
            spec.shape_factor,
        ),
        relaxation: relaxation_time(spec.diameter, spec.density, viscosity, spec.shape_factor),
        position,
    })
}

/// Cells in structure-of-arrays layout: one contiguous array per field, so the integrators
/// stream exactly the fields they use and the compiler can vectorise the loops.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    /// species index per cell
    pub species: Vec<u16>,
    /// diameter d (m)
    pub diameter: Vec<f64>,
    /// density ρ_p (kg/m³)
    pub density: Vec<f64>,
    /// dynamic shape factor χ
    pub shape_factor: Vec<f64>,
    /// sedimentation coefficient s = d²(ρ_p − ρ_f)/(18μχ) (s)
    pub sedimentation: Vec<f64>,
    /// relaxation time τ_p = ρ_p d²/(18μχ) (s)
    pub relaxation: Vec<f64>,
    /// position x (m)
    pub x: Vec<f64>,
    /// position y (m)
    pub y: Vec<f64>,
    /// position z (m)
    pub z: Vec<f64>,
    /// velocity x (m/s), rotating frame (carried by the inertial model)
    pub vx: Vec<f64>,
    /// velocity y (m/s)
    pub vy: Vec<f64>,
    /// velocity z (m/s)
    pub vz: Vec<f64>,
    /// status bits, see [`crate::geometry::status`]
    pub status: Vec<u8>,
}

impl Cells {
    /// Places `specs` uniformly in `geometry` (cell `i` uses RNG stream
    /// `particle_rng(seed, POSITION_STREAM, i)`), at rest in the rotating frame, and computes
    /// each cell's kinematic constants in a fluid of density `fluid_density` (kg/m³) and
    /// viscosity `viscosity` (Pa·s).
    ///
    /// # Errors
    /// [`SedimentError::InvalidCell`] for the first cell (lowest index) with a non-physical
    /// property or too large for the container.
    pub fn place(
        specs: &[CellSpec],
        geometry: &Geometry,
        fluid_density: f64,
        viscosity: f64,
        seed: u64,
    ) -> Result<Self, SedimentError> {
        let mut cells = Self::zeroed(specs.len());
        let seeder = Seeder::new(*geometry);
        for (i, spec) in specs.iter().enumerate() {
            let p = prepare(i, spec, &seeder, fluid_density, viscosity, seed)?;
            cells.set(i, spec, &p);
        }
        Ok(cells)
    }

    /// Samples a population and places it, in parallel over the fixed chunks of `par`: the
    /// cells of `draws[0]` first, then those of `draws[1]`, and so on. Cell `j` of draw `k`
    /// gets its density and size from `particle_rng(seed, draws[k].stream, j)`
    /// ([`sample_cell`](buffycoat_physics::population::sample_cell)), its shape factor from the species, and its position and constants
    /// exactly as [`Cells::place`] gives them (global index `i`, stream `POSITION_STREAM`).
    ///
    /// The result is bitwise the same as sampling every species with
    /// [`buffycoat_physics::population::sample_species`] and placing the specs with
    /// [`Cells::place`], for any thread count (every cell depends only on its own indices).
    ///
    /// # Errors
    /// As for [`Cells::place`]: the lowest-index invalid cell, whatever the thread count.
    pub fn sample(
        draws: &[SpeciesDraw<'_>],
        geometry: &Geometry,
        fluid_density: f64,
        viscosity: f64,
        seed: u64,
        par: &Parallel,
    ) -> Result<Self, SedimentError> {
        if draws.len() > usize::from(u16::MAX) {
            return Err(SedimentError::InvalidParameter {
                name: "species".into(),
                value: draws.len() as f64,
                allowed: format!("at most {} species", u16::MAX),
            });
        }
        // starts[k]: global index of draw k's first cell.
        let mut starts = Vec::with_capacity(draws.len() + 1);
        let mut total = 0usize;
        for d in draws {
            starts.push(total);
            total = total
                .checked_add(d.count)
                .ok_or_else(|| SedimentError::InvalidParameter {
                    name: "species count".into(),
                    value: d.count as f64,
                    allowed: "a total that fits in memory".into(),
                })?;
        }
        starts.push(total);
        let mut cells = Self::zeroed(total);
        let chunk = par.chunk_len();
        let seeder = Seeder::new(*geometry);
        // Each species' distributions prepared once (none for an empty draw, which is never
        // sampled).
        let samplers: Vec<Option<CellSampler>> = draws
            .iter()
            .map(|d| (d.count > 0).then(|| CellSampler::new(d.species)))
            .collect();
        let Cells {
            species,
            diameter,
            density,
            shape_factor,
            sedimentation,
            relaxation,
            x,
            y,
            z,
            ..
        } = &mut cells;
        // One result per chunk, reduced in chunk order: the first error is the lowest index.
        let results: Vec<Result<(), SedimentError>> = par.install(|| {
            (
                species.par_chunks_mut(chunk),
                diameter.par_chunks_mut(chunk),
                density.par_chunks_mut(chunk),
                shape_factor.par_chunks_mut(chunk),
                sedimentation.par_chunks_mut(chunk),
                relaxation.par_chunks_mut(chunk),
                x.par_chunks_mut(chunk),
                y.par_chunks_mut(chunk),
                z.par_chunks_mut(chunk),
            )
                .into_par_iter()
                .enumerate()
                .map(|(c, (sp, d, rho, chi, sed, tau, x, y, z))| {
                    let first = c * chunk;
                    // The draw holding the chunk's first cell (skipping empty draws).
                    let mut k = starts.partition_point(|&s| s <= first) - 1;
                    for j in 0..sp.len() {
                        let i = first + j;
                        while i >= starts[k + 1] {
                            k += 1;
                        }
                        let draw = &draws[k];
                        let mut rng = particle_rng(seed, draw.stream, (i - starts[k]) as u64);
                        let sampler = samplers[k]
                            .as_ref()
                            .expect("a draw holding a cell is not empty");
                        let sample = sampler.sample(&mut rng);
                        let spec = CellSpec {
                            species: k as u16,
                            diameter: sample.diameter,
                            density: sample.density,
                            shape_factor: draw.species.shape_factor,
                        };
                        let p = prepare(i, &spec, &seeder, fluid_density, viscosity, seed)?;
                        sp[j] = spec.species;
                        d[j] = spec.diameter;
                        rho[j] = spec.density;
                        chi[j] = spec.shape_factor;
                        sed[j] = p.sedimentation;
                        tau[j] = p.relaxation;
                        [x[j], y[j], z[j]] = p.position;
                    }
                    Ok(())
                })
                .collect()
        });
        results.into_iter().collect::<Result<(), _>>()?;
        Ok(cells)
    }

    /// `n` cells with every field zero (written by [`Cells::set`] or [`Cells::sample`]).
    fn zeroed(n: usize) -> Self {
        Cells {
            species: vec![0; n],
            diameter: vec![0.0; n],
            density: vec![0.0; n],
            shape_factor: vec![0.0; n],
            sedimentation: vec![0.0; n],
            relaxation: vec![0.0; n],
            x: vec![0.0; n],
            y: vec![0.0; n],
            z: vec![0.0; n],
            vx: vec![0.0; n],
            vy: vec![0.0; n],
            vz: vec![0.0; n],
            status: vec![0; n],
        }
    }

    /// Stores cell `i`.
    fn set(&mut self, i: usize, spec: &CellSpec, p: &Prepared) {
        self.species[i] = spec.species;
        self.diameter[i] = spec.diameter;
        self.density[i] = spec.density;
        self.shape_factor[i] = spec.shape_factor;
        self.sedimentation[i] = p.sedimentation;
        self.relaxation[i] = p.relaxation;
        [self.x[i], self.y[i], self.z[i]] = p.position;
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True when there are no cells.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Sets cell `i`'s position (m), e.g. to start a validation case on the x axis.
    pub fn set_position(&mut self, i: usize, p: [f64; 3]) {
        self.x[i] = p[0];
        self.y[i] = p[1];
        self.z[i] = p[2];
    }

    /// Position of cell `i` (m).
    #[inline]
    pub fn position(&self, i: usize) -> [f64; 3] {
        [self.x[i], self.y[i], self.z[i]]
    }

    /// Writes positions as a row-major `[N][3]` array into `out` (length 3N).
    pub fn fill_positions(&self, out: &mut [f64]) {
        for (i, p) in out.chunks_exact_mut(3).enumerate() {
            p[0] = self.x[i];
            p[1] = self.y[i];
            p[2] = self.z[i];
        }
    }

    /// A hash of the full dynamic state (positions, velocities, status), bit for bit, for
    /// determinism tests. FNV-1a over the raw bits: order-dependent and platform-independent.
    pub fn state_hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut mix = |bits: u64| {
            for byte in bits.to_le_bytes() {
                h ^= u64::from(byte);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for field in [&self.x, &self.y, &self.z, &self.vx, &self.vy, &self.vz] {
            for v in field {
                mix(v.to_bits());
            }
        }
        for &s in &self.status {
            mix(u64::from(s));
        }
        h
    }
}
