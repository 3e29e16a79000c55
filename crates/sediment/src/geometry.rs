//! Sample containers: where cells may be, how they meet the walls, and how they are seeded.
//!
//! Coordinates are Cartesian in the rotating frame (m), z along the rotation axis.
//! Every container treats a cell as a sphere of radius a = d/2: its centre stays a distance a
//! from every wall. Wall contact rules:
//!
//! - **bottom** (outermost wall): a cell that reaches it is *pelleted* and stops there;
//! - **meniscus** (innermost free surface): a cell lighter than the fluid that reaches it
//!   *floats* and stops there;
//! - **side walls** (and the floor/ceiling of a sector): the cell *slides*: after each step the
//!   position is projected back onto the wall (the normal displacement is removed, the tangential
//!   one kept) and, for models that carry a velocity, the normal velocity component pointing into
//!   the wall is removed (perfectly inelastic, frictionless contact).

use crate::SedimentError;
use rand::Rng;

/// Cell status bits.
pub mod status {
    /// Moving freely.
    pub const FREE: u8 = 0;
    /// Reached the bottom and stopped there.
    pub const PELLETED: u8 = 1;
    /// Reached the meniscus (lighter than the fluid) and stopped there.
    pub const FLOATED: u8 = 2;
    /// Touching a side wall (or sector floor/ceiling), sliding along it.
    pub const ON_WALL: u8 = 4;
    /// Frozen cells no longer move.
    pub const FROZEN: u8 = PELLETED | FLOATED;
}

/// A swing-out tube in the spinning position: its axis lies along +x (radially outward), its
/// circular cross-section of radius `radius` is centred on the x axis.
///
/// The meniscus is the plane x = `r_min`, the flat bottom the plane x = `r_max`. (The real
/// meniscus is the cylinder r = r_min, an equipotential of the centrifugal field; it departs from
/// the plane by at most R²/(2 r_min), 0.18 mm for R = 6 mm at 10 cm, which is neglected so that
/// the tube is the same one-dimensional column for particle and field solvers.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tube {
    /// distance of the meniscus from the rotation axis along the tube axis (m)
    pub r_min: f64,
    /// distance of the bottom from the rotation axis (m)
    pub r_max: f64,
    /// inner radius of the tube (m)
    pub radius: f64,
}

/// An ultracentrifuge-style sector cell: r_min ≤ √(x² + y²) ≤ r_max, polar angle within
/// ±`angle/2` of the +x axis (radial side walls), |z| ≤ `height/2`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sector {
    /// meniscus radius (m)
    pub r_min: f64,
    /// bottom radius (m)
    pub r_max: f64,
    /// opening angle (rad), in (0, π)
    pub angle: f64,
    /// axial height (m)
    pub height: f64,
}

/// A sample container.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Geometry {
    /// swing-out tube
    Tube(Tube),
    /// sector cell
    Sector(Sector),
}

fn check(name: &'static str, value: f64, ok: bool, allowed: &str) -> Result<(), SedimentError> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(SedimentError::InvalidParameter {
            name: name.into(),
            value,
            allowed: allowed.into(),
        })
    }
}

impl Tube {
    /// A validated tube: 0 < r_min < r_max, 0 < radius.
    pub fn new(r_min: f64, r_max: f64, radius: f64) -> Result<Self, SedimentError> {
        check(
            "geometry.r_min_m",
            r_min,
            r_min > 0.0,
            "0 < r_min_m < r_max_m",
        )?;
        check(
            "geometry.r_max_m",
            r_max,
            r_max > r_min,
            "r_max_m > r_min_m",
        )?;
        check("geometry.radius_m", radius, radius > 0.0, "radius_m > 0")?;
        Ok(Self {
            r_min,
            r_max,
            radius,
        })
    }
}

