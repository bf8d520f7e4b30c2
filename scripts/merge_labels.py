from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.io import iter_frames, merge_labelled, write_frames

sources = {path: list(iter_frames(path)) for path in snakemake.input.chunks}
merged = merge_labelled(sources)
failed = pd.concat([pd.read_csv(p) for p in snakemake.input.failed], ignore_index=True)
failed.to_csv(snakemake.output.failed, index=False)
write_frames(snakemake.output.labelled, merged)
n_total = len(merged) + len(failed)
fraction = len(failed) / n_total if n_total else 0.0
log.info("merged %d labelled frames, %d failed (%.1f %%)", len(merged), len(failed), 100 * fraction)
if fraction > snakemake.params.max_failed_fraction:
    raise RuntimeError(
        f"{len(failed)} of {n_total} frames failed to label ({fraction:.0%} > label.max_failed_fraction="
        f"{snakemake.params.max_failed_fraction}); see {snakemake.output.failed}. The labelled chunks are kept."
    )
