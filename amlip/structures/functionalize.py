"""Functionalization of pore surfaces (AS, PROTOCOLS 5): saturation, hydroxylation, water removal.

Steps, in the paper's order:
1. :func:`saturate`: every 3-fold (under-coordinated) former gets an OH per missing O, every
   dangling O (one former, no H) an H.
2. :func:`accessible_oxygens` + :func:`hydroxylate_bridging`: every surface-accessible bridging
   O (T-O-T) is split into T-OH + HO-T, adding the atoms of one H2O per bridge.
3. :func:`find_water` / :func:`remove_water`: H2O molecules that formed (an O with two H and no
   former) are removed before annealing and before analysis.

Accessibility is a geometric probe test (pyzeo 0.2.0 reports only cell totals, no per-atom
accessibility): an O is accessible when some point of its probe-contact sphere (radius
r(O) + probe, 200 Fibonacci points) is farther than r + probe from every other atom (van der
Waals radii, except 1.35 Å for Si and Al: :data:`FORMER_RADII_A`),
the same test as :func:`amlip.properties.porosity.accessible_surface_area`. With a pore, the free point must
also lie inside the pore cylinder, so closed voids in the glass do not count.

Geometry: T-O 1.63 Å, O-H 0.97 Å, T-O-H 118 deg. New atoms are placed on sampled directions
(within 70 deg of the free tetrahedral site for O, on the T-O-H cone for H) and the direction
that keeps the largest distance to every other atom wins. Lengths in Å, angles in degrees.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from amlip.properties.porosity import atomic_radii, blocked_points, fibonacci_sphere
from amlip.structures.pores import distance_to_axis

log = logging.getLogger(__name__)


T_O_A = 1.63
# Probe-test radii of the formers (Å): cation-like instead of the van der Waals 2.10 Å of Si, which
# would hide every bridging O behind its own T atoms (a linear Si-O-Si is then never accessible).
FORMER_RADII_A = {"Si": 1.35, "Al": 1.35}
O_H_A = 0.97
T_O_H_DEG = 118.0


def _neighbours(atoms: Atoms, cutoff_A: float) -> list[list[int]]:
    i, j = neighbor_list("ij", atoms, cutoff_A)
    out: list[list[int]] = [[] for _ in range(len(atoms))]
    for a, b in zip(i, j):
        out[a].append(int(b))
    return out


def bonds(
    atoms: Atoms, formers: Sequence[str] = ("Si", "Al"), oxygen: str = "O", bond_cutoff_A: float = 2.0, oh_cutoff_A: float = 1.2
):
    """Per atom: the formers bonded to each O (within ``bond_cutoff_A``), the O bonded to each former, the H on each O."""
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, d = neighbor_list("ijd", atoms, max(bond_cutoff_A, oh_cutoff_A))
    t_of_o = {k: [] for k in np.flatnonzero(symbols == oxygen)}
    o_of_t = {k: [] for k in np.flatnonzero(np.isin(symbols, list(formers)))}
    h_of_o = {k: [] for k in t_of_o}
    for a, b, dist in zip(i, j, d):
        if symbols[a] == oxygen and symbols[b] in formers and dist < bond_cutoff_A:
            t_of_o[a].append(int(b))
            o_of_t[b].append(int(a))
        elif symbols[a] == oxygen and symbols[b] == "H" and dist < oh_cutoff_A:
            h_of_o[a].append(int(b))
    return t_of_o, o_of_t, h_of_o


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _cone(axis: np.ndarray, max_angle_deg: float, n: int = 400, exact: bool = False) -> np.ndarray:
    """Unit vectors within ``max_angle_deg`` of ``axis`` (or exactly at that angle when ``exact``)."""
    axis = _unit(np.asarray(axis, dtype=float))
    helper = np.array([1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = _unit(np.cross(axis, helper))
    e2 = np.cross(axis, e1)
    k = np.arange(n) + 0.5
    phi = np.pi * (1 + 5**0.5) * k
    cos_max = np.cos(np.radians(max_angle_deg))
    cos_t = np.full(n, cos_max) if exact else 1 - (1 - cos_max) * k / n
    sin_t = np.sqrt(1 - cos_t**2)
    return cos_t[:, None] * axis + sin_t[:, None] * (np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2)


def _clearance(atoms: Atoms, anchor: int, offsets: np.ndarray, ignore: Sequence[int] = ()) -> np.ndarray:
    """Smallest distance (Å) from each point ``position[anchor] + offset`` to the atoms not in ``ignore``.

    Distances go through the minimum image seen from the anchor, exact for points a few Å from it.
    """
    keep = np.setdiff1d(np.arange(len(atoms)), np.asarray(ignore, dtype=int))
    if len(keep) == 0:
        return np.full(len(offsets), np.inf)
    vec = atoms.get_distances(anchor, keep, mic=True, vector=True)
    return np.linalg.norm(offsets[:, None, :] - vec[None, :, :], axis=-1).min(axis=1)


def _vacancy_direction(atoms: Atoms, centre: int, bonded: Sequence[int]) -> np.ndarray:
    """Direction of the free tetrahedral site of ``centre``: opposite the sum of its bond vectors."""
    if len(bonded) == 0:
        return np.array([0.0, 0.0, 1.0])
    vec = atoms.get_distances(centre, list(bonded), mic=True, vector=True)
    total = _unit(vec).sum(axis=0)
    return -_unit(total) if np.linalg.norm(total) > 1e-6 else _unit(np.cross(vec[0], [0.3, 0.5, 0.8]))


def _add_h(atoms: Atoms, o: int, t: int | None, extra_ignore: Sequence[int] = ()) -> None:
    """Append an H 0.97 Å from O ``o``; on the T-O-H 118 deg cone around T->O when ``t`` is given."""
    if t is None:
        dirs = fibonacci_sphere(400)
    else:
        axis = atoms.get_distance(t, o, mic=True, vector=True)
        dirs = _cone(axis, 180.0 - T_O_H_DEG, exact=True)
    best = int(np.argmax(_clearance(atoms, o, O_H_A * dirs, [o, *extra_ignore])))
    atoms.append("H")
    atoms.positions[-1] = atoms.positions[o] + O_H_A * dirs[best]


def _add_oh(atoms: Atoms, t: int, direction: np.ndarray, max_angle_deg: float = 70.0) -> int:
    """Append an O 1.63 Å from former ``t`` near ``direction`` and its H; returns the new O's index."""
    dirs = _cone(direction, max_angle_deg)
    score = _clearance(atoms, t, T_O_A * dirs, [t])
    best = int(np.argmax(score))
    atoms.append("O")
    atoms.positions[-1] = atoms.positions[t] + T_O_A * dirs[best]
    o = len(atoms) - 1
    _add_h(atoms, o, t)
    return o


