//! The steady solution: the 2-D field, port fractions per class and per species, port
//! concentrations and hematocrit, collection efficiency, purity and platelet loss.

use buffycoat_field::Class;
use buffycoat_physics::units::per_m3_to_per_ul;

use crate::channel::Channel;
use crate::config::{ChannelFlows, SteadyMethod};
use crate::error::ChannelError;
use crate::grid::{ChannelGrid, Port};
use buffycoat_field::column::NewtonStats;
use buffycoat_field::kinetics::Kinetics;

pub use buffycoat_physics::species::CellRoles;

/// Which cells the interface controller collects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceTarget {
    /// every white-cell species present ([`CellRoles::is_white`])
    WhiteCells,
    /// these species
    Species(Vec<String>),
}

/// How the plasma pump is set after the steady solve (the port flows only place the cuts at
/// the outlet, so no controller needs a new solve).
#[derive(Debug, Clone, PartialEq)]
pub enum PlasmaControl {
    /// the plasma flow of the configuration
    Fixed,
    /// the interface controller: the plasma flow that centres the collect band on the peak of
    /// the collected target-cell count (its half-maximum centre; docs/physics.md §6.5)
    Interface(InterfaceTarget),
    /// the collect-hematocrit control of continuous MNC collection: the plasma flow that holds
    /// the collect port's hematocrit at this set-point (volume fraction in (0, 1);
    /// docs/physics.md §10.6)
    CollectHematocrit(f64),
}

impl PlasmaControl {
    /// The control from the two optional settings of a front end (`ports.interface_control` /
    /// `interface_target` and `ports.collect_hematocrit`).
    ///
    /// # Errors
    /// [`ChannelError::Inconsistent`] when both are given (they set the same pump);
    /// [`ChannelError::InvalidParameter`] (`ports.collect_hematocrit`) for a set-point that is
    /// not in (0, 1).
    pub fn from_options(
        interface: Option<&InterfaceTarget>,
        collect_hematocrit: Option<f64>,
    ) -> Result<Self, ChannelError> {
        match (interface, collect_hematocrit) {
            (None, None) => Ok(Self::Fixed),
            (Some(t), None) => Ok(Self::Interface(t.clone())),
            (None, Some(h)) => {
                if h.is_finite() && h > 0.0 && h < 1.0 {
                    Ok(Self::CollectHematocrit(h))
                } else {
                    Err(crate::error::invalid(
                        "ports.collect_hematocrit",
                        h,
                        "in (0, 1) (a volume fraction, e.g. 0.04 for 4 %)",
                    ))
                }
            }
            (Some(_), Some(_)) => Err(ChannelError::Inconsistent(
                "ports.collect_hematocrit and ports.interface_control both set the plasma pump; \
                 give one of them"
                    .into(),
            )),
        }
    }
}

/// One species at one port.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortSpecies {
    /// share of the species' inflow (by number) leaving through this port; the three ports
    /// add up to 1
    pub fraction: f64,
    /// number concentration in the port stream (cells/µL); 0 for a port without flow
    pub per_ul: f64,
}

/// One port of the steady solution.
#[derive(Debug, Clone, PartialEq)]
pub struct PortReport {
    /// the port
    pub port: Port,
    /// its flow (m³/s)
    pub flow: f64,
    /// volume fraction of red cells in the port stream (0 for a port without flow)
    pub hematocrit: f64,
    /// per species, in [`SpeciesReport::species`] order
    pub species: Vec<PortSpecies>,
}

/// Port results per species (number-weighted over the classes of each species).
#[derive(Debug, Clone, PartialEq)]
pub struct SpeciesReport {
    /// species names, in order of first appearance among the classes
    pub species: Vec<String>,
    /// number concentration of each species in the patient's blood (cells/µL)
    pub blood_per_ul: Vec<f64>,
    /// number concentration in the channel inflow, blood × r/(r + 1) (cells/µL)
    pub inlet_per_ul: Vec<f64>,
    /// hematocrit of the channel inflow
    pub inlet_hematocrit: f64,
    /// plasma, collect, red-cell port
    pub ports: [PortReport; 3],
    /// collection efficiency of each species = its collect fraction (cells in the product /
    /// cells that entered the channel)
    pub collection_efficiency: Vec<f64>,
    /// share of each species among **all** collected cells, by number (red cells and
    /// platelets included)
    pub purity_all_cells: Vec<f64>,
    /// share of each species among the collected **white** (nucleated) cells, by number
    /// (0 for red cells and platelets; all 0 if no white cell is collected)
    pub purity_white_cells: Vec<f64>,
    /// platelet loss: fraction of the inflowing platelets (all platelet species) that go to
    /// the collect port
    pub platelet_loss: f64,
    /// species balance |Σ_ports fraction − 1| per species
    pub balance_residual: Vec<f64>,
}

