//! The cell population as a structure of arrays.

use crate::{Geometry, SedimentError};
use buffycoat_physics::forces::{relaxation_time, sedimentation_coefficient};
use buffycoat_physics::population::particle_rng;

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
    pub fn place(
        specs: &[CellSpec],
        geometry: &Geometry,
        fluid_density: f64,
        viscosity: f64,
        seed: u64,
    ) -> Result<Self, SedimentError> {
        let n = specs.len();
        let mut cells = Cells {
            species: Vec::with_capacity(n),
            diameter: Vec::with_capacity(n),
            density: Vec::with_capacity(n),
            shape_factor: Vec::with_capacity(n),
            sedimentation: Vec::with_capacity(n),
            relaxation: Vec::with_capacity(n),
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            z: Vec::with_capacity(n),
            vx: vec![0.0; n],
            vy: vec![0.0; n],
            vz: vec![0.0; n],
            status: vec![0; n],
        };
        for (i, spec) in specs.iter().enumerate() {
            let valid = spec.diameter.is_finite()
                && spec.diameter > 0.0
                && spec.density.is_finite()
                && spec.density > 0.0
                && spec.shape_factor.is_finite()
                && spec.shape_factor >= 1.0;
            if !valid {
                return Err(SedimentError::InvalidCell {
                    index: i,
                    message: format!(
                        "diameter {} m, density {} kg/m³, shape factor {}: need d > 0, ρ > 0, χ ≥ 1",
                        spec.diameter, spec.density, spec.shape_factor
                    ),
                });
            }
            geometry
                .check_fits(spec.diameter)
                .map_err(|e| SedimentError::InvalidCell {
                    index: i,
                    message: e.to_string(),
                })?;
            let mut rng = particle_rng(seed, POSITION_STREAM, i as u64);
            let p = geometry.sample_uniform(0.5 * spec.diameter, &mut rng);
            cells.species.push(spec.species);
            cells.diameter.push(spec.diameter);
            cells.density.push(spec.density);
            cells.shape_factor.push(spec.shape_factor);
            cells.sedimentation.push(sedimentation_coefficient(
                spec.diameter,
                spec.density,
                fluid_density,
                viscosity,
                spec.shape_factor,
            ));
            cells.relaxation.push(relaxation_time(
                spec.diameter,
                spec.density,
                viscosity,
                spec.shape_factor,
            ));
            cells.x.push(p[0]);
            cells.y.push(p[1]);
            cells.z.push(p[2]);
        }
        Ok(cells)
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
