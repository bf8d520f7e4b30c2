"""Pore cells (AS): a hexagonal cell with a cylindrical pore along z, carved crystals, and the repulsive cylinder wall.

The wall (:class:`CylinderWall`) is a Lennard-Jones 9-3 or 12-6 potential of the distance to the
pore axis, as LAMMPS ``fix wall/region`` applies it; the same energies and forces come from the
ASE calculator and the LAMMPS commands. Lengths in Å, densities in g/cm3, energies in eV.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from amlip.structures.crystals import A3_TO_CM3, mass_g
from amlip.structures.packing import PRECURSOR_UNITS, random_packing

log = logging.getLogger(__name__)


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
    atoms.info.update(
        source="pore_packing", pore_radius_A=float(radius_A), solid_density_g_cm3=float(solid_density_g_cm3(atoms, radius_A))
    )
    return atoms


def carve_pore(
    atoms: Atoms, radius_A: float, formers: Sequence[str] = ("Si", "Al"), oxygen: str = "O", bond_cutoff_A: float = 2.0
) -> Atoms:
    """Cut a cylindrical pore along z (axis at the a-b face centre) out of a crystal supercell.

    Removes every former within ``radius_A`` of the axis, then every oxygen left without a former
    within ``bond_cutoff_A``. The surface keeps under-coordinated formers and dangling O, ready for
    :func:`amlip.structures.functionalize.saturate`. The cell must have c along z (e.g. an alpha-quartz supercell).
    """
    from ase.neighborlist import neighbor_list

    rho, _ = distance_to_axis(atoms.positions, atoms.cell.array)
    if radius_A >= max_pore_radius_A(atoms.cell.array):
        raise ValueError(
            f"pore radius_A={radius_A} exceeds {max_pore_radius_A(atoms.cell.array):.2f} Å allowed by the cell; use a larger supercell"
        )
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


class CylinderWall:
    """Repulsive LJ wall on the surface of a cylinder along z (the pore), as in LAMMPS ``fix wall/region``.

    An atom at in-plane distance rho from the axis (nearest periodic image; the axis passes through
    the centre of the a-b face, see :func:`amlip.structures.pores.distance_to_axis`) sees the wall at
    r = rho - ``radius_A``. For 0 < r < ``cutoff_A`` (LAMMPS style, energies in eV, lengths in Å):

    - ``lj93``:  E = eps [2/15 (sigma/r)^9 - (sigma/r)^3] - E(cutoff)
    - ``lj126``: E = 4 eps [(sigma/r)^12 - (sigma/r)^6] - E(cutoff)

    The default cutoff is the minimum of the curve ((2/5)^(1/6) sigma for lj93, 2^(1/6) sigma for
    lj126), which makes the wall purely repulsive. Atoms inside the pore (r <= 0) are an error, as
    in LAMMPS ("Particle outside surface of region used in fix wall/region").
    """

    STYLES = ("lj93", "lj126")

    def __init__(
        self, radius_A: float, epsilon_eV: float = 0.1, sigma_A: float = 2.0, cutoff_A: float | None = None, style: str = "lj93"
    ):
        if style not in self.STYLES:
            raise ValueError(f"wall style '{style}': use one of {self.STYLES}")
        if radius_A <= 0 or epsilon_eV <= 0 or sigma_A <= 0:
            raise ValueError(f"wall radius_A, epsilon_eV and sigma_A must be positive (got {radius_A}, {epsilon_eV}, {sigma_A})")
        self.radius_A, self.epsilon_eV, self.sigma_A, self.style = float(radius_A), float(epsilon_eV), float(sigma_A), style
        r_min = (0.4 ** (1.0 / 6.0) if style == "lj93" else 2.0 ** (1.0 / 6.0)) * sigma_A
        self.cutoff_A = float(cutoff_A) if cutoff_A else r_min

    def _raw(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unshifted energy (eV) and dE/dr (eV/Å) at wall distances r (Å)."""
        s, eps = self.sigma_A / r, self.epsilon_eV
        if self.style == "lj93":
            return eps * (2.0 / 15.0 * s**9 - s**3), eps * (-6.0 / 5.0 * s**9 + 3.0 * s**3) / r
        return 4 * eps * (s**12 - s**6), 4 * eps * (-12 * s**12 + 6 * s**6) / r

    def energy_forces(self, atoms: Atoms) -> tuple[float, np.ndarray, np.ndarray]:
        """Wall energy (eV), forces (eV/Å, n x 3) and virial stress (eV/Å^3, 3 x 3) for ``atoms``."""
        rho, delta = distance_to_axis(atoms.positions, atoms.cell.array)
        r = rho - self.radius_A
        if np.any(r <= 0):
            inside = np.flatnonzero(r <= 0)
            raise ValueError(f"atoms {inside[:10].tolist()} are inside the pore wall (rho < {self.radius_A} Å)")
        on = r < self.cutoff_A
        energy, forces = 0.0, np.zeros((len(atoms), 3))
        if on.any():
            e, de_dr = self._raw(r[on])
            energy = float(np.sum(e - self._raw(np.array([self.cutoff_A]))[0][0]))
            forces[on] = -de_dr[:, None] * delta[on] / rho[on, None]
        # The axis moves with the cell centre, so E depends on delta only: sigma = -(1/V) sum F (x) delta.
        stress = -np.einsum("ia,ib->ab", forces, delta) / atoms.get_volume()
        return energy, forces, 0.5 * (stress + stress.T)

    def calculator(self):
        """An ASE calculator for the wall alone (energy, forces, stress), to sum with a model."""
        return CylinderWallCalculator(self)

    def lammps_commands(
        self, cell: np.ndarray, region_id: str = "pore", fix_id: str = "pore_wall", group: str = "all"
    ) -> list[str]:
        """LAMMPS commands that apply the same wall (metal units: eV, Å) in a cell like ``cell``.

        LAMMPS regions do not see periodic images: the cylinder is placed on the home axis, which is
        the nearest image for every atom within the wall range as long as radius + cutoff stays
        below :func:`amlip.structures.pores.max_pore_radius_A` (checked here). ``fix_modify energy yes``
        adds the wall energy to the potential energy.
        """
        if self.radius_A + self.cutoff_A >= max_pore_radius_A(cell):
            raise ValueError(
                f"pore wall reaches {self.radius_A + self.cutoff_A:.2f} Å from the axis, beyond the "
                f"{max_pore_radius_A(cell):.2f} Å where neighbouring pores begin; enlarge the cell"
            )
        cx, cy = pore_axis_xy(cell)
        return [
            f"region {region_id} cylinder z {cx:.10f} {cy:.10f} {self.radius_A:.10f} INF INF side out",
            f"fix {fix_id} {group} wall/region {region_id} {self.style} {self.epsilon_eV:.10f} {self.sigma_A:.10f} {self.cutoff_A:.10f}",
            f"fix_modify {fix_id} energy yes",
        ]

    def as_dict(self) -> dict:
        return {
            "radius_A": self.radius_A,
            "epsilon_eV": self.epsilon_eV,
            "sigma_A": self.sigma_A,
            "cutoff_A": self.cutoff_A,
            "style": self.style,
        }