impl SpeciesReport {
    /// Index of species `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.species.iter().position(|s| s == name)
    }

    /// Number-weighted collection efficiency of a group of species (e.g. the mononuclear
    /// cells `["lymphocyte", "monocyte"]`); species not present are ignored; 0 if none is.
    pub fn group_collection_efficiency(&self, names: &[&str]) -> f64 {
        let (mut collected, mut total) = (0.0, 0.0);
        for name in names {
            if let Some(k) = self.index(name) {
                collected += self.collection_efficiency[k] * self.inlet_per_ul[k];
                total += self.inlet_per_ul[k];
            }
        }
        if total > 0.0 { collected / total } else { 0.0 }
    }
}

/// Statistics of a steady solve.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SteadyStats {
    /// Newton statistics of the implicit march
    pub newton: NewtonStats,
    /// time steps of the explicit march
    pub explicit_steps: u64,
    /// iterations of the viscous flow map summed over the stations (0 unless viscous)
    pub flow_iterations: u64,
}

/// The steady state of the channel: the field φ_i(s_k, ξ_j) at the along_cells + 1 stations
/// and the port results.
#[derive(Debug, Clone)]
pub struct ChannelSolution {
    grid: ChannelGrid,
    classes: Vec<Class>,
    inlet: Vec<f64>,
    flows: ChannelFlows,
    omega: f64,
    method: SteadyMethod,
    field: Vec<f64>,
    class_ports: Vec<[f64; 3]>,
    stats: SteadyStats,
    pub(crate) kin: Kinetics,
    pub(crate) fluid_density: f64,
    /// viscous flow: the physical radius of the J + 1 ξ-faces at every station ((K + 1) ×
    /// (J + 1)); empty for plug and laminar flow (the grid's map everywhere)
    station_faces: Vec<f64>,
}

impl ChannelSolution {
    pub(crate) fn new(
        channel: &Channel,
        field: Vec<f64>,
        method: SteadyMethod,
        newton: NewtonStats,
        explicit_steps: u64,
    ) -> Self {
        let n = channel.classes.len();
        let stride = channel.grid.radial_cells() * n;
        let k = channel.grid.along_cells();
        let class_ports = class_port_fractions(&channel.grid, &channel.inlet, &field[k * stride..]);
        Self {
            grid: channel.grid.clone(),
            classes: channel.classes.clone(),
            inlet: channel.inlet.clone(),
            flows: channel.config.flows,
            omega: channel.config.omega(),
            method,
            field,
            class_ports,
            stats: SteadyStats {
                newton,
                explicit_steps,
                flow_iterations: 0,
            },
            kin: channel.kin.clone(),
            fluid_density: channel.config.fluid.density,
            station_faces: Vec::new(),
        }
    }

    /// The grid (ξ faces and centres, r faces and centres, stations, port cuts).
    pub fn grid(&self) -> &ChannelGrid {
        &self.grid
    }

    /// The classes (blood volume fractions).
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// Inlet volume fractions φ_in,i.
    pub fn inlet_fractions(&self) -> &[f64] {
        &self.inlet
    }

    /// The pump flows.
    pub fn flows(&self) -> ChannelFlows {
        self.flows
    }

    /// Port flows [plasma, collect, red cells] (m³/s).
    pub fn port_flows(&self) -> [f64; 3] {
        self.flows.port_flows()
    }

    /// Channel inflow Q (m³/s).
    pub fn channel_inflow(&self) -> f64 {
        self.flows.channel_inflow()
    }

    /// The same steady field split with other port flows `plasma` and `collect` (m³/s).
    ///
    /// In this model the port flows only decide where the outflow is cut (ξ_p = δQ_p/Q,
    /// ξ_c = δ(Q_p + Q_c)/Q): the field depends on the channel inflow Q, not on how it is
    /// split, because the along-channel velocity is imposed and the ports sit at the end.
    /// (In a real channel the port flows also shape the flow near the ports.) So a change of
    /// the plasma or collect pump needs no new solve.
    ///
    /// # Errors
    /// [`ChannelError`] for negative flows or plasma + collect above the inflow.
    pub fn with_port_flows(&self, plasma: f64, collect: f64) -> Result<Self, ChannelError> {
        let flows = ChannelFlows {
            plasma,
            collect,
            ..self.flows
        };
        flows.validate()?;
        let mut out = self.clone();
        out.flows = flows;
        let q = flows.channel_inflow();
        let depth = out.grid.depth;
        let cut_p = (depth * plasma / q).clamp(0.0, depth);
        out.grid.cuts = [cut_p, (depth * (plasma + collect) / q).clamp(cut_p, depth)];
        let k = out.grid.along_cells();
        out.class_ports = class_port_fractions(&out.grid, &out.inlet, out.station(k));
        Ok(out)
    }

