"""Flat-histogram train/test/validation split (ZIF), random selection (the baseline) and the force filter (AS).

Selection functions return integer indices into the frames they were given, so the caller
keeps the frames and records why each was chosen (:mod:`amlip.selection.provenance`).
:func:`split_extxyz` splits a file of any size in two passes (:mod:`amlip.io.extxyz_index`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
from ase import Atoms

from amlip.io.extxyz_index import extract_frame_sets, scan_extxyz
from amlip.io.frames import REF_ENERGY, REF_FORCES
from amlip.selection.provenance import selection_info


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


def split_extxyz(
    path: str | os.PathLike,
    outputs: Mapping[str, str | os.PathLike],
    train_fraction: float,
    test_fraction: float,
    seed: int = 0,
    iteration: int | None = None,
    max_force_eV_A: float | None = None,
    method: str = "flat_histogram",
):
    """Train/test/validation split of an extended-XYZ file of labelled frames, in two passes
    whatever its size (energies per atom from the comment lines, then a copy).

    ``method`` is ``flat_histogram`` (ZIF: one frame per non-empty energy bin, for pools of
    thousands to millions of frames; on a few dozen frames spread over eV/atom most bins are
    empty and the training set comes out far below the requested fraction) or ``random``
    (exactly the requested fractions).

    ``outputs`` maps ``train``, ``test`` and ``val`` to output paths. With ``max_force_eV_A``
    (AS equilibrium domain), frames whose largest ``REF_forces`` norm exceeds it are dropped
    first (this reads the atoms, one frame at a time). Of the kept frames,
    ``round(fraction * n_kept)`` are requested for train and test. Each written frame gets
    ``split``, ``split_method``, ``split_iteration`` and, for a flat-histogram train and test set,
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
    n_train, n_test = round(train_fraction * len(keep)), round(test_fraction * len(keep))
    if method == "flat_histogram":
        split = flat_histogram_assign(index.energies_per_atom[keep], n_train, n_test, seed)
        sets = {
            "train": (keep[split.train], split.train_bins),
            "test": (keep[split.test], split.test_bins),
            "val": (keep[split.val], None),
        }
    elif method == "random":
        train, test, val = random_split(len(keep), n_train, n_test, seed)
        sets = {"train": (keep[train], None), "test": (keep[test], None), "val": (keep[val], None)}
    else:
        raise ValueError(f"select.split_method '{method}': use flat_histogram or random")
    extract_frame_sets(
        index,
        {
            outputs[name]: (indices, selection_info(method, iteration, prefix="split", bin=bins, split=name))
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


def energy_selection_histogram(energies: Sequence[float], selections: Mapping[str, Sequence[int]], n_bins: int = 40):
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


def energy_selection_table(labelled_path: str | os.PathLike, split_table, seed: int = 0, n_bins: int = 40):
    """Numbers behind ZIF Fig. 3a for one split: energy histograms (eV/atom) of the labelled
    frames the split saw (``pool``), a random draw of as many frames as the flat-histogram
    training set (``random``), and that training set (``flat_histogram``).

    ``split_table`` is the table :func:`split_extxyz` wrote for ``labelled_path``.
    """
    index = scan_extxyz(labelled_path)
    if len(index) != len(split_table):
        raise ValueError(
            f"{labelled_path} holds {len(index)} frames but its split table {len(split_table)} rows; rerun the split"
        )
    kept = np.flatnonzero(split_table["split"].to_numpy() != "dropped")
    train = np.flatnonzero(split_table["split"].to_numpy()[kept] == "train")
    energies = index.energies_per_atom[kept]
    selections = {"random": random_selection(len(kept), len(train), seed), "flat_histogram": train}
    return energy_selection_histogram(energies, selections, n_bins)
