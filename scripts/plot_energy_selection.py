"""Rule plot_energy_selection: energy histograms of the labels, a random draw and the flat-histogram training set (ZIF Fig. 3a)."""

import pandas as pd

from _common import setup
from amlip.plots import plot_energy_selection
from amlip.selection.split import energy_selection_table


def main(labelled: str, split: str, figure: str, data: str, title: str, seed: int, log) -> None:
    """The histograms (eV/atom) of ``labelled`` split by ``split`` drawn in ``figure``, their numbers in ``data``."""
    table = energy_selection_table(labelled, pd.read_csv(split), seed=seed)
    table.to_csv(data, index=False)
    plot_energy_selection(table, figure, title=title)
    log.info("energy histogram: %s", ", ".join(f"{c} {table[c].sum()}" for c in table.columns[2:]))


if __name__ == "__main__":
    w = snakemake.wildcards
    main(**snakemake.input, **snakemake.output, title=f"{w.domain}, iteration {w.i}", **snakemake.params, log=setup(snakemake))
