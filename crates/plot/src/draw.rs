//! Drawing building blocks shared by all kinds of plot: line panels (linear
//! or logarithmic axes, optional secondary axis), heat maps with a colour
//! bar, legends, titles, number formatting and colours.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A legend-sample closure: a short solid or dashed stroke, with a marker
/// dot if `$marker` (an `Option<RGBColor>`) is `Some`.
macro_rules! legend_sample {
    ($style:expr, $dashed:expr, $marker:expr) => {{
        let style: ShapeStyle = $style;
        let (dash, gap) = if $dashed { (7, 4) } else { (26, 0) };
        let dot: ShapeStyle = match $marker {
            Some(c) => RGBColor::filled(&c),
            None => TRANSPARENT.filled(),
        };
        move |(x, y): (i32, i32)| {
            EmptyElement::at((x, y))
                + DashedPathElement::new(vec![(0, 0), (26, 0)], dash, gap, style)
                + Circle::new((13, 0), 3, dot)
        }
    }};
}

/// A drawing area in pixel coordinates.
pub(crate) type Area<DB> = DrawingArea<DB, Shift>;
/// The result of drawing: errors are rendered to text (they come from
/// different backends with different error types).
pub(crate) type DrawResult = Result<(), String>;

/// The font family the bundled font is registered as.
pub(crate) const FONT: &str = "sans-serif";

/// Turns a plotters error into text.
pub(crate) fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A text style of the bundled font.
pub(crate) fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&BLACK)
}

const TITLE_SIZE: f64 = 27.0;
const CAPTION_SIZE: f64 = 21.0;
const DESC_SIZE: f64 = 19.0;
const TICK_SIZE: f64 = 16.0;
const LEGEND_SIZE: f64 = 16.0;
const NOTE_SIZE: f64 = 15.0;

/// Formats an axis tick or a value for a label: at most four significant
/// digits, scientific notation for very large or small magnitudes, no
/// trailing zeros.
pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a < 1e-12 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = trim_zeros(mantissa);
        return format!("{mantissa}e{exp}");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    trim_zeros(&format!("{v:.decimals$}"))
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s.to_owned()
    }
}

fn tick_label(v: &f64) -> String {
    let a = v.abs();
    if a >= 1e5 || (a > 0.0 && a < 1e-3) {
        let e = a.log10().round();
        if (a / 10f64.powf(e) - 1.0).abs() < 1e-9 {
            let sign = if *v < 0.0 { "−" } else { "" };
            return format!("{sign}10{}", crate::superscript(&format!("{}", e as i64)));
        }
    }
    fmt_num(*v)
}

/// Tick labels of a logarithmic axis: every power of ten as 10ⁿ (also 1000
/// and 1, so that one axis never mixes 10⁵ with 10000), other values as
/// `m×10ⁿ` outside [0.001, 10⁵) and plainly inside.
fn log_tick_label(v: &f64) -> String {
    let a = v.abs();
    if a > 0.0 && a.is_finite() {
        let e = a.log10().round();
        if (a / 10f64.powf(e) - 1.0).abs() < 1e-9 {
            let sign = if *v < 0.0 { "−" } else { "" };
            return format!("{sign}10{}", crate::superscript(&format!("{}", e as i64)));
        }
    }
    tick_label(v)
}

/// How far inside the grid border an outline edge on the border is drawn
/// (share of the cell).
const OUTLINE_INSET: f64 = 0.04;

/// Whether a region (`inside`, `ny` × `nx`, row-major) touches the border of
/// its grid, i.e. may continue beyond the swept values.
pub(crate) fn touches_border(inside: &[bool], nx: usize, ny: usize) -> bool {
    (0..ny).any(|j| {
        (0..nx).any(|i| inside[j * nx + i] && (i == 0 || j == 0 || i + 1 == nx || j + 1 == ny))
    })
}

/// A colour from a hex code `0xRRGGBB`.
pub(crate) const fn hex(c: u32) -> RGBColor {
    RGBColor((c >> 16) as u8, (c >> 8) as u8, c as u8)
}

/// Colours for series without a fixed colour (the "tab10" cycle).
const CYCLE: [u32; 10] = [
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22,
    0x17becf,
];

/// The `i`-th colour of the default cycle.
pub(crate) fn cycle_color(i: usize) -> RGBColor {
    hex(CYCLE[i % CYCLE.len()])
}

