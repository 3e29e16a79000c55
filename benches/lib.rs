//! Shared helpers for the criterion benchmarks of buffycoat (`cargo bench -p buffycoat-benches`).
//!
//! - [`stream`]: STREAM-style memory-bandwidth kernels (copy, triad) over fixed-size chunks, the
//!   machine's roofline for the memory-bound kernels;
//! - [`population`]: a polydisperse whole-blood population (numbers from `data/species.toml`);
//! - [`push`]: a reusable particle-push workload ([`push::PushBench`]) on the contract scenario's
//!   tube, rotor and plasma, advanced by [`buffycoat_stepper::Propagate::advance`];
//! - [`h5`]: realistic position frames for the H5MD write benchmark;
//! - [`timing`]: per-group measurement settings (shortened with `BUFFYCOAT_BENCH_QUICK=1`).
//!
//! `benches/README.md` lists the results and derives the roofline from these kernels.

use std::time::Duration;

/// Measurement settings shared by the benchmark groups.
pub mod timing {
    use super::Duration;

    /// True when the environment variable `BUFFYCOAT_BENCH_QUICK` is set to anything but `0`:
    /// every group then measures for a fraction of its normal time (for debugging the benches,
    /// not for numbers).
    pub fn quick() -> bool {
        std::env::var_os("BUFFYCOAT_BENCH_QUICK").is_some_and(|v| v != "0")
    }

    /// `secs` seconds, or a tenth of it (at least 0.2 s) in quick mode.
    pub fn seconds(secs: f64) -> Duration {
        let s = if quick() { (0.1 * secs).max(0.2) } else { secs };
        Duration::from_secs_f64(s)
    }

    /// The thread counts to measure: 1 and every available core (deduplicated).
    pub fn thread_counts() -> Vec<usize> {
        let all = std::thread::available_parallelism().map_or(1, usize::from);
        if all > 1 { vec![1, all] } else { vec![1] }
    }

    /// A label for a thread count: `1thread`, `2threads`, …
    pub fn threads_label(threads: usize) -> String {
        if threads == 1 {
            "1thread".to_string()
        } else {
            format!("{threads}threads")
        }
    }
}

/// STREAM-style memory-bandwidth kernels (McCalpin, "Memory bandwidth and machine balance in
/// current high performance computers", IEEE TCCA Newsletter, 1995).
///
/// Bytes are counted with the STREAM convention: only the explicit loads and stores of the
/// kernel, 2 × 8 B per element for copy (`a[i] = b[i]`) and 3 × 8 B for triad
/// (`a[i] = b[i] + s·c[i]`). The write-allocate (read-for-ownership) traffic of the stored
/// array `a` is **not** counted, although with ordinary stores the hardware moves it: the real
/// DRAM traffic is 3 × 8 B (copy) and 4 × 8 B (triad) per element. The particle kernels update
/// their arrays in place (each stored line was just loaded), so they pay no hidden
/// write-allocate traffic. A third kernel, `update` (`a[i] = a[i] + s·b[i]`, in place, 3 × 8 B
/// counted = moved), is not in STREAM: it has the particle kernels' access pattern, so its
/// bandwidth is the directly comparable roofline (see `benches/README.md`).
pub mod stream {
    use buffycoat_stepper::Parallel;
    use rayon::prelude::*;

    /// Elements per rayon task (64 Ki f64 = 512 KiB per array): fixed, independent of the thread
    /// count, like the solver's chunks.
    pub const CHUNK: usize = 1 << 16;
    /// Bytes per element counted for copy (STREAM convention: read b, write a).
    pub const COPY_BYTES_PER_ELEMENT: u64 = 16;
    /// Bytes per element counted for triad (STREAM convention: read b and c, write a).
    pub const TRIAD_BYTES_PER_ELEMENT: u64 = 24;
    /// Bytes per element for the in-place update (read a and b, write a; no write-allocate).
    pub const UPDATE_BYTES_PER_ELEMENT: u64 = 24;
    /// The triad's scalar.
    pub const TRIAD_SCALAR: f64 = 3.0;