    /// The plasma flow (m³/s) that, with the collect flow `collect` (m³/s), holds the collect
    /// band on the layer of the cells of the classes `classes` (e.g. the mononuclear-cell
    /// classes): the set-point of the interface controller (docs/physics.md §6.5).
    ///
    /// With the band [a, a + w] (w = δQ_c/Q) the collected number of target cells is
    /// N(a) = Σ_i ∫_a^{a+w} φ_i/V_i dξ, continuous and piecewise linear in a (breakpoints where
    /// a band edge meets a cell face). The controller takes the centre of the window of band
    /// positions that collect at least half of the most, weighted by the excess:
    ///
    /// a* = ∫ a W(a) da / ∫ W(a) da,  W(a) = max(0, N(a) − N_max/2),  a ∈ [0, δ − w],
    ///
    /// integrated exactly on the linear pieces. Unlike the position of the maximum itself
    /// (the previous objective, whose maximum lies on a nearly flat plateau and whose
    /// argmax therefore jumps across packed µm-thin sheets from one operating point to the
    /// next), a* is a continuous function of the exit profile, and it keeps both band edges
    /// about w/2 away from a target layer thinner than the band, i.e. off the packed
    /// platelet and white-cell sheets. If no target cell reaches the outlet (N ≡ 0) the band
    /// sits at a = 0.
    ///
    /// # Errors
    /// [`ChannelError`] for a negative collect flow or one above the inflow.
    pub fn interface_plasma_flow(
        &self,
        classes: &[usize],
        collect: f64,
    ) -> Result<f64, ChannelError> {
        ChannelFlows {
            plasma: 0.0,
            collect,
            ..self.flows
        }
        .validate()?;
        let q = self.flows.channel_inflow();
        let g = &self.grid;
        let n = self.classes.len();
        let j_cells = g.radial_cells();
        let exit = self.station(g.along_cells());
        let number: Vec<f64> = (0..j_cells)
            .map(|j| {
                classes
                    .iter()
                    .map(|&i| exit[j * n + i] / self.classes[i].cell_volume())
                    .sum()
            })
            .collect();
        let width = g.depth * collect / q;
        let top = (g.depth - width).max(0.0);
        Ok(half_maximum_centre(g, &number, width, top) * q / g.depth)
    }

    /// The interface controller (docs/physics.md §6.5): the solution with the plasma pump set to
    /// [`ChannelSolution::interface_plasma_flow`] for the cells of `target` and the collect flow
    /// `collect` (m³/s). The one implementation used by channel runs and procedures alike.
    ///
    /// `run_species` are the species of the run (a named target must be one of them, even if
    /// its current concentration is zero and it has no classes); [`InterfaceTarget::WhiteCells`]
    /// takes every white-cell species (by `roles`) among the solution's classes.
    ///
    /// # Errors
    /// [`ChannelError::Inconsistent`] naming `interface_target` for a target species not in
    /// the run; the errors of [`ChannelSolution::interface_plasma_flow`] and
    /// [`ChannelSolution::with_port_flows`].
    pub fn with_interface_control(
        &self,
        target: &InterfaceTarget,
        run_species: &[String],
        roles: &CellRoles,
        collect: f64,
    ) -> Result<Self, ChannelError> {
        let names: Vec<String> = match target {
            InterfaceTarget::WhiteCells => {
                let mut names: Vec<String> = Vec::new();
                for c in &self.classes {
                    if roles.is_white(&c.species) && !names.contains(&c.species) {
                        names.push(c.species.clone());
                    }
                }
                names
            }
            InterfaceTarget::Species(list) => {
                if let Some(t) = list.iter().find(|t| !run_species.contains(t)) {
                    return Err(ChannelError::Inconsistent(format!(
                        "interface_target: species `{t}` is not in the run (species: {})",
                        run_species.join(", ")
                    )));
                }
                list.clone()
            }
        };
        let idx = self.classes_of(&names);
        let plasma = self.interface_plasma_flow(&idx, collect)?;
        self.with_port_flows(plasma, collect)
    }

