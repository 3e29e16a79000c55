//! Plots of a hindered-settling field run.

use buffycoat_h5::schema;
use std::path::{Path, PathBuf};

use plotters::style::RGBColor;

use crate::draw::{
    Cell, Entry, HeatMap, Legend, Line, LinePanel, auto_range, edges_from_centres, fmt_num, hex,
    sequence_color, species_color,
};
use crate::figures::{HeatFigure, Panels};
use crate::output::Output;
use crate::source::{Series, Source};
use crate::{FileKind, PlotError};

const RADIUS: &str = schema::FIELDS_RADIUS_M;
const VF: &str = schema::FIELDS_VOLUME_FRACTION;
const IFACE: &str = schema::OBSERVABLES_INTERFACE_RADIUS;
const RED_HCT: &str = schema::OBSERVABLES_RED_LAYER_HEMATOCRIT;
const LAYERS: &str = schema::OBSERVABLES_LAYER_FRACTION;

/// Profiles drawn in `volume_fraction_profiles`.
const PROFILE_TIMES: usize = 5;
/// Most columns (frames) and rows (radial bins) of `hematocrit_map`.
const MAP_COLUMNS: usize = 300;
const MAP_ROWS: usize = 300;
/// A species whose mean initial volume fraction is at least this is drawn
/// on a linear axis in `volume_fraction_profiles` (as are red cells).
const DENSE: f64 = 0.05;
/// Floor of the normalised log axis of dilute species.
const NORM_FLOOR: f64 = 1e-3;

/// Plots a field (hindered-settling) run: writes `volume_fraction_profiles`,
/// `interfaces`, `hematocrit_map` and, if the file has layer fractions,
/// `layer_fraction` (each `.png` and `.svg`) into `out_dir` and returns the
/// paths written.
///
/// Reads:
/// - `/fields/radius_m` `[Nr]` (m, cell centres);
/// - `/fields/volume_fraction/{time,value}`, value `[T][Nr][S]` with group
///   attributes `names` (class labels) and `species` (the species of each
///   class); frames are read one at a time (about five for the profiles and
///   at most 300 for the map);
/// - `/observables/interface_radius/{time,value}` `[T][2]` (m; attribute
///   `names` = plasma_buffy, buffy_red; NaN while an interface is absent);
/// - optional: `/observables/red_layer_hematocrit/{time,value}` `[T][1]`
///   (drawn on the right axis of `interfaces`) and
///   `/observables/layer_fraction/{time,value}` `[T][Sp][3]` (attributes
///   `names` = species, `layers`).
///
/// `volume_fraction_profiles` has one panel per species (classes summed),
/// one line per time. Red cells, and any species whose mean initial volume
/// fraction is at least 0.05, are drawn as φ on a linear axis; dilute
/// species as φ divided by their mean initial φ₀ on a log axis, so that
/// enrichment in the buffy coat and depletion elsewhere are both visible
/// (values below 10⁻³ φ₀ are drawn at 10⁻³). `hematocrit_map` colours
/// radius against time by the red-cell volume fraction (the sum of the
/// classes of species `rbc`), with the two interfaces drawn over it.
///
/// # Errors
/// See [`plot_file`](crate::plot_file).
pub fn plot_field_run(input: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let src = Source::open(input, FileKind::FieldRun)?;
    plot(&src, out_dir)
}

/// Frame indices spread evenly over `0..t` (at most `k`, first and last
/// included).
pub(crate) fn spread(t: usize, k: usize) -> Vec<usize> {
    if t <= k {
        return (0..t).collect();
    }
    let mut v: Vec<usize> = (0..k)
        .map(|i| ((i as f64) * (t - 1) as f64 / (k - 1) as f64).round() as usize)
        .collect();
    v.dedup();
    v
}

/// The pretty name of an interface.
fn interface_name(n: &str) -> String {
    match n {
        "plasma_buffy" => "plasma / buffy-coat interface".into(),
        "buffy_red" => "buffy-coat / red-cell interface".into(),
        other => other.replace('_', " "),
    }
}

/// The pretty name of a layer.
fn layer_name(n: &str) -> String {
    match n {
        "buffy_coat" => "buffy coat".into(),
        "red_cells" => "red cells".into(),
        other => other.replace('_', " "),
    }
}

