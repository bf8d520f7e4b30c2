from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.scattering import xray_pdf_table

table = xray_pdf_table(read_frames(snakemake.input.trajectory), snakemake.params.settings)
table.to_csv(snakemake.output.table, index=False)
partials = [c for c in table.columns if c.startswith("G_") and c != "G_total"]
plot_columns(
    table, "r_A", ["G_total"] + partials, "r (Å)", "X-ray G(r) (1/Å², partials offset)", snakemake.output.figure, offset=5.0
)
log.info("X-ray weights %s; %d r points", table.attrs.get("weights"), len(table))
