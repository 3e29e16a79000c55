//! [`Sedimentation`]: cells in a container on a rotor, advanced by the stepper.

use crate::geometry::{Container, Geometry, SectorWalls, status};
use crate::overdamped::Piece;
use crate::simd::{self, Isa};
use crate::{Cells, SedimentError, inertial, overdamped};
use buffycoat_physics::forces::{DragLaw, ForceSet, overdamped_rates};
use buffycoat_physics::rotor::RotorProfile;
use buffycoat_stepper::{ChunkReducer, Parallel, Propagate};
use rayon::prelude::*;

mod checkpoint;

/// Particle model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParticleModel {
    /// Terminal velocity (no particle inertia), integrated in closed form. The default.
    #[default]
    Overdamped,
    /// Particle inertia with the drag integrated exactly (ETD2, per-cell adaptive steps unless a
    /// fixed step is given).
    Inertial,
}

/// Error control of the inertial model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// relative position tolerance per step
    pub rtol: f64,
    /// absolute position tolerance per step (m)
    pub atol_position: f64,
    /// largest step (s): also resolves wall contact, see [`Sedimentation::auto_step`]
    pub max_step: f64,
    /// smallest step (s) before a step is accepted regardless (counted as forced)
    pub min_step: f64,
}

impl Default for Tolerances {
    /// rtol 10⁻⁸, atol 1 nm (a thousandth of a cell diameter), steps between 10⁻¹² s and ∞
    /// (capped by the solver's wall-resolution step).
    fn default() -> Self {
        Self {
            rtol: 1e-8,
            atol_position: 1e-9,
            max_step: f64::INFINITY,
            min_step: 1e-12,
        }
    }
}

/// Everything that defines a sedimentation run except the cells.
#[derive(Debug, Clone)]
pub struct SedimentationConfig {
    /// container
    pub geometry: Geometry,
    /// rotor speed history
    pub rotor: RotorProfile,
    /// fluid density ρ_f (kg/m³)
    pub fluid_density: f64,
    /// fluid viscosity μ (Pa·s)
    pub viscosity: f64,
    /// forces switched on
    pub forces: ForceSet,
    /// particle model
    pub model: ParticleModel,
    /// fixed step (s); `None` = automatic ([`Sedimentation::auto_step`] for the overdamped model,
    /// adaptive with error control for the inertial model)
    pub dt: Option<f64>,
    /// error control of the inertial model
    pub tolerances: Tolerances,
}

/// The physical environment shared by all cells (read-only in the kernels).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env<'a> {
    pub rotor: &'a RotorProfile,
    pub forces: ForceSet,
    pub fluid_density: f64,
    pub viscosity: f64,
}

impl Env<'_> {
    /// Gravitational acceleration along −z (m/s²), 0 when off.
    #[inline]
    pub fn gravity(&self) -> f64 {
        self.forces.gravity.unwrap_or(0.0)
    }
}

/// Statistics of one chunk over one interval, folded in chunk order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChunkStats {
    /// largest particle Reynolds number seen
    pub max_reynolds: f64,
    /// cell-steps taken
    pub particle_steps: u64,
    /// rejected adaptive steps
    pub rejected_steps: u64,
    /// steps accepted at the minimum step size despite the error test
    pub forced_steps: u64,
}

impl ChunkStats {
    fn merge(self, o: Self) -> Self {
        Self {
            max_reynolds: self.max_reynolds.max(o.max_reynolds),
            particle_steps: self.particle_steps + o.particle_steps,
            rejected_steps: self.rejected_steps + o.rejected_steps,
            forced_steps: self.forced_steps + o.forced_steps,
        }
    }
}

/// Cells in a container on a rotor: the particle-sedimentation system.
#[derive(Debug)]
pub struct Sedimentation {
    cells: Cells,
    config: SedimentationConfig,
    /// nominal step (s)
    dt: f64,
    /// overdamped: cached per-cell multipliers for the current (ω, h)
    mul_cos: Vec<f64>,
    mul_sin: Vec<f64>,
    mul_z: Vec<f64>,
    cache_key: Option<(f64, f64)>,
    /// inertial: per-cell step sizes
    cell_step: Vec<f64>,
    pieces: Vec<Piece>,
    reducer: ChunkReducer<ChunkStats>,
    steps: u64,
    totals: ChunkStats,
    /// the widest instruction set the overdamped kernel may run on ([`crate::simd::dispatch`]);
    /// the tests force narrower ones (bitwise the same results)
    isa: Isa,
}

