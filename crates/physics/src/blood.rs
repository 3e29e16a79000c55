//! Blood composition: from a blood count to number concentrations and volume fractions per
//! species.
//!
//! A [`BloodComposition`] is what a clinician reports (hematocrit or red-cell count, white-cell
//! count with differential, platelets, blasts, CD34⁺ cells) plus the anticoagulant ratio.
//! [`BloodComposition::concentrations`] turns it, with a [`SpeciesLibrary`] for the cell
//! volumes, into SI number concentrations n_i (1/m³) and volume fractions φ_i = n_i E\[V_i\].
//!
//! Anticoagulant: at an inlet:AC ratio r (volumes of whole blood per volume of ACD-A), every
//! concentration is multiplied by r/(r + 1) (docs/physics.md §2.5; e.g. 12/13 at r = 12).

use std::fmt;
use std::str::FromStr;

use crate::error::{PhysicsError, ensure_in_range, ensure_non_negative};
use crate::species::{
    LYMPHOBLAST, LYMPHOCYTE, MONOCYTE, MYELOBLAST, NEUTROPHIL, PLATELET, RBC, SpeciesLibrary,
};
use crate::units;

/// Allowed hematocrit range (volume fraction of red cells), [0, 0.8].
pub const HEMATOCRIT_RANGE: (f64, f64) = (0.0, 0.8);
/// Allowed inlet:anticoagulant ratio range, [2, 50] (clinical practice uses 6–15, default 12).
pub const AC_RATIO_RANGE: (f64, f64) = (2.0, 50.0);
/// Tolerance on the sum of the differential fractions: |Σ f − 1| ≤ 1e-6.
pub const DIFFERENTIAL_SUM_TOLERANCE: f64 = 1e-6;

/// Normal absolute leukocyte counts (cells/µL) used to build the default differential:
/// neutrophils 3650 (1830–7250), lymphocytes 2500 (1500–4000), monocytes 430 (200–950);
/// Zipursky et al., Blood 48:361 (1976); docs/physics.md §2.5. Eosinophils and
/// basophils (a few % of white cells) are not separate species in the bundled library and are
/// left out; the three counts are normalised to fractions of their sum, 6580/µL.
pub const NORMAL_LEUKOCYTE_COUNTS_PER_UL: [(&str, f64); 3] = [
    (NEUTROPHIL, 3650.0),
    (LYMPHOCYTE, 2500.0),
    (MONOCYTE, 430.0),
];

/// The default white-cell differential: [`NORMAL_LEUKOCYTE_COUNTS_PER_UL`] normalised to sum
/// to 1, i.e. neutrophil 0.5547, lymphocyte 0.3799, monocyte 0.0653.
pub fn normal_differential() -> Vec<(String, f64)> {
    let total: f64 = NORMAL_LEUKOCYTE_COUNTS_PER_UL.iter().map(|(_, c)| c).sum();
    NORMAL_LEUKOCYTE_COUNTS_PER_UL
        .iter()
        .map(|&(name, c)| (name.to_owned(), c / total))
        .collect()
}

/// Which library species the blasts of a leukaemia are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BlastSpecies {
    /// Acute myeloid leukaemia blasts, library species `"myeloblast"`.
    #[default]
    Myeloblast,
    /// Acute lymphoblastic leukaemia blasts, library species `"lymphoblast"`.
    Lymphoblast,
}

impl BlastSpecies {
    /// The library species name (`"myeloblast"` or `"lymphoblast"`).
    pub fn species_name(self) -> &'static str {
        match self {
            BlastSpecies::Myeloblast => MYELOBLAST,
            BlastSpecies::Lymphoblast => LYMPHOBLAST,
        }
    }
}

impl fmt::Display for BlastSpecies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.species_name())
    }
}

impl FromStr for BlastSpecies {
    type Err = PhysicsError;

    /// Parses `"myeloblast"` or `"lymphoblast"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            MYELOBLAST => Ok(BlastSpecies::Myeloblast),
            LYMPHOBLAST => Ok(BlastSpecies::Lymphoblast),
            other => Err(PhysicsError::UnknownSpecies {
                name: other.to_owned(),
                known: vec![MYELOBLAST.to_owned(), LYMPHOBLAST.to_owned()],
            }),
        }
    }
}

