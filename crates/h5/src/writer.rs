//! The writer: a handle on the producer side, one HDF5 thread per file.
//!
//! See the crate documentation for the thread model and the partial-file
//! protocol.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use hdf5::file::LibraryVersion;
use hdf5::types::VarLenUnicode;
use hdf5::{
    Dataset, DatasetBuilderEmpty, Extent, File, Group, H5Type, Hyperslab, Location, LocationType,
    SliceOrIndex,
};
use ndarray::{ArrayView, IxDyn};

use crate::chunks::filter_frame;
use crate::error::H5Error;
use crate::options::{Compression, WriterOptions};
use crate::util::{
    COMPRESS_THRESHOLD_BYTES, MAX_FIXED_CHUNK_BYTES, STEP_CHUNK_LEN, attr_display, capped_chunk,
    check_components, components, element_count, normalize, series_chunk, split_parent,
};

/// Capacity of the command queue from the producer to the writer thread.
/// Small on purpose: a producer that outruns the disk blocks instead of
/// piling up frames in memory.
const COMMAND_QUEUE: usize = 4;
/// Capacity of each buffer-return queue from the writer thread.
const RETURN_QUEUE: usize = 16;
/// Most spare buffers of each type kept on the producer side.
const POOL_CAP: usize = 16;

/// A second consumer of frames appended with [`Writer::append_to_sink`]: the writer thread
/// hands it the frame after writing it to the file, so the producing thread pays nothing for
/// the second copy (the engine's checkpoint journal is one). A sink whose frame could not be
/// written (an earlier error, a closing writer) is dropped without [`FrameSink::frame`] being
/// called; implementors that wait for their frames should count drops, not calls.
pub trait FrameSink: Send + std::fmt::Debug {
    /// Receives the frame of `series` at `step`/`time` just written (values in C order).
    fn frame(&mut self, series: SeriesId, step: i64, time: f64, data: &[f64]);
}

/// Identifies a time series declared with [`Writer::time_series`]; pass it to
/// [`Writer::append`]. Only meaningful for the writer that returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesId(usize);

/// What the producer side remembers about a time series, to check frames
/// before they are queued.
#[derive(Debug)]
struct SeriesMeta {
    value_path: String,
    element_shape: Vec<usize>,
    len: usize,
}

/// Everything needed to create a time series on the writer thread.
#[derive(Debug)]
struct SeriesSpec {
    group: String,
    element_shape: Vec<usize>,
    unit: Option<String>,
    time_unit: String,
}

/// An attribute value.
#[derive(Debug)]
enum AttrValue {
    Str(String),
    Strs(Vec<String>),
    F64(f64),
    I64(i64),
    I32s(Vec<i32>),
}

/// The data of a fixed dataset.
#[derive(Debug)]
enum FixedData {
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
}

type Reply = SyncSender<Result<(), H5Error>>;

/// A command for the writer thread.
#[derive(Debug)]
enum Cmd {
    Header {
        author: String,
        creator_name: String,
        creator_version: String,
    },
    Series {
        id: usize,
        spec: SeriesSpec,
        reply: Reply,
    },
    Append {
        id: usize,
        step: i64,
        time: f64,
        data: Vec<f64>,
        sink: Option<Box<dyn FrameSink>>,
    },
    Fixed {
        path: String,
        shape: Vec<usize>,
        data: FixedData,
        unit: Option<String>,
    },
    Str {
        path: String,
        value: String,
    },
    Strs {
        path: String,
        values: Vec<String>,
    },
    Attr {
        path: String,
        name: String,
        value: AttrValue,
    },
    Flush {
        reply: Reply,
    },
    /// Stop at once and close the file (the handle is being dropped).
    Abort,
}

