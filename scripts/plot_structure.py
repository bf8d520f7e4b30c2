from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.plots import plot_density_trace, plot_xy

properties = pd.read_csv(snakemake.input.properties)
rdf = pd.read_csv(snakemake.input.rdf)
plot_density_trace(
    pd.read_csv(snakemake.input.thermo), properties, snakemake.params.reference_density_g_cm3, snakemake.output.density
)
plot_xy(rdf, rdf.columns[0], rdf.columns[1], "r (Å)", rdf.columns[1], snakemake.output.rdf)
plot_xy(
    pd.read_csv(snakemake.input.angles),
    "angle_deg",
    "probability_density",
    "Si-O-Si angle (deg)",
    "probability density (1/deg)",
    snakemake.output.angles,
)
