//! Time integration of the procedure and its stop rules.
//!
//! Model (SI). The patient's circulating blood is one well-mixed compartment of constant volume
//! V = total blood volume (the anticoagulant and any volume removed with the product are assumed
//! to equilibrate with the extravascular space, the usual assumption of apheresis planning
//! formulas; the net fluid balance is reported). Species i has N_i circulating cells. Whole blood
//! is drawn at Q_b; the separator sends the fraction f_i of species i to the product bag and
//! returns the rest. With an optional extravascular pool P_i mobilising at first-order rate k_i:
//!
//! dN_i/dt = −(Q_b f_i / V) N_i + k_i P_i,  dP_i/dt = −k_i P_i,  dB_i/dt = (Q_b f_i / V) N_i
//!
//! (B_i: cells in the bag). Port fractions are held constant over a step of at most
//! `step` seconds and re-evaluated at step starts when the inlet composition has drifted by more
//! than `recompute_tolerance` since the last evaluation; within a step the linear system is
//! solved exactly, so with constant port fractions and no pool the patient count follows the
//! washout law C(V_p) = C₀ exp(−f V_p / V) for any step, V_p = Q_b t the processed volume
//! (docs/physics.md §7.2, §8.6).

use crate::citrate::{
    CITRATE_RATE_THRESHOLDS_MG_KG_MIN, citrate_infusion_rate, to_mg_per_kg_per_min,
};
use crate::separator::{PortFractions, Separator};
use crate::{Patient, ProcedureError, check};
use buffycoat_stepper::{Checkpoint, StateError, StateReader, StateWriter};

/// Extravascular mobilisation of one species: a pool of `pool_factor` × the initial circulating
/// count, released at first-order `rate` (1/s). No default is given: the literature reports
/// intra-apheresis recruitment of CD34⁺ cells but no agreed rate, so users set both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mobilization {
    /// release rate k (1/s)
    pub rate: f64,
    /// pool size relative to the initial circulating count
    pub pool_factor: f64,
}

/// When to stop: whichever comes first. At least one must be set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StopRules {
    /// processed whole-blood volume in multiples of the total blood volume
    pub blood_volumes: Option<f64>,
    /// time limit (s)
    pub time_limit: Option<f64>,
    /// product targets: (species index, cells in the bag)
    pub product_targets: Vec<(usize, f64)>,
}

/// Why the procedure stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    /// processed the requested blood volumes
    BloodVolumes,
    /// reached the time limit
    TimeLimit,
    /// the product reached a target for this species index
    ProductTarget(usize),
}

/// The procedure settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    /// whole-blood draw rate Q_b (m³/s)
    pub blood_flow: f64,
    /// inlet:AC ratio r (AC flow = Q_b / r)
    pub ac_ratio: f64,
    /// flow through the collect port into the bag (m³/s)
    pub collect_flow: f64,
    /// citrate concentration of the anticoagulant (kg/m³)
    pub citrate: f64,
    /// per-species mobilisation (`None` = off)
    pub mobilization: Vec<Option<Mobilization>>,
    /// stop rules
    pub stop: StopRules,
    /// longest step (s); also the output sampling interval
    pub step: f64,
    /// relative inlet-composition drift that triggers a new separator evaluation
    pub recompute_tolerance: f64,
    /// species whose volume makes the hematocrit (red cells)
    pub red_cell_species: Vec<usize>,
}

/// One output sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// time (s)
    pub time: f64,
    /// processed whole blood (m³)
    pub processed_volume: f64,
    /// patient concentration per species (1/m³)
    pub patient_per_m3: Vec<f64>,
    /// patient hematocrit
    pub patient_hematocrit: f64,
    /// cells in the product per species
    pub product_cells: Vec<f64>,
    /// product volume (m³)
    pub product_volume: f64,
    /// product hematocrit (red-cell volume / product volume)
    pub product_hematocrit: f64,
    /// citrate infusion rate (mg/kg/min)
    pub citrate_rate_mg_kg_min: f64,
    /// cumulative citrate (mg/kg)
    pub citrate_dose_mg_kg: f64,
    /// the collect fractions in force
    pub collect_fraction: Vec<f64>,
}

