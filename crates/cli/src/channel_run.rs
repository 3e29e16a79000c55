//! Running a continuous-flow channel scenario: steady (march along the channel) or transient,
//! tracer fates and grade-efficiency curves, port results, HDF5 and the summary.
//!
//! Output layout:
//!
//! | path | content | unit |
//! |---|---|---|
//! | `/fields/channel/radius_m` | `[Nr]` cell centres across the depth (physical radius) | m |
//! | `/fields/channel/flux_coordinate_m` | `[Nr]` the same cells in the stream-function coordinate ξ | m |
//! | `/fields/channel/along_m` | `[K]` stations along the channel | m |
//! | `/fields/channel/volume_fraction` (attrs `names`, `species`) | `[K][Nr][S]` (steady; transient: the final state at the K − 1 column centres) | – |
//! | `/fields/channel/hematocrit` | `[K][Nr]` red-cell volume fraction | – |
//! | `/fields/channel/port_split_radius_m` | `[2]` plasma/collect and collect/red-cell cuts at the outlet | m |
//! | `/observables/ports/<port>/{flow_ml_min, hematocrit}` | scalars | mL/min, – |
//! | `/observables/ports/<port>/{fraction, per_ul}` (attr `names`) | `[Sp]` | –, µL-1 |
//! | `/observables/{collection_efficiency, purity_all_cells, purity_white_cells}` (attr `names`) | `[Sp]` | – |
//! | `/observables/platelet_loss` | scalar | – |
//! | `/observables/grade_efficiency/<species>/{diameter_m, count, probability}` | `[B]`, `[B]`, `[B][3]` (ports plasma, collect, red_cells) | m |
//! | `/observables/grade_efficiency/<species>/{density_kg_m3, count_by_density, probability_by_density}` | the same by density | kg m-3 |
//! | `/tracers/{species, diameter_m, density_kg_m3, entry_radius_m, exit_radius_m, port}` | `[N]` per-cell fates (port 0 plasma, 1 collect, 2 red cells) | |
//! | `/observables/transient/time_s`, `/observables/transient/<port>/fraction` | `[T]`, `[T][Sp]` (transient only) | s |

use crate::field_run::{build_classes, red_cell_aggregate_cells};
use crate::input::LoadedScenario;
use crate::input::scenario::{
    ChannelSettings, ChannelSolver, FillKind, HinderedSettings, MarchMethod, Resolved,
};
use crate::run::{RunError, RunOptions};
use crate::summary::{
    ChannelSummary, NamedValues, PortSummary, RunSummary, SpeciesSummary, SpeciesTable,
    write_json_atomic,
};
use buffycoat_channel::{
    CellRoles, Channel, ChannelConfig, ChannelError, ChannelTracer, Port, SpeciesGrade,
    SpeciesReport, SteadyMethod, TracerFate, TracerSettings, TransientSettings, grade_efficiency,
};
use buffycoat_h5::H5Error;
use buffycoat_physics::population::sample_species;
use buffycoat_physics::species::{PLATELET, RBC};
use buffycoat_physics::units;
use buffycoat_stepper::{DEFAULT_CHUNK_LEN, Parallel};
use std::path::PathBuf;
use std::time::Instant;

const PORT_NAMES: [&str; 3] = ["plasma", "collect", "red_cells"];

/// The solver configuration of a channel scenario.
pub fn channel_config(
    res: &Resolved,
    settings: &HinderedSettings,
    channel: &ChannelSettings,
) -> ChannelConfig {
    let mut config = ChannelConfig::new(
        channel.geometry,
        channel.flows,
        channel.profile,
        channel.rpm,
        res.fluid,
        settings.law,
    );
    config.radial_cells = settings.radial_cells;
    config.along_cells = channel.along_cells;
    config.method = match channel.method {
        MarchMethod::Implicit => SteadyMethod::Implicit,
        MarchMethod::Explicit => SteadyMethod::Explicit,
    };
    config.explicit.cfl = settings.cfl;
    config.explicit.inactive_fraction = settings.inactive_fraction;
    config
}

fn roles() -> CellRoles {
    CellRoles {
        red_cells: vec![RBC.to_string()],
        platelets: vec![PLATELET.to_string()],
    }
}

/// Tracer cells of every species (same property streams as the other models), entering
/// uniformly in flux.
fn tracers(res: &Resolved, aggregate: f64) -> Vec<ChannelTracer> {
    let mut items = Vec::new();
    let mut samples = Vec::new();
    for (k, sp) in res.species.iter().enumerate() {
        sample_species(&sp.species, sp.count, res.seed, k as u64 + 1, &mut samples);
        // Red-cell aggregates settle as one body of `aggregate` cells (same mobility as the
        // field's red-cell classes); the grade curves are binned by the single cell's size.
        let _ = aggregate;
        items.extend(
            samples
                .iter()
                .map(|c| (k as u16, c.diameter, c.density, sp.species.shape_factor)),
        );
    }
    ChannelTracer::uniform_entries(&items)
}

