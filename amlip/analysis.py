"""Structural properties of periodic frames (PROTOCOLS 6): density, RDFs, coordination, angles, Qn.

All functions take ASE Atoms (or lists of them); distances in Å, angles in degrees,
densities in g/cm3. Neighbours come from ASE's periodic neighbour list.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from amlip.structures import density_g_cm3

__all__ = [
    "density_g_cm3",
    "mean_density",
    "partial_rdf",
    "mean_coordination",
    "coordination_counts",
    "bond_angles",
    "angle_distribution",
    "qn_fractions",
]


def mean_density(frames: Sequence[Atoms]) -> tuple[float, float]:
    """Mean and standard deviation (g/cm3) of the density over frames."""
    d = np.array([density_g_cm3(a) for a in frames])
    return float(d.mean()), float(d.std())


def partial_rdf(frames: Sequence[Atoms], a: str, b: str, r_max: float = 6.0, n_bins: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Partial radial distribution g_ab(r) averaged over frames; returns (r centres in Å, g).

    Normalised so that g -> 1 for an uncorrelated liquid: the pair count in a shell is divided
    by N_a * rho_b * shell volume (with the self pair excluded when a == b).
    """
    edges = np.linspace(0.0, r_max, n_bins + 1)
    hist = np.zeros(n_bins)
    norm = 0.0
    for atoms in frames:
        symbols = np.array(atoms.get_chemical_symbols())
        i, j, d = neighbor_list("ijd", atoms, r_max)
        mask = (symbols[i] == a) & (symbols[j] == b)
        hist += np.histogram(d[mask], bins=edges)[0]
        n_a = np.sum(symbols == a)
        n_b = np.sum(symbols == b) - (1 if a == b else 0)
        norm += n_a * n_b / atoms.get_volume()
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    g = hist / (norm * shell) if norm > 0 else hist
    return 0.5 * (edges[1:] + edges[:-1]), g


def _neighbours(atoms: Atoms, center: str, neighbor: str, cutoff: float) -> dict[int, list[int]]:
    symbols = np.array(atoms.get_chemical_symbols())
    i, j = neighbor_list("ij", atoms, cutoff)
    mask = (symbols[i] == center) & (symbols[j] == neighbor)
    out: dict[int, list[int]] = {int(k): [] for k in np.flatnonzero(symbols == center)}
    for ci, nj in zip(i[mask], j[mask]):
        out[int(ci)].append(int(nj))
    return out


def coordination_counts(atoms: Atoms, center: str, neighbor: str, cutoff: float) -> dict[int, float]:
    """Fraction of ``center`` atoms with each number of ``neighbor`` atoms within ``cutoff`` (Å)."""
    counts = Counter(len(v) for v in _neighbours(atoms, center, neighbor, cutoff).values())
    total = sum(counts.values())
    return {n: c / total for n, c in sorted(counts.items())} if total else {}


def mean_coordination(atoms: Atoms, center: str, neighbor: str, cutoff: float) -> float:
    """Mean number of ``neighbor`` atoms within ``cutoff`` (Å) of each ``center`` atom."""
    nb = _neighbours(atoms, center, neighbor, cutoff)
    if not nb:
        raise ValueError(f"no '{center}' atoms in {atoms.get_chemical_formula()}")
    return float(np.mean([len(v) for v in nb.values()]))


def bond_angles(atoms: Atoms, apex: str, ends: str, cutoff: float) -> np.ndarray:
    """All ends-apex-ends angles (degrees), e.g. Si-O-Si with apex 'O', ends 'Si'."""
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, vec = neighbor_list("ijD", atoms, cutoff)
    mask = (symbols[i] == apex) & (symbols[j] == ends)
    i, vec = i[mask], vec[mask]
    angles = []
    for center in np.unique(i):
        v = vec[i == center]
        for p in range(len(v)):
            for q in range(p + 1, len(v)):
                cos = np.dot(v[p], v[q]) / (np.linalg.norm(v[p]) * np.linalg.norm(v[q]))
                angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.array(angles)