impl Sedimentation {
    /// Sets up the system; `par` fixes the chunking (not the thread count: any [`Parallel`] with
    /// the same chunk length gives bitwise-identical results).
    pub fn new(
        config: SedimentationConfig,
        cells: Cells,
        par: &Parallel,
    ) -> Result<Self, SedimentError> {
        for (name, value) in [
            ("fluid.density_kg_m3", config.fluid_density),
            ("fluid.viscosity_pa_s", config.viscosity),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(SedimentError::InvalidParameter {
                    name: name.into(),
                    value,
                    allowed: "finite and > 0".into(),
                });
            }
        }
        if let Some(dt) = config.dt
            && !(dt.is_finite() && dt > 0.0)
        {
            return Err(SedimentError::InvalidParameter {
                name: "run.dt_s".into(),
                value: dt,
                allowed: "finite and > 0".into(),
            });
        }
        let n = cells.len();
        let dt = config
            .dt
            .unwrap_or_else(|| Self::auto_step(&config, &cells));
        let inertial = config.model == ParticleModel::Inertial;
        let initial_step = |i: usize| cells.relaxation[i].min(dt);
        let cell_step = if inertial {
            (0..n).map(initial_step).collect()
        } else {
            Vec::new()
        };
        let overdamped_len = if inertial { 0 } else { n };
        Ok(Self {
            mul_cos: vec![1.0; overdamped_len],
            mul_sin: vec![0.0; overdamped_len],
            mul_z: vec![0.0; overdamped_len],
            cache_key: None,
            cell_step,
            pieces: Vec::with_capacity(8),
            reducer: ChunkReducer::new(par.chunk_count(n), ChunkStats::default()),
            steps: 0,
            isa: Isa::Avx512,
            totals: ChunkStats::default(),
            dt,
            cells,
            config,
        })
    }

    /// The automatic step (s): the time in which the fastest cell, at the peak ω and the outer
    /// radius, moves 1/1000 of the container's smallest dimension. Free flight is integrated
    /// exactly (overdamped) or with error control (inertial); this step only sets how finely wall
    /// contact is resolved. Infinite when nothing moves.
    pub fn auto_step(config: &SedimentationConfig, cells: &Cells) -> f64 {
        let omega = config.rotor.max_omega();
        let accel =
            (omega * omega * config.geometry.r_max()).hypot(config.forces.gravity.unwrap_or(0.0));
        let s_max = cells
            .sedimentation
            .iter()
            .fold(0.0f64, |m, &s| m.max(s.abs()));
        let v_max = s_max * accel;
        if v_max > 0.0 {
            1e-3 * config.geometry.smallest_dimension() / v_max
        } else {
            f64::INFINITY
        }
    }

    /// The cells.
    pub fn cells(&self) -> &Cells {
        &self.cells
    }

    /// Mutable access to the cells (e.g. to set validation start positions before running).
    pub fn cells_mut(&mut self) -> &mut Cells {
        self.cache_key = None;
        &mut self.cells
    }

    /// The configuration.
    pub fn config(&self) -> &SedimentationConfig {
        &self.config
    }

    /// Nominal step (s).
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Totals so far: largest Reynolds number, cell-steps, rejected and forced steps.
    pub fn totals(&self) -> ChunkStats {
        self.totals
    }

    fn env(&self) -> Env<'_> {
        Env {
            rotor: &self.config.rotor,
            forces: self.config.forces,
            fluid_density: self.config.fluid_density,
            viscosity: self.config.viscosity,
        }
    }

    /// Splits [t0, t1] at rotor knots into runs of equal steps ≤ dt; returns the peak ω.
    fn plan(&mut self, t0: f64, t1: f64) -> f64 {
        self.pieces.clear();
        let rotor = &self.config.rotor;
        let linear_drag = self.config.forces.drag == DragLaw::Stokes;
        let mut key = self.cache_key;
        let mut peak = rotor.omega(t0).max(rotor.omega(t1));
        let mut a = t0;
        while a < t1 {
            let b = rotor.next_knot_after(a).map_or(t1, |k| k.min(t1));
            peak = peak.max(rotor.omega(b));
            let span = b - a;
            let n = if self.dt.is_finite() {
                ((span / self.dt) * (1.0 - 1e-12)).ceil().max(1.0) as u64
            } else {
                1
            };
            let h = span / n as f64;
            let cached = linear_drag && rotor.omega_dot(a) == 0.0;
            let this_key = (rotor.omega(a), h);
            let recompute = cached && key != Some(this_key);
            if cached {
                key = Some(this_key);
            }
            self.pieces.push(Piece {
                t0: a,
                h,
                n,
                cached,
                recompute,
            });
            a = b;
        }
        self.cache_key = key;
        peak
    }

    fn advance_overdamped<C: Container>(
        &mut self,
        walls: &C,
        t0: f64,
        t1: f64,
        par: &Parallel,
    ) -> ChunkStats {
        let peak = self.plan(t0, t1);
        let c = par.chunk_len();
        let env = Env {
            rotor: &self.config.rotor,
            forces: self.config.forces,
            fluid_density: self.config.fluid_density,
            viscosity: self.config.viscosity,
        };
        let pieces = &self.pieces[..];
        let cells = &mut self.cells;
        let items = (
            cells.x.par_chunks_mut(c),
            cells.y.par_chunks_mut(c),
            cells.z.par_chunks_mut(c),
            cells.status.par_chunks_mut(c),
            self.mul_cos.par_chunks_mut(c),
            self.mul_sin.par_chunks_mut(c),
            self.mul_z.par_chunks_mut(c),
            cells.sedimentation.par_chunks(c),
            cells.relaxation.par_chunks(c),
            cells.diameter.par_chunks(c),
        )
            .into_par_iter();
        let reducer = &mut self.reducer;
        let isa = self.isa;
        let stats = par.install(|| {
            reducer.map_reduce(
                items,
                |(
                    x,
                    y,
                    z,
                    status,
                    mul_cos,
                    mul_sin,
                    mul_z,
                    sedimentation,
                    relaxation,
                    diameter,
                )| {
                    simd::dispatch(
                        isa,
                        overdamped::ChunkCall {
                            walls,
                            env: &env,
                            pieces,
                            omega_peak: peak,
                            chunk: overdamped::Chunk {
                                x,
                                y,
                                z,
                                status,
                                mul_cos,
                                mul_sin,
                                mul_z,
                                sedimentation,
                                relaxation,
                                diameter,
                            },
                        },
                    )
                },
                ChunkStats::default(),
                ChunkStats::merge,
            )
        });
        self.steps += self.pieces.iter().map(|p| p.n).sum::<u64>();
        stats
    }

    fn advance_inertial<C: Container>(
        &mut self,
        walls: &C,
        t0: f64,
        t1: f64,
        par: &Parallel,
    ) -> ChunkStats {
        let c = par.chunk_len();
        let env = Env {
            rotor: &self.config.rotor,
            forces: self.config.forces,
            fluid_density: self.config.fluid_density,
            viscosity: self.config.viscosity,
        };
        let mut tol = self.config.tolerances;
        tol.max_step = tol.max_step.min(self.dt);
        let fixed = self.config.dt;
        let cells = &mut self.cells;
        let items = (
            cells.x.par_chunks_mut(c),
            cells.y.par_chunks_mut(c),
            cells.z.par_chunks_mut(c),
            cells.vx.par_chunks_mut(c),
            cells.vy.par_chunks_mut(c),
            cells.vz.par_chunks_mut(c),
            cells.status.par_chunks_mut(c),
            self.cell_step.par_chunks_mut(c),
            cells.sedimentation.par_chunks(c),
            cells.relaxation.par_chunks(c),
            cells.diameter.par_chunks(c),
        )
            .into_par_iter();
        let reducer = &mut self.reducer;
        let stats = par.install(|| {
            reducer.map_reduce(
                items,
                |(x, y, z, vx, vy, vz, status, step, sedimentation, relaxation, diameter)| {
                    inertial::advance_chunk(
                        walls,
                        &env,
                        t0,
                        t1,
                        fixed,
                        &tol,
                        inertial::Chunk {
                            x,
                            y,
                            z,
                            vx,
                            vy,
                            vz,
                            status,
                            step,
                            sedimentation,
                            relaxation,
                            diameter,
                        },
                    )
                },
                ChunkStats::default(),
                ChunkStats::merge,
            )
        });
        let n = self.cells.len().max(1) as u64;
        self.steps = (self.totals.particle_steps + stats.particle_steps) / n;
        stats
    }

    /// Writes the cells' velocities (m/s, rotating frame) as a row-major `[N][3]` array into
    /// `out` at time `t`: the carried velocity for the inertial model, the terminal velocity at
    /// the current position for the overdamped model (with components into touched walls
    /// removed, zero for frozen cells).
    pub fn fill_velocities(&self, t: f64, out: &mut [f64]) {
        let cells = &self.cells;
        match self.config.model {
            ParticleModel::Inertial => {
                for (i, v) in out.chunks_exact_mut(3).enumerate() {
                    v[0] = cells.vx[i];
                    v[1] = cells.vy[i];
                    v[2] = cells.vz[i];
                }
            }
            ParticleModel::Overdamped => {
                let env = self.env();
                // The rotor's state is the same for every cell of the frame.
                let (omega, omega_dot) = (env.rotor.omega(t), env.rotor.omega_dot(t));
                if env.forces.drag == DragLaw::Stokes {
                    // Every frame of a large run passes here on the main thread while the
                    // workers wait: a branch-free pass over the cells in the form of
                    // `overdamped::velocity_at` with f = 1 (dividing by 1 is exact, so the
                    // values are bitwise the general path's), then the general path for the
                    // few frozen or wall-touching cells.
                    let g = env.gravity();
                    let (coriolis, euler) = (env.forces.coriolis, env.forces.euler);
                    let len = cells.len();
                    let (x, y) = (&cells.x[..len], &cells.y[..len]);
                    let (sed, tau) = (&cells.sedimentation[..len], &cells.relaxation[..len]);
                    for (i, v) in out[..3 * len].chunks_exact_mut(3).enumerate() {
                        let rates =
                            overdamped_rates(sed[i], tau[i], omega, omega_dot, coriolis, euler);
                        v[0] = rates.growth * x[i] - rates.rotation * y[i];
                        v[1] = rates.growth * y[i] + rates.rotation * x[i];
                        v[2] = -sed[i] * g;
                    }
                }
                for (i, v) in out.chunks_exact_mut(3).enumerate() {
                    let st = cells.status[i];
                    if env.forces.drag == DragLaw::Stokes
                        && st & (status::FROZEN | status::ON_WALL) == 0
                    {
                        continue;
                    }
                    let vel = self.overdamped_cell_velocity(i, omega, omega_dot, &env);
                    v.copy_from_slice(&vel);
                }
            }
        }
    }

    /// Velocity of overdamped cell `i` at rotor speed `omega` and acceleration `omega_dot`
    /// (m/s): zero when frozen, the terminal velocity with components into a touched wall
    /// removed.
    fn overdamped_cell_velocity(
        &self,
        i: usize,
        omega: f64,
        omega_dot: f64,
        env: &Env<'_>,
    ) -> [f64; 3] {
        let cells = &self.cells;
        let st = cells.status[i];
        let mut vel = [0.0; 3];
        if st & status::FROZEN == 0 {
            let p = cells.position(i);
            vel = overdamped::velocity_at(
                cells.sedimentation[i],
                cells.relaxation[i],
                cells.diameter[i],
                &p,
                omega,
                omega_dot,
                env,
            );
            if st & status::ON_WALL != 0 {
                self.config
                    .geometry
                    .project_velocity(&p, &mut vel, 0.5 * cells.diameter[i]);
            }
        }
        vel
    }
}

