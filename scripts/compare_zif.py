"""Rule compare_zif: the ZIF analyses of every named trajectory side by side (table and overlay figure)."""

import json

import pandas as pd

from _common import setup
from amlip.plots.mof import plot_zif_comparison


def main(names: list[str], inputs, table: str, figure: str, log) -> None:
    """One column per trajectory of every summary property and the X-ray R-factors; the overlay figure."""
    rows, tables = [], {}
    for k, name in enumerate(names):
        summary = pd.read_csv(inputs.summaries[k]).set_index("property").value.rename(name)
        with open(inputs.xray[k]) as fh:
            xray = json.load(fh)
        summary["X-ray F(Q) R-factor"] = xray["r_factor_FQ"]
        summary["X-ray F(Q) first peak (1/A)"] = xray["first_peak_model_inv_A"]
        rows.append(summary)
        tables[name] = {key: pd.read_csv(inputs[key][k]) for key in ("rdf", "angles", "rings", "fq")}
    data = pd.concat(rows, axis=1)
    data.index.name = "property"
    data.to_csv(table)
    plot_zif_comparison(tables, figure)
    log.info("\n%s", data.to_string())


if __name__ == "__main__":
    main(snakemake.params.names, snakemake.input, snakemake.output.table, snakemake.output.figure, setup(snakemake))
