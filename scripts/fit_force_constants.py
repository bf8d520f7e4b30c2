"""Rule fit_force_constants: effective harmonic force constants fitted with hiphive on the snapshots (AS IR route)."""

import json

import numpy as np

from _common import setup
from amlip.io.frames import read_frames
from amlip.properties.vibrations import fit_force_constants


def main(relaxed: str, snapshots: str, force_constants: str, info: str, cutoff_A: float, fit_method: str, seed: int, log) -> None:
    """Second-order force constants (eV/Å^2) of ``relaxed`` from ``snapshots`` (pair cutoff ``cutoff_A``) and the fit record."""
    ideal = read_frames(relaxed)[0]
    samples = read_frames(snapshots)
    log.info(
        "hiphive fit of second-order force constants: %d atoms, %d snapshots, cutoff %.2f Å", len(ideal), len(samples), cutoff_A
    )
    fc2, fit = fit_force_constants(ideal, samples, cutoff=cutoff_A, fit_method=fit_method, seed=seed)
    fit.update(n_snapshots=len(samples), n_force_components=3 * len(ideal) * len(samples))
    if fit["n_force_components"] < fit["n_parameters"]:
        log.warning(
            "underdetermined fit: %d force components for %d parameters; raise validate.ir.n_snapshots",
            fit["n_force_components"], fit["n_parameters"],
        )  # fmt: skip
    np.save(force_constants, fc2)
    with open(info, "w") as fh:
        json.dump(fit, fh, indent=2)
    log.info("fit: %s", fit)


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
