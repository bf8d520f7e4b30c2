"""Rule relabel_chunk: chunk c of label.relabel.<name>'s frames at a second level of theory."""

from _common import setup

log = setup(snakemake)

from itertools import islice

import pandas as pd

from amlip.io.frames import iter_frames, write_frames
from amlip.labelers.accounting import chunk_bounds
from amlip.labelers.base import FAILED_COLUMNS, relabel
from amlip.labelers.registry import make_labeler

p = snakemake.params
n_frames = sum(1 for _ in iter_frames(snakemake.input.frames))
first, last = chunk_bounds(n_frames, p.n_chunks, int(snakemake.wildcards.c))
frames = list(islice(iter_frames(snakemake.input.frames), first, last))
labeler = make_labeler(p.backend, p.settings)
log.info(
    "relabel %s chunk %s/%d: frames %d..%d of %d from %s at %s (%s)",
    snakemake.wildcards.name,
    snakemake.wildcards.c,
    p.n_chunks,
    first,
    last - 1,
    n_frames,
    snakemake.input.frames,
    labeler.lot_hash,
    labeler.level_of_theory,
)
try:
    outcome = relabel(frames, labeler, keep_previous=True, first_index=first)
except ValueError as error:
    raise ValueError(f"label.relabel.{snakemake.wildcards.name}: {snakemake.input.frames}: {error}") from error
write_frames(snakemake.output.labelled, outcome.labelled)
pd.DataFrame(outcome.failed, columns=FAILED_COLUMNS).to_csv(snakemake.output.failed, index=False)
log.info("relabelled %d, failed %d", len(outcome.labelled), len(outcome.failed))
