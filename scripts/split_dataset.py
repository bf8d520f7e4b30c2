"""Rule split_dataset: train/test/validation split (random, or flat histogram as ZIF) of an iteration's labels."""

from _common import setup
from amlip.selection.split import split_extxyz


def main(labelled: str, outputs, method, train_fraction, test_fraction, seed, iteration, max_force_eV_A, log) -> None:
    """Split ``labelled`` into ``outputs`` train/test/val (and the per-frame table), after the force bound (eV/Å) if any."""
    splits = {name: outputs[name] for name in ("train", "test", "val")}
    table = split_extxyz(
        labelled,
        splits,
        train_fraction,
        test_fraction,
        seed=seed,
        iteration=iteration,
        max_force_eV_A=max_force_eV_A,
        method=method,
    )
    table.to_csv(outputs.table, index=False)
    counts = table.split.value_counts().reindex(["dropped", "train", "test", "val"], fill_value=0)
    log.info(
        "%s split of %d frames (force bound %s eV/A, %d dropped): %d train, %d test, %d validation",
        method, len(table), max_force_eV_A, counts["dropped"], counts["train"], counts["test"], counts["val"],
    )  # fmt: skip


if __name__ == "__main__":
    main(snakemake.input[0], snakemake.output, **snakemake.params, log=setup(snakemake))