impl Sector {
    /// A validated sector: 0 < r_min < r_max, 0 < angle < π, 0 < height.
    pub fn new(r_min: f64, r_max: f64, angle: f64, height: f64) -> Result<Self, SedimentError> {
        check(
            "geometry.r_min_m",
            r_min,
            r_min > 0.0,
            "0 < r_min_m < r_max_m",
        )?;
        check(
            "geometry.r_max_m",
            r_max,
            r_max > r_min,
            "r_max_m > r_min_m",
        )?;
        check(
            "geometry.angle_deg",
            angle.to_degrees(),
            angle > 0.0 && angle < std::f64::consts::PI,
            "0 < angle_deg < 180",
        )?;
        check("geometry.height_m", height, height > 0.0, "height_m > 0")?;
        Ok(Self {
            r_min,
            r_max,
            angle,
            height,
        })
    }

    /// Inward unit normals (as (nx, ny)) of the two side-wall planes through the z axis at
    /// angles ±angle/2; a point p is inside when n·p ≤ 0 for both.
    #[inline]
    fn wall_normals(&self) -> [(f64, f64); 2] {
        let (s, c) = (0.5 * self.angle).sin_cos();
        [(-s, c), (-s, -c)]
    }
}

impl Geometry {
    /// Innermost radius (meniscus) (m).
    pub fn r_min(&self) -> f64 {
        match self {
            Geometry::Tube(t) => t.r_min,
            Geometry::Sector(s) => s.r_min,
        }
    }

    /// Outermost radius (bottom) (m).
    pub fn r_max(&self) -> f64 {
        match self {
            Geometry::Tube(t) => t.r_max,
            Geometry::Sector(s) => s.r_max,
        }
    }

    /// Sample volume (m³): tube π R² (r_max − r_min); sector (θ/2)(r_max² − r_min²) h.
    pub fn volume(&self) -> f64 {
        match self {
            Geometry::Tube(t) => std::f64::consts::PI * t.radius * t.radius * (t.r_max - t.r_min),
            Geometry::Sector(s) => {
                0.5 * s.angle * (s.r_max * s.r_max - s.r_min * s.r_min) * s.height
            }
        }
    }

    /// Smallest dimension of the container (m): the scale that wall contact must resolve.
    pub fn smallest_dimension(&self) -> f64 {
        match self {
            Geometry::Tube(t) => (t.r_max - t.r_min).min(2.0 * t.radius),
            Geometry::Sector(s) => (s.r_max - s.r_min).min(s.height).min(s.r_min * s.angle),
        }
    }

    /// The "radial" coordinate used for layers and pelleting: the distance along the tube axis
    /// (x) for a tube, the cylindrical radius √(x² + y²) for a sector (m). The square root of
    /// the sum of squares, not `hypot`: a sector's coordinates are centimetres, far from
    /// overflow or underflow, and `hypot`'s careful scaling cost more than the rest of a census.
    #[inline]
    pub fn radial_coordinate(&self, x: f64, y: f64) -> f64 {
        match self {
            Geometry::Tube(_) => x,
            Geometry::Sector(_) => (x * x + y * y).sqrt(),
        }
    }

    /// Checks that a cell of diameter `d` fits (it must leave room between the walls).
    pub fn check_fits(&self, d: f64) -> Result<(), SedimentError> {
        if d < self.smallest_dimension() {
            Ok(())
        } else {
            Err(SedimentError::InvalidParameter {
                name: "diameter_m".into(),
                value: d,
                allowed: format!(
                    "smaller than the container's smallest dimension {} m",
                    self.smallest_dimension()
                ),
            })
        }
    }

    /// A position drawn uniformly from the region available to the centre of a cell of radius
    /// `a` (m), by inversion where the density is separable and by rejection for the sector's
    /// side-wall margins. Deterministic for a given `rng` state.
    pub fn sample_uniform<R: Rng + ?Sized>(&self, a: f64, rng: &mut R) -> [f64; 3] {
        Seeder::new(*self).sample_uniform(a, rng)
    }

    /// Applies the wall rules to a cell centre `p` of radius `a`; returns the new status.
    /// Frozen cells (pelleted, floated) must not be passed in. The velocity `v`, if the model
    /// carries one, loses its component into any wall touched (and all of it when the cell
    /// stops).
    #[inline]
    pub fn confine(&self, p: &mut [f64; 3], v: Option<&mut [f64; 3]>, a: f64) -> u8 {
        match self {
            Geometry::Tube(t) => confine_tube(t, p, v, a),
            Geometry::Sector(s) => confine_sector(s, s.wall_normals(), p, v, a),
        }
    }

