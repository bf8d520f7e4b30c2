"""Rule screen_member: one final committee member's property (density from short NpT MD) against its reference."""

from _common import setup

from amlip.train import use_model_python

use_model_python(snakemake.input.model, snakemake.params.nequip_python)
log = setup(snakemake)

import pandas as pd

from amlip.io import read_frames
from amlip.learn import screen_density
from amlip.train import load_model

c = snakemake.params.choose_by
if c["property"] != "density":
    raise ValueError(f"learn.choose_by.property '{c['property']}' has no screening: use density or none")
if "reference_g_cm3" not in c:
    raise ValueError("learn.choose_by.property is density but learn.choose_by.reference_g_cm3 is not set")
atoms = read_frames(snakemake.input.structure)[0]
calculator = load_model(snakemake.input.model, dtype=snakemake.params.dtype)
density = screen_density(
    atoms,
    calculator,
    temperature_K=c.get("temperature_K", 300.0),
    n_steps=c.get("n_steps", 500),
    timestep_fs=c.get("timestep_fs", 1.0),
    sample_every=c.get("sample_every", 10),
    average_last_fraction=c.get("average_last_fraction", 0.5),
    seed=snakemake.params.seed,
)
row = {
    "member": int(snakemake.wildcards.m),
    "model": snakemake.input.model,
    "property": "density_g_cm3",
    "value": density["mean"],
    "std": density["std"],
    "start": density["start"],
    "reference": float(c["reference_g_cm3"]),
    "n_frames": density["n_frames"],
}
row["abs_error"] = abs(row["value"] - row["reference"])
pd.DataFrame([row]).to_csv(snakemake.output[0], index=False)
log.info("member %d: density %.3f +- %.3f g/cm3 (start %.3f) vs %.3f", row["member"], row["value"], row["std"], row["start"], row["reference"])
