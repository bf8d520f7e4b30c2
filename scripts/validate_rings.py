"""Rule validate_rings: shortest-path ring statistics of the former network (ZIF)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_bars
from amlip.properties.rings import ring_table


def main(trajectory: str, table: str, figure: str, settings: dict, log) -> None:
    """The table of ``trajectory`` (``settings``: the validate keys read) and its figure."""
    data = ring_table(read_frames(trajectory), settings)
    data.to_csv(table, index=False)
    plot_bars(data, "ring_size", "rings_per_former", "ring size (formers)", "rings per former", figure)
    log.info("\n%s", data.to_string())


if __name__ == "__main__":
    main(snakemake.input.trajectory, **snakemake.output, **snakemake.params, log=setup(snakemake))
