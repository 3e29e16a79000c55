//! Writing figures: every figure is drawn twice, to PNG and to SVG, under a
//! hidden temporary name in the output directory; only when every figure of
//! a file has been drawn are they all renamed to their final names.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::PlotError;
use crate::draw::{Area, DrawResult};

/// DejaVu Sans, bundled so that text renders without system fonts (see
/// `assets/LICENSE-DejaVu.txt`).
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the bundled font as plotters' `sans-serif` family (once).
pub(crate) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(crate::draw::FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "DejaVuSans.ttf is not a valid font".to_owned())
        })
        .clone()
        .map_err(|message| PlotError::Font { message })
}

/// A figure that can be drawn on any plotters backend.
pub(crate) trait Figure {
    /// The size in pixels (PNG) or user units (SVG).
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DrawResult;
}

/// Distinguishes temporary files of concurrent calls within one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Figures drawn under temporary names, waiting to be renamed into place.
/// Dropping it without [`Output::commit`] removes the temporary files.
pub(crate) struct Output {
    dir: PathBuf,
    pending: Vec<(PathBuf, PathBuf)>,
}

impl Output {
    /// Creates the output directory if needed.
    pub(crate) fn new(dir: &Path) -> Result<Self, PlotError> {
        ensure_font()?;
        fs::create_dir_all(dir).map_err(|e| PlotError::Output {
            path: dir.to_path_buf(),
            message: format!("cannot create the output directory: {e}"),
        })?;
        Ok(Output {
            dir: dir.to_path_buf(),
            pending: Vec::new(),
        })
    }

    fn temp(&mut self, name: &str, ext: &str) -> (PathBuf, PathBuf) {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let tmp = self.dir.join(format!(".{name}.partial-{pid}-{n}.{ext}"));
        let fin = self.dir.join(format!("{name}.{ext}"));
        self.pending.push((tmp.clone(), fin.clone()));
        (tmp, fin)
    }

    /// Draws `fig` to `<dir>/<name>.png` and `<dir>/<name>.svg` (under
    /// temporary names until [`Output::commit`]).
    pub(crate) fn figure<F: Figure>(&mut self, name: &str, fig: &F) -> Result<(), PlotError> {
        let size = fig.size();
        let (png_tmp, png) = self.temp(name, "png");
        let render = |message: String| PlotError::Output {
            path: png.clone(),
            message,
        };
        {
            let root = BitMapBackend::new(&png_tmp, size).into_drawing_area();
            root.fill(&WHITE).map_err(|e| render(e.to_string()))?;
            fig.draw(&root).map_err(render)?;
            root.present().map_err(|e| render(e.to_string()))?;
        }

        let (svg_tmp, svg_path) = self.temp(name, "svg");
        let render = |message: String| PlotError::Output {
            path: svg_path.clone(),
            message,
        };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).map_err(|e| render(e.to_string()))?;
            fig.draw(&root).map_err(render)?;
            root.present().map_err(|e| render(e.to_string()))?;
        }
        fs::write(&svg_tmp, svg.as_bytes()).map_err(|e| render(e.to_string()))?;
        Ok(())
    }

    /// Renames every drawn file to its final name and returns the final
    /// paths, in the order drawn.
    pub(crate) fn commit(mut self) -> Result<Vec<PathBuf>, PlotError> {
        let pending = std::mem::take(&mut self.pending);
        let mut done = Vec::with_capacity(pending.len());
        for (i, (tmp, fin)) in pending.iter().enumerate() {
            // Synced and renamed by the workspace's one atomic-replace helper.
            if let Err(e) = buffycoat_h5::atomic::commit(tmp, fin) {
                for (t, _) in &pending[i..] {
                    let _ = fs::remove_file(t);
                }
                return Err(PlotError::Output {
                    path: fin.clone(),
                    message: format!("cannot rename {} into place: {e}", tmp.display()),
                });
            }
            done.push(fin.clone());
        }
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(done)
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        for (tmp, _) in &self.pending {
            let _ = fs::remove_file(tmp);
        }
    }
}
