"""Rule merge_relabel: the relabelled set, its failures, and the comparison of the two levels."""

import pandas as pd

from _common import setup
from amlip.io.frames import iter_frames, write_frames
from amlip.labelers.accounting import check_accounted, check_failed_fraction
from amlip.labelers.compare import compare_levels
from amlip.plots import plot_level_comparison


def main(
    chunks: list, failed: list, frames: str, outputs, failure_report: str, relabel_set: str, max_failed_fraction: float, log
) -> None:
    """The relabelled chunks of ``frames`` merged and compared with their old labels (``outputs``: labelled,
    failed, comparison, summary, figure); the failed list also in ``failure_report`` (a log: it stays when
    the merge stops, the outputs do not); above ``max_failed_fraction`` failed the merge stops naming it."""
    merged = [a for path in chunks for a in iter_frames(path)]
    failures = pd.concat([pd.read_csv(p) for p in failed], ignore_index=True)
    n_input = sum(1 for _ in iter_frames(frames))
    check_accounted(n_input, merged, failures["frame_index"], frames)
    if len({a.info["lot_hash"] for a in merged}) > 1:
        raise RuntimeError(f"relabel {relabel_set}: the chunks hold more than one new level of theory; rerun them")
    merged.sort(key=lambda a: int(a.info["frame_index"]))
    write_frames(outputs.labelled, merged)
    failures.to_csv(outputs.failed, index=False)
    failures.to_csv(failure_report, index=False)
    table, summary = compare_levels(merged)
    table.to_csv(outputs.comparison, index=False)
    summary.to_csv(outputs.summary, index=False)
    plot_level_comparison(merged, table, summary, outputs.figure, title=f"relabel {relabel_set}")
    log.info("relabelled %d of %d frames (%d failed)\n%s", len(merged), n_input, len(failures), summary.to_string())
    check_failed_fraction(len(failures), n_input, max_failed_fraction, failure_report, verb="relabel")


if __name__ == "__main__":
    i = snakemake.input
    main(
        i.chunks,
        i.failed,
        i.frames,
        snakemake.output,
        snakemake.log.failed,
        snakemake.wildcards.relabel_set,
        **snakemake.params,
        log=setup(snakemake),
    )
