from _common import setup

log = setup(snakemake)

import json

from amlip.train import use_model_python

model = json.load(open(snakemake.input.choice))["model"]
use_model_python(model, snakemake.params.nequip_python)

import pandas as pd

from amlip.functionalize import pore_md
from amlip.io import read_frames, write_frames
from amlip.md import MDGuardError, schedule_table
from amlip.train import load_model

start = read_frames(snakemake.input.structure)[0]
try:
    frames, stages = pore_md(start, load_model(model, dtype=snakemake.params.dtype), snakemake.params.settings, snakemake.params.md, snakemake.params.seed)
except MDGuardError as exc:
    keep = snakemake.output.trajectory.replace(".extxyz", ".failed.extxyz")
    write_frames(keep, exc.frames)
    raise MDGuardError(f"{exc}; the {len(exc.frames)} frames sampled before are in {keep}") from exc
pd.DataFrame(schedule_table(stages)).to_csv(snakemake.output.schedule, index=False)
write_frames(snakemake.output.trajectory, frames)
keys = ["step", "time_ps", "stage", "target_T_K", "T_K", "density_g_cm3", "epot_eV"]
pd.DataFrame([{k: a.info[k] for k in keys} for a in frames]).to_csv(snakemake.output.thermo, index=False)
log.info("pore anneal with %s: %d frames; final density %.3f g/cm3", model, len(frames), frames[-1].info["density_g_cm3"])
final = frames[-1].copy()
final.info = {"source": "anneal_pore", "pore_radius_A": snakemake.params.settings["radius_A"]}
write_frames(snakemake.output.structure, [final])
