//! Layers of a separated sample: plasma / buffy coat / red cells.
//!
//! The crate knows classes only by index; the caller says which classes are red cells and
//! which are platelets ([`LayerRoles`]). Everything else (white cells, blasts, progenitors)
//! counts as "other cells".
//!
//! ## Interfaces (thresholds in [`LayerThresholds`])
//! Volume fractions are read as piecewise linear between cell centres (constant beyond the
//! first and last centre); an interface is the innermost radius where a quantity first reaches
//! its threshold (r_min if the first cell already does, r_max if none does).
//!
//! - **plasma → buffy coat**: the innermost radius where the volume fraction of all
//!   non-platelet cells reaches `cell_fraction` (default 0.01). Platelets are excluded because
//!   they settle slowly and stay dispersed in the plasma ("platelet-rich plasma").
//! - **buffy coat → red cells**: the innermost radius where the red-cell volume fraction
//!   reaches `red_cell_fraction_of_initial` (default ½) times its initial mean.
//!
//! If the second lies inside the first, both are set to the second: the buffy coat is empty
//! when they coincide.
//!
//! ## Reported quantities
//! Integrals are exact for the finite-volume (cell-wise constant) field, splitting the cells cut
//! by an interface in proportion to their measure.
//!
//! - the fraction of each class in each layer, ∫_layer φ_i dV / ∫ φ_i dV (the fraction of its
//!   cells, a class having one cell volume), and per species by cell number;
//! - the hematocrit of the red-cell layer, the mean red-cell volume fraction over it;
//! - plasma purity: the mean volume fraction of each class in the plasma layer and its number
//!   concentration φ/V_cell (cells/m³; [`buffycoat_physics::units::per_m3_to_per_ul`] converts
//!   to cells/µL).

use crate::classes::Class;
use crate::solver::HinderedField;

/// Which classes are red cells and which are platelets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayerRoles {
    /// indices of red-cell classes
    pub red_cell_classes: Vec<usize>,
    /// indices of platelet classes
    pub platelet_classes: Vec<usize>,
}

impl LayerRoles {
    /// Roles from species names: classes of `red_cell_species` are red cells, classes of
    /// `platelet_species` platelets.
    pub fn by_species(classes: &[Class], red_cell_species: &str, platelet_species: &str) -> Self {
        let pick = |name: &str| {
            classes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.species == name)
                .map(|(i, _)| i)
                .collect()
        };
        Self {
            red_cell_classes: pick(red_cell_species),
            platelet_classes: pick(platelet_species),
        }
    }
}

/// Interface thresholds (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerThresholds {
    /// plasma → buffy coat: non-platelet cell volume fraction (default 0.01)
    pub cell_fraction: f64,
    /// buffy coat → red cells: fraction of the initial mean red-cell volume fraction
    /// (default 0.5)
    pub red_cell_fraction_of_initial: f64,
}

impl Default for LayerThresholds {
    fn default() -> Self {
        Self {
            cell_fraction: 0.01,
            red_cell_fraction_of_initial: 0.5,
        }
    }
}

/// A layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// clear plasma (innermost)
    Plasma,
    /// buffy coat (white cells, between plasma and red cells)
    BuffyCoat,
    /// packed red cells (outermost)
    RedCells,
}

impl Layer {
    /// The three layers from the meniscus outward.
    pub const ALL: [Layer; 3] = [Layer::Plasma, Layer::BuffyCoat, Layer::RedCells];

    /// Index 0, 1, 2 from the meniscus outward.
    pub fn index(self) -> usize {
        match self {
            Layer::Plasma => 0,
            Layer::BuffyCoat => 1,
            Layer::RedCells => 2,
        }
    }

    /// Output name: `plasma`, `buffy_coat`, `red_cells`.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Plasma => "plasma",
            Layer::BuffyCoat => "buffy_coat",
            Layer::RedCells => "red_cells",
        }
    }
}

/// The layers of the field at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerReport {
    /// time (s)
    pub time: f64,
    /// plasma/buffy-coat interface radius (m)
    pub plasma_buffy_radius: f64,
    /// buffy-coat/red-cell interface radius (m)
    pub buffy_red_radius: f64,
    /// measure of each layer (units of [`HinderedField::cell_measure`])
    pub layer_measure: [f64; 3],
    /// mean red-cell volume fraction over the red-cell layer (0 if the layer is empty)
    pub red_layer_hematocrit: f64,
    /// per class, the fraction of its volume (= of its cells) in each layer
    pub class_fractions: Vec<[f64; 3]>,
    /// per class, the mean volume fraction in the plasma layer (0 if the plasma is empty)
    pub plasma_volume_fraction: Vec<f64>,
    /// per class, the number concentration in the plasma layer (cells/m³)
    pub plasma_number_concentration: Vec<f64>,
    /// per class, ∫φ_i dV over the whole domain (units of [`HinderedField::cell_measure`])
    pub class_volumes: Vec<f64>,
}

impl LayerReport {
    /// The layer containing radius `r` (m).
    pub fn layer_of(&self, r: f64) -> Layer {
        if r < self.plasma_buffy_radius {
            Layer::Plasma
        } else if r < self.buffy_red_radius {
            Layer::BuffyCoat
        } else {
            Layer::RedCells
        }
    }