/// The outcome of a procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureResult {
    /// samples from t = 0 to the stop
    pub samples: Vec<Sample>,
    /// why it stopped
    pub stop_reason: StopReason,
    /// total blood volume (m³)
    pub blood_volume: f64,
    /// initial patient concentrations (1/m³)
    pub pre_per_m3: Vec<f64>,
    /// separator evaluations
    pub separator_calls: usize,
    /// times (s) at which the citrate rate first exceeded each threshold of
    /// [`CITRATE_RATE_THRESHOLDS_MG_KG_MIN`] (`None`: never)
    pub citrate_threshold_crossings: Vec<(f64, Option<f64>)>,
    /// cells that left the patient per species (drawn and not returned) minus cells gained from
    /// pools: equals the product content (the cell balance)
    pub cells_removed: Vec<f64>,
    /// port fractions at the last evaluation
    pub last_port_fractions: Option<PortFractions>,
}

impl ProcedureResult {
    /// The final sample.
    pub fn last(&self) -> &Sample {
        self.samples
            .last()
            .expect("a result has at least the initial sample")
    }

    /// CE2 per species: product / (pre-procedure concentration × processed volume) (Neyrinck et
    /// al., J Clin Apher 30:38, 2015). NaN for species absent before the procedure.
    pub fn ce2(&self) -> Vec<f64> {
        let s = self.last();
        s.product_cells
            .iter()
            .zip(&self.pre_per_m3)
            .map(|(&b, &c0)| b / (c0 * s.processed_volume))
            .collect()
    }

    /// CE1 per species: product / (mean of pre and post concentrations × processed volume)
    /// (Neyrinck 2015; Terumo BCT, "Collection efficiency", Spectra Optia application note).
    pub fn ce1(&self) -> Vec<f64> {
        let s = self.last();
        s.product_cells
            .iter()
            .zip(self.pre_per_m3.iter().zip(&s.patient_per_m3))
            .map(|(&b, (&c0, &c1))| b / (0.5 * (c0 + c1) * s.processed_volume))
            .collect()
    }
}

/// Exact solution over time `t` of one species: (N, P, ΔB) from (N₀, P₀) with removal rate
/// `a` and mobilisation rate `k`.
fn species_step(n0: f64, p0: f64, a: f64, k: f64, t: f64) -> (f64, f64, f64) {
    let ea = (-a * t).exp();
    let removed_fraction = -(-a * t).exp_m1(); // 1 − e^{−at}, accurate for small at
    if k == 0.0 || p0 == 0.0 {
        return (n0 * ea, p0, n0 * removed_fraction);
    }
    let ek = (-k * t).exp();
    // g1 = ∫₀ᵗ k e^{−ks} e^{−a(t−s)} ds / P₀-normalised; g2 = ∫₀ᵗ of it (for the bag).
    let (g1, g2) = if (a - k).abs() <= 1e-9 * a.max(k) {
        (k * t * ea, k * (1.0 - ea * (1.0 + a * t)) / (a * a))
    } else {
        let d = a - k;
        let g1 = k * ek * (-(-d * t).exp_m1()) / d;
        let g2 = k * ((-(-k * t).exp_m1()) / k - removed_fraction / a) / d;
        (g1, g2)
    };
    let n = n0 * ea + p0 * g1;
    let p = p0 * ek;
    let bag = n0 * removed_fraction + a * p0 * g2;
    (n, p, bag)
}

