"""Rule validate_mil_hydroxyls: OH orientation angles and structure types of MIL-120 frames (MIL Fig. 8, 10)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots.mof import plot_hydroxyls
from amlip.properties.mil120 import hydroxyl_table


def main(frames: list[str], names: list[str], distribution: str, fractions: str, figure: str, settings: dict, log) -> None:
    """alpha distribution and class / structure-type fractions of every file, one ``name`` column each."""
    import pandas as pd

    dists, fracs = [], []
    for name, path in zip(names, frames):
        dist, frac = hydroxyl_table(read_frames(path), settings)
        dists.append(dist.assign(name=name))
        fracs.append(frac.assign(name_of_frames=name))
    pd.concat(dists).to_csv(distribution, index=False)
    table = pd.concat(fracs)
    table.to_csv(fractions, index=False)
    plot_hydroxyls(pd.concat(dists), table, figure)
    log.info("\n%s", table.to_string())


if __name__ == "__main__":
    main(
        list(snakemake.input),
        snakemake.params.names,
        **snakemake.output,
        settings=snakemake.params.settings,
        log=setup(snakemake),
    )
