//! Plots of a continuous-flow channel run.

use buffycoat_h5::schema;
use std::path::{Path, PathBuf};

use plotters::style::RGBColor;

use crate::draw::{
    Cell, Entry, HeatMap, Legend, Line, LinePanel, edges_from_centres, fmt_num, hex,
};
use crate::figures::{HeatFigure, Panels};
use crate::output::Output;
use crate::source::Source;
use crate::{FileKind, PlotError};

const GRADE: &str = schema::OBSERVABLES_GRADE_EFFICIENCY;
/// Most columns (stations) and rows (radial bins) of `channel_hematocrit`.
const MAP_COLUMNS: usize = 400;
const MAP_ROWS: usize = 300;
/// The share of the channel length over which the port split lines are
/// drawn, ending at the outlet.
const SPLIT_SPAN: f64 = 0.15;

/// The default port names, in the order of the probability columns.
const PORTS: [&str; 3] = schema::PORT_NAMES;

/// Plots a channel run: writes `channel_hematocrit` and, if the file has
/// grade-efficiency tables, `grade_efficiency` (each `.png` and `.svg`)
/// into `out_dir` and returns the paths written.
///
/// Reads:
/// - `/fields/channel/radius_m` `[Nr]` (m, cell centres across the depth),
///   `/fields/channel/along_m` `[K]` (m, stations along the channel),
///   `/fields/channel/hematocrit` `[K][Nr]`,
///   `/fields/channel/port_split_radius_m` `[2]` (m; drawn as white lines
///   over the last 15 % of the channel, ending at the outlet);
/// - optional: for each species group under `/observables/grade_efficiency`,
///   `diameter_m` `[B]` (bin centres), `probability` `[B][3]` (ports plasma,
///   collect, red_cells) and `count` `[B]`; bins with no tracer cells are
///   skipped. Diameters are shown in µm.
///
/// # Errors
/// See [`plot_file`](crate::plot_file).
pub fn plot_channel_run(input: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let src = Source::open(input, FileKind::ChannelRun)?;
    plot(&src, out_dir)
}

/// Block-averages a `[rows][cols]` grid (row-major) into at most
/// `max_rows × max_cols` blocks; returns the averaged grid, the block sizes
/// and the new dimensions.
fn coarsen(
    v: &[f64],
    rows: usize,
    cols: usize,
    max_rows: usize,
    max_cols: usize,
) -> (Vec<f64>, usize, usize, usize, usize) {
    let (br, bc) = (rows.div_ceil(max_rows), cols.div_ceil(max_cols));
    let (nr, nc) = (rows.div_ceil(br), cols.div_ceil(bc));
    let mut out = vec![0.0; nr * nc];
    for r in 0..nr {
        for c in 0..nc {
            let (mut sum, mut n) = (0.0, 0usize);
            for i in r * br..((r + 1) * br).min(rows) {
                for j in c * bc..((c + 1) * bc).min(cols) {
                    sum += v[i * cols + j];
                    n += 1;
                }
            }
            out[r * nc + c] = sum / n as f64;
        }
    }
    (out, br, bc, nr, nc)
}

/// Coarse edges: every `b`-th of `edges`, and the last one.
fn coarse_edges(edges: &[f64], b: usize, n: usize) -> Vec<f64> {
    let last = edges.len() - 1;
    (0..=n).map(|k| edges[(k * b).min(last)]).collect()
}

/// The pretty name of a port.
fn port_name(n: &str) -> String {
    match n {
        "red_cells" => "red cells".into(),
        other => other.replace('_', " "),
    }
}

fn port_color(n: &str, i: usize) -> RGBColor {
    match n {
        "plasma" => hex(0xe6ab02),
        "collect" => hex(0x1f77b4),
        "red_cells" => hex(0xd62728),
        _ => crate::draw::cycle_color(i),
    }
}

