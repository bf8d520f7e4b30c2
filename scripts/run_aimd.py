from _common import setup

log = setup(snakemake)

import shutil
from pathlib import Path

from amlip.io.frames import read_frames
from amlip.labelers.aimd import run_aimd

(atoms,) = read_frames(snakemake.input[0])[-1:]
out = Path(snakemake.output[0])
shutil.rmtree(out, ignore_errors=True)  # a rerun must not import an older run's files
p = snakemake.params
log.info("AIMD (%s) from %s: %s, seed %d", p.backend, snakemake.input[0], p.md, p.seed)
manifest = run_aimd(atoms, out, p.backend, p.settings, seed=p.seed, log=log, **p.md)
log.info("wrote %s (%s, lot_hash %s, %.0f s)", out / "run.json", manifest["format"], manifest["lot_hash"], manifest["wall_s"])
