"""The continuous-flow channel: a sweep over rotor speed and collect flow, with the
lymphocyte collection efficiency as a heatmap."""

import matplotlib.pyplot as plt

import buffycoat
from _common import SCENARIOS, out_dir

out = out_dir(__doc__)
s = buffycoat.sweep(
    SCENARIOS / "leukapheresis_channel.toml",
    vary={"rotor.rpm": "1600:2800:4", "ports.collect_ml_min": "0.5:2:4"},
    set={"grid.along_cells": 60, "grid.radial_cells": 60},
)
assert (s.status == 0).all(), s.errors
ce = s.grid("collection_efficiency.lymphocyte")
rpm = s.grid("rotor.rpm")[:, 0]
collect = s.grid("ports.collect_ml_min")[0, :]
fig, ax = plt.subplots(figsize=(6, 4))
mesh = ax.pcolormesh(collect, rpm, ce, shading="nearest", cmap="viridis")
fig.colorbar(mesh, ax=ax, label="lymphocyte collection efficiency")
ax.set_xlabel("collect flow [mL/min]")
ax.set_ylabel("rotor speed [rpm]")
fig.tight_layout()
fig.savefig(out / "channel_sweep.png", dpi=120)
print(s)
print(out / "channel_sweep.png")