/// A blood count, in the units of a clinical report (cells/µL, hematocrit as a fraction).
///
/// Counts are of the patient's (undiluted) blood; [`BloodComposition::ac_ratio`] applies the
/// anticoagulant dilution. `wbc_per_ul` counts the mature leukocytes distributed by
/// `differential`; blasts and CD34⁺ cells are given separately and are **not** part of
/// `wbc_per_ul` (an analyser's total white count in leukaemia is about
/// `wbc_per_ul + blasts_per_ul`).
#[derive(Debug, Clone, PartialEq)]
pub struct BloodComposition {
    /// Hematocrit H (red-cell volume fraction, in [0, 0.8]); give this **or** `rbc_per_ul`.
    /// The red-cell count is then n = H / MCV with MCV the mean volume of the library's `"rbc"`.
    pub hematocrit: Option<f64>,
    /// Red-cell count (cells/µL, finite, ≥ 0); give this **or** `hematocrit`.
    pub rbc_per_ul: Option<f64>,
    /// Mature white-cell count (cells/µL, finite, ≥ 0), split by `differential`.
    pub wbc_per_ul: f64,
    /// White-cell differential: (library species name, fraction of `wbc_per_ul`). Fractions in
    /// [0, 1], distinct names, summing to 1 ± 1e-6 (may be empty only if `wbc_per_ul` is 0).
    /// Default: [`normal_differential`].
    pub differential: Vec<(String, f64)>,
    /// Platelet count (cells/µL, finite, ≥ 0).
    pub platelets_per_ul: f64,
    /// Blast count (cells/µL, finite, ≥ 0), of species `blast_species`.
    pub blasts_per_ul: f64,
    /// Which species the blasts are.
    pub blast_species: BlastSpecies,
    /// CD34⁺ progenitor count (cells/µL, finite, ≥ 0), library species `"cd34"`.
    pub cd34_per_ul: f64,
    /// Inlet:anticoagulant ratio r in [2, 50]; all concentrations are multiplied by r/(r + 1).
    /// `None`: undiluted blood.
    pub ac_ratio: Option<f64>,
}

impl Default for BloodComposition {
    /// [`BloodComposition::normal_adult`].
    fn default() -> Self {
        BloodComposition::normal_adult()
    }
}

/// Number concentration and volume fraction of one species in the blood.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeciesConcentration {
    /// Library species name.
    pub species: String,
    /// Number concentration n (cells/m³).
    pub per_m3: f64,
    /// Volume fraction φ = n · E\[V\] (dimensionless), E\[V\] the species' mean cell volume.
    pub volume_fraction: f64,
}

impl BloodComposition {
    /// A typical healthy adult, undiluted: hematocrit 0.45 (a typical adult value; reference
    /// ranges are about 0.42–0.52 for men and 0.37–0.47 for women), white cells 6580/µL with
    /// the [`normal_differential`] (the sum of Zipursky's normal counts), platelets 250 × 10³/µL
    /// (typical, within the normal 150–450 × 10³/µL), no blasts, no CD34⁺ cells (set
    /// `cd34_per_ul` for mobilised donors), no anticoagulant.
    pub fn normal_adult() -> BloodComposition {
        BloodComposition {
            hematocrit: Some(0.45),
            rbc_per_ul: None,
            wbc_per_ul: NORMAL_LEUKOCYTE_COUNTS_PER_UL.iter().map(|(_, c)| c).sum(),
            differential: normal_differential(),
            platelets_per_ul: 250e3,
            blasts_per_ul: 0.0,
            blast_species: BlastSpecies::Myeloblast,
            cd34_per_ul: 0.0,
            ac_ratio: None,
        }
    }

    /// Dilution factor r/(r + 1) of the anticoagulant (1 without anticoagulant).
    pub fn dilution_factor(&self) -> f64 {
        self.ac_ratio.map_or(1.0, |r| r / (r + 1.0))
    }

