//! H5MD output of a particle run, as an observer: the solver never sees the file.
//!
//! Layout (H5MD 1.1, <https://www.nongnu.org/h5md/h5md.html>):
//!
//! | path | shape, type | unit |
//! |---|---|---|
//! | `/h5md` (attr `version` = [1, 1]), `/h5md/author`, `/h5md/creator` | groups | |
//! | `/particles/cells/box` (attrs `dimension` = 3, `boundary` = none ×3) | group | |
//! | `/particles/cells/position/{step,time,value}` | value `[T][N][3]` f64 | m (time: s) |
//! | `/particles/cells/velocity/{step,time,value}` | value `[T][N][3]` f64 | m s-1 |
//! | `/particles/cells/species` (attr `names`) | `[N]` i32 | |
//! | `/particles/cells/id` | `[N]` i64 | |
//! | `/particles/cells/diameter`, `/particles/cells/density` | `[N]` f64 | m, kg m-3 |
//! | `/particles/cells/final_status` (attr `legend`) | `[N]` i32 | |
//! | `/observables/{pelleted_fraction,floated_fraction,mean_radius}/{step,time,value}` (attr `names`) | value `[T][S]` f64 | –, –, m |
//! | `/parameters/{scenario_toml,effective_toml,scenario_path,program_version,git_commit,overrides}` | strings | |
//! | `/parameters/seed` | scalar i64 | |
//!
//! Positions and velocities are Cartesian in the rotating frame, z along the rotation axis.

use crate::input::LoadedScenario;
use buffycoat_h5::{H5Error, SeriesId, Writer, WriterOptions};
use buffycoat_sediment::Sedimentation;
use buffycoat_sediment::census::{SpeciesCensus, census};
use buffycoat_stepper::Frame;
use std::path::{Path, PathBuf};

/// Creates the HDF5 writer of a run's output file, with the scenario's `[output] compression`.
pub fn create_writer(path: &Path, scenario: &LoadedScenario) -> Result<Writer, H5Error> {
    Writer::create_with(
        path,
        &WriterOptions::with_compression(scenario.resolved.compression),
    )
}

/// Writes `/parameters`: the scenario text as written and as run, its path, the overrides,
/// the seed, the program version and the git commit.
pub fn write_parameters(writer: &Writer, scenario: &LoadedScenario) -> Result<(), H5Error> {
    writer.dataset_string("/parameters/scenario_toml", &scenario.text)?;
    writer.dataset_string("/parameters/effective_toml", &scenario.effective_text)?;
    writer.dataset_string(
        "/parameters/scenario_path",
        &scenario.path.display().to_string(),
    )?;
    writer.dataset_strings("/parameters/overrides", &scenario.overrides)?;
    writer.dataset_i64(
        "/parameters/seed",
        &[],
        vec![scenario.resolved.seed as i64],
        None,
    )?;
    writer.attr_string(
        "/parameters/seed",
        "note",
        "unsigned 64-bit seed stored as its two's-complement i64 bit pattern",
    )?;
    writer.dataset_string("/parameters/program_version", crate::VERSION)?;
    writer.dataset_string("/parameters/git_commit", crate::GIT_COMMIT)?;
    Ok(())
}

/// Writes a particle run to an H5MD file (through the writer thread of [`Writer`]).
pub struct H5mdOutput {
    writer: Writer,
    position: SeriesId,
    velocity: Option<SeriesId>,
    pelleted: SeriesId,
    floated: SeriesId,
    mean_radius: SeriesId,
    particle_every: usize,
    species_count: usize,
    census: Vec<SpeciesCensus>,
}