impl Procedure {
    /// Checks the settings.
    pub fn validate(&self, species: usize) -> Result<(), ProcedureError> {
        check(
            "inlet.flow_ml_min",
            self.blood_flow,
            self.blood_flow > 0.0,
            "> 0 mL/min",
        )?;
        check(
            "inlet.ac_ratio",
            self.ac_ratio,
            (2.0..=50.0).contains(&self.ac_ratio),
            "[2, 50]",
        )?;
        let inlet = self.blood_flow * (1.0 + 1.0 / self.ac_ratio);
        check(
            "ports.collect_ml_min",
            self.collect_flow,
            self.collect_flow >= 0.0 && self.collect_flow < inlet,
            "0 ≤ collect flow < channel inlet flow",
        )?;
        check(
            "procedure.citrate",
            self.citrate,
            self.citrate >= 0.0,
            "≥ 0",
        )?;
        check("procedure.step", self.step, self.step > 0.0, "> 0 s")?;
        check(
            "procedure.recompute_tolerance",
            self.recompute_tolerance,
            self.recompute_tolerance > 0.0,
            "> 0",
        )?;
        let s = &self.stop;
        if s.blood_volumes.is_none() && s.time_limit.is_none() && s.product_targets.is_empty() {
            return Err(ProcedureError::InvalidParameter {
                name: "procedure".into(),
                value: f64::NAN,
                allowed:
                    "at least one stop rule: blood_volumes, time_limit_min or a product target"
                        .into(),
            });
        }
        if let Some(v) = s.blood_volumes {
            check(
                "procedure.blood_volumes",
                v,
                v > 0.0 && v <= 10.0,
                "(0, 10]",
            )?;
        }
        if let Some(t) = s.time_limit {
            check(
                "procedure.time_limit_min",
                t / 60.0,
                t > 0.0 && t <= 86_400.0,
                "(0, 1440] min",
            )?;
        }
        for &(i, target) in &s.product_targets {
            check(
                "procedure target",
                target,
                target > 0.0 && i < species,
                "> 0 cells of a species of the run",
            )?;
        }
        for m in self.mobilization.iter().flatten() {
            check(
                "mobilization.rate_per_min",
                m.rate * 60.0,
                m.rate >= 0.0,
                "≥ 0 per min",
            )?;
            check(
                "mobilization.pool_factor",
                m.pool_factor,
                m.pool_factor >= 0.0,
                "≥ 0",
            )?;
        }
        Ok(())
    }

    /// Runs the procedure for `patient` through `separator`.
    pub fn run(
        &self,
        patient: &Patient,
        separator: &mut dyn Separator,
    ) -> Result<ProcedureResult, ProcedureError> {
        let mut run = self.start(patient)?;
        while !run.step(separator)? {}
        run.finish()
    }

    /// Starts the procedure for `patient` as a resumable stepper ([`ProcedureRun`]: one step
    /// at a time, its evolving state saved and restored by [`Checkpoint`]). Stepping it until
    /// it stops and calling [`ProcedureRun::finish`] is [`Procedure::run`].
    ///
    /// # Errors
    /// Invalid settings.
    pub fn start<'a>(&'a self, patient: &'a Patient) -> Result<ProcedureRun<'a>, ProcedureError> {
        let ns = patient.per_m3.len();
        self.validate(ns)?;
        let volume = patient.blood_volume();
        let dilution = self.ac_ratio / (self.ac_ratio + 1.0);
        let ac_flow = self.blood_flow / self.ac_ratio;
        let inlet_flow = self.blood_flow + ac_flow;
        let product_share = self.collect_flow / inlet_flow;
        let citrate_rate = to_mg_per_kg_per_min(
            citrate_infusion_rate(ac_flow, self.citrate, product_share),
            patient.weight,
        );
        let n: Vec<f64> = patient.per_m3.iter().map(|c| c * volume).collect();
        let pool: Vec<f64> = (0..ns)
            .map(|i| {
                self.mobilization
                    .get(i)
                    .copied()
                    .flatten()
                    .map_or(0.0, |m| m.pool_factor * n[i])
            })
            .collect();
        let rates: Vec<f64> = (0..ns)
            .map(|i| {
                self.mobilization
                    .get(i)
                    .copied()
                    .flatten()
                    .map_or(0.0, |m| m.rate)
            })
            .collect();
        Ok(ProcedureRun {
            procedure: self,
            patient,
            ns,
            volume,
            dilution,
            citrate_rate,
            rates,
            t_end: self.stop_time_bound(volume),
            n,
            pool,
            bag: vec![0.0; ns],
            removed: vec![0.0; ns],
            t: 0.0,
            fractions: None,
            reference_inlet: Vec::new(),
            calls: 0,
            samples: Vec::new(),
            stop_reason: None,
        })
    }