    /// The three STREAM arrays.
    #[derive(Debug)]
    pub struct Arrays {
        /// destination
        pub a: Vec<f64>,
        /// first source
        pub b: Vec<f64>,
        /// second source (triad)
        pub c: Vec<f64>,
    }

    impl Arrays {
        /// Three arrays of `len` elements, written once (with `par`'s threads, chunk by chunk)
        /// so that every page is mapped before timing starts.
        pub fn new(len: usize, par: &Parallel) -> Self {
            let mut s = Self {
                a: Vec::with_capacity(len),
                b: Vec::with_capacity(len),
                c: Vec::with_capacity(len),
            };
            for (v, value) in [(&mut s.a, 1.0), (&mut s.b, 2.0), (&mut s.c, 0.5)] {
                v.resize(len, 0.0);
                par.install(|| {
                    v.par_chunks_mut(CHUNK).for_each(|chunk| chunk.fill(value));
                });
            }
            s
        }

        /// Elements per array.
        pub fn len(&self) -> usize {
            self.a.len()
        }

        /// True when the arrays are empty.
        pub fn is_empty(&self) -> bool {
            self.a.is_empty()
        }

        /// Copy `a[i] = b[i]` with `par`'s threads over fixed chunks.
        pub fn copy(&mut self, par: &Parallel) {
            let (a, b) = (&mut self.a, &self.b);
            par.install(|| {
                a.par_chunks_mut(CHUNK)
                    .zip(b.par_chunks(CHUNK))
                    .for_each(|(a, b)| copy_chunk(a, b));
            });
        }

        /// Triad `a[i] = b[i] + s·c[i]` with `par`'s threads over fixed chunks.
        pub fn triad(&mut self, par: &Parallel) {
            let (a, b, c) = (&mut self.a, &self.b, &self.c);
            par.install(|| {
                a.par_chunks_mut(CHUNK)
                    .zip(b.par_chunks(CHUNK))
                    .zip(c.par_chunks(CHUNK))
                    .for_each(|((a, b), c)| triad_chunk(a, b, c, TRIAD_SCALAR));
            });
        }

        /// In-place update `c[i] = c[i] + s·b[i]` with `par`'s threads over fixed chunks, with
        /// `s = 0` so that the values stay put (the multiply-add is still executed: `s` is
        /// opaque to the compiler).
        pub fn update(&mut self, par: &Parallel) {
            let s = std::hint::black_box(0.0);
            let (b, c) = (&self.b, &mut self.c);
            par.install(|| {
                c.par_chunks_mut(CHUNK)
                    .zip(b.par_chunks(CHUNK))
                    .for_each(|(c, b)| update_chunk(c, b, s));
            });
        }

        /// Checks the arrays after any sequence of kernels (STREAM's own check): `a` holds
        /// either the copy (2) or the triad (2 + 3·0.5); `b` and `c` are unchanged.
        pub fn verify(&self) -> bool {
            let triad = 2.0 + TRIAD_SCALAR * 0.5;
            self.a.iter().all(|&x| x == 2.0 || x == triad)
                && self.b.iter().all(|&x| x == 2.0)
                && self.c.iter().all(|&x| x == 0.5)
        }
    }

    /// One chunk of the copy, as an element loop (LLVM lowers it to `memcpy`, whose large
    /// copies glibc may do with `rep movsb`: see the README).
    #[inline]
    pub fn copy_chunk(a: &mut [f64], b: &[f64]) {
        for (x, &y) in a.iter_mut().zip(b) {
            *x = y;
        }
    }

    /// One chunk of the triad (vectorised by LLVM).
    #[inline]
    pub fn triad_chunk(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
        for ((x, &y), &z) in a.iter_mut().zip(b).zip(c) {
            *x = y + s * z;
        }
    }

    /// One chunk of the in-place update (vectorised by LLVM).
    #[inline]
    pub fn update_chunk(a: &mut [f64], b: &[f64], s: f64) {
        for (x, &y) in a.iter_mut().zip(b) {
            *x += s * y;
        }
    }
}

