"""Rule validate_zif: the ZIF analyses of one trajectory (coordination, rings, angles, RDFs, pores) and their figure."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots.mof import plot_zif
from amlip.properties import zif


def main(trajectory: str, output, settings: dict, name: str, log) -> None:
    """The tables of the averaged tail of ``trajectory`` (``settings``: the zif keys read) into ``output``."""
    frames = zif.validation_frames(read_frames(trajectory), settings, settings["max_frames"])
    coordination = zif.coordination_table(frames, settings)
    rings = zif.ring_table(frames, settings)
    angles, angle_means = zif.angle_table(frames, settings)
    rdf = zif.rdf_table(frames, settings)
    pores = zif.pore_table(frames, settings)
    summary = zif.summary_table(frames, settings, coordination, angle_means, rdf, pores)
    for table, path in ((coordination, output.coordination), (rings, output.rings), (angles, output.angles)):
        table.to_csv(path, index=False)
    rdf.to_csv(output.rdf, index=False)
    pores.to_csv(output.pores, index=False)
    summary.to_csv(output.summary, index=False)
    plot_zif(rdf, angles, rings, output.figure, title=f"{name}: {len(frames)} frames")
    log.info("%s, %d frames:\n%s\n%s", name, len(frames), summary.to_string(), rings[rings.rings_per_cell > 0].to_string())


if __name__ == "__main__":
    main(snakemake.input.trajectory, snakemake.output, snakemake.params.settings, snakemake.wildcards.zif_name, setup(snakemake))
