"""Committee active learning (MIL, PROTOCOLS 3): force deviation, the uncertainty band, convergence."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from ase import Atoms

SIGMA_KEY = "committee_sigma_max"


def committee_force_deviation(forces: np.ndarray) -> float:
    """sigma_max = max_i sqrt( mean_n |F_i^n - mean_n F_i|^2 ) in eV/Å.

    ``forces`` has shape (n_models, n_atoms, 3) in eV/Å; n runs over committee members,
    i over atoms.
    """
    forces = np.asarray(forces, dtype=float)
    if forces.ndim != 3 or forces.shape[2] != 3:
        raise ValueError(f"forces must have shape (n_models, n_atoms, 3), got {forces.shape}")
    deviation = forces - forces.mean(axis=0, keepdims=True)
    per_atom = np.sqrt((deviation**2).sum(axis=2).mean(axis=0))
    return float(per_atom.max())


def band_candidates(sigmas: Sequence[float], low_eV_A: float, high_eV_A: float) -> np.ndarray:
    """Indices of frames with ``low < sigma_max < high`` (eV/Å): uncertain but not unphysical."""
    sigmas = np.asarray(sigmas, dtype=float)
    if low_eV_A >= high_eV_A:
        raise ValueError(f"learn band must have low < high, got {low_eV_A} >= {high_eV_A}")
    return np.flatnonzero((sigmas > low_eV_A) & (sigmas < high_eV_A))


@dataclass
class IterationSummary:
    """One row of the per-iteration active-learning summary (``summary.csv``)."""

    domain: str
    iteration: int
    explored: int
    candidates: int
    picked: int
    fraction_above_band: float
    fraction_uncertain: float
    labelled: int
    failed: int
    n_train: int
    n_test: int
    n_val: int
    test_energy_mae_meV_atom: float
    test_force_mae_meV_A: float
    converged: bool
    decision: str

    def as_dict(self) -> dict:
        return asdict(self)


def convergence_decision(
    sigmas: Sequence[float], low_eV_A: float, threshold: float, iteration: int, max_iterations: int
) -> tuple[float, bool, str]:
    """Fraction of explored frames above ``low`` and whether the loop may stop.

    The loop converges once the fraction of uncertain frames (sigma_max above the lower band
    edge) is below ``threshold``, or at the configured last iteration.
    """
    sigmas = np.asarray(sigmas, dtype=float)
    fraction = float((sigmas > low_eV_A).mean()) if len(sigmas) else 0.0
    if len(sigmas) and fraction < threshold:
        return fraction, True, f"converged: {fraction:.3f} of frames uncertain < threshold {threshold}"
    if iteration >= max_iterations:
        return fraction, True, f"stopped at the last configured iteration {max_iterations}"
    return fraction, False, f"continue: {fraction:.3f} of frames uncertain >= threshold {threshold}"


def annotate_committee(frames: Sequence[Atoms], calculator) -> np.ndarray:
    """Evaluate a committee calculator (MACE with several models) on frames, store sigma_max.

    The calculator must put the per-member forces in ``results['forces_comm']``.
    Returns sigma_max per frame (eV/Å).
    """
    sigmas = []
    for atoms in frames:
        calculator.calculate(atoms, ["energy", "forces"])
        sigma = committee_force_deviation(calculator.results["forces_comm"])
        atoms.info[SIGMA_KEY] = sigma
        sigmas.append(sigma)
    return np.array(sigmas)
