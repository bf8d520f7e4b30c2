from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.plots import plot_energy_selection
from amlip.selection.split import energy_selection_table

table = energy_selection_table(snakemake.input.labelled, pd.read_csv(snakemake.input.split), seed=snakemake.params.seed)
table.to_csv(snakemake.output.data, index=False)
plot_energy_selection(table, snakemake.output.figure, title=f"{snakemake.wildcards.domain}, iteration {snakemake.wildcards.i}")
log.info("energy histogram: %s", ", ".join(f"{c} {table[c].sum()}" for c in table.columns[2:]))
