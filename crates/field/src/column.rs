//! One backward-Euler step of the radial MLB transport on a column of cells, solved by a
//! safeguarded modified Newton method with an analytic block-tridiagonal Jacobian.
//!
//! ## Equations
//! For cells j = 0 … J − 1 with measure m_j, classes i, the step from φ* over Δt solves
//!
//! G_j = m_j (φ_j − φ*_j) + Δt (F_{j+½} − F_{j−½}) = 0,  F_{½} = F_{J−½} = 0 (walls),
//!
//! with the face flux (face f between L = f − 1 and R = f, acceleration a_f = ω² r_f)
//!
//! F_{f,i} = a_f [φ_{i,L} max(v_i(φ_R), 0) + φ_{i,R} min(v_i(φ_L), 0)],
//!
//! v_i the MLB velocity per unit acceleration ([`crate::kinetics`]): a cell leaves its cell
//! with the velocity it would have in the cell it enters. For one class with v ≥ 0 and
//! decreasing in φ this is the monotone scheme F = φ_L v(φ_R) for kinematic flows (Zhang,
//! Transp Res B 35:337, 2001; Bürger, García, Karlsen & Towers, J Eng Math 60:387, 2008 —
//! citations unconfirmed); where the velocities of a class converge
//! (v_i(φ_L) > 0 > v_i(φ_R)) the face flux is 0 and the class accumulates — how the buffy coat
//! collects at the top of the red-cell bed. Consistent (F = φ u for equal states) and first
//! order in Δξ.
//!
//! ## Guarantees (of the converged step)
//! - **conservation**: the new state is φ_j = φ*_j − Δt/m_j (F_{j+½} − F_{j−½}) with the fluxes
//!   of the last Newton iterate, so Σ_j m_j φ_{j,i} is conserved to round-off whatever the
//!   Newton tolerance (round-off negatives of order tolerance × scale are clipped and counted
//!   in [`NewtonStats::clipped`]);
//! - **positivity**: every flux of class i is φ_{i,L}·(≥ 0) − φ_{i,R}·(≥ 0), so for frozen
//!   coefficients each class solves an M-matrix system with a non-negative right-hand side:
//!   φ_i ≥ 0 for any Δt;
//! - **packing**: every inflow into a cell carries that cell's v, which vanishes at φ_max
//!   (packing ramp), so a cell can only lose volume once Σφ ≥ φ_max: Σφ ≤ φ_max for any Δt.
//!
//! ## Newton
//! Iterates are projected onto these bounds (φ_i ≥ 0, Σφ ≤ φ_max). The Jacobian blocks are
//! ∂F_f/∂φ_L = diag(v(R)⁺) + [v_i(L) < 0] φ_{i,R} ∂v_i(L)/∂φ_m and
//! ∂F_f/∂φ_R = [v_i(R) > 0] φ_{i,L} ∂v_i(R)/∂φ_m + diag(v(L)⁻).
//!
//! - *Decoupled minor classes* ([`ColumnStep::major`]; the channel's
//!   `ImplicitSettings::coupling_threshold`): the
//!   derivatives with respect to classes with a small inlet fraction (platelets, white cells)
//!   are dropped except each class's own, which makes the Jacobian block-lower-triangular:
//!   a block-tridiagonal system for the major classes (red cells; N_M × N_M blocks, block
//!   Thomas elimination with LU-factored (partially pivoted) pivot blocks, kernels
//!   monomorphised for N_M ≤ 16), then one scalar tridiagonal (Thomas) per minor class with the major update on
//!   the right-hand side (with consolidation also its σ_e and h coupling, see
//!   `assemble_minor_compression`). The residual is exact, so the converged solution is
//!   unchanged.
//! - *Parallel passes*: on columns of at least `SPLIT_CELLS` (1024) cells the per-cell closure
//!   evaluations of the residual and of the Jacobian assembly run in two halves
//!   (`rayon::join` in the caller's pool); every cell's values are computed alone, so the
//!   result is bitwise the same for any thread count. The block factorisation and solves
//!   stay sequential.
//! - *Modified Newton*: a factorisation is reused across iterations, steps and (in the
//!   transient) columns until the residual contracts by less than `REFRESH_RATIO` (0.1).
//! - *Line search*: backtracking (Armijo) on the scaled ‖G‖₂²; convergence is tested on the
//!   scaled max-norm max |G_ij|/(m_j s_i) ≤ tolerance.
//! - *Fallbacks*: a step that fails is retried with the exact Jacobian, then subdivided into
//!   halves (counted in [`NewtonStats`]; none occur in the tests' steady solves).
//! - *Irreversible consolidation* ([`Compression::preconsolidation`]): each solve holds one
//!   smooth branch of the kinked stress law per cell and checks the law itself at the end
//!   (`ColumnSolver::solve`; docs/physics.md §9.2).

use crate::kinetics::{JacobianColumns, Kinetics};
use buffycoat_physics::consolidation::{SolidStress, StressBranch};

/// A modified-Newton iteration whose residual shrinks by less than this factor refreshes the
/// Jacobian (0.1: measured fastest for whole blood, 100 × 200 cells, 8 classes).
const REFRESH_RATIO: f64 = 0.1;

/// Rounds of branch switching in one solve with irreversible consolidation before the solve
/// continues with the kinked law itself ([`ColumnSolver::solve`]).
const MAX_BRANCH_ROUNDS: usize = 4;

/// Parameters of one column step.
#[derive(Debug, Clone, Copy)]
pub struct ColumnStep<'a> {
    /// class constants and the velocity closure
    pub kin: &'a Kinetics,
    /// face accelerations a_f (J + 1), walls included (unused)
    pub accel: &'a [f64],
    /// cell measures m_j (J)
    pub measure: &'a [f64],
    /// 1/s_i per class (N)
    pub inv_scale: &'a [f64],
    /// convergence tolerance on max |G_ij|/(m_j s_i)
    pub tolerance: f64,
    /// Newton iterations allowed
    pub max_iterations: usize,
    /// halvings allowed
    pub max_subdivisions: usize,
    /// per class: coupled in the approximate Jacobian (true for all: exact Newton)
    pub major: &'a [bool],
    /// sediment consolidation (effective solid stress); `None`: pure MLB transport
    pub compression: Option<Compression<'a>>,
    /// shear-induced diffusion across the column; `None`: none (the tube and sector fields,
    /// which are not sheared; bitwise the solver without the term)
    pub diffusion: Option<Diffusion<'a>>,
    /// second-order limited reconstruction of the settling flux ([`Reconstruction`]);
    /// `None`: the first-order flux of the module documentation (the tube and sector fields;
    /// bitwise the solver without it)
    pub reconstruction: Option<Reconstruction<'a>>,
}

/// Slope limiter of [`Reconstruction`]: the limited slope σ = L(s₋, s₊) of a cell from its
/// one-sided difference quotients s₋ (towards the far neighbour) and s₊ (towards the face).
/// Both vanish unless s₋ s₊ > 0 (no new extrema: a cell at a local extremum keeps a flat
/// state) and satisfy |σ| ≤ 2 min(|s₋|, |s₊|) (the face state stays between the two cells'
/// values on a uniform grid; a clamp enforces it on any grid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    /// minmod: σ = sign · min(|s₋|, |s₊|) (the most dissipative TVD limiter; Roe 1986,
    /// van Leer 1979)
    Minmod,
    /// van Leer's harmonic mean σ = 2 s₋ s₊/(s₋ + s₊) (smooth for s₋ s₊ > 0; van Leer,
    /// J Comput Phys 14:361, 1974)
    VanLeer,
}

impl Limiter {
    /// σ = L(a, b).
    #[inline]
    pub fn slope(self, a: f64, b: f64) -> f64 {
        if a * b <= 0.0 {
            return 0.0;
        }
        match self {
            Self::Minmod => {
                if a > 0.0 {
                    a.min(b)
                } else {
                    a.max(b)
                }
            }
            Self::VanLeer => 2.0 * a * b / (a + b),
        }
    }
}

/// Second-order (MUSCL) settling flux in the dense part of the column (the red-cell bed).
///
/// The first-order flux F = a [φ_L v(φ_R)⁺ + φ_R v(φ_L)⁻] of the module documentation has
/// the truncation error F − a φv|_f = ½ a Δξ (φ ∂v/∂ξ − v ∂φ/∂ξ) + O(Δξ²): in the bed, where φ
/// grows and v falls towards the wall, it under-estimates the settling flux and the bed
/// compacts too slowly (docs/physics.md §10.8). At the faces selected below the flux becomes
///
/// F_{f,i} = a_f [φ⁺_{i,L} (v⁻_{i,R})⁺ + φ⁻_{i,R} (v⁺_{i,L})⁻],
///
/// with the face states of a piecewise-linear reconstruction (MUSCL; van Leer, J Comput Phys
/// 32:101, 1979) of both the fraction φ_i and the cell velocity v_i = v_i(φ_j) of each class
/// (the velocities of the cells are already known, so no closure is evaluated at face
/// states): for cell j towards face f, q_f = q_j + ½ Δξ_j L(s₋, s₊), s the difference
/// quotients over the centre distances to the far and the near neighbour, L the [`Limiter`],
/// the result clamped between q_j and the near neighbour's value, and q_f = 0 if q_j = 0.
/// For smooth φ, v this is second order in Δξ (φ⁺v⁻ = φv|_f + O(Δξ²)); piecewise-linear
/// limited reconstructions of this kind for polydisperse settling: Bürger, Fjelde, Höfler &
/// Karlsen (J Eng Math 41:167, 2001; there with central Nessyahu–Tadmor fluxes), here in
/// the upwind form of this solver.
///
/// *Lagged, multiplicative face states.* The limiter is not differentiable and a clamp to
/// the current neighbours makes Newton stall (measured: 4–15× the Newton iterations of the
/// first-order flux). So the slopes come from the state φ* at the start of the step (the
/// previous station of the channel march) and enter as ratios ρ = q*_f/q*_j ∈ [0, 2]
/// (q*_f between q*_j and its neighbour; ρ = 1 where q*_j = 0): the step's face state is
/// q_f = ρ q_j, linear in the cell value. The residual is then as smooth as the first-order
/// one and its exact Jacobian is the first-order block-tridiagonal one with every face
/// coefficient multiplied by its ρ (assembled so; Newton counts equal to first order). The
/// lag changes the face states by O(Δξ Δτ). A class absent from a cell does not leave it and
/// a packed cell (v = 0 for every class) receives nothing (q_j = 0 ⇒ q_f = 0), so the
/// positivity and packing arguments of the module hold for the face states; the
/// conservative update clips what round-off leaves ([`NewtonStats::clipped`]).
///
/// *Where*: at the faces whose stencil cells f − 2 … f + 1 (those inside the walls) all hold
/// a total fraction ≥ [`Reconstruction::min_total`] in φ*; a cell at a wall takes the
/// one-sided difference towards the interior as its slope. Elsewhere (the dilute
/// suspension, the sheets of platelets and white cells on the bed) the first-order flux.
#[derive(Debug, Clone, Copy)]
pub struct Reconstruction<'a> {
    /// cell widths Δξ_j (J) in the coordinate of the face fluxes (m)
    pub width: &'a [f64],
    /// the slope limiter
    pub limiter: Limiter,
    /// reconstruct at faces whose stencil cells all hold at least this total fraction at the
    /// start of the step (0: everywhere)
    pub min_total: f64,
}

impl Reconstruction<'_> {
    /// The face ratios of the step from the start state `star` and its cell velocities
    /// `v_star` (J × N): `inc` ((J + 1) × 4 × N, per face f the [`face_ratio`]s of φ⁺_L, φ⁻_R,
    /// v⁺_L, v⁻_R), 1 at the faces that are not reconstructed.
    fn ratios(
        self,
        star: &[f64],
        v_star: &[f64],
        inc: &mut [f64],
        faces: &mut Vec<usize>,
        n: usize,
    ) {
        let w = self.width;
        let cells = w.len();
        inc.fill(1.0);
        faces.clear();
        if cells < 3 {
            return;
        }
        let total = |j: usize| -> f64 { star[j * n..(j + 1) * n].iter().sum() };
        // whether cell j is dense, for the stencil f − 2 … f + 1 (cells beyond a wall do not
        // count); the window moves along the faces
        let is_dense = |j: usize| total(j) >= self.min_total;
        let mut win = [true, is_dense(0), is_dense(1), is_dense(2)];
        for f in 1..cells {
            if f > 1 {
                win.rotate_left(1);
                win[3] = f + 1 >= cells || is_dense(f + 1);
            }
            if !win.iter().all(|&d| d) {
                continue;
            }
            faces.push(f);
            let (l, r) = (f - 1, f);
            let d_c = 0.5 * (w[l] + w[r]);
            let out = &mut inc[f * 4 * n..(f + 1) * 4 * n];
            for (k, x) in [star, v_star].into_iter().enumerate() {
                for i in 0..n {
                    let q = |j: usize| x[j * n + i];
                    let jump = q(r) - q(l);
                    // a cell at a wall: the one-sided slope towards the interior
                    let sl = if f >= 2 {
                        let d_l = 0.5 * (w[f - 2] + w[l]);
                        self.limiter.slope((q(l) - q(f - 2)) / d_l, jump / d_c)
                    } else {
                        jump / d_c
                    };
                    let sr = if f + 1 < cells {
                        let d_r = 0.5 * (w[r] + w[f + 1]);
                        self.limiter.slope(jump / d_c, (q(f + 1) - q(r)) / d_r)
                    } else {
                        jump / d_c
                    };
                    // the start state's face values between the two cells (a no-op on
                    // uniform grids)
                    let (lo, hi) = (jump.min(0.0), jump.max(0.0));
                    let inc_l = (0.5 * w[l] * sl).max(lo).min(hi);
                    let inc_r = (-0.5 * w[r] * sr).max(-hi).min(-lo);
                    out[2 * k * n + i] = face_ratio(q(l), inc_l);
                    out[(2 * k + 1) * n + i] = face_ratio(q(r), inc_r);
                }
            }
        }
    }
}

/// The ratio ρ = q_f/q_j of the start state's face value q_f = q_j + `inc` to its cell value
/// q_j = `own`, bounded to [0, 2] (1 if q_j = 0). The step's face state is ρ q_j: linear in
/// the cell value, so the residual stays as smooth as the first-order one for Newton, an
/// empty cell emits nothing and a packed cell (v = 0) receives nothing.
#[inline]
fn face_ratio(own: f64, inc: f64) -> f64 {
    if own == 0.0 {
        1.0
    } else {
        ((own + inc) / own).clamp(0.0, 2.0)
    }
}

/// The face ratios (ρ of φ⁺_L, φ⁻_R, v⁺_L, v⁻_R) of class `i` at face `f`
/// ([`Reconstruction::ratios`]).
#[inline]
fn face_ratios(ratio: &[f64], f: usize, i: usize, n: usize) -> [f64; 4] {
    let b = f * 4 * n + i;
    [ratio[b], ratio[b + n], ratio[b + 2 * n], ratio[b + 3 * n]]
}

/// The consolidation term of a column step: the effective solid stress σ_e(φ) of the total
/// solids fraction and the face conductances.
///
/// Face flux added to class i at face f (L = f − 1, R = f), with the stress gradient
/// D_f = (σ_e(φ_R) − σ_e(φ_L)) A_f/Δr_f and the coefficients h_i of
/// [`Kinetics::compression_coefficients`] (velocity per unit stress gradient):
///
/// F^c_{f,i} = φ_{i,L} (h_i(R) D_f)⁺ + φ_{i,R} (h_i(L) D_f)⁻,
///
/// upwinded like the settling flux (a class leaves a cell with the coefficient of the cell it
/// enters, whose c(φ) vanishes at φ_max), so the positivity and packing arguments of the
/// module documentation hold unchanged. For one class it is the Bürger–Concha–Karlsen
/// degenerate diffusion −a(φ) ∂φ/∂r, a(φ) = f_bk σ_e′/(Δρ a φ), in a monotone discretisation.
/// A later per-class diffusive flux (e.g. shear-induced diffusion) belongs next to this term.
#[derive(Debug, Clone, Copy)]
pub struct Compression<'a> {
    /// σ_e(φ)
    pub stress: SolidStress,
    /// A_f/Δr_f per face (J + 1; walls unused): face measure over the centre distance (1/m
    /// for a tube)
    pub conductance: &'a [f64],
    /// irreversible consolidation: per cell the largest total fraction reached before, and
    /// the unloading stiffness ratio R
    /// ([`SolidStress::unloading_stress_and_derivative`]); `None`: reversible σ_e(φ)
    pub preconsolidation: Option<(&'a [f64], f64)>,
    /// with `preconsolidation`: per cell the branch of the irreversible law a Newton solve
    /// holds, continued smoothly beyond where it holds
    /// ([`SolidStress::branch_stress_and_derivative`]). `None`: the law itself, with its kinks
    /// at φ_p and at the unloading line's zero. Callers pass `None`; [`ColumnSolver`] sets it
    /// inside a solve (see `ColumnSolver::solve`).
    pub held_branch: Option<&'a [StressBranch]>,
}

impl Compression<'_> {
    /// σ_e and σ_e′ of cell `j` at total fraction `phi`.
    #[inline]
    pub fn cell_stress(&self, j: usize, phi: f64) -> (f64, f64) {
        match (self.preconsolidation, self.held_branch) {
            (Some((reached, ratio)), Some(branch)) => self
                .stress
                .branch_stress_and_derivative(branch[j], phi, reached[j], ratio),
            (Some((reached, ratio)), None) => self
                .stress
                .unloading_stress_and_derivative(phi, reached[j], ratio),
            (None, _) => self.stress.stress_and_derivative(phi),
        }
    }
}

