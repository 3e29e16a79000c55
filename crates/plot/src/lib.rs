//! Plots of buffycoat output files, as PNG and SVG.
//!
//! [`plot_file`] looks at an HDF5 file written by buffycoat, recognises what
//! kind of run it holds (see [`FileKind`]) and writes that kind's plots into a
//! directory; one function per kind does the same for a known kind. Every
//! plot is written twice, as `<dir>/<name>.png` (raster) and
//! `<dir>/<name>.svg` (vector, text kept as text), each with a title, axis
//! labels with units, and a legend or colour bar where there is more than one
//! series or a colour scale.
//!
//! # Plots per kind
//!
//! | kind | file names (each `.png` and `.svg`) |
//! |---|---|
//! | [particle run](plot_particle_run) | `pelleted_fraction`, `mean_radius`, `radial_histogram` |
//! | [field run](plot_field_run) | `volume_fraction_profiles`, `interfaces`, `hematocrit_map`, and `layer_fraction` if the file has `/observables/layer_fraction` |
//! | [channel run](plot_channel_run) | `channel_hematocrit`, and `grade_efficiency` if the file has `/observables/grade_efficiency` |
//! | [sweep](plot_sweep) | `sweep_<metric>` per selected metric (heat map for 2 or more varied keys, lines for 1), and `window` when [`PlotOptions::window`] is given |
//! | [procedure](plot_procedure) | `patient_counts`, `product_yield`, `citrate` |
//!
//! Each function's documentation lists the HDF5 datasets it reads.
//!
//! # Files are written whole, or not at all
//!
//! All data are read and checked before anything is written; then every
//! figure is drawn under a hidden temporary name in the output directory
//! (`.<name>.partial-<pid>-<n>.png`) and, once all of them are drawn, each is
//! renamed to its final name (an atomic replace). So a malformed input file,
//! a bad option or a rendering failure leaves no new plot files behind (the
//! output directory itself is created if it does not exist, only once the
//! input has been read successfully).
//!
//! # Errors
//!
//! [`PlotError`] names the file and the dataset: a missing dataset reads
//! `FILE: no dataset /fields/radius_m: not a buffycoat field-run file`. No
//! input makes this crate panic.
//!
//! # Fonts
//!
//! Text is drawn with DejaVu Sans, bundled in the crate (`assets/`, with its
//! licence) and registered with plotters' `ab_glyph` feature, so plotting
//! works on headless machines without fontconfig or system fonts. SVG files
//! name the family `sans-serif`.
//!
//! # Threads
//!
//! Plotting reads HDF5 through `buffycoat-h5` on the calling thread; do not
//! call it from rayon workers (see that crate's notes).

mod channel;
mod draw;
mod error;
mod field;
mod figures;
mod output;
mod particle;
mod procedure;
mod source;
mod sweep;
mod window;

use buffycoat_h5::schema;
use std::fmt;
use std::path::{Path, PathBuf};

use buffycoat_h5::{ObjectKind, Reader};

pub use channel::plot_channel_run;
pub use error::PlotError;
pub use field::plot_field_run;
pub use particle::plot_particle_run;
pub use procedure::plot_procedure;
pub use sweep::plot_sweep;
pub use window::{Comparison, WindowCondition, parse_window};

use source::Source;

/// The kinds of buffycoat output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A Lagrangian particle run: `/particles/cells/position` and
    /// `/observables/pelleted_fraction`, no `/fields`.
    ParticleRun,
    /// A hindered-settling field run: `/fields/volume_fraction`.
    FieldRun,
    /// A continuous-flow channel run: `/fields/channel`.
    ChannelRun,
    /// A parameter sweep: `/sweep`.
    Sweep,
    /// A leukapheresis procedure: `/procedure`.
    Procedure,
}

