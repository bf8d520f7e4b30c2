from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.io.frames import read_frames, write_frames
from amlip.structures.functionalize import functionalize

s = snakemake.params.settings
quenched = read_frames(snakemake.input.trajectory)[-1]
out, counts = functionalize(
    quenched, pore_radius_A=s["radius_A"], probe_radius_A=s.get("probe_radius_A", 1.4), bond_cutoff_A=s.get("bond_cutoff_A", 2.0)
)
out.info["pore_radius_A"] = s["radius_A"]
write_frames(snakemake.output.structure, [out])
pd.DataFrame([counts]).to_csv(snakemake.output.counts, index=False)
log.info("functionalized %s -> %s: %s", quenched.get_chemical_formula(), out.get_chemical_formula(), counts)
