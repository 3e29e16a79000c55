//! HDF5 output and input for buffycoat, in the H5MD layout.
//!
//! This is the only crate of the workspace that links libhdf5 (through the
//! `hdf5-metno` bindings, imported as `hdf5`). Everything else hands it plain
//! `Vec`s.
//!
//! # H5MD
//!
//! Output files follow **H5MD 1.1** — P. de Buyl, P. H. Colberg and
//! F. Höfling, "H5MD: A structured, efficient, and portable file format for
//! molecular data", *Comput. Phys. Commun.* 185:1546 (2014),
//! <https://www.nongnu.org/h5md/h5md.html>. H5MD is a set of conventions on
//! top of HDF5:
//!
//! - a group `/h5md` with attribute `version = [1, 1]` (two int32) and
//!   subgroups `author` (attribute `name`) and `creator` (attributes `name`,
//!   `version`) — written by [`Writer::h5md_header`];
//! - *time-dependent data elements*: a group (e.g.
//!   `/particles/cells/position`) holding `value` (shape `[T, …]`, one frame
//!   per step), `step` (int64 `[T]`) and `time` (float64 `[T]`) — declared
//!   by [`Writer::time_series`] and filled by [`Writer::append`];
//! - a `unit` attribute on datasets holding physical quantities (e.g.
//!   `"m"`, `"m s-1"`, `"1"` for dimensionless): a fixed-length ASCII string,
//!   with the units module declared (`/h5md/modules/units`, see [`h5md`]).
//!
//! Other strings (datasets and attributes) are variable-length UTF-8. h5py
//! returns `unit` attributes as `bytes` (`numpy.bytes_`) and other string
//! attributes as `str`; string datasets come back as `bytes` from
//! `ds[()]` and as `str` from `ds.asstr()[()]`. Files use the HDF5 1.10
//! format (`libver_bounds = v110..v110`), readable by HDF5 ≥ 1.10 and any
//! current h5py.
//!
//! # Thread model
//!
//! The `hdf5` crate serializes every HDF5 call behind one global lock, and
//! HDF5 itself is not meant to be driven from many threads. So a [`Writer`]
//! owns one dedicated **writer thread** that makes *all* HDF5 calls for its
//! file; the simulation (the producer) only sends commands to it over a
//! bounded channel (capacity 4). When the disk is slower than the
//! simulation, the producer blocks on a full queue instead of piling up
//! frames in memory. Never call this crate from rayon workers; gather the
//! data on the main thread and send it from there.
//!
//! Data buffers travel by value and come back: after writing a `Vec<f64>` or
//! `Vec<i64>`, the writer thread returns it on a second channel, and
//! [`Writer::take_buffer_f64`] / [`Writer::take_buffer_i64`] hand out those
//! recycled buffers (allocating only when none is free). A simulation that
//! takes a buffer, fills it and appends it allocates no frame memory in
//! steady state.
//!
//! Most methods return as soon as the command is queued. An error on the
//! writer thread is stored; the next call (and [`Writer::finish`]) returns
//! it. Invalid input found on the producer side (a frame of the wrong
//! length, a NUL byte in a string, …) is returned at once. Either way the
//! writer is then spoiled: every later call returns that first error and the
//! file is not kept. [`Writer::time_series`] and [`Writer::flush`] wait for
//! the thread and so report their own errors directly.
//!
//! # Compression
//!
//! [`Writer::create_with`] takes [`WriterOptions`] whose [`Compression`] applies to every
//! chunked dataset of the file (time series, and fixed datasets over 8 KiB): `none` (the
//! default; fixed datasets are then contiguous), LZF, or deflate at a level, each optionally
//! after HDF5's byte shuffle. All of these are read by a stock h5py without plugins. Decoded
//! data are bitwise the same for every setting. With deflate, time-series frames whose chunks
//! hold whole rows (all large frames) are compressed **on worker threads**, one chunk each, and
//! stored with HDF5's direct chunk write, so the writer thread does not serialise the
//! compression of a large frame; small frames go through HDF5's filter pipeline as before.
//! `benches/README.md` measures the write throughput of each setting against the disk.
//!
//! # Partial file and rename
//!
//! A file appears under its final name only when it is complete:
//!
//! 1. [`Writer::create`] checks that the directory of the final path exists
//!    and is writable, and creates `<dir>/.<name>.partial-<pid>` in that same
//!    directory (exclusively: it never clobbers another writer's file). If
//!    anything fails it returns [`H5Error::Create`] naming the path and
//!    leaves nothing behind.
//! 2. Everything is written into the partial file.
//! 3. [`Writer::finish`] drains the queue, flushes and closes the file,
//!    `fsync`s it and renames it to the final path (an atomic replace, since
//!    both are in the same directory), then syncs the directory.
//! 4. If the writer is dropped without `finish` (an early `?` return, a
//!    panic unwinding), or if any error happened, the partial file is
//!    removed. A crash of the whole process can leave a hidden
//!    `.name.partial-<pid>` file, never a truncated file under the final
//!    name.
//!
//! # Reading
//!
//! [`Reader`] opens a file read-only and reads whole datasets, single frames,
//! strings and attributes back, with errors that name the file and the
//! object ([`H5Error::Layout`] when an expected object is missing).
//!
//! # Example
//!
//! ```
//! use buffycoat_h5::{Reader, Writer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("run.h5");
//!
//! let w = Writer::create(&path)?;
//! w.h5md_header("someone", "buffycoat", "0.1.0")?;
//! w.dataset_string("/parameters/scenario", "[rotor]\nrpm = 3000\n")?;
//! let n = 4; // cells
//! let pos = w.time_series("/particles/cells/position", &[n, 3], Some("m"), "s")?;
//! for step in 0..3_i64 {
//!     let mut frame = w.take_buffer_f64(n * 3); // recycled after the first frames
//!     for (i, x) in frame.iter_mut().enumerate() {
//!         *x = (i as f64) * 1e-6 + step as f64 * 1e-3;
//!     }
//!     w.append(pos, step, step as f64 * 0.01, frame)?;
//! }
//! assert!(!path.exists()); // only the hidden partial file exists so far
//! let path = w.finish()?;
//!
//! let r = Reader::open(&path)?;
//! let (values, shape) = r.read_f64("/particles/cells/position/value")?;
//! assert_eq!(shape, [3, n, 3]);
//! assert_eq!(values[3 * n * 3 - 1], 11e-6 + 2e-3);
//! assert_eq!(r.read_attr_string("/particles/cells/position/value", "unit")?, "m");
//! assert_eq!(r.read_attr_i64s("/h5md", "version")?, [1, 1]);
//! # Ok(())
//! # }
//! ```

pub mod atomic;
mod chunks;
mod error;
pub mod h5md;
mod options;
mod reader;
pub mod schema;
mod util;
mod writer;
pub mod xdmf;

pub use error::H5Error;
pub use options::{Compression, DEFAULT_DEFLATE_LEVEL, WriterOptions};
pub use reader::{ElementKind, ObjectKind, Reader};
pub use writer::{FrameSink, SeriesId, Writer};
