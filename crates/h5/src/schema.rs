//! The output schema: every HDF5 path buffycoat writes, in one place. The engine's writers
//! and `buffycoat-plot` both use these names, so adding an output field is one change here.
//! Paths are a contract: later versions only add paths.
//!
//! ## Every output file
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
//! ## Hindered runs (in addition to the H5MD header and `/parameters`)
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
//!
//! ## Channel runs
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
//! | `/observables/platelet_loss` | scalar | – |
//! | `/observables/grade_efficiency/<species>/{diameter_m, count, probability}` | `[B]`, `[B]`, `[B][3]` (ports plasma, collect, red_cells) | m |
//! | `/observables/grade_efficiency/<species>/{density_kg_m3, count_by_density, probability_by_density}` | the same by density | kg m-3 |
//! | `/tracers/{species, diameter_m, density_kg_m3, entry_radius_m, exit_radius_m, port}` | `[N]` per-cell fates (port 0 plasma, 1 collect, 2 red cells) | |
//! | `/observables/transient/time_s`, `/observables/transient/<port>/fraction` | `[T]`, `[T][Sp]` (transient only) | s |
//!
//! ## Procedures (`/procedure`, time series over the samples)
//!
//! | path | content | unit |
//! |---|---|---|
//! | `time_s`, `processed_volume_ml` | `[T]` | s, mL |
//! | `patient_per_ul` (attr `names`) | `[T][Sp]` patient concentrations | µL-1 |
//! | `patient_hematocrit` | `[T]` | – |
//! | `product_cells` (attr `names`) | `[T][Sp]` cells in the bag | – |
//! | `product_volume_ml`, `product_hematocrit` | `[T]` | mL, – |
//! | `collect_fraction` (attr `names`) | `[T][Sp]` the channel's collect fraction in force | – |
//! | `citrate_rate_mg_kg_min`, `citrate_dose_mg_kg` | `[T]` | mg kg-1 min-1, mg kg-1 |
//! | `citrate_thresholds_mg_kg_min` | `[2]` | mg kg-1 min-1 |
//! | `ce1`, `ce2` (attr `names`) | `[Sp]` at the end | – |
//!
//! ## Sweep files
//!
//! | path | shape, type | content |
//! |---|---|---|
//! | `/sweep/parameters/<key>` | `[P]` f64, attr `unit` where known | value of each varied key (dataset name = the dotted key) |
//! | `/sweep/metrics/<name>` | `[P]` f64, attr `unit` where known | each metric (NaN: failed, not run, or absent from that point's summary) |
//! | `/sweep/status` | `[P]` i32, attr `legend` | 0 ok, 1 failed, 2 not run |
//! | `/sweep/error` | `[P]` strings | the error of a failed point; empty otherwise |
//! | `/sweep/seed` | `[P]` i64 | the point's `run.seed` |
//! | `/sweep/grid/keys`, `/sweep/grid/specs` | `[D]` strings | varied keys in `--vary` order, SPECs as given |
//! | `/sweep/grid/shape` | `[D]` i64 | values per key; points are row-major, last key fastest |
//! | `/sweep/grid/values/<key>` | `[n_k]` f64 | the values of each key (axis ticks) |
//! | `/sweep/shard` | `[2]` i64 = (index, count), also attrs `index`, `count` | the shard this file covers (`0/1`: all) |
//! | `/sweep/metrics` attrs `naming`, `timing` | strings | the naming rule; the non-deterministic metrics |
//! | `/parameters/{scenario_toml,scenario_path,program_version,git_commit}` | strings | provenance |
//! | `/parameters/seed` | scalar i64 | the scenario's own seed (from which point seeds derive) |
//!

