//! Sediment consolidation: the effective solid stress σ_e(φ) of a compressible bed of
//! deformable red cells.
//!
//! ## Theory
//! In the phenomenological theory of sedimentation–consolidation (Bürger, Concha & Karlsen;
//! Bürger, Evje & Karlsen, J Math Anal Appl 247:517, 2000; Garrido, Bürger & Concha, Int J
//! Miner Process 60:213, 2000; Bürger, Evje, Karlsen & Lie, Chem Eng J 80:91, 2000) the solids
//! of a suspension form a network that carries an effective solid stress σ_e(φ) once the
//! volume fraction φ exceeds a critical ("gel") fraction φ_c: σ_e = 0 for φ ≤ φ_c and
//! σ_e′ > 0 above it. The stress gradient carries part of the buoyant weight of the solids;
//! for one species in a field of acceleration a (g replaced by ω²r in a centrifuge, r
//! increasing outward) the solid flux becomes
//!
//! φ v = f_bk(φ) [1 − ∂σ_e/∂r / (Δρ a φ)] = f_bk(φ) − a(φ) ∂φ/∂r,
//! a(φ) = f_bk(φ) σ_e′(φ) / (Δρ a φ) ≥ 0,
//!
//! a strongly degenerate diffusion (a = 0 for φ ≤ φ_c), and a bed at rest satisfies the
//! stress balance ∂σ_e/∂r = Δρ φ a(r).
//!
//! For several classes (Berres, Bürger, Karlsen & Tory, SIAM J Appl Math 64:41, 2003) the
//! stress is a function of the total solids fraction and its gradient acts on every class in
//! proportion to its share φ_i/φ of the solids, i.e. class i feels the body force per unit
//! volume φ_i (Δρ_i a − ∂_r σ_e/φ). In the MLB closure this replaces Δρ_i by
//! Δρ_i − ∂_r σ_e/(a φ) for every class (used in `buffycoat_field::column`).
//!
//! ## Law for deformable red cells
//! Packed red cells keep losing plasma under load without a finite jamming fraction below 1:
//! the microhaematocrit at ≈ 10⁴ g traps ≈ 1–3 % plasma in the red column (England, Walford &
//! Waters, Br J Haematol 23:247, 1972), macro tubes above ≈ 1400 g ≈ 6 % (Clark & Walsh, Aust
//! J Exp Biol Med Sci 38, 1960, doi:10.1038/icb.1960.49), and the trapped plasma falls with
//! the "impulse" force × time (J Appl Physiol 5:457, 1953, doi:10.1152/jappl.1953.5.8.457;
//! Gregersen, Usami, Dellenback & Chien, Proc Soc Exp Biol Med 119:1155, 1965). A law with
//! that behaviour, which diverges only as the plasma is squeezed out completely:
//!
//! σ_e(φ) = σ₀ [(φ − φ_c)/(1 − φ)]^β  (φ_c < φ < 1),  σ_e = 0 (φ ≤ φ_c),
//!
//! σ₀ (Pa) the stress at which the bed holds as much plasma as red cells above φ_c, β the
//! stiffening exponent, φ_c the fraction at which the deformable cells first touch (random
//! close packing of discocytes). [`SolidStress::red_cells`] gives the calibrated values; the
//! calibration is documented in docs/physics.md §9.3.
//!
//! Validity: low-Reynolds-number settling; the cells' deformation is elastic and quasi-static
//! (no time-dependent creep); applies to the red-cell-dominated bed of whole blood.

use crate::error::{PhysicsError, ensure_in_range};

/// A branch of the irreversible stress law ([`SolidStress::unloading_stress_and_derivative`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StressBranch {
    /// the virgin (loading) curve σ_e(φ): at or above the preconsolidation fraction φ_p
    #[default]
    Virgin,
    /// the unloading line below φ_p, max(0, σ_e(φ_p) − R σ_e′(φ_p)(φ_p − φ))
    Unloading,
}

/// Effective solid stress σ_e(φ) = σ₀ [(φ − φ_c)/(1 − φ)]^β above φ_c (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolidStress {
    /// critical (gel) volume fraction φ_c ∈ (0, 1)
    pub critical: f64,
    /// stress scale σ₀ (Pa), > 0
    pub modulus: f64,
    /// exponent β ∈ [1, 10]
    pub exponent: f64,
}

