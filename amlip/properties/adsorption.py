"""Adsorption from GCMC samples and CO2 binding energies (MIL paper).

- Isosteric heat from the fluctuations of the grand-canonical ensemble (Nicholson and Parsonage,
  Computer Simulation and the Statistical Mechanics of Adsorption, 1982; Vlugt et al., J. Chem.
  Theory Comput. 4 (2008) 1107), for an ideal-gas reservoir:

      q_st = kT - (<U N> - <U><N>) / (<N^2> - <N>^2)

  U the interaction energy of the adsorbed phase (host-guest + guest-guest), N the guest count;
  q_st > 0 for exothermic adsorption. Check (tests/test_adsorption.py): an ideal gas in a box whose
  region of volume fraction phi holds every guest at -eps gives q_st = kT + eps <N_in>/<N>,
  <N_in> = N_ig phi exp(eps/kT), <N_out> = N_ig (1 - phi).
- Binding energy of one guest (MIL Table 1): E_b = E(host + CO2) - E(host) - E(CO2), each a single
  point with the same method; the reference labeler and the model side by side.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
from ase import Atoms, units

EV_TO_KJ_MOL = units.mol / units.kJ


def isosteric_heat(counts: Sequence[float], energies_eV: Sequence[float], temperature_K: float) -> float:
    """q_st in kJ/mol from samples of N and U (eV); NaN when N does not fluctuate."""
    n, u = np.asarray(counts, dtype=float), np.asarray(energies_eV, dtype=float)
    var = np.var(n)
    if var == 0:
        return float("nan")
    cov = np.mean(u * n) - np.mean(u) * np.mean(n)
    return float((units.kB * temperature_K - cov / var) * EV_TO_KJ_MOL)


def _block_sem(values: np.ndarray, n_blocks: int = 5) -> float:
    blocks = [b.mean() for b in np.array_split(np.asarray(values, dtype=float), n_blocks) if len(b)]
    return float(np.std(blocks, ddof=1) / np.sqrt(len(blocks))) if len(blocks) > 1 else float("nan")


def isotherm_row(run: Mapping, host_mass_g_mol: float, method: str, n_blocks: int = 5) -> dict:
    """One isotherm point from a GCMC run (counts, energies_eV, pressure_bar, temperature_K): loading, q_st, block errors."""
    counts, energies, t = np.asarray(run["counts"], float), np.asarray(run["energies_eV"], float), run["temperature_K"]
    q_blocks = [
        isosteric_heat(c, e, t)
        for c, e in zip(np.array_split(counts, n_blocks), np.array_split(energies, n_blocks))
        if len(c) > 1
    ]
    q_blocks = [q for q in q_blocks if np.isfinite(q)]
    mean = float(counts.mean())
    return {
        "method": method,
        "pressure_bar": run["pressure_bar"],
        "temperature_K": t,
        "n_per_cell": mean,
        "n_sem": _block_sem(counts, n_blocks),
        "loading_mmol_g": 1000.0 * mean / host_mass_g_mol if host_mass_g_mol else float("nan"),
        "q_st_kJ_mol": isosteric_heat(counts, energies, t),
        "q_st_sem_kJ_mol": float(np.std(q_blocks, ddof=1) / np.sqrt(len(q_blocks))) if len(q_blocks) > 1 else float("nan"),
        "n_samples": len(counts),
    }


def calculator_energy(calculator) -> Callable[[Atoms], float]:
    """The energy function (eV) of an ASE calculator, for :func:`binding_energy`."""

    def energy(atoms: Atoms) -> float:
        atoms = atoms.copy()
        atoms.calc = calculator
        return float(atoms.get_potential_energy())

    return energy


def binding_energy(loaded: Atoms, n_guest_atoms: int, energy: Callable[[Atoms], float], box_A: float = 20.0) -> float:
    """E_b = E(host + guest) - E(host) - E(guest) in kJ/mol with the energy function ``energy`` (eV); the guest
    is the last ``n_guest_atoms`` atoms of ``loaded``, computed alone in a cubic box of ``box_A`` Å."""
    host = loaded[: len(loaded) - n_guest_atoms]
    guest = loaded[len(loaded) - n_guest_atoms :].copy()
    guest.set_cell([box_A] * 3)
    guest.positions += box_A / 2 - guest.positions.mean(axis=0)
    return (energy(loaded) - energy(host) - energy(guest)) * EV_TO_KJ_MOL


def binding_table(structures: Mapping[str, Atoms], energies: Mapping[str, Callable[[Atoms], float]], n_guest_atoms: int = 3):
    """Binding energies (kJ/mol) of every structure (one guest, its last atoms) by every energy function, one
    column ``E_b_<label>_kJ_mol`` each; with 'reference' and 'model' also ``error_kJ_mol`` (model - reference)."""
    import pandas as pd

    rows = []
    for name, atoms in structures.items():
        row = {"structure": name}
        for label, energy in energies.items():
            row[f"E_b_{label}_kJ_mol"] = binding_energy(atoms, n_guest_atoms, energy)
        rows.append(row)
    table = pd.DataFrame(rows)
    if {"E_b_reference_kJ_mol", "E_b_model_kJ_mol"} <= set(table.columns):
        table["error_kJ_mol"] = table.E_b_model_kJ_mol - table.E_b_reference_kJ_mol
    return table
