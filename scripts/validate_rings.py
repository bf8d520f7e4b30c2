from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.plots import plot_bars
from amlip.properties.rings import ring_table

table = ring_table(read_frames(snakemake.input.trajectory), snakemake.params.settings)
table.to_csv(snakemake.output.table, index=False)
plot_bars(table, "ring_size", "rings_per_former", "ring size (formers)", "rings per former", snakemake.output.figure)
log.info("\n%s", table.to_string())
