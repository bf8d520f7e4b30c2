"""Chunk bookkeeping of labeling jobs: chunk bounds, every frame accounted for, the failed fraction."""

from __future__ import annotations

from typing import Iterable

from ase import Atoms


def chunk_bounds(n_frames: int, n_chunks: int, chunk: int) -> tuple[int, int]:
    """Frames ``[first, last)`` of chunk ``chunk`` when ``n_frames`` are split into ``n_chunks``
    contiguous, near-equal chunks (the relabel rules, whose frame count is known only at run time)."""
    if n_chunks < 1 or not 0 <= chunk < n_chunks:
        raise ValueError(f"chunk {chunk} of {n_chunks}: need 0 <= chunk < n_chunks")
    return n_frames * chunk // n_chunks, n_frames * (chunk + 1) // n_chunks


def check_accounted(n_input: int, labelled: Iterable[Atoms], failed_indices: Iterable[int], source: str) -> None:
    """Every input frame came out exactly once, labelled or failed: nothing lost, nothing twice.

    ``labelled`` frames carry ``frame_index``; the error names ``source`` and the indices.
    """
    from collections import Counter

    seen = [int(a.info["frame_index"]) for a in labelled] + [int(i) for i in failed_indices]
    missing = sorted(set(range(n_input)) - set(seen))
    twice = sorted(i for i, n in Counter(seen).items() if n > 1)
    if missing or twice or len(seen) != n_input:
        raise RuntimeError(
            f"{source} has {n_input} frames but the chunks hold {len(seen)}: missing frame_index "
            f"{missing[:20]}, duplicated {twice[:20]}. Rerun the chunk jobs of those frames."
        )


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
