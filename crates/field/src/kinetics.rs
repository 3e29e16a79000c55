//! MLB velocities per unit acceleration and their Jacobian, with the packing ramp of the
//! implicit scheme.
//!
//! For classes i = 1…N (mobility k_i = d_i²/χ_i, density excess Δρ_i = ρ_i − ρ_f) at volume
//! fractions φ (φ = Σφ_j):
//!
//! - e = Σ Δρ_j φ_j = ρ_s − ρ_f, K = Σ k_j φ_j, M = Σ k_j Δρ_j φ_j, S = M − eK
//!   (= Σ_j φ_j d_j²(ρ_j − ρ_s)/χ_j);
//! - w_i = k_i(Δρ_i − e) − S, so that the MLB velocity is u_i = a c(φ) w_i with
//!   c(φ) = V_ε(φ)/(18μ) (Bürger, Concha, Fjelde & Karlsen, Powder Technol 113:30, 2000);
//! - V_ε(φ) = V(φ) · min(1, (φ_max − φ)/ε)⁺, the law's velocity factor with a linear packing
//!   ramp of width ε (the channel's `ImplicitSettings::packing_ramp`);
//! - ∂w_i/∂φ_m = Δρ_m(K − k_i − k_m) + e k_m and
//!   ∂v_i/∂φ_m = c′(φ) w_i + c(φ) ∂w_i/∂φ_m for v_i = c w_i (per unit acceleration).
//! - with a consolidating bed that holds cells larger than its own
//!   ([`buffycoat_physics::consolidation::network_weight`],
//!   [`buffycoat_physics::consolidation::pore_weight`])
//!   v_i = c [w_i − b q_i], b = M/K − e, q_i = θ_i p_i − R, p_i = (k_i − κ)⁺, κ = K/φ,
//!   R = Σ φ_j θ_j p_j, θ_i the class's weight (see [`Kinetics::velocities`]).

use crate::Class;
use buffycoat_physics::consolidation::{
    Consolidation, NetworkClosure, network_weight, pore_weight, pow_half_integer,
};
use buffycoat_physics::fluid::Fluid;
use buffycoat_physics::hindrance::HindranceLaw;

/// Class constants and the closure, shared read-only by all solves.
#[derive(Debug, Clone)]
pub struct Kinetics {
    /// number of classes N
    pub n: usize,
    /// k_i = d_i²/χ_i (m²)
    pub mobility: Vec<f64>,
    /// Δρ_i = ρ_i − ρ_f (kg/m³)
    pub excess: Vec<f64>,
    /// hydrodynamic (sphere-equivalent, aggregate) diameter d_i N_i^{1/3} (m): the size that
    /// settles, used for the pores of the network closure
    pub diameter: Vec<f64>,
    /// 1/(18 μ) (1/(Pa·s))
    pub inv_18mu: f64,
    /// the hindrance law
    pub law: HindranceLaw,
    /// φ_max
    pub phi_max: f64,
    /// ramp width ε
    pub ramp: f64,
    /// the mobility of a consolidating bed above its contact fraction (see
    /// [`Kinetics::with_bed`]); `None`: the law's V(φ) everywhere
    pub bed: Option<BedMobility>,
}

/// V(φ) above the contact fraction φ_c of a deformable bed (see
/// [`buffycoat_physics::consolidation::Consolidation`]):
/// V(φ) = V_law(φ_c) · [x(φ)/x(φ_c)]^m, x = (1 − φ)/φ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BedMobility {
    /// φ_c
    pub critical: f64,
    /// V_law(φ_c)
    pub anchor: f64,
    /// m
    pub exponent: f64,
    /// the network closure's weight
    pub network: NetworkClosure,
    /// width w of the network ramp θ(φ) of [`NetworkClosure::ContactRamp`] (0: no network
    /// closure)
    pub network_width: f64,
}

/// The network closure's quantities of one state (see [`Kinetics::velocities`]).
///
/// Each class has a weight θ_i (1: held by the crowded cells around it) and ∂θ_i/∂φ_m =
/// g_i ℓ_m: for the contact ramp θ_i = θ(φ), g_i = θ′(φ), ℓ_m = 1; for the pore closure
/// θ_i = θ(λ_i), λ_i = d_i ℓ, ℓ = 1/d_h = (3/2) A/ε, A = Σ φ_j/d_j, ε = 1 − φ, so
/// g_i = θ′(λ_i) d_i and ℓ_m = ∂ℓ/∂φ_m = (3/2) [1/(d_m ε) + A/ε²].
#[derive(Debug, Clone, Copy, PartialEq)]
struct Network {
    /// θ(φ) of the contact ramp; `None`: the pore closure
    ramp: Option<(f64, f64)>,
    /// ℓ = 1/d_h (1/m), the inverse hydraulic diameter of the pores (pore closure)
    inverse_pore: f64,
    /// A = Σ φ_j/d_j (1/m)
    surface: f64,
    /// κ = K/φ, the network's mean mobility (m²)
    kappa: f64,
    /// R = Σ φ_j θ_j (k_j − κ)⁺ (m²) (contact ramp: P = Σ φ_j (k_j − κ)⁺, without θ)
    held_sum: f64,
    /// T₁ = Σ φ_j g_j (k_j − κ)⁺
    slope_sum: f64,
    /// T₂ = Σ_{k_j > κ} φ_j θ_j (contact ramp: Φ₊ = Σ_{k_j > κ} φ_j, without θ)
    large_fraction: f64,
    /// the total fraction φ
    total: f64,
}

impl Network {
    /// θ_i and g_i of a class of diameter `d` (see the type's documentation).
    #[inline]
    fn weight(&self, d: f64) -> (f64, f64) {
        match self.ramp {
            Some(w) => w,
            None => {
                let (t, dt) = pore_weight(d * self.inverse_pore);
                (t, dt * d)
            }
        }
    }

    /// ℓ_m of a class of diameter `d`.
    #[inline]
    fn pore_slope(&self, d: f64) -> f64 {
        match self.ramp {
            Some(_) => 1.0,
            None => {
                let free = 1.0 - self.total;
                1.5 * (1.0 / (d * free) + self.surface / (free * free))
            }
        }
    }

    /// q_i = θ_i p_i − R of class `i` (mobility `k`, diameter `d`).
    #[inline]
    fn held(&self, k: f64, d: f64) -> f64 {
        let p = (k - self.kappa).max(0.0);
        if p > 0.0 {
            self.weight(d).0 * p - self.held_sum
        } else {
            -self.held_sum
        }
    }

