"""Frame selection: flat-histogram energy binning (ZIF), SOAP + k-means (MIL), force filter (AS).

Functions return integer indices into the frame list they were given, so the caller keeps
the frames and records why each was chosen.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms

from amlip.io import REF_ENERGY, REF_FORCES


def _flat_histogram_draw(energies: np.ndarray, candidates: np.ndarray, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """One random frame per non-empty bin of ``n`` equal-width energy bins over ``candidates``.

    Returns the drawn indices and the bin id of each.
    """
    if n <= 0 or len(candidates) == 0:
        return np.array([], dtype=int), np.array([], dtype=int)
    e = energies[candidates]
    lo, hi = float(e.min()), float(e.max())
    if hi == lo:
        bins = np.zeros(len(e), dtype=int)
    else:
        # the top edge belongs to the last bin
        bins = np.minimum(((e - lo) / (hi - lo) * n).astype(int), n - 1)
    drawn, drawn_bins = [], []
    for b in np.unique(bins):
        members = candidates[bins == b]
        drawn.append(int(rng.choice(members)))
        drawn_bins.append(int(b))
    return np.array(drawn, dtype=int), np.array(drawn_bins, dtype=int)


def flat_histogram_split(
    energies: Sequence[float], n_train: int, n_test: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat-histogram train/test/validation split (ZIF, PROTOCOLS 2).

    The frames are binned by energy into ``n_train`` equal-width bins and one random frame is
    drawn from each non-empty bin; the binning is redone on the remaining frames with
    ``n_test`` bins for the test set; every frame never drawn is validation. Empty bins give
    fewer frames than requested. Pass energies per atom when frames differ in size.
    Returns sorted index arrays ``(train, test, validation)``.
    """
    energies = np.asarray(energies, dtype=float)
    rng = np.random.default_rng(seed)
    everything = np.arange(len(energies))
    train, _ = _flat_histogram_draw(energies, everything, int(n_train), rng)
    rest = np.setdiff1d(everything, train)
    test, _ = _flat_histogram_draw(energies, rest, int(n_test), rng)
    val = np.setdiff1d(rest, test)
    return np.sort(train), np.sort(test), val


def random_split(n_frames: int, n_train: int, n_test: int, seed: int = 0):
    """Plain random split, the baseline every selection is compared against."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_frames)
    n_train = min(n_train, n_frames)
    n_test = min(n_test, n_frames - n_train)
    return np.sort(order[:n_train]), np.sort(order[n_train : n_train + n_test]), np.sort(order[n_train + n_test :])


def energies_per_atom(frames: Sequence[Atoms], key: str = REF_ENERGY) -> np.ndarray:
    """Reference energy per atom (eV/atom) of each frame."""
    return np.array([a.info[key] / len(a) for a in frames])


def max_force_filter(frames: Sequence[Atoms], max_force_eV_A: float, key: str = REF_FORCES) -> np.ndarray:
    """Indices of frames whose largest force norm is at most ``max_force_eV_A`` (AS eq domain)."""
    keep = [i for i, a in enumerate(frames) if np.linalg.norm(a.arrays[key], axis=1).max() <= max_force_eV_A]
    return np.array(keep, dtype=int)


def soap_descriptors(
    frames: Sequence[Atoms],
    r_cut: float = 6.0,
    n_max: int = 9,
    l_max: int = 3,
    species: Sequence[str] | None = None,
    centers: Sequence[str] | None = None,
    n_jobs: int = 1,
) -> np.ndarray:
    """Structure-averaged SOAP vectors (DScribe), one row per frame.

    ``species`` lists every element the descriptor knows (default: all in ``frames``);
    ``centers`` restricts the averaged environments to atoms of these elements (MIL used
    the framework only).
    """
    try:
        from dscribe.descriptors import SOAP
    except ImportError as exc:  # pragma: no cover
        raise ImportError("SOAP selection needs dscribe: pip install dscribe==2.1.2") from exc
    if species is None:
        species = sorted({s for a in frames for s in a.get_chemical_symbols()})
    periodic = all(a.pbc.all() for a in frames)
    soap = SOAP(species=list(species), r_cut=r_cut, n_max=n_max, l_max=l_max, periodic=periodic, average="inner")
    if centers is None:
        return np.atleast_2d(soap.create(list(frames), n_jobs=n_jobs))
    rows = []
    for a in frames:
        idx = [i for i, s in enumerate(a.get_chemical_symbols()) if s in set(centers)]
        rows.append(soap.create(a, centers=idx))
    return np.atleast_2d(np.array(rows))


def kmeans_closest(features: np.ndarray, n_select: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k-means into ``n_select`` clusters; the frame nearest each centre. Returns (indices, cluster ids)."""
    from sklearn.cluster import KMeans

    n = len(features)
    if n_select >= n:
        return np.arange(n), np.arange(n)
    km = KMeans(n_clusters=n_select, random_state=seed, n_init=10).fit(features)
    picked, clusters = [], []
    for c in range(n_select):
        members = np.flatnonzero(km.labels_ == c)
        d = np.linalg.norm(features[members] - km.cluster_centers_[c], axis=1)
        picked.append(int(members[np.argmin(d)]))
        clusters.append(c)
    order = np.argsort(picked)
    return np.array(picked)[order], np.array(clusters)[order]


def soap_kmeans(
    frames: Sequence[Atoms],
    n_select: int,
    r_cut: float = 6.0,
    n_max: int = 9,
    l_max: int = 3,
    seed: int = 0,
    species: Sequence[str] | None = None,
) -> np.ndarray:
    """The ``n_select`` most diverse frames: SOAP, k-means, closest frame to each centre (MIL).

    ``species`` restricts the averaged environments to atoms of these elements.
    """
    if len(frames) == 0 or n_select <= 0:
        return np.array([], dtype=int)
    features = soap_descriptors(frames, r_cut, n_max, l_max, centers=species)
    return kmeans_closest(features, n_select, seed)[0]
