"""Rule plot_isotherms: the ML-driven and the classical isotherms and isosteric heats in one figure and one table."""

import pandas as pd

from _common import setup
from amlip.plots.mof import plot_isotherms


def main(isotherms: list[str], table: str, figure: str, log) -> None:
    """Both isotherm tables stacked (a ``method`` column tells them apart) and drawn together."""
    data = pd.concat([pd.read_csv(path) for path in isotherms], ignore_index=True)
    data.to_csv(table, index=False)
    plot_isotherms(data, figure)
    log.info("\n%s", data[["method", "pressure_bar", "n_per_cell", "loading_mmol_g", "q_st_kJ_mol"]].to_string())


if __name__ == "__main__":
    main(list(snakemake.input), **snakemake.output, log=setup(snakemake))