/// Equal-width bins spanning `values` (one bin when they are all equal).
fn edges(values: impl Iterator<Item = f64>, bins: usize) -> Vec<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return vec![0.0, 1.0];
    }
    // Widen a degenerate range (one tracer, or a fixed property) to ±0.1 % of the value.
    let (lo, hi) = if hi - lo > 1e-6 * hi.abs() {
        let pad = 1e-9 * (hi - lo);
        (lo - pad, hi + pad)
    } else {
        (lo * (1.0 - 1e-3), hi * (1.0 + 1e-3))
    };
    (0..=bins)
        .map(|b| lo + (hi - lo) * b as f64 / bins as f64)
        .collect()
}

/// Grade-efficiency curves per species, each binned over its own range.
fn grades(
    tracers: &[ChannelTracer],
    fates: &[TracerFate],
    species: usize,
    bins: usize,
) -> Result<Vec<SpeciesGrade>, ChannelError> {
    let mut out = Vec::new();
    for k in 0..species {
        let idx: Vec<usize> = (0..tracers.len())
            .filter(|&i| usize::from(tracers[i].species) == k)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let t: Vec<ChannelTracer> = idx.iter().map(|&i| tracers[i]).collect();
        let f: Vec<TracerFate> = idx.iter().map(|&i| fates[i]).collect();
        let d = edges(t.iter().map(|c| c.diameter), bins);
        let rho = edges(t.iter().map(|c| c.density), bins);
        out.extend(grade_efficiency(&t, &f, &d, &rho)?);
    }
    Ok(out)
}

/// Physical radius of flux coordinate ξ (linear between the grid's faces).
fn radius_of_xi(xi_faces: &[f64], r_faces: &[f64], xi: f64) -> f64 {
    let j = xi_faces
        .partition_point(|&x| x <= xi)
        .clamp(1, xi_faces.len() - 1);
    let (x0, x1) = (xi_faces[j - 1], xi_faces[j]);
    let w = if x1 > x0 { (xi - x0) / (x1 - x0) } else { 0.0 };
    r_faces[j - 1] + w * (r_faces[j] - r_faces[j - 1])
}

fn port_index(p: Port) -> usize {
    Port::ALL.iter().position(|&q| q == p).unwrap_or(0)
}