/// State shared by the handle and the writer thread: the first error.
#[derive(Debug, Default)]
struct Shared {
    error: Mutex<Option<H5Error>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Option<H5Error>> {
        self.error.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `e` unless an earlier error is already recorded.
    fn fail(&self, e: H5Error) {
        let mut slot = self.lock();
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    /// The recorded error, if any.
    fn check(&self) -> Result<(), H5Error> {
        match &*self.lock() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

/// Producer-side mutable state.
#[derive(Debug)]
struct Local {
    ret_f64: Receiver<Vec<f64>>,
    ret_i64: Receiver<Vec<i64>>,
    pool_f64: Vec<Vec<f64>>,
    pool_i64: Vec<Vec<i64>>,
    series: Vec<SeriesMeta>,
}

/// Puts `buf` into `pool`, keeping at most [`POOL_CAP`] buffers (the
/// largest ones). Never grows `pool` past its initial capacity.
fn pool_put<T>(pool: &mut Vec<Vec<T>>, buf: Vec<T>) {
    if buf.capacity() == 0 {
        return;
    }
    if pool.len() < POOL_CAP {
        pool.push(buf);
    } else if let Some(smallest) = pool.iter_mut().min_by_key(|b| b.capacity())
        && smallest.capacity() < buf.capacity()
    {
        *smallest = buf;
    }
}

/// Takes a buffer of length `len` from `pool` (after draining `returns` into
/// it): the smallest one that is large enough, else the largest one (grown),
/// else a new one.
fn pool_take<T: Copy + Default>(
    returns: &Receiver<Vec<T>>,
    pool: &mut Vec<Vec<T>>,
    len: usize,
) -> Vec<T> {
    while let Ok(buf) = returns.try_recv() {
        pool_put(pool, buf);
    }
    let fitting = pool
        .iter()
        .enumerate()
        .filter(|(_, b)| b.capacity() >= len)
        .min_by_key(|(_, b)| b.capacity())
        .map(|(i, _)| i);
    let chosen = fitting.or_else(|| {
        pool.iter()
            .enumerate()
            .max_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)
    });
    let mut buf = match chosen {
        Some(i) => pool.swap_remove(i),
        None => Vec::new(),
    };
    buf.resize(len, T::default());
    buf
}

/// Writes one HDF5 file through a dedicated writer thread.
///
/// Created with [`Writer::create`], which makes a hidden partial file next to
/// the final path; [`Writer::finish`] closes it and renames it into place.
/// Dropping the writer without `finish` (or finishing after any error)
/// deletes the partial file. Methods queue work for the writer thread and
/// return at once (blocking only while the small queue is full); an error on
/// the thread is reported by the next call and by `finish`. After the first
/// error every call returns that same error and the file will not be kept.
///
/// All methods take `&self`; the writer is `Send + Sync`, but calls from
/// several threads are simply serialized in queue order.
#[derive(Debug)]
pub struct Writer {
    tx: Option<SyncSender<Cmd>>,
    handle: Option<JoinHandle<Result<(), H5Error>>>,
    shared: Arc<Shared>,
    local: Mutex<Local>,
    final_path: PathBuf,
    partial_path: PathBuf,
    finished: bool,
}

impl Writer {
    /// Creates the partial file `<dir>/.<name>.partial-<pid>` next to
    /// `final_path` and starts the writer thread.
    ///
    /// # Errors
    /// [`H5Error::Create`] (naming `final_path`) if the path has no file
    /// name, its directory does not exist, is not a directory or is not
    /// writable, the partial file already exists, or HDF5 cannot create the
    /// file. Nothing is left on disk in that case. An existing file at
    /// `final_path` is not an error: `finish` replaces it.
    pub fn create(final_path: &Path) -> Result<Writer, H5Error> {
        Self::create_with(final_path, &WriterOptions::default())
    }

    /// Like [`create`](Writer::create), with the compression of `options` for every chunked
    /// dataset of the file.
    ///
    /// # Errors
    /// As for [`create`](Writer::create); also [`H5Error::Create`] when the linked libhdf5
    /// lacks the requested filter (deflate).
    pub fn create_with(final_path: &Path, options: &WriterOptions) -> Result<Writer, H5Error> {
        let create_err = |message: String| H5Error::Create {
            path: final_path.to_path_buf(),
            message,
        };
        final_path
            .file_name()
            .ok_or_else(|| create_err("the path does not end in a file name".into()))?;
        let dir = match final_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(create_err(format!("{} is not a directory", dir.display())));
            }
            Err(e) => {
                return Err(create_err(format!(
                    "directory {} is not accessible: {e}",
                    dir.display()
                )));
            }
        }
        let partial_path = crate::atomic::partial_path(final_path);
        let compression = options.compression;
        let available = match compression {
            Compression::None => true,
            Compression::Deflate { .. } => hdf5::filters::deflate_available(),
            Compression::Lzf { .. } => hdf5::filters::lzf_available(),
        };
        if !available {
            return Err(create_err(format!(
                "compression {compression} is not available in this HDF5 library"
            )));
        }

        // Claim the partial name with an exclusive create: this checks that
        // the directory is writable with a plain OS error message, and
        // refuses to clobber another writer's partial file.
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial_path)
        {
            return Err(create_err(format!(
                "cannot create {}: {e}",
                partial_path.display()
            )));
        }

        let (tx, rx) = mpsc::sync_channel::<Cmd>(COMMAND_QUEUE);
        let (ret_f64_tx, ret_f64) = mpsc::sync_channel(RETURN_QUEUE);
        let (ret_i64_tx, ret_i64) = mpsc::sync_channel(RETURN_QUEUE);
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let shared = Arc::new(Shared::default());
        let worker_shared = Arc::clone(&shared);
        let worker_partial = partial_path.clone();
        let worker_final = final_path.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("buffycoat-h5-writer".into())
            .spawn(move || {
                run_worker(
                    worker_partial,
                    worker_final,
                    rx,
                    ready_tx,
                    ret_f64_tx,
                    ret_i64_tx,
                    worker_shared,
                    compression,
                )
            });
        let handle = match spawned {
            Ok(h) => h,
            Err(e) => {
                let _ = std::fs::remove_file(&partial_path);
                return Err(create_err(format!("cannot start the writer thread: {e}")));
            }
        };
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = handle.join();
                let _ = std::fs::remove_file(&partial_path);
                return Err(e);
            }
            Err(_) => {
                let _ = handle.join();
                let _ = std::fs::remove_file(&partial_path);
                return Err(create_err(
                    "the writer thread died while creating the file".into(),
                ));
            }
        }
        Ok(Writer {
            tx: Some(tx),
            handle: Some(handle),
            shared,
            local: Mutex::new(Local {
                ret_f64,
                ret_i64,
                pool_f64: Vec::with_capacity(POOL_CAP),
                pool_i64: Vec::with_capacity(POOL_CAP),
                series: Vec::new(),
            }),
            final_path: final_path.to_path_buf(),
            partial_path,
            finished: false,
        })
    }

    /// The path the file will have after [`Writer::finish`].
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// The hidden path the file has while it is being written.
    pub fn partial_path(&self) -> &Path {
        &self.partial_path
    }

    /// Writes the H5MD 1.1 header: group `/h5md` with attribute
    /// `version = [1, 1]` (int32), `/h5md/author` with attribute `name`, and
    /// `/h5md/creator` with attributes `name` and `version`.
    ///
    /// # Errors
    /// An earlier error, a string containing a NUL byte, or
    /// [`H5Error::WriterGone`].
    pub fn h5md_header(
        &self,
        author: &str,
        creator_name: &str,
        creator_version: &str,
    ) -> Result<(), H5Error> {
        self.shared.check()?;
        for (what, s) in [
            ("/h5md/author@name", author),
            ("/h5md/creator@name", creator_name),
            ("/h5md/creator@version", creator_version),
        ] {
            self.check_text(what, s)?;
        }
        self.send(Cmd::Header {
            author: author.to_owned(),
            creator_name: creator_name.to_owned(),
            creator_version: creator_version.to_owned(),
        })
    }

    /// Declares an H5MD time series (a "time-dependent data element") at
    /// `group`, e.g. `/particles/cells/position`, and returns the id to
    /// [`append`](Writer::append) frames with.
    ///
    /// Creates, in `group` (made on demand):
    /// - `step`: int64 `[T]`;
    /// - `time`: float64 `[T]`, attribute `unit = time_unit`;
    /// - `value`: float64 `[T] × element_shape`, unlimited along `T`, attribute
    ///   `unit` when `unit` is `Some`.
    ///
    /// All three are chunked and use the file's [`Compression`].
    ///
    /// `value` is chunked one frame per chunk, except that a frame over
    /// 4 MiB is split along its leading element dimension and frames under
    /// 64 KiB are grouped several to a chunk.
    ///
    /// Unlike most methods this one waits for the writer thread, so an
    /// invalid or duplicate group is reported right here.
    ///
    /// # Errors
    /// An earlier error, an invalid or existing group, an overflowing shape,
    /// a unit with a NUL byte, HDF5 failures, or [`H5Error::WriterGone`].
    pub fn time_series(
        &self,
        group: &str,
        element_shape: &[usize],
        unit: Option<&str>,
        time_unit: &str,
    ) -> Result<SeriesId, H5Error> {
        self.shared.check()?;
        let group_path = normalize(group);
        let value_path = format!("{}/value", group_path.trim_end_matches('/'));
        self.check_path(&group_path)?;
        if group_path == "/" {
            return Err(self.reject(&value_path, "a time series needs a named group".into()));
        }
        let len = element_count(element_shape)
            .filter(|n| n.checked_mul(8).is_some_and(|b| b <= isize::MAX as usize))
            .ok_or_else(|| {
                self.reject(
                    &value_path,
                    format!("element shape {element_shape:?} is too large"),
                )
            })?;
        if let Some(u) = unit {
            self.check_text(&format!("{value_path}@unit"), u)?;
        }
        self.check_text(&format!("{group_path}/time@unit"), time_unit)?;

        let mut local = self.lock_local();
        let id = local.series.len();
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        self.send(Cmd::Series {
            id,
            spec: SeriesSpec {
                group: group_path,
                element_shape: element_shape.to_vec(),
                unit: unit.map(str::to_owned),
                time_unit: time_unit.to_owned(),
            },
            reply: reply_tx,
        })?;
        match reply_rx.recv() {
            Ok(Ok(())) => {
                local.series.push(SeriesMeta {
                    value_path,
                    element_shape: element_shape.to_vec(),
                    len,
                });
                Ok(SeriesId(id))
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(self.gone()),
        }
    }

    /// Appends one frame to a time series. `data` (in C order) must have
    /// exactly as many values as the series' element shape; the buffer is
    /// recycled (see [`take_buffer_f64`](Writer::take_buffer_f64)).
    ///
    /// # Errors
    /// An earlier error, an unknown series, a wrong length (which also
    /// spoils the file), or [`H5Error::WriterGone`].
    pub fn append(
        &self,
        series: SeriesId,
        step: i64,
        time: f64,
        data: Vec<f64>,
    ) -> Result<(), H5Error> {
        self.append_inner(series, step, time, data, None)
    }

    /// Like [`append`](Writer::append), and once the frame is written the writer thread
    /// passes it to `sink` (see [`FrameSink`]; `sink` is dropped uncalled if the frame is not
    /// written).
    ///
    /// # Errors
    /// As [`append`](Writer::append).
    pub fn append_to_sink(
        &self,
        series: SeriesId,
        step: i64,
        time: f64,
        data: Vec<f64>,
        sink: Box<dyn FrameSink>,
    ) -> Result<(), H5Error> {
        self.append_inner(series, step, time, data, Some(sink))
    }

    fn append_inner(
        &self,
        series: SeriesId,
        step: i64,
        time: f64,
        data: Vec<f64>,
        sink: Option<Box<dyn FrameSink>>,
    ) -> Result<(), H5Error> {
        self.shared.check()?;
        {
            let mut local = self.lock_local();
            let problem = match local.series.get(series.0) {
                None => Some((
                    format!("series #{}", series.0),
                    "unknown series id (not returned by this writer)".to_string(),
                )),
                Some(meta) if meta.len != data.len() => Some((
                    meta.value_path.clone(),
                    format!(
                        "frame has {} values but element shape {:?} needs {}",
                        data.len(),
                        meta.element_shape,
                        meta.len
                    ),
                )),
                Some(_) => None,
            };
            if let Some((dataset, message)) = problem {
                pool_put(&mut local.pool_f64, data);
                return Err(self.reject(&dataset, message));
            }
        }
        self.send(Cmd::Append {
            id: series.0,
            step,
            time,
            data,
            sink,
        })
    }

    /// Writes a whole float64 dataset of `shape` (C order; `[]` is a
    /// scalar) at `path`, creating parent groups on demand. With a
    /// compressing [`Compression`], datasets over 8 KiB are chunked and
    /// filtered; otherwise datasets are contiguous. `unit` becomes the `unit`
    /// attribute. The buffer is recycled.
    ///
    /// # Errors
    /// An earlier error, an invalid path, `data.len()` not matching `shape`,
    /// an existing object at `path` (reported later), or
    /// [`H5Error::WriterGone`].
    pub fn dataset_f64(
        &self,
        path: &str,
        shape: &[usize],
        data: Vec<f64>,
        unit: Option<&str>,
    ) -> Result<(), H5Error> {
        self.fixed(path, shape, data.len(), unit, FixedData::F64(data))
    }

    /// Like [`dataset_f64`](Writer::dataset_f64) for int64 data.
    ///
    /// # Errors
    /// As for [`dataset_f64`](Writer::dataset_f64).
    pub fn dataset_i64(
        &self,
        path: &str,
        shape: &[usize],
        data: Vec<i64>,
        unit: Option<&str>,
    ) -> Result<(), H5Error> {
        self.fixed(path, shape, data.len(), unit, FixedData::I64(data))
    }

    /// Like [`dataset_f64`](Writer::dataset_f64) for int32 data (the buffer
    /// is not recycled).
    ///
    /// # Errors
    /// As for [`dataset_f64`](Writer::dataset_f64).
    pub fn dataset_i32(
        &self,
        path: &str,
        shape: &[usize],
        data: Vec<i32>,
        unit: Option<&str>,
    ) -> Result<(), H5Error> {
        self.fixed(path, shape, data.len(), unit, FixedData::I32(data))
    }

    /// Writes a scalar variable-length UTF-8 string dataset (h5py reads it
    /// as `bytes`/`str` via `.asstr()`), e.g. the scenario TOML text.
    ///
    /// # Errors
    /// An earlier error, an invalid path, a NUL byte in `value`, or
    /// [`H5Error::WriterGone`].
    pub fn dataset_string(&self, path: &str, value: &str) -> Result<(), H5Error> {
        self.shared.check()?;
        let path = normalize(path);
        self.check_dataset_path(&path)?;
        self.check_text(&path, value)?;
        self.send(Cmd::Str {
            path,
            value: value.to_owned(),
        })
    }

    /// Writes a one-dimensional dataset of variable-length UTF-8 strings.
    ///
    /// # Errors
    /// As for [`dataset_string`](Writer::dataset_string).
    pub fn dataset_strings(&self, path: &str, values: &[String]) -> Result<(), H5Error> {
        self.shared.check()?;
        let path = normalize(path);
        self.check_dataset_path(&path)?;
        for v in values {
            self.check_text(&path, v)?;
        }
        self.send(Cmd::Strs {
            path,
            values: values.to_vec(),
        })
    }

    /// Sets string attribute `name` on the group or dataset at `path`
    /// (groups are created on demand when nothing exists there). An
    /// existing attribute of that name is replaced.
    ///
    /// # Errors
    /// An earlier error, an invalid path or name, a NUL byte, or
    /// [`H5Error::WriterGone`].
    pub fn attr_string(&self, path: &str, name: &str, value: &str) -> Result<(), H5Error> {
        let what = attr_display(path, name);
        self.shared.check()?;
        self.check_text(&what, value)?;
        self.attr(path, name, AttrValue::Str(value.to_owned()))
    }

    /// Sets a one-dimensional string-array attribute; see
    /// [`attr_string`](Writer::attr_string).
    ///
    /// # Errors
    /// As for [`attr_string`](Writer::attr_string).
    pub fn attr_strings(&self, path: &str, name: &str, values: &[String]) -> Result<(), H5Error> {
        let what = attr_display(path, name);
        self.shared.check()?;
        for v in values {
            self.check_text(&what, v)?;
        }
        self.attr(path, name, AttrValue::Strs(values.to_vec()))
    }

    /// Sets a scalar float64 attribute; see
    /// [`attr_string`](Writer::attr_string).
    ///
    /// # Errors
    /// As for [`attr_string`](Writer::attr_string).
    pub fn attr_f64(&self, path: &str, name: &str, value: f64) -> Result<(), H5Error> {
        self.attr(path, name, AttrValue::F64(value))
    }

    /// Sets a scalar int64 attribute; see
    /// [`attr_string`](Writer::attr_string).
    ///
    /// # Errors
    /// As for [`attr_string`](Writer::attr_string).
    pub fn attr_i64(&self, path: &str, name: &str, value: i64) -> Result<(), H5Error> {
        self.attr(path, name, AttrValue::I64(value))
    }

    /// Flushes everything queued so far to the partial file (HDF5
    /// `H5Fflush`) and waits for it. Not needed before
    /// [`finish`](Writer::finish).
    ///
    /// # Errors
    /// Any error so far, or [`H5Error::WriterGone`].
    pub fn flush(&self) -> Result<(), H5Error> {
        self.shared.check()?;
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        self.send(Cmd::Flush { reply: reply_tx })?;
        match reply_rx.recv() {
            Ok(r) => r,
            Err(_) => Err(self.gone()),
        }
    }

    /// A float64 buffer of length `len` for [`append`](Writer::append) or
    /// [`dataset_f64`](Writer::dataset_f64): a used buffer returned by the
    /// writer thread when one is available (the smallest whose capacity
    /// suffices), so a steady stream of equal-sized frames allocates
    /// nothing. Contents are unspecified.
    pub fn take_buffer_f64(&self, len: usize) -> Vec<f64> {
        let mut local = self.lock_local();
        let Local {
            ret_f64, pool_f64, ..
        } = &mut *local;
        pool_take(ret_f64, pool_f64, len)
    }

    /// Like [`take_buffer_f64`](Writer::take_buffer_f64) for int64 buffers.
    pub fn take_buffer_i64(&self, len: usize) -> Vec<i64> {
        let mut local = self.lock_local();
        let Local {
            ret_i64, pool_i64, ..
        } = &mut *local;
        pool_take(ret_i64, pool_i64, len)
    }

    /// Finishes the file: waits for the queue to drain, flushes and closes
    /// the file, syncs it to disk and renames it to its final path (which is
    /// replaced if it exists). Returns the final path.
    ///
    /// # Errors
    /// The first error of the writer's life, if there was one, else a
    /// close, sync or rename failure. In every error case the partial file
    /// is removed and no final file is created.
    pub fn finish(mut self) -> Result<PathBuf, H5Error> {
        let closed = self.stop(false);
        // The first error is the cause; a close failure after it is noise.
        self.shared.check()?;
        closed?;
        if let Err(e) = crate::atomic::commit(&self.partial_path, &self.final_path) {
            return Err(H5Error::Rename {
                from: self.partial_path.clone(),
                to: self.final_path.clone(),
                message: e.to_string(),
            });
        }
        self.finished = true;
        // Make the rename durable too (best effort: not all platforms or
        // file systems allow syncing a directory).
        if let Some(dir) = self.final_path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(self.final_path.clone())
    }

    /// Stops the writer thread (after the queue drains, or at once when
    /// `abort`) and returns what it returned.
    fn stop(&mut self, abort: bool) -> Result<(), H5Error> {
        if let Some(tx) = self.tx.take() {
            if abort {
                // Fails only if the thread is gone, which is fine here.
                let _ = tx.send(Cmd::Abort);
            }
            drop(tx);
        }
        match self.handle.take() {
            Some(h) => match h.join() {
                Ok(r) => r,
                Err(_) => Err(self.gone()),
            },
            None => Ok(()),
        }
    }

    fn lock_local(&self) -> MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn gone(&self) -> H5Error {
        H5Error::WriterGone {
            path: self.final_path.clone(),
        }
    }

    fn send(&self, cmd: Cmd) -> Result<(), H5Error> {
        match &self.tx {
            Some(tx) => tx.send(cmd).map_err(|_| self.gone()),
            None => Err(self.gone()),
        }
    }

    /// Records a producer-side validation failure (which spoils the file,
    /// like any other error) and returns it.
    fn reject(&self, dataset: &str, message: String) -> H5Error {
        let e = H5Error::Write {
            path: self.final_path.clone(),
            dataset: dataset.to_owned(),
            message,
        };
        self.shared.fail(e.clone());
        e
    }

    fn check_path(&self, path: &str) -> Result<(), H5Error> {
        check_components(path).map_err(|m| self.reject(path, m))?;
        if path.contains('\0') {
            return Err(self.reject(path, "object path contains a NUL byte".into()));
        }
        Ok(())
    }

    fn check_dataset_path(&self, path: &str) -> Result<(), H5Error> {
        self.check_path(path)?;
        if path == "/" {
            return Err(self.reject(path, "a dataset needs a name".into()));
        }
        Ok(())
    }

    fn check_text(&self, what: &str, s: &str) -> Result<(), H5Error> {
        if s.contains('\0') {
            return Err(self.reject(what, "string contains a NUL byte".into()));
        }
        Ok(())
    }

    fn fixed(
        &self,
        path: &str,
        shape: &[usize],
        len: usize,
        unit: Option<&str>,
        data: FixedData,
    ) -> Result<(), H5Error> {
        self.shared.check()?;
        let path = normalize(path);
        self.check_dataset_path(&path)?;
        if let Some(u) = unit {
            self.check_text(&format!("{path}@unit"), u)?;
        }
        if element_count(shape) != Some(len) {
            let e = self.reject(
                &path,
                format!("{len} values do not fill an array of shape {shape:?}"),
            );
            let mut local = self.lock_local();
            match data {
                FixedData::F64(v) => pool_put(&mut local.pool_f64, v),
                FixedData::I64(v) => pool_put(&mut local.pool_i64, v),
                FixedData::I32(_) => {}
            }
            return Err(e);
        }
        self.send(Cmd::Fixed {
            path,
            shape: shape.to_vec(),
            data,
            unit: unit.map(str::to_owned),
        })
    }

    fn attr(&self, path: &str, name: &str, value: AttrValue) -> Result<(), H5Error> {
        self.shared.check()?;
        let path = normalize(path);
        let what = attr_display(&path, name);
        self.check_path(&path)?;
        if name.is_empty() || name.contains('\0') {
            return Err(self.reject(&what, "invalid attribute name".into()));
        }
        self.send(Cmd::Attr {
            path,
            name: name.to_owned(),
            value,
        })
    }
}