/// Sums the classes of a frame `[Nr][S]` per species: `out[k][i]`.
fn per_species(
    frame: &[f64],
    nr: usize,
    s: usize,
    class_species: &[usize],
    n_species: usize,
) -> Vec<Vec<f64>> {
    let mut out = vec![vec![0.0; nr]; n_species];
    for i in 0..nr {
        for c in 0..s {
            out[class_species[c]][i] += frame[i * s + c];
        }
    }
    out
}

pub(crate) fn plot(src: &Source, out_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let radius = src.vector(RADIUS, None)?;
    let nr = radius.len();
    if nr == 0 {
        return Err(src.malformed(RADIUS, "is empty"));
    }
    let value = format!("{VF}/value");
    let shape = src.shape(&value)?;
    if shape.len() != 3 || shape[1] != nr || shape[2] == 0 {
        return Err(src.malformed(
            &value,
            format!("has shape {shape:?} where [T, {nr}, S] with S > 0 was expected"),
        ));
    }
    let (frames, s) = (shape[0], shape[2]);
    if frames == 0 {
        return Err(src.malformed(&value, "has no frames"));
    }
    let time = src.vector(&format!("{VF}/time"), Some(frames))?;
    src.names(VF, "names", Some(s))?;
    let class_species_names = src.names(VF, "species", Some(s))?;
    let mut species: Vec<String> = Vec::new();
    let class_species: Vec<usize> = class_species_names
        .iter()
        .map(|n| match species.iter().position(|x| x == n) {
            Some(k) => k,
            None => {
                species.push(n.clone());
                species.len() - 1
            }
        })
        .collect();
    let n_species = species.len();

    let iface = src.series(IFACE, &[Some(2)])?;
    let iface_names = match src.opt_attr(IFACE, "names") {
        Some(_) => src.names(IFACE, "names", Some(2))?,
        None => vec!["plasma_buffy".into(), "buffy_red".into()],
    };
    let red_hct = if src.has_group(RED_HCT) {
        Some(src.series(RED_HCT, &[Some(1)])?)
    } else {
        None
    };
    let layers = if src.has_group(LAYERS) {
        let series = src.series(LAYERS, &[None, Some(3)])?;
        let names = src.names(LAYERS, "names", Some(series.shape[1]))?;
        let layer_names = match src.opt_attr(LAYERS, "layers") {
            Some(_) => src.names(LAYERS, "layers", Some(3))?,
            None => vec!["plasma".into(), "buffy_coat".into(), "red_cells".into()],
        };
        Some((series, names, layer_names))
    } else {
        None
    };

    let r_mm: Vec<f64> = radius.iter().map(|r| r * 1e3).collect();

    // Profiles at a few times.
    let first = per_species(&src.frame(&value, 0)?, nr, s, &class_species, n_species);
    let mean0: Vec<f64> = first
        .iter()
        .map(|v| v.iter().sum::<f64>() / nr as f64)
        .collect();
    let picks = spread(frames, PROFILE_TIMES);
    let mut profiles = Vec::with_capacity(picks.len());
    for &f in &picks {
        let frame = src.frame(&value, f)?;
        profiles.push(per_species(&frame, nr, s, &class_species, n_species));
    }
    let fig_profiles = profiles_figure(&species, &mean0, &picks, &time, &profiles, &r_mm);

    // The red-cell map.
    let rbc = species.iter().position(|n| n == "rbc");
    let (map_species, map_note) = match rbc {
        Some(k) => (k, None),
        None => {
            let k = (0..n_species)
                .max_by(|&a, &b| mean0[a].total_cmp(&mean0[b]))
                .unwrap_or(0);
            (
                k,
                Some(format!(
                    "no red cells (species \"rbc\") in this run: showing {}",
                    species[k]
                )),
            )
        }
    };
    let columns = spread(frames, MAP_COLUMNS);
    let bin = nr.div_ceil(MAP_ROWS);
    let rows = nr.div_ceil(bin);
    let mut cells = vec![Cell::Empty; rows * columns.len()];
    let mut vmax: f64 = 0.0;
    for (ci, &f) in columns.iter().enumerate() {
        let frame = src.frame(&value, f)?;
        let sums = per_species(&frame, nr, s, &class_species, n_species);
        let col = &sums[map_species];
        for row in 0..rows {
            let part = &col[row * bin..((row + 1) * bin).min(nr)];
            let v = part.iter().sum::<f64>() / part.len() as f64;
            if v.is_finite() {
                vmax = vmax.max(v);
            }
            cells[row * columns.len() + ci] = Cell::Value(v);
        }
    }
    let r_edges = edges_from_centres(&r_mm);
    let y_edges: Vec<f64> = (0..=rows).map(|k| r_edges[(k * bin).min(nr)]).collect();
    let t_centres: Vec<f64> = columns.iter().map(|&f| time[f]).collect();
    let mut map = HeatMap::new("time (s)", "radius (mm)");
    map.x_edges = edges_from_centres(&t_centres);
    map.y_edges = y_edges;
    map.cells = cells;
    map.range = (0.0, if vmax > 0.0 { vmax } else { 1.0 });
    let what = if rbc.is_some() {
        "red-cell volume fraction φ_rbc (–)".to_owned()
    } else {
        format!("volume fraction of {} (–)", species[map_species])
    };
    map.colorbar = Some(what);
    for (j, name) in iface_names.iter().enumerate() {
        let pts = iface
            .column(j)
            .into_iter()
            .map(|(t, r)| (t, r * 1e3))
            .collect();
        let mut line = Line::new(interface_name(name), pts, RGBColor(255, 255, 255));
        if j == 1 {
            line = line.dashed();
        }
        map.overlays.push(line);
    }
    let mut fig_map = HeatFigure::new(
        if rbc.is_some() {
            "Red-cell volume fraction against radius and time"
        } else {
            "Volume fraction against radius and time"
        },
        map,
    );
    fig_map.notes.push(format!(
        "white lines: {} (solid) and {} (dashed)",
        interface_name(&iface_names[0]),
        interface_name(&iface_names[1])
    ));
    if columns.len() < frames || bin > 1 {
        fig_map.notes.push(format!(
            "{} of {} frames shown; radial cells averaged in groups of {}",
            columns.len(),
            frames,
            bin
        ));
    }
    fig_map.notes.extend(map_note);

    let fig_iface = interfaces_figure(&iface, &iface_names, red_hct.as_ref());
    let fig_layers = layers
        .as_ref()
        .map(|(series, names, layer_names)| layers_figure(series, names, layer_names));

    let mut out = Output::new(out_dir)?;
    out.figure("volume_fraction_profiles", &fig_profiles)?;
    out.figure("interfaces", &fig_iface)?;
    out.figure("hematocrit_map", &fig_map)?;
    if let Some(fig) = &fig_layers {
        out.figure("layer_fraction", fig)?;
    }
    out.commit()
}

