//! The lubrication velocity profile ([`buffycoat_channel::lubrication::ViscousProfile`]) against
//! closed forms: plane Poiseuille flow, the two-layer Newtonian stratification
//! (docs/physics.md §10.4), a jammed bed; flux to round-off; second-order convergence when the
//! interface cuts a cell; the inverse stream function; errors; no allocation in the solve.
#![allow(unsafe_code)] // a GlobalAlloc implementation is unsafe by definition

use buffycoat_channel::lubrication::ViscousProfile;
use buffycoat_channel::{FlowProfile, flux_coordinate};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // Per thread: the other tests of this binary run on other threads and allocate freely
    // (a process-wide counter made `solve_allocates_nothing` fail under load).
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_allocation() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const R1: f64 = 0.1;
const DEPTH: f64 = 2e-3;
const HEIGHT: f64 = 0.03;
const FLOW: f64 = 1.1e-6; // 66 mL/min

fn faces(cells: usize) -> Vec<f64> {
    (0..=cells)
        .map(|f| {
            if f == cells {
                R1 + DEPTH
            } else {
                R1 + DEPTH * f as f64 / cells as f64
            }
        })
        .collect()
}

/// Closed form of the two-layer Newtonian stratification: viscosity μ₁ for y = r − r₁ < b,
/// μ₂ above; no slip at y = 0 and y = δ; h ∫ w dy = Q. Returns (G, c, w(y)).
///
/// τ = μ w′ = G (y − c); w = G y (y − 2c)/(2μ₁) for y ≤ b and
/// w = G (y − δ)(y + δ − 2c)/(2μ₂) for y ≥ b; continuity at b gives
/// c = [b²/μ₁ + (δ² − b²)/μ₂] / [2b/μ₁ + 2(δ − b)/μ₂]; the flux
/// ∫ w = G{(b³/3 − c b²)/(2μ₁) − [(b − δ)³/3 + (δ − c)(b − δ)²]/(2μ₂)} fixes G.
fn two_layer(mu1: f64, mu2: f64, b: f64) -> (f64, f64, impl Fn(f64) -> f64) {
    let d = DEPTH;
    let c = (b * b / mu1 + (d * d - b * b) / mu2) / (2.0 * b / mu1 + 2.0 * (d - b) / mu2);
    let unit = (b.powi(3) / 3.0 - c * b * b) / (2.0 * mu1)
        - ((b - d).powi(3) / 3.0 + (d - c) * (b - d).powi(2)) / (2.0 * mu2);
    let g = FLOW / (HEIGHT * unit);
    let w = move |y: f64| {
        if y <= b {
            g * y * (y - 2.0 * c) / (2.0 * mu1)
        } else {
            g * (y - d) * (y + d - 2.0 * c) / (2.0 * mu2)
        }
    };
    (g, c, w)
}

#[test]
fn uniform_viscosity_is_plane_poiseuille() {
    let mu = 1.2e-3;
    for cells in [1, 7, 100] {
        let mut p = ViscousProfile::new(cells);
        p.solve(&faces(cells), &vec![mu; cells], HEIGHT, FLOW)
            .unwrap();
        let w_mean = FLOW / (HEIGHT * DEPTH);
        // G = −12 μ w̄ / δ²
        let g = -12.0 * mu * w_mean / (DEPTH * DEPTH);
        assert!((p.pressure_gradient() / g - 1.0).abs() < 1e-13, "{cells}");
        assert!((p.zero_shear_radius() - (R1 + 0.5 * DEPTH)).abs() < 1e-15);
        for (f, &r) in faces(cells).iter().enumerate() {
            let y = r - R1;
            let exact = 6.0 * w_mean * y * (DEPTH - y) / (DEPTH * DEPTH);
            assert!(
                (p.velocity_faces()[f] - exact).abs() < 1e-13 * w_mean,
                "{cells} {f}"
            );
            // the stream function is the laminar flux coordinate
            let xi = DEPTH * flux_coordinate(FlowProfile::Laminar, y / DEPTH);
            assert!((p.xi_face(f) - xi).abs() < 1e-14 * DEPTH, "{cells} {f}");
        }
        // flux to round-off
        let total: f64 = p
            .velocity_mean()
            .iter()
            .zip(faces(cells).windows(2))
            .map(|(w, f)| w * (f[1] - f[0]) * HEIGHT)
            .sum();
        assert!((total / FLOW - 1.0).abs() < 1e-14, "{total}");
        assert_eq!(*p.flux_below().last().unwrap(), FLOW);
        // shear rate at the wall: 6 w̄/δ; in the centre cell of an odd grid the mean shear is
        // (1/Δ)∫|w′| with the sign change inside
        if cells == 7 {
            let k = 3;
            let dr = DEPTH / 7.0;
            let a = -0.5 * dr;
            let exact = 12.0 * w_mean / (DEPTH * DEPTH) * (0.5 * (a * a + a * a)) / dr;
            assert!((p.shear_rate_mean()[k] / exact - 1.0).abs() < 1e-12);
            assert!(p.shear_rate_centres()[k] < 1e-12 * w_mean / DEPTH);
        }
    }
}