/// A polydisperse whole-blood population for the particle benchmarks.
pub mod population {
    use buffycoat_physics::population::{particle_rng, sample_cell};
    use buffycoat_physics::species::{Distribution, SizeDistribution, Species};
    use buffycoat_sediment::CellSpec;
    use rand::Rng;

    /// RNG stream used to draw each cell's species (properties use the same per-cell stream
    /// afterwards, positions the solver's own stream).
    pub const SPECIES_STREAM: u64 = 0x6265_6e63_6821; // "bench!"

    /// Normal-adult concentrations (cells/µL) used as the mixing weights: red cells, platelets
    /// and the three main leukocytes (neutrophils 62 %, lymphocytes 30 %, monocytes 8 % of
    /// 7000/µL); mid-range values of `data/species.toml`'s `normal_per_ul`.
    pub const CONCENTRATIONS_PER_UL: [(&str, f64); 5] = [
        ("rbc", 5.0e6),
        ("platelet", 2.5e5),
        ("neutrophil", 4340.0),
        ("lymphocyte", 2100.0),
        ("monocyte", 560.0),
    ];

    fn species(name: &str, density_g_ml: (f64, f64), volume_fl: (f64, f64), chi: f64) -> Species {
        Species {
            name: name.to_string(),
            display_name: name.to_string(),
            density: Distribution::Normal {
                mean: density_g_ml.0 * 1e3,
                sd: density_g_ml.1 * 1e3,
            },
            size: SizeDistribution::Volume(Distribution::LogNormal {
                mean: volume_fl.0 * 1e-18,
                sd: volume_fl.1 * 1e-18,
            }),
            shape_factor: chi,
            normal_per_ul: None,
            source: "data/species.toml".to_string(),
        }
    }

    /// The five species of [`CONCENTRATIONS_PER_UL`], with the density (normal), volume
    /// (log-normal) and shape factor of `data/species.toml`.
    pub fn blood_species() -> Vec<Species> {
        vec![
            species("rbc", (1.095, 0.004), (87.0, 11.3), 1.09),
            species("platelet", (1.070, 0.006), (7.5, 3.75), 1.04),
            species("neutrophil", (1.085, 0.004), (468.0, 70.0), 1.0),
            species("lymphocyte", (1.075, 0.004), (247.0, 37.0), 1.0),
            species("monocyte", (1.072, 0.004), (534.0, 80.0), 1.0),
        ]
    }

    /// `n` cells drawn from whole blood by count: cell `i`'s species and properties depend only
    /// on `(seed, i)`, and species are interleaved at random as in a real sample.
    pub fn blood_cells(n: usize, seed: u64) -> Vec<CellSpec> {
        let species = blood_species();
        let total: f64 = CONCENTRATIONS_PER_UL.iter().map(|&(_, c)| c).sum();
        let mut cumulative = Vec::with_capacity(species.len());
        let mut acc = 0.0;
        for &(_, c) in &CONCENTRATIONS_PER_UL {
            acc += c / total;
            cumulative.push(acc);
        }
        (0..n as u64)
            .map(|i| {
                let mut rng = particle_rng(seed, SPECIES_STREAM, i);
                let u: f64 = rng.random();
                let k = cumulative
                    .iter()
                    .position(|&c| u < c)
                    .unwrap_or(species.len() - 1);
                let cell = sample_cell(&species[k], &mut rng);
                CellSpec {
                    species: k as u16,
                    diameter: cell.diameter,
                    density: cell.density,
                    shape_factor: species[k].shape_factor,
                }
            })
            .collect()
    }
}

/// The particle-push workload.
pub mod push {
    use super::population::blood_cells;
    use buffycoat_physics::forces::ForceSet;
    use buffycoat_physics::rotor::RotorProfile;
    use buffycoat_sediment::geometry::status;
    use buffycoat_sediment::validation::{
        PLASMA_DENSITY, PLASMA_VISCOSITY, contract_tube, plasma_config,
    };
    use buffycoat_sediment::{Cells, ParticleModel, Sedimentation};
    use buffycoat_stepper::{Parallel, Propagate};
    use std::time::{Duration, Instant};

