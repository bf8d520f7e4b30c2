"""Rule validate_zif_xray: X-ray F(Q) and D(r) of one trajectory against the measured ZIF-4 data."""

import json

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots.mof import plot_xray
from amlip.properties.xray import xray_comparison
from amlip.properties.zif import validation_frames


def main(trajectory: str, output, xray: dict, average_last_fraction: float, max_frames: int, name: str, log) -> None:
    """F(Q) (and D(r)) tables, the R-factors as JSON and the figure; the broadening of ``name`` from ``xray['broadening_A']``."""
    frames = validation_frames(read_frames(trajectory), {"average_last_fraction": average_last_fraction}, max_frames)
    settings = {**xray, "broadening_A": xray["broadening_A"][name] if name in xray["broadening_A"] else 0.0}
    fq, dr, summary = xray_comparison(frames, settings)
    fq.to_csv(output.fq, index=False)
    if dr is not None:
        dr.to_csv(output.dr, index=False)
    else:
        open(output.dr, "w").write("r_A,D_model,D_measured,D_from_measured_FQ\n")
    summary |= {"name": name, "n_frames": len(frames), "broadening_A": settings["broadening_A"]}
    with open(output.summary, "w") as fh:
        json.dump(summary, fh, indent=2)
    plot_xray(fq, dr, summary, output.figure)
    log.info("%s: %s", name, summary)


if __name__ == "__main__":
    p = snakemake.params
    main(
        snakemake.input.trajectory,
        snakemake.output,
        p.xray,
        p.average_last_fraction,
        p.max_frames,
        snakemake.wildcards.zif_name,
        setup(snakemake),
    )
