//! # buffycoat-channel
//!
//! Continuous-flow centrifugal separation in a thin curved channel (leukapheresis): whole
//! blood with anticoagulant flows along the channel while its cells settle across it under
//! the hindered, polydisperse MLB model; three ports at the end (plasma, collect, red cells)
//! split the outflow radially. The crate computes the steady 2-D field fast (a march along
//! the channel), a transient (start-up, interface build-up), tracer-cell fates and
//! grade-efficiency curves, and the port results: fractions, concentrations, hematocrit,
//! collection efficiency, purity, platelet loss.
//!
//! ## Model (SI inside)
//!
//! **Geometry** ([`ChannelGeometry`]): walls at r₁ (inner) and r₂ (outer), depth
//! δ = r₂ − r₁, axial height h, length L along the circumference. *Thin-channel
//! approximation*: δ ≪ r, so the along-channel coordinate s ∈ [0, L] is the same at every
//! radius and the cross-section is the rectangle h × δ; the curvature terms (the 1/r of the
//! radial divergence, the radius-dependence of the arc length) are neglected (relative error
//! O(δ/r); depths up to 0.25 r₁ are accepted, [`MAX_DEPTH_TO_RADIUS`]).
//!
//! **Flows** ([`ChannelFlows`]): whole blood Q_b plus anticoagulant Q_b/r at the inlet:AC
//! ratio r; channel inflow Q = Q_b(1 + 1/r); inlet volume fractions φ_in,i = r/(r + 1) × the
//! blood's (the classes carry the *blood* fractions). Ports at s = L stacked radially: plasma
//! (innermost) Q_p, collect Q_c, red cells Q_r = Q − Q_p − Q_c ≥ 0.
//!
//! **Along-channel velocity** ([`FlowProfile`]): imposed, independent of the composition
//! (*limitation*: a concentrated layer is more viscous and would flow more slowly; the packed
//! bed would slide as a plug): plug w = w̄ = Q/(hδ), or laminar w = 6w̄ y(δ − y)/δ²,
//! y = r − r₁.
//!
//! **Radial motion**: the MLB velocities u_i(φ, a) of the whole-blood model
//! ([`buffycoat_physics::hindrance`]) with a = ω²r, ω constant (gravity, axial, is
//! perpendicular to the plane of separation and neglected; Coriolis and inertia are
//! negligible for cells, docs/physics.md §3.3). Radial diffusion (Brownian, shear-induced),
//! bed compression (effective solid stress) and secondary flows are neglected.
//!
//! **Steady state**: w ∂φ_i/∂s + ∂(φ_i u_i)/∂r = 0. With the stream-function coordinate
//! ξ(r) = (1/w̄)∫_{r₁}^r w dr′ ∈ [0, δ] (plug: ξ = y; laminar: ξ = δ[3(y/δ)² − 2(y/δ)³]) and
//! the residence time τ = s/w̄ ∈ [0, T], T = L/w̄ = hδL/Q, this becomes exactly
//!
//! ∂φ_i/∂τ + ∂(φ_i u_i)/∂ξ = 0,  u_i = u_i(φ, ω² r(ξ)),  no flux at ξ = 0, δ,
//!
//! a planar batch-settling problem in (τ, ξ) — no stiffness at the no-slip walls, where the
//! fluid is slow but ξ-cells are correspondingly wide in r. The velocity profile enters only
//! through r(ξ) in the acceleration, a relative effect of order δ/r: in a thin channel plug
//! and laminar flow separate alike (as in Ambler's theory). A uniform ξ-grid has equal volume
//! flux per cell; the ports split the outflow at ξ_p = δQ_p/Q and ξ_c = δ(Q_p + Q_c)/Q, and
//! the **port fraction** of class i is ∫_band φ_i(T, ξ) dξ / (φ_in,i δ) (fractional cells
//! integrated exactly; the three add to 1 by conservation). Because the port flows only place
//! the cuts, [`ChannelSolution::with_port_flows`] re-splits a solution without a new solve,
//! and [`ChannelSolution::interface_plasma_flow`] finds the plasma flow that centres the
//! collect band on chosen classes (an interface controller).
//!
//! ## Methods and guarantees
//!
//! - [`SteadyMethod::Implicit`] (default): backward Euler in τ with Δτ = T/along_cells, the
//!   monotone first-order face flux F = a[φ_L v(φ_R)⁺ + φ_R v(φ_L)⁻] in ξ, a safeguarded
//!   modified Newton method with the analytic block-tridiagonal Jacobian
//!   ([`buffycoat_field::column`], shared with the field's implicit scheme):
//!   exact conservation (species balance to round-off), φ ≥ 0 and Σφ ≤ φ_max for any step
//!   (a packing ramp of width [`ImplicitSettings::packing_ramp`] below φ_max makes the
//!   equations solvable at packing), deterministic, no allocation per step. First order in
//!   Δτ and Δξ.
//! - [`SteadyMethod::Explicit`]: the high-resolution field solver
//!   [`buffycoat_field::HinderedField`] (tube geometry on ξ, `face_radius` = r(ξ)), advanced in
//!   τ with CFL-limited SSP-RK2 steps and sampled at the stations — about 20× slower at the
//!   default grid; the tests bound the difference between the two.
//! - Transient ([`Channel::solve_transient`]): 2-D finite volumes, upwind along s, the implicit
//!   radial flux per column, columns in parallel in fixed chunks; its fixed point is exactly
//!   the implicit steady solution.
//! - Tracers ([`ChannelSolution::track`]): test-particle MLB velocity in the stored steady
//!   field, tracked exactly cell by cell; [`grade_efficiency`] bins their fates by diameter and density.
//!
//! **Performance** (release, one core, 100 × 200 cells, whole blood in 8 classes): one
//! implicit steady solve ≈ 23 ms (median of 21; 19 ms with 7 classes), measured by the
//! ignored test `tests/timing.rs`. With the viscous flow and the radial refinement of the
//! leukapheresis preset ≈ 70 ms CPU on a loaded machine (30 ms for the uniform march in the
//! same run; `refined_breakdown` in `tests/timing.rs`, docs/physics.md §10.8).
//!
//! ## Whole blood: when does a buffy coat form?
//!
//! Mononuclear cells (ρ ≈ 1072–1075 kg/m³) move inward only where the red-cell layer has
//! compacted above φ ≈ 0.63–0.7 (ρ_s above their density); neutrophils (1085) only above
//! ≈ 0.82. With Hawksley–Vand (φ_max = 0.95) the bed compacts on the time scale
//! δ/(s ω² R) × O(10): with the representative channel of the tests (δ = 2 mm, R = 0.101 m,
//! 2400 rpm, T ≈ 111 s) a buffy coat forms on top of the bed; with a third of the residence
//! time the white cells stay spread through a loose red layer. Platelets rise with the plasma
//! displaced by the settling suspension and sit in a layer about one cell thick above the
//! buffy coat, so the platelet loss depends sharply on where the collect band sits.
//!
//! ## Parts
//! - [`ChannelConfig`], [`Channel`]: set-up and validation (errors name the scenario keys);
//! - [`ChannelSolution`]: the field at the along_cells + 1 stations and the port results;
//!   [`SpeciesReport`] per species; [`CellRoles`] says which species are red cells/platelets;
//! - [`TransientSolution`]: port fractions over time;
//! - [`validation_checks`]: the sigma-theory cases for `buffycoat validate` ([`SigmaCase`]);
//! - [`lubrication`]: the along-channel velocity for a viscosity profile across the depth
//!   ([`lubrication::ViscousProfile`]), its stream function and shear rate; [`StationFlow`]
//!   couples it to the steady march (`FlowProfile::Viscous`, docs/physics.md §10.9).
#![forbid(unsafe_code)]

