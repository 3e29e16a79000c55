//! Plots of a leukapheresis procedure.

use buffycoat_h5::schema;
use std::path::{Path, PathBuf};

use crate::draw::{Entry, HLine, Legend, Line, LinePanel, Secondary, fmt_num, hex, species_color};
use crate::figures::Panels;
use crate::output::Output;
use crate::source::Source;
use crate::{FileKind, PlotError};

/// Plots a procedure: writes `patient_counts`, `product_yield` and
/// `citrate` (each `.png` and `.svg`) into `out_dir` and returns the paths
/// written.
///
/// Reads, under `/procedure`: `time_s` `[T]`, `processed_volume_ml` `[T]`,
/// `patient_per_ul` `[T][Sp]` (attribute `names`), `patient_hematocrit`
/// `[T]` (optional; right axis of `patient_counts`), `product_cells`
/// `[T][Sp]` (attribute `names`), `citrate_rate_mg_kg_min` `[T]`,
/// `citrate_dose_mg_kg` `[T]` and `citrate_thresholds_mg_kg_min` `[2]`.
///
/// - `patient_counts`: the patient's count per µL of each species against
///   time in minutes (log axis), and the hematocrit on the right axis;
/// - `product_yield`: the cells of each species in the product bag against
///   the processed blood volume in mL (log axis; zeros are not drawn);
/// - `citrate`: the citrate infusion rate against time with the two
///   hypocalcaemia thresholds (top panel) and the cumulative dose (bottom).
///
/// # Errors
/// See [`plot_file`](crate::plot_file).
pub fn plot_procedure(input: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let src = Source::open(input, FileKind::Procedure)?;
    plot(&src, out_dir)
}

/// Column `k` of a `[T][n]` table against `x`.
fn column(x: &[f64], table: &[f64], n: usize, k: usize) -> Vec<(f64, f64)> {
    x.iter()
        .enumerate()
        .map(|(t, &xv)| (xv, table[t * n + k]))
        .collect()
}

