//! The flux-and-update kernel: one chunk of radial cells at a time, structure-of-arrays
//! inside the chunk so that the class loops run over contiguous cells.
//!
//! Storage is *tiled*: chunk c (cells c·L … c·L + L − 1, L = cells per chunk) owns one block of
//! N·L values, class i of local cell m at `c·N·L + i·L + m`. Every parallel loop writes only its
//! own block (rayon `par_chunks_mut`) and reads neighbours' blocks (halo cells) immutably.
//!
//! Per SSP-RK2 step, two parallel passes over the chunks (one more for SSP-RK3):
//!
//! - [`Kernel::first_stage`]: MUSCL reconstruction of each φ_i with the generalised minmod
//!   limiter, MLB fluxes at the reconstructed face states, one-sided wave-speed bounds a± at the
//!   cell averages and face midpoints, the raw Kurganov–Noelle–Petrova central-upwind fluxes;
//!   returns the chunk's largest CFL rate (the step Δt needs all chunks);
//! - [`Kernel::later_stages`]: with Δt known, the positivity and capacity limiters and the
//!   first forward-Euler stage on the chunk *and three halo cells on either side* (computed
//!   redundantly from the first pass's fluxes, so no exchange between chunks is needed), then
//!   the second stage — reconstruction, fluxes with the first stage's wave speeds, limiters,
//!   update, combined with φⁿ as the SSP-RK stage requires — on the chunk's own cells.
//!   [`Kernel::final_stage`] is SSP-RK3's third stage from a stored stage state.
//!
//! A face's flux depends only on the data around it, never on the chunking, and it is
//! computed by the same instructions wherever it is computed (a face on a chunk boundary is
//! computed by both chunks, bitwise identically), so results are independent of the chunk
//! length and of the thread count, and the two cells of a face see the same flux (conservation).
//! All inner loops run over contiguous cells with operands sliced to the loop length, without
//! bounds checks or branches, so they vectorise.
//!
//! The entry points (`first_stage`, `later_stages`, `final_stage`, `chunk_mixture`) are thin
//! wrappers: their bodies and everything below them are `#[inline(always)]`, so
//! [`Kernel::dispatch`] can instantiate them inside an AVX2 or AVX-512F `#[target_feature]`
//! function when the CPU has it (2 → 4 → 8 doubles per vector), with bitwise the same results.
//! The [`Scratch`] a call works in is one per thread; what a chunk's first stage leaves for its
//! later stages travels in the chunk's [`Carry`].

use buffycoat_physics::hindrance::{HAWKSLEY_CROWDING, HindranceLaw};

use crate::config::{FieldGeometry, acceleration};

/// Safety factor on the positivity and capacity caps (keeps the bounds exact under round-off).
pub(crate) const CAP_SAFETY: f64 = 1.0 - 1e-12;

/// Volume fractions below this are set to 0 after each stage.
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

/// Halo cells on each side of a chunk in the extended workspace of a [`Scratch`].
pub(crate) const HALO: usize = 3;

/// Which cell averages a reconstruction starts from (see [`Kernel::reconstruct`]).
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// φⁿ (`Scratch::x0`), the first forward-Euler stage
    First,
    /// an intermediate stage (`Scratch::x1`)
    Later,
}

/// Per-chunk scratch, allocated once.
///
/// Everything is indexed by the *extended* index k ∈ [0, E), E = L + 2·[`HALO`]: cell
/// c0 − HALO + k and face c0 − HALO + k (the face between extended cells k − 1 and k). Per-class
/// arrays are rows of stride E, class i at `i·E + k`.
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    /// φⁿ, the state at the start of the step
    x0: Vec<f64>,
    /// slopes of φⁿ
    s0: Vec<f64>,
    /// the state of a later stage
    x1: Vec<f64>,
    /// its slopes
    s1: Vec<f64>,
    /// left and right face states
    ql: Vec<f64>,
    qr: Vec<f64>,
    /// raw, then limited, face fluxes
    flux: Vec<f64>,
    /// activity masks at the cell averages and the face midpoints; midpoint states
    active: Vec<f64>,
    mid: Vec<f64>,
    mid_active: Vec<f64>,
    // per face (E): mixture of the left/right face states: Σφ → cV, e, K, M → S
    tot_l: Vec<f64>,
    exc_l: Vec<f64>,
    mob_l: Vec<f64>,
    mom_l: Vec<f64>,
    tot_r: Vec<f64>,
    exc_r: Vec<f64>,
    mob_r: Vec<f64>,
    mom_r: Vec<f64>,
    /// central-upwind coefficients (acceleration included)
    coef_l: Vec<f64>,
    coef_r: Vec<f64>,
    coef_d: Vec<f64>,
    /// face measure A_f (0 outside the grid)
    area: Vec<f64>,
    /// positivity cap factors ½·safety·V/(A_f Δt) of the left and right donor (0 on walls)
    cap_l: Vec<f64>,
    cap_r: Vec<f64>,
    /// net limited flux of a face, then its capacity factor θ
    net: Vec<f64>,
    // per cell (E)
    /// 1/V_j (0 outside the grid)
    inv_vol: Vec<f64>,
    /// Σ_i φ_i
    tot: Vec<f64>,
    /// wave-speed bounds at the cell averages and at the face midpoints
    cells: Bounds,
    faces_b: Bounds,
}

impl Scratch {
    /// Swaps φⁿ, its slopes and the raw fluxes with those `carry` holds (three `Vec` headers,
    /// no copy): before [`Kernel::first_stage`] and [`Kernel::later_stages`] of a chunk, to
    /// work on the chunk's own carried data, and after them, to store it back.
    pub fn exchange(&mut self, carry: &mut Carry) {
        std::mem::swap(&mut self.x0, &mut carry.x0);
        std::mem::swap(&mut self.s0, &mut carry.s0);
        std::mem::swap(&mut self.flux, &mut carry.flux);
    }

    pub fn new(layout: &Layout) -> Self {
        let (n, l) = (layout.classes, layout.chunk);
        let e = l + 2 * HALO;
        let z = |k: usize| vec![0.0; k];
        Self {
            x0: z(n * e),
            s0: z(n * e),
            x1: z(n * e),
            s1: z(n * e),
            ql: z(n * e),
            qr: z(n * e),
            flux: z(n * e),
            active: z(n * e),
            mid: z(n * e),
            mid_active: z(n * e),
            tot_l: z(e),
            exc_l: z(e),
            mob_l: z(e),
            mom_l: z(e),
            tot_r: z(e),
            exc_r: z(e),
            mob_r: z(e),
            mom_r: z(e),
            coef_l: z(e),
            coef_r: z(e),
            coef_d: z(e),
            area: z(e),
            cap_l: z(e),
            cap_r: z(e),
            net: z(e),
            inv_vol: z(e),
            tot: z(e),
            cells: Bounds::new(e),
            faces_b: Bounds::new(e),
        }
    }
}

/// What a chunk's [`Kernel::first_stage`] leaves in its scratch for its
/// [`Kernel::later_stages`] (φⁿ, slopes, raw fluxes; the [`Scratch`] fields of the same names
/// and sizes), kept per chunk while the scratch itself (the much larger temporaries) is shared
/// by the chunks a thread runs: the working set stays in cache (see [`Scratch::exchange`]).
#[derive(Debug, Clone)]
pub(crate) struct Carry {
    x0: Vec<f64>,
    s0: Vec<f64>,
    flux: Vec<f64>,
}

impl Carry {
    pub fn new(layout: &Layout) -> Self {
        let len = layout.classes * (layout.chunk + 2 * HALO);
        Self {
            x0: vec![0.0; len],
            s0: vec![0.0; len],
            flux: vec![0.0; len],
        }
    }
}

