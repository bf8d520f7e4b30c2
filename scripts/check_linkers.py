"""Rule check_linkers: every frame's linkers intact (ZIF: imidazolates); a broken one fails the job and the run."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.properties.linkers import check_linkers, linker_integrity


def main(trajectory: str, table: str, settings: dict, log) -> None:
    """Linker integrity of every frame of ``trajectory`` into ``table``; raise when a frame has broken linkers
    and ``settings['fail_on_broken_linkers']`` (the table is then in the log only: Snakemake removes failed outputs)."""
    linker = settings["linker"]
    expected = {"formula": linker["formula"], "bonds": linker["bonds"]}
    data = linker_integrity(read_frames(trajectory), expected, settings["bond_cutoffs_A"], linker["elements"])
    log.info("linkers per frame (%d frames):\n%s", len(data), data.drop(columns="broken").to_string())
    if settings["fail_on_broken_linkers"]:
        check_linkers(data, trajectory)
    data.to_csv(table, index=False)


if __name__ == "__main__":
    main(snakemake.input.trajectory, snakemake.output.table, snakemake.params.settings, log=setup(snakemake))