impl Propagate for Sedimentation {
    type Error = SedimentError;

    fn advance(&mut self, t0: f64, t1: f64, par: &Parallel) -> Result<(), SedimentError> {
        if self.reducer.len() != par.chunk_count(self.cells.len()) {
            return Err(SedimentError::Integration(format!(
                "the system was set up for {} chunks but the pool's chunk length gives {}",
                self.reducer.len(),
                par.chunk_count(self.cells.len())
            )));
        }
        let geometry = self.config.geometry;
        let stats = match (self.config.model, geometry) {
            (ParticleModel::Overdamped, Geometry::Tube(g)) => {
                self.advance_overdamped(&g, t0, t1, par)
            }
            (ParticleModel::Overdamped, Geometry::Sector(g)) => {
                self.advance_overdamped(&SectorWalls::new(g), t0, t1, par)
            }
            (ParticleModel::Inertial, Geometry::Tube(g)) => self.advance_inertial(&g, t0, t1, par),
            (ParticleModel::Inertial, Geometry::Sector(g)) => {
                self.advance_inertial(&SectorWalls::new(g), t0, t1, par)
            }
        };
        self.totals = self.totals.merge(stats);
        Ok(())
    }

    fn step_count(&self) -> u64 {
        self.steps
    }
}

#[cfg(test)]
mod simd_tests {
    use super::*;
    use crate::CellSpec;
    use crate::geometry::{Sector, Tube};
    use buffycoat_physics::forces::ForceSet;

