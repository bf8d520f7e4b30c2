"""Rule decide_iteration: iteration i's convergence decision (decision.json) from its explored pool."""

import json

from _common import setup

log = setup(snakemake)

import numpy as np

from amlip.io.frames import iter_frames
from amlip.learning.loop import loop_decision, read_loop_decision
from amlip.models.committee import SIGMA_KEY

p = snakemake.params
i = int(snakemake.wildcards.i)
previous = read_loop_decision(snakemake.input.decision) if "decision" in snakemake.input.keys() else None
sigmas = []
for k, atoms in enumerate(iter_frames(snakemake.input.pool)):
    if i > 0 and SIGMA_KEY not in atoms.info:
        raise ValueError(f"frame {k} of {snakemake.input.pool} has no {SIGMA_KEY}: explore_md writes it on every frame")
    sigmas.append(atoms.info.get(SIGMA_KEY, np.nan))
decision = loop_decision(
    sigmas, p.low, p.converged_fraction, i, p.n_iterations, previous=previous, stop_when_converged=p.stop_when_converged
)
with open(snakemake.output[0], "w") as fh:
    json.dump(decision, fh, indent=1)
log.info("iteration %d (%d explored frames): %s", i, len(sigmas), decision["decision"])