/// A stable colour for a species: the built-in cell types always get the
/// same colour in every plot; other names take colours from the cycle by
/// their position `index`.
pub(crate) fn species_color(name: &str, index: usize) -> RGBColor {
    let fixed = match name {
        "rbc" => 0xd62728,
        "platelet" => 0xbcbd22,
        "lymphocyte" => 0x1f77b4,
        "monocyte" => 0x9467bd,
        "neutrophil" => 0x2ca02c,
        "myeloblast" => 0xff7f0e,
        "lymphoblast" => 0x8c564b,
        "cd34" | "cd34+" | "cd34_plus" => 0x17becf,
        "wbc" => 0x7f7f7f,
        _ => return cycle_color(index),
    };
    hex(fixed)
}

/// A sequence of `n` colours from dark to light (viridis without its
/// lightest, hard to see end), for lines that are ordered in time; the first
/// two are far enough apart to tell (viridis starts with a long dark purple).
pub(crate) fn sequence_color(i: usize, n: usize) -> RGBColor {
    let t = if n <= 1 {
        0.0
    } else {
        i as f64 / (n - 1) as f64
    };
    viridis(0.9 * t.powf(0.8))
}

/// Line widths for `n` lines ordered in time, drawn in that order: the first
/// widest, the last thinnest, so that later curves that coincide with earlier
/// ones (a settled profile) leave the earlier colours visible at their edges.
pub(crate) fn sequence_width(i: usize, n: usize) -> u32 {
    let steps = n.saturating_sub(1).max(1) as f64;
    (6.0 - 4.0 * i as f64 / steps).round() as u32
}

/// Two values formatted with the fewest decimals (at least `min_decimals`, at
/// most 6) that tell them apart, e.g. 100.986 and 101.010 (not 101 and 101).
pub(crate) fn fmt_pair(a: f64, b: f64, min_decimals: usize) -> (String, String) {
    let mut d = min_decimals;
    loop {
        let (x, y) = (format!("{a:.d$}"), format!("{b:.d$}"));
        if x != y || d >= 6 {
            return (x, y);
        }
        d += 1;
    }
}

/// The viridis colour map at `t` in `[0, 1]` (the plotting library's own,
/// `plotters::style::colors::colormaps::ViridisRGB`; matplotlib's default map).
pub(crate) fn viridis(t: f64) -> RGBColor {
    use plotters::style::colors::colormaps::ViridisRGB;
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ViridisRGB::get_color(t)
}

/// Cell edges from cell centres: midpoints, with the end cells extended by
/// half their neighbour spacing (a single centre gets a width of 1 % of its
/// magnitude, or 1).
pub(crate) fn edges_from_centres(c: &[f64]) -> Vec<f64> {
    match c.len() {
        0 => vec![0.0, 1.0],
        1 => {
            let h = if c[0] != 0.0 { 0.01 * c[0].abs() } else { 0.5 };
            vec![c[0] - h, c[0] + h]
        }
        n => {
            let mut e = Vec::with_capacity(n + 1);
            e.push(c[0] - 0.5 * (c[1] - c[0]));
            e.extend(c.windows(2).map(|w| 0.5 * (w[0] + w[1])));
            e.push(c[n - 1] + 0.5 * (c[n - 1] - c[n - 2]));
            e
        }
    }
}

/// Where a legend goes inside a panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Legend {
    /// No legend in the panel (figures put theirs above the panels).
    None,
    /// Upper right corner.
    UpperRight,
}

impl Legend {
    fn position(self) -> Option<SeriesLabelPosition> {
        Some(match self {
            Legend::None => return None,
            Legend::UpperRight => SeriesLabelPosition::UpperRight,
        })
    }
}

/// A polyline in data coordinates.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    /// Legend text (`None`: not in the legend).
    pub label: Option<String>,
    /// The points; non-finite ones (and non-positive ones on a log axis)
    /// break the line.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// Draw a marker at every point.
    pub markers: bool,
    /// Stroke width in pixels.
    pub width: u32,
}

impl Line {
    /// A solid line of width 2 without markers.
    pub(crate) fn new(label: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Line {
            label: Some(label.into()),
            points,
            color,
            dashed: false,
            markers: false,
            width: 2,
        }
    }

    /// The same line, dashed.
    pub(crate) fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// The same line with markers.
    pub(crate) fn markers(mut self) -> Self {
        self.markers = true;
        self
    }

    /// The same line without a legend entry.
    pub(crate) fn unlabelled(mut self) -> Self {
        self.label = None;
        self
    }

    /// The same line with another stroke width.
    pub(crate) fn width(mut self, w: u32) -> Self {
        self.width = w;
        self
    }