    /// The solution with the plasma pump set so that the collect port's hematocrit equals
    /// `setpoint` at the collect flow `collect` (m³/s): [`collect_hematocrit_plasma_flow`](
    /// Self::collect_hematocrit_plasma_flow) then [`with_port_flows`](Self::with_port_flows)
    /// (docs/physics.md §10.6). The one implementation used by channel runs and procedures.
    ///
    /// # Errors
    /// As [`collect_hematocrit_plasma_flow`](Self::collect_hematocrit_plasma_flow) and
    /// [`with_port_flows`](Self::with_port_flows).
    pub fn with_collect_hematocrit(
        &self,
        roles: &CellRoles,
        collect: f64,
        setpoint: f64,
    ) -> Result<Self, ChannelError> {
        let plasma = self.collect_hematocrit_plasma_flow(roles, collect, setpoint)?;
        self.with_port_flows(plasma, collect)
    }

    /// The solution with the plasma pump set by `control` (docs/physics.md §6.5, §10.6): unchanged
    /// for [`PlasmaControl::Fixed`], else [`with_interface_control`](Self::with_interface_control)
    /// or [`with_collect_hematocrit`](Self::with_collect_hematocrit) at the collect flow
    /// `collect` (m³/s). Channel runs and the procedure's separator both call this.
    ///
    /// # Errors
    /// Those of the chosen controller.
    pub fn with_plasma_control(
        self,
        control: &PlasmaControl,
        run_species: &[String],
        roles: &CellRoles,
        collect: f64,
    ) -> Result<Self, ChannelError> {
        match control {
            PlasmaControl::Fixed => Ok(self),
            PlasmaControl::Interface(target) => {
                self.with_interface_control(target, run_species, roles, collect)
            }
            PlasmaControl::CollectHematocrit(h) => self.with_collect_hematocrit(roles, collect, *h),
        }
    }

    /// Viscous flow: stores the face radii of every station and sets the grid's radial map
    /// (faces, centres, widths: what [`ChannelGrid::cut_radii`] uses) to the exit station's.
    pub(crate) fn set_station_faces(&mut self, faces: Vec<f64>, flow_iterations: u64) {
        let nf = self.grid.radial_cells() + 1;
        let exit = &faces[faces.len() - nf..];
        self.grid.r_faces.copy_from_slice(exit);
        for j in 0..nf - 1 {
            self.grid.r_centres[j] = 0.5 * (exit[j] + exit[j + 1]);
            self.grid.cell_width[j] = exit[j + 1] - exit[j];
        }
        self.stats.flow_iterations = flow_iterations;
        self.station_faces = faces;
    }

    /// The physical radius of the ξ-faces at station `k` (m, J + 1 values): the grid's map
    /// for plug and laminar flow, the composition-dependent map for viscous flow.
    pub fn station_faces(&self, k: usize) -> &[f64] {
        let nf = self.grid.radial_cells() + 1;
        if self.station_faces.is_empty() {
            &self.grid.r_faces
        } else {
            &self.station_faces[k * nf..(k + 1) * nf]
        }
    }

    /// Angular velocity ω (rad/s).
    pub fn omega(&self) -> f64 {
        self.omega
    }

    /// The method that produced the solution.
    pub fn method(&self) -> SteadyMethod {
        self.method
    }

    /// Solver statistics.
    pub fn stats(&self) -> SteadyStats {
        self.stats
    }

    /// The field, φ\[k\]\[j\]\[i\] flattened as `(k·J + j)·N + i` (station k = 0 … K, ξ-cell j,
    /// class i).
    pub fn field(&self) -> &[f64] {
        &self.field
    }

    /// φ_i at station `k`, ξ-cell `j`.
    pub fn volume_fraction(&self, k: usize, j: usize, i: usize) -> f64 {
        let n = self.classes.len();
        self.field[(k * self.grid.radial_cells() + j) * n + i]
    }

    /// The profile of station `k` (J × N, cell-major).
    pub fn station(&self, k: usize) -> &[f64] {
        let stride = self.grid.radial_cells() * self.classes.len();
        &self.field[k * stride..(k + 1) * stride]
    }

    /// Port fractions of every class, `[plasma, collect, red_cells]` (volume = number, one
    /// cell size per class).
    pub fn class_port_fractions(&self) -> &[[f64; 3]] {
        &self.class_ports
    }

    /// Sum over the classes in `classes` of φ_i, at every station and cell: a
    /// [(K + 1) × J] field (e.g. the hematocrit with the red-cell classes).
    pub fn summed_field(&self, classes: &[usize]) -> Vec<f64> {
        let n = self.classes.len();
        self.field
            .chunks_exact(n)
            .map(|cell| classes.iter().map(|&i| cell[i]).sum())
            .collect()
    }