pub(crate) fn plot(src: &Source, out_dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let radius_path = schema::FIELDS_CHANNEL_RADIUS_M;
    let along_path = schema::FIELDS_CHANNEL_ALONG_M;
    let hct_path = schema::FIELDS_CHANNEL_HEMATOCRIT;
    let split_path = schema::FIELDS_CHANNEL_PORT_SPLIT_RADIUS_M;
    let radius = src.vector(radius_path, None)?;
    let along = src.vector(along_path, None)?;
    let (nr, k) = (radius.len(), along.len());
    if nr == 0 {
        return Err(src.malformed(radius_path, "is empty"));
    }
    if k == 0 {
        return Err(src.malformed(along_path, "is empty"));
    }
    let (hct, _) = src.f64s(hct_path, &[Some(k), Some(nr)])?;
    let splits = src.vector(split_path, Some(2))?;

    // The map: rows = radius, columns = stations; hematocrit is [K][Nr].
    let mut grid = vec![0.0; nr * k];
    for (i, row) in hct.chunks_exact(nr).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            grid[j * k + i] = v;
        }
    }
    let (grid, br, bc, rows, cols) = coarsen(&grid, nr, k, MAP_ROWS, MAP_COLUMNS);
    let r_mm: Vec<f64> = radius.iter().map(|r| r * 1e3).collect();
    let a_mm: Vec<f64> = along.iter().map(|a| a * 1e3).collect();
    let mut map = HeatMap::new("distance along the channel (mm)", "radius (mm)");
    map.x_edges = coarse_edges(&edges_from_centres(&a_mm), bc, cols);
    map.y_edges = coarse_edges(&edges_from_centres(&r_mm), br, rows);
    let vmax = grid
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    map.range = (0.0, if vmax > 0.0 { vmax } else { 1.0 });
    map.cells = grid.into_iter().map(Cell::Value).collect();
    map.colorbar = Some("hematocrit (–)".into());
    let (x0, x1) = (map.x_edges[0], map.x_edges[cols]);
    let xs = x1 - SPLIT_SPAN * (x1 - x0);
    for &r in &splits {
        map.overlays.push(
            Line::new(
                "",
                vec![(xs, r * 1e3), (x1, r * 1e3)],
                RGBColor(255, 255, 255),
            )
            .unlabelled()
            .width(3),
        );
    }
    let mut fig_map = HeatFigure::new("Hematocrit in the channel", map);
    let (inner, outer) = crate::draw::fmt_pair(splits[0] * 1e3, splits[1] * 1e3, 3);
    fig_map.notes.push(format!(
        "White lines at the outlet: port split radii {inner} mm (plasma | collect) and {outer} mm (collect | red cells)."
    ));
    if br > 1 || bc > 1 {
        fig_map.notes.push(format!(
            "Averaged over blocks of {br} radial × {bc} axial cells for display."
        ));
    }

    let fig_grade = if src.has_group(GRADE) {
        Some(grade_figure(src)?)
    } else {
        None
    };

    let mut out = Output::new(out_dir)?;
    out.figure("channel_hematocrit", &fig_map)?;
    if let Some(fig) = &fig_grade {
        out.figure("grade_efficiency", fig)?;
    }
    out.commit()
}