impl FileKind {
    /// The kind's name as used in messages (`"field-run"`, `"sweep"`, …).
    pub fn name(self) -> &'static str {
        match self {
            FileKind::ParticleRun => "particle-run",
            FileKind::FieldRun => "field-run",
            FileKind::ChannelRun => "channel-run",
            FileKind::Sweep => "sweep",
            FileKind::Procedure => "procedure",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Options of [`plot_file`]; both apply to sweeps only (giving either for
/// another kind of file is an error).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlotOptions {
    /// Metrics to plot, by their names under `/sweep/metrics` (the CLI's
    /// repeatable `--metric NAME`); empty means all.
    pub metrics: Vec<String>,
    /// An operating window (the CLI's `--window`): comma-separated
    /// conditions `NAME>=VALUE`, `NAME<=VALUE`, `NAME>VALUE` or
    /// `NAME<VALUE`, where `NAME` is a metric or a varied parameter. The
    /// grid points satisfying all of them are outlined on every heat map and
    /// drawn on their own in the plot `window`. See [`parse_window`].
    pub window: Option<String>,
}

/// Which kind of buffycoat file `reader` holds, if any. The first match
/// wins: `/sweep`, `/procedure`, `/fields/channel`, `/fields/volume_fraction`,
/// then `/particles/cells/position` with `/observables/pelleted_fraction`.
fn kind_of(reader: &Reader) -> Option<FileKind> {
    let group = |p: &str| reader.kind(p) == Some(ObjectKind::Group);
    if group(schema::SWEEP) {
        Some(FileKind::Sweep)
    } else if group(schema::PROCEDURE) {
        Some(FileKind::Procedure)
    } else if group(schema::FIELDS_CHANNEL) {
        Some(FileKind::ChannelRun)
    } else if reader.kind(schema::FIELDS_VOLUME_FRACTION).is_some() {
        Some(FileKind::FieldRun)
    } else if reader.kind(schema::PARTICLES_CELLS_POSITION).is_some()
        && reader.kind(schema::OBSERVABLES_PELLETED_FRACTION).is_some()
    {
        Some(FileKind::ParticleRun)
    } else {
        None
    }
}

/// Detects the kind of buffycoat output file at `input` from its contents.
///
/// # Errors
/// [`PlotError::Hdf5`] if the file cannot be opened as HDF5,
/// [`PlotError::UnknownKind`] if it is not a buffycoat output file.
pub fn detect_kind(input: &Path) -> Result<FileKind, PlotError> {
    let reader = Reader::open(input)?;
    kind_of(&reader).ok_or_else(|| PlotError::UnknownKind {
        path: input.to_path_buf(),
    })
}

/// Plots the buffycoat output file `input` into the directory `out_dir`
/// (created if missing): detects the kind of file (see [`FileKind`]) and
/// writes that kind's plots, each as PNG and SVG. Returns the paths written.
///
/// `options` only apply to sweeps; the window expression is checked before
/// the file is opened.
///
/// # Errors
/// Any [`PlotError`]; nothing is written then. Existing plots of the same
/// names in `out_dir` are replaced only on success.
pub fn plot_file(
    input: &Path,
    out_dir: &Path,
    options: &PlotOptions,
) -> Result<Vec<PathBuf>, PlotError> {
    if let Some(w) = &options.window {
        parse_window(w)?;
    }
    let reader = Reader::open(input)?;
    let kind = kind_of(&reader).ok_or_else(|| PlotError::UnknownKind {
        path: input.to_path_buf(),
    })?;
    if kind != FileKind::Sweep {
        let which = match (options.metrics.is_empty(), options.window.is_none()) {
            (true, true) => None,
            (false, _) => Some("--metric"),
            (true, false) => Some("--window"),
        };
        if let Some(opt) = which {
            return Err(PlotError::Option {
                path: input.to_path_buf(),
                message: format!("{opt} applies only to sweep files, but this is a {kind} file"),
            });
        }
    }
    let src = Source::from_reader(reader, kind);
    match kind {
        FileKind::ParticleRun => particle::plot(&src, out_dir),
        FileKind::FieldRun => field::plot(&src, out_dir),
        FileKind::ChannelRun => channel::plot(&src, out_dir),
        FileKind::Sweep => sweep::plot(&src, out_dir, options),
        FileKind::Procedure => procedure::plot(&src, out_dir),
    }
}

/// Turns a file name part into something safe for any file system: letters,
/// digits, `.`, `-` and `_` are kept, everything else becomes `_`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Formats an HDF5/UDUNITS-style unit (`m s-1`, `uL-1`) for an axis label;
/// `None` for dimensionless (`1`, empty).
fn display_unit(unit: &str) -> Option<String> {
    let u = unit.trim();
    if u.is_empty() || u == "1" || u == "-" {
        return None;
    }
    let pretty = u
        .split_whitespace()
        .map(|part| {
            let part = part.replacen("u", "µ", usize::from(part.starts_with('u')));
            match part.find(|c: char| c == '-' || c.is_ascii_digit()) {
                Some(i) if i > 0 => {
                    let (base, exp) = part.split_at(i);
                    format!("{base}{}", superscript(exp))
                }
                _ => part,
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    Some(pretty)
}

pub(crate) fn superscript(exp: &str) -> String {
    exp.chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            other => other,
        })
        .collect()
}

/// `label (unit)`, or `label (–)` when dimensionless.
fn with_unit(label: &str, unit: Option<&str>) -> String {
    match unit.and_then(display_unit) {
        Some(u) => format!("{label} ({u})"),
        None => format!("{label} (–)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_pretty() {
        assert_eq!(display_unit("m s-1").as_deref(), Some("m s⁻¹"));
        assert_eq!(display_unit("uL-1").as_deref(), Some("µL⁻¹"));
        assert_eq!(display_unit("kg m-3").as_deref(), Some("kg m⁻³"));
        assert_eq!(display_unit("mL/min").as_deref(), Some("mL/min"));
        assert_eq!(display_unit("rpm").as_deref(), Some("rpm"));
        assert_eq!(display_unit("1"), None);
        assert_eq!(with_unit("fraction", Some("1")), "fraction (–)");
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(
            file_stem("collection_efficiency.lymphocyte"),
            "collection_efficiency.lymphocyte"
        );
        assert_eq!(file_stem("a/b c"), "a_b_c");
    }
}
