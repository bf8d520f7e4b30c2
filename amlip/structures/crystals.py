"""Crystals from their space groups (or a CIF), and the mass and density of a cell (Å, g/cm3)."""

from __future__ import annotations

from typing import Sequence

from ase import Atoms
from ase.data import atomic_masses, atomic_numbers
from ase.spacegroup import crystal

AVOGADRO = 6.02214076e23
A3_TO_CM3 = 1e-24


def _alpha_quartz() -> Atoms:
    # P3_121 (right-handed) with Si-O 1.604/1.614 Å; a, c at room temperature (Levien et al. 1980).
    return crystal(
        ["Si", "O"],
        [(0.4697, 0.0, 1.0 / 3.0), (0.4135, 0.2669, 0.2144)],
        spacegroup=152,
        cellpar=[4.9134, 4.9134, 5.4052, 90, 90, 120],
    )


def _beta_cristobalite() -> Atoms:
    # Idealised Fd-3m cristobalite: linear Si-O-Si, Si-O = a*sqrt(3)/8 = 1.55 Å.
    return crystal(["Si", "O"], [(0, 0, 0), (0.125, 0.125, 0.125)], spacegroup=227, cellpar=[7.16] * 3 + [90] * 3)


def _zif4() -> Atoms:
    # ZIF paper: the 272-atom ZIF-4 cell from resources/structures/ (amlip.structures.zif).
    from amlip.structures.zif import zif4_crystal

    return zif4_crystal()


CRYSTALS = {"alpha_quartz": _alpha_quartz, "beta_cristobalite": _beta_cristobalite, "zif4": _zif4}


def build_crystal(name: str, supercell: Sequence[int] = (1, 1, 1), cif: str | None = None) -> Atoms:
    """A crystal by registry name (``alpha_quartz``, ``beta_cristobalite``, ``zif4``) or from a CIF file."""
    if cif:
        from amlip.structures.zif import read_cif

        atoms = read_cif(cif)
    elif name in CRYSTALS:
        atoms = CRYSTALS[name]()
    else:
        raise KeyError(f"unknown crystal '{name}': give a 'cif' path or one of {sorted(CRYSTALS)}")
    atoms = atoms.repeat(tuple(int(n) for n in supercell))
    atoms.info["source"] = f"crystal:{name}"
    return atoms


def mass_g(symbols: Sequence[str]) -> float:
    """Total mass of the given atoms in grams."""
    return float(sum(atomic_masses[atomic_numbers[s]] for s in symbols)) / AVOGADRO


def density_g_cm3(atoms: Atoms) -> float:
    """Mass density of a periodic cell in g/cm3."""
    return mass_g(atoms.get_chemical_symbols()) / (atoms.get_volume() * A3_TO_CM3)


def min_distance_A(atoms: Atoms) -> float:
    """Smallest interatomic distance (Å) under periodic boundary conditions."""
    from ase.neighborlist import neighbor_list

    d = neighbor_list("d", atoms, 4.0)
    return float(d.min()) if len(d) else float("inf")
