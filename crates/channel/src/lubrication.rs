//! Composition-dependent along-channel flow in the thin-channel (lubrication) approximation
//! (docs/physics.md §10.4).
//!
//! ## Model (SI)
//!
//! In a thin channel (depth δ ≪ radius, δ ≪ length, creeping flow across the depth) the
//! along-channel velocity w(r) at one station obeys
//!
//! ∂/∂r (μ(r) ∂w/∂r) = G,  w(r₁) = w(r₂) = 0,  h ∫_{r₁}^{r₂} w dr = Q,
//!
//! with G = ∂p/∂s the along-channel pressure gradient (Pa/m, one value per station, set by the
//! flux), μ(r) the local suspension viscosity (Pa·s), h the axial height and Q the volume flow
//! (m³/s). Integrating once, the shear stress is linear in r:
//!
//! τ(r) = μ ∂w/∂r = G (r − c),  c = ∫ r/μ dr / ∫ 1/μ dr
//!
//! (c, the radius of zero shear, follows from w vanishing at both walls), and
//! w(r) = G ∫_{r₁}^{r} (r′ − c)/μ(r′) dr′.
//!
//! **Discretisation.** μ is taken constant in each radial cell [r_{j−½}, r_{j+½}] (the cell's
//! viscosity). All integrals are then evaluated in closed form cell by cell — the result is the
//! *exact* solution for the piecewise-constant viscosity, with no truncation error in the
//! velocity, the flux or the stress (a sharp interface on a cell face is represented exactly;
//! one inside a cell is smeared over that cell, an error O(Δr²) in w). Cells may have μ = +∞
//! (a jammed bed): they move rigidly (zero shear); at least one cell must be finite.
//!
//! **Outputs.** Velocity at the faces w_f; the cell-mean velocity; the flux below each face
//! Ψ(r_f) = h ∫_{r₁}^{r_f} w dr (m³/s) — the stream function, whose normalised form
//! ξ = δ Ψ/Q is the flux coordinate of the steady march ([`crate::ChannelGrid`]); the wall-
//! normal shear stress at the faces (continuous); the shear rate γ̇ = |∂w/∂r| at the cell
//! centres and its exact cell mean (γ̇ is discontinuous where μ jumps).
//!
//! Uniform μ gives plane Poiseuille flow, w = 6w̄ y(δ − y)/δ², so ξ(r) reproduces the
//! `laminar` flux coordinate of [`crate::flux_coordinate`] exactly.
//!
//! **Validity.** Thin channel (curvature O(δ/r) neglected, as in the rest of the crate);
//! creeping flow across the depth (Reynolds number w̄δ²/(νL) ≪ 1); the suspension treated as a
//! generalized Newtonian fluid with a local viscosity (non-local effects of cells comparable
//! to the depth ignored); steady; no secondary (Coriolis/Ekman) flow; w not coupled back to
//! the settling (the caller iterates). The solve allocates nothing: the buffers live in
//! [`ViscousProfile`].

use crate::error::{ChannelError, invalid};

/// The along-channel velocity across the depth for a given viscosity profile (see the module
/// documentation), with its own buffers: [`ViscousProfile::solve`] allocates nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct ViscousProfile {
    /// w at the J + 1 faces (m/s); 0 at both walls
    velocity_faces: Vec<f64>,
    /// cell-mean w (m/s)
    velocity_mean: Vec<f64>,
    /// Ψ at the faces, h ∫_{r₁}^{r_f} w dr (m³/s); Ψ(r₂) = Q
    flux_below: Vec<f64>,
    /// τ = G (r_f − c) at the faces (Pa)
    stress_faces: Vec<f64>,
    /// |∂w/∂r| at the cell centres (1/s)
    shear_centres: Vec<f64>,
    /// (1/Δr) ∫_cell |∂w/∂r| dr (1/s)
    shear_mean: Vec<f64>,
    /// 1/μ per cell (1/(Pa·s))
    fluidity: Vec<f64>,
    /// the faces of the last solve (m)
    r_faces: Vec<f64>,
    /// G = ∂p/∂s (Pa/m) of the last solve
    pressure_gradient: f64,
    /// c, radius of zero shear (m)
    zero_shear_radius: f64,
    /// Q of the last solve (m³/s)
    flow: f64,
    /// h of the last solve (m)
    height: f64,
}

