"""Rule relabel_chunk: chunk c of label.relabel.<relabel_set>'s frames at a second level of theory."""

from itertools import islice

import pandas as pd

from _common import setup
from amlip.io.frames import iter_frames, write_frames
from amlip.labelers.accounting import chunk_bounds
from amlip.labelers.base import FAILED_COLUMNS, relabel
from amlip.labelers.registry import make_labeler


def main(
    frames: str,
    labelled: str,
    failed: str,
    relabel_set: str,
    chunk: int,
    backend: str,
    settings: dict,
    run_settings,
    n_chunks: int,
    log,
):
    """Chunk ``chunk`` of ``n_chunks`` of ``frames`` relabelled with ``backend`` (``settings``, with ``run_settings``:
    a namespace of command, timeout_s, ...); the old labels kept under lot<hash>_*."""
    n_frames = sum(1 for _ in iter_frames(frames))
    first, last = chunk_bounds(n_frames, n_chunks, chunk)
    todo = list(islice(iter_frames(frames), first, last))
    labeler = make_labeler(backend, {**settings, **vars(run_settings)})
    log.info(
        "relabel %s chunk %d/%d: frames %d..%d of %d from %s at %s (%s)",
        relabel_set, chunk, n_chunks, first, last - 1, n_frames, frames, labeler.lot_hash, labeler.level_of_theory,
    )  # fmt: skip
    try:
        outcome = relabel(todo, labeler, keep_previous=True, first_index=first)
    except ValueError as error:
        raise ValueError(f"label.relabel.{relabel_set}: {frames}: {error}") from error
    write_frames(labelled, outcome.labelled)
    pd.DataFrame(outcome.failed, columns=FAILED_COLUMNS).to_csv(failed, index=False)
    log.info("relabelled %d, failed %d", len(outcome.labelled), len(outcome.failed))


if __name__ == "__main__":
    w = snakemake.wildcards
    main(
        snakemake.input.frames,
        **snakemake.output,
        relabel_set=w.relabel_set,
        chunk=int(w.c),
        **snakemake.params,
        log=setup(snakemake),
    )
