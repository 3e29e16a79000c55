//! The channel as the separator of a procedure: each call builds the classes of the current
//! inlet blood and solves the channel's steady state (with the interface controller if set).

use crate::channel::Channel;
use crate::config::ChannelConfig;
use crate::solution::{CellRoles, InterfaceTarget, PlasmaControl};
use buffycoat_field::classes_from_suspension;
use buffycoat_physics::species::Species;
use buffycoat_procedure::{PortFractions, Separator};
use buffycoat_stepper::Parallel;

/// The continuous-flow channel as a [`Separator`] of a procedure.
#[derive(Debug)]
pub struct ChannelSeparator {
    /// the channel (flows, geometry, numerics)
    pub config: ChannelConfig,
    /// the species of the procedure, in the order of the inlet concentrations
    pub species: Vec<Species>,
    /// classes per species
    pub classes_per_species: usize,
    /// red cells per sedimenting aggregate (1 = single cells)
    pub red_cell_aggregate_cells: f64,
    /// the interface controller's target (`None`: the plasma pump is fixed)
    pub interface: Option<InterfaceTarget>,
    /// the collect-hematocrit set-point (volume fraction in (0, 1); `None`: not controlled);
    /// exclusive with `interface`
    pub collect_hematocrit: Option<f64>,
    /// which species are red cells and platelets
    pub roles: CellRoles,
    /// threads of the channel solves
    pub par: Parallel,
}

impl Separator for ChannelSeparator {
    fn port_fractions(&mut self, inlet_per_m3: &[f64]) -> Result<PortFractions, String> {
        // The channel takes the undiluted blood and adds the anticoagulant itself.
        let dilution = self.config.flows.dilution();
        let components: Vec<(&Species, f64)> = self
            .species
            .iter()
            .zip(inlet_per_m3)
            .map(|(sp, &n)| (sp, n / dilution * sp.mean_volume()))
            .filter(|&(_, phi)| phi > 0.0)
            .collect();
        let classes = classes_from_suspension(
            &components,
            self.classes_per_species,
            &self.roles,
            self.red_cell_aggregate_cells,
        )
        .map_err(|e| e.to_string())?;
        let channel = Channel::new(self.config.clone(), classes).map_err(|e| e.to_string())?;
        let control = PlasmaControl::from_options(self.interface.as_ref(), self.collect_hematocrit)
            .map_err(|e| e.to_string())?;
        let names: Vec<String> = self.species.iter().map(|s| s.name.clone()).collect();
        let sol = channel
            .solve_steady(&self.par)
            .map_err(|e| e.to_string())?
            .with_plasma_control(&control, &names, &self.roles, self.config.flows.collect)
            .map_err(|e| e.to_string())?;
        let report = sol.species_report(&self.roles).map_err(|e| e.to_string())?;
        let ns = self.species.len();
        let mut out = PortFractions {
            collect: vec![0.0; ns],
            plasma: vec![0.0; ns],
            red_cells: vec![1.0; ns],
        };
        for (k, sp) in self.species.iter().enumerate() {
            if let Some(i) = report.index(&sp.name) {
                out.plasma[k] = report.ports[0].species[i].fraction;
                out.collect[k] = report.ports[1].species[i].fraction;
                out.red_cells[k] = report.ports[2].species[i].fraction;
            }
        }
        Ok(out)
    }
}
