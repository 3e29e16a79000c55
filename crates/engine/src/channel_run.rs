//! Running a continuous-flow channel scenario: steady (march along the channel) or transient,
//! tracer fates and grade-efficiency curves, port results, HDF5 and the summary.
//!
//! Output layout:
//!
//! | path | content | unit |
//! |---|---|---|
//! | `/fields/channel/radius_m` | `[Nr]` cell centres across the depth (physical radius; the grid of the solution — refined at the buffy coat with `grid.refine_interface` — at the exit station's map with viscous flow) | m |
//! | `/fields/channel/flux_coordinate_m` | `[Nr]` the same cells in the stream-function coordinate ξ | m |
//! | `/fields/channel/along_m` | `[K]` stations along the channel | m |
//! | `/fields/channel/volume_fraction` (attrs `names`, `species`) | `[K][Nr][S]` (steady; transient: the final state at the K − 1 column centres) | – |
//! | `/fields/channel/hematocrit` | `[K][Nr]` red-cell volume fraction | – |
//! | `/fields/channel/port_split_radius_m` | `[2]` plasma/collect and collect/red-cell cuts at the outlet | m |
//! | `/observables/ports/<port>/{flow_ml_min, hematocrit}` | scalars | mL/min, – |
//! | `/observables/ports/<port>/{fraction, per_ul}` (attr `names`) | `[Sp]` | –, µL-1 |
//! | `/observables/{collection_efficiency, purity_all_cells, purity_white_cells}` (attr `names`) | `[Sp]` | – |
//! | `/observables/platelet_loss` | scalar (absent without platelets) | – |
//! | `/observables/grade_efficiency/<species>/{diameter_m, count, probability}` | `[B]`, `[B]`, `[B][3]` (ports plasma, collect, red_cells) | m |
//! | `/observables/grade_efficiency/<species>/{density_kg_m3, count_by_density, probability_by_density}` | the same by density | kg m-3 |
//! | `/tracers/{species, diameter_m, density_kg_m3, entry_radius_m, exit_radius_m, port}` | `[N]` per-cell fates (port 0 plasma, 1 collect, 2 red cells) | |
//! | `/observables/transient/time_s`, `/observables/transient/<port>/fraction` | `[T]`, `[T][Sp]` (transient only) | s |

use crate::checkpoint::{StateOnly, run_checkpointed};
use crate::error::RunError;
use crate::observe::RunOptions;
use crate::output::create_output;
use crate::provenance::Provenance;
use crate::setup::{ChannelSetup, ChannelSolver};
use crate::summary::{
    ChannelOutcome, ChannelSpecies, ModelOutcome, Named, NamedValues, Outcome, PortSpeciesSummary,
    PortSummary, Purity, RadialExtent,
};
use buffycoat_channel::SuspensionViscosity;
use buffycoat_channel::{
    Channel, ChannelError, ChannelGrid, ChannelTracer, PlasmaControl, Port, SpeciesGrade,
    SpeciesReport, TracerFate, TracerSettings, TransientSettings, grade_efficiency_per_species,
};
use buffycoat_field::classes_where;
use buffycoat_h5::schema;
use buffycoat_h5::{H5Error, Writer};
use buffycoat_physics::population::sample_species;
use buffycoat_physics::species::{LYMPHOCYTE, MONOCYTE};
use buffycoat_physics::units;
use buffycoat_physics::viscosity::KriegerDougherty;
use buffycoat_stepper::{DEFAULT_CHUNK_LEN, Parallel};
use std::path::PathBuf;
use std::time::Instant;

use schema::PORT_NAMES;

/// Tracer cells of every species (same property streams as the other models), entering
/// uniformly in flux. (Red-cell aggregates settle as one body in the field; the tracers and
/// the grade curves are by the single cell.)
fn tracers(setup: &ChannelSetup) -> Vec<ChannelTracer> {
    let sample = &setup.sample;
    let mut items = Vec::new();
    let mut samples = Vec::new();
    for (k, sp) in sample.species.iter().enumerate() {
        sample_species(
            &sp.species,
            sp.count,
            sample.seed,
            k as u64 + 1,
            &mut samples,
        );
        items.extend(
            samples
                .iter()
                .map(|c| (k as u16, c.diameter, c.density, sp.species.shape_factor)),
        );
    }
    ChannelTracer::uniform_entries(&items)
}

fn port_index(p: Port) -> usize {
    match p {
        Port::Plasma => 0,
        Port::Collect => 1,
        Port::RedCells => 2,
    }
}

