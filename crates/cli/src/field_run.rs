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

use crate::input::LoadedScenario;
use crate::input::scenario::{HinderedSettings, Resolved};
use crate::run::{RunError, RunOptions, run_observed};
use crate::summary::{
    LayerSummary, LayersSummary, RunSummary, SpeciesSummary, SpeciesTable, write_json_atomic,
};
use buffycoat_field::layers::{LayerReport, LayerRoles, LayerThresholds};
use buffycoat_field::{
    Class, FieldConfig, FieldGeometry, HinderedField, TracerCell, Tracers,
    classes_from_distribution,
};
use buffycoat_h5::{H5Error, SeriesId, Writer};
use buffycoat_physics::population::{particle_rng, sample_species};
use buffycoat_physics::species::{PLATELET, RBC};
use buffycoat_physics::units;
use buffycoat_sediment::Geometry;
use buffycoat_sediment::cells::POSITION_STREAM;
use buffycoat_stepper::{DEFAULT_CHUNK_LEN, Frame, Parallel, Schedule};
use std::time::Instant;

/// Red cells per sedimenting aggregate: as given, or derived from the ESR with the mean red
/// cell of the run (`buffycoat_physics::hindrance::aggregate_cells_from_esr`); 1 without red
/// cells.
pub fn red_cell_aggregate_cells(res: &Resolved, settings: &HinderedSettings) -> f64 {
    let Some(esr) = settings.esr else {
        return settings.red_cell_aggregate_cells;
    };
    let Some(rbc) = res.species.iter().find(|s| s.species.name == RBC) else {
        return 1.0;
    };
    let s = buffycoat_physics::forces::sedimentation_coefficient(
        rbc.species.mean_diameter(),
        rbc.species.mean_density(),
        res.fluid.density,
        res.fluid.viscosity,
        rbc.species.shape_factor,
    );
    let hematocrit = rbc.volume_fraction.unwrap_or(0.45);
    buffycoat_physics::hindrance::aggregate_cells_from_esr(esr, hematocrit, s, &settings.law)
}

/// Builds the field classes of every species (equal-probability density/size bins); red
/// cells sediment as aggregates when the scenario says so.
pub fn build_classes(res: &Resolved, settings: &HinderedSettings) -> Result<Vec<Class>, RunError> {
    let aggregate = red_cell_aggregate_cells(res, settings);
    let mut classes = Vec::new();
    for sp in &res.species {
        let phi = sp.volume_fraction.unwrap_or(0.0);
        let mut new = classes_from_distribution(&sp.species, phi, settings.classes_per_species)
            .map_err(RunError::Field)?;
        if sp.species.name == RBC {
            for c in &mut new {
                c.aggregate_cells = aggregate;
            }
        }
        classes.extend(new);
    }
    Ok(classes)
}

