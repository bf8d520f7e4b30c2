"""Rule write_grace_input: the extended XYZ training and test sets and input.yaml of one GRACE member (gracemaker)."""

from _common import setup
from amlip.io.frames import read_frames
from amlip.models.grace import write_grace_input


def main(train, val, input, outputs, settings, elements, seed, log) -> None:
    """The ``settings`` preset on the train and val splits (element map ``elements``), written beside ``input``
    as ``train.extxyz`` and ``test.extxyz`` (gracemaker's test set is our validation split); ``outputs``
    are the rule's paths of those two files, checked against where they are written."""
    from pathlib import Path

    run_dir = Path(input).parent
    expected = [run_dir / "train.extxyz", run_dir / "test.extxyz"]
    if [Path(p) for p in outputs] != expected:
        raise ValueError(f"the data files {list(outputs)} must be {[str(p) for p in expected]}, beside {input}")
    train_frames, val_frames = read_frames(train), read_frames(val)
    path = write_grace_input(
        settings, train_frames=train_frames, val_frames=val_frames, elements=elements, seed=seed, run_dir=run_dir
    )
    log.info(
        "wrote %s: %d training and %d test (validation) frames, elements %s", path, len(train_frames), len(val_frames), elements
    )


if __name__ == "__main__":
    i, o = snakemake.input, snakemake.output
    main(i.train, i.val, o.input, [o.train, o.test], **snakemake.params, log=setup(snakemake))