    /// Checks the composition on its own (without a library): exactly one of hematocrit and
    /// red-cell count; hematocrit in [0, 0.8]; counts finite and ≥ 0; AC ratio in [2, 50];
    /// differential fractions in [0, 1], distinct, summing to 1 ± 1e-6.
    ///
    /// # Errors
    /// [`PhysicsError::InvalidParameter`] with the allowed range, or
    /// [`PhysicsError::InconsistentInput`].
    pub fn validate(&self) -> Result<(), PhysicsError> {
        match (self.hematocrit, self.rbc_per_ul) {
            (Some(h), None) => {
                ensure_in_range("hematocrit", h, HEMATOCRIT_RANGE.0, HEMATOCRIT_RANGE.1)?;
            }
            (None, Some(n)) => {
                ensure_non_negative("red-cell count (cells/uL)", n)?;
            }
            (Some(_), Some(_)) => {
                return Err(PhysicsError::InconsistentInput(
                    "give either the hematocrit or the red-cell count, not both".into(),
                ));
            }
            (None, None) => {
                return Err(PhysicsError::InconsistentInput(
                    "give the hematocrit or the red-cell count".into(),
                ));
            }
        }
        ensure_non_negative("white-cell count (cells/uL)", self.wbc_per_ul)?;
        ensure_non_negative("platelet count (cells/uL)", self.platelets_per_ul)?;
        ensure_non_negative("blast count (cells/uL)", self.blasts_per_ul)?;
        ensure_non_negative("CD34+ count (cells/uL)", self.cd34_per_ul)?;
        if let Some(r) = self.ac_ratio {
            ensure_in_range("inlet:AC ratio", r, AC_RATIO_RANGE.0, AC_RATIO_RANGE.1)?;
        }
        for (i, (name, f)) in self.differential.iter().enumerate() {
            ensure_in_range(&format!("differential fraction of `{name}`"), *f, 0.0, 1.0)?;
            if self.differential[..i].iter().any(|(n, _)| n == name) {
                return Err(PhysicsError::InconsistentInput(format!(
                    "species `{name}` appears twice in the white-cell differential"
                )));
            }
        }
        if !(self.differential.is_empty() && self.wbc_per_ul == 0.0) {
            let sum: f64 = self.differential.iter().map(|(_, f)| f).sum();
            if (sum - 1.0).abs() > DIFFERENTIAL_SUM_TOLERANCE {
                return Err(PhysicsError::invalid(
                    "sum of the white-cell differential fractions",
                    sum,
                    format!("1 ± {DIFFERENTIAL_SUM_TOLERANCE}"),
                ));
            }
        }
        Ok(())
    }

