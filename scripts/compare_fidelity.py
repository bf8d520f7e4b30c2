"""Rule compare_fidelity: the MLIP's glasses against its reference's, property by property (closed loop)."""

import pandas as pd

from _common import setup
from amlip.plots import plot_fidelity
from amlip.properties.fidelity import fidelity_table, mean_curves, provenance_rows
from amlip.report import to_markdown


def main(inputs, outputs, targets: dict, reference: str, engine: str, log) -> None:
    """comparison.csv (amlip.properties.fidelity.fidelity_table, with the labels and iterations of the learn
    summaries), its Markdown, the mean curves of both sides and their figure; ``reference`` names the reference
    potential and ``engine`` the MLIP's MD engine in the provenance rows."""
    mlip_curves, reference_curves = pd.read_csv(inputs.mlip_curves), pd.read_csv(inputs.reference_curves)
    provenance = provenance_rows(pd.concat([pd.read_csv(f) for f in inputs.summaries], ignore_index=True))
    provenance += [{"group": "provenance", "property": "reference potential", "note": reference}]
    provenance += [{"group": "provenance", "property": "MLIP MD engine", "note": engine}]
    table = fidelity_table(
        pd.read_csv(inputs.mlip_values), pd.read_csv(inputs.reference_values), mlip_curves, reference_curves, targets, provenance
    )
    table.to_csv(outputs.table, index=False)
    with open(outputs.markdown, "w") as fh:
        fh.write(to_markdown(table) + "\n")
    curves = mean_curves(mlip_curves, reference_curves)
    curves.to_csv(outputs.curves, index=False)
    plot_fidelity(curves, table, outputs.figure)
    checked = table[table.target.notna()]
    log.info("%d of %d targets met\n%s", int(checked.within_target.sum()), len(checked), table.to_string())


if __name__ == "__main__":
    main(snakemake.input, snakemake.output, **snakemake.params, log=setup(snakemake))
