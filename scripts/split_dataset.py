from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.io import read_frames, write_frames
from amlip.select import energies_per_atom, flat_histogram_split

p = snakemake.params
frames = read_frames(snakemake.input[0])
n = len(frames)
train, test, val = flat_histogram_split(
    energies_per_atom(frames), round(p.train_fraction * n), round(p.test_fraction * n), seed=p.seed
)
rows = []
for split, indices in (("train", train), ("test", test), ("val", val)):
    chosen = [frames[k] for k in indices]
    for k, atoms in zip(indices, chosen):
        atoms.info["split"] = split
        rows.append({"frame_index": int(k), "split": split, "energy_eV_atom": atoms.info["REF_energy"] / len(atoms)})
    write_frames(snakemake.output[split], chosen)
pd.DataFrame(rows, columns=["frame_index", "split", "energy_eV_atom"]).to_csv(snakemake.output.table, index=False)
log.info("flat histogram over %d frames: %d train, %d test, %d validation", n, len(train), len(test), len(val))
