from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.scattering import neutron_sq_table

table = neutron_sq_table(read_frames(snakemake.input.trajectory), snakemake.params.settings)
table.to_csv(snakemake.output.table, index=False)
partials = [c for c in table.columns if c.startswith("S_") and c != "S_total"]
plot_columns(
    table, "Q_inv_A", ["S_total"] + partials, "Q (1/Å)", "neutron S(Q) (partials offset)", snakemake.output.figure, offset=1.5
)
log.info("Faber-Ziman neutron weights %s", table.attrs.get("weights"))