impl SolidStress {
    /// A checked law.
    ///
    /// # Errors
    /// A parameter outside its range (φ_c ∈ (0, 0.99), σ₀ ∈ (0, 10⁹] Pa, β ∈ [1, 10]).
    pub fn new(critical: f64, modulus: f64, exponent: f64) -> Result<Self, PhysicsError> {
        let s = Self {
            critical,
            modulus,
            exponent,
        };
        s.validate()?;
        Ok(s)
    }

    /// The law calibrated for human red cells in plasma (φ_c = 0.55, σ₀ = 5 Pa, β = 2.5;
    /// fitted to the trapped plasma of the microhaematocrit and of macro tubes, see
    /// docs/physics.md §9.3).
    pub fn red_cells() -> Self {
        Self {
            critical: RED_CELL_CRITICAL,
            modulus: RED_CELL_MODULUS,
            exponent: RED_CELL_EXPONENT,
        }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// A parameter outside its range.
    pub fn validate(&self) -> Result<(), PhysicsError> {
        ensure_in_range("consolidation critical fraction", self.critical, 1e-6, 0.99)?;
        ensure_in_range("consolidation modulus (Pa)", self.modulus, 1e-12, 1e9)?;
        ensure_in_range("consolidation exponent", self.exponent, 1.0, 10.0)?;
        Ok(())
    }

    /// σ_e(φ) (Pa) and σ_e′(φ) (Pa). φ ≥ 1 is treated as just below 1 (the law diverges there;
    /// the solvers keep φ ≤ φ_max < 1).
    #[inline]
    pub fn stress_and_derivative(&self, phi: f64) -> (f64, f64) {
        if phi <= self.critical {
            return (0.0, 0.0);
        }
        let free = (1.0 - phi).max(1e-9);
        let x = (phi - self.critical) / free;
        let dx = (1.0 - self.critical) / (free * free);
        let p = pow_half_integer(x, self.exponent - 1.0);
        let s = self.modulus * p * x;
        (s, self.modulus * self.exponent * p * dx)
    }

    /// σ_e and dσ_e/dφ of a bed that has been compacted to `reached` before (the largest φ it
    /// has had): consolidation is irreversible. On the virgin (loading) curve φ ≥ `reached`
    /// this is [`SolidStress::stress_and_derivative`]; below it (unloading, e.g. when the
    /// rotor slows down) the bed follows a line R times stiffer,
    /// σ = max(0, σ_e(φ_p) − R σ_e′(φ_p) (φ_p − φ)), φ_p = `reached`, as the swelling line of
    /// a consolidated soil is much steeper than its virgin compression line (the Cam-clay
    /// κ ≪ λ; Roscoe & Burland 1968, in *Engineering Plasticity*, Cambridge Univ. Press).
    #[inline]
    pub fn unloading_stress_and_derivative(
        &self,
        phi: f64,
        reached: f64,
        ratio: f64,
    ) -> (f64, f64) {
        self.branch_stress_and_derivative(self.branch_at(phi, reached), phi, reached, ratio)
    }

    /// The branch of [`SolidStress::unloading_stress_and_derivative`] that holds at `phi`.
    #[inline]
    pub fn branch_at(&self, phi: f64, reached: f64) -> StressBranch {
        if phi >= reached || reached <= self.critical {
            StressBranch::Virgin
        } else {
            StressBranch::Unloading
        }
    }

    /// σ and dσ/dφ on one branch of the irreversible law, each continued smoothly across φ_p
    /// (the virgin curve below it, the unloading line above it). Where
    /// [`SolidStress::branch_at`] gives `branch` this is bitwise
    /// [`SolidStress::unloading_stress_and_derivative`]. The law has a kink where the
    /// branches meet (slopes σ_e′ and R σ_e′ at φ_p); the implicit column solver holds one
    /// branch per cell during a Newton solve and checks the law itself at the end
    /// (`buffycoat_field::column`). The unloading line keeps its own kink where it reaches
    /// zero stress (holding a zero-stress branch as well was measured: it doubles the
    /// whole-blood tube's Newton iterations).
    #[inline]
    pub fn branch_stress_and_derivative(
        &self,
        branch: StressBranch,
        phi: f64,
        reached: f64,
        ratio: f64,
    ) -> (f64, f64) {
        match branch {
            StressBranch::Virgin => self.stress_and_derivative(phi),
            StressBranch::Unloading => {
                let (sp, dp) = self.stress_and_derivative(reached);
                let slope = ratio * dp;
                let s = sp - slope * (reached - phi);
                if s > 0.0 { (s, slope) } else { (0.0, 0.0) }
            }
        }
    }

    /// σ_e(φ) (Pa).
    #[inline]
    pub fn stress(&self, phi: f64) -> f64 {
        self.stress_and_derivative(phi).0
    }

    /// The fraction at which σ_e = `sigma` (Pa, ≥ 0): the inverse of the law,
    /// φ = (φ_c + y)/(1 + y) with y = (σ/σ₀)^{1/β}.
    pub fn fraction_at(&self, sigma: f64) -> f64 {
        if sigma <= 0.0 {
            return self.critical;
        }
        let y = (sigma / self.modulus).powf(1.0 / self.exponent);
        (self.critical + y) / (1.0 + y)
    }
}

/// x^e for x > 0, by multiplications (and one square root) when 2e is an integer in
/// [−32, 32] — the calibrated exponents (β − 1 = 1.5, m − 1 = −1) — else `powf`. The solvers
/// evaluate the laws a few million times per run; `powf` was ≈ 10 % of the run time.
/// Deterministic (no FMA, fixed operation order), accurate to a few ulp.
#[inline]
pub fn pow_half_integer(x: f64, e: f64) -> f64 {
    let twice = 2.0 * e;
    if twice == twice.trunc() && twice.abs() <= 32.0 {
        // exact: |twice| ≤ 32 is an integer
        #[allow(clippy::cast_possible_truncation)]
        let k = twice as i32;
        let whole = x.powi(k.div_euclid(2));
        if k.rem_euclid(2) == 1 {
            whole * x.sqrt()
        } else {
            whole
        }
    } else {
        x.powf(e)
    }
}

/// Consolidation of a bed of deformable cells: the effective solid stress and the mobility of
/// the bed above the contact fraction.
///
/// **Bed mobility.** Above φ_c the cells touch and deform; the plasma then flows through the
/// films and channels between them, and the hindered-settling laws of rigid suspensions
/// (Richardson–Zaki, Hawksley–Vand), fitted below φ ≈ 0.6, are extrapolated far outside
/// their data. Above φ_c the velocity factor V(φ) of the MLB velocities (u = a V(φ)/(18μ) ·
/// …) is instead taken from the permeability of a packed bed, continuous at φ_c:
///
/// V(φ) = V_law(φ_c) [x(φ)/x(φ_c)]^m,  x = (1 − φ)/φ,
///
/// where the MLB relative velocity of a bed corresponds to the Darcy permeability
/// K = (1 − φ)² V k/(18 φ), k = d²/χ. m = 1 is the Kozeny–Carman scaling
/// K ∝ ε³/(1 − ε)², ε = 1 − φ (Carman, Trans Inst Chem Eng 15:150, 1937), the rigid granular
/// bed; m = 0 keeps V at its contact value, K ∝ (1 − φ)²/φ, a bed whose plasma films do not
/// close as the deformable cells compact. **Calibration**: m = 0 is the only value in [0, 6]
/// with which the microhaematocrit (12 000 g, 5 min) traps as little as 3 % plasma: with
/// m = 0.5 or 1 it traps more than 3 % after 5 min even for σ_e → 0
/// (docs/physics.md §9.3). Red cells pack far faster than a rigid-particle bed would. The
/// same factor sets how fast buoyant minor cells (white cells, platelets) rise out of the bed: their MLB slip relative to the plasma, driven by their
/// density against the bed's (solid stress shared in proportion to volume, module docs).
///
/// Validity: Kozeny–Carman is an empirical law for granular beds with porosity ≈ 0.3–0.6;
/// applied here to porosities 0.02–0.45 of deformed red cells (an extrapolation, calibrated
/// only through the time course of the packed-cell volume, see docs/physics.md §9.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consolidation {
    /// effective solid stress σ_e(φ) (its `critical` is the contact fraction φ_c)
    pub stress: SolidStress,
    /// exponent m of the bed mobility, in [0, 6] (1: Kozeny–Carman; red cells 0)
    pub bed_exponent: f64,
    /// ratio R ≥ 1 of the unloading to the loading stiffness (see
    /// [`SolidStress::unloading_stress_and_derivative`])
    pub unloading_stiffness: f64,
    /// which weight θ_i decides how far the crowded bed holds cells larger than its own (see
    /// [`NetworkClosure`])
    pub network: NetworkClosure,
    /// width w ∈ [0, 0.4] (volume fraction below φ_c) of [`NetworkClosure::ContactRamp`]
    /// (see [`network_weight`]); 0: never (the Berres et al. volume-share closure alone, as
    /// before issue 11's network closure). Not used by the other closures.
    pub network_width: f64,
}