    /// v_i −= c b q_i (the network's correction of the velocities `v`, with `mobility` and
    /// `diameter` of the classes); the contact ramp as (c θ b)(p_i − P), its first version's
    /// arithmetic.
    #[inline]
    fn correct_velocities(
        &self,
        c: f64,
        b: f64,
        mobility: &[f64],
        diameter: &[f64],
        v: &mut [f64],
    ) {
        for ((vi, &k), &d) in v.iter_mut().zip(mobility).zip(diameter) {
            *vi -= self.velocity_correction(c, b, k, d);
        }
    }

    /// c b q of one particle (mobility `k`, diameter `d`), the amount
    /// [`Network::correct_velocities`] takes off its velocity; the contact ramp as
    /// (c θ b)(p − P).
    #[inline(always)]
    fn velocity_correction(&self, c: f64, b: f64, k: f64, d: f64) -> f64 {
        match self.ramp {
            Some((theta, _)) => c * theta * b * ((k - self.kappa).max(0.0) - self.held_sum),
            None => c * b * self.held(k, d),
        }
    }

    /// K − k_i (without the network closure) or [`Network::bracket`], the bracket of the
    /// consolidation coefficient h_i of a class (mobility `ki`, diameter `di`) with K = `k`.
    #[inline(always)]
    fn bracket_of(net: Option<Self>, k: f64, ki: f64, di: f64) -> f64 {
        net.map_or(k - ki + 0.0 * ki, |n| n.bracket(k, ki, di))
    }

    /// K − k_i + q_i, the bracket of the consolidation coefficient h_i (see
    /// [`Kinetics::compression_coefficients`]) of class i (mobility `ki`, diameter `di`) with
    /// K = `k`; the contact ramp in the arithmetic of its first version, K − k_i + θ (p_i − P)
    /// (bitwise the results from before the pore closure).
    #[inline]
    fn bracket(&self, k: f64, ki: f64, di: f64) -> f64 {
        match self.ramp {
            Some((theta, _)) => k - ki + theta * ((ki - self.kappa).max(0.0) - self.held_sum),
            None => k - ki + self.held(ki, di),
        }
    }

    /// The constants of row i (class of mobility `ki` and diameter `di`) of
    /// ∂q_i/∂φ_m = ℓ_m (g_i p_i − T₁) + (κ − k_m)/φ (θ_i [k_i > κ] − T₂) − θ_m p_m.
    #[inline]
    fn held_row(&self, ki: f64, di: f64) -> HeldRow {
        let p = (ki - self.kappa).max(0.0);
        let (t, g) = if p > 0.0 { self.weight(di) } else { (0.0, 0.0) };
        HeldRow {
            slope: g * p - self.slope_sum,
            large: t - self.large_fraction,
        }
    }

    /// ∂q_i/∂φ_m from the row constants of [`Network::held_row`].
    #[inline]
    fn held_derivative(&self, row: HeldRow, km: f64, dm: f64) -> f64 {
        let pm = (km - self.kappa).max(0.0);
        let held_m = if pm > 0.0 {
            self.weight(dm).0 * pm
        } else {
            0.0
        };
        self.pore_slope(dm) * row.slope + (self.kappa - km) / self.total * row.large - held_m
    }
}

/// The per-row constants of ∂q_i/∂φ_m (see [`Network::held_row`]).
#[derive(Debug, Clone, Copy)]
struct HeldRow {
    /// g_i p_i − T₁
    slope: f64,
    /// θ_i [k_i > κ] − T₂
    large: f64,
}

/// The mixture quantities of one state (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mixture {
    /// c = V_ε/(18μ)
    pub factor: f64,
    /// c′ = V_ε′/(18μ)
    pub factor_derivative: f64,
    /// e = ρ_s − ρ_f
    pub excess: f64,
    /// K = Σ k_j φ_j
    pub mobility: f64,
    /// S = M − eK
    pub mean: f64,
}

impl Kinetics {
    /// The constants of `classes` in `fluid` with `law` and a packing ramp of width `ramp`.
    pub fn new(classes: &[Class], fluid: &Fluid, law: HindranceLaw, ramp: f64) -> Self {
        Self {
            n: classes.len(),
            mobility: classes.iter().map(Class::mobility).collect(),
            excess: classes.iter().map(|c| c.density - fluid.density).collect(),
            diameter: classes
                .iter()
                .map(|c| c.diameter * c.aggregate_cells.cbrt())
                .collect(),
            inv_18mu: 1.0 / (18.0 * fluid.viscosity),
            law,
            phi_max: law.max_packing(),
            ramp,
            bed: None,
        }
    }

    /// The same kinetics with the bed mobility of `consolidation` above its contact fraction.
    #[must_use]
    pub fn with_bed(mut self, consolidation: &Consolidation) -> Self {
        let critical = consolidation.stress.critical;
        self.bed = Some(BedMobility {
            critical,
            anchor: self.law.velocity_factor_and_derivative(critical).0,
            exponent: consolidation.bed_exponent,
            network: consolidation.network,
            network_width: consolidation.network_width,
        });
        self
    }

    /// V_ε(φ) and dV_ε/dφ.
    #[inline]
    pub fn velocity_factor(&self, total: f64) -> (f64, f64) {
        let (v, dv) = match self.bed {
            Some(bed) if total > bed.critical => {
                let phi = total.min(1.0 - 1e-12);
                let scale = bed.critical / (1.0 - bed.critical);
                let x = (1.0 - phi) / phi * scale;
                let dx = -scale / (phi * phi);
                let p = pow_half_integer(x, bed.exponent - 1.0);
                (bed.anchor * p * x, bed.anchor * bed.exponent * p * dx)
            }
            _ => self.law.velocity_factor_and_derivative(total),
        };
        let room = (self.phi_max - total) / self.ramp;
        if room >= 1.0 {
            (v, dv)
        } else if room > 0.0 {
            (v * room, dv * room - v / self.ramp)
        } else {
            (0.0, 0.0)
        }
    }

    /// The mixture sums of state `phi`, in class order: Σφ, Σ(ρ−ρ_f)φ, Σkφ and Σk(ρ−ρ_f)φ
    /// (k the class mobility d²/χ), shared by [`Kinetics::mixture`] and
    /// [`Kinetics::velocities_and_compression`] so both see bitwise the same sums.
    #[inline]
    fn sums(&self, phi: &[f64]) -> (f64, f64, f64, f64) {
        let (mut tot, mut e, mut k, mut m) = (0.0, 0.0, 0.0, 0.0);
        for ((&p, &dx), &kk) in phi.iter().zip(&self.excess).zip(&self.mobility) {
            tot += p;
            e += dx * p;
            k += kk * p;
            m += kk * dx * p;
        }
        (tot, e, k, m)
    }

