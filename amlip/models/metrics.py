"""Predictions and their errors (AS Table 2, ZIF Table 1): energy in meV/atom, forces in meV/Å, stress in GPa; cost per atom per call."""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
from ase import Atoms
from ase.units import GPa

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS


def predict(frames: Sequence[Atoms], calculator, prefix: str) -> None:
    """Store a model's energy (eV), forces (eV/Å) and stress (eV/Å^3) as ``<prefix>_*`` keys."""
    for atoms in frames:
        a = atoms.copy()
        a.calc = calculator
        atoms.info[f"{prefix}_energy"] = float(a.get_potential_energy())
        atoms.arrays[f"{prefix}_forces"] = np.array(a.get_forces())
        if atoms.pbc.all():
            atoms.info[f"{prefix}_stress"] = np.array(a.get_stress(voigt=True))


def error_metrics(frames: Sequence[Atoms], prefix: str) -> dict[str, float]:
    """MAE and RMSE of a model against the reference, over frames.

    Energies in meV/atom, force components in meV/Å, stress components in GPa
    (NaN where no frame has a stress). Keys: ``energy_mae_meV_atom`` etc.
    """
    if not frames:
        nan = float("nan")
        return {
            f"{q}_{m}_{u}": nan
            for q, u in (("energy", "meV_atom"), ("force", "meV_A"), ("stress", "GPa"))
            for m in ("mae", "rmse")
        } | {"n_frames": 0}
    de = np.array([(a.info[f"{prefix}_energy"] - a.info[REF_ENERGY]) / len(a) for a in frames]) * 1000
    df = np.concatenate([(a.arrays[f"{prefix}_forces"] - a.arrays[REF_FORCES]).ravel() for a in frames]) * 1000
    ds = [
        (np.asarray(a.info[f"{prefix}_stress"]) - np.asarray(a.info[REF_STRESS])) / GPa
        for a in frames
        if REF_STRESS in a.info and f"{prefix}_stress" in a.info
    ]
    ds = np.concatenate(ds) if ds else np.array([np.nan])

    def mae(x):
        return float(np.mean(np.abs(x)))

    def rmse(x):
        return float(np.sqrt(np.mean(x**2)))

    return {
        "n_frames": len(frames),
        "energy_mae_meV_atom": mae(de),
        "energy_rmse_meV_atom": rmse(de),
        "force_mae_meV_A": mae(df),
        "force_rmse_meV_A": rmse(df),
        "stress_mae_GPa": mae(ds),
        "stress_rmse_GPa": rmse(ds),
    }


def cost_per_atom_per_call(calculator, atoms, n_calls: int = 300, warmup: int = 6, properties=("energy", "forces")) -> float:
    """Wall time of one energy + forces call divided by the atom count, in s/atom/call (ZIF).

    The calculator's cache is cleared before every call, so each call really evaluates the
    model; the first ``warmup`` calls (JIT, allocation) are not timed. Works for any ASE
    calculator; ``atoms`` is copied and left untouched.
    """
    if n_calls < 1:
        raise ValueError(f"n_calls must be >= 1, got {n_calls}")
    atoms = atoms.copy()
    atoms.calc = calculator

    def call():
        calculator.reset()
        for name in properties:
            atoms.calc.get_property(name, atoms)

    for _ in range(warmup):
        call()
    start = time.perf_counter()
    for _ in range(n_calls):
        call()
    return (time.perf_counter() - start) / (n_calls * len(atoms))


def fit_flag(train_errors: dict, bounds: dict) -> str:
    """Why a member does not fit its own training set, or '' when it does.

    ``train_errors`` are :func:`error_metrics` of the training split; ``bounds`` is
    ``train.fit_bounds`` (``energy_meV_atom``, ``force_meV_A``). A training error above a bound
    means the model is under-trained or too small for its data: nothing it produces elsewhere
    can be trusted.
    """
    reasons = []
    if train_errors["energy_mae_meV_atom"] > bounds["energy_meV_atom"]:
        reasons.append(f"train energy MAE {train_errors['energy_mae_meV_atom']:.1f} > {bounds['energy_meV_atom']:g} meV/atom")
    if train_errors["force_mae_meV_A"] > bounds["force_meV_A"]:
        reasons.append(f"train force MAE {train_errors['force_mae_meV_A']:.0f} > {bounds['force_meV_A']:g} meV/Å")
    return "; ".join(reasons)
