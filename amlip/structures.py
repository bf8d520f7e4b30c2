"""Starting structures: crystals from their space groups and random precursor packings.

Units: lengths in Å, densities in g/cm3.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers
from ase.spacegroup import crystal

AVOGADRO = 6.02214076e23
A3_TO_CM3 = 1e-24

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


CRYSTALS = {"alpha_quartz": _alpha_quartz, "beta_cristobalite": _beta_cristobalite}


def build_crystal(name: str, supercell: Sequence[int] = (1, 1, 1), cif: str | None = None) -> Atoms:
    """A crystal by registry name (``alpha_quartz``, ``beta_cristobalite``) or from a CIF file."""
    if cif:
        import ase.io

        atoms = ase.io.read(cif)
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


def min_distance_A(atoms: Atoms) -> float:
    """Smallest interatomic distance (Å) under periodic boundary conditions."""
    from ase.neighborlist import neighbor_list

    d = neighbor_list("d", atoms, 4.0)
    return float(d.min()) if len(d) else float("inf")


# Pores (AS): a hexagonal cell with a cylindrical pore along z whose axis passes through the
# centre of the a-b face. Distances to the axis are minimum-image distances in the plane.


def hexagonal_cell(a_A: float, c_A: float) -> np.ndarray:
    """Cell matrix (rows, Å) of a hexagonal cell: a = b = ``a_A``, gamma = 120 deg, c = ``c_A`` along z."""
    return np.array([[a_A, 0.0, 0.0], [-0.5 * a_A, 0.5 * np.sqrt(3.0) * a_A, 0.0], [0.0, 0.0, c_A]])


def pore_axis_xy(cell: np.ndarray) -> np.ndarray:
    """Cartesian x, y (Å) of the pore axis: the centre of the a-b face of ``cell``."""
    return 0.5 * (np.asarray(cell)[0, :2] + np.asarray(cell)[1, :2])


def distance_to_axis(positions: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (Å) of each position to the nearest periodic image of the pore axis.

    The axis is the line through the centre of the a-b face along c. Returns ``(rho, delta)``:
    ``rho`` of shape (n,) and the vectors ``delta`` (n, 3) from the nearest axis image to each
    position within the a-b plane (the x-y plane for :func:`hexagonal_cell`). The vectors scale
    with the cell under any strain, which makes the wall's virial stress exact. Rounding
    fractional coordinates alone misses the nearest image in a 120 deg cell, so the 3 x 3
    neighbouring images are searched.
    """
    cell = np.asarray(cell, dtype=float)
    frac = np.atleast_2d(positions) @ np.linalg.inv(cell)
    frac = frac[:, :2] - 0.5
    frac -= np.round(frac)
    shifts = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=float)
    candidates = (frac[:, None, :] + shifts[None, :, :]) @ cell[:2]
    norms = np.linalg.norm(candidates, axis=-1)
    best = norms.argmin(axis=1)
    rows = np.arange(len(frac))
    return norms[rows, best], candidates[rows, best]


def max_pore_radius_A(cell: np.ndarray) -> float:
    """Largest in-plane radius (Å) around the axis inside which the home axis is the nearest image.

    The inscribed radius of the a-b parallelogram, a sqrt(3)/4 for a hexagonal cell; a pore (plus
    its wall range) must stay below it or it would overlap the pores of the neighbouring cells.
    """
    a, b = np.asarray(cell, dtype=float)[0, :2], np.asarray(cell, dtype=float)[1, :2]
    area = abs(a[0] * b[1] - a[1] * b[0])
    return 0.5 * area / max(np.linalg.norm(a), np.linalg.norm(b))


def pore_cell_size(mass: float, density_g_cm3: float, radius_A: float, height_A: float) -> float:
    """Edge a (Å) of the hexagonal cell whose solid part (cell minus the cylinder) holds ``mass`` grams at the density."""
    solid_A3 = mass / density_g_cm3 / A3_TO_CM3
    return float(np.sqrt(2.0 / np.sqrt(3.0) * (solid_A3 / height_A + np.pi * radius_A**2)))