#[test]
fn two_layer_stratification_matches_its_closed_form() {
    // plasma over a packed red-cell layer 1000× more viscous (interface on a face)
    for (mu1, mu2, frac) in [(1.2e-3, 1.2, 0.4), (0.05, 1.2e-3, 0.75), (1e-3, 3e-3, 0.5)] {
        let cells = 40;
        let b = DEPTH * frac;
        let f = faces(cells);
        let visc: Vec<f64> = (0..cells)
            .map(|j| {
                if f[j + 1] - R1 <= b * (1.0 + 1e-12) {
                    mu1
                } else {
                    mu2
                }
            })
            .collect();
        let mut p = ViscousProfile::new(cells);
        p.solve(&f, &visc, HEIGHT, FLOW).unwrap();
        let (g, c, w) = two_layer(mu1, mu2, b);
        let w_scale = FLOW / (HEIGHT * DEPTH);
        assert!((p.pressure_gradient() / g - 1.0).abs() < 1e-12);
        assert!((p.zero_shear_radius() - R1 - c).abs() < 1e-14 * DEPTH);
        for (k, &r) in f.iter().enumerate() {
            assert!(
                (p.velocity_faces()[k] - w(r - R1)).abs() < 1e-12 * w_scale,
                "{k}"
            );
            // stress continuous and linear
            assert!((p.stress_faces()[k] - g * (r - R1 - c)).abs() < 1e-12 * g.abs() * DEPTH);
        }
        // inside the cells too (quadratic per cell)
        for i in 0..=997 {
            let y = DEPTH * i as f64 / 997.0;
            assert!(
                (p.velocity_at(R1 + y) - w(y)).abs() < 1e-12 * w_scale,
                "{y}"
            );
        }
        // flux to round-off, and the stream function by an independent quadrature
        assert_eq!(*p.flux_below().last().unwrap(), FLOW);
        let n = 20_000;
        let h = DEPTH / n as f64;
        let mut psi = 0.0;
        for i in 0..n {
            let (a, bb) = (i as f64 * h, (i + 1) as f64 * h);
            // Simpson on each sub-interval is exact for the quadratic pieces
            psi += HEIGHT * h / 6.0 * (w(a) + 4.0 * w(0.5 * (a + bb)) + w(bb));
            if (i + 1) % 500 == 0 {
                let face = (i + 1) / 500;
                assert!((p.flux_below()[face] - psi).abs() < 1e-11 * FLOW, "{face}");
            }
        }
        // the slow layer moves slowly: mean velocity ratio at least the viscosity ratio /10
        let (inner, outer) = (p.velocity_mean()[1], p.velocity_mean()[cells - 2]);
        if mu2 > 100.0 * mu1 {
            assert!(outer < inner * 0.1, "{inner} {outer}");
        }
    }
}

#[test]
fn interface_inside_a_cell_converges_at_second_order() {
    // The interface cuts a cell, which gets the length-weighted fluidity. The error is
    // C θ(1 − θ) Δr² with θ the interface's position inside its cell; tripling J keeps θ = ½
    // (b = 14.5 δ/45), so the error must fall by 9 per tripling.
    let (mu1, mu2) = (1.2e-3, 0.12);
    let b = DEPTH * 14.5 / 45.0;
    let (_, _, w) = two_layer(mu1, mu2, b);
    let w_scale = FLOW / (HEIGHT * DEPTH);
    let mut errors = Vec::new();
    for cells in [45, 135, 405, 1215] {
        let f = faces(cells);
        let visc: Vec<f64> = (0..cells)
            .map(|j| {
                let (a, c) = (f[j] - R1, f[j + 1] - R1);
                let below = ((b.min(c) - a) / (c - a)).clamp(0.0, 1.0);
                1.0 / (below / mu1 + (1.0 - below) / mu2)
            })
            .collect();
        let mut p = ViscousProfile::new(cells);
        p.solve(&f, &visc, HEIGHT, FLOW).unwrap();
        let err = f
            .iter()
            .enumerate()
            .map(|(k, &r)| (p.velocity_faces()[k] - w(r - R1)).abs())
            .fold(0.0, f64::max)
            / w_scale;
        errors.push(err);
        assert!((p.flux_below()[cells] / FLOW - 1.0).abs() < 1e-15);
    }
    let orders: Vec<f64> = errors
        .windows(2)
        .map(|pair| (pair[0] / pair[1]).ln() / 3f64.ln())
        .collect();
    // measured: 1.88, 1.96, 1.99 (pre-asymptotic on the coarsest grid)
    assert!(orders.iter().all(|&o| o > 1.8), "{errors:?} {orders:?}");
    assert!((orders[2] - 2.0).abs() < 0.03, "{errors:?} {orders:?}");
    assert!(errors[3] < 2e-5, "{errors:?}");
}

