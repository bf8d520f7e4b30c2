from _common import setup

log = setup(snakemake)

from amlip.io.frames import read_frames
from amlip.plots import plot_density
from amlip.properties.reference import load_reference_densities
from amlip.properties.structure import density_table

settings = snakemake.params.settings
system = settings.get("density", {}).get("reference_system", "SiO2")
references = load_reference_densities(snakemake.input.reference)
if system not in references.index:
    raise KeyError(
        f"validate.density.reference_system '{system}' is not in {snakemake.input.reference}; known: {list(references.index)}"
    )
reference = float(references.loc[system, "density_g_cm3"])
table = density_table(
    [read_frames(p) for p in snakemake.input.trajectories], settings, reference, references.loc[system, "source"]
)
table.to_csv(snakemake.output.table, index=False)
plot_density(table, reference, snakemake.output.figure)
mean = table[table.glass == "mean"].iloc[0]
log.info(
    "density over %d glasses %.3f +- %.3f g/cm3 vs %.3f (%s): %+.1f %%, %%MAE %.1f",
    mean.n_glasses,
    mean.value,
    mean["std"],
    reference,
    system,
    mean.rel_error_percent,
    mean.percent_mae,
)
