"""Rule merge_labels: an iteration's labelled chunks (and AIMD frames) as one file, every frame accounted for."""

import pandas as pd

from _common import setup
from amlip.labelers.accounting import check_failed_fraction, merge_label_chunks
from amlip.labelers.base import FAILED_COLUMNS


def main(
    chunks: list,
    failed: list,
    frames: str,
    aimd: list,
    out_labelled: str,
    out_failed: str,
    failure_report: str,
    max_failed_fraction: float,
    log,
):
    """Merge ``chunks`` (and ``aimd`` frames) into ``out_labelled``, their failed lists into ``out_failed``
    and ``failure_report`` (a log: it stays when the merge stops, the outputs do not).

    Every frame of ``frames`` must come out exactly once, labelled or failed; every frame must
    share one level of theory and have finite labels; above ``max_failed_fraction`` failed the
    merge stops (the chunks stay) and the message names ``failure_report``. Frames are streamed
    (:func:`amlip.labelers.accounting.merge_label_chunks`): memory does not grow with their number.
    """
    # no chunks at all when the iteration's frames are all imported (aimd.import, e.g. a random-selection baseline)
    failures = pd.concat([pd.read_csv(p) for p in failed], ignore_index=True) if failed else pd.DataFrame(columns=FAILED_COLUMNS)
    n_merged, n_input, n_aimd = merge_label_chunks(out_labelled, chunks, frames, failures["frame_index"], aimd)
    if aimd:
        log.info("with %d AIMD frames from %s", n_aimd, list(aimd))
    failures.to_csv(out_failed, index=False)
    failures.to_csv(failure_report, index=False)
    log.info("merged %d labelled frames, %d failed (%.1f %%)", n_merged, len(failures), 100 * len(failures) / max(n_input, 1))
    check_failed_fraction(len(failures), n_input, max_failed_fraction, failure_report)


if __name__ == "__main__":
    i, o = snakemake.input, snakemake.output
    main(
        i.chunks, i.failed, i.frames, i.aimd, o.labelled, o.failed, snakemake.log.failed, **snakemake.params, log=setup(snakemake)
    )