    /// The mixture of state `phi` (N values).
    #[inline]
    pub fn mixture(&self, phi: &[f64]) -> Mixture {
        let (tot, e, k, m) = self.sums(phi);
        let (v, dv) = self.velocity_factor(tot);
        Mixture {
            factor: self.inv_18mu * v,
            factor_derivative: self.inv_18mu * dv,
            excess: e,
            mobility: k,
            mean: m - e * k,
        }
    }

    /// Velocities per unit acceleration v_i = c w_i of state `phi` into `v` (N), and the
    /// Jacobian ∂v_i/∂φ_m into `dv` (row-major N × N) when given.
    #[inline]
    pub fn velocities(&self, phi: &[f64], v: &mut [f64], dv: Option<&mut [f64]>) {
        let jacobian = self.velocities_and_jacobian(phi, v);
        if let Some(dv) = dv {
            jacobian.fill(dv, Entries::All);
        }
    }

    /// [`Kinetics::velocities`] of state `phi` into `v`, and what its Jacobian's entries
    /// need: a caller that reads only some of them ([`crate::column`]: the coupled classes'
    /// columns and the decoupled classes' own derivatives) computes only those
    /// ([`VelocityJacobian::block`], [`VelocityJacobian::block_and_diagonal`]), each bitwise
    /// the full matrix's entry.
    #[inline(always)]
    pub fn velocities_and_jacobian(&self, phi: &[f64], v: &mut [f64]) -> VelocityJacobian<'_> {
        let mix = self.mixture(phi);
        let n = self.n;
        for ((vi, &k), &dx) in v.iter_mut().zip(&self.mobility).zip(&self.excess).take(n) {
            *vi = mix.factor * (k * (dx - mix.excess) - mix.mean);
        }
        let net = self.network(phi);
        // b = M/K − e = S/K (M = S + eK)
        let b = net.map_or(0.0, |_| mix.mean / mix.mobility);
        if let Some(net) = net {
            net.correct_velocities(mix.factor, b, &self.mobility, &self.diameter, v);
        }
        VelocityJacobian {
            kin: self,
            mix,
            net,
            b,
        }
    }
    /// [`Kinetics::velocities`] (without the Jacobian) and
    /// [`Kinetics::compression_coefficients`] (without ∂h/∂φ) of one state in one pass: the
    /// mixture sums, the velocity factor and the network closure are computed once. Bitwise
    /// the two separate calls (the same expressions in the same order).
    #[inline]
    pub fn velocities_and_compression(
        &self,
        phi: &[f64],
        critical: f64,
        v: &mut [f64],
        h: &mut [f64],
    ) {
        let (tot, e, k, m) = self.sums(phi);
        let (vf, _) = self.velocity_factor(tot);
        let c = self.inv_18mu * vf;
        let mean = m - e * k;
        for ((vi, &kk), &dx) in v.iter_mut().zip(&self.mobility).zip(&self.excess) {
            *vi = c * (kk * (dx - e) - mean);
        }
        let net = self.network(phi);
        if let Some(net) = net {
            net.correct_velocities(c, mean / k, &self.mobility, &self.diameter, v);
        }
        let floor = tot.max(critical);
        let g = (1.0 - tot) / floor;
        let cg = c * g;
        for ((hi, &ki), &d) in h.iter_mut().zip(&self.mobility).zip(&self.diameter) {
            *hi = cg * Network::bracket_of(net, k, ki, d);
        }
    }

    /// The network closure's quantities of state `phi`, `None` where it does not act (no bed,
    /// closure off; contact ramp: w = 0 or φ ≤ φ_c − w; pore closure: φ = 0). See
    /// [`buffycoat_physics::consolidation::network_weight`] and
    /// [`buffycoat_physics::consolidation::pore_weight`]: cells with a mobility k_i above the
    /// network's mean κ = K/φ take the compaction-driven part of their MLB slip with κ,
    /// weighted by θ_i.
    #[inline]
    fn network(&self, phi: &[f64]) -> Option<Network> {
        let bed = self.bed?;
        if bed.network == NetworkClosure::Off {
            return None;
        }
        let pores = bed.network == NetworkClosure::PoreSize;
        let (mut total, mut k, mut surface) = (0.0, 0.0, 0.0);
        for ((&p, &kk), &d) in phi.iter().zip(&self.mobility).zip(&self.diameter) {
            total += p;
            k += kk * p;
            if pores {
                surface += p / d;
            }
        }
        let ramp = match bed.network {
            NetworkClosure::Off => return None,
            NetworkClosure::ContactRamp => {
                if bed.network_width <= 0.0 {
                    return None;
                }
                let w = network_weight(total, bed.critical, bed.network_width);
                if w == (0.0, 0.0) {
                    return None;
                }
                Some(w)
            }
            NetworkClosure::PoreSize => {
                if total <= 0.0 {
                    return None;
                }
                None
            }
        };
        let mut net = Network {
            ramp,
            inverse_pore: 1.5 * surface / (1.0 - total),
            surface,
            kappa: k / total,
            held_sum: 0.0,
            slope_sum: 0.0,
            large_fraction: 0.0,
            total,
        };
        let (mut held_sum, mut slope_sum, mut large_fraction) = (0.0, 0.0, 0.0);
        for ((&p, &kk), &d) in phi.iter().zip(&self.mobility).zip(&self.diameter) {
            if kk > net.kappa {
                if ramp.is_some() {
                    // P and Φ₊ (θ is common and applied outside)
                    held_sum += p * (kk - net.kappa);
                    large_fraction += p;
                } else {
                    let (t, g) = net.weight(d);
                    let excess = kk - net.kappa;
                    held_sum += p * t * excess;
                    slope_sum += p * g * excess;
                    large_fraction += p * t;
                }
            }
        }
        net.held_sum = held_sum;
        net.slope_sum = slope_sum;
        net.large_fraction = large_fraction;
        Some(net)
    }
}

/// The Jacobian ∂v_i/∂φ_m of the velocities of one state ([`Kinetics::velocities_and_jacobian`]):
/// the mixture and network quantities it needs, its entries on demand.
#[derive(Debug, Clone, Copy)]
pub struct VelocityJacobian<'k> {
    kin: &'k Kinetics,
    mix: Mixture,
    net: Option<Network>,
    /// b = M/K − e of the network closure (0 without it)
    b: f64,
}

/// The class constants of a list of Jacobian columns m, gathered once so that the entries
/// of a row are a pass over contiguous arrays ([`VelocityJacobian::block`]).
#[derive(Debug, Clone, Default)]
pub struct JacobianColumns {
    mobility: Vec<f64>,
    excess: Vec<f64>,
    diameter: Vec<f64>,
}