    const RHO_F: f64 = 1025.0;
    const MU: f64 = 1.3e-3;

    /// 1001 cells (3–12 µm, 1010–1110 kg/m³: most pellet, some float) at a constant 3000 rpm
    /// with gravity, so that within 400 steps of 10 ms cells pellet, float and slide on walls.
    fn system(geometry: Geometry, isa: Isa) -> (Sedimentation, Parallel) {
        let par = Parallel::new(Some(1), 256).unwrap();
        let specs: Vec<CellSpec> = (0..1001)
            .map(|i| {
                let u = (i as f64 * 0.618_033_988_749_894_9).fract();
                let v = (i as f64 * 0.414_213_562_373_095).fract();
                CellSpec {
                    species: 0,
                    diameter: 3e-6 + 9e-6 * u,
                    density: 1010.0 + 100.0 * v,
                    shape_factor: 1.0 + 0.2 * v,
                }
            })
            .collect();
        let cells = Cells::place(&specs, &geometry, RHO_F, MU, 7).unwrap();
        let config = SedimentationConfig {
            geometry,
            rotor: RotorProfile::constant_rpm(3000.0).unwrap(),
            fluid_density: RHO_F,
            viscosity: MU,
            forces: ForceSet {
                gravity: Some(9.80665),
                ..ForceSet::default()
            },
            model: ParticleModel::Overdamped,
            dt: Some(0.01),
            tolerances: Tolerances::default(),
        };
        let mut sys = Sedimentation::new(config, cells, &par).unwrap();
        sys.isa = isa;
        (sys, par)
    }

