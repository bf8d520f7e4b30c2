"""Rule plot_structure: density along the melt-quench, the former-O RDF and the angle distribution of the glass."""

import pandas as pd

from _common import setup
from amlip.plots import plot_density_trace, plot_xy


def main(properties, rdf, angles, thermo, density_figure, rdf_figure, angles_figure, reference_density_g_cm3, log) -> None:
    """Three figures from the validate_structure tables and the melt-quench thermo table."""
    table = pd.read_csv(properties)
    plot_density_trace(pd.read_csv(thermo), table, reference_density_g_cm3, density_figure)
    g = pd.read_csv(rdf)
    plot_xy(g, g.columns[0], g.columns[1], "r (Å)", g.columns[1], rdf_figure)
    angle_table = pd.read_csv(angles)
    plot_xy(angle_table, "angle_deg", "probability_density", "Si-O-Si angle (deg)", "probability density (1/deg)", angles_figure)
    log.info("density, RDF and angle figures of the glass")


if __name__ == "__main__":
    o = snakemake.output
    main(
        **snakemake.input,
        density_figure=o.density,
        rdf_figure=o.rdf,
        angles_figure=o.angles,
        **snakemake.params,
        log=setup(snakemake),
    )
