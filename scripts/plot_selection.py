from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.plots import plot_soap_map
from amlip.selection.soap import soap_map_table

p = snakemake.params
table = soap_map_table(
    read_frames(snakemake.input.pool),
    read_frames(snakemake.input.picked),
    p.method,
    seed=p.seed,
    soap=p.soap,
    n_jobs=snakemake.threads,
)
table.to_csv(snakemake.output.data, index=False)
plot_soap_map(
    table[["x", "y"]].to_numpy(),
    table.picked,
    snakemake.output.figure,
    color=table.sigma_max_eV_A,
    color_label="committee σ_max (eV/Å)",
    method=p.method,
    title=f"{snakemake.wildcards.domain}, iteration {snakemake.wildcards.i}",
)
log.info("SOAP map (%s) of %d pool frames, %d selected", p.method, len(table), int(table.picked.sum()))