#[test]
fn jammed_bed_does_not_move() {
    // outer 30 % jammed (μ = ∞): it rests; the inner 70 % carries Poiseuille flow of depth 0.7δ
    let cells = 100;
    let f = faces(cells);
    let visc: Vec<f64> = (0..cells)
        .map(|j| if j >= 70 { f64::INFINITY } else { 2e-3 })
        .collect();
    let mut p = ViscousProfile::new(cells);
    p.solve(&f, &visc, HEIGHT, FLOW).unwrap();
    let d = 0.7 * DEPTH;
    let w_mean = FLOW / (HEIGHT * d);
    for (k, &r) in f.iter().enumerate() {
        let y = r - R1;
        let exact = if y >= d {
            0.0
        } else {
            6.0 * w_mean * y * (d - y) / (d * d)
        };
        assert!(
            (p.velocity_faces()[k] - exact).abs() < 1e-12 * w_mean,
            "{k}"
        );
    }
    for j in 70..cells {
        assert_eq!(p.shear_rate_mean()[j], 0.0);
    }
}

#[test]
fn stream_function_inverts() {
    let cells = 64;
    let f = faces(cells);
    let visc: Vec<f64> = (0..cells)
        .map(|j| 1.2e-3 * (1.0 + 50.0 * (j as f64 / cells as f64).powi(4)))
        .collect();
    let mut p = ViscousProfile::new(cells);
    p.solve(&f, &visc, HEIGHT, FLOW).unwrap();
    for i in 0..=200 {
        let r = R1 + DEPTH * i as f64 / 200.0;
        let psi = p.flux_below_at(r);
        let back = p.radius_at_flux(psi);
        // Ψ is flat at the no-slip walls (Ψ − Ψ_wall ∝ (r − r_wall)²), so r is recovered to
        // round-off in Ψ (an ulp of r moves Ψ by h w ulp) everywhere and in r away from the walls
        assert!(
            (p.flux_below_at(back) - psi).abs() < 1e-13 * FLOW,
            "{r} {back}"
        );
        if (5..=195).contains(&i) {
            assert!((back - r).abs() < 1e-11 * DEPTH, "{r} {back}");
        }
    }
    // monotone stream function, consistent with the faces
    for (&r, &psi) in f.iter().zip(p.flux_below()) {
        assert!((p.flux_below_at(r) - psi).abs() < 1e-15 * FLOW);
    }
    assert!(p.flux_below().windows(2).all(|w| w[1] > w[0]));
    // zero flow: no motion
    p.solve(&f, &visc, HEIGHT, 0.0).unwrap();
    assert!(p.velocity_faces().iter().all(|&v| v == 0.0));
    assert_eq!(p.radius_at_flux(0.0), R1);
}

#[test]
fn bad_input_is_rejected_with_a_clear_message() {
    let mut p = ViscousProfile::new(4);
    let f = faces(4);
    let msg = |r: Result<(), buffycoat_channel::ChannelError>| r.unwrap_err().to_string();
    assert!(msg(p.solve(&f[..4], &[1.0; 4], HEIGHT, FLOW)).contains("4 cells"));
    assert!(msg(p.solve(&f, &[1.0, 0.0, 1.0, 1.0], HEIGHT, FLOW)).contains("radial cell 1"));
    assert!(msg(p.solve(&f, &[1.0, f64::NAN, 1.0, 1.0], HEIGHT, FLOW)).contains("cell 1"));
    assert!(msg(p.solve(&f, &[f64::INFINITY; 4], HEIGHT, FLOW)).contains("infinite viscosity"));
    let mut back = f.clone();
    back[2] = back[1];
    assert!(msg(p.solve(&back, &[1.0; 4], HEIGHT, FLOW)).contains("strictly increasing"));
    assert!(msg(p.solve(&f, &[1.0; 4], 0.0, FLOW)).contains("height"));
    assert!(msg(p.solve(&f, &[1.0; 4], HEIGHT, f64::NAN)).contains("flow"));
}

#[test]
fn solve_allocates_nothing() {
    let cells = 200;
    let f = faces(cells);
    let visc: Vec<f64> = (0..cells).map(|j| 1e-3 * (1.0 + j as f64)).collect();
    let mut p = ViscousProfile::new(cells);
    p.solve(&f, &visc, HEIGHT, FLOW).unwrap();
    let mut least = u64::MAX;
    for _ in 0..3 {
        let before = allocations();
        for _ in 0..10 {
            p.solve(&f, &visc, HEIGHT, FLOW).unwrap();
            std::hint::black_box(p.radius_at_flux(0.3 * FLOW));
        }
        least = least.min(allocations() - before);
    }
    assert_eq!(least, 0);
}
