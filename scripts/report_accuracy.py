"""Rule report_accuracy: the accuracy table of the final committees (AS Table 2 / ZIF Table 1), chosen member marked."""

import json

import pandas as pd

from _common import setup
from amlip.report import accuracy_table, to_markdown


def main(evaluations: list, choices: list, table: str, markdown: str, domains: list, log) -> None:
    """Errors of every final member (``evaluations``) with each domain's chosen member (``choices``, one per ``domains``)."""
    chosen = {}
    for domain, path in zip(domains, choices, strict=True):
        with open(path) as fh:
            chosen[domain] = json.load(fh)["member"]
    data = accuracy_table(pd.concat([pd.read_csv(f) for f in evaluations]), chosen)
    data.to_csv(table, index=False)
    with open(markdown, "w") as fh:
        fh.write(to_markdown(data))
    log.info("\n%s", data.to_string())


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, **snakemake.params, log=setup(snakemake))