/// The shear-induced diffusion term of a column step (docs/physics.md §10.2): a per-class
/// diffusive flux across the column driven by particle encounters in a sheared suspension.
///
/// ## Continuum flux
/// With Φ = Σ_k φ_k the total solids fraction, φ_max the maximum packing of the hindrance law
/// and p(Φ) = 1 − Φ/φ_max the free-volume (packing) factor, the radial flux of class i is
///
/// N_i = −k_i γ̇ Φ [p(Φ) ∂φ_i/∂r + (φ_i/φ_max) ∂Φ/∂r],  k_i = K ℓ_i²,
///
/// | symbol | meaning | unit |
/// |---|---|---|
/// | γ̇ | local shear rate of the along-channel flow, \|∂w/∂r\| | 1/s |
/// | K | dimensionless encounter coefficient | – |
/// | ℓ_i | encounter length of class i (mean collision radius with the carrier) | m |
/// | k_i | per-class coefficient K ℓ_i² ([`Diffusion::coefficient`]) | m² |
///
/// Limits: a *single* class gets N = −K ℓ² γ̇ Φ ∂Φ/∂r, the collision-frequency flux of
/// Phillips et al. (Phys Fluids A 4:30, 1992) at uniform γ̇ with K = K_c; a *dilute tracer*
/// i in a uniform carrier Φ gets the gradient diffusivity D_i = K ℓ_i² γ̇ Φ (1 − Φ/φ_max),
/// the form of the Zydney–Colton red-cell augmented diffusivity K a_c² γ̇ H (1 − H)^0.8
/// (Zydney & Colton, PhysicoChem Hydrodyn 10:77, 1988) with the exponent 0.8 replaced by 1
/// and H by Φ/φ_max (so that the flux into a packed cell vanishes, below). D ∝ Φ as Φ → 0:
/// at vanishing concentration the term vanishes (the dilute sigma-theory cases are
/// unaffected). Not included: the viscosity-gradient flux K_η of Phillips et al. (it
/// diverges at packing) and the shear-gradient drift −K_c a² φ² ∂γ̇/∂r.
///
/// ## Discretisation
/// At face f (L = f − 1, R = f) with Φ̄_f = ½(Φ_L + Φ_R) and the conductance
/// c_f = γ̇_f A_f/Δr_f ([`Diffusion::conductance`]):
///
/// F^d_{f,i} = c_f k_i Φ̄_f [φ_{i,L} p(Φ_R) − φ_{i,R} p(Φ_L)]
///
/// (p clipped at 0). Since φ_L p_R − φ_R p_L = φ̄ (p_R − p_L) − p̄ (φ_R − φ_L) this is the
/// centred, second-order discretisation of N_i; like the settling and consolidation fluxes
/// a class *leaves* a cell with the free-volume factor of the cell it *enters*. Hence:
/// - **conservation**: a flux form, exact;
/// - **positivity**: F^d_{f,i} = φ_{i,L}·(≥ 0) − φ_{i,R}·(≥ 0), the M-matrix structure of
///   the module documentation: φ_i ≥ 0 for any Δt;
/// - **packing**: the inflow into a cell carries that cell's p, which vanishes at
///   Σφ = φ_max: a packed cell can only lose volume, Σφ ≤ φ_max for any Δt.
///
/// Jacobian (with B_i = φ_{i,L} p_R − φ_{i,R} p_L, p′ = −1/φ_max below packing, else 0):
/// ∂F/∂φ_{L,m} = c k_i [½B_i + Φ̄ (δ_im p_R − φ_{i,R} p′_L)],
/// ∂F/∂φ_{R,m} = c k_i [½B_i + Φ̄ (φ_{i,L} p′_R − δ_im p_L)]; the decoupled minor classes keep
/// the δ_im terms only (an M-matrix tridiagonal, the residual stays exact).
#[derive(Debug, Clone, Copy)]
pub struct Diffusion<'a> {
    /// c_f = γ̇_f A_f/Δr_f per face (J + 1; walls unused): the shear rate at the face times
    /// the face measure over the distance of the neighbouring centres (1/(s·m) in the planar
    /// channel, where A_f = 1)
    pub conductance: &'a [f64],
    /// k_i = K ℓ_i² per class (N, m²)
    pub coefficient: &'a [f64],
}

/// The free-volume factor p(Φ) = max(0, 1 − Φ/φ_max) of [`Diffusion`] and its derivative.
#[inline]
pub fn packing_factor(total: f64, phi_max: f64) -> (f64, f64) {
    let p = 1.0 - total / phi_max;
    if p > 0.0 {
        (p, -1.0 / phi_max)
    } else {
        (0.0, 0.0)
    }
}

/// Statistics of the column solves.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NewtonStats {
    /// backward-Euler steps solved (including the sub-steps of subdivided steps)
    pub steps: u64,
    /// Newton iterations (linear solves)
    pub iterations: u64,
    /// Jacobian factorisations (a factorisation is reused by later iterations, steps and
    /// columns until the convergence slows)
    pub factorizations: u64,
    /// steps that had to be subdivided
    pub subdivided: u64,
    /// steps retried with the exact Jacobian after the approximate one failed
    pub exact_retries: u64,
    /// line-search backtracks
    pub backtracks: u64,
    /// cells whose held stress branch was switched after a solve converged on the other one
    /// (irreversible consolidation, see `ColumnSolver::solve`)
    pub branch_switches: u64,
    /// solves whose held branches failed and that were solved again on the law itself
    pub branch_fallbacks: u64,
    /// volume removed by clipping round-off negatives after the conservative update, summed
    /// over classes, relative to the class scale (a diagnostic; expected ≲ 10⁻¹⁵)
    pub clipped: f64,
    /// largest final scaled residual
    pub max_residual: f64,
}

impl NewtonStats {
    /// Sums of two statistics (largest residual: the maximum).
    #[must_use]
    pub fn merge(self, o: Self) -> Self {
        Self {
            steps: self.steps + o.steps,
            iterations: self.iterations + o.iterations,
            factorizations: self.factorizations + o.factorizations,
            subdivided: self.subdivided + o.subdivided,
            exact_retries: self.exact_retries + o.exact_retries,
            backtracks: self.backtracks + o.backtracks,
            branch_switches: self.branch_switches + o.branch_switches,
            branch_fallbacks: self.branch_fallbacks + o.branch_fallbacks,
            clipped: self.clipped + o.clipped,
            max_residual: self.max_residual.max(o.max_residual),
        }
    }
}

/// Why a step failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepFailure {
    /// scaled residual when the step was given up
    pub residual: f64,
    /// Newton iterations of the last attempt
    pub iterations: usize,
}

/// Preallocated workspace of one column (no allocation in [`ColumnSolver::step`]).
#[derive(Debug, Clone)]
pub struct ColumnSolver {
    n: usize,
    cells: usize,
    v: Vec<f64>,
    v_trial: Vec<f64>,
    flux: Vec<f64>,
    flux_trial: Vec<f64>,
    resid: Vec<f64>,
    resid_trial: Vec<f64>,
    trial: Vec<f64>,
    delta: Vec<f64>,
    // the state, velocities and velocity Jacobians at which the Jacobian was built; `dv`
    // per cell (stride N²): ∂v/∂φ of the coupled rows over the coupled columns (nm × nm),
    // then the decoupled classes' own derivatives (nq), only what the assembly reads
    phi_jac: Vec<f64>,
    v_jac: Vec<f64>,
    dv: Vec<f64>,
    // partition of the classes: coupled ("major") and decoupled ("minor")
    major: Vec<usize>,
    minor: Vec<usize>,
    exact: bool,
    /// the current factorisation includes the consolidation coupling of the minor rows
    compressed: bool,
    // major blocks (nm × nm per cell)
    diag: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    xmat: Vec<f64>,
    inv: Vec<f64>,
    lower_t: Vec<f64>,
    piv: Vec<usize>,
    /// per cell the row interchanges of the LU factors of S_j (fixed-size kernels; `inv` then
    /// holds the strict unit-lower factor, `lu_upper` the strict upper factor, both
    /// transposed, and `lu_diag` the reciprocals of U's diagonal)
    lu_piv: Vec<usize>,
    lu_upper: Vec<f64>,
    lu_diag: Vec<f64>,
    tmp: Vec<f64>,
    delta_major: Vec<f64>,
    // minor classes (cell-major, [j][q]): Thomas factors, coupling coefficients, the rows of
    // ∂v/∂φ over the major classes, and the coupled updates s_{j,q}
    tri_lower: Vec<f64>,
    tri_upper_factor: Vec<f64>,
    tri_inv_diag: Vec<f64>,
    couple_own: Vec<f64>,
    couple_next: Vec<f64>,
    couple_prev: Vec<f64>,
    dv_minor: Vec<f64>,
    coupling: Vec<f64>,
    /// the coupled classes' constants for the Jacobian's columns (set by every assembly, not
    /// part of the saved state)
    jacobian_columns: JacobianColumns,
    // consolidation coupling of the minor rows to the coupled update (per face and minor
    // class, Δt folded in): coefficients of the total coupled update t and of
    // u = Σ_m ∂h_i/∂φ_m δφ_m in the left and right cell; the ∂h rows over the coupled classes
    // (like `dv_minor`); per cell t_j and u_{j,q} of the current solve
    cmp_tl: Vec<f64>,
    cmp_tr: Vec<f64>,
    cmp_ul: Vec<f64>,
    cmp_ur: Vec<f64>,
    dh_minor: Vec<f64>,
    cmp_t: Vec<f64>,
    cmp_u: Vec<f64>,
    // consolidation: σ_e per cell, σ_e′ per cell, stress gradient per face, h and ∂h/∂φ per
    // cell (trial states use `sig_trial`/`h_trial`)
    sig: Vec<f64>,
    dsig: Vec<f64>,
    grad: Vec<f64>,
    h: Vec<f64>,
    dh: Vec<f64>,
    sig_trial: Vec<f64>,
    h_trial: Vec<f64>,
    // shear diffusion: total fraction and free-volume factor per cell (recomputed by every
    // assembly, not part of the saved state)
    diff_total: Vec<f64>,
    diff_pack: Vec<f64>,
    // the decoupled classes' updates gathered per cell ([j][q]) for their Thomas sweeps
    // (scratch of `solve_factored`, not part of the saved state)
    delta_minor: Vec<f64>,
    // the face-state increments of [`Reconstruction`] ((J + 1) × 4 × N), set at the start of
    // every solve (not part of the saved state)
    bed_inc: Vec<f64>,
    // the faces of [`Reconstruction`] in this solve (capacity J + 1)
    bed_faces: Vec<usize>,
    // sub-stepping
    start: Vec<f64>,
    /// Δt of the current factorisation (NaN: none)
    factor_dt: f64,
    /// the decoupled classes are frozen ([`ColumnSolver::set_frozen_minor`]); a setting of
    /// the caller, not part of the saved state
    freeze_minor: bool,
    /// the line search accepts against the larger of the current and the previous merit
    /// ([`ColumnSolver::set_nonmonotone_line_search`]); a setting of the caller, not part of
    /// the saved state
    nonmonotone: bool,
    /// per cell the held stress branch of the current solve, and the solve's initial guess
    /// (scratch of [`ColumnSolver::solve`], not part of the saved state)
    branch: Vec<StressBranch>,
    guess: Vec<f64>,
    /// [`MAX_BRANCH_ROUNDS`] (0 in a test: the kinked law from the first iteration)
    max_branch_rounds: usize,
    /// statistics of every solve so far
    pub stats: NewtonStats,
}

impl ColumnSolver {
    /// Saves the whole workspace, including the Jacobian factorisation that later steps
    /// reuse (a checkpoint must restore it for the continued run to be bitwise identical).
    pub fn save_state(&self, w: &mut buffycoat_stepper::StateWriter) {
        w.tag("column_solver");
        for v in self.f64_fields() {
            w.f64s(v);
        }
        w.usizes(&self.major);
        w.usizes(&self.minor);
        w.usizes(&self.piv);
        w.usizes(&self.lu_piv);
        w.u64(u64::from(self.exact));
        w.u64(u64::from(self.compressed));
        w.f64(self.factor_dt);
        let s = &self.stats;
        for x in [
            s.steps,
            s.iterations,
            s.factorizations,
            s.subdivided,
            s.exact_retries,
            s.backtracks,
            s.branch_switches,
            s.branch_fallbacks,
        ] {
            w.u64(x);
        }
        w.f64(s.clipped);
        w.f64(s.max_residual);
    }

    /// Restores what [`ColumnSolver::save_state`] saved.
    ///
    /// # Errors
    /// A state of another size.
    pub fn restore_state(
        &mut self,
        r: &mut buffycoat_stepper::StateReader<'_>,
    ) -> Result<(), buffycoat_stepper::StateError> {
        r.tag("column_solver")?;
        for v in self.f64_fields_mut() {
            r.f64s_into("column solver workspace", v)?;
        }
        let n = self.n;
        r.usizes_vec("major classes", &mut self.major, n)?;
        r.usizes_vec("minor classes", &mut self.minor, n)?;
        r.usizes_into("pivots", &mut self.piv)?;
        r.usizes_into("block pivots", &mut self.lu_piv)?;
        self.exact = r.u64()? != 0;
        self.compressed = r.u64()? != 0;
        self.factor_dt = r.f64()?;
        let s = &mut self.stats;
        for x in [
            &mut s.steps,
            &mut s.iterations,
            &mut s.factorizations,
            &mut s.subdivided,
            &mut s.exact_retries,
            &mut s.backtracks,
            &mut s.branch_switches,
            &mut s.branch_fallbacks,
        ] {
            *x = r.u64()?;
        }
        s.clipped = r.f64()?;
        s.max_residual = r.f64()?;
        Ok(())
    }

    fn f64_fields(&self) -> [&Vec<f64>; 44] {
        [
            &self.lu_upper,
            &self.lu_diag,
            &self.v,
            &self.v_trial,
            &self.flux,
            &self.flux_trial,
            &self.resid,
            &self.resid_trial,
            &self.trial,
            &self.delta,
            &self.phi_jac,
            &self.v_jac,
            &self.dv,
            &self.diag,
            &self.lower,
            &self.upper,
            &self.xmat,
            &self.inv,
            &self.lower_t,
            &self.tmp,
            &self.delta_major,
            &self.tri_lower,
            &self.tri_upper_factor,
            &self.tri_inv_diag,
            &self.couple_own,
            &self.couple_next,
            &self.couple_prev,
            &self.dv_minor,
            &self.coupling,
            &self.cmp_tl,
            &self.cmp_tr,
            &self.cmp_ul,
            &self.cmp_ur,
            &self.dh_minor,
            &self.cmp_t,
            &self.cmp_u,
            &self.sig,
            &self.dsig,
            &self.grad,
            &self.h,
            &self.dh,
            &self.sig_trial,
            &self.h_trial,
            &self.start,
        ]
    }

    fn f64_fields_mut(&mut self) -> [&mut Vec<f64>; 44] {
        [
            &mut self.lu_upper,
            &mut self.lu_diag,
            &mut self.v,
            &mut self.v_trial,
            &mut self.flux,
            &mut self.flux_trial,
            &mut self.resid,
            &mut self.resid_trial,
            &mut self.trial,
            &mut self.delta,
            &mut self.phi_jac,
            &mut self.v_jac,
            &mut self.dv,
            &mut self.diag,
            &mut self.lower,
            &mut self.upper,
            &mut self.xmat,
            &mut self.inv,
            &mut self.lower_t,
            &mut self.tmp,
            &mut self.delta_major,
            &mut self.tri_lower,
            &mut self.tri_upper_factor,
            &mut self.tri_inv_diag,
            &mut self.couple_own,
            &mut self.couple_next,
            &mut self.couple_prev,
            &mut self.dv_minor,
            &mut self.coupling,
            &mut self.cmp_tl,
            &mut self.cmp_tr,
            &mut self.cmp_ul,
            &mut self.cmp_ur,
            &mut self.dh_minor,
            &mut self.cmp_t,
            &mut self.cmp_u,
            &mut self.sig,
            &mut self.dsig,
            &mut self.grad,
            &mut self.h,
            &mut self.dh,
            &mut self.sig_trial,
            &mut self.h_trial,
            &mut self.start,
        ]
    }
}

impl ColumnSolver {
    /// A workspace for columns of `cells` cells and `n` classes.
    pub fn new(cells: usize, n: usize) -> Self {
        let z = |k: usize| vec![0.0; k];
        Self {
            n,
            cells,
            v: z(cells * n),
            v_trial: z(cells * n),
            flux: z((cells + 1) * n),
            flux_trial: z((cells + 1) * n),
            resid: z(cells * n),
            resid_trial: z(cells * n),
            trial: z(cells * n),
            delta: z(cells * n),
            phi_jac: z(cells * n),
            v_jac: z(cells * n),
            dv: z(cells * n * n),
            major: Vec::with_capacity(n),
            minor: Vec::with_capacity(n),
            exact: false,
            compressed: false,
            diag: z(cells * n * n),
            lower: z(cells * n * n),
            upper: z(cells * n * n),
            xmat: z(cells * n * n),
            inv: z(cells * n * n),
            lower_t: z(cells * n * n),
            piv: vec![0; n],
            lu_piv: vec![0; cells * n],
            lu_upper: z(cells * n * n),
            lu_diag: z(cells * n),
            tmp: z(n),
            delta_major: z(cells * n),
            tri_lower: z(cells * n),
            tri_upper_factor: z(cells * n),
            tri_inv_diag: z(cells * n),
            couple_own: z(cells * n),
            couple_next: z(cells * n),
            couple_prev: z(cells * n),
            dv_minor: z(cells * n * n),
            coupling: z(cells * n),
            jacobian_columns: JacobianColumns::with_capacity(n),
            cmp_tl: z((cells + 1) * n),
            cmp_tr: z((cells + 1) * n),
            cmp_ul: z((cells + 1) * n),
            cmp_ur: z((cells + 1) * n),
            dh_minor: z(cells * n * n),
            cmp_t: z(cells),
            cmp_u: z(cells * n),
            sig: z(cells),
            dsig: z(cells),
            grad: z(cells + 1),
            h: z(cells * n),
            dh: z(cells * n * n),
            sig_trial: z(cells),
            h_trial: z(cells * n),
            diff_total: z(cells),
            diff_pack: z(cells),
            delta_minor: z(cells * n),
            bed_inc: z((cells + 1) * 4 * n),
            bed_faces: Vec::with_capacity(cells + 1),
            start: z(cells * n),
            factor_dt: f64::NAN,
            freeze_minor: false,
            nonmonotone: false,
            branch: Vec::with_capacity(cells),
            guess: z(cells * n),
            max_branch_rounds: MAX_BRANCH_ROUNDS,
            stats: NewtonStats::default(),
        }
    }

    /// Freezes the decoupled classes (`!`[`ColumnStep::major`]) in every later step: they keep
    /// the values of the initial guess `phi` and only the coupled classes are solved, with
    /// the frozen ones' contribution to the mixture (velocities, σ_e) as given. Newton then
    /// solves the coupled classes' system exactly (N_M × N_M blocks, no exact retry); the
    /// caller advances the frozen classes itself (the field's split of the dilute classes,
    /// [`crate::MinorClasses::Split`]) and passes a residual scale `inv_scale` of 0 for them
    /// (their rows are then left out of the norms). The conservation, positivity and packing
    /// arguments of the module documentation hold for the coupled classes; the projection
    /// of Newton iterates scales only them. Off (the default): bitwise the solver without
    /// this setting. Allocates nothing; the factorisation is rebuilt.
    pub fn set_frozen_minor(&mut self, frozen: bool) {
        self.freeze_minor = frozen;
        self.reset_partition();
    }