def saturate(
    atoms: Atoms, formers: Sequence[str] = ("Si",), oxygen: str = "O", coordination: int = 4, bond_cutoff_A: float = 2.0
) -> tuple[Atoms, dict]:
    """Saturate under-coordinated formers with OH and dangling O with H.

    A former with fewer than ``coordination`` O within ``bond_cutoff_A`` (3-fold Si) gets one OH
    per missing O; an O bonded to a single former and to no H gets an H. Returns the new
    structure and the counts ``{"oh_on_formers": n, "h_on_oxygens": m}``.
    """
    out = atoms.copy()
    t_of_o, o_of_t, h_of_o = bonds(out, formers, oxygen, bond_cutoff_A)
    n_oh = 0
    for t, oxygens in o_of_t.items():
        for _ in range(max(0, coordination - len(oxygens))):
            current = oxygens + [
                k
                for k in range(len(atoms), len(out))
                if out.symbols[k] == oxygen and out.get_distance(t, k, mic=True) < bond_cutoff_A
            ]
            _add_oh(out, t, _vacancy_direction(out, t, current))
            n_oh += 1
    n_h = 0
    for o, ts in t_of_o.items():
        if len(ts) == 1 and not h_of_o[o]:
            _add_h(out, o, ts[0])
            n_h += 1
    log.info("saturation: %d OH on under-coordinated %s, %d H on dangling O", n_oh, "/".join(formers), n_h)
    return out, {"oh_on_formers": n_oh, "h_on_oxygens": n_h}