/// Mixture sums and wave-speed bounds at a row of states.
#[derive(Debug, Clone)]
pub(crate) struct Bounds {
    /// Σφ_j
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

/// Limiter activity, summed over chunks in order (each face counted once per stage).
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
    /// the widest instruction set the entry points may run on (see [`Kernel::dispatch`]);
    /// [`Isa::Portable`] forces the portable code (bitwise the same results)
    pub isa: Isa,
}

/// Instruction sets the kernel's entry points are compiled for (x86-64; elsewhere only the
/// portable code exists). Ordered from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) enum Isa {
    /// as compiled for the target (SSE2 on x86-64: 2 doubles per vector)
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "only the tests force the portable code")
    )]
    Portable,
    /// AVX2: 4 doubles per vector
    Avx2,
    /// AVX-512F: 8 doubles per vector
    Avx512,
}

/// Calls `f` compiled with AVX2 enabled: everything `f` inlines (the kernel bodies are all
/// `#[inline(always)]`) is vectorised 4 doubles wide instead of SSE2's 2. No FMA is enabled
/// (and Rust never contracts `a * b + c`), and elementwise IEEE operations round the same at
/// any vector width, so the results are bitwise those of the portable code.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// As [`with_avx2`] with AVX-512F: 8 doubles per vector, bitwise the same results.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f")]
fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Runs `f` compiled for the widest instruction set the CPU supports (AVX-512F, AVX2 or the
/// portable code), as [`Kernel::dispatch`] does for the explicit kernel: used by the implicit
/// column solver's block factorisation and solves (`crate::column`), whose `#[inline(always)]`
/// bodies then vectorise 8 or 4 doubles wide. No FMA, elementwise IEEE operations only: every
/// path gives bitwise the same result.
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn widest<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: `with_avx512` only requires the AVX2 and AVX-512F target features
            // (and those they imply), which the running CPU was detected to support above.
            return unsafe { with_avx512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `with_avx2` only requires the AVX2 target feature (and those it
            // implies), which the running CPU was detected to support above.
            return unsafe { with_avx2(f) };
        }
    }
    f()
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

/// ln 2 split for argument reduction (fdlibm: `LN2_HI` has 32 trailing zero bits, so k·LN2_HI
/// is exact for |k| < 2²⁰).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// Natural logarithm of a positive normal `x`, branch-free (so loops over it vectorise):
/// fdlibm's `__ieee754_log` (as in musl) without its special cases, error < 1 ulp. The
/// exponent is extracted and converted with integer bit operations only (SSE2 has no packed
/// 64-bit integer → double conversion).
#[inline(always)]
fn ln_positive(x: f64) -> f64 {
    const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593);
    const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04);
    const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359);
    const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af);
    const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de);
    const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f);
    const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244);
    // Reduce x = 2^k·m, m ∈ [√2/2, √2).
    let hx = x.to_bits().wrapping_add((0x3ff0_0000 - 0x3fe6_a09e) << 32);
    let m = f64::from_bits((hx & 0x000f_ffff_ffff_ffff) + (0x3fe6_a09e << 32));
    // k + 1023 + 2⁵² as a double, exactly.
    let dk =
        f64::from_bits((hx >> 52) | 0x4330_0000_0000_0000) - (4_503_599_627_370_496.0 + 1023.0);
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
}

/// e^x for x ∈ [−700, 700] (clamped), branch-free: fdlibm's `__ieee754_exp` (as in musl)
/// with round-to-nearest argument reduction by the 1.5·2⁵² shift and the scaling 2^k built
/// from the integer bits, error < 1 ulp.
#[inline(always)]
fn exp_bounded(x: f64) -> f64 {
    const INV_LN2: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
    const P1: f64 = f64::from_bits(0x3fc5_5555_5555_553e);
    const P2: f64 = f64::from_bits(0xbf66_c16c_16be_bd93);
    const P3: f64 = f64::from_bits(0x3f11_566a_af25_de2c);
    const P4: f64 = f64::from_bits(0xbebb_bd41_c5d2_6bf1);
    const P5: f64 = f64::from_bits(0x3e66_3769_72be_a4d0);
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²
    let x = fmin(fmax(x, -700.0), 700.0);
    let t = x * INV_LN2 + SHIFT;
    let k = t - SHIFT; // round(x/ln 2), exact
    let hi = x - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    // 2^k: the low bits of t hold k (two's complement), so (bits + 1023) << 52 is its
    // exponent field.
    y * f64::from_bits(t.to_bits().wrapping_add(1023) << 52)
}

/// `x` where `keep`, else +0.0, as a bit mask (a data dependency, not a branch, so that the
/// computation of `x` is not sunk into a conditional block and the loop still vectorises).
#[inline(always)]
fn keep_or_zero(keep: bool, x: f64) -> f64 {
    f64::from_bits(x.to_bits() & u64::from(keep).wrapping_neg())
}

/// Limited slopes `s[k]`, k ∈ [lo, hi), of one class row `x` (reads x[lo − 1 .. hi + 1]).
#[inline(always)]
fn slopes(theta: f64, x: &[f64], s: &mut [f64], lo: usize, hi: usize) {
    let (xm, xc, xp) = (&x[lo - 1..hi - 1], &x[lo..hi], &x[lo + 1..hi + 1]);
    let out = &mut s[lo..hi];
    for k in 0..out.len() {
        let dm = xc[k] - xm[k];
        let dp = xp[k] - xc[k];
        out[k] = minmod3(theta * dm, 0.5 * (dm + dp), theta * dp);
    }
}

/// MUSCL face states of faces k ∈ [lo, hi): `ql[k]` from cell k − 1, `qr[k]` from cell k.
#[inline(always)]
fn face_states(x: &[f64], s: &[f64], ql: &mut [f64], qr: &mut [f64], lo: usize, hi: usize) {
    let (xl, sl) = (&x[lo - 1..hi - 1], &s[lo - 1..hi - 1]);
    let (xr, sr) = (&x[lo..hi], &s[lo..hi]);
    let (ql, qr) = (&mut ql[lo..hi], &mut qr[lo..hi]);
    for k in 0..ql.len() {
        ql[k] = xl[k] + 0.5 * sl[k];
        qr[k] = xr[k] - 0.5 * sr[k];
    }
}

/// Positivity-limited flux and whether the cap acted (beyond the safety margin).
#[inline(always)]
fn positivity(raw: f64, cap_plus: f64, cap_minus: f64) -> (f64, bool) {
    let g = fmin(fmax(raw, -cap_minus), cap_plus);
    (g, (g - raw).abs() > 1e-9 * raw.abs())
}

/// Capacity factor θ ≤ 1 of a face with net flux `q` between cells of totals `tl`, `tr`.
#[inline(always)]
fn capacity(q: f64, tl: f64, tr: f64, cap_l: f64, cap_r: f64, phi_max: f64) -> f64 {
    let room_l = fmax(phi_max - tl, 0.0);
    let room_r = fmax(phi_max - tr, 0.0);
    let cap = if q > 0.0 {
        cap_r * room_r
    } else {
        cap_l * room_l
    };
    let mag = q.abs();
    if mag > cap { cap / mag } else { 1.0 }
}

/// Adds B class rows to the mixture sums Σφ, Σ Δρ φ, Σ k φ, Σ k Δρ φ of each state (starting
/// from 0 if `INIT`), in class order (so the result is bitwise that of one class at a time),
/// loading and storing the sums once per B classes.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn add_mixture<const B: usize, const INIT: bool>(
    rows: [&[f64]; B],
    dx: [f64; B],
    k: [f64; B],
    kd: [f64; B],
    tot: &mut [f64],
    exc: &mut [f64],
    mob: &mut [f64],
    mom: &mut [f64],
) {
    let len = tot.len();
    let (exc, mob, mom) = (&mut exc[..len], &mut mob[..len], &mut mom[..len]);
    let rows = rows.map(|r| &r[..len]);
    for m in 0..len {
        let (mut t, mut e, mut km, mut mm) = if INIT {
            (0.0, 0.0, 0.0, 0.0)
        } else {
            (tot[m], exc[m], mob[m], mom[m])
        };
        for b in 0..B {
            let p = rows[b][m];
            t += p;
            e += dx[b] * p;
            km += k[b] * p;
            mm += kd[b] * p;
        }
        tot[m] = t;
        exc[m] = e;
        mob[m] = km;
        mom[m] = mm;
    }
}

