//! The patient: total blood volume and circulating cell counts.

use crate::{ProcedureError, check};

/// Sex, for Nadler's blood-volume formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// male
    Male,
    /// female
    Female,
}

/// A patient: body size and the circulating concentration of every species of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    /// sex
    pub sex: Sex,
    /// height (m)
    pub height: f64,
    /// weight (kg)
    pub weight: f64,
    /// circulating number concentration per species (1/m³ of whole blood, undiluted)
    pub per_m3: Vec<f64>,
    /// mean cell volume per species (m³), for hematocrit and volume fractions
    pub cell_volume: Vec<f64>,
}

/// Total blood volume by Nadler's formula (m³), height `h` in m, weight `w` in kg:
/// men 0.3669 h³ + 0.03219 w + 0.6041 L, women 0.3561 h³ + 0.03308 w + 0.1833 L
/// (Nadler, Hidalgo & Bloch, Surgery 51:224, 1962; docs/physics.md §7.1). Fitted on adults of
/// ordinary build; valid roughly for 1.4–2.1 m and 40–150 kg.
pub fn nadler_blood_volume(sex: Sex, height: f64, weight: f64) -> f64 {
    let litres = match sex {
        Sex::Male => 0.3669 * height.powi(3) + 0.03219 * weight + 0.6041,
        Sex::Female => 0.3561 * height.powi(3) + 0.03308 * weight + 0.1833,
    };
    litres * 1e-3
}

impl Patient {
    /// A validated patient: height in (0.3, 2.5] m, weight in (1, 400] kg, concentrations finite
    /// and ≥ 0, cell volumes > 0, hematocrit (Σ over cells of n·V of the species flagged as red
    /// cells by the caller) checked by the caller.
    pub fn new(
        sex: Sex,
        height: f64,
        weight: f64,
        per_m3: Vec<f64>,
        cell_volume: Vec<f64>,
    ) -> Result<Self, ProcedureError> {
        check(
            "patient.height_m",
            height,
            height > 0.3 && height <= 2.5,
            "(0.3, 2.5] m",
        )?;
        check(
            "patient.weight_kg",
            weight,
            weight > 1.0 && weight <= 400.0,
            "(1, 400] kg",
        )?;
        for (i, &n) in per_m3.iter().enumerate() {
            check(
                &format!("patient concentration of species {i}"),
                n,
                n >= 0.0,
                "≥ 0 cells/µL",
            )?;
        }
        for (i, &v) in cell_volume.iter().enumerate() {
            check(&format!("cell volume of species {i}"), v, v > 0.0, "> 0")?;
        }
        if per_m3.len() != cell_volume.len() {
            return Err(ProcedureError::InvalidParameter {
                name: "species".into(),
                value: per_m3.len() as f64,
                allowed: format!(
                    "as many concentrations as cell volumes ({})",
                    cell_volume.len()
                ),
            });
        }
        Ok(Self {
            sex,
            height,
            weight,
            per_m3,
            cell_volume,
        })
    }

    /// Total blood volume (m³), Nadler.
    pub fn blood_volume(&self) -> f64 {
        nadler_blood_volume(self.sex, self.height, self.weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nadler_reference_values() {
        // 1.75 m, 70 kg man: 0.3669·5.359 + 0.03219·70 + 0.6041 = 4.823 L.
        let v = nadler_blood_volume(Sex::Male, 1.75, 70.0) * 1e3;
        assert!((v - 4.8231).abs() < 1e-3, "{v}");
        // 1.65 m, 60 kg woman: 0.3561·4.492 + 0.03308·60 + 0.1833 = 3.7677 L.
        let v = nadler_blood_volume(Sex::Female, 1.65, 60.0) * 1e3;
        assert!((v - 3.7677).abs() < 1e-3, "{v}");
    }

    #[test]
    fn rejects_impossible_bodies() {
        assert!(Patient::new(Sex::Male, 1.7, 0.0, vec![], vec![]).is_err());
        assert!(Patient::new(Sex::Male, f64::NAN, 70.0, vec![], vec![]).is_err());
        assert!(Patient::new(Sex::Male, 1.7, 70.0, vec![-1.0], vec![1e-16]).is_err());
    }
}