    fn style(&self) -> ShapeStyle {
        ShapeStyle {
            color: self.color.to_rgba(),
            filled: false,
            stroke_width: self.width,
        }
    }
}

/// A horizontal reference line across a panel.
#[derive(Clone, Debug)]
pub(crate) struct HLine {
    /// The y value.
    pub y: f64,
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
}

/// A secondary y axis on the right of a panel.
#[derive(Clone, Debug)]
pub(crate) struct Secondary {
    /// Axis description (with unit).
    pub y_label: String,
    /// Lines against the secondary axis.
    pub lines: Vec<Line>,
    /// Fixed range, else from the data.
    pub y_range: Option<(f64, f64)>,
}

/// One chart of lines.
#[derive(Clone, Debug)]
pub(crate) struct LinePanel {
    /// Caption above the chart (empty: none).
    pub caption: String,
    /// x-axis description with unit.
    pub x_label: String,
    /// y-axis description with unit.
    pub y_label: String,
    /// Logarithmic x axis.
    pub x_log: bool,
    /// Logarithmic y axis.
    pub y_log: bool,
    /// The lines.
    pub lines: Vec<Line>,
    /// Horizontal reference lines (dashed).
    pub hlines: Vec<HLine>,
    /// Shaded x intervals (e.g. an operating window), with their legend text.
    pub bands: Vec<(f64, f64)>,
    /// Legend text of the bands.
    pub band_label: Option<String>,
    /// Fixed x range, else from the data.
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range, else from the data.
    pub y_range: Option<(f64, f64)>,
    /// Smallest y drawn on a log axis, relative to the largest (default
    /// 1e-8): keeps a series that falls to almost zero from squashing the
    /// others.
    pub log_floor: f64,
    /// Where the legend goes.
    pub legend: Legend,
    /// A secondary y axis (only with a linear x axis).
    pub secondary: Option<Secondary>,
    /// Text drawn in the middle of the chart (e.g. "no data").
    pub note: Option<String>,
}

