//! Plots of a Lagrangian particle run.

use buffycoat_h5::schema;
use std::path::{Path, PathBuf};

use crate::draw::{Entry, Legend, Line, LinePanel, fmt_num, species_color};
use crate::figures::Panels;
use crate::output::Output;
use crate::source::Source;
use crate::{FileKind, PlotError};

/// Plots a particle run: writes `pelleted_fraction`, `mean_radius` and
/// `radial_histogram` (each `.png` and `.svg`) into `out_dir` and returns
/// the paths written.
///
/// Reads:
/// - `/observables/pelleted_fraction/{time,value}`, value `[T][S]` (group
///   attribute `names` = species), and the same for `floated_fraction`
///   (optional; drawn dashed in `pelleted_fraction`) and `mean_radius` (m);
/// - the last frame of `/particles/cells/position/value` `[T][N][3]` (m) and
///   its time, `/particles/cells/species` `[N]` (attribute `names`);
/// - `/parameters/effective_toml`, whose `[geometry] kind` decides the
///   radial coordinate of `radial_histogram`: `√(x² + y²)` for a `sector`,
///   `x` otherwise (a swing-out tube, whose axis is x).
///
/// # Errors
/// See [`plot_file`](crate::plot_file).
pub fn plot_particle_run(input: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let src = Source::open(input, FileKind::ParticleRun)?;
    plot(&src, out_dir)
}

/// The radial coordinate of a cell at Cartesian `p`.
fn radial(p: &[f64], sector: bool) -> f64 {
    if sector { p[0].hypot(p[1]) } else { p[0] }
}

/// Whether the `[geometry]` table of a scenario's TOML text says
/// `kind = "sector"` (also as an inline table `geometry = { kind = ... }`).
pub(crate) fn geometry_is_sector(toml: &str) -> bool {
    let mut section = String::new();
    for raw in toml.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).trim().to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if section == "geometry" && key == "kind" {
            return value.trim_matches(['"', '\'']) == "sector";
        }
        if section.is_empty() && key == "geometry" {
            let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            return compact.contains("kind=\"sector\"") || compact.contains("kind='sector'");
        }
        if section.is_empty() && key == "geometry.kind" {
            return value.trim_matches(['"', '\'']) == "sector";
        }
    }
    false
}

pub(crate) fn plot(src: &Source, out_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    const PEL: &str = schema::OBSERVABLES_PELLETED_FRACTION;
    const FLO: &str = schema::OBSERVABLES_FLOATED_FRACTION;
    const RAD: &str = schema::OBSERVABLES_MEAN_RADIUS;
    const POS: &str = schema::PARTICLES_CELLS_POSITION;
    const SPECIES: &str = schema::PARTICLES_CELLS_SPECIES;

    let pelleted = src.series(PEL, &[None])?;
    let s = pelleted.shape[1];
    let names = src.names(PEL, "names", Some(s))?;
    let floated = if src.has_group(FLO) || src.has_dataset(&format!("{FLO}/value")) {
        Some(src.series(FLO, &[Some(s)])?)
    } else {
        None
    };
    let mean_radius = src.series(RAD, &[Some(s)])?;

    let value = format!("{POS}/value");
    let shape = src.shape(&value)?;
    if shape.len() != 3 || shape[2] != 3 {
        return Err(src.malformed(
            &value,
            format!("has shape {shape:?} where [T, N, 3] was expected"),
        ));
    }
    if shape[0] == 0 {
        return Err(src.malformed(&value, "has no frames"));
    }
    let (frames, n) = (shape[0], shape[1]);
    let positions = src.frame(&value, frames - 1)?;
    let time_path = format!("{POS}/time");
    let t_last = if src.has_dataset(&time_path) {
        src.vector(&time_path, Some(frames))?.last().copied()
    } else {
        None
    };
    let species = src.ints(SPECIES, Some(n))?;
    let sp_names = src.names(SPECIES, "names", None)?;
    if let Some(bad) = species
        .iter()
        .find(|&&k| k < 0 || k as usize >= sp_names.len())
    {
        return Err(src.malformed(
            SPECIES,
            format!(
                "species index {bad} out of range for {} names",
                sp_names.len()
            ),
        ));
    }
    let geometry = src.opt_string(schema::PARAMETERS_EFFECTIVE_TOML)?;
    let sector = geometry.as_deref().is_some_and(geometry_is_sector);

    // pelleted_fraction
    let mut panel = LinePanel::new("time (s)", "fraction of the species' cells (–)");
    panel.y_range = Some((-0.02, 1.02));
    panel.legend = Legend::None;
    let mut legend: Vec<Entry> = Vec::new();
    for (j, name) in names.iter().enumerate() {
        let color = species_color(name, j);
        panel
            .lines
            .push(Line::new(name.as_str(), pelleted.column(j), color));
        if let Some(f) = &floated {
            panel.lines.push(
                Line::new(name.as_str(), f.column(j), color)
                    .dashed()
                    .unlabelled(),
            );
        }
        legend.push(Entry::new(name.as_str(), color));
    }
    let mut fig_pelleted = Panels::single("Pelleted fraction per species", panel);
    if floated.is_some() {
        fig_pelleted.title = "Pelleted (solid) and floated (dashed) fraction per species".into();
        legend.push(Entry::new("pelleted", plotters::style::BLACK));
        legend.push(Entry {
            dashed: true,
            ..Entry::new("floated", plotters::style::BLACK)
        });
    }
    fig_pelleted.legend = legend.clone();

    // mean_radius
    let mut panel = LinePanel::new("time (s)", "mean radial position (mm)");
    panel.legend = Legend::None;
    for (j, name) in names.iter().enumerate() {
        let pts = mean_radius
            .column(j)
            .into_iter()
            .map(|(t, r)| (t, r * 1e3))
            .collect();
        panel
            .lines
            .push(Line::new(name.as_str(), pts, species_color(name, j)));
    }
    let mut fig_radius = Panels::single("Mean radial position of the cells per species", panel);
    fig_radius.legend = names
        .iter()
        .enumerate()
        .map(|(j, n)| Entry::new(n.as_str(), species_color(n, j)))
        .collect();

    // radial_histogram
    let r: Vec<f64> = positions
        .chunks_exact(3)
        .map(|p| radial(p, sector) * 1e3)
        .collect();
    let fig_hist = histogram(&r, &species, &sp_names, sector, geometry.is_some(), t_last);

    let mut out = Output::new(out_dir)?;
    out.figure("pelleted_fraction", &fig_pelleted)?;
    out.figure("mean_radius", &fig_radius)?;
    out.figure("radial_histogram", &fig_hist)?;
    out.commit()
}