impl Drop for Writer {
    /// Without a successful [`finish`](Writer::finish): stops the writer
    /// thread and deletes the partial file.
    fn drop(&mut self) {
        let _ = self.stop(true);
        if !self.finished {
            let _ = std::fs::remove_file(&self.partial_path);
        }
    }
}

// ---------------------------------------------------------------------------
// The writer thread. Everything below runs only there.

/// One time series, as the writer thread holds it.
struct Series {
    value: Dataset,
    step: Dataset,
    time: Dataset,
    value_path: String,
    frames: usize,
    /// `[frames, element_shape…]`, updated before each resize.
    full_shape: Vec<usize>,
    /// `[1, element_shape…]`, the shape of one frame in memory.
    frame_shape: Vec<usize>,
    /// Values per chunk when frames are compressed on worker threads and written with
    /// direct chunk writes (deflate, one frame per chunk, whole trailing dimensions); `None`
    /// when frames go through HDF5's own filter pipeline.
    direct_chunk_len: Option<usize>,
    /// Leading-element-dimension rows per chunk (with `direct_chunk_len`).
    direct_chunk_rows: usize,
}

struct Worker {
    file: File,
    final_path: PathBuf,
    series: Vec<Series>,
    ret_f64: SyncSender<Vec<f64>>,
    ret_i64: SyncSender<Vec<i64>>,
    shared: Arc<Shared>,
    compression: Compression,
    /// Threads that compress the chunks of a frame (direct chunk writes).
    threads: usize,
    /// Compressed chunks of the frame being written (reused).
    chunk_outs: Vec<Vec<u8>>,
    /// Starts the disk write-back of what the frames put in the page cache.
    write_back: WriteBack,
}

