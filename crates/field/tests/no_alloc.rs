//! The field's step loop allocates nothing after warm-up: a counting global allocator watches
//! repeated `advance` calls (with tracers, on 1 and 2 threads) inside the pool.
#![allow(unsafe_code)] // a GlobalAlloc implementation is unsafe by definition

mod common;

use buffycoat_field::{HinderedField, HindranceLaw, Scheme, TracerCell, Tracers};
use buffycoat_physics::consolidation::Consolidation;
use buffycoat_stepper::{Parallel, Propagate};
use common::{blood_classes, blood_field, blood_tube};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn advancing_the_field_after_warm_up_allocates_nothing() {
    // All pools live until the end: a dropped pool's workers exit asynchronously and their
    // thread-local destructors (crossbeam-epoch) would allocate inside a later counting window.
    let pools: Vec<Parallel> = [1, 2]
        .iter()
        .map(|&t| Parallel::new(Some(t), 64).unwrap())
        .collect();
    let tracers = || {
        Tracers::from_cells(
            &(0..500)
                .map(|i| TracerCell {
                    species: (i % 4) as u16,
                    diameter: 6e-6 + 1e-8 * i as f64,
                    density: 1070.0 + 0.05 * i as f64,
                    shape_factor: 1.0,
                    aggregate_cells: 1.0,
                    radial: 0.1 + 0.06 * (i as f64 + 0.5) / 500.0,
                    y: 0.0,
                    z: 0.0,
                })
                .collect::<Vec<_>>(),
        )
    };
    // Warm up every pool before counting anything: worker threads start asynchronously (a new
    // thread copies its name), and rayon's work-stealing deques grow to their working size
    // during the first calls.
    // explicit and implicit (consolidating) fields on every pool
    let mut fields: Vec<_> = pools
        .iter()
        .flat_map(|_| {
            let mut config = blood_tube(300, 3000.0);
            config.numerics.scheme = Scheme::Implicit;
            config.hindrance = HindranceLaw::richardson_zaki(4.65, 0.99).unwrap();
            config.consolidation = Some(Consolidation::red_cells());
            let implicit = HinderedField::new(config.clone(), blood_classes(), tracers()).unwrap();
            // and with the dilute classes split off the Newton solve (sub-stepped)
            config.numerics.implicit.minor_classes = buffycoat_field::MinorClasses::Split;
            let split = HinderedField::new(config.clone(), blood_classes(), tracers()).unwrap();
            // and coupled with the MUSCL settling flux
            config.numerics.implicit.minor_classes = buffycoat_field::MinorClasses::Coupled;
            config.numerics.implicit.reconstruction =
                Some(buffycoat_field::column::Limiter::VanLeer);
            let muscl = HinderedField::new(config, blood_classes(), tracers()).unwrap();
            [blood_field(300, 3000.0, tracers()), implicit, split, muscl]
        })
        .collect();
    let pools: Vec<&Parallel> = pools.iter().flat_map(|p| [p, p, p, p]).collect();
    for (&par, field) in pools.iter().zip(&mut fields) {
        par.install(|| {
            let mut t = 0.0;
            for _ in 0..20 {
                field.advance(t, t + 0.1, par).unwrap();
                t += 0.1;
            }
        });
    }
    for (k, (&par, field)) in pools.iter().zip(&mut fields).enumerate() {
        let threads = par.threads();
        let allocations = par.install(|| {
            ALLOCATIONS.store(0, Ordering::SeqCst);
            COUNTING.store(true, Ordering::SeqCst);
            // the split field runs on to 402 s (its sub-steps and an error-rejected step
            // included)
            let interval = if k % 4 == 2 { 10.0 } else { 0.5 };
            let mut t = 2.0;
            for _ in 0..40 {
                field.advance(t, t + interval, par).unwrap();
                t += interval;
            }
            COUNTING.store(false, Ordering::SeqCst);
            ALLOCATIONS.load(Ordering::SeqCst)
        });
        assert_eq!(
            allocations,
            0,
            "{threads} threads, field {} (explicit, implicit, split, MUSCL): {allocations} \
             allocations",
            k % 4
        );
    }
}