    /// The earliest of the time limit and the blood-volume limit (s).
    fn stop_time_bound(&self, volume: f64) -> f64 {
        let by_volume = self
            .stop
            .blood_volumes
            .map_or(f64::INFINITY, |bv| bv * volume / self.blood_flow);
        let by_time = self.stop.time_limit.unwrap_or(f64::INFINITY);
        // With only product targets, cap at 24 h so a target that is never reached still ends.
        by_volume.min(by_time).min(86_400.0)
    }

    fn bound_reason(&self, volume: f64) -> StopReason {
        let by_volume = self
            .stop
            .blood_volumes
            .map_or(f64::INFINITY, |bv| bv * volume / self.blood_flow);
        let by_time = self.stop.time_limit.unwrap_or(f64::INFINITY);
        if by_volume <= by_time {
            StopReason::BloodVolumes
        } else {
            StopReason::TimeLimit
        }
    }

    /// Drift test: hematocrit or total nucleated-cell volume fraction changed by more than the
    /// tolerance (relative), or any species by more than the tolerance relative to the larger of
    /// its own and 10⁻³ of the total cell volume fraction.
    fn drifted(&self, reference: &[f64], now: &[f64], patient: &Patient) -> bool {
        let phi = |c: &[f64]| -> Vec<f64> {
            c.iter()
                .zip(&patient.cell_volume)
                .map(|(n, v)| n * v)
                .collect()
        };
        let (p0, p1) = (phi(reference), phi(now));
        let total: f64 = p0.iter().sum();
        p0.iter()
            .zip(&p1)
            .any(|(a, b)| (a - b).abs() > self.recompute_tolerance * a.max(1e-3 * total))
    }
}

/// A procedure in progress (see [`Procedure::start`]).
#[derive(Debug)]
pub struct ProcedureRun<'a> {
    procedure: &'a Procedure,
    patient: &'a Patient,
    ns: usize,
    volume: f64,
    dilution: f64,
    citrate_rate: f64,
    rates: Vec<f64>,
    t_end: f64,
    // evolving state (saved by `Checkpoint`)
    n: Vec<f64>,
    pool: Vec<f64>,
    bag: Vec<f64>,
    removed: Vec<f64>,
    t: f64,
    fractions: Option<PortFractions>,
    reference_inlet: Vec<f64>,
    calls: usize,
    samples: Vec<Sample>,
    stop_reason: Option<StopReason>,
}