def angle_distribution(frames: Sequence[Atoms], apex: str, ends: str, cutoff: float, n_bins: int = 90) -> tuple[np.ndarray, np.ndarray]:
    """Normalised bond-angle distribution over frames: (bin centres in degrees, probability density)."""
    angles = np.concatenate([bond_angles(a, apex, ends, cutoff) for a in frames]) if frames else np.array([])
    hist, edges = np.histogram(angles, bins=n_bins, range=(0.0, 180.0), density=len(angles) > 0)
    return 0.5 * (edges[1:] + edges[:-1]), hist


def qn_fractions(atoms: Atoms, cutoff: float = 2.0, former: str = "Si", oxygen: str = "O") -> dict[int, float]:
    """Qn speciation: fraction of ``former`` atoms with n bridging oxygens (n = 0..4).

    An oxygen is bridging when it has two or more ``former`` neighbours within ``cutoff`` (Å).
    """
    o_neigh = _neighbours(atoms, oxygen, former, cutoff)
    bridging = {o for o, formers in o_neigh.items() if len(formers) >= 2}
    si_neigh = _neighbours(atoms, former, oxygen, cutoff)
    if not si_neigh:
        raise ValueError(f"no '{former}' atoms in {atoms.get_chemical_formula()}")
    counts = Counter(sum(1 for o in oxygens if o in bridging) for oxygens in si_neigh.values())
    total = len(si_neigh)
    return {n: counts.get(n, 0) / total for n in range(5)}


def structure_properties(frames: Sequence[Atoms], settings: dict):
    """Validation tables of a glass trajectory, averaged over its last frames.

    ``settings`` is the ``validate`` config block (former, oxygen, bond_cutoff_A,
    average_last_fraction, rdf_r_max_A, rdf_bins, reference_density_g_cm3).
    Returns three pandas DataFrames: properties (property, value, unit, reference,
    abs_error, rel_error_percent), the former-oxygen RDF and the former-O-former angle distribution.
    """
    import pandas as pd

    if not frames:
        raise ValueError("the trajectory has no frames to validate")
    former = settings.get("former", "Si")
    oxygen = settings.get("oxygen", "O")
    cutoff = settings.get("bond_cutoff_A", 2.0)
    n_last = max(1, int(round(len(frames) * settings.get("average_last_fraction", 0.3))))
    tail = list(frames[-n_last:])
    rho, rho_std = mean_density(tail)
    ref = settings.get("reference_density_g_cm3")
    r, g = partial_rdf(tail, former, oxygen, settings.get("rdf_r_max_A", 6.0), settings.get("rdf_bins", 120))
    theta, p_theta = angle_distribution(tail, oxygen, former, cutoff)
    angles = np.concatenate([bond_angles(a, oxygen, former, cutoff) for a in tail])
    qn = {n: np.mean([qn_fractions(a, cutoff, former, oxygen)[n] for a in tail]) for n in range(5)}
    coordination = np.mean([mean_coordination(a, former, oxygen, cutoff) for a in tail])
    rows = [
        {"property": "density", "value": rho, "std": rho_std, "unit": "g/cm3", "reference": ref},
        {"property": f"{former}-{oxygen} first peak", "value": float(r[np.argmax(g)]), "std": np.nan, "unit": "A", "reference": np.nan},
        {"property": f"{former} coordination", "value": float(coordination), "std": np.nan, "unit": "", "reference": np.nan},
        {"property": f"{former}-{oxygen}-{former} mean angle", "value": float(angles.mean()) if len(angles) else np.nan, "std": float(angles.std()) if len(angles) else np.nan, "unit": "deg", "reference": np.nan},
    ] + [{"property": f"Q{n}", "value": float(qn[n]), "std": np.nan, "unit": "fraction", "reference": np.nan} for n in range(5)]
    properties = pd.DataFrame(rows)
    properties["abs_error"] = properties.value - properties.reference
    properties["rel_error_percent"] = 100 * properties.abs_error / properties.reference
    properties.insert(0, "n_frames_averaged", n_last)
    rdf = pd.DataFrame({"r_A": r, f"g_{former}{oxygen}": g})
    angle_table = pd.DataFrame({"angle_deg": theta, "probability_density": p_theta})
    return properties, rdf, angle_table
