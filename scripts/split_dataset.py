from _common import setup

log = setup(snakemake)

from amlip.selection.split import split_extxyz

p = snakemake.params
table = split_extxyz(
    snakemake.input[0],
    {name: snakemake.output[name] for name in ("train", "test", "val")},
    p.train_fraction,
    p.test_fraction,
    seed=p.seed,
    iteration=p.iteration,
    max_force_eV_A=p.max_force_eV_A,
)
table.to_csv(snakemake.output.table, index=False)
counts = table.split.value_counts()
log.info(
    "flat histogram over %d frames (force bound %s eV/A, %d dropped): %d train, %d test, %d validation",
    len(table),
    p.max_force_eV_A,
    counts.get("dropped", 0),
    counts.get("train", 0),
    counts.get("test", 0),
    counts.get("val", 0),
)