/// Adds B class rows to A1 = Σφ_i|w_i| and A2 = Σφ_i|K − k_i| (see [`Kernel::bounds`]), in
/// class order, starting from 0 if `INIT`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn add_abs_sums<const B: usize, const INIT: bool>(
    rows: [&[f64]; B],
    dx: [f64; B],
    k: [f64; B],
    exc: &[f64],
    mob: &[f64],
    mom: &[f64],
    sum_w: &mut [f64],
    sum_k: &mut [f64],
) {
    let len = sum_w.len();
    let (exc, mob, mom, sum_k) = (&exc[..len], &mob[..len], &mom[..len], &mut sum_k[..len]);
    let rows = rows.map(|r| &r[..len]);
    for j in 0..len {
        let (mut a1, mut a2) = if INIT {
            (0.0, 0.0)
        } else {
            (sum_w[j], sum_k[j])
        };
        let (e, kk, sv) = (exc[j], mob[j], mom[j]);
        for b in 0..B {
            let p = rows[b][j];
            let w = k[b] * (dx[b] - e) - sv;
            a1 += p * w.abs();
            a2 += p * (kk - k[b]).abs();
        }
        sum_w[j] = a1;
        sum_k[j] = a2;
    }
}

/// The per-state quantities of [`Kernel::bounds`], sliced to the number of states.
struct StateSums<'a> {
    tot: &'a [f64],
    exc: &'a [f64],
    mob: &'a [f64],
    mom: &'a [f64],
    cv: &'a [f64],
    cvp: &'a [f64],
    sum_w: &'a [f64],
    sum_k: &'a [f64],
}

/// Folds the Gershgorin discs of B classes into a⁺, a⁻ and the speed of each state (see
/// [`Kernel::bounds`]; starting from 0, the neutral value, if `INIT`); the per-state quantities
/// and the running bounds are loaded once per B classes.
#[inline(always)]
fn add_bounds<const B: usize, const INIT: bool>(
    rows: [&[f64]; B],
    act: [&[f64]; B],
    dx: [f64; B],
    k: [f64; B],
    st: &StateSums<'_>,
    a_plus: &mut [f64],
    a_minus: &mut [f64],
    speed: &mut [f64],
) {
    let len = a_plus.len();
    let (a_minus, speed) = (&mut a_minus[..len], &mut speed[..len]);
    let (tot, exc, mob, mom) = (
        &st.tot[..len],
        &st.exc[..len],
        &st.mob[..len],
        &st.mom[..len],
    );
    let (cv, cvp, sum_w, sum_k) = (
        &st.cv[..len],
        &st.cvp[..len],
        &st.sum_w[..len],
        &st.sum_k[..len],
    );
    let rows = rows.map(|r| &r[..len]);
    let act = act.map(|r| &r[..len]);
    let adx = dx.map(f64::abs);
    for j in 0..len {
        let (mut ap, mut am, mut sp) = if INIT {
            (0.0, 0.0, 0.0)
        } else {
            (a_plus[j], a_minus[j], speed[j])
        };
        let (e, kk, sv, phi) = (exc[j], mob[j], mom[j], tot[j]);
        let (c, cp) = (cv[j], cvp[j]);
        for b in 0..B {
            let mask = act[b][j];
            let p = rows[b][j];
            let g = k[b] * (dx[b] - e);
            let w = g - sv;
            let kdiff = kk - k[b];
            let u = c * w;
            let diag = u + p * (cp * w + c * (kdiff * dx[b] - g));
            let radius = cp.abs() * (sum_w[j] - p * w.abs())
                + c * (adx[b] * (sum_k[j] - p * kdiff.abs()) + g.abs() * (phi - p));
            let radius = fmax(radius, 0.0);
            ap = fmax(ap, mask * (diag + radius));
            am = fmin(am, mask * (diag - radius));
            sp = fmax(sp, mask * u.abs());
        }
        a_plus[j] = ap;
        a_minus[j] = am;
        speed[j] = sp;
    }
}

