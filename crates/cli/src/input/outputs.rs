//! Checks of a command's output paths before anything is computed (used by the CLI and the
//! Python bindings, so both refuse the same outputs with the same message).

use std::path::{Path, PathBuf};

/// `path` made absolute with its directory resolved (symbolic links, `..`), for comparing
/// paths that may not exist yet.
pub fn resolved_path(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (dir.canonicalize(), path.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => path.to_path_buf(),
    }
}

/// Checks every output path of a command before anything is computed: no two outputs and no
/// output and input are the same file, and each output's directory exists, is a directory and
/// is writable (by creating and removing a probe file), and the output itself is not a
/// directory. `outputs` are (what, path) pairs, e.g. ("--summary", path).
pub fn check_outputs(inputs: &[&Path], outputs: &[(&str, &Path)]) -> Result<(), String> {
    for (k, (what, path)) in outputs.iter().enumerate() {
        let p = resolved_path(path);
        for input in inputs {
            if resolved_path(input) == p {
                return Err(format!(
                    "{what} {} is also an input of this command: choose another output file",
                    path.display()
                ));
            }
        }
        for (other, q) in &outputs[..k] {
            if resolved_path(q) == p {
                return Err(format!(
                    "{other} and {what} are the same file {}: give each output its own file",
                    path.display()
                ));
            }
        }
        if p.is_dir() {
            return Err(format!(
                "{what} {} is a directory: give a file name",
                path.display()
            ));
        }
        let dir = buffycoat_h5::atomic::directory_of(path);
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "cannot write {what} {}: {} is not a directory",
                    path.display(),
                    dir.display()
                ));
            }
            Err(e) => {
                return Err(format!(
                    "cannot write {what} {}: directory {} does not exist or is not accessible ({e})",
                    path.display(),
                    dir.display()
                ));
            }
        }
        let probe = dir.join(format!(".buffycoat-probe-{}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
        {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
            }
            Err(e) => {
                return Err(format!(
                    "cannot write {what} {}: directory {} is not writable ({e})",
                    path.display(),
                    dir.display()
                ));
            }
        }
    }
    Ok(())
}