    /// Lets the line search of every later step accept a trial iterate against the larger of
    /// the current and the previous iterate's merit ‖g‖₂² instead of the current one alone
    /// (the nonmonotone Armijo rule of Grippo, Lampariello & Lucidi, SIAM J Numer Anal
    /// 23:707, 1986, with a memory of one iterate): a full Newton step that crosses an upwind
    /// switch and raises the merit once is taken instead of being backtracked to λ ≈ 2⁻¹⁰;
    /// the next iterate must then fall below the larger of the two. Convergence is still
    /// tested on the scaled max-norm, so the converged step satisfies the same tolerance;
    /// only the path (and where a step fails and is retried or subdivided) changes. The
    /// channel's steady march turns it on (docs/physics.md §10.8). Off (the default): bitwise
    /// the solver without this setting. Allocates nothing.
    pub fn set_nonmonotone_line_search(&mut self, on: bool) {
        self.nonmonotone = on;
    }

    /// Forgets the class partition, so that the next [`Self::step`] takes it from its
    /// [`ColumnStep::major`] (a caller that changes `major` between steps calls this; the
    /// factorisation is rebuilt). Allocates nothing.
    pub fn reset_partition(&mut self) {
        self.major.clear();
        self.minor.clear();
        self.factor_dt = f64::NAN;
    }

    /// The cell of the largest scaled residual |G_ij|/(m_j s_i) of the last Newton iterate of
    /// the last solve (after a failed step: where Newton stalled), with the step's `measure`
    /// and residual scales `inv_scale` (a scale of 0 leaves a class out). A diagnostic for the
    /// caller (the field's split minor classes promote on it); allocates nothing.
    pub fn worst_cell(&self, measure: &[f64], inv_scale: &[f64]) -> usize {
        let n = self.n;
        let (mut cell, mut worst) = (0, -1.0f64);
        for (j, (r, &m)) in self.resid.chunks_exact(n).zip(measure).enumerate() {
            for (&g, &s) in r.iter().zip(inv_scale) {
                let x = g.abs() / m * s;
                if x > worst {
                    worst = x;
                    cell = j;
                }
            }
        }
        cell
    }

    /// Sets the partition: the approximate one of `p` or, if `exact`, all classes coupled.
    fn set_partition(&mut self, p: &ColumnStep<'_>, exact: bool) {
        self.exact = exact;
        self.major.clear();
        self.minor.clear();
        if self.freeze_minor {
            // frozen classes are neither coupled nor decoupled: not solved at all
            self.exact = false;
            self.major.extend((0..self.n).filter(|&i| p.major[i]));
            self.factor_dt = f64::NAN;
            return;
        }
        for i in 0..self.n {
            if exact || p.major[i] {
                self.major.push(i);
            } else {
                self.minor.push(i);
            }
        }
        self.factor_dt = f64::NAN;
    }

    /// Advances `phi` (J × N, cell-major) from the state `star` over `dt`: on success `phi`
    /// holds the backward-Euler solution (`phi` on entry is the initial Newton guess). A step
    /// that fails with the decoupled-minor-class Jacobian is retried with the exact one;
    /// one that still fails is replaced by sub-steps of half the size, down to
    /// dt/2^max_subdivisions.
    pub fn step(
        &mut self,
        p: &ColumnStep<'_>,
        star: &[f64],
        phi: &mut [f64],
        dt: f64,
    ) -> Result<(), StepFailure> {
        let partitioned = if self.freeze_minor {
            !self.major.is_empty()
        } else {
            self.major.len() + self.minor.len() == self.n
        };
        if !partitioned {
            self.set_partition(p, false);
        }
        self.start.copy_from_slice(phi);
        let first = self.solve(p, star, phi, dt);
        if !self.exact && self.major.len() < self.n && !self.freeze_minor {
            // restore the approximate partition for the next step
            if first.is_ok() {
                return Ok(());
            }
            self.stats.exact_retries += 1;
            self.set_partition(p, true);
            phi.copy_from_slice(&self.start);
            let second = self.solve(p, star, phi, dt);
            self.set_partition(p, false);
            if second.is_ok() {
                return Ok(());
            }
        } else if first.is_ok() {
            return Ok(());
        }
        if p.max_subdivisions == 0 {
            return Err(StepFailure {
                residual: f64::INFINITY,
                iterations: p.max_iterations,
            });
        }
        self.stats.subdivided += 1;
        self.set_partition(p, true);
        // Sub-steps with the exact Jacobian: start from star, halve on failure, keep the size
        // after success.
        self.start.copy_from_slice(star);
        let mut done = 0.0;
        let mut level = 1usize;
        let result = loop {
            if done >= dt * (1.0 - 1e-14) {
                break Ok(());
            }
            let h = (dt / (1u64 << level) as f64).min(dt - done);
            phi.copy_from_slice(&self.start);
            let start = std::mem::take(&mut self.start);
            let result = self.solve(p, &start, phi, h);
            self.start = start;
            match result {
                Ok(()) => {
                    done += h;
                    self.start.copy_from_slice(phi);
                }
                Err(f) => {
                    level += 1;
                    if level > p.max_subdivisions {
                        phi.copy_from_slice(&self.start);
                        break Err(f);
                    }
                }
            }
        };
        self.set_partition(p, false);
        result
    }

    /// One backward-Euler solve without subdivision: modified Newton. The factored Jacobian
    /// is kept between iterations, steps and (in the transient) neighbouring columns, and
    /// refreshed at the current iterate when it is missing, was built for another Δt, or the
    /// residual contracts by less than [`REFRESH_RATIO`] per iteration; a line search on the
    /// scaled max-norm safeguards every update.
    ///
    /// **Irreversible consolidation** ([`Compression::preconsolidation`]): the stress law has a
    /// kink at each cell's preconsolidation fraction φ_p (slopes σ_e′ and R σ_e′, R = 100), and
    /// every cell of a compacting bed sits on it (φ_p is the fraction it had at the start of
    /// the step). Newton's iterates crossing it see a Jacobian that is wrong by a factor R on
    /// one side: in the whole-blood tube the solves needed ≈ 8 iterations and failed 55 times
    /// per run. The solve therefore holds one smooth branch per cell
    /// ([`Compression::held_branch`]: the unloading line where the initial guess lies below
    /// φ_p, the virgin curve elsewhere, each continued across φ_p), converges on that smooth
    /// system, and then evaluates the law itself at the result: accepted if it meets the
    /// tolerance (or no cell ended on the other side of its φ_p, where both agree);
    /// otherwise the cells that did switch branch and Newton continues from there (at most
    /// [`MAX_BRANCH_ROUNDS`] times, then with the law itself). The accepted state and its
    /// fluxes are always those of the law itself.
    fn solve(
        &mut self,
        p: &ColumnStep<'_>,
        star: &[f64],
        phi: &mut [f64],
        dt: f64,
    ) -> Result<(), StepFailure> {
        let n = self.n;
        self.stats.steps += 1;
        let frozen = self.freeze_minor.then_some(p.major);
        project_partial(p.kin, phi, n, frozen);
        if let Some(rc) = p.reconstruction {
            // slopes of the start state and of its velocities (`v_trial` is scratch until the
            // first trial iterate)
            for (x, vx) in star.chunks_exact(n).zip(self.v_trial.chunks_exact_mut(n)) {
                p.kin.velocities(x, vx, None);
            }
            rc.ratios(
                star,
                &self.v_trial,
                &mut self.bed_inc,
                &mut self.bed_faces,
                n,
            );
        }
        let held = p
            .compression
            .and_then(|c| c.preconsolidation.map(|(reached, _)| (c.stress, reached)));
        let mut iterations = 0;
        let Some((stress, reached)) = held else {
            let norm = self.newton(p, star, phi, dt, &mut iterations)?;
            self.finish(p, star, phi, dt, norm);
            return Ok(());
        };
        // the branches live outside `self` during the solve (the step borrows them)
        let mut branch = std::mem::take(&mut self.branch);
        let law_branches = |branch: &mut Vec<StressBranch>, phi: &[f64]| {
            let mut switched = 0usize;
            for ((b, cell), &r) in branch.iter_mut().zip(phi.chunks_exact(n)).zip(reached) {
                let law = stress.branch_at(cell.iter().sum(), r);
                if *b != law {
                    *b = law;
                    switched += 1;
                }
            }
            switched
        };
        branch.clear();
        branch.resize(self.cells, StressBranch::Virgin);
        law_branches(&mut branch, phi);
        self.guess.copy_from_slice(phi);
        let mut rounds = 0;
        let result = loop {
            let held = rounds < self.max_branch_rounds;
            let step = ColumnStep {
                compression: p.compression.map(|c| Compression {
                    held_branch: held.then_some(&branch[..]),
                    ..c
                }),
                ..*p
            };
            let norm = match self.newton(&step, star, phi, dt, &mut iterations) {
                Ok(norm) => norm,
                Err(_) if held => {
                    // the held system failed: Newton on the law itself, from the guess
                    rounds = self.max_branch_rounds;
                    phi.copy_from_slice(&self.guess);
                    self.factor_dt = f64::NAN;
                    self.stats.branch_fallbacks += 1;
                    continue;
                }
                Err(failure) => break Err(failure),
            };
            if !held {
                break Ok(norm);
            }
            // the law itself at the converged state (its fluxes are the ones the update uses)
            let law = self.residual_of(p, star, phi, dt);
            if law.max <= p.tolerance.max(norm.max) {
                break Ok(law);
            }
            let switched = law_branches(&mut branch, phi);
            if switched == 0 {
                // every cell on the branch that holds there: the held system is the law
                break Ok(law);
            }
            self.stats.branch_switches += switched as u64;
            rounds += 1;
            // the factorisation was built on the other branches
            self.factor_dt = f64::NAN;
        };
        self.branch = branch;
        let norm = result?;
        self.finish(p, star, phi, dt, norm);
        Ok(())
    }