    /// Indices of the classes of the species in `names`.
    pub fn classes_of(&self, names: &[String]) -> Vec<usize> {
        self.classes
            .iter()
            .enumerate()
            .filter(|(_, c)| names.contains(&c.species))
            .map(|(i, _)| i)
            .collect()
    }

    /// Port results per species.
    ///
    /// A suspension without red cells (no species of `roles.red_cells` among the classes) has
    /// port hematocrit 0; without platelets the loss is 0 (front ends omit these entries).
    ///
    /// # Errors
    /// None at present (kept for future checks).
    pub fn species_report(&self, roles: &CellRoles) -> Result<SpeciesReport, ChannelError> {
        species_report(
            &self.classes,
            &self.inlet,
            self.flows.dilution(),
            &self.class_ports,
            self.flows.port_flows(),
            self.flows.channel_inflow(),
            roles,
        )
    }

    /// The range [H_min, H_max] of collect-port hematocrits that some plasma flow in
    /// [0, Q − Q_c] achieves with the collect flow `collect` Q_c (m³/s), for the red-cell
    /// species of `roles` (see [`collect_hematocrit_plasma_flow`](Self::collect_hematocrit_plasma_flow)).
    ///
    /// # Errors
    /// As [`collect_hematocrit_plasma_flow`](Self::collect_hematocrit_plasma_flow).
    pub fn collect_hematocrit_range(
        &self,
        roles: &CellRoles,
        collect: f64,
    ) -> Result<(f64, f64), ChannelError> {
        let scan = self.collect_hematocrit_scan(roles, collect)?;
        Ok(scan
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, h)| {
                (lo.min(h), hi.max(h))
            }))
    }

    /// The plasma flow (m³/s) that, with the collect flow `collect` Q_c (m³/s), makes the
    /// collect port's hematocrit equal `setpoint` ∈ (0, 1): what the plasma pump of a
    /// continuous MNC collection does when it holds the collect line at the operator's
    /// hematocrit (docs/physics.md §10.1). Use the result with
    /// [`with_port_flows`](Self::with_port_flows); no new solve is needed (the port flows only
    /// place the cuts, see there).
    ///
    /// With the exit hematocrit profile H(ξ) = Σ_red φ_i (piecewise constant in ξ) and the band
    /// width w = δQ_c/Q, the collect hematocrit at plasma cut a = δQ_p/Q is the band mean
    /// M(a) = (1/w)∫_a^{a+w} H dξ — continuous and piecewise linear in a, with breakpoints
    /// where a or a + w meets a cell face. M is evaluated exactly at every breakpoint in
    /// [0, δ − w]; the range of M is the achievable range; the innermost crossing of the
    /// set-point (smallest plasma flow) is solved exactly on its linear piece. For a settled
    /// channel H increases outward and M is monotone, so the crossing is unique.
    ///
    /// # Errors
    /// [`ChannelError::InvalidParameter`] (`ports.collect_hematocrit`) for a set-point outside
    /// (0, 1) or outside the achievable range — the message names that range and the flows;
    /// [`ChannelError`] for a collect flow that is not > 0 or exceeds the inflow, or when
    /// `roles` names no red-cell species of the classes.
    pub fn collect_hematocrit_plasma_flow(
        &self,
        roles: &CellRoles,
        collect: f64,
        setpoint: f64,
    ) -> Result<f64, ChannelError> {
        if !(setpoint.is_finite() && setpoint > 0.0 && setpoint < 1.0) {
            return Err(crate::error::invalid(
                "ports.collect_hematocrit",
                setpoint,
                "in (0, 1) (a volume fraction, e.g. 0.03 for 3 %)",
            ));
        }
        let scan = self.collect_hematocrit_scan(roles, collect)?;
        let (lo, hi) = scan
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, h)| {
                (lo.min(h), hi.max(h))
            });
        let q = self.flows.channel_inflow();
        let depth = self.grid.depth;
        for pair in scan.windows(2) {
            let ((a0, m0), (a1, m1)) = (pair[0], pair[1]);
            if (m0 - setpoint) * (m1 - setpoint) <= 0.0 {
                let a = if m1 == m0 {
                    a0
                } else {
                    a0 + (setpoint - m0) * (a1 - a0) / (m1 - m0)
                };
                return Ok((a.clamp(a0, a1) * q / depth).max(0.0));
            }
        }
        if let [(a, m)] = scan[..]
            && m == setpoint
        {
            return Ok(a * q / depth);
        }
        let to_ml_min = buffycoat_physics::units::m3_per_s_to_ml_per_min;
        Err(crate::error::invalid(
            "ports.collect_hematocrit",
            setpoint,
            &format!(
                "in [{lo:.4}, {hi:.4}]: the collect hematocrits reachable with plasma flows 0 to \
                 {:.3} mL/min at collect flow {:.3} mL/min (channel inflow {:.3} mL/min)",
                to_ml_min(q - collect),
                to_ml_min(collect),
                to_ml_min(q)
            ),
        ))
    }

    /// (a, M(a)) at every breakpoint of the band mean of the exit hematocrit, a increasing
    /// over [0, δ − w] (see [`collect_hematocrit_plasma_flow`](Self::collect_hematocrit_plasma_flow)).
    fn collect_hematocrit_scan(
        &self,
        roles: &CellRoles,
        collect: f64,
    ) -> Result<Vec<(f64, f64)>, ChannelError> {
        ChannelFlows {
            plasma: 0.0,
            collect,
            ..self.flows
        }
        .validate()?;
        if collect <= 0.0 {
            return Err(crate::error::invalid(
                "ports.collect_ml_min",
                buffycoat_physics::units::m3_per_s_to_ml_per_min(collect),
                "> 0 when ports.collect_hematocrit is given (the collect line must flow)",
            ));
        }
        let red = self.classes_of(&roles.red_cells);
        if red.is_empty() {
            return Err(ChannelError::Inconsistent(format!(
                "ports.collect_hematocrit needs red cells, but none of the red-cell species {:?} \
                 is among the classes' species",
                roles.red_cells
            )));
        }
        let g = &self.grid;
        let n = self.classes.len();
        let exit = self.station(g.along_cells());
        let hct: Vec<f64> = exit
            .chunks_exact(n)
            .map(|cell| red.iter().map(|&i| cell[i]).sum())
            .collect();
        let q = self.flows.channel_inflow();
        let width = (g.depth * collect / q).min(g.depth);
        let top = (g.depth - width).max(0.0);
        let points = band_breakpoints(g, width, top);
        Ok(points
            .into_iter()
            .map(|a| (a, g.band_integral(&hct, a, a + width) / width))
            .collect())
    }
}

