//! The hindered field's checkpoint: its evolving state, saved and restored by the solver
//! itself (see [`buffycoat_stepper::Checkpoint`]), including the implicit scheme's state
//! (adaptive step, bed history, the column solver's reused factorisation).

use super::HinderedField;
use buffycoat_stepper::{Checkpoint, StateError, StateReader, StateWriter};

impl Checkpoint for HinderedField {
    /// Saves the volume fractions φ (the whole tiled array), the time, the statistics and the
    /// tracers' radial positions and statuses. Everything else is rebuilt from the set-up or
    /// recomputed at the start of each interval (the tracer mixture).
    fn save_state(&self, out: &mut StateWriter) {
        out.tag("hindered_field");
        out.f64s(&self.phi);
        out.f64(self.time);
        let s = &self.stats;
        out.u64(s.steps);
        out.f64(s.last_dt);
        out.f64(s.min_dt);
        out.f64(s.max_dt);
        out.u64(s.limiters.positivity);
        out.u64(s.limiters.capacity);
        out.f64s(&self.tracers.radial);
        out.u8s(&self.tracers.status);
        match &self.implicit {
            Some(imp) => {
                out.u64(1);
                imp.save_state(out);
            }
            None => out.u64(0),
        }
    }

    fn restore_state(&mut self, input: &mut StateReader<'_>) -> Result<(), StateError> {
        input.tag("hindered_field")?;
        input.f64s_into("volume fractions", &mut self.phi)?;
        self.time = input.f64()?;
        let s = &mut self.stats;
        s.steps = input.u64()?;
        s.last_dt = input.f64()?;
        s.min_dt = input.f64()?;
        s.max_dt = input.f64()?;
        s.limiters.positivity = input.u64()?;
        s.limiters.capacity = input.u64()?;
        input.f64s_into("tracer radii", &mut self.tracers.radial)?;
        input.u8s_into("tracer statuses", &mut self.tracers.status)?;
        match (input.u64()?, self.implicit.as_mut()) {
            (0, None) => Ok(()),
            (1, Some(imp)) => imp.restore_state(input),
            _ => Err(StateError(
                "the checkpoint is of the other time scheme (grid.scheme)".into(),
            )),
        }
    }
}
