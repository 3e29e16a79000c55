//! The step loop allocates nothing after warm-up: a counting global allocator watches repeated
//! `advance` calls of the overdamped (cached and ramp paths) and inertial models, on 1 and 2
//! threads. The whole loop runs inside the pool (`Parallel::install`), as the executor's
//! systems do, so rayon queues work on its workers' own deques.
#![allow(unsafe_code)] // a GlobalAlloc implementation is unsafe by definition

use buffycoat_physics::forces::ForceSet;
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_sediment::validation::{contract_tube, plasma_config};
use buffycoat_sediment::{CellSpec, Cells, ParticleModel, Sedimentation};
use buffycoat_stepper::{Parallel, Propagate};
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

fn system(model: ParticleModel, par: &Parallel) -> Sedimentation {
    // Ramp (general path) then plateau (cached path).
    let rotor = RotorProfile::trapezoid(2400.0, 0.5, 100.0, 1.0).unwrap();
    let cfg = plasma_config(
        contract_tube(),
        rotor,
        ForceSet::default(),
        model,
        Some(2e-3),
    );
    let specs: Vec<CellSpec> = (0..20_000)
        .map(|i| CellSpec {
            species: (i % 2) as u16,
            diameter: 6e-6 + 4e-6 * ((i * 7919) % 1000) as f64 / 1000.0,
            density: 1060.0 + 40.0 * ((i * 104_729) % 1000) as f64 / 1000.0,
            shape_factor: 1.0,
        })
        .collect();
    let cells = Cells::place(&specs, &cfg.geometry, 1020.5, 1.39e-3, 3).unwrap();
    Sedimentation::new(cfg, cells, par).unwrap()
}

#[test]
fn advancing_after_warm_up_allocates_nothing() {
    // All pools live until the end and are warmed up before anything is counted: worker threads
    // start asynchronously (a new thread copies its name) and a dropped pool's workers run
    // thread-local destructors (crossbeam-epoch) that allocate; neither is the step loop.
    let pools: Vec<Parallel> = [1, 2]
        .iter()
        .map(|&t| Parallel::new(Some(t), 1024).unwrap())
        .collect();
    let models = [ParticleModel::Overdamped, ParticleModel::Inertial];
    let mut systems: Vec<(usize, ParticleModel, Sedimentation)> = Vec::new();
    for (p, par) in pools.iter().enumerate() {
        for model in models {
            let mut sys = system(model, par);
            // Warm-up: first calls size the plan buffer and grow rayon's deques.
            par.install(|| {
                sys.advance(0.0, 0.1, par).unwrap();
                sys.advance(0.1, 0.2, par).unwrap();
            });
            systems.push((p, model, sys));
        }
    }
    for (p, model, sys) in &mut systems {
        let par = &pools[*p];
        let allocations = par.install(|| {
            ALLOCATIONS.store(0, Ordering::SeqCst);
            COUNTING.store(true, Ordering::SeqCst);
            let mut t = 0.2;
            for _ in 0..20 {
                sys.advance(t, t + 0.05, par).unwrap();
                t += 0.05;
            }
            COUNTING.store(false, Ordering::SeqCst);
            ALLOCATIONS.load(Ordering::SeqCst)
        });
        assert_eq!(
            allocations,
            0,
            "{model:?} on {} threads allocated {allocations} times",
            par.threads()
        );
    }
}