class CylinderWallCalculator(Calculator):
    """ASE calculator of a :class:`CylinderWall` (sum it with a model: ``SumCalculator([model, wall])``)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, wall: CylinderWall, **kwargs):
        super().__init__(**kwargs)
        self.wall = wall

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energy, forces, stress = self.wall.energy_forces(self.atoms)
        self.results = {"energy": energy, "free_energy": energy, "forces": forces, "stress": full_3x3_to_voigt_6_stress(stress)}


def pore_wall(
    atoms: Atoms,
    radius_A: float,
    style: str = "lj93",
    epsilon_eV: float = 0.1,
    sigma_A: float = 2.0,
    cutoff_A: float | None = None,
):
    """The cylinder wall of a pore cell, placed one wall cutoff inside its surface (AS pores).

    The surface is the nominal ``radius_A`` or, when OH groups or atoms already reach closer to the
    axis (functionalized pores), the smallest distance of any atom to the axis. The wall sits one
    ``cutoff_A`` inside it, so no atom feels it at the start and any atom that moves further into the
    pore is pushed back. Returns a :class:`amlip.structures.pores.CylinderWall`; a surface closer to the axis than
    the cutoff (no room for a wall) is an error that names the settings.
    """
    template = CylinderWall(max(radius_A, 1.0), epsilon_eV, sigma_A, cutoff_A, style)
    rho_min = float(distance_to_axis(atoms.positions, atoms.cell.array)[0].min())
    surface = min(float(radius_A), rho_min)
    inner = surface - template.cutoff_A
    if inner <= 0:
        raise ValueError(
            f"no room for the pore wall: the pore surface is {surface:.2f} Å from the axis (pore.radius_A={radius_A}, "
            f"closest atom {rho_min:.2f} Å) and the wall range is {template.cutoff_A:.2f} Å; lower pore.wall.sigma_A or widen the pore"
        )
    log.info("pore wall %s at %.2f Å from the axis (surface %.2f Å, range %.2f Å)", style, inner, surface, template.cutoff_A)
    return CylinderWall(inner, epsilon_eV, sigma_A, template.cutoff_A, style)
