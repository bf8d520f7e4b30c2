from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.io.frames import read_frames, write_frames
from amlip.structures.functionalize import count_hydroxyls, remove_water

cutoff = snakemake.params.settings.get("bond_cutoff_A", 2.0)
atoms = read_frames(snakemake.input.structure)[0]
dry, n_water = remove_water(atoms, bond_cutoff_A=cutoff)
write_frames(snakemake.output.structure, [dry])
row = {
    "stage": snakemake.wildcards.stage,
    "n_water_removed": n_water,
    "atoms_before": len(atoms),
    "atoms_after": len(dry),
    "n_OH": count_hydroxyls(dry, bond_cutoff_A=cutoff),
}
pd.DataFrame([row]).to_csv(snakemake.output.counts, index=False)
log.info("%s: %d H2O removed, %d surface OH left", snakemake.wildcards.stage, n_water, row["n_OH"])