    /// The overdamped kernel of one scalar pass, as it was before the two-pass vectorisable
    /// form: each moving cell moves by its multipliers, then `inside ? free : confine`.
    fn reference_steps(
        geometry: Geometry,
        cells: &mut Cells,
        sys: &Sedimentation,
        steps: u64,
    ) -> (usize, usize) {
        let inside = |p: &[f64; 3], a: f64| match geometry {
            Geometry::Tube(t) => t.inside(p, a),
            Geometry::Sector(s) => SectorWalls::new(s).inside(p, a),
        };
        let (mut confined, mut sliding) = (0, 0);
        for _ in 0..steps {
            for i in 0..cells.len() {
                if cells.status[i] & status::FROZEN != 0 {
                    continue;
                }
                let (x, y) = (cells.x[i], cells.y[i]);
                let (mc, ms) = (sys.mul_cos[i], sys.mul_sin[i]);
                let mut p = [mc * x - ms * y, ms * x + mc * y, cells.z[i] + sys.mul_z[i]];
                let a = 0.5 * cells.diameter[i];
                cells.status[i] = if inside(&p, a) {
                    status::FREE
                } else {
                    confined += 1;
                    let s = geometry.confine(&mut p, None, a);
                    sliding += usize::from(s == status::ON_WALL);
                    s
                };
                cells.set_position(i, p);
            }
        }
        (confined, sliding)
    }

