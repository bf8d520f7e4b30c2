"""Random precursor packings (AS): units inserted at random into a cubic box at a target density (Å, g/cm3)."""

from __future__ import annotations

from typing import Mapping

import numpy as np
from ase import Atoms

from amlip.structures.crystals import A3_TO_CM3, mass_g

# Precursor units inserted by the random builder (AS: SiO2 and Al2O3 molecules; NS: Na2O).
# Geometries are rough gas-phase shapes; the melt erases them.
PRECURSOR_UNITS: dict[str, tuple[list[str], list[tuple[float, float, float]]]] = {
    "SiO2": (["Si", "O", "O"], [(0, 0, 0), (1.52, 0, 0), (-1.52, 0, 0)]),
    "Al2O3": (
        ["Al", "Al", "O", "O", "O"],
        [(-1.6, 0, 0), (1.6, 0, 0), (0, 0.6, 0), (-3.1, 0.3, 0), (3.1, 0.3, 0)],
    ),
    "Na2O": (["Na", "Na", "O"], [(-2.0, 0.6, 0), (2.0, 0.6, 0), (0, 0, 0)]),
    "H2O": (["O", "H", "H"], [(0, 0, 0), (0.76, 0.59, 0), (-0.76, 0.59, 0)]),
}


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    a, b, c, d = q
    return np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d],
        ]
    )


def _min_image_distances(cell: np.ndarray, points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """All minimum-image distances (Å) between ``points`` and ``others`` in a periodic cell."""
    inv = np.linalg.inv(cell)
    delta = points[:, None, :] - others[None, :, :]
    frac = delta @ inv
    frac -= np.round(frac)
    return np.linalg.norm(frac @ cell, axis=-1)


def random_packing(
    units: Mapping[str, int],
    density_g_cm3: float,
    min_distance_A: float = 1.6,
    seed: int = 0,
    max_attempts: int = 20000,
    cell: np.ndarray | None = None,
    allowed=None,
) -> Atoms:
    """Insert precursor units at random into a box at the target density.

    ``units`` maps a unit name from :data:`PRECURSOR_UNITS` to its count. Without ``cell``
    the box is cubic with the edge that gives exactly ``density_g_cm3``. Every atom of a
    new unit keeps at least ``min_distance_A`` from every atom already placed (minimum
    image). ``allowed(positions) -> bool`` can veto a placement (e.g. atoms inside a pore).
    The array ``unit_id`` says which unit each atom came from.
    Raises ``RuntimeError`` naming the unit when no placement is found.
    """
    rng = np.random.default_rng(seed)
    for name in units:
        if name not in PRECURSOR_UNITS:
            raise KeyError(f"unknown precursor unit '{name}'; known: {sorted(PRECURSOR_UNITS)}")
    symbols = [s for name, n in units.items() for _ in range(int(n)) for s in PRECURSOR_UNITS[name][0]]
    if cell is None:
        edge = (mass_g(symbols) / density_g_cm3 / A3_TO_CM3) ** (1.0 / 3.0)
        cell = np.eye(3) * edge
    cell = np.asarray(cell, dtype=float)

    placed_symbols: list[str] = []
    unit_ids: list[int] = []
    placed = np.zeros((0, 3))
    order = [name for name, n in units.items() for _ in range(int(n))]
    rng.shuffle(order)
    for unit_id, name in enumerate(order):
        unit_symbols, template = PRECURSOR_UNITS[name]
        template = np.asarray(template, dtype=float)
        template = template - template.mean(axis=0)
        for _ in range(max_attempts):
            pos = template @ _random_rotation(rng).T + rng.random(3) @ cell
            if allowed is not None and not allowed(pos):
                continue
            if len(placed) == 0 or _min_image_distances(cell, pos, placed).min() >= min_distance_A:
                break
        else:
            raise RuntimeError(
                f"could not place unit {name} (#{len(placed_symbols)} atoms placed) after {max_attempts} "
                f"attempts at min_distance_A={min_distance_A}: lower the density or the minimum distance"
            )
        placed = np.vstack([placed, pos])
        placed_symbols.extend(unit_symbols)
        unit_ids.extend([unit_id] * len(unit_symbols))
    atoms = Atoms(placed_symbols, positions=placed, cell=cell, pbc=True)
    atoms.arrays["unit_id"] = np.array(unit_ids)
    atoms.wrap()
    atoms.info["source"] = "random_packing"
    return atoms
