//! Atomic file replacement: the one helper every writer of the workspace uses (HDF5 outputs,
//! summaries, sweep files and tables, plots), so a reader never sees a half-written file and a
//! failed write leaves the previous file untouched.
//!
//! A file is written under a hidden temporary name in the target's directory (so the final
//! rename stays on one file system), synced, and renamed over the target
//! (`tempfile::NamedTempFile::persist`). The temporary file is removed if anything fails.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// The directory of `path` (`.` for a bare file name).
pub fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The hidden temporary name `<dir>/.<name>.partial-<pid>` next to `path`, for writers that
/// must open the file by name themselves (libhdf5).
pub fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    directory_of(path).join(format!(".{name}.partial-{}", std::process::id()))
}

/// Writes `path` atomically: `write` fills a temporary file next to it, which is then synced
/// and renamed over `path`. On any error the temporary file is removed and `path` is left as
/// it was.
///
/// # Errors
/// The error of `write`, of creating, syncing or renaming the temporary file.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    // `.NAME.partial-PID-XXXXXX`: the process id lets a later run find and remove the file of
    // a process that was killed while writing (the random tail keeps names unique).
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.partial-{}-", std::process::id()))
        .tempfile_in(directory_of(path))?;
    write(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map(|_| ()).map_err(|e| e.error)
}

/// Moves a finished temporary file `from` (written and closed by its writer) over `to`,
/// after syncing it; removes `from` if that fails.
///
/// # Errors
/// The error of the sync or the rename.
pub fn commit(from: &Path, to: &Path) -> io::Result<()> {
    let result = File::open(from)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(from, to));
    if result.is_err() {
        let _ = std::fs::remove_file(from);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, |f| io::Write::write_all(f, b"one")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        let failed = write_atomic(&path, |f| {
            io::Write::write_all(f, b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "the temporary file is gone");
    }
}
