//! The computational grid: the stream-function coordinate ξ across the channel, the
//! residence-time coordinate τ along it, the map ξ → r and the port cuts.

use crate::config::{ChannelConfig, FlowProfile};

/// The three outlet ports, innermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// plasma port (innermost, low-g side)
    Plasma,
    /// collect port (the buffy-coat interface)
    Collect,
    /// red-cell port (outermost, high-g side)
    RedCells,
}

impl Port {
    /// All ports, innermost first (the index order of every `[_; 3]` array of this crate).
    pub const ALL: [Port; 3] = [Port::Plasma, Port::Collect, Port::RedCells];

    /// Index 0, 1, 2 in [`Port::ALL`].
    pub fn index(self) -> usize {
        match self {
            Port::Plasma => 0,
            Port::Collect => 1,
            Port::RedCells => 2,
        }
    }

    /// The key used in outputs: `plasma`, `collect`, `red_cells`.
    pub fn key(self) -> &'static str {
        match self {
            Port::Plasma => "plasma",
            Port::Collect => "collect",
            Port::RedCells => "red_cells",
        }
    }
}

/// Fraction of the volume flux between the inner wall and the point y = η δ of the depth,
/// ξ/δ as a function of η:
/// plug η; laminar 3η² − 2η³ (∫₀^η 6t(1 − t) dt); viscous: the laminar map of the uniform
/// inlet (downstream the map follows the composition, [`crate::StationFlow`]).
pub fn flux_coordinate(profile: FlowProfile, eta: f64) -> f64 {
    match profile {
        FlowProfile::Plug => eta,
        FlowProfile::Laminar | FlowProfile::Viscous => eta * eta * (3.0 - 2.0 * eta),
    }
}

/// Inverse of [`flux_coordinate`]: the depth fraction η = y/δ at flux fraction x = ξ/δ
/// (x clamped to [0, 1]). Laminar: η = ½ − sin(arcsin(1 − 2x)/3) (the trigonometric root of
/// 2η³ − 3η² + x = 0 in [0, 1]), polished by two Newton steps to round-off.
pub fn depth_fraction(profile: FlowProfile, x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    match profile {
        FlowProfile::Plug => x,
        FlowProfile::Laminar | FlowProfile::Viscous => {
            let mut eta = 0.5 - ((1.0 - 2.0 * x).asin() / 3.0).sin();
            for _ in 0..2 {
                let g = eta * eta * (3.0 - 2.0 * eta) - x;
                let dg = 6.0 * eta * (1.0 - eta);
                if dg > 1e-300 {
                    eta -= g / dg;
                }
            }
            eta.clamp(0.0, 1.0)
        }
    }
}

/// The grid of a channel computation (SI).
///
/// - ξ ∈ [0, δ], the stream-function coordinate ξ(r) = (1/w̄)∫_{r₁}^r w dr′: `radial_cells`
///   uniform cells of width Δξ = δ/J. Each carries the same volume flux Q/J.
/// - τ ∈ [0, T], the mean residence time τ = s/w̄, T = L/w̄: `along_cells` uniform steps
///   Δτ = T/K; stations k = 0 … K at s_k = kL/K.
/// - r(ξ) the inverse map (r = r₁ + ξ for plug flow).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelGrid {
    /// velocity profile
    pub profile: FlowProfile,
    /// inner radius r₁ (m)
    pub r_inner: f64,
    /// depth δ (m)
    pub depth: f64,
    /// ξ at the J + 1 faces (m)
    pub xi_faces: Vec<f64>,
    /// ξ at the J cell centres (m)
    pub xi_centres: Vec<f64>,
    /// physical radius at the faces, r(ξ_f) (m)
    pub r_faces: Vec<f64>,
    /// physical radius at the centres, r(ξ_j) (m)
    pub r_centres: Vec<f64>,
    /// physical width of each cell r(ξ_{j+½}) − r(ξ_{j−½}) (m)
    pub cell_width: Vec<f64>,
    /// along-channel position of the K + 1 stations s_k = kL/K (m)
    pub s_stations: Vec<f64>,
    /// residence time of the stations τ_k = s_k/w̄ (s)
    pub tau_stations: Vec<f64>,
    /// Δξ (m)
    pub dxi: f64,
    /// Δτ (s)
    pub dtau: f64,
    /// the port cuts ξ_p = δ Q_p/Q and ξ_c = δ (Q_p + Q_c)/Q (m)
    pub cuts: [f64; 2],
}

impl ChannelGrid {
    /// Physical radius (m) of the flux coordinate ξ (m), linear between the grid's faces.
    pub fn radius_of_xi(&self, xi: f64) -> f64 {
        let (xf, rf) = (&self.xi_faces, &self.r_faces);
        let j = xf.partition_point(|&x| x <= xi).clamp(1, xf.len() - 1);
        let (x0, x1) = (xf[j - 1], xf[j]);
        let w = if x1 > x0 { (xi - x0) / (x1 - x0) } else { 0.0 };
        rf[j - 1] + w * (rf[j] - rf[j - 1])
    }

    /// Outlet radii (m) of the plasma/collect and collect/red-cell cuts.
    pub fn cut_radii(&self) -> [f64; 2] {
        [
            self.radius_of_xi(self.cuts[0]),
            self.radius_of_xi(self.cuts[1]),
        ]
    }

