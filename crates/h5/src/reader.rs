//! A small reader for files written by [`Writer`](crate::Writer) (or any
//! HDF5 file with the same conventions), for commands that read results
//! back: plotting, merging, resuming.
//!
//! Reading happens on the calling thread. Every error names the file and the
//! object: a missing object is [`H5Error::Layout`], anything else that goes
//! wrong (wrong type, I/O) is [`H5Error::Read`].

use std::path::{Path, PathBuf};

use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};

/// Longest fixed-length string the reader reads (bytes).
const FIXED_STRING_MAX: usize = 1024;
use hdf5::{Attribute, Container, Dataset, File, H5Type, Location, LocationType};

use crate::error::H5Error;
use crate::util::{attr_display, components, normalize};

/// An HDF5 file opened read-only.
#[derive(Debug)]
pub struct Reader {
    file: File,
    path: PathBuf,
}

/// The element type of a dataset, as returned by [`Reader::element_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementKind {
    /// Floating point (read with [`Reader::read_f64`]).
    Float,
    /// Signed or unsigned integers (read with [`Reader::read_i64`]).
    Integer,
    /// Strings (read with [`Reader::read_strings`]).
    String,
    /// Anything else (compound, enum, ...).
    Other,
}

/// What kind of object a path names, as returned by [`Reader::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A group.
    Group,
    /// A dataset.
    Dataset,
    /// Something else (e.g. a committed datatype).
    Other,
}

