//! Running the hindered (field) model: classes and tracers from the scenario, the
//! [`HinderedField`] advanced by the stepper, field and layer output, summary.
//!
//! Output layout (in addition to the H5MD header and `/parameters` of particle runs):
//!
//! | path | shape, type | unit |
//! |---|---|---|
//! | `/fields/radius_m` | `[Nr]` cell centres | m |
//! | `/fields/volume_fraction/{step,time,value}` (attrs `names`, `species`) | value `[T][Nr][S]` | – |
//! | `/particles/cells/...` | the tracer cells, as in particle runs | |
//! | `/observables/interface_radius/{step,time,value}` (attr `names` = plasma_buffy, buffy_red) | `[T][2]` | m |
//! | `/observables/red_layer_hematocrit/...` | `[T][1]` | – |
//! | `/observables/layer_fraction/...` (attrs `names` = species, `layers`) | `[T][Sp][3]` | – |
//! | `/observables/plasma_concentration/...` (attr `names` = species) | `[T][Sp]` | µL-1 |

use crate::checkpoint::{CheckpointedOutput, Checkpointer, run_checkpointed};
use crate::error::RunError;
use crate::observe::RunOptions;
use crate::output::{create_output, write_cells};
use crate::provenance::Provenance;
use crate::setup::{HinderedSettings, HinderedSetup, geometry_name};
use crate::summary::{
    HinderedOutcome, HinderedSpecies, LayerSummary, LayersSummary, ModelOutcome, Named, Outcome,
    RadialExtent,
};
use buffycoat_field::layers::{LayerReport, LayerRoles, LayerThresholds};
use buffycoat_field::{
    FieldConfig, HinderedField, TracerCell, Tracers, classes_where, mean_volume_fraction,
    species_plasma_per_ul,
};
use buffycoat_h5::schema;
use buffycoat_h5::{H5Error, SeriesId, Writer};
use buffycoat_physics::hindrance::HindranceLaw;
use buffycoat_physics::population::{particle_rng, sample_species};
use buffycoat_physics::units;
use buffycoat_sediment::Geometry;
use buffycoat_sediment::cells::POSITION_STREAM;
use buffycoat_stepper::{DEFAULT_CHUNK_LEN, Frame, Parallel, Schedule};
use std::time::Instant;

/// A hindrance law for people: `Richardson–Zaki (n = 4.65, φmax = 0.9)`.
pub fn describe_law(law: &HindranceLaw) -> String {
    match *law {
        HindranceLaw::RichardsonZaki {
            exponent,
            max_packing,
        } => format!("Richardson–Zaki (n = {exponent}, φmax = {max_packing})"),
        HindranceLaw::HawksleyVand { max_packing } => {
            format!("Hawksley–Vand (φmax = {max_packing})")
        }
    }
}

/// Samples the tracer cells (same streams as particle runs) and places them uniformly; the
/// radial coordinate is x for a tube, √(x² + y²) for a sector (whose polar angle is kept in
/// the tracer's `y`).
pub fn build_tracers(setup: &HinderedSetup, red_cell_aggregate_cells: f64) -> Tracers {
    let sample = &setup.sample;
    let mut cells = Vec::new();
    let mut samples = Vec::new();
    let mut index = 0u64;
    for (k, sp) in sample.species.iter().enumerate() {
        sample_species(
            &sp.species,
            sp.count,
            sample.seed,
            k as u64 + 1,
            &mut samples,
        );
        for c in &samples {
            let mut rng = particle_rng(sample.seed, POSITION_STREAM, index);
            index += 1;
            let p = setup.geometry.sample_uniform(0.0, &mut rng);
            let (radial, y) = match setup.geometry {
                Geometry::Sector(_) => (p[0].hypot(p[1]), p[1].atan2(p[0])),
                Geometry::Tube(_) => (p[0], p[1]),
            };
            cells.push(TracerCell {
                aggregate_cells: if sample.roles.is_red_cell(&sp.species.name) {
                    red_cell_aggregate_cells
                } else {
                    1.0
                },
                species: k as u16,
                diameter: c.diameter,
                density: c.density,
                shape_factor: sp.species.shape_factor,
                radial,
                y,
                z: p[2],
            });
        }
    }
    Tracers::from_cells(&cells)
}

/// The field configuration of a hindered set-up.
pub fn field_config(setup: &HinderedSetup) -> FieldConfig {
    let mut config = FieldConfig::new(
        setup.field_geometry(),
        setup.geometry.r_min(),
        setup.geometry.r_max(),
        setup.field.radial_cells,
        setup.rotor.clone(),
        setup.sample.fluid,
        setup.field.law,
    );
    config.gravity = setup.gravity;
    config.numerics.cfl = setup.field.cfl;
    config.numerics.inactive_fraction = setup.field.inactive_fraction;
    config.numerics.scheme = setup.field.scheme;
    config.numerics.implicit.time_tolerance = setup.field.time_tolerance;
    config.numerics.implicit.max_dt = setup.field.max_dt;
    config.numerics.implicit.minor_classes = setup.field.minor_classes;
    config.numerics.implicit.reconstruction = setup.field.settling_flux;
    config.consolidation = setup.field.consolidation;
    config
}