    /// The modified-Newton iteration of [`ColumnSolver::solve`] from `phi` (projected), until
    /// the scaled residual meets the tolerance; `iterations` counts across calls (one budget
    /// per solve). On success the residual, velocities and fluxes of `phi` are in `self`.
    fn newton(
        &mut self,
        p: &ColumnStep<'_>,
        star: &[f64],
        phi: &mut [f64],
        dt: f64,
        iterations: &mut usize,
    ) -> Result<Norms, StepFailure> {
        let n = self.n;
        let frozen = self.freeze_minor.then_some(p.major);
        let mut norm = self.residual_of(p, star, phi, dt);
        // the previous accepted iterate's merit (nonmonotone line search; 0: none yet)
        let mut previous_sum_sq = 0.0f64;
        let mut refresh = self.factor_dt != dt;
        'newton: while norm.max > p.tolerance {
            if *iterations >= p.max_iterations || !norm.max.is_finite() {
                return Err(StepFailure {
                    residual: norm.max,
                    iterations: *iterations,
                });
            }
            *iterations += 1;
            self.stats.iterations += 1;
            let fresh = refresh;
            if refresh {
                self.stats.factorizations += 1;
                self.assemble(p, phi, dt);
                self.factor();
                self.factor_dt = dt;
                refresh = false;
            }
            self.delta.copy_from_slice(&self.resid);
            self.solve_factored();
            if let Some(major) = frozen {
                for d in self.delta.chunks_exact_mut(n) {
                    for (x, &m) in d.iter_mut().zip(major) {
                        if !m {
                            *x = 0.0;
                        }
                    }
                }
            }
            let mut lambda = 1.0;
            loop {
                for ((t, &x), &d) in self.trial.iter_mut().zip(phi.iter()).zip(&self.delta) {
                    *t = x - lambda * d;
                }
                project_partial(p.kin, &mut self.trial, n, frozen);
                let trial = residual(
                    p,
                    star,
                    &self.trial,
                    dt,
                    &mut self.v_trial,
                    &mut self.flux_trial,
                    &mut self.resid_trial,
                    (&mut self.sig_trial, &mut self.h_trial),
                    p.reconstruction
                        .map(|_| (&self.bed_inc[..], &self.bed_faces[..])),
                );
                // Armijo condition on ‖g‖₂² (nonmonotone: against the larger of the current
                // and the previous merit); a step that already meets the tolerance is taken
                let reference = if self.nonmonotone {
                    norm.sum_sq.max(previous_sum_sq)
                } else {
                    norm.sum_sq
                };
                if trial.sum_sq <= reference * (1.0 - 1e-4 * lambda) || trial.max <= p.tolerance {
                    previous_sum_sq = norm.sum_sq;
                    phi.copy_from_slice(&self.trial);
                    std::mem::swap(&mut self.v, &mut self.v_trial);
                    std::mem::swap(&mut self.flux, &mut self.flux_trial);
                    std::mem::swap(&mut self.resid, &mut self.resid_trial);
                    if trial.sum_sq > REFRESH_RATIO * REFRESH_RATIO * norm.sum_sq || lambda < 1.0 {
                        refresh = true;
                    }
                    norm = trial;
                    break;
                }
                if !fresh {
                    // a stale Jacobian: rebuild it here before judging the step
                    refresh = true;
                    continue 'newton;
                }
                if lambda < 1.0 / 1024.0 {
                    // No progress even with a tiny step and a fresh Jacobian: a round-off
                    // floor just above the tolerance is accepted (the conservative update
                    // below keeps the balance exact); anything else fails this step size.
                    if norm.max <= 1e3 * p.tolerance {
                        break 'newton;
                    }
                    return Err(StepFailure {
                        residual: norm.max,
                        iterations: *iterations,
                    });
                }
                lambda *= 0.5;
                self.stats.backtracks += 1;
            }
        }
        Ok(norm)
    }

    /// The residual, velocities and fluxes of `phi` into `self` (the current iterate's
    /// buffers); returns its scaled norms.
    fn residual_of(&mut self, p: &ColumnStep<'_>, star: &[f64], phi: &[f64], dt: f64) -> Norms {
        residual(
            p,
            star,
            phi,
            dt,
            &mut self.v,
            &mut self.flux,
            &mut self.resid,
            (&mut self.sig_trial, &mut self.h_trial),
            p.reconstruction
                .map(|_| (&self.bed_inc[..], &self.bed_faces[..])),
        )
    }

    /// The end of a converged [`ColumnSolver::solve`]: the conservative update of `phi` from
    /// the fluxes in `self` (those of the converged iterate under the law itself).
    fn finish(&mut self, p: &ColumnStep<'_>, star: &[f64], phi: &mut [f64], dt: f64, norm: Norms) {
        let n = self.n;
        let frozen = self.freeze_minor.then_some(p.major);
        self.stats.max_residual = self.stats.max_residual.max(norm.max);
        // Conservative update from the fluxes of the converged iterate.
        let cells = self.cells;
        for j in 0..cells {
            let scale = dt / p.measure[j];
            for i in 0..n {
                if frozen.is_some_and(|major| !major[i]) {
                    continue;
                }
                let div = self.flux[(j + 1) * n + i] - self.flux[j * n + i];
                let value = star[j * n + i] - scale * div;
                if value < 0.0 {
                    self.stats.clipped += -value * p.inv_scale[i] * p.measure[j];
                    phi[j * n + i] = 0.0;
                } else {
                    phi[j * n + i] = value;
                }
            }
        }
    }

    /// The Jacobian ∂G/∂φ at `phi`, restricted to the partition: nm × nm blocks of the
    /// coupled classes (all derivatives among them) and, for each decoupled class, the
    /// tridiagonal of its own transport coefficients including ∂v_i/∂φ_i; the derivatives of
    /// the velocities with respect to the *other* decoupled classes and of the coupled
    /// classes' velocities with respect to decoupled ones are left out (relative size
    /// φ_minor/φ_major).
    fn assemble(&mut self, p: &ColumnStep<'_>, phi: &[f64], dt: f64) {
        // two instantiations: without [`Reconstruction`] the face ratios are the constant 1
        // and fold away (the first-order assembly, bitwise and at its cost)
        if p.reconstruction.is_some() {
            self.assemble_with::<true>(p, phi, dt);
        } else {
            self.assemble_with::<false>(p, phi, dt);
        }
    }

    /// [`Self::assemble`]; `BED`: the step has a [`Reconstruction`].
    fn assemble_with<const BED: bool>(&mut self, p: &ColumnStep<'_>, phi: &[f64], dt: f64) {
        let n = self.n;
        let nn = n * n;
        let cells = self.cells;
        let nm = self.major.len();
        let bb = nm * nm;
        self.phi_jac.copy_from_slice(phi);
        let nq = self.minor.len();
        // per cell: velocities and the entries of ∂v/∂φ read below, with consolidation σ_e,
        // σ_e′, h and ∂h/∂φ (in two halves on long columns, see [`SPLIT_CELLS`]). Per cell,
        // `dv` holds the coupled rows over the coupled columns (nm × nm) and then the
        // decoupled classes' own derivatives (nq); `dv_minor` their rows over the coupled
        // columns (nq × nm)
        {
            let kin = p.kin;
            let cp = p.compression.as_ref();
            self.jacobian_columns.set(kin, &self.major);
            let (major, minor, columns) =
                (&self.major[..], &self.minor[..], &self.jacobian_columns);
            let pass = |first: usize, out: CellJacobians<'_>| {
                let CellJacobians {
                    v,
                    dv,
                    dv_minor,
                    sig,
                    dsig,
                    h,
                    dh,
                } = out;
                for k in 0..v.len() / n {
                    let j = first + k;
                    let cell = &phi[j * n..(j + 1) * n];
                    let jacobian = kin.velocities_and_jacobian(cell, &mut v[k * n..(k + 1) * n]);
                    let (coupled, own) = dv[k * nn..k * nn + bb + nq].split_at_mut(bb);
                    jacobian.block(major, columns, coupled);
                    jacobian.block_and_diagonal(
                        minor,
                        columns,
                        &mut dv_minor[k * nq * nm..(k + 1) * nq * nm],
                        own,
                    );
                    if let Some(cp) = cp {
                        let (sg, dsg) = cp.cell_stress(j, cell.iter().sum());
                        sig[k] = sg;
                        dsig[k] = dsg;
                        kin.compression_coefficients(
                            cell,
                            cp.stress.critical,
                            &mut h[k * n..(k + 1) * n],
                            Some(&mut dh[k * nn..(k + 1) * nn]),
                        );
                    }
                }
            };
            let all = CellJacobians {
                v: &mut self.v_jac[..cells * n],
                dv: &mut self.dv[..cells * nn],
                dv_minor: &mut self.dv_minor[..cells * nq * nm],
                sig: &mut self.sig[..cells],
                dsig: &mut self.dsig[..cells],
                h: &mut self.h[..cells * n],
                dh: &mut self.dh[..cells * nn],
            };
            if cells < SPLIT_CELLS {
                pass(0, all);
            } else {
                let mid = cells / 2;
                let (a, b) = all.split(mid, n, nq * nm);
                rayon::join(|| pass(0, a), || pass(mid, b));
            }
        }
        // the blocks start as D_j = m_j I, L_j = U_j = 0; each is set here just before the
        // face loop first adds to it (D_0, L_0 and U_{cells−1}, which no face adds to, first),
        // not by zeroing the three arrays in one pass: the same values, written while in cache
        measure_identity(&mut self.diag[..bb], p.measure[0], nm);
        self.lower[..bb].fill(0.0);
        self.upper[(cells - 1) * bb..cells * bb].fill(0.0);
        let bed = if BED { Some(&self.bed_inc[..]) } else { None };
        for f in 1..cells {
            let (l, r) = (f - 1, f);
            let c = dt * p.accel[f];
            let (v_l, v_r) = (
                &self.v_jac[l * n..(l + 1) * n],
                &self.v_jac[r * n..(r + 1) * n],
            );
            let (phi_l, phi_r) = (&phi[l * n..(l + 1) * n], &phi[r * n..(r + 1) * n]);
            let dv_l = &self.dv[l * nn..l * nn + bb];
            let dv_r = &self.dv[r * nn..r * nn + bb];
            // the blocks of this face as slices (no bounds checks in the loops below)
            let (diag_l, diag_r) = self.diag[l * bb..(r + 1) * bb].split_at_mut(bb);
            let lower_r = &mut self.lower[r * bb..(r + 1) * bb];
            let upper_l = &mut self.upper[l * bb..(l + 1) * bb];
            measure_identity(diag_r, p.measure[r], nm);
            lower_r.fill(0.0);
            upper_l.fill(0.0);
            for (a, &i) in self.major.iter().enumerate() {
                // the face states (the cell values without reconstruction); the
                // reconstruction's increments are frozen in the Jacobian
                let [rpl, rpr, rvl, rvr] = match bed {
                    Some(inc) => face_ratios(inc, f, i, n),
                    None => [1.0; 4],
                };
                let (pl, pr, vl, vr) = (rpl * phi_l[i], rpr * phi_r[i], rvl * v_l[i], rvr * v_r[i]);
                let out = rpl * vr.max(0.0);
                let back = rpr * vl.min(0.0);
                // ∂F/∂φ_L row i: out δ_im + [v_L < 0] φ_R,i dv_L[i][m]
                // ∂F/∂φ_R row i: [v_R > 0] φ_L,i dv_R[i][m] + back δ_im
                // cell L: D_L += c ∂F/∂φ_L, U_L = c ∂F/∂φ_R
                // cell R: D_R −= c ∂F/∂φ_R, L_R = −c ∂F/∂φ_L
                let row = a * nm..(a + 1) * nm;
                let (diag_la, diag_ra) = (&mut diag_l[row.clone()], &mut diag_r[row.clone()]);
                let (lower_ra, upper_la) = (&mut lower_r[row.clone()], &mut upper_l[row]);
                diag_la[a] += c * out;
                lower_ra[a] -= c * out;
                upper_la[a] += c * back;
                diag_ra[a] -= c * back;
                if vl < 0.0 {
                    let w = c * pr * rvl;
                    let dv_row = &dv_l[a * nm..(a + 1) * nm];
                    for ((dl, lr), &dvm) in diag_la.iter_mut().zip(lower_ra.iter_mut()).zip(dv_row)
                    {
                        let d = w * dvm;
                        *dl += d;
                        *lr -= d;
                    }
                }
                if vr > 0.0 {
                    let w = c * pl * rvr;
                    let dv_row = &dv_r[a * nm..(a + 1) * nm];
                    for ((ul, dr), &dvm) in upper_la.iter_mut().zip(diag_ra.iter_mut()).zip(dv_row)
                    {
                        let d = w * dvm;
                        *ul += d;
                        *dr -= d;
                    }
                }
            }
        }
        let compression = p.compression.is_some();
        self.compressed = compression && !self.minor.is_empty();
        if let Some(cp) = &p.compression {
            self.assemble_compression(cp, phi, dt);
            if !self.minor.is_empty() {
                self.assemble_minor_compression(cp, phi, dt);
            }
        }
        if let Some(df) = &p.diffusion {
            self.assemble_diffusion(p.kin, df, phi, dt);
        }
        // Decoupled classes: tridiagonal l_j δ_{j−1} + d_j δ_j + u_j δ_{j+1}, factored by the
        // Thomas algorithm (an M-matrix with column sums m_j: stable without pivoting).
        let bed = if BED { Some(&self.bed_inc[..]) } else { None };
        let (v_jac, dv) = (&self.v_jac[..cells * n], &self.dv[..cells * nn]);
        for (q, &i) in self.minor.iter().enumerate() {
            let mut prev_upper = 0.0;
            // per cell the class's velocity, fraction and own-fraction derivative
            // (self-crowding, kept: ∂v_i/∂φ_i), rolled along the column: cell j − 1, j, j + 1
            // (0 beyond the walls)
            let cell = |j: usize| (v_jac[j * n + i], phi[j * n + i], dv[j * nn + bb + q]);
            let (mut prev, mut own) = ((0.0, 0.0, 0.0), cell(0));
            let mut a_minus = 0.0;
            for j in 0..cells {
                let (next, a_plus) = if j + 1 < cells {
                    (cell(j + 1), dt * p.accel[j + 1])
                } else {
                    ((0.0, 0.0, 0.0), 0.0)
                };
                let ((v_prev, phi_prev, dv_prev), (v_own, phi_own, self_own)) = (prev, own);
                let (v_next, phi_next, dv_next) = next;
                (prev, own) = (own, next);
                // face states at face j+½ (L = j, R = j + 1, suffix p) and j−½ (L = j − 1,
                // R = j, suffix m): the cell values without reconstruction
                // (ratios ρ of [`Reconstruction`]: 1 without it, or at a wall)
                let ([rpl_p, rpr_p, rvl_p, rvr_p], [rpl_m, rpr_m, rvl_m, rvr_m]) = match bed {
                    Some(inc) => (
                        if j + 1 < cells {
                            face_ratios(inc, j + 1, i, n)
                        } else {
                            [1.0; 4]
                        },
                        if j > 0 {
                            face_ratios(inc, j, i, n)
                        } else {
                            [1.0; 4]
                        },
                    ),
                    None => ([1.0; 4], [1.0; 4]),
                };
                let (pl_p, pr_p, vl_p, vr_p) = (
                    rpl_p * phi_own,
                    rpr_p * phi_next,
                    rvl_p * v_own,
                    rvr_p * v_next,
                );
                let (pl_m, pr_m, vl_m, vr_m) = (
                    rpl_m * phi_prev,
                    rpr_m * phi_own,
                    rvl_m * v_prev,
                    rvr_m * v_own,
                );
                let mut d =
                    p.measure[j] + a_plus * rpl_p * vr_p.max(0.0) - a_minus * rpr_m * vl_m.min(0.0);
                let mut lo = -a_minus * rpl_m * vr_m.max(0.0);
                let mut up = a_plus * rpr_p * vl_p.min(0.0);
                if compression {
                    // consolidation: the upwind own-fraction terms, and the class's own share
                    // of the total fraction (σ_e) and of h (∂h_i/∂φ_i); the coupling through
                    // σ_e and h to the coupled classes enters through their update (see
                    // `assemble_minor_compression`)
                    let dh_own = self.dh[j * nn + i * n + i];
                    if j + 1 < cells {
                        let g = self.grad[j + 1];
                        let k = (j + 1) * nq + q;
                        d += dt * (self.h[(j + 1) * n + i] * g).max(0.0)
                            + self.cmp_tl[k]
                            + self.cmp_ul[k] * dh_own;
                        up += dt * (self.h[j * n + i] * g).min(0.0)
                            + self.cmp_tr[k]
                            + self.cmp_ur[k] * self.dh[(j + 1) * nn + i * n + i];
                    }
                    if j > 0 {
                        let g = self.grad[j];
                        let k = j * nq + q;
                        d -= dt * (self.h[(j - 1) * n + i] * g).min(0.0)
                            + self.cmp_tr[k]
                            + self.cmp_ur[k] * dh_own;
                        lo -= dt * (self.h[j * n + i] * g).max(0.0)
                            + self.cmp_tl[k]
                            + self.cmp_ul[k] * self.dh[(j - 1) * nn + i * n + i];
                    }
                }
                if let Some(df) = &p.diffusion {
                    // shear diffusion: the own-fraction δ terms (see [`Diffusion`])
                    let k = dt * df.coefficient[i];
                    if j + 1 < cells {
                        let c = k
                            * df.conductance[j + 1]
                            * 0.5
                            * (self.diff_total[j] + self.diff_total[j + 1]);
                        d += c * self.diff_pack[j + 1];
                        up -= c * self.diff_pack[j];
                    }
                    if j > 0 {
                        let c = k
                            * df.conductance[j]
                            * 0.5
                            * (self.diff_total[j - 1] + self.diff_total[j]);
                        d += c * self.diff_pack[j - 1];
                        lo -= c * self.diff_pack[j];
                    }
                }
                if j + 1 < cells {
                    // face j+½: L = j, R = j + 1
                    if vl_p < 0.0 {
                        d += a_plus * pr_p * rvl_p * self_own;
                    }
                    if vr_p > 0.0 {
                        up += a_plus * pl_p * rvr_p * dv_next;
                    }
                }
                if j > 0 {
                    // face j−½: L = j − 1, R = j
                    if vl_m < 0.0 {
                        lo -= a_minus * pr_m * rvl_m * dv_prev;
                    }
                    if vr_m > 0.0 {
                        d -= a_minus * pl_m * rvr_m * self_own;
                    }
                }
                let pivot = d - lo * prev_upper;
                let inv = 1.0 / pivot;
                let slot = j * nq + q;
                self.tri_lower[slot] = lo;
                self.tri_inv_diag[slot] = inv;
                prev_upper = up * inv;
                self.tri_upper_factor[slot] = prev_upper;
                // Coefficients of the coupled update s_j = Σ_m ∂v_i/∂φ_m(j) δφ_{j,m} in row
                // (j, i): extra_j = e0 s_j + e+ s_{j+1} + e− s_{j−1}.
                let mut e0 = 0.0;
                let (mut ep, mut em) = (0.0, 0.0);
                if j + 1 < cells {
                    if vl_p < 0.0 {
                        e0 += a_plus * pr_p * rvl_p;
                    }
                    if vr_p > 0.0 {
                        ep = a_plus * pl_p * rvr_p;
                    }
                }
                if j > 0 {
                    if vl_m < 0.0 {
                        em = -a_minus * pr_m * rvl_m;
                    }
                    if vr_m > 0.0 {
                        e0 -= a_minus * pl_m * rvr_m;
                    }
                }
                self.couple_own[slot] = e0;
                self.couple_next[slot] = ep;
                self.couple_prev[slot] = em;
                a_minus = a_plus;
            }
        }
    }

    /// The consolidation coupling of the decoupled (minor) rows, after
    /// [`ColumnSolver::assemble_compression`]: per face f and minor class i the derivatives of
    /// F^c_{f,i} (times Δt) with respect to the total fraction of the left and right cell
    /// (through σ_e: D_L, D_R) and to u = Σ_m ∂h_i/∂φ_m δφ_m there (through h),
    ///
    /// T_L = [P > 0] φ_{i,L} h_i(R) D_L + [Q < 0] φ_{i,R} h_i(L) D_L,  T_R likewise with D_R,
    /// U_L = [Q < 0] φ_{i,R} D,  U_R = [P > 0] φ_{i,L} D
    ///
    /// (P, Q, D, D_L, D_R as in `assemble_compression`), and the rows ∂h_i/∂φ_m over the coupled
    /// classes. [`ColumnSolver::solve_factored`] moves T t + U u of the coupled update to the
    /// right-hand side of the minor rows, as it does for the settling coupling: without it the
    /// minor rows miss the stress coupling and Newton needs about twice the iterations.
    fn assemble_minor_compression(&mut self, cp: &Compression<'_>, phi: &[f64], dt: f64) {
        let n = self.n;
        let nn = n * n;
        let cells = self.cells;
        let nm = self.major.len();
        let nq = self.minor.len();
        self.cmp_tl[..nq].fill(0.0);
        self.cmp_tr[..nq].fill(0.0);
        self.cmp_ul[..nq].fill(0.0);
        self.cmp_ur[..nq].fill(0.0);
        for f in 1..=cells {
            let base = f * nq;
            if f == cells {
                for k in base..base + nq {
                    self.cmp_tl[k] = 0.0;
                    self.cmp_tr[k] = 0.0;
                    self.cmp_ul[k] = 0.0;
                    self.cmp_ur[k] = 0.0;
                }
                continue;
            }
            let (l, r) = (f - 1, f);
            let cond = cp.conductance[f];
            let grad = self.grad[f];
            let d_l = -self.dsig[l] * cond;
            let d_r = self.dsig[r] * cond;
            for (q, &i) in self.minor.iter().enumerate() {
                let (h_l, h_r) = (self.h[l * n + i], self.h[r * n + i]);
                let (phi_l, phi_r) = (phi[l * n + i], phi[r * n + i]);
                let (mut tl, mut tr, mut ul, mut ur) = (0.0, 0.0, 0.0, 0.0);
                if h_r * grad > 0.0 {
                    tl += phi_l * h_r * d_l;
                    tr += phi_l * h_r * d_r;
                    ur = phi_l * grad;
                }
                if h_l * grad < 0.0 {
                    tl += phi_r * h_l * d_l;
                    tr += phi_r * h_l * d_r;
                    ul = phi_r * grad;
                }
                let k = base + q;
                self.cmp_tl[k] = dt * tl;
                self.cmp_tr[k] = dt * tr;
                self.cmp_ul[k] = dt * ul;
                self.cmp_ur[k] = dt * ur;
            }
        }
        for j in 0..cells {
            for (q, &i) in self.minor.iter().enumerate() {
                let slot = j * nq + q;
                let row = &self.dh[j * nn + i * n..j * nn + (i + 1) * n];
                let dst = &mut self.dh_minor[slot * nm..(slot + 1) * nm];
                for (d, &m) in dst.iter_mut().zip(&self.major) {
                    *d = row[m];
                }
            }
        }
    }

    /// The consolidation part of the Jacobian (see [`Compression`]), after the per-cell pass of
    /// [`ColumnSolver::assemble`] (σ_e, σ_e′, h and ∂h/∂φ at `phi`): the face stress gradients
    /// into the solver's buffer, and the derivatives
    /// of F^c with respect to the coupled classes into the blocks:
    ///
    /// ∂F/∂φ_{L,m} = δ_im P⁺ + [P > 0] φ_{i,L} h_i(R) D_L + [Q < 0] φ_{i,R} (∂h_i(L)/∂φ_m D + h_i(L) D_L),
    /// ∂F/∂φ_{R,m} = [P > 0] φ_{i,L} (∂h_i(R)/∂φ_m D + h_i(R) D_R) + δ_im Q⁻ + [Q < 0] φ_{i,R} h_i(L) D_R,
    ///
    /// with P = h_i(R) D, Q = h_i(L) D, D_L = −σ_e′(L) A/Δr, D_R = σ_e′(R) A/Δr.
    fn assemble_compression(&mut self, cp: &Compression<'_>, phi: &[f64], dt: f64) {
        let n = self.n;
        let nn = n * n;
        let cells = self.cells;
        let nm = self.major.len();
        let bb = nm * nm;
        self.grad[0] = 0.0;
        self.grad[cells] = 0.0;
        for f in 1..cells {
            let (l, r) = (f - 1, f);
            let cond = cp.conductance[f];
            let grad = (self.sig[r] - self.sig[l]) * cond;
            self.grad[f] = grad;
            let d_l = -self.dsig[l] * cond;
            let d_r = self.dsig[r] * cond;
            if grad == 0.0 && d_l == 0.0 && d_r == 0.0 {
                continue;
            }
            for (a, &i) in self.major.iter().enumerate() {
                let (h_l, h_r) = (self.h[l * n + i], self.h[r * n + i]);
                let (phi_l, phi_r) = (phi[l * n + i], phi[r * n + i]);
                let pp = h_r * grad;
                let q = h_l * grad;
                let dh_l = &self.dh[l * nn + i * n..l * nn + (i + 1) * n];
                let dh_r = &self.dh[r * nn + i * n..r * nn + (i + 1) * n];
                for (b, &m) in self.major.iter().enumerate() {
                    let mut dfl = 0.0;
                    let mut dfr = 0.0;
                    if m == i {
                        dfl += pp.max(0.0);
                        dfr += q.min(0.0);
                    }
                    if pp > 0.0 {
                        dfl += phi_l * h_r * d_l;
                        dfr += phi_l * (dh_r[m] * grad + h_r * d_r);
                    }
                    if q < 0.0 {
                        dfl += phi_r * (dh_l[m] * grad + h_l * d_l);
                        dfr += phi_r * h_l * d_r;
                    }
                    let (dfl, dfr) = (dt * dfl, dt * dfr);
                    self.diag[l * bb + a * nm + b] += dfl;
                    self.upper[l * bb + a * nm + b] += dfr;
                    self.diag[r * bb + a * nm + b] -= dfr;
                    self.lower[r * bb + a * nm + b] -= dfl;
                }
            }
        }
    }

    /// The shear-diffusion part of the Jacobian (see [`Diffusion`]): Φ and p per cell into
    /// the solver's buffers, and the derivatives of F^d with respect to the coupled classes
    /// into the blocks.
    fn assemble_diffusion(&mut self, kin: &Kinetics, df: &Diffusion<'_>, phi: &[f64], dt: f64) {
        let n = self.n;
        let cells = self.cells;
        let nm = self.major.len();
        let bb = nm * nm;
        for j in 0..cells {
            let total: f64 = phi[j * n..(j + 1) * n].iter().sum();
            self.diff_total[j] = total;
            self.diff_pack[j] = packing_factor(total, kin.phi_max).0;
        }
        for f in 1..cells {
            let (l, r) = (f - 1, f);
            let mean = 0.5 * (self.diff_total[l] + self.diff_total[r]);
            let cond = dt * df.conductance[f];
            if cond == 0.0 {
                continue;
            }
            let (p_l, dp_l) = packing_factor(self.diff_total[l], kin.phi_max);
            let (p_r, dp_r) = packing_factor(self.diff_total[r], kin.phi_max);
            for (a, &i) in self.major.iter().enumerate() {
                let c = cond * df.coefficient[i];
                if c == 0.0 {
                    continue;
                }
                let (phi_l, phi_r) = (phi[l * n + i], phi[r * n + i]);
                let half_b = 0.5 * (phi_l * p_r - phi_r * p_l);
                let common_l = c * (half_b - mean * phi_r * dp_l);
                let common_r = c * (half_b + mean * phi_l * dp_r);
                for b in 0..nm {
                    let (mut dfl, mut dfr) = (common_l, common_r);
                    if b == a {
                        dfl += c * mean * p_r;
                        dfr -= c * mean * p_l;
                    }
                    self.diag[l * bb + a * nm + b] += dfl;
                    self.upper[l * bb + a * nm + b] += dfr;
                    self.diag[r * bb + a * nm + b] -= dfr;
                    self.lower[r * bb + a * nm + b] -= dfl;
                }
            }
        }
    }

    /// Block Thomas factorisation of the coupled blocks: S_j = D_j − L_j X_{j−1}, its LU
    /// factors (partial pivoting) and X_j = S_j⁻¹ U_j (for more than 16 coupled classes the
    /// explicit inverse instead of the LU factors). Every later solve is two small
    /// matrix–vector products and two triangular solves per cell.
    fn factor(&mut self) {
        macro_rules! fixed {
            ($($k:literal)*) => {
                match self.major.len() {
                    $($k => crate::kernel::widest(
                        #[inline(always)]
                        || factor_blocks::<$k>(
                            &self.diag,
                            &self.lower,
                            &self.upper,
                            &mut self.lower_t,
                            (&mut self.inv, &mut self.lu_upper, &mut self.lu_diag),
                            &mut self.lu_piv,
                            &mut self.xmat,
                            self.cells,
                        ),
                    ),)*
                    _ => self.factor_dyn(),
                }
            };
        }
        fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    }

    /// [`ColumnSolver::factor`] for any block size (row-major inverse and X).
    fn factor_dyn(&mut self) {
        let n = self.major.len();
        let nn = n * n;
        for j in 0..self.cells {
            let s = &mut self.diag[j * nn..(j + 1) * nn];
            if j > 0 {
                let lw = &self.lower[j * nn..(j + 1) * nn];
                let x = &self.xmat[(j - 1) * nn..j * nn];
                for i in 0..n {
                    let sr = &mut s[i * n..(i + 1) * n];
                    for k in 0..n {
                        let a = lw[i * n + k];
                        if a != 0.0 {
                            let xr = &x[k * n..(k + 1) * n];
                            for (sv, &xv) in sr.iter_mut().zip(xr) {
                                *sv -= a * xv;
                            }
                        }
                    }
                }
            }
            let inv = &mut self.inv[j * nn..(j + 1) * nn];
            invert(s, inv, &mut self.piv[..n], n);
            if j + 1 < self.cells {
                let x = &mut self.xmat[j * nn..(j + 1) * nn];
                mat_mul(inv, &self.upper[j * nn..(j + 1) * nn], x, n);
            }
        }
    }

    /// Solves J δ = `self.delta` in place: the coupled classes by the block kernels, then
    /// each decoupled class by its tridiagonal with the coupled updates moved to the
    /// right-hand side.
    fn solve_factored(&mut self) {
        let n = self.n;
        let cells = self.cells;
        let nm = self.major.len();
        for (dm, d) in self.delta_major[..cells * nm]
            .chunks_exact_mut(nm)
            .zip(self.delta.chunks_exact(n))
        {
            for (x, &i) in dm.iter_mut().zip(&self.major) {
                *x = d[i];
            }
        }
        macro_rules! fixed {
            ($($k:literal)*) => {
                match nm {
                    $($k => crate::kernel::widest(
                        #[inline(always)]
                        || solve_blocks::<$k>(
                            &self.lower_t,
                            (&self.inv, &self.lu_upper, &self.lu_diag),
                            &self.lu_piv,
                            &self.xmat,
                            &mut self.delta_major,
                            cells,
                        ),
                    ),)*
                    _ => solve_blocks_dyn(
                        &self.lower,
                        &self.inv,
                        &self.xmat,
                        &mut self.delta_major,
                        &mut self.tmp,
                        nm,
                        cells,
                    ),
                }
            };
        }
        fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        for (dm, d) in self.delta_major[..cells * nm]
            .chunks_exact(nm)
            .zip(self.delta.chunks_exact_mut(n))
        {
            for (&x, &i) in dm.iter().zip(&self.major) {
                d[i] = x;
            }
        }
        let nq = self.minor.len();
        if nq == 0 {
            return;
        }
        // s_{j,q} = Σ_m ∂v_i/∂φ_m(j) δφ_{j,m} over the coupled classes
        for ((cj, rows), dm) in self.coupling[..cells * nq]
            .chunks_exact_mut(nq)
            .zip(self.dv_minor.chunks_exact(nq * nm))
            .zip(self.delta_major.chunks_exact(nm))
        {
            for (c, row) in cj.iter_mut().zip(rows.chunks_exact(nm)) {
                *c = row.iter().zip(dm).map(|(a, b)| a * b).sum();
            }
        }
        if self.compressed {
            // consolidation coupling: t_j = Σ_m δφ_{j,m}, u_{j,q} = Σ_m ∂h_i/∂φ_m δφ_{j,m}
            for j in 0..cells {
                let dm = &self.delta_major[j * nm..(j + 1) * nm];
                self.cmp_t[j] = dm.iter().sum();
                for q in 0..nq {
                    let slot = j * nq + q;
                    let row = &self.dh_minor[slot * nm..(slot + 1) * nm];
                    self.cmp_u[slot] = row.iter().zip(dm).map(|(a, b)| a * b).sum();
                }
            }
        }
        // Thomas forward and back sweeps, all decoupled classes together (independent
        // recursions interleaved), on their right-hand sides gathered per cell (contiguous
        // slices instead of N-strided indexing; the same arithmetic)
        let compressed = self.compressed;
        let dq = &mut self.delta_minor[..cells * nq];
        for (x, d) in dq.chunks_exact_mut(nq).zip(self.delta.chunks_exact(n)) {
            for (x, &i) in x.iter_mut().zip(&self.minor) {
                *x = d[i];
            }
        }
        for j in 0..cells {
            let cell = j * nq..(j + 1) * nq;
            let (own, coupling) = (&self.couple_own[cell.clone()], &self.coupling[cell.clone()]);
            let (lower, inv_diag) = (
                &self.tri_lower[cell.clone()],
                &self.tri_inv_diag[cell.clone()],
            );
            let (couple_next, couple_prev) = (
                &self.couple_next[cell.clone()],
                &self.couple_prev[cell.clone()],
            );
            // the coupled updates of the neighbours (none beyond the walls)
            let coupling_next = (j + 1 < cells).then(|| &self.coupling[cell.end..cell.end + nq]);
            let (done, rest) = dq.split_at_mut(cell.start);
            let cur = &mut rest[..nq];
            let below = (j > 0).then(|| {
                (
                    &self.coupling[cell.start - nq..cell.start],
                    &done[cell.start - nq..],
                )
            });
            for q in 0..nq {
                let slot = j * nq + q;
                let mut extra = own[q] * coupling[q];
                if compressed {
                    // face j+½ (this cell left) minus face j−½ (this cell right)
                    let k = (j + 1) * nq + q;
                    extra += self.cmp_tl[k] * self.cmp_t[j] + self.cmp_ul[k] * self.cmp_u[slot];
                    if j + 1 < cells {
                        extra += self.cmp_tr[k] * self.cmp_t[j + 1]
                            + self.cmp_ur[k] * self.cmp_u[slot + nq];
                    }
                    if j > 0 {
                        let k = j * nq + q;
                        extra -= self.cmp_tl[k] * self.cmp_t[j - 1]
                            + self.cmp_ul[k] * self.cmp_u[slot - nq]
                            + self.cmp_tr[k] * self.cmp_t[j]
                            + self.cmp_ur[k] * self.cmp_u[slot];
                    }
                }
                if let Some(next) = coupling_next {
                    extra += couple_next[q] * next[q];
                }
                let prev = if let Some((coupling_prev, delta_prev)) = below {
                    extra += couple_prev[q] * coupling_prev[q];
                    delta_prev[q]
                } else {
                    0.0
                };
                let rhs = cur[q] - extra;
                cur[q] = (rhs - lower[q] * prev) * inv_diag[q];
            }
        }
        for j in (0..cells - 1).rev() {
            let (cur, next) = dq[j * nq..(j + 2) * nq].split_at_mut(nq);
            let upper = &self.tri_upper_factor[j * nq..(j + 1) * nq];
            for ((x, &u), &y) in cur.iter_mut().zip(upper).zip(&*next) {
                *x -= u * y;
            }
        }
        for (x, d) in dq.chunks_exact(nq).zip(self.delta.chunks_exact_mut(n)) {
            for (&x, &i) in x.iter().zip(&self.minor) {
                d[i] = x;
            }
        }
    }
}

