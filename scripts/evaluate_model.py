"""Rule evaluate_model: E/F/S errors of one member (MACE or NequIP/Allegro) on every split."""

from _common import setup

from amlip.train import use_model_python

use_model_python(snakemake.input.model, snakemake.params.nequip_python)
log = setup(snakemake)

import pandas as pd

from amlip.io import read_frames, write_frames
from amlip.train import error_metrics, load_model, model_family, predict

calculator = load_model(snakemake.input.model, dtype=snakemake.params.dtype)
prefix = f"{model_family(snakemake.input.model)}{snakemake.wildcards.m}"
rows = []
for split in ("train", "val", "test", "final_test"):
    frames = read_frames(snakemake.input[split])
    predict(frames, calculator, prefix)
    rows.append({"split": split} | error_metrics(frames, prefix))
    if split == "test":
        write_frames(snakemake.output.predictions, frames)
table = pd.DataFrame(rows)
table.insert(0, "member", int(snakemake.wildcards.m))
table.insert(0, "iteration", int(snakemake.wildcards.i))
table.insert(0, "domain", snakemake.wildcards.domain)
table.to_csv(snakemake.output.table, index=False)
log.info("\n%s", table.to_string())