/// Runs a channel set-up.
/// The channel and its plasma-pump control exactly as a run of `setup` solves it: the classes
/// of the sample, the configuration of the scenario (with rigid-particle viscosity when the
/// suspension has no red cells). Shared by [`run_channel`] and the benchmarks, so a benchmark
/// of "the preset's solve" measures what the CLI runs. `scenario` is named in errors.
pub fn build_channel(
    setup: &ChannelSetup,
    scenario: &std::path::Path,
) -> Result<(Channel, PlasmaControl), RunError> {
    let sample = &setup.sample;
    let ch = &setup.channel;
    let classes = setup
        .field
        .classes(sample)
        .map_err(|source| RunError::FieldSetup {
            scenario: scenario.to_owned(),
            source,
        })?;
    let channel_setup = |e: ChannelError| RunError::ChannelSetup {
        scenario: scenario.to_owned(),
        source: e,
    };
    let mut config = ch.config(&setup.field, sample.fluid);
    if !sample
        .species
        .iter()
        .any(|s| sample.roles.is_red_cell(&s.species.name))
    {
        // no red cells: rigid particles (Krieger–Dougherty, Einstein's [η] = 2.5, jammed at the
        // hindrance law's maximum packing) for the viscous flow profile
        config.viscosity = SuspensionViscosity::Rigid(
            KriegerDougherty::new(setup.field.law.max_packing(), 2.5)
                .map_err(|e| channel_setup(ChannelError::Physics(e)))?,
        );
    }
    let channel = Channel::new(config, classes).map_err(channel_setup)?;
    let control = ch.plasma_control().map_err(channel_setup)?;
    Ok((channel, control))
}

pub(crate) fn run_channel(
    setup: &ChannelSetup,
    provenance: &Provenance,
    opts: &RunOptions,
) -> Result<Outcome, RunError> {
    let start = Instant::now();
    let sample = &setup.sample;
    let ch = &setup.channel;
    let par = Parallel::new(opts.threads, DEFAULT_CHUNK_LEN)?;
    let channel_setup = |e: ChannelError| RunError::ChannelSetup {
        scenario: provenance.scenario_path.clone(),
        source: e,
    };
    let (channel, control) = build_channel(setup, &provenance.scenario_path)?;
    let names = sample.names();
    // The checkpoint of a transient run, removed once its output is in place.
    let mut finished: Option<StateOnly> = None;
    // `grid`: the grid the field is on — for the steady march the solution's (refined at the
    // buffy coat with `grid.refine_interface`, the exit station's radii with viscous flow), not
    // the channel's uniform set-up grid.
    let (report, field, stations, transient, tracer_data, cuts, grid) = match &setup.solver {
        ChannelSolver::Steady => {
            let sol = channel
                .solve_steady(&par)?
                .with_plasma_control(&control, &names, &sample.roles, ch.flows.collect)
                .map_err(channel_setup)?;
            let report = sol.species_report(&sample.roles)?;
            let t = tracers(setup);
            let settings = TracerSettings {
                substeps: ch.tracer_substeps,
            };
            let fates = sol.track(&t, &settings, &par)?;
            let g = grade_efficiency_per_species(&t, &fates, names.len(), ch.grade_bins)?;
            let stations = sol.grid().s_stations.clone();
            let cuts = sol.grid().cut_radii();
            (
                report,
                sol.field().to_vec(),
                stations,
                None,
                Some((t, fates, g)),
                cuts,
                sol.grid().clone(),
            )
        }
        ChannelSolver::Transient {
            timeline,
            initial,
            rotor,
        } => {
            if control != PlasmaControl::Fixed {
                return Err(channel_setup(ChannelError::Inconsistent(
                    "ports.interface_control and ports.collect_hematocrit apply to the steady \
                     channel only; give ports.plasma_ml_min for a transient run"
                        .into(),
                )));
            }
            let mut ts = TransientSettings::new(timeline.duration, timeline.output_interval);
            ts.initial = *initial;
            ts.rotor = rotor.clone();
            // Output interval by output interval through the stepper, checkpointed like the
            // particle and hindered runs (the state holds every result until the end).
            let mut run = channel.transient_run(&ts)?;
            let mut checkpoint = opts.output.as_ref().map(|_| StateOnly::default());
            run_checkpointed(
                run.schedule()?,
                &mut run,
                &par,
                provenance,
                opts,
                &mut checkpoint,
            )?;
            finished = checkpoint;
            let sol = run.finish();
            let last = sol.times.len() - 1;
            let report = sol.species_report(last, &sample.roles)?;
            let reports: Vec<SpeciesReport> = (0..sol.times.len())
                .map(|m| sol.species_report(m, &sample.roles))
                .collect::<Result<_, _>>()?;
            // Column centres along the channel.
            let s = &channel.grid().s_stations;
            let centres: Vec<f64> = s.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
            (
                report,
                sol.field.clone(),
                centres,
                Some((sol.times.clone(), reports)),
                None,
                channel.grid().cut_radii(),
                channel.grid().clone(),
            )
        }
    };
    // A cancelled steady run stops here, before anything is written (a transient stops
    // between its output intervals, with a checkpoint; one that got through is written).
    if matches!(setup.solver, ChannelSolver::Steady) {
        opts.check_cancel(0.0)?;
    }
    let output_path = match &opts.output {
        Some(path) => Some(write_output(
            path,
            opts.compression,
            setup,
            provenance,
            &channel,
            &grid,
            &report,
            &field,
            &stations,
            cuts,
            transient.as_ref(),
            tracer_data.as_ref(),
        )?),
        None => None,
    };
    if let Some(c) = finished {
        c.remove();
    }
    let model = channel_outcome(setup, &channel, &grid, &report, tracer_data.as_ref(), cuts);
    Ok(Outcome::new(
        provenance,
        output_path,
        sample.seed,
        par.threads(),
        start,
        ModelOutcome::Channel(model),
    ))
}

