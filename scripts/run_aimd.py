"""Rule run_aimd: NVT AIMD with the reference method from one starting structure (exploration)."""

import shutil
from pathlib import Path

from _common import setup
from amlip.io.frames import read_frames
from amlip.labelers.aimd import run_aimd


def main(
    structure: str, output: str, backend: str, settings: dict, run_settings, md: dict, seed: int, frames_before_failure: str, log
) -> None:
    """AIMD (``md``: n_steps, temperature_K, timestep_fs, thermostat_timecon_fs, sample_every) in the folder ``output``
    with ``settings`` (and ``run_settings``: a namespace of command, timeout_s, ...); when it fails, the frames
    computed before the failure go to ``frames_before_failure``."""
    atoms = read_frames(structure)[-1]
    out = Path(output)
    shutil.rmtree(out, ignore_errors=True)  # a rerun must not import an older run's files
    log.info("AIMD (%s) from %s: %s, seed %d", backend, structure, md, seed)
    manifest = run_aimd(
        atoms, out, backend, {**settings, **vars(run_settings)}, seed=seed, frames_on_failure=frames_before_failure, log=log, **md
    )
    log.info("wrote %s (%s, lot_hash %s, %.0f s)", out / "run.json", manifest["format"], manifest["lot_hash"], manifest["wall_s"])


if __name__ == "__main__":
    p = snakemake.params
    md = {k: p[k] for k in ("n_steps", "temperature_K", "timestep_fs", "thermostat_timecon_fs", "sample_every")}
    failed = snakemake.log.frames_before_failure
    main(snakemake.input[0], snakemake.output[0], p.backend, p.settings, p.run_settings, md, p.seed, failed, setup(snakemake))