impl LinePanel {
    /// An empty panel with the given axis labels.
    pub(crate) fn new(x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        LinePanel {
            caption: String::new(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_log: false,
            y_log: false,
            lines: Vec::new(),
            hlines: Vec::new(),
            bands: Vec::new(),
            band_label: None,
            x_range: None,
            y_range: None,
            log_floor: 1e-8,
            legend: Legend::UpperRight,
            secondary: None,
            note: None,
        }
    }
}

/// The splitting of a line into drawable runs.
fn segments(points: &[(f64, f64)], x_log: bool, y_log: bool) -> Vec<Vec<(f64, f64)>> {
    let ok = |&(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (!x_log || x > 0.0) && (!y_log || y > 0.0)
    };
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for p in points {
        if ok(p) {
            cur.push(*p);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A padded range covering `values` (finite, and positive if `log`).
pub(crate) fn auto_range(values: impl Iterator<Item = f64>, log: bool, pad: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if v.is_finite() && (!log || v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let (l, h) = (lo.log10().floor(), hi.log10().ceil());
        let h = if h <= l { l + 1.0 } else { h };
        return (10f64.powf(l), 10f64.powf(h));
    }
    if hi - lo <= 1e-12 * hi.abs().max(lo.abs()).max(1e-300) {
        let d = if hi != 0.0 { 0.1 * hi.abs() } else { 1.0 };
        return (lo - d, hi + d);
    }
    if pad {
        let d = 0.05 * (hi - lo);
        (lo - d, hi + d)
    } else {
        (lo, hi)
    }
}

/// Draws a line panel filling `area`.
pub(crate) fn draw_line_panel<DB: DrawingBackend>(area: &Area<DB>, p: &LinePanel) -> DrawResult {
    let all = || p.lines.iter().flat_map(|l| l.points.iter());
    let (x0, x1) = p
        .x_range
        .unwrap_or_else(|| auto_range(all().map(|q| q.0), p.x_log, !p.x_log));
    let (y0, y1) = p.y_range.unwrap_or_else(|| {
        let ys = all().map(|q| q.1).chain(p.hlines.iter().map(|h| h.y));
        let (lo, hi) = auto_range(ys, p.y_log, !p.y_log);
        if p.y_log {
            (lo.max(hi * p.log_floor), hi)
        } else {
            (lo, hi)
        }
    });
    let mut b = ChartBuilder::on(area);
    b.margin(12)
        .margin_right(if p.secondary.is_some() { 8 } else { 25 })
        .x_label_area_size(58)
        .y_label_area_size(92);
    if p.secondary.is_some() {
        b.right_y_label_area_size(92);
    }
    if !p.caption.is_empty() {
        b.caption(&p.caption, font(CAPTION_SIZE));
    }
    match (p.x_log, p.y_log) {
        (false, false) => {
            let c = b.build_cartesian_2d(x0..x1, y0..y1).map_err(de)?;
            fill_panel(c, p, (x0, x1), (y0, y1))
        }
        (false, true) => {
            let c = b
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(de)?;
            fill_panel(c, p, (x0, x1), (y0, y1))
        }
        (true, false) => {
            let c = b
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(de)?;
            fill_panel(c, p, (x0, x1), (y0, y1))
        }
        (true, true) => {
            let c = b
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(de)?;
            fill_panel(c, p, (x0, x1), (y0, y1))
        }
    }
}

fn fill_panel<'a, DB, X, Y>(
    mut chart: ChartContext<'a, DB, Cartesian2d<X, Y>>,
    p: &LinePanel,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let Some(sec) = &p.secondary else {
        draw_primary(&mut chart, p, (x0, x1), (y0, y1))?;
        return draw_legend(&mut chart, p);
    };
    // The secondary coordinates take over the right label area, so they
    // must exist before the primary mesh is drawn.
    let (s0, s1) = sec.y_range.unwrap_or_else(|| {
        auto_range(
            sec.lines.iter().flat_map(|l| l.points.iter().map(|q| q.1)),
            false,
            true,
        )
    });
    let mut dual = chart.set_secondary_coord(x0..x1, s0..s1);
    draw_primary(&mut dual, p, (x0, x1), (y0, y1))?;
    dual.configure_secondary_axes()
        .y_desc(sec.y_label.as_str())
        .y_label_formatter(&tick_label)
        .y_labels(8)
        .label_style(font(TICK_SIZE))
        .axis_desc_style(font(DESC_SIZE))
        .draw()
        .map_err(de)?;
    for line in &sec.lines {
        for (k, seg) in segments(&line.points, false, false).into_iter().enumerate() {
            let style = line.style();
            let ann = if line.dashed {
                dual.draw_secondary_series(DashedLineSeries::new(seg, 9, 5, style))
                    .map_err(de)?
            } else {
                dual.draw_secondary_series(LineSeries::new(seg, style))
                    .map_err(de)?
            };
            if k == 0
                && let Some(label) = &line.label
            {
                let dashed = line.dashed;
                ann.label(label.as_str())
                    .legend(legend_sample!(style, dashed, None::<RGBColor>));
            }
        }
    }
    draw_legend(&mut dual, p)
}

/// The in-panel legend, if the panel has one and anything is labelled.
fn draw_legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    p: &LinePanel,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let has_labels = p.lines.iter().any(|l| l.label.is_some())
        || !p.hlines.is_empty()
        || (p.band_label.is_some() && !p.bands.is_empty())
        || p.secondary
            .as_ref()
            .is_some_and(|s| s.lines.iter().any(|l| l.label.is_some()));
    if let (true, Some(pos)) = (has_labels, p.legend.position()) {
        chart
            .configure_series_labels()
            .position(pos)
            .label_font(font(LEGEND_SIZE))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(de)?;
    }
    Ok(())
}

/// The mesh, bands, reference lines, lines and note of a panel.
fn draw_primary<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    p: &LinePanel,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(if p.x_log {
            &log_tick_label
        } else {
            &tick_label
        })
        .y_label_formatter(if p.y_log {
            &log_tick_label
        } else {
            &tick_label
        })
        .x_labels(8)
        .y_labels(8)
        .label_style(font(TICK_SIZE))
        .axis_desc_style(font(DESC_SIZE))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(de)?;

    let band_color = hex(0x2ca02c).mix(0.18);
    for (k, &(a, b)) in p.bands.iter().enumerate() {
        let ann = chart
            .draw_series(std::iter::once(Rectangle::new(
                [(a, y0), (b, y1)],
                band_color.filled(),
            )))
            .map_err(de)?;
        if k == 0
            && let Some(label) = &p.band_label
        {
            ann.label(label.as_str()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 22, y + 6)], band_color.filled())
            });
        }
    }
    for h in &p.hlines {
        let style = ShapeStyle {
            color: h.color.to_rgba(),
            filled: false,
            stroke_width: 2,
        };
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x0, h.y), (x1, h.y)],
                8,
                5,
                style,
            ))
            .map_err(de)?
            .label(h.label.as_str())
            .legend(legend_sample!(style, true, None::<RGBColor>));
    }
    for line in &p.lines {
        draw_line(chart, line, p.x_log, p.y_log)?;
    }
    if let Some(note) = &p.note {
        let area = chart.plotting_area().strip_coord_spec();
        draw_centered(&area, note, font(CAPTION_SIZE))?;
    }
    Ok(())
}

