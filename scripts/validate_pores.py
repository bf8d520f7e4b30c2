from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.plots import plot_bars
from amlip.properties.porosity import pore_table

table = pore_table(read_frames(snakemake.input.trajectory), snakemake.params.settings)
table.to_csv(snakemake.output.table, index=False)
plot_bars(table, "frame", "pore_fraction", "frame (of the averaged tail)", "pore volume fraction", snakemake.output.figure)
log.info("\n%s", table.to_string())
