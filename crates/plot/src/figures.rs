//! Whole figures: a title, an optional legend strip, one or more line
//! panels or a heat map, and footnotes.

use plotters::prelude::*;

use crate::draw::{
    Area, DrawResult, Entry, HeatMap, LinePanel, draw_heatmap, draw_line_panel, frame, legend_strip,
};
use crate::output::Figure;

/// A grid of line panels under one title and one legend.
#[derive(Clone, Debug)]
pub(crate) struct Panels {
    /// The figure title.
    pub title: String,
    /// Footnotes (one line each).
    pub notes: Vec<String>,
    /// Legend entries shown above the panels.
    pub legend: Vec<Entry>,
    /// The panels, row by row.
    pub panels: Vec<LinePanel>,
    /// Panels per row.
    pub cols: usize,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl Panels {
    /// A figure of one panel.
    pub(crate) fn single(title: impl Into<String>, panel: LinePanel) -> Self {
        Panels {
            title: title.into(),
            notes: Vec::new(),
            legend: Vec::new(),
            panels: vec![panel],
            cols: 1,
            size: (1100, 720),
        }
    }

    /// A grid of panels, `cols` per row, sized to fit.
    pub(crate) fn grid(title: impl Into<String>, panels: Vec<LinePanel>, cols: usize) -> Self {
        let cols = cols.clamp(1, panels.len().max(1));
        let rows = panels.len().div_ceil(cols).max(1);
        let width = if cols == 1 { 1100 } else { 620 * cols as u32 };
        Panels {
            title: title.into(),
            notes: Vec::new(),
            legend: Vec::new(),
            panels,
            cols,
            size: (width, 110 + 430 * rows as u32),
        }
    }
}

impl Figure for Panels {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DrawResult {
        let body = frame(root, &self.title, &self.notes)?;
        let body = legend_strip(&body, &self.legend)?;
        let rows = self.panels.len().div_ceil(self.cols).max(1);
        let cells = body.split_evenly((rows, self.cols));
        for (panel, area) in self.panels.iter().zip(cells.iter()) {
            draw_line_panel(area, panel)?;
        }
        Ok(())
    }
}

/// A heat map under a title, with footnotes.
#[derive(Clone, Debug)]
pub(crate) struct HeatFigure {
    /// The figure title.
    pub title: String,
    /// Footnotes (one line each).
    pub notes: Vec<String>,
    /// The map.
    pub map: HeatMap,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl HeatFigure {
    /// A heat map figure of the default size.
    pub(crate) fn new(title: impl Into<String>, map: HeatMap) -> Self {
        HeatFigure {
            title: title.into(),
            notes: Vec::new(),
            map,
            size: (1100, 720),
        }
    }
}

impl Figure for HeatFigure {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DrawResult {
        let body = frame(root, &self.title, &self.notes)?;
        draw_heatmap(&body, &self.map)
    }
}
