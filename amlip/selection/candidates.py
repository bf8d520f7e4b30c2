"""Active-learning candidates (MIL): the committee band, thinned to a diverse pick."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from ase import Atoms

from amlip.selection.soap import soap_fps, soap_kmeans
from amlip.selection.split import random_selection

METHODS = ("soap_kmeans", "soap_fps", "random")


def select_diverse(
    frames: Sequence[Atoms],
    n_select: int,
    method: str = "soap_kmeans",
    seed: int = 0,
    soap: Mapping[str, object] | None = None,
    n_jobs: int = 1,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Pick ``n_select`` of ``frames`` by ``method`` (one of :data:`METHODS`).

    ``soap`` holds ``r_cut`` (Å), ``n_max``, ``l_max`` and optionally ``centers`` (elements
    whose environments are averaged; MIL: the framework). Returns sorted indices and the
    per-frame provenance fields for :func:`amlip.selection.provenance.selection_info`: ``cluster`` (k-means) or ``rank``
    (farthest-point order, 0 = first picked).
    """
    soap = dict(soap or {})
    centers = soap.pop("centers", None)
    if method == "soap_kmeans":
        picked, clusters = soap_kmeans(frames, n_select, seed=seed, species=centers, n_jobs=n_jobs, return_clusters=True, **soap)
        return picked, {"cluster": clusters}
    if method == "soap_fps":
        order = soap_fps(frames, n_select, seed=seed, species=centers, n_jobs=n_jobs, **soap)
        by_index = np.argsort(order)
        return order[by_index], {"rank": by_index}
    if method == "random":
        return random_selection(len(frames), n_select, seed), {}
    raise ValueError(f"unknown selection method '{method}' (config select.method); use one of {', '.join(METHODS)}")


def band_candidates(sigmas: Sequence[float], low_eV_A: float, high_eV_A: float) -> np.ndarray:
    """Indices of frames with ``low < sigma_max < high`` (eV/Å): uncertain but not unphysical. ``low == high``
    (a calibrated edge capped at the upper one, :func:`amlip.learning.loop.calibrated_band`) is an empty band."""
    sigmas = np.asarray(sigmas, dtype=float)
    if low_eV_A > high_eV_A:
        raise ValueError(f"learn band must have low <= high, got {low_eV_A} > {high_eV_A}")
    return np.flatnonzero((sigmas > low_eV_A) & (sigmas < high_eV_A))
