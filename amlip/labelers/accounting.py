"""Chunk bookkeeping of labeling jobs: chunk bounds, every frame accounted for, the failed fraction."""

from __future__ import annotations

import os
from typing import Iterable, Iterator, Sequence

import numpy as np
from ase import Atoms


def chunk_bounds(n_frames: int, n_chunks: int, chunk: int) -> tuple[int, int]:
    """Frames ``[first, last)`` of chunk ``chunk`` when ``n_frames`` are split into ``n_chunks``
    contiguous, near-equal chunks (the relabel rules, whose frame count is known only at run time)."""
    if n_chunks < 1 or not 0 <= chunk < n_chunks:
        raise ValueError(f"chunk {chunk} of {n_chunks}: need 0 <= chunk < n_chunks")
    return n_frames * chunk // n_chunks, n_frames * (chunk + 1) // n_chunks


def check_accounted(n_input: int, labelled: Iterable[Atoms], failed_indices: Iterable[int], source: str) -> None:
    """Every input frame came out exactly once, labelled or failed: nothing lost, nothing twice.

    ``labelled`` frames carry ``frame_index``; the error names ``source`` and the indices
    (:func:`check_indices_accounted`).
    """
    check_indices_accounted(n_input, [int(a.info["frame_index"]) for a in labelled], failed_indices, source)


def check_indices_accounted(n_input: int, labelled_indices, failed_indices, source: str) -> None:
    """:func:`check_accounted` on the ``frame_index`` values of the labelled frames, counted with
    ``np.bincount`` (no sort, ~40 bytes per frame: ~50 MB for ZIF's 1.2 M) instead of a Python object
    per frame."""
    seen = np.concatenate(
        [np.asarray(labelled_indices, dtype=np.int64).ravel(), np.asarray(list(failed_indices), dtype=np.int64).ravel()]
    )
    inside = (seen >= 0) & (seen < n_input)
    counts = np.bincount(seen[inside], minlength=n_input)
    outside, outside_counts = np.unique(seen[~inside], return_counts=True)
    missing = np.flatnonzero(counts == 0)
    twice = np.union1d(np.flatnonzero(counts > 1), outside[outside_counts > 1])
    if len(missing) or len(twice) or len(seen) != n_input:
        raise RuntimeError(
            f"{source} has {n_input} frames but the chunks hold {len(seen)}: missing frame_index "
            f"{missing[:20].tolist()}, duplicated {twice[:20].tolist()}. Rerun the chunk jobs of those frames."
        )


def merge_label_chunks(
    out_path: str | os.PathLike, chunks: Sequence[str], frames: str, failed_indices, aimd: Sequence[str] = ()
) -> tuple[int, int, int]:
    """Write the labelled ``chunks`` of ``frames`` (the file that was labelled), then the ``aimd`` frame
    files, to ``out_path``, one frame at a time: memory flat in the number of frames.

    Every frame passes :func:`amlip.io.lot.iter_labelled` (one level of theory, finite labels); once
    the chunks are read, every frame of ``frames`` must be accounted for, labelled or among
    ``failed_indices`` (:func:`check_indices_accounted`), before the AIMD frames join under the same
    level-of-theory guard. On any refusal nothing appears at ``out_path``.
    Returns (frames written, frames in ``frames``, AIMD frames written).
    """
    from array import array

    from amlip.io.frames import count_frames, iter_frames, write_stream
    from amlip.io.lot import iter_labelled

    labelled_indices = array("q")
    counts = {"input": 0, "aimd": 0}

    def indexed(path: str) -> Iterator[Atoms]:
        for atoms in iter_frames(path):
            labelled_indices.append(int(atoms.info["frame_index"]))
            yield atoms

    def counted(path: str) -> Iterator[Atoms]:
        for atoms in iter_frames(path):
            counts["aimd"] += 1
            yield atoms

    def sources() -> Iterator[tuple[str, Iterator[Atoms]]]:
        for path in chunks:
            yield path, indexed(path)
        counts["input"] = count_frames(frames)
        check_indices_accounted(counts["input"], labelled_indices, failed_indices, frames)
        for path in aimd:
            yield path, counted(path)

    n = write_stream(out_path, iter_labelled(sources()))
    return n, counts["input"], counts["aimd"]


def check_failed_fraction(n_failed: int, n_input: int, limit: float, failed_path: str, verb: str = "label") -> float:
    """The failed fraction of a merge; above ``limit`` (label.max_failed_fraction) a RuntimeError
    names it and ``failed_path``, which must outlive the failed job (a log, not one of its
    outputs, which Snakemake removes). The chunks stay on disk either way."""
    fraction = n_failed / n_input if n_input else 0.0
    if fraction > limit:
        raise RuntimeError(
            f"{n_failed} of {n_input} frames failed to {verb} ({fraction:.0%} > label.max_failed_fraction="
            f"{limit}); see {failed_path}. The labelled chunks are kept."
        )
    return fraction