impl JacobianColumns {
    /// Room for `n` columns (so that [`JacobianColumns::set`] does not allocate).
    pub fn with_capacity(n: usize) -> Self {
        Self {
            mobility: Vec::with_capacity(n),
            excess: Vec::with_capacity(n),
            diameter: Vec::with_capacity(n),
        }
    }

    /// The columns `columns` of `kin`'s classes (allocates nothing within the capacity).
    pub fn set(&mut self, kin: &Kinetics, columns: &[usize]) {
        self.mobility.clear();
        self.excess.clear();
        self.diameter.clear();
        for &m in columns {
            self.mobility.push(kin.mobility[m]);
            self.excess.push(kin.excess[m]);
            self.diameter.push(kin.diameter[m]);
        }
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.mobility.len()
    }

    /// No columns.
    pub fn is_empty(&self) -> bool {
        self.mobility.is_empty()
    }
}

/// Which entries of ∂v/∂φ [`VelocityJacobian::fill`] writes, and where.
#[derive(Debug)]
enum Entries<'a> {
    /// the whole N × N matrix into `out`, row-major
    All,
    /// `out[r · C + c]` = ∂v_i/∂φ_m for i = `rows[r]` and the C columns m of `columns`, and
    /// `own[r]` = ∂v_i/∂φ_i when given
    Block {
        rows: &'a [usize],
        columns: &'a JacobianColumns,
        own: Option<&'a mut [f64]>,
    },
}

impl VelocityJacobian<'_> {
    /// The entries ∂v_i/∂φ_m for i in `rows` and the columns m of `columns` into `out`
    /// (row-major `rows.len()` × `columns.len()`), each bitwise the entry of the full matrix
    /// of [`Kinetics::velocities`].
    #[inline]
    pub fn block(&self, rows: &[usize], columns: &JacobianColumns, out: &mut [f64]) {
        self.fill(
            out,
            Entries::Block {
                rows,
                columns,
                own: None,
            },
        );
    }

    /// [`VelocityJacobian::block`], and the own derivatives ∂v_i/∂φ_i of the rows into `own`
    /// (`rows.len()`; bitwise the full matrix's diagonal).
    #[inline]
    pub fn block_and_diagonal(
        &self,
        rows: &[usize],
        columns: &JacobianColumns,
        out: &mut [f64],
        own: &mut [f64],
    ) {
        self.fill(
            out,
            Entries::Block {
                rows,
                columns,
                own: Some(own),
            },
        );
    }

    /// The entries `which` into `out`: per row its constants once, then each entry from the
    /// column's mobility, density excess and diameter (the same expressions for every kind
    /// of entries).
    #[inline]
    fn fill(&self, out: &mut [f64], which: Entries<'_>) {
        let kin = self.kin;
        let (mix, b) = (&self.mix, self.b);
        // the MLB part ∂v_i/∂φ_m = c′ w_i + c ∂w_i/∂φ_m, ∂w_i/∂φ_m = Δρ_m(K − k_i − k_m) + e k_m;
        // row constants (c′ w_i, K − k_i)
        let mlb_row = |i: usize| {
            let ki = kin.mobility[i];
            let w = ki * (kin.excess[i] - mix.excess) - mix.mean;
            (mix.factor_derivative * w, mix.mobility - ki)
        };
        let mlb = |(base, kdiff): (f64, f64), km: f64, dm: f64| {
            let dw = dm * (kdiff - km) + mix.excess * km;
            base + mix.factor * dw
        };
        match self.net {
            None => kin.fill_entries(out, which, mlb_row, |row, km, dm, _| mlb(row, km, dm)),
            Some(
                net @ Network {
                    ramp: Some((theta, theta_derivative)),
                    ..
                },
            ) => {
                // the contact ramp, q_i = θ (p_i − P):
                // ∂Δv_i/∂φ_m = −[(c′θ + cθ′) b (p_i − P) + cθ (∂b/∂φ_m)(p_i − P)
                //               + cθ b ∂(p_i − P)/∂φ_m],
                // ∂b/∂φ_m = k_m (Δρ_m − Δρ̂)/K − Δρ_m, Δρ̂ = M/K = b + e,
                // ∂(p_i − P)/∂φ_m = ([k_i > κ] − Φ₊)(κ − k_m)/φ − p_m.
                let (c, ct) = (mix.factor, mix.factor * theta);
                let dct = mix.factor_derivative * theta + c * theta_derivative;
                let hat = b + mix.excess;
                kin.fill_entries(
                    out,
                    which,
                    |i| {
                        let ki = kin.mobility[i];
                        let large = if ki > net.kappa { 1.0 } else { 0.0 };
                        let q = (ki - net.kappa).max(0.0) - net.held_sum;
                        (mlb_row(i), large, q)
                    },
                    |(row, large, q), km, dm, _| {
                        let db = km * (dm - hat) / mix.mobility - dm;
                        let dq = (large - net.large_fraction) * (net.kappa - km) / net.total
                            - (km - net.kappa).max(0.0);
                        mlb(row, km, dm) - (dct * b * q + ct * db * q + ct * b * dq)
                    },
                );
            }
            Some(net) => {
                // the pore closure, Δv_i = −c b q_i:
                // ∂Δv_i/∂φ_m = −[c′ b q_i + c (∂b/∂φ_m) q_i + c b ∂q_i/∂φ_m],
                // ∂b/∂φ_m = k_m (Δρ_m − Δρ̂)/K − Δρ_m, Δρ̂ = M/K = b + e,
                // ∂q_i/∂φ_m: see `Network::held_row`.
                let (c, dc) = (mix.factor, mix.factor_derivative);
                let hat = b + mix.excess;
                kin.fill_entries(
                    out,
                    which,
                    |i| {
                        let (ki, di) = (kin.mobility[i], kin.diameter[i]);
                        (mlb_row(i), net.held(ki, di), net.held_row(ki, di))
                    },
                    |(row, q, held), km, dm, sm| {
                        let db = km * (dm - hat) / mix.mobility - dm;
                        let dq = net.held_derivative(held, km, sm);
                        mlb(row, km, dm) - (dc * b * q + c * db * q + c * b * dq)
                    },
                );
            }
        }
    }
}