/// How a consolidating bed holds cells larger than its own cells (the network closure of
/// [`network_weight`] and [`pore_weight`]; docs/physics.md §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkClosure {
    /// no network closure: the Berres et al. volume-share closure alone
    Off,
    /// one weight θ(φ) of the total fraction for every class: a C¹ ramp of width
    /// [`Consolidation::network_width`] below the contact fraction ([`network_weight`]); the
    /// default
    #[default]
    ContactRamp,
    /// a weight θ_i per class from the ratio of the cell's diameter to the hydraulic diameter
    /// of the pores between the cells ([`pore_weight`]): no width to choose. Opt-in: not
    /// grid-converged at the whole-blood preset's 400 radial cells and 2–18 × the Newton
    /// work there (docs/physics.md §9.1)
    PoreSize,
}

impl Consolidation {
    /// Human red cells: [`SolidStress::red_cells`] and the calibrated bed mobility (m = 0).
    pub fn red_cells() -> Self {
        Self {
            stress: SolidStress::red_cells(),
            bed_exponent: RED_CELL_BED_EXPONENT,
            unloading_stiffness: RED_CELL_UNLOADING_STIFFNESS,
            network: NetworkClosure::ContactRamp,
            network_width: RED_CELL_NETWORK_WIDTH,
        }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// A parameter outside its range.
    pub fn validate(&self) -> Result<(), PhysicsError> {
        self.stress.validate()?;
        ensure_in_range("consolidation bed exponent", self.bed_exponent, 0.0, 6.0)?;
        ensure_in_range(
            "consolidation unloading stiffness ratio",
            self.unloading_stiffness,
            1.0,
            1e6,
        )?;
        ensure_in_range("consolidation network width", self.network_width, 0.0, 0.4)?;
        Ok(())
    }
}

/// The weight θ(φ) ∈ [0, 1] with which the crowded bed holds a cell larger than the bed's
/// cells: θ = 0 for φ ≤ φ_c − w, θ = s²(3 − 2s) with s = (φ − φ_c + w)/w for
/// φ_c − w < φ < φ_c, θ = 1 from the contact fraction φ_c on (a C¹ ramp), and its derivative
/// dθ/dφ. `width` = 0: θ ≡ 0.
///
/// **The closure it weights** (used by `buffycoat_field::kinetics`). In the MLB closure every
/// class slips through the plasma with its own Stokes mobility k_i = d_i²/χ_i, so in a bed
/// that is still compacting (red cells settling through their own plasma) a white cell, whose
/// mobility is ≈ 2–3.5 times a red cell's, is dragged down *relative to the red cells* by the
/// same unsupported weight that drives the compaction — it sinks with the bed although it is
/// lighter than the bed. That is the behaviour of a cell that can travel through the pores
/// of the bed with the plasma. A cell larger than the bed's cells cannot: the pore throats of
/// a packing of (deformed) red cells at φ ≥ φ_c are ≈ 1–2 µm, smaller than a 7–10 µm white
/// cell (hydraulic diameter (2/3) d ε/(1 − ε) ≈ 2.4 µm at φ = 0.6, 0.9 µm at φ = 0.8 for
/// d = 5.5 µm; Carman 1937), so the white cell moves with the contact network and its
/// relative motion is only its buoyant slip against the network's cells, which displaces
/// them. In the MLB slips s_i = a c k_i (Δρ_i − e′) (per unit acceleration, relative to the
/// plasma, e′ including the shared solid stress) the compaction-driven part k_i(Δρ̂ − e′),
/// Δρ̂ = M/K the mobility-weighted mean density excess of the solids, is therefore taken with
/// the network's mean mobility κ = K/φ instead of k_i for the excess p_i = (k_i − κ)⁺:
///
/// s_i = a c [k_i (Δρ_i − e′) − θ(φ) p_i (Δρ̂ − e′)],
///
/// so that a held cell's slip relative to the network is a c k_i (Δρ_i − Δρ̂): its density
/// deficit against the bed's cells at the bed's hindered mobility. Cells smaller than the
/// network's (p_i = 0, platelets) keep the MLB slip: they can follow the plasma through the
/// pores. The lab-frame velocities follow from the zero volume-average velocity, as in MLB.
/// For one class (or cells of one size) nothing changes, so the calibrated compaction of a
/// red-cell bed (docs/physics.md §9.3) is unaffected.
///
/// **Ramp.** The large cells are caged by their crowded neighbours before the red cells carry
/// a stress: hard-sphere suspensions leave the free fluid state at the freezing fraction 0.494
/// and are caged (glassy) by ≈ 0.58 (Pusey & van Megen, Nature 320:340, 1986), around the
/// loose-contact fraction ≈ 0.55 taken for φ_c. θ therefore ramps up over [φ_c − w, φ_c] and
/// is 1 wherever the bed is stressed; [`RED_CELL_NETWORK_WIDTH`] = 0.05 ≈ 0.55 − 0.494 is that
/// estimate, not a fit. How many white cells a gentle spin brings out of the bed depends on
/// it (the white cells collect where θ changes, at the top of the bed; docs/physics.md §9.1
/// gives the sensitivity).
#[inline]
pub fn network_weight(phi: f64, critical: f64, width: f64) -> (f64, f64) {
    let start = critical - width;
    if width <= 0.0 || phi <= start {
        return (0.0, 0.0);
    }
    let s = (phi - start) / width;
    if s >= 1.0 {
        return (1.0, 0.0);
    }
    (s * s * (3.0 - 2.0 * s), 6.0 * s * (1.0 - s) / width)
}

/// The weight θ(λ) ∈ [0, 1] with which the pores of a crowded suspension hold a cell of
/// diameter d_i, as a function of the size ratio λ = d_i/d_h to the pores' hydraulic diameter,
/// and its derivative dθ/dλ ([`NetworkClosure::PoreSize`]).
///
/// **Pore size.** The hydraulic diameter of the space between the cells,
///
/// d_h = 4 ε/S_v = (2/3) (1 − φ)/Σ_j (φ_j/d_j),
///
/// (ε = 1 − φ the plasma fraction, S_v = Σ 6 φ_j/d_j the cells' surface per unit volume of
/// sphere-equivalent diameters d_j, m) is Carman's pore diameter of a packed bed (Carman,
/// Trans Inst Chem Eng 15:150, 1937: (2/3) d ε/(1 − ε) for one size) and, for any random
/// dispersion, the mean free distance between the cells (Fullman, Trans AIME 197:447, 1953:
/// λ_f = 4 V_V/S_V of the matrix phase). For red cells (d = 5.5 µm) it is 4.5 µm at φ = 0.45,
/// 2.4 µm at 0.6, 0.9 µm at 0.8; a lymphocyte (7.8 µm) reaches λ = 1 at φ ≈ 0.32, a monocyte
/// or neutrophil (9.6–10 µm) at φ ≈ 0.27.
///
/// **Weight.** In Kozeny's picture the plasma flows through the bed in capillaries of diameter
/// d_h. A sphere carried by Poiseuille flow through a cylindrical pore of diameter d_h, whose
/// centre cannot come closer to the wall than its radius, is transmitted with the flux-
/// averaged fraction (the sieving coefficient; Ferry, J Gen Physiol 20:95, 1936; Renkin,
/// J Gen Physiol 38:225, 1954; Deen, AIChE J 33:1409, 1987)
///
/// S(λ) = (1 − λ)² [2 − (1 − λ)²],  0 ≤ λ ≤ 1,  S = 0 for λ ≥ 1,
///
/// the fraction of the flow that passes through the part of the pore its centre can reach.
/// The rest is held back by the pore walls, i.e. by the cells around the pore:
///
/// θ(λ) = 1 − S(λ) = [λ (2 − λ)]²,  θ = 1 for λ ≥ 1,  dθ/dλ = 4 λ (2 − λ)(1 − λ).
///
/// θ rises from 0 (a point particle follows the plasma) to 1 (a cell as large as the pore
/// cannot follow it), with zero slope at both ends (C¹); both end points are geometric, no
/// number is fitted. The closure it weights is the one of [`network_weight`] with θ_i per
/// class.
///
/// Validity: rigid spheres, the steric and flow-profile part of Ferry's model only (Renkin's
/// wall-drag factor, which lowers S further at λ → 1, is left out: it concerns the speed of a
/// transmitted sphere, not whether it passes); random dispersions of cells with no preferred
/// orientation. Red cells are not spheres: their real surface (≈ 135 µm² against 98 µm² for
/// the 87 fL sphere; sphericity ≈ 0.72, Canham & Burton, Circ Res 22:405, 1968) makes the
/// pores ≈ 30 % narrower than d_h above, so the sphere estimate holds cells less than real
/// pores would. White cells are deformable and pass pores somewhat smaller than themselves
/// under a pressure drop (leukocyte filtration), which acts the other way.
#[inline]
pub fn pore_weight(ratio: f64) -> (f64, f64) {
    if ratio >= 1.0 {
        return (1.0, 0.0);
    }
    if ratio <= 0.0 {
        return (0.0, 0.0);
    }
    let a = ratio * (2.0 - ratio);
    (a * a, 4.0 * a * (1.0 - ratio))
}

/// R of [`Consolidation::red_cells`]: assumed (no data): packed red cells barely swell when
/// the rotor stops — the packed-cell volume is read after the stop.
pub const RED_CELL_UNLOADING_STIFFNESS: f64 = 100.0;

/// w of [`Consolidation::red_cells`]: assumed, see [`network_weight`].
pub const RED_CELL_NETWORK_WIDTH: f64 = 0.05;

/// m of [`Consolidation::red_cells`] (calibrated, see [`Consolidation`]).
pub const RED_CELL_BED_EXPONENT: f64 = 0.0;

/// φ_c of [`SolidStress::red_cells`].
pub const RED_CELL_CRITICAL: f64 = 0.55;
/// σ₀ (Pa) of [`SolidStress::red_cells`].
pub const RED_CELL_MODULUS: f64 = 5.0;
/// β of [`SolidStress::red_cells`].
pub const RED_CELL_EXPONENT: f64 = 2.5;

#[cfg(test)]
mod tests {
    use super::*;

