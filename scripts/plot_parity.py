from _common import setup

log = setup(snakemake)

import json

import pandas as pd

from amlip.io import read_frames
from amlip.report import parity_data, plot_parity

member = json.load(open(snakemake.input.choice))["member"]
frames = read_frames(snakemake.input.predictions[member])
data = parity_data(frames, f"mace{member}")
plot_parity(data, snakemake.output.figure, title=f"test set, committee member {member}")
pd.concat([df.assign(quantity=q) for q, df in data.items()]).to_csv(snakemake.output.data, index=False)
