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

use crate::error::RunError;
use crate::provenance::Provenance;
use crate::setup::ParticleSetup;
use buffycoat_h5::schema;
use buffycoat_h5::{Compression, H5Error, SeriesId, Writer, WriterOptions};
use buffycoat_sediment::Sedimentation;
use buffycoat_sediment::census::{SpeciesCensus, census};
use buffycoat_stepper::Frame;
use std::path::{Path, PathBuf};

/// Creates an output file with the H5MD header and `/parameters`: every output kind starts so.
/// `compression` is the scenario's `[output] compression` (see [`buffycoat_h5::Compression`]).
pub fn create_output(
    path: &Path,
    compression: Compression,
    provenance: &Provenance,
    seed: u64,
) -> Result<Writer, H5Error> {
    let writer = Writer::create_with(path, &WriterOptions::with_compression(compression))?;
    writer.h5md_header(
        "buffycoat developers",
        "buffycoat",
        provenance.program.version,
    )?;
    write_parameters(&writer, provenance, seed)?;
    Ok(writer)
}

/// Writes `/parameters`: the scenario text as written and as run, its path, the overrides,
/// the seed, the program version and the git commit.
pub fn write_parameters(
    writer: &Writer,
    provenance: &Provenance,
    seed: u64,
) -> Result<(), H5Error> {
    writer.dataset_string(schema::PARAMETERS_SCENARIO_TOML, &provenance.text)?;
    writer.dataset_string(
        schema::PARAMETERS_EFFECTIVE_TOML,
        &provenance.effective_text,
    )?;
    writer.dataset_string(
        schema::PARAMETERS_SCENARIO_PATH,
        &provenance.scenario_path.display().to_string(),
    )?;
    writer.dataset_strings(schema::PARAMETERS_OVERRIDES, &provenance.overrides)?;
    writer.dataset_i64(schema::PARAMETERS_SEED, &[], vec![seed as i64], None)?;
    writer.attr_string(
        schema::PARAMETERS_SEED,
        "note",
        "unsigned 64-bit seed stored as its two's-complement i64 bit pattern",
    )?;
    writer.dataset_string(
        schema::PARAMETERS_PROGRAM_VERSION,
        provenance.program.version,
    )?;
    writer.dataset_string(schema::PARAMETERS_GIT_COMMIT, provenance.program.git_commit)?;
    Ok(())
}

/// Writes the H5MD particle group of `n` tracer cells: the box (not periodic), the per-cell
/// constants (species with attr `names`, id, diameter, density) and the position time series,
/// whose id it returns. Particle runs and hindered runs write their cells alike.
pub fn write_cells(
    writer: &Writer,
    species: &[u16],
    species_names: &[String],
    diameter: &[f64],
    density: &[f64],
) -> Result<SeriesId, H5Error> {
    let n = species.len();
    // H5MD requires a box; the container is not periodic.
    writer.attr_i64(schema::PARTICLES_CELLS_BOX, "dimension", 3)?;
    writer.attr_strings(
        schema::PARTICLES_CELLS_BOX,
        "boundary",
        &["none".into(), "none".into(), "none".into()],
    )?;
    let position = writer.time_series(schema::PARTICLES_CELLS_POSITION, &[n, 3], Some("m"), "s")?;
    writer.dataset_i32(
        schema::PARTICLES_CELLS_SPECIES,
        &[n],
        species.iter().map(|&k| i32::from(k)).collect(),
        None,
    )?;
    writer.attr_strings(schema::PARTICLES_CELLS_SPECIES, "names", species_names)?;
    writer.dataset_i64(
        schema::PARTICLES_CELLS_ID,
        &[n],
        (0..n as i64).collect(),
        None,
    )?;
    writer.dataset_f64(
        schema::PARTICLES_CELLS_DIAMETER,
        &[n],
        diameter.to_vec(),
        Some("m"),
    )?;
    writer.dataset_f64(
        schema::PARTICLES_CELLS_DENSITY,
        &[n],
        density.to_vec(),
        Some("kg m-3"),
    )?;
    Ok(position)
}

