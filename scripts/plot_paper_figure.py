"""Rules fig_<paper>_<figure> (rules/papers.smk): a paper's figure from the systems' tables, with its CSV."""

import numpy as np
import pandas as pd

from _common import setup
from amlip.plots.systems import (
    plot_density_vs_composition,
    plot_moduli_vs_composition,
    plot_qn_vs_composition,
    plot_system_curves,
)
from amlip.properties.fidelity import overlap_r_factor
from amlip.properties.reference import read_mint01
from amlip.properties.systems import curve_figure_table, density_figure_table, moduli_figure_table, qn_figure_table


def main(inputs, csv: str, png: str, kind: str, options: dict, log) -> None:
    """``kind`` density (density vs mol % of options.unit with the reference), qn (Qn vs composition), curves
    (options.names of options.systems, options.xlabel/ylabel), fq (the F(Q) of every system with the measured
    options.experiment system's F(Q) overlaid and the R-factor of that system against it), moduli (E, nu, K of
    sample 0 of each (variant, system) in options.pairs, one MD moduli table each in inputs.moduli)."""
    if kind == "density":
        figure = density_figure_table(pd.read_csv(inputs.table), options["unit"])
        plot_density_vs_composition(figure, f"{options['unit']}_mol_percent", png, options["title"])
    elif kind == "qn":
        figure = qn_figure_table(pd.read_csv(inputs.table), options["unit"])
        plot_qn_vs_composition(figure, f"{options['unit']}_mol_percent", png)
    elif kind == "moduli":
        tables = {tuple(pair): pd.read_csv(path) for pair, path in zip(options["pairs"], inputs.moduli)}
        figure = moduli_figure_table(tables, pd.read_csv(inputs.table), options["unit"])
        plot_moduli_vs_composition(figure, f"{options['unit']}_mol_percent", png, options["title"])
    elif kind in ("curves", "fq"):
        figure = curve_figure_table(pd.read_csv(inputs.curves), options["names"], options["systems"])
        title = options["title"]
        if kind == "fq":  # the R-factor of each variant's F(Q) of the experiment system against the measured one
            q, f, _ = read_mint01(inputs.experiment)
            system = options["experiment_system"]
            r = {}
            for variant, model in figure[figure.system == system].groupby("variant", sort=False):
                r[variant] = overlap_r_factor(model.x.to_numpy(float), model.y.to_numpy(float), q, f)
                log.info("F(Q) R-factor of %s (%s) against %s: %.4f", system, variant, inputs.experiment, r[variant])
            figure["r_factor"] = figure.variant.map(r)
            measured = pd.DataFrame({"system": "reference", "curve": "F(Q)", "x": q, "y": f, "y_std": np.nan})
            figure = pd.concat([figure, measured[measured.x <= figure.x.max()]], ignore_index=True)
            title += f"  R-factor of {system} vs measured: " + ", ".join(f"{v} {x:.3f}" for v, x in r.items())
        plot_system_curves(figure, options["names"], png, options["xlabel"], options["ylabel"], title)
    else:
        raise ValueError(f"unknown paper figure kind '{kind}'")
    figure.to_csv(csv, index=False)
    log.info("%s: %d rows", csv, len(figure))


if __name__ == "__main__":
    main(snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