    /// Removes the velocity component pointing into the walls a cell touches (for output of
    /// the overdamped model, whose velocity is derived from position).
    pub fn project_velocity(&self, p: &[f64; 3], v: &mut [f64; 3], a: f64) {
        let mut q = *p;
        // Nudge the point by the velocity: walls that would be crossed are the ones touched.
        let eps = 1e-9 * self.smallest_dimension();
        let speed = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        if speed == 0.0 {
            return;
        }
        for k in 0..3 {
            q[k] += eps * v[k] / speed;
        }
        let before = q;
        let status = self.confine(&mut q, None, a);
        if status & status::FROZEN != 0 {
            *v = [0.0; 3];
            return;
        }
        if status & status::ON_WALL != 0 {
            // The projection moved q back; the velocity keeps only the tangential part.
            let n = [before[0] - q[0], before[1] - q[1], before[2] - q[2]];
            let nn = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            if nn > 0.0 {
                let n = [n[0] / nn, n[1] / nn, n[2] / nn];
                let vn = v[0] * n[0] + v[1] * n[1] + v[2] * n[2];
                for k in 0..3 {
                    v[k] -= vn * n[k];
                }
            }
        }
    }
}

/// The per-cell wall logic of one container kind, monomorphised into the integrators' loops.
pub(crate) trait Container: Copy + Send + Sync {
    /// True when a cell centre at `p` with radius `a` touches no wall (the common, fast case).
    fn inside(&self, p: &[f64; 3], a: f64) -> bool;
    /// Applies the wall rules (see [`Geometry::confine`]).
    fn confine(&self, p: &mut [f64; 3], v: Option<&mut [f64; 3]>, a: f64) -> u8;
}

impl Container for Tube {
    #[inline(always)]
    fn inside(&self, p: &[f64; 3], a: f64) -> bool {
        let r_eff = self.radius - a;
        (p[0] > self.r_min + a)
            & (p[0] < self.r_max - a)
            & (p[1] * p[1] + p[2] * p[2] <= r_eff * r_eff)
    }
    #[inline]
    fn confine(&self, p: &mut [f64; 3], v: Option<&mut [f64; 3]>, a: f64) -> u8 {
        confine_tube(self, p, v, a)
    }
}

/// A container prepared for seeding many cells: [`Seeder::sample_uniform`] is bitwise
/// [`Geometry::sample_uniform`] (which is implemented by it) without recomputing the sector's
/// wall normals for every cell.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seeder {
    geometry: Geometry,
    /// the sector's side-wall normals (unused for a tube)
    normals: [(f64, f64); 2],
}

impl Seeder {
    /// The seeder of `geometry`.
    pub(crate) fn new(geometry: Geometry) -> Self {
        let normals = match geometry {
            Geometry::Tube(_) => [(0.0, 0.0); 2],
            Geometry::Sector(s) => s.wall_normals(),
        };
        Self { geometry, normals }
    }

    /// The container.
    pub(crate) fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// See [`Geometry::sample_uniform`].
    #[inline]
    pub(crate) fn sample_uniform<R: Rng + ?Sized>(&self, a: f64, rng: &mut R) -> [f64; 3] {
        match &self.geometry {
            Geometry::Tube(t) => {
                let x = t.r_min + a + (t.r_max - t.r_min - 2.0 * a) * rng.random::<f64>();
                let rho = (t.radius - a) * rng.random::<f64>().sqrt();
                let phi = std::f64::consts::TAU * rng.random::<f64>();
                let (s, c) = phi.sin_cos();
                [x, rho * c, rho * s]
            }
            Geometry::Sector(s) => {
                let (r_in, r_out) = (s.r_min + a, s.r_max - a);
                let normals = self.normals;
                loop {
                    // Area element r dr dθ: r² uniform.
                    let r =
                        (r_in * r_in + (r_out * r_out - r_in * r_in) * rng.random::<f64>()).sqrt();
                    let theta = s.angle * (rng.random::<f64>() - 0.5);
                    let z = (s.height - 2.0 * a) * (rng.random::<f64>() - 0.5);
                    let (sn, cs) = theta.sin_cos();
                    let (x, y) = (r * cs, r * sn);
                    if normals.iter().all(|&(nx, ny)| nx * x + ny * y <= -a) {
                        return [x, y, z];
                    }
                }
            }
        }
    }
}

