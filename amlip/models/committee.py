"""A committee of models (MIL, PROTOCOLS 3): the mean calculator and the force deviation sigma_max."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase.calculators.calculator import Calculator, all_changes


class CommitteeCalculator(Calculator):
    """Mean energy, forces and stress of several ASE calculators, with per-member forces.

    ``results['forces_comm']`` has shape (n_models, n_atoms, 3) in eV/Å and
    ``results['energies']`` (n_models,) in eV, as MACE's committee calculator returns them, so
    the exploration MD (:func:`amlip.learning.explore.committee_md`) works with any architecture.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, calculators: Sequence, **kwargs):
        if len(calculators) < 1:
            raise ValueError("CommitteeCalculator needs at least one calculator")
        super().__init__(**kwargs)
        self.calculators = list(calculators)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energies, forces, stresses = [], [], []
        want_stress = "stress" in properties and self.atoms.pbc.all()
        for calc in self.calculators:
            a = self.atoms.copy()
            a.calc = calc
            energies.append(a.get_potential_energy())
            forces.append(a.get_forces())
            if want_stress:
                stresses.append(a.get_stress(voigt=True))
        self.results["energies"] = np.array(energies)
        self.results["energy"] = self.results["free_energy"] = float(np.mean(energies))
        self.results["forces_comm"] = np.array(forces)
        self.results["forces"] = self.results["forces_comm"].mean(axis=0)
        if want_stress:
            self.results["stress"] = np.mean(stresses, axis=0)


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
