"""Rule compare_variants: the variants side by side over the systems, with their test errors and cost."""

import pandas as pd

from _common import setup
from amlip.plots.systems import plot_variant_comparison
from amlip.properties.systems import variant_comparison


def main(
    table: str,
    evaluations: list,
    vdos_peaks: list,
    moduli: list,
    csv: str,
    png: str,
    variants: dict,
    vdos_keys: list,
    moduli_keys: list,
    log,
) -> None:
    """One row per variant and system (``table``: summarize_systems' table.csv; ``evaluations``: one CSV per variant;
    ``vdos_peaks``: the VDOS peak tables of sample 0 of (variant, system) in ``vdos_keys``, none without vdos;
    ``moduli``: the MD moduli tables of sample 0 of (variant, system) in ``moduli_keys``, none without elastic_md)."""
    peaks = {tuple(key): pd.read_csv(path) for key, path in zip(vdos_keys, vdos_peaks)}
    elastic = {tuple(key): pd.read_csv(path) for key, path in zip(moduli_keys, moduli)}
    evaluation = pd.concat([pd.read_csv(f) for f in evaluations])
    comparison = variant_comparison(pd.read_csv(table), evaluation, variants, peaks, elastic)
    comparison.to_csv(csv, index=False)
    plot_variant_comparison(comparison, png)
    log.info("\n%s", comparison.to_string())


if __name__ == "__main__":
    i = snakemake.input
    main(i.table, i.evaluations, i.vdos_peaks, i.moduli, **snakemake.output, **snakemake.params, log=setup(snakemake))
