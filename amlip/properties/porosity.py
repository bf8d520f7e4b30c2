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
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii, vdw_radii

from amlip.properties.structure import tail


def pore_table(frames: Sequence[Atoms], settings: Mapping):
    """Pore volume and accessible surface per frame with a probe (ZIF: 1.2 Å He), from ``settings['pores']``.

    Keys: ``probe_radius_A`` (1.2), ``grid_spacing_A`` (0.2), ``radii`` (per element, Å; default
    van der Waals), ``max_frames`` (10), ``engine`` (``grid``, numpy; or ``zeo``, pyzeo).
    """
    import pandas as pd

    opts = settings.get("pores", {})
    probe = opts.get("probe_radius_A", 1.2)
    engine = opts.get("engine", "grid")
    if engine not in ("grid", "zeo"):
        raise ValueError(f"validate.pores.engine must be 'grid' or 'zeo', not '{engine}'")
    rows = []
    for k, atoms in enumerate(tail(frames, settings, opts.get("max_frames", 10))):
        if engine == "zeo":
            zeo = zeo_pore_properties(atoms, probe, radii=opts.get("radii"))
            row = {"pore_volume_A3": zeo["pore_volume_A3"], "accessible_surface_A2": zeo["accessible_surface_A2"]}
        else:
            grid = pore_volume_grid(atoms, probe, opts.get("grid_spacing_A", 0.2), opts.get("radii"))
            row = {
                "pore_volume_A3": grid["pore_volume_A3"],
                "accessible_surface_A2": accessible_surface_area(atoms, probe, radii=opts.get("radii")),
            }
        row["pore_fraction"] = row["pore_volume_A3"] / atoms.get_volume()
        rows.append({"frame": k, "probe_radius_A": probe, **row})
    return pd.DataFrame(rows)


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


def blocked_points(
    atoms: Atoms, points: np.ndarray, probe_radius: float, radii: dict[str, float], tol: float = 0.0
) -> np.ndarray:
    """True for points closer than r_i + probe (minus ``tol``) to some atom i."""
    from scipy.spatial import cKDTree

    blocked = np.zeros(len(points), dtype=bool)
    for symbol, r in radii.items():
        d, _ = cKDTree(_periodic_images(atoms, symbol)).query(points, k=1)
        blocked |= d < r + probe_radius - tol
    return blocked


def pore_volume_grid(
    atoms: Atoms, probe_radius: float = 1.2, spacing: float = 0.2, radii: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Probe-centre pore volume on a regular grid of about ``spacing`` Å.

    Returns ``pore_volume_A3``, ``pore_fraction`` (of the cell) and ``pore_volume_cm3_g``.
    The largest radius plus the probe must stay below the cell height (27 images are searched).
    """
    from amlip.structures.crystals import mass_g

    radii_by_element = atomic_radii(atoms, radii)
    cell = atoms.cell.array
    n = [max(4, int(np.ceil(np.linalg.norm(v) / spacing))) for v in cell]
    frac = np.stack(np.meshgrid(*[(np.arange(k) + 0.5) / k for k in n], indexing="ij"), axis=-1).reshape(-1, 3)
    free = ~blocked_points(atoms, frac @ cell, probe_radius, radii_by_element)
    fraction = float(free.mean())
    volume = atoms.get_volume()
    return {
        "pore_volume_A3": fraction * volume,
        "pore_fraction": fraction,
        "pore_volume_cm3_g": fraction * volume * 1e-24 / mass_g(atoms.get_chemical_symbols()),
    }


def fibonacci_sphere(n: int) -> np.ndarray:
    k = np.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = np.pi * (1 + 5**0.5) * k
    rho = np.sqrt(1 - z**2)
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)


def accessible_surface_area(
    atoms: Atoms, probe_radius: float = 1.2, n_points: int = 500, radii: Mapping[str, float] | None = None
) -> float:
    """Probe-accessible surface area (Å^2), with ``n_points`` points on each atom's R_i sphere."""
    radii_by_element = atomic_radii(atoms, radii)
    unit = fibonacci_sphere(n_points)
    area = 0.0
    for atom in atoms:
        big_r = radii_by_element[atom.symbol] + probe_radius
        points = atom.position + big_r * unit
        # A point exactly on its own sphere is not blocked by it: the tolerance keeps it free.
        free = ~blocked_points(atoms, points, probe_radius, radii_by_element, tol=1e-6)
        area += 4 * np.pi * big_r**2 * free.mean()
    return float(area)


def _zeo_report(cif: str, rad: str, probe_radius: float, n_samples: int) -> str:
    """Zeo++ volume and surface report text for one CIF (runs in a child process)."""
    from pyzeo.extension import AtomNetwork, surface_area, volume

    net = AtomNetwork.read_from_CIF(cif, True, rad)
    text = volume(net, probe_radius, probe_radius, n_samples, exclude_pockets=False)
    text += surface_area(net, probe_radius, probe_radius, n_samples, exclude_pockets=False)
    return text.decode() if isinstance(text, bytes) else str(text)


def zeo_pore_properties(
    atoms: Atoms, probe_radius: float = 1.2, n_samples: int = 5000, radii: Mapping[str, float] | None = None
) -> dict[str, float]:
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