    /// Each branch is the law where it holds (bitwise), continues smoothly beyond it, and the
    /// two meet at φ_p in value with slopes σ_e′ and R σ_e′ (the kink the column solver holds
    /// a side of).
    #[test]
    fn stress_branches_are_the_law_where_they_hold_and_smooth_beyond() {
        let s = SolidStress::red_cells();
        let (reached, ratio) = (0.9, 100.0);
        for phi in [0.5, 0.85, 0.899, 0.9, 0.901, 0.95] {
            let branch = s.branch_at(phi, reached);
            assert_eq!(
                branch,
                if phi < reached {
                    StressBranch::Unloading
                } else {
                    StressBranch::Virgin
                }
            );
            assert_eq!(
                s.branch_stress_and_derivative(branch, phi, reached, ratio),
                s.unloading_stress_and_derivative(phi, reached, ratio),
                "{phi}"
            );
        }
        // below the critical fraction nothing was compacted: the virgin curve everywhere
        assert_eq!(s.branch_at(0.1, s.critical * 0.5), StressBranch::Virgin);
        let (virgin, d_virgin) =
            s.branch_stress_and_derivative(StressBranch::Virgin, reached, reached, ratio);
        let (line, d_line) =
            s.branch_stress_and_derivative(StressBranch::Unloading, reached, reached, ratio);
        assert_eq!(virgin, line);
        assert!((d_line - ratio * d_virgin).abs() <= 1e-12 * d_line);
        // continued across φ_p: the virgin curve below, the (steeper) line above
        let h = 1e-4;
        let below =
            s.branch_stress_and_derivative(StressBranch::Virgin, reached - h, reached, ratio);
        assert_eq!(below, s.stress_and_derivative(reached - h));
        let above =
            s.branch_stress_and_derivative(StressBranch::Unloading, reached + h, reached, ratio);
        assert!((above.0 - (line + d_line * h)).abs() <= 1e-9 * above.0);
        assert!(above.0 > s.stress(reached + h));
    }

