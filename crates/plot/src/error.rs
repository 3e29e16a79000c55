//! The crate's error type.

use std::path::PathBuf;

use buffycoat_h5::H5Error;

use crate::FileKind;

/// Everything that can go wrong while plotting a buffycoat output file.
///
/// Every variant names the file (input or output) and, where there is one,
/// the dataset inside it, so that the message printed at the top of the
/// program is enough to find the problem. When any error is returned, no plot
/// file has been written (see [`plot_file`](crate::plot_file)).
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The HDF5 layer failed: the input could not be opened, or a dataset or
    /// attribute could not be read (wrong type, I/O error). The message names
    /// the file and the object.
    #[error(transparent)]
    Hdf5(#[from] H5Error),

    /// The file is HDF5 but has none of the groups that identify a buffycoat
    /// output file.
    #[error(
        "{}: not a buffycoat output file: none of /sweep, /procedure, /fields/channel, \
         /fields/volume_fraction, or /particles/cells/position with \
         /observables/pelleted_fraction",
        path.display()
    )]
    UnknownKind {
        /// The input file.
        path: PathBuf,
    },

    /// A dataset, group or attribute that this kind of file must have is
    /// missing.
    #[error("{}: no {what} {object}: not a buffycoat {kind} file", path.display())]
    Missing {
        /// The input file.
        path: PathBuf,
        /// `"dataset"`, `"group"` or `"attribute"`.
        what: &'static str,
        /// The missing object (`/group/dataset`, or `/path@attr`).
        object: String,
        /// The kind of file that was expected.
        kind: FileKind,
    },

    /// A dataset or attribute exists but its shape or contents do not fit
    /// the layout (wrong number of dimensions, inconsistent lengths, no
    /// frames, an empty sweep, …).
    #[error("{}: {object}: {message}", path.display())]
    Malformed {
        /// The input file.
        path: PathBuf,
        /// The offending object (`/group/dataset`, or `/path@attr`).
        object: String,
        /// What is wrong with it.
        message: String,
    },

    /// `--window` could not be parsed (e.g. `rpm>>3`), or names neither a
    /// metric nor a varied parameter of the sweep.
    #[error("bad --window condition `{condition}`: {message}")]
    Window {
        /// The offending condition (or the whole expression).
        condition: String,
        /// What is wrong with it.
        message: String,
    },

    /// A metric asked for with `--metric` is not in the sweep file.
    #[error(
        "{}: no metric `{name}` in /sweep/metrics (available: {})",
        path.display(),
        available.join(", ")
    )]
    UnknownMetric {
        /// The input file.
        path: PathBuf,
        /// The metric that was asked for.
        name: String,
        /// The metrics the file has.
        available: Vec<String>,
    },

    /// An option was given that does not apply to this kind of file (e.g.
    /// `--window` for a field run).
    #[error("{}: {message}", path.display())]
    Option {
        /// The input file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A plot could not be drawn or written (output directory not
    /// creatable, disk full, rendering failure).
    #[error("cannot write plot {}: {message}", path.display())]
    Output {
        /// The output file (or directory) concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// The bundled font could not be loaded (should not happen).
    #[error("cannot load the bundled font: {message}")]
    Font {
        /// What went wrong.
        message: String,
    },
}