def solid_density_g_cm3(atoms: Atoms, radius_A: float) -> float:
    """Density (g/cm3) of the solid part of a pore cell: mass over (cell volume - pi R^2 c)."""
    solid_A3 = atoms.get_volume() - np.pi * radius_A**2 * atoms.cell.array[2, 2]
    return float(mass_g(atoms.get_chemical_symbols()) / (solid_A3 * A3_TO_CM3))


def pore_packing(
    units: Mapping[str, int],
    density_g_cm3: float,
    radius_A: float,
    height_A: float,
    min_distance_A: float = 1.6,
    seed: int = 0,
    max_attempts: int = 20000,
) -> Atoms:
    """Random precursor packing (AS) in a hexagonal cell with an empty cylindrical pore along z.

    The cell height is ``height_A``; its edge a is chosen so that the *solid part* (cell volume
    minus the cylinder pi R^2 c) has exactly ``density_g_cm3``. Units are inserted only where
    every atom lies at least ``radius_A`` from the axis (nearest periodic image); atoms of
    different units keep ``min_distance_A``. ``info`` records ``pore_radius_A`` and the solid density.
    """
    symbols = [s for name, n in units.items() if name in PRECURSOR_UNITS for _ in range(int(n)) for s in PRECURSOR_UNITS[name][0]]
    if radius_A <= 0 or height_A <= 0:
        raise ValueError(f"pore radius_A ({radius_A}) and height_A ({height_A}) must be positive")
    cell = hexagonal_cell(pore_cell_size(mass_g(symbols), density_g_cm3, radius_A, height_A), height_A)
    if radius_A >= max_pore_radius_A(cell):
        raise ValueError(
            f"pore radius_A={radius_A} does not fit: the cell edge for these units is {cell[0, 0]:.2f} Å, "
            f"which allows radii below {max_pore_radius_A(cell):.2f} Å; add units or lower the radius"
        )
    atoms = random_packing(
        units,
        density_g_cm3,
        min_distance_A,
        seed=seed,
        max_attempts=max_attempts,
        cell=cell,
        allowed=lambda pos: distance_to_axis(pos, cell)[0].min() >= radius_A,
    )
    atoms.info.update(source="pore_packing", pore_radius_A=float(radius_A), solid_density_g_cm3=float(solid_density_g_cm3(atoms, radius_A)))
    return atoms


def carve_pore(atoms: Atoms, radius_A: float, formers: Sequence[str] = ("Si", "Al"), oxygen: str = "O", bond_cutoff_A: float = 2.0) -> Atoms:
    """Cut a cylindrical pore along z (axis at the a-b face centre) out of a crystal supercell.

    Removes every former within ``radius_A`` of the axis, then every oxygen left without a former
    within ``bond_cutoff_A``. The surface keeps under-coordinated formers and dangling O, ready for
    :func:`amlip.functionalize.saturate`. The cell must have c along z (e.g. an alpha-quartz supercell).
    """
    from ase.neighborlist import neighbor_list

    rho, _ = distance_to_axis(atoms.positions, atoms.cell.array)
    if radius_A >= max_pore_radius_A(atoms.cell.array):
        raise ValueError(f"pore radius_A={radius_A} exceeds {max_pore_radius_A(atoms.cell.array):.2f} Å allowed by the cell; use a larger supercell")
    symbols = np.array(atoms.get_chemical_symbols())
    keep = ~(np.isin(symbols, list(formers)) & (rho < radius_A))
    out = atoms[keep]
    symbols = np.array(out.get_chemical_symbols())
    i, j = neighbor_list("ij", out, bond_cutoff_A)
    bonded = np.zeros(len(out), dtype=bool)
    bonded[i[np.isin(symbols[j], list(formers))]] = True
    out = out[~((symbols == oxygen) & ~bonded)]
    out.info.update(source=f"{atoms.info.get('source', 'crystal')}+pore", pore_radius_A=float(radius_A))
    return out