impl Reader {
    /// Opens an existing HDF5 file read-only.
    ///
    /// # Errors
    /// [`H5Error::Open`] if the file does not exist or is not HDF5.
    pub fn open(path: &Path) -> Result<Reader, H5Error> {
        let open_err = |message: String| H5Error::Open {
            path: path.to_path_buf(),
            message,
        };
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(open_err("not a regular file".into())),
            Err(e) => return Err(open_err(e.to_string())),
        }
        let file = File::with_options()
            // Best-effort locking, so that files on NFS or Lustre open.
            .with_fapl(|fapl| fapl.file_locking(true))
            .open(path)
            .map_err(|e| open_err(e.to_string()))?;
        Ok(Reader {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a group or dataset exists at `path` (`"/"` always does).
    pub fn exists(&self, path: &str) -> bool {
        let mut prefix = String::new();
        for c in components(path) {
            prefix.push('/');
            prefix.push_str(c);
            if !self.file.link_exists(&prefix) {
                return false;
            }
        }
        true
    }

    /// What kind of object is at `path`, or `None` if nothing is.
    pub fn kind(&self, path: &str) -> Option<ObjectKind> {
        let path = normalize(path);
        if path == "/" {
            return Some(ObjectKind::Group);
        }
        if !self.exists(&path) {
            return None;
        }
        match self.file.loc_type_by_name(&path) {
            Ok(LocationType::Group) => Some(ObjectKind::Group),
            Ok(LocationType::Dataset) => Some(ObjectKind::Dataset),
            _ => Some(ObjectKind::Other),
        }
    }

    /// The sorted names of the members of the group at `path`.
    ///
    /// # Errors
    /// [`H5Error::Layout`] if there is no group at `path`.
    pub fn list_group(&self, path: &str) -> Result<Vec<String>, H5Error> {
        let path = normalize(path);
        if self.kind(&path) != Some(ObjectKind::Group) {
            return Err(self.layout(format!("no group {path}")));
        }
        let group = self
            .file
            .group(&path)
            .map_err(|e| self.read_err(&path, &e))?;
        let mut names = group.member_names().map_err(|e| self.read_err(&path, &e))?;
        names.sort();
        Ok(names)
    }

    /// The shape of the dataset at `path` (`[]` for a scalar).
    ///
    /// # Errors
    /// [`H5Error::Layout`] if there is no dataset at `path`.
    pub fn shape(&self, path: &str) -> Result<Vec<usize>, H5Error> {
        let (ds, _) = self.dataset(path)?;
        Ok(ds.shape())
    }

    /// The element type of the dataset at `path`.
    ///
    /// # Errors
    /// [`H5Error::Layout`] if there is no dataset at `path`, [`H5Error::Read`] if its type
    /// cannot be read.
    pub fn element_kind(&self, path: &str) -> Result<ElementKind, H5Error> {
        let (ds, path) = self.dataset(path)?;
        let descriptor = ds
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| self.read_err(&path, &e))?;
        Ok(match descriptor {
            TypeDescriptor::Float(_) => ElementKind::Float,
            TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => ElementKind::Integer,
            TypeDescriptor::VarLenUnicode
            | TypeDescriptor::VarLenAscii
            | TypeDescriptor::FixedAscii(_)
            | TypeDescriptor::FixedUnicode(_) => ElementKind::String,
            _ => ElementKind::Other,
        })
    }

    /// The size in bytes of one element of the dataset at `path` (8 for float64).
    ///
    /// # Errors
    /// As for [`element_kind`](Reader::element_kind).
    pub fn element_size(&self, path: &str) -> Result<usize, H5Error> {
        let (ds, path) = self.dataset(path)?;
        ds.dtype()
            .map(|t| t.size())
            .map_err(|e| self.read_err(&path, &e))
    }

    /// A whole numeric dataset as float64 (integers are converted) in C
    /// order, with its shape (`[]` for a scalar).
    ///
    /// # Errors
    /// [`H5Error::Layout`] if there is no dataset at `path`,
    /// [`H5Error::Read`] if it is not numeric or cannot be read.
    pub fn read_f64(&self, path: &str) -> Result<(Vec<f64>, Vec<usize>), H5Error> {
        self.read_numeric(path)
    }

    /// A whole integer dataset as int64, with its shape.
    ///
    /// # Errors
    /// As for [`read_f64`](Reader::read_f64).
    pub fn read_i64(&self, path: &str) -> Result<(Vec<i64>, Vec<usize>), H5Error> {
        self.read_numeric(path)
    }

    /// A whole integer dataset as int32, with its shape.
    ///
    /// # Errors
    /// As for [`read_f64`](Reader::read_f64).
    pub fn read_i32(&self, path: &str) -> Result<(Vec<i32>, Vec<usize>), H5Error> {
        self.read_numeric(path)
    }

    /// Frame `index` (along the first dimension) of a float64 dataset, e.g.
    /// one frame of a time series `value`, with its shape (the dataset's
    /// shape without the first dimension).
    ///
    /// # Errors
    /// As for [`read_f64`](Reader::read_f64), and [`H5Error::Read`] if the
    /// dataset is a scalar or `index` is out of range.
    pub fn read_frame_f64(
        &self,
        path: &str,
        index: usize,
    ) -> Result<(Vec<f64>, Vec<usize>), H5Error> {
        let (ds, path) = self.dataset(path)?;
        let shape = ds.shape();
        let frames = shape.first().copied().unwrap_or(0);
        if shape.is_empty() || index >= frames {
            return Err(H5Error::Read {
                path: self.path.clone(),
                dataset: path,
                message: format!("frame {index} out of range for shape {shape:?}"),
            });
        }
        let frame_shape = shape[1..].to_vec();
        let selection: Vec<hdf5::SliceOrIndex> = std::iter::once((index..index + 1).into())
            .chain(frame_shape.iter().map(|&d| (0..d).into()))
            .collect();
        let data = ds
            .read_slice::<f64, _, ndarray::IxDyn>(hdf5::Hyperslab::from(selection))
            .map_err(|e| self.read_err(&path, &e))?;
        let data = data.as_standard_layout().iter().copied().collect();
        Ok((data, frame_shape))
    }

    /// A scalar string dataset (variable-length UTF-8 or ASCII).
    ///
    /// # Errors
    /// [`H5Error::Layout`] if there is no dataset at `path`,
    /// [`H5Error::Read`] if it is not a scalar variable-length string.
    pub fn read_string(&self, path: &str) -> Result<String, H5Error> {
        let (ds, path) = self.dataset(path)?;
        let mut v = read_strings_from(&ds).map_err(|e| self.read_err(&path, &e))?;
        if !ds.is_scalar() || v.len() != 1 {
            return Err(self.read_msg(&path, "not a scalar string"));
        }
        Ok(v.swap_remove(0))
    }

    /// A string-array dataset, flattened in C order.
    ///
    /// # Errors
    /// As for [`read_string`](Reader::read_string).
    pub fn read_strings(&self, path: &str) -> Result<Vec<String>, H5Error> {
        let (ds, path) = self.dataset(path)?;
        read_strings_from(&ds).map_err(|e| self.read_err(&path, &e))
    }

    /// The names of the attributes of the object at `path`, sorted.
    ///
    /// # Errors
    /// [`H5Error::Layout`] if nothing is at `path`.
    pub fn attr_names(&self, path: &str) -> Result<Vec<String>, H5Error> {
        let path = normalize(path);
        let mut names = self.with_location(&path, |loc| loc.attr_names())?;
        names.sort();
        Ok(names)
    }

    /// A scalar string attribute.
    ///
    /// # Errors
    /// [`H5Error::Layout`] if the object or attribute is missing,
    /// [`H5Error::Read`] if it is not a scalar string.
    pub fn read_attr_string(&self, path: &str, name: &str) -> Result<String, H5Error> {
        let (attr, what) = self.attr(path, name)?;
        let mut v = read_strings_from(&attr).map_err(|e| self.read_err(&what, &e))?;
        if !attr.is_scalar() || v.len() != 1 {
            return Err(self.read_msg(&what, "not a scalar string"));
        }
        Ok(v.swap_remove(0))
    }

    /// A string-array attribute (a scalar string gives one element).
    ///
    /// # Errors
    /// As for [`read_attr_string`](Reader::read_attr_string).
    pub fn read_attr_strings(&self, path: &str, name: &str) -> Result<Vec<String>, H5Error> {
        let (attr, what) = self.attr(path, name)?;
        read_strings_from(&attr).map_err(|e| self.read_err(&what, &e))
    }

    /// A scalar numeric attribute as float64.
    ///
    /// # Errors
    /// As for [`read_attr_string`](Reader::read_attr_string).
    pub fn read_attr_f64(&self, path: &str, name: &str) -> Result<f64, H5Error> {
        self.read_attr_scalar(path, name)
    }

    /// A scalar integer attribute as int64.
    ///
    /// # Errors
    /// As for [`read_attr_string`](Reader::read_attr_string).
    pub fn read_attr_i64(&self, path: &str, name: &str) -> Result<i64, H5Error> {
        self.read_attr_scalar(path, name)
    }

    /// An integer attribute (scalar or array) as int64 values, e.g. the
    /// H5MD `version`.
    ///
    /// # Errors
    /// As for [`read_attr_string`](Reader::read_attr_string).
    pub fn read_attr_i64s(&self, path: &str, name: &str) -> Result<Vec<i64>, H5Error> {
        let (attr, what) = self.attr(path, name)?;
        attr.read_raw::<i64>().map_err(|e| self.read_err(&what, &e))
    }

    fn read_attr_scalar<T: H5Type + Copy>(&self, path: &str, name: &str) -> Result<T, H5Error> {
        let (attr, what) = self.attr(path, name)?;
        let v = attr.read_raw::<T>().map_err(|e| self.read_err(&what, &e))?;
        match v.as_slice() {
            [x] => Ok(*x),
            _ => Err(self.read_msg(&what, "not a single value")),
        }
    }

    fn read_numeric<T: H5Type + Copy>(&self, path: &str) -> Result<(Vec<T>, Vec<usize>), H5Error> {
        let (ds, path) = self.dataset(path)?;
        let shape = ds.shape();
        if ds.dtype().is_ok_and(|t| {
            !matches!(
                t.to_descriptor(),
                Ok(TypeDescriptor::Integer(_)
                    | TypeDescriptor::Unsigned(_)
                    | TypeDescriptor::Float(_))
            )
        }) {
            return Err(self.read_msg(&path, "not a numeric dataset"));
        }
        let data = ds.read_raw::<T>().map_err(|e| self.read_err(&path, &e))?;
        Ok((data, shape))
    }

    /// The dataset at `path` and the normalized path.
    fn dataset(&self, path: &str) -> Result<(Dataset, String), H5Error> {
        let path = normalize(path);
        if self.kind(&path) != Some(ObjectKind::Dataset) {
            return Err(self.layout(format!("no dataset {path}")));
        }
        let ds = self
            .file
            .dataset(&path)
            .map_err(|e| self.read_err(&path, &e))?;
        Ok((ds, path))
    }

    fn with_location<R>(
        &self,
        path: &str,
        f: impl FnOnce(&Location) -> hdf5::Result<R>,
    ) -> Result<R, H5Error> {
        let r = match self.kind(path) {
            Some(ObjectKind::Group) => self.file.group(path).and_then(|g| f(&g)),
            Some(ObjectKind::Dataset) => self.file.dataset(path).and_then(|d| f(&d)),
            Some(ObjectKind::Other) => {
                return Err(self.layout(format!("{path} is not a group or dataset")));
            }
            None => return Err(self.layout(format!("no group or dataset {path}"))),
        };
        r.map_err(|e| self.read_err(path, &e))
    }

    /// The attribute `name` of the object at `path`, and its display name.
    fn attr(&self, path: &str, name: &str) -> Result<(Attribute, String), H5Error> {
        let path = normalize(path);
        let what = attr_display(&path, name);
        let names = self.with_location(&path, |loc| loc.attr_names())?;
        if !names.iter().any(|n| n == name) {
            return Err(self.layout(format!("no attribute {what}")));
        }
        let attr = self.with_location(&path, |loc| loc.attr(name))?;
        Ok((attr, what))
    }

    fn layout(&self, message: String) -> H5Error {
        H5Error::Layout {
            path: self.path.clone(),
            message,
        }
    }

    fn read_err(&self, dataset: &str, e: &hdf5::Error) -> H5Error {
        self.read_msg(dataset, &e.to_string())
    }

    fn read_msg(&self, dataset: &str, message: &str) -> H5Error {
        H5Error::Read {
            path: self.path.clone(),
            dataset: dataset.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// All strings of a variable-length string dataset or attribute.
fn read_strings_from(c: &Container) -> hdf5::Result<Vec<String>> {
    match c.dtype()?.to_descriptor()? {
        TypeDescriptor::VarLenUnicode => Ok(c
            .read_raw::<VarLenUnicode>()?
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()),
        TypeDescriptor::VarLenAscii => Ok(c
            .read_raw::<VarLenAscii>()?
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()),
        // Fixed-length strings (H5MD `unit` attributes), converted to the longest we accept.
        TypeDescriptor::FixedAscii(n) if n <= FIXED_STRING_MAX => Ok(c
            .read_raw::<FixedAscii<FIXED_STRING_MAX>>()?
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()),
        TypeDescriptor::FixedUnicode(n) if n <= FIXED_STRING_MAX => Ok(c
            .read_raw::<FixedUnicode<FIXED_STRING_MAX>>()?
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()),
        other => {
            Err(format!("not a string of at most {FIXED_STRING_MAX} bytes but {other}").into())
        }
    }
}
