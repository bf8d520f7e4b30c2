from _common import setup

log = setup(snakemake)

from amlip.io.importers import import_sources
from amlip.labelers.registry import make_labeler
from amlip.plots import plot_imported_energies

p = snakemake.params
sources = list(p.sources)
log.info(
    "importing %d AIMD runs and %d user trajectories into %s", len(snakemake.input.runs), len(sources), snakemake.output.frames
)
label_record = lambda: make_labeler(p.label_backend, p.label_settings).level_of_theory  # noqa: E731
table = import_sources(snakemake.input.runs, sources, label_record, snakemake.output.frames, log=log)
table.to_csv(snakemake.output.table, index=False)
plot_imported_energies(table, snakemake.output.plot)
log.info("imported %d frames (%s)", len(table), table.groupby("aimd_source").size().to_dict() if len(table) else {})
