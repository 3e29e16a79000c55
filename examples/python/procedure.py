"""A mononuclear-cell collection procedure: patient counts and product over time."""

import matplotlib.pyplot as plt

import buffycoat
from _common import SCENARIOS, out_dir

out = out_dir(__doc__)
r = buffycoat.run(SCENARIOS / "procedure_mnc_cart.toml")
p = r.procedure  # time series; units in r.units
names = r.names("/procedure/patient_per_ul")
minutes = p["time_s"] / 60
fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
for k, name in enumerate(names):
    if name != "rbc":
        a.semilogy(minutes, p["patient_per_ul"][:, k], label=name)
        b.semilogy(minutes, p["product_cells"][:, k] + 1, label=name)
a.set_ylabel("patient [per µL]")
b.set_ylabel("product bag [cells]")
for ax in (a, b):
    ax.set_xlabel("time [min]")
a.legend(fontsize=7)
fig.tight_layout()
fig.savefig(out / "procedure.png", dpi=120)
print("stop:", r.summary["procedure"].get("stop_reason"))
print(out / "procedure.png")