/// Starts write-back of a file's dirty pages while the run goes on, so the `fsync` of
/// [`Writer::finish`] waits only for the last frame rather than for the whole file (on a
/// disk writing ~1.3 GB/s the 128 MB file of the 10⁶-cell benchmark cost ~95 ms of serial
/// `close` + `fsync` at the end; see benches/README.md). Linux `sync_file_range` with
/// `SYNC_FILE_RANGE_WRITE` only queues the pages for writing; it neither waits for them nor
/// makes anything durable, so it changes no result and no guarantee (the `fsync` still does
/// that). A no-op elsewhere, or if the file cannot be opened a second time.
struct WriteBack {
    #[cfg(target_os = "linux")]
    file: Option<std::fs::File>,
}

impl WriteBack {
    fn new(path: &Path) -> WriteBack {
        #[cfg(target_os = "linux")]
        {
            // A second descriptor on the same inode: write-back works on the inode's pages,
            // whichever descriptor wrote them (libhdf5 keeps its own).
            WriteBack {
                file: std::fs::File::open(path).ok(),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = path;
            WriteBack {}
        }
    }

    /// Queues every dirty page of the file for writing (best effort: an error only means the
    /// final `fsync` has more to do).
    #[allow(unsafe_code)]
    fn start(&self) {
        #[cfg(target_os = "linux")]
        if let Some(file) = &self.file {
            use std::os::fd::AsRawFd;
            // SAFETY: the descriptor is open for the lifetime of `file`; offset 0 and
            // length 0 mean "to the end of the file"; the call reads no user memory.
            let _ = unsafe {
                libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE)
            };
        }
    }
}