/// `/fields`
pub const FIELDS: &str = "/fields";
/// `/fields/channel`
pub const FIELDS_CHANNEL: &str = "/fields/channel";
/// `/fields/channel/along_m`
pub const FIELDS_CHANNEL_ALONG_M: &str = "/fields/channel/along_m";
/// `/fields/channel/flux_coordinate_m`
pub const FIELDS_CHANNEL_FLUX_COORDINATE_M: &str = "/fields/channel/flux_coordinate_m";
/// `/fields/channel/hematocrit`
pub const FIELDS_CHANNEL_HEMATOCRIT: &str = "/fields/channel/hematocrit";
/// `/fields/channel/port_split_radius_m`
pub const FIELDS_CHANNEL_PORT_SPLIT_RADIUS_M: &str = "/fields/channel/port_split_radius_m";
/// `/fields/channel/radius_m`
pub const FIELDS_CHANNEL_RADIUS_M: &str = "/fields/channel/radius_m";
/// `/fields/channel/volume_fraction`
pub const FIELDS_CHANNEL_VOLUME_FRACTION: &str = "/fields/channel/volume_fraction";
/// `/fields/class_density`
pub const FIELDS_CLASS_DENSITY: &str = "/fields/class_density";
/// `/fields/class_diameter`
pub const FIELDS_CLASS_DIAMETER: &str = "/fields/class_diameter";
/// `/fields/radius_m`
pub const FIELDS_RADIUS_M: &str = "/fields/radius_m";
/// `/fields/volume_fraction`
pub const FIELDS_VOLUME_FRACTION: &str = "/fields/volume_fraction";
/// `/h5md`
pub const H5MD: &str = "/h5md";
/// `/observables`
pub const OBSERVABLES: &str = "/observables";
/// `/observables/collection_efficiency`
pub const OBSERVABLES_COLLECTION_EFFICIENCY: &str = "/observables/collection_efficiency";
/// `/observables/floated_fraction`
pub const OBSERVABLES_FLOATED_FRACTION: &str = "/observables/floated_fraction";
/// `/observables/grade_efficiency`
pub const OBSERVABLES_GRADE_EFFICIENCY: &str = "/observables/grade_efficiency";
/// `/observables/interface_radius`
pub const OBSERVABLES_INTERFACE_RADIUS: &str = "/observables/interface_radius";
/// `/observables/layer_fraction`
pub const OBSERVABLES_LAYER_FRACTION: &str = "/observables/layer_fraction";
/// `/observables/mean_radius`
pub const OBSERVABLES_MEAN_RADIUS: &str = "/observables/mean_radius";
/// `/observables/pelleted_fraction`
pub const OBSERVABLES_PELLETED_FRACTION: &str = "/observables/pelleted_fraction";
/// `/observables/plasma_concentration`
pub const OBSERVABLES_PLASMA_CONCENTRATION: &str = "/observables/plasma_concentration";
/// `/observables/platelet_loss`
pub const OBSERVABLES_PLATELET_LOSS: &str = "/observables/platelet_loss";
/// `/observables/ports`
pub const OBSERVABLES_PORTS: &str = "/observables/ports";
/// `/observables/purity_all_cells`
pub const OBSERVABLES_PURITY_ALL_CELLS: &str = "/observables/purity_all_cells";
/// `/observables/purity_white_cells`
pub const OBSERVABLES_PURITY_WHITE_CELLS: &str = "/observables/purity_white_cells";
/// `/observables/red_layer_hematocrit`
pub const OBSERVABLES_RED_LAYER_HEMATOCRIT: &str = "/observables/red_layer_hematocrit";
/// `/observables/transient`
pub const OBSERVABLES_TRANSIENT: &str = "/observables/transient";
/// `/observables/transient/time_s`
pub const OBSERVABLES_TRANSIENT_TIME_S: &str = "/observables/transient/time_s";
/// `/parameters`
pub const PARAMETERS: &str = "/parameters";
/// `/parameters/effective_toml`
pub const PARAMETERS_EFFECTIVE_TOML: &str = "/parameters/effective_toml";
/// `/parameters/git_commit`
pub const PARAMETERS_GIT_COMMIT: &str = "/parameters/git_commit";
/// `/parameters/overrides`
pub const PARAMETERS_OVERRIDES: &str = "/parameters/overrides";
/// `/parameters/program_version`
pub const PARAMETERS_PROGRAM_VERSION: &str = "/parameters/program_version";
/// `/parameters/scenario_path`
pub const PARAMETERS_SCENARIO_PATH: &str = "/parameters/scenario_path";
/// `/parameters/scenario_toml`
pub const PARAMETERS_SCENARIO_TOML: &str = "/parameters/scenario_toml";
/// `/parameters/seed`
pub const PARAMETERS_SEED: &str = "/parameters/seed";
/// `/particles/cells`
pub const PARTICLES_CELLS: &str = "/particles/cells";
/// `/particles/cells/box`
pub const PARTICLES_CELLS_BOX: &str = "/particles/cells/box";
/// `/particles/cells/density`
pub const PARTICLES_CELLS_DENSITY: &str = "/particles/cells/density";
/// `/particles/cells/diameter`
pub const PARTICLES_CELLS_DIAMETER: &str = "/particles/cells/diameter";
/// `/particles/cells/final_status`
pub const PARTICLES_CELLS_FINAL_STATUS: &str = "/particles/cells/final_status";
/// `/particles/cells/id`
pub const PARTICLES_CELLS_ID: &str = "/particles/cells/id";
/// `/particles/cells/position`
pub const PARTICLES_CELLS_POSITION: &str = "/particles/cells/position";
/// `/particles/cells/species`
pub const PARTICLES_CELLS_SPECIES: &str = "/particles/cells/species";
/// `/particles/cells/velocity`
pub const PARTICLES_CELLS_VELOCITY: &str = "/particles/cells/velocity";
/// `/procedure`
pub const PROCEDURE: &str = "/procedure";
/// `/procedure/ce1`
pub const PROCEDURE_CE1: &str = "/procedure/ce1";
/// `/procedure/ce2`
pub const PROCEDURE_CE2: &str = "/procedure/ce2";
/// `/procedure/citrate_dose_mg_kg`
pub const PROCEDURE_CITRATE_DOSE_MG_KG: &str = "/procedure/citrate_dose_mg_kg";
/// `/procedure/citrate_rate_mg_kg_min`
pub const PROCEDURE_CITRATE_RATE_MG_KG_MIN: &str = "/procedure/citrate_rate_mg_kg_min";
/// `/procedure/citrate_thresholds_mg_kg_min`
pub const PROCEDURE_CITRATE_THRESHOLDS_MG_KG_MIN: &str = "/procedure/citrate_thresholds_mg_kg_min";
/// `/procedure/collect_fraction`
pub const PROCEDURE_COLLECT_FRACTION: &str = "/procedure/collect_fraction";
/// `/procedure/patient_hematocrit`
pub const PROCEDURE_PATIENT_HEMATOCRIT: &str = "/procedure/patient_hematocrit";
/// `/procedure/patient_per_ul`
pub const PROCEDURE_PATIENT_PER_UL: &str = "/procedure/patient_per_ul";
/// `/procedure/processed_volume_ml`
pub const PROCEDURE_PROCESSED_VOLUME_ML: &str = "/procedure/processed_volume_ml";
/// `/procedure/product_cells`
pub const PROCEDURE_PRODUCT_CELLS: &str = "/procedure/product_cells";
/// `/procedure/product_hematocrit`
pub const PROCEDURE_PRODUCT_HEMATOCRIT: &str = "/procedure/product_hematocrit";
/// `/procedure/product_volume_ml`
pub const PROCEDURE_PRODUCT_VOLUME_ML: &str = "/procedure/product_volume_ml";
/// `/procedure/time_s`
pub const PROCEDURE_TIME_S: &str = "/procedure/time_s";
/// `/sweep`
pub const SWEEP: &str = "/sweep";
/// `/sweep/error`
pub const SWEEP_ERROR: &str = "/sweep/error";
/// `/sweep/grid`
pub const SWEEP_GRID: &str = "/sweep/grid";
/// `/sweep/grid/keys`
pub const SWEEP_GRID_KEYS: &str = "/sweep/grid/keys";
/// `/sweep/grid/shape`
pub const SWEEP_GRID_SHAPE: &str = "/sweep/grid/shape";
/// `/sweep/grid/specs`
pub const SWEEP_GRID_SPECS: &str = "/sweep/grid/specs";
/// `/sweep/grid/values`
pub const SWEEP_GRID_VALUES: &str = "/sweep/grid/values";
/// `/sweep/metrics`
pub const SWEEP_METRICS: &str = "/sweep/metrics";
/// `/sweep/parameters`
pub const SWEEP_PARAMETERS: &str = "/sweep/parameters";
/// `/sweep/seed`
pub const SWEEP_SEED: &str = "/sweep/seed";
/// `/sweep/shard`
pub const SWEEP_SHARD: &str = "/sweep/shard";
/// `/sweep/status`
pub const SWEEP_STATUS: &str = "/sweep/status";
/// `/tracers`
pub const TRACERS: &str = "/tracers";
/// `/tracers/density_kg_m3`
pub const TRACERS_DENSITY_KG_M3: &str = "/tracers/density_kg_m3";
/// `/tracers/diameter_m`
pub const TRACERS_DIAMETER_M: &str = "/tracers/diameter_m";
/// `/tracers/entry_radius_m`
pub const TRACERS_ENTRY_RADIUS_M: &str = "/tracers/entry_radius_m";
/// `/tracers/exit_radius_m`
pub const TRACERS_EXIT_RADIUS_M: &str = "/tracers/exit_radius_m";
/// `/tracers/port`
pub const TRACERS_PORT: &str = "/tracers/port";
/// `/tracers/species`
pub const TRACERS_SPECIES: &str = "/tracers/species";

