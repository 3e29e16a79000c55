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

/// Shear rate γ̇ = |∂w/∂r| (1/s) of the imposed along-channel profile at the physical radii
/// `r_faces` (m) of a channel from `r_inner` of depth `depth`, mean velocity `mean_velocity`
/// w̄ (m/s), into `out`: plug 0 (no shear, so no shear-induced diffusion); laminar
/// 6w̄/δ |1 − 2y/δ| (y = r − r₁; plane Poiseuille). A composition-dependent profile supplies
/// its own rates ([`crate::Channel::set_face_shear_rates`]).
pub fn face_shear_rates(
    profile: FlowProfile,
    r_inner: f64,
    depth: f64,
    mean_velocity: f64,
    r_faces: &[f64],
    out: &mut [f64],
) {
    for (g, &r) in out.iter_mut().zip(r_faces) {
        *g = match profile {
            FlowProfile::Plug => 0.0,
            // viscous: the uniform inlet's; the march replaces them station by station with
            // the composition-dependent profile's ([`crate::StationFlow::shear_rate_faces`])
            FlowProfile::Laminar | FlowProfile::Viscous => {
                let eta = ((r - r_inner) / depth).clamp(0.0, 1.0);
                6.0 * mean_velocity / depth * (1.0 - 2.0 * eta).abs()
            }
        };
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
    /// Δξ = δ/J (m): the width of every cell on a uniform grid, the mean width on a refined
    /// one ([`ChannelGrid::refined`])
    pub dxi: f64,
    /// width of each ξ-cell (m; all `dxi` on a uniform grid)
    pub cell_dxi: Vec<f64>,
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

    /// The uniform grid of `config` (assumed validated).
    pub fn new(config: &ChannelConfig) -> Self {
        let j_cells = config.radial_cells;
        let depth = config.geometry.depth();
        let dxi = depth / j_cells as f64;
        let xi_faces: Vec<f64> = (0..=j_cells)
            .map(|f| if f == j_cells { depth } else { f as f64 * dxi })
            .collect();
        let xi_centres: Vec<f64> = (0..j_cells).map(|j| (j as f64 + 0.5) * dxi).collect();
        Self::with_faces(config, xi_faces, xi_centres, vec![dxi; j_cells])
    }

    /// A grid of `config.radial_cells` ξ-cells refined around the flux coordinate `centre`
    /// (m): `config.radial_cells`/2 cells of equal width cover the window
    /// [centre − w, centre + w] (w = `half_width` m, the window shifted inside [0, δ]), the
    /// others are spread uniformly over the rest in proportion to its length (at least one
    /// cell on each side that has length). Piecewise uniform; the finite-volume fluxes stay
    /// conservative and first-order consistent on it.
    pub fn refined(config: &ChannelConfig, centre: f64, half_width: f64) -> Self {
        let j_cells = config.radial_cells;
        let depth = config.geometry.depth();
        let width = (2.0 * half_width).min(depth);
        let lo = (centre - 0.5 * width).clamp(0.0, depth - width);
        let hi = lo + width;
        let inside = j_cells / 2;
        let outside = j_cells - inside;
        let rest = depth - width;
        let (mut below, mut above) = if rest > 0.0 {
            let b = ((outside as f64) * lo / rest).round() as usize;
            (b, outside - b.min(outside))
        } else {
            // the window covers the whole depth (half-width ½): every cell is inside it
            (0, 0)
        };
        if rest > 0.0 {
            if lo > 0.0 && below == 0 {
                below = 1;
                above -= 1;
            }
            if hi < depth && above == 0 {
                above = 1;
                below -= 1;
            }
        }
        let inside = j_cells - below - above;
        let mut xi_faces = Vec::with_capacity(j_cells + 1);
        for f in 0..below {
            xi_faces.push(lo * f as f64 / below as f64);
        }
        for f in 0..inside {
            xi_faces.push(lo + width * f as f64 / inside as f64);
        }
        for f in 0..above {
            xi_faces.push(hi + (depth - hi) * f as f64 / above as f64);
        }
        xi_faces.push(depth);
        let xi_centres: Vec<f64> = xi_faces.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let cell_dxi = xi_faces.windows(2).map(|w| w[1] - w[0]).collect();
        Self::with_faces(config, xi_faces, xi_centres, cell_dxi)
    }

    fn with_faces(
        config: &ChannelConfig,
        xi_faces: Vec<f64>,
        xi_centres: Vec<f64>,
        cell_dxi: Vec<f64>,
    ) -> Self {
        let j_cells = xi_centres.len();
        let k_cells = config.along_cells;
        let g = &config.geometry;
        let depth = g.depth();
        let dxi = depth / j_cells as f64;
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
            cell_dxi,
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
        if b <= a {
            return 0.0;
        }
        // the same cells, bounds and summation order as [`band_integral`] on a uniform grid
        let faces = &self.xi_faces;
        let n = cells.len();
        let first = faces
            .partition_point(|&x| x <= a)
            .saturating_sub(1)
            .min(n - 1);
        let mut total = 0.0;
        for (j, &v) in cells.iter().enumerate().skip(first) {
            let lo = faces[j];
            if lo >= b {
                break;
            }
            let overlap = faces[j + 1].min(b) - lo.max(a);
            if overlap > 0.0 {
                total += v * overlap;
            }
        }
        total
    }

    /// Whether every ξ-cell has the width [`ChannelGrid::dxi`].
    pub fn is_uniform(&self) -> bool {
        self.cell_dxi.iter().all(|&w| w == self.dxi)
    }

    /// The cell j₀ and weight w ∈ [0, 1] of linear interpolation between the centres j₀ and
    /// j₀ + 1 at the flux coordinate `xi` (clamped to the first and last centres).
    pub fn centre_interpolation(&self, xi: f64) -> (usize, f64) {
        let c = &self.xi_centres;
        let j_cells = c.len();
        if j_cells == 1 || xi <= c[0] {
            return (0, 0.0);
        }
        if self.is_uniform() {
            let y = xi / self.dxi - 0.5;
            let j0 = y.floor() as usize;
            return if j0 + 1 >= j_cells {
                (j_cells - 2, 1.0)
            } else {
                (j0, y - j0 as f64)
            };
        }
        let j = c.partition_point(|&x| x <= xi);
        if j >= j_cells {
            return (j_cells - 2, 1.0);
        }
        let j0 = j - 1;
        (j0, (xi - c[j0]) / (c[j] - c[j0]))
    }

    /// [`Self::centre_interpolation`] (bitwise the same result) for a caller whose `xi` moves
    /// little between calls, e.g. a tracer: `uniform` must be [`Self::is_uniform`] (computed
    /// once by the caller, it is O(J)); on a refined grid the search walks from `hint` (the
    /// previous call's bracket, updated) instead of bisecting.
    #[inline]
    pub fn centre_interpolation_near(
        &self,
        xi: f64,
        uniform: bool,
        hint: &mut usize,
    ) -> (usize, f64) {
        let c = &self.xi_centres;
        let j_cells = c.len();
        if uniform || j_cells == 1 || xi <= c[0] || xi.is_nan() {
            return self.centre_interpolation(xi);
        }
        // the first j with c[j] > xi (c strictly increasing, c[0] < xi): as partition_point
        let mut j = (*hint).clamp(1, j_cells);
        while j > 1 && c[j - 1] > xi {
            j -= 1;
        }
        while j < j_cells && c[j] <= xi {
            j += 1;
        }
        *hint = j;
        if j >= j_cells {
            return (j_cells - 2, 1.0);
        }
        let j0 = j - 1;
        (j0, (xi - c[j0]) / (c[j] - c[j0]))
    }
}

/// ∫_a^b φ dξ of the piecewise-constant `cells` on the uniform grid [jΔ, (j + 1)Δ], with the
/// overlap of every cell with [a, b] taken exactly. Summed in cell order (deterministic).
#[cfg(test)]
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

    /// A 2 mm × 8 cm × 0.6 m laminar channel at 2400 rpm with `radial_cells` across the depth.
    fn laminar_config(radial_cells: usize) -> ChannelConfig {
        let mut config = ChannelConfig::new(
            crate::config::ChannelGeometry {
                r_inner: 0.1,
                r_outer: 0.102,
                height: 0.08,
                length: 0.6,
            },
            crate::config::ChannelFlows {
                blood_inlet: 1e-6,
                ac_ratio: 12.0,
                plasma: 0.4e-6,
                collect: 0.02e-6,
            },
            FlowProfile::Laminar,
            2400.0,
            buffycoat_physics::fluid::Fluid::plasma_37c(),
            buffycoat_physics::hindrance::HindranceLaw::hawksley_vand(0.95).unwrap(),
        );
        config.radial_cells = radial_cells;
        config
    }

    /// Regression (`--set grid.refine_interface=0.5`, the largest allowed half-width, failed
    /// with "radial faces must be finite and strictly increasing: face 25 = 0.102, face 26 =
    /// 0.102"): a window as wide as the depth put half of the cells in an empty remainder.
    /// Now every cell is inside the window and the grid is the uniform one.
    #[test]
    fn a_refinement_window_covering_the_depth_gives_the_uniform_faces() {
        let config = laminar_config(50);
        let uniform = ChannelGrid::new(&config);
        let depth = uniform.depth;
        for centre in [0.0, 0.5 * depth, depth] {
            let g = ChannelGrid::refined(&config, centre, 0.5 * depth);
            assert_eq!(g.radial_cells(), 50);
            for (a, b) in g.xi_faces.iter().zip(&uniform.xi_faces) {
                assert!((a - b).abs() <= 1e-15 * depth, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn refined_grid_is_consistent() {
        let config = laminar_config(40);
        let uniform = ChannelGrid::new(&config);
        assert!(uniform.is_uniform());
        let depth = uniform.depth;
        for centre in [0.0, 0.3 * depth, 0.5 * depth, depth] {
            let g = ChannelGrid::refined(&config, centre, 0.05 * depth);
            assert!(!g.is_uniform());
            assert_eq!(g.radial_cells(), 40);
            assert_eq!(g.xi_faces[0], 0.0);
            assert_eq!(g.xi_faces[40], depth);
            assert!(g.xi_faces.windows(2).all(|w| w[1] > w[0]));
            let widths: f64 = g.cell_dxi.iter().sum();
            assert!((widths / depth - 1.0).abs() < 1e-14);
            // 20 cells of 0.1δ/20 inside the window
            let fine = g
                .cell_dxi
                .iter()
                .filter(|&&w| (w / (0.005 * depth) - 1.0).abs() < 1e-9);
            assert_eq!(fine.count(), 20, "centre {centre}");
            // band integrals of a linear profile are exact up to the cell-centre midpoint rule
            let cells: Vec<f64> = g.xi_centres.iter().map(|&x| 2.0 + x / depth).collect();
            let whole = g.band_integral(&cells, 0.0, depth);
            assert!((whole / (2.5 * depth) - 1.0).abs() < 1e-13, "{whole}");
            let (a, b) = (0.27 * depth, 0.61 * depth);
            let parts = g.band_integral(&cells, 0.0, a)
                + g.band_integral(&cells, a, b)
                + g.band_integral(&cells, b, depth);
            assert!((parts / whole - 1.0).abs() < 1e-14);
            // the hinted search is bitwise the bisection, from any hint
            let mut hint = 0;
            for q in 0..=400 {
                let x = depth * (((q * 37) % 401) as f64 / 400.0);
                for start in [0, 7, g.radial_cells()] {
                    let mut h = start;
                    assert_eq!(
                        g.centre_interpolation_near(x, false, &mut h),
                        g.centre_interpolation(x)
                    );
                }
                assert_eq!(
                    g.centre_interpolation_near(x, false, &mut hint),
                    g.centre_interpolation(x)
                );
            }
            // interpolation between centres reproduces a linear function
            for x in [0.11 * depth, 0.5 * depth, 0.93 * depth] {
                let (j, w) = g.centre_interpolation(x);
                let v = cells[j] + w * (cells[j + 1] - cells[j]);
                assert!((v - (2.0 + x / depth)).abs() < 1e-12, "{x}");
            }
        }
        // the uniform grid's band integral is bitwise the free function's
        let cells: Vec<f64> = (0..40).map(|j| (j as f64 * 0.37).sin().abs()).collect();
        for (a, b) in [(0.0, 0.3), (0.123, 0.456), (0.5, 1.0)] {
            let (a, b) = (a * depth, b * depth);
            assert_eq!(
                uniform.band_integral(&cells, a, b).to_bits(),
                band_integral(&cells, uniform.dxi, a, b).to_bits()
            );
        }
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
