"""Organic linkers of a metal-organic framework (ZIF): molecules, their integrity, and the metal network through them.

A linker is a connected set of organic atoms bonded within per-pair cutoffs (Å), found on the
periodic lift of the structure: every atom of a molecule gets the image offset that makes the
molecule whole, so a linker that crosses the cell boundary is one molecule. In ZIF-4 a linker is
an imidazolate, C3H3N2 (a five-membered ring N-C-N-C-C with one H on each C); each of its two N
binds one Zn (Zn-N within 2.5 Å, the ZIF paper's cutoff from the Zn-N PMF). Two metals are linked
when they bind N atoms of the same linker: the Zn-Im-Zn network whose rings, coordination and
angles the ZIF paper analyses (Castel et al., Digital Discovery 3 (2024) 355).

An intact imidazolate has the expected composition and the expected bonds (4 C-N, 1 C-C, 3 C-H)
and nothing else; a ring opened by one broken C-N bond, a lost or extra H, or a fragment is a
broken linker (the ZIF paper checks this above 1300 K: "no breaking of the imidazolate rings").
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

#: Covalent bond cutoffs in Å per element pair of the organic part: wide enough for 1500 K vibrations
#: (C-N 1.33, C-C 1.37, C-H 1.08 Å at rest; ReaxFF ZIF-4 at 1500 K stretched them to 1.51, 1.53 and 1.32 Å),
#: short of any non-bonded contact (H to the next ring atom 2.1 Å).
BOND_CUTOFFS_A = {"C-C": 1.75, "C-N": 1.75, "N-N": 1.6, "C-H": 1.5, "N-H": 1.45, "H-H": 1.0, "C-O": 1.6, "O-H": 1.3}

#: The imidazolate linker of ZIF-4: composition and covalent bonds of an intact ring.
IMIDAZOLATE = {"formula": {"C": 3, "H": 3, "N": 2}, "bonds": {"C-N": 4, "C-C": 1, "C-H": 3}}


class LinkerIntegrityError(RuntimeError):
    """Raised when frames hold broken linkers; the message names the frames and linkers."""


@dataclass
class Molecule:
    """One molecule: atom indices, the image offset (cell units) that makes each atom whole, and its bonds."""

    atoms: list[int]
    offsets: dict[int, np.ndarray]
    bonds: list[tuple[int, int]] = field(default_factory=list)

    def formula(self, symbols: Sequence[str]) -> dict[str, int]:
        return dict(Counter(symbols[i] for i in self.atoms))

    def positions(self, atoms: Atoms) -> np.ndarray:
        """Unwrapped Cartesian positions (Å) of the molecule's atoms, in the order of ``self.atoms``."""
        return np.array([atoms.positions[i] + self.offsets[i] @ atoms.cell.array for i in self.atoms])


def formula_text(formula: Mapping[str, int]) -> str:
    """'C3H3N2' style text of a composition (elements in alphabetical order, counts of 1 not written)."""
    return "".join(f"{e}{n if n > 1 else ''}" for e, n in sorted(formula.items()))


def _pair_key(a: str, b: str) -> str:
    return "-".join(sorted((a, b)))


def _cutoffs(cutoffs: Mapping[str, float] | None) -> dict[str, float]:
    """Pair cutoffs with both element orders normalised ('N-C' and 'C-N' are one key)."""
    table = {_pair_key(*k.split("-")): float(v) for k, v in BOND_CUTOFFS_A.items()}
    table.update({_pair_key(*k.split("-")): float(v) for k, v in (cutoffs or {}).items()})
    return table


def find_molecules(
    atoms: Atoms, elements: Sequence[str] = ("C", "H", "N"), cutoffs: Mapping[str, float] | None = None
) -> list[Molecule]:
    """The molecules made of ``elements`` (bonded within the pair ``cutoffs``, Å), each made whole across the cell."""
    table = _cutoffs(cutoffs)
    symbols = np.array(atoms.get_chemical_symbols())
    organic = np.isin(symbols, list(elements))
    if not organic.any():
        return []
    i, j, shift, d = neighbor_list("ijSd", atoms, max(table.values()))
    adjacency: dict[int, list[tuple[int, np.ndarray]]] = {int(k): [] for k in np.flatnonzero(organic)}
    for a, b, s, dist in zip(i, j, shift, d):
        if organic[a] and organic[b] and dist <= table.get(_pair_key(symbols[a], symbols[b]), 0.0):
            adjacency[int(a)].append((int(b), s))
    molecules, seen = [], set()
    for root in adjacency:
        if root in seen:
            continue
        offsets = {root: np.zeros(3, dtype=int)}
        bonds, queue = set(), deque([root])
        seen.add(root)
        while queue:
            a = queue.popleft()
            for b, s in adjacency[a]:
                bonds.add((min(a, b), max(a, b)))
                if b not in offsets:
                    offsets[b] = offsets[a] + s
                    seen.add(b)
                    queue.append(b)
        molecules.append(Molecule(sorted(offsets), offsets, sorted(bonds)))
    return molecules


