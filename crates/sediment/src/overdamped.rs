//! The overdamped (terminal-velocity) model, integrated in closed form.
//!
//! Neglecting particle acceleration (τ_p ≈ 1 µs against separation times of seconds), each cell
//! moves with the velocity that balances drag against the other forces. For Stokes drag that
//! velocity is linear in position (see [`buffycoat_physics::forces::overdamped_rates`]):
//!
//! v⊥ = a(t) x⊥ + b(t) ẑ × x⊥,  v_z = −s g,
//!
//! and since the two generators commute the motion over a step [t, t + h] is exactly
//!
//! x⊥(t + h) = e^A R(B) x⊥(t),  A = ∫ a dt,  B = ∫ b dt,  z(t + h) = z(t) − s g h,
//!
//! with R(B) the rotation by angle B. At constant ω the per-cell multipliers e^A cos B,
//! e^A sin B and −s g h are computed once and reused for every step of that size (the "cache"),
//! so a step costs four multiplications, two additions and a wall test. During ramps (ω̇ ≠ 0)
//! A and B are integrated per step by 3-point Gauss–Legendre quadrature; ω is linear in t within
//! a step (steps never straddle a profile knot), so a is a polynomial of degree 2 times
//! 1/(1 + k²), k = 2ωτ_p ≤ 10⁻², and the quadrature is exact to < 10⁻¹³ relative (exact when
//! Coriolis is off). The step size therefore does not affect accuracy in free flight; it sets
//! how finely wall contact (pelleting, sliding) is resolved.
//!
//! With the Schiller–Naumann drag law the velocity is no longer linear in position; the drag
//! factor f(Re) is then evaluated per cell and step at the step's start and the closed form is
//! applied with s/f and τ_p/f (first order in the variation of the tiny correction).

use crate::geometry::{Container, status};
use crate::solver::{ChunkStats, Env};
use buffycoat_physics::forces::{
    DragLaw, overdamped_rates, particle_reynolds_number, terminal_drag_correction,
};

/// A run of equal steps within one output interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Piece {
    /// start time (s)
    pub t0: f64,
    /// step size (s)
    pub h: f64,
    /// number of steps
    pub n: u64,
    /// ω is constant over the piece (and the drag law is linear): use cached multipliers
    pub cached: bool,
    /// the cached multipliers must be recomputed before this piece
    pub recompute: bool,
}

/// Per-cell multipliers for one step at constant ω.
#[inline]
fn step_multipliers(s: f64, tau: f64, omega: f64, h: f64, env: &Env<'_>) -> (f64, f64, f64) {
    let rates = overdamped_rates(s, tau, omega, 0.0, env.forces.coriolis, env.forces.euler);
    let growth = (rates.growth * h).exp();
    let (sin, cos) = (rates.rotation * h).sin_cos();
    (growth * cos, growth * sin, -s * env.gravity() * h)
}

/// Gauss–Legendre 3-point nodes on [0, 1] and weights.
const GL3: [(f64, f64); 3] = [
    (0.112_701_665_379_258_31, 5.0 / 18.0),
    (0.5, 8.0 / 18.0),
    (0.887_298_334_620_741_7, 5.0 / 18.0),
];

/// Multipliers for one step [t, t + h] in general (ramps, nonlinear drag): returns
/// (e^A cos B, e^A sin B, Δz).
#[inline]
fn general_multipliers(
    s: f64,
    tau: f64,
    d: f64,
    r: f64,
    t: f64,
    h: f64,
    env: &Env<'_>,
) -> (f64, f64, f64) {
    let (s, tau) = if env.forces.drag == DragLaw::Stokes {
        (s, tau)
    } else {
        let w = env.rotor.omega(t + 0.5 * h);
        let g = env.gravity();
        let stokes_speed = s.abs() * (w * w * r).hypot(g);
        let f = terminal_drag_correction(
            env.forces.drag,
            stokes_speed,
            env.fluid_density,
            d,
            env.viscosity,
        );
        (s / f, tau / f)
    };
    let omega_dot = env.rotor.omega_dot(t);
    let (mut big_a, mut big_b) = (0.0, 0.0);
    for (node, weight) in GL3 {
        let w = env.rotor.omega(t + node * h);
        let rates = overdamped_rates(s, tau, w, omega_dot, env.forces.coriolis, env.forces.euler);
        big_a += weight * rates.growth;
        big_b += weight * rates.rotation;
    }
    let growth = (big_a * h).exp();
    let (sin, cos) = (big_b * h).sin_cos();
    (growth * cos, growth * sin, -s * env.gravity() * h)
}

