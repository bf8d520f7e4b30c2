"""Rule write_mtp_input: training.cfg, the untrained initial.mtp and motep.toml of one MTP member."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.models.mtp import write_mtp_input


def main(train, setting, settings, elements, seed, log) -> None:
    """The ``settings`` preset on the train split (species ``elements``), written beside ``setting`` (motep.toml)."""
    from pathlib import Path

    frames = read_frames(train)
    path = write_mtp_input(settings, train_frames=frames, elements=elements, seed=seed, run_dir=Path(setting).parent)
    if path != Path(setting):
        raise ValueError(f"the MTP setting must be {path}, not {setting}")
    log.info("wrote %s: %d training frames, level %d, species %s, seed %d", path, len(frames), settings["level"], elements, seed)


if __name__ == "__main__":
    main(snakemake.input.train, snakemake.output.setting, **snakemake.params, log=setup(snakemake))
