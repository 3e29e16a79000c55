//! Reading the input file: a thin layer over [`buffycoat_h5::Reader`] that
//! turns a missing object into [`PlotError::Missing`] (naming the kind of file
//! that was expected) and checks shapes.

use std::path::{Path, PathBuf};

use buffycoat_h5::{ObjectKind, Reader};

use crate::{FileKind, PlotError};

/// An open input file and the kind of buffycoat file it is read as.
pub(crate) struct Source {
    reader: Reader,
    kind: FileKind,
}

impl Source {
    /// Opens `path` to be read as a file of `kind`.
    pub(crate) fn open(path: &Path, kind: FileKind) -> Result<Self, PlotError> {
        Ok(Source {
            reader: Reader::open(path)?,
            kind,
        })
    }

    /// Wraps an already open reader.
    pub(crate) fn from_reader(reader: Reader, kind: FileKind) -> Self {
        Source { reader, kind }
    }

    /// The input file's path.
    pub(crate) fn path(&self) -> &Path {
        self.reader.path()
    }

    fn path_buf(&self) -> PathBuf {
        self.reader.path().to_path_buf()
    }

    /// Whether a dataset exists at `path`.
    pub(crate) fn has_dataset(&self, path: &str) -> bool {
        self.reader.kind(path) == Some(ObjectKind::Dataset)
    }

    /// Whether a group exists at `path`.
    pub(crate) fn has_group(&self, path: &str) -> bool {
        self.reader.kind(path) == Some(ObjectKind::Group)
    }

    /// The error for a missing object.
    pub(crate) fn missing(&self, what: &'static str, object: &str) -> PlotError {
        PlotError::Missing {
            path: self.path_buf(),
            what,
            object: object.to_owned(),
            kind: self.kind,
        }
    }

    /// The error for a malformed object.
    pub(crate) fn malformed(&self, object: &str, message: impl Into<String>) -> PlotError {
        PlotError::Malformed {
            path: self.path_buf(),
            object: object.to_owned(),
            message: message.into(),
        }
    }

    fn require_dataset(&self, path: &str) -> Result<(), PlotError> {
        if self.has_dataset(path) {
            Ok(())
        } else {
            Err(self.missing("dataset", path))
        }
    }

    /// Fails with [`PlotError::Missing`] unless a group exists at `path`.
    pub(crate) fn require_group(&self, path: &str) -> Result<(), PlotError> {
        if self.has_group(path) {
            Ok(())
        } else {
            Err(self.missing("group", path))
        }
    }

    /// A numeric dataset as f64 with its shape, which must have as many
    /// dimensions as `dims`; a `Some(n)` in `dims` requires that length.
    pub(crate) fn f64s(
        &self,
        path: &str,
        dims: &[Option<usize>],
    ) -> Result<(Vec<f64>, Vec<usize>), PlotError> {
        self.require_dataset(path)?;
        let (data, shape) = self.reader.read_f64(path)?;
        self.check_shape(path, &shape, dims)?;
        Ok((data, shape))
    }

    /// A one-dimensional numeric dataset as f64 (of length `len` if given).
    pub(crate) fn vector(&self, path: &str, len: Option<usize>) -> Result<Vec<f64>, PlotError> {
        Ok(self.f64s(path, &[len])?.0)
    }

    /// A one-dimensional integer dataset as i64 (of length `len` if given).
    pub(crate) fn ints(&self, path: &str, len: Option<usize>) -> Result<Vec<i64>, PlotError> {
        self.require_dataset(path)?;
        let (data, shape) = self.reader.read_i64(path)?;
        self.check_shape(path, &shape, &[len])?;
        // A float dataset would be truncated silently (status 0.5 read as 0): refuse it.
        if let Ok((floats, _)) = self.reader.read_f64(path)
            && let Some(bad) = floats.iter().find(|x| x.fract() != 0.0 || !x.is_finite())
        {
            return Err(self.malformed(path, format!("has the non-integer value {bad}")));
        }
        Ok(data)
    }

    /// The shape of the dataset at `path`.
    pub(crate) fn shape(&self, path: &str) -> Result<Vec<usize>, PlotError> {
        self.require_dataset(path)?;
        Ok(self.reader.shape(path)?)
    }

    /// Frame `index` of a float64 dataset (along its first dimension).
    pub(crate) fn frame(&self, path: &str, index: usize) -> Result<Vec<f64>, PlotError> {
        self.require_dataset(path)?;
        Ok(self.reader.read_frame_f64(path, index)?.0)
    }

