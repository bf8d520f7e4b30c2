"""Rule validate_porosity: pore volume and accessible surface of the glass with a probe sphere (ZIF)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_bars
from amlip.properties.porosity import pore_table


def main(trajectory: str, table: str, figure: str, settings: dict, log) -> None:
    """The table of ``trajectory`` (``settings``: the validate keys read) and its figure."""
    data = pore_table(read_frames(trajectory), settings)
    data.to_csv(table, index=False)
    plot_bars(data, "frame", "pore_fraction", "frame (of the averaged tail)", "pore volume fraction", figure)
    log.info("\n%s", data.to_string())


if __name__ == "__main__":
    main(snakemake.input.trajectory, **snakemake.output, **snakemake.params, log=setup(snakemake))