def accessible_oxygens(
    atoms: Atoms,
    probe_radius_A: float = 1.4,
    pore_radius_A: float | None = None,
    oxygen: str = "O",
    n_points: int = 200,
    radii: dict | None = None,
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Indices of the O a probe sphere can touch, and one free probe centre (Å) per such O.

    See the module docstring for the test. With ``pore_radius_A`` the free probe centre must lie
    within that distance of the pore axis.
    """
    radii_by_element = atomic_radii(atoms, {**FORMER_RADII_A, **(radii or {})})
    unit = fibonacci_sphere(n_points)
    candidates = np.flatnonzero(np.array(atoms.get_chemical_symbols()) == oxygen)
    points = (atoms.positions[candidates, None, :] + (radii_by_element[oxygen] + probe_radius_A) * unit[None]).reshape(-1, 3)
    free = ~blocked_points(atoms, points, probe_radius_A, radii_by_element, tol=1e-6)
    if pore_radius_A is not None:
        free &= distance_to_axis(points, atoms.cell.array)[0] < pore_radius_A
    free = free.reshape(len(candidates), n_points)
    points = points.reshape(len(candidates), n_points, 3)
    found = [int(o) for o, row in zip(candidates, free) if row.any()]
    probes = {int(o): points[k, np.flatnonzero(free[k])[0]] for k, o in enumerate(candidates) if free[k].any()}
    return np.array(found, dtype=int), probes


def hydroxylate_bridging(
    atoms: Atoms,
    oxygens: Sequence[int],
    probes: dict[int, np.ndarray] | None = None,
    formers: Sequence[str] = ("Si", "Al"),
    oxygen: str = "O",
    bond_cutoff_A: float = 2.0,
) -> tuple[Atoms, int]:
    """Split every bridging O in ``oxygens`` (two formers, no H): T1-O-T2 + H2O -> T1-OH + HO-T2.

    The old O stays on T1 and gets an H; T2 gets a new O and H. The new O is placed within 70 deg of
    T2's free tetrahedral site, as far as possible from every atom (the moved old O included); a free probe
    centre in ``probes`` (from :func:`accessible_oxygens`) pulls both OH towards the pore. O that are
    not bridging are skipped. Returns the new structure and the number of bridges split.
    """
    out = atoms.copy()
    t_of_o, _, h_of_o = bonds(out, formers, oxygen, bond_cutoff_A)
    n_split = 0
    for o in oxygens:
        ts = t_of_o.get(int(o), [])
        if len(ts) != 2 or h_of_o.get(int(o)):
            continue
        t1, t2 = ts
        _, o_of_t, _ = bonds(out, formers, oxygen, bond_cutoff_A)
        others = [k for k in o_of_t[t2] if k != o]
        direction = _vacancy_direction(out, t2, others)
        if probes is not None and int(o) in probes:
            towards = probes[int(o)] - out.positions[t2]
            direction = _unit(_unit(direction) + 0.5 * _unit(towards))
        # Move the old O off T2 first (towards T1's free site) so the new O does not clash with it.
        t1_others = [k for k in bonds(out, formers, oxygen, bond_cutoff_A)[1][t1] if k != o]
        pull = _vacancy_direction(out, t1, t1_others)
        away_from_t2 = -out.get_distance(t1, t2, mic=True, vector=True)
        dirs = _cone(pull, 40.0)
        score = _clearance(out, t1, T_O_A * dirs, [t1, int(o)]) + 0.5 * (dirs @ _unit(away_from_t2))
        out.positions[o] = out.positions[t1] + T_O_A * dirs[int(np.argmax(score))]
        _add_h(out, int(o), t1)
        _add_oh(out, t2, direction)
        n_split += 1
    log.info("hydroxylation: %d bridging O split into 2 OH each (%d H2O added)", n_split, n_split)
    return out, n_split


def find_water(
    atoms: Atoms, formers: Sequence[str] = ("Si", "Al"), oxygen: str = "O", bond_cutoff_A: float = 2.0, oh_cutoff_A: float = 1.2
) -> list[tuple[int, int, int]]:
    """H2O molecules by connectivity: an O with exactly two H within ``oh_cutoff_A`` and no former within ``bond_cutoff_A``.

    Returns ``(o, h1, h2)`` index triples. Each H is assigned to its nearest O first, so an H
    shared by two O within the cutoff counts once.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, d = neighbor_list("ijd", atoms, max(bond_cutoff_A, oh_cutoff_A))
    nearest_o: dict[int, tuple[int, float]] = {}
    has_former = set()
    for a, b, dist in zip(i, j, d):
        if symbols[a] == "H" and symbols[b] == oxygen and dist < oh_cutoff_A and (a not in nearest_o or dist < nearest_o[a][1]):
            nearest_o[int(a)] = (int(b), float(dist))
        if symbols[a] == oxygen and symbols[b] in formers and dist < bond_cutoff_A:
            has_former.add(int(a))
    h_on: dict[int, list[int]] = {}
    for h, (o, _) in nearest_o.items():
        h_on.setdefault(o, []).append(h)
    return [(o, *sorted(hs)) for o, hs in sorted(h_on.items()) if len(hs) == 2 and o not in has_former]


def remove_water(atoms: Atoms, **kwargs) -> tuple[Atoms, int]:
    """``atoms`` without the H2O molecules :func:`find_water` finds, and their number (logged)."""
    molecules = find_water(atoms, **kwargs)
    drop = sorted(k for m in molecules for k in m)
    out = atoms.copy()
    del out[drop]
    log.info("water removal: %d H2O molecules removed (%d atoms), %d atoms left", len(molecules), len(drop), len(out))
    out.info["n_water_removed"] = len(molecules)
    return out, len(molecules)


def functionalize(
    atoms: Atoms,
    pore_radius_A: float | None,
    probe_radius_A: float = 1.4,
    formers: Sequence[str] = ("Si", "Al"),
    oxygen: str = "O",
    bond_cutoff_A: float = 2.0,
    radii: dict | None = None,
    saturate_formers: Sequence[str] = ("Si",),
) -> tuple[Atoms, dict]:
    """Saturate ``saturate_formers`` (3-fold Si) and dangling O, then hydroxylate every accessible bridging O.

    Returns the structure and the counts (also stored in ``info`` as ``functionalize_*``).
    """
    saturated, counts = saturate(atoms, formers=saturate_formers, oxygen=oxygen, bond_cutoff_A=bond_cutoff_A)
    found, probes = accessible_oxygens(saturated, probe_radius_A, pore_radius_A, oxygen, radii=radii)
    t_of_o, _, h_of_o = bonds(saturated, formers, oxygen, bond_cutoff_A)
    bridging = [o for o in found if len(t_of_o[o]) == 2 and not h_of_o[o]]
    out, n_split = hydroxylate_bridging(saturated, bridging, probes, formers, oxygen, bond_cutoff_A)
    counts |= {
        "accessible_O": int(len(found)),
        "bridging_split": n_split,
        "n_OH": count_hydroxyls(out, formers, oxygen, bond_cutoff_A),
    }
    out.info.update({f"functionalize_{k}": v for k, v in counts.items()})
    return out, counts


def count_hydroxyls(atoms: Atoms, formers: Sequence[str] = ("Si", "Al"), oxygen: str = "O", bond_cutoff_A: float = 2.0) -> int:
    """Number of H bonded (1.2 Å) to an O that is bonded to a former (surface OH, water excluded)."""
    t_of_o, _, h_of_o = bonds(atoms, formers, oxygen, bond_cutoff_A)
    return int(sum(len(h_of_o[o]) for o in t_of_o if t_of_o[o]))


def oh_density_per_nm2(
    atoms: Atoms, pore_radius_A: float, formers: Sequence[str] = ("Si", "Al"), oxygen: str = "O", bond_cutoff_A: float = 2.0
) -> dict[str, float]:
    """Surface OH density (OH/nm^2) over the nominal pore wall area 2 pi R c of the cylinder (AS)."""
    n_oh = count_hydroxyls(atoms, formers, oxygen, bond_cutoff_A)
    area = 2 * np.pi * pore_radius_A * atoms.cell.array[2, 2]
    return {"n_OH": n_oh, "pore_area_A2": float(area), "OH_per_nm2": surface_oh_density(n_oh, area)}


def surface_oh_density(n_oh: int, surface_area_A2: float) -> float:
    """Surface OH density in OH per nm^2 (1 nm^2 = 100 Å^2)."""
    if surface_area_A2 <= 0:
        raise ValueError(f"surface area must be positive, got {surface_area_A2} Å^2")
    return 100.0 * n_oh / surface_area_A2
