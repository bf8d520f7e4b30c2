from _common import chosen_model, setup

model = chosen_model(snakemake)
log = setup(snakemake)

import pandas as pd

from amlip.io.frames import read_frames, write_frames
from amlip.md.guards import MDGuardError
from amlip.md.outputs import keep_frames_before_guard, write_md_outputs
from amlip.md.pore import pore_md
from amlip.md.protocols import schedule_table
from amlip.models.loading import load_model

start = read_frames(snakemake.input.structure)[0]
try:
    frames, stages = pore_md(
        start,
        load_model(model, dtype=snakemake.params.dtype),
        radius_A=snakemake.params.settings["radius_A"],
        wall=snakemake.params.settings["wall"],
        **snakemake.params.md,
        seed=snakemake.params.seed,
    )
except MDGuardError as exc:
    raise keep_frames_before_guard(exc, snakemake.output.trajectory) from exc
pd.DataFrame(schedule_table(stages)).to_csv(snakemake.output.schedule, index=False)
write_md_outputs(frames, snakemake.output.trajectory, snakemake.output.thermo)
log.info("pore anneal with %s: %d frames; final density %.3f g/cm3", model, len(frames), frames[-1].info["density_g_cm3"])
final = frames[-1].copy()
final.info = {"source": "anneal_pore", "pore_radius_A": snakemake.params.settings["radius_A"]}
write_frames(snakemake.output.structure, [final])