    /// The grid of `config` (assumed validated).
    pub fn new(config: &ChannelConfig) -> Self {
        let j_cells = config.radial_cells;
        let k_cells = config.along_cells;
        let g = &config.geometry;
        let depth = g.depth();
        let dxi = depth / j_cells as f64;
        let xi_faces: Vec<f64> = (0..=j_cells)
            .map(|f| if f == j_cells { depth } else { f as f64 * dxi })
            .collect();
        let xi_centres: Vec<f64> = (0..j_cells).map(|j| (j as f64 + 0.5) * dxi).collect();
        let radius = |xi: f64| g.r_inner + depth * depth_fraction(config.profile, xi / depth);
        let r_faces: Vec<f64> = xi_faces
            .iter()
            .enumerate()
            .map(|(f, &x)| {
                if f == j_cells {
                    g.r_outer
                } else if f == 0 {
                    g.r_inner
                } else {
                    radius(x)
                }
            })
            .collect();
        let r_centres = xi_centres.iter().map(|&x| radius(x)).collect();
        let cell_width = r_faces.windows(2).map(|w| w[1] - w[0]).collect();
        let w_mean = config.mean_velocity();
        let t_res = config.residence_time();
        let s_stations: Vec<f64> = (0..=k_cells)
            .map(|k| g.length * k as f64 / k_cells as f64)
            .collect();
        let tau_stations = (0..=k_cells)
            .map(|k| {
                if k == k_cells {
                    t_res
                } else {
                    s_stations[k] / w_mean
                }
            })
            .collect();
        let q = config.flows.channel_inflow();
        let cut_p = (depth * config.flows.plasma / q).clamp(0.0, depth);
        let cut_c = (depth * (config.flows.plasma + config.flows.collect) / q).clamp(cut_p, depth);
        Self {
            profile: config.profile,
            r_inner: g.r_inner,
            depth,
            xi_faces,
            xi_centres,
            r_faces,
            r_centres,
            cell_width,
            s_stations,
            tau_stations,
            dxi,
            dtau: t_res / k_cells as f64,
            cuts: [cut_p, cut_c],
        }
    }

    /// Radial cells J.
    pub fn radial_cells(&self) -> usize {
        self.xi_centres.len()
    }

    /// Along-channel cells K (there are K + 1 stations).
    pub fn along_cells(&self) -> usize {
        self.s_stations.len() - 1
    }

    /// Physical radius r(ξ) (m) of the flux coordinate `xi` (m), exact map.
    pub fn radius(&self, xi: f64) -> f64 {
        self.r_inner + self.depth * depth_fraction(self.profile, xi / self.depth)
    }

    /// The ξ-interval [a, b] (m) of `port`.
    pub fn port_band(&self, port: Port) -> (f64, f64) {
        match port {
            Port::Plasma => (0.0, self.cuts[0]),
            Port::Collect => (self.cuts[0], self.cuts[1]),
            Port::RedCells => (self.cuts[1], self.depth),
        }
    }

    /// ∫_a^b φ dξ (m) of the piecewise-constant profile `cells` (one value per ξ-cell),
    /// fractional cells integrated exactly.
    pub fn band_integral(&self, cells: &[f64], a: f64, b: f64) -> f64 {
        band_integral(cells, self.dxi, a, b)
    }
}

/// ∫_a^b φ dξ of the piecewise-constant `cells` on the uniform grid [jΔ, (j + 1)Δ], with the
/// overlap of every cell with [a, b] taken exactly. Summed in cell order (deterministic).
pub(crate) fn band_integral(cells: &[f64], dxi: f64, a: f64, b: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    let n = cells.len();
    let first = ((a / dxi).floor().max(0.0) as usize).min(n - 1);
    let mut total = 0.0;
    for (j, &v) in cells.iter().enumerate().skip(first) {
        let lo = j as f64 * dxi;
        if lo >= b {
            break;
        }
        let hi = if j + 1 == n {
            (n as f64 * dxi).max(b)
        } else {
            (j + 1) as f64 * dxi
        };
        let overlap = hi.min(b) - lo.max(a);
        if overlap > 0.0 {
            total += v * overlap;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laminar_map_inverts() {
        for k in 0..=100 {
            let x = k as f64 / 100.0;
            let eta = depth_fraction(FlowProfile::Laminar, x);
            assert!(
                (flux_coordinate(FlowProfile::Laminar, eta) - x).abs() < 1e-15,
                "{x}"
            );
        }
        assert_eq!(depth_fraction(FlowProfile::Plug, 0.3), 0.3);
    }

    #[test]
    fn band_integral_takes_fractional_cells() {
        let cells = [1.0, 2.0, 3.0, 4.0];
        let d = 0.25;
        assert!((band_integral(&cells, d, 0.0, 1.0) - 2.5).abs() < 1e-15);
        // half of cell 1 and a quarter of cell 2
        let got = band_integral(&cells, d, 0.375, 0.5625);
        assert!((got - (2.0 * 0.125 + 3.0 * 0.0625)).abs() < 1e-15, "{got}");
        assert_eq!(band_integral(&cells, d, 0.5, 0.5), 0.0);
        // the three bands add up to the whole
        let parts = band_integral(&cells, d, 0.0, 0.3)
            + band_integral(&cells, d, 0.3, 0.71)
            + band_integral(&cells, d, 0.71, 1.0);
        assert!((parts - 2.5).abs() < 1e-15);
    }
}