type TracerData = (Vec<ChannelTracer>, Vec<TracerFate>, Vec<SpeciesGrade>);

#[allow(clippy::too_many_arguments)]
fn write_output(
    path: &std::path::Path,
    compression: buffycoat_h5::Compression,
    setup: &ChannelSetup,
    provenance: &Provenance,
    channel: &Channel,
    grid: &ChannelGrid,
    report: &SpeciesReport,
    field: &[f64],
    stations: &[f64],
    cuts: [f64; 2],
    transient: Option<&(Vec<f64>, Vec<SpeciesReport>)>,
    tracer_data: Option<&TracerData>,
) -> Result<PathBuf, H5Error> {
    let writer: Writer = create_output(path, compression, provenance, setup.sample.seed)?;
    let classes = channel.classes();
    let (nr, s, k) = (grid.r_centres.len(), classes.len(), stations.len());
    writer.dataset_f64(
        schema::FIELDS_CHANNEL_RADIUS_M,
        &[nr],
        grid.r_centres.clone(),
        Some("m"),
    )?;
    writer.dataset_f64(
        schema::FIELDS_CHANNEL_FLUX_COORDINATE_M,
        &[nr],
        grid.xi_centres.clone(),
        Some("m"),
    )?;
    writer.dataset_f64(
        schema::FIELDS_CHANNEL_ALONG_M,
        &[k],
        stations.to_vec(),
        Some("m"),
    )?;
    writer.dataset_f64(
        schema::FIELDS_CHANNEL_VOLUME_FRACTION,
        &[k, nr, s],
        field.to_vec(),
        None,
    )?;
    writer.attr_strings(
        schema::FIELDS_CHANNEL_VOLUME_FRACTION,
        "names",
        &classes.iter().map(|c| c.label.clone()).collect::<Vec<_>>(),
    )?;
    writer.attr_strings(
        schema::FIELDS_CHANNEL_VOLUME_FRACTION,
        "species",
        &classes
            .iter()
            .map(|c| c.species.clone())
            .collect::<Vec<_>>(),
    )?;
    let red = classes_where(classes, |s| setup.sample.roles.is_red_cell(s));
    let hematocrit: Vec<f64> = field
        .chunks_exact(s)
        .map(|cell| red.iter().map(|&i| cell[i]).sum())
        .collect();
    writer.dataset_f64(
        schema::FIELDS_CHANNEL_HEMATOCRIT,
        &[k, nr],
        hematocrit,
        None,
    )?;
    writer.dataset_f64(
        schema::FIELDS_CHANNEL_PORT_SPLIT_RADIUS_M,
        &[2],
        cuts.to_vec(),
        Some("m"),
    )?;
    let names = report.species.clone();
    let sp = names.len();
    for (p, port) in report.ports.iter().enumerate() {
        let name = PORT_NAMES[p];
        let g = schema::port_group(name);
        writer.dataset_f64(
            &schema::port_dataset(name, schema::PORT_FLOW_ML_MIN),
            &[],
            vec![units::m3_per_s_to_ml_per_min(port.flow)],
            Some("mL min-1"),
        )?;
        writer.dataset_f64(
            &schema::port_dataset(name, schema::PORT_HEMATOCRIT),
            &[],
            vec![port.hematocrit],
            None,
        )?;
        writer.dataset_f64(
            &schema::port_dataset(name, schema::PORT_FRACTION),
            &[sp],
            port.species.iter().map(|x| x.fraction).collect(),
            None,
        )?;
        writer.dataset_f64(
            &schema::port_dataset(name, schema::PORT_PER_UL),
            &[sp],
            port.species.iter().map(|x| x.per_ul).collect(),
            Some("uL-1"),
        )?;
        writer.attr_strings(&g, "names", &names)?;
    }
    for (path, values) in [
        (
            schema::OBSERVABLES_COLLECTION_EFFICIENCY,
            &report.collection_efficiency,
        ),
        (
            schema::OBSERVABLES_PURITY_ALL_CELLS,
            &report.purity_all_cells,
        ),
        (
            schema::OBSERVABLES_PURITY_WHITE_CELLS,
            &report.purity_white_cells,
        ),
    ] {
        writer.dataset_f64(path, &[sp], values.clone(), None)?;
        writer.attr_strings(path, "names", &names)?;
    }
    // Platelet loss is 0/0 for a suspension without platelets: absent, not 0 (as in the summary).
    if report
        .species
        .iter()
        .any(|s| setup.sample.roles.is_platelet(s))
    {
        writer.dataset_f64(
            schema::OBSERVABLES_PLATELET_LOSS,
            &[],
            vec![report.platelet_loss],
            None,
        )?;
    }
    if let Some((tracers, fates, grades)) = tracer_data {
        let species_names = setup.sample.names();
        for g in grades {
            let species = &species_names[usize::from(g.species)];
            for (table, dq, unit, count, prob) in [
                (
                    &g.by_diameter,
                    schema::GRADE_DIAMETER_M,
                    "m",
                    schema::GRADE_COUNT,
                    schema::GRADE_PROBABILITY,
                ),
                (
                    &g.by_density,
                    schema::GRADE_DENSITY_KG_M3,
                    "kg m-3",
                    schema::GRADE_COUNT_BY_DENSITY,
                    schema::GRADE_PROBABILITY_BY_DENSITY,
                ),
            ] {
                let b = table.counts.len();
                let centres: Vec<f64> = table
                    .edges
                    .windows(2)
                    .map(|w| 0.5 * (w[0] + w[1]))
                    .collect();
                writer.dataset_f64(
                    &schema::grade_dataset(species, dq),
                    &[b],
                    centres,
                    Some(unit),
                )?;
                writer.dataset_i64(
                    &schema::grade_dataset(species, count),
                    &[b],
                    table.counts.iter().map(|&c| c as i64).collect(),
                    None,
                )?;
                writer.dataset_f64(
                    &schema::grade_dataset(species, prob),
                    &[b, 3],
                    table.probability.iter().flatten().copied().collect(),
                    None,
                )?;
            }
        }
        let n = tracers.len();
        // entry at the inlet's map (the set-up grid: a uniform inlet suspension has the
        // imposed-profile map, also with viscous flow), exit at the exit station's
        let inlet = channel.grid();
        let entry: Vec<f64> = tracers
            .iter()
            .map(|t| inlet.radius_of_xi(t.entry * inlet.depth))
            .collect();
        let exit: Vec<f64> = fates.iter().map(|f| grid.radius_of_xi(f.exit_xi)).collect();
        writer.dataset_i32(
            schema::TRACERS_SPECIES,
            &[n],
            tracers.iter().map(|t| i32::from(t.species)).collect(),
            None,
        )?;
        writer.attr_strings(schema::TRACERS_SPECIES, "names", &species_names)?;
        writer.dataset_f64(
            schema::TRACERS_DIAMETER_M,
            &[n],
            tracers.iter().map(|t| t.diameter).collect(),
            Some("m"),
        )?;
        writer.dataset_f64(
            schema::TRACERS_DENSITY_KG_M3,
            &[n],
            tracers.iter().map(|t| t.density).collect(),
            Some("kg m-3"),
        )?;
        writer.dataset_f64(schema::TRACERS_ENTRY_RADIUS_M, &[n], entry, Some("m"))?;
        writer.dataset_f64(schema::TRACERS_EXIT_RADIUS_M, &[n], exit, Some("m"))?;
        writer.dataset_i32(
            schema::TRACERS_PORT,
            &[n],
            fates.iter().map(|f| port_index(f.port) as i32).collect(),
            None,
        )?;
        writer.attr_string(
            schema::TRACERS_PORT,
            "legend",
            "0 plasma, 1 collect, 2 red cells",
        )?;
    }
    if let Some((times, reports)) = transient {
        let t = times.len();
        writer.dataset_f64(
            schema::OBSERVABLES_TRANSIENT_TIME_S,
            &[t],
            times.clone(),
            Some("s"),
        )?;
        for (p, port) in PORT_NAMES.iter().enumerate() {
            let values: Vec<f64> = reports
                .iter()
                .flat_map(|r| r.ports[p].species.iter().map(|x| x.fraction))
                .collect();
            let path = schema::transient_fraction(port);
            writer.dataset_f64(&path, &[t, sp], values, None)?;
            writer.attr_strings(&path, "names", &names)?;
        }
    }
    writer.finish()
}

