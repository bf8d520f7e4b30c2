"""SOAP descriptors (DScribe), k-means and farthest-point sampling in SOAP space (MIL), and the 2-D SOAP map.

:func:`soap_descriptors` computes SOAP vectors in batches, in parallel, into one float32 or
float64 matrix; :func:`kmeans_closest` switches to mini-batch k-means for large sets.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
from ase import Atoms

# k-means on more frames than this uses scikit-learn's MiniBatchKMeans
MINIBATCH_THRESHOLD = 20_000


def _batches(frames: Iterable[Atoms], size: int):
    batch = []
    for atoms in frames:
        batch.append(atoms)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def soap_descriptors(
    frames: Iterable[Atoms],
    r_cut: float = 6.0,
    n_max: int = 9,
    l_max: int = 3,
    species: Sequence[str] | None = None,
    centers: Sequence[str] | None = None,
    n_jobs: int = 1,
    batch_size: int | None = None,
    dtype=np.float64,
) -> np.ndarray:
    """Structure-averaged SOAP vectors (DScribe, ``average="inner"``), one row per frame.

    ``species`` lists every element the descriptor knows (default: all in ``frames``; give it
    when ``frames`` is a stream); ``centers`` restricts the averaged environments to atoms of
    these elements (MIL used the framework only). ``r_cut`` in Å. Frames are described
    ``batch_size`` at a time (all at once when None), each batch by ``n_jobs`` DScribe worker
    processes, and stored as ``dtype`` (float32 halves the memory: 100k frames of Si/O at
    n_max 9, l_max 3 take 270 MB).
    """
    try:
        from dscribe.descriptors import SOAP
    except ImportError as exc:  # pragma: no cover
        raise ImportError("SOAP selection needs dscribe: pip install dscribe==2.1.2") from exc
    if species is None:
        if not isinstance(frames, Sequence):
            raise ValueError("soap_descriptors: pass species= when frames is a stream")
        species = sorted({s for a in frames for s in a.get_chemical_symbols()})
    centers = set(centers) if centers is not None else None
    soap, periodic, rows, done = None, None, [], 0
    for batch in _batches(frames, batch_size or 1 << 62):
        batch_periodic = all(a.pbc.all() for a in batch)
        if soap is None:
            periodic = batch_periodic
            soap = SOAP(species=list(species), r_cut=r_cut, n_max=n_max, l_max=l_max, periodic=periodic, average="inner")
        elif batch_periodic != periodic:
            raise ValueError(f"frames {done}..{done + len(batch) - 1} mix periodic and non-periodic cells; SOAP needs one kind")
        kwargs = {}
        if centers is not None:
            kwargs["centers"] = []
            for k, a in enumerate(batch):
                idx = [i for i, s in enumerate(a.get_chemical_symbols()) if s in centers]
                if not idx:
                    raise ValueError(f"frame {done + k} has no atoms of the SOAP centres {sorted(centers)}")
                kwargs["centers"].append(idx)
            if len(batch) == 1:
                kwargs["centers"] = kwargs["centers"][0]
        out = soap.create(batch if len(batch) > 1 else batch[0], n_jobs=n_jobs, **kwargs)
        rows.append(np.asarray(out, dtype=dtype).reshape(len(batch), -1))
        done += len(batch)
    if not rows:
        return np.empty((0, 0), dtype=dtype)
    return rows[0] if len(rows) == 1 else np.concatenate(rows)


def kmeans_closest(
    features: np.ndarray, n_select: int, seed: int = 0, minibatch: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """k-means into ``n_select`` clusters; the frame nearest each centre. Returns (indices, cluster ids).

    ``minibatch`` (default: when more than ``MINIBATCH_THRESHOLD`` frames) uses scikit-learn's
    MiniBatchKMeans (batches of 1024, one k-means++ start), whose cost grows with the batch
    rather than the data set: 100k x 684 SOAP vectors into 800 clusters take ~30 s on one
    core. Full k-means keeps the best of 10 starts while frames x clusters <= 10^6, else one.
    A cluster left without members gives no frame.
    """
    n = len(features)
    if n_select >= n:
        return np.arange(n), np.arange(n)
    if minibatch is None:
        minibatch = n > MINIBATCH_THRESHOLD
    if minibatch:
        from sklearn.cluster import MiniBatchKMeans

        km = MiniBatchKMeans(n_clusters=n_select, random_state=seed, n_init=1, batch_size=1024).fit(features)
    else:
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=n_select, random_state=seed, n_init=10 if n * n_select <= 10**6 else 1).fit(features)
    labels = km.labels_
    distance = np.empty(n)
    for s in range(0, n, 8192):  # chunks keep the difference matrix small
        diff = features[s : s + 8192] - km.cluster_centers_[labels[s : s + 8192]]
        distance[s : s + 8192] = np.einsum("ij,ij->i", diff, diff)
    # nearest member of each cluster; ties go to the lowest index (lexsort is stable)
    order = np.lexsort((distance, labels))
    clusters, first = np.unique(labels[order], return_index=True)
    picked = order[first]
    by_index = np.argsort(picked)
    return picked[by_index].astype(int), clusters[by_index].astype(int)


def farthest_point_sampling(features: np.ndarray, n_select: int, seed: int = 0) -> np.ndarray:
    """Greedy farthest-point sampling: a random first frame, then always the frame farthest
    (Euclidean) from everything picked so far. Returns indices in pick order, so position
    is the rank."""
    x = np.asarray(features)
    n = len(x)
    n_select = min(max(n_select, 0), n)
    if n_select == 0:
        return np.array([], dtype=int)
    rng = np.random.default_rng(seed)
    sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    picked = [int(rng.integers(n))]
    nearest = np.full(n, np.inf)
    for _ in range(n_select - 1):
        p = picked[-1]
        # |x - x_p|^2 without an n x d temporary
        d2 = np.maximum(sq + sq[p] - 2.0 * (x @ x[p]).astype(np.float64), 0.0)
        np.minimum(nearest, d2, out=nearest)
        nearest[picked] = -np.inf
        picked.append(int(np.argmax(nearest)))
    return np.array(picked, dtype=int)


def soap_kmeans(
    frames: Sequence[Atoms],
    n_select: int,
    r_cut: float = 6.0,
    n_max: int = 9,
    l_max: int = 3,
    seed: int = 0,
    species: Sequence[str] | None = None,
    *,
    n_jobs: int = 1,
    batch_size: int | None = None,
    return_clusters: bool = False,
):
    """The ``n_select`` most diverse frames: SOAP, k-means, closest frame to each centre (MIL).

    ``species`` restricts the averaged environments (centres) to atoms of these elements; the
    descriptor itself knows every element in ``frames``. Returns sorted indices, or
    ``(indices, cluster ids)`` with ``return_clusters``.
    """
    if len(frames) == 0 or n_select <= 0:
        empty = np.array([], dtype=int)
        return (empty, empty) if return_clusters else empty
    features = soap_descriptors(frames, r_cut, n_max, l_max, centers=species, n_jobs=n_jobs, batch_size=batch_size)
    picked, clusters = kmeans_closest(features, n_select, seed)
    return (picked, clusters) if return_clusters else picked


def soap_fps(
    frames: Sequence[Atoms],
    n_select: int,
    r_cut: float = 6.0,
    n_max: int = 9,
    l_max: int = 3,
    seed: int = 0,
    species: Sequence[str] | None = None,
    *,
    n_jobs: int = 1,
    batch_size: int | None = None,
) -> np.ndarray:
    """Farthest-point sampling in the same SOAP space as :func:`soap_kmeans`; indices in pick order."""
    if len(frames) == 0 or n_select <= 0:
        return np.array([], dtype=int)
    features = soap_descriptors(frames, r_cut, n_max, l_max, centers=species, n_jobs=n_jobs, batch_size=batch_size)
    return farthest_point_sampling(features, n_select, seed)


def soap_map(features: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D coordinates of SOAP vectors: ``pca`` (default, deterministic) or ``tsne`` (MIL)."""
    x = np.asarray(features, dtype=float)
    if len(x) < 2:
        return np.zeros((len(x), 2))
    if method == "pca":
        from sklearn.decomposition import PCA

        coords = PCA(n_components=min(2, x.shape[1], len(x)), random_state=seed).fit_transform(x)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        coords = TSNE(n_components=2, perplexity=min(30.0, (len(x) - 1) / 3.0), init="pca", random_state=seed).fit_transform(x)
    else:
        raise ValueError(f"unknown SOAP map method '{method}'; use 'pca' or 'tsne'")
    return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))