fn thresholds(settings: &HinderedSettings) -> LayerThresholds {
    LayerThresholds {
        cell_fraction: settings.plasma_threshold,
        red_cell_fraction_of_initial: settings.red_cell_threshold,
    }
}

/// Writes the field run (everything goes through the writer thread).
struct FieldOutput {
    writer: Writer,
    checkpoint: Option<Checkpointer>,
    phi: SeriesId,
    position: SeriesId,
    interfaces: SeriesId,
    hematocrit: SeriesId,
    layer_fraction: SeriesId,
    plasma_concentration: SeriesId,
    species: Vec<String>,
    geometry: Geometry,
    roles: LayerRoles,
    thresholds: LayerThresholds,
    particle_every: usize,
}

impl FieldOutput {
    fn create(
        path: &std::path::Path,
        compression: buffycoat_h5::Compression,
        setup: &HinderedSetup,
        provenance: &Provenance,
        field: &HinderedField,
    ) -> Result<Self, H5Error> {
        let writer = create_output(path, compression, provenance, setup.sample.seed)?;
        let nr = field.radial_cells();
        let classes = field.classes();
        let s = classes.len();
        let species = setup.sample.names();
        writer.dataset_f64(
            schema::FIELDS_RADIUS_M,
            &[nr],
            field.radii().to_vec(),
            Some("m"),
        )?;
        let phi = writer.time_series(schema::FIELDS_VOLUME_FRACTION, &[nr, s], None, "s")?;
        writer.attr_strings(
            schema::FIELDS_VOLUME_FRACTION,
            "names",
            &classes.iter().map(|c| c.label.clone()).collect::<Vec<_>>(),
        )?;
        writer.attr_strings(
            schema::FIELDS_VOLUME_FRACTION,
            "species",
            &classes
                .iter()
                .map(|c| c.species.clone())
                .collect::<Vec<_>>(),
        )?;
        writer.dataset_f64(
            schema::FIELDS_CLASS_DIAMETER,
            &[s],
            classes.iter().map(|c| c.diameter).collect(),
            Some("m"),
        )?;
        writer.dataset_f64(
            schema::FIELDS_CLASS_DENSITY,
            &[s],
            classes.iter().map(|c| c.density).collect(),
            Some("kg m-3"),
        )?;
        let tracers = field.tracers();
        let position = write_cells(
            &writer,
            &tracers.species,
            &species,
            &tracers.diameter,
            &tracers.density,
        )?;
        let interfaces =
            writer.time_series(schema::OBSERVABLES_INTERFACE_RADIUS, &[2], Some("m"), "s")?;
        writer.attr_strings(
            schema::OBSERVABLES_INTERFACE_RADIUS,
            "names",
            &["plasma_buffy".into(), "buffy_red".into()],
        )?;
        let hematocrit =
            writer.time_series(schema::OBSERVABLES_RED_LAYER_HEMATOCRIT, &[1], None, "s")?;
        let layer_fraction = writer.time_series(
            schema::OBSERVABLES_LAYER_FRACTION,
            &[species.len(), 3],
            None,
            "s",
        )?;
        writer.attr_strings(schema::OBSERVABLES_LAYER_FRACTION, "names", &species)?;
        writer.attr_strings(
            schema::OBSERVABLES_LAYER_FRACTION,
            "layers",
            &["plasma".into(), "buffy_coat".into(), "red_cells".into()],
        )?;
        let plasma_concentration = writer.time_series(
            schema::OBSERVABLES_PLASMA_CONCENTRATION,
            &[species.len()],
            Some("uL-1"),
            "s",
        )?;
        writer.attr_strings(schema::OBSERVABLES_PLASMA_CONCENTRATION, "names", &species)?;
        Ok(Self {
            writer,
            checkpoint: None,
            phi,
            position,
            interfaces,
            hematocrit,
            layer_fraction,
            plasma_concentration,
            roles: LayerRoles::from_roles(classes, &setup.sample.roles),
            thresholds: thresholds(&setup.field),
            species,
            geometry: setup.geometry,
            particle_every: setup.particle_every,
        })
    }

    /// The output's time series in a fixed order (the journal's slots).
    fn series_ids(&self) -> Vec<SeriesId> {
        vec![
            self.phi,
            self.position,
            self.interfaces,
            self.hematocrit,
            self.layer_fraction,
            self.plasma_concentration,
        ]
    }

