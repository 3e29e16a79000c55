mod common;
use buffycoat_channel::*;
use common::*;
#[test]
fn probe() {
    for (r, a) in [(100, 200), (400, 800)] {
        let mut c = preset_config();
        c.radial_cells = r;
        c.along_cells = a;
        c.refine_interface = Some(0.03);
        let ch = Channel::new(c, whole_blood(3)).unwrap();
        let sol = ch.solve_implicit().unwrap();
        let g = sol.grid();
        let n = sol.classes().len();
        let names: Vec<String> = sol.classes().iter().map(|c| c.species.clone()).collect();
        let exit = sol.station(g.along_cells());
        println!("{r}x{a}: cuts {:?}", g.cuts.map(|x| x / g.depth));
        for j in 0..g.radial_cells() {
            let x = g.xi_centres[j] / g.depth;
            if x < 0.40 || x > 0.56 {
                continue;
            }
            let cell = &exit[j * n..(j + 1) * n];
            let tot: f64 = cell.iter().sum();
            let plt: f64 = (0..n)
                .filter(|&i| names[i] == "platelet")
                .map(|i| cell[i])
                .sum();
            let wbc: f64 = (0..n)
                .filter(|&i| names[i] == "lymphocyte" || names[i] == "monocyte")
                .map(|i| cell[i])
                .sum();
            println!(
                "  xi {x:.4} w {:.2e} tot {tot:.3} plt {plt:.3e} mnc {wbc:.3e}",
                g.cell_dxi[j] / g.depth
            );
        }
    }
}
