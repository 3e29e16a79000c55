//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while writing or reading an HDF5 file.
///
/// Every variant names the file (and, where there is one, the object inside
/// it) together with the underlying message, so that an error printed at the
/// top of the program is enough to find the problem. The type is `Clone`
/// because a writer that failed keeps reporting the same error to every later
/// call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum H5Error {
    /// The output file could not be created (missing or unwritable directory,
    /// a path component that is a regular file, HDF5 refusing the file, …).
    /// `path` is the final path that was asked for.
    #[error("cannot create HDF5 file {}: {message}", path.display())]
    Create {
        /// The final path that was requested.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Writing an object (dataset, group, attribute) failed, or the data
    /// handed to the writer was invalid (wrong length, bad shape, string with
    /// a NUL byte, unknown series, …).
    #[error("cannot write {dataset} in HDF5 file {}: {message}", path.display())]
    Write {
        /// The final path of the file being written.
        path: PathBuf,
        /// The object inside the file (e.g. `/particles/cells/position/value`,
        /// or `/h5md@version` for an attribute).
        dataset: String,
        /// What went wrong.
        message: String,
    },
    /// Flushing, closing or syncing the finished file failed.
    #[error("cannot close HDF5 file {}: {message}", path.display())]
    Close {
        /// The final path of the file being written.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The completed partial file could not be renamed to its final name.
    #[error("cannot rename {} to {}: {message}", from.display(), to.display())]
    Rename {
        /// The partial file.
        from: PathBuf,
        /// The final path.
        to: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The writer thread is gone (it panicked); nothing more can be written.
    #[error("the HDF5 writer thread for {} is gone (it panicked)", path.display())]
    WriterGone {
        /// The final path of the file being written.
        path: PathBuf,
    },
    /// An existing HDF5 file could not be opened for reading.
    #[error("cannot open HDF5 file {}: {message}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Reading an object from a file failed (wrong type, I/O error, …).
    #[error("cannot read {dataset} from HDF5 file {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The object inside the file (`/group/dataset`, or `/path@attr` for
        /// an attribute).
        dataset: String,
        /// What went wrong.
        message: String,
    },
    /// A file does not have the layout that was expected of it: a dataset,
    /// group or attribute is missing or of the wrong kind.
    #[error("HDF5 file {} has an unexpected layout: {message}", path.display())]
    Layout {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong (names the object).
        message: String,
    },
}