    fn append(
        &mut self,
        id: SeriesId,
        step: i64,
        time: f64,
        buf: Vec<f64>,
    ) -> Result<(), RunError> {
        match self.checkpoint.as_mut() {
            Some(c) => c.append(&self.writer, id, step, time, buf),
            _ => Ok(self.writer.append(id, step, time, buf)?),
        }
    }

    fn observe(&mut self, frame: &Frame<'_, HinderedField>) -> Result<(), RunError> {
        let field = frame.state;
        let step = frame.step as i64;
        let nr = field.radial_cells();
        let s = field.classes().len();
        let mut buf = self.writer.take_buffer_f64(nr * s);
        field.copy_volume_fractions(&mut buf);
        self.append(self.phi, step, frame.time, buf)?;
        if frame.index.is_multiple_of(self.particle_every) || frame.last {
            let t = field.tracers();
            let mut buf = self.writer.take_buffer_f64(3 * t.len());
            for (k, p) in buf.chunks_exact_mut(3).enumerate() {
                let (r, y, z) = (t.radial[k], t.y[k], t.z[k]);
                let xyz = match self.geometry {
                    Geometry::Sector(_) => [r * y.cos(), r * y.sin(), z],
                    Geometry::Tube(_) => [r, y, z],
                };
                p.copy_from_slice(&xyz);
            }
            self.append(self.position, step, frame.time, buf)?;
        }
        let report = field.layers_with(&self.roles, &self.thresholds);
        let mut buf = self.writer.take_buffer_f64(2);
        buf.copy_from_slice(&[report.plasma_buffy_radius, report.buffy_red_radius]);
        self.append(self.interfaces, step, frame.time, buf)?;
        let mut buf = self.writer.take_buffer_f64(1);
        buf[0] = report.red_layer_hematocrit;
        self.append(self.hematocrit, step, frame.time, buf)?;
        let fractions = report.species_fractions(field.classes());
        let mut buf = self.writer.take_buffer_f64(3 * self.species.len());
        buf.fill(0.0);
        let mut conc = self.writer.take_buffer_f64(self.species.len());
        conc.fill(0.0);
        for (k, name) in self.species.iter().enumerate() {
            if let Some((_, f)) = fractions.iter().find(|(s, _)| s == name) {
                buf[3 * k..3 * k + 3].copy_from_slice(f);
            }
            conc[k] = species_plasma_per_ul(&report, field.classes(), name);
        }
        self.append(self.layer_fraction, step, frame.time, buf)?;
        self.append(self.plasma_concentration, step, frame.time, conc)?;
        Ok(())
    }
}

impl CheckpointedOutput<HinderedField> for FieldOutput {
    fn journal(&self) -> Option<(&Writer, Vec<SeriesId>)> {
        Some((&self.writer, self.series_ids()))
    }
    fn checkpointer(&mut self) -> &mut Option<Checkpointer> {
        &mut self.checkpoint
    }
    fn observe(&mut self, frame: &Frame<'_, HinderedField>) -> Result<(), RunError> {
        FieldOutput::observe(self, frame)
    }
}

/// Runs a hindered set-up.
pub(crate) fn run_hindered(
    setup: &HinderedSetup,
    provenance: &Provenance,
    opts: &RunOptions,
) -> Result<Outcome, RunError> {
    let start = Instant::now();
    let settings = &setup.field;
    let par = Parallel::new(opts.threads, DEFAULT_CHUNK_LEN)?;
    let field_setup = |source| RunError::FieldSetup {
        scenario: provenance.scenario_path.clone(),
        source,
    };
    let classes = settings.classes(&setup.sample).map_err(field_setup)?;
    let aggregate = settings.red_cell_aggregate_cells(&setup.sample);
    let tracers = build_tracers(setup, aggregate);
    let mut field =
        HinderedField::new(field_config(setup), classes, tracers).map_err(field_setup)?;
    let schedule = Schedule::new(setup.timeline.duration, setup.timeline.output_interval)?;
    let mut output = match &opts.output {
        Some(path) => Some(FieldOutput::create(
            path,
            opts.compression,
            setup,
            provenance,
            &field,
        )?),
        None => None,
    };
    let report = run_checkpointed(schedule, &mut field, &par, provenance, opts, &mut output)?;
    let roles = LayerRoles::from_roles(field.classes(), &setup.sample.roles);
    let layers = field.layers_with(&roles, &thresholds(settings));
    let tracer_layers = field.tracer_layers(&layers);
    let output_path = match output {
        Some(output) => {
            let status: Vec<i32> = field
                .tracers()
                .status
                .iter()
                .zip(&tracer_layers)
                .map(|(&s, l)| i32::from(s) | ((l.index() as i32) << 4))
                .collect();
            let n = status.len();
            output
                .writer
                .dataset_i32(schema::PARTICLES_CELLS_FINAL_STATUS, &[n], status, None)?;
            output.writer.attr_string(
                schema::PARTICLES_CELLS_FINAL_STATUS,
                "legend",
                "bits 0-3: 0 free, 1 pelleted; bits 4-5: final layer 0 plasma, 1 buffy coat, 2 red cells",
            )?;
            let path = output.writer.finish()?;
            if let Some(c) = output.checkpoint {
                c.remove();
            }
            Some(path)
        }
        None => None,
    };
    let model = hindered_outcome(
        setup,
        &field,
        &layers,
        &tracer_layers,
        aggregate,
        report.advance_time.as_secs_f64(),
    );
    Ok(Outcome::new(
        provenance,
        output_path,
        setup.sample.seed,
        par.threads(),
        start,
        ModelOutcome::Hindered(model),
    ))
}