fn run_worker(
    partial: PathBuf,
    final_path: PathBuf,
    rx: Receiver<Cmd>,
    ready: SyncSender<Result<(), H5Error>>,
    ret_f64: SyncSender<Vec<f64>>,
    ret_i64: SyncSender<Vec<i64>>,
    shared: Arc<Shared>,
    compression: Compression,
) -> Result<(), H5Error> {
    let created = File::with_options()
        .with_fapl(|fapl| {
            fapl.libver_bounds(LibraryVersion::V110, LibraryVersion::V110)
                // Best-effort locking: do not fail on file systems without
                // lock support (NFS, Lustre). The partial file is private.
                .file_locking(true)
        })
        .create(&partial);
    let file = match created {
        Ok(f) => f,
        Err(e) => {
            let err = H5Error::Create {
                path: final_path,
                message: format!("HDF5 cannot create {}: {e}", partial.display()),
            };
            let _ = ready.send(Err(err.clone()));
            return Err(err);
        }
    };
    let _ = ready.send(Ok(()));
    drop(ready);

    let mut worker = Worker {
        file,
        final_path,
        series: Vec::new(),
        ret_f64,
        ret_i64,
        shared,
        compression,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
        chunk_outs: Vec::new(),
        write_back: WriteBack::new(&partial),
    };
    for cmd in rx.iter() {
        if matches!(cmd, Cmd::Abort) {
            break;
        }
        worker.handle(cmd);
    }
    worker.close()
}

