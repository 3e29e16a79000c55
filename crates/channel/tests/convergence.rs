//! Grid convergence of the port quantities with the radial refinement at the buffy coat
//! (docs/physics.md §10.8): the leukapheresis channel (whole blood, 3 red-cell classes) with the
//! collect hematocrit held at 4 %, at 100, 200 and 400 radial cells (40 stations: the
//! along-channel resolution hardly matters). The full-size study is
//! `python3 benches/channel_convergence.py` (README, "Grid convergence of the channel").

mod common;

use buffycoat_channel::{CellRoles, ChannelConfig, InterfaceTarget, SpeciesReport};
use buffycoat_physics::units::ml_per_min_to_m3_per_s;
use common::{channel, preset_config, whole_blood};

/// Port quantities in per cent: CE of every species, platelet loss, product hematocrit and
/// the white-cell purities.
fn quantities(report: &SpeciesReport) -> Vec<f64> {
    let mut q: Vec<f64> = report.collection_efficiency.clone();
    q.push(report.platelet_loss);
    q.push(report.ports[1].hematocrit);
    q.extend(&report.purity_white_cells);
    q.iter().map(|v| 100.0 * v).collect()
}

fn solve(radial: usize, refine: Option<f64>) -> Vec<f64> {
    let mut c: ChannelConfig = preset_config();
    c.radial_cells = radial;
    c.along_cells = 40;
    c.refine_interface = refine;
    let roles = CellRoles::standard();
    let sol = channel(c, whole_blood(3))
        .solve_implicit()
        .unwrap()
        .with_collect_hematocrit(&roles, ml_per_min_to_m3_per_s(1.0), 0.04)
        .unwrap();
    quantities(&sol.species_report(&roles).unwrap())
}

