"""Rule merge_labels: an iteration's labelled chunks (and AIMD frames) as one file, every frame accounted for."""

import pandas as pd

from _common import setup
from amlip.io.frames import iter_frames, write_frames
from amlip.io.lot import merge_labelled
from amlip.labelers.accounting import check_accounted, check_failed_fraction


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
    merge stops (the chunks stay) and the message names ``failure_report``.
    """
    by_chunk = {path: list(iter_frames(path)) for path in chunks}
    merged = merge_labelled(by_chunk)
    failures = pd.concat([pd.read_csv(p) for p in failed], ignore_index=True)
    n_input = sum(1 for _ in iter_frames(frames))
    check_accounted(n_input, merged, failures["frame_index"], frames)
    # AIMD frames (iteration 0, aimd.domains) join under the same guard: a different level of theory
    # than the chunk labels stops the merge with both records in the message
    by_aimd = {path: list(iter_frames(path)) for path in aimd}
    if by_aimd:
        merged = merge_labelled({**by_chunk, **by_aimd})
        log.info("with %d AIMD frames from %s", sum(len(f) for f in by_aimd.values()), list(by_aimd))
    failures.to_csv(out_failed, index=False)
    failures.to_csv(failure_report, index=False)
    write_frames(out_labelled, merged)
    log.info("merged %d labelled frames, %d failed (%.1f %%)", len(merged), len(failures), 100 * len(failures) / max(n_input, 1))
    check_failed_fraction(len(failures), n_input, max_failed_fraction, failure_report)


if __name__ == "__main__":
    i, o = snakemake.input, snakemake.output
    main(
        i.chunks, i.failed, i.frames, i.aimd, o.labelled, o.failed, snakemake.log.failed, **snakemake.params, log=setup(snakemake)
    )
