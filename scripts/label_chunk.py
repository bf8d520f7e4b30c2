from _common import setup

log = setup(snakemake)

from itertools import islice

import pandas as pd

from amlip.io.frames import iter_frames, write_frames
from amlip.labelers.base import FAILED_COLUMNS, label_frames
from amlip.labelers.registry import make_labeler

size = snakemake.params.chunk_size
first = int(snakemake.wildcards.c) * size
frames = list(islice(iter_frames(snakemake.input.frames), first, first + size))
labeler = make_labeler(snakemake.params.backend, snakemake.params.settings)
log.info(
    "chunk %s: frames %d..%d at %s (%s)",
    snakemake.wildcards.c,
    first,
    first + len(frames) - 1,
    labeler.lot_hash,
    labeler.level_of_theory,
)
outcome = label_frames(frames, labeler, first_index=first)
write_frames(snakemake.output.labelled, outcome.labelled)
pd.DataFrame(outcome.failed, columns=FAILED_COLUMNS).to_csv(snakemake.output.failed, index=False)
log.info("labelled %d, failed %d", len(outcome.labelled), len(outcome.failed))
