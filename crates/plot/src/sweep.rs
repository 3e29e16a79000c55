//! Plots of a parameter sweep.

use buffycoat_h5::schema;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::draw::{Cell, HeatMap, Legend, Line, LinePanel, fmt_num, hex};
use crate::figures::{HeatFigure, Panels};
use crate::output::Output;
use crate::source::Source;
use crate::window::{WindowCondition, parse_window};
use crate::{FileKind, PlotError, PlotOptions, display_unit, file_stem};

const KEYS: &str = schema::SWEEP_GRID_KEYS;
const SHAPE: &str = schema::SWEEP_GRID_SHAPE;
const STATUS: &str = schema::SWEEP_STATUS;
const METRICS: &str = schema::SWEEP_METRICS;

/// Plots a sweep: for every selected metric writes `sweep_<metric>` (a heat
/// map over the first two varied keys, or a line against the only key of a
/// one-dimensional sweep), and with a window also `window` (each `.png` and
/// `.svg`), into `out_dir`; returns the paths written. `<metric>` is the
/// metric's name with characters other than letters, digits, `.`, `-` and
/// `_` replaced by `_`.
///
/// Reads:
/// - `/sweep/grid/keys` (strings: the varied keys in grid order) and
///   `/sweep/grid/shape` `[D]` (points per key); point `p`'s grid index is
///   row-major over the keys, the last key varying fastest;
/// - `/sweep/parameters/<key>` `[P]` for each varied key (attribute `unit`
///   optional);
/// - `/sweep/metrics/<name>` `[P]` (attribute `unit` where dimensional);
/// - `/sweep/status` `[P]` (0 ok, 1 failed, 2 not run).
///
/// Heat maps put the first key on x and the second on y, one cell per grid
/// point with the key's values as tick labels, and a colour bar with the
/// metric's name and unit. Failed and not-run points are grey and hatched;
/// points without a value (NaN) very light grey. With more than two keys,
/// the other keys are held at their first value, as the title says.
///
/// `options.metrics` selects metrics (default: all, in name order);
/// `options.window` (see [`parse_window`]) outlines the grid points where
/// every condition holds (conditions may name metrics or varied keys; failed
/// points are never inside) on every heat map, or shades them on line plots.
///
/// If a unit attribute is missing, a unit is inferred from the name's
/// suffix (`rpm`, `_ml_min` → mL/min, `_m`, `_s`, `_ml`, `_per_ul`, …).
///
/// # Errors
/// See [`plot_file`](crate::plot_file); in particular
/// [`PlotError::UnknownMetric`] for a metric not in the file,
/// [`PlotError::Window`] for a bad window expression or name, and
/// [`PlotError::Malformed`] for an empty sweep.
pub fn plot_sweep(
    input: &Path,
    out_dir: &Path,
    options: &PlotOptions,
) -> Result<Vec<PathBuf>, PlotError> {
    if let Some(w) = &options.window {
        parse_window(w)?;
    }
    let src = Source::open(input, FileKind::Sweep)?;
    plot(&src, out_dir, options)
}

/// A unit for a dotted name without a `unit` attribute, from its suffix.
/// `Some("")` means dimensionless, `None` unknown.
fn infer_unit(name: &str) -> Option<&'static str> {
    let last = name.rsplit('.').next().unwrap_or(name);
    let suffixes: [(&str, &str); 14] = [
        ("_mg_kg_min", "mg/kg/min"),
        ("_ml_min", "mL/min"),
        ("_per_ul", "µL⁻¹"),
        ("_per_kg", "kg⁻¹"),
        ("_kg_m3", "kg m⁻³"),
        ("_pa_s", "Pa s"),
        ("_deg", "°"),
        ("_ml", "mL"),
        ("_min", "min"),
        ("_kg", "kg"),
        ("_cm", "cm"),
        ("_mm", "mm"),
        ("_m", "m"),
        ("_s", "s"),
    ];
    if last == "rpm" || last.ends_with("_rpm") {
        return Some("rpm");
    }
    if let Some((_, u)) = suffixes.iter().find(|(s, _)| last.ends_with(s)) {
        return Some(u);
    }
    let dimensionless = [
        "hematocrit",
        "fraction",
        "efficiency",
        "purity",
        "loss",
        "ratio",
        "ce1",
        "ce2",
        "volumes",
    ];
    let lower = name.to_ascii_lowercase();
    if dimensionless.iter().any(|d| lower.contains(d)) {
        return Some("");
    }
    None
}

