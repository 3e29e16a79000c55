//! A suspension as the field models see it: the classes of a blood composition (with red-cell
//! aggregation), the cell roles of the classes, and layer figures per species.
//!
//! Shared by the hindered tube/sector model, the channel and the procedure's channel
//! separator, so each of them builds classes and reads layers the same way.

use crate::classes::{Class, classes_from_distribution};
use crate::error::FieldError;
use crate::layers::{LayerReport, LayerRoles};
use crate::solver::HinderedField;
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::hindrance::{HindranceLaw, aggregate_cells_from_esr};
use buffycoat_physics::species::{CellRoles, Species};
use buffycoat_physics::units;

/// Red cells per sedimenting aggregate for a measured ESR (m/s): the single red cell's
/// sedimentation coefficient s (Stokes, with the species' mean diameter, density and shape
/// factor in `fluid`) fed to [`aggregate_cells_from_esr`] at `hematocrit` with `law`
/// (N = (ESR / (s g f(φ)))^{3/2}, at least 1; docs/physics.md §4.5).
pub fn red_cell_aggregate_from_esr(
    esr: f64,
    red_cell: &Species,
    hematocrit: f64,
    fluid: &Fluid,
    law: &HindranceLaw,
) -> f64 {
    let s = buffycoat_physics::forces::sedimentation_coefficient(
        red_cell.mean_diameter(),
        red_cell.mean_density(),
        fluid.density,
        fluid.viscosity,
        red_cell.shape_factor,
    );
    aggregate_cells_from_esr(esr, hematocrit, s, law)
}

/// The classes of a suspension (docs/physics.md §2.6): `classes_per_species`
/// equal-probability density/size classes per component `(species, volume fraction)` in order
/// ([`classes_from_distribution`]); the
/// classes of red-cell species (by `roles`) sediment as aggregates of
/// `red_cell_aggregate_cells` cells.
///
/// # Errors
/// As [`classes_from_distribution`].
pub fn classes_from_suspension(
    components: &[(&Species, f64)],
    classes_per_species: usize,
    roles: &CellRoles,
    red_cell_aggregate_cells: f64,
) -> Result<Vec<Class>, FieldError> {
    let mut classes = Vec::new();
    for &(species, phi) in components {
        let mut new = classes_from_distribution(species, phi, classes_per_species)?;
        if roles.is_red_cell(&species.name) {
            for c in &mut new {
                c.aggregate_cells = red_cell_aggregate_cells;
            }
        }
        classes.extend(new);
    }
    Ok(classes)
}

/// The indices of the classes whose species satisfies `pick`.
pub fn classes_where(classes: &[Class], pick: impl Fn(&str) -> bool) -> Vec<usize> {
    classes
        .iter()
        .enumerate()
        .filter(|(_, c)| pick(&c.species))
        .map(|(i, _)| i)
        .collect()
}

impl LayerRoles {
    /// The layer roles of `classes` by the cell roles of their species.
    pub fn from_roles(classes: &[Class], roles: &CellRoles) -> Self {
        Self {
            red_cell_classes: classes_where(classes, |s| roles.is_red_cell(s)),
            platelet_classes: classes_where(classes, |s| roles.is_platelet(s)),
        }
    }
}

/// Cells per µL of `species` in the plasma layer of `report`.
pub fn species_plasma_per_ul(report: &LayerReport, classes: &[Class], species: &str) -> f64 {
    let per_m3: f64 = classes
        .iter()
        .zip(&report.plasma_number_concentration)
        .filter(|(c, _)| c.species == species)
        .map(|(_, n)| n)
        .sum();
    units::per_m3_to_per_ul(per_m3)
}

/// Mean summed volume fraction of the classes `classes` over the radii [r0, r1)
/// (cell-measure weighted; 0 for an empty range): with the red-cell classes, the layer's
/// hematocrit.
pub fn mean_volume_fraction(field: &HinderedField, classes: &[usize], (r0, r1): (f64, f64)) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (j, &r) in field.radii().iter().enumerate() {
        if r >= r0 && r < r1 {
            let w = field.cell_measure(j);
            num += w * classes
                .iter()
                .map(|&i| field.volume_fraction(i, j))
                .sum::<f64>();
            den += w;
        }
    }
    if den > 0.0 { num / den } else { 0.0 }
}
