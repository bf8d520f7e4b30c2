from _common import setup

log = setup(snakemake)

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from amlip.io.importers import import_sources
from amlip.labelers.registry import make_labeler

p = snakemake.params
sources = list(p.sources)
log.info("importing %d AIMD runs and %d user trajectories into %s", len(snakemake.input.runs), len(sources), snakemake.output.frames)
label_record = lambda: make_labeler(p.label_backend, p.label_settings).level_of_theory  # noqa: E731
table = import_sources(snakemake.input.runs, sources, label_record, snakemake.output.frames, log=log)
table.to_csv(snakemake.output.table, index=False)
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, rows in table.groupby("aimd_source", sort=False):
    ax.plot(rows["aimd_frame"], rows["energy_eV_atom"], marker=".", label=name)
ax.set_xlabel("frame of the source")
ax.set_ylabel("reference energy (eV/atom)")
if len(table):
    ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(snakemake.output.plot, dpi=120)
log.info("imported %d frames (%s)", len(table), table.groupby("aimd_source").size().to_dict() if len(table) else {})