impl ViscousProfile {
    /// Buffers for `cells` radial cells (≥ 1).
    pub fn new(cells: usize) -> Self {
        let cells = cells.max(1);
        Self {
            velocity_faces: vec![0.0; cells + 1],
            velocity_mean: vec![0.0; cells],
            flux_below: vec![0.0; cells + 1],
            stress_faces: vec![0.0; cells + 1],
            shear_centres: vec![0.0; cells],
            shear_mean: vec![0.0; cells],
            fluidity: vec![0.0; cells],
            r_faces: vec![0.0; cells + 1],
            pressure_gradient: 0.0,
            zero_shear_radius: 0.0,
            flow: 0.0,
            height: 0.0,
        }
    }

    /// Number of radial cells J.
    pub fn cells(&self) -> usize {
        self.velocity_mean.len()
    }

    /// Solve for the faces `r_faces` (J + 1 increasing radii, m), the cell viscosities
    /// `viscosity` (J values in (0, +∞], Pa·s), the axial height `height` h (m) and the volume
    /// flow `flow` Q (m³/s, any sign; 0 gives w ≡ 0). Allocates nothing.
    ///
    /// # Errors
    /// [`ChannelError`] if the lengths differ from [`cells`](Self::cells), the faces are not
    /// finite and strictly increasing, a viscosity is NaN or ≤ 0, every viscosity is infinite
    /// (no cell can shear), or h or Q is not finite (h must be > 0).
    pub fn solve(
        &mut self,
        r_faces: &[f64],
        viscosity: &[f64],
        height: f64,
        flow: f64,
    ) -> Result<(), ChannelError> {
        let j_cells = self.cells();
        if r_faces.len() != j_cells + 1 || viscosity.len() != j_cells {
            return Err(ChannelError::Inconsistent(format!(
                "viscous profile for {j_cells} cells given {} faces and {} viscosities",
                r_faces.len(),
                viscosity.len()
            )));
        }
        if !(height.is_finite() && height > 0.0) {
            return Err(invalid("geometry.height_m", height, "finite and > 0"));
        }
        if !flow.is_finite() {
            return Err(invalid("channel flow (m^3/s)", flow, "finite"));
        }
        for (f, w) in r_faces.windows(2).enumerate() {
            if !(w[0].is_finite() && w[1].is_finite() && w[1] > w[0]) {
                return Err(ChannelError::Inconsistent(format!(
                    "radial faces must be finite and strictly increasing: face {f} = {}, face {} \
                     = {}",
                    w[0],
                    f + 1,
                    w[1]
                )));
            }
        }
        let mut any_finite = false;
        for (j, (&mu, slot)) in viscosity.iter().zip(&mut self.fluidity).enumerate() {
            if mu.is_nan() || mu <= 0.0 {
                return Err(ChannelError::Inconsistent(format!(
                    "viscosity of radial cell {j} is {mu} Pa s: allowed (0, +inf]"
                )));
            }
            *slot = if mu.is_infinite() { 0.0 } else { 1.0 / mu };
            any_finite |= mu.is_finite();
        }
        if !any_finite {
            return Err(ChannelError::Inconsistent(
                "every radial cell has infinite viscosity: the channel cannot flow".to_owned(),
            ));
        }
        self.r_faces.copy_from_slice(r_faces);
        let r1 = r_faces[0];
        // c = ∫ r/μ / ∫ 1/μ, measured from r₁ for accuracy (y = r − r₁)
        let (mut m0, mut m1) = (0.0, 0.0);
        for (j, &k) in self.fluidity.iter().enumerate() {
            let (a, b) = (r_faces[j] - r1, r_faces[j + 1] - r1);
            m0 += k * (b - a);
            m1 += k * 0.5 * (b - a) * (b + a);
        }
        let c = m1 / m0; // in y
        // unit-gradient (G = 1) velocity and flux, exact per cell
        self.velocity_faces[0] = 0.0;
        self.flux_below[0] = 0.0;
        for j in 0..j_cells {
            let (a, b) = (r_faces[j] - r1, r_faces[j + 1] - r1);
            let k = self.fluidity[j];
            let (pa, pb) = (a - c, b - c);
            let dr = b - a;
            let wa = self.velocity_faces[j];
            // w(y) = w_a + k[(y − c)² − (a − c)²]/2 in the cell
            let wb = wa + 0.5 * k * dr * (pa + pb);
            // ∫_a^b w dy = w_a Δ + (k/2)[((b−c)³ − (a−c)³)/3 − (a−c)² Δ]
            //           = w_a Δ + (k/2) Δ [(pb² + pa pb + pa²)/3 − pa²]
            let integral = wa * dr + 0.5 * k * dr * ((pb * pb + pa * pb + pa * pa) / 3.0 - pa * pa);
            self.velocity_faces[j + 1] = wb;
            self.velocity_mean[j] = integral / dr;
            self.flux_below[j + 1] = self.flux_below[j] + integral;
        }
        // The no-slip condition at r₂ holds by the choice of c up to round-off; impose it.
        self.velocity_faces[j_cells] = 0.0;
        let unit_flux = self.flux_below[j_cells]; // ∫ w dr for G = 1 (< 0)
        let g = flow / (height * unit_flux);
        for v in &mut self.velocity_faces {
            *v *= g;
        }
        for v in &mut self.velocity_mean {
            *v *= g;
        }
        let scale = g * height;
        for v in &mut self.flux_below {
            *v *= scale;
        }
        self.flux_below[j_cells] = flow;
        for (f, &r) in r_faces.iter().enumerate() {
            self.stress_faces[f] = g * (r - r1 - c);
        }
        for j in 0..j_cells {
            let k = self.fluidity[j];
            let (a, b) = (r_faces[j] - r1 - c, r_faces[j + 1] - r1 - c);
            self.shear_centres[j] = (g * k * 0.5 * (a + b)).abs();
            // (1/Δ) ∫_a^b |y| dy, exact also when the cell contains y = 0
            let abs_int = if a >= 0.0 || b <= 0.0 {
                0.5 * (b - a) * (a + b).abs()
            } else {
                0.5 * (a * a + b * b)
            };
            self.shear_mean[j] = (g * k).abs() * abs_int / (b - a);
        }
        self.pressure_gradient = g;
        self.zero_shear_radius = r1 + c;
        self.flow = flow;
        self.height = height;
        Ok(())
    }

