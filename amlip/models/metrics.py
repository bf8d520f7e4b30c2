"""Predictions and their errors (AS Table 2, ZIF Table 1): energy in meV/atom, forces in meV/Å, stress in GPa; cost per atom per call."""

from __future__ import annotations

import time
from typing import Iterable, Iterator

import numpy as np
from ase import Atoms
from ase.units import GPa

from amlip.io.frames import REF_ENERGY, REF_FORCES, REF_STRESS


def predict(frames: Iterable[Atoms], calculator, prefix: str) -> None:
    """Store a model's energy (eV), forces (eV/Å) and stress (eV/Å^3) as ``<prefix>_*`` keys."""
    for _ in iter_predicted(frames, calculator, prefix):
        pass


def iter_predicted(frames: Iterable[Atoms], calculator, prefix: str) -> Iterator[Atoms]:
    """:func:`predict` on a stream: each frame with its ``<prefix>_*`` keys, yielded as soon as it is predicted."""
    for atoms in frames:
        a = atoms.copy()
        a.calc = calculator
        atoms.info[f"{prefix}_energy"] = float(a.get_potential_energy())
        atoms.arrays[f"{prefix}_forces"] = np.array(a.get_forces())
        if atoms.pbc.all():
            atoms.info[f"{prefix}_stress"] = np.array(a.get_stress(voigt=True))
        yield atoms


class ErrorSums:
    """Running sums behind :func:`error_metrics` (|error| and error² per quantity, and counts), so a split
    of any size is scored one frame at a time: :meth:`add` each frame, :meth:`metrics` at the end.

    The means are sums divided by counts instead of ``np.mean`` of one concatenated array, so they
    may differ from that in the last digits (rounding), not more.
    """

    QUANTITIES = (("energy", "meV_atom"), ("force", "meV_A"), ("stress", "GPa"))

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.n_frames = 0
        # quantity -> [sum |error|, sum error², number of values]
        self.sums = {q: [0.0, 0.0, 0] for q, _ in self.QUANTITIES}

    def _add(self, quantity: str, errors: np.ndarray) -> None:
        sums = self.sums[quantity]
        sums[0] += float(np.sum(np.abs(errors)))
        sums[1] += float(np.sum(errors**2))
        sums[2] += errors.size

    def add(self, atoms: Atoms) -> None:
        """One frame's energy (meV/atom), force component (meV/Å) and, where both carry one, stress (GPa) errors."""
        p = self.prefix
        self._add("energy", np.array([(atoms.info[f"{p}_energy"] - atoms.info[REF_ENERGY]) / len(atoms) * 1000]))
        self._add("force", (atoms.arrays[f"{p}_forces"] - atoms.arrays[REF_FORCES]).ravel() * 1000)
        if REF_STRESS in atoms.info and f"{p}_stress" in atoms.info:
            self._add("stress", (np.asarray(atoms.info[f"{p}_stress"]) - np.asarray(atoms.info[REF_STRESS])).ravel() / GPa)
        self.n_frames += 1

    def scored(self, frames: Iterable[Atoms]) -> Iterator[Atoms]:
        """``frames`` passed through, each :meth:`add`-ed on its way."""
        for atoms in frames:
            self.add(atoms)
            yield atoms

    def metrics(self) -> dict[str, float]:
        """MAE and RMSE per quantity (keys as :func:`error_metrics`); NaN for a quantity without values."""
        result: dict[str, float] = {"n_frames": self.n_frames}
        for quantity, unit in self.QUANTITIES:
            total_abs, total_sq, n = self.sums[quantity]
            if self.n_frames == 0 or n == 0:
                result[f"{quantity}_mae_{unit}"] = result[f"{quantity}_rmse_{unit}"] = float("nan")
            else:
                result[f"{quantity}_mae_{unit}"] = total_abs / n
                result[f"{quantity}_rmse_{unit}"] = float(np.sqrt(total_sq / n))
        return result


def error_metrics(frames: Iterable[Atoms], prefix: str) -> dict[str, float]:
    """MAE and RMSE of a model against the reference, over frames (a list or a stream, see :class:`ErrorSums`).

    Energies in meV/atom, force components in meV/Å, stress components in GPa
    (NaN where no frame has a stress). Keys: ``n_frames``, ``energy_mae_meV_atom`` etc.
    """
    sums = ErrorSums(prefix)
    for atoms in frames:
        sums.add(atoms)
    return sums.metrics()


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