fn hindered_outcome(
    setup: &HinderedSetup,
    field: &HinderedField,
    layers: &LayerReport,
    tracer_layers: &[buffycoat_field::layers::Layer],
    aggregate: f64,
    advance: f64,
) -> HinderedOutcome {
    let sample = &setup.sample;
    let settings = &setup.field;
    let classes = field.classes();
    let fractions = layers.species_fractions(classes);
    let tracers = field.tracers();
    let sample_volume_ul = setup.geometry.volume() / units::MICROLITRE;
    let mut table = Vec::new();
    for (k, sp) in sample.species.iter().enumerate() {
        let mine: Vec<usize> = (0..tracers.len())
            .filter(|&i| usize::from(tracers.species[i]) == k)
            .collect();
        let count = mine.len();
        let pelleted = mine.iter().filter(|&&i| tracers.status[i] != 0).count();
        table.push((
            sp.species.name.clone(),
            HinderedSpecies {
                count,
                pelleted_fraction: (count > 0).then(|| pelleted as f64 / count as f64),
                radii: RadialExtent::of(mine.iter().map(|&i| tracers.radial[i])),
                per_ul: sp.per_ul,
                cells_represented: sp.per_ul.map(|p| p * sample_volume_ul),
                volume_fraction: sp.volume_fraction,
                layer_fractions: fractions
                    .iter()
                    .find(|(n, _)| *n == sp.species.name)
                    .map(|(_, f)| *f),
                tracer_layer_fractions: (count > 0).then(|| {
                    let mut f = [0.0; 3];
                    for &i in &mine {
                        f[tracer_layers[i].index()] += 1.0 / count as f64;
                    }
                    f
                }),
            },
        ));
    }
    let names = sample.names();
    let bounds = [
        (setup.geometry.r_min(), layers.plasma_buffy_radius),
        (layers.plasma_buffy_radius, layers.buffy_red_radius),
        (layers.buffy_red_radius, setup.geometry.r_max()),
    ];
    let red = classes_where(classes, |s| sample.roles.is_red_cell(s));
    let layer = |k: usize| LayerSummary {
        inner_radius_m: bounds[k].0,
        outer_radius_m: bounds[k].1,
        hematocrit: mean_volume_fraction(field, &red, bounds[k]),
        species: Named(
            names
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        fractions
                            .iter()
                            .find(|(s, _)| s == n)
                            .map_or(0.0, |(_, f)| f[k]),
                    )
                })
                .collect(),
        ),
        per_ul: Named(if k == 0 {
            names
                .iter()
                .map(|n| (n.clone(), species_plasma_per_ul(layers, classes, n)))
                .collect()
        } else {
            Vec::new()
        }),
    };
    let stats = field.stats();
    let implicit = field.implicit_stats();
    let tracer_steps = stats.steps * tracers.len() as u64;
    HinderedOutcome {
        model: "hindered",
        geometry: geometry_name(&setup.geometry),
        duration_s: field.time(),
        particle_steps: tracer_steps,
        particle_steps_per_second: if advance > 0.0 {
            tracer_steps as f64 / advance
        } else {
            0.0
        },
        dt_s: if stats.steps > 0 {
            field.time() / stats.steps as f64
        } else {
            0.0
        },
        species: Named(table),
        layers: LayersSummary {
            plasma: layer(0),
            buffy_coat: layer(1),
            red_cells: layer(2),
            red_layer_hematocrit: layers.red_layer_hematocrit,
            hindrance: describe_law(&settings.law),
            radial_cells: settings.radial_cells,
            field_steps: stats.steps,
            rejected_steps: implicit.map_or(0, |s| s.rejected_error + s.rejected_newton),
            newton_iterations: implicit.map_or(0, |s| s.newton.iterations),
            jacobian_factorizations: implicit.map_or(0, |s| s.newton.factorizations),
            promoted_minor_classes: implicit.map_or(0, |s| s.promoted_classes),
            max_volume_drift: field.max_volume_drift(),
            red_cell_aggregate_cells: aggregate,
        },
    }
}