def soap_map_table(
    pool: Sequence[Atoms],
    picked: Sequence[Atoms],
    method: str = "pca",
    seed: int = 0,
    soap: Mapping[str, object] | None = None,
    n_jobs: int = 1,
):
    """Numbers behind the SOAP map: 2-D coordinates of every pool frame, whether it was picked
    (by the ``pool_index`` the pick carries) and its committee σ_max (eV/Å, NaN if absent).

    ``soap`` as in :func:`amlip.selection.candidates.select_diverse`, so the map lives in the selection's SOAP space.
    """
    import pandas as pd

    from amlip.models.committee import SIGMA_KEY

    soap = dict(soap or {})
    centers = soap.pop("centers", None)
    missing = [j for j, a in enumerate(picked) if "pool_index" not in a.info]
    if missing:
        raise KeyError(f"picked frames {missing[:5]} have no 'pool_index'; were they written by select_candidates?")
    chosen = np.array([int(a.info["pool_index"]) for a in picked], dtype=int)
    if len(chosen) and chosen.max() >= len(pool):
        raise IndexError(f"a picked frame has pool_index {chosen.max()} but the pool holds {len(pool)} frames")
    features = soap_descriptors(pool, centers=centers, n_jobs=n_jobs, **soap) if len(pool) else np.empty((0, 0))
    coords = soap_map(features, method, seed)
    return pd.DataFrame(
        {
            "pool_index": np.arange(len(pool)),
            "x": coords[:, 0],
            "y": coords[:, 1],
            "picked": np.isin(np.arange(len(pool)), chosen),
            "sigma_max_eV_A": [float(a.info.get(SIGMA_KEY, np.nan)) for a in pool],
        }
    )
