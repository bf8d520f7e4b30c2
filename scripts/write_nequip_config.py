"""Rule write_nequip_config: the nequip-train config (YAML) of one committee member."""

from _common import setup

log = setup(snakemake)

from amlip.models.nequip import chemical_symbols_in, nequip_config, read_e0s, write_nequip_config

inputs = snakemake.input
config = nequip_config(
    snakemake.params.settings,
    train_file=inputs.train,
    val_file=inputs.val,
    test_file=inputs.test,
    seed=snakemake.params.seed,
    work_dir=snakemake.params.work_dir,
    chemical_symbols=chemical_symbols_in([inputs.train, inputs.val]),
    model=snakemake.params.model,
    e0s=read_e0s(inputs.e0s),
    device=snakemake.params.device,
)
commands = write_nequip_config(config, snakemake.output.config, snakemake.params.compiled, device=snakemake.params.device)
log.info("wrote %s; the training rule runs:\n%s", snakemake.output.config, "\n".join(commands))
