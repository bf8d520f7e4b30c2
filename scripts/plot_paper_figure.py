"""Rules fig_<paper>_<figure> (rules/papers.smk): a paper's figure from the systems' tables, with its CSV."""

import numpy as np
import pandas as pd

from _common import setup
from amlip.plots.systems import plot_density_vs_composition, plot_qn_vs_composition, plot_system_curves
from amlip.properties.fidelity import _r_factor
from amlip.properties.reference import read_mint01
from amlip.properties.systems import curve_figure_table, density_figure_table, qn_figure_table


def main(inputs, csv: str, png: str, kind: str, options: dict, log) -> None:
    """``kind`` density (density vs mol % of options.unit with the reference), qn (Qn vs composition), curves
    (options.names of options.systems, options.xlabel/ylabel), fq (the F(Q) of every system with the measured
    options.experiment system's F(Q) overlaid and the R-factor of that system against it)."""
    if kind == "density":
        figure = density_figure_table(pd.read_csv(inputs.table), options["unit"])
        plot_density_vs_composition(figure, f"{options['unit']}_mol_percent", png, options["title"])
    elif kind == "qn":
        figure = qn_figure_table(pd.read_csv(inputs.table), options["unit"])
        plot_qn_vs_composition(figure, f"{options['unit']}_mol_percent", png)
    elif kind in ("curves", "fq"):
        figure = curve_figure_table(pd.read_csv(inputs.curves), options["names"], options["systems"])
        title = options["title"]
        if kind == "fq":
            q, f, _ = read_mint01(inputs.experiment)
            model = figure[figure.system == options["experiment_system"]]
            r = _r_factor(model.x.to_numpy(float), model.y.to_numpy(float), q, f)
            measured = pd.DataFrame({"system": "reference", "curve": "F(Q)", "x": q, "y": f, "y_std": np.nan})
            figure = pd.concat([figure, measured[measured.x <= figure.x.max()]], ignore_index=True)
            figure["r_factor"] = r
            title = f"{title}  R-factor of {options['experiment_system']} vs measured: {r:.3f}"
            log.info("F(Q) R-factor of %s against %s: %.4f", options["experiment_system"], inputs.experiment, r)
        plot_system_curves(figure, options["names"], png, options["xlabel"], options["ylabel"], title)
    else:
        raise ValueError(f"unknown paper figure kind '{kind}'")
    figure.to_csv(csv, index=False)
    log.info("%s: %d rows", csv, len(figure))


if __name__ == "__main__":
    main(snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