impl Kernel {
    /// Runs `f` (the inlined body of an entry point) compiled for the widest instruction set
    /// that is both allowed by `self.isa` and supported by the CPU (detected at run time, cached
    /// by `std`): [`with_avx512`], [`with_avx2`] or the portable code. All paths give bitwise
    /// identical results (tested).
    #[inline(always)]
    #[allow(unsafe_code)]
    fn dispatch<R>(&self, f: impl FnOnce() -> R) -> R {
        #[cfg(target_arch = "x86_64")]
        {
            if self.isa >= Isa::Avx512
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("avx512f")
            {
                // SAFETY: `with_avx512` only requires the AVX2 and AVX-512F target features
                // (and those they imply), which the running CPU was detected to support above.
                return unsafe { with_avx512(f) };
            }
            if self.isa >= Isa::Avx2 && std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: `with_avx2` only requires the AVX2 target feature (and those it
                // implies), which the running CPU was detected to support above.
                return unsafe { with_avx2(f) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = self.isa;
        f()
    }

    /// [`Kernel::first_stage_body`], dispatched (see [`Kernel::dispatch`]).
    #[allow(clippy::too_many_arguments)]
    pub fn first_stage(
        &self,
        c: usize,
        state: &[f64],
        omega_squared: f64,
        flux_blk: &mut [f64],
        slope_blk: &mut [f64],
        face_blk: &mut [f64],
        s: &mut Scratch,
    ) -> f64 {
        self.dispatch(
            #[inline(always)]
            move || {
                self.first_stage_body(c, state, omega_squared, flux_blk, slope_blk, face_blk, s)
            },
        )
    }

    /// [`Kernel::later_stages_body`], dispatched (see [`Kernel::dispatch`]).
    #[allow(clippy::too_many_arguments)]
    pub fn later_stages(
        &self,
        c: usize,
        phi: &[f64],
        flux: &[f64],
        slope: &[f64],
        face_w: &[f64],
        dt: f64,
        omega_squared: f64,
        alpha: f64,
        beta: f64,
        out_blk: &mut [f64],
        mix_blk: Option<&mut [f64]>,
        s: &mut Scratch,
    ) -> LimiterCounts {
        self.dispatch(
            #[inline(always)]
            move || {
                self.later_stages_body(
                    c,
                    phi,
                    flux,
                    slope,
                    face_w,
                    dt,
                    omega_squared,
                    alpha,
                    beta,
                    out_blk,
                    mix_blk,
                    s,
                )
            },
        )
    }

    /// [`Kernel::final_stage_body`], dispatched (see [`Kernel::dispatch`]).
    #[allow(clippy::too_many_arguments)]
    pub fn final_stage(
        &self,
        c: usize,
        phi: &[f64],
        stage: &[f64],
        face_w: &[f64],
        dt: f64,
        omega_squared: f64,
        alpha: f64,
        beta: f64,
        out_blk: &mut [f64],
        mix_blk: Option<&mut [f64]>,
        s: &mut Scratch,
    ) -> LimiterCounts {
        self.dispatch(
            #[inline(always)]
            move || {
                self.final_stage_body(
                    c,
                    phi,
                    stage,
                    face_w,
                    dt,
                    omega_squared,
                    alpha,
                    beta,
                    out_blk,
                    mix_blk,
                    s,
                )
            },
        )
    }

    /// [`Kernel::chunk_mixture_body`], dispatched (see [`Kernel::dispatch`]).
    pub fn chunk_mixture(&self, c: usize, state: &[f64], mix_blk: &mut [f64], s: &mut Scratch) {
        self.dispatch(
            #[inline(always)]
            move || self.chunk_mixture_body(c, state, mix_blk, s),
        )
    }

    /// Copies class rows of the tiled `src` for extended cells k ∈ [lo, hi) of the chunk
    /// starting at `c0` (cell c0 − HALO + k, clamped to the grid) into `dst` (row stride `e`).
    /// Contiguous runs are copied as slices.
    #[inline(always)]
    fn gather(&self, src: &[f64], c0: usize, lo: usize, hi: usize, dst: &mut [f64], e: usize) {
        let lay = self.layout;
        let last = lay.cells - 1;
        self.gather_rows(src, c0, lo, hi, dst, e, 0..=last, |i, g| {
            src[lay.index(i, if g < 0 { 0 } else { last })]
        });
    }

    /// Copies the raw fluxes of faces k ∈ [lo, hi) (face f stored at the slot of cell f of the
    /// tiled `src`) into `dst`; 0 on the walls and beyond.
    #[inline(always)]
    fn gather_faces(
        &self,
        src: &[f64],
        c0: usize,
        lo: usize,
        hi: usize,
        dst: &mut [f64],
        e: usize,
    ) {
        let interior = 1..=self.layout.cells - 1;
        self.gather_rows(src, c0, lo, hi, dst, e, interior, |_, _| 0.0);
    }

    /// The copy behind [`Kernel::gather`] and [`Kernel::gather_faces`]: for every class row,
    /// extended index k ∈ [lo, hi) maps to grid index g = c0 + k − HALO; g in `valid` is read
    /// from the tiled `src` (contiguous runs within a tile as slices), any other g takes
    /// `outside(class, g)`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn gather_rows(
        &self,
        src: &[f64],
        c0: usize,
        lo: usize,
        hi: usize,
        dst: &mut [f64],
        e: usize,
        valid: std::ops::RangeInclusive<usize>,
        outside: impl Fn(usize, isize) -> f64,
    ) {
        let lay = self.layout;
        let (first, last) = (*valid.start() as isize, *valid.end() as isize);
        for i in 0..lay.classes {
            let row = &mut dst[i * e..i * e + hi];
            let mut k = lo;
            while k < hi {
                let g = (c0 + k) as isize - HALO as isize;
                if g < first || g > last {
                    row[k] = outside(i, g);
                    k += 1;
                } else {
                    let cell = g as usize;
                    let end = ((cell / lay.chunk + 1) * lay.chunk).min(lay.cells);
                    let len = (end - cell).min(hi - k);
                    let start = lay.index(i, cell);
                    row[k..k + len].copy_from_slice(&src[start..start + len]);
                    k += len;
                }
            }
        }
    }

    /// Face measures and positivity cap factors of faces k ∈ [lo, hi), and 1/V of cells
    /// k ∈ [lo, hi), of the chunk starting at `c0` for step `dt` (zeros outside the grid).
    #[inline(always)]
    fn face_geometry(&self, c0: usize, dt: f64, lo: usize, hi: usize, s: &mut Scratch) {
        let grid = &self.grid;
        let cells = self.layout.cells as isize;
        for k in lo..hi {
            let f = (c0 + k) as isize - HALO as isize;
            let (mut area, mut cap_l, mut cap_r, mut inv_vol) = (0.0, 0.0, 0.0, 0.0);
            if (0..=cells).contains(&f) {
                let f = f as usize;
                area = grid.area[f];
                if f > 0 && f < grid.volume.len() {
                    let scale = 0.5 * CAP_SAFETY / (area * dt);
                    cap_l = scale * grid.volume[f - 1];
                    cap_r = scale * grid.volume[f];
                }
                if f < grid.volume.len() {
                    inv_vol = grid.inv_volume[f];
                }
            }
            s.area[k] = area;
            s.cap_l[k] = cap_l;
            s.cap_r[k] = cap_r;
            s.inv_vol[k] = inv_vol;
        }
    }

    /// Replaces each total Σφ in `x` by cV = V(Σφ)/(18μ) of the hindrance law (0 at or above
    /// φ_max; Σφ < 0 from round-off is taken as 0). Same formulas as
    /// [`HindranceLaw::velocity_factor`], but with the branch-free [`ln_positive`] and
    /// [`exp_bounded`] in place of `powf`/`exp`, so the loop vectorises. V = exp(m·ln(1 − φ))
    /// agrees with `powf` to a few ulp: the relative difference is below
    /// 2.5·10⁻¹⁶·(4 + |m ln(1 − φ)|) (≈ 2·10⁻¹⁵ at φ = 0.9 for n = 4.65), the rounding of the
    /// exponent being inherited by the power (tested).
    #[inline(always)]
    fn velocity_factors(&self, x: &mut [f64]) {
        let c = self.inv_18mu;
        match self.law {
            HindranceLaw::RichardsonZaki {
                exponent,
                max_packing,
            } => {
                let m = exponent - 2.0;
                for v in x.iter_mut() {
                    let phi = fmax(*v, 0.0);
                    let free = fmax(1.0 - phi, 1e-300);
                    let f = c * exp_bounded(m * ln_positive(free));
                    *v = keep_or_zero(phi < max_packing, f);
                }
            }
            HindranceLaw::HawksleyVand { max_packing } => {
                for v in x.iter_mut() {
                    let phi = fmax(*v, 0.0);
                    let crowd = 1.0 / (1.0 - HAWKSLEY_CROWDING * phi);
                    let f = c * exp_bounded(-2.5 * phi * crowd);
                    *v = keep_or_zero(phi < max_packing, f);
                }
            }
        }
    }

    /// cV = V(Σφ)/(18μ) and cV′ = V′(Σφ)/(18μ) of the totals `tot` into `cv`, `cvp` (as
    /// [`HindranceLaw::velocity_factor_and_derivative`], see [`Kernel::velocity_factors`]).
    #[inline(always)]
    fn velocity_factors_and_derivatives(&self, tot: &[f64], cv: &mut [f64], cvp: &mut [f64]) {
        let c = self.inv_18mu;
        let (cv, cvp) = (&mut cv[..tot.len()], &mut cvp[..tot.len()]);
        match self.law {
            HindranceLaw::RichardsonZaki {
                exponent,
                max_packing,
            } => {
                let m = exponent - 2.0;
                for j in 0..tot.len() {
                    let phi = fmax(tot[j], 0.0);
                    let free = fmax(1.0 - phi, 1e-300);
                    let v = exp_bounded(m * ln_positive(free));
                    let dv = -m * v / free;
                    let moving = phi < max_packing;
                    cv[j] = keep_or_zero(moving, c * v);
                    cvp[j] = keep_or_zero(moving, c * dv);
                }
            }
            HindranceLaw::HawksleyVand { max_packing } => {
                for j in 0..tot.len() {
                    let phi = fmax(tot[j], 0.0);
                    let crowd = 1.0 / (1.0 - HAWKSLEY_CROWDING * phi);
                    let v = exp_bounded(-2.5 * phi * crowd);
                    let dv = -2.5 * v * crowd * crowd;
                    let moving = phi < max_packing;
                    cv[j] = keep_or_zero(moving, c * v);
                    cvp[j] = keep_or_zero(moving, c * dv);
                }
            }
        }
    }

    /// The mixture sums Σφ, e = Σ Δρ φ, K = Σ k φ, M = Σ k Δρ φ of the states
    /// `q[i·stride + off + j]`, j < `tot.len()`, summed in class order, four classes per pass.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn mixture_sums(
        &self,
        q: &[f64],
        stride: usize,
        off: usize,
        tot: &mut [f64],
        exc: &mut [f64],
        mob: &mut [f64],
        mom: &mut [f64],
    ) {
        let len = tot.len();
        let (exc, mob, mom) = (&mut exc[..len], &mut mob[..len], &mut mom[..len]);
        let row = |i: usize| &q[i * stride + off..i * stride + off + len];
        let nc = self.layout.classes;
        let dx = |i: usize| self.excess[i];
        let k = |i: usize| self.mobility[i];
        let kd = |i: usize| self.mobility[i] * self.excess[i];
        let mut i = 0;
        while i + 4 <= nc {
            let c = [i, i + 1, i + 2, i + 3];
            let (rows, dx, k, kd) = (c.map(row), c.map(dx), c.map(k), c.map(kd));
            if i == 0 {
                add_mixture::<4, true>(rows, dx, k, kd, tot, exc, mob, mom);
            } else {
                add_mixture::<4, false>(rows, dx, k, kd, tot, exc, mob, mom);
            }
            i += 4;
        }
        while i < nc {
            let (rows, dx, k, kd) = ([row(i)], [dx(i)], [k(i)], [kd(i)]);
            if i == 0 {
                add_mixture::<1, true>(rows, dx, k, kd, tot, exc, mob, mom);
            } else {
                add_mixture::<1, false>(rows, dx, k, kd, tot, exc, mob, mom);
            }
            i += 1;
        }
    }

    /// Reconstruction on faces [flo, fhi) of the extended chunk (row length `e`): limited
    /// slopes of the stage's cell averages (`s.x0` into `s.s0` for [`Stage::First`], `s.x1`
    /// into `s.s1` for [`Stage::Later`]) on cells [flo − 1, fhi), left/right face states into
    /// `s.ql`/`s.qr`, and the face mixtures of both states.
    #[inline(always)]
    fn reconstruct(&self, stage: Stage, e: usize, flo: usize, fhi: usize, s: &mut Scratch) {
        let nc = self.layout.classes;
        let Scratch {
            x0,
            s0,
            x1,
            s1,
            ql,
            qr,
            tot_l,
            exc_l,
            mob_l,
            mom_l,
            tot_r,
            exc_r,
            mob_r,
            mom_r,
            ..
        } = s;
        let (x, slope) = match stage {
            Stage::First => (&*x0, s0),
            Stage::Later => (&*x1, s1),
        };
        for i in 0..nc {
            let r = i * e..(i + 1) * e;
            slopes(
                self.theta,
                &x[r.clone()],
                &mut slope[r.clone()],
                flo - 1,
                fhi,
            );
            face_states(
                &x[r.clone()],
                &slope[r.clone()],
                &mut ql[r.clone()],
                &mut qr[r],
                flo,
                fhi,
            );
        }
        self.face_mixture(ql, e, flo, fhi, tot_l, exc_l, mob_l, mom_l);
        self.face_mixture(qr, e, flo, fhi, tot_r, exc_r, mob_r, mom_r);
    }

    /// Mixture at the face states `q` (class rows of stride `e`) of faces k ∈ [lo, hi): on
    /// return `tot` holds cV = V(Σφ)/(18μ), `exc` e, `mob` K and `mom` S = M − eK. One logarithm and
    /// one exponential (vectorised polynomials) per face state, whatever the number of classes.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn face_mixture(
        &self,
        q: &[f64],
        e: usize,
        lo: usize,
        hi: usize,
        tot: &mut [f64],
        exc: &mut [f64],
        mob: &mut [f64],
        mom: &mut [f64],
    ) {
        let (tot, exc, mob, mom) = (
            &mut tot[lo..hi],
            &mut exc[lo..hi],
            &mut mob[lo..hi],
            &mut mom[lo..hi],
        );
        let len = tot.len();
        self.mixture_sums(q, e, lo, tot, exc, mob, mom);
        self.velocity_factors(tot);
        for m in 0..len {
            mom[m] -= exc[m] * mob[m];
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
    ///
    /// Every loop runs over the states with all operands sliced to `count` (no bounds checks),
    /// so it vectorises; inactive classes contribute 0, the neutral value of the max/min.
    #[inline(always)]
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
        let Bounds {
            tot,
            exc,
            mob,
            mom,
            cv,
            cvp,
            sum_w,
            sum_k,
            a_plus,
            a_minus,
            speed,
        } = b;
        let (tot, exc, mob, mom) = (
            &mut tot[..count],
            &mut exc[..count],
            &mut mob[..count],
            &mut mom[..count],
        );
        let (cv, cvp, sum_w, sum_k) = (
            &mut cv[..count],
            &mut cvp[..count],
            &mut sum_w[..count],
            &mut sum_k[..count],
        );
        let (a_plus, a_minus, speed) = (
            &mut a_plus[..count],
            &mut a_minus[..count],
            &mut speed[..count],
        );
        self.mixture_sums(q, stride, 0, tot, exc, mob, mom);
        self.velocity_factors_and_derivatives(tot, cv, cvp);
        for j in 0..count {
            mom[j] -= exc[j] * mob[j];
        }
        let row = |i: usize| &q[i * stride..i * stride + count];
        let mut i = 0;
        while i + 4 <= nc {
            let c = [i, i + 1, i + 2, i + 3];
            let (rows, dx, k) = (
                c.map(row),
                c.map(|i| self.excess[i]),
                c.map(|i| self.mobility[i]),
            );
            if i == 0 {
                add_abs_sums::<4, true>(rows, dx, k, exc, mob, mom, sum_w, sum_k);
            } else {
                add_abs_sums::<4, false>(rows, dx, k, exc, mob, mom, sum_w, sum_k);
            }
            i += 4;
        }
        while i < nc {
            let (rows, dx, k) = ([row(i)], [self.excess[i]], [self.mobility[i]]);
            if i == 0 {
                add_abs_sums::<1, true>(rows, dx, k, exc, mob, mom, sum_w, sum_k);
            } else {
                add_abs_sums::<1, false>(rows, dx, k, exc, mob, mom, sum_w, sum_k);
            }
            i += 1;
        }
        let st = StateSums {
            tot,
            exc,
            mob,
            mom,
            cv,
            cvp,
            sum_w,
            sum_k,
        };
        let act = |i: usize| &active[i * astride..i * astride + count];
        let mut i = 0;
        while i + 2 <= nc {
            let c = [i, i + 1];
            let (rows, acts) = (c.map(row), c.map(act));
            let (dx, k) = (c.map(|i| self.excess[i]), c.map(|i| self.mobility[i]));
            if i == 0 {
                add_bounds::<2, true>(rows, acts, dx, k, &st, a_plus, a_minus, speed);
            } else {
                add_bounds::<2, false>(rows, acts, dx, k, &st, a_plus, a_minus, speed);
            }
            i += 2;
        }
        if i < nc {
            let (rows, acts) = ([row(i)], [act(i)]);
            let (dx, k) = ([self.excess[i]], [self.mobility[i]]);
            if i == 0 {
                add_bounds::<1, true>(rows, acts, dx, k, &st, a_plus, a_minus, speed);
            } else {
                add_bounds::<1, false>(rows, acts, dx, k, &st, a_plus, a_minus, speed);
            }
        }
        for j in 0..count {
            speed[j] = fmax(fmax(speed[j], a_plus[j]), -a_minus[j]);
        }
    }

    /// The first stage of a step for chunk `c` of `state` (= φⁿ) at squared angular speed
    /// `omega_squared`: MUSCL slopes, wave-speed bounds at the cell
    /// averages and face midpoints (the central-upwind weights a⁺/(a⁺ − a⁻), −a⁻/(a⁺ − a⁻),
    /// a⁺a⁻/(a⁺ − a⁻) of the own faces c0 … c1 − 1 into `face_blk`, blocks of L each, for the
    /// later stages), the raw KNP fluxes of the own faces. φⁿ, slopes and raw fluxes stay in
    /// `s` for [`Kernel::later_stages`]; the slopes and fluxes of the HALO cells and faces at
    /// either end, which the neighbouring chunks need, go to `slope_blk` and `flux_blk` (face f
    /// at the slot of cell f; the other slots are not written). Returns the chunk's largest CFL rate max(a⁺, −a⁻, |u_i|)·a·γ/Δr (1/s), NaN
    /// if any is NaN.
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    #[inline(always)]
    fn first_stage_body(
        &self,
        c: usize,
        state: &[f64],
        omega_squared: f64,
        flux_blk: &mut [f64],
        slope_blk: &mut [f64],
        face_blk: &mut [f64],
        s: &mut Scratch,
    ) -> f64 {
        let lay = self.layout;
        let (c0, c1) = lay.range(c);
        let n = c1 - c0;
        let (nc, l) = (lay.classes, lay.chunk);
        let e = l + 2 * HALO;
        // Own faces k ∈ [HALO, n + HALO) need cells k − 2 … k + 1.
        let (flo, fhi) = (HALO, n + HALO);
        self.gather(state, c0, flo - 2, fhi + 1, &mut s.x0, e);
        self.reconstruct(Stage::First, e, flo, fhi, s);

        // Wave-speed bounds at the cell averages of cells k ∈ [flo − 1, fhi) (bound index
        // k − flo + 1). A class enters a cell's bound if it is active (above its threshold) in
        // the cell or in either neighbour, so the bound at a face covers every class present on
        // either side (an absent class's eigenvalue u_m matters where it borders a present one).
        for i in 0..nc {
            let thr = self.threshold[i];
            let x = &s.x0[i * e + flo - 2..i * e + fhi + 1];
            let act = &mut s.active[i * e..i * e + n + 1];
            for m in 0..n + 1 {
                act[m] = if fmax(fmax(x[m], x[m + 1]), x[m + 2]) > thr {
                    1.0
                } else {
                    0.0
                };
            }
        }
        self.bounds(&s.x0[flo - 1..], e, n + 1, &s.active, e, &mut s.cells);
        // ... and at the midpoint of the two averages of every face (bound index k − flo): the
        // flux is not convex (Richardson–Zaki has an inflection at 2/(n + 1)), so f′ can take
        // its extreme values between the two states, e.g. across the top of a packed bed.
        for i in 0..nc {
            let thr = self.threshold[i];
            let x = &s.x0[i * e + flo - 1..i * e + fhi];
            let mid = &mut s.mid[i * e..i * e + n];
            let act = &mut s.mid_active[i * e..i * e + n];
            for m in 0..n {
                let (a, b) = (x[m], x[m + 1]);
                mid[m] = 0.5 * (a + b);
                act[m] = if fmax(a, b) > thr { 1.0 } else { 0.0 };
            }
        }
        self.bounds(&s.mid, e, n, &s.mid_active, e, &mut s.faces_b);

        // Central-upwind weights per face, kept for the later stages; coefficients scaled by
        // the face acceleration; CFL rate.
        let (wl_blk, rest) = face_blk.split_at_mut(l);
        let (wr_blk, wd_blk) = rest.split_at_mut(l);
        let (cb, fb) = (&s.cells, &s.faces_b);
        let mut rate = 0.0f64;
        let mut nan = false;
        for m in 0..n {
            let f = c0 + m;
            let ap = fmax(fmax(cb.a_plus[m], cb.a_plus[m + 1]), fb.a_plus[m]);
            let am = fmin(fmin(cb.a_minus[m], cb.a_minus[m + 1]), fb.a_minus[m]);
            let speed = fmax(fmax(cb.speed[m], cb.speed[m + 1]), fb.speed[m]);
            let spread = ap - am;
            let (wl, wr, wd) = if spread > 0.0 {
                (ap / spread, -am / spread, ap * am / spread)
            } else {
                (0.5, 0.5, 0.0)
            };
            wl_blk[m] = wl;
            wr_blk[m] = wr;
            wd_blk[m] = wd;
            let acc = acceleration(
                self.grid.geometry,
                self.gravity,
                self.grid.accel_radius[f],
                omega_squared,
            );
            let a = if f == 0 { 0.0 } else { acc };
            let k = m + flo;
            s.coef_l[k] = a * wl;
            s.coef_r[k] = a * wr;
            s.coef_d[k] = a * wd;
            let r = speed * acc * self.grid.rate_factor[f];
            nan |= r.is_nan();
            rate = rate.max(r);
        }

        // KNP fluxes.
        for i in 0..nc {
            let (dx, kk) = (self.excess[i], self.mobility[i]);
            let ql = &s.ql[i * e + flo..i * e + fhi];
            let qr = &s.qr[i * e + flo..i * e + fhi];
            let (cvl, exl, sl) = (&s.tot_l[flo..fhi], &s.exc_l[flo..fhi], &s.mom_l[flo..fhi]);
            let (cvr, exr, sr) = (&s.tot_r[flo..fhi], &s.exc_r[flo..fhi], &s.mom_r[flo..fhi]);
            let (cl, cr, cd) = (
                &s.coef_l[flo..fhi],
                &s.coef_r[flo..fhi],
                &s.coef_d[flo..fhi],
            );
            let out = &mut s.flux[i * e + flo..i * e + fhi];
            for m in 0..n {
                let fl = ql[m] * cvl[m] * (kk * (dx - exl[m]) - sl[m]);
                let fr = qr[m] * cvr[m] * (kk * (dx - exr[m]) - sr[m]);
                out[m] = cl[m] * fl + cr[m] * fr + cd[m] * (qr[m] - ql[m]);
            }
        }
        // The chunk's scratch keeps φⁿ, slopes and raw fluxes for `later_stages`; the
        // neighbours need only the HALO cells and faces nearest to each end.
        let edge = HALO.min(n);
        for i in 0..nc {
            for range in [0..edge, n - edge..n] {
                for m in range {
                    slope_blk[i * l + m] = s.s0[i * e + flo + m];
                    flux_blk[i * l + m] = s.flux[i * e + flo + m];
                }
            }
        }
        if nan { f64::NAN } else { rate }
    }

    /// The rest of an SSP-RK step for chunk `c`, after [`Kernel::first_stage`] has run on every
    /// chunk (with the same scratch `s` for chunk `c`, which still holds its data): the first forward-Euler stage a = φⁿ + Δt L(φⁿ) (limited) on the own cells and
    /// HALO − 1 halo cells on either side (from the raw fluxes and slopes of the first stage;
    /// a halo cell gets bitwise the value its own chunk computes), then the second stage
    /// `out = alpha·φⁿ + beta·(a + Δt L(a))` on the own cells, with the stored central-upwind
    /// weights at squared angular speed `omega_squared`. No exchange between chunks is needed
    /// between the two stages.
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    #[inline(always)]
    fn later_stages_body(
        &self,
        c: usize,
        phi: &[f64],
        flux: &[f64],
        slope: &[f64],
        face_w: &[f64],
        dt: f64,
        omega_squared: f64,
        alpha: f64,
        beta: f64,
        out_blk: &mut [f64],
        mix_blk: Option<&mut [f64]>,
        s: &mut Scratch,
    ) -> LimiterCounts {
        let lay = self.layout;
        let (c0, c1) = lay.range(c);
        let n = c1 - c0;
        let (nc, l) = (lay.classes, lay.chunk);
        let e = l + 2 * HALO;
        // Stage values are needed on cells k ∈ [1, n + 5) (c0 − 2 … c1 + 1), hence limited
        // fluxes on faces k ∈ [1, n + 6) and φⁿ, slopes on cells k ∈ [0, n + 6).
        let (clo, chi) = (1, n + 2 * HALO - 1);
        let (flo, fhi) = (clo, chi + 1);
        // The chunk's `first_stage` left φⁿ on cells [1, n + 4), slopes on [2, n + 3) and raw
        // fluxes on faces [3, n + 3) in the scratch; the rest comes from the neighbours.
        self.gather(phi, c0, 0, 1, &mut s.x0, e);
        self.gather(phi, c0, n + HALO + 1, fhi, &mut s.x0, e);
        self.gather(slope, c0, 0, 2, &mut s.s0, e);
        self.gather(slope, c0, n + HALO, fhi, &mut s.s0, e);
        self.gather_faces(flux, c0, flo, HALO, &mut s.flux, e);
        self.gather_faces(flux, c0, n + HALO, fhi, &mut s.flux, e);
        self.face_geometry(c0, dt, flo - 1, fhi, s);
        let mut counts = LimiterCounts::default();
        {
            let tot = &mut s.tot[flo - 1..fhi];
            tot.fill(0.0);
            for i in 0..nc {
                let x = &s.x0[i * e + flo - 1..i * e + fhi];
                for k in 0..tot.len() {
                    tot[k] += x[k];
                }
            }
        }
        // Positivity (faces k ∈ [flo, fhi), counted on the own faces k ∈ [HALO, n + HALO)).
        let len = fhi - flo;
        let (own_lo, own_hi) = (HALO - flo, n + HALO - flo);
        let net = &mut s.net[flo..fhi];
        net.fill(0.0);
        let (capl, capr) = (&s.cap_l[flo..fhi], &s.cap_r[flo..fhi]);
        for i in 0..nc {
            let x = &s.x0[i * e + flo - 1..i * e + fhi];
            let sl = &s.s0[i * e + flo - 1..i * e + fhi];
            let g = &mut s.flux[i * e + flo..i * e + fhi];
            let mut acted = 0u64;
            for m in 0..len {
                let cap_plus = capl[m] * (x[m] + 0.5 * sl[m]);
                let cap_minus = capr[m] * (x[m + 1] - 0.5 * sl[m + 1]);
                let (lim, a) = positivity(g[m], cap_plus, cap_minus);
                acted += u64::from(a & (m >= own_lo) & (m < own_hi));
                g[m] = lim;
                net[m] += lim;
            }
            counts.positivity += acted;
        }
        // Capacity.
        {
            let tot = &s.tot[flo - 1..fhi];
            for m in 0..len {
                let theta = capacity(net[m], tot[m], tot[m + 1], capl[m], capr[m], self.phi_max);
                counts.capacity += u64::from((theta < 1.0) & (m >= own_lo) & (m < own_hi));
                net[m] = theta;
            }
        }
        // First-stage values on the cells of the grid among k ∈ [clo, chi); the others are
        // clamped copies (as the gather of φⁿ does).
        let vlo = clo.max(HALO.saturating_sub(c0));
        let vhi = chi.min(lay.cells + HALO - c0);
        let (theta, area, inv_vol) = (&s.net[..chi + 1], &s.area[..chi + 1], &s.inv_vol[..chi]);
        for i in 0..nc {
            let x = &s.x0[i * e..i * e + chi];
            let g = &s.flux[i * e..i * e + chi + 1];
            let a = &mut s.x1[i * e..i * e + chi];
            for k in vlo..vhi {
                let gl = g[k] * theta[k] * area[k];
                let gr = g[k + 1] * theta[k + 1] * area[k + 1];
                let v = x[k] + dt * inv_vol[k] * (gl - gr);
                a[k] = if v < FLUSH_BELOW { 0.0 } else { v };
            }
            for k in clo..vlo {
                a[k] = a[vlo];
            }
            for k in vhi..chi {
                a[k] = a[vhi - 1];
            }
        }
        let c2 = self.fused_stage(
            c0,
            n,
            dt,
            omega_squared,
            alpha,
            beta,
            face_w,
            out_blk,
            mix_blk,
            s,
        );
        counts.merge(c2)
    }

    /// A final stage for chunk `c` whose stage state is the tiled `stage` (SSP-RK3's third
    /// stage): `out = alpha·φⁿ + beta·(b + Δt L(b))` on the own cells.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn final_stage_body(
        &self,
        c: usize,
        phi: &[f64],
        stage: &[f64],
        face_w: &[f64],
        dt: f64,
        omega_squared: f64,
        alpha: f64,
        beta: f64,
        out_blk: &mut [f64],
        mix_blk: Option<&mut [f64]>,
        s: &mut Scratch,
    ) -> LimiterCounts {
        let lay = self.layout;
        let (c0, c1) = lay.range(c);
        let n = c1 - c0;
        let e = lay.chunk + 2 * HALO;
        self.gather(stage, c0, 1, n + 2 * HALO - 1, &mut s.x1, e);
        self.gather(phi, c0, HALO, n + HALO, &mut s.x0, e);
        self.face_geometry(c0, dt, HALO, n + HALO + 1, s);
        self.fused_stage(
            c0,
            n,
            dt,
            omega_squared,
            alpha,
            beta,
            face_w,
            out_blk,
            mix_blk,
            s,
        )
    }

