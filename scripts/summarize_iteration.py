"""Rule summarize_iteration: what an iteration explored, picked, labelled and reached (summary.csv)."""

import numpy as np
import pandas as pd

from _common import setup
from amlip.io.frames import read_frames
from amlip.learning.loop import IterationSummary, read_band, read_loop_decision
from amlip.models.committee import SIGMA_KEY


def main(inputs, output: str, domain: str, iteration: int, low: float, high: float, log) -> None:
    """One row for ``iteration``: the pool's sigma_max against the band (``low``, ``high``, eV/Å), the
    labels and splits, the committee's mean test errors and the decision (``inputs``: rule summarize_iteration's;
    from iteration 1 on ``low`` is the calibrated edge of committee i-1's band.json)."""
    if "band" in inputs.keys():
        low = read_band(inputs.band)["low_eV_A"]
    pool = read_frames(inputs.pool)
    sigmas = np.array([a.info[SIGMA_KEY] for a in pool if SIGMA_KEY in a.info])
    decision = read_loop_decision(inputs.decision)
    evaluation = pd.concat([pd.read_csv(f) for f in inputs.evaluations])
    test = evaluation[evaluation.split == "test"]
    summary = IterationSummary(
        domain=domain,
        iteration=iteration,
        explored=len(pool),
        candidates=int(((sigmas > low) & (sigmas < high)).sum()) if len(sigmas) else len(pool),
        picked=len(read_frames(inputs.frames)),
        sigma_low_eV_A=low,
        fraction_above_band=float((sigmas >= high).mean()) if len(sigmas) else float("nan"),
        fraction_uncertain=float("nan") if decision["fraction_uncertain"] is None else decision["fraction_uncertain"],
        labelled=len(read_frames(inputs.labelled)),
        failed=len(pd.read_csv(inputs.failed)),
        n_train=len(read_frames(inputs.train)),
        n_test=len(read_frames(inputs.test)),
        n_val=len(read_frames(inputs.val)),
        test_energy_mae_meV_atom=float(test.energy_mae_meV_atom.mean()),
        test_force_mae_meV_A=float(test.force_mae_meV_A.mean()),
        production_density_g_cm3=decision["production_density_g_cm3"],
        converged=decision["converged"],
        decision=decision["decision"],
    )
    pd.DataFrame([summary.as_dict()]).to_csv(output, index=False)
    log.info("%s", summary)


if __name__ == "__main__":
    w = snakemake.wildcards
    main(snakemake.input, snakemake.output[0], w.domain, int(w.i), **snakemake.params, log=setup(snakemake))
