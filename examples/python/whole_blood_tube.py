"""Whole blood in a tube (hindered settling): red-cell volume fraction over radius at a few
times, and the layer interfaces."""

import matplotlib.pyplot as plt

import buffycoat
from _common import SCENARIOS, out_dir

out = out_dir(__doc__)
# A shorter spin than the preset (same physics) so the example runs in seconds.
r = buffycoat.run(
    SCENARIOS / "whole_blood_tube.toml",
    set={"run.duration_s": 120, "run.output_interval_s": 20, "grid.radial_cells": 100},
)
vf = r.series("/fields/volume_fraction")  # value [T][Nr][S], dimensionless
species = r.labels["/fields/volume_fraction"]["species"]
classes = r.labels["/fields/volume_fraction"]["names"]
red = [k for k, s in enumerate(species) if s == "rbc"]
fig, ax = plt.subplots(figsize=(6, 4))
cmap = plt.get_cmap("viridis")
for i, t in enumerate(vf["time"]):
    ax.plot(r.radius * 1e3, vf["value"][i][:, red].sum(axis=1), color=cmap(i / (len(vf["time"]) - 1)),
            label=f"{t:.0f} s")
ax.set_xlabel("radius [mm]")
ax.set_ylabel("red-cell volume fraction")
ax.legend(fontsize=7, ncol=2)
fig.tight_layout()
fig.savefig(out / "whole_blood_red_cells.png", dpi=120)
layers = r.summary["layers"]
print("classes:", ", ".join(classes))
print("layers:", {k: v for k, v in layers.items() if not isinstance(v, dict)})
print(out / "whole_blood_red_cells.png")
