from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.structure import pmf_table

table = pmf_table(read_frames(snakemake.input.trajectory), snakemake.params.settings)
table.to_csv(snakemake.output.table, index=False)
pmf = [c for c in table.columns if c.startswith("F_")]
plot_columns(table.replace(float("inf"), float("nan")), "r_A", pmf, "r (Å)", "PMF F(r) (eV)", snakemake.output.figure)
log.info("partial RDFs and PMFs of %s", [c[2:-3] for c in pmf])