/// Stores one already-filtered chunk of `ds` at element offset `offset` (HDF5's
/// `H5Dwrite_chunk`, filter mask 0: every filter of the dataset was applied), bypassing the
/// filter pipeline. The bytes must be exactly what the dataset's filters produce for one full
/// chunk (see `crate::chunks`).
#[allow(unsafe_code)]
fn write_raw_chunk(ds: &Dataset, offset: &[u64], bytes: &[u8]) -> hdf5::Result<()> {
    let id = ds.id();
    // SAFETY: `id` is a live dataset handle (borrowed from `ds`), `offset` has one entry per
    // dimension of the dataset (checked by the caller's construction from its shape), and
    // `bytes` is valid for `bytes.len()` bytes for the duration of the call, which copies them.
    // The call holds the hdf5 crate's global lock, like every other libhdf5 call.
    let status = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5d::H5Dwrite_chunk(
            id,
            hdf5_sys::h5p::H5P_DEFAULT,
            0,
            offset.as_ptr(),
            bytes.len(),
            bytes.as_ptr().cast(),
        )
    });
    if status < 0 {
        Err(hdf5::Error::from(format!(
            "H5Dwrite_chunk failed at offset {offset:?}"
        )))
    } else {
        Ok(())
    }
}

/// A string as HDF5 variable-length UTF-8.
fn vlu(s: &str) -> hdf5::Result<VarLenUnicode> {
    s.parse::<VarLenUnicode>()
        .map_err(|e| hdf5::Error::from(e.to_string()))
}

/// Sets attribute `name` on `loc`, replacing one of the same name.
fn put_attr(loc: &Location, name: &str, value: &AttrValue) -> hdf5::Result<()> {
    if loc.attr_names()?.iter().any(|n| n == name) {
        loc.delete_attr(name)?;
    }
    match value {
        AttrValue::Str(s) => {
            let v = vlu(s)?;
            loc.new_attr::<VarLenUnicode>()
                .shape(())
                .create(name)?
                .write_scalar(&v)
        }
        AttrValue::Strs(values) => {
            let v = values
                .iter()
                .map(|s| vlu(s))
                .collect::<hdf5::Result<Vec<_>>>()?;
            let attr = loc
                .new_attr::<VarLenUnicode>()
                .shape([v.len()])
                .create(name)?;
            if v.is_empty() {
                Ok(())
            } else {
                attr.write_raw(v.as_slice())
            }
        }
        AttrValue::F64(x) => loc
            .new_attr::<f64>()
            .shape(())
            .create(name)?
            .write_scalar(x),
        AttrValue::I64(x) => loc
            .new_attr::<i64>()
            .shape(())
            .create(name)?
            .write_scalar(x),
        AttrValue::I32s(v) => {
            let attr = loc.new_attr::<i32>().shape([v.len()]).create(name)?;
            if v.is_empty() {
                Ok(())
            } else {
                attr.write_raw(v.as_slice())
            }
        }
    }
}

impl Worker {
    fn err(&self, dataset: &str, e: &hdf5::Error) -> H5Error {
        H5Error::Write {
            path: self.final_path.clone(),
            dataset: dataset.to_owned(),
            message: e.to_string(),
        }
    }

    /// The file's filters (see [`Compression`]); the builder must be chunked.
    fn filtered(&self, builder: DatasetBuilderEmpty) -> DatasetBuilderEmpty {
        let shuffled =
            |b: DatasetBuilderEmpty, shuffle: bool| if shuffle { b.shuffle() } else { b };
        match self.compression {
            Compression::None => builder,
            Compression::Deflate { level, shuffle } => shuffled(builder, shuffle).deflate(level),
            Compression::Lzf { shuffle } => shuffled(builder, shuffle).lzf(),
        }
    }

    fn recycle_f64(&self, buf: Vec<f64>) {
        // A full queue just means the producer has plenty of spares.
        let _ = self.ret_f64.try_send(buf);
    }