fn draw_line<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    line: &Line,
    x_log: bool,
    y_log: bool,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = line.style();
    let segs = segments(&line.points, x_log, y_log);
    let mut labelled = false;
    for seg in &segs {
        let ann = if line.dashed {
            chart
                .draw_series(DashedLineSeries::new(seg.iter().copied(), 9, 5, style))
                .map_err(de)?
        } else {
            chart
                .draw_series(LineSeries::new(seg.iter().copied(), style))
                .map_err(de)?
        };
        if !labelled && let Some(label) = &line.label {
            labelled = true;
            let (dashed, marker) = (line.dashed, line.markers.then_some(line.color));
            ann.label(label.as_str())
                .legend(legend_sample!(style, dashed, marker));
        }
        if line.markers {
            chart
                .draw_series(seg.iter().map(|&q| Circle::new(q, 4, line.color.filled())))
                .map_err(de)?;
        }
    }
    if !labelled && let Some(label) = &line.label {
        // Keep the legend entry of a series with nothing to draw.
        chart
            .draw_series(LineSeries::new(std::iter::empty::<(f64, f64)>(), style))
            .map_err(de)?
            .label(format!("{label} (no data)"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
    }
    Ok(())
}

/// Draws `text` centred in `area` (pixel coordinates).
pub(crate) fn draw_centered<DB: DrawingBackend>(
    area: &Area<DB>,
    text: &str,
    style: TextStyle<'_>,
) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        text,
        (w as i32 / 2, h as i32 / 2),
        style.pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(de)
}

/// Shrinks `size` until `text` fits in `width` pixels.
fn fit_font<DB: DrawingBackend>(area: &Area<DB>, text: &str, width: u32, size: f64) -> f64 {
    match area.estimate_text_size(text, &font(size)) {
        Ok((w, _)) if w > width && w > 0 => (size * width as f64 / w as f64).max(8.0),
        _ => size,
    }
}

/// Draws the figure title at the top of `root` and the `notes` (one line
/// each) at the bottom, and returns the area between them.
pub(crate) fn frame<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    notes: &[String],
) -> Result<Area<DB>, String> {
    let (w, _) = root.dim_in_pixel();
    let size = fit_font(root, title, w.saturating_sub(30), TITLE_SIZE);
    let body = root.titled(title, font(size)).map_err(de)?;
    if notes.is_empty() {
        return Ok(body);
    }
    let (_, bh) = body.dim_in_pixel();
    let line_h = 21;
    let foot_h = line_h * notes.len() as u32 + 10;
    let (main, foot) = body.split_vertically(bh.saturating_sub(foot_h));
    for (i, n) in notes.iter().enumerate() {
        let size = fit_font(root, n, w.saturating_sub(30), NOTE_SIZE);
        foot.draw(&Text::new(
            n.as_str(),
            (15, 2 + (line_h * i as u32) as i32),
            font(size).color(&RGBColor(60, 60, 60)),
        ))
        .map_err(de)?;
    }
    Ok(main)
}

/// An entry of a legend drawn outside the panels.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// Text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Dashed sample.
    pub dashed: bool,
}

impl Entry {
    /// A solid entry.
    pub(crate) fn new(label: impl Into<String>, color: RGBColor) -> Self {
        Entry {
            label: label.into(),
            color,
            dashed: false,
        }
    }
}