/// An axis or colour-bar label: the name with its unit.
fn label(name: &str, unit: Option<&str>) -> String {
    if let Some(u) = unit {
        return crate::with_unit(name, Some(u));
    }
    match infer_unit(name) {
        Some("") => format!("{name} (–)"),
        Some(u) => format!("{name} ({u})"),
        None => name.to_owned(),
    }
}

/// A sweep quantity: a varied key or a metric.
struct Quantity {
    name: String,
    unit: Option<String>,
    values: Vec<f64>,
}

impl Quantity {
    fn label(&self) -> String {
        label(&self.name, self.unit.as_deref())
    }

    fn unit_text(&self) -> String {
        match self.unit.as_deref().and_then(display_unit) {
            Some(u) => format!(" {u}"),
            None => match infer_unit(&self.name) {
                Some(u) if !u.is_empty() => format!(" {u}"),
                _ => String::new(),
            },
        }
    }
}

/// Whether sorted positive values are evenly spaced on a log scale and not
/// on a linear one (a `start:stop:count:log` spec).
fn geometric(v: &[f64]) -> bool {
    if v.len() < 3 || v.iter().any(|&x| !(x > 0.0 && x.is_finite())) {
        return false;
    }
    let r0 = v[1] / v[0];
    let d0 = v[1] - v[0];
    let ratios = v
        .windows(2)
        .all(|w| ((w[1] / w[0]) / r0 - 1.0).abs() < 1e-6);
    let linear = v
        .windows(2)
        .all(|w| ((w[1] - w[0]) - d0).abs() <= 1e-9 * d0.abs().max(1e-300));
    ratios && !linear && r0 > 1.0
}