/// `block` (nm × nm, row-major) := m I, the accumulation block's start: the cell's measure
/// m on the diagonal, zero elsewhere.
#[inline]
fn measure_identity(block: &mut [f64], m: f64, nm: usize) {
    block.fill(0.0);
    for a in 0..nm {
        block[a * nm + a] = m;
    }
}

/// Block forward/back substitution with N × N blocks: y_j = S_j⁻¹(b_j − L_j y_{j−1}) with the
/// LU factors of S_j ([`lu_solve_fixed`]; below [`LU_MIN_BLOCK`] the explicit inverse),
/// x_j = y_j − X_j x_{j+1}. The blocks are
/// stored **transposed** (`lower_t`, the LU factors, `xmat_t`), so every product is a sum of scaled
/// columns: N independent accumulators that vectorise, instead of N dependent dot-product
/// chains. Inlined into [`crate::kernel::widest`] (AVX2/AVX-512F when available, bitwise the
/// same).
#[inline(always)]
fn solve_blocks<const N: usize>(
    lower_t: &[f64],
    (lu_l, lu_u, lu_d): (&[f64], &[f64], &[f64]),
    lu_piv: &[usize],
    xmat_t: &[f64],
    delta: &mut [f64],
    cells: usize,
) {
    let (lower_t, _) = lower_t.as_chunks::<N>();
    let (lu_l, _) = lu_l.as_chunks::<N>();
    let (lu_u, _) = lu_u.as_chunks::<N>();
    let (lu_d, _) = lu_d.as_chunks::<N>();
    let (lu_piv, _) = lu_piv.as_chunks::<N>();
    let (xmat_t, _) = xmat_t.as_chunks::<N>();
    let (delta, _) = delta.as_chunks_mut::<N>();
    let mut prev = [0.0; N];
    for j in 0..cells {
        let mut b = delta[j];
        if j > 0 {
            let lw = &lower_t[j * N..(j + 1) * N];
            for k in 0..N {
                let f = prev[k];
                for i in 0..N {
                    b[i] -= lw[k][i] * f;
                }
            }
        }
        let cell = j * N..(j + 1) * N;
        if N < LU_MIN_BLOCK {
            // explicit inverse (transposed, in `lu_l`): y = S⁻¹ b
            let iv = &lu_l[cell];
            let mut y = [0.0; N];
            for k in 0..N {
                let f = b[k];
                for i in 0..N {
                    y[i] += iv[k][i] * f;
                }
            }
            b = y;
        } else {
            lu_solve_fixed::<N>(
                &lu_l[cell.clone()],
                &lu_u[cell],
                &lu_d[j],
                &lu_piv[j],
                &mut b,
            );
        }
        delta[j] = b;
        prev = b;
    }
    let mut next = delta[cells - 1];
    for j in (0..cells.saturating_sub(1)).rev() {
        let x = &xmat_t[j * N..(j + 1) * N];
        let mut y = delta[j];
        for k in 0..N {
            let f = next[k];
            for i in 0..N {
                y[i] -= x[k][i] * f;
            }
        }
        delta[j] = y;
        next = y;
    }
}

/// b ← S⁻¹ b from the LU factors of [`factor_blocks`]: `l_t[k][i]` = L[i][k] (strict unit
/// lower part), `u_t[k][i]` = U[i][k] (strict upper part), `d[k]` = 1/U_kk, row interchanges
/// `piv`. The strict parts are stored with zeros elsewhere, so every column operation runs
/// over the whole (vectorised) row.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn lu_solve_fixed<const N: usize>(
    l_t: &[[f64; N]],
    u_t: &[[f64; N]],
    d: &[f64; N],
    piv: &[usize; N],
    b: &mut [f64; N],
) {
    for k in 0..N {
        b.swap(k, piv[k]);
    }
    for k in 0..N {
        let f = b[k];
        for i in 0..N {
            b[i] -= l_t[k][i] * f;
        }
    }
    for k in (0..N).rev() {
        let f = b[k] * d[k];
        b[k] = f;
        for i in 0..N {
            b[i] -= u_t[k][i] * f;
        }
    }
}

/// [`solve_blocks`] for any number of classes.
fn solve_blocks_dyn(
    lower: &[f64],
    inv: &[f64],
    xmat: &[f64],
    delta: &mut [f64],
    tmp: &mut [f64],
    n: usize,
    cells: usize,
) {
    let nn = n * n;
    // the scratch is sized for every class of the solver; only the n coupled ones are used
    let tmp = &mut tmp[..n];
    for j in 0..cells {
        let (prev, cur) = delta.split_at_mut(j * n);
        let b = &mut cur[..n];
        if j > 0 {
            let lw = &lower[j * nn..(j + 1) * nn];
            let y_prev = &prev[(j - 1) * n..];
            for (i, bv) in b.iter_mut().enumerate() {
                *bv -= dot(&lw[i * n..(i + 1) * n], y_prev);
            }
        }
        let iv = &inv[j * nn..(j + 1) * nn];
        for (i, t) in tmp.iter_mut().enumerate() {
            *t = dot(&iv[i * n..(i + 1) * n], b);
        }
        b.copy_from_slice(tmp);
    }
    for j in (0..cells.saturating_sub(1)).rev() {
        let x = &xmat[j * nn..(j + 1) * nn];
        let (cur, next) = delta.split_at_mut((j + 1) * n);
        let x_next = &next[..n];
        let y = &mut cur[j * n..];
        for (i, yv) in y.iter_mut().enumerate() {
            *yv -= dot(&x[i * n..(i + 1) * n], x_next);
        }
    }
}

/// Blocks of at least this many coupled classes are LU-factored ([`factor_blocks`]); smaller
/// ones are inverted explicitly ([`factor_blocks_inverse`]). At N = 10 (the whole-blood tube)
/// the LU path takes ≈ 22 % fewer instructions for factorisation and solves together; at
/// N = 4 (the channel probe, whose columns share factorisations across many solves) the
/// explicit inverse is ≈ 4 % cheaper for the whole steady solve (valgrind, perf probe).
const LU_MIN_BLOCK: usize = 8;

/// Block Thomas factorisation with N × N blocks (see [`ColumnSolver::factor`]): S_j in a
/// stack array, LU-factored with partial pivoting (row interchanges into `lu_piv`, the factors
/// transposed into the strict lower and upper parts `lu_l`, `lu_u` and the reciprocal
/// diagonal `lu_d`, see [`lu_solve_fixed`]), X_j = S_j⁻¹ U_j by forward and back
/// substitution on whole rows: ≈ 4N³/3 multiply–adds per cell against 3N³ for an explicit
/// Gauss–Jordan inverse. `diag` is left untouched.
/// Inlined into [`crate::kernel::widest`] (AVX2/AVX-512F when available, bitwise the same).
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
#[inline(always)]
fn factor_blocks<const N: usize>(
    diag: &[f64],
    lower: &[f64],
    upper: &[f64],
    lower_t: &mut [f64],
    (lu_l, lu_u, lu_d): (&mut [f64], &mut [f64], &mut [f64]),
    lu_piv: &mut [usize],
    xmat_t: &mut [f64],
    cells: usize,
) {
    if N < LU_MIN_BLOCK {
        factor_blocks_inverse::<N>(diag, lower, upper, lower_t, lu_l, xmat_t, cells);
        return;
    }
    let (diag, _) = diag.as_chunks::<N>();
    let (lower, _) = lower.as_chunks::<N>();
    let (upper, _) = upper.as_chunks::<N>();
    let (lower_t, _) = lower_t.as_chunks_mut::<N>();
    let (lu_l, _) = lu_l.as_chunks_mut::<N>();
    let (lu_u, _) = lu_u.as_chunks_mut::<N>();
    let (lu_d, _) = lu_d.as_chunks_mut::<N>();
    let (lu_piv, _) = lu_piv.as_chunks_mut::<N>();
    let (xmat_t, _) = xmat_t.as_chunks_mut::<N>();
    let mut x_prev = [[0.0; N]; N];
    for j in 0..cells {
        let mut a = schur_block(diag, lower, lower_t, &x_prev, j);
        // LU with partial pivoting: `a` becomes U (exact zeros below the diagonal), the
        // multipliers go to `l`; rows of both are interchanged together
        let piv = &mut lu_piv[j];
        let mut l = [[0.0; N]; N];
        let mut d = [0.0; N];
        for k in 0..N {
            let p = pivot_row(&a, k);
            a.swap(k, p);
            l.swap(k, p);
            piv[k] = p;
            let pivot = if a[k][k] == 0.0 { 1e-300 } else { a[k][k] };
            let r = 1.0 / pivot;
            d[k] = r;
            let ak = a[k];
            for i in k + 1..N {
                let f = a[i][k] * r;
                if f != 0.0 {
                    l[i][k] = f;
                    for c in 0..N {
                        a[i][c] -= f * ak[c];
                    }
                }
                a[i][k] = 0.0;
            }
        }
        for k in 0..N {
            a[k][k] = 0.0;
        }
        lu_l[j * N..(j + 1) * N].copy_from_slice(&transpose(&l));
        lu_u[j * N..(j + 1) * N].copy_from_slice(&transpose(&a));
        lu_d[j] = d;
        if j + 1 < cells {
            // X = S⁻¹ U: P U, then L⁻¹ and U⁻¹ by row operations on whole rows
            let mut x = [[0.0; N]; N];
            x.copy_from_slice(&upper[j * N..(j + 1) * N]);
            for k in 0..N {
                x.swap(k, piv[k]);
            }
            for k in 0..N {
                let xk = x[k];
                for i in k + 1..N {
                    let f = l[i][k];
                    if f != 0.0 {
                        for c in 0..N {
                            x[i][c] -= f * xk[c];
                        }
                    }
                }
            }
            for k in (0..N).rev() {
                let r = d[k];
                for c in 0..N {
                    x[k][c] *= r;
                }
                let xk = x[k];
                for i in 0..k {
                    let f = a[i][k];
                    if f != 0.0 {
                        for c in 0..N {
                            x[i][c] -= f * xk[c];
                        }
                    }
                }
            }
            xmat_t[j * N..(j + 1) * N].copy_from_slice(&transpose(&x));
            x_prev = x;
        }
    }
}

