//! # buffycoat-field
//!
//! Eulerian hindered, polydisperse sedimentation: the volume fractions φ_i(r, t) of a few
//! particle classes per species on a radial grid, the Masliyah–Lockett–Bassoon (MLB) velocities,
//! tracer cells carried by the field, and the layers (plasma / buffy coat / red cells) that form.
//!
//! ## Equations
//! For classes i = 1…N with diameter d_i, density ρ_i, shape factor χ_i (see [`Class`]):
//!
//! - sector: ∂φ_i/∂t + (1/r) ∂(r φ_i u_i)/∂r = 0; tube and 1-g column: ∂φ_i/∂t + ∂(φ_i u_i)/∂x = 0
//!   ([`FieldGeometry`]), no flux through r_min (meniscus) and r_max (bottom);
//! - u_i = a V(φ)/(18μ) · [d_i²(ρ_i − ρ_s)/χ_i − Σ_j φ_j d_j²(ρ_j − ρ_s)/χ_j], φ = Σφ_j,
//!   ρ_s = ρ_f(1 − φ) + Σρ_jφ_j, V from the [`HindranceLaw`] with V = 0 for φ ≥ φ_max
//!   ([`buffycoat_physics::hindrance`]);
//! - a(r, t) = ω(t)² r; in a tube with gravity a = √((ω²r)² + g²) (the swing-out tube aligns
//!   with the resultant), so rpm = 0 with gravity is a 1-g batch column (x downward from the
//!   top r_min) ([`FieldConfig::gravity`]).
//!
//! ## Scheme
//! Finite volumes on a uniform grid; semi-discrete central-upwind fluxes of Kurganov, Noelle &
//! Petrova (SIAM J Sci Comput 23:707, 2001),
//! F = [a⁺ f(φ⁻) − a⁻ f(φ⁺) + a⁺a⁻(φ⁺ − φ⁻)] / (a⁺ − a⁻),
//! with φ^∓ the MUSCL face values of every φ_i from the generalised minmod limiter
//! ([`Numerics::limiter_theta`]) and one-sided local speeds a⁺ ≥ 0 ≥ a⁻ bounding the
//! eigenvalues of the analytic MLB Jacobian by a Gershgorin (column) estimate — O(N) per state
//! since the Jacobian is diagonal plus three rank-one terms, exact for one class — taken at the
//! two adjacent cell averages *and their midpoint* (the flux is not convex: Richardson–Zaki has
//! an inflection at 2/(n + 1), and across the top of a packed bed f′ takes its extreme values
//! between the two states; endpoint speeds alone let dilute suspension pour into the bed).
//! Classes absent (below [`Numerics::inactive_fraction`] of their initial mean) from a cell and
//! both its neighbours are left out of its bound. The bounds are computed at the first stage of
//! each step and reused by the later stages.
//!
//! Time: SSP-RK2 (Heun) or SSP-RK3 (Shu–Osher) ([`TimeIntegrator`]) with
//! Δt = ν / max_faces(s·a·γ/Δr), s = max(a⁺, −a⁻, |u_i|) per unit acceleration, a the face
//! acceleration, γ = max(A_f/V) Δr the sector's area/volume factor, ν = 0.5 by default
//! ([`Numerics::cfl`]). The material speeds |u_i| enter because a wall (or an empty neighbour)
//! does not balance a cell's outflow. Steps end on rotor knots and at the requested output
//! times. Hindrance factors cost one logarithm and one exponential per face state and per bound
//! state, independent of N: branch-free fdlibm polynomials that vectorise, within a few ulp of
//! `powf`/`exp` (tested). Values below 10⁻²⁰⁰ are flushed to 0 (keeps decaying tails out of the
//! slow subnormal range; the volume so removed is < 10⁻²⁰⁰ per cell).
//!
//! A step is two parallel passes over fixed chunks of cells (SSP-RK3: three): the first
//! stage's reconstruction, wave speeds and raw fluxes, whose CFL rates fix Δt; then, per chunk,
//! the limited first stage on the chunk and three halo cells on either side (recomputed from
//! the first pass's data, bitwise as the neighbour computes them) followed by the second stage
//! on the chunk's own cells, so no exchange between chunks is needed within the step. Tracers
//! advance alongside the next step's first pass. Only what the first pass leaves for the second
//! (φⁿ, slopes and raw fluxes around the chunk) is kept per chunk; the kernel's much larger
//! temporaries are one scratch per worker thread, so the working set stays in cache.
//!
//! The kernel's entry points are compiled three times on x86-64 — portable (SSE2), AVX2 and
//! AVX-512F — and the widest one the CPU supports is picked at run time
//! (`is_x86_feature_detected!`). No FMA is enabled and Rust never contracts `a * b + c`;
//! elementwise IEEE operations round identically at any vector width and no reduction is
//! reordered, so every path gives bitwise the same results (tested). This dispatch is the
//! crate's only `unsafe` code (calling a `#[target_feature]` function), hence
//! `#![deny(unsafe_code)]` with one scoped `allow`.
//!
//! Two conservative flux limiters, applied to every forward-Euler stage, make the invariant
//! region exact whatever the wave-speed estimate (the cut-off makes V, and hence the flux,
//! discontinuous at φ_max, so no finite CFL number alone can guarantee Σφ ≤ φ_max):
//!
//! - **positivity**: a face may take from its donor cell at most
//!   ½·(donor's reconstructed face value)·V_donor/(A_face Δt); the two face values of a cell
//!   average to its value, so no class ever goes negative;
//! - **capacity**: the net volume flux Σ_i F_i into a cell through one face may fill at most half
//!   of its room φ_max − Σφ; all classes at that face are scaled by the same θ ≤ 1 (which keeps
//!   the positivity caps). This is the discrete form of "nothing enters a packed cell".
//!
//! Both act on the flux of a face, which both neighbours use, so conservation is untouched.
//! Both are inactive in smooth, unpacked regions (counts in [`FieldStats::limiters`]).
//!
//! ## Guarantees (each tested in `tests/`)
//! - every class volume ∫φ_i dV is conserved to round-off (≤ 10⁻¹² relative over a run);
//! - φ_i ≥ 0 exactly and Σ_i φ_i ≤ φ_max + [`PACKING_TOLERANCE`];
//! - one class: total variation does not grow and no new extrema appear (monotone profiles stay
//!   monotone in a batch column);
//! - results are bitwise identical for any thread count: fluxes depend only on local data (a
//!   face on a chunk boundary is computed by both chunks with the same instructions),
//!   chunks have a fixed length ([`Numerics::cells_per_chunk`]) and reductions fold in chunk
//!   order ([`buffycoat_stepper::ChunkReducer`]);
//! - no allocation in [`buffycoat_stepper::Propagate::advance`]: scratch (per chunk for the
//!   data carried between the passes, per hardware thread for the temporaries) is allocated by
//!   [`HinderedField::new`].
//!
//! ## Parts
//! - [`HinderedField`]: the solver ([`buffycoat_stepper::Propagate`]);
//! - [`Class`], [`classes_from_distribution`]: classes from a species' distributions;
//! - [`Tracers`]: one-way-coupled Lagrangian tracer cells;
//! - [`layers`]: interfaces, hematocrit, plasma purity and layer fractions;
//! - [`validation_checks`]: Anestis–Schneider and Kynch cases for `buffycoat validate`.
#![deny(unsafe_code)]

