from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.io.frames import read_frames
from amlip.md.gcmc import FORCE_FIELD, loading_curve
from amlip.plots import plot_gcmc_loading

s = snakemake.params.settings
host = read_frames(snakemake.input.host)[-1]
log.info(
    "MD-GCMC of CO2 in %s (%d atoms) at %s bar, %g K; force field %s",
    snakemake.input.host,
    len(host),
    s["pressures_bar"],
    s["temperature_K"],
    FORCE_FIELD,
)
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
plot_gcmc_loading(table, s["temperature_K"], FORCE_FIELD.split(":")[0], snakemake.output.png)
log.info("loading %s mmol/g", [round(v, 4) for v in table["loading_mmol_g"]])