/// Runs a channel scenario.
pub fn run_channel(scn: &LoadedScenario, opts: &RunOptions) -> Result<RunSummary, RunError> {
    let start = Instant::now();
    let res = &scn.resolved;
    let settings = res
        .hindered
        .as_ref()
        .expect("a channel run has hindered settings");
    let ch = res
        .channel
        .as_ref()
        .expect("run_channel needs channel settings");
    let par = Parallel::new(opts.threads, DEFAULT_CHUNK_LEN)?;
    let classes = build_classes(res, settings)?;
    let setup = |e: ChannelError| RunError::ChannelSetup {
        scenario: scn.path.clone(),
        source: e,
    };
    let channel = Channel::new(channel_config(res, settings, ch), classes).map_err(setup)?;
    let names: Vec<String> = res.species.iter().map(|s| s.species.name.clone()).collect();
    let tick = Instant::now();
    let (report, field, stations, transient, tracer_data, cuts_xi) = match ch.solver {
        ChannelSolver::Steady => {
            let mut sol = channel.solve_steady(&par)?;
            if let Some(targets) = &ch.interface_target {
                // The interface controller: the plasma flow that collects the most target cells
                // (default targets: every white-cell species present).
                let names: Vec<String> = if targets.is_empty() {
                    res.species
                        .iter()
                        .map(|s| s.species.name.clone())
                        .filter(|n| n != RBC && n != PLATELET)
                        .collect()
                } else {
                    for t in targets {
                        if !res.species.iter().any(|s| &s.species.name == t) {
                            return Err(setup(ChannelError::Inconsistent(format!(
                                "ports.interface_target: species `{t}` is not in the run (species: {})",
                                res.species
                                    .iter()
                                    .map(|s| s.species.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))));
                        }
                    }
                    targets.clone()
                };
                let idx = sol.classes_of(&names);
                let plasma = sol.interface_plasma_flow(&idx, ch.flows.collect)?;
                sol = sol.with_port_flows(plasma, ch.flows.collect)?;
            }
            let report = sol.species_report(&roles())?;
            let t = tracers(res, red_cell_aggregate_cells(res, settings));
            let fates = sol.track(&t, &TracerSettings::default(), &par)?;
            let g = grades(&t, &fates, names.len(), ch.grade_bins)?;
            let stations = sol.grid().s_stations.clone();
            let cuts_xi = sol.grid().cuts;
            (
                report,
                sol.field().to_vec(),
                stations,
                None,
                Some((t, fates, g)),
                cuts_xi,
            )
        }
        ChannelSolver::Transient => {
            let mut ts = TransientSettings::new(res.duration, res.output_interval);
            ts.initial = match ch.initial_fill {
                FillKind::CellFree => buffycoat_channel::InitialFill::CellFree,
                FillKind::InletBlood => buffycoat_channel::InitialFill::InletBlood,
            };
            if !res.rotor.is_constant() {
                ts.rotor = Some(res.rotor.clone());
            }
            let sol = channel.solve_transient(&ts, &par)?;
            let last = sol.times.len() - 1;
            let report = sol.species_report(last, &roles())?;
            let reports: Vec<SpeciesReport> = (0..sol.times.len())
                .map(|m| sol.species_report(m, &roles()))
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
                channel.grid().cuts,
            )
        }
    };
    let advance = tick.elapsed().as_secs_f64();
    let grid = channel.grid();
    let cuts = [
        radius_of_xi(&grid.xi_faces, &grid.r_faces, cuts_xi[0]),
        radius_of_xi(&grid.xi_faces, &grid.r_faces, cuts_xi[1]),
    ];
    let output_path = match &opts.output {
        Some(path) => Some(write_output(
            path,
            scn,
            &channel,
            &report,
            &field,
            &stations,
            cuts,
            transient.as_ref(),
            tracer_data.as_ref(),
        )?),
        None => None,
    };
    let summary = channel_summary(
        scn,
        &channel,
        &report,
        tracer_data.as_ref(),
        cuts,
        &par,
        start,
        advance,
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

type TracerData = (Vec<ChannelTracer>, Vec<TracerFate>, Vec<SpeciesGrade>);

#[allow(clippy::too_many_arguments)]
fn write_output(
    path: &std::path::Path,
    scn: &LoadedScenario,
    channel: &Channel,
    report: &SpeciesReport,
    field: &[f64],
    stations: &[f64],
    cuts: [f64; 2],
    transient: Option<&(Vec<f64>, Vec<SpeciesReport>)>,
    tracer_data: Option<&TracerData>,
) -> Result<PathBuf, H5Error> {
    let writer = crate::output::create_writer(path, scn)?;
    writer.h5md_header("buffycoat developers", "buffycoat", crate::VERSION)?;
    crate::output::write_parameters(&writer, scn)?;
    let grid = channel.grid();
    let classes = channel.classes();
    let (nr, s, k) = (grid.r_centres.len(), classes.len(), stations.len());
    writer.dataset_f64(
        "/fields/channel/radius_m",
        &[nr],
        grid.r_centres.clone(),
        Some("m"),
    )?;
    writer.dataset_f64(
        "/fields/channel/flux_coordinate_m",
        &[nr],
        grid.xi_centres.clone(),
        Some("m"),
    )?;
    writer.dataset_f64(
        "/fields/channel/along_m",
        &[k],
        stations.to_vec(),
        Some("m"),
    )?;
    writer.dataset_f64(
        "/fields/channel/volume_fraction",
        &[k, nr, s],
        field.to_vec(),
        None,
    )?;
    writer.attr_strings(
        "/fields/channel/volume_fraction",
        "names",
        &classes.iter().map(|c| c.label.clone()).collect::<Vec<_>>(),
    )?;
    writer.attr_strings(
        "/fields/channel/volume_fraction",
        "species",
        &classes
            .iter()
            .map(|c| c.species.clone())
            .collect::<Vec<_>>(),
    )?;
    let red: Vec<usize> = classes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.species == RBC)
        .map(|(i, _)| i)
        .collect();
    let hematocrit: Vec<f64> = field
        .chunks_exact(s)
        .map(|cell| red.iter().map(|&i| cell[i]).sum())
        .collect();
    writer.dataset_f64("/fields/channel/hematocrit", &[k, nr], hematocrit, None)?;
    writer.dataset_f64(
        "/fields/channel/port_split_radius_m",
        &[2],
        cuts.to_vec(),
        Some("m"),
    )?;
    let names = report.species.clone();
    let sp = names.len();
    for (p, port) in report.ports.iter().enumerate() {
        let g = format!("/observables/ports/{}", PORT_NAMES[p]);
        writer.dataset_f64(
            &format!("{g}/flow_ml_min"),
            &[],
            vec![units::m3_per_s_to_ml_per_min(port.flow)],
            Some("mL min-1"),
        )?;
        writer.dataset_f64(&format!("{g}/hematocrit"), &[], vec![port.hematocrit], None)?;
        writer.dataset_f64(
            &format!("{g}/fraction"),
            &[sp],
            port.species.iter().map(|x| x.fraction).collect(),
            None,
        )?;
        writer.dataset_f64(
            &format!("{g}/per_ul"),
            &[sp],
            port.species.iter().map(|x| x.per_ul).collect(),
            Some("uL-1"),
        )?;
        writer.attr_strings(&g, "names", &names)?;
    }
    for (name, values) in [
        ("collection_efficiency", &report.collection_efficiency),
        ("purity_all_cells", &report.purity_all_cells),
        ("purity_white_cells", &report.purity_white_cells),
    ] {
        let path = format!("/observables/{name}");
        writer.dataset_f64(&path, &[sp], values.clone(), None)?;
        writer.attr_strings(&path, "names", &names)?;
    }
    writer.dataset_f64(
        "/observables/platelet_loss",
        &[],
        vec![report.platelet_loss],
        None,
    )?;
    if let Some((tracers, fates, grades)) = tracer_data {
        let species_names: Vec<String> = scn
            .resolved
            .species
            .iter()
            .map(|s| s.species.name.clone())
            .collect();
        for g in grades {
            let base = format!(
                "/observables/grade_efficiency/{}",
                species_names[usize::from(g.species)]
            );
            for (table, dq, unit, count, prob) in [
                (&g.by_diameter, "diameter_m", "m", "count", "probability"),
                (
                    &g.by_density,
                    "density_kg_m3",
                    "kg m-3",
                    "count_by_density",
                    "probability_by_density",
                ),
            ] {
                let b = table.counts.len();
                let centres: Vec<f64> = table
                    .edges
                    .windows(2)
                    .map(|w| 0.5 * (w[0] + w[1]))
                    .collect();
                writer.dataset_f64(&format!("{base}/{dq}"), &[b], centres, Some(unit))?;
                writer.dataset_i64(
                    &format!("{base}/{count}"),
                    &[b],
                    table.counts.iter().map(|&c| c as i64).collect(),
                    None,
                )?;
                writer.dataset_f64(
                    &format!("{base}/{prob}"),
                    &[b, 3],
                    table.probability.iter().flatten().copied().collect(),
                    None,
                )?;
            }
        }
        let n = tracers.len();
        let entry: Vec<f64> = tracers
            .iter()
            .map(|t| radius_of_xi(&grid.xi_faces, &grid.r_faces, t.entry * grid.depth))
            .collect();
        let exit: Vec<f64> = fates
            .iter()
            .map(|f| radius_of_xi(&grid.xi_faces, &grid.r_faces, f.exit_xi))
            .collect();
        writer.dataset_i32(
            "/tracers/species",
            &[n],
            tracers.iter().map(|t| i32::from(t.species)).collect(),
            None,
        )?;
        writer.attr_strings("/tracers/species", "names", &species_names)?;
        writer.dataset_f64(
            "/tracers/diameter_m",
            &[n],
            tracers.iter().map(|t| t.diameter).collect(),
            Some("m"),
        )?;
        writer.dataset_f64(
            "/tracers/density_kg_m3",
            &[n],
            tracers.iter().map(|t| t.density).collect(),
            Some("kg m-3"),
        )?;
        writer.dataset_f64("/tracers/entry_radius_m", &[n], entry, Some("m"))?;
        writer.dataset_f64("/tracers/exit_radius_m", &[n], exit, Some("m"))?;
        writer.dataset_i32(
            "/tracers/port",
            &[n],
            fates.iter().map(|f| port_index(f.port) as i32).collect(),
            None,
        )?;
        writer.attr_string(
            "/tracers/port",
            "legend",
            "0 plasma, 1 collect, 2 red cells",
        )?;
    }
    if let Some((times, reports)) = transient {
        let t = times.len();
        writer.dataset_f64(
            "/observables/transient/time_s",
            &[t],
            times.clone(),
            Some("s"),
        )?;
        for (p, port) in PORT_NAMES.iter().enumerate() {
            let values: Vec<f64> = reports
                .iter()
                .flat_map(|r| r.ports[p].species.iter().map(|x| x.fraction))
                .collect();
            let path = format!("/observables/transient/{port}/fraction");
            writer.dataset_f64(&path, &[t, sp], values, None)?;
            writer.attr_strings(&path, "names", &names)?;
        }
    }
    writer.finish()
}

#[allow(clippy::too_many_arguments)]
fn channel_summary(
    scn: &LoadedScenario,
    channel: &Channel,
    report: &SpeciesReport,
    tracer_data: Option<&TracerData>,
    cuts: [f64; 2],
    par: &Parallel,
    start: Instant,
    advance: f64,
    output: Option<PathBuf>,
) -> RunSummary {
    let res = &scn.resolved;
    let ch = res.channel.as_ref().expect("channel settings");
    let config = channel.config();
    let named = |values: &[f64]| {
        NamedValues(
            report
                .species
                .iter()
                .cloned()
                .zip(values.iter().copied())
                .collect(),
        )
    };
    let ports = PORT_NAMES
        .iter()
        .zip(&report.ports)
        .map(|(name, p)| {
            (
                name.to_string(),
                PortSummary {
                    flow_ml_min: units::m3_per_s_to_ml_per_min(p.flow),
                    hematocrit: p.hematocrit,
                    species: report
                        .species
                        .iter()
                        .zip(&p.species)
                        .map(|(n, x)| (n.clone(), (x.fraction, x.per_ul)))
                        .collect(),
                },
            )
        })
        .collect();
    let mut table = Vec::new();
    for (k, sp) in res.species.iter().enumerate() {
        let mut s = SpeciesSummary::from_census(
            &buffycoat_sediment::census::SpeciesCensus {
                min_radius: f64::NAN,
                max_radius: f64::NAN,
                mean_radius: f64::NAN,
                ..Default::default()
            },
            sp.per_ul,
            f64::NAN,
        );
        s.cells_represented = None;
        s.volume_fraction = sp.volume_fraction;
        if let Some((tracers, fates, _)) = tracer_data {
            let mine: Vec<usize> = (0..tracers.len())
                .filter(|&i| usize::from(tracers[i].species) == k)
                .collect();
            s.count = mine.len();
            if !mine.is_empty() {
                let grid = channel.grid();
                let radii: Vec<f64> = mine
                    .iter()
                    .map(|&i| radius_of_xi(&grid.xi_faces, &grid.r_faces, fates[i].exit_xi))
                    .collect();
                s.mean_radius_m = radii.iter().sum::<f64>() / radii.len() as f64;
                s.min_radius_m = radii.iter().copied().fold(f64::INFINITY, f64::min);
                s.max_radius_m = radii.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                s.pelleted_fraction = mine
                    .iter()
                    .filter(|&&i| fates[i].reached_outer_wall)
                    .count() as f64
                    / mine.len() as f64;
                let mut f = [0.0; 3];
                for &i in &mine {
                    f[port_index(fates[i].port)] += 1.0 / mine.len() as f64;
                }
                s.tracer_port_fractions = Some(f);
            }
        }
        table.push((sp.species.name.clone(), s));
    }
    let tracer_count = tracer_data.map_or(0, |t| t.0.len() as u64);
    RunSummary {
        program: Default::default(),
        scenario: scn.path.clone(),
        output,
        seed: res.seed,
        threads: par.threads(),
        model: "hindered".into(),
        geometry: "channel".into(),
        duration_s: if ch.solver == ChannelSolver::Transient {
            res.duration
        } else {
            config.residence_time()
        },
        wall_time_s: start.elapsed().as_secs_f64(),
        particle_steps: tracer_count * ch.along_cells as u64,
        particle_steps_per_second: if advance > 0.0 {
            (tracer_count * ch.along_cells as u64) as f64 / advance
        } else {
            0.0
        },
        dt_s: config.residence_time() / ch.along_cells as f64,
        max_particle_reynolds: f64::NAN,
        species: SpeciesTable(table),
        layers: None,
        channel: Some(ChannelSummary {
            ports,
            collection_efficiency: named(&report.collection_efficiency),
            purity: crate::summary::Purity {
                all_cells: named(&report.purity_all_cells),
                white_cells: named(&report.purity_white_cells),
            },
            platelet_loss: report.platelet_loss,
            mononuclear_collection_efficiency: report
                .group_collection_efficiency(&["lymphocyte", "monocyte"]),
            inlet_hematocrit: report.inlet_hematocrit,
            residence_time_s: config.residence_time(),
            port_split_radius_m: cuts,
            interface_control: ch.interface_target.is_some(),
            solver: match ch.solver {
                ChannelSolver::Steady => "steady".into(),
                ChannelSolver::Transient => "transient".into(),
            },
            balance_residual: report.balance_residual.iter().copied().fold(0.0, f64::max),
        }),
        procedure: None,
    }
}