/// Per-species histograms of the radial position `r` (mm), each normalised
/// to the species' number of cells, drawn as step outlines.
fn histogram(
    r: &[f64],
    species: &[i64],
    names: &[String],
    sector: bool,
    geometry_known: bool,
    t_last: Option<f64>,
) -> Panels {
    let finite = r.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let count = r.iter().filter(|v| v.is_finite()).count();
    let bins = ((count as f64).sqrt().round() as usize).clamp(5, 50);
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else if hi - lo < 1e-9 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let width = (hi - lo) / bins as f64;
    let mut panel = LinePanel::new(
        if sector {
            "radial position r = √(x² + y²) (mm)"
        } else {
            "radial position r = x (mm)"
        },
        "fraction of the species' cells per bin (–)",
    );
    panel.legend = Legend::None;
    let mut legend = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let mut h = vec![0usize; bins];
        let mut total = 0usize;
        for (&v, &s) in r.iter().zip(species) {
            if s as usize == k && v.is_finite() {
                let b = (((v - lo) / width) as usize).min(bins - 1);
                h[b] += 1;
                total += 1;
            }
        }
        if total == 0 {
            continue;
        }
        let mut pts = vec![(lo, 0.0)];
        for (b, &c) in h.iter().enumerate() {
            let f = c as f64 / total as f64;
            pts.push((lo + b as f64 * width, f));
            pts.push((lo + (b + 1) as f64 * width, f));
        }
        pts.push((hi, 0.0));
        let color = species_color(name, k);
        panel.lines.push(Line::new(name.as_str(), pts, color));
        legend.push(Entry::new(format!("{name} ({total} cells)"), color));
    }
    if legend.is_empty() {
        panel.note = Some("no cells".into());
    }
    panel.y_range = Some((0.0, {
        let m = panel
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        if m > 0.0 { m * 1.08 } else { 1.0 }
    }));
    let when = t_last.map_or_else(
        || "the final frame".to_owned(),
        |t| format!("t = {} s (final frame)", fmt_num(t)),
    );
    let mut fig = Panels::single(format!("Radial distribution of the cells at {when}"), panel);
    fig.legend = legend;
    fig.notes.push(format!(
        "{} bins of {} mm; each species normalised to its own number of cells; {}",
        bins,
        fmt_num(width),
        match (geometry_known, sector) {
            (_, true) => "sector geometry: r = √(x² + y²)",
            (true, false) => "tube geometry: r = x (the tube axis)",
            (false, false) => "geometry not recorded in the file: r = x assumed (tube axis)",
        }
    ));
    fig
}

#[cfg(test)]
mod tests {
    use super::geometry_is_sector;

    #[test]
    fn finds_the_geometry_kind() {
        assert!(geometry_is_sector(
            "[rotor]\nrpm = 1\n[geometry]\nkind = \"sector\" # yes\n"
        ));
        assert!(!geometry_is_sector(
            "[geometry]\nkind = \"tube\"\n[model]\nkind = \"sector\"\n"
        ));
        assert!(!geometry_is_sector("[model]\nkind = \"sector\"\n"));
        assert!(geometry_is_sector(
            "geometry = { kind = \"sector\", r_min_m = 1 }\n"
        ));
        assert!(geometry_is_sector("geometry.kind = 'sector'\n"));
        assert!(!geometry_is_sector(""));
    }
}
