"""Rule report_run_summary: the numbers of this run a README quotes (run_summary.json), from its outputs."""

import json

import pandas as pd

from _common import setup
from amlip.report import run_summary


def main(verdict: str, summaries: list, accuracy: str, summary: str, log, fq: str | None = None):
    """Verdict, per-iteration summaries, accuracy table and F(Q) comparison into ``summary`` (JSON);
    ``python -m amlip.report readme`` adds the CPU time of the jobs and renders it into the README."""
    result = run_summary(
        pd.read_csv(verdict),
        pd.concat([pd.read_csv(p) for p in summaries]),
        pd.read_csv(accuracy),
        pd.read_csv(fq).iloc[0].to_dict() if fq else None,
    )
    with open(summary, "w") as fh:
        json.dump(result, fh, indent=1)
    log.info("%s", result)


if __name__ == "__main__":
    i = snakemake.input
    main(
        i.verdict,
        list(i.summaries),
        i.accuracy,
        snakemake.output.summary,
        log=setup(snakemake),
        fq=i.fq if "fq" in i.keys() else None,
    )