mod classes;
pub mod column;
mod config;
mod error;
mod implicit;
mod kernel;
pub mod kinetics;
pub mod layers;
mod solver;
mod suspension;
mod tracers;
mod validation;

pub use buffycoat_physics::hindrance::HindranceLaw;
pub use classes::{Class, classes_from_distribution};
pub use config::{
    ErrorNorm, FieldConfig, FieldGeometry, ImplicitNumerics, MinorClasses, Numerics, Scheme,
    TimeIntegrator,
};
pub use error::FieldError;
pub use implicit::{ImplicitStats, promote_concentrated};
pub use kernel::LimiterCounts;
pub use layers::{Layer, LayerReport, LayerRoles, LayerThresholds};
pub use solver::{FieldStats, HinderedField, PACKING_TOLERANCE};
pub use suspension::{
    classes_from_suspension, classes_where, mean_volume_fraction, red_cell_aggregate_from_esr,
    species_plasma_per_ul,
};
pub use tracers::{CellPassage, FREE, PELLETED, TracerCell, Tracers, pass_through_cell};
pub use validation::{
    EquilibriumSample, anestis_schneider_case, anestis_schneider_case_with, clear_interface_depth,
    consolidation_equilibrium_case, implicit_time_order, kynch_case, kynch_case_with,
    packed_cell_volume, sediment_interface_depth, validation_checks,
};