pub(crate) fn plot(
    src: &Source,
    out_dir: &Path,
    options: &PlotOptions,
) -> Result<Vec<PathBuf>, PlotError> {
    let conditions = match &options.window {
        Some(w) => Some(parse_window(w)?),
        None => None,
    };
    src.require_group(schema::SWEEP)?;
    let keys = src.strings(KEYS)?;
    if keys.is_empty() {
        return Err(src.malformed(KEYS, "empty sweep: no varied keys"));
    }
    let shape_raw = src.ints(SHAPE, Some(keys.len()))?;
    if let Some(bad) = shape_raw.iter().find(|&&n| n < 0) {
        return Err(src.malformed(SHAPE, format!("negative number of points {bad}")));
    }
    let shape: Vec<usize> = shape_raw.iter().map(|&n| n as usize).collect();
    let points = shape
        .iter()
        .try_fold(1usize, |a, &n| a.checked_mul(n))
        .ok_or_else(|| src.malformed(SHAPE, "too many points"))?;
    let status = src.ints(STATUS, None)?;
    if points == 0 || status.is_empty() {
        return Err(src.malformed(STATUS, "empty sweep: no points"));
    }
    if status.len() != points {
        return Err(src.malformed(
            STATUS,
            format!(
                "has {} points but the grid {shape:?} has {points}",
                status.len()
            ),
        ));
    }
    if let Some((i, bad)) = status
        .iter()
        .enumerate()
        .find(|(_, s)| !(0..=2).contains(*s))
    {
        return Err(src.malformed(
            STATUS,
            format!("point {i} has status {bad}; allowed 0 (ok), 1 (failed), 2 (not run)"),
        ));
    }
    let ok: Vec<bool> = status.iter().map(|&s| s == 0).collect();

    let mut params = Vec::with_capacity(keys.len());
    for key in &keys {
        let path = schema::sweep_parameter(key);
        params.push(Quantity {
            name: key.clone(),
            unit: src.opt_attr(&path, "unit"),
            values: src.vector(&path, Some(points))?,
        });
    }

    let available = src.datasets_in(METRICS)?;
    if available.is_empty() {
        return Err(src.malformed(METRICS, "empty sweep: no metrics"));
    }
    let selected: Vec<String> = if options.metrics.is_empty() {
        available.clone()
    } else {
        let mut seen = HashSet::new();
        let mut v = Vec::new();
        for m in &options.metrics {
            if !available.contains(m) {
                return Err(PlotError::UnknownMetric {
                    path: src.path().to_path_buf(),
                    name: m.clone(),
                    available: available.clone(),
                });
            }
            if seen.insert(m.clone()) {
                v.push(m.clone());
            }
        }
        v
    };
    let read_metric = |name: &str| -> Result<Quantity, PlotError> {
        let path = format!("{METRICS}/{name}");
        Ok(Quantity {
            name: name.to_owned(),
            unit: src.opt_attr(&path, "unit"),
            values: src.vector(&path, Some(points))?,
        })
    };
    let metrics = selected
        .iter()
        .map(|m| read_metric(m))
        .collect::<Result<Vec<_>, _>>()?;

    // The window: which points satisfy every condition.
    let window = match &conditions {
        None => None,
        Some(conds) => {
            let mut inside = ok.clone();
            for c in conds {
                let values = if let Some(q) = params.iter().find(|q| q.name == c.name) {
                    q.values.clone()
                } else if available.contains(&c.name) {
                    read_metric(&c.name)?.values
                } else {
                    return Err(PlotError::Window {
                        condition: c.to_string(),
                        message: format!(
                            "{}: no metric or varied key `{}` in this sweep (metrics: {}; keys: {})",
                            src.path().display(),
                            c.name,
                            available.join(", "),
                            keys.join(", ")
                        ),
                    });
                };
                for (p, v) in values.iter().enumerate() {
                    inside[p] &= c.holds(*v);
                }
            }
            Some((conds.clone(), inside))
        }
    };

    let grid = Grid::new(&shape, &params);
    let mut figures: Vec<(String, Fig)> = Vec::new();
    let mut stems = HashSet::new();
    for m in &metrics {
        let mut stem = format!("sweep_{}", file_stem(&m.name));
        let mut n = 2;
        while !stems.insert(stem.clone()) {
            stem = format!("sweep_{}_{n}", file_stem(&m.name));
            n += 1;
        }
        let fig = if keys.len() == 1 {
            Fig::Lines(line_figure(&grid, &params[0], m, &ok, window.as_ref()))
        } else {
            Fig::Heat(heat_figure(&grid, &params, m, &ok, window.as_ref()))
        };
        figures.push((stem, fig));
    }
    if let Some(w) = &window {
        let fig = if keys.len() == 1 {
            Fig::Lines(window_line_figure(&grid, &params[0], &ok, w))
        } else {
            Fig::Heat(window_heat_figure(&grid, &params, &ok, w))
        };
        figures.push(("window".into(), fig));
    }

    let mut out = Output::new(out_dir)?;
    for (name, fig) in &figures {
        match fig {
            Fig::Lines(f) => out.figure(name, f)?,
            Fig::Heat(f) => out.figure(name, f)?,
        }
    }
    out.commit()
}

enum Fig {
    Lines(Panels),
    Heat(HeatFigure),
}

/// The grid of a sweep and the slice that is plotted.
struct Grid {
    shape: Vec<usize>,
    strides: Vec<usize>,
    /// The values of each key along its axis.
    axes: Vec<Vec<f64>>,
}

impl Grid {
    fn new(shape: &[usize], params: &[Quantity]) -> Self {
        let d = shape.len();
        let mut strides = vec![1; d];
        for k in (0..d.saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * shape[k + 1];
        }
        let axes = (0..d)
            .map(|k| {
                (0..shape[k])
                    .map(|j| params[k].values[j * strides[k]])
                    .collect()
            })
            .collect();
        Grid {
            shape: shape.to_vec(),
            strides,
            axes,
        }
    }