    /// Step size (s): 2⁻¹³ s ≈ 122 µs. A power of two, so that every `t = k·dt` and every
    /// interval `[k·dt, (k + m)·dt]` is exact in floating point: the solver then plans exactly
    /// `m` steps of exactly `dt` and keeps its cached per-cell multipliers (a non-exact span
    /// would change the step by an ulp and force a recompute of exp/sin/cos every call).
    pub const DT: f64 = 1.0 / 8192.0;
    /// Steps per advance call of the "fused" variant (the chunk stays cache-resident).
    pub const FUSED_STEPS: u64 = 16;
    /// The cells are put back to their start positions (untimed) after this many steps
    /// (0.25 s of simulated time), so that the measured kernel stays the free-flight one: in
    /// 0.25 s at 2400 rpm a red cell moves ≈ 0.2 mm and the fastest leukocytes ≈ 0.6 mm of the
    /// 60 mm column, so well under 1 % of the cells reach the bottom or the side wall.
    pub const RESET_AFTER_STEPS: u64 = 2048;
    /// The contract scenario's rotor speed.
    pub const RPM: f64 = 2400.0;
    /// Seed of the population and of the positions.
    pub const SEED: u64 = 7;

    /// The contract scenario's physics (tube r 0.10–0.16 m, radius 6 mm, 2400 rpm, plasma at
    /// 37 °C, Coriolis and Euler forces, Stokes drag) with a whole-blood population of `n`
    /// cells, fixed step [`DT`].
    pub fn system(model: ParticleModel, n: usize, par: &Parallel) -> Sedimentation {
        let geometry = contract_tube();
        let cfg = plasma_config(
            geometry,
            RotorProfile::constant_rpm(RPM).expect("valid rpm"),
            ForceSet::default(),
            model,
            Some(DT),
        );
        let cells = Cells::place(
            &blood_cells(n, SEED),
            &geometry,
            PLASMA_DENSITY,
            PLASMA_VISCOSITY,
            SEED,
        )
        .expect("blood cells fit the tube");
        Sedimentation::new(cfg, cells, par).expect("valid configuration")
    }

    /// A sedimentation system advanced further in time at every call, with a running time
    /// `t = k·dt`, and reset to its start positions (outside the timed region) every
    /// [`RESET_AFTER_STEPS`] steps.
    #[derive(Debug)]
    pub struct PushBench {
        sys: Sedimentation,
        start: Cells,
        step: u64,
        since_reset: u64,
        resets: u64,
    }

    impl PushBench {
        /// Sets up [`system`] and keeps a copy of the start state.
        pub fn new(model: ParticleModel, n: usize, par: &Parallel) -> Self {
            let sys = system(model, n, par);
            let start = sys.cells().clone();
            Self {
                sys,
                start,
                step: 0,
                since_reset: 0,
                resets: 0,
            }
        }

        /// Number of cells.
        pub fn len(&self) -> usize {
            self.sys.cells().len()
        }

        /// True when there are no cells.
        pub fn is_empty(&self) -> bool {
            self.sys.cells().is_empty()
        }

        /// The system.
        pub fn system(&self) -> &Sedimentation {
            &self.sys
        }

        /// One `advance` call over `steps` steps: `[k·dt, (k + steps)·dt]`.
        pub fn advance(&mut self, steps: u64, par: &Parallel) {
            let t0 = self.step as f64 * DT;
            let t1 = (self.step + steps) as f64 * DT;
            self.sys.advance(t0, t1, par).expect("advance cannot fail");
            self.step += steps;
            self.since_reset += steps;
        }

        /// Restores the start positions, velocities and status, then makes one untimed call of
        /// `steps` steps (which rebuilds the overdamped multiplier cache that
        /// [`Sedimentation::cells_mut`] invalidates).
        pub fn reset(&mut self, steps: u64, par: &Parallel) {
            let cells = self.sys.cells_mut();
            for (dst, src) in [
                (&mut cells.x, &self.start.x),
                (&mut cells.y, &self.start.y),
                (&mut cells.z, &self.start.z),
                (&mut cells.vx, &self.start.vx),
                (&mut cells.vy, &self.start.vy),
                (&mut cells.vz, &self.start.vz),
            ] {
                dst.copy_from_slice(src);
            }
            cells.status.copy_from_slice(&self.start.status);
            self.since_reset = 0;
            self.resets += 1;
            self.advance(steps, par);
        }