impl Kinetics {
    /// Writes `entry(row(i), k_m, Δρ_m, d_m)` for the entries `which` into `out`.
    #[inline(always)]
    fn fill_entries<R: Copy>(
        &self,
        out: &mut [f64],
        which: Entries<'_>,
        row: impl Fn(usize) -> R,
        entry: impl Fn(R, f64, f64, f64) -> f64,
    ) {
        let row_entries =
            |r: R, out: &mut [f64], (mobility, excess, diameter): (&[f64], &[f64], &[f64])| {
                for (((slot, &km), &dm), &sm) in
                    out.iter_mut().zip(mobility).zip(excess).zip(diameter)
                {
                    *slot = entry(r, km, dm, sm);
                }
            };
        match which {
            Entries::All => {
                let n = self.n;
                let all = (&self.mobility[..n], &self.excess[..n], &self.diameter[..n]);
                for (i, out) in out[..n * n].chunks_exact_mut(n).enumerate() {
                    row_entries(row(i), out, all);
                }
            }
            Entries::Block { rows, columns, own } => {
                let cols = (
                    &columns.mobility[..],
                    &columns.excess[..],
                    &columns.diameter[..],
                );
                let width = columns.len();
                match own {
                    None => {
                        if width == 0 {
                            return;
                        }
                        for (&i, out) in rows.iter().zip(out.chunks_exact_mut(width)) {
                            row_entries(row(i), out, cols);
                        }
                    }
                    Some(own) => {
                        for (r, (&i, slot)) in rows.iter().zip(own.iter_mut()).enumerate() {
                            let consts = row(i);
                            row_entries(consts, &mut out[r * width..(r + 1) * width], cols);
                            *slot =
                                entry(consts, self.mobility[i], self.excess[i], self.diameter[i]);
                        }
                    }
                }
            }
        }
    }
}

impl Kinetics {
    /// Coefficients of the consolidation velocity per unit stress gradient,
    /// h_i(φ) = c(φ) (1 − φ)/max(φ, φ_c) (K − k_i), into `h` (N), and ∂h_i/∂φ_m into `dh`
    /// (row-major N × N) when given.
    ///
    /// Derivation: the solid stress acts on every class in proportion to its share of the
    /// solids (Berres, Bürger, Karlsen & Tory, SIAM J Appl Math 64:41, 2003), i.e. Δρ_i becomes
    /// Δρ_i − σ_r/(a φ) for all i (σ_r = ∂σ_e/∂r). Then e → e − σ_r/a, M → M − K σ_r/(a φ),
    /// S → S − (σ_r/a) K (1 − φ)/φ, and the MLB velocity u_i = a c w_i gains
    /// c σ_r (1 − φ)/φ (K − k_i) = h_i σ_r, independent of a. For one class this is
    /// −c k (1 − φ)² σ_r/φ, the Bürger–Concha–Karlsen factor 1 − σ_r/(Δρ a φ) of the Kynch
    /// velocity. The floor φ_c in 1/φ only matters across a face whose other cell is
    /// stressed (σ_e = 0 below φ_c), where the stress gradient belongs to the denser cell.
    #[inline]
    pub fn compression_coefficients(
        &self,
        phi: &[f64],
        critical: f64,
        h: &mut [f64],
        dh: Option<&mut [f64]>,
    ) {
        let (mut tot, mut k) = (0.0, 0.0);
        for (&p, &kk) in phi.iter().zip(&self.mobility) {
            tot += p;
            k += kk * p;
        }
        let (v, dv) = self.velocity_factor(tot);
        let (c, dc) = (self.inv_18mu * v, self.inv_18mu * dv);
        let floor = tot.max(critical);
        let g = (1.0 - tot) / floor;
        let dg = if tot > critical {
            -1.0 / (tot * tot)
        } else {
            -1.0 / critical
        };
        let cg = c * g;
        let net = self.network(phi);
        // the network closure adds q_i to the bracket K − k_i (see `velocities`: the stress
        // enters b as −σ_r (1 − φ)/(a φ))
        for ((hi, &ki), &d) in h.iter_mut().zip(&self.mobility).zip(&self.diameter) {
            *hi = cg * Network::bracket_of(net, k, ki, d);
        }
        if let Some(dh) = dh {
            let n = self.n;
            let base = dc * g + c * dg;
            for i in 0..n {
                let ki = self.mobility[i];
                let diff = k - ki;
                let row = &mut dh[i * n..(i + 1) * n];
                match net {
                    None => {
                        for (slot, &km) in row.iter_mut().zip(&self.mobility) {
                            *slot = base * diff + cg * km;
                        }
                    }
                    Some(Network {
                        ramp: Some((theta, theta_derivative)),
                        kappa,
                        held_sum,
                        large_fraction,
                        total,
                        ..
                    }) => {
                        // the contact ramp, q_i = θ (p_i − P):
                        // ∂h_i/∂φ_m = (c′G + cG′)[K − k_i + θ (p_i − P)]
                        //             + cG [k_m + θ′ (p_i − P) + θ ∂(p_i − P)/∂φ_m]
                        let large = if ki > kappa { 1.0 } else { 0.0 };
                        let q = (ki - kappa).max(0.0) - held_sum;
                        let bracket = diff + theta * q;
                        for (slot, &km) in row.iter_mut().zip(&self.mobility) {
                            let dq = (large - large_fraction) * (kappa - km) / total
                                - (km - kappa).max(0.0);
                            *slot = base * bracket + cg * (km + theta_derivative * q + theta * dq);
                        }
                    }
                    Some(net) => {
                        // the pore closure:
                        // ∂h_i/∂φ_m = (c′G + cG′)[K − k_i + q_i] + cG [k_m + ∂q_i/∂φ_m]
                        let di = self.diameter[i];
                        let bracket = diff + net.held(ki, di);
                        let held = net.held_row(ki, di);
                        for ((slot, &km), &dm) in
                            row.iter_mut().zip(&self.mobility).zip(&self.diameter)
                        {
                            *slot = base * bracket + cg * (km + net.held_derivative(held, km, dm));
                        }
                    }
                }
            }
        }
    }
}

/// One cell's mixture as a test particle (a tracer cell) feels it in the implicit scheme's
/// closures: the velocity factor with the bed mobility and the packing ramp, the network
/// closure and the consolidation coefficient, so that a particle with the constants of a class
/// moves exactly as that class does (bitwise [`Kinetics::velocities_and_compression`]).
/// Computed once per cell and state by [`Kinetics::test_particle_cell`]; evaluated per
/// particle by [`TestParticleCell::velocity`] and [`TestParticleCell::compression`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TestParticleCell {
    /// c = V_ε/(18μ)
    factor: f64,
    /// e = ρ_s − ρ_f
    excess: f64,
    /// S = M − eK
    mean: f64,
    /// K = Σ k_j φ_j
    mobility: f64,
    /// c (1 − φ)/max(φ, φ_c) (0 without consolidation)
    compression: f64,
    /// the network closure where it acts
    network: Option<Network>,
}

