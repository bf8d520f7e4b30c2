from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.plots import plot_bars
from amlip.properties.structure import qn_speciation_table

table = qn_speciation_table(read_frames(snakemake.input.trajectory), snakemake.params.settings)
table.to_csv(snakemake.output.table, index=False)
plot_bars(table, "species", "percent", "Qn species", "fraction of formers (%)", snakemake.output.figure)
log.info("\n%s", table.to_string())
