"""Rule validate_neutron_sq: neutron total structure factor S(Q) with Faber-Ziman partials (NS)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.scattering import neutron_sq_table


def main(trajectory: str, table: str, figure: str, settings: dict, log) -> None:
    """The table of ``trajectory`` (``settings``: the validate keys read) and its figure."""
    data = neutron_sq_table(read_frames(trajectory), settings)
    data.to_csv(table, index=False)
    partials = [c for c in data.columns if c.startswith("S_") and c != "S_total"]
    plot_columns(data, "Q_inv_A", ["S_total"] + partials, "Q (1/Å)", "neutron S(Q) (partials offset)", figure, offset=1.5)
    log.info("Faber-Ziman neutron weights %s", data.attrs["weights"])


if __name__ == "__main__":
    main(snakemake.input.trajectory, **snakemake.output, **snakemake.params, log=setup(snakemake))