    /// One limited forward-Euler stage from `s.x1` (valid on extended cells [1, n + 5)) on the
    /// own cells, combined with φⁿ (`s.x0` on the own cells): reconstruction, face mixtures,
    /// KNP fluxes with the stored weights on faces c0 …= c1, positivity and capacity limiters,
    /// update into `out_blk`. Needs `s.area`, `s.cap_*` on faces [HALO, n + HALO] and
    /// `s.inv_vol` on the own cells.
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    #[inline(always)]
    fn fused_stage(
        &self,
        c0: usize,
        n: usize,
        dt: f64,
        omega_squared: f64,
        alpha: f64,
        beta: f64,
        face_w: &[f64],
        out_blk: &mut [f64],
        mix_blk: Option<&mut [f64]>,
        s: &mut Scratch,
    ) -> LimiterCounts {
        let lay = self.layout;
        let (nc, l) = (lay.classes, lay.chunk);
        let e = l + 2 * HALO;
        let (flo, fhi) = (HALO, n + HALO + 1);
        self.reconstruct(Stage::Later, e, flo, fhi, s);
        // Coefficients from the stored weights (face f of chunk f / L, slot f mod L); 0 on the
        // walls.
        for k in flo..fhi {
            let f = c0 + k - HALO;
            let (mut cl, mut cr, mut cd) = (0.0, 0.0, 0.0);
            if f > 0 && f < lay.cells {
                let base = (f / l) * 3 * l + f % l;
                let acc = acceleration(
                    self.grid.geometry,
                    self.gravity,
                    self.grid.accel_radius[f],
                    omega_squared,
                );
                cl = acc * face_w[base];
                cr = acc * face_w[base + l];
                cd = acc * face_w[base + 2 * l];
            }
            s.coef_l[k] = cl;
            s.coef_r[k] = cr;
            s.coef_d[k] = cd;
        }
        // KNP fluxes and the positivity limiter (counted on the own faces [flo, fhi − 1)).
        let mut counts = LimiterCounts::default();
        let len = fhi - flo;
        let net = &mut s.net[flo..fhi];
        net.fill(0.0);
        for i in 0..nc {
            let (dx, kk) = (self.excess[i], self.mobility[i]);
            let ql = &s.ql[i * e + flo..i * e + fhi];
            let qr = &s.qr[i * e + flo..i * e + fhi];
            let (cvl, exl, sl) = (&s.tot_l[flo..fhi], &s.exc_l[flo..fhi], &s.mom_l[flo..fhi]);
            let (cvr, exr, sr) = (&s.tot_r[flo..fhi], &s.exc_r[flo..fhi], &s.mom_r[flo..fhi]);
            let (cl, cr, cd) = (
                &s.coef_l[flo..fhi],
                &s.coef_r[flo..fhi],
                &s.coef_d[flo..fhi],
            );
            let (capl, capr) = (&s.cap_l[flo..fhi], &s.cap_r[flo..fhi]);
            let g = &mut s.flux[i * e + flo..i * e + fhi];
            let mut acted = 0u64;
            for m in 0..len {
                let fl = ql[m] * cvl[m] * (kk * (dx - exl[m]) - sl[m]);
                let fr = qr[m] * cvr[m] * (kk * (dx - exr[m]) - sr[m]);
                let raw = cl[m] * fl + cr[m] * fr + cd[m] * (qr[m] - ql[m]);
                let (lim, a) = positivity(raw, capl[m] * ql[m], capr[m] * qr[m]);
                acted += u64::from(a && m + 1 < len);
                g[m] = lim;
                net[m] += lim;
            }
            counts.positivity += acted;
        }
        // Capacity, with the stage totals of cells k ∈ [flo − 1, fhi).
        {
            let tot = &mut s.tot[flo - 1..fhi];
            tot.fill(0.0);
            for i in 0..nc {
                let x = &s.x1[i * e + flo - 1..i * e + fhi];
                for k in 0..tot.len() {
                    tot[k] += x[k];
                }
            }
        }
        for k in flo..fhi {
            let theta = capacity(
                s.net[k],
                s.tot[k - 1],
                s.tot[k],
                s.cap_l[k],
                s.cap_r[k],
                self.phi_max,
            );
            counts.capacity += u64::from(theta < 1.0 && k + 1 < fhi);
            s.net[k] = theta;
        }
        // Update of the own cells k ∈ [flo, fhi − 1).
        let (theta, area, inv_vol) = (&s.net[flo..fhi], &s.area[flo..fhi], &s.inv_vol[flo..fhi]);
        for i in 0..nc {
            let x = &s.x1[i * e + flo..i * e + flo + n];
            let old = &s.x0[i * e + flo..i * e + flo + n];
            let g = &s.flux[i * e + flo..i * e + fhi];
            let out = &mut out_blk[i * l..i * l + n];
            for m in 0..n {
                let gl = g[m] * theta[m] * area[m];
                let gr = g[m + 1] * theta[m + 1] * area[m + 1];
                let euler = x[m] + dt * inv_vol[m] * (gl - gr);
                let v = alpha * old[m] + beta * euler;
                // Values below FLUSH_BELOW (and round-off negatives) become 0: this keeps
                // exponentially decaying tails out of the (100× slower) subnormal range;
                // the volume so removed is below 10⁻²⁰⁰ per cell.
                out[m] = if v < FLUSH_BELOW { 0.0 } else { v };
            }
        }
        if let Some(mix) = mix_blk {
            self.mixture(out_blk, n, mix, s);
        }
        counts
    }

