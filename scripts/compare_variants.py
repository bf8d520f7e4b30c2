"""Rule compare_variants: the variants side by side over the systems, with their test errors and cost."""

import pandas as pd

from _common import setup
from amlip.plots.systems import plot_variant_comparison
from amlip.properties.systems import variant_comparison


def main(table: str, evaluations: list, csv: str, png: str, variants: dict, log) -> None:
    """One row per variant and system (``table``: summarize_systems' table.csv; ``evaluations``: one CSV per variant)."""
    comparison = variant_comparison(pd.read_csv(table), pd.concat([pd.read_csv(f) for f in evaluations]), variants)
    comparison.to_csv(csv, index=False)
    plot_variant_comparison(comparison, png)
    log.info("\n%s", comparison.to_string())


if __name__ == "__main__":
    main(snakemake.input.table, snakemake.input.evaluations, **snakemake.output, **snakemake.params, log=setup(snakemake))