impl ProcedureRun<'_> {
    /// Simulated time reached (s).
    pub fn time(&self) -> f64 {
        self.t
    }

    /// The latest time the procedure can stop (s): the earliest of the time limit and the
    /// blood-volume limit (24 h with only product targets).
    pub fn time_bound(&self) -> f64 {
        self.t_end
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.samples.len().saturating_sub(1) as u64
    }

    /// Whether a stop rule has ended the procedure.
    pub fn is_done(&self) -> bool {
        self.stop_reason.is_some()
    }

    fn hematocrit(&self, n: &[f64], vol: f64) -> f64 {
        self.procedure
            .red_cell_species
            .iter()
            .map(|&i| n[i] * self.patient.cell_volume[i])
            .sum::<f64>()
            / vol
    }

    fn sample(&self, t: f64, f: &[f64]) -> Sample {
        let p = self.procedure;
        let volume = self.volume;
        let product_volume = p.collect_flow * t;
        Sample {
            time: t,
            processed_volume: p.blood_flow * t,
            patient_per_m3: self.n.iter().map(|x| x / volume).collect(),
            patient_hematocrit: self.hematocrit(&self.n, volume),
            product_cells: self.bag.to_vec(),
            product_volume,
            product_hematocrit: if product_volume > 0.0 {
                self.hematocrit(&self.bag, product_volume)
            } else {
                0.0
            },
            citrate_rate_mg_kg_min: self.citrate_rate,
            citrate_dose_mg_kg: self.citrate_rate * t / 60.0,
            collect_fraction: f.to_vec(),
        }
    }

    /// One step (at most `step` seconds; shorter where a product target is reached or the
    /// procedure's time bound ends it), re-evaluating `separator` first if the inlet has
    /// drifted. Returns whether the procedure has stopped (then further calls do nothing).
    ///
    /// # Errors
    /// The separator failed or returned fractions for another number of species.
    pub fn step(&mut self, separator: &mut dyn Separator) -> Result<bool, ProcedureError> {
        if self.is_done() {
            return Ok(true);
        }
        let p = self.procedure;
        let ns = self.ns;
        let volume = self.volume;
        // Re-evaluate the separator when the inlet composition has drifted.
        let inlet: Vec<f64> = self.n.iter().map(|x| x / volume * self.dilution).collect();
        let drifted = self.reference_inlet.is_empty()
            || p.drifted(&self.reference_inlet, &inlet, self.patient);
        if drifted {
            let f = separator
                .port_fractions(&inlet)
                .map_err(ProcedureError::Separator)?;
            if f.collect.len() != ns {
                return Err(ProcedureError::Separator(format!(
                    "{} port fractions for {ns} species",
                    f.collect.len()
                )));
            }
            self.fractions = Some(f);
            self.reference_inlet = inlet;
            self.calls += 1;
        }
        let f = self
            .fractions
            .as_ref()
            .expect("evaluated above")
            .collect
            .clone();
        if self.samples.is_empty() {
            let first = self.sample(0.0, &f);
            self.samples.push(first);
        }
        let a: Vec<f64> = f.iter().map(|fi| p.blood_flow * fi / volume).collect();
        let t = self.t;
        let t_end = self.t_end;
        let mut h = p.step.min(t_end - t);
        // A product target reached within this step ends it there (bisection on the exact
        // solution, monotone in time).
        let mut reason = None;
        for &(i, target) in &p.stop.product_targets {
            let (n, pool, bag, rates) = (&self.n, &self.pool, &self.bag, &self.rates);
            let bag_at = |dt: f64| bag[i] + species_step(n[i], pool[i], a[i], rates[i], dt).2;
            if bag_at(h) >= target {
                let (mut lo, mut hi) = (0.0, h);
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if bag_at(mid) >= target {
                        hi = mid
                    } else {
                        lo = mid
                    }
                    if hi - lo <= 1e-12 * (t + hi) {
                        break;
                    }
                }
                if hi <= h {
                    h = hi;
                    reason = Some(StopReason::ProductTarget(i));
                }
            }
        }
        for (i, &ai) in a.iter().enumerate() {
            let (n1, p1, db) = species_step(self.n[i], self.pool[i], ai, self.rates[i], h);
            self.removed[i] += (self.n[i] + self.pool[i]) - (n1 + p1);
            self.n[i] = n1;
            self.pool[i] = p1;
            self.bag[i] += db;
        }
        self.t = t + h;
        let next = self.sample(self.t, &f);
        self.samples.push(next);
        if reason.is_some() {
            self.stop_reason = reason;
        } else if self.t >= t_end * (1.0 - 1e-12) {
            self.stop_reason = Some(p.bound_reason(volume));
        }
        Ok(self.is_done())
    }

    /// The outcome of the stopped procedure.
    ///
    /// # Errors
    /// [`ProcedureError::Separator`] if no stop rule has ended it yet.
    pub fn finish(self) -> Result<ProcedureResult, ProcedureError> {
        let Some(stop_reason) = self.stop_reason else {
            return Err(ProcedureError::Separator(format!(
                "the procedure has not stopped yet (t = {} s)",
                self.t
            )));
        };
        let crossings = CITRATE_RATE_THRESHOLDS_MG_KG_MIN
            .iter()
            .map(|&th| (th, (self.citrate_rate > th).then_some(0.0)))
            .collect();
        Ok(ProcedureResult {
            samples: self.samples,
            stop_reason,
            blood_volume: self.volume,
            pre_per_m3: self.patient.per_m3.clone(),
            separator_calls: self.calls,
            citrate_threshold_crossings: crossings,
            cells_removed: self.removed,
            last_port_fractions: self.fractions,
        })
    }
}

fn save_vec(w: &mut StateWriter, v: &[f64]) {
    w.f64s(v);
}

fn read_vec(r: &mut StateReader<'_>, max: usize) -> Result<Vec<f64>, StateError> {
    let n = r.u64()?;
    if n > max as u64 {
        return Err(StateError(format!(
            "{n} values saved, at most {max} fit this procedure"
        )));
    }
    (0..n).map(|_| r.f64()).collect()
}

