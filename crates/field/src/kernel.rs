//! The flux-and-update kernel: one chunk of radial cells at a time, structure-of-arrays
//! inside the chunk so that the class loops run over contiguous cells.
//!
//! Storage is *tiled*: chunk c (cells c·L … c·L + L − 1, L = cells per chunk) owns one block of
//! N·L values, class i of local cell m at `c·N·L + i·L + m`. Every parallel loop writes only its
//! own block (rayon `par_chunks_mut`) and reads neighbours' blocks (halo cells) immutably.
//!
//! Per stage, two passes:
//!
//! - **pass A** (fluxes): MUSCL reconstruction of each φ_i with the generalised minmod limiter,
//!   MLB fluxes at the reconstructed face states, one-sided wave-speed bounds a± from the cell
//!   averages, the Kurganov–Noelle–Petrova central-upwind flux; returns the largest
//!   CFL rate of the chunk;
//! - **pass B** (update): the positivity and capacity limiters (they need Δt) and the
//!   forward-Euler update, combined with the step's initial state as the SSP-RK stage requires.
//!
//! A face's flux depends only on the data around it, never on the chunking, so results are
//! independent of the chunk length and of the thread count.

use buffycoat_physics::hindrance::HindranceLaw;

use crate::config::{FieldGeometry, acceleration};

/// Safety factor on the positivity and capacity caps (keeps the bounds exact under round-off).
pub(crate) const CAP_SAFETY: f64 = 1.0 - 1e-12;

/// Volume fractions below this are set to 0 after each stage (see [`Kernel::pass_b`]).
pub(crate) const FLUSH_BELOW: f64 = 1e-200;

/// Chunked, tiled layout of per-cell, per-class arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// radial cells
    pub cells: usize,
    /// classes
    pub classes: usize,
    /// cells per chunk L
    pub chunk: usize,
    /// number of chunks
    pub chunks: usize,
}

impl Layout {
    pub fn new(cells: usize, classes: usize, chunk: usize) -> Self {
        let chunk = chunk.min(cells).max(1);
        Self {
            cells,
            classes,
            chunk,
            chunks: cells.div_ceil(chunk),
        }
    }

    /// Values per chunk block, N·L.
    #[inline]
    pub fn block(&self) -> usize {
        self.classes * self.chunk
    }

    /// Total storage (padded).
    pub fn storage(&self) -> usize {
        self.block() * self.chunks
    }

    /// Storage index of (class, cell).
    #[inline]
    pub fn index(&self, class: usize, cell: usize) -> usize {
        let c = cell / self.chunk;
        c * self.block() + class * self.chunk + (cell - c * self.chunk)
    }

    /// Cells [c0, c1) of chunk `c`.
    #[inline]
    pub fn range(&self, c: usize) -> (usize, usize) {
        let c0 = c * self.chunk;
        (c0, (c0 + self.chunk).min(self.cells))
    }
}

/// The finite-volume grid: uniform spacing Δr, faces r_f = r_min + fΔr.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    pub geometry: FieldGeometry,
    pub r_min: f64,
    pub r_max: f64,
    pub dr: f64,
    /// face positions (cells + 1)
    pub faces: Vec<f64>,
    /// cell centres
    pub centres: Vec<f64>,
    /// face measure A_f: 1 (tube) or r_f (sector, per radian and unit height)
    pub area: Vec<f64>,
    /// cell measure V_j: Δr (tube) or (r_{j+1}² − r_j²)/2 (sector)
    pub volume: Vec<f64>,
    /// 1/V_j
    pub inv_volume: Vec<f64>,
    /// max(A_f/V_{f−1}, A_f/V_f) (1/m): converts a face speed into a CFL rate; 0 on the walls
    pub rate_factor: Vec<f64>,
    /// physical radius at each face for the acceleration (= `faces` unless mapped)
    pub accel_radius: Vec<f64>,
}

impl Grid {
    pub fn new(geometry: FieldGeometry, r_min: f64, r_max: f64, cells: usize) -> Self {
        let dr = (r_max - r_min) / cells as f64;
        let faces: Vec<f64> = (0..=cells)
            .map(|f| {
                if f == cells {
                    r_max
                } else {
                    r_min + f as f64 * dr
                }
            })
            .collect();
        let centres: Vec<f64> = faces.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let area: Vec<f64> = match geometry {
            FieldGeometry::Tube => vec![1.0; cells + 1],
            FieldGeometry::Sector => faces.clone(),
        };
        let volume: Vec<f64> = faces
            .windows(2)
            .map(|w| measure(geometry, w[0], w[1]))
            .collect();
        let inv_volume = volume.iter().map(|v| 1.0 / v).collect();
        let rate_factor = (0..=cells)
            .map(|f| {
                if f == 0 || f == cells {
                    0.0
                } else {
                    (area[f] / volume[f - 1]).max(area[f] / volume[f])
                }
            })
            .collect();
        Self {
            geometry,
            r_min,
            r_max,
            dr,
            accel_radius: faces.clone(),
            faces,
            centres,
            area,
            volume,
            inv_volume,
            rate_factor,
        }
    }

