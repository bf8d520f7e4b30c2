"""Rule import_aimd: a domain's AIMD runs and imported trajectories as one labelled frame file, with a table and figure."""

from _common import setup
from amlip.io.importers import import_sources
from amlip.labelers.registry import make_labeler
from amlip.plots import plot_imported_energies


def main(
    runs: list,
    frames: str,
    table: str,
    plot: str,
    sources: list,
    label_backend: str,
    label_settings: dict,
    label_run_settings,
    log,
) -> None:
    """Stream ``runs`` (run_aimd folders) and ``sources`` (aimd.import) into ``frames``; 'level_of_theory: label'
    means the chunk labels' record (``label_backend`` with ``label_settings`` and ``label_run_settings``)."""
    log.info("importing %d AIMD runs and %d user trajectories into %s", len(runs), len(sources), frames)

    def label_record():
        return make_labeler(label_backend, {**label_settings, **vars(label_run_settings)}).level_of_theory

    rows = import_sources(runs, list(sources), label_record, frames, log=log)
    rows.to_csv(table, index=False)
    plot_imported_energies(rows, plot)
    log.info("imported %d frames (%s)", len(rows), rows.groupby("aimd_source").size().to_dict() if len(rows) else {})


if __name__ == "__main__":
    main(snakemake.input.runs, **snakemake.output, **snakemake.params, log=setup(snakemake))
