"""Rule validate_qn: Qn speciation of the network formers (NS)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_bars
from amlip.properties.structure import qn_speciation_table


def main(trajectory: str, table: str, figure: str, settings: dict, log) -> None:
    """The table of ``trajectory`` (``settings``: the validate keys read) and its figure."""
    data = qn_speciation_table(read_frames(trajectory), settings)
    data.to_csv(table, index=False)
    plot_bars(data, "species", "percent", "Qn species", "fraction of formers (%)", figure)
    log.info("\n%s", data.to_string())


if __name__ == "__main__":
    main(snakemake.input.trajectory, **snakemake.output, **snakemake.params, log=setup(snakemake))
