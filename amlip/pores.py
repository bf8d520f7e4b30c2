"""Pore volume and accessible surface area with a spherical probe (PROTOCOLS 6; ZIF: 1.2 Å He probe).

Definitions (those of Zeo++, Willems et al., Micropor. Mesopor. Mater. 149 (2012) 134):
an atom i of radius r_i excludes the probe centre from the sphere of radius R_i = r_i + probe.
- pore volume (Å^3): volume of the points where the probe centre fits, i.e. outside every
  R_i sphere; accessible and non-accessible (pocket) volume together, as ZIF reports it.
- accessible surface area (Å^2): area of the union of the R_i spheres that lies outside all
  other R_j spheres (the surface traced by the probe centre).

Two implementations: :func:`pore_volume_grid` / :func:`accessible_surface_area` (numpy and
scipy KD-trees: a regular grid for the volume, Fibonacci points on each sphere for the area)
and :func:`zeo_pore_properties` (pyzeo, ``pip install pyzeo==0.2.0``), which also splits
channels from pockets. Atomic radii default to ASE's van der Waals radii (Bondi, 1.52 Å for O,
2.10 Å for Si), close to the Zeo++ defaults; pass ``radii`` to change them.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Mapping

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.data import atomic_numbers, covalent_radii, vdw_radii
from ase.stress import full_3x3_to_voigt_6_stress


def atomic_radii(atoms: Atoms, radii: Mapping[str, float] | None = None) -> dict[str, float]:
    """Radius (Å) per element of ``atoms``: ``radii`` first, then ASE van der Waals radii, then covalent."""
    out = {}
    for s in sorted(set(atoms.get_chemical_symbols())):
        if radii and s in radii:
            out[s] = float(radii[s])
        else:
            r = vdw_radii[atomic_numbers[s]]
            out[s] = float(r if np.isfinite(r) else covalent_radii[atomic_numbers[s]])
    return out


def _periodic_images(atoms: Atoms, symbol: str) -> np.ndarray:
    """Cartesian positions of the atoms of one element in the 27 cells around the home cell."""
    pos = atoms.positions[np.array(atoms.get_chemical_symbols()) == symbol]
    shifts = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ atoms.cell.array
    return (pos[None, :, :] + shifts[:, None, :]).reshape(-1, 3)


def _blocked(atoms: Atoms, points: np.ndarray, probe_radius: float, radii: dict[str, float], tol: float = 0.0) -> np.ndarray:
    """True for points closer than r_i + probe (minus ``tol``) to some atom i."""
    from scipy.spatial import cKDTree

    blocked = np.zeros(len(points), dtype=bool)
    for symbol, r in radii.items():
        d, _ = cKDTree(_periodic_images(atoms, symbol)).query(points, k=1)
        blocked |= d < r + probe_radius - tol
    return blocked


def pore_volume_grid(atoms: Atoms, probe_radius: float = 1.2, spacing: float = 0.2, radii: Mapping[str, float] | None = None) -> dict[str, float]:
    """Probe-centre pore volume on a regular grid of about ``spacing`` Å.

    Returns ``pore_volume_A3``, ``pore_fraction`` (of the cell) and ``pore_volume_cm3_g``.
    The largest radius plus the probe must stay below the cell height (27 images are searched).
    """
    from amlip.structures import mass_g

    radii_by_element = atomic_radii(atoms, radii)
    cell = atoms.cell.array
    n = [max(4, int(np.ceil(np.linalg.norm(v) / spacing))) for v in cell]
    frac = np.stack(np.meshgrid(*[(np.arange(k) + 0.5) / k for k in n], indexing="ij"), axis=-1).reshape(-1, 3)
    free = ~_blocked(atoms, frac @ cell, probe_radius, radii_by_element)
    fraction = float(free.mean())
    volume = atoms.get_volume()
    return {
        "pore_volume_A3": fraction * volume,
        "pore_fraction": fraction,
        "pore_volume_cm3_g": fraction * volume * 1e-24 / mass_g(atoms.get_chemical_symbols()),
    }


def _fibonacci_sphere(n: int) -> np.ndarray:
    k = np.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = np.pi * (1 + 5**0.5) * k
    rho = np.sqrt(1 - z**2)
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)


def accessible_surface_area(atoms: Atoms, probe_radius: float = 1.2, n_points: int = 500, radii: Mapping[str, float] | None = None) -> float:
    """Probe-accessible surface area (Å^2), with ``n_points`` points on each atom's R_i sphere."""
    radii_by_element = atomic_radii(atoms, radii)
    unit = _fibonacci_sphere(n_points)
    area = 0.0
    for atom in atoms:
        big_r = radii_by_element[atom.symbol] + probe_radius
        points = atom.position + big_r * unit
        # A point exactly on its own sphere is not blocked by it: the tolerance keeps it free.
        free = ~_blocked(atoms, points, probe_radius, radii_by_element, tol=1e-6)
        area += 4 * np.pi * big_r**2 * free.mean()
    return float(area)