/// Samples the tracer cells (same streams as particle runs) and places them uniformly; the
/// radial coordinate is x for a tube, √(x² + y²) for a sector (whose polar angle is kept in
/// the tracer's `y`).
pub fn build_tracers(res: &Resolved, red_cell_aggregate_cells: f64) -> Tracers {
    let mut cells = Vec::new();
    let mut samples = Vec::new();
    let mut index = 0u64;
    for (k, sp) in res.species.iter().enumerate() {
        sample_species(&sp.species, sp.count, res.seed, k as u64 + 1, &mut samples);
        for c in &samples {
            let mut rng = particle_rng(res.seed, POSITION_STREAM, index);
            index += 1;
            let p = res.geometry.sample_uniform(0.0, &mut rng);
            let (radial, y) = match res.geometry {
                Geometry::Sector(_) => (p[0].hypot(p[1]), p[1].atan2(p[0])),
                _ => (p[0], p[1]),
            };
            cells.push(TracerCell {
                aggregate_cells: if sp.species.name == RBC {
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

/// The field configuration of a resolved scenario.
pub fn field_config(res: &Resolved, settings: &HinderedSettings) -> FieldConfig {
    let geometry = match res.geometry {
        Geometry::Sector(_) => FieldGeometry::Sector,
        _ => FieldGeometry::Tube,
    };
    let mut config = FieldConfig::new(
        geometry,
        res.geometry.r_min(),
        res.geometry.r_max(),
        settings.radial_cells,
        res.rotor.clone(),
        res.fluid,
        settings.law,
    );
    config.gravity = res.forces.gravity;
    config.numerics.cfl = settings.cfl;
    config.numerics.inactive_fraction = settings.inactive_fraction;
    config.numerics.scheme = settings.scheme;
    config.numerics.implicit.time_tolerance = settings.time_tolerance;
    config.numerics.implicit.max_dt = settings.max_dt;
    config.consolidation = settings.consolidation;
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
        scn: &LoadedScenario,
        field: &HinderedField,
        settings: &HinderedSettings,
    ) -> Result<Self, H5Error> {
        let writer = Writer::create(path)?;
        writer.h5md_header("buffycoat developers", "buffycoat", crate::VERSION)?;
        crate::output::write_parameters(&writer, scn)?;
        let nr = field.radial_cells();
        let classes = field.classes();
        let s = classes.len();
        let species: Vec<String> = scn
            .resolved
            .species
            .iter()
            .map(|sp| sp.species.name.clone())
            .collect();
        writer.dataset_f64("/fields/radius_m", &[nr], field.radii().to_vec(), Some("m"))?;
        let phi = writer.time_series("/fields/volume_fraction", &[nr, s], None, "s")?;
        writer.attr_strings(
            "/fields/volume_fraction",
            "names",
            &classes.iter().map(|c| c.label.clone()).collect::<Vec<_>>(),
        )?;
        writer.attr_strings(
            "/fields/volume_fraction",
            "species",
            &classes
                .iter()
                .map(|c| c.species.clone())
                .collect::<Vec<_>>(),
        )?;
        writer.dataset_f64(
            "/fields/class_diameter",
            &[s],
            classes.iter().map(|c| c.diameter).collect(),
            Some("m"),
        )?;
        writer.dataset_f64(
            "/fields/class_density",
            &[s],
            classes.iter().map(|c| c.density).collect(),
            Some("kg m-3"),
        )?;
        let tracers = field.tracers();
        let n = tracers.len();
        writer.attr_i64("/particles/cells/box", "dimension", 3)?;
        writer.attr_strings(
            "/particles/cells/box",
            "boundary",
            &["none".into(), "none".into(), "none".into()],
        )?;
        let position = writer.time_series("/particles/cells/position", &[n, 3], Some("m"), "s")?;
        writer.dataset_i32(
            "/particles/cells/species",
            &[n],
            tracers.species.iter().map(|&k| i32::from(k)).collect(),
            None,
        )?;
        writer.attr_strings("/particles/cells/species", "names", &species)?;
        writer.dataset_i64("/particles/cells/id", &[n], (0..n as i64).collect(), None)?;
        writer.dataset_f64(
            "/particles/cells/diameter",
            &[n],
            tracers.diameter.clone(),
            Some("m"),
        )?;
        writer.dataset_f64(
            "/particles/cells/density",
            &[n],
            tracers.density.clone(),
            Some("kg m-3"),
        )?;
        let interfaces =
            writer.time_series("/observables/interface_radius", &[2], Some("m"), "s")?;
        writer.attr_strings(
            "/observables/interface_radius",
            "names",
            &["plasma_buffy".into(), "buffy_red".into()],
        )?;
        let hematocrit =
            writer.time_series("/observables/red_layer_hematocrit", &[1], None, "s")?;
        let layer_fraction = writer.time_series(
            "/observables/layer_fraction",
            &[species.len(), 3],
            None,
            "s",
        )?;
        writer.attr_strings("/observables/layer_fraction", "names", &species)?;
        writer.attr_strings(
            "/observables/layer_fraction",
            "layers",
            &["plasma".into(), "buffy_coat".into(), "red_cells".into()],
        )?;
        let plasma_concentration = writer.time_series(
            "/observables/plasma_concentration",
            &[species.len()],
            Some("uL-1"),
            "s",
        )?;
        writer.attr_strings("/observables/plasma_concentration", "names", &species)?;
        Ok(Self {
            writer,
            phi,
            position,
            interfaces,
            hematocrit,
            layer_fraction,
            plasma_concentration,
            roles: LayerRoles::by_species(classes, RBC, PLATELET),
            thresholds: thresholds(settings),
            species,
            geometry: scn.resolved.geometry,
            particle_every: scn.resolved.particle_every,
        })
    }

    fn observe(&mut self, frame: &Frame<'_, HinderedField>) -> Result<(), H5Error> {
        let field = frame.state;
        let step = frame.step as i64;
        let nr = field.radial_cells();
        let s = field.classes().len();
        let mut buf = self.writer.take_buffer_f64(nr * s);
        field.copy_volume_fractions(&mut buf);
        self.writer.append(self.phi, step, frame.time, buf)?;
        if frame.index.is_multiple_of(self.particle_every) || frame.last {
            let t = field.tracers();
            let mut buf = self.writer.take_buffer_f64(3 * t.len());
            for (k, p) in buf.chunks_exact_mut(3).enumerate() {
                let (r, y, z) = (t.radial[k], t.y[k], t.z[k]);
                let xyz = match self.geometry {
                    Geometry::Sector(_) => [r * y.cos(), r * y.sin(), z],
                    _ => [r, y, z],
                };
                p.copy_from_slice(&xyz);
            }
            self.writer.append(self.position, step, frame.time, buf)?;
        }
        let report = field.layers_with(&self.roles, &self.thresholds);
        let mut buf = self.writer.take_buffer_f64(2);
        buf.copy_from_slice(&[report.plasma_buffy_radius, report.buffy_red_radius]);
        self.writer.append(self.interfaces, step, frame.time, buf)?;
        let mut buf = self.writer.take_buffer_f64(1);
        buf[0] = report.red_layer_hematocrit;
        self.writer.append(self.hematocrit, step, frame.time, buf)?;
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
        self.writer
            .append(self.layer_fraction, step, frame.time, buf)?;
        self.writer
            .append(self.plasma_concentration, step, frame.time, conc)?;
        Ok(())
    }
}

/// Cells per µL of `species` in the plasma layer.
fn species_plasma_per_ul(report: &LayerReport, classes: &[Class], species: &str) -> f64 {
    let per_m3: f64 = classes
        .iter()
        .zip(&report.plasma_number_concentration)
        .filter(|(c, _)| c.species == species)
        .map(|(_, n)| n)
        .sum();
    units::per_m3_to_per_ul(per_m3)
}

/// Runs a hindered scenario.
pub fn run_hindered(scn: &LoadedScenario, opts: &RunOptions) -> Result<RunSummary, RunError> {
    let start = Instant::now();
    let res = &scn.resolved;
    let settings = res
        .hindered
        .as_ref()
        .expect("run_hindered needs hindered settings");
    let par = Parallel::new(opts.threads, DEFAULT_CHUNK_LEN)?;
    let classes = build_classes(res, settings)?;
    let tracers = build_tracers(res, red_cell_aggregate_cells(res, settings));
    let mut field =
        HinderedField::new(field_config(res, settings), classes, tracers).map_err(|e| {
            RunError::FieldSetup {
                scenario: scn.path.clone(),
                source: e,
            }
        })?;
    let schedule = Schedule::new(res.duration, res.output_interval)?;
    let mut output = match &opts.output {
        Some(path) => Some(FieldOutput::create(path, scn, &field, settings)?),
        None => None,
    };
    let report = run_observed(
        schedule,
        &mut field,
        &par,
        |f: &Frame<'_, HinderedField>| match output.as_mut() {
            Some(o) => o.observe(f).map_err(RunError::from),
            None => Ok(()),
        },
        opts.progress,
    )?;
    let roles = LayerRoles::by_species(field.classes(), RBC, PLATELET);
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
                .dataset_i32("/particles/cells/final_status", &[n], status, None)?;
            output.writer.attr_string(
                "/particles/cells/final_status",
                "legend",
                "bits 0-3: 0 free, 1 pelleted; bits 4-5: final layer 0 plasma, 1 buffy coat, 2 red cells",
            )?;
            Some(output.writer.finish()?)
        }
        None => None,
    };
    let summary = hindered_summary(
        scn,
        &field,
        &layers,
        &tracer_layers,
        settings,
        &par,
        start,
        report.advance_time.as_secs_f64(),
        output_path,
    );
    if let Some(path) = &opts.summary {
        write_json_atomic(path, &summary).map_err(|source| RunError::Summary {
            path: path.clone(),
            source,
        })?;
    }
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn hindered_summary(
    scn: &LoadedScenario,
    field: &HinderedField,
    layers: &LayerReport,
    tracer_layers: &[buffycoat_field::layers::Layer],
    settings: &HinderedSettings,
    par: &Parallel,
    start: Instant,
    advance: f64,
    output: Option<std::path::PathBuf>,
) -> RunSummary {
    let res = &scn.resolved;
    let classes = field.classes();
    let fractions = layers.species_fractions(classes);
    let tracers = field.tracers();
    let mut table = Vec::new();
    for (k, sp) in res.species.iter().enumerate() {
        let mine: Vec<usize> = (0..tracers.len())
            .filter(|&i| usize::from(tracers.species[i]) == k)
            .collect();
        let count = mine.len();
        let radii: Vec<f64> = mine.iter().map(|&i| tracers.radial[i]).collect();
        let pelleted = mine.iter().filter(|&&i| tracers.status[i] != 0).count();
        let mean = if count > 0 {
            radii.iter().sum::<f64>() / count as f64
        } else {
            f64::NAN
        };
        let census = buffycoat_sediment::census::SpeciesCensus {
            count,
            pelleted,
            floated: 0,
            on_wall: 0,
            mean_radius: mean,
            min_radius: radii.iter().copied().fold(f64::NAN, f64::min),
            max_radius: radii.iter().copied().fold(f64::NAN, f64::max),
        };
        let mut s = SpeciesSummary::from_census(
            &census,
            sp.per_ul,
            res.geometry.volume() / units::MICROLITRE,
        );
        s.volume_fraction = sp.volume_fraction;
        s.layer_fractions = fractions
            .iter()
            .find(|(n, _)| *n == sp.species.name)
            .map(|(_, f)| *f);
        s.tracer_layer_fractions = (count > 0).then(|| {
            let mut f = [0.0; 3];
            for &i in &mine {
                f[tracer_layers[i].index()] += 1.0 / count as f64;
            }
            f
        });
        table.push((sp.species.name.clone(), s));
    }
    let names: Vec<&str> = res
        .species
        .iter()
        .map(|s| s.species.name.as_str())
        .collect();
    let bounds = [
        (res.geometry.r_min(), layers.plasma_buffy_radius),
        (layers.plasma_buffy_radius, layers.buffy_red_radius),
        (layers.buffy_red_radius, res.geometry.r_max()),
    ];
    let layer = |k: usize| LayerSummary {
        inner_radius_m: bounds[k].0,
        outer_radius_m: bounds[k].1,
        hematocrit: layer_hematocrit(field, classes, bounds[k]),
        species: names
            .iter()
            .map(|&n| {
                (
                    n.to_string(),
                    fractions
                        .iter()
                        .find(|(s, _)| s == n)
                        .map_or(0.0, |(_, f)| f[k]),
                )
            })
            .collect(),
        per_ul: if k == 0 {
            names
                .iter()
                .map(|&n| (n.to_string(), species_plasma_per_ul(layers, classes, n)))
                .collect()
        } else {
            Vec::new()
        },
    };
    let stats = field.stats();
    let tracer_steps = stats.steps * tracers.len() as u64;
    RunSummary {
        program: Default::default(),
        scenario: scn.path.clone(),
        output,
        seed: res.seed,
        threads: par.threads(),
        model: "hindered".into(),
        geometry: match res.geometry {
            Geometry::Tube(_) => "tube".into(),
            _ => "sector".into(),
        },
        duration_s: field.time(),
        wall_time_s: start.elapsed().as_secs_f64(),
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
        max_particle_reynolds: f64::NAN,
        species: SpeciesTable(table),
        layers: Some(LayersSummary {
            plasma: layer(0),
            buffy_coat: layer(1),
            red_cells: layer(2),
            red_layer_hematocrit: layers.red_layer_hematocrit,
            hindrance: format!("{:?}", settings.law),
            radial_cells: settings.radial_cells,
            field_steps: stats.steps,
            max_volume_drift: field.max_volume_drift(),
            red_cell_aggregate_cells: red_cell_aggregate_cells(res, settings),
        }),
        channel: None,
        procedure: None,
    }
}

/// Mean red-cell volume fraction over [r0, r1] (cell-measure weighted; 0 for an empty layer).
fn layer_hematocrit(field: &HinderedField, classes: &[Class], (r0, r1): (f64, f64)) -> f64 {
    let red: Vec<usize> = classes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.species == RBC)
        .map(|(i, _)| i)
        .collect();
    let (mut num, mut den) = (0.0, 0.0);
    for (j, &r) in field.radii().iter().enumerate() {
        if r >= r0 && r < r1 {
            let w = field.cell_measure(j);
            num += w * red
                .iter()
                .map(|&i| field.volume_fraction(i, j))
                .sum::<f64>();
            den += w;
        }
    }
    if den > 0.0 { num / den } else { 0.0 }
}