    /// Measure of [a, b] (b ≥ a): b − a (tube) or (b² − a²)/2 (sector).
    #[inline]
    pub fn measure(&self, a: f64, b: f64) -> f64 {
        measure(self.geometry, a, b)
    }
}

#[inline]
pub(crate) fn measure(geometry: FieldGeometry, a: f64, b: f64) -> f64 {
    match geometry {
        FieldGeometry::Tube => b - a,
        FieldGeometry::Sector => 0.5 * (b - a) * (b + a),
    }
}

/// Per-chunk scratch, allocated once. E = L + 3 extended cells (two halo cells on the left,
/// one on the right).
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    ext: Vec<f64>,
    slope: Vec<f64>,
    ql: Vec<f64>,
    qr: Vec<f64>,
    // per face (L + 1)
    tot_l: Vec<f64>,
    exc_l: Vec<f64>,
    mob_l: Vec<f64>,
    mom_l: Vec<f64>,
    tot_r: Vec<f64>,
    exc_r: Vec<f64>,
    mob_r: Vec<f64>,
    mom_r: Vec<f64>,
    coef_l: Vec<f64>,
    coef_r: Vec<f64>,
    coef_d: Vec<f64>,
    // speed bounds at the cell averages (E) and at the face midpoints (L + 1)
    active: Vec<f64>,
    cells: Bounds,
    mid: Vec<f64>,
    mid_active: Vec<f64>,
    faces_b: Bounds,
    // face speed bounds a± per unit acceleration and CFL speed, kept from the first stage
    face_ap: Vec<f64>,
    face_am: Vec<f64>,
    face_speed: Vec<f64>,
    // pass B: cell totals (E)
    tot: Vec<f64>,
    // pass B: limited fluxes N × (L + 1) and per-face net flux
    limited: Vec<f64>,
    net: Vec<f64>,
}

impl Scratch {
    pub fn new(layout: &Layout) -> Self {
        let (n, l) = (layout.classes, layout.chunk);
        let e = l + 3;
        let z = |k: usize| vec![0.0; k];
        Self {
            ext: z(n * e),
            slope: z(n * e),
            ql: z(n * (l + 1)),
            qr: z(n * (l + 1)),
            tot_l: z(l + 1),
            exc_l: z(l + 1),
            mob_l: z(l + 1),
            mom_l: z(l + 1),
            tot_r: z(l + 1),
            exc_r: z(l + 1),
            mob_r: z(l + 1),
            mom_r: z(l + 1),
            coef_l: z(l + 1),
            coef_r: z(l + 1),
            coef_d: z(l + 1),
            active: z(n * e),
            cells: Bounds::new(e),
            mid: z(n * (l + 1)),
            mid_active: z(n * (l + 1)),
            faces_b: Bounds::new(l + 1),
            face_ap: z(l + 1),
            face_am: z(l + 1),
            face_speed: z(l + 1),
            tot: z(e),
            limited: z(n * (l + 1)),
            net: z(l + 1),
        }
    }
}

/// Mixture sums and wave-speed bounds at a row of states.
#[derive(Debug, Clone)]
pub(crate) struct Bounds {
    /// Σφ_j, then reused
    tot: Vec<f64>,
    /// e = Σ Δρ_j φ_j = ρ_s − ρ_f
    exc: Vec<f64>,
    /// K = Σ k_j φ_j
    mob: Vec<f64>,
    /// M = Σ k_j Δρ_j φ_j, then S = M − eK
    mom: Vec<f64>,
    /// cV = V/(18μ)
    cv: Vec<f64>,
    /// cV′
    cvp: Vec<f64>,
    /// A1 = Σφ_i|w_i|
    sum_w: Vec<f64>,
    /// A2 = Σφ_i|K − k_i|
    sum_k: Vec<f64>,
    /// a⁺ ≥ 0 per unit acceleration
    a_plus: Vec<f64>,
    /// a⁻ ≤ 0 per unit acceleration
    a_minus: Vec<f64>,
    /// max(a⁺, −a⁻, |u_i|) per unit acceleration
    speed: Vec<f64>,
}