def _zeo_report(cif: str, rad: str, probe_radius: float, n_samples: int) -> str:
    """Zeo++ volume and surface report text for one CIF (runs in a child process)."""
    from pyzeo.extension import AtomNetwork, surface_area, volume

    net = AtomNetwork.read_from_CIF(cif, True, rad)
    text = volume(net, probe_radius, probe_radius, n_samples, exclude_pockets=False)
    text += surface_area(net, probe_radius, probe_radius, n_samples, exclude_pockets=False)
    return text.decode() if isinstance(text, bytes) else str(text)


def zeo_pore_properties(atoms: Atoms, probe_radius: float = 1.2, n_samples: int = 5000, radii: Mapping[str, float] | None = None) -> dict[str, float]:
    """Pore volume and surface with Zeo++ through pyzeo (``pip install pyzeo==0.2.0``).

    Returns AV_A^3 / NAV_A^3 (channel and pocket probe-centre volume), pore_volume_A3 = AV + NAV,
    ASA_A^2 / NASA_A^2 and accessible_surface_A2 = ASA + NASA. The same ``radii`` as the grid method.
    """
    import multiprocessing
    import tempfile
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    import ase.io

    if importlib.util.find_spec("pyzeo") is None:
        raise ImportError("zeo_pore_properties needs pyzeo: pip install pyzeo==0.2.0 (or use pore_volume_grid)")
    with tempfile.TemporaryDirectory() as tmp:
        cif, rad = Path(tmp) / "frame.cif", Path(tmp) / "radii.rad"
        ase.io.write(cif, atoms)
        rad.write_text("".join(f"{s} {r}\n" for s, r in atomic_radii(atoms, radii).items()))
        # Zeo++ aborts the whole process when LAMMPS's MPI library was loaded globally before it:
        # run it in a fresh interpreter.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            text = pool.submit(_zeo_report, str(cif), str(rad), probe_radius, n_samples).result()
    values = {k: float(v) for k, v in re.findall(r"(\w+_A\^[23]):\s+([-\d.eE+]+)", text)}
    values["pore_volume_A3"] = values["AV_A^3"] + values["NAV_A^3"]
    values["accessible_surface_A2"] = values["ASA_A^2"] + values["NASA_A^2"]
    return values


# Cylinder wall (AS pores): a repulsive Lennard-Jones wall acting on the distance to the pore axis.


class CylinderWall:
    """Repulsive LJ wall on the surface of a cylinder along z (the pore), as in LAMMPS ``fix wall/region``.

    An atom at in-plane distance rho from the axis (nearest periodic image; the axis passes through
    the centre of the a-b face, see :func:`amlip.structures.distance_to_axis`) sees the wall at
    r = rho - ``radius_A``. For 0 < r < ``cutoff_A`` (LAMMPS style, energies in eV, lengths in Å):

    - ``lj93``:  E = eps [2/15 (sigma/r)^9 - (sigma/r)^3] - E(cutoff)
    - ``lj126``: E = 4 eps [(sigma/r)^12 - (sigma/r)^6] - E(cutoff)

    The default cutoff is the minimum of the curve ((2/5)^(1/6) sigma for lj93, 2^(1/6) sigma for
    lj126), which makes the wall purely repulsive. Atoms inside the pore (r <= 0) are an error, as
    in LAMMPS ("Particle outside surface of region used in fix wall/region").
    """

    STYLES = ("lj93", "lj126")

    def __init__(self, radius_A: float, epsilon_eV: float = 0.1, sigma_A: float = 2.0, cutoff_A: float | None = None, style: str = "lj93"):
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
        from amlip.structures import distance_to_axis

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

    def lammps_commands(self, cell: np.ndarray, region_id: str = "pore", fix_id: str = "pore_wall", group: str = "all") -> list[str]:
        """LAMMPS commands that apply the same wall (metal units: eV, Å) in a cell like ``cell``.

        LAMMPS regions do not see periodic images: the cylinder is placed on the home axis, which is
        the nearest image for every atom within the wall range as long as radius + cutoff stays
        below :func:`amlip.structures.max_pore_radius_A` (checked here). ``fix_modify energy yes``
        adds the wall energy to the potential energy.
        """
        from amlip.structures import max_pore_radius_A, pore_axis_xy

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
        return {"radius_A": self.radius_A, "epsilon_eV": self.epsilon_eV, "sigma_A": self.sigma_A, "cutoff_A": self.cutoff_A, "style": self.style}


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