impl TestParticleCell {
    /// Velocity per unit acceleration of a particle of mobility `k` = d²N^⅔/χ (m²), density
    /// excess `excess` = ρ − ρ_f (kg/m³) and hydrodynamic diameter `d` = d N^⅓ (m):
    /// v = c [k(Δρ − e) − S] − c b q(k, d), the arithmetic of
    /// [`Kinetics::velocities_and_compression`] for one class.
    #[inline]
    pub fn velocity(&self, k: f64, excess: f64, d: f64) -> f64 {
        let c = self.factor;
        let v = c * (k * (excess - self.excess) - self.mean);
        match self.network {
            Some(net) => v - net.velocity_correction(c, self.mean / self.mobility, k, d),
            None => v,
        }
    }

    /// The particle's consolidation coefficient h (velocity per unit stress gradient,
    /// m/s per Pa/m) of [`Kinetics::compression_coefficients`]; 0 without consolidation.
    #[inline]
    pub fn compression(&self, k: f64, d: f64) -> f64 {
        self.compression * Network::bracket_of(self.network, self.mobility, k, d)
    }
}

impl Kinetics {
    /// The test-particle view of state `phi` (N values); `critical`: φ_c of the consolidation
    /// (`None` without it: no compression coefficient).
    #[inline]
    pub fn test_particle_cell(&self, phi: &[f64], critical: Option<f64>) -> TestParticleCell {
        let (tot, e, k, m) = self.sums(phi);
        let (vf, _) = self.velocity_factor(tot);
        let c = self.inv_18mu * vf;
        let compression = critical.map_or(0.0, |critical| {
            let floor = tot.max(critical);
            c * ((1.0 - tot) / floor)
        });
        TestParticleCell {
            factor: c,
            excess: e,
            mean: m - e * k,
            mobility: k,
            compression,
            network: self.network(phi),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use buffycoat_physics::hindrance::{MlbClass, mlb_velocities};

    fn classes() -> Vec<Class> {
        vec![
            Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.4),
            Class::new("lymphocyte", 7.8e-6, 1075.0, 1.0, 0.001),
            Class::new("platelet", 2.4e-6, 1070.0, 1.04, 0.002),
        ]
    }

    #[test]
    fn velocities_match_physics_and_jacobian_matches_differences() {
        let fluid = Fluid::plasma_37c();
        let law = HindranceLaw::hawksley_vand(0.95).unwrap();
        let c = classes();
        let kin = Kinetics::new(&c, &fluid, law, 0.01);
        let mlb: Vec<MlbClass> = c
            .iter()
            .map(|c| MlbClass {
                diameter: c.diameter,
                density: c.density,
                shape_factor: c.shape_factor,
            })
            .collect();
        for phi in [
            [0.4, 0.001, 0.002],
            [0.8, 0.05, 0.01],
            [0.935, 0.005, 0.001],
        ] {
            let mut v = [0.0; 3];
            let mut dv = [0.0; 9];
            kin.velocities(&phi, &mut v, Some(&mut dv));
            let mut u = [0.0; 3];
            mlb_velocities(
                &law,
                1.0,
                fluid.density,
                fluid.viscosity,
                &mlb,
                &phi,
                &mut u,
            );
            let total: f64 = phi.iter().sum();
            let ramp = ((0.95 - total) / 0.01).clamp(0.0, 1.0);
            for i in 0..3 {
                assert!((v[i] - ramp * u[i]).abs() <= 1e-13 * u[i].abs(), "{phi:?}");
            }
            for m in 0..3 {
                let h = 1e-7;
                let (mut p, mut q) = (phi, phi);
                p[m] += h;
                q[m] -= h;
                let (mut vp, mut vq) = ([0.0; 3], [0.0; 3]);
                kin.velocities(&p, &mut vp, None);
                kin.velocities(&q, &mut vq, None);
                for i in 0..3 {
                    let fd = (vp[i] - vq[i]) / (2.0 * h);
                    let scale = dv[i * 3 + m].abs().max(1e-3 * v[i].abs() / 0.01);
                    assert!(
                        (fd - dv[i * 3 + m]).abs() <= 1e-5 * scale,
                        "{phi:?} i={i} m={m}: {fd} vs {}",
                        dv[i * 3 + m]
                    );
                }
            }
        }
    }

    /// The consolidation coefficients reduce to −c k (1 − φ)²/φ for one class, and their
    /// Jacobian matches central differences.
    #[test]
    fn compression_coefficients_match_one_class_and_differences() {
        let fluid = Fluid::plasma_37c();
        let law = HindranceLaw::hawksley_vand(0.98).unwrap();
        let one = [Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.4)];
        let kin = Kinetics::new(&one, &fluid, law, 0.01);
        let mut h = [0.0];
        kin.compression_coefficients(&[0.8], 0.55, &mut h, None);
        let (v, _) = kin.velocity_factor(0.8);
        let want = -kin.inv_18mu * v * one[0].mobility() * 0.2 * 0.2 / 0.8;
        assert!((h[0] - want).abs() <= 1e-14 * want.abs(), "{} {want}", h[0]);
        let c = classes();
        let kin = Kinetics::new(&c, &fluid, law, 0.01);
        for phi in [[0.4, 0.001, 0.002], [0.8, 0.05, 0.01], [0.9, 0.005, 0.001]] {
            let mut h = [0.0; 3];
            let mut dh = [0.0; 9];
            kin.compression_coefficients(&phi, 0.55, &mut h, Some(&mut dh));
            for m in 0..3 {
                let e = 1e-7;
                let (mut p, mut q) = (phi, phi);
                p[m] += e;
                q[m] -= e;
                let (mut hp, mut hq) = ([0.0; 3], [0.0; 3]);
                kin.compression_coefficients(&p, 0.55, &mut hp, None);
                kin.compression_coefficients(&q, 0.55, &mut hq, None);
                for i in 0..3 {
                    let fd = (hp[i] - hq[i]) / (2.0 * e);
                    let scale = dh[i * 3 + m].abs().max(1e-3 * h[i].abs());
                    assert!(
                        (fd - dh[i * 3 + m]).abs() <= 1e-5 * scale,
                        "{phi:?} i={i} m={m}: {fd} vs {}",
                        dh[i * 3 + m]
                    );
                }
            }
        }
    }

