from _common import setup

log = setup(snakemake)

import numpy as np
import pandas as pd

from amlip.io import read_frames, write_frames
from amlip.learn import SIGMA_KEY, band_candidates
from amlip.select import soap_kmeans

p = snakemake.params
pool = read_frames(snakemake.input[0])
sigmas = np.array([a.info[SIGMA_KEY] for a in pool])
candidates = band_candidates(sigmas, p.low, p.high)
chosen = candidates[soap_kmeans([pool[k] for k in candidates], p.max_new_frames, seed=p.seed, **p.soap)]
picked = []
for k in chosen:
    atoms = pool[k]
    atoms.info.update(pool_index=int(k), selection="committee_band+soap_kmeans")
    picked.append(atoms)
write_frames(snakemake.output.picked, picked)
pd.DataFrame(
    {
        "pool_index": np.arange(len(pool)),
        "sigma_max_eV_A": sigmas,
        "candidate": np.isin(np.arange(len(pool)), candidates),
        "picked": np.isin(np.arange(len(pool)), chosen),
        "source": [a.info.get("source", "") for a in pool],
    }
).to_csv(snakemake.output.table, index=False)
log.info(
    "%d explored, %d in band (%.3f, %.3f) eV/A, %d above, %d picked",
    len(pool), len(candidates), p.low, p.high, int((sigmas >= p.high).sum()), len(picked),
)