    /// Number concentrations and volume fractions of every species present, in library order,
    /// omitting species whose concentration is zero.
    ///
    /// - red cells: n = H / MCV (MCV = mean volume of `"rbc"`) or the given count;
    /// - white cells: `wbc_per_ul` × fraction, for each differential entry;
    /// - platelets (`"platelet"`), blasts (`blast_species`), CD34⁺ (`"cd34"`): the counts;
    /// - contributions to the same species add up;
    /// - everything × r/(r + 1) with an anticoagulant ratio r;
    /// - φ_i = n_i E\[V_i\].
    ///
    /// Species with a zero count need not be in the library.
    ///
    /// # Errors
    /// Those of [`BloodComposition::validate`]; [`PhysicsError::UnknownSpecies`] if a needed
    /// species is missing from `library`; [`PhysicsError::InvalidParameter`] if the cells would
    /// fill the whole volume (Σ φ_i ≥ 1).
    pub fn concentrations(
        &self,
        library: &SpeciesLibrary,
    ) -> Result<Vec<SpeciesConcentration>, PhysicsError> {
        self.validate()?;
        let mut per_m3 = vec![0.0_f64; library.len()];
        let mut add = |name: &str, n_per_m3: f64| -> Result<(), PhysicsError> {
            if n_per_m3 > 0.0 {
                let i = library
                    .index_of(name)
                    .ok_or_else(|| library.lookup(name).unwrap_err())?;
                per_m3[i] += n_per_m3;
            }
            Ok(())
        };

        let rbc = match (self.hematocrit, self.rbc_per_ul) {
            (Some(h), _) if h > 0.0 => h / library.lookup(RBC)?.mean_volume(),
            (Some(_), _) => 0.0,
            (None, n) => units::per_ul_to_per_m3(n.unwrap_or(0.0)),
        };
        add(RBC, rbc)?;
        for (name, f) in &self.differential {
            add(name, units::per_ul_to_per_m3(self.wbc_per_ul * f))?;
        }
        add(PLATELET, units::per_ul_to_per_m3(self.platelets_per_ul))?;
        add(
            self.blast_species.species_name(),
            units::per_ul_to_per_m3(self.blasts_per_ul),
        )?;
        add(
            crate::species::CD34,
            units::per_ul_to_per_m3(self.cd34_per_ul),
        )?;

        let dilution = self.dilution_factor();
        let out: Vec<SpeciesConcentration> = library
            .iter()
            .zip(per_m3)
            .filter(|(_, n)| *n > 0.0)
            .map(|(s, n)| {
                let n = n * dilution;
                SpeciesConcentration {
                    species: s.name.clone(),
                    per_m3: n,
                    volume_fraction: n * s.mean_volume(),
                }
            })
            .collect();
        let total: f64 = out.iter().map(|c| c.volume_fraction).sum();
        if total >= 1.0 {
            return Err(PhysicsError::invalid(
                "total cell volume fraction",
                total,
                "< 1 (the cells cannot fill the whole volume)",
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::species::{CD34, Distribution, SizeDistribution, Species};
    use crate::units::{fl_to_m3, per_m3_to_per_ul, um_to_m};

    fn sp(name: &str, rho: f64, size: SizeDistribution) -> Species {
        Species {
            name: name.into(),
            display_name: name.into(),
            density: Distribution::Normal { mean: rho, sd: 4.0 },
            size,
            shape_factor: 1.0,
            normal_per_ul: None,
            source: "test".into(),
        }
    }

    fn vol(fl: f64, cv: f64) -> SizeDistribution {
        SizeDistribution::Volume(Distribution::LogNormal {
            mean: fl_to_m3(fl),
            sd: fl_to_m3(fl * cv),
        })
    }

    fn library() -> SpeciesLibrary {
        SpeciesLibrary::new(vec![
            sp(RBC, 1095.0, vol(87.0, 0.13)),
            sp(PLATELET, 1070.0, vol(7.5, 0.5)),
            sp(LYMPHOCYTE, 1075.0, vol(247.0, 0.15)),
            sp(MONOCYTE, 1072.0, vol(534.0, 0.15)),
            sp(NEUTROPHIL, 1085.0, vol(468.0, 0.15)),
            sp(
                MYELOBLAST,
                1064.5,
                SizeDistribution::Diameter(Distribution::LogNormal {
                    mean: um_to_m(11.2),
                    sd: um_to_m(1.85),
                }),
            ),
            sp(
                LYMPHOBLAST,
                1068.0,
                SizeDistribution::Diameter(Distribution::LogNormal {
                    mean: um_to_m(11.3),
                    sd: um_to_m(3.2),
                }),
            ),
            sp(CD34, 1063.5, vol(247.0, 0.15)),
        ])
        .unwrap()
    }

    fn find<'a>(c: &'a [SpeciesConcentration], name: &str) -> &'a SpeciesConcentration {
        c.iter().find(|x| x.species == name).unwrap()
    }

    #[test]
    fn hematocrit_gives_red_cell_count_via_mcv() {
        let c = BloodComposition::normal_adult()
            .concentrations(&library())
            .unwrap();
        let rbc = find(&c, RBC);
        // n = 0.45 / 87 fL = 5.17 × 10⁶ per µL.
        let per_ul = per_m3_to_per_ul(rbc.per_m3);
        assert!((per_ul - 5.172e6).abs() < 1e3, "{per_ul}");
        assert!((rbc.volume_fraction - 0.45).abs() < 1e-12);
    }

    #[test]
    fn red_cell_count_alternative() {
        let b = BloodComposition {
            hematocrit: None,
            rbc_per_ul: Some(5.0e6),
            ..BloodComposition::normal_adult()
        };
        let c = b.concentrations(&library()).unwrap();
        let rbc = find(&c, RBC);
        assert!((rbc.per_m3 - 5.0e15).abs() < 1.0);
        assert!((rbc.volume_fraction - 5.0e15 * 87e-18).abs() < 1e-12);
    }

    #[test]
    fn anticoagulant_dilutes_everything_by_r_over_r_plus_1() {
        let lib = library();
        let plain = BloodComposition::normal_adult();
        let diluted = BloodComposition {
            ac_ratio: Some(12.0),
            ..plain.clone()
        };
        assert!((diluted.dilution_factor() - 12.0 / 13.0).abs() < 1e-15);
        assert_eq!(plain.dilution_factor(), 1.0);
        let a = plain.concentrations(&lib).unwrap();
        let b = diluted.concentrations(&lib).unwrap();
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.species, y.species);
            assert!((y.per_m3 / x.per_m3 - 12.0 / 13.0).abs() < 1e-14);
            assert!((y.volume_fraction / x.volume_fraction - 12.0 / 13.0).abs() < 1e-14);
        }
    }

