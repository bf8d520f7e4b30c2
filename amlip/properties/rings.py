"""Ring statistics of a network (PROTOCOLS 6, ZIF) on the periodic former-former graph.

The graph: nodes are the network formers (Si, Al; Zn in ZIFs); two formers are linked when
they share a bridge (an oxygen, or the N of an imidazolate in ZIFs) bonded to both within
``cutoff``. Ring size n counts formers: an n-membered silica ring has n Si and n O.

Ring definition (documented choice): shortest-path rings (Guttman, J. Non-Cryst. Solids 116
(1990) 145; the "SP" rings of the R.I.N.G.S. code, Le Roux and Jund, Comput. Mater. Sci. 49
(2010) 70). For every link i-j, every shortest closed path through that link is a ring; each
distinct ring is counted once. These are a subset of the primitive rings (below): the ZIF-4
crystal's 8-rings are primitive but the shortest ring through none of their links, so ZIF
analyses use :func:`primitive_rings`. The search runs on the periodic lift of the graph (nodes are
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


# Primitive rings and vertex symbols (ZIF: R.I.N.G.S. primitive rings on the Zn-Im graph).
#
# A ring is primitive when it cannot be split into two smaller rings (Goetzke and Klein, J.
# Non-Cryst. Solids 127 (1991) 215; Yuan and Cormack, Comput. Mater. Sci. 24 (2002) 343), which is
# the case exactly when no two of its nodes are joined by a path shorter than their distance along
# the ring (a shortcut). Every primitive ring of n nodes through a node s is then made of two
# shortest paths from s: to the opposite node (n even) or to the two ends of the opposite link (n
# odd). The search below builds those candidates from every node of the home cell and keeps the
# ones without a shortcut. It finds rings the shortest-path rings above miss: the 8-rings of the
# ZIF-4 crystal (16-membered Zn-Im rings) are primitive but not the shortest ring through any link.


def _bfs_paths(graph, start, depth: int):
    """Distances and shortest-path parents from ``start`` on the lifted graph, up to ``depth`` links."""
    dist, parents, queue = {start: 0}, {start: []}, deque([start])
    while queue:
        node = queue.popleft()
        if dist[node] >= depth:
            continue
        idx, img = node
        for nb, shift in graph[idx]:
            nxt = (nb, _add(img, shift))
            if nxt not in dist:
                dist[nxt], parents[nxt] = dist[node] + 1, [node]
                queue.append(nxt)
            elif dist[nxt] == dist[node] + 1:
                parents[nxt].append(node)
    return dist, parents


def _paths_to(parents, start, goal) -> list[list]:
    """Every shortest path start -> goal (lists of lifted nodes) from a BFS parent map."""
    if goal == start:
        return [[start]]
    return [path + [goal] for p in parents[goal] for path in _paths_to(parents, start, p)]


def _has_shortcut(graph, ring: list) -> bool:
    """True when two nodes of ``ring`` are closer in the graph than along the ring."""
    n = len(ring)
    position = {node: k for k, node in enumerate(ring)}
    for k, node in enumerate(ring):
        dist, _ = _bfs_paths(graph, node, n // 2)
        for other, d in dist.items():
            m = position.get(other)
            if m is not None and d < min(abs(m - k), n - abs(m - k)):
                return True
    return False


def primitive_rings(graph, max_size: int = 12) -> list[tuple]:
    """Every distinct primitive ring (canonical tuple of (atom, image) nodes) of at most ``max_size`` nodes.

    ``graph`` is a periodic node graph as :func:`former_graph` returns ({node: [(neighbour, image
    shift), ...]}); definition and method in the comment above this function.
    """
    zero = (0, 0, 0)
    seen, rings = set(), []
    for s in graph:
        start = (s, zero)
        dist, parents = _bfs_paths(graph, start, max_size // 2)
        for goal, d in dist.items():
            if d == 0:
                continue
            paths = _paths_to(parents, start, goal)
            # even rings: two shortest paths to the same opposite node
            if 2 * d <= max_size:
                for p, first in enumerate(paths):
                    for second in paths[p + 1 :]:
                        if set(first[1:-1]) & set(second[1:-1]):
                            continue
                        _keep(graph, first + second[-2:0:-1], seen, rings)
            # odd rings: shortest paths to the two ends of an opposite link (each link once)
            if 2 * d + 1 <= max_size:
                idx, img = goal
                for nb, shift in graph[idx]:
                    other = (nb, _add(img, shift))
                    if dist.get(other) != d or other <= goal:
                        continue
                    for first in paths:
                        for second in _paths_to(parents, start, other):
                            if set(first[1:]) & set(second[1:]):
                                continue
                            _keep(graph, first + second[:0:-1], seen, rings)
    return rings


def _keep(graph, ring: list, seen: set, rings: list) -> None:
    key = _canonical(ring)
    if key not in seen:
        seen.add(key)
        if not _has_shortcut(graph, ring):
            rings.append(key)


def ring_size_counts(graph, max_size: int = 12, primitive: bool = True) -> Counter:
    """Number of distinct rings of each size (nodes per ring) of one periodic graph (per cell)."""
    rings = primitive_rings(graph, max_size) if primitive else shortest_path_rings(graph, max_size)
    return Counter(len(r) for r in rings)


def vertex_symbol(graph, node: int, max_size: int = 12) -> list[tuple[int, int]]:
    """Vertex symbol of ``node`` (O'Keeffe and Hyde; Blatov, O'Keeffe, Proserpio, CrystEngComm 12 (2010) 44).

    For each angle (pair of links at the node) the size of the shortest ring through both links and
    the number of such rings; returned as (size, count) pairs sorted by size then count, so that two
    nets' symbols compare directly ("4.6.6.6.6.6_2" is [(4, 1), (6, 1), (6, 1), (6, 1), (6, 1), (6, 2)]).
    An angle on no ring of at most ``max_size`` nodes is (0, 0) ("*").
    """
    start = (node, (0, 0, 0))
    links = [(nb, shift) for nb, shift in graph[node]]
    symbol = []
    for p in range(len(links)):
        for q in range(p + 1, len(links)):
            a, b = links[p], links[q]
            # shortest paths a -> b that avoid the node itself, counted
            dist, count, queue = {a: 0}, {a: 1}, deque([a])
            while queue:
                x = queue.popleft()
                if dist[x] >= max_size - 2 or (b in dist and dist[x] >= dist[b]):
                    continue
                for nb, shift in graph[x[0]]:
                    y = (nb, _add(x[1], shift))
                    if y == start:
                        continue
                    if y not in dist:
                        dist[y], count[y] = dist[x] + 1, count[x]
                        queue.append(y)
                    elif dist[y] == dist[x] + 1:
                        count[y] += count[x]
            symbol.append((dist[b] + 2, count[b]) if b in dist else (0, 0))
    return sorted(symbol)


def format_vertex_symbol(symbol: Sequence[tuple[int, int]]) -> str:
    """'4.6.6.6.6.6_2' style text of a :func:`vertex_symbol` (count 1 not written, '*' for no ring)."""
    return ".".join("*" if size == 0 else (f"{size}_{count}" if count > 1 else str(size)) for size, count in symbol)
