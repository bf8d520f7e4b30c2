from _common import setup

log = setup(snakemake)

import numpy as np
import pandas as pd

from amlip.io.frames import read_frames, write_frames
from amlip.models.committee import SIGMA_KEY
from amlip.selection.candidates import band_candidates, select_diverse
from amlip.selection.provenance import selection_info, stamp_selection

p = snakemake.params
pool = read_frames(snakemake.input[0])
sigmas = np.array([a.info[SIGMA_KEY] for a in pool])
candidates = band_candidates(sigmas, p.low, p.high)
within, fields = select_diverse(
    [pool[k] for k in candidates], p.max_new_frames, p.method, seed=p.seed, soap=p.soap, n_jobs=snakemake.threads
)
chosen = candidates[within]
picked = [pool[k] for k in chosen]
stamp_selection(
    picked,
    selection_info(f"committee_band+{p.method}", p.iteration, pool_index=chosen, committee_sigma_max=sigmas[chosen], **fields),
)
write_frames(snakemake.output.picked, picked)
table = pd.DataFrame(
    {
        "pool_index": np.arange(len(pool)),
        "sigma_max_eV_A": sigmas,
        "candidate": np.isin(np.arange(len(pool)), candidates),
        "picked": np.isin(np.arange(len(pool)), chosen),
        "source": [a.info.get("source", "") for a in pool],
    }
)
for name, values in fields.items():  # k-means cluster or farthest-point rank of each picked frame
    table[name] = -1
    table.loc[chosen, name] = values
table.to_csv(snakemake.output.table, index=False)
log.info(
    "%d explored, %d in band (%.3f, %.3f) eV/A, %d above, %d picked by %s",
    len(pool),
    len(candidates),
    p.low,
    p.high,
    int((sigmas >= p.high).sum()),
    len(picked),
    p.method,
)
