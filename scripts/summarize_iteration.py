from _common import setup

log = setup(snakemake)

import numpy as np
import pandas as pd

from amlip.io.frames import read_frames
from amlip.learning.loop import IterationSummary, read_loop_decision
from amlip.models.committee import SIGMA_KEY

p = snakemake.params
i = int(snakemake.wildcards.i)
pool = read_frames(snakemake.input.pool)
sigmas = np.array([a.info[SIGMA_KEY] for a in pool if SIGMA_KEY in a.info])
decision = read_loop_decision(snakemake.input.decision)
evaluation = pd.concat([pd.read_csv(f) for f in snakemake.input.evaluations])
test = evaluation[evaluation.split == "test"]
summary = IterationSummary(
    domain=snakemake.wildcards.domain,
    iteration=i,
    explored=len(pool),
    candidates=int(((sigmas > p.low) & (sigmas < p.high)).sum()) if len(sigmas) else len(pool),
    picked=len(read_frames(snakemake.input.frames)),
    fraction_above_band=float((sigmas >= p.high).mean()) if len(sigmas) else float("nan"),
    fraction_uncertain=float("nan") if decision["fraction_uncertain"] is None else decision["fraction_uncertain"],
    labelled=len(read_frames(snakemake.input.labelled)),
    failed=len(pd.read_csv(snakemake.input.failed)),
    n_train=len(read_frames(snakemake.input.train)),
    n_test=len(read_frames(snakemake.input.test)),
    n_val=len(read_frames(snakemake.input.val)),
    test_energy_mae_meV_atom=float(test.energy_mae_meV_atom.mean()),
    test_force_mae_meV_A=float(test.force_mae_meV_A.mean()),
    converged=decision["converged"],
    decision=decision["decision"],
)
pd.DataFrame([summary.as_dict()]).to_csv(snakemake.output[0], index=False)
log.info("%s", summary)