/// Arrays of one chunk of cells for the overdamped kernel.
pub(crate) struct Chunk<'a> {
    pub x: &'a mut [f64],
    pub y: &'a mut [f64],
    pub z: &'a mut [f64],
    pub status: &'a mut [u8],
    pub mul_cos: &'a mut [f64],
    pub mul_sin: &'a mut [f64],
    pub mul_z: &'a mut [f64],
    pub sedimentation: &'a [f64],
    pub relaxation: &'a [f64],
    pub diameter: &'a [f64],
}

/// Moves one cell by the multipliers and applies the walls.
#[inline(always)]
fn apply<C: Container>(walls: &C, c: &mut Chunk<'_>, i: usize, (mc, ms, mz): (f64, f64, f64)) {
    let (x, y) = (c.x[i], c.y[i]);
    let mut p = [mc * x - ms * y, ms * x + mc * y, c.z[i] + mz];
    let a = 0.5 * c.diameter[i];
    c.status[i] = if walls.inside(&p, a) {
        status::FREE
    } else {
        walls.confine(&mut p, None, a)
    };
    c.x[i] = p[0];
    c.y[i] = p[1];
    c.z[i] = p[2];
}

/// Status bit that marks, within one step of [`cached_steps`], a moving cell whose new position
/// touches a wall: its stored position is still the old one, and the step's second pass moves
/// and confines it. Never set outside [`cached_steps`].
const PENDING: u8 = 0x80;

/// `steps` constant-ω steps of every moving cell of the chunk with the cached multipliers: the
/// hot loop. All arrays are resliced to the chunk length first so that the compiler can drop
/// the bounds checks.
///
/// Each step is two passes. The first has no branch, so that it vectorises: every moving cell
/// whose new position is inside the walls (the common case) takes it and becomes free; a
/// moving cell whose new position touches a wall keeps its old position and is marked
/// [`PENDING`]; frozen cells keep everything. Only if some cell was marked does the second,
/// scalar pass run: it recomputes those cells' new positions (the same operations on the same
/// values, so the same bits) and applies the wall rules. The result is bitwise that of one
/// scalar pass doing `inside ? move : confine` per cell, whatever the vector width.
///
/// Temporal blocking: cells do not interact and the multipliers are constant over the piece, so
/// the chunk is walked in blocks of [`STEP_BLOCK`] cells and each block takes all `steps` steps
/// while its arrays sit in the L1/L2 cache. Per cell the operations and their order are exactly
/// those of the step-outer loop (step k's move, then step k's wall pass, then step k + 1), so
/// the result is bitwise the same; only memory traffic falls (one pass over the chunk's arrays
/// per piece instead of one per step: the step-outer loop was bound by memory bandwidth at
/// 10⁶ cells, ≈ 72 bytes per cell-step).
#[inline(always)]
fn cached_steps<C: Container>(walls: &C, steps: u64, c: &mut Chunk<'_>) {
    let len = c.x.len();
    let mut start = 0;
    while start < len {
        let end = (start + STEP_BLOCK).min(len);
        cached_steps_block(walls, steps, c, start, end);
        start = end;
    }
}