        /// Times `iters` advance calls of `steps` steps each (for `Bencher::iter_custom`);
        /// resets, when due, happen outside the timed region.
        pub fn time(&mut self, iters: u64, steps: u64, par: &Parallel) -> Duration {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if self.since_reset + steps > RESET_AFTER_STEPS {
                    self.reset(steps, par);
                }
                let start = Instant::now();
                self.advance(steps, par);
                total += start.elapsed();
            }
            total
        }

        /// Fractions of cells now (frozen: pelleted or floated; on a side wall).
        pub fn wall_fractions(&self) -> (f64, f64) {
            let st = &self.sys.cells().status;
            let n = st.len().max(1) as f64;
            let frozen = st.iter().filter(|&&s| s & status::FROZEN != 0).count();
            let wall = st.iter().filter(|&&s| s & status::ON_WALL != 0).count();
            (frozen as f64 / n, wall as f64 / n)
        }

        /// One line for the log: cells, calls, resets, particle-steps and wall fractions.
        pub fn summary(&self) -> String {
            let (frozen, wall) = self.wall_fractions();
            format!(
                "N = {}: {} steps of {:.3e} s since start, {} resets, {:.3e} particle-steps; \
                 now {:.3} % pelleted/floated, {:.3} % on a side wall",
                self.len(),
                self.step,
                DT,
                self.resets,
                self.sys.totals().particle_steps as f64,
                100.0 * frozen,
                100.0 * wall,
            )
        }
    }

    /// Bytes the overdamped kernel moves per cell per `advance` call at constant ω, from
    /// `crates/sediment/src/overdamped.rs` (`advance_chunk`, `apply`): each chunk is loaded
    /// once per call whatever the number of steps, so per step it is this over the steps per
    /// call. Reads: x, y, z, mul_cos, mul_sin, mul_z, diameter (7 × 8 B) and status (1 B) in
    /// the step loop, plus sedimentation (8 B) in the Reynolds-number pass (x, y, status and
    /// diameter are still cached then); writes: x, y, z (3 × 8 B) and status (1 B), in place.
    pub const OVERDAMPED_BYTES_PER_CALL: u64 = 7 * 8 + 1 + 8 + 3 * 8 + 1;
    /// Bytes the inertial kernel (`crates/sediment/src/inertial.rs`, fixed step) moves per
    /// cell per call: reads x, y, z, vx, vy, vz, sedimentation, relaxation, diameter (9 × 8 B)
    /// and status (1 B); writes x, y, z, vx, vy, vz (6 × 8 B) and status (1 B). The per-cell
    /// step array is neither read nor written with a fixed step.
    pub const INERTIAL_BYTES_PER_CALL: u64 = 9 * 8 + 1 + 6 * 8 + 1;
}

/// Frames for the H5MD write benchmark.
pub mod h5 {
    use super::population::blood_cells;
    use buffycoat_sediment::Cells;
    use buffycoat_sediment::validation::{PLASMA_DENSITY, PLASMA_VISCOSITY, contract_tube};

    /// A row-major `[n][3]` position frame (m) of a whole-blood population seeded uniformly in
    /// the contract tube: real coordinates, so deflate sees realistic (poorly compressible)
    /// mantissas.
    pub fn position_frame(n: usize, seed: u64) -> Vec<f64> {
        let geometry = contract_tube();
        let cells = Cells::place(
            &blood_cells(n, seed),
            &geometry,
            PLASMA_DENSITY,
            PLASMA_VISCOSITY,
            seed,
        )
        .expect("blood cells fit the tube");
        let mut out = vec![0.0; 3 * n];
        cells.fill_positions(&mut out);
        out
    }
}