    #[test]
    fn default_differential_and_library_order() {
        let d = normal_differential();
        let sum: f64 = d.iter().map(|(_, f)| f).sum();
        assert!((sum - 1.0).abs() < 1e-15);
        assert_eq!(d[0].0, NEUTROPHIL);
        assert!((d[0].1 - 3650.0 / 6580.0).abs() < 1e-15);
        assert!((d[1].1 - 2500.0 / 6580.0).abs() < 1e-15);
        assert!((d[2].1 - 430.0 / 6580.0).abs() < 1e-15);

        let b = BloodComposition::normal_adult();
        assert_eq!(b.wbc_per_ul, 6580.0);
        let c = b.concentrations(&library()).unwrap();
        // Library order, zero-count species (blasts, CD34) omitted.
        let names: Vec<&str> = c.iter().map(|x| x.species.as_str()).collect();
        assert_eq!(names, vec![RBC, PLATELET, LYMPHOCYTE, MONOCYTE, NEUTROPHIL]);
        let neut = per_m3_to_per_ul(find(&c, NEUTROPHIL).per_m3);
        assert!((neut - 3650.0).abs() < 1e-6, "{neut}");
        let lymph = find(&c, LYMPHOCYTE);
        assert!((lymph.volume_fraction - 2500e9 * 247e-18).abs() < 1e-15);
    }

    #[test]
    fn blasts_cd34_and_additive_contributions() {
        let b = BloodComposition {
            blasts_per_ul: 100e3,
            blast_species: BlastSpecies::Lymphoblast,
            cd34_per_ul: 20.0,
            differential: vec![(LYMPHOCYTE.into(), 0.5), (LYMPHOBLAST.into(), 0.5)],
            wbc_per_ul: 2000.0,
            ..BloodComposition::normal_adult()
        };
        let c = b.concentrations(&library()).unwrap();
        let lb = find(&c, LYMPHOBLAST);
        assert!((per_m3_to_per_ul(lb.per_m3) - 101e3).abs() < 1e-6);
        // Diameter-specified species: E[V] = π/6 E[d³] (log-normal).
        let lib = library();
        let ev = lib.get(LYMPHOBLAST).unwrap().mean_volume();
        assert!((lb.volume_fraction - lb.per_m3 * ev).abs() < 1e-15);
        assert!((per_m3_to_per_ul(find(&c, CD34).per_m3) - 20.0).abs() < 1e-9);
        assert!(c.iter().all(|x| x.species != MYELOBLAST));
    }

    #[test]
    fn zero_count_species_need_not_be_in_library() {
        let lib = SpeciesLibrary::new(vec![sp(RBC, 1095.0, vol(87.0, 0.13))]).unwrap();
        let b = BloodComposition {
            wbc_per_ul: 0.0,
            differential: vec![],
            platelets_per_ul: 0.0,
            ..BloodComposition::normal_adult()
        };
        let c = b.concentrations(&lib).unwrap();
        assert_eq!(c.len(), 1);
        // But a needed species that is missing is an error listing the known ones.
        let e = BloodComposition::normal_adult()
            .concentrations(&lib)
            .unwrap_err();
        assert!(matches!(e, PhysicsError::UnknownSpecies { .. }), "{e}");
        assert!(e.to_string().contains("known species: rbc"), "{e}");
    }

