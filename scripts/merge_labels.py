from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.io.frames import iter_frames, write_frames
from amlip.io.lot import merge_labelled
from amlip.labelers.accounting import check_accounted, check_failed_fraction

chunks = {path: list(iter_frames(path)) for path in snakemake.input.chunks}
merged = merge_labelled(chunks)
failed = pd.concat([pd.read_csv(p) for p in snakemake.input.failed], ignore_index=True)

# every input frame must come out exactly once, labelled or failed: nothing lost, nothing twice
n_input = sum(1 for _ in iter_frames(snakemake.input.frames))
check_accounted(n_input, merged, failed["frame_index"], snakemake.input.frames)

# AIMD frames (iteration 0, aimd.domains) join under the same guard: a different level of theory
# than the chunk labels stops the merge with both records in the message
aimd = {path: list(iter_frames(path)) for path in snakemake.input.aimd}
if aimd:
    merged = merge_labelled({**chunks, **aimd})
    log.info("with %d AIMD frames from %s", sum(len(f) for f in aimd.values()), list(aimd))

failed.to_csv(snakemake.output.failed, index=False)
write_frames(snakemake.output.labelled, merged)
log.info("merged %d labelled frames, %d failed (%.1f %%)", len(merged), len(failed), 100 * len(failed) / max(n_input, 1))
check_failed_fraction(len(failed), n_input, snakemake.params.max_failed_fraction, snakemake.output.failed)
