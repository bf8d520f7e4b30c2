"""Ring statistics of a network (PROTOCOLS 6, ZIF) on the periodic former-former graph.

The graph: nodes are the network formers (Si, Al; Zn in ZIFs); two formers are linked when
they share a bridge (an oxygen, or the N of an imidazolate in ZIFs) bonded to both within
``cutoff``. Ring size n counts formers: an n-membered silica ring has n Si and n O.

Ring definition (documented choice): shortest-path rings (Guttman, J. Non-Cryst. Solids 116
(1990) 145; the "SP" rings of the R.I.N.G.S. code, Le Roux and Jund, Comput. Mater. Sci. 49
(2010) 70). For every link i-j, every shortest closed path through that link is a ring; each
distinct ring is counted once. A shortest-path ring cannot be cut by a shortcut into two
smaller rings through its link, so the set is close to the primitive rings of ZIF (equal for
the crystals used in the tests). The search runs on the periodic lift of the graph (nodes are
(atom, image) pairs), so a closed path must return to the same image: loops that only
wrap around the cell are not rings. Rings larger than ``max_size`` are not searched.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from amlip.properties.structure import tail


def ring_table(frames: Sequence[Atoms], settings: Mapping):
    """Shortest-path ring statistics (ZIF), from ``settings['rings']``.

    Keys: ``formers`` ([validate.former]), ``bridges`` ([validate.oxygen]), ``cutoff_A``
    (validate.bond_cutoff_A), ``max_size`` (12), ``max_frames`` (5: rings are costly).
    """
    opts = settings.get("rings", {})
    return ring_statistics(
        tail(frames, settings, opts.get("max_frames", 5)),
        formers=opts.get("formers", [settings.get("former", "Si")]),
        bridges=opts.get("bridges", [settings.get("oxygen", "O")]),
        cutoff=opts.get("cutoff_A", settings.get("bond_cutoff_A", 2.0)),
        max_size=opts.get("max_size", 12),
    )


def former_graph(
    atoms: Atoms, formers: Sequence[str] = ("Si",), bridges: Sequence[str] = ("O",), cutoff: float = 2.0
) -> dict[int, list[tuple[int, tuple[int, int, int]]]]:
    """Periodic former-former links through shared bridges.

    Returns ``{former index: [(neighbour index, image shift), ...]}``: the neighbour sits at
    position[j] + shift @ cell. Former-bridge bonds are those shorter than ``cutoff`` (Å).
    """
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, shift = neighbor_list("ijS", atoms, cutoff)
    is_bridge = np.isin(symbols[i], bridges) & np.isin(symbols[j], formers)
    by_bridge: dict[int, list[tuple[int, np.ndarray]]] = {}
    for b, f, s in zip(i[is_bridge], j[is_bridge], shift[is_bridge]):
        by_bridge.setdefault(int(b), []).append((int(f), s))
    graph: dict[int, list[tuple[int, tuple[int, int, int]]]] = {int(k): [] for k in np.flatnonzero(np.isin(symbols, formers))}
    for members in by_bridge.values():
        for p, (fa, sa) in enumerate(members):
            for q, (fb, sb) in enumerate(members):
                if p != q:
                    link = (fb, tuple(int(x) for x in sb - sa))
                    if link not in graph[fa]:
                        graph[fa].append(link)
    return graph


def linked_network(
    atoms: Atoms, nodes: Sequence[str], path: Sequence[str], cutoffs_A: Sequence[float]
) -> dict[int, list[tuple[int, tuple[int, int, int]]]]:
    """Periodic node-node links through a chain of bonded atoms, in the format of :func:`former_graph`.

    Two ``nodes`` atoms are linked when a chain node - path[0] - ... - path[-1] - node of distinct
    atoms exists, bond k shorter than ``cutoffs_A[k]`` (Å; one more cutoff than path elements):
    silica ``path`` [O] with cutoffs [2.0, 2.0] is :func:`former_graph`'s Si-O-Si network; ZIFs
    link Zn through an imidazolate, [N, C, N] with cutoffs [2.5, 1.6, 1.6, 2.5] (Zn-N within the
    ZIF paper's 2.5 Å, then N-C2-N across the ring), so that rings count Zn-Im-Zn links.
    """
    if len(cutoffs_A) != len(path) + 1:
        raise ValueError(f"a chain through {list(path)} has {len(path) + 1} bonds: give as many cutoffs, not {list(cutoffs_A)}")
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, d, shift = neighbor_list("ijdS", atoms, max(cutoffs_A))
    chain = [list(nodes), *[[element] for element in path], list(nodes)]
    steps = []  # per bond k: atom -> [(neighbour, image shift)]
    for k, cutoff in enumerate(cutoffs_A):
        keep = np.isin(symbols[i], chain[k]) & np.isin(symbols[j], chain[k + 1]) & (d < cutoff)
        step: dict[int, list[tuple[int, tuple[int, int, int]]]] = {}
        for a, b, s in zip(i[keep], j[keep], shift[keep]):
            step.setdefault(int(a), []).append((int(b), (int(s[0]), int(s[1]), int(s[2]))))
        steps.append(step)
    zero = (0, 0, 0)
    graph: dict[int, list[tuple[int, tuple[int, int, int]]]] = {int(k): [] for k in np.flatnonzero(np.isin(symbols, nodes))}
    for start in graph:
        walks = [[(start, zero)]]
        for step in steps:
            walks = [
                walk + [(b, _add(walk[-1][1], s))]
                for walk in walks
                for b, s in step.get(walk[-1][0], [])
                if (b, _add(walk[-1][1], s)) not in walk
            ]
        for walk in walks:
            link = walk[-1]
            if link not in graph[start]:
                graph[start].append(link)
    return graph


def network_angles(atoms: Atoms, graph: Mapping[int, list[tuple[int, tuple[int, int, int]]]]) -> np.ndarray:
    """Every node...node...node angle (degrees) at each node between two of its links in ``graph``
    (e.g. Zn...Zn...Zn through imidazolates, ZIF; Si...Si...Si in silica)."""
    positions, cell = atoms.get_positions(), atoms.cell.array
    angles = []
    for centre, links in graph.items():
        vectors = [positions[j] + np.array(s) @ cell - positions[centre] for j, s in links]
        for p in range(len(vectors)):
            for q in range(p + 1, len(vectors)):
                cos = vectors[p] @ vectors[q] / (np.linalg.norm(vectors[p]) * np.linalg.norm(vectors[q]))
                angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.array(angles)


def _add(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[int, int, int]:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _shortest_paths(graph, start, goal, skip_edge, max_len: int) -> list[list]:
    """All shortest paths start -> goal on the lifted graph, not using ``skip_edge``, of at most ``max_len`` links."""
    dist = {start: 0}
    parents: dict = {start: []}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal or dist[node] >= max_len:
            continue
        if goal in dist and dist[node] >= dist[goal]:
            break
        idx, img = node
        for nb, shift in graph[idx]:
            nxt = (nb, _add(img, shift))
            if {node, nxt} == skip_edge:
                continue
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                parents[nxt] = [node]
                queue.append(nxt)
            elif dist[nxt] == dist[node] + 1:
                parents[nxt].append(node)
    if goal not in dist:
        return []
    paths = []

    def walk(node, tail):
        if node == start:
            paths.append([start] + tail)
            return
        for p in parents[node]:
            walk(p, [node] + tail)

    walk(goal, [])
    return paths


def _canonical(ring: list[tuple[int, tuple[int, int, int]]]) -> tuple:
    """A key that is the same for a ring wherever it sits in the lattice and wherever it starts."""
    keys = []
    for _, ref in ring:
        shifted = sorted((i, (img[0] - ref[0], img[1] - ref[1], img[2] - ref[2])) for i, img in ring)
        keys.append(tuple(shifted))
    return min(keys)


def shortest_path_rings(graph, max_size: int = 12) -> list[tuple]:
    """Every distinct shortest-path ring (as a canonical tuple of (atom, image) nodes) up to ``max_size`` formers."""
    zero = (0, 0, 0)
    seen = set()
    rings = []
    for i, links in graph.items():
        for j, shift in links:
            start, goal = (i, zero), (j, shift)
            for path in _shortest_paths(graph, start, goal, {start, goal}, max_size - 1):
                key = _canonical(path)
                if key not in seen:
                    seen.add(key)
                    rings.append(key)
    return rings


def ring_statistics(
    frames: Sequence[Atoms],
    formers: Sequence[str] = ("Si",),
    bridges: Sequence[str] = ("O",),
    cutoff: float = 2.0,
    max_size: int = 12,
    graph_of=None,
):
    """Ring-size distribution averaged over frames (definition in the module docstring).

    ``graph_of(atoms)`` replaces the network of :func:`former_graph` (e.g. a :func:`linked_network`).
    Returns a DataFrame with ``ring_size`` (formers per ring, 3..max_size), ``rings_per_frame``,
    ``rings_per_former`` (R_c: rings of that size per former atom) and ``fraction`` (of all rings).
    """
    import pandas as pd

    if not frames:
        raise ValueError("ring_statistics needs at least one frame")
    counts: Counter = Counter()
    n_formers = 0
    for atoms in frames:
        graph = graph_of(atoms) if graph_of else former_graph(atoms, formers, bridges, cutoff)
        n_formers += len(graph)
        counts.update(len(r) for r in shortest_path_rings(graph, max_size))
    if n_formers == 0:
        raise ValueError(f"no former atoms {list(formers)} in the frames")
    sizes = np.arange(3, max_size + 1)
    n = np.array([counts.get(int(k), 0) for k in sizes], dtype=float)
    total = n.sum()
    return pd.DataFrame(
        {
            "ring_size": sizes,
            "rings_per_frame": n / len(frames),
            "rings_per_former": n / n_formers,
            "fraction": n / total if total else np.zeros_like(n),
        }
    )
