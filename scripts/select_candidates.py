"""Rule select_candidates: the active-learning pick, committee-band candidates thinned to a diverse set (MIL)."""

import numpy as np
import pandas as pd

from _common import setup
from amlip.io.frames import read_frames, write_frames
from amlip.learning.loop import read_band
from amlip.models.committee import SIGMA_KEY
from amlip.selection.candidates import band_candidates, select_diverse
from amlip.selection.provenance import selection_info, stamp_selection


def main(pool_file, picked_file, table_file, low, high, max_new_frames, method, soap, seed, iteration, n_jobs, log) -> None:
    """Frames of the pool with ``low < sigma_max < high`` (eV/Å), at most ``max_new_frames`` by ``method``
    (SOAP settings ``soap``); each pick records why, and the table has one row per pool frame."""
    pool = read_frames(pool_file)
    sigmas = np.array([a.info[SIGMA_KEY] for a in pool])
    candidates = band_candidates(sigmas, low, high)
    within, fields = select_diverse([pool[k] for k in candidates], max_new_frames, method, seed=seed, soap=soap, n_jobs=n_jobs)
    chosen = candidates[within]
    picked = [pool[k] for k in chosen]
    info = selection_info(f"committee_band+{method}", iteration, pool_index=chosen, committee_sigma_max=sigmas[chosen], **fields)
    stamp_selection(picked, info)
    write_frames(picked_file, picked)
    table = pd.DataFrame(
        {
            "pool_index": np.arange(len(pool)),
            "sigma_max_eV_A": sigmas,
            "candidate": np.isin(np.arange(len(pool)), candidates),
            "picked": np.isin(np.arange(len(pool)), chosen),
            "source": [a.info["source"] if "source" in a.info else "" for a in pool],
        }
    )
    for name, values in fields.items():  # k-means cluster or farthest-point rank of each picked frame
        table[name] = -1
        table.loc[chosen, name] = values
    table.to_csv(table_file, index=False)
    log.info(
        "%d explored, %d in band (%.3f, %.3f) eV/A, %d above, %d picked by %s",
        len(pool), len(candidates), low, high, int((sigmas >= high).sum()), len(picked), method,
    )  # fmt: skip


if __name__ == "__main__":
    o, params = snakemake.output, dict(snakemake.params)
    params["low"] = read_band(snakemake.input.band)["low_eV_A"]  # the previous committee's calibrated edge
    main(snakemake.input.pool, o.picked, o.table, **params, n_jobs=snakemake.threads, log=setup(snakemake))