    /// Per species (in order of first appearance), the fraction of its cells in each layer,
    /// weighting the classes by cell number (φ/V_cell).
    pub fn species_fractions(&self, classes: &[Class]) -> Vec<(String, [f64; 3])> {
        let mut out: Vec<(String, [f64; 3], f64)> = Vec::new();
        for (i, c) in classes.iter().enumerate() {
            let number = self.class_volumes[i] / c.cell_volume();
            let pos = match out.iter().position(|(s, _, _)| *s == c.species) {
                Some(p) => p,
                None => {
                    out.push((c.species.clone(), [0.0; 3], 0.0));
                    out.len() - 1
                }
            };
            let entry = &mut out[pos];
            for k in 0..3 {
                entry.1[k] += number * self.class_fractions[i][k];
            }
            entry.2 += number;
        }
        out.into_iter()
            .map(|(s, mut f, total)| {
                if total > 0.0 {
                    for v in &mut f {
                        *v /= total;
                    }
                }
                (s, f)
            })
            .collect()
    }
}

/// Innermost radius where the piecewise-linear profile `q` (at `centres`) reaches `threshold`.
fn first_crossing(q: &[f64], centres: &[f64], threshold: f64, r_min: f64, r_max: f64) -> f64 {
    if q[0] >= threshold {
        return r_min;
    }
    for j in 1..q.len() {
        if q[j] >= threshold {
            let w = (threshold - q[j - 1]) / (q[j] - q[j - 1]);
            return centres[j - 1] + w * (centres[j] - centres[j - 1]);
        }
    }
    r_max
}

impl HinderedField {
    /// The layers with the default thresholds.
    pub fn layers(&self, roles: &LayerRoles) -> LayerReport {
        self.layers_with(roles, &LayerThresholds::default())
    }

    /// The layers with explicit thresholds (see [`crate::layers`]). Allocates (output path).
    pub fn layers_with(&self, roles: &LayerRoles, thresholds: &LayerThresholds) -> LayerReport {
        let grid = self.grid();
        let cells = self.radial_cells();
        let nc = self.classes().len();
        let total_measure = self.total_measure();
        let mut other = vec![0.0; cells];
        let mut red = vec![0.0; cells];
        for cell in 0..cells {
            for i in 0..nc {
                let p = self.volume_fraction(i, cell);
                if roles.red_cell_classes.contains(&i) {
                    red[cell] += p;
                }
                if !roles.platelet_classes.contains(&i) {
                    other[cell] += p;
                }
            }
        }
        let initial_red: f64 = roles
            .red_cell_classes
            .iter()
            .map(|&i| self.initial_class_volume(i))
            .sum::<f64>()
            / total_measure;
        let (r_min, r_max) = (grid.r_min, grid.r_max);
        let mut plasma_buffy = first_crossing(
            &other,
            &grid.centres,
            thresholds.cell_fraction,
            r_min,
            r_max,
        );
        let buffy_red = if initial_red > 0.0 {
            first_crossing(
                &red,
                &grid.centres,
                thresholds.red_cell_fraction_of_initial * initial_red,
                r_min,
                r_max,
            )
        } else {
            r_max
        };
        if buffy_red < plasma_buffy {
            plasma_buffy = buffy_red;
        }
        let bounds = [r_min, plasma_buffy, buffy_red, r_max];
        // Per class and layer: ∫φ dV over the layer.
        let mut amount = vec![[0.0f64; 3]; nc];
        for cell in 0..cells {
            let (a, b) = (grid.faces[cell], grid.faces[cell + 1]);
            for layer in 0..3 {
                let lo = a.max(bounds[layer]);
                let hi = b.min(bounds[layer + 1]);
                if hi > lo {
                    let m = grid.measure(lo, hi);
                    for (i, am) in amount.iter_mut().enumerate() {
                        am[layer] += self.volume_fraction(i, cell) * m;
                    }
                }
            }
        }
        let layer_measure = [
            grid.measure(r_min, plasma_buffy),
            grid.measure(plasma_buffy, buffy_red),
            grid.measure(buffy_red, r_max),
        ];
        let class_volumes = amount.iter().map(|a| a[0] + a[1] + a[2]).collect();
        let class_fractions = amount
            .iter()
            .map(|a| {
                let total = a[0] + a[1] + a[2];
                if total > 0.0 {
                    [a[0] / total, a[1] / total, a[2] / total]
                } else {
                    [0.0; 3]
                }
            })
            .collect();
        let red_amount: f64 = roles.red_cell_classes.iter().map(|&i| amount[i][2]).sum();
        let red_layer_hematocrit = if layer_measure[2] > 0.0 {
            red_amount / layer_measure[2]
        } else {
            0.0
        };
        let plasma_volume_fraction: Vec<f64> = amount
            .iter()
            .map(|a| {
                if layer_measure[0] > 0.0 {
                    a[0] / layer_measure[0]
                } else {
                    0.0
                }
            })
            .collect();
        let plasma_number_concentration = plasma_volume_fraction
            .iter()
            .zip(self.classes())
            .map(|(p, c)| p / c.cell_volume())
            .collect();
        LayerReport {
            time: self.time(),
            plasma_buffy_radius: plasma_buffy,
            buffy_red_radius: buffy_red,
            layer_measure,
            red_layer_hematocrit,
            class_fractions,
            plasma_volume_fraction,
            plasma_number_concentration,
            class_volumes,
        }
    }

    /// The layer of every tracer in `report` (allocates).
    pub fn tracer_layers(&self, report: &LayerReport) -> Vec<Layer> {
        self.tracers()
            .radial
            .iter()
            .map(|&r| report.layer_of(r))
            .collect()
    }

    /// Current ∫φ_i dV of every class (allocates).
    pub fn class_volumes(&self) -> Vec<f64> {
        (0..self.classes().len())
            .map(|i| self.class_volume(i))
            .collect()
    }
}