/// Cells per block of [`cached_steps`]' temporal blocking: 7 arrays × 8 B + 1 B of status
/// × 128 = 7.1 KiB, resident in the L1 data cache across the block's steps. (1 024 cells,
/// 57 KiB, spilled to L2 on a 48 KiB L1: the 10⁶-cell sector run's 200 steps took 0.53 s
/// against 0.43 s with 128; 64 and 256 cells were no faster, benches/README.md "Fifth pass".)
const STEP_BLOCK: usize = 128;

/// [`cached_steps`] on cells `start..end` of the chunk.
#[inline(always)]
fn cached_steps_block<C: Container>(
    walls: &C,
    steps: u64,
    c: &mut Chunk<'_>,
    start: usize,
    end: usize,
) {
    let x = &mut c.x[start..end];
    let len = x.len();
    let y = &mut c.y[start..end];
    let z = &mut c.z[start..end];
    let st = &mut c.status[start..end];
    let mul_cos = &c.mul_cos[start..end];
    let mul_sin = &c.mul_sin[start..end];
    let mul_z = &c.mul_z[start..end];
    let diameter = &c.diameter[start..end];
    let (y, z, st) = (&mut y[..len], &mut z[..len], &mut st[..len]);
    let (mul_cos, mul_sin, mul_z, diameter) = (
        &mul_cos[..len],
        &mul_sin[..len],
        &mul_z[..len],
        &diameter[..len],
    );
    for _ in 0..steps {
        let mut pending = false;
        for i in 0..len {
            let s = st[i];
            let moving = s & status::FROZEN == 0;
            let (xi, yi, zi) = (x[i], y[i], z[i]);
            let (mc, ms) = (mul_cos[i], mul_sin[i]);
            let p = [mc * xi - ms * yi, ms * xi + mc * yi, zi + mul_z[i]];
            let inside = walls.inside(&p, 0.5 * diameter[i]);
            let take = moving & inside;
            let touch = moving & !inside;
            x[i] = if take { p[0] } else { xi };
            y[i] = if take { p[1] } else { yi };
            z[i] = if take { p[2] } else { zi };
            st[i] = if take {
                status::FREE
            } else if touch {
                s | PENDING
            } else {
                s
            };
            pending |= touch;
        }
        if pending {
            for i in 0..len {
                if st[i] & PENDING != 0 {
                    let (xi, yi) = (x[i], y[i]);
                    let (mc, ms) = (mul_cos[i], mul_sin[i]);
                    let mut p = [mc * xi - ms * yi, ms * xi + mc * yi, z[i] + mul_z[i]];
                    st[i] = walls.confine(&mut p, None, 0.5 * diameter[i]);
                    x[i] = p[0];
                    y[i] = p[1];
                    z[i] = p[2];
                }
            }
        }
    }
}

/// One call of [`advance_chunk`], for [`crate::simd::dispatch`].
pub(crate) struct ChunkCall<'a, 'e, C> {
    pub walls: &'a C,
    pub env: &'a Env<'e>,
    pub pieces: &'a [Piece],
    pub omega_peak: f64,
    pub chunk: Chunk<'a>,
}

impl<C: Container> crate::simd::Body for ChunkCall<'_, '_, C> {
    type Output = ChunkStats;
    #[inline(always)]
    fn run(self) -> ChunkStats {
        advance_chunk(
            self.walls,
            self.env,
            self.pieces,
            self.omega_peak,
            self.chunk,
        )
    }
}