/// A sector with its side-wall normals computed once: the form of [`Sector`] the kernels use,
/// so that no sine or cosine is evaluated per cell and step (the same normals, hence the same
/// results, as [`Geometry::confine`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SectorWalls {
    sector: Sector,
    normals: [(f64, f64); 2],
}

impl SectorWalls {
    /// The walls of `sector`.
    pub(crate) fn new(sector: Sector) -> Self {
        Self {
            sector,
            normals: sector.wall_normals(),
        }
    }
}

impl Container for SectorWalls {
    #[inline(always)]
    fn inside(&self, p: &[f64; 3], a: f64) -> bool {
        let s = &self.sector;
        let r2 = p[0] * p[0] + p[1] * p[1];
        let (bottom, top) = (s.r_max - a, s.r_min + a);
        let [(n0x, n0y), (n1x, n1y)] = self.normals;
        (r2 < bottom * bottom)
            & (r2 > top * top)
            & (p[2].abs() <= 0.5 * s.height - a)
            & (n0x * p[0] + n0y * p[1] + a <= 0.0)
            & (n1x * p[0] + n1y * p[1] + a <= 0.0)
    }
    #[inline]
    fn confine(&self, p: &mut [f64; 3], v: Option<&mut [f64; 3]>, a: f64) -> u8 {
        confine_sector(&self.sector, self.normals, p, v, a)
    }
}

#[inline]
fn remove_normal(v: &mut [f64; 3], n: [f64; 3]) {
    let vn = v[0] * n[0] + v[1] * n[1] + v[2] * n[2];
    if vn > 0.0 {
        for k in 0..3 {
            v[k] -= vn * n[k];
        }
    }
}

#[inline]
fn confine_tube(t: &Tube, p: &mut [f64; 3], mut v: Option<&mut [f64; 3]>, a: f64) -> u8 {
    let mut status = status::FREE;
    let r_eff = t.radius - a;
    let rho2 = p[1] * p[1] + p[2] * p[2];
    if rho2 > r_eff * r_eff {
        let rho = rho2.sqrt();
        let scale = r_eff / rho;
        let n = [0.0, p[1] / rho, p[2] / rho];
        p[1] *= scale;
        p[2] *= scale;
        if let Some(v) = v.as_deref_mut() {
            remove_normal(v, n);
        }
        status |= status::ON_WALL;
    }
    let bottom = t.r_max - a;
    let top = t.r_min + a;
    if p[0] >= bottom {
        p[0] = bottom;
        status = status::PELLETED;
    } else if p[0] <= top {
        p[0] = top;
        status = status::FLOATED;
    }
    if status & status::FROZEN != 0
        && let Some(v) = v
    {
        *v = [0.0; 3];
    }
    status
}

