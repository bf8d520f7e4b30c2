"""Rule validate_xray_pdf: X-ray-weighted total PDF G(r) with element partials (AS)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_columns
from amlip.properties.scattering import xray_pdf_table


def main(trajectory: str, table: str, figure: str, settings: dict, log) -> None:
    """The table of ``trajectory`` (``settings``: the validate keys read) and its figure."""
    data = xray_pdf_table(read_frames(trajectory), settings)
    data.to_csv(table, index=False)
    partials = [c for c in data.columns if c.startswith("G_") and c != "G_total"]
    plot_columns(data, "r_A", ["G_total"] + partials, "r (Å)", "X-ray G(r) (1/Å², partials offset)", figure, offset=5.0)
    log.info("X-ray weights %s; %d r points", data.attrs["weights"], len(data))


if __name__ == "__main__":
    main(snakemake.input.trajectory, **snakemake.output, **snakemake.params, log=setup(snakemake))
