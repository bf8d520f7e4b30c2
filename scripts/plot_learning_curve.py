"""Rule plot_learning_curve: the committee's error on the final test set against training frames and iterations."""

import pandas as pd

from _common import setup
from amlip.plots import plot_learning_curve
from amlip.report import learning_curve


def main(summaries: list, evaluations: list, figure: str, data: str, log) -> None:
    """The learning curve of every domain from the iteration ``summaries`` and member ``evaluations``."""
    curve = learning_curve(pd.concat([pd.read_csv(f) for f in summaries]), pd.concat([pd.read_csv(f) for f in evaluations]))
    curve.to_csv(data, index=False)
    plot_learning_curve(curve, figure)
    log.info("\n%s", curve.to_string())


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, log=setup(snakemake))
