from _common import setup

log = setup(snakemake)

import pandas as pd

from amlip.plots import plot_learning_curve
from amlip.report import learning_curve

summaries = pd.concat([pd.read_csv(f) for f in snakemake.input.summaries])
evaluations = pd.concat([pd.read_csv(f) for f in snakemake.input.evaluations])
curve = learning_curve(summaries, evaluations)
curve.to_csv(snakemake.output.data, index=False)
plot_learning_curve(curve, snakemake.output.figure)
log.info("\n%s", curve.to_string())
