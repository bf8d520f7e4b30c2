"""Rule validate_pmf: partial RDFs and potentials of mean force (ZIF)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.structure import pmf_table


def main(trajectory: str, table: str, figure: str, settings: dict, log) -> None:
    """The table of ``trajectory`` (``settings``: the validate keys read) and its figure."""
    data = pmf_table(read_frames(trajectory), settings)
    data.to_csv(table, index=False)
    pmf = [c for c in data.columns if c.startswith("F_")]
    plot_columns(data.replace(float("inf"), float("nan")), "r_A", pmf, "r (Å)", "PMF F(r) (eV)", figure)
    log.info("partial RDFs and PMFs of %s", [c[2:-3] for c in pmf])


if __name__ == "__main__":
    main(snakemake.input.trajectory, **snakemake.output, **snakemake.params, log=setup(snakemake))