fn channel_outcome(
    setup: &ChannelSetup,
    channel: &Channel,
    grid: &ChannelGrid,
    report: &SpeciesReport,
    tracer_data: Option<&TracerData>,
    cuts: [f64; 2],
) -> ChannelOutcome {
    let config = channel.config();
    let named = |values: &[f64]| -> NamedValues {
        Named(
            report
                .species
                .iter()
                .cloned()
                .zip(values.iter().copied())
                .collect(),
        )
    };
    let roles = &setup.sample.roles;
    let present = |f: &dyn Fn(&str) -> bool| report.species.iter().any(|s| f(s));
    let has_red = present(&|s| roles.is_red_cell(s));
    let has_platelets = present(&|s| roles.is_platelet(s));
    let has_white = present(&|s| roles.is_white(s));
    let has_mnc = report.index(LYMPHOCYTE).is_some() || report.index(MONOCYTE).is_some();
    let ports = PORT_NAMES
        .iter()
        .zip(&report.ports)
        .map(|(name, p)| {
            (
                name.to_string(),
                PortSummary {
                    flow_ml_min: units::m3_per_s_to_ml_per_min(p.flow),
                    hematocrit: has_red.then_some(p.hematocrit),
                    species: Named(
                        report
                            .species
                            .iter()
                            .zip(&p.species)
                            .map(|(n, x)| {
                                (
                                    n.clone(),
                                    PortSpeciesSummary {
                                        fraction: x.fraction,
                                        per_ul: x.per_ul,
                                    },
                                )
                            })
                            .collect(),
                    ),
                },
            )
        })
        .collect();
    let mut table = Vec::new();
    for (k, sp) in setup.sample.species.iter().enumerate() {
        let mut s = ChannelSpecies {
            count: 0,
            per_ul: sp.per_ul,
            volume_fraction: sp.volume_fraction,
            pelleted_fraction: None,
            radii: None,
            tracer_port_fractions: None,
        };
        if let Some((tracers, fates, _)) = tracer_data {
            let mine: Vec<usize> = (0..tracers.len())
                .filter(|&i| usize::from(tracers[i].species) == k)
                .collect();
            s.count = mine.len();
            if !mine.is_empty() {
                s.radii =
                    RadialExtent::of(mine.iter().map(|&i| grid.radius_of_xi(fates[i].exit_xi)));
                s.pelleted_fraction = Some(
                    mine.iter()
                        .filter(|&&i| fates[i].reached_outer_wall)
                        .count() as f64
                        / mine.len() as f64,
                );
                let mut f = [0.0; 3];
                for &i in &mine {
                    f[port_index(fates[i].port)] += 1.0 / mine.len() as f64;
                }
                s.tracer_port_fractions = Some(f);
            }
        }
        table.push((sp.species.name.clone(), s));
    }
    let (solver, duration) = match &setup.solver {
        ChannelSolver::Steady => ("steady", config.residence_time()),
        ChannelSolver::Transient { timeline, .. } => ("transient", timeline.duration),
    };
    ChannelOutcome {
        model: "hindered",
        geometry: "channel",
        duration_s: duration,
        species: Named(table),
        ports: Named(ports),
        collection_efficiency: named(&report.collection_efficiency),
        purity: Purity {
            all_cells: named(&report.purity_all_cells),
            white_cells: has_white.then(|| named(&report.purity_white_cells)),
        },
        platelet_loss: has_platelets.then_some(report.platelet_loss),
        mononuclear_collection_efficiency: has_mnc
            .then(|| report.group_collection_efficiency(&[LYMPHOCYTE, MONOCYTE])),
        inlet_hematocrit: has_red.then_some(report.inlet_hematocrit),
        flow_profile: config.profile.key(),
        consolidation: config.consolidation.is_some(),
        residence_time_s: config.residence_time(),
        port_split_radius_m: cuts,
        solver,
        interface_control: setup.channel.interface.is_some(),
        collect_hematocrit_setpoint: setup.channel.collect_hematocrit,
        balance_residual: report.balance_residual.iter().copied().fold(0.0, f64::max),
    }
}