    #[test]
    fn derivative_matches_differences_and_inverse_inverts() {
        let s = SolidStress::new(0.55, 25.0, 2.4).unwrap();
        assert_eq!(s.stress(0.5), 0.0);
        for phi in [0.56, 0.7, 0.9, 0.97] {
            let (v, d) = s.stress_and_derivative(phi);
            let h = 1e-7;
            let fd = (s.stress(phi + h) - s.stress(phi - h)) / (2.0 * h);
            assert!((fd - d).abs() <= 1e-6 * d, "{phi}: {fd} vs {d}");
            assert!((s.fraction_at(v) - phi).abs() < 1e-12, "{phi}");
        }
        for (x, e) in [
            (0.3, 1.5),
            (2.7, -1.0),
            (0.01, 4.5),
            (5.0, -2.5),
            (1.3, 0.0),
            (0.7, 1.37),
        ] {
            let (a, b) = (pow_half_integer(x, e), x.powf(e));
            assert!((a - b).abs() <= 1e-14 * b, "{x}^{e}: {a} vs {b}");
        }
        assert!(SolidStress::new(1.0, 1.0, 2.0).is_err());
        assert!(SolidStress::new(0.5, 0.0, 2.0).is_err());
        assert!(SolidStress::new(0.5, 1.0, 0.5).is_err());
        let mut c = Consolidation::red_cells();
        c.network_width = 0.5;
        assert!(c.validate().is_err());
    }

