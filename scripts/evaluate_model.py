"""Rule evaluate_model: E/F/S errors of one member (MACE or NequIP/Allegro) on every split; for
the final committee also the cost per atom per call (ZIF) on the first test frame."""

from _common import setup
from amlip.models.handover import use_model_python

use_model_python(snakemake.input.model, snakemake.params.nequip_python)
log = setup(snakemake)

import numpy as np
import pandas as pd

from amlip.io.frames import read_frames, write_frames
from amlip.models.loading import load_model, model_family
from amlip.models.metrics import cost_per_atom_per_call, error_metrics, predict

calculator = load_model(snakemake.input.model, dtype=snakemake.params.dtype)
prefix = f"{model_family(snakemake.input.model)}{snakemake.wildcards.m}"
rows, test_frames = [], []
for split in ("train", "val", "test", "final_test"):
    frames = read_frames(snakemake.input[split])
    predict(frames, calculator, prefix)
    rows.append({"split": split} | error_metrics(frames, prefix))
    if split == "test":
        write_frames(snakemake.output.predictions, frames)
        test_frames = frames
table = pd.DataFrame(rows)
table.insert(0, "member", int(snakemake.wildcards.m))
table.insert(0, "iteration", int(snakemake.wildcards.i))
table.insert(0, "domain", snakemake.wildcards.domain)
cost = snakemake.params.cost
if cost and test_frames:
    frame = test_frames[0]
    seconds = cost_per_atom_per_call(calculator, frame, n_calls=cost["n_calls"], warmup=cost["warmup"])
    log.info(
        "cost %.1f µs/atom/call on %d atoms (%d calls after %d warm-up)",
        seconds * 1e6,
        len(frame),
        cost["n_calls"],
        cost["warmup"],
    )
    table["cost_us_per_atom_call"], table["cost_n_atoms"] = seconds * 1e6, len(frame)
else:
    table["cost_us_per_atom_call"], table["cost_n_atoms"] = np.nan, 0
table.to_csv(snakemake.output.table, index=False)
log.info("\n%s", table.to_string())