impl Bounds {
    fn new(len: usize) -> Self {
        let z = || vec![0.0; len];
        Self {
            tot: z(),
            exc: z(),
            mob: z(),
            mom: z(),
            cv: z(),
            cvp: z(),
            sum_w: z(),
            sum_k: z(),
            a_plus: z(),
            a_minus: z(),
            speed: z(),
        }
    }
}

/// Limiter activity of a pass B, summed over chunks in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimiterCounts {
    /// face-class fluxes reduced by the positivity cap
    pub positivity: u64,
    /// faces whose fluxes were scaled by the capacity cap
    pub capacity: u64,
}

impl LimiterCounts {
    pub(crate) fn merge(self, other: Self) -> Self {
        Self {
            positivity: self.positivity + other.positivity,
            capacity: self.capacity + other.capacity,
        }
    }
}

/// Read-only kernel parameters: the grid and the class constants.
#[derive(Debug, Clone)]
pub(crate) struct Kernel {
    pub layout: Layout,
    pub grid: Grid,
    /// Stokes mobility k_i = d_i²/χ_i (m²)
    pub mobility: Vec<f64>,
    /// density excess Δρ_i = ρ_i − ρ_f (kg/m³)
    pub excess: Vec<f64>,
    /// activity threshold per class (volume fraction)
    pub threshold: Vec<f64>,
    pub law: HindranceLaw,
    /// 1/(18 μ)
    pub inv_18mu: f64,
    pub theta: f64,
    pub phi_max: f64,
    pub gravity: Option<f64>,
}