    /// Tracer mixture (V/(18μ), ρ_s − ρ_f, S per cell) of chunk `c` of the tiled `state` into
    /// `mix_blk`.
    #[inline(always)]
    fn chunk_mixture_body(&self, c: usize, state: &[f64], mix_blk: &mut [f64], s: &mut Scratch) {
        let lay = self.layout;
        let (c0, c1) = lay.range(c);
        let start = lay.index(0, c0);
        self.mixture(&state[start..start + lay.block()], c1 - c0, mix_blk, s);
    }

    /// Tracer mixture (V/(18μ), ρ_s − ρ_f, S) of the `n` cells of a chunk block `blk` into
    /// `mix` (the same sums, in the same order, as [`Kernel::bounds`]).
    #[inline(always)]
    fn mixture(&self, blk: &[f64], n: usize, mix: &mut [f64], s: &mut Scratch) {
        let l = self.layout.chunk;
        let (tot, exc, mob, mom) = (
            &mut s.tot_l[..n],
            &mut s.exc_l[..n],
            &mut s.mob_l[..n],
            &mut s.mom_l[..n],
        );
        self.mixture_sums(blk, l, 0, tot, exc, mob, mom);
        self.velocity_factors(tot);
        for m in 0..n {
            mix[3 * m] = tot[m];
            mix[3 * m + 1] = exc[m];
            mix[3 * m + 2] = mom[m] - exc[m] * mob[m];
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
            isa: Isa::Avx512,
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
        let mut face_w = vec![0.0; 3 * lay.chunk * lay.chunks];
        let mut s = Scratch::new(&lay);
        let (fb, sb) = (&mut flux[..lay.block()], &mut slope[..lay.block()]);
        let wb = &mut face_w[..3 * lay.chunk];
        k.first_stage(0, &state, 1.0, fb, sb, wb, &mut s);
        // All raw fluxes of the chunk are in the scratch (the global array gets the edges).
        let e = lay.chunk + 2 * HALO;
        for i in 0..lay.classes {
            for f in 0..lay.cells {
                flux[lay.index(i, f)] = s.flux[i * e + HALO + f];
            }
        }
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

    /// The vectorised hindrance factors agree with the library's `powf`/`exp` to a few ulp
    /// (the rounding of the exponent m·ln(1 − φ), ½ ulp of its magnitude, is inherited by the
    /// power), including the cut-off at φ_max and round-off negatives.
    #[test]
    fn vectorised_velocity_factors_match_the_law() {
        let rbc = MlbClass {
            diameter: 5.5e-6,
            density: 1095.0,
            shape_factor: 1.09,
        };
        for law in [
            HindranceLaw::richardson_zaki(4.65, 0.9).unwrap(),
            HindranceLaw::richardson_zaki(9.0, 0.999).unwrap(),
            HindranceLaw::richardson_zaki(0.5, 0.6).unwrap(),
            HindranceLaw::hawksley_vand(0.95).unwrap(),
        ] {
            let k = kernel(&[rbc], 1020.5, 1.39e-3, law, 8);
            let phi_max = law.max_packing();
            let phis: Vec<f64> = (0..=20_000)
                .map(|i| f64::from(i) / 20_000.0)
                .chain([-1e-17, 1e-300, phi_max - 1e-16, phi_max, 1.0, 1.7])
                .collect();
            let mut cv = vec![0.0; phis.len()];
            let mut cvp = vec![0.0; phis.len()];
            k.velocity_factors_and_derivatives(&phis, &mut cv, &mut cvp);
            let mut only = phis.clone();
            k.velocity_factors(&mut only);
            let mut worst = 0.0f64;
            for (j, &phi) in phis.iter().enumerate() {
                let (v, dv) = law.velocity_factor_and_derivative(phi);
                let (v, dv) = (k.inv_18mu * v, k.inv_18mu * dv);
                assert_eq!(only[j].to_bits(), cv[j].to_bits(), "φ={phi}");
                // The exponent's rounding error (≤ ½ ulp of |arg|) carries over to e^arg.
                let arg = match law {
                    HindranceLaw::RichardsonZaki { exponent, .. } => {
                        (exponent - 2.0) * (1.0 - phi.clamp(0.0, 0.99)).ln()
                    }
                    _ => 2.5 * phi / (1.0 - HAWKSLEY_CROWDING * phi.clamp(0.0, 1.0)),
                };
                let tol = 2.5e-16 * (4.0 + arg.abs());
                for (got, want) in [(cv[j], v), (cvp[j], dv)] {
                    let err = (got - want).abs() / want.abs().max(1e-300);
                    assert!(
                        err <= tol || got == want,
                        "{law:?}, φ={phi}: {got:e} vs {want:e}"
                    );
                    worst = worst.max(if got == want { 0.0 } else { err });
                }
            }
            println!("{law:?}: largest relative difference {worst:.2e}");
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
