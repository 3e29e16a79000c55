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
    for i in 0..cells.len() {
        let c = &mut out[usize::from(cells.species[i])];
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