/// The channel's ports in output order (index 0, 1, 2 of every port axis).
pub const PORT_NAMES: [&str; 3] = ["plasma", "collect", "red_cells"];
/// Layers in output order (`/observables/layer_fraction` attr `layers`).
pub const LAYER_NAMES: [&str; 3] = ["plasma", "buffy_coat", "red_cells"];

/// Per-port scalar: port flow (mL/min).
pub const PORT_FLOW_ML_MIN: &str = "flow_ml_min";
/// Per-port scalar: hematocrit of the port stream.
pub const PORT_HEMATOCRIT: &str = "hematocrit";
/// Per-port `[Sp]`: share of each species' inflow.
pub const PORT_FRACTION: &str = "fraction";
/// Per-port `[Sp]`: cells per µL in the port stream.
pub const PORT_PER_UL: &str = "per_ul";

/// `/observables/ports/<port>`
pub fn port_group(port: &str) -> String {
    format!("{OBSERVABLES_PORTS}/{port}")
}

/// `/observables/ports/<port>/<leaf>`
pub fn port_dataset(port: &str, leaf: &str) -> String {
    format!("{OBSERVABLES_PORTS}/{port}/{leaf}")
}

/// Grade curve leaf: bin centres by diameter (m).
pub const GRADE_DIAMETER_M: &str = "diameter_m";
/// Grade curve leaf: tracers per diameter bin.
pub const GRADE_COUNT: &str = "count";
/// Grade curve leaf: `[B][3]` port probabilities per diameter bin.
pub const GRADE_PROBABILITY: &str = "probability";
/// Grade curve leaf: bin centres by density (kg/m³).
pub const GRADE_DENSITY_KG_M3: &str = "density_kg_m3";
/// Grade curve leaf: tracers per density bin.
pub const GRADE_COUNT_BY_DENSITY: &str = "count_by_density";
/// Grade curve leaf: `[B][3]` port probabilities per density bin.
pub const GRADE_PROBABILITY_BY_DENSITY: &str = "probability_by_density";

/// `/observables/grade_efficiency/<species>/<leaf>`
pub fn grade_dataset(species: &str, leaf: &str) -> String {
    format!("{OBSERVABLES_GRADE_EFFICIENCY}/{species}/{leaf}")
}

/// `/observables/transient/<port>/fraction`
pub fn transient_fraction(port: &str) -> String {
    format!("{OBSERVABLES_TRANSIENT}/{port}/{PORT_FRACTION}")
}

/// `/sweep/parameters/<key>`
pub fn sweep_parameter(key: &str) -> String {
    format!("{SWEEP_PARAMETERS}/{key}")
}

/// `/sweep/metrics/<name>`
pub fn sweep_metric(name: &str) -> String {
    format!("{SWEEP_METRICS}/{name}")
}

/// `/sweep/grid/values/<key>`
pub fn sweep_grid_values(key: &str) -> String {
    format!("{SWEEP_GRID_VALUES}/{key}")
}