fn profiles_figure(
    species: &[String],
    mean0: &[f64],
    picks: &[usize],
    time: &[f64],
    profiles: &[Vec<Vec<f64>>],
    r_mm: &[f64],
) -> Panels {
    let mut panels = Vec::with_capacity(species.len());
    let mut any_log = false;
    for (k, name) in species.iter().enumerate() {
        let dense = name == "rbc" || mean0[k] >= DENSE;
        let mut panel = if dense {
            LinePanel::new("radius (mm)", "volume fraction φ (–)")
        } else if mean0[k] > 0.0 {
            LinePanel::new("radius (mm)", "φ / φ₀ (–), log scale")
        } else {
            LinePanel::new("radius (mm)", "volume fraction φ (–), log scale")
        };
        panel.legend = Legend::None;
        panel.caption = if dense || mean0[k] <= 0.0 {
            name.clone()
        } else {
            format!("{name} (φ₀ = {})", fmt_num(mean0[k]))
        };
        for (p, prof) in profiles.iter().enumerate() {
            let pts = r_mm
                .iter()
                .zip(&prof[k])
                .map(|(&r, &v)| {
                    let y = if dense || mean0[k] <= 0.0 {
                        v
                    } else {
                        (v / mean0[k]).max(NORM_FLOOR)
                    };
                    (r, y)
                })
                .collect();
            panel.lines.push(
                Line::new(
                    format!("t = {} s", fmt_num(time[picks[p]])),
                    pts,
                    sequence_color(p, profiles.len()),
                )
                .width(crate::draw::sequence_width(p, profiles.len()))
                .unlabelled(),
            );
        }
        if dense {
            let ys = panel
                .lines
                .iter()
                .flat_map(|l| l.points.iter().map(|q| q.1));
            let (_, hi) = auto_range(ys, false, false);
            panel.y_range = Some((0.0, if hi > 0.0 { hi * 1.05 } else { 1.0 }));
        } else {
            any_log = true;
            panel.y_log = true;
            if mean0[k] > 0.0 {
                let ys = panel
                    .lines
                    .iter()
                    .flat_map(|l| l.points.iter().map(|q| q.1));
                let (_, hi) = auto_range(ys, true, false);
                // A little below the floor, so that its tick shows.
                panel.y_range = Some((NORM_FLOOR / 1.5, hi.max(10.0)));
            }
        }
        panels.push(panel);
    }
    let cols = match species.len() {
        1 => 1,
        2 | 4 => 2,
        _ => 3,
    };
    let mut fig = Panels::grid("Volume fraction profiles per species", panels, cols);
    fig.legend = picks
        .iter()
        .enumerate()
        .map(|(p, &f)| {
            Entry::new(
                format!("t = {} s", fmt_num(time[f])),
                sequence_color(p, picks.len()),
            )
        })
        .collect();
    fig.notes
        .push("Each species' classes summed. Red cells (and any species with mean initial φ ≥ 0.05): φ on a linear axis.".into());
    if any_log {
        fig.notes.push(
            "Dilute species: φ / φ₀ on a log axis, φ₀ = mean initial φ over the radial cells; values below 10⁻³ φ₀ drawn at 10⁻³.".into(),
        );
    }
    fig
}

