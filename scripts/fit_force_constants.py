from _common import setup

log = setup(snakemake)

import json

import numpy as np

from amlip.io.frames import read_frames
from amlip.properties.vibrations import fit_force_constants

s = snakemake.params.settings
ideal = read_frames(snakemake.input.relaxed)[0]
snapshots = read_frames(snakemake.input.snapshots)
log.info(
    "hiphive fit of second-order force constants: %d atoms, %d snapshots, cutoff %.2f Å",
    len(ideal),
    len(snapshots),
    s.get("cutoff_A", 4.0),
)
fc2, info = fit_force_constants(
    ideal, snapshots, cutoff=s.get("cutoff_A", 4.0), fit_method=s.get("fit_method", "least-squares"), seed=snakemake.params.seed
)
info.update(n_snapshots=len(snapshots), n_force_components=3 * len(ideal) * len(snapshots))
if info["n_force_components"] < info["n_parameters"]:
    log.warning(
        "underdetermined fit: %d force components for %d parameters; raise validate.ir.n_snapshots",
        info["n_force_components"],
        info["n_parameters"],
    )
np.save(snakemake.output.force_constants, fc2)
json.dump(info, open(snakemake.output.info, "w"), indent=2)
log.info("fit: %s", info)