/// [`factor_blocks`] for blocks smaller than [`LU_MIN_BLOCK`]: S_j inverted by Gauss–Jordan
/// elimination with partial pivoting (the transposed inverse into `inv_t`), X_j = S_j⁻¹ U_j.
/// For small blocks the explicit inverse is cheaper overall: the channel's columns reuse one
/// factorisation for many solves, and a solve is then one matrix–vector product per cell.
/// `diag` is left untouched.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn factor_blocks_inverse<const N: usize>(
    diag: &[f64],
    lower: &[f64],
    upper: &[f64],
    lower_t: &mut [f64],
    inv_t: &mut [f64],
    xmat_t: &mut [f64],
    cells: usize,
) {
    let (diag, _) = diag.as_chunks::<N>();
    let (lower, _) = lower.as_chunks::<N>();
    let (upper, _) = upper.as_chunks::<N>();
    let (lower_t, _) = lower_t.as_chunks_mut::<N>();
    let (inv_t, _) = inv_t.as_chunks_mut::<N>();
    let (xmat_t, _) = xmat_t.as_chunks_mut::<N>();
    let mut x_prev = [[0.0; N]; N];
    for j in 0..cells {
        let mut a = schur_block(diag, lower, lower_t, &x_prev, j);
        let mut b = [[0.0; N]; N];
        for (i, row) in b.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        for k in 0..N {
            let p = pivot_row(&a, k);
            a.swap(k, p);
            b.swap(k, p);
            let pivot = if a[k][k] == 0.0 { 1e-300 } else { a[k][k] };
            let d = 1.0 / pivot;
            for c in 0..N {
                a[k][c] *= d;
                b[k][c] *= d;
            }
            let (ak, bk) = (a[k], b[k]);
            for i in 0..N {
                if i != k {
                    let f = a[i][k];
                    if f != 0.0 {
                        for c in 0..N {
                            a[i][c] -= f * ak[c];
                            b[i][c] -= f * bk[c];
                        }
                    }
                }
            }
        }
        inv_t[j * N..(j + 1) * N].copy_from_slice(&transpose(&b));
        if j + 1 < cells {
            let u = &upper[j * N..(j + 1) * N];
            let mut x = [[0.0; N]; N];
            for i in 0..N {
                for k in 0..N {
                    let f = b[i][k];
                    for c in 0..N {
                        x[i][c] += f * u[k][c];
                    }
                }
            }
            xmat_t[j * N..(j + 1) * N].copy_from_slice(&transpose(&x));
            x_prev = x;
        }
    }
}

/// The transpose of an N × N block.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn transpose<const N: usize>(m: &[[f64; N]; N]) -> [[f64; N]; N] {
    let mut t = [[0.0; N]; N];
    for i in 0..N {
        for k in 0..N {
            t[k][i] = m[i][k];
        }
    }
    t
}

/// The Schur complement S_j = D_j − L_j X_{j−1} of cell `j` of the block-Thomas elimination
/// (S_0 = D_0), shared by both factorisations; stores Lᵀ_j into `lower_t` for the solves.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn schur_block<const N: usize>(
    diag: &[[f64; N]],
    lower: &[[f64; N]],
    lower_t: &mut [[f64; N]],
    x_prev: &[[f64; N]; N],
    j: usize,
) -> [[f64; N]; N] {
    let mut a = [[0.0; N]; N];
    a.copy_from_slice(&diag[j * N..(j + 1) * N]);
    let mut lw = [[0.0; N]; N];
    lw.copy_from_slice(&lower[j * N..(j + 1) * N]);
    lower_t[j * N..(j + 1) * N].copy_from_slice(&transpose(&lw));
    if j > 0 {
        for i in 0..N {
            for k in 0..N {
                let f = lw[i][k];
                if f != 0.0 {
                    for c in 0..N {
                        a[i][c] -= f * x_prev[k][c];
                    }
                }
            }
        }
    }
    a
}

/// Partial pivoting: the row at or below `k` with the largest |a[i][k]| (the first on ties).
#[inline(always)]
fn pivot_row<const N: usize>(a: &[[f64; N]; N], k: usize) -> usize {
    let mut p = k;
    let mut best = a[k][k].abs();
    for (i, row) in a.iter().enumerate().skip(k + 1) {
        if row[k].abs() > best {
            best = row[k].abs();
            p = i;
        }
    }
    p
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// C = A B for row-major n × n matrices.
fn mat_mul(a: &[f64], b: &[f64], c: &mut [f64], n: usize) {
    c.fill(0.0);
    for i in 0..n {
        let cr = &mut c[i * n..(i + 1) * n];
        for k in 0..n {
            let f = a[i * n + k];
            if f != 0.0 {
                for (cv, &bv) in cr.iter_mut().zip(&b[k * n..(k + 1) * n]) {
                    *cv += f * bv;
                }
            }
        }
    }
}

/// `inv` = `a`⁻¹ (row-major n × n) by LU with partial pivoting of `a` (overwritten).
fn invert(a: &mut [f64], inv: &mut [f64], piv: &mut [usize], n: usize) {
    lu_factor(a, piv, n);
    inv.fill(0.0);
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    lu_solve_rows(a, piv, inv, n);
}

/// φ_i ≥ 0 and Σφ ≤ φ_max in every cell.
/// [`project`], or with `frozen` = Some(major) the projection of the coupled classes only:
/// their negatives are clipped and, above φ_max, they are scaled down to the room the frozen
/// classes leave.
#[inline]
fn project_partial(kin: &Kinetics, phi: &mut [f64], n: usize, frozen: Option<&[bool]>) {
    let Some(major) = frozen else {
        project(kin, phi, n);
        return;
    };
    for cell in phi.chunks_exact_mut(n) {
        let (mut moving, mut fixed) = (0.0, 0.0);
        for (p, &m) in cell.iter_mut().zip(major) {
            if m {
                if *p < 0.0 {
                    *p = 0.0;
                }
                moving += *p;
            } else {
                fixed += *p;
            }
        }
        if moving + fixed > kin.phi_max && moving > 0.0 {
            let s = (kin.phi_max - fixed).max(0.0) / moving;
            for (p, &m) in cell.iter_mut().zip(major) {
                if m {
                    *p *= s;
                }
            }
        }
    }
}

fn project(kin: &Kinetics, phi: &mut [f64], n: usize) {
    for cell in phi.chunks_exact_mut(n) {
        let mut total = 0.0;
        for p in cell.iter_mut() {
            if *p < 0.0 {
                *p = 0.0;
            }
            total += *p;
        }
        if total > kin.phi_max {
            let s = kin.phi_max / total;
            for p in cell.iter_mut() {
                *p *= s;
            }
        }
    }
}

/// Velocities, face fluxes and the residual of `phi`; returns the scaled norms of
/// g_ij = |G_ij|/(m_j s_i).
#[allow(clippy::too_many_arguments)]
fn residual(
    p: &ColumnStep<'_>,
    star: &[f64],
    phi: &[f64],
    dt: f64,
    v: &mut [f64],
    flux: &mut [f64],
    resid: &mut [f64],
    (sig, h): (&mut [f64], &mut [f64]),
    bed: Option<(&[f64], &[usize])>,
) -> Norms {
    let kin = p.kin;
    let n = kin.n;
    let cells = p.measure.len();
    // per cell: velocities (and the consolidation's σ_e and h), in two halves on long
    // columns (each cell's values do not depend on the split: bitwise for any thread count)
    let cell_pass =
        |first: usize, v: &mut [f64], h: &mut [f64], sig: &mut [f64]| match &p.compression {
            Some(cp) => {
                let critical = cp.stress.critical;
                for (k, s) in sig.iter_mut().enumerate() {
                    let j = first + k;
                    let cell = &phi[j * n..(j + 1) * n];
                    *s = cp.cell_stress(j, cell.iter().sum()).0;
                    kin.velocities_and_compression(
                        cell,
                        critical,
                        &mut v[k * n..(k + 1) * n],
                        &mut h[k * n..(k + 1) * n],
                    );
                }
            }
            None => {
                for k in 0..sig.len() {
                    let j = first + k;
                    kin.velocities(&phi[j * n..(j + 1) * n], &mut v[k * n..(k + 1) * n], None);
                }
            }
        };
    split_cells(cells, n, v, h, sig, cell_pass);
    flux[..n].fill(0.0);
    flux[cells * n..].fill(0.0);
    // interior faces f = 1 … J − 1 between cells L = f − 1 and R = f (slices: no bounds
    // checks in the loop)
    for (((out, &a), pw), vw) in flux[n..cells * n]
        .chunks_exact_mut(n)
        .zip(&p.accel[1..cells])
        .zip(phi.windows(2 * n).step_by(n))
        .zip(v.windows(2 * n).step_by(n))
    {
        let (phi_l, phi_r) = pw.split_at(n);
        let (v_l, v_r) = vw.split_at(n);
        for ((((o, &pl), &pr), &vl), &vr) in out.iter_mut().zip(phi_l).zip(phi_r).zip(v_l).zip(v_r)
        {
            *o = a * (pl * vr.max(0.0) + pr * vl.min(0.0));
        }
    }
    if let Some((inc, faces)) = bed {
        // the reconstructed faces ([`Reconstruction`]; elsewhere the ratios are 1)
        for &f in faces {
            let a = p.accel[f];
            let (l, r) = ((f - 1) * n, f * n);
            for i in 0..n {
                let [rpl, rpr, rvl, rvr] = face_ratios(inc, f, i, n);
                let (vl, vr) = (rvl * v[l + i], rvr * v[r + i]);
                flux[f * n + i] =
                    a * (rpl * phi[l + i] * vr.max(0.0) + rpr * phi[r + i] * vl.min(0.0));
            }
        }
    }
    if let Some(cp) = &p.compression {
        for f in 1..cells {
            let grad = (sig[f] - sig[f - 1]) * cp.conductance[f];
            if grad == 0.0 {
                continue;
            }
            for i in 0..n {
                let (l, r) = ((f - 1) * n + i, f * n + i);
                flux[f * n + i] +=
                    phi[l] * (h[r] * grad).max(0.0) + phi[r] * (h[l] * grad).min(0.0);
            }
        }
    }
    if let Some(df) = &p.diffusion {
        let phi_max = kin.phi_max;
        let mut total_l: f64 = phi[..n].iter().sum();
        for f in 1..cells {
            let total_r: f64 = phi[f * n..(f + 1) * n].iter().sum();
            let c = df.conductance[f] * 0.5 * (total_l + total_r);
            if c != 0.0 {
                let p_l = packing_factor(total_l, phi_max).0;
                let p_r = packing_factor(total_r, phi_max).0;
                for i in 0..n {
                    let (l, r) = ((f - 1) * n + i, f * n + i);
                    flux[f * n + i] += c * df.coefficient[i] * (phi[l] * p_r - phi[r] * p_l);
                }
            }
            total_l = total_r;
        }
    }
    let mut max = 0.0f64;
    let mut sum_sq = 0.0f64;
    for ((((&m, rj), pj), sj), fw) in p
        .measure
        .iter()
        .zip(resid.chunks_exact_mut(n))
        .zip(phi.chunks_exact(n))
        .zip(star.chunks_exact(n))
        .zip(flux.windows(2 * n).step_by(n))
    {
        let inv_m = 1.0 / m;
        let (f_in, f_out) = fw.split_at(n);
        for (((((r, &x), &x0), &fo), &fi), &is) in rj
            .iter_mut()
            .zip(pj)
            .zip(sj)
            .zip(f_out)
            .zip(f_in)
            .zip(p.inv_scale)
        {
            let g = m * (x - x0) + dt * (fo - fi);
            *r = g;
            let s = g.abs() * inv_m * is;
            sum_sq += s * s;
            max = max.max(s);
        }
    }
    // a NaN anywhere makes the sum NaN (f64::max skips NaN): report it as infinite
    if !sum_sq.is_finite() {
        max = f64::INFINITY;
    }
    Norms { max, sum_sq }
}

/// The per-cell outputs of the Jacobian assembly's closure pass (a range of cells).
struct CellJacobians<'a> {
    v: &'a mut [f64],
    dv: &'a mut [f64],
    dv_minor: &'a mut [f64],
    sig: &'a mut [f64],
    dsig: &'a mut [f64],
    h: &'a mut [f64],
    dh: &'a mut [f64],
}

impl<'a> CellJacobians<'a> {
    /// The first `mid` cells and the rest (`minor_len` values of `dv_minor` per cell).
    fn split(self, mid: usize, n: usize, minor_len: usize) -> (Self, Self) {
        let nn = n * n;
        let (v0, v1) = self.v.split_at_mut(mid * n);
        let (dv0, dv1) = self.dv.split_at_mut(mid * nn);
        let (dm0, dm1) = self.dv_minor.split_at_mut(mid * minor_len);
        let (s0, s1) = self.sig.split_at_mut(mid);
        let (d0, d1) = self.dsig.split_at_mut(mid);
        let (h0, h1) = self.h.split_at_mut(mid * n);
        let (dh0, dh1) = self.dh.split_at_mut(mid * nn);
        (
            Self {
                v: v0,
                dv: dv0,
                dv_minor: dm0,
                sig: s0,
                dsig: d0,
                h: h0,
                dh: dh0,
            },
            Self {
                v: v1,
                dv: dv1,
                dv_minor: dm1,
                sig: s1,
                dsig: d1,
                h: h1,
                dh: dh1,
            },
        )
    }
}

/// Columns of at least this many cells run their per-cell closure passes (residual and
/// Jacobian assembly) in two halves with `rayon::join` (in the caller's pool; one thread runs
/// them one after the other). Each cell's values are computed alone, so the result does not
/// depend on the thread count. 1024 since session 10 (128 before): on the 2-core test machine
/// the hand-over costs more than the halves save — the whole-blood tube at 400 cells took
/// 1.24–1.30 s wall on 2 threads with the split against 1.10–1.12 s without (`chrt -f 50`),
/// and at 2 000 cells (first 120 s) 33.3 s against 33.5 s on 1 thread (benches/README.md).
const SPLIT_CELLS: usize = 1024;

/// Runs `pass(first, a, b, c)` over the cells of per-cell arrays `a`, `b` (N per cell) and
/// `c` (one per cell): on the whole column or, from [`SPLIT_CELLS`] cells, on two halves in
/// parallel.
pub(crate) fn split_cells<F>(
    cells: usize,
    n: usize,
    a: &mut [f64],
    b: &mut [f64],
    c: &mut [f64],
    pass: F,
) where
    F: Fn(usize, &mut [f64], &mut [f64], &mut [f64]) + Sync,
{
    let (a, b, c) = (&mut a[..cells * n], &mut b[..cells * n], &mut c[..cells]);
    if cells < SPLIT_CELLS {
        pass(0, a, b, c);
        return;
    }
    let mid = cells / 2;
    let (a0, a1) = a.split_at_mut(mid * n);
    let (b0, b1) = b.split_at_mut(mid * n);
    let (c0, c1) = c.split_at_mut(mid);
    rayon::join(|| pass(0, a0, b0, c0), || pass(mid, a1, b1, c1));
}

/// Scaled norms of the residual: the max-norm (convergence test) and the sum of squares
/// (line-search merit: a Newton direction is a descent direction of ‖G‖₂², not of ‖G‖_∞).
#[derive(Debug, Clone, Copy)]
struct Norms {
    max: f64,
    sum_sq: f64,
}