fn interfaces_figure(iface: &Series, names: &[String], red_hct: Option<&Series>) -> Panels {
    let mut panel = LinePanel::new("time (s)", "interface radius (mm)");
    panel.legend = Legend::None;
    let colors = [hex(0xe6ab02), hex(0xd62728)];
    let mut legend = Vec::new();
    for (j, name) in names.iter().enumerate() {
        let pts = iface
            .column(j)
            .into_iter()
            .map(|(t, r)| (t, r * 1e3))
            .collect();
        panel
            .lines
            .push(Line::new(interface_name(name), pts, colors[j % 2]).width(3));
        legend.push(Entry::new(interface_name(name), colors[j % 2]));
    }
    let any = panel
        .lines
        .iter()
        .any(|l| l.points.iter().any(|p| p.1.is_finite()));
    if !any {
        panel.note = Some("no interface detected".into());
    }
    if let Some(h) = red_hct {
        let color = hex(0x7b2d26);
        panel.secondary = Some(crate::draw::Secondary {
            y_label: "red-layer hematocrit (–)".into(),
            lines: vec![Line::new("red-layer hematocrit", h.column(0), color).dashed()],
            y_range: None,
        });
        legend.push(Entry {
            dashed: true,
            ..Entry::new("red-layer hematocrit (right axis)", color)
        });
    }
    let mut fig = Panels::single("Layer interfaces against time", panel);
    fig.legend = legend;
    fig.notes
        .push("Gaps: the interface is not (yet) detected at that time.".into());
    fig
}

fn layers_figure(series: &Series, names: &[String], layer_names: &[String]) -> Panels {
    let sp = names.len();
    let mut panels = Vec::with_capacity(3);
    for (l, layer) in layer_names.iter().enumerate() {
        let mut panel = LinePanel::new("time (s)", "fraction of the species (–)");
        panel.caption = layer_name(layer);
        panel.legend = Legend::None;
        panel.y_range = Some((-0.02, 1.02));
        for (k, name) in names.iter().enumerate() {
            let pts = series
                .time
                .iter()
                .enumerate()
                .map(|(t, &time)| (time, series.value[(t * sp + k) * 3 + l]))
                .collect();
            panel
                .lines
                .push(Line::new(name.as_str(), pts, species_color(name, k)));
        }
        panels.push(panel);
    }
    let mut fig = Panels::grid("Fraction of each species in each layer", panels, 3);
    fig.size.1 = 560;
    fig.legend = names
        .iter()
        .enumerate()
        .map(|(k, n)| Entry::new(n.as_str(), species_color(n, k)))
        .collect();
    fig
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spreads_frames() {
        assert_eq!(spread(3, 5), [0, 1, 2]);
        assert_eq!(spread(9, 5), [0, 2, 4, 6, 8]);
        assert_eq!(spread(100, 5), [0, 25, 50, 74, 99]);
        assert_eq!(spread(1, 5), [0]);
    }
}
