#!/usr/bin/env python3
"""Why the channel's port predictions miss the published collections (issue 12, "Realistic").

Runs the leukapheresis channel preset with the collect hematocrit held at 0.04 (the median
product hematocrit of the Spectra Optia MNC study, docs/physics.md §10.1) and

1. prints the exit profile around the buffy coat (flux coordinate ξ, radius, hematocrit, the
   volume fraction of platelets, lymphocytes, monocytes and neutrophils) and where each species
   leaves: above the top of the red-cell bed or inside it;
2. prints the sigma-theory numbers of the platelets: their Stokes speed in plasma at the
   channel's acceleration, the settling capacity u·L·h against the plasma flow (Ambler's
   criterion, docs/physics.md §8.5) and the distance they settle in one residence time;
3. runs variants of the closures and of the operating point (bed consolidation, red-cell
   aggregation from the ESR, shear-induced diffusion, rotor speed) and prints the port
   quantities the issue's "Realistic" point is judged on.

Nothing is fitted here. Findings and their interpretation: docs/physics.md §10.14.

Usage: python3 benches/realism_probe.py [path/to/buffycoat] [--quick]
(build first: cargo build --release -p buffycoat; needs h5py for part 1).
"""

import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "data", "scenarios", "leukapheresis_channel.toml")
BASE = ["ports.collect_hematocrit=0.04"]

# the preset's numbers (data/scenarios/leukapheresis_channel.toml) and the library values
# (data/species.toml: platelet 1.070 g/mL, 7.5 fL, shape factor 1.04; plasma at 37 °C,
# crates/physics/src/fluid.rs: 1020.5 kg/m³, 1.39 mPa·s)
RPM, R_MID, LENGTH, HEIGHT = 2400.0, 0.101, 0.625, 0.080
PLT_RHO, PLT_VOL, PLT_CHI = 1070.0, 7.5e-18, 1.04
WBC = {"lymphocyte": (1075.0, 247e-18), "monocyte": (1072.0, 534e-18), "neutrophil": (1085.0, 468e-18)}
PLASMA_RHO, PLASMA_MU = 1020.5, 1.39e-3

VARIANTS = [
    ("preset closures (no aggregation, no consolidation)", []),
    ("shear-induced diffusion K = 0.41", ["flow.shear_diffusion_coefficient=0.41"]),
    ("bed consolidation (calibrated, §9.3)", ["consolidation.modulus_pa=5"]),
    ("bed consolidation without the network closure", ["consolidation.modulus_pa=5", "consolidation.network_width=0"]),
    ("red-cell aggregation, ESR 10 mm/h (§4.5)", ["hindrance.esr_mm_h=10"]),
    ("rotor 1800 rpm", ["rotor.rpm=1800"]),
    ("rotor 3000 rpm", ["rotor.rpm=3000"]),
    ("consolidation, 1800 rpm", ["consolidation.modulus_pa=5", "rotor.rpm=1800"]),
    ("consolidation without the network closure, 1800 rpm",
     ["consolidation.modulus_pa=5", "consolidation.network_width=0", "rotor.rpm=1800"]),
    ("aggregation ESR 10, 600 rpm", ["hindrance.esr_mm_h=10", "rotor.rpm=600"]),
    ("aggregation ESR 10, 400 rpm", ["hindrance.esr_mm_h=10", "rotor.rpm=400"]),
    ("collect Hct set-point 0.02", ["ports.collect_hematocrit=0.02"]),
    ("collect Hct set-point 0.15", ["ports.collect_hematocrit=0.15"]),
    ("donor hematocrit 0.35", ["blood.hematocrit=0.35"]),
    ("donor hematocrit 0.40", ["blood.hematocrit=0.40"]),
    ("donor hematocrit 0.50", ["blood.hematocrit=0.50"]),
]


def run(binary, sets, tmp, output=False):
    summary = os.path.join(tmp, "s.json")
    cmd = [binary, "run", "--quiet", SCENARIO, "--summary", summary, "--force"]
    cmd += ["-o", os.path.join(tmp, "s.h5")] if output else ["--no-output"]
    for s in BASE + sets:
        cmd += ["--set", s]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1]
    with open(summary) as f:
        return json.load(f), None


def stokes(rho, vol, chi, accel):
    d = (6.0 * vol / math.pi) ** (1.0 / 3.0)
    return d * d * (rho - PLASMA_RHO) * accel / (18.0 * PLASMA_MU * chi), d


def port_row(s):
    c = s["ports"]["collect"]["species"]
    per_ul = {k: v["per_ul"] for k, v in c.items()}
    white = sum(v for k, v in per_ul.items() if k not in ("rbc", "platelet"))
    gran = per_ul.get("neutrophil", 0.0) / white if white else 0.0
    f = {k: 100.0 * v["fraction"] for k, v in c.items()}
    mnc = 100.0 * (s.get("mononuclear_collection_efficiency") or 0.0)
    return (s["ports"]["plasma"]["flow_ml_min"], f["lymphocyte"], f["monocyte"], mnc,
            f["platelet"], f["neutrophil"], 100.0 * gran, s["ports"]["collect"]["hematocrit"])