    /// The network closure: nothing changes for one class or below φ_c − w; above φ_c a
    /// large cell's slip relative to the network's cells is its buoyant slip
    /// c k_i (Δρ_i − Δρ̂) (per unit acceleration, no stress); the Jacobians of the velocities
    /// and of the consolidation coefficients match central differences, also on the ramp.
    /// The fused pass of the residual is bitwise the separate velocity and compression
    /// calls, with and without the network closure, below, across and above the contact
    /// fraction and at the packing ramp — and so is a test particle (a tracer cell,
    /// [`TestParticleCell`]) with a class's constants: the tracers of a consolidating field
    /// see the field's own closures.
    #[test]
    fn fused_velocities_and_compression_are_bitwise_the_separate_calls() {
        let fluid = Fluid::plasma_37c();
        let law = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
        let c = classes();
        for (network, width) in [
            (NetworkClosure::ContactRamp, 0.0),
            (NetworkClosure::ContactRamp, 0.05),
            (NetworkClosure::PoreSize, 0.05),
            (NetworkClosure::Off, 0.05),
        ] {
            let mut bed = Consolidation::red_cells();
            bed.network = network;
            bed.network_width = width;
            for kin in [
                Kinetics::new(&c, &fluid, law, 0.01),
                Kinetics::new(&c, &fluid, law, 0.01).with_bed(&bed),
            ] {
                for phi in [
                    [0.0, 0.0, 0.0],
                    [0.3, 0.001, 1e-9],
                    [0.52, 0.004, 0.002],
                    [0.58, 0.01, 0.001],
                    [0.9, 0.005, 0.001],
                    [0.975, 0.004, 0.0],
                ] {
                    let (mut v, mut h) = ([0.0; 3], [0.0; 3]);
                    let (mut v2, mut h2) = ([1.0; 3], [1.0; 3]);
                    kin.velocities(&phi, &mut v, None);
                    kin.compression_coefficients(&phi, 0.55, &mut h, None);
                    kin.velocities_and_compression(&phi, 0.55, &mut v2, &mut h2);
                    // a test particle (tracer) with a class's constants: that class
                    let cell = kin.test_particle_cell(&phi, Some(0.55));
                    for k in 0..3 {
                        assert_eq!(v[k].to_bits(), v2[k].to_bits(), "v {phi:?}");
                        assert_eq!(h[k].to_bits(), h2[k].to_bits(), "h {phi:?}");
                        let (mob, dx, d) = (kin.mobility[k], kin.excess[k], kin.diameter[k]);
                        assert_eq!(cell.velocity(mob, dx, d).to_bits(), v[k].to_bits());
                        assert_eq!(cell.compression(mob, d).to_bits(), h[k].to_bits());
                    }
                    let plain = kin.test_particle_cell(&phi, None);
                    assert_eq!(plain.compression(kin.mobility[1], kin.diameter[1]), 0.0);
                }
            }
        }
    }

    /// The entries of a partitioned Jacobian (coupled rows and columns, the decoupled rows
    /// over the coupled columns, their own derivatives) are bitwise the full matrix's, with
    /// and without the network closure, for several partitions and states (the full matrix
    /// is the one the difference tests above check).
    #[test]
    fn jacobian_blocks_are_bitwise_the_full_matrix() {
        let fluid = Fluid::plasma_37c();
        let law = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
        let mut c = classes();
        c.push(Class::new("monocyte", 9.0e-6, 1065.0, 1.0, 0.0004));
        c.push(Class::new("rbc light", 5.4e-6, 1090.0, 1.09, 0.05));
        let n = c.len();
        for network in [
            NetworkClosure::Off,
            NetworkClosure::ContactRamp,
            NetworkClosure::PoreSize,
        ] {
            let bed = Consolidation {
                network,
                network_width: 0.05,
                ..Consolidation::red_cells()
            };
            let kin = Kinetics::new(&c, &fluid, law, 0.01).with_bed(&bed);
            let mut columns = JacobianColumns::with_capacity(n);
            for phi in [
                [0.3, 0.001, 0.002, 1e-4, 0.05],
                [0.52, 0.004, 0.002, 1e-3, 0.02],
                [0.8, 0.05, 0.01, 1e-3, 0.05],
                [0.9, 0.005, 0.001, 0.0, 0.04],
            ] {
                let (mut v, mut full) = ([0.0; 5], [0.0; 25]);
                kin.velocities(&phi, &mut v, Some(&mut full));
                for major in [&[0, 4][..], &[0, 2, 4], &[1, 3], &[0, 1, 2, 3, 4], &[]] {
                    let minor: Vec<usize> = (0..n).filter(|i| !major.contains(i)).collect();
                    columns.set(&kin, major);
                    let mut w = [0.0; 5];
                    let jacobian = kin.velocities_and_jacobian(&phi, &mut w);
                    assert_eq!(v.map(f64::to_bits), w.map(f64::to_bits));
                    let (nm, nq) = (major.len(), minor.len());
                    let mut coupled = vec![f64::NAN; nm * nm];
                    let mut rows = vec![f64::NAN; nq * nm];
                    let mut own = vec![f64::NAN; nq];
                    jacobian.block(major, &columns, &mut coupled);
                    jacobian.block_and_diagonal(&minor, &columns, &mut rows, &mut own);
                    for (a, &i) in major.iter().enumerate() {
                        for (b, &m) in major.iter().enumerate() {
                            assert_eq!(coupled[a * nm + b].to_bits(), full[i * n + m].to_bits());
                        }
                    }
                    for (q, &i) in minor.iter().enumerate() {
                        for (b, &m) in major.iter().enumerate() {
                            assert_eq!(rows[q * nm + b].to_bits(), full[i * n + m].to_bits());
                        }
                        assert_eq!(own[q].to_bits(), full[i * n + i].to_bits());
                    }
                }
            }
        }
    }