/// Writes a particle run to an H5MD file (through the writer thread of [`Writer`]).
pub struct H5mdOutput {
    writer: Writer,
    /// the checkpoint observer, if the run checkpoints
    pub(crate) checkpoint: Option<crate::checkpoint::Checkpointer>,
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
        compression: Compression,
        setup: &ParticleSetup,
        provenance: &Provenance,
        sys: &Sedimentation,
        species_names: &[String],
    ) -> Result<Self, H5Error> {
        let writer = create_output(path, compression, provenance, setup.sample.seed)?;
        let cells = sys.cells();
        let n = cells.len();
        let s = species_names.len();
        let position = write_cells(
            &writer,
            &cells.species,
            species_names,
            &cells.diameter,
            &cells.density,
        )?;
        let velocity = if setup.velocities {
            Some(writer.time_series(
                schema::PARTICLES_CELLS_VELOCITY,
                &[n, 3],
                Some("m s-1"),
                "s",
            )?)
        } else {
            None
        };
        let pelleted =
            writer.time_series(schema::OBSERVABLES_PELLETED_FRACTION, &[s], None, "s")?;
        let floated = writer.time_series(schema::OBSERVABLES_FLOATED_FRACTION, &[s], None, "s")?;
        let mean_radius =
            writer.time_series(schema::OBSERVABLES_MEAN_RADIUS, &[s], Some("m"), "s")?;
        for group in [
            schema::OBSERVABLES_PELLETED_FRACTION,
            schema::OBSERVABLES_FLOATED_FRACTION,
            schema::OBSERVABLES_MEAN_RADIUS,
        ] {
            writer.attr_strings(group, "names", species_names)?;
        }
        Ok(Self {
            writer,
            checkpoint: None,
            position,
            velocity,
            pelleted,
            floated,
            mean_radius,
            particle_every: setup.particle_every,
            species_count: s,
            census: Vec::with_capacity(s),
        })
    }

    /// The output's time series in a fixed order (the journal's slots).
    pub(crate) fn series_ids(&self) -> Vec<SeriesId> {
        let mut ids = vec![self.position];
        ids.extend(self.velocity);
        ids.extend([self.pelleted, self.floated, self.mean_radius]);
        ids
    }

    /// Appends `buf` to series `id` and records it in the checkpoint journal, except at the
    /// run's last frame (`last`): no checkpoint follows the last frame (the executor checks for
    /// cancellation only before an interval, and the periodic checkpoint skips the last frame),
    /// and the journal is removed when the run finishes, so that record would never be read.
    /// At 10⁶ cells it is 48 MB copied for nothing.
    fn append(
        &mut self,
        id: SeriesId,
        step: i64,
        time: f64,
        buf: Vec<f64>,
        last: bool,
    ) -> Result<(), RunError> {
        match self.checkpoint.as_mut() {
            Some(c) if !last => c.append(&self.writer, id, step, time, buf),
            _ => Ok(self.writer.append(id, step, time, buf)?),
        }
    }

    /// Appends one frame: particle data at the configured cadence (and always the first and
    /// last frame), observables at every frame.
    pub fn observe(&mut self, frame: &Frame<'_, Sedimentation>) -> Result<(), RunError> {
        let sys = frame.state;
        let cells = sys.cells();
        let step = frame.step as i64;
        if frame.index.is_multiple_of(self.particle_every) || frame.last {
            let mut buf = self.writer.take_buffer_f64(3 * cells.len());
            cells.fill_positions(&mut buf);
            self.append(self.position, step, frame.time, buf, frame.last)?;
            if let Some(v) = self.velocity {
                let mut buf = self.writer.take_buffer_f64(3 * cells.len());
                sys.fill_velocities(frame.time, &mut buf);
                self.append(v, step, frame.time, buf, frame.last)?;
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
            self.append(id, step, frame.time, buf, frame.last)?;
        }
        Ok(())
    }

    /// Writes the final per-cell status, closes the file and moves it to its final name; then
    /// removes the checkpoint, if any. Returns the path and the census of the last frame (the
    /// final state's: no step follows the last frame), which the summary reuses.
    pub fn finish(self, sys: &Sedimentation) -> Result<(PathBuf, Vec<SpeciesCensus>), RunError> {
        let cells = sys.cells();
        let status: Vec<i32> = cells.status.iter().map(|&s| i32::from(s)).collect();
        self.writer.dataset_i32(
            schema::PARTICLES_CELLS_FINAL_STATUS,
            &[cells.len()],
            status,
            None,
        )?;
        self.writer.attr_string(
            schema::PARTICLES_CELLS_FINAL_STATUS,
            "legend",
            "bit flags: 0 free, 1 pelleted, 2 floated, 4 touching a side wall",
        )?;
        let path = self.writer.finish()?;
        if let Some(c) = self.checkpoint {
            c.remove();
        }
        Ok((path, self.census))
    }
}

impl crate::checkpoint::CheckpointedOutput<Sedimentation> for H5mdOutput {
    fn journal(&self) -> Option<(&Writer, Vec<SeriesId>)> {
        Some((&self.writer, self.series_ids()))
    }
    fn checkpointer(&mut self) -> &mut Option<crate::checkpoint::Checkpointer> {
        &mut self.checkpoint
    }
    fn observe(&mut self, frame: &Frame<'_, Sedimentation>) -> Result<(), RunError> {
        H5mdOutput::observe(self, frame)
    }
}