    #[test]
    fn pore_weight_is_the_complement_of_ferrys_sieving_coefficient_and_c1() {
        assert_eq!(pore_weight(0.0), (0.0, 0.0));
        assert_eq!(pore_weight(1.0), (1.0, 0.0));
        assert_eq!(pore_weight(3.0), (1.0, 0.0));
        for l in [1e-3, 0.1, 0.3, 0.5, 0.8, 0.999] {
            let (t, d) = pore_weight(l);
            // Ferry's transmitted fraction S = (1 − λ)² [2 − (1 − λ)²] (parabolic flow in the
            // part of the pore a sphere's centre can reach), held θ = 1 − S
            let b = (1.0 - l) * (1.0 - l);
            assert!((t - (1.0 - b * (2.0 - b))).abs() < 1e-14, "{l}");
            let h = 1e-7;
            let fd = (pore_weight(l + h).0 - pore_weight(l - h).0) / (2.0 * h);
            assert!((fd - d).abs() <= 1e-6 * d.max(1.0), "{l}: {fd} vs {d}");
            assert!(d >= 0.0 && (0.0..=1.0).contains(&t));
        }
        // zero slope at both ends (C¹ into θ = 0 and θ = 1)
        assert!(pore_weight(1e-9).1 < 1e-8 && pore_weight(1.0 - 1e-9).1 < 1e-8);
    }

    #[test]
    fn network_weight_is_a_c1_ramp() {
        let (pc, w) = (0.55, 0.05);
        assert_eq!(network_weight(0.45, pc, w), (0.0, 0.0));
        assert_eq!(network_weight(0.56, pc, w), (1.0, 0.0));
        assert_eq!(network_weight(0.9, pc, 0.0), (0.0, 0.0));
        assert!((network_weight(0.525, pc, w).0 - 0.5).abs() < 1e-12);
        for phi in [0.501, 0.51, 0.525, 0.54, 0.549] {
            let (t, d) = network_weight(phi, pc, w);
            let h = 1e-7;
            let fd =
                (network_weight(phi + h, pc, w).0 - network_weight(phi - h, pc, w).0) / (2.0 * h);
            assert!((fd - d).abs() <= 1e-6 * d.max(1.0), "{phi}: {fd} vs {d}");
            assert!((0.0..=1.0).contains(&t));
        }
    }
}
