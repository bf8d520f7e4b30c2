"""Rule merge_relabel: the relabelled set, its failures, and the comparison of the two levels."""

from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.io.frames import iter_frames, write_frames
from amlip.labelers.accounting import check_accounted, check_failed_fraction
from amlip.labelers.compare import compare_levels
from amlip.plots import plot_level_comparison

merged = [a for path in snakemake.input.chunks for a in iter_frames(path)]
failed = pd.concat([pd.read_csv(p) for p in snakemake.input.failed], ignore_index=True)
n_input = sum(1 for _ in iter_frames(snakemake.input.frames))
check_accounted(n_input, merged, failed["frame_index"], snakemake.input.frames)
if len({a.info["lot_hash"] for a in merged}) > 1:
    raise RuntimeError(f"relabel {snakemake.wildcards.name}: the chunks hold more than one new level of theory; rerun them")
merged.sort(key=lambda a: int(a.info["frame_index"]))
write_frames(snakemake.output.labelled, merged)
failed.to_csv(snakemake.output.failed, index=False)
table, summary = compare_levels(merged)
table.to_csv(snakemake.output.comparison, index=False)
summary.to_csv(snakemake.output.summary, index=False)
plot_level_comparison(merged, table, summary, snakemake.output.figure, title=f"relabel {snakemake.wildcards.name}")
log.info("relabelled %d of %d frames (%d failed)\n%s", len(merged), n_input, len(failed), summary.to_string())
check_failed_fraction(len(failed), n_input, snakemake.params.max_failed_fraction, snakemake.output.failed, verb="relabel")