    /// Along-channel velocity at the faces (m/s), J + 1 values.
    pub fn velocity_faces(&self) -> &[f64] {
        &self.velocity_faces
    }

    /// Cell-mean along-channel velocity (m/s), J values.
    pub fn velocity_mean(&self) -> &[f64] {
        &self.velocity_mean
    }

    /// Stream function at the faces Ψ(r_f) = h ∫_{r₁}^{r_f} w dr (m³/s): the volume flow
    /// between the inner wall and r_f; the last value is Q.
    pub fn flux_below(&self) -> &[f64] {
        &self.flux_below
    }

    /// Wall-normal shear stress τ = μ ∂w/∂r at the faces (Pa); continuous across faces.
    pub fn stress_faces(&self) -> &[f64] {
        &self.stress_faces
    }

    /// Shear rate |∂w/∂r| at the cell centres (1/s).
    pub fn shear_rate_centres(&self) -> &[f64] {
        &self.shear_centres
    }

    /// Cell mean of the shear rate, (1/Δr) ∫_cell |∂w/∂r| dr (1/s).
    pub fn shear_rate_mean(&self) -> &[f64] {
        &self.shear_mean
    }

    /// Pressure gradient G = ∂p/∂s (Pa/m) of the last solve (negative for Q > 0).
    pub fn pressure_gradient(&self) -> f64 {
        self.pressure_gradient
    }

    /// Radius of zero shear c (m), where the velocity is largest.
    pub fn zero_shear_radius(&self) -> f64 {
        self.zero_shear_radius
    }

