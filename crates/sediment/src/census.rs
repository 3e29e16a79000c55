//! Per-species statistics of the cell population: where the cells are and what became of them.

use crate::geometry::status;
use crate::{Cells, Geometry};

/// Statistics of one species at one time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpeciesCensus {
    /// tracer cells
    pub count: usize,
    /// pelleted at the bottom
    pub pelleted: usize,
    /// floated at the meniscus
    pub floated: usize,
    /// touching a side wall
    pub on_wall: usize,
    /// mean radial coordinate (m), see [`Geometry::radial_coordinate`]
    pub mean_radius: f64,
    /// smallest radial coordinate (m)
    pub min_radius: f64,
    /// largest radial coordinate (m)
    pub max_radius: f64,
}

impl SpeciesCensus {
    /// Fraction pelleted.
    pub fn pelleted_fraction(&self) -> f64 {
        ratio(self.pelleted, self.count)
    }
    /// Fraction floated.
    pub fn floated_fraction(&self) -> f64 {
        ratio(self.floated, self.count)
    }
    /// Fraction on a side wall.
    pub fn wall_fraction(&self) -> f64 {
        ratio(self.on_wall, self.count)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Counts cells per species (`species_count` species, indices from `cells.species`) into
/// `out` (resized to `species_count`). Sums run in cell order, so results are reproducible.
pub fn census(
    cells: &Cells,
    geometry: &Geometry,
    species_count: usize,
    out: &mut Vec<SpeciesCensus>,
) {
    out.clear();
    out.resize(
        species_count,
        SpeciesCensus {
            min_radius: f64::INFINITY,
            max_radius: f64::NEG_INFINITY,
            ..SpeciesCensus::default()
        },
    );
    // Runs of cells of one species (populations are sampled species by species) are summed in
    // registers, in cell order, and added to the species' totals at the end of the run: the same
    // additions in the same order as one species slot per cell, so bitwise the same result,
    // without a read-modify-write of the slot per cell (a frame of 10⁶ cells is counted on the
    // main thread while the workers wait).
    let len = cells.len();
    let (species, st, x, y) = (
        &cells.species[..len],
        &cells.status[..len],
        &cells.x[..len],
        &cells.y[..len],
    );
    let mut start = 0;
    while start < len {
        let sp = species[start];
        let c = &mut out[usize::from(sp)];
        let (mut count, mut pelleted, mut floated, mut on_wall) = (0, 0, 0, 0);
        let (mut sum, mut min, mut max) = (c.mean_radius, c.min_radius, c.max_radius);
        let mut i = start;
        while i < len && species[i] == sp {
            let r = geometry.radial_coordinate(x[i], y[i]);
            count += 1;
            pelleted += usize::from(st[i] & status::PELLETED != 0);
            floated += usize::from(st[i] & status::FLOATED != 0);
            on_wall += usize::from(st[i] & status::ON_WALL != 0);
            sum += r;
            min = min.min(r);
            max = max.max(r);
            i += 1;
        }
        c.count += count;
        c.pelleted += pelleted;
        c.floated += floated;
        c.on_wall += on_wall;
        (c.mean_radius, c.min_radius, c.max_radius) = (sum, min, max);
        start = i;
    }
    for c in out.iter_mut() {
        if c.count > 0 {
            c.mean_radius /= c.count as f64;
        } else {
            c.min_radius = f64::NAN;
            c.max_radius = f64::NAN;
            c.mean_radius = f64::NAN;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CellSpec;
    use crate::geometry::Sector;

    /// The run-wise census is bitwise the census of one species slot per cell (the previous
    /// form, kept here as the reference), for species in runs, interleaved and absent.
    #[test]
    fn run_sums_are_bitwise_the_per_cell_census() {
        let geometry =
            Geometry::Sector(Sector::new(0.060, 0.072, 4f64.to_radians(), 0.012).unwrap());
        let layouts: [fn(usize) -> u16; 3] = [
            |i| (i / 300) as u16 % 3,
            |i| (i % 3) as u16,
            |i| {
                if i % 7 == 0 { 3 } else { (i / 500) as u16 % 2 }
            },
        ];
        for layout in layouts {
            let specs: Vec<CellSpec> = (0..2000)
                .map(|i| CellSpec {
                    species: layout(i),
                    diameter: 5e-6 + 1e-9 * i as f64,
                    density: 1070.0,
                    shape_factor: 1.0,
                })
                .collect();
            let mut cells = Cells::place(&specs, &geometry, 1025.0, 1.3e-3, 3).unwrap();
            for i in 0..cells.len() {
                cells.status[i] = [0, status::PELLETED, status::FLOATED, status::ON_WALL][i % 4];
            }
            let mut fast = Vec::new();
            census(&cells, &geometry, 5, &mut fast);
            let mut reference = vec![
                SpeciesCensus {
                    min_radius: f64::INFINITY,
                    max_radius: f64::NEG_INFINITY,
                    ..SpeciesCensus::default()
                };
                5
            ];
            for i in 0..cells.len() {
                let c = &mut reference[usize::from(cells.species[i])];
                let st = cells.status[i];
                let r = geometry.radial_coordinate(cells.x[i], cells.y[i]);
                c.count += 1;
                c.pelleted += usize::from(st & status::PELLETED != 0);
                c.floated += usize::from(st & status::FLOATED != 0);
                c.on_wall += usize::from(st & status::ON_WALL != 0);
                c.mean_radius += r;
                c.min_radius = c.min_radius.min(r);
                c.max_radius = c.max_radius.max(r);
            }
            for (f, r) in fast.iter().zip(&reference) {
                assert_eq!(
                    (f.count, f.pelleted, f.floated, f.on_wall),
                    (r.count, r.pelleted, r.floated, r.on_wall)
                );
                if r.count == 0 {
                    assert!(f.mean_radius.is_nan() && f.min_radius.is_nan());
                    continue;
                }
                let mean = r.mean_radius / r.count as f64;
                assert_eq!(f.mean_radius.to_bits(), mean.to_bits());
                assert_eq!(f.min_radius.to_bits(), r.min_radius.to_bits());
                assert_eq!(f.max_radius.to_bits(), r.max_radius.to_bits());
            }
        }
    }
}