def _has_ring(molecule: Molecule, size: int) -> bool:
    """True when the molecule's bond graph has a cycle of ``size`` atoms."""
    neighbours: dict[int, list[int]] = {a: [] for a in molecule.atoms}
    for a, b in molecule.bonds:
        neighbours[a].append(b)
        neighbours[b].append(a)

    def extend(path):
        if len(path) == size:
            return path[0] in neighbours[path[-1]]
        return any(extend(path + [n]) for n in neighbours[path[-1]] if n not in path and n > path[0])

    return any(extend([a]) for a in molecule.atoms)


def linker_table(
    atoms: Atoms,
    expected: Mapping = IMIDAZOLATE,
    cutoffs: Mapping[str, float] | None = None,
    elements: Sequence[str] = ("C", "H", "N"),
    ring_size: int = 5,
):
    """One row per molecule: formula, bond counts per pair, whether it has its ``ring_size`` ring, ``intact`` and ``reason``.

    ``expected`` gives the linker's ``formula`` ({element: count}) and ``bonds`` ({"C-N": count, ...});
    an intact linker has exactly those and a ring of ``ring_size`` atoms.
    """
    import pandas as pd

    symbols = atoms.get_chemical_symbols()
    want_formula = {k: int(v) for k, v in expected["formula"].items()}
    want_bonds = {_pair_key(*k.split("-")): int(v) for k, v in expected["bonds"].items()}
    rows = []
    for k, mol in enumerate(find_molecules(atoms, elements, cutoffs)):
        formula = mol.formula(symbols)
        bonds = Counter(_pair_key(symbols[a], symbols[b]) for a, b in mol.bonds)
        ring = _has_ring(mol, ring_size)
        reasons = []
        if formula != want_formula:
            reasons.append(f"formula {formula_text(formula)}")
        wrong = {p: bonds.get(p, 0) for p in set(bonds) | set(want_bonds) if bonds.get(p, 0) != want_bonds.get(p, 0)}
        if wrong:
            reasons.append("bonds " + ", ".join(f"{p} {n} (want {want_bonds.get(p, 0)})" for p, n in sorted(wrong.items())))
        if not ring:
            reasons.append(f"no {ring_size}-ring")
        rows.append(
            {
                "molecule": k,
                "first_atom": mol.atoms[0],
                "formula": formula_text(formula),
                **{f"n_{p}": bonds.get(p, 0) for p in sorted(set(want_bonds) | set(bonds))},
                "ring": ring,
                "intact": not reasons,
                "reason": "; ".join(reasons),
            }
        )
    return pd.DataFrame(rows)


def linker_integrity(
    frames: Sequence[Atoms],
    expected: Mapping = IMIDAZOLATE,
    cutoffs: Mapping[str, float] | None = None,
    elements: Sequence[str] = ("C", "H", "N"),
    n_expected: int | None = None,
):
    """Per frame: linkers found, intact and broken, and the broken ones' reasons (a DataFrame).

    ``n_expected``: linkers an intact frame holds (default: the first frame's count of molecules
    with the expected formula); fewer molecules of the right formula is also a break.
    """
    import pandas as pd

    rows = []
    for f, atoms in enumerate(frames):
        table = linker_table(atoms, expected, cutoffs, elements)
        n_intact = int(table.intact.sum()) if len(table) else 0
        if n_expected is None:
            n_expected = n_intact
        broken = table[~table.intact] if len(table) else table
        rows.append(
            {
                "frame": f,
                "temperature_K": atoms.info.get("temperature_K", np.nan),
                "n_molecules": len(table),
                "n_intact": n_intact,
                "n_broken": len(broken) + max(0, n_expected - n_intact - len(broken)),
                "broken": " | ".join(f"molecule {r.molecule} (atom {r.first_atom}): {r.reason}" for r in broken.itertuples()),
            }
        )
    return pd.DataFrame(rows)


