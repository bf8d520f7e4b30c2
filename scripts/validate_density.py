"""Rule validate_density: the density of every independent glass and their mean against the experiment (AS, NS)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_density
from amlip.properties.reference import load_reference_densities
from amlip.properties.structure import density_table


def main(trajectories: list, reference: str, table: str, figure: str, average_last_fraction: float, reference_system: str, log):
    """Densities (g/cm3) of ``trajectories`` averaged over their last ``average_last_fraction``, against the row
    ``reference_system`` of the ``reference`` table."""
    references = load_reference_densities(reference)
    if reference_system not in references.index:
        raise KeyError(
            f"validate.density.reference_system '{reference_system}' is not in {reference}; known: {list(references.index)}"
        )
    value = float(references.loc[reference_system, "density_g_cm3"])
    source = references.loc[reference_system, "source"]
    data = density_table([read_frames(p) for p in trajectories], {"average_last_fraction": average_last_fraction}, value, source)
    data.to_csv(table, index=False)
    plot_density(data, value, figure)
    mean = data[data.glass == "mean"].iloc[0]
    log.info(
        "density over %d glasses %.3f +- %.3f g/cm3 vs %.3f (%s): %+.1f %%, %%MAE %.1f",
        mean.n_glasses, mean.value, mean["std"], value, reference_system, mean.rel_error_percent, mean.percent_mae,
    )  # fmt: skip


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
