"""MIL-120 hydrogen-bond network (MIL paper, Fig. 8-10): OH orientation angles and structure types.

The MIL paper characterises each mu-OH by the angle alpha between the projection of its O-H vector
onto the plane perpendicular to the rods (their xz-plane, rods along y) and the x axis (the pore
direction): alpha in [0, 45) or (135, 180] is a free O-H pointing into the pore (a hydrogen-bond
acceptor, A), alpha in [45, 135] points to the neighbouring rod (a donor, D); the paper finds
free : donor : free close to 1 : 2 : 1 over the three intervals at 303 K. The sequence of A and D
along a rod repeat unit names its structure type (str1 AAAADDDD, str2 ADDAADDA, str3 DAADDAAD, str4
AAAAAAAA; amlip.structures.mil120.OH_PATTERNS), read from the hydroxyl with the smallest
coordinate along the rod axis, so a rod whose sequence matches none is 'other'.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from amlip.structures.mil120 import OH_PATTERNS, hydroxyl_oxygens, rods

AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def oh_vectors(atoms: Atoms, metal: str = "Al", oh_cutoff_A: float = 1.2) -> dict[int, np.ndarray]:
    """O-H vectors (Å) of the mu-OH groups: {hydroxyl O index: O->H vector} (the nearest H within ``oh_cutoff_A``)."""
    hydroxyls = hydroxyl_oxygens(atoms, metal)
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, vectors = neighbor_list("ijD", atoms, oh_cutoff_A)
    found: dict[int, np.ndarray] = {}
    for a, b, v in zip(i, j, vectors):
        if (
            int(a) in hydroxyls
            and symbols[b] == "H"
            and (int(a) not in found or np.linalg.norm(v) < np.linalg.norm(found[int(a)]))
        ):
            found[int(a)] = v
    return found


def oh_angle(vector: np.ndarray, rod_axis: str = "y", reference_axis: str = "x") -> float:
    """alpha (degrees, 0-180): angle between the O-H vector projected onto the plane normal to ``rod_axis`` and ``reference_axis``."""
    rod, ref = np.array(AXES[rod_axis]), np.array(AXES[reference_axis])
    projected = vector - (vector @ rod) * rod
    cos = projected @ ref / np.linalg.norm(projected)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def oh_class(alpha_deg: float) -> str:
    """A (free O-H into the pore) for alpha < 45 or > 135 degrees, D (donor to the next rod) otherwise."""
    return "A" if alpha_deg < 45.0 or alpha_deg > 135.0 else "D"


def structure_types(atoms: Atoms, settings: Mapping) -> list[str]:
    """The structure type of every rod (a name of ``settings['patterns']`` or 'other') from its A/D sequence."""
    vectors = oh_vectors(atoms, settings["metal"])
    hydroxyls = {o: m for o, m in hydroxyl_oxygens(atoms, settings["metal"]).items() if o in vectors}
    names = []
    for rod in rods(atoms, hydroxyls, AXES[settings["rod_axis"]]):
        sequence = "".join(oh_class(oh_angle(vectors[o], settings["rod_axis"], settings["reference_axis"])) for o in rod)
        match = [name for name, pattern in settings["patterns"].items() if _repeats(pattern, sequence)]
        names.append(match[0] if match else "other")
    return names


def _repeats(pattern: str, sequence: str) -> bool:
    """True when ``sequence`` is ``pattern`` repeated (and cut to the sequence's length)."""
    return len(sequence) > 0 and (pattern * (len(sequence) // len(pattern) + 1))[: len(sequence)] == sequence


def hydroxyl_table(frames: Sequence[Atoms], settings: Mapping):
    """OH orientation over frames (MIL Fig. 8, 10): the alpha distribution and the fractions of OH classes and structure types.

    ``settings``: ``metal`` (Al), ``rod_axis`` (y), ``reference_axis`` (x), ``bins``, ``patterns``
    (default the paper's str1-str4). Returns (distribution DataFrame: alpha_deg, probability_density;
    fractions DataFrame: kind (interval / structure type), name, fraction).
    """
    import pandas as pd

    patterns = settings["patterns"] or OH_PATTERNS
    s = {**settings, "patterns": patterns}
    alphas, types = [], []
    for atoms in frames:
        alphas += [oh_angle(v, s["rod_axis"], s["reference_axis"]) for v in oh_vectors(atoms, s["metal"]).values()]
        types += structure_types(atoms, s)
    if not alphas:
        raise ValueError(f"no mu-OH with an H in the frames (metal {s['metal']})")
    alphas = np.array(alphas)
    hist, edges = np.histogram(alphas, bins=int(s["bins"]), range=(0.0, 180.0), density=True)
    distribution = pd.DataFrame({"alpha_deg": 0.5 * (edges[1:] + edges[:-1]), "probability_density": hist})
    intervals = {
        "free 0-45": float(np.mean(alphas < 45)),
        "donor 45-135": float(np.mean((alphas >= 45) & (alphas <= 135))),
        "free 135-180": float(np.mean(alphas > 135)),
    }
    rows = [{"kind": "interval", "name": k, "fraction": v} for k, v in intervals.items()]
    rows += [{"kind": "structure_type", "name": n, "fraction": types.count(n) / len(types)} for n in [*patterns, "other"]]
    return distribution, pd.DataFrame(rows)
