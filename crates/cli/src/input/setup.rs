//! From a checked scenario to the engine's typed [`Setup`]: the only place that knows how the
//! scenario file's sections map onto the models.

use super::LoadedScenario;
use super::scenario::{ChannelSettings, ChannelSolver, FillKind, MarchMethod, Resolved};
use buffycoat_channel::{InitialFill, InterfaceTarget, SteadyMethod};
use buffycoat_engine::setup::{
    ChannelSetup, HinderedSetup, ParticleSetup, ProcedureSetup, Sample, Setup, Timeline,
};
use buffycoat_engine::{ChannelSolver as EngineSolver, Provenance};

impl Resolved {
    /// The engine set-up of this scenario: the model follows from the sections present
    /// (`[patient]`/`[procedure]` → procedure, `geometry.kind = "channel"` → channel,
    /// `model.kind = "hindered"` → hindered field, otherwise particles).
    pub fn to_setup(&self) -> Setup {
        let sample = Sample {
            species: self.species.clone(),
            fluid: self.fluid,
            seed: self.seed,
            roles: self.roles.clone(),
        };
        let timeline = Timeline {
            duration: self.duration,
            output_interval: self.output_interval,
        };
        match (&self.hindered, &self.channel, &self.procedure) {
            (Some(field), Some(channel), Some(procedure)) => Setup::Procedure(ProcedureSetup {
                sample,
                field: field.clone(),
                channel: channel_settings(channel),
                patient: procedure.patient.clone(),
                procedure: procedure.procedure.clone(),
            }),
            (Some(field), Some(channel), None) => Setup::Channel(ChannelSetup {
                sample,
                field: field.clone(),
                channel: channel_settings(channel),
                solver: match channel.solver {
                    ChannelSolver::Steady => EngineSolver::Steady,
                    ChannelSolver::Transient => EngineSolver::Transient {
                        timeline,
                        initial: match channel.initial_fill {
                            FillKind::CellFree => InitialFill::CellFree,
                            FillKind::InletBlood => InitialFill::InletBlood,
                        },
                        rotor: (!self.rotor.is_constant()).then(|| self.rotor.clone()),
                    },
                },
            }),
            (Some(field), None, _) => Setup::Hindered(HinderedSetup {
                sample,
                timeline,
                rotor: self.rotor.clone(),
                geometry: self.geometry,
                gravity: self.forces.gravity,
                field: field.clone(),
                particle_every: self.particle_every,
            }),
            // `resolve` gives a channel and a procedure only with the hindered model.
            (None, _, _) => Setup::Particles(ParticleSetup {
                sample,
                timeline,
                dt: self.dt,
                rotor: self.rotor.clone(),
                geometry: self.geometry,
                forces: self.forces,
                model: self.model,
                tolerances: self.tolerances,
                particle_every: self.particle_every,
                velocities: self.velocities,
            }),
        }
    }
}

fn channel_settings(c: &ChannelSettings) -> buffycoat_engine::ChannelSettings {
    buffycoat_engine::ChannelSettings {
        geometry: c.geometry,
        flows: c.flows,
        profile: c.profile,
        rpm: c.rpm,
        along_cells: c.along_cells,
        method: match c.method {
            MarchMethod::Implicit => SteadyMethod::Implicit,
            MarchMethod::Explicit => SteadyMethod::Explicit,
        },
        grade_bins: c.grade_bins,
        tracer_substeps: c.tracer_substeps,
        interface: c.interface_target.as_ref().map(|t| {
            if t.is_empty() {
                InterfaceTarget::WhiteCells
            } else {
                InterfaceTarget::Species(t.clone())
            }
        }),
        collect_hematocrit: c.collect_hematocrit,
        shear_diffusion: c.shear_diffusion,
        refine_interface: c.refine_interface,
        settling_flux: c.settling_flux,
    }
}

impl LoadedScenario {
    /// The engine set-up.
    pub fn setup(&self) -> Setup {
        self.resolved.to_setup()
    }

    /// Where the set-up came from: the file, its text as written and as run, the overrides.
    pub fn provenance(&self) -> Provenance {
        Provenance {
            scenario_path: self.path.clone(),
            text: self.text.clone(),
            effective_text: self.effective_text.clone(),
            overrides: self.overrides.clone(),
            program: Default::default(),
        }
    }
}

/// The scenario key of a model parameter named in a model crate's error (the field's and the
/// channel's own parameter names), if the scenario sets it.
pub fn scenario_key(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "r_min" => "geometry.r_min_m",
        "r_max" => "geometry.r_max_m",
        "radial_cells" => "grid.radial_cells",
        "along_cells" => "grid.along_cells",
        "numerics.cfl" | "explicit.cfl" => "grid.cfl",
        "numerics.inactive_fraction" | "explicit.inactive_fraction" => "grid.inactive_fraction",
        "rpm" => "rotor.rpm",
        _ => return None,
    })
}

/// `e` with the model crates' parameter names replaced by the scenario keys the user wrote
/// ([`scenario_key`]); parameters the scenario does not set keep their own names.
pub fn name_scenario_keys(e: buffycoat_engine::RunError) -> buffycoat_engine::RunError {
    use buffycoat_channel::ChannelError;
    use buffycoat_engine::RunError;
    use buffycoat_field::FieldError;
    let field = |e: FieldError| match e {
        FieldError::InvalidParameter {
            name,
            value,
            allowed,
        } => FieldError::InvalidParameter {
            name: scenario_key(&name).map_or(name, str::to_owned),
            value,
            allowed,
        },
        other => other,
    };
    let channel = |e: ChannelError| match e {
        ChannelError::InvalidParameter {
            key,
            value,
            allowed,
        } => ChannelError::InvalidParameter {
            key: scenario_key(&key).map_or(key, str::to_owned),
            value,
            allowed,
        },
        ChannelError::Field(f) => ChannelError::Field(field(f)),
        other => other,
    };
    match e {
        RunError::FieldSetup { scenario, source } => RunError::FieldSetup {
            scenario,
            source: field(source),
        },
        RunError::Field(f) => RunError::Field(field(f)),
        RunError::ChannelSetup { scenario, source } => RunError::ChannelSetup {
            scenario,
            source: channel(source),
        },
        RunError::Channel(c) => RunError::Channel(channel(c)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_parameters_map_to_the_scenario_keys() {
        let e = buffycoat_engine::RunError::FieldSetup {
            scenario: "s.toml".into(),
            source: buffycoat_field::FieldError::InvalidParameter {
                name: "numerics.cfl".into(),
                value: 2.0,
                allowed: "0 < cfl <= 1".into(),
            },
        };
        let text = name_scenario_keys(e).to_string();
        assert!(text.contains("grid.cfl"), "{text}");
        assert_eq!(scenario_key("implicit.tolerance"), None);
    }
}
