"""Rule plot_parity: the chosen member's predictions against the reference labels on its test set."""

import json

import pandas as pd

from _common import setup
from amlip.io.frames import read_frames
from amlip.plots import plot_parity
from amlip.report import parity_data


def main(choice: str, predictions: list, figure: str, data: str, log) -> None:
    """Energy, force and stress parity of the member named in ``choice`` (its file among ``predictions``)."""
    with open(choice) as fh:
        chosen = json.load(fh)
    member = chosen["member"]
    # MACE members store predictions as mace<m>_*, NequIP/Allegro ones as nequip<m>_*.
    pairs = parity_data(read_frames(predictions[member]), chosen["prediction_prefix"])
    plot_parity(pairs, figure, title=f"test set, committee member {member}")
    pd.concat([df.assign(quantity=q) for q, df in pairs.items()]).to_csv(data, index=False)
    log.info("parity of member %d: %s", member, {q: len(df) for q, df in pairs.items()})


if __name__ == "__main__":
    main(**snakemake.input, **snakemake.output, log=setup(snakemake))