/// Per-species port results from per-class port fractions (shared with the transient).
pub(crate) fn species_report(
    classes: &[Class],
    inlet: &[f64],
    dilution: f64,
    class_ports: &[[f64; 3]],
    port_flows: [f64; 3],
    inflow: f64,
    roles: &CellRoles,
) -> Result<SpeciesReport, ChannelError> {
    let mut species: Vec<String> = Vec::new();
    for c in classes {
        if !species.contains(&c.species) {
            species.push(c.species.clone());
        }
    }
    // A suspension without red cells (beads, cells in buffer) is reported like blood: its port
    // hematocrit is 0 (front ends leave the blood-specific entries out, see `roles`).
    let ns = species.len();
    let of = |c: &Class| species.iter().position(|s| *s == c.species).unwrap_or(0);
    // Number concentrations (1/m³) in the inflow per class and per species.
    let number: Vec<f64> = classes
        .iter()
        .zip(inlet)
        .map(|(c, &p)| p / c.cell_volume())
        .collect();
    let mut inlet_number = vec![0.0; ns];
    let mut port_number = vec![[0.0f64; 3]; ns];
    let mut red_volume = [0.0f64; 3];
    let mut inlet_hct = 0.0;
    for (i, c) in classes.iter().enumerate() {
        let s = of(c);
        inlet_number[s] += number[i];
        let red = roles.red_cells.contains(&c.species);
        if red {
            inlet_hct += inlet[i];
        }
        for port in 0..3 {
            port_number[s][port] += number[i] * class_ports[i][port];
            if red {
                red_volume[port] += inlet[i] * class_ports[i][port];
            }
        }
    }
    let fraction = |s: usize, port: usize| {
        if inlet_number[s] > 0.0 {
            port_number[s][port] / inlet_number[s]
        } else {
            0.0
        }
    };
    let ports: [PortReport; 3] = std::array::from_fn(|port| {
        let flow = port_flows[port];
        // concentration in the stream = inflow Q × (share of inflow) / port flow
        let ratio = if flow > 0.0 { inflow / flow } else { 0.0 };
        PortReport {
            port: Port::ALL[port],
            flow,
            hematocrit: red_volume[port] * ratio,
            species: (0..ns)
                .map(|s| PortSpecies {
                    fraction: fraction(s, port),
                    per_ul: per_m3_to_per_ul(port_number[s][port] * ratio),
                })
                .collect(),
        }
    });
    let collection_efficiency: Vec<f64> = (0..ns).map(|s| fraction(s, 1)).collect();
    let collected: Vec<f64> = (0..ns).map(|s| port_number[s][1]).collect();
    let all: f64 = collected.iter().sum();
    let white: f64 = (0..ns)
        .filter(|&s| roles.is_white(&species[s]))
        .map(|s| collected[s])
        .sum();
    let purity_all_cells = collected
        .iter()
        .map(|&c| if all > 0.0 { c / all } else { 0.0 })
        .collect();
    let purity_white_cells = (0..ns)
        .map(|s| {
            if white > 0.0 && roles.is_white(&species[s]) {
                collected[s] / white
            } else {
                0.0
            }
        })
        .collect();
    let (mut plt_in, mut plt_collect) = (0.0, 0.0);
    for s in 0..ns {
        if roles.platelets.contains(&species[s]) {
            plt_in += inlet_number[s];
            plt_collect += port_number[s][1];
        }
    }
    let balance_residual = (0..ns)
        .map(|s| {
            if inlet_number[s] > 0.0 {
                ((0..3).map(|p| fraction(s, p)).sum::<f64>() - 1.0).abs()
            } else {
                0.0
            }
        })
        .collect();
    Ok(SpeciesReport {
        blood_per_ul: inlet_number
            .iter()
            .map(|&x| per_m3_to_per_ul(x / dilution))
            .collect(),
        inlet_per_ul: inlet_number.iter().map(|&x| per_m3_to_per_ul(x)).collect(),
        inlet_hematocrit: inlet_hct,
        species,
        ports,
        collection_efficiency,
        purity_all_cells,
        purity_white_cells,
        platelet_loss: if plt_in > 0.0 {
            plt_collect / plt_in
        } else {
            0.0
        },
        balance_residual,
    })
}

