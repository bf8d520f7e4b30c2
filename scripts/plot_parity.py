from _common import setup

log = setup(snakemake)

import json

import pandas as pd

from amlip.io.frames import read_frames
from amlip.plots import plot_parity
from amlip.report import parity_data

choice = json.load(open(snakemake.input.choice))
member = choice["member"]
frames = read_frames(snakemake.input.predictions[member])
# MACE members store predictions as mace<m>_*, NequIP/Allegro ones as nequip<m>_*.
data = parity_data(frames, choice.get("prediction_prefix", f"mace{member}"))
plot_parity(data, snakemake.output.figure, title=f"test set, committee member {member}")
pd.concat([df.assign(quantity=q) for q, df in data.items()]).to_csv(snakemake.output.data, index=False)