/// Advances one chunk through all `pieces` (all steps of one output interval) while it is
/// cache-resident. Returns the chunk's statistics. Inlined into its caller, so that
/// [`crate::simd::dispatch`] compiles it for the chosen vector width.
#[inline(always)]
pub(crate) fn advance_chunk<C: Container>(
    walls: &C,
    env: &Env<'_>,
    pieces: &[Piece],
    omega_peak: f64,
    mut c: Chunk<'_>,
) -> ChunkStats {
    let len = c.x.len();
    for piece in pieces {
        if piece.cached {
            if piece.recompute {
                let omega = env.rotor.omega(piece.t0);
                for i in 0..len {
                    let (mc, ms, mz) =
                        step_multipliers(c.sedimentation[i], c.relaxation[i], omega, piece.h, env);
                    c.mul_cos[i] = mc;
                    c.mul_sin[i] = ms;
                    c.mul_z[i] = mz;
                }
            }
            cached_steps(walls, piece.n, &mut c);
        } else {
            for k in 0..piece.n {
                let t = piece.t0 + k as f64 * piece.h;
                for i in 0..len {
                    if c.status[i] & status::FROZEN == 0 {
                        let r = c.x[i].hypot(c.y[i]);
                        let m = general_multipliers(
                            c.sedimentation[i],
                            c.relaxation[i],
                            c.diameter[i],
                            r,
                            t,
                            piece.h,
                            env,
                        );
                        apply(walls, &mut c, i, m);
                    }
                }
            }
        }
    }
    // Largest particle Reynolds number over the interval, bounded using the interval's peak ω at
    // each moving cell's final position (speed grows with r and ω). Re = ρ |s| g_eff d / μ with
    // g_eff = √((ω²r)² + g²) is monotone in (s d)² ((ω⁴ r² + g²)), so the pass takes the maximum
    // of that square (no square root or `hypot` per cell: this pass is a third of a streaming
    // step's work otherwise) and one square root at the end. The maximum is exact, so the
    // result does not depend on the order of the cells.
    let len = c.x.len();
    let (x, y) = (&c.x[..len], &c.y[..len]);
    let (st, sedimentation, diameter) = (
        &c.status[..len],
        &c.sedimentation[..len],
        &c.diameter[..len],
    );
    let omega_fourth = (omega_peak * omega_peak) * (omega_peak * omega_peak);
    let g = env.gravity();
    let g_squared = g * g;
    let mut max_square: f64 = 0.0;
    for i in 0..len {
        let sd = sedimentation[i] * diameter[i];
        let square = sd * sd * (omega_fourth * (x[i] * x[i] + y[i] * y[i]) + g_squared);
        let square = if st[i] & status::FROZEN == 0 {
            square
        } else {
            0.0
        };
        max_square = max_square.max(square);
    }
    // particle_reynolds_number(ρ, speed, d, μ) = ρ speed d / μ with speed·d = √max_square
    let max_re = particle_reynolds_number(env.fluid_density, max_square.sqrt(), 1.0, env.viscosity);
    ChunkStats {
        max_reynolds: max_re,
        particle_steps: len as u64 * pieces.iter().map(|p| p.n).sum::<u64>(),
        rejected_steps: 0,
        forced_steps: 0,
    }
}

/// Velocity of an overdamped cell (m/s) at rotor speed `omega` (rad/s) and acceleration
/// `omega_dot` (rad/s²), looked up once for a whole frame of cells: the terminal velocity at its
/// position; the caller zeroes frozen cells and removes components into touched walls.
#[inline]
pub(crate) fn velocity_at(
    s: f64,
    tau: f64,
    d: f64,
    p: &[f64; 3],
    omega: f64,
    omega_dot: f64,
    env: &Env<'_>,
) -> [f64; 3] {
    let g = env.gravity();
    // Stokes drag needs no correction (exactly 1): skip the two `hypot`s of the speed, which
    // cost more than the rest of this function when a frame of 10⁶ cells is written.
    let f = if env.forces.drag == DragLaw::Stokes {
        1.0
    } else {
        let r = p[0].hypot(p[1]);
        terminal_drag_correction(
            env.forces.drag,
            s.abs() * (omega * omega * r).hypot(g),
            env.fluid_density,
            d,
            env.viscosity,
        )
    };
    let rates = overdamped_rates(
        s / f,
        tau / f,
        omega,
        omega_dot,
        env.forces.coriolis,
        env.forces.euler,
    );
    [
        rates.growth * p[0] - rates.rotation * p[1],
        rates.growth * p[1] + rates.rotation * p[0],
        -s / f * g,
    ]
}
