"""Frame selection: flat-histogram energy binning (ZIF), SOAP + k-means and farthest-point
sampling (MIL), random selection (the baseline), force filter (AS), and the provenance record
every selected frame carries.

Selection functions return integer indices into the frames they were given, so the caller
keeps the frames and records why each was chosen (:func:`selection_info`,
:func:`stamp_selection`).

Paper-scale variants work without holding frames in memory: :func:`scan_extxyz` streams an
extended-XYZ file once and keeps only byte offsets, atom counts and energies (a 1.2 M-frame
trajectory needs ~40 MB); :func:`extract_frame_sets` copies the chosen frames into output
files in a second pass, adding the provenance keys to each comment line.
:func:`soap_descriptors` computes SOAP vectors in batches, in parallel, into one float32 or
float64 matrix; :func:`kmeans_closest` switches to mini-batch k-means for large sets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
from ase import Atoms

from amlip.io.extxyz_index import info_row, extract_frame_sets, scan_extxyz
from amlip.io.frames import REF_ENERGY, REF_FORCES

# k-means on more frames than this uses scikit-learn's MiniBatchKMeans
MINIBATCH_THRESHOLD = 20_000


# --- flat histogram (ZIF) -------------------------------------------------------------------


def _flat_histogram_draw(energies: np.ndarray, candidates: np.ndarray, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """One random frame per non-empty bin of ``n`` equal-width energy bins over ``candidates``.

    Returns the drawn indices and the bin id (0..n-1) of each, in bin order.
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
    # group once (stable, so members keep file order) instead of one mask per bin: O(N log N)
    # rather than O(N * n) at 1.2 M frames and thousands of bins
    order = np.argsort(bins, kind="stable")
    occupied, first, counts = np.unique(bins[order], return_index=True, return_counts=True)
    drawn = np.empty(len(occupied), dtype=int)
    for j, (start, count) in enumerate(zip(first, counts)):
        drawn[j] = int(rng.choice(candidates[order[start : start + count]]))
    return drawn, occupied.astype(int)


@dataclass
class FlatHistogramSplit:
    """Result of :func:`flat_histogram_assign`: sorted indices per set, the bin each train and
    test frame was drawn from (aligned with ``train``/``test``)."""

    train: np.ndarray
    test: np.ndarray
    val: np.ndarray
    train_bins: np.ndarray
    test_bins: np.ndarray


def flat_histogram_assign(energies: Sequence[float], n_train: int, n_test: int, seed: int = 0) -> FlatHistogramSplit:
    """Flat-histogram train/test/validation split with the bin of every drawn frame.

    See :func:`flat_histogram_split`; this variant also returns the bin ids for provenance.
    """
    energies = np.asarray(energies, dtype=float)
    if not np.all(np.isfinite(energies)):
        bad = np.flatnonzero(~np.isfinite(energies))[:5]
        raise ValueError(f"flat histogram needs finite energies; frames {bad.tolist()} are not")
    rng = np.random.default_rng(seed)
    taken = np.zeros(len(energies), dtype=bool)  # a mask, not setdiff1d: linear at 1.2 M frames
    train, train_bins = _flat_histogram_draw(energies, np.arange(len(energies)), int(n_train), rng)
    taken[train] = True
    test, test_bins = _flat_histogram_draw(energies, np.flatnonzero(~taken), int(n_test), rng)
    taken[test] = True
    val = np.flatnonzero(~taken)
    o_train, o_test = np.argsort(train), np.argsort(test)
    return FlatHistogramSplit(train[o_train], test[o_test], val, train_bins[o_train], test_bins[o_test])


