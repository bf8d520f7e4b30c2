"""MIL-120 (MIL paper): the framework from a user's CIF, its OH orientation variants and CO2 loadings.

MIL-120 is Al4(OH)8(btec) (btec = 1,2,4,5-benzenetetracarboxylate): rods of AlO6 octahedra bridged by
mu2-OH groups, linked by btec. X-ray diffraction does not place the OH hydrogens, and the paper shows
that their orientation sets the CO2 binding: along a rod's repeat unit each mu2-OH either donates a
hydrogen bond to an OH of the neighbouring rod (D) or is the acceptor, its O-H free and pointing into
the pore (A). The paper names four sequences (Fig. 2): str1 AAAADDDD, str2 ADDAADDA, str3 DAADDAAD,
str4 AAAAAAAA. No MIL-120 CIF ships with amlip (resources/structures/README.md): supply your own.

Geometry of an orientation (ours; the paper gives none): a mu2-OH oxygen O between metals M1, M2 of
its rod has its H at ``oh_length_A`` from O, in the plane perpendicular to M1-M2 through O, tilted by
``tilt_deg`` to either side of the direction away from the M1-M2 midpoint. D takes the side nearer the
closest hydroxyl O of another rod (the hydrogen bond), A the other side.
"""

from __future__ import annotations

from collections import deque
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

#: The MIL paper's OH sequences along a rod repeat unit (Fig. 2; D donor, A acceptor with a free O-H).
OH_PATTERNS = {"str1": "AAAADDDD", "str2": "ADDAADDA", "str3": "DAADDAAD", "str4": "AAAAAAAA"}
CO2_BOND_A = 1.16


def hydroxyl_oxygens(atoms: Atoms, metal: str = "Al", metal_cutoff_A: float = 2.1, carbon_cutoff_A: float = 1.6):
    """mu-OH oxygens: O bound to at least two ``metal`` atoms and to no C. Returns {O index: [(metal, shift), ...]}."""
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, shift, d = neighbor_list("ijSd", atoms, max(metal_cutoff_A, carbon_cutoff_A))
    metals: dict[int, list] = {}
    bonded_to_c = set()
    for a, b, s, dist in zip(i, j, shift, d):
        if symbols[a] != "O":
            continue
        if symbols[b] == metal and dist <= metal_cutoff_A:
            metals.setdefault(int(a), []).append((int(b), tuple(int(x) for x in s)))
        elif symbols[b] == "C" and dist <= carbon_cutoff_A:
            bonded_to_c.add(int(a))
    return {o: m for o, m in metals.items() if len(m) >= 2 and o not in bonded_to_c}


def rods(atoms: Atoms, hydroxyls: Mapping[int, Sequence], axis: Sequence[float]) -> list[list[int]]:
    """Hydroxyl oxygens grouped by rod (metals and mu-OH connected through each other), each sorted along ``axis``.

    The order along a rod starts at the hydroxyl with the smallest coordinate along ``axis`` in the cell.
    """
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    neighbours: dict[int, set[int]] = {}
    for o, metals in hydroxyls.items():
        for m, _ in metals:
            neighbours.setdefault(o, set()).add(m)
            neighbours.setdefault(m, set()).add(o)
    seen, groups = set(), []
    for start in hydroxyls:
        if start in seen:
            continue
        queue, members = deque([start]), []
        seen.add(start)
        while queue:
            node = queue.popleft()
            if node in hydroxyls:
                members.append(node)
            for nxt in neighbours[node] - seen:
                seen.add(nxt)
                queue.append(nxt)
        groups.append(sorted(members, key=lambda o: float(atoms.positions[o] @ axis)))
    return groups


def _candidates(atoms: Atoms, o: int, metals: Sequence, tilt_deg: float) -> list[np.ndarray]:
    """The two unit vectors an O-H may take at hydroxyl ``o`` (tilted to either side of the away direction)."""
    cell = atoms.cell.array
    (m1, s1), (m2, s2) = metals[:2]
    p1 = atoms.positions[m1] + np.array(s1) @ cell
    p2 = atoms.positions[m2] + np.array(s2) @ cell
    rod = (p2 - p1) / np.linalg.norm(p2 - p1)
    away = atoms.positions[o] - 0.5 * (p1 + p2)
    away -= (away @ rod) * rod
    away /= np.linalg.norm(away)
    side = np.cross(rod, away)
    t = np.radians(tilt_deg)
    return [np.cos(t) * away + np.sin(t) * side, np.cos(t) * away - np.sin(t) * side]


