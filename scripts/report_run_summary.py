"""Rule report_run_summary: the numbers of this run a README quotes (run_summary.json), from its outputs."""

import json
from pathlib import Path

import pandas as pd

from _common import setup
from amlip.report import readme_block, run_summary


def main(verdict: str, summaries: list, accuracy: str, benchmarks: list, summary: str, markdown: str, log, fq: str | None = None):
    """Verdict, per-iteration summaries, accuracy table, F(Q) comparison and the ``benchmarks`` of every job
    (this rule runs after every other target) into ``summary`` (JSON) and the README block it renders into
    ``markdown``."""
    result = run_summary(
        pd.read_csv(verdict),
        pd.concat([pd.read_csv(p) for p in summaries]),
        pd.read_csv(accuracy),
        pd.read_csv(fq).iloc[0].to_dict() if fq else None,
        [pd.read_csv(p, sep="\t") for p in benchmarks],
    )
    with open(summary, "w") as fh:
        json.dump(result, fh, indent=1)
    block = readme_block(result)
    with open(markdown, "w") as fh:
        fh.write(block + "\n")
    log.info("\n%s", block)


if __name__ == "__main__":
    i = snakemake.input
    main(
        i.verdict,
        list(i.summaries),
        i.accuracy,
        sorted(str(p) for p in Path("results/benchmarks").rglob("*.tsv")),
        **snakemake.output,
        log=setup(snakemake),
        fq=i.fq if "fq" in i.keys() else None,
    )