def profile(path):
    try:
        import h5py
    except ImportError:
        print("(h5py not installed: exit profile skipped)")
        return
    with h5py.File(path) as f:
        c = f["/fields/channel"]
        xi, r = c["flux_coordinate_m"][:], c["radius_m"][:]
        vf, hct = c["volume_fraction"][-1], c["hematocrit"][-1]
        cuts = c["port_split_radius_m"][:]
    k = vf.shape[1] // 5  # classes per species, species order rbc, platelet, lymphocyte, monocyte, neutrophil
    sp = {n: vf[:, i * k:(i + 1) * k].sum(axis=1) for i, n in
          enumerate(["rbc", "platelet", "lymphocyte", "monocyte", "neutrophil"])}
    bed = next(j for j in range(len(xi)) if hct[j] > 0.5)
    # cell widths in ξ (the grid is refined at the buffy coat): faces halfway between centres
    faces = [0.0] + [0.5 * (a + b) for a, b in zip(xi[:-1], xi[1:])] + [2.0 * xi[-1] - (0.5 * (xi[-2] + xi[-1]))]
    width = [b - a for a, b in zip(faces[:-1], faces[1:])]
    print(f"exit profile (cell-centre values; port cuts at r = {cuts[0] * 1e3:.4f} / {cuts[1] * 1e3:.4f} mm):")
    print("| ξ (µm) | r (mm) | Hct | platelet | lymphocyte | monocyte | neutrophil |")
    print("|---|---|---|---|---|---|---|")
    for j in range(len(xi)):
        if sp["platelet"][j] + sp["lymphocyte"][j] + sp["monocyte"][j] > 1e-3 or bed <= j < bed + 3:
            print(f"| {xi[j] * 1e6:.0f} | {r[j] * 1e3:.4f} | {hct[j]:.3f} | {sp['platelet'][j]:.4f} | "
                  f"{sp['lymphocyte'][j]:.5f} | {sp['monocyte'][j]:.5f} | {sp['neutrophil'][j]:.5f} |")
    print(f"\nshare of each species' exit flux inside the red-cell bed (Hct > 0.5, from ξ = {xi[bed] * 1e6:.0f} µm):")
    for n in ["platelet", "lymphocyte", "monocyte", "neutrophil"]:
        flux = [sp[n][j] * width[j] for j in range(len(xi))]
        print(f"- {n}: {100.0 * sum(flux[bed:]) / sum(flux):.1f} %")
    print(f"- bed hematocrit just below its top: {hct[bed + 2]:.3f}; at the outer wall: {hct[-1]:.3f}")


def main():
    args = sys.argv[1:]
    binary = os.path.join(ROOT, "target", "release", "buffycoat")
    if args and not args[0].startswith("--"):
        binary = args.pop(0)
    quick = "--quick" in args
    with tempfile.TemporaryDirectory() as tmp:
        s, err = run(binary, [], tmp, output=True)
        if s is None:
            sys.exit(f"error: {err}")
        profile(os.path.join(tmp, "s.h5"))

        omega = RPM * 2.0 * math.pi / 60.0
        accel = omega * omega * R_MID
        t_res = s["duration_s"]
        q_p = s["ports"]["plasma"]["flow_ml_min"]
        u_p, d_p = stokes(PLT_RHO, PLT_VOL, PLT_CHI, accel)
        cap = u_p * LENGTH * HEIGHT * 6e7  # mL/min
        print(f"\nplatelets at {RPM:.0f} rpm ({accel / 9.80665:.0f} g), residence time {t_res:.1f} s:")
        print(f"- Stokes speed in plasma {u_p * 1e6:.1f} µm/s (d = {d_p * 1e6:.2f} µm); settles "
              f"{u_p * t_res * 1e3:.1f} mm in one residence time (channel depth 2 mm)")
        print(f"- settling capacity u·L·h = {cap:.0f} mL/min against the plasma flow {q_p:.1f} mL/min "
              f"(ratio {cap / q_p:.1f}; a platelet CE of ~15 % with most platelets leaving in the plasma "
              f"needs a ratio well below 1)")
        for n, (rho, vol) in WBC.items():
            u, d = stokes(rho, vol, 1.0, accel)
            print(f"- {n} in plasma: {u * 1e6:.0f} µm/s (d = {d * 1e6:.1f} µm), {u / u_p:.1f} × the platelet speed")

        print("\n| variant (collect Hct 0.04) | plasma mL/min | CE lymphocyte | CE monocyte | MNC CE | "
              "platelet CE | neutrophil CE | granulocytes / product WBC | product Hct |")
        print("|---|---|---|---|---|---|---|---|---|")
        for label, sets in (VARIANTS[:2] if quick else VARIANTS):
            s, err = run(binary, sets, tmp)
            if s is None:
                print(f"| {label} | error: {err[:160]} |" + " |" * 7)
                continue
            qp, ly, mo, mnc, plt, ne, gr, hct = port_row(s)
            print(f"| {label} | {qp:.2f} | {ly:.1f} | {mo:.1f} | {mnc:.1f} | {plt:.1f} | {ne:.2f} | {gr:.1f} | {hct:.3f} |")
        print("| **published** (docs/physics.md §10.1) | | | | 40–61 | 8–27 | | 1.7–15 | 0.02–0.05 |")


if __name__ == "__main__":
    main()
