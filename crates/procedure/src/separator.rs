//! The separator interface: which share of each species drawn leaves through each port.

/// Fractions of each species' inflow leaving through each port (each species' three fractions
/// add up to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct PortFractions {
    /// to the product bag
    pub collect: Vec<f64>,
    /// plasma port (returned)
    pub plasma: Vec<f64>,
    /// red-cell port (returned)
    pub red_cells: Vec<f64>,
}

/// Anything that turns an inlet composition into port fractions: the continuous-flow channel in
/// practice, a constant table in tests.
pub trait Separator {
    /// Port fractions for an inlet (after anticoagulant dilution) with these number
    /// concentrations per species (1/m³).
    fn port_fractions(&mut self, inlet_per_m3: &[f64]) -> Result<PortFractions, String>;
}

/// A separator whose port fractions do not depend on the inlet (for the washout solution).
#[derive(Debug, Clone, PartialEq)]
pub struct ConstantSeparator(pub PortFractions);

impl Separator for ConstantSeparator {
    fn port_fractions(&mut self, _inlet: &[f64]) -> Result<PortFractions, String> {
        Ok(self.0.clone())
    }
}