    /// A one-dimensional string dataset.
    pub(crate) fn strings(&self, path: &str) -> Result<Vec<String>, PlotError> {
        self.require_dataset(path)?;
        Ok(self.reader.read_strings(path)?)
    }

    /// A scalar string dataset, or `None` if there is none at `path`.
    pub(crate) fn opt_string(&self, path: &str) -> Result<Option<String>, PlotError> {
        if !self.has_dataset(path) {
            return Ok(None);
        }
        Ok(Some(self.reader.read_string(path)?))
    }

    /// A string-array attribute, which must have `len` elements if given.
    pub(crate) fn names(
        &self,
        path: &str,
        attr: &str,
        len: Option<usize>,
    ) -> Result<Vec<String>, PlotError> {
        let object = format!("{path}@{attr}");
        if self.reader.kind(path).is_none() {
            return Err(self.missing("group or dataset", path));
        }
        if !self.reader.attr_names(path)?.iter().any(|a| a == attr) {
            return Err(self.missing("attribute", &object));
        }
        let names = self.reader.read_attr_strings(path, attr)?;
        if let Some(n) = len
            && names.len() != n
        {
            return Err(self.malformed(
                &object,
                format!("has {} names where {n} were expected", names.len()),
            ));
        }
        Ok(names)
    }

    /// A string attribute if it exists (e.g. `unit`); `None` if absent or
    /// not a string.
    pub(crate) fn opt_attr(&self, path: &str, attr: &str) -> Option<String> {
        let names = self.reader.attr_names(path).ok()?;
        if !names.iter().any(|a| a == attr) {
            return None;
        }
        self.reader.read_attr_string(path, attr).ok()
    }

    /// The members of the group at `path` that are datasets, sorted.
    pub(crate) fn datasets_in(&self, path: &str) -> Result<Vec<String>, PlotError> {
        self.require_group(path)?;
        let names = self.reader.list_group(path)?;
        Ok(names
            .into_iter()
            .filter(|n| self.has_dataset(&format!("{path}/{n}")))
            .collect())
    }

    /// The members of the group at `path` that are groups, sorted.
    pub(crate) fn groups_in(&self, path: &str) -> Result<Vec<String>, PlotError> {
        self.require_group(path)?;
        let names = self.reader.list_group(path)?;
        Ok(names
            .into_iter()
            .filter(|n| self.has_group(&format!("{path}/{n}")))
            .collect())
    }

    fn check_shape(
        &self,
        path: &str,
        shape: &[usize],
        dims: &[Option<usize>],
    ) -> Result<(), PlotError> {
        let ok = shape.len() == dims.len()
            && shape
                .iter()
                .zip(dims)
                .all(|(&s, d)| d.is_none_or(|d| d == s));
        if ok {
            return Ok(());
        }
        let expected: Vec<String> = dims
            .iter()
            .map(|d| d.map_or_else(|| "*".to_owned(), |n| n.to_string()))
            .collect();
        Err(self.malformed(
            path,
            format!(
                "has shape {shape:?} where [{}] was expected",
                expected.join(", ")
            ),
        ))
    }

    /// An H5MD time series `group/{time,value}` whose `value` has
    /// `1 + element.len()` dimensions (`element` as in [`Source::f64s`]).
    /// Fails on a series with no frames.
    pub(crate) fn series(
        &self,
        group: &str,
        element: &[Option<usize>],
    ) -> Result<Series, PlotError> {
        let time_path = format!("{group}/time");
        let value_path = format!("{group}/value");
        let time = self.vector(&time_path, None)?;
        let mut dims = vec![Some(time.len())];
        dims.extend_from_slice(element);
        let (value, shape) = self.f64s(&value_path, &dims)?;
        if time.is_empty() {
            return Err(self.malformed(&value_path, "has no frames"));
        }
        Ok(Series { time, value, shape })
    }
}

/// An H5MD time series read whole.
pub(crate) struct Series {
    /// `time` (s), one per frame.
    pub time: Vec<f64>,
    /// `value` in C order.
    pub value: Vec<f64>,
    /// The shape of `value` (first dimension = frames).
    pub shape: Vec<usize>,
}

impl Series {
    /// The number of values per frame.
    pub(crate) fn frame_len(&self) -> usize {
        self.shape[1..].iter().product()
    }

    /// Component `j` of a series of shape `[T][n]`, against time.
    pub(crate) fn column(&self, j: usize) -> Vec<(f64, f64)> {
        let n = self.frame_len();
        self.time
            .iter()
            .enumerate()
            .map(|(t, &time)| (time, self.value[t * n + j]))
            .collect()
    }
}