/// Port fractions ∫_band φ_i dξ / (φ_in,i δ) of every class for the exit profile `exit`
/// (J × N), `[plasma, collect, red_cells]`; classes with a zero inlet fraction get 0.
pub(crate) fn class_port_fractions(
    grid: &ChannelGrid,
    inlet: &[f64],
    exit: &[f64],
) -> Vec<[f64; 3]> {
    let n = inlet.len();
    let j_cells = grid.radial_cells();
    let mut profile = vec![0.0; j_cells];
    (0..n)
        .map(|i| {
            for (j, slot) in profile.iter_mut().enumerate() {
                *slot = exit[j * n + i];
            }
            let mut out = [0.0; 3];
            let denom = inlet[i] * grid.depth;
            if denom > 0.0 {
                for port in Port::ALL {
                    let (a, b) = grid.port_band(port);
                    out[port.index()] = grid.band_integral(&profile, a, b) / denom;
                }
            }
            out
        })
        .collect()
}

/// The band positions a ∈ [0, `top`] where a band [a, a + `width`] of flux coordinate has an
/// edge on a face of `g` (plus both ends), sorted and unique: between them every band
/// integral of a piecewise-constant profile is linear in a.
fn band_breakpoints(g: &ChannelGrid, width: f64, top: f64) -> Vec<f64> {
    let mut points: Vec<f64> = vec![0.0, top];
    for &f in &g.xi_faces {
        for a in [f, f - width] {
            if a > 0.0 && a < top {
                points.push(a);
            }
        }
    }
    points.sort_by(f64::total_cmp);
    points.dedup();
    points
}