fn grade_figure(src: &Source) -> Result<Panels, PlotError> {
    let species = src.groups_in(GRADE)?;
    if species.is_empty() {
        return Err(src.malformed(GRADE, "has no species groups"));
    }
    let mut ports: Vec<String> = PORTS.iter().map(|s| (*s).to_owned()).collect();
    let mut panels = Vec::with_capacity(species.len());
    for name in &species {
        let d_path = schema::grade_dataset(name, schema::GRADE_DIAMETER_M);
        let diameter = src.vector(&d_path, None)?;
        let b = diameter.len();
        let prob_path = schema::grade_dataset(name, schema::GRADE_PROBABILITY);
        let (prob, _) = src.f64s(&prob_path, &[Some(b), Some(3)])?;
        let count = src.vector(&schema::grade_dataset(name, schema::GRADE_COUNT), Some(b))?;
        for (obj, attr) in [(prob_path.as_str(), "ports"), (prob_path.as_str(), "names")] {
            if src.opt_attr(obj, attr).is_some() {
                ports = src.names(obj, attr, Some(3))?;
            }
        }
        let mut panel = LinePanel::new(
            "cell diameter (µm)",
            "probability of leaving through the port (–)",
        );
        panel.legend = Legend::None;
        panel.y_range = Some((-0.02, 1.02));
        let kept: Vec<usize> = (0..b)
            .filter(|&i| count[i] > 0.0 && diameter[i].is_finite())
            .collect();
        let tracers: f64 = kept.iter().map(|&i| count[i]).sum();
        panel.caption = format!("{name} ({} tracer cells)", fmt_num(tracers));
        for (p, port) in ports.iter().enumerate() {
            let pts = kept
                .iter()
                .map(|&i| (diameter[i] * 1e6, prob[i * 3 + p]))
                .collect();
            panel.lines.push(
                Line::new(port_name(port), pts, port_color(port, p))
                    .markers()
                    .unlabelled(),
            );
        }
        // How much each bin's probabilities can be trusted: its tracer count on the right axis
        // (a bin of n tracers resolves probabilities only in steps of 1/n).
        panel.secondary = Some(crate::draw::Secondary {
            y_label: "tracer cells in the bin".into(),
            lines: vec![
                Line::new(
                    "tracers per bin",
                    kept.iter()
                        .map(|&i| (diameter[i] * 1e6, count[i]))
                        .collect(),
                    RGBColor(120, 120, 120),
                )
                .dashed()
                .unlabelled(),
            ],
            y_range: Some((
                0.0,
                1.05 * kept.iter().map(|&i| count[i]).fold(1.0, f64::max),
            )),
        });
        if kept.is_empty() {
            panel.note = Some("no tracer cells".into());
        } else {
            let (lo, hi) = kept
                .iter()
                .map(|&i| diameter[i] * 1e6)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, c), d| {
                    (a.min(d), c.max(d))
                });
            let pad = if hi > lo {
                0.05 * (hi - lo)
            } else {
                0.1 * hi.abs().max(0.1)
            };
            panel.x_range = Some((lo - pad, hi + pad));
        }
        panels.push(panel);
    }
    let cols = match species.len() {
        1 => 1,
        2 | 4 => 2,
        _ => 3,
    };
    let mut fig = Panels::grid(
        "Grade efficiency: port reached against cell diameter",
        panels,
        cols,
    );
    fig.legend = ports
        .iter()
        .enumerate()
        .map(|(p, n)| Entry::new(format!("{} port", port_name(n)), port_color(n, p)))
        .collect();
    fig.legend.push(Entry {
        dashed: true,
        ..Entry::new("tracer cells per bin (right axis)", RGBColor(120, 120, 120))
    });
    fig.notes
        .push("Share of the tracer cells of each diameter bin leaving through each port; bins without tracers are skipped.".into());
    fig.notes.push(
        "Grey dashed: tracer cells per bin (right axis). A bin of n tracers gives a probability p ± √(p(1 − p)/n) (binomial standard error): with 1–2 tracers only 0, ½ or 1.".into(),
    );
    Ok(fig)
}

#[cfg(test)]
mod tests {
    use super::coarsen;

    #[test]
    fn coarsens_by_block_means() {
        let v: Vec<f64> = (0..12).map(f64::from).collect(); // 3 × 4
        let (g, br, bc, r, c) = coarsen(&v, 3, 4, 2, 2);
        assert_eq!((br, bc, r, c), (2, 2, 2, 2));
        assert_eq!(g, [2.5, 4.5, 8.5, 10.5]);
        let (g, ..) = coarsen(&v, 3, 4, 10, 10);
        assert_eq!(g, v);
    }
}
