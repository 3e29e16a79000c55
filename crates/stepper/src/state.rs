//! Checkpoints of a system's state: each solver serialises its own evolving state (a method
//! on the solver, [`Checkpoint`]), so a run can stop and continue bitwise identically.
//!
//! The encoding is a flat little-endian byte stream written with [`StateWriter`] and read
//! back in the same order with [`StateReader`]; every array carries its length, so a state of
//! another set-up (other cell count, other grid) is refused instead of misread.

/// A system whose evolving state can be saved and restored. `restore_state` on a system built
/// from the same set-up as the one that saved the state must leave it bitwise identical to
/// the saved one: continuing then gives bitwise the same results as never stopping.
pub trait Checkpoint {
    /// Appends the evolving state (not what the set-up rebuilds) to `out`.
    fn save_state(&self, out: &mut StateWriter);
    /// Restores the state saved by [`Checkpoint::save_state`].
    ///
    /// # Errors
    /// [`StateError`] if the bytes are truncated or do not fit this system (other sizes).
    fn restore_state(&mut self, input: &mut StateReader<'_>) -> Result<(), StateError>;
}

/// Why a saved state cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("checkpoint state does not fit this run: {0}")]
pub struct StateError(pub String);

/// Writes a state as little-endian bytes.
#[derive(Debug, Default)]
pub struct StateWriter {
    bytes: Vec<u8>,
}

impl StateWriter {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }
    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
    /// A tag naming the next part (checked on reading).
    pub fn tag(&mut self, name: &str) {
        self.u64(name.len() as u64);
        self.bytes.extend_from_slice(name.as_bytes());
    }
    /// One u64.
    pub fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    /// One f64 (its bit pattern).
    pub fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    /// A slice of f64 with its length.
    pub fn f64s(&mut self, v: &[f64]) {
        self.u64(v.len() as u64);
        self.bytes.reserve(8 * v.len());
        for x in v {
            self.bytes.extend_from_slice(&x.to_bits().to_le_bytes());
        }
    }
    /// A slice of usize (as u64) with its length.
    pub fn usizes(&mut self, v: &[usize]) {
        self.u64(v.len() as u64);
        for &x in v {
            self.u64(x as u64);
        }
    }
    /// A slice of u8 with its length.
    pub fn u8s(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.bytes.extend_from_slice(v);
    }
}

/// Reads a state written by [`StateWriter`], in the same order.
#[derive(Debug)]
pub struct StateReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> StateReader<'a> {
    /// Reads `bytes` from the start.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], StateError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| StateError("truncated".into()))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    /// Checks the next tag.
    pub fn tag(&mut self, name: &str) -> Result<(), StateError> {
        let n = self.u64()? as usize;
        let found = self.take(n)?;
        if found != name.as_bytes() {
            return Err(StateError(format!(
                "expected part `{name}`, found `{}`",
                String::from_utf8_lossy(found)
            )));
        }
        Ok(())
    }
    /// One u64.
    pub fn u64(&mut self) -> Result<u64, StateError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    /// One f64.
    pub fn f64(&mut self) -> Result<f64, StateError> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn len(&mut self, what: &str, expected: usize) -> Result<(), StateError> {
        let n = self.u64()?;
        if n != expected as u64 {
            return Err(StateError(format!(
                "{what}: {n} values saved, this run has {expected}"
            )));
        }
        Ok(())
    }
    /// Fills `out` with a saved f64 slice of exactly its length.
    pub fn f64s_into(&mut self, what: &str, out: &mut [f64]) -> Result<(), StateError> {
        self.len(what, out.len())?;
        let b = self.take(8 * out.len())?;
        for (o, c) in out.iter_mut().zip(b.chunks_exact(8)) {
            *o = f64::from_bits(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        Ok(())
    }
    /// Fills `out` with a saved usize slice of exactly its length.
    pub fn usizes_into(&mut self, what: &str, out: &mut [usize]) -> Result<(), StateError> {
        self.len(what, out.len())?;
        for o in out.iter_mut() {
            *o = usize::try_from(self.u64()?)
                .map_err(|_| StateError(format!("{what}: value out of range")))?;
        }
        Ok(())
    }
    /// Replaces the contents of `out` with a saved usize slice of at most `max` values (for
    /// lists whose length is part of the state).
    pub fn usizes_vec(
        &mut self,
        what: &str,
        out: &mut Vec<usize>,
        max: usize,
    ) -> Result<(), StateError> {
        let n = self.u64()?;
        if n > max as u64 {
            return Err(StateError(format!(
                "{what}: {n} values saved, at most {max} fit this run"
            )));
        }
        out.clear();
        for _ in 0..n {
            out.push(
                usize::try_from(self.u64()?)
                    .map_err(|_| StateError(format!("{what}: value out of range")))?,
            );
        }
        Ok(())
    }
    /// Fills `out` with a saved u8 slice of exactly its length.
    pub fn u8s_into(&mut self, what: &str, out: &mut [u8]) -> Result<(), StateError> {
        self.len(what, out.len())?;
        out.copy_from_slice(self.take(out.len())?);
        Ok(())
    }
    /// A saved u8 slice of any length.
    pub fn u8s(&mut self) -> Result<&'a [u8], StateError> {
        let n = usize::try_from(self.u64()?).map_err(|_| StateError("truncated".into()))?;
        self.take(n)
    }
    /// Whether everything has been read.
    pub fn finished(&self) -> bool {
        self.at == self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_wrong_sizes_are_refused() {
        let mut w = StateWriter::new();
        w.tag("demo");
        w.u64(7);
        w.f64(-0.0);
        w.f64s(&[1.5, f64::MIN_POSITIVE / 4.0]);
        w.u8s(&[1, 2, 3]);
        let bytes = w.into_bytes();
        let mut r = StateReader::new(&bytes);
        r.tag("demo").unwrap();
        assert_eq!(r.u64().unwrap(), 7);
        assert_eq!(r.f64().unwrap().to_bits(), (-0.0f64).to_bits());
        let mut f = [0.0; 2];
        r.f64s_into("f", &mut f).unwrap();
        assert_eq!(f, [1.5, f64::MIN_POSITIVE / 4.0]);
        let mut u = [0u8; 3];
        r.u8s_into("u", &mut u).unwrap();
        assert!(r.finished());
        let mut r = StateReader::new(&bytes);
        assert!(r.tag("other").is_err());
        let mut r = StateReader::new(&bytes[..bytes.len() - 1]);
        r.tag("demo").unwrap();
        r.u64().unwrap();
        r.f64().unwrap();
        let mut f3 = [0.0; 3];
        assert!(
            r.f64s_into("f", &mut f3)
                .unwrap_err()
                .0
                .contains("2 values saved")
        );
    }
}