impl Checkpoint for ProcedureRun<'_> {
    /// The patient, pool and bag counts, the time, the port fractions in force and the inlet
    /// they were evaluated for, the separator calls, the stop reason and every sample so far.
    fn save_state(&self, w: &mut StateWriter) {
        w.tag("procedure");
        w.f64(self.t);
        for v in [&self.n, &self.pool, &self.bag, &self.removed] {
            save_vec(w, v);
        }
        match &self.fractions {
            Some(f) => {
                w.u64(1);
                for v in [&f.collect, &f.plasma, &f.red_cells] {
                    save_vec(w, v);
                }
            }
            None => w.u64(0),
        }
        save_vec(w, &self.reference_inlet);
        w.u64(self.calls as u64);
        w.u64(match self.stop_reason {
            None => 0,
            Some(StopReason::BloodVolumes) => 1,
            Some(StopReason::TimeLimit) => 2,
            Some(StopReason::ProductTarget(i)) => 3 + i as u64,
        });
        w.u64(self.samples.len() as u64);
        for s in &self.samples {
            for x in [
                s.time,
                s.processed_volume,
                s.patient_hematocrit,
                s.product_volume,
                s.product_hematocrit,
                s.citrate_rate_mg_kg_min,
                s.citrate_dose_mg_kg,
            ] {
                w.f64(x);
            }
            for v in [&s.patient_per_m3, &s.product_cells, &s.collect_fraction] {
                save_vec(w, v);
            }
        }
    }

    fn restore_state(&mut self, r: &mut StateReader<'_>) -> Result<(), StateError> {
        let ns = self.ns;
        r.tag("procedure")?;
        self.t = r.f64()?;
        r.f64s_into("patient counts", &mut self.n)?;
        r.f64s_into("pool counts", &mut self.pool)?;
        r.f64s_into("bag counts", &mut self.bag)?;
        r.f64s_into("removed counts", &mut self.removed)?;
        self.fractions = match r.u64()? {
            0 => None,
            _ => {
                let mut f = PortFractions {
                    collect: vec![0.0; ns],
                    plasma: vec![0.0; ns],
                    red_cells: vec![0.0; ns],
                };
                r.f64s_into("collect fractions", &mut f.collect)?;
                r.f64s_into("plasma fractions", &mut f.plasma)?;
                r.f64s_into("red-cell fractions", &mut f.red_cells)?;
                Some(f)
            }
        };
        self.reference_inlet = read_vec(r, ns)?;
        self.calls = usize::try_from(r.u64()?).map_err(|_| StateError("calls".into()))?;
        self.stop_reason = match r.u64()? {
            0 => None,
            1 => Some(StopReason::BloodVolumes),
            2 => Some(StopReason::TimeLimit),
            k if k - 3 < ns as u64 => Some(StopReason::ProductTarget((k - 3) as usize)),
            k => return Err(StateError(format!("stop reason {k}"))),
        };
        let count = r.u64()?;
        // Steps are at least `step` long except the last: a bound on the samples of this run.
        let max = (self.t_end / self.procedure.step).ceil() as u64 + 3;
        if count > max {
            return Err(StateError(format!(
                "{count} samples saved, at most {max} fit this procedure"
            )));
        }
        let mut samples = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let mut x = [0.0; 7];
            for v in &mut x {
                *v = r.f64()?;
            }
            let mut s = Sample {
                time: x[0],
                processed_volume: x[1],
                patient_hematocrit: x[2],
                product_volume: x[3],
                product_hematocrit: x[4],
                citrate_rate_mg_kg_min: x[5],
                citrate_dose_mg_kg: x[6],
                patient_per_m3: vec![0.0; ns],
                product_cells: vec![0.0; ns],
                collect_fraction: vec![0.0; ns],
            };
            r.f64s_into("patient concentrations", &mut s.patient_per_m3)?;
            r.f64s_into("product cells", &mut s.product_cells)?;
            r.f64s_into("collect fractions", &mut s.collect_fraction)?;
            samples.push(s);
        }
        self.samples = samples;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConstantSeparator, Sex};

    fn patient() -> Patient {
        // Two species: "red cells" 5e6/µL of 87 fL, "white cells" 1e5/µL of 400 fL.
        Patient::new(
            Sex::Male,
            1.75,
            70.0,
            vec![5e15, 1e14],
            vec![87e-18, 400e-18],
        )
        .unwrap()
    }

    fn procedure(stop: StopRules) -> Procedure {
        Procedure {
            blood_flow: 50e-6 / 60.0,
            ac_ratio: 12.0,
            collect_flow: 1.5e-6 / 60.0,
            citrate: crate::citrate::ACD_A_CITRATE_KG_M3,
            mobilization: vec![None, None],
            stop,
            step: 60.0,
            recompute_tolerance: 0.02,
            red_cell_species: vec![0],
        }
    }

    fn constant(f: [f64; 2]) -> ConstantSeparator {
        ConstantSeparator(PortFractions {
            collect: f.to_vec(),
            plasma: vec![0.0, 0.3],
            red_cells: vec![1.0 - f[0], 0.7 - f[1]],
        })
    }

    /// Constant port fractions, no mobilisation: C(V) = C₀ exp(−CE·V/TBV) at every sample, and
    /// the bag holds exactly what left the patient.
    #[test]
    fn washout_solution_and_cell_balance() {
        let p = patient();
        let proc_ = procedure(StopRules {
            blood_volumes: Some(2.0),
            ..Default::default()
        });
        let res = proc_.run(&p, &mut constant([0.002, 0.45])).unwrap();
        assert_eq!(res.stop_reason, StopReason::BloodVolumes);
        let tbv = p.blood_volume();
        for s in &res.samples {
            for (i, ce) in [0.002f64, 0.45].iter().enumerate() {
                let exact = p.per_m3[i] * (-ce * s.processed_volume / tbv).exp();
                assert!(
                    (s.patient_per_m3[i] / exact - 1.0).abs() < 1e-12,
                    "t = {}",
                    s.time
                );
            }
        }
        let last = res.last();
        assert!((last.processed_volume / tbv - 2.0).abs() < 1e-12);
        for i in 0..2 {
            let left = p.per_m3[i] * tbv - last.patient_per_m3[i] * tbv;
            assert!((last.product_cells[i] / left - 1.0).abs() < 1e-10);
            assert!((res.cells_removed[i] / last.product_cells[i] - 1.0).abs() < 1e-10);
        }
        // Washout after 2 TBV at CE 0.45: exp(−0.9) = 40.7 % remain.
        assert!((last.patient_per_m3[1] / p.per_m3[1] - (-0.9f64).exp()).abs() < 1e-12);
        // CE2 equals the constant collect fraction × mean concentration / pre (for washout:
        // (1 − e^{−x})/x with x = CE·V/TBV).
        let x: f64 = 0.45 * 2.0;
        assert!((res.ce2()[1] - 0.45 * (1.0 - (-x).exp()) / x).abs() < 1e-12);
    }

    #[test]
    fn mobilisation_keeps_the_balance_and_raises_the_yield() {
        let p = patient();
        let mut proc_ = procedure(StopRules {
            time_limit: Some(3.0 * 3600.0),
            ..Default::default()
        });
        let base = proc_.run(&p, &mut constant([0.002, 0.45])).unwrap();
        proc_.mobilization = vec![
            None,
            Some(Mobilization {
                rate: 1.0 / 3600.0,
                pool_factor: 1.0,
            }),
        ];
        let mobil = proc_.run(&p, &mut constant([0.002, 0.45])).unwrap();
        assert!(mobil.last().product_cells[1] > base.last().product_cells[1]);
        let removed = mobil.cells_removed[1];
        assert!((mobil.last().product_cells[1] / removed - 1.0).abs() < 1e-10);
        // Total conserved: circulating + pool + bag = initial × (1 + pool factor).
        let tbv = p.blood_volume();
        let pool_left = p.per_m3[1] * tbv * (-3.0f64).exp();
        let total =
            mobil.last().patient_per_m3[1] * tbv + pool_left + mobil.last().product_cells[1];
        assert!((total / (2.0 * p.per_m3[1] * tbv) - 1.0).abs() < 1e-10);
    }

    #[test]
    fn stop_rules_whichever_first() {
        let p = patient();
        let proc_ = procedure(StopRules {
            blood_volumes: Some(2.0),
            time_limit: Some(1800.0),
            ..Default::default()
        });
        let res = proc_.run(&p, &mut constant([0.0, 0.5])).unwrap();
        assert_eq!(res.stop_reason, StopReason::TimeLimit);
        assert!((res.last().time - 1800.0).abs() < 1e-9);
        // Product target: 2e11 white cells (of 4.8e11 circulating), reached exactly (bisection to 1e-12 relative).
        let proc_ = procedure(StopRules {
            blood_volumes: Some(3.0),
            product_targets: vec![(1, 2e11)],
            ..Default::default()
        });
        let res = proc_.run(&p, &mut constant([0.0, 0.5])).unwrap();
        assert_eq!(res.stop_reason, StopReason::ProductTarget(1));
        assert!((res.last().product_cells[1] / 2e11 - 1.0).abs() < 1e-9);
        assert!(
            procedure(StopRules::default())
                .run(&p, &mut constant([0.0, 0.5]))
                .is_err()
        );
    }

    /// A separator whose collect fraction follows the inlet (so re-evaluations matter).
    struct Drifting;

    impl Separator for Drifting {
        fn port_fractions(&mut self, inlet: &[f64]) -> Result<PortFractions, String> {
            let c: Vec<f64> = inlet.iter().map(|&x| 0.6 * x / (x + 1e12)).collect();
            Ok(PortFractions {
                plasma: vec![0.0; c.len()],
                red_cells: c.iter().map(|x| 1.0 - x).collect(),
                collect: c,
            })
        }
    }

    #[test]
    fn a_procedure_stopped_saved_and_restored_continues_bitwise_identically() {
        let p = patient();
        let mut proc_ = procedure(StopRules {
            blood_volumes: Some(2.0),
            product_targets: vec![(1, 3e11)],
            ..Default::default()
        });
        proc_.mobilization = vec![
            None,
            Some(Mobilization {
                rate: 1e-4,
                pool_factor: 0.5,
            }),
        ];
        let whole = proc_.run(&p, &mut Drifting).unwrap();
        assert!(whole.separator_calls > 2 && whole.samples.len() > 10);
        for stop_after in [0, 1, 5, whole.samples.len() - 2] {
            let mut first = proc_.start(&p).unwrap();
            for _ in 0..stop_after {
                first.step(&mut Drifting).unwrap();
            }
            let mut w = StateWriter::new();
            first.save_state(&mut w);
            let bytes = w.into_bytes();
            let mut resumed = proc_.start(&p).unwrap();
            let mut r = StateReader::new(&bytes);
            resumed.restore_state(&mut r).unwrap();
            assert!(r.finished());
            while !resumed.step(&mut Drifting).unwrap() {}
            assert_eq!(
                resumed.finish().unwrap(),
                whole,
                "stopped after {stop_after}"
            );
        }
        // A state of another procedure (other species count) is refused.
        let mut w = StateWriter::new();
        proc_.start(&p).unwrap().save_state(&mut w);
        let bytes = w.into_bytes();
        let mut other = p.clone();
        other.per_m3.push(1.0);
        other.cell_volume.push(1e-16);
        let mut run = proc_.start(&other).unwrap();
        assert!(run.restore_state(&mut StateReader::new(&bytes)).is_err());
    }

    #[test]
    fn citrate_rate_and_dose() {
        let p = patient();
        let res = procedure(StopRules {
            time_limit: Some(3600.0),
            ..Default::default()
        })
        .run(&p, &mut constant([0.0, 0.5]))
        .unwrap();
        // 50/12 mL/min ACD-A × 21.67 mg/mL × (1 − 1.5/54.1667) / 70 kg.
        let expected = 50.0 / 12.0 * 21.67 * (1.0 - 1.5 / (50.0 * 13.0 / 12.0)) / 70.0;
        let s = res.last();
        assert!((s.citrate_rate_mg_kg_min - expected).abs() < 1e-12);
        assert!((s.citrate_dose_mg_kg - expected * 60.0).abs() < 1e-9);
        assert_eq!(res.citrate_threshold_crossings[0], (1.0, Some(0.0)));
        assert_eq!(res.citrate_threshold_crossings[1], (1.8, None));
    }
}