/// The centre of the half-maximum window of the band integral N(a) = ∫_a^{a+width} `number` dξ
/// over a ∈ [0, top] (see [`ChannelSolution::interface_plasma_flow`]): the W-weighted mean of a
/// with W = max(0, N − N_max/2), exact on the linear pieces of N (breakpoints where a or
/// a + width meets a face). 0 when N ≡ 0.
fn half_maximum_centre(g: &ChannelGrid, number: &[f64], width: f64, top: f64) -> f64 {
    let points = band_breakpoints(g, width, top);
    let values: Vec<f64> = points
        .iter()
        .map(|&a| g.band_integral(number, a, a + width))
        .collect();
    let max = values.iter().copied().fold(0.0, f64::max);
    if max <= 0.0 {
        return 0.0;
    }
    let half = 0.5 * max;
    // the peak holding the (innermost) maximum: the breakpoints between the nearest ones at
    // or below half of it on either side
    let top_k = values.iter().position(|&v| v == max).unwrap_or(0);
    let lo = values[..top_k]
        .iter()
        .rposition(|&v| v <= half)
        .unwrap_or(0);
    let hi = values[top_k..]
        .iter()
        .position(|&v| v <= half)
        .map_or(values.len() - 1, |k| top_k + k);
    // ∫W and ∫aW over [p, q] where W is linear from u ≥ 0 to v ≥ 0
    let piece = |p: f64, q: f64, u: f64, v: f64| -> (f64, f64) {
        let l = q - p;
        (
            0.5 * l * (u + v),
            l / 6.0 * ((2.0 * p + q) * u + (p + 2.0 * q) * v),
        )
    };
    let (mut mass, mut moment) = (0.0, 0.0);
    for k in lo..hi {
        let (p, q) = (points[k], points[k + 1]);
        let (u, v) = (values[k] - half, values[k + 1] - half);
        let (m, x) = if u >= 0.0 && v >= 0.0 {
            piece(p, q, u, v)
        } else if u > 0.0 {
            // W falls to 0 at c inside the piece
            piece(p, p + (q - p) * u / (u - v), u, 0.0)
        } else if v > 0.0 {
            piece(q - (q - p) * v / (v - u), q, 0.0, v)
        } else {
            (0.0, 0.0)
        };
        mass += m;
        moment += x;
    }
    if mass > 0.0 {
        (moment / mass).clamp(0.0, top)
    } else {
        // a single breakpoint at the maximum (N_max/2 excess only there): take it
        points[top_k]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ChannelConfig, ChannelGeometry, FlowProfile};

    /// A 200-cell uniform ξ-grid over the 2 mm depth (10 µm cells).
    fn grid() -> ChannelGrid {
        let mut config = ChannelConfig::new(
            ChannelGeometry {
                r_inner: 0.1,
                r_outer: 0.102,
                height: 0.08,
                length: 0.6,
            },
            ChannelFlows {
                blood_inlet: 1e-6,
                ac_ratio: 12.0,
                plasma: 0.4e-6,
                collect: 0.02e-6,
            },
            FlowProfile::Plug,
            2400.0,
            buffycoat_physics::fluid::Fluid::plasma_37c(),
            buffycoat_physics::hindrance::HindranceLaw::hawksley_vand(0.95).unwrap(),
        );
        config.radial_cells = 200;
        ChannelGrid::new(&config)
    }

    /// A buffy-coat-like target profile, cell averages of: a dense sheet (density 1, one cell
    /// thick) on [sheet, sheet + d], a thin "bed" tail of density 0.025 below it (adding 20 %
    /// of the sheet's count to a band 8 cells wide as the band moves deeper), and a broad
    /// deep maximum fixed at 1.7–1.9 mm of density 0.08 (a band there collects ≈ 0.7 × the
    /// best band on the sheet: a second peak above half the maximum).
    fn profile(g: &ChannelGrid, sheet: f64) -> Vec<f64> {
        let d = g.xi_faces[1];
        let part = |lo: f64, hi: f64, a: f64, b: f64| (hi.min(b) - lo.max(a)).max(0.0);
        (0..g.radial_cells())
            .map(|j| {
                let (lo, hi) = (g.xi_faces[j], g.xi_faces[j + 1]);
                (part(lo, hi, sheet, sheet + d)
                    + 0.025 * part(lo, hi, sheet + d, g.depth)
                    + 0.08 * part(lo, hi, 1.7e-3, 1.9e-3))
                    / d
            })
            .collect()
    }

    /// The controller's band position moves continuously with the profile (a sheet moved in
    /// steps of a tenth of a cell moves the band by the same steps within 10 %; observed
    /// 0.92–1.07, the cell averages of a sheet one cell thick), keeps both band edges at
    /// least a quarter band width off the sheet, and ignores a lower second peak deep in the
    /// bed (the previous "most target cells" argmax sat with its inner edge on the sheet's
    /// upper face, where the tail's small gain balances).
    #[test]
    fn half_maximum_centre_is_continuous_and_off_the_sheet() {
        let g = grid();
        let d = g.xi_faces[1];
        let width = 8.0 * d;
        let top = g.depth - width;
        let mut last: Option<f64> = None;
        for step in 0..=20 {
            let sheet = 0.5 * g.depth + step as f64 * 0.1 * d;
            let a = half_maximum_centre(&g, &profile(&g, sheet), width, top);
            // both edges well away from the sheet [sheet, sheet + d]
            assert!(sheet - a >= 0.25 * width, "{step}: {a} {sheet}");
            assert!(
                a + width - (sheet + d) >= 0.25 * width,
                "{step}: {a} {sheet}"
            );
            if let Some(prev) = last {
                let moved = (a - prev) / (0.1 * d);
                println!("{step}: band moved {moved:.4} × the sheet's shift");
                assert!((moved - 1.0).abs() < 0.1, "{step}: moved {moved}");
            }
            last = Some(a);
        }
        // no target cells: the band at the inner wall
        assert_eq!(
            half_maximum_centre(&g, &vec![0.0; g.radial_cells()], width, top),
            0.0
        );
    }
}