def orient_hydroxyls(
    atoms: Atoms,
    pattern: str,
    rod_axis: Sequence[float] = (0.0, 1.0, 0.0),
    metal: str = "Al",
    oh_length_A: float = 0.97,
    tilt_deg: float = 35.0,
) -> Atoms:
    """A copy with every mu-OH hydrogen placed after ``pattern`` (a string of D and A, repeated along each rod).

    H atoms within 1.2 Å of a hydroxyl O are removed first (a CIF with or without them works); the
    new H atoms are appended. Raises ValueError when the framework has no mu-OH.
    """
    if set(pattern) - {"A", "D"} or not pattern:
        raise ValueError(f"OH pattern '{pattern}' must be a string of A and D")
    atoms = atoms.copy()
    hydroxyls = hydroxyl_oxygens(atoms, metal)
    if not hydroxyls:
        raise ValueError(f"no mu-OH oxygens (O bound to two {metal}, no C) in {atoms.get_chemical_formula()}")
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, d = neighbor_list("ijd", atoms, 1.2)
    old_h = sorted({int(b) for a, b in zip(i, j) if a in hydroxyls and symbols[b] == "H"})
    keep = np.ones(len(atoms), dtype=bool)
    keep[old_h] = False
    index = np.cumsum(keep) - 1
    atoms = atoms[keep]
    hydroxyls = {int(index[o]): [(int(index[m]), s) for m, s in ms] for o, ms in hydroxyls.items()}
    groups = rods(atoms, hydroxyls, rod_axis)
    rod_of = {o: k for k, group in enumerate(groups) for o in group}
    new_h = []
    for group in groups:
        for position, o in enumerate(group):
            first, second = _candidates(atoms, o, hydroxyls[o], tilt_deg)
            others = [p for p in hydroxyls if rod_of[p] != rod_of[o]]
            if others:
                vectors = [atoms.get_distance(o, p, mic=True, vector=True) for p in others]
                target = min(vectors, key=np.linalg.norm)
                donor, acceptor = (first, second) if first @ target >= second @ target else (second, first)
            else:
                donor, acceptor = first, second
            direction = donor if pattern[position % len(pattern)] == "D" else acceptor
            new_h.append(atoms.positions[o] + oh_length_A * direction)
    atoms += Atoms("H" * len(new_h), positions=new_h)
    atoms.info["oh_pattern"] = pattern
    return atoms


def insert_co2(host: Atoms, n: int, seed: int = 0, min_distance_A: float = 2.6, max_tries: int = 10_000) -> Atoms:
    """``host`` with ``n`` rigid CO2 (C-O 1.16 Å) at random positions and orientations, every guest atom at
    least ``min_distance_A`` from every other atom (periodic). Raises RuntimeError naming ``n`` when no room is found."""
    rng = np.random.default_rng(seed)
    atoms = host.copy()
    for k in range(n):
        for _ in range(max_tries):
            centre = rng.random(3) @ atoms.cell.array
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            guest = Atoms("CO2", positions=[centre, centre + CO2_BOND_A * axis, centre - CO2_BOND_A * axis])
            trial = atoms + guest
            if len(atoms) == 0:
                atoms = trial
                break
            i, j, d = neighbor_list("ijd", trial, min_distance_A)
            new = set(range(len(atoms), len(trial)))
            clash = [(a, b) for a, b in zip(i, j) if a in new and b not in new]
            if not clash:
                atoms = trial
                break
        else:
            raise RuntimeError(f"no room for CO2 number {k + 1} of {n} at {min_distance_A} Å from the framework")
    atoms.info["n_co2"] = int(n)
    return atoms


def read_mil120(path, expected_ratio: Mapping[str, int] | None = None) -> Atoms:
    """The framework of a MIL-120 CIF; checks that Al : C : O come as in Al4(OH)8(btec) (4 : 10 : 16; H may be absent)."""
    from collections import Counter

    from amlip.structures.zif import read_cif

    atoms = read_cif(path)
    ratio = dict(expected_ratio or {"Al": 4, "C": 10, "O": 16})
    found = Counter(atoms.get_chemical_symbols())
    units = found[next(iter(ratio))] / next(iter(ratio.values()))
    if units <= 0 or any(found[e] != units * n for e, n in ratio.items()):
        raise ValueError(f"{path} holds {dict(found)}: not Al4(OH)8(btec) (Al:C:O = 4:10:16)")
    atoms.wrap()
    return atoms
