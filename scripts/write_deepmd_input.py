"""Rule write_deepmd_input: the deepmd/npy training and validation sets and input.json of one DeePMD member."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.models.deepmd import write_deepmd_input


def main(train, val, input, data, settings, type_map, seed, log) -> None:
    """The ``settings`` preset on the train and val splits (types ``type_map``), written beside ``input``;
    ``data`` is the directory of the two sets."""
    from pathlib import Path

    run_dir = Path(input).parent
    if Path(data) != run_dir / "data":
        raise ValueError(f"the data directory {data} must be {run_dir / 'data'}, beside {input}")
    train_frames, val_frames = read_frames(train), read_frames(val)
    path = write_deepmd_input(
        settings, train_frames=train_frames, val_frames=val_frames, type_map=type_map, seed=seed, run_dir=run_dir
    )
    log.info("wrote %s: %d training and %d validation frames, type map %s", path, len(train_frames), len(val_frames), type_map)


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