    fn recycle_i64(&self, buf: Vec<i64>) {
        let _ = self.ret_i64.try_send(buf);
    }

    /// Carries out one command (or, after an error, only recycles its
    /// buffers and answers its reply with that error).
    fn handle(&mut self, cmd: Cmd) {
        if let Err(e) = self.shared.check() {
            match cmd {
                Cmd::Append { data, .. }
                | Cmd::Fixed {
                    data: FixedData::F64(data),
                    ..
                } => self.recycle_f64(data),
                Cmd::Fixed {
                    data: FixedData::I64(data),
                    ..
                } => self.recycle_i64(data),
                Cmd::Series { reply, .. } | Cmd::Flush { reply } => {
                    let _ = reply.send(Err(e));
                }
                _ => {}
            }
            return;
        }
        let result = match cmd {
            Cmd::Header {
                author,
                creator_name,
                creator_version,
            } => self.header(&author, &creator_name, &creator_version),
            Cmd::Series { id, spec, reply } => {
                let r = self.create_series(id, &spec);
                if let Err(e) = &r {
                    self.shared.fail(e.clone());
                }
                let _ = reply.send(r);
                Ok(())
            }
            Cmd::Append {
                id,
                step,
                time,
                data,
                sink,
            } => {
                let r = self.append(id, step, time, &data);
                if r.is_ok() {
                    self.write_back.start();
                }
                if let (Ok(()), Some(mut sink)) = (&r, sink) {
                    sink.frame(SeriesId(id), step, time, &data);
                }
                self.recycle_f64(data);
                r
            }
            Cmd::Fixed {
                path,
                shape,
                data,
                unit,
            } => {
                let unit = unit.as_deref();
                match data {
                    FixedData::F64(v) => {
                        let r = self.write_fixed(&path, &shape, &v, unit);
                        if r.is_ok() {
                            self.write_back.start();
                        }
                        self.recycle_f64(v);
                        r
                    }
                    FixedData::I64(v) => {
                        let r = self.write_fixed(&path, &shape, &v, unit);
                        self.recycle_i64(v);
                        r
                    }
                    FixedData::I32(v) => self.write_fixed(&path, &shape, &v, unit),
                }
            }
            Cmd::Str { path, value } => self.write_strings(&path, None, Some(&value)),
            Cmd::Strs { path, values } => self.write_strings(&path, Some(&values), None),
            Cmd::Attr { path, name, value } => self
                .with_object(&path, |loc| put_attr(loc, &name, &value))
                .map_err(|e| self.err(&attr_display(&path, &name), &e)),
            Cmd::Flush { reply } => {
                let r = self.file.flush().map_err(|e| H5Error::Close {
                    path: self.final_path.clone(),
                    message: format!("flush failed: {e}"),
                });
                if let Err(e) = &r {
                    self.shared.fail(e.clone());
                }
                let _ = reply.send(r);
                Ok(())
            }
            Cmd::Abort => Ok(()),
        };
        if let Err(e) = result {
            self.shared.fail(e);
        }
    }

    /// Drops all dataset handles, flushes and closes the file.
    fn close(self) -> Result<(), H5Error> {
        let Worker {
            file,
            final_path,
            series,
            ..
        } = self;
        drop(series);
        let flushed = file.flush();
        let closed = file.close();
        flushed.and(closed).map_err(|e| H5Error::Close {
            path: final_path,
            message: e.to_string(),
        })
    }

    /// The group at `path`, creating it and its ancestors as needed.
    fn group_at(&self, path: &str) -> hdf5::Result<Group> {
        let mut group = self.file.group("/")?;
        for c in components(path) {
            group = if group.link_exists(c) {
                group.group(c)?
            } else {
                group.create_group(c)?
            };
        }
        Ok(group)
    }

    /// Runs `f` on the group or dataset at `path`, creating groups when
    /// nothing exists there.
    fn with_object(
        &self,
        path: &str,
        f: impl FnOnce(&Location) -> hdf5::Result<()>,
    ) -> hdf5::Result<()> {
        if path == "/" {
            let root = self.file.group("/")?;
            return f(&root);
        }
        if !self.file.link_exists(path) {
            let group = self.group_at(path)?;
            return f(&group);
        }
        match self.file.loc_type_by_name(path)? {
            LocationType::Dataset => {
                let ds = self.file.dataset(path)?;
                f(&ds)
            }
            LocationType::Group => {
                let group = self.file.group(path)?;
                f(&group)
            }
            other => Err(format!("{path} is a {other:?}, not a group or dataset").into()),
        }
    }

    fn header(&self, author: &str, creator: &str, version: &str) -> Result<(), H5Error> {
        let run = || -> hdf5::Result<()> {
            let h5md = self.group_at("/h5md")?;
            put_attr(&h5md, "version", &AttrValue::I32s(vec![1, 1]))?;
            crate::h5md::declare_units_module(&h5md)?;
            let a = self.group_at("/h5md/author")?;
            put_attr(&a, "name", &AttrValue::Str(author.to_owned()))?;
            let c = self.group_at("/h5md/creator")?;
            put_attr(&c, "name", &AttrValue::Str(creator.to_owned()))?;
            put_attr(&c, "version", &AttrValue::Str(version.to_owned()))
        };
        run().map_err(|e| self.err("/h5md", &e))
    }

