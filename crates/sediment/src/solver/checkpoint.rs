//! The particle system's checkpoint: its evolving state, saved and restored by the solver
//! itself (see [`buffycoat_stepper::Checkpoint`]).

use super::Sedimentation;
use buffycoat_stepper::{Checkpoint, StateError, StateReader, StateWriter};

impl Checkpoint for Sedimentation {
    /// Saves positions, velocities, statuses, the cached overdamped multipliers and their key,
    /// the inertial per-cell step sizes, the step count and the running statistics. The cell
    /// properties (species, size, density, mobilities) are rebuilt from the set-up.
    fn save_state(&self, out: &mut StateWriter) {
        out.tag("sedimentation");
        let c = &self.cells;
        for v in [&c.x, &c.y, &c.z, &c.vx, &c.vy, &c.vz] {
            out.f64s(v);
        }
        out.u8s(&c.status);
        for v in [&self.mul_cos, &self.mul_sin, &self.mul_z, &self.cell_step] {
            out.f64s(v);
        }
        match self.cache_key {
            Some((a, b)) => {
                out.u64(1);
                out.f64(a);
                out.f64(b);
            }
            None => out.u64(0),
        }
        out.f64(self.dt);
        out.u64(self.steps);
        out.f64(self.totals.max_reynolds);
        out.u64(self.totals.particle_steps);
        out.u64(self.totals.rejected_steps);
        out.u64(self.totals.forced_steps);
    }

    fn restore_state(&mut self, input: &mut StateReader<'_>) -> Result<(), StateError> {
        input.tag("sedimentation")?;
        let c = &mut self.cells;
        for (name, v) in [
            ("x", &mut c.x),
            ("y", &mut c.y),
            ("z", &mut c.z),
            ("vx", &mut c.vx),
            ("vy", &mut c.vy),
            ("vz", &mut c.vz),
        ] {
            input.f64s_into(name, v)?;
        }
        input.u8s_into("status", &mut c.status)?;
        for (name, v) in [
            ("mul_cos", &mut self.mul_cos),
            ("mul_sin", &mut self.mul_sin),
            ("mul_z", &mut self.mul_z),
            ("cell_step", &mut self.cell_step),
        ] {
            input.f64s_into(name, v)?;
        }
        self.cache_key = match input.u64()? {
            0 => None,
            1 => Some((input.f64()?, input.f64()?)),
            k => return Err(StateError(format!("invalid cache flag {k}"))),
        };
        let dt = input.f64()?;
        if dt.to_bits() != self.dt.to_bits() {
            return Err(StateError(format!(
                "step {dt} s saved, this run has {} s",
                self.dt
            )));
        }
        self.steps = input.u64()?;
        self.totals.max_reynolds = input.f64()?;
        self.totals.particle_steps = input.u64()?;
        self.totals.rejected_steps = input.u64()?;
        self.totals.forced_steps = input.u64()?;
        Ok(())
    }
}