    /// The vectorised two-pass kernel, at every vector width the CPU has, gives bitwise the
    /// cells of the scalar one-pass reference, with pelleting, floating and wall contacts.
    #[test]
    fn overdamped_kernel_is_bitwise_the_scalar_reference_at_every_vector_width() {
        let geometries = [
            Geometry::Tube(Tube::new(0.100, 0.102, 0.0005).unwrap()),
            Geometry::Sector(Sector::new(0.060, 0.062, 0.5f64.to_radians(), 0.0005).unwrap()),
        ];
        for geometry in geometries {
            let mut hashes = Vec::new();
            for isa in [Isa::Portable, Isa::Avx2, Isa::Avx512] {
                let (mut sys, par) = system(geometry, isa);
                let mut reference = sys.cells().clone();
                sys.advance(0.0, 4.0, &par).unwrap();
                assert_eq!(sys.step_count(), 400);
                let (confined, sliding) = reference_steps(geometry, &mut reference, &sys, 400);
                assert_eq!(
                    sys.cells(),
                    &reference,
                    "{geometry:?} at {isa:?} differs from the scalar reference"
                );
                // The walls were exercised: pelleted, floated and sliding cells.
                let count = |bit: u8| reference.status.iter().filter(|&&s| s & bit != 0).count();
                assert!(confined > 500, "{geometry:?}: {confined} wall contacts");
                assert!(count(status::PELLETED) > 10, "{geometry:?}");
                assert!(count(status::FLOATED) > 10, "{geometry:?}");
                assert!(sliding > 100, "{geometry:?}: {sliding} sliding steps");
                hashes.push(sys.cells().state_hash());
            }
            assert!(hashes.windows(2).all(|w| w[0] == w[1]));
        }
    }

    /// The frame velocities of the Stokes fast path are bitwise those of the general per-cell
    /// path (`overdamped::velocity_at`, zero for frozen cells, wall components removed), with
    /// Coriolis and Euler forces on during a spin-up and cells pelleted, floated and on walls.
    #[test]
    fn frame_velocities_are_bitwise_the_per_cell_velocity() {
        let (mut frozen, mut on_wall) = (0, 0);
        for geometry in [
            Geometry::Tube(Tube::new(0.100, 0.102, 0.0005).unwrap()),
            Geometry::Sector(Sector::new(0.060, 0.062, 0.5f64.to_radians(), 0.0005).unwrap()),
        ] {
            let (f, w) = check_frame_velocities(geometry);
            frozen += f;
            on_wall += w;
        }
        assert!(
            frozen > 10 && on_wall > 10,
            "{frozen} frozen, {on_wall} on a wall"
        );
    }

    /// Compares the two paths in `geometry`; returns the numbers of frozen and wall cells.
    fn check_frame_velocities(geometry: Geometry) -> (usize, usize) {
        let (mut sys, par) = system(geometry, Isa::Portable);
        sys.config.forces.coriolis = true;
        sys.config.forces.euler = true;
        sys.config.rotor =
            RotorProfile::from_rpm_knots(&[(0.0, 0.0), (1.0, 3000.0), (20.0, 4000.0)]).unwrap();
        let (mut frozen, mut on_wall) = (0, 0);
        for k in 1..=16 {
            let t = 0.25 * k as f64;
            sys.advance(t - 0.25, t, &par).unwrap();
            let (f, w) = compare_frame_velocities(&sys, t);
            frozen += f;
            on_wall += w;
        }
        (frozen, on_wall)
    }

    fn compare_frame_velocities(sys: &Sedimentation, t: f64) -> (usize, usize) {
        let cells = sys.cells();
        let count = |bit: u8| cells.status.iter().filter(|&&s| s & bit != 0).count();
        let mut fast = vec![0.0; 3 * cells.len()];
        sys.fill_velocities(t, &mut fast);
        let env = sys.env();
        let (omega, omega_dot) = (env.rotor.omega(t), env.rotor.omega_dot(t));
        assert!(omega_dot != 0.0);
        for i in 0..cells.len() {
            let vel = sys.overdamped_cell_velocity(i, omega, omega_dot, &env);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast[3 * i..3 * i + 3]), bits(&vel), "cell {i}");
        }
        (count(status::FROZEN), count(status::ON_WALL))
    }
}
