from _common import setup

log = setup(snakemake)

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from amlip.md.gcmc import FORCE_FIELD, loading_curve
from amlip.io.frames import read_frames

s = snakemake.params.settings
host = read_frames(snakemake.input.host)[-1]
log.info("MD-GCMC of CO2 in %s (%d atoms) at %s bar, %g K; force field %s", snakemake.input.host, len(host), s["pressures_bar"], s["temperature_K"], FORCE_FIELD)
rows = loading_curve(
    host,
    s["pressures_bar"],
    s["temperature_K"],
    s["n_steps"],
    sample_every=s.get("sample_every", 20),
    seed=snakemake.params.seed,
    exchange_every=s.get("exchange_every", 5),
)
table = pd.DataFrame(rows)
table.to_csv(snakemake.output.csv, index=False)
fig, ax = plt.subplots(figsize=(4.5, 3.5))
ax.errorbar(table["pressure_bar"], table["loading_mmol_g"], yerr=table["n_co2_sem"] / table["n_co2_per_cell"].clip(lower=1e-12) * table["loading_mmol_g"], marker="o")
ax.set_xlabel("CO2 pressure (bar)")
ax.set_ylabel("loading (mmol/g)")
ax.set_title(f"CO2 at {s['temperature_K']:g} K ({FORCE_FIELD.split(':')[0]} force field)", fontsize=9)
fig.tight_layout()
fig.savefig(snakemake.output.png, dpi=150)
log.info("loading %s mmol/g", [round(v, 4) for v in table["loading_mmol_g"]])