/// Draws a horizontal legend (wrapping onto more rows as needed) at the top
/// of `area` and returns the area below it.
pub(crate) fn legend_strip<DB: DrawingBackend>(
    area: &Area<DB>,
    entries: &[Entry],
) -> Result<Area<DB>, String> {
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let (w, h) = area.dim_in_pixel();
    let style = font(LEGEND_SIZE + 1.0);
    let row_h = 24i32;
    let mut placed = Vec::with_capacity(entries.len());
    let (mut x, mut row) = (20i32, 0i32);
    for e in entries {
        let tw = area
            .estimate_text_size(&e.label, &style)
            .map_or(8 * e.label.len() as i32, |(tw, _)| tw as i32);
        let ew = 34 + tw + 26;
        if x > 20 && x + ew > w as i32 - 10 {
            x = 20;
            row += 1;
        }
        placed.push((x, row, e));
        x += ew;
    }
    let strip_h = ((row + 1) * row_h + 8) as u32;
    let (strip, rest) = area.split_vertically(strip_h.min(h));
    for (x, row, e) in placed {
        let y = 4 + row * row_h + row_h / 2;
        let st = ShapeStyle {
            color: e.color.to_rgba(),
            filled: false,
            stroke_width: 3,
        };
        let (dash, gap) = if e.dashed { (7, 4) } else { (28, 0) };
        strip
            .draw(&DashedPathElement::new(
                vec![(x, y), (x + 28, y)],
                dash,
                gap,
                st,
            ))
            .map_err(de)?;
        strip
            .draw(&Text::new(
                e.label.as_str(),
                (x + 34, y),
                style.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(de)?;
    }
    Ok(rest)
}

/// A cell of a heat map.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cell {
    /// A value, coloured by the colour map.
    Value(f64),
    /// A fixed colour (categorical maps).
    Color(RGBColor),
    /// A failed or not-run point: grey, hatched.
    Failed,
    /// No value: very light grey.
    Empty,
}

/// A heat map on a (possibly non-uniform) rectilinear grid.
#[derive(Clone, Debug)]
pub(crate) struct HeatMap {
    /// x-axis description with unit.
    pub x_label: String,
    /// y-axis description with unit.
    pub y_label: String,
    /// Cell edges along x (`nx + 1`, increasing).
    pub x_edges: Vec<f64>,
    /// Cell edges along y (`ny + 1`, increasing).
    pub y_edges: Vec<f64>,
    /// The cells, `[ny][nx]` (row `j` spans `y_edges[j]..y_edges[j+1]`).
    pub cells: Vec<Cell>,
    /// The value range of the colour map.
    pub range: (f64, f64),
    /// The colour bar's description with unit (`None`: no colour bar).
    pub colorbar: Option<String>,
    /// Categorical tick labels at integer x positions (index axes).
    pub x_ticks: Option<Vec<String>>,
    /// Categorical tick labels at integer y positions (index axes).
    pub y_ticks: Option<Vec<String>>,
    /// Cells inside a region whose boundary is outlined.
    pub outline: Option<Vec<bool>>,
    /// Lines drawn over the map (white, with a dark edge).
    pub overlays: Vec<Line>,
}

impl HeatMap {
    /// A heat map with no cells yet.
    pub(crate) fn new(x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        HeatMap {
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_edges: vec![0.0, 1.0],
            y_edges: vec![0.0, 1.0],
            cells: vec![Cell::Empty],
            range: (0.0, 1.0),
            colorbar: None,
            x_ticks: None,
            y_ticks: None,
            outline: None,
            overlays: Vec::new(),
        }
    }
}

const COLORBAR_WIDTH: u32 = 150;
const PLOT_MARGIN: u32 = 15;
const X_LABEL_AREA: u32 = 58;

/// The colour of a value in `range`, quantised to 256 levels (so that
/// neighbouring cells of nearly equal value merge into one rectangle).
fn quantize(v: f64, (lo, hi): (f64, f64)) -> u8 {
    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    (t.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Paint {
    Level(u8),
    Rgb(u8, u8, u8),
    Failed,
    Empty,
}

fn paint(c: Cell, range: (f64, f64)) -> Paint {
    match c {
        Cell::Value(v) if v.is_finite() => Paint::Level(quantize(v, range)),
        Cell::Value(_) | Cell::Empty => Paint::Empty,
        Cell::Color(RGBColor(r, g, b)) => Paint::Rgb(r, g, b),
        Cell::Failed => Paint::Failed,
    }
}

fn tick_count(labels: Option<&Vec<String>>, pixels: u32, default: usize) -> usize {
    match labels {
        None => default,
        Some(l) => {
            let longest = l.iter().map(|s| s.chars().count()).max().unwrap_or(1);
            let fit = (pixels as usize / (longest * 9 + 14)).max(2);
            l.len().clamp(1, fit.min(12))
        }
    }
}

fn categorical(labels: &[String], v: f64) -> String {
    let r = v.round();
    if (v - r).abs() < 1e-6 && r >= 0.0 && (r as usize) < labels.len() {
        labels[r as usize].clone()
    } else {
        String::new()
    }
}

/// Draws a heat map (with its colour bar on the right) filling `area`.
pub(crate) fn draw_heatmap<DB: DrawingBackend>(area: &Area<DB>, hm: &HeatMap) -> DrawResult {
    let (w, _) = area.dim_in_pixel();
    let (main, bar) = if hm.colorbar.is_some() {
        let (a, b) = area.split_horizontally(w.saturating_sub(COLORBAR_WIDTH));
        (a, Some(b))
    } else {
        (area.clone(), None)
    };
    let nx = hm.x_edges.len().saturating_sub(1);
    let ny = hm.y_edges.len().saturating_sub(1);
    if nx == 0 || ny == 0 || hm.cells.len() != nx * ny {
        return Err(format!(
            "heat map of {} cells on a {nx} × {ny} grid",
            hm.cells.len()
        ));
    }
    // Edges that are not finite and increasing (e.g. NaN times in a
    // damaged file) fall back to cell indices.
    let usable = |e: &[f64]| e.iter().all(|v| v.is_finite()) && e.windows(2).all(|w| w[1] > w[0]);
    let index_edges = |n: usize| (0..=n).map(|i| i as f64 - 0.5).collect::<Vec<_>>();
    let x_edges = if usable(&hm.x_edges) {
        hm.x_edges.clone()
    } else {
        index_edges(nx)
    };
    let y_edges = if usable(&hm.y_edges) {
        hm.y_edges.clone()
    } else {
        index_edges(ny)
    };
    let hm = &HeatMap {
        x_edges,
        y_edges,
        ..hm.clone()
    };
    let (x0, x1) = (hm.x_edges[0], hm.x_edges[nx]);
    let (y0, y1) = (hm.y_edges[0], hm.y_edges[ny]);
    let mut chart = ChartBuilder::on(&main)
        .margin(PLOT_MARGIN)
        .margin_right(10)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(100)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(de)?;
    let (pw, ph) = chart.plotting_area().dim_in_pixel();
    let xf = |v: &f64| match &hm.x_ticks {
        Some(l) => categorical(l, *v),
        None => fmt_num(*v),
    };
    let yf = |v: &f64| match &hm.y_ticks {
        Some(l) => categorical(l, *v),
        None => fmt_num(*v),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(hm.x_label.as_str())
        .y_desc(hm.y_label.as_str())
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .x_labels(tick_count(hm.x_ticks.as_ref(), pw, 8))
        .y_labels(tick_count(hm.y_ticks.as_ref(), ph * 3, 8))
        .label_style(font(TICK_SIZE))
        .axis_desc_style(font(DESC_SIZE))
        .draw()
        .map_err(de)?;

    // Cells, merged into runs of equal paint along x.
    let grey = RGBColor(170, 170, 170);
    let hatch = ShapeStyle {
        color: RGBColor(90, 90, 90).to_rgba(),
        filled: false,
        stroke_width: 1,
    };
    let mut rects = Vec::new();
    let mut failed = Vec::new();
    for j in 0..ny {
        let row = &hm.cells[j * nx..(j + 1) * nx];
        let mut i = 0;
        while i < nx {
            let p = paint(row[i], hm.range);
            let mut k = i + 1;
            while k < nx && paint(row[k], hm.range) == p {
                k += 1;
            }
            let color = match p {
                Paint::Level(q) => viridis(q as f64 / 255.0),
                Paint::Rgb(r, g, b) => RGBColor(r, g, b),
                Paint::Failed => grey,
                Paint::Empty => RGBColor(242, 242, 242),
            };
            let (ya, yb) = (hm.y_edges[j], hm.y_edges[j + 1]);
            rects.push(Rectangle::new(
                [(hm.x_edges[i], ya), (hm.x_edges[k], yb)],
                color.filled(),
            ));
            if p == Paint::Failed {
                failed.extend((i..k).map(|c| (hm.x_edges[c], hm.x_edges[c + 1], ya, yb)));
            }
            i = k;
        }
    }
    chart.draw_series(rects).map_err(de)?;
    for (xa, xb, ya, yb) in failed {
        let lines = [-0.5, 0.0, 0.5].map(|o: f64| {
            let (u0, v0, u1, v1) = if o >= 0.0 {
                (0.0, o, 1.0 - o, 1.0)
            } else {
                (-o, 0.0, 1.0, 1.0 + o)
            };
            PathElement::new(
                vec![
                    (xa + u0 * (xb - xa), ya + v0 * (yb - ya)),
                    (xa + u1 * (xb - xa), ya + v1 * (yb - ya)),
                ],
                hatch,
            )
        });
        chart.draw_series(lines).map_err(de)?;
    }

    // The outline of a region: every cell edge between a cell inside and
    // one outside, solid; edges on the border of the grid (where the region
    // may continue beyond the swept values) dashed and drawn just inside the
    // border, so that they are not hidden by the frame.
    if let Some(inside) = &hm.outline {
        let at = |j: isize, i: isize| {
            j >= 0
                && i >= 0
                && (j as usize) < ny
                && (i as usize) < nx
                && inside[j as usize * nx + i as usize]
        };
        let on_grid =
            |j: isize, i: isize| j >= 0 && i >= 0 && (j as usize) < ny && (i as usize) < nx;
        let mut edges = Vec::new();
        let mut border = Vec::new();
        for j in 0..ny as isize {
            for i in 0..nx as isize {
                if !at(j, i) {
                    continue;
                }
                let (xa, xb) = (hm.x_edges[i as usize], hm.x_edges[i as usize + 1]);
                let (ya, yb) = (hm.y_edges[j as usize], hm.y_edges[j as usize + 1]);
                let (dx, dy) = (OUTLINE_INSET * (xb - xa), OUTLINE_INSET * (yb - ya));
                for (nj, ni, edge, inset) in [
                    (
                        j,
                        i - 1,
                        [(xa, ya), (xa, yb)],
                        [(xa + dx, ya), (xa + dx, yb)],
                    ),
                    (
                        j,
                        i + 1,
                        [(xb, ya), (xb, yb)],
                        [(xb - dx, ya), (xb - dx, yb)],
                    ),
                    (
                        j - 1,
                        i,
                        [(xa, ya), (xb, ya)],
                        [(xa, ya + dy), (xb, ya + dy)],
                    ),
                    (
                        j + 1,
                        i,
                        [(xa, yb), (xb, yb)],
                        [(xa, yb - dy), (xb, yb - dy)],
                    ),
                ] {
                    if at(nj, ni) {
                        continue;
                    }
                    if on_grid(nj, ni) {
                        edges.push(edge);
                    } else {
                        border.push(inset);
                    }
                }
            }
        }
        for (color, width) in [(BLACK, 6), (WHITE, 3)] {
            let st = ShapeStyle {
                color: color.to_rgba(),
                filled: false,
                stroke_width: width,
            };
            chart
                .draw_series(edges.iter().map(|e| PathElement::new(e.to_vec(), st)))
                .map_err(de)?;
            chart
                .draw_series(
                    border
                        .iter()
                        .map(|e| DashedPathElement::new(e.to_vec(), 10, 7, st)),
                )
                .map_err(de)?;
        }
    }

    for line in &hm.overlays {
        let dark = Line {
            color: RGBColor(20, 20, 20),
            width: line.width + 2,
            label: None,
            markers: false,
            ..line.clone()
        };
        draw_line(&mut chart, &dark, false, false)?;
        let light = Line {
            label: None,
            ..line.clone()
        };
        draw_line(&mut chart, &light, false, false)?;
    }

    if let (Some(bar), Some(label)) = (bar, &hm.colorbar) {
        draw_colorbar(&bar, hm.range, label)?;
    }
    Ok(())
}

/// Draws a vertical colour bar for `range` with its description.
fn draw_colorbar<DB: DrawingBackend>(
    area: &Area<DB>,
    (lo, hi): (f64, f64),
    label: &str,
) -> DrawResult {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let mut chart = ChartBuilder::on(area)
        .margin_top(PLOT_MARGIN)
        .margin_bottom(PLOT_MARGIN + X_LABEL_AREA)
        .margin_left(8)
        .margin_right(4)
        .right_y_label_area_size(92)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(de)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(label)
        .y_label_formatter(&tick_label)
        .y_labels(8)
        .label_style(font(TICK_SIZE))
        .axis_desc_style(font(DESC_SIZE))
        .draw()
        .map_err(de)?;
    let n = 128;
    let d = (hi - lo) / n as f64;
    chart
        .draw_series((0..n).map(|k| {
            let a = lo + k as f64 * d;
            Rectangle::new(
                [(0.0, a), (1.0, a + d)],
                viridis((k as f64 + 0.5) / n as f64).filled(),
            )
        }))
        .map_err(de)?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(0.0, lo), (1.0, hi)],
            ShapeStyle {
                color: BLACK.to_rgba(),
                filled: false,
                stroke_width: 1,
            },
        )))
        .map_err(de)?;
    Ok(())
}