def flat_histogram_split(
    energies: Sequence[float], n_train: int, n_test: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat-histogram train/test/validation split (ZIF, PROTOCOLS 2).

    ``energies`` are energies per atom (eV/atom, see :func:`energies_per_atom`): ZIF binned
    total energies of equal-size cells, which is the same up to a constant factor; per atom
    keeps frames of different sizes comparable. The frames are binned into ``n_train``
    equal-width bins between the lowest and highest energy and one random frame is drawn from
    each non-empty bin; the binning is redone over the remaining frames with ``n_test`` bins
    for the test set; every frame never drawn is validation. Empty bins give fewer frames than
    requested (ZIF: 1000/100 requested gave 964/96). Same seed, same split.
    Returns sorted index arrays ``(train, test, validation)``.
    """
    result = flat_histogram_assign(energies, n_train, n_test, seed)
    return result.train, result.test, result.val


def random_split(n_frames: int, n_train: int, n_test: int, seed: int = 0):
    """Plain random split, the baseline every selection is compared against."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_frames)
    n_train = min(n_train, n_frames)
    n_test = min(n_test, n_frames - n_train)
    return np.sort(order[:n_train]), np.sort(order[n_train : n_train + n_test]), np.sort(order[n_train + n_test :])


def random_selection(n_frames: int, n_select: int, seed: int = 0) -> np.ndarray:
    """``n_select`` distinct frames drawn uniformly at random (all when fewer), sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_frames, size=min(max(n_select, 0), n_frames), replace=False))


def energies_per_atom(frames: Sequence[Atoms], key: str = REF_ENERGY) -> np.ndarray:
    """Reference energy per atom (eV/atom) of each frame."""
    return np.array([a.info[key] / len(a) for a in frames])


# --- force filter (AS) ----------------------------------------------------------------------


def max_force_norms(frames: Iterable[Atoms], key: str = REF_FORCES) -> np.ndarray:
    """Largest per-atom force norm (eV/Å) of each frame; ``frames`` may be a stream."""
    out = []
    for k, a in enumerate(frames):
        if key not in a.arrays:
            raise KeyError(f"frame {k} has no per-atom array '{key}' (labelled frames carry {REF_FORCES})")
        out.append(float(np.linalg.norm(a.arrays[key], axis=1).max()))
    return np.array(out)


def max_force_filter(frames: Sequence[Atoms], max_force_eV_A: float, key: str = REF_FORCES) -> np.ndarray:
    """Indices of frames whose largest force norm is at most ``max_force_eV_A`` (AS eq domain)."""
    return np.flatnonzero(max_force_norms(frames, key) <= max_force_eV_A)


# --- provenance -----------------------------------------------------------------------------


def selection_info(
    method: str,
    iteration: int | None = None,
    *,
    prefix: str = "selection",
    bin: Sequence[int] | int | None = None,
    cluster: Sequence[int] | int | None = None,
    rank: Sequence[int] | int | None = None,
    **extra,
) -> dict[str, object]:
    """Info keys recording why frames were chosen; values are scalars or per-frame arrays.

    Gives ``{prefix}_method``, ``{prefix}_iteration`` and ``{prefix}_bin`` (flat-histogram
    bin), ``{prefix}_cluster`` (k-means cluster) or ``{prefix}_rank`` (farthest-point order)
    where given; ``extra`` keys (``split``, ``pool_index``, ``committee_sigma_max``) are kept
    as named. The active-learning pick uses ``prefix="selection"``, the train/test/validation
    split ``prefix="split"``, so the split never hides why a frame was labelled. None values
    are left out.
    """
    info: dict[str, object] = {f"{prefix}_method": method}
    for name, value in (("iteration", iteration), ("bin", bin), ("cluster", cluster), ("rank", rank)):
        if value is not None:
            info[f"{prefix}_{name}"] = value
    info.update({k: v for k, v in extra.items() if v is not None})
    return info


def stamp_selection(frames: Sequence[Atoms], info: Mapping[str, object]) -> None:
    """Write :func:`selection_info` into ``atoms.info`` of each frame (arrays aligned with ``frames``)."""
    for key, value in info.items():
        if not np.isscalar(value) and len(value) != len(frames):
            raise ValueError(f"provenance '{key}' has {len(value)} values for {len(frames)} frames")
    for j, atoms in enumerate(frames):
        atoms.info.update(info_row(info, j))


# --- streaming extended XYZ (two passes) ----------------------------------------------------


# --- SOAP, k-means and farthest-point sampling (MIL) ----------------------------------------


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


# --- what the pipeline calls ----------------------------------------------------------------

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
    per-frame provenance fields for :func:`selection_info`: ``cluster`` (k-means) or ``rank``
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


def split_extxyz(
    path: str | os.PathLike,
    outputs: Mapping[str, str | os.PathLike],
    train_fraction: float,
    test_fraction: float,
    seed: int = 0,
    iteration: int | None = None,
    max_force_eV_A: float | None = None,
):
    """Flat-histogram train/test/validation split of an extended-XYZ file of labelled frames,
    in two passes whatever its size (energies per atom from the comment lines, then a copy).

    ``outputs`` maps ``train``, ``test`` and ``val`` to output paths. With ``max_force_eV_A``
    (AS equilibrium domain), frames whose largest ``REF_forces`` norm exceeds it are dropped
    first (this reads the atoms, one frame at a time). Of the kept frames,
    ``round(fraction * n_kept)`` are requested for train and test. Each written frame gets
    ``split``, ``split_method=flat_histogram``, ``split_iteration`` and, for train and test,
    ``split_bin``. Returns one row per input frame: ``frame_index``, ``split`` (or
    ``dropped``), ``energy_eV_atom``, ``bin`` (-1 for validation and dropped frames) and
    ``max_force_eV_A`` (NaN without a filter).
    """
    import pandas as pd

    from amlip.io.frames import iter_frames

    index = scan_extxyz(path)
    n = len(index)
    fmax = np.full(n, np.nan)
    keep = np.arange(n)
    if max_force_eV_A is not None and n:
        fmax = max_force_norms(iter_frames(path))
        keep = np.flatnonzero(fmax <= max_force_eV_A)
    split = flat_histogram_assign(
        index.energies_per_atom[keep], round(train_fraction * len(keep)), round(test_fraction * len(keep)), seed
    )
    sets = {
        "train": (keep[split.train], split.train_bins),
        "test": (keep[split.test], split.test_bins),
        "val": (keep[split.val], None),
    }
    extract_frame_sets(
        index,
        {
            outputs[name]: (indices, selection_info("flat_histogram", iteration, prefix="split", bin=bins, split=name))
            for name, (indices, bins) in sets.items()
        },
    )
    label = np.full(n, "dropped", dtype=object)
    bin_of = np.full(n, -1, dtype=int)
    for name, (indices, bins) in sets.items():
        label[indices] = name
        if bins is not None:
            bin_of[indices] = bins
    return pd.DataFrame(
        {
            "frame_index": np.arange(n),
            "split": label,
            "energy_eV_atom": index.energies_per_atom,
            "bin": bin_of,
            "max_force_eV_A": fmax,
        }
    )


# --- pictures -------------------------------------------------------------------------------


def energy_selection_histogram(
    energies: Sequence[float], selections: Mapping[str, Sequence[int]], n_bins: int = 40
):
    """Counts per energy bin (eV/atom) of the pool and of each selection (ZIF Fig. 3a numbers).

    Returns a DataFrame with ``bin_low_eV_atom``, ``bin_high_eV_atom``, ``pool`` and one
    column per selection name.
    """
    import pandas as pd

    energies = np.asarray(energies, dtype=float)
    if len(energies) == 0:
        return pd.DataFrame(columns=["bin_low_eV_atom", "bin_high_eV_atom", "pool", *selections])
    lo, hi = float(energies.min()), float(energies.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1e-6, n_bins + 1)
    table = {"bin_low_eV_atom": edges[:-1], "bin_high_eV_atom": edges[1:], "pool": np.histogram(energies, edges)[0]}
    for name, indices in selections.items():
        table[name] = np.histogram(energies[np.asarray(indices, dtype=int)], edges)[0]
    return pd.DataFrame(table)


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

    ``soap`` as in :func:`select_diverse`, so the map lives in the selection's SOAP space.
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


def energy_selection_table(labelled_path: str | os.PathLike, split_table, seed: int = 0, n_bins: int = 40):
    """Numbers behind ZIF Fig. 3a for one split: energy histograms (eV/atom) of the labelled
    frames the split saw (``pool``), a random draw of as many frames as the flat-histogram
    training set (``random``), and that training set (``flat_histogram``).

    ``split_table`` is the table :func:`split_extxyz` wrote for ``labelled_path``.
    """
    index = scan_extxyz(labelled_path)
    if len(index) != len(split_table):
        raise ValueError(f"{labelled_path} holds {len(index)} frames but its split table {len(split_table)} rows; rerun the split")
    kept = np.flatnonzero(split_table["split"].to_numpy() != "dropped")
    train = np.flatnonzero(split_table["split"].to_numpy()[kept] == "train")
    energies = index.energies_per_atom[kept]
    selections = {"random": random_selection(len(kept), len(train), seed), "flat_histogram": train}
    return energy_selection_histogram(energies, selections, n_bins)