    /// The flux coordinate ξ = δ Ψ/Q of `face` (m) (ξ = 0 at r₁, δ at r₂); for Q = 0 the
    /// depth coordinate r − r₁ is returned (no flow, no stream tubes).
    pub fn xi_face(&self, face: usize) -> f64 {
        let depth = self.r_faces[self.cells()] - self.r_faces[0];
        if self.flow == 0.0 {
            return self.r_faces[face] - self.r_faces[0];
        }
        depth * self.flux_below[face] / self.flow
    }

    /// Along-channel velocity w(r) (m/s) at radius `r` in [r₁, r₂] (clamped), exact for the
    /// piecewise-constant viscosity: quadratic within each cell.
    pub fn velocity_at(&self, r: f64) -> f64 {
        let (j, a) = self.locate(r);
        let r1 = self.r_faces[0];
        let c = self.zero_shear_radius_y();
        let (pa, p) = (self.r_faces[j] - r1 - c, a - r1 - c);
        self.velocity_faces[j] + 0.5 * self.pressure_gradient * self.fluidity[j] * (p * p - pa * pa)
    }

    /// Stream function Ψ(r) (m³/s) at radius `r` in [r₁, r₂] (clamped), exact (cubic within
    /// each cell); monotone in r for a flow of one sign.
    pub fn flux_below_at(&self, r: f64) -> f64 {
        let (j, y) = self.locate(r);
        let r1 = self.r_faces[0];
        let c = self.zero_shear_radius_y();
        let (pa, pr) = (self.r_faces[j] - r1 - c, y - r1 - c);
        let d = y - self.r_faces[j];
        let k = self.fluidity[j];
        let g = self.pressure_gradient;
        let wa = self.velocity_faces[j];
        self.flux_below[j]
            + self.height
                * (wa * d + 0.5 * g * k * d * ((pr * pr + pa * pr + pa * pa) / 3.0 - pa * pa))
    }

    /// The radius (m) below which the volume flow is `psi` (m³/s, clamped to [0, Q] or [Q, 0]):
    /// the inverse of [`flux_below_at`](Self::flux_below_at), found in its cell by Newton's
    /// method safeguarded by bisection to round-off. For Q = 0, r₁.
    pub fn radius_at_flux(&self, psi: f64) -> f64 {
        let n = self.cells();
        let q = self.flow;
        if q == 0.0 {
            return self.r_faces[0];
        }
        let (lo_q, hi_q) = if q > 0.0 { (0.0, q) } else { (q, 0.0) };
        let psi = psi.clamp(lo_q, hi_q);
        // cell whose face fluxes bracket psi (Ψ is monotone along the faces)
        let target = psi / q; // in [0, 1], increasing with r
        let mut j = 0;
        while j + 1 < n && self.flux_below[j + 1] / q < target {
            j += 1;
        }
        let (mut a, mut b) = (self.r_faces[j], self.r_faces[j + 1]);
        let f = |r: f64| self.flux_below_at(r) / q - target;
        let mut r = 0.5 * (a + b);
        for _ in 0..100 {
            let v = f(r);
            if v == 0.0 {
                return r;
            }
            if v < 0.0 {
                a = r;
            } else {
                b = r;
            }
            let slope = self.height * self.velocity_at(r) / q;
            let newton = r - v / slope;
            r = if slope > 0.0 && newton > a && newton < b {
                newton
            } else {
                0.5 * (a + b)
            };
            if b - a <= 4.0 * f64::EPSILON * b.abs() {
                break;
            }
        }
        r
    }

    fn zero_shear_radius_y(&self) -> f64 {
        self.zero_shear_radius - self.r_faces[0]
    }

    /// (cell index, clamped radius)
    fn locate(&self, r: f64) -> (usize, f64) {
        let n = self.cells();
        let r = r.clamp(self.r_faces[0], self.r_faces[n]);
        let mut j = 0;
        while j + 1 < n && self.r_faces[j + 1] < r {
            j += 1;
        }
        (j, r)
    }
}