    /// The point at index `i` of the first key and `j` of the second, the
    /// others at 0.
    fn point(&self, i: usize, j: usize) -> usize {
        i * self.strides[0] + j * self.strides[1]
    }

    /// The title suffix saying where the other keys are held.
    fn slice_note(&self, params: &[Quantity]) -> Option<String> {
        if self.shape.len() <= 2 {
            return None;
        }
        let held: Vec<String> = params[2..]
            .iter()
            .zip(&self.axes[2..])
            .map(|(q, a)| format!("{} = {}{}", q.name, fmt_num(a[0]), q.unit_text()))
            .collect();
        Some(format!("at {} (first values)", held.join(", ")))
    }
}

fn conditions_text(conds: &[WindowCondition]) -> String {
    conds
        .iter()
        .map(|c| format!("{} {} {}", c.name, c.op.symbol(), fmt_num(c.value)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The categorical axes of a heat map over the first two keys.
fn base_map(grid: &Grid, params: &[Quantity]) -> HeatMap {
    let (nx, ny) = (grid.shape[0], grid.shape[1]);
    let mut map = HeatMap::new(params[0].label(), params[1].label());
    map.x_edges = (0..=nx).map(|i| i as f64 - 0.5).collect();
    map.y_edges = (0..=ny).map(|j| j as f64 - 0.5).collect();
    map.x_ticks = Some(grid.axes[0].iter().map(|&v| fmt_num(v)).collect());
    map.y_ticks = Some(grid.axes[1].iter().map(|&v| fmt_num(v)).collect());
    map
}

fn heat_figure(
    grid: &Grid,
    params: &[Quantity],
    m: &Quantity,
    ok: &[bool],
    window: Option<&(Vec<WindowCondition>, Vec<bool>)>,
) -> HeatFigure {
    let (nx, ny) = (grid.shape[0], grid.shape[1]);
    let mut map = base_map(grid, params);
    let mut cells = Vec::with_capacity(nx * ny);
    let (mut failed, mut empty) = (0usize, 0usize);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for j in 0..ny {
        for i in 0..nx {
            let p = grid.point(i, j);
            let v = m.values[p];
            cells.push(if !ok[p] {
                failed += 1;
                Cell::Failed
            } else if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
                Cell::Value(v)
            } else {
                empty += 1;
                Cell::Empty
            });
        }
    }
    map.cells = cells;
    map.range = if lo > hi {
        (0.0, 1.0)
    } else if hi - lo <= 1e-12 * hi.abs().max(1e-300) {
        let d = if hi != 0.0 { 0.05 * hi.abs() } else { 0.5 };
        (lo - d, hi + d)
    } else {
        (lo, hi)
    };
    map.colorbar = Some(m.label());
    let mut notes = Vec::new();
    if let Some((conds, inside)) = window {
        let flags: Vec<bool> = (0..ny)
            .flat_map(|j| (0..nx).map(move |i| (i, j)))
            .map(|(i, j)| inside[grid.point(i, j)])
            .collect();
        let n_in = flags.iter().filter(|&&b| b).count();
        notes.push(format!(
            "White outline: operating window {} ({n_in} of {} points).",
            conditions_text(conds),
            nx * ny
        ));
        if crate::draw::touches_border(&flags, nx, ny) {
            notes.push(BORDER_NOTE.into());
        }
        map.outline = Some(flags);
    }
    if failed > 0 {
        notes.push(format!(
            "Grey, hatched: failed or not run ({failed} points)."
        ));
    }
    if empty > 0 {
        notes.push(format!("Light grey: no value ({empty} points)."));
    }
    if lo > hi {
        notes.push("No point has a value for this metric.".into());
    }
    let mut title = m.name.clone();
    if let Some(s) = grid.slice_note(params) {
        title = format!("{title} {s}");
    }
    let mut fig = HeatFigure::new(title, map);
    fig.notes = notes;
    fig
}

/// The note of a window that reaches the edge of the swept grid.
const BORDER_NOTE: &str = "Dashed outline: the window reaches the edge of the swept values and may extend beyond it (sweep further to find its limit).";

fn window_heat_figure(
    grid: &Grid,
    params: &[Quantity],
    ok: &[bool],
    (conds, inside): &(Vec<WindowCondition>, Vec<bool>),
) -> HeatFigure {
    let (nx, ny) = (grid.shape[0], grid.shape[1]);
    let mut map = base_map(grid, params);
    let mut failed = 0;
    let mut n_in = 0;
    let mut flags = Vec::with_capacity(nx * ny);
    map.cells = (0..ny)
        .flat_map(|j| (0..nx).map(move |i| (i, j)))
        .map(|(i, j)| {
            let p = grid.point(i, j);
            flags.push(inside[p]);
            if !ok[p] {
                failed += 1;
                Cell::Failed
            } else if inside[p] {
                n_in += 1;
                Cell::Color(hex(0x2ca02c))
            } else {
                Cell::Color(hex(0xdedede))
            }
        })
        .collect();
    let at_border = crate::draw::touches_border(&flags, nx, ny);
    map.outline = Some(flags);
    let mut title = "Operating window".to_owned();
    if let Some(s) = grid.slice_note(params) {
        title = format!("{title} {s}");
    }
    let mut fig = HeatFigure::new(title, map);
    fig.notes.push(format!(
        "Green: every condition holds ({n_in} of {} points): {}.",
        nx * ny,
        conditions_text(conds)
    ));
    fig.notes.push("Light grey: some condition fails.".into());
    if at_border {
        fig.notes.push(BORDER_NOTE.into());
    }
    if failed > 0 {
        fig.notes.push(format!(
            "Grey, hatched: failed or not run ({failed} points)."
        ));
    }
    fig
}

/// The x positions of a one-dimensional sweep, sorted, with the point of
/// each.
fn sorted_axis(grid: &Grid) -> Vec<(f64, usize)> {
    let mut xs: Vec<(f64, usize)> = grid.axes[0].iter().copied().zip(0..).collect();
    xs.sort_by(|a, b| a.0.total_cmp(&b.0));
    xs
}

/// Shaded x intervals around the points inside the window (merged where
/// neighbours are both inside).
fn bands(xs: &[(f64, usize)], inside: &[bool], log: bool) -> Vec<(f64, f64)> {
    let mid = |a: f64, b: f64| if log { (a * b).sqrt() } else { 0.5 * (a + b) };
    let n = xs.len();
    let mut out: Vec<(f64, f64)> = Vec::new();
    for k in 0..n {
        if !inside[xs[k].1] || !xs[k].0.is_finite() {
            continue;
        }
        let x = xs[k].0;
        let left = if k > 0 {
            mid(xs[k - 1].0, x)
        } else if n > 1 {
            if log {
                x * x / mid(x, xs[1].0)
            } else {
                x - (mid(x, xs[1].0) - x)
            }
        } else {
            x - 0.5
        };
        let right = if k + 1 < n {
            mid(x, xs[k + 1].0)
        } else if n > 1 {
            if log {
                x * x / mid(xs[k - 1].0, x)
            } else {
                x + (x - mid(xs[k - 1].0, x))
            }
        } else {
            x + 0.5
        };
        match out.last_mut() {
            Some(last) if (last.1 - left).abs() <= 1e-12 * left.abs().max(1.0) => last.1 = right,
            _ => out.push((left, right)),
        }
    }
    out
}

fn line_figure(
    grid: &Grid,
    key: &Quantity,
    m: &Quantity,
    ok: &[bool],
    window: Option<&(Vec<WindowCondition>, Vec<bool>)>,
) -> Panels {
    let xs = sorted_axis(grid);
    let log = geometric(&xs.iter().map(|x| x.0).collect::<Vec<_>>());
    let mut panel = LinePanel::new(key.label(), m.label());
    panel.x_log = log;
    panel.legend = Legend::None;
    let pts: Vec<(f64, f64)> = xs
        .iter()
        .map(|&(x, p)| (x, if ok[p] { m.values[p] } else { f64::NAN }))
        .collect();
    let failed = ok.iter().filter(|&&b| !b).count();
    if pts.iter().all(|p| !p.1.is_finite()) {
        panel.note = Some("no point has a value".into());
    }
    panel.lines.push(
        Line::new(m.name.as_str(), pts, hex(0x1f77b4))
            .markers()
            .unlabelled(),
    );
    let mut notes = Vec::new();
    if let Some((conds, inside)) = window {
        panel.bands = bands(&xs, inside, log);
        let n_in = inside.iter().filter(|&&b| b).count();
        notes.push(format!(
            "Green band: operating window {} ({n_in} of {} points).",
            conditions_text(conds),
            xs.len()
        ));
    }
    if failed > 0 {
        notes.push(format!(
            "Gaps: failed, not-run or valueless points ({failed} failed or not run)."
        ));
    }
    let mut fig = Panels::single(format!("{} against {}", m.name, key.name), panel);
    fig.notes = notes;
    fig
}

fn window_line_figure(
    grid: &Grid,
    key: &Quantity,
    ok: &[bool],
    (conds, inside): &(Vec<WindowCondition>, Vec<bool>),
) -> Panels {
    let xs = sorted_axis(grid);
    let log = geometric(&xs.iter().map(|x| x.0).collect::<Vec<_>>());
    let mut panel = LinePanel::new(key.label(), "inside the window (1 = yes, 0 = no)");
    panel.x_log = log;
    panel.legend = Legend::None;
    panel.y_range = Some((-0.1, 1.1));
    panel.bands = bands(&xs, inside, log);
    // Markers only: a NaN after every point keeps them unconnected.
    let pts: Vec<(f64, f64)> = xs
        .iter()
        .flat_map(|&(x, p)| {
            let y = if !ok[p] {
                f64::NAN
            } else if inside[p] {
                1.0
            } else {
                0.0
            };
            [(x, y), (x, f64::NAN)]
        })
        .collect();
    panel.lines.push(
        Line::new("window", pts, hex(0x2ca02c))
            .markers()
            .unlabelled(),
    );
    let n_in = inside.iter().filter(|&&b| b).count();
    let mut fig = Panels::single("Operating window", panel);
    fig.notes.push(format!(
        "Every condition holds at {n_in} of {} points: {}.",
        xs.len(),
        conditions_text(conds)
    ));
    let failed = ok.iter().filter(|&&b| !b).count();
    if failed > 0 {
        fig.notes
            .push(format!("Gaps: failed or not run ({failed} points)."));
    }
    fig
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_inferred() {
        assert_eq!(label("rotor.rpm", None), "rotor.rpm (rpm)");
        assert_eq!(
            label("inlet.flow_ml_min", None),
            "inlet.flow_ml_min (mL/min)"
        );
        assert_eq!(label("wall_time_s", None), "wall_time_s (s)");
        assert_eq!(
            label("collection_efficiency.lymphocyte", None),
            "collection_efficiency.lymphocyte (–)"
        );
        assert_eq!(
            label("ports.collect.hematocrit", None),
            "ports.collect.hematocrit (–)"
        );
        assert_eq!(
            label("layers.plasma_buffy_m", None),
            "layers.plasma_buffy_m (m)"
        );
        assert_eq!(label("seed", None), "seed");
        assert_eq!(label("x", Some("m s-1")), "x (m s⁻¹)");
    }

    #[test]
    fn detects_log_spacing() {
        assert!(geometric(&[1.0, 10.0, 100.0]));
        assert!(!geometric(&[1.0, 2.0, 3.0]));
        assert!(!geometric(&[1.0, 10.0]));
        assert!(!geometric(&[0.0, 1.0, 2.0]));
    }

    #[test]
    fn bands_merge_neighbours() {
        let xs = [(1.0, 0), (2.0, 1), (3.0, 2), (4.0, 3)];
        assert_eq!(bands(&xs, &[false, true, true, false], false), [(1.5, 3.5)]);
        assert_eq!(
            bands(&xs, &[true, false, false, true], false),
            [(0.5, 1.5), (3.5, 4.5)]
        );
    }
}