    /// The network closure (contact ramp and pore size): nothing changes for one class or
    /// below φ_c − w (ramp) / at φ = 0 (pores); well inside a bed a large cell's slip relative
    /// to the network's cells is its buoyant slip c k_i (Δρ_i − Δρ̂) (per unit acceleration, no
    /// stress); the Jacobians of the velocities and of the consolidation coefficients match
    /// central differences, also on the ramps (the contact ramp in φ, the pore weight in
    /// λ = d_i/d_h, across λ = 1 and in the dilute limit).
    #[test]
    fn network_closure_holds_large_cells_and_jacobians_match_differences() {
        let fluid = Fluid::plasma_37c();
        let law = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
        for network in [NetworkClosure::ContactRamp, NetworkClosure::PoreSize] {
            let mut bed = Consolidation::red_cells();
            bed.network = network;
            bed.network_width = 0.05;
            let one = [Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.4)];
            let (plain, held) = (
                Kinetics::new(&one, &fluid, law, 0.01).with_bed(&Consolidation {
                    network: NetworkClosure::Off,
                    ..bed
                }),
                Kinetics::new(&one, &fluid, law, 0.01).with_bed(&bed),
            );
            for phi in [0.05, 0.45, 0.53, 0.8] {
                let (mut a, mut b) = ([0.0], [0.0]);
                plain.velocities(&[phi], &mut a, None);
                held.velocities(&[phi], &mut b, None);
                assert!((a[0] - b[0]).abs() <= 1e-12 * a[0].abs(), "{phi}");
                plain.compression_coefficients(&[phi], 0.55, &mut a, None);
                held.compression_coefficients(&[phi], 0.55, &mut b, None);
                assert!((a[0] - b[0]).abs() <= 1e-12 * a[0].abs(), "{phi}");
            }
            let c = classes();
            let kin = Kinetics::new(&c, &fluid, law, 0.01).with_bed(&bed);
            // well inside the bed, a trace lymphocyte moves relative to the red cells with its
            // buoyant slip against the solids' mean density
            let phi = [0.8, 1e-9, 1e-9];
            let mut v = [0.0; 3];
            kin.velocities(&phi, &mut v, None);
            let (fac, _) = kin.velocity_factor(0.8);
            let want = kin.inv_18mu * fac * c[1].mobility() * (c[1].density - c[0].density);
            let got = v[1] - v[0];
            assert!((got - want).abs() <= 1e-6 * want.abs(), "{got} vs {want}");
            assert!(got < 0.0, "the lighter, larger cell rises through the bed");
            for phi in [
                [1e-4, 1e-4, 1e-4],
                [0.05, 0.002, 0.003],
                [0.2, 0.004, 0.002],
                // λ = 1 for the lymphocyte near φ ≈ 0.32
                [0.3, 0.004, 0.002],
                [0.33, 0.004, 0.002],
                [0.52, 0.004, 0.002],
                [0.535, 0.01, 0.001],
                [0.58, 0.01, 0.001],
                [0.7, 0.05, 0.01],
                [0.9, 0.005, 0.001],
            ] {
                let (mut v, mut dv) = ([0.0; 3], [0.0; 9]);
                let (mut h, mut dh) = ([0.0; 3], [0.0; 9]);
                kin.velocities(&phi, &mut v, Some(&mut dv));
                kin.compression_coefficients(&phi, 0.55, &mut h, Some(&mut dh));
                for m in 0..3 {
                    let e = (1e-8f64).min(0.01 * phi[m]);
                    let (mut p, mut q) = (phi, phi);
                    p[m] += e;
                    q[m] -= e;
                    let (mut vp, mut vq, mut hp, mut hq) = ([0.0; 3], [0.0; 3], [0.0; 3], [0.0; 3]);
                    kin.velocities(&p, &mut vp, None);
                    kin.velocities(&q, &mut vq, None);
                    kin.compression_coefficients(&p, 0.55, &mut hp, None);
                    kin.compression_coefficients(&q, 0.55, &mut hq, None);
                    for i in 0..3 {
                        let fd = (vp[i] - vq[i]) / (2.0 * e);
                        let scale = dv[i * 3 + m].abs().max(1e-3 * v[i].abs());
                        assert!(
                            (fd - dv[i * 3 + m]).abs() <= 1e-5 * scale,
                            "{network:?} v {phi:?} i={i} m={m}: {fd} vs {}",
                            dv[i * 3 + m]
                        );
                        let fd = (hp[i] - hq[i]) / (2.0 * e);
                        let scale = dh[i * 3 + m].abs().max(1e-3 * h[i].abs());
                        assert!(
                            (fd - dh[i * 3 + m]).abs() <= 1e-5 * scale,
                            "{network:?} h {phi:?} i={i} m={m}: {fd} vs {}",
                            dh[i * 3 + m]
                        );
                    }
                }
            }
        }
    }

    /// The pore closure holds a cell by the size of the pores between the others: a trace
    /// lymphocyte (7.8 µm) among red cells (5.5 µm) is free in plasma (the MLB velocities),
    /// partly held in a dilute suspension and fully held from λ = d/d_h = 1 (φ ≈ 0.32 with
    /// d_h = (2/3) d_r (1 − φ)/φ) — where it rises relative to the red cells with its
    /// buoyant slip, while the MLB closure alone drags it down with the settling red cells;
    /// platelets (smaller than the red cells) keep their MLB velocities.
    #[test]
    fn pore_closure_holds_cells_larger_than_the_pores() {
        let fluid = Fluid::plasma_37c();
        let law = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
        let c = classes();
        let bed = Consolidation {
            network: NetworkClosure::PoreSize,
            ..Consolidation::red_cells()
        };
        let off = Kinetics::new(&c, &fluid, law, 0.01).with_bed(&Consolidation {
            network: NetworkClosure::Off,
            ..bed
        });
        let kin = Kinetics::new(&c, &fluid, law, 0.01).with_bed(&bed);
        let relative = |k: &Kinetics, red: f64| {
            let mut v = [0.0; 3];
            k.velocities(&[red, 1e-9, 1e-9], &mut v, None);
            (v[1] - v[0], v[2], v[0])
        };
        // the pore diameter and the size ratio at which the lymphocyte is fully held
        let held_from = 1.0 / (1.0 + 1.5 * c[1].diameter / c[0].diameter);
        assert!((held_from - 0.32).abs() < 0.01, "{held_from}");
        // dilute: the pores are far wider than the cell, MLB within 0.1 %
        let (a, pa, _) = relative(&off, 1e-3);
        let (b, pb, _) = relative(&kin, 1e-3);
        assert!((a - b).abs() <= 1e-3 * a.abs(), "{a} vs {b}");
        assert!(
            (pa - pb).abs() <= 1e-12 * pa.abs(),
            "platelets: {pa} vs {pb}"
        );
        for red in [0.35, 0.415] {
            let (a, _, _) = relative(&off, red);
            let (b, _, _) = relative(&kin, red);
            // held: its buoyant slip against the red cells, upward
            let (fac, _) = kin.velocity_factor(red + 2e-9);
            let want = kin.inv_18mu * fac * c[1].mobility() * (c[1].density - c[0].density);
            assert!(
                (b - want).abs() <= 1e-5 * want.abs(),
                "{red}: {b} vs {want}"
            );
            assert!(
                b < 0.0 && a > 0.0,
                "{red}: MLB {a} (sinks), held {b} (rises)"
            );
        }
        // partly held in between, monotone in φ
        let mid: Vec<f64> = [0.05, 0.1, 0.2, 0.3]
            .iter()
            .map(|&red| {
                let (a, _, _) = relative(&off, red);
                let (b, _, _) = relative(&kin, red);
                (a - b) / a.abs()
            })
            .collect();
        assert!(mid.windows(2).all(|w| w[1] > w[0] && w[0] > 0.0), "{mid:?}");
    }
}