pub(crate) fn plot(src: &Source, out_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let time_path = schema::PROCEDURE_TIME_S;
    let time_s = src.vector(time_path, None)?;
    let t = time_s.len();
    if t == 0 {
        return Err(src.malformed(time_path, "has no time points"));
    }
    let minutes: Vec<f64> = time_s.iter().map(|s| s / 60.0).collect();
    let volume = src.vector(schema::PROCEDURE_PROCESSED_VOLUME_ML, Some(t))?;
    let counts_path = schema::PROCEDURE_PATIENT_PER_UL;
    let (counts, cshape) = src.f64s(counts_path, &[Some(t), None])?;
    let count_names = src.names(counts_path, "names", Some(cshape[1]))?;
    let hct_path = schema::PROCEDURE_PATIENT_HEMATOCRIT;
    let hct = if src.has_dataset(hct_path) {
        Some(src.vector(hct_path, Some(t))?)
    } else {
        None
    };
    let product_path = schema::PROCEDURE_PRODUCT_CELLS;
    let (product, pshape) = src.f64s(product_path, &[Some(t), None])?;
    let product_names = src.names(product_path, "names", Some(pshape[1]))?;
    let rate = src.vector(schema::PROCEDURE_CITRATE_RATE_MG_KG_MIN, Some(t))?;
    let dose = src.vector(schema::PROCEDURE_CITRATE_DOSE_MG_KG, Some(t))?;
    let thresholds = src.vector(schema::PROCEDURE_CITRATE_THRESHOLDS_MG_KG_MIN, Some(2))?;

    // patient_counts
    let mut panel = LinePanel::new("time (min)", "patient count (µL⁻¹), log scale");
    panel.y_log = true;
    panel.legend = Legend::None;
    let mut legend = Vec::new();
    for (k, name) in count_names.iter().enumerate() {
        let color = species_color(name, k);
        panel.lines.push(Line::new(
            name.as_str(),
            column(&minutes, &counts, cshape[1], k),
            color,
        ));
        legend.push(Entry::new(name.as_str(), color));
    }
    if let Some(h) = &hct {
        let color = hex(0x444444);
        let pts: Vec<(f64, f64)> = minutes.iter().copied().zip(h.iter().copied()).collect();
        let (_, hi) = crate::draw::auto_range(pts.iter().map(|p| p.1), false, false);
        panel.secondary = Some(Secondary {
            y_label: "patient hematocrit (–)".into(),
            lines: vec![Line::new("hematocrit", pts, color).dashed()],
            y_range: Some((0.0, if hi > 0.0 { (hi * 1.15).min(1.0) } else { 1.0 })),
        });
        legend.push(Entry {
            dashed: true,
            ..Entry::new("hematocrit (right axis)", color)
        });
    }
    let mut fig_counts = Panels::single("Patient blood counts during the procedure", panel);
    fig_counts.legend = legend;

    // product_yield
    let mut panel = LinePanel::new(
        "processed blood volume (mL)",
        "cells in the product bag, log scale",
    );
    panel.y_log = true;
    panel.legend = Legend::None;
    let mut legend = Vec::new();
    for (k, name) in product_names.iter().enumerate() {
        let color = species_color(name, k);
        panel.lines.push(Line::new(
            name.as_str(),
            column(&volume, &product, pshape[1], k),
            color,
        ));
        legend.push(Entry::new(name.as_str(), color));
    }
    let mut fig_product = Panels::single("Product yield against processed volume", panel);
    fig_product.legend = legend;
    fig_product
        .notes
        .push("Cells of each type collected in the product bag; zero counts are not drawn on the log axis.".into());

    // citrate
    let mut top = LinePanel::new("time (min)", "citrate infusion rate (mg/kg/min)");
    top.legend = Legend::None;
    let rate_color = hex(0x1f77b4);
    top.lines.push(Line::new(
        "infusion rate",
        minutes.iter().copied().zip(rate.iter().copied()).collect(),
        rate_color,
    ));
    let th_colors = [hex(0xff7f0e), hex(0xd62728)];
    for (i, &th) in thresholds.iter().enumerate() {
        top.hlines.push(HLine {
            y: th,
            label: format!("threshold {} mg/kg/min", fmt_num(th)),
            color: th_colors[i % 2],
        });
    }
    let ys = rate.iter().copied().chain(thresholds.iter().copied());
    let (_, hi) = crate::draw::auto_range(ys, false, false);
    top.y_range = Some((0.0, if hi > 0.0 { hi * 1.12 } else { 1.0 }));
    top.caption = "Citrate infusion rate".into();
    let mut bottom = LinePanel::new("time (min)", "cumulative citrate dose (mg/kg)");
    bottom.legend = Legend::None;
    let dose_color = hex(0x9467bd);
    bottom.lines.push(Line::new(
        "cumulative dose",
        minutes.iter().copied().zip(dose.iter().copied()).collect(),
        dose_color,
    ));
    bottom.caption = "Cumulative citrate dose".into();
    let mut fig_citrate = Panels::grid(
        "Citrate (ACD-A) delivered to the patient",
        vec![top, bottom],
        1,
    );
    fig_citrate.size = (1100, 940);
    let mut legend = vec![Entry::new("infusion rate", rate_color)];
    for (i, &th) in thresholds.iter().enumerate() {
        legend.push(Entry {
            dashed: true,
            ..Entry::new(
                format!("hypocalcaemia threshold {} mg/kg/min", fmt_num(th)),
                th_colors[i % 2],
            )
        });
    }
    legend.push(Entry::new("cumulative dose", dose_color));
    fig_citrate.legend = legend;
    let crossings: Vec<String> = thresholds
        .iter()
        .map(|&th| match rate.iter().position(|&r| r > th) {
            Some(i) => format!(
                "{} mg/kg/min first exceeded at {} min",
                fmt_num(th),
                fmt_num(minutes[i])
            ),
            None => format!("{} mg/kg/min never exceeded", fmt_num(th)),
        })
        .collect();
    fig_citrate
        .notes
        .push(format!("Thresholds: {}.", crossings.join("; ")));

    let mut out = Output::new(out_dir)?;
    out.figure("patient_counts", &fig_counts)?;
    out.figure("product_yield", &fig_product)?;
    out.figure("citrate", &fig_citrate)?;
    out.commit()
}