/// max without NaN handling (compiles to a single `maxpd`, so loops vectorise).
#[inline(always)]
fn fmax(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

/// min without NaN handling (a single `minpd`).
#[inline(always)]
fn fmin(a: f64, b: f64) -> f64 {
    if a < b { a } else { b }
}

/// Generalised minmod of three values: the one of smallest magnitude if all have the same
/// sign, else 0. Branch-free.
#[inline(always)]
fn minmod3(a: f64, b: f64, c: f64) -> f64 {
    let hi = fmax(fmax(a, b), c);
    let lo = fmin(fmin(a, b), c);
    fmax(lo, 0.0) + fmin(hi, 0.0)
}

impl Kernel {
    /// Copies class rows of `state` for cells c0 − 2 + k, k ∈ [0, n + 3), clamped to the grid,
    /// into `ext` (row stride `stride`).
    fn gather(
        &self,
        state: &[f64],
        c0: usize,
        n: usize,
        left: usize,
        ext: &mut [f64],
        stride: usize,
    ) {
        let lay = self.layout;
        let last = lay.cells - 1;
        let count = n + left + 1;
        for i in 0..lay.classes {
            let row = &mut ext[i * stride..i * stride + count];
            // own cells: contiguous in the block
            let own = lay.index(i, c0);
            row[left..left + n].copy_from_slice(&state[own..own + n]);
            for (k, slot) in row.iter_mut().enumerate().take(left) {
                let cell = (c0 + k).saturating_sub(left);
                *slot = state[lay.index(i, cell)];
            }
            let cell = (c0 + n).min(last);
            row[left + n] = state[lay.index(i, cell)];
        }
    }

    /// Mixture sums and one-sided wave-speed bounds (per unit acceleration) at `count` states
    /// `q[i·stride + k]`, classes with `active[i·astride + k] == 0` left out of the bound.
    ///
    /// Jacobian of f_i = φ_i u_i, u_i = cV w_i, w_i = k_i(Δρ_i − e) − S:
    /// J = diag(u) + P, P_im = φ_i [cV′ w_i + cV((K − k_i)Δρ_m − g_m)], g_m = k_m(Δρ_m − e)
    /// (diagonal plus three rank-one terms). Gershgorin on columns: every eigenvalue lies in a
    /// disc centred at J_mm of radius
    /// R_m = Σ_{i≠m}|P_im| ≤ |cV′|(A1 − φ_m|w_m|) + cV(|Δρ_m|(A2 − φ_m|K − k_m|) + |g_m|(φ − φ_m)),
    /// A1 = Σφ_i|w_i|, A2 = Σφ_i|K − k_i| — O(N) per state, and exact (R = 0) for one class.
    /// `speed` is max(a⁺, −a⁻, |u_m|): the CFL number must also bound the material speeds
    /// (no inflow balances the outflow at a wall or an empty neighbour).
    #[allow(clippy::needless_range_loop)]
    fn bounds(
        &self,
        q: &[f64],
        stride: usize,
        count: usize,
        active: &[f64],
        astride: usize,
        b: &mut Bounds,
    ) {
        let nc = self.layout.classes;
        for v in [
            &mut b.tot,
            &mut b.exc,
            &mut b.mob,
            &mut b.mom,
            &mut b.sum_w,
            &mut b.sum_k,
            &mut b.a_plus,
            &mut b.a_minus,
            &mut b.speed,
        ] {
            v[..count].fill(0.0);
        }
        for i in 0..nc {
            let (dx, k) = (self.excess[i], self.mobility[i]);
            let kd = k * dx;
            let row = &q[i * stride..i * stride + count];
            for j in 0..count {
                let p = row[j];
                b.tot[j] += p;
                b.exc[j] += dx * p;
                b.mob[j] += k * p;
                b.mom[j] += kd * p;
            }
        }
        for j in 0..count {
            let (v, dv) = self.law.velocity_factor_and_derivative(b.tot[j]);
            b.cv[j] = self.inv_18mu * v;
            b.cvp[j] = self.inv_18mu * dv;
            b.mom[j] -= b.exc[j] * b.mob[j];
        }
        for i in 0..nc {
            let (dx, k) = (self.excess[i], self.mobility[i]);
            let row = &q[i * stride..i * stride + count];
            for j in 0..count {
                let p = row[j];
                let w = k * (dx - b.exc[j]) - b.mom[j];
                b.sum_w[j] += p * w.abs();
                b.sum_k[j] += p * (b.mob[j] - k).abs();
            }
        }
        for i in 0..nc {
            let (dx, k) = (self.excess[i], self.mobility[i]);
            let adx = dx.abs();
            let row = &q[i * stride..i * stride + count];
            let act = &active[i * astride..i * astride + count];
            // Branch-free: an inactive class contributes 0, the neutral value of the
            // max/min (a⁺ ≥ 0 ≥ a⁻, speed ≥ 0).
            for j in 0..count {
                let mask = act[j];
                let p = row[j];
                let g = k * (dx - b.exc[j]);
                let w = g - b.mom[j];
                let (cv, cvp) = (b.cv[j], b.cvp[j]);
                let kdiff = b.mob[j] - k;
                let u = cv * w;
                let diag = u + p * (cvp * w + cv * (kdiff * dx - g));
                let radius = cvp.abs() * (b.sum_w[j] - p * w.abs())
                    + cv * (adx * (b.sum_k[j] - p * kdiff.abs()) + g.abs() * (b.tot[j] - p));
                let radius = fmax(radius, 0.0);
                b.a_plus[j] = fmax(b.a_plus[j], mask * (diag + radius));
                b.a_minus[j] = fmin(b.a_minus[j], mask * (diag - radius));
                b.speed[j] = fmax(b.speed[j], mask * u.abs());
            }
        }
        for j in 0..count {
            b.speed[j] = fmax(fmax(b.speed[j], b.a_plus[j]), -b.a_minus[j]);
        }
    }

    /// Pass A for chunk `c`: raw fluxes of faces c0 … c1 − 1 (face f between cells f − 1 and
    /// f, stored at the slot of cell f) into `flux_blk`, own-cell slopes into `slope_blk`,
    /// optionally the tracer mixture (V/(18μ), ρ_s − ρ_f, S per cell) into `mix_blk`. Returns
    /// the chunk's largest CFL rate max(a⁺, −a⁻)·a·γ/Δr (1/s), NaN if any is NaN.
    #[allow(clippy::needless_range_loop)]
    pub fn pass_a(
        &self,
        c: usize,
        state: &[f64],
        omega_squared: f64,
        new_bounds: bool,
        flux_blk: &mut [f64],
        slope_blk: &mut [f64],
        mix_blk: Option<&mut [f64]>,
        s: &mut Scratch,
    ) -> f64 {
        let lay = self.layout;
        let (c0, c1) = lay.range(c);
        let n = c1 - c0;
        let nc = lay.classes;
        let l = lay.chunk;
        let e = l + 3;
        let theta = self.theta;
        self.gather(state, c0, n, 2, &mut s.ext, e);

        // Slopes for extended cells 1 ..= n + 1 (cells c0 − 1 … c1).
        for i in 0..nc {
            let ext = &s.ext[i * e..i * e + n + 3];
            let sl = &mut s.slope[i * e..i * e + n + 3];
            for k in 1..=n + 1 {
                let dm = ext[k] - ext[k - 1];
                let dp = ext[k + 1] - ext[k];
                sl[k] = minmod3(theta * dm, 0.5 * (dm + dp), theta * dp);
            }
            slope_blk[i * l..i * l + n].copy_from_slice(&sl[2..n + 2]);
        }

        // Face states: face m (f = c0 + m) has left cell k = m + 1, right cell k = m + 2.
        for i in 0..nc {
            let ext = &s.ext[i * e..i * e + n + 3];
            let sl = &s.slope[i * e..i * e + n + 3];
            let ql = &mut s.ql[i * (l + 1)..i * (l + 1) + n];
            for m in 0..n {
                ql[m] = ext[m + 1] + 0.5 * sl[m + 1];
            }
            let qr = &mut s.qr[i * (l + 1)..i * (l + 1) + n];
            for m in 0..n {
                qr[m] = ext[m + 2] - 0.5 * sl[m + 2];
            }
        }

        // Mixture sums at the face states.
        for v in [
            &mut s.tot_l,
            &mut s.exc_l,
            &mut s.mob_l,
            &mut s.mom_l,
            &mut s.tot_r,
            &mut s.exc_r,
            &mut s.mob_r,
            &mut s.mom_r,
        ] {
            v[..n].fill(0.0);
        }
        for i in 0..nc {
            let (dx, k) = (self.excess[i], self.mobility[i]);
            let kd = k * dx;
            let ql = &s.ql[i * (l + 1)..i * (l + 1) + n];
            let qr = &s.qr[i * (l + 1)..i * (l + 1) + n];
            for m in 0..n {
                let p = ql[m];
                s.tot_l[m] += p;
                s.exc_l[m] += dx * p;
                s.mob_l[m] += k * p;
                s.mom_l[m] += kd * p;
            }
            for m in 0..n {
                let p = qr[m];
                s.tot_r[m] += p;
                s.exc_r[m] += dx * p;
                s.mob_r[m] += k * p;
                s.mom_r[m] += kd * p;
            }
        }
        // Hindrance factors: one powf/exp per face state. In place: tot_* ← c·V,
        // mom_* ← S = M − e K.
        for m in 0..n {
            let cvl = self.inv_18mu * self.law.velocity_factor(s.tot_l[m]);
            s.mom_l[m] -= s.exc_l[m] * s.mob_l[m];
            s.tot_l[m] = cvl;
            let cvr = self.inv_18mu * self.law.velocity_factor(s.tot_r[m]);
            s.mom_r[m] -= s.exc_r[m] * s.mob_r[m];
            s.tot_r[m] = cvr;
        }

        // Wave-speed bounds: at the first stage of a step only; later stages of the same step
        // reuse them (they are estimates of the local speeds, and the invariant region is kept
        // by the limiters of pass B whatever their values).
        if new_bounds {
            // Wave-speed bounds at the cell averages (extended cells 1 ..= n + 1). A class enters
            // a cell's bound if it is active (above its threshold) in the cell or in either
            // neighbour, so the bound at a face covers every class present on either side (an
            // absent class's eigenvalue u_m matters where it borders a present one).
            for i in 0..nc {
                let thr = self.threshold[i];
                let ext = &s.ext[i * e..i * e + n + 3];
                let act = &mut s.active[i * e..i * e + n + 1];
                for k in 0..=n {
                    act[k] = if fmax(fmax(ext[k], ext[k + 1]), ext[k + 2]) > thr {
                        1.0
                    } else {
                        0.0
                    };
                }
            }
            self.bounds(&s.ext[1..], e, n + 1, &s.active, e, &mut s.cells);
            if let Some(mix) = mix_blk {
                for m in 0..n {
                    let k = m + 1;
                    mix[3 * m] = s.cells.cv[k];
                    mix[3 * m + 1] = s.cells.exc[k];
                    mix[3 * m + 2] = s.cells.mom[k];
                }
            }
            // ... and at the midpoint of the two averages of every face: the flux is not convex
            // (Richardson–Zaki has an inflection at 2/(n + 1)), so f′ can take its extreme values
            // between the two states, e.g. across the top of a packed bed.
            for i in 0..nc {
                let thr = self.threshold[i];
                let ext = &s.ext[i * e..i * e + n + 3];
                let mid = &mut s.mid[i * (l + 1)..i * (l + 1) + n];
                let act = &mut s.mid_active[i * (l + 1)..i * (l + 1) + n];
                for m in 0..n {
                    mid[m] = 0.5 * (ext[m + 1] + ext[m + 2]);
                    act[m] = if fmax(ext[m + 1], ext[m + 2]) > thr {
                        1.0
                    } else {
                        0.0
                    };
                }
            }
            self.bounds(&s.mid, l + 1, n, &s.mid_active, l + 1, &mut s.faces_b);
            for m in 0..n {
                let (cb, fb) = (&s.cells, &s.faces_b);
                s.face_ap[m] = fmax(fmax(cb.a_plus[m], cb.a_plus[m + 1]), fb.a_plus[m]);
                s.face_am[m] = fmin(fmin(cb.a_minus[m], cb.a_minus[m + 1]), fb.a_minus[m]);
                s.face_speed[m] = fmax(fmax(cb.speed[m], cb.speed[m + 1]), fb.speed[m]);
            }
        }

        // Central-upwind weights per face, scaled by the face acceleration.
        let mut rate = 0.0f64;
        let mut nan = false;
        for m in 0..n {
            let f = c0 + m;
            let (ap, am, speed) = (s.face_ap[m], s.face_am[m], s.face_speed[m]);
            let acc = acceleration(
                self.grid.geometry,
                self.gravity,
                self.grid.accel_radius[f],
                omega_squared,
            );
            let spread = ap - am;
            let (wl, wr, wd) = if spread > 0.0 {
                (ap / spread, -am / spread, ap * am / spread)
            } else {
                (0.5, 0.5, 0.0)
            };
            let wall = if f == 0 { 0.0 } else { 1.0 };
            s.coef_l[m] = wall * acc * wl;
            s.coef_r[m] = wall * acc * wr;
            s.coef_d[m] = wall * acc * wd;
            let r = speed * acc * self.grid.rate_factor[f];
            nan |= r.is_nan();
            rate = rate.max(r);
        }

        // KNP fluxes.
        for i in 0..nc {
            let (dx, k) = (self.excess[i], self.mobility[i]);
            let ql = &s.ql[i * (l + 1)..i * (l + 1) + n];
            let qr = &s.qr[i * (l + 1)..i * (l + 1) + n];
            let out = &mut flux_blk[i * l..i * l + n];
            for m in 0..n {
                let fl = ql[m] * s.tot_l[m] * (k * (dx - s.exc_l[m]) - s.mom_l[m]);
                let fr = qr[m] * s.tot_r[m] * (k * (dx - s.exc_r[m]) - s.mom_r[m]);
                out[m] = s.coef_l[m] * fl + s.coef_r[m] * fr + s.coef_d[m] * (qr[m] - ql[m]);
            }
        }
        if nan { f64::NAN } else { rate }
    }

    /// Pass B for chunk `c`: limits the fluxes of faces c0 ..= c1 and writes
    /// `out = alpha·old + beta·(state + dt·L(state))` for the chunk's cells into `out_blk`.
    #[allow(clippy::needless_range_loop)]
    pub fn pass_b(
        &self,
        c: usize,
        state: &[f64],
        old: &[f64],
        flux: &[f64],
        slope: &[f64],
        dt: f64,
        alpha: f64,
        beta: f64,
        out_blk: &mut [f64],
        s: &mut Scratch,
    ) -> LimiterCounts {
        let lay = self.layout;
        let (c0, c1) = lay.range(c);
        let n = c1 - c0;
        let nc = lay.classes;
        let l = lay.chunk;
        let e = l + 3;
        let grid = &self.grid;
        // Extended cells k = 0 ..= n + 1 ↔ cells c0 − 1 … c1 (clamped).
        self.gather(state, c0, n, 1, &mut s.ext, e);
        self.gather(slope, c0, n, 1, &mut s.slope, e);
        for i in 0..nc {
            let lim = &mut s.limited[i * (l + 1)..i * (l + 1) + n + 1];
            let own = lay.index(i, c0);
            lim[..n].copy_from_slice(&flux[own..own + n]);
            lim[n] = if c1 == lay.cells {
                0.0
            } else {
                flux[lay.index(i, c1)]
            };
        }
        s.tot[..n + 2].fill(0.0);
        for i in 0..nc {
            let ext = &s.ext[i * e..i * e + n + 2];
            for k in 0..n + 2 {
                s.tot[k] += ext[k];
            }
        }
        // Per-face cap factors ½·safety·V/(A Δt) for the left and right donor.
        for m in 0..=n {
            let f = c0 + m;
            let interior = f > 0 && f < lay.cells;
            if interior {
                let scale = 0.5 * CAP_SAFETY / (grid.area[f] * dt);
                s.coef_l[m] = scale * grid.volume[f - 1];
                s.coef_r[m] = scale * grid.volume[f];
            } else {
                s.coef_l[m] = 0.0;
                s.coef_r[m] = 0.0;
            }
        }
        let mut counts = LimiterCounts::default();
        // Positivity: a face may take from its donor at most the donor's reconstructed face
        // value times ½V/(AΔt); the two face values average to the cell value, so a cell never
        // loses more than it holds.
        s.net[..=n].fill(0.0);
        for i in 0..nc {
            let ext = &s.ext[i * e..i * e + n + 2];
            let sl = &s.slope[i * e..i * e + n + 2];
            let lim = &mut s.limited[i * (l + 1)..i * (l + 1) + n + 1];
            for m in 0..=n {
                let cap_plus = s.coef_l[m] * (ext[m] + 0.5 * sl[m]);
                let cap_minus = s.coef_r[m] * (ext[m + 1] - 0.5 * sl[m + 1]);
                let raw = lim[m];
                let g = fmin(fmax(raw, -cap_minus), cap_plus);
                // count only real activations, not the 10⁻¹² safety margin
                counts.positivity += u64::from((g - raw).abs() > 1e-9 * raw.abs());
                lim[m] = g;
                s.net[m] += g;
            }
        }
        // Capacity: the net volume flux into a cell through one face may fill at most half of
        // its remaining room φ_max − Σφ; scaling every class by the same θ ≤ 1 keeps the
        // positivity caps.
        for m in 0..=n {
            let q = s.net[m];
            let room_l = fmax(self.phi_max - s.tot[m], 0.0);
            let room_r = fmax(self.phi_max - s.tot[m + 1], 0.0);
            let cap = if q > 0.0 {
                s.coef_r[m] * room_r
            } else {
                s.coef_l[m] * room_l
            };
            let mag = q.abs();
            s.net[m] = if mag > cap { cap / mag } else { 1.0 };
        }
        for m in 0..=n {
            counts.capacity += u64::from(s.net[m] < 1.0);
        }
        // Update: out = α old + β (φ + Δt/V (A_f G_f − A_{f+1} G_{f+1})).
        for i in 0..nc {
            let ext = &s.ext[i * e..i * e + n + 2];
            let lim = &s.limited[i * (l + 1)..i * (l + 1) + n + 1];
            let out = &mut out_blk[i * l..i * l + n];
            let own = lay.index(i, c0);
            let old = &old[own..own + n];
            for m in 0..n {
                let j = c0 + m;
                let gl = lim[m] * s.net[m] * grid.area[j];
                let gr = lim[m + 1] * s.net[m + 1] * grid.area[j + 1];
                let euler = ext[m + 1] + dt * grid.inv_volume[j] * (gl - gr);
                let v = alpha * old[m] + beta * euler;
                // Values below FLUSH_BELOW (and round-off negatives) become 0: this keeps
                // exponentially decaying tails out of the (100× slower) subnormal range;
                // the volume so removed is below 10⁻²⁰⁰ per cell.
                out[m] = if v < FLUSH_BELOW { 0.0 } else { v };
            }
        }
        counts
    }

    /// Tracer mixture (V/(18μ), ρ_s − ρ_f, S) of the chunk's cells of `state` into `mix_blk`.
    pub fn mixture(&self, c: usize, state: &[f64], mix_blk: &mut [f64]) {
        let lay = self.layout;
        let (c0, c1) = lay.range(c);
        for m in 0..c1 - c0 {
            let (mut tot, mut exc, mut mob, mut mom) = (0.0, 0.0, 0.0, 0.0);
            for i in 0..lay.classes {
                let p = state[lay.index(i, c0 + m)];
                tot += p;
                exc += self.excess[i] * p;
                mob += self.mobility[i] * p;
                mom += self.mobility[i] * self.excess[i] * p;
            }
            mix_blk[3 * m] = self.inv_18mu * self.law.velocity_factor(tot);
            mix_blk[3 * m + 1] = exc;
            mix_blk[3 * m + 2] = mom - exc * mob;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use buffycoat_physics::forces::sedimentation_coefficient;
    use buffycoat_physics::hindrance::{MlbClass, mlb_velocities};

    fn kernel(
        classes: &[MlbClass],
        rho_f: f64,
        mu: f64,
        law: HindranceLaw,
        cells: usize,
    ) -> Kernel {
        let layout = Layout::new(cells, classes.len(), 16);
        Kernel {
            layout,
            grid: Grid::new(FieldGeometry::Tube, 0.1, 0.16, cells),
            mobility: classes.iter().map(|c| c.mobility()).collect(),
            excess: classes.iter().map(|c| c.density - rho_f).collect(),
            threshold: vec![0.0; classes.len()],
            law,
            inv_18mu: 1.0 / (18.0 * mu),
            theta: 1.5,
            phi_max: law.max_packing(),
            gravity: None,
        }
    }

    /// Raw face fluxes of a uniform state (all classes, chunk 0), per unit ω².
    fn uniform_fluxes(k: &Kernel, phi: &[f64]) -> Vec<f64> {
        let lay = k.layout;
        let mut state = vec![0.0; lay.storage()];
        for (i, &p) in phi.iter().enumerate() {
            for cell in 0..lay.cells {
                state[lay.index(i, cell)] = p;
            }
        }
        let mut flux = vec![0.0; lay.storage()];
        let mut slope = vec![0.0; lay.storage()];
        let mut s = Scratch::new(&lay);
        let (fb, sb) = (&mut flux[..lay.block()], &mut slope[..lay.block()]);
        k.pass_a(0, &state, 1.0, true, fb, sb, None, &mut s);
        flux
    }

    /// The kernel's flux at a uniform state is φ_i u_i with u_i the MLB velocity of
    /// `buffycoat_physics::hindrance`; for one class it is s a φ(1 − φ)ⁿ (Richardson–Zaki).
    #[test]
    fn kernel_flux_is_the_mlb_flux_and_reduces_to_richardson_zaki() {
        let (rho_f, mu) = (1020.5, 1.39e-3);
        let law = HindranceLaw::richardson_zaki(4.65, 0.9).unwrap();
        let rbc = MlbClass {
            diameter: 5.5e-6,
            density: 1095.0,
            shape_factor: 1.09,
        };
        let k = kernel(&[rbc], rho_f, mu, law, 8);
        let s = sedimentation_coefficient(rbc.diameter, rbc.density, rho_f, mu, rbc.shape_factor);
        for phi in [0.0, 0.01, 0.2, 0.45, 0.7, 0.89] {
            let flux = uniform_fluxes(&k, &[phi]);
            let face = 3;
            let a = k.grid.faces[face];
            let rz = s * a * phi * (1.0 - phi).powf(4.65);
            let got = flux[k.layout.index(0, face)];
            assert!(
                (got - rz).abs() <= 1e-14 * rz.abs().max(1e-300),
                "φ={phi}: {got} vs {rz}"
            );
        }
        // Several classes: φ_i u_i from the physics function.
        let classes = [
            rbc,
            MlbClass {
                diameter: 7.8e-6,
                density: 1075.0,
                shape_factor: 1.0,
            },
            MlbClass {
                diameter: 2.4e-6,
                density: 1070.0,
                shape_factor: 1.04,
            },
        ];
        let phi = [0.6, 0.01, 0.004];
        let k = kernel(&classes, rho_f, mu, law, 8);
        let flux = uniform_fluxes(&k, &phi);
        let face = 5;
        let mut u = [0.0; 3];
        mlb_velocities(&law, k.grid.faces[face], rho_f, mu, &classes, &phi, &mut u);
        for i in 0..3 {
            let got = flux[k.layout.index(i, face)];
            let want = phi[i] * u[i];
            assert!(
                (got - want).abs() <= 1e-13 * want.abs(),
                "{i}: {got} vs {want}"
            );
        }
    }

    /// The Gershgorin bound contains the eigenvalues of the exact Jacobian (checked by finite
    /// differences and the characteristic polynomial's sign changes for two classes).
    #[test]
    fn speed_bounds_contain_the_spectrum() {
        let (rho_f, mu) = (1020.5, 1.39e-3);
        let law = HindranceLaw::richardson_zaki(4.65, 0.9).unwrap();
        let classes = [
            MlbClass {
                diameter: 5.5e-6,
                density: 1095.0,
                shape_factor: 1.09,
            },
            MlbClass {
                diameter: 8.0e-6,
                density: 1065.0,
                shape_factor: 1.0,
            },
        ];
        let k = kernel(&classes, rho_f, mu, law, 4);
        let flux_of = |phi: [f64; 2]| {
            let mut u = [0.0; 2];
            mlb_velocities(&law, 1.0, rho_f, mu, &classes, &phi, &mut u);
            [phi[0] * u[0], phi[1] * u[1]]
        };
        for phi in [[0.1, 0.01], [0.45, 0.02], [0.8, 0.05], [0.3, 0.3]] {
            // Jacobian by central differences.
            let h = 1e-7;
            let mut j = [[0.0; 2]; 2];
            for m in 0..2 {
                let (mut p, mut q) = (phi, phi);
                p[m] += h;
                q[m] -= h;
                let (fp, fq) = (flux_of(p), flux_of(q));
                for i in 0..2 {
                    j[i][m] = (fp[i] - fq[i]) / (2.0 * h);
                }
            }
            let tr = j[0][0] + j[1][1];
            let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
            let disc = (tr * tr - 4.0 * det).max(0.0).sqrt();
            let (l1, l2) = (0.5 * (tr - disc), 0.5 * (tr + disc));
            let mut b = Bounds::new(1);
            let q = [phi[0], phi[1]];
            k.bounds(&q, 1, 1, &[1.0, 1.0], 1, &mut b);
            let tol = 1e-6 * (l1.abs() + l2.abs());
            assert!(
                b.a_plus[0] >= l2 - tol && b.a_minus[0] <= l1 + tol,
                "φ={phi:?}: eigenvalues [{l1:e}, {l2:e}] not in [{:e}, {:e}]",
                b.a_minus[0],
                b.a_plus[0]
            );
        }
    }
}