def check_linkers(table, source: str = "the trajectory") -> None:
    """Raise :class:`LinkerIntegrityError` naming every frame of a :func:`linker_integrity` table with broken linkers."""
    bad = table[table.n_broken > 0]
    if len(bad):
        lines = [f"frame {r.frame} (T = {r.temperature_K} K): {r.n_broken} broken: {r.broken}" for r in bad.head(10).itertuples()]
        raise LinkerIntegrityError(
            f"{len(bad)} of {len(table)} frames of {source} have broken linkers (first: frame {bad.frame.iloc[0]}):\n  "
            + "\n  ".join(lines)
            + "\nThe potential breaks the imidazolates at these temperatures: lower the melt temperature or retrain with such frames."
        )


@dataclass
class Link:
    """Two metals bound to one linker: metal ``a`` at image 0, metal ``b`` at image ``shift`` (cell units)."""

    a: int
    b: int
    shift: tuple[int, int, int]
    linker: int
    centre: np.ndarray  # Cartesian centroid (Å) of the linker's ring atoms, in the frame of metal a


def metal_links(
    atoms: Atoms,
    metal: str = "Zn",
    donor: str = "N",
    metal_cutoff_A: float = 2.5,
    cutoffs: Mapping[str, float] | None = None,
    elements: Sequence[str] = ("C", "H", "N"),
    ring_elements: Sequence[str] = ("C", "N"),
) -> list[Link]:
    """Every metal-linker-metal link: metals bound (within ``metal_cutoff_A``) to ``donor`` atoms of one linker.

    A linker bound to k metals gives every ordered pair of them (k = 2 in a ZIF, so two links,
    a -> b and b -> a). The centre is the centroid of the linker's ``ring_elements`` (the imidazolate ring).
    """
    symbols = np.array(atoms.get_chemical_symbols())
    molecules = find_molecules(atoms, elements, cutoffs)
    owner = {a: k for k, mol in enumerate(molecules) for a in mol.atoms}
    i, j, shift, d = neighbor_list("ijSd", atoms, metal_cutoff_A)
    bound: dict[int, list[tuple[int, np.ndarray]]] = {}
    for m, n, s in zip(i, j, shift):
        if symbols[m] == metal and symbols[n] == donor and int(n) in owner:
            mol = molecules[owner[int(n)]]
            # the metal's image in the molecule's frame: donor whole at offset o, metal at o - s
            bound.setdefault(owner[int(n)], []).append((int(m), mol.offsets[int(n)] - s))
    cell = atoms.cell.array
    links = []
    for k, metals in bound.items():
        mol = molecules[k]
        ring = [a for a in mol.atoms if symbols[a] in ring_elements]
        centre = np.mean([atoms.positions[a] + mol.offsets[a] @ cell for a in ring], axis=0)
        for p, (ma, ia) in enumerate(metals):
            for q, (mb, ib) in enumerate(metals):
                if p != q:
                    links.append(Link(ma, mb, tuple(int(x) for x in ib - ia), k, centre - ia @ cell))
    return links


def metal_graph(links: Sequence[Link], metals: Sequence[int]) -> dict[int, list[tuple[int, tuple[int, int, int]]]]:
    """The periodic metal-metal graph of :mod:`amlip.properties.rings` ({metal: [(metal, shift), ...]}) from links."""
    graph: dict[int, list[tuple[int, tuple[int, int, int]]]] = {int(m): [] for m in metals}
    for link in links:
        if (link.b, link.shift) not in graph[link.a]:
            graph[link.a].append((link.b, link.shift))
    return graph


def metal_linker_angles(atoms: Atoms, links: Sequence[Link]) -> np.ndarray:
    """Metal-linker-metal angles (degrees) at the linker's ring centroid (ZIF: Zn-Im-Zn, ~145° in crystals), one per linker pair."""
    cell = atoms.cell.array
    angles = []
    for link in links:
        if (link.a, link.b) > (link.b, link.a) or (link.a == link.b and link.shift < (0, 0, 0)):
            continue
        u = atoms.positions[link.a] - link.centre
        v = atoms.positions[link.b] + np.array(link.shift) @ cell - link.centre
        cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
        angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.array(angles)


def network_angles(atoms: Atoms, graph: Mapping[int, Sequence[tuple[int, tuple[int, int, int]]]]) -> np.ndarray:
    """Metal...metal...metal angles (degrees) at each metal between its linked neighbours (ZIF: Zn...Zn...Zn, tetrahedral 109.5°)."""
    cell = atoms.cell.array
    angles = []
    for m, links in graph.items():
        vectors = [atoms.positions[n] + np.array(s) @ cell - atoms.positions[m] for n, s in links]
        for p in range(len(vectors)):
            for q in range(p + 1, len(vectors)):
                u, v = vectors[p], vectors[q]
                cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
                angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.array(angles)
