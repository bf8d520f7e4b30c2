"""Rule label_chunk: chunk c of an iteration's frames labelled by the reference backend; failures in a CSV."""

from itertools import islice

import pandas as pd

from _common import setup
from amlip.io.frames import iter_frames, write_frames
from amlip.labelers.base import FAILED_COLUMNS, label_frames
from amlip.labelers.registry import make_labeler


def main(
    frames: str, labelled: str, failed: str, chunk: int, backend: str, settings: dict, run_settings, chunk_size: int, log
) -> None:
    """Frames ``chunk * chunk_size`` .. ``+ chunk_size`` of ``frames`` labelled with ``backend`` (``settings``, with
    ``run_settings``: a namespace of command, timeout_s, ...)."""
    first = chunk * chunk_size
    todo = list(islice(iter_frames(frames), first, first + chunk_size))
    labeler = make_labeler(backend, {**settings, **vars(run_settings)})
    log.info("chunk %d: frames %d..%d at %s (%s)", chunk, first, first + len(todo) - 1, labeler.lot_hash, labeler.level_of_theory)
    outcome = label_frames(todo, labeler, first_index=first)
    write_frames(labelled, outcome.labelled)
    pd.DataFrame(outcome.failed, columns=FAILED_COLUMNS).to_csv(failed, index=False)
    log.info("labelled %d, failed %d", len(outcome.labelled), len(outcome.failed))


if __name__ == "__main__":
    main(snakemake.input.frames, **snakemake.output, chunk=int(snakemake.wildcards.c), **snakemake.params, log=setup(snakemake))