impl H5mdOutput {
    /// Creates the file (under a temporary name until [`H5mdOutput::finish`]) and writes the
    /// header, parameters and per-cell constants.
    pub fn create(
        path: &Path,
        scenario: &LoadedScenario,
        sys: &Sedimentation,
        species_names: &[String],
    ) -> Result<Self, H5Error> {
        let writer = create_writer(path, scenario)?;
        writer.h5md_header("buffycoat developers", "buffycoat", crate::VERSION)?;
        let cells = sys.cells();
        let n = cells.len();
        let s = species_names.len();
        // H5MD requires a box; the container is not periodic.
        writer.attr_i64("/particles/cells/box", "dimension", 3)?;
        writer.attr_strings(
            "/particles/cells/box",
            "boundary",
            &["none".into(), "none".into(), "none".into()],
        )?;
        let position = writer.time_series("/particles/cells/position", &[n, 3], Some("m"), "s")?;
        let velocity = if scenario.resolved.velocities {
            Some(writer.time_series("/particles/cells/velocity", &[n, 3], Some("m s-1"), "s")?)
        } else {
            None
        };
        let mut species = Vec::with_capacity(n);
        species.extend(cells.species.iter().map(|&k| i32::from(k)));
        writer.dataset_i32("/particles/cells/species", &[n], species, None)?;
        writer.attr_strings("/particles/cells/species", "names", species_names)?;
        writer.dataset_i64("/particles/cells/id", &[n], (0..n as i64).collect(), None)?;
        writer.dataset_f64(
            "/particles/cells/diameter",
            &[n],
            cells.diameter.clone(),
            Some("m"),
        )?;
        writer.dataset_f64(
            "/particles/cells/density",
            &[n],
            cells.density.clone(),
            Some("kg m-3"),
        )?;
        let pelleted = writer.time_series("/observables/pelleted_fraction", &[s], None, "s")?;
        let floated = writer.time_series("/observables/floated_fraction", &[s], None, "s")?;
        let mean_radius = writer.time_series("/observables/mean_radius", &[s], Some("m"), "s")?;
        for group in [
            "/observables/pelleted_fraction",
            "/observables/floated_fraction",
            "/observables/mean_radius",
        ] {
            writer.attr_strings(group, "names", species_names)?;
        }
        write_parameters(&writer, scenario)?;
        Ok(Self {
            writer,
            position,
            velocity,
            pelleted,
            floated,
            mean_radius,
            particle_every: scenario.resolved.particle_every,
            species_count: s,
            census: Vec::with_capacity(s),
        })
    }

    /// Appends one frame: particle data at the configured cadence (and always the first and
    /// last frame), observables at every frame.
    pub fn observe(&mut self, frame: &Frame<'_, Sedimentation>) -> Result<(), H5Error> {
        let sys = frame.state;
        let cells = sys.cells();
        let step = frame.step as i64;
        if frame.index.is_multiple_of(self.particle_every) || frame.last {
            let mut buf = self.writer.take_buffer_f64(3 * cells.len());
            cells.fill_positions(&mut buf);
            self.writer.append(self.position, step, frame.time, buf)?;
            if let Some(v) = self.velocity {
                let mut buf = self.writer.take_buffer_f64(3 * cells.len());
                sys.fill_velocities(frame.time, &mut buf);
                self.writer.append(v, step, frame.time, buf)?;
            }
        }
        census(
            cells,
            &sys.config().geometry,
            self.species_count,
            &mut self.census,
        );
        type Statistic = fn(&SpeciesCensus) -> f64;
        let series: [(SeriesId, Statistic); 3] = [
            (self.pelleted, SpeciesCensus::pelleted_fraction),
            (self.floated, SpeciesCensus::floated_fraction),
            (self.mean_radius, |c| c.mean_radius),
        ];
        for (id, value) in series {
            let mut buf = self.writer.take_buffer_f64(self.species_count);
            for (b, c) in buf.iter_mut().zip(&self.census) {
                *b = value(c);
            }
            self.writer.append(id, step, frame.time, buf)?;
        }
        Ok(())
    }

    /// Writes the final per-cell status, closes the file and moves it to its final name.
    pub fn finish(self, sys: &Sedimentation) -> Result<PathBuf, H5Error> {
        let cells = sys.cells();
        let status: Vec<i32> = cells.status.iter().map(|&s| i32::from(s)).collect();
        self.writer.dataset_i32(
            "/particles/cells/final_status",
            &[cells.len()],
            status,
            None,
        )?;
        self.writer.attr_string(
            "/particles/cells/final_status",
            "legend",
            "bit flags: 0 free, 1 pelleted, 2 floated, 4 touching a side wall",
        )?;
        self.writer.finish()
    }
}
