"""Rule write_nequip_config: the nequip-train config (YAML) of one committee member."""

from _common import setup
from amlip.models.nequip import chemical_symbols_in, nequip_config, read_e0s, write_nequip_config


def main(train, val, test, e0s, config, settings, model, seed, work_dir, compiled, device, log) -> None:
    """The ``settings`` preset for ``model`` (nequip, allegro) on the three splits, E0s from ``e0s``, written to ``config``."""
    data = nequip_config(
        settings,
        train_file=train,
        val_file=val,
        test_file=test,
        seed=seed,
        work_dir=work_dir,
        chemical_symbols=chemical_symbols_in([train, val]),
        model=model,
        e0s=read_e0s(e0s),
        device=device,
    )
    commands = write_nequip_config(data, config, compiled, device=device)
    log.info("wrote %s; the training rule runs:\n%s", config, "\n".join(commands))


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