    fn create_series(&mut self, id: usize, spec: &SeriesSpec) -> Result<(), H5Error> {
        let value_path = format!("{}/value", spec.group);
        if id != self.series.len() {
            return Err(self.err(&value_path, &"series ids out of step".into()));
        }
        let make = || -> hdf5::Result<Series> {
            let group = self.group_at(&spec.group)?;
            let step = self
                .filtered(group.new_dataset::<i64>())
                .shape([Extent::resizable(0)])
                .chunk([STEP_CHUNK_LEN])
                .create("step")?;
            let time = self
                .filtered(group.new_dataset::<f64>())
                .shape([Extent::resizable(0)])
                .chunk([STEP_CHUNK_LEN])
                .create("time")?;
            crate::h5md::put_unit(&time, &spec.time_unit)?;
            let mut extents = Vec::with_capacity(spec.element_shape.len() + 1);
            extents.push(Extent::resizable(0));
            extents.extend(spec.element_shape.iter().map(|&d| Extent::fixed(d)));
            let chunk = series_chunk(&spec.element_shape, 8);
            let value = self
                .filtered(group.new_dataset::<f64>())
                .shape(extents)
                .chunk(chunk.as_slice())
                .create("value")?;
            // Direct chunk writes need chunks that are whole runs of leading-dimension rows of
            // one frame.
            let direct = matches!(self.compression, Compression::Deflate { .. })
                && chunk.len() >= 2
                && chunk[0] == 1
                && chunk[2..] == spec.element_shape[1..];
            let direct_chunk_rows = if direct { chunk[1] } else { 0 };
            let direct_chunk_len = direct.then(|| chunk[1..].iter().product::<usize>());
            if let Some(u) = &spec.unit {
                crate::h5md::put_unit(&value, u)?;
            }
            let mut full_shape = Vec::with_capacity(spec.element_shape.len() + 1);
            full_shape.push(0);
            full_shape.extend_from_slice(&spec.element_shape);
            let mut frame_shape = full_shape.clone();
            frame_shape[0] = 1;
            Ok(Series {
                value,
                step,
                time,
                value_path: value_path.clone(),
                frames: 0,
                full_shape,
                frame_shape,
                direct_chunk_len,
                direct_chunk_rows,
            })
        };
        let series = make().map_err(|e| self.err(&value_path, &e))?;
        self.series.push(series);
        Ok(())
    }

    fn append(&mut self, id: usize, step: i64, time: f64, data: &[f64]) -> Result<(), H5Error> {
        if id >= self.series.len() {
            return Err(self.err(&format!("series #{id}"), &"unknown series".into()));
        }
        let Worker {
            series,
            compression,
            threads,
            chunk_outs,
            ..
        } = self;
        let s = &mut series[id];
        let mut run = |s: &mut Series| -> hdf5::Result<()> {
            let t = s.frames;
            let n = t + 1;
            s.full_shape[0] = n;
            s.value.resize(s.full_shape.as_slice())?;
            match (s.direct_chunk_len, *compression) {
                (Some(chunk_len), Compression::Deflate { level, shuffle }) => {
                    filter_frame(data, chunk_len, shuffle, level, *threads, chunk_outs)
                        .map_err(|e| hdf5::Error::from(format!("compressing a frame: {e}")))?;
                    let mut offset = vec![0u64; s.full_shape.len()];
                    offset[0] = t as u64;
                    for (k, bytes) in chunk_outs.iter().enumerate() {
                        offset[1] = (k * s.direct_chunk_rows) as u64;
                        write_raw_chunk(&s.value, &offset, bytes)?;
                    }
                }
                _ => {
                    let mut selection = Vec::with_capacity(s.frame_shape.len());
                    selection.push(SliceOrIndex::from(t..n));
                    selection.extend(s.frame_shape[1..].iter().map(|&d| SliceOrIndex::from(0..d)));
                    let view = ArrayView::from_shape(IxDyn(&s.frame_shape), data)?;
                    s.value.write_slice(view, Hyperslab::from(selection))?;
                }
            }
            s.step.resize([n])?;
            s.step.write_slice(&[step][..], t..n)?;
            s.time.resize([n])?;
            s.time.write_slice(&[time][..], t..n)?;
            s.frames = n;
            Ok(())
        };
        let r = run(s);
        r.map_err(|e| {
            let path = self.series[id].value_path.clone();
            self.err(&path, &e)
        })
    }

    fn write_fixed<T: H5Type + Copy>(
        &self,
        path: &str,
        shape: &[usize],
        data: &[T],
        unit: Option<&str>,
    ) -> Result<(), H5Error> {
        let run = || -> hdf5::Result<()> {
            let (parent, name) = split_parent(path).ok_or("a dataset needs a name")?;
            let group = self.group_at(&parent)?;
            let ds = if shape.is_empty() {
                group.new_dataset::<T>().shape(()).create(name)?
            } else {
                let elem = size_of::<T>();
                let builder = group.new_dataset::<T>();
                if self.compression.is_filtered()
                    && data.len().saturating_mul(elem) > COMPRESS_THRESHOLD_BYTES
                {
                    self.filtered(builder)
                        .shape(shape)
                        .chunk(capped_chunk(shape, elem, MAX_FIXED_CHUNK_BYTES))
                        .create(name)?
                } else {
                    builder.shape(shape).create(name)?
                }
            };
            if !data.is_empty() {
                ds.write_raw(data)?;
            }
            if let Some(u) = unit {
                crate::h5md::put_unit(&ds, u)?;
            }
            Ok(())
        };
        run().map_err(|e| self.err(path, &e))
    }

    /// A scalar string dataset (`scalar`) or a 1-D string array (`array`).
    fn write_strings(
        &self,
        path: &str,
        array: Option<&[String]>,
        scalar: Option<&str>,
    ) -> Result<(), H5Error> {
        let run = || -> hdf5::Result<()> {
            let (parent, name) = split_parent(path).ok_or("a dataset needs a name")?;
            let group = self.group_at(&parent)?;
            if let Some(s) = scalar {
                let v = vlu(s)?;
                group
                    .new_dataset::<VarLenUnicode>()
                    .shape(())
                    .create(name)?
                    .write_scalar(&v)?;
            }
            if let Some(values) = array {
                let v = values
                    .iter()
                    .map(|s| vlu(s))
                    .collect::<hdf5::Result<Vec<_>>>()?;
                let ds = group
                    .new_dataset::<VarLenUnicode>()
                    .shape([v.len()])
                    .create(name)?;
                if !v.is_empty() {
                    ds.write_raw(v.as_slice())?;
                }
            }
            Ok(())
        };
        run().map_err(|e| self.err(path, &e))
    }
}