/// In-place LU factorisation with partial pivoting of the row-major n × n matrix `a`
/// (L unit lower, multipliers below the diagonal; `piv[k]` the row swapped with k).
/// A zero pivot is replaced by a tiny number (the systems here are diagonally dominant in
/// practice; this only keeps a degenerate block from producing NaN).
fn lu_factor(a: &mut [f64], piv: &mut [usize], n: usize) {
    for k in 0..n {
        let mut p = k;
        let mut best = a[k * n + k].abs();
        for i in k + 1..n {
            let v = a[i * n + k].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        piv[k] = p;
        if p != k {
            for c in 0..n {
                a.swap(k * n + c, p * n + c);
            }
        }
        let mut pivot = a[k * n + k];
        if pivot == 0.0 {
            pivot = 1e-300;
            a[k * n + k] = pivot;
        }
        let inv = 1.0 / pivot;
        for i in k + 1..n {
            let factor = a[i * n + k] * inv;
            a[i * n + k] = factor;
            if factor != 0.0 {
                for c in k + 1..n {
                    a[i * n + c] -= factor * a[k * n + c];
                }
            }
        }
    }
}

/// Solves (LU) X = B in place for B with `b.len()/n` columns stored row-major with n rows
/// (a vector is the case of one column): row operations on whole rows.
fn lu_solve_rows(lu: &[f64], piv: &[usize], b: &mut [f64], n: usize) {
    let cols = b.len() / n;
    for (k, &p) in piv.iter().enumerate().take(n) {
        if p != k {
            for c in 0..cols {
                b.swap(k * cols + c, p * cols + c);
            }
        }
    }
    for i in 1..n {
        for k in 0..i {
            let f = lu[i * n + k];
            if f != 0.0 {
                for c in 0..cols {
                    b[i * cols + c] -= f * b[k * cols + c];
                }
            }
        }
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            let f = lu[i * n + k];
            if f != 0.0 {
                for c in 0..cols {
                    b[i * cols + c] -= f * b[k * cols + c];
                }
            }
        }
        let inv = 1.0 / lu[i * n + i];
        for c in 0..cols {
            b[i * cols + c] *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;
    use buffycoat_physics::fluid::Fluid;
    use buffycoat_physics::hindrance::HindranceLaw;

    /// One backward-Euler step of `parts` identical classes (fractions summing to 0.4) on a
    /// 12-cell column; returns the summed profile.
    fn split_step(parts: usize) -> Vec<f64> {
        split_step_with_minor(parts, false).0
    }

    /// [`split_step`], optionally with one more, dilute class (a lymphocyte-like cell at
    /// 10⁻³) that Newton leaves decoupled (`major` false); returns the summed red-cell profile
    /// and the dilute class's profile (empty without it).
    fn split_step_with_minor(parts: usize, minor: bool) -> (Vec<f64>, Vec<f64>) {
        let cells = 12;
        let mut classes: Vec<Class> = (0..parts)
            .map(|_| Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.4 / parts as f64))
            .collect();
        if minor {
            classes.push(Class::new("lymphocyte", 7.0e-6, 1070.0, 1.0, 1e-3));
        }
        let n = classes.len();
        let law = HindranceLaw::hawksley_vand(0.95).unwrap();
        let kin = Kinetics::new(&classes, &Fluid::plasma_37c(), law, 0.01);
        let accel: Vec<f64> = (0..=cells)
            .map(|f| 6000.0 * (1.0 + 0.002 * f as f64))
            .collect();
        let measure = vec![1e-4; cells];
        let inv_scale: Vec<f64> = classes.iter().map(|c| 1.0 / c.volume_fraction).collect();
        let major: Vec<bool> = (0..n).map(|i| i < parts).collect();
        let step = ColumnStep {
            reconstruction: None,
            kin: &kin,
            accel: &accel,
            measure: &measure,
            inv_scale: &inv_scale,
            tolerance: 1e-12,
            max_iterations: 40,
            max_subdivisions: 0,
            major: &major,
            compression: None,
            diffusion: None,
        };
        let star: Vec<f64> = (0..cells * n)
            .map(|k| classes[k % n].volume_fraction)
            .collect();
        let mut phi = star.clone();
        let mut solver = ColumnSolver::new(cells, n);
        solver.step(&step, &star, &mut phi, 5.0).unwrap();
        let red = phi
            .chunks_exact(n)
            .map(|c| c[..parts].iter().sum())
            .collect();
        let dilute = if minor {
            phi.chunks_exact(n).map(|c| c[parts]).collect()
        } else {
            Vec::new()
        };
        (red, dilute)
    }

    /// A consolidating column of red cells and lymphocytes with the calibrated red-cell
    /// consolidation and the irreversible law (R = 100), all classes coupled: the fixture of
    /// the held-branch and split-pass tests.
    struct BedColumn {
        kin: Kinetics,
        stress: SolidStress,
        accel: Vec<f64>,
        measure: Vec<f64>,
        conductance: Vec<f64>,
        reached: Vec<f64>,
        inv_scale: Vec<f64>,
        major: Vec<bool>,
    }

    impl BedColumn {
        /// `cells` cells of measure `measure`, face conductance `conductance`, face
        /// accelerations `accel` (cells + 1) and preconsolidation fractions `reached`.
        fn new(accel: Vec<f64>, measure: f64, conductance: f64, reached: Vec<f64>) -> Self {
            use buffycoat_physics::consolidation::Consolidation;
            let cells = reached.len();
            let classes = vec![
                Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.4),
                Class::new("lymphocyte", 7.8e-6, 1075.0, 1.0, 0.002),
            ];
            let law = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
            let consolidation = Consolidation::red_cells();
            Self {
                kin: Kinetics::new(&classes, &Fluid::plasma_37c(), law, 0.01)
                    .with_bed(&consolidation),
                stress: consolidation.stress,
                accel,
                measure: vec![measure; cells],
                conductance: vec![conductance; cells + 1],
                reached,
                inv_scale: vec![1.0 / 0.4, 1.0 / 0.004],
                major: vec![true; classes.len()],
            }
        }

        fn step(&self, tolerance: f64, max_iterations: usize) -> ColumnStep<'_> {
            ColumnStep {
                reconstruction: None,
                kin: &self.kin,
                accel: &self.accel,
                measure: &self.measure,
                inv_scale: &self.inv_scale,
                tolerance,
                max_iterations,
                max_subdivisions: 0,
                major: &self.major,
                compression: Some(Compression {
                    stress: self.stress,
                    conductance: &self.conductance,
                    preconsolidation: Some((&self.reached, 100.0)),
                    held_branch: None,
                }),
                diffusion: None,
            }
        }
    }

    /// The held stress branches of [`ColumnSolver::solve`] (added for the whole-blood tube's
    /// Newton failures at the preconsolidation kink, docs/physics.md §9.2) end on the law
    /// itself: a compacted bed at its preconsolidation fraction, loaded further (the spin
    /// goes on) and unloaded (a brake to a tenth of the acceleration, where the cells that
    /// unload switch branch and the held system falls back to the law). Both end in the
    /// state Newton reaches on the kinked law, to round-off of the tolerance, and meet the
    /// law's residual (after the conservative update, which moves the iterate by its
    /// residual; the stiff unloading line amplifies that ≈ 100 ×).
    #[test]
    fn newton_at_the_preconsolidation_kink_holds_a_branch_and_ends_on_the_law() {
        let cells = 60;
        let n = 2;
        let critical = SolidStress::red_cells().critical;
        // plasma over a bed whose total rises from φ_c to 0.9 towards the bottom, white cells
        // spread through it; the bed stands at its preconsolidation fraction
        let star: Vec<f64> = (0..cells)
            .flat_map(|j| {
                let total = if j < 20 {
                    0.0
                } else {
                    critical + (0.9 - critical) * ((j - 20) as f64 / 39.0).sqrt()
                };
                [total * 0.995, total * 0.005]
            })
            .collect();
        let reached: Vec<f64> = star.chunks_exact(n).map(|c| c.iter().sum()).collect();
        for (case, g) in [("spin", 1.5e4), ("brake", 1.5e3)] {
            let column = BedColumn::new(vec![g; cells + 1], 1e-4, 1e4, reached.clone());
            let step = column.step(1e-10, 60);
            let dt = 5.0;
            let solve = |rounds: usize| {
                let mut solver = ColumnSolver::new(cells, n);
                solver.max_branch_rounds = rounds;
                let mut phi = star.clone();
                solver
                    .step(&step, &star, &mut phi, dt)
                    .unwrap_or_else(|e| panic!("{case}, {rounds} rounds: {e:?}"));
                (phi, solver.stats)
            };
            let (kinked, _) = solve(0);
            let (held, held_stats) = solve(MAX_BRANCH_ROUNDS);
            let scaled = |x: &[f64]| {
                let (r, _) = residual_and_fluxes(&step, &star, x, dt, None);
                r.chunks_exact(n)
                    .zip(&column.measure)
                    .flat_map(|(g, m)| {
                        g.iter()
                            .zip(&column.inv_scale)
                            .map(move |(g, s)| g.abs() * s / m)
                    })
                    .fold(0.0, f64::max)
            };
            let largest = held
                .iter()
                .zip(&kinked)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                largest <= 1e-9,
                "{case}: held and kinked states differ by {largest}"
            );
            for (name, state) in [("held", &held), ("kinked", &kinked)] {
                let r = scaled(state);
                assert!(
                    r <= 1e-7,
                    "{case}, {name}: the law's scaled residual is {r}"
                );
            }
            let unloaded = held
                .chunks_exact(n)
                .zip(&reached)
                .filter(|(c, r)| c.iter().sum::<f64>() < **r)
                .count();
            if case == "brake" {
                assert!(unloaded > 0 && held_stats.branch_switches > 0, "{case}");
            }
        }
    }

    /// The per-cell passes of a column long enough to run in two halves ([`SPLIT_CELLS`])
    /// give bitwise the residual and the Jacobian of one thread on 2 and 3 threads.
    #[test]
    fn split_cell_passes_are_bitwise_the_sequential_ones() {
        let cells = SPLIT_CELLS + 37;
        let n = 2;
        let accel: Vec<f64> = (0..=cells).map(|f| 1e4 + f as f64).collect();
        let column = BedColumn::new(accel, 1e-5, 1e5, vec![0.0; cells]);
        let step = column.step(1e-10, 40);
        let phi: Vec<f64> = (0..cells)
            .flat_map(|j| {
                let total = 0.3 + 0.6 * j as f64 / cells as f64;
                [total * 0.99, total * 0.01 * (1.0 + (j % 7) as f64 / 7.0)]
            })
            .collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let (r, fl) = residual_and_fluxes(&step, &phi, &phi, 1.0, None);
                let mut solver = ColumnSolver::new(cells, n);
                solver.set_partition(&step, true);
                solver.assemble(&step, &phi, 1.0);
                (
                    r,
                    fl,
                    solver.diag.clone(),
                    solver.lower.clone(),
                    solver.upper.clone(),
                )
            })
        };
        let one = run(1);
        for threads in [2, 3] {
            assert!(run(threads) == one, "{threads} threads");
        }
    }

    /// The column residual and the face fluxes at `x` (fresh scratch), for the
    /// finite-difference checks.
    fn residual_and_fluxes(
        step: &ColumnStep<'_>,
        star: &[f64],
        x: &[f64],
        dt: f64,
        bed: Option<(&[f64], &[usize])>,
    ) -> (Vec<f64>, Vec<f64>) {
        let (n, cells) = (step.kin.n, step.measure.len());
        let (mut v, mut fl, mut r) = (
            vec![0.0; cells * n],
            vec![0.0; (cells + 1) * n],
            vec![0.0; cells * n],
        );
        let (mut sg, mut h) = (vec![0.0; cells], vec![0.0; cells * n]);
        residual(
            step,
            star,
            x,
            dt,
            &mut v,
            &mut fl,
            &mut r,
            (&mut sg, &mut h),
            bed,
        );
        (r, fl)
    }

    /// J·δ with the assembled block-tridiagonal Jacobian (diagonal, lower and upper n × n
    /// blocks per cell), for the finite-difference checks.
    fn block_tridiagonal_times(
        solver: &ColumnSolver,
        cells: usize,
        n: usize,
        delta: &[f64],
    ) -> Vec<f64> {
        let nn = n * n;
        let mut jd = vec![0.0; cells * n];
        for j in 0..cells {
            for a in 0..n {
                let mut acc = 0.0;
                for b in 0..n {
                    acc += solver.diag[j * nn + a * n + b] * delta[j * n + b];
                    if j > 0 {
                        acc += solver.lower[j * nn + a * n + b] * delta[(j - 1) * n + b];
                    }
                    if j + 1 < cells {
                        acc += solver.upper[j * nn + a * n + b] * delta[(j + 1) * n + b];
                    }
                }
                jd[j * n + a] = acc;
            }
        }
        jd
    }

    /// The nonmonotone line search ([`ColumnSolver::set_nonmonotone_line_search`]) changes only
    /// Newton's path: stiff steps (red cells and a dilute light class, 40 cells, Δt large
    /// enough for the platelets to collect at the top of the bed) converge with it to the
    /// same solution as the monotone search (within the Newton tolerance's reach), conserves
    /// every class's volume, and the setting off is bitwise the default solver.
    #[test]
    fn nonmonotone_line_search_reaches_the_same_step() {
        let cells = 40;
        let classes = vec![
            Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.42),
            Class::new("platelet", 2.4e-6, 1070.0, 1.04, 0.002),
        ];
        let law = HindranceLaw::hawksley_vand(0.95).unwrap();
        let kin = Kinetics::new(&classes, &Fluid::plasma_37c(), law, 0.01);
        let accel: Vec<f64> = (0..=cells)
            .map(|f| 6000.0 * (1.0 + 0.002 * f as f64))
            .collect();
        let measure = vec![1e-4; cells];
        let inv_scale = vec![1.0 / 0.42, 1.0 / 0.002];
        let major = vec![true, false];
        let step = ColumnStep {
            reconstruction: None,
            kin: &kin,
            accel: &accel,
            measure: &measure,
            inv_scale: &inv_scale,
            tolerance: 1e-11,
            max_iterations: 60,
            max_subdivisions: 0,
            major: &major,
            compression: None,
            diffusion: None,
        };
        let star: Vec<f64> = (0..cells).flat_map(|_| [0.42, 0.002]).collect();
        let run = |setting: Option<bool>| {
            let mut solver = ColumnSolver::new(cells, 2);
            if let Some(on) = setting {
                solver.set_nonmonotone_line_search(on);
            }
            let mut phi = star.clone();
            for _ in 0..3 {
                let start = phi.clone();
                solver
                    .step(&step, &start, &mut phi, 5.0)
                    .unwrap_or_else(|e| panic!("{setting:?}: {e:?}"));
            }
            (phi, solver.stats)
        };
        let (plain, plain_stats) = run(None);
        let (off, off_stats) = run(Some(false));
        let (on, on_stats) = run(Some(true));
        assert_eq!(plain, off);
        assert_eq!(plain_stats, off_stats);
        for i in 0..2 {
            let volume = |x: &[f64]| -> f64 { x.iter().skip(i).step_by(2).sum::<f64>() };
            let v0 = volume(&star);
            assert!((volume(&on) / v0 - 1.0).abs() < 1e-12, "class {i}");
            for (a, b) in on.iter().zip(&plain).skip(i).step_by(2) {
                assert!(
                    (a - b).abs() <= 1e-8 * 0.42f64.max(*b),
                    "class {i}: {a} vs {b}"
                );
            }
        }
        // the platelets collect (4.7 × their start fraction, observed): the check is not on a
        // trivial state
        let top = on.iter().skip(1).step_by(2).fold(0.0f64, |a, &b| a.max(b));
        println!("monotone {plain_stats:?}\nnonmonotone {on_stats:?}\ntop {top}");
        assert!(top > 0.008, "{top}");
    }

    /// Identical classes behave as one (MLB is additive over identical classes): the summed
    /// profile of 17 classes (generic block kernels, N > 16) and of 4 classes (monomorphised
    /// kernels) equal that of one class to 10⁻⁹ relative, and the volume is conserved.
    #[test]
    fn identical_classes_add_up_for_generic_and_fixed_kernels() {
        let one = split_step(1);
        for parts in [4, 17] {
            let many = split_step(parts);
            for (a, b) in one.iter().zip(&many) {
                assert!(
                    (a - b).abs() <= 1e-9 * a.abs().max(1e-3),
                    "{parts}: {a} vs {b}"
                );
            }
            let total: f64 = many.iter().sum();
            assert!((total / (0.4 * 12.0) - 1.0).abs() < 1e-13, "{total}");
        }
        // the step did separate the column
        assert!(one[0] < 0.4 && one[11] > 0.4, "{one:?}");
    }

    /// Regression (`--set grid.classes_per_species=6` on the leukapheresis channel panicked
    /// with "range end index 306 out of range for slice of length 289" in the generic block
    /// solve): with more than 16 coupled classes *and* a decoupled one, the generic kernels
    /// used the whole solver's scratch length (n) instead of the coupled count. 17 red-cell
    /// parts plus a decoupled dilute class now give the summed red-cell profile and the dilute
    /// profile of one part plus the same class (fixed-size kernels) to 10⁻⁹.
    #[test]
    fn generic_block_kernels_with_a_decoupled_class_do_not_overrun_the_scratch() {
        let (one_red, one_dilute) = split_step_with_minor(1, true);
        let (red, dilute) = split_step_with_minor(17, true);
        for (a, b) in one_red.iter().zip(&red) {
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1e-3), "{a} vs {b}");
        }
        for (a, b) in one_dilute.iter().zip(&dilute) {
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1e-6), "{a} vs {b}");
        }
        // the dilute class moved: the check is not on an untouched profile
        let spread = dilute.iter().fold(0.0f64, |m, &d| m.max((d - 1e-3).abs()));
        assert!(spread > 1e-5, "{dilute:?}");
    }

    /// The block factorisation and solve (fixed-size kernels: N = 3 with explicit inverses,
    /// N = 10 with LU factors) solve a
    /// block-tridiagonal system whose blocks need row interchanges (zero leading diagonal
    /// entries) to 10⁻¹² of a dense LU solve of the same matrix.
    #[test]
    fn block_lu_kernels_match_a_dense_solve() {
        for n in [3, 10] {
            let cells = 7;
            let mut solver = ColumnSolver::new(cells, n);
            solver.major = (0..n).collect();
            solver.minor.clear();
            let nn = n * n;
            // a deterministic pseudo-random fill in [−1, 1)
            let mut seed = 12_345u64;
            let mut rand = || {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            };
            for j in 0..cells {
                for a in 0..n {
                    for b in 0..n {
                        let k = j * nn + a * n + b;
                        solver.lower[k] = if j > 0 { 0.3 * rand() } else { 0.0 };
                        solver.upper[k] = if j + 1 < cells { 0.3 * rand() } else { 0.0 };
                        // dominant off-diagonal entries and a zero leading diagonal: pivoting
                        solver.diag[k] = if a == b {
                            if a == 0 { 0.0 } else { 4.0 + rand() }
                        } else if b == (a + 1) % n {
                            5.0
                        } else {
                            rand()
                        };
                    }
                }
            }
            let dim = cells * n;
            let mut dense = vec![0.0; dim * dim];
            for j in 0..cells {
                for a in 0..n {
                    for b in 0..n {
                        let k = j * nn + a * n + b;
                        let row = (j * n + a) * dim;
                        dense[row + j * n + b] = solver.diag[k];
                        if j > 0 {
                            dense[row + (j - 1) * n + b] = solver.lower[k];
                        }
                        if j + 1 < cells {
                            dense[row + (j + 1) * n + b] = solver.upper[k];
                        }
                    }
                }
            }
            let rhs: Vec<f64> = (0..dim).map(|_| rand()).collect();
            let mut piv = vec![0; dim];
            let mut x = rhs.clone();
            lu_factor(&mut dense, &mut piv, dim);
            lu_solve_rows(&dense, &piv, &mut x, dim);
            solver.factor();
            solver.delta.copy_from_slice(&rhs);
            solver.solve_factored();
            let scale = x.iter().map(|v| v.abs()).fold(0.0, f64::max);
            for (a, b) in x.iter().zip(&solver.delta) {
                assert!((a - b).abs() <= 1e-12 * scale, "{n}: {a} vs {b}");
            }
            if n >= LU_MIN_BLOCK {
                assert!(
                    solver.lu_piv.iter().enumerate().any(|(k, &p)| p != k % n),
                    "the test needs row interchanges"
                );
            }
        }
    }

    /// The assembled Jacobian (all classes coupled) with consolidation and preconsolidation
    /// matches central differences of the residual: J δ ≈ (G(φ + εδ) − G(φ − εδ))/(2ε), with
    /// either network closure (contact ramp, pore size).
    #[test]
    fn jacobian_with_compression_matches_differences() {
        use buffycoat_physics::consolidation::NetworkClosure;
        for network in [NetworkClosure::ContactRamp, NetworkClosure::PoreSize] {
            jacobian_with_compression_matches_differences_with(network);
        }
    }

    fn jacobian_with_compression_matches_differences_with(
        network: buffycoat_physics::consolidation::NetworkClosure,
    ) {
        use buffycoat_physics::consolidation::{Consolidation, SolidStress};
        let cells = 9;
        let classes = vec![
            Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.4),
            Class::new("lymphocyte", 7.8e-6, 1075.0, 1.0, 0.01),
        ];
        let n = classes.len();
        let law = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
        let consolidation = Consolidation {
            stress: SolidStress::new(0.55, 5.0, 2.5).unwrap(),
            bed_exponent: 0.5,
            unloading_stiffness: 100.0,
            network,
            network_width: 0.05,
        };
        let kin = Kinetics::new(&classes, &Fluid::plasma_37c(), law, 0.01).with_bed(&consolidation);
        let accel: Vec<f64> = (0..=cells)
            .map(|f| 1.5e4 * (1.0 + 0.01 * f as f64))
            .collect();
        let measure = vec![1e-3; cells];
        let conductance = vec![1e3; cells + 1];
        let reached: Vec<f64> = (0..cells)
            .map(|j| if j == 6 { 0.95 } else { 0.0 })
            .collect();
        let inv_scale = vec![1.0; n];
        let major = vec![true; n];
        let step = ColumnStep {
            reconstruction: None,
            kin: &kin,
            accel: &accel,
            measure: &measure,
            inv_scale: &inv_scale,
            tolerance: 1e-12,
            max_iterations: 40,
            max_subdivisions: 0,
            major: &major,
            compression: Some(Compression {
                stress: consolidation.stress,
                conductance: &conductance,
                preconsolidation: Some((&reached, 100.0)),
                held_branch: None,
            }),
            diffusion: None,
        };
        // a bed profile crossing φ_c, with the minor class spread through it
        let phi: Vec<f64> = (0..cells)
            .flat_map(|j| {
                let red = 0.3 + 0.08 * j as f64;
                [red, 0.004 + 0.001 * (j % 3) as f64]
            })
            .collect();
        let star = phi.clone();
        let dt = 2.0;
        let mut solver = ColumnSolver::new(cells, n);
        solver.set_partition(&step, true);
        solver.assemble(&step, &phi, dt);
        let delta: Vec<f64> = (0..cells * n)
            .map(|k| ((k * 7 % 5) as f64 - 2.0) * 1e-3)
            .collect();
        let jd = block_tridiagonal_times(&solver, cells, n, &delta);
        let eps = 1e-4;
        let g = |x: &[f64]| residual_and_fluxes(&step, &star, x, dt, None).0;
        let plus: Vec<f64> = phi.iter().zip(&delta).map(|(p, d)| p + eps * d).collect();
        let minus: Vec<f64> = phi.iter().zip(&delta).map(|(p, d)| p - eps * d).collect();
        let (gp, gm) = (g(&plus), g(&minus));
        let scale = jd.iter().map(|x| x.abs()).fold(0.0, f64::max);
        for k in 0..cells * n {
            let fd = (gp[k] - gm[k]) / (2.0 * eps);
            assert!(
                (fd - jd[k]).abs() <= 1e-5 * scale,
                "row {k}: fd {fd} vs J δ {}",
                jd[k]
            );
        }
    }

    /// With [`Reconstruction`] the Jacobian (all classes coupled) is the exact derivative of
    /// the reconstructed residual for the face ratios frozen from the start state (a central
    /// difference), on a non-uniform grid through a smooth bed; and the reconstructed flux
    /// differs from the first-order one there while a uniform state keeps φv.
    #[test]
    fn reconstructed_jacobian_matches_differences() {
        let cells = 10;
        let classes = vec![
            Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.4),
            Class::new("platelet", 2.4e-6, 1058.0, 1.0, 0.002),
        ];
        let n = classes.len();
        let law = HindranceLaw::hawksley_vand(0.95).unwrap();
        let kin = Kinetics::new(&classes, &Fluid::plasma_37c(), law, 0.01);
        let accel: Vec<f64> = (0..=cells)
            .map(|f| 6.3e3 * (1.0 + 0.001 * f as f64))
            .collect();
        let width: Vec<f64> = (0..cells)
            .map(|j| if j < 5 { 1e-5 } else { 2e-5 })
            .collect();
        let inv_scale = vec![1.0, 500.0];
        let major = vec![true; n];
        let step = ColumnStep {
            reconstruction: Some(Reconstruction {
                width: &width,
                limiter: Limiter::VanLeer,
                min_total: 0.6,
            }),
            kin: &kin,
            accel: &accel,
            measure: &width,
            inv_scale: &inv_scale,
            tolerance: 1e-12,
            max_iterations: 40,
            max_subdivisions: 0,
            major: &major,
            compression: None,
            diffusion: None,
        };
        // a bed compacting towards the wall, platelets thinning out in it
        let star: Vec<f64> = (0..cells)
            .flat_map(|j| [0.7 + 0.02 * j as f64, 0.002 * (1.0 - 0.05 * j as f64)])
            .collect();
        let phi: Vec<f64> = star.iter().map(|x| x * 1.001).collect();
        let dt = 0.5;
        let mut solver = ColumnSolver::new(cells, n);
        solver.set_partition(&step, true);
        let mut v_star = vec![0.0; cells * n];
        for (x, vx) in star.chunks_exact(n).zip(v_star.chunks_exact_mut(n)) {
            kin.velocities(x, vx, None);
        }
        let rc = step.reconstruction.unwrap();
        rc.ratios(
            &star,
            &v_star,
            &mut solver.bed_inc,
            &mut solver.bed_faces,
            n,
        );
        assert_eq!(
            solver.bed_faces.len(),
            cells - 1,
            "every face is in the bed"
        );
        solver.assemble(&step, &phi, dt);
        let delta: Vec<f64> = (0..cells * n)
            .map(|k| ((k * 7 % 5) as f64 - 2.0) * if k % 2 == 0 { 1e-3 } else { 1e-6 })
            .collect();
        let jd = block_tridiagonal_times(&solver, cells, n, &delta);
        let (bed_inc, bed_faces) = (solver.bed_inc.clone(), solver.bed_faces.clone());
        let g = |x: &[f64], step: &ColumnStep<'_>, bed: bool| {
            residual_and_fluxes(
                step,
                &star,
                x,
                dt,
                bed.then_some((&bed_inc[..], &bed_faces[..])),
            )
        };
        let eps = 1e-3;
        let plus: Vec<f64> = phi.iter().zip(&delta).map(|(p, d)| p + eps * d).collect();
        let minus: Vec<f64> = phi.iter().zip(&delta).map(|(p, d)| p - eps * d).collect();
        let ((gp, _), (gm, _)) = (g(&plus, &step, true), g(&minus, &step, true));
        for k in 0..cells * n {
            let fd = (gp[k] - gm[k]) / (2.0 * eps);
            let scale = inv_scale[k % n] / width[k / n];
            assert!(
                ((fd - jd[k]) * scale).abs() <= 1e-9,
                "row {k}: fd {fd} vs J δ {}",
                jd[k]
            );
        }
        // the reconstruction changes the bed's red-cell fluxes (second-order face states)
        let (_, first) = g(&phi, &step, false);
        let (_, second) = g(&phi, &step, true);
        let changed = (2..cells - 1)
            .filter(|f| (second[f * n] - first[f * n]).abs() > 1e-3 * first[f * n].abs())
            .count();
        assert!(changed >= cells - 3, "{changed} faces changed");
    }

    /// The analytic Jacobian of the shear-diffusion term (all classes coupled) against a
    /// central difference of the residual, on a profile that crosses the packing limit's
    /// neighbourhood; and the decoupled tridiagonal is an M-matrix with column sums m_j.
    #[test]
    fn diffusion_jacobian_matches_finite_differences() {
        let cells = 9;
        let classes = vec![
            Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.4),
            Class::new("lymphocyte", 7.8e-6, 1075.0, 1.0, 0.01),
            Class::new("platelet", 2.4e-6, 1058.0, 1.0, 0.002),
        ];
        let n = classes.len();
        let law = HindranceLaw::hawksley_vand(0.95).unwrap();
        let kin = Kinetics::new(&classes, &Fluid::plasma_37c(), law, 0.01);
        let accel: Vec<f64> = (0..=cells)
            .map(|f| 1.5e4 * (1.0 + 0.01 * f as f64))
            .collect();
        let measure = vec![1e-4; cells];
        let conductance: Vec<f64> = (0..=cells).map(|f| 1e5 * (1.0 + f as f64)).collect();
        let coefficient = [3.2e-12, 5.0e-12, 2.0e-12];
        let inv_scale = vec![1.0; n];
        let major = vec![true; n];
        let step = ColumnStep {
            reconstruction: None,
            kin: &kin,
            accel: &accel,
            measure: &measure,
            inv_scale: &inv_scale,
            tolerance: 1e-12,
            max_iterations: 40,
            max_subdivisions: 0,
            major: &major,
            compression: None,
            diffusion: Some(Diffusion {
                conductance: &conductance,
                coefficient: &coefficient,
            }),
        };
        let phi: Vec<f64> = (0..cells)
            .flat_map(|j| {
                let red = 0.1 + 0.09 * j as f64;
                [red, 0.004 + 0.001 * (j % 3) as f64, 0.003 * (j % 2) as f64]
            })
            .collect();
        let star = phi.clone();
        let dt = 2.0;
        let mut solver = ColumnSolver::new(cells, n);
        solver.set_partition(&step, true);
        solver.assemble(&step, &phi, dt);
        let delta: Vec<f64> = (0..cells * n)
            .map(|k| ((k * 7 % 5) as f64 - 2.0) * 1e-3)
            .collect();
        let jd = block_tridiagonal_times(&solver, cells, n, &delta);
        let eps = 1e-4;
        let g = |x: &[f64], step: &ColumnStep<'_>| residual_and_fluxes(step, &star, x, dt, None).0;
        let plus: Vec<f64> = phi.iter().zip(&delta).map(|(p, d)| p + eps * d).collect();
        let minus: Vec<f64> = phi.iter().zip(&delta).map(|(p, d)| p - eps * d).collect();
        let (gp, gm) = (g(&plus, &step), g(&minus, &step));
        let scale = jd.iter().map(|x| x.abs()).fold(0.0, f64::max);
        for k in 0..cells * n {
            let fd = (gp[k] - gm[k]) / (2.0 * eps);
            assert!(
                (fd - jd[k]).abs() <= 1e-6 * scale,
                "row {k}: fd {fd} vs J δ {}",
                jd[k]
            );
        }
        // the term matters in this test: without it the residual differs
        let plain = ColumnStep {
            reconstruction: None,
            diffusion: None,
            ..step
        };
        let (d_on, d_off) = (g(&plus, &step), g(&plus, &plain));
        let differs = d_on
            .iter()
            .zip(&d_off)
            .any(|(a, b)| (a - b).abs() > 1e-3 * scale * eps);
        assert!(differs);
        // decoupled minor classes: tridiagonal rows with positive pivots and non-positive
        // off-diagonals (Thomas without pivoting is stable)
        let minor_major = [true, false, false];
        let approx = ColumnStep {
            reconstruction: None,
            major: &minor_major,
            ..step
        };
        solver.set_partition(&approx, false);
        solver.assemble(&approx, &phi, dt);
        for j in 0..cells {
            for q in 0..2 {
                assert!(solver.tri_inv_diag[j * 2 + q] > 0.0);
            }
        }
    }

    /// With consolidation and one decoupled (minor) class, the decoupled solve is exactly the
    /// block-lower-triangular part of the true Jacobian: the red-cell rows alone, then the
    /// minor rows with their full dependence on the red-cell update (settling and σ_e, h
    /// coupling) — checked against a dense solve of that system built from the exact
    /// Jacobian; and a whole step reaches the exactly coupled solution.
    #[test]
    fn decoupled_minor_rows_with_compression_are_the_block_triangular_jacobian() {
        use buffycoat_physics::consolidation::{Consolidation, SolidStress};
        let cells = 30;
        let classes = vec![
            Class::new("rbc", 5.5e-6, 1095.0, 1.09, 0.45),
            Class::new("lymphocyte", 7.8e-6, 1070.0, 1.0, 0.004),
        ];
        let n = classes.len();
        let law = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
        let consolidation = Consolidation {
            stress: SolidStress::new(0.55, 5.0, 2.5).unwrap(),
            bed_exponent: 0.0,
            unloading_stiffness: 100.0,
            network: buffycoat_physics::consolidation::NetworkClosure::PoreSize,
            network_width: 0.05,
        };
        let kin = Kinetics::new(&classes, &Fluid::plasma_37c(), law, 0.01).with_bed(&consolidation);
        let accel: Vec<f64> = (0..=cells)
            .map(|f| 1.5e4 * (1.0 + 0.005 * f as f64))
            .collect();
        let measure = vec![1e-3; cells];
        let conductance = vec![1e3; cells + 1];
        let reached = vec![0.0; cells];
        let inv_scale = [1.0 / 0.45, 1.0 / 0.004];
        // a compacting bed (red 0.3 → 0.93) with the lymphocytes in a band inside it
        let star: Vec<f64> = (0..cells)
            .flat_map(|j| {
                let red = 0.3 + 0.63 * j as f64 / (cells - 1) as f64;
                let band = if (18..24).contains(&j) { 0.02 } else { 0.001 };
                [red, band]
            })
            .collect();
        let step = |major: &'static [bool]| ColumnStep {
            reconstruction: None,
            kin: &kin,
            accel: &accel,
            measure: &measure,
            inv_scale: &inv_scale,
            tolerance: 1e-11,
            max_iterations: 40,
            max_subdivisions: 0,
            major,
            compression: Some(Compression {
                stress: consolidation.stress,
                conductance: &conductance,
                preconsolidation: Some((&reached, 100.0)),
                held_branch: None,
            }),
            diffusion: None,
        };
        let dt = 0.5;
        // the exact Jacobian as a dense matrix
        let exact = step(&[true, true]);
        let mut solver = ColumnSolver::new(cells, n);
        solver.set_partition(&exact, true);
        solver.assemble(&exact, &star, dt);
        let dim = cells * n;
        let mut jac = vec![0.0; dim * dim];
        for j in 0..cells {
            for a in 0..n {
                for b in 0..n {
                    let k = j * n * n + a * n + b;
                    jac[(j * n + a) * dim + j * n + b] = solver.diag[k];
                    if j > 0 {
                        jac[(j * n + a) * dim + (j - 1) * n + b] = solver.lower[k];
                    }
                    if j + 1 < cells {
                        jac[(j * n + a) * dim + (j + 1) * n + b] = solver.upper[k];
                    }
                }
            }
        }
        // its block-lower-triangular part (red rows without the lymphocyte columns), solved
        // densely: red first, then the lymphocytes with the red update on the right
        let rhs: Vec<f64> = (0..dim)
            .map(|k| ((k * 7 % 5) as f64 - 2.0) * if k % 2 == 0 { 1e-6 } else { 1e-8 })
            .collect();
        let dense_solve = |rows: &[usize], b: &[f64]| -> Vec<f64> {
            let m = rows.len();
            let mut a: Vec<f64> = rows
                .iter()
                .flat_map(|&r| rows.iter().map(move |&c| (r, c)))
                .map(|(r, c)| jac[r * dim + c])
                .collect();
            let mut piv = vec![0; m];
            let mut x = b.to_vec();
            lu_factor(&mut a, &mut piv, m);
            lu_solve_rows(&a, &piv, &mut x, m);
            x
        };
        let red: Vec<usize> = (0..cells).map(|j| j * n).collect();
        let lym: Vec<usize> = (0..cells).map(|j| j * n + 1).collect();
        let x_red = dense_solve(&red, &red.iter().map(|&r| rhs[r]).collect::<Vec<_>>());
        let b_lym: Vec<f64> = lym
            .iter()
            .map(|&r| {
                rhs[r]
                    - red
                        .iter()
                        .zip(&x_red)
                        .map(|(&c, x)| jac[r * dim + c] * x)
                        .sum::<f64>()
            })
            .collect();
        let x_lym = dense_solve(&lym, &b_lym);
        // the solver's decoupled partition
        let decoupled = step(&[true, false]);
        let mut solver = ColumnSolver::new(cells, n);
        solver.set_partition(&decoupled, false);
        solver.assemble(&decoupled, &star, dt);
        solver.factor();
        solver.delta.copy_from_slice(&rhs);
        solver.solve_factored();
        let scale = |x: &[f64]| x.iter().map(|v| v.abs()).fold(0.0, f64::max);
        let (s_red, s_lym) = (scale(&x_red), scale(&x_lym));
        for j in 0..cells {
            let (a, b) = (solver.delta[j * n], x_red[j]);
            assert!((a - b).abs() <= 1e-10 * s_red, "red {j}: {a} vs {b}");
            let (a, b) = (solver.delta[j * n + 1], x_lym[j]);
            assert!((a - b).abs() <= 1e-8 * s_lym, "lymphocyte {j}: {a} vs {b}");
        }
        // a whole step: the same solution as with the exact Jacobian
        let run = |p: &ColumnStep<'_>| {
            let mut solver = ColumnSolver::new(cells, n);
            let mut phi = star.clone();
            solver.step(p, &star, &mut phi, dt).unwrap();
            (phi, solver.stats)
        };
        let (full, _) = run(&exact);
        let (approx, stats) = run(&decoupled);
        assert_eq!(stats.exact_retries, 0, "{stats:?}");
        for (k, (a, b)) in full.iter().zip(&approx).enumerate() {
            let scale = if k % 2 == 0 { 0.45 } else { 0.004 };
            assert!((a - b).abs() <= 1e-9 * scale, "{k}: {a} vs {b}");
        }
    }

    #[test]
    fn lu_solves_a_pivoting_system() {
        let a = [0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0];
        let mut lu = a;
        let mut piv = [0; 3];
        lu_factor(&mut lu, &mut piv, 3);
        let x = [1.0, -2.0, 3.0];
        let mut b = [0.0; 3];
        for i in 0..3 {
            for k in 0..3 {
                b[i] += a[i * 3 + k] * x[k];
            }
        }
        lu_solve_rows(&lu, &piv, &mut b, 3);
        for i in 0..3 {
            assert!((b[i] - x[i]).abs() < 1e-14, "{b:?}");
        }
    }
}
