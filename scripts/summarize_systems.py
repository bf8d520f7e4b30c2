"""Rule summarize_systems: every system's samples aggregated (mean +- std), curves averaged, one figure."""

import pandas as pd

from _common import setup
from amlip.plots.systems import plot_properties_vs_composition
from amlip.properties.reference import load_reference_densities
from amlip.properties.systems import DENSITY, aggregate_samples, average_curves, system_table


def main(values: list, curves: list, reference: str, samples: list, outputs, systems: dict, log) -> None:
    """``values`` and ``curves`` (measure_glasses tables, one per sample) belong to ``samples`` ((variant, system, s) in the
    same order); ``systems`` is the systems block, ``reference`` the reference density table. Writes the per-sample table, the per-system summary (long and
    wide) and averaged curves, and the property-vs-composition figure."""
    per_sample, per_curve = [], []
    for (variant, system, s), value_file, curve_file in zip(samples, values, curves):
        per_sample.append(pd.read_csv(value_file).drop(columns="glass").assign(variant=variant, system=system, sample=s))
        per_curve.append(pd.read_csv(curve_file).drop(columns="glass").assign(variant=variant, system=system, sample=s))
    per_sample = pd.concat(per_sample, ignore_index=True)[["variant", "system", "sample", "quantity", "value"]]
    per_sample.to_csv(outputs.samples, index=False)
    summary = aggregate_samples(per_sample)
    summary.to_csv(outputs.summary, index=False)
    references = load_reference_densities(reference) if any(spec["reference"] for spec in systems.values()) else None
    table = system_table(summary, systems, references)
    table.to_csv(outputs.table, index=False)
    average_curves(pd.concat(per_curve, ignore_index=True)).to_csv(outputs.curves, index=False)
    plot_properties_vs_composition(table, outputs.png)
    for _, row in table.iterrows():
        log.info("%s %s: %d samples, density %.4f g/cm3", row["variant"], row["system"], row["n_samples"], row[DENSITY])


if __name__ == "__main__":
    main(
        snakemake.input["values"],
        snakemake.input["curves"],
        snakemake.input["reference"],
        **snakemake.params,
        outputs=snakemake.output,
        log=setup(snakemake),
    )