fn largest_change(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Refined: on this cheap case (40 stations) 2× → 4× changes every port quantity by ≤ 2
/// points and 1× is within 5.5 points of 4× (observed 1.80 and 5.09, monocyte CE: the coarse
/// along-channel resolution of the test costs accuracy — its 1× monocyte CE is 1.15 points
/// off that at 400 stations, 43.30 %; 1.40 and 4.11 before the march's nonmonotone line
/// search, whose 14 subdivided stations of 40 happened to halve Δτ there and at 1× cut that
/// error to 0.46, while at 4× they raised it from 0.02 to 0.28; at 200 stations the two
/// agree to 0.003 points; benches/README.md, seventh pass); the acceptance bounds of issue 12
/// (≤ 1 and ≤ 2 points) are met at the preset's own resolution, 100 × 200 … 400 × 800
/// (observed 0.59 and 1.59; README). The uniform default grid is 41 points off the refined
/// 4× grid (the check is not vacuous).
#[test]
fn refined_port_quantities_converge() {
    let refined: Vec<Vec<f64>> = [100, 200, 400]
        .iter()
        .map(|&r| solve(r, Some(0.015)))
        .collect();
    let uniform = solve(100, None);
    let (d24, d14) = (
        largest_change(&refined[1], &refined[2]),
        largest_change(&refined[0], &refined[2]),
    );
    let d_uniform = largest_change(&uniform, &refined[2]);
    println!(
        "refined: 2x→4x {d24:.3}, 1x→4x {d14:.3} points; uniform 1x vs refined 4x {d_uniform:.3}"
    );
    assert!(d24 <= 2.0, "{refined:?}");
    assert!(d14 <= 5.5, "{refined:?}");
    assert!(d_uniform > 10.0, "{uniform:?}");
}

/// rpm smoothness: with the collect hematocrit at 4 % and the refinement, a short `rotor.rpm`
/// sweep (2300–2500 in steps of 50 at the preset's 100 × 200 cells, where the issue saw the
/// uniform grid jump by 60 points) has no jump off the trend: every second difference of every
/// port quantity is ≤ 1 point. (This library case, with 3 red-cell classes, has a steep but
/// smooth trend — monocyte CE +5.2 points per 50 rpm, second differences ≤ 0.4 — so the
/// issue's neighbour bound of 3 points is measured on the preset itself: ≤ 2.95 points over
/// the 25-point sweep 1800–3000, README.)
#[test]
fn refined_rpm_sweep_is_smooth() {
    let roles = CellRoles::standard();
    let points: Vec<Vec<f64>> = [2300.0, 2350.0, 2400.0, 2450.0, 2500.0]
        .iter()
        .map(|&rpm| {
            let mut c: ChannelConfig = preset_config();
            c.rpm = rpm;
            c.refine_interface = Some(0.015);
            let sol = channel(c, whole_blood(3))
                .solve_implicit()
                .unwrap()
                .with_collect_hematocrit(&roles, ml_per_min_to_m3_per_s(1.0), 0.04)
                .unwrap();
            quantities(&sol.species_report(&roles).unwrap())
        })
        .collect();
    let worst = largest_second_difference(&points);
    println!("largest second difference {worst:.3} points");
    assert!(worst <= 1.0, "{points:?}");
}

/// The refined march couples in its Newton Jacobian every class that has become concentrated
/// (the packed platelets and the buffy coat resolved by the refinement; `promote_concentrated`
/// in channel.rs): the decoupled iteration would stall there and each such station would be
/// solved twice (the full preset had 34 exact-Jacobian retries in 200 stations before, 1
/// after). On this refined case (the preset at 100 × 200, 3 red-cell classes) at most 2
/// stations need the retry (observed 1), and the port fractions agree with those of the
/// exact-Jacobian march (`coupling_threshold = 0`) within 2·10⁻³ (absolute, 0.2 points;
/// observed 4.0e-4: the two marches subdivide different stations, and a sub-stepped station
/// is a slightly different backward-Euler discretisation, so they agree to the discretisation
/// error of a step, not to the Newton tolerance).
#[test]
fn refined_march_couples_concentrated_classes() {
    let mut c: ChannelConfig = preset_config();
    c.refine_interface = Some(0.015);
    let mut exact = c.clone();
    exact.implicit.coupling_threshold = 0.0;
    let sol = channel(c, whole_blood(3)).solve_implicit().unwrap();
    let reference = channel(exact, whole_blood(3)).solve_implicit().unwrap();
    let stats = sol.stats().newton;
    println!("{stats:?}\nexact Jacobian: {:?}", reference.stats().newton);
    let mut worst = 0.0f64;
    for (a, b) in sol
        .class_port_fractions()
        .iter()
        .zip(reference.class_port_fractions())
    {
        for (x, y) in a.iter().zip(b) {
            worst = worst.max((x - y).abs());
        }
    }
    println!("largest difference {worst:e}");
    assert!(worst <= 2e-3, "{worst:e}");
    assert!(stats.exact_retries <= 2, "{stats:?}");
}

/// rpm smoothness with the white-cell interface controller (`ports.interface_control`,
/// docs/physics.md §6.5): the band is centred on the half-maximum peak of the collected
/// white-cell count, so its edges stay off the packed platelet and white-cell sheets. Around
/// the 2700→2750 rpm step where the previous controller (argmax of the count) jumped by 19
/// points in platelet CE on the preset, this library case (refined 100 × 200, 3 red-cell
/// classes) has no jump off the trend: every second difference of every port quantity is ≤ 1
/// point (observed 0.60, monocyte CE, on a steep smooth trend of +3.2…4.2 points per 50 rpm,
/// as in `refined_rpm_sweep_is_smooth`; the neighbour bound of 3 points is measured on the
/// preset: 2.90 points over the 25-point sweep, README), and the platelet CE stays ≥ 0.5 (the
/// band holds the whole platelet sheet; observed 0.87–0.88).
#[test]
fn interface_controller_rpm_sweep_is_smooth() {
    let roles = CellRoles::standard();
    let names: Vec<String> = ["rbc", "platelet", "lymphocyte", "monocyte", "neutrophil"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let points: Vec<Vec<f64>> = [2650.0, 2700.0, 2750.0, 2800.0]
        .iter()
        .map(|&rpm| {
            let mut c: ChannelConfig = preset_config();
            c.rpm = rpm;
            c.refine_interface = Some(0.015);
            let sol = channel(c, whole_blood(3))
                .solve_implicit()
                .unwrap()
                .with_interface_control(
                    &InterfaceTarget::WhiteCells,
                    &names,
                    &roles,
                    ml_per_min_to_m3_per_s(1.0),
                )
                .unwrap();
            let report = sol.species_report(&roles).unwrap();
            assert!(report.platelet_loss >= 0.5, "{rpm}: {report:?}");
            quantities(&report)
        })
        .collect();
    let worst = largest_second_difference(&points);
    println!("{points:?}\nlargest second difference {worst:.3} points");
    assert!(worst <= 1.0, "{points:?}");
}

/// The largest |q(k+1) − 2 q(k) + q(k−1)| over neighbouring sweep points and port quantities
/// (points): a jump between two points shows as a large second difference, a steady trend not.
fn largest_second_difference(points: &[Vec<f64>]) -> f64 {
    let mut worst = 0.0f64;
    for w in points.windows(3) {
        for ((a, b), c) in w[0].iter().zip(&w[1]).zip(&w[2]) {
            worst = worst.max((c - 2.0 * b + a).abs());
        }
    }
    worst
}