    #[test]
    fn invalid_inputs_are_rejected_with_ranges() {
        let lib = library();
        let base = BloodComposition::normal_adult();
        let cases: Vec<(BloodComposition, &str)> = vec![
            (
                BloodComposition {
                    hematocrit: Some(0.9),
                    ..base.clone()
                },
                "[0, 0.8]",
            ),
            (
                BloodComposition {
                    hematocrit: Some(f64::NAN),
                    ..base.clone()
                },
                "hematocrit",
            ),
            (
                BloodComposition {
                    rbc_per_ul: Some(5e6),
                    ..base.clone()
                },
                "not both",
            ),
            (
                BloodComposition {
                    hematocrit: None,
                    ..base.clone()
                },
                "hematocrit or the red-cell count",
            ),
            (
                BloodComposition {
                    wbc_per_ul: -1.0,
                    ..base.clone()
                },
                "white-cell count",
            ),
            (
                BloodComposition {
                    platelets_per_ul: f64::INFINITY,
                    ..base.clone()
                },
                "platelet count",
            ),
            (
                BloodComposition {
                    blasts_per_ul: -5.0,
                    ..base.clone()
                },
                "blast count",
            ),
            (
                BloodComposition {
                    cd34_per_ul: -5.0,
                    ..base.clone()
                },
                "CD34+",
            ),
            (
                BloodComposition {
                    ac_ratio: Some(1.0),
                    ..base.clone()
                },
                "[2, 50]",
            ),
            (
                BloodComposition {
                    ac_ratio: Some(60.0),
                    ..base.clone()
                },
                "[2, 50]",
            ),
            (
                BloodComposition {
                    differential: vec![(NEUTROPHIL.into(), 0.6), (LYMPHOCYTE.into(), 0.3)],
                    ..base.clone()
                },
                "1 ± 0.000001",
            ),
            (
                BloodComposition {
                    differential: vec![(NEUTROPHIL.into(), 1.5), (LYMPHOCYTE.into(), -0.5)],
                    ..base.clone()
                },
                "differential fraction of `neutrophil`",
            ),
            (
                BloodComposition {
                    differential: vec![(NEUTROPHIL.into(), 0.5), (NEUTROPHIL.into(), 0.5)],
                    ..base.clone()
                },
                "appears twice",
            ),
            (
                BloodComposition {
                    differential: vec![],
                    ..base.clone()
                },
                "sum of the white-cell differential",
            ),
        ];
        for (b, needle) in cases {
            let e = b.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "`{e}` should contain `{needle}`");
            assert!(b.concentrations(&lib).is_err());
        }
        // Unknown species in the differential.
        let b = BloodComposition {
            differential: vec![("basophil".into(), 1.0)],
            ..base.clone()
        };
        b.validate().unwrap();
        let e = b.concentrations(&lib).unwrap_err();
        assert!(matches!(e, PhysicsError::UnknownSpecies { ref name, .. } if name == "basophil"));
        // Cells filling more than the whole volume.
        let b = BloodComposition {
            hematocrit: Some(0.8),
            blasts_per_ul: 800e3,
            ..base
        };
        let e = b.concentrations(&lib).unwrap_err().to_string();
        assert!(e.contains("total cell volume fraction"), "{e}");
    }

    #[test]
    fn blast_species_names_round_trip() {
        for b in [BlastSpecies::Myeloblast, BlastSpecies::Lymphoblast] {
            assert_eq!(b.to_string().parse::<BlastSpecies>().unwrap(), b);
        }
        assert_eq!(BlastSpecies::default(), BlastSpecies::Myeloblast);
        let e = "monoblast".parse::<BlastSpecies>().unwrap_err();
        assert!(e.to_string().contains("myeloblast, lymphoblast"));
        assert_eq!(
            BloodComposition::default(),
            BloodComposition::normal_adult()
        );
    }
}
