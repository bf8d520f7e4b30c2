"""Rule decide_iteration: iteration i's convergence decision (decision.json) from its explored pool and runs."""

import json

import numpy as np
import pandas as pd

from _common import setup
from amlip.io.frames import iter_frames
from amlip.learning.loop import loop_decision, production_outcome, read_band, read_loop_decision
from amlip.models.committee import SIGMA_KEY


def main(
    pool: str,
    output: str,
    iteration: int,
    low,
    converged_fraction,
    density_tolerance,
    stop_when_converged,
    n_iterations,
    log,
    decision=None,
    runs=None,
    band=None,
):
    """The decision of ``iteration`` from the sigma_max of its pool (eV/Å) against ``low`` and
    ``converged_fraction`` and, when it explored the production protocol, from its ``runs``
    (runs.csv: completed, density) against the previous ``decision`` (iteration i-1's; a stopped
    loop stays stopped) and ``density_tolerance``. A ``band`` (band.json of committee i-1) replaces ``low``
    by its calibrated lower edge, and the decision says how that edge was found."""
    if band is not None:
        band = read_band(band)
        low = band["low_eV_A"]
    previous = read_loop_decision(decision) if decision is not None else None
    sigmas = []
    for k, atoms in enumerate(iter_frames(pool)):
        if iteration > 0 and SIGMA_KEY not in atoms.info:
            raise ValueError(f"frame {k} of {pool} has no {SIGMA_KEY}: exploration writes it on every frame")
        sigmas.append(atoms.info[SIGMA_KEY] if SIGMA_KEY in atoms.info else np.nan)
    production = production_outcome(pd.read_csv(runs)) if runs is not None else None
    result = loop_decision(
        sigmas,
        low,
        converged_fraction,
        iteration,
        n_iterations,
        previous=previous,
        stop_when_converged=stop_when_converged,
        production=production,
        density_tolerance=density_tolerance,
        band_how=band["how"] if band is not None else None,
    )
    with open(output, "w") as fh:
        json.dump(result, fh, indent=1)
    log.info("iteration %d (%d explored frames): %s", iteration, len(sigmas), result["decision"])


if __name__ == "__main__":
    i = snakemake.input
    main(
        i.pool,
        snakemake.output[0],
        int(snakemake.wildcards.i),
        **snakemake.params,
        log=setup(snakemake),
        decision=i.decision if "decision" in i.keys() else None,
        runs=i.runs if "runs" in i.keys() else None,
        band=i.band if "band" in i.keys() else None,
    )
