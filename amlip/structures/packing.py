"""Random precursor packings (AS): units inserted at random into a cubic box at a target density (Å, g/cm3)."""

from __future__ import annotations

from typing import Mapping, Sequence

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
    pair_min_distance_A: Mapping[str, float] | None = None,
) -> Atoms:
    """Insert precursor units at random into a box at the target density.

    ``units`` maps a unit name from :data:`PRECURSOR_UNITS` to its count. Without ``cell``
    the box is cubic with the edge that gives exactly ``density_g_cm3``. Every atom of a
    new unit keeps at least ``min_distance_A`` from every atom already placed (minimum
    image). ``allowed(positions) -> bool`` can veto a placement (e.g. atoms inside a pore).
    The array ``unit_id`` says which unit each atom came from.
    Raises ``RuntimeError`` naming the unit when no placement is found.

    ``pair_min_distance_A`` ({"Si-Si": 2.8, "O-O": 2.3}) then spreads the packing until those element
    pairs are at least that far apart (:func:`spread_pairs`): random insertion alone leaves Si-Si pairs
    at 1.7 Å and forces of 30 eV/Å in a silica packing, far outside anything the melt ever visits.
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
    if pair_min_distance_A:
        spread_pairs(atoms, pair_min_distance_A, default_A=min_distance_A)
    atoms.wrap()
    atoms.info["source"] = "random_packing"
    return atoms


def pair_distance_table(symbols: Sequence[str], pair_min_distance_A: Mapping[str, float], default_A: float) -> dict:
    """{(a, b): distance} for every element pair of ``symbols`` (both orders): the ``"A-B"`` entries of
    ``pair_min_distance_A`` (in either order), ``default_A`` for the others. A key that is not two element
    symbols joined by '-' raises ValueError naming it."""
    table = {(a, b): float(default_A) for a in set(symbols) for b in set(symbols)}
    for key, value in pair_min_distance_A.items():
        parts = key.split("-")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"pair_min_distance_A key {key!r} is not two element symbols joined by '-', e.g. 'Si-Si'")
        a, b = parts
        if (a, b) in table:
            table[(a, b)] = table[(b, a)] = float(value)
    return table


def spread_pairs(
    atoms: Atoms,
    pair_min_distance_A: Mapping[str, float],
    default_A: float = 0.0,
    tolerance_A: float = 0.02,
    max_iter: int = 2000,
) -> float:
    """Move atoms (cell fixed, in place) until every pair is at least its minimum distance apart, or as close
    to that as L-BFGS gets on the overlap penalty sum (d_min - d)^2 over pairs closer than d_min (minimum
    image; scipy.optimize). Returns the largest remaining shortfall in Å (logged when above ``tolerance_A``)."""
    from ase.neighborlist import neighbor_list
    from scipy.optimize import minimize

    symbols = atoms.get_chemical_symbols()
    table = pair_distance_table(symbols, pair_min_distance_A, default_A)
    numbers = atoms.numbers
    by_number = {}
    for (a, b), d in table.items():
        by_number[(Atoms(a).numbers[0], Atoms(b).numbers[0])] = d
    cutoff = max(table.values())
    work = atoms.copy()

    def penalty(flat):
        work.positions = flat.reshape(-1, 3)
        i, j, d, vec = neighbor_list("ijdD", work, cutoff)
        need = np.array([by_number[(numbers[a], numbers[b])] for a, b in zip(i, j)]) if len(i) else np.zeros(0)
        short = np.clip(need - d, 0.0, None)
        # each pair appears twice (i, j) and (j, i): half the sum is the penalty
        value = 0.5 * float(np.sum(short**2))
        grad = np.zeros_like(work.positions)
        with np.errstate(invalid="ignore", divide="ignore"):
            pull = np.where(d > 0, short / d, 0.0)[:, None] * vec  # d(short^2 / 2)/d(r_j) = -short * vec / d
        np.add.at(grad, i, pull)
        np.add.at(grad, j, -pull)
        return value, grad.ravel()

    result = minimize(penalty, atoms.positions.ravel(), jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "gtol": 1e-10})
    atoms.positions = result.x.reshape(-1, 3)
    work.positions = atoms.positions
    i, j, d = neighbor_list("ijd", work, cutoff)
    need = np.array([by_number[(numbers[a], numbers[b])] for a, b in zip(i, j)]) if len(i) else np.zeros(0)
    worst = float(np.max(need - d, initial=0.0))
    if worst > tolerance_A:
        import logging

        logging.getLogger(__name__).warning("spread_pairs: a pair stays %.3f Å short of its minimum distance", worst)
    return worst
