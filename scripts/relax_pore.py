from _common import chosen_model, setup

model = chosen_model(snakemake)
log = setup(snakemake)

import pandas as pd

from amlip.io.frames import read_frames, write_frames
from amlip.md.pore import relax_pore
from amlip.models.loading import load_model
from amlip.structures.pores import pore_wall

s = snakemake.params.settings
relax = s.get("relax", {})
atoms = read_frames(snakemake.input.structure)[0]
wall = pore_wall(atoms, s["radius_A"], **(s.get("wall") or {}))
relaxed, summary = relax_pore(
    atoms,
    load_model(model, dtype=snakemake.params.dtype),
    wall=wall.calculator(),
    fmax_eV_A=relax.get("fmax_eV_A", 0.05),
    max_steps=relax.get("max_steps", 500),
    optimizer=relax.get("optimizer", "FIRE"),
)
write_frames(snakemake.output.structure, [relaxed])
pd.DataFrame([summary | {"wall_radius_A": wall.radius_A}]).to_csv(snakemake.output.summary, index=False)