mod channel;
mod config;
mod error;
pub mod flow;
mod grid;
pub mod lubrication;
mod separator;
mod solution;
mod tracers;
mod transient;
mod validation;

pub use buffycoat_field::column::Limiter;
pub use buffycoat_field::column::NewtonStats;
pub use channel::{BED_MIN_TOTAL, Channel};
pub use config::{
    ChannelConfig, ChannelFlows, ChannelGeometry, FlowProfile, ImplicitSettings,
    MAX_DEPTH_TO_RADIUS, MAX_INLET_ML_MIN, MAX_RPM, SettlingFlux, ShearDiffusion, SteadyMethod,
};
pub use error::ChannelError;
pub use flow::{StationFlow, SuspensionViscosity};
pub use grid::{ChannelGrid, Port, depth_fraction, face_shear_rates, flux_coordinate};
pub use separator::ChannelSeparator;
pub use solution::{
    CellRoles, ChannelSolution, InterfaceTarget, PlasmaControl, PortReport, PortSpecies,
    SpeciesReport, SteadyStats,
};
pub use tracers::{
    ChannelTracer, GradeTable, SpeciesGrade, TracerFate, TracerSettings, equal_width_edges,
    grade_efficiency, grade_efficiency_per_species,
};
pub use transient::{
    InitialFill, TransientRun, TransientSettings, TransientSolution, TransientStats,
};
pub use validation::{SigmaCase, validation_checks};
