from _common import setup

log = setup(snakemake)

import json

import pandas as pd

from amlip.report import accuracy_table, to_markdown

evaluations = pd.concat([pd.read_csv(f) for f in snakemake.input.evaluations])
chosen = {}
for path in snakemake.input.choices:
    domain = path.split("/")[-3]
    chosen[domain] = json.load(open(path))["member"]
table = accuracy_table(evaluations, chosen)
table.to_csv(snakemake.output.table, index=False)
with open(snakemake.output.markdown, "w") as fh:
    fh.write(to_markdown(table))
log.info("\n%s", table.to_string())
