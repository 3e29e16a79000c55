"""Free particles in a tube: radial positions of the tracer cells over time, and the pelleted
fraction at two speeds."""

import matplotlib.pyplot as plt
import numpy as np

import buffycoat
from _common import SCENARIOS, out_dir

out = out_dir(__doc__)
fig, ax = plt.subplots(figsize=(6, 4))
for rpm in (1500, 3000):
    r = buffycoat.run(SCENARIOS / "default.toml", set={"rotor.rpm": rpm})
    x = r.positions[:, :, 0]  # radial coordinate of each cell [T][N], m
    ax.plot(r.time, np.median(x, axis=1) * 1e3, label=f"{rpm} rpm, median")
    ax.fill_between(r.time, *np.percentile(x, [10, 90], axis=1) * 1e3, alpha=0.25)
    print(f"{rpm} rpm: pelleted fraction {r.summary['species']['probe']['pelleted_fraction']:.3f}")
ax.set_xlabel("time [s]")
ax.set_ylabel("radius [mm]")
ax.set_title("probe cells, 10–90 % band")
ax.legend()
fig.tight_layout()
fig.savefig(out / "particles_radius.png", dpi=120)
print(out / "particles_radius.png")