#[inline]
fn confine_sector(
    s: &Sector,
    normals: [(f64, f64); 2],
    p: &mut [f64; 3],
    mut v: Option<&mut [f64; 3]>,
    a: f64,
) -> u8 {
    let mut status = status::FREE;
    for (nx, ny) in normals {
        let d = nx * p[0] + ny * p[1] + a;
        if d > 0.0 {
            p[0] -= d * nx;
            p[1] -= d * ny;
            if let Some(v) = v.as_deref_mut() {
                remove_normal(v, [nx, ny, 0.0]);
            }
            status |= status::ON_WALL;
        }
    }
    let half = 0.5 * s.height - a;
    if p[2].abs() > half {
        let sign = p[2].signum();
        p[2] = sign * half;
        if let Some(v) = v.as_deref_mut() {
            remove_normal(v, [0.0, 0.0, sign]);
        }
        status |= status::ON_WALL;
    }
    let r2 = p[0] * p[0] + p[1] * p[1];
    let (bottom, top) = (s.r_max - a, s.r_min + a);
    if r2 >= bottom * bottom {
        let scale = bottom / r2.sqrt();
        p[0] *= scale;
        p[1] *= scale;
        status = status::PELLETED;
    } else if r2 <= top * top {
        let scale = top / r2.sqrt();
        p[0] *= scale;
        p[1] *= scale;
        status = status::FLOATED;
    }
    if status & status::FROZEN != 0
        && let Some(v) = v
    {
        *v = [0.0; 3];
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sector() -> Geometry {
        Geometry::Sector(Sector::new(0.06, 0.072, 4f64.to_radians(), 0.012).unwrap())
    }

    fn tube() -> Geometry {
        Geometry::Tube(Tube::new(0.10, 0.16, 0.006).unwrap())
    }

    #[test]
    fn samples_lie_inside_and_fill_the_volume_uniformly() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        for g in [tube(), sector()] {
            let a = 4e-6;
            let n = 200_000;
            let mut below_mid = 0usize;
            let (r0, r1) = (g.r_min() + a, g.r_max() - a);
            // Radius that splits the available volume in halves.
            let mid = match g {
                Geometry::Tube(_) => 0.5 * (r0 + r1),
                _ => (0.5 * (r0 * r0 + r1 * r1)).sqrt(),
            };
            for _ in 0..n {
                let mut p = g.sample_uniform(a, &mut rng);
                let before = p;
                assert_eq!(g.confine(&mut p, None, a), status::FREE, "{p:?}");
                assert_eq!(p, before);
                if g.radial_coordinate(p[0], p[1]) < mid {
                    below_mid += 1;
                }
            }
            // Binomial(n, 1/2): sd = √n/2 ≈ 224; allow 5 sd.
            let dev = (below_mid as f64 - 0.5 * n as f64).abs();
            assert!(dev < 5.0 * (n as f64).sqrt() / 2.0, "{g:?}: {below_mid}");
        }
    }

    #[test]
    fn bottom_pellets_meniscus_floats_walls_slide() {
        let g = tube();
        let a = 5e-6;
        let mut p = [0.2, 0.0, 0.0];
        let mut v = [1.0, 0.0, 0.0];
        assert_eq!(g.confine(&mut p, Some(&mut v), a), status::PELLETED);
        assert_eq!(p[0], 0.16 - a);
        assert_eq!(v, [0.0; 3]);
        let mut p = [0.05, 0.0, 0.0];
        assert_eq!(g.confine(&mut p, None, a), status::FLOATED);
        let mut p = [0.12, 0.0, 0.01];
        let mut v = [1e-3, 0.0, 2e-3];
        assert_eq!(g.confine(&mut p, Some(&mut v), a), status::ON_WALL);
        assert!((p[2] - (0.006 - a)).abs() < 1e-15);
        assert_eq!(v, [1e-3, 0.0, 0.0]);
        // Sector: a point beyond the +angle/2 side wall is projected onto it.
        let g = sector();
        let theta = 3f64.to_radians();
        let mut p = [0.065 * theta.cos(), 0.065 * theta.sin(), 0.0];
        assert_eq!(g.confine(&mut p, None, 0.0), status::ON_WALL);
        assert!((p[1].atan2(p[0]) - 2f64.to_radians()).abs() < 1e-12);
    }

    #[test]
    fn rejects_inverted_or_degenerate_containers() {
        assert!(Tube::new(0.16, 0.10, 0.006).is_err());
        assert!(Tube::new(0.10, 0.16, -1.0).is_err());
        assert!(Sector::new(0.06, 0.07, 0.0, 0.01).is_err());
        assert!(Sector::new(0.06, 0.07, 0.1, f64::NAN).is_err());
        assert!(tube().check_fits(0.02).is_err());
    }
}
